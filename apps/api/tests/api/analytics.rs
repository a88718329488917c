//! `GET /{id}/analytics`: every field of the design's CustomerAnalytics from a constructed
//! history of orders, invoices and notes, and the refusals of bad periods.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, TestResponse, company, individual, with};

/// Another module's event, reported at a fixed time.
async fn deliver(app: &TestApp, event_type: &str, payload: Value) {
    app.deliver(event_type, "2026-11-01T10:00:00Z", payload).await;
}

/// One line: product, category (or none), quantity, amount and cost (or none).
fn line(product: &str, category: Option<&str>, quantity: &str, amount: &str, cost: Option<&str>) -> Value {
    let mut item = json!({
        "productId": product,
        "productName": format!("Товар {product}"),
        "quantity": quantity,
        "amount": amount,
    });
    if let Some(category) = category {
        item["category"] = json!(category);
    }
    if let Some(cost) = cost {
        item["cost"] = json!(cost);
    }
    item
}

async fn order(app: &TestApp, customer: &str, order_id: &str, total: &str, at: &str, items: Vec<Value>) {
    let payload = json!({
        "orderId": order_id,
        "customerId": customer,
        "totalAmount": total,
        "completedAt": at,
        "items": items
    });
    deliver(app, "order.completed", payload).await;
}

async fn analytics(app: &TestApp, customer: &str, query: &str) -> TestResponse {
    app.call(Method::GET, &format!("/{customer}/analytics{query}"), None)
        .await
}

async fn note(app: &TestApp, customer: &str, body: Value) -> Value {
    app.call(Method::POST, &format!("/{customer}/notes"), Some(&body))
        .await
        .assert_status(201)
        .body
}

async fn every_field_of_a_constructed_history(app: TestApp) {
    let me = app
        .create(&with(
            company("ТОО Аналитика", "an@alpha.kz"),
            "creditLimit",
            json!("1000000"),
        ))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app.create(&individual("Другой Покупатель", "other@shop.kz")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    order(
        &app,
        &me,
        "O1",
        "1000",
        "2026-10-01T10:00:00Z",
        vec![
            line("TEA", Some("Напитки"), "2", "600", Some("400")),
            line("CUP", Some("Посуда"), "1", "400", Some("300")),
        ],
    )
    .await;
    order(
        &app,
        &me,
        "O2",
        "550",
        "2026-10-15T10:00:00Z",
        vec![line("TEA", Some("Напитки"), "1.5", "500", Some("350"))],
    )
    .await;
    // Cancelled: never counted.
    order(
        &app,
        &me,
        "O3",
        "9999",
        "2026-10-20T10:00:00Z",
        vec![line("GOLD", Some("Напитки"), "1", "9999", None)],
    )
    .await;
    deliver(
        &app,
        "order.cancelled",
        json!({ "orderId": "O3", "cancelledAt": "2026-10-21T10:00:00Z" }),
    )
    .await;
    // After `asOf` below: not seen there.
    order(
        &app,
        &me,
        "O4",
        "700",
        "2026-11-20T10:00:00Z",
        vec![line("CAKE", None, "1", "700", Some("500"))],
    )
    .await;
    // Another customer's baskets: HONEY goes with TEA twice, LEMON once.
    order(
        &app,
        &other,
        "X1",
        "300",
        "2026-10-02T10:00:00Z",
        vec![
            line("TEA", None, "1", "100", None),
            line("HONEY", None, "1", "200", None),
        ],
    )
    .await;
    order(
        &app,
        &other,
        "X2",
        "300",
        "2026-10-03T10:00:00Z",
        vec![
            line("TEA", None, "1", "100", None),
            line("HONEY", None, "1", "100", None),
            line("LEMON", None, "1", "100", None),
        ],
    )
    .await;
    deliver(
        &app,
        "invoice.issued",
        json!({ "invoiceId": "I1", "customerId": me, "amount": "250000", "issuedAt": "2026-10-16T10:00:00Z" }),
    )
    .await;

    let body = analytics(&app, &me, "?asOf=2026-11-01T10:00:00Z")
        .await
        .assert_status(200)
        .body;
    let expected = json!({
        "from": null,
        "to": null,
        "asOf": "2026-11-01T10:00:00Z",
        "totalPurchases": "1550.00",
        "purchaseCount": 2,
        "averageOrderValue": "775.00",
        "firstPurchaseDate": "2026-10-01T10:00:00Z",
        "lastPurchaseDate": "2026-10-15T10:00:00Z",
        "daysSinceLastPurchase": 17,
        // 2 orders over 31 days: 1.0185 months.
        "purchaseFrequency": "1.9637",
        "topCategories": [
            { "category": "Напитки", "amount": "1100.00", "count": 2 },
            { "category": "Посуда", "amount": "400.00", "count": 1 }
        ],
        "topProducts": [
            { "productId": "TEA", "productName": "Товар TEA", "quantity": "3.5", "amount": "1100.00" },
            { "productId": "CUP", "productName": "Товар CUP", "quantity": "1", "amount": "400.00" }
        ],
        "totalRevenue": "1500.00",
        "totalProfit": "450.00",
        "profitMargin": "0.3",
        "outstandingBalance": "250000.00",
        "creditUtilization": "0.25",
        "churnProbability": null,
        "nextPurchasePrediction": null,
        "expectedPurchasesNext90Days": null,
        "expectedOrderValue": null,
        "predictedClv": null,
        "predictionUnavailableReason": "not fitted yet",
        "recommendedProducts": ["HONEY", "LEMON"],
        // O1, O2, O3 completed and cancelled, the invoice; not O4.
        "totalInteractions": 5,
        "lastInteractionDate": "2026-10-21T10:00:00Z",
        "preferredChannel": null,
        "responseRate": null,
    });
    for (field, want) in expected.as_object().unwrap() {
        assert_eq!(&body[field], want, "{field}: {body:#}");
    }
    // The stored heuristic, the segment now, an RFM code of three digits 1..5.
    assert!(body["lifetimeValue"].is_string(), "{body:#}");
    assert!(
        body["segment"].is_string()
            && body["segmentReason"]
                .as_str()
                .unwrap()
                .starts_with(body["segment"].as_str().unwrap())
    );
    let rfm = body["rfm"].as_str().expect("an rfm code");
    assert!(rfm.len() == 3 && rfm.chars().all(|c| ('1'..='5').contains(&c)), "{rfm}");

    // A period narrows orders and interactions; a date as `to` includes that day.
    let body = analytics(&app, &me, "?from=2026-10-10&to=2026-10-15&asOf=2026-11-01")
        .await
        .assert_status(200)
        .body;
    assert_eq!(
        (&body["from"], &body["to"], &body["asOf"]),
        (
            &json!("2026-10-10T00:00:00Z"),
            &json!("2026-10-16T00:00:00Z"),
            &json!("2026-11-01T23:59:59.999999Z")
        ),
        "{body:#}"
    );
    assert_eq!(
        (&body["purchaseCount"], &body["totalPurchases"]),
        (&json!(1), &json!("550.00"))
    );
    assert_eq!(body["totalInteractions"], json!(1), "the order of the 15th");

    // Notes carry channel and direction; an inbound call answered by e-mail a moment later.
    let call = note(
        &app,
        &me,
        json!({ "body": "Клиент звонил", "channel": "call", "direction": "inbound" }),
    )
    .await;
    assert_eq!(
        (&call["channel"], &call["direction"]),
        (&json!("call"), &json!("inbound"))
    );
    note(
        &app,
        &me,
        json!({ "body": "Ответили письмом", "channel": "email", "direction": "outbound" }),
    )
    .await;
    note(&app, &me, json!({ "body": "Ещё звонок", "channel": "call" })).await;
    let body = analytics(&app, &me, "").await.assert_status(200).body;
    assert_eq!(body["preferredChannel"], json!("call"), "{body:#}");
    assert_eq!(body["responseRate"], json!("1"), "{body:#}");
    assert_eq!(
        body["totalInteractions"],
        json!(9),
        "6 read-model entries and 3 notes: {body:#}"
    );
    assert_eq!(body["purchaseCount"], json!(3), "O4 is seen now");
    assert_eq!(body["recommendedProducts"], json!(["HONEY", "LEMON"]));
}

both_backends!(every_field_of_a_constructed_history);

async fn bad_periods_and_notes_are_refused_naming_the_field(app: TestApp) {
    let me = app.create(&individual("Айгерим Аналитикова", "ai@shop.kz")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    analytics(&app, &me, "?from=2026-10-10&to=2026-10-10T00:00:00Z")
        .await
        .assert_invalid("to");
    analytics(&app, &me, "?from=yesterday").await.assert_invalid("from");
    analytics(&app, &me, "?asOf=2999-01-01").await.assert_invalid("asOf");
    analytics(&app, &Uuid::now_v7().to_string(), "")
        .await
        .assert_problem(404);
    app.call(
        Method::POST,
        &format!("/{me}/notes"),
        Some(&json!({ "body": "факс", "channel": "fax" })),
    )
    .await
    .assert_invalid("channel");
    // A customer without anything: zeros, nulls and empty lists, never an error.
    let body = analytics(&app, &me, "").await.assert_status(200).body;
    assert_eq!(
        (
            &body["purchaseCount"],
            &body["averageOrderValue"],
            &body["totalProfit"],
            &body["creditUtilization"],
            &body["rfm"],
            &body["recommendedProducts"]
        ),
        (
            &json!(0),
            &Value::Null,
            &Value::Null,
            &Value::Null,
            &Value::Null,
            &json!([])
        )
    );
    assert_eq!(body["segment"], json!("NEW"), "{body:#}");
}

both_backends!(bad_periods_and_notes_are_refused_naming_the_field);
