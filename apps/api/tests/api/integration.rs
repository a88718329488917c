//! Other modules' events over HTTP (`POST /customers/events`) and what they feed: the
//! customer's purchase metrics and balance, `GET /{id}/purchase-history`, `GET /{id}/timeline`,
//! `GET /{id}/history` (`source: "event"`) and `GET /events/dead-letters`.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::helpers::{ALL_PERMISSIONS, POST_OK, TestApp, TestResponse, company, individual, with};

const INTEGRATE: &str = "customers:integrate";

// ---------------------------------------------------------------------------------------------
// Fixtures and requests
// ---------------------------------------------------------------------------------------------

/// A token of the default organization that may deliver events to the default workspace.
fn integrator(app: &TestApp) -> String {
    app.token(app.org, &[app.workspace], &[INTEGRATE])
}

/// An inbound envelope of the default organization and workspace; the customer is named by
/// the payload (or not at all).
fn envelope(app: &TestApp, event_type: &str, payload: Value) -> Value {
    json!({
        "eventId": Uuid::now_v7(),
        "type": event_type,
        "version": 1,
        "occurredAt": "2026-11-01T10:00:00Z",
        "organizationId": app.org,
        "workspaceId": app.workspace,
        "payload": payload
    })
}

/// `order.completed` of one line for `customer`.
fn order(app: &TestApp, customer: &str, order_id: &str, amount: &str, completed_at: &str) -> Value {
    envelope(
        app,
        "order.completed",
        json!({
            "orderId": order_id,
            "customerId": customer,
            "totalAmount": amount,
            "completedAt": completed_at,
            "items": [{ "productId": "P-1", "productName": "Товар", "quantity": 1, "amount": amount }]
        }),
    )
}

fn cancellation(app: &TestApp, order_id: &str, cancelled_at: &str) -> Value {
    envelope(
        app,
        "order.cancelled",
        json!({ "orderId": order_id, "cancelledAt": cancelled_at }),
    )
}

fn invoice(app: &TestApp, event_type: &str, customer: &str, invoice_id: &str, amount: &str, at: &str) -> Value {
    let at_field = if event_type == "invoice.issued" {
        "issuedAt"
    } else {
        "paidAt"
    };
    envelope(
        app,
        event_type,
        json!({ "invoiceId": invoice_id, "customerId": customer, "amount": amount, at_field: at }),
    )
}

fn deal_won(app: &TestApp, customer: &str, deal_id: &str, amount: &str, won_at: &str) -> Value {
    envelope(
        app,
        "deal.won",
        json!({ "dealId": deal_id, "customerId": customer, "amount": amount, "wonAt": won_at }),
    )
}

/// `POST /customers/events` as the integrator.
async fn post_event(app: &TestApp, body: &Value) -> TestResponse {
    app.call_as(&integrator(app), app.workspace, Method::POST, "/events", Some(body))
        .await
}

/// Posts `body`, asserting `200 {eventId, type, status}`.
async fn deliver(app: &TestApp, body: &Value, status: &str) {
    let response = post_event(app, body).await.assert_status(200);
    assert_eq!(
        response.body,
        json!({ "eventId": body["eventId"], "type": body["type"], "status": status }),
        "{}",
        response.text
    );
}

async fn apply(app: &TestApp, body: &Value) {
    deliver(app, body, "applied").await;
}

/// `GET /{id}/purchase-history?…`, asserting 200.
async fn purchases(app: &TestApp, customer: &str, query: &str) -> Value {
    app.call(Method::GET, &format!("/{customer}/purchase-history{query}"), None)
        .await
        .assert_status(200)
        .body
}

/// `GET /{id}/timeline` with query pairs (encoded by the client).
async fn timeline_as(app: &TestApp, customer: &str, query: &[(&str, &str)]) -> TestResponse {
    let url = app.url(&format!(
        "{}/{customer}/timeline",
        TestApp::customers_path(app.workspace)
    ));
    let request = app
        .client
        .get(url)
        .bearer_auth(app.token_all(app.workspace))
        .query(query);
    app.execute(request).await
}

async fn timeline(app: &TestApp, customer: &str, query: &[(&str, &str)]) -> Value {
    timeline_as(app, customer, query).await.assert_status(200).body
}

/// `GET /events/dead-letters?…` as the integrator, asserting 200.
async fn dead_letters(app: &TestApp, query: &str) -> Value {
    app.call_as(
        &integrator(app),
        app.workspace,
        Method::GET,
        &format!("/events/dead-letters{query}"),
        None,
    )
    .await
    .assert_status(200)
    .body
}

/// The values of `key` in the items of a page.
fn column(page: &Value, key: &str) -> Vec<Value> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item[key].clone())
        .collect()
}

fn strings(values: &[&str]) -> Vec<Value> {
    values.iter().map(|v| json!(v)).collect()
}

fn created_id(customer: &Value) -> String {
    customer["id"].as_str().expect("id").to_owned()
}

fn decimal(value: &Value) -> Decimal {
    Decimal::from_str(value.as_str().expect("a decimal string")).expect("a decimal")
}

fn instant(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("a date-time string"), &Rfc3339).expect("RFC 3339")
}

/// Now, to the millisecond (what the server keeps survives a round trip exactly).
fn now_ms() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_millisecond(now.millisecond()).expect("a millisecond")
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("formatted")
}

/// An ACTIVE individual.
async fn active_customer(app: &TestApp, email: &str) -> String {
    let body = with(individual("Айгуль Сапарова", email), "status", json!("ACTIVE"));
    created_id(&app.create(&body).await)
}

// ---------------------------------------------------------------------------------------------
// order.completed
// ---------------------------------------------------------------------------------------------

async fn a_completed_order_counts_in_the_metrics_and_the_purchase_history(app: TestApp) {
    let id = active_customer(&app, "orders@integration.kz").await;
    let before = app.get(&id).await.assert_status(200);
    assert_eq!(before.etag.as_deref(), Some("\"1\""));

    let event = envelope(
        &app,
        "order.completed",
        json!({
            "orderId": "ORD-1",
            "customerId": id,
            "totalAmount": 1500.5,
            "completedAt": "2026-05-01T10:00:00+05:00",
            "items": [
                { "productId": "P1", "productName": "Чай", "category": "Напитки", "quantity": "2.50",
                  "amount": "1000.50", "cost": "600" },
                { "productId": 42, "productName": "Кружка", "quantity": 3, "amount": 500 }
            ]
        }),
    );
    apply(&app, &event).await;

    let after = app.get(&id).await.assert_status(200);
    let customer = &after.body;
    assert_eq!(customer["totalPurchases"], "1500.50");
    assert_eq!(customer["purchaseCount"], 1);
    assert_eq!(customer["firstPurchaseDate"], "2026-05-01T05:00:00Z");
    assert_eq!(customer["lastPurchaseDate"], "2026-05-01T05:00:00Z");
    assert_eq!(customer["status"], "ACTIVE");
    assert!(
        decimal(&customer["lifetimeValue"]) > Decimal::ZERO,
        "an ACTIVE customer with a purchase has a lifetime value: {customer}"
    );
    assert_eq!(customer["version"], 2);
    assert_eq!(after.etag.as_deref(), Some("\"2\""));
    assert_eq!(customer["currentBalance"], "0.00", "orders do not move the balance");

    // The audit trail attributes the change to the event (no actor in the envelope: nil).
    let trail = app
        .call(Method::GET, &format!("/{id}/history?field=purchaseCount"), None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(trail["total"], 1, "{trail}");
    let entry = &trail["items"][0];
    assert_eq!(
        (
            &entry["oldValue"],
            &entry["newValue"],
            &entry["source"],
            &entry["actor"]
        ),
        (&json!(0), &json!(1), &json!("event"), &json!(Uuid::nil())),
        "{trail}"
    );
    // A writer holding the version before the event is stale.
    let stale = app
        .client
        .put(app.url(&format!("{}/{id}", TestApp::customers_path(app.workspace))))
        .bearer_auth(app.token_all(app.workspace))
        .header("If-Match", "\"1\"")
        .json(&json!({ "industry": "Retail" }));
    let problem = app.execute(stale).await.assert_problem(412);
    assert_eq!(problem.body["currentVersion"], 2);

    let history = purchases(&app, &id, "").await;
    assert_eq!(
        history,
        json!({
            "items": [{
                "orderId": "ORD-1",
                "status": "COMPLETED",
                "totalAmount": "1500.50",
                "completedAt": "2026-05-01T05:00:00Z",
                "cancelledAt": null,
                "items": [
                    { "productId": "P1", "productName": "Чай", "category": "Напитки", "quantity": "2.5",
                      "amount": "1000.50", "cost": "600.00" },
                    { "productId": "42", "productName": "Кружка", "category": null, "quantity": "3",
                      "amount": "500.00", "cost": null }
                ]
            }],
            "total": 1,
            "page": 1,
            "limit": 20,
            "pages": 1
        })
    );

    // More orders, one older and one newer: the metrics add up, the history is newest first.
    apply(&app, &order(&app, &id, "ORD-2", "200", "2026-06-01T00:00:00Z")).await;
    apply(&app, &order(&app, &id, "ORD-3", "99.99", "2026-04-01T00:00:00Z")).await;
    let customer = app.get(&id).await.assert_status(200);
    assert_eq!(customer.body["totalPurchases"], "1800.49");
    assert_eq!(customer.body["purchaseCount"], 3);
    assert_eq!(customer.body["firstPurchaseDate"], "2026-04-01T00:00:00Z");
    assert_eq!(customer.body["lastPurchaseDate"], "2026-06-01T00:00:00Z");
    assert_eq!(customer.body["version"], 4);
    assert_eq!(customer.etag.as_deref(), Some("\"4\""));

    let all = purchases(&app, &id, "").await;
    assert_eq!(column(&all, "orderId"), strings(&["ORD-2", "ORD-1", "ORD-3"]));
    assert_eq!(column(&all, "totalAmount"), strings(&["200.00", "1500.50", "99.99"]));
    let first = purchases(&app, &id, "?limit=2").await;
    assert_eq!(column(&first, "orderId"), strings(&["ORD-2", "ORD-1"]));
    assert_eq!(
        (&first["total"], &first["page"], &first["limit"], &first["pages"]),
        (&json!(3), &json!(1), &json!(2), &json!(2))
    );
    let second = purchases(&app, &id, "?limit=2&page=2").await;
    assert_eq!(column(&second, "orderId"), strings(&["ORD-3"]));
    assert_eq!(
        (&second["total"], &second["page"], &second["limit"], &second["pages"]),
        (&json!(3), &json!(2), &json!(2), &json!(2))
    );
    let beyond = purchases(&app, &id, "?limit=2&page=3").await;
    assert_eq!(beyond["items"], json!([]));
    assert_eq!(beyond["total"], 3);

    // A reader with the view permission only may read it; an unknown customer is a 404.
    let viewer = app.token(app.org, &[app.workspace], &["customers:view"]);
    let page = app
        .call_as(
            &viewer,
            app.workspace,
            Method::GET,
            &format!("/{id}/purchase-history"),
            None,
        )
        .await
        .assert_status(200);
    assert_eq!(page.body["total"], 3);
    app.call(Method::GET, &format!("/{}/purchase-history", Uuid::now_v7()), None)
        .await
        .assert_problem(404);
}
both_backends!(a_completed_order_counts_in_the_metrics_and_the_purchase_history);

async fn an_event_sent_twice_counts_once(app: TestApp) {
    let id = active_customer(&app, "twice@integration.kz").await;
    let event = order(&app, &id, "ORD-1", "1500.50", "2026-05-01T05:00:00Z");
    apply(&app, &event).await;
    let once = app.get(&id).await.assert_status(200);
    assert_eq!(once.body["totalPurchases"], "1500.50");

    deliver(&app, &event, "duplicate").await;
    let twice = app.get(&id).await.assert_status(200);
    assert_eq!(twice.body, once.body, "a duplicate changes nothing");
    assert_eq!(twice.etag, once.etag);
    assert_eq!(purchases(&app, &id, "").await["total"], 1);

    // The same order under a new event id (a producer's retry) is applied but not counted again.
    let mut resent = order(&app, &id, "ORD-1", "1500.50", "2026-05-01T05:00:00Z");
    resent["payload"]["totalAmount"] = json!("9999");
    apply(&app, &resent).await;
    let again = app.get(&id).await.assert_status(200);
    assert_eq!(again.body, once.body, "an order is counted once, whatever its event id");
    let history = purchases(&app, &id, "").await;
    assert_eq!(history["total"], 1);
    assert_eq!(
        history["items"][0]["totalAmount"], "1500.50",
        "a completed order is never rewritten"
    );
}
both_backends!(an_event_sent_twice_counts_once);

// ---------------------------------------------------------------------------------------------
// Refusals and dead letters
// ---------------------------------------------------------------------------------------------

async fn a_refused_event_is_a_400_naming_the_field_and_a_dead_letter(app: TestApp) {
    let id = active_customer(&app, "refused@integration.kz").await;
    let valid = || order(&app, &id, "ORD-1", "1500.50", "2026-05-01T05:00:00Z");

    let mut missing_total = valid();
    missing_total["payload"].as_object_mut().unwrap().remove("totalAmount");
    let bad_event_id = with(valid(), "eventId", json!("not-a-uuid"));
    let unsupported = with(valid(), "type", json!("product.updated"));
    let other_org = with(valid(), "organizationId", json!(Uuid::now_v7()));
    let other_workspace = with(valid(), "workspaceId", json!(Uuid::now_v7()));
    let unknown = Uuid::now_v7();
    let unknown_in_envelope = with(
        order(&app, &unknown.to_string(), "ORD-2", "1", "2026-05-01T05:00:00Z"),
        "customerId",
        json!(unknown),
    );
    let unknown_in_payload = order(&app, &unknown.to_string(), "ORD-3", "1", "2026-05-01T05:00:00Z");

    // (body, field, a part of the reason)
    let cases: Vec<(Value, &str, &str)> = vec![
        (missing_total, "payload.totalAmount", "payload.totalAmount: is required"),
        (bad_event_id, "eventId", "eventId: must be a UUID"),
        (unsupported, "type", "unsupported event type \"product.updated\""),
        (other_org, "organizationId", "organizationId"),
        (other_workspace, "workspaceId", "workspaceId"),
        (unknown_in_envelope, "customerId", "unknown customer"),
        (unknown_in_payload, "payload.customerId", "unknown customer"),
    ];
    for (body, field, _) in &cases {
        post_event(&app, body).await.assert_invalid(field);
    }

    // Nothing was applied.
    let customer = app.get(&id).await.assert_status(200).body;
    assert_eq!(customer["totalPurchases"], "0.00");
    assert_eq!(customer["version"], 1);
    assert_eq!(purchases(&app, &id, "").await["total"], 0);

    // Every refusal is kept, newest first, with the reason and the body as received.
    let letters = dead_letters(&app, "?limit=100").await;
    assert_eq!(letters["total"], cases.len(), "{letters}");
    assert_eq!(letters["pages"], 1);
    let items = letters["items"].as_array().expect("items");
    assert_eq!(items.len(), cases.len());
    for ((body, field, reason), letter) in cases.iter().rev().zip(items) {
        assert_eq!(letter["channel"], "http", "{field}: {letter}");
        let kept: Value = serde_json::from_str(letter["body"].as_str().expect("body")).expect("JSON body");
        assert_eq!(&kept, body, "{field}: the body as received");
        let text = letter["reason"].as_str().expect("reason");
        assert!(text.contains(reason), "{field}: reason {text:?} lacks {reason:?}");
        let expected_event_id = if *field == "eventId" {
            json!(null)
        } else {
            body["eventId"].clone()
        };
        assert_eq!(letter["eventId"], expected_event_id, "{field}: {letter}");
        assert_eq!(letter["type"], body["type"], "{field}: {letter}");
        assert!(letter["id"].is_string() && letter["receivedAt"].is_string(), "{letter}");
    }
    let paged = dead_letters(&app, "?limit=3&page=3").await;
    assert_eq!(paged["items"].as_array().expect("items").len(), 1);
    assert_eq!(
        (&paged["total"], &paged["page"], &paged["limit"], &paged["pages"]),
        (&json!(cases.len()), &json!(3), &json!(3), &json!(3))
    );
    assert_eq!(paged["items"][0]["eventId"], cases[0].0["eventId"], "the oldest last");

    // Another workspace sees none of them.
    let elsewhere = Uuid::now_v7();
    let token = app.token(app.org, &[elsewhere], &[INTEGRATE]);
    let theirs = app
        .call_as(&token, elsewhere, Method::GET, "/events/dead-letters", None)
        .await
        .assert_status(200);
    assert_eq!(theirs.body["total"], 0);

    // A body that is not JSON is a 400 problem too.
    let request = app
        .client
        .post(app.url(&format!("{}/events", TestApp::customers_path(app.workspace))))
        .bearer_auth(integrator(&app))
        .header("content-type", "application/json")
        .body("{\"eventId\": ");
    app.execute(request).await.assert_problem(400);
}
both_backends!(a_refused_event_is_a_400_naming_the_field_and_a_dead_letter);

async fn every_bad_field_is_named(app: TestApp) {
    let id = active_customer(&app, "fields@integration.kz").await;
    let mut event = order(&app, &id, "ORD-1", "-1", "2026-05-01T05:00:00Z");
    event["occurredAt"] = json!("yesterday");
    event["payload"]["items"][0]["quantity"] = json!(0);
    event["payload"].as_object_mut().unwrap().remove("completedAt");
    let problem = post_event(&app, &event).await.assert_invalid("payload.totalAmount");
    assert_eq!(
        problem.error_fields(),
        [
            "occurredAt",
            "payload.totalAmount",
            "payload.completedAt",
            "payload.items[0].quantity",
            "payload.items[0].amount"
        ]
    );
    // The customer named twice, differently.
    let mut conflicting = order(&app, &id, "ORD-1", "1", "2026-05-01T05:00:00Z");
    conflicting["customerId"] = json!(Uuid::now_v7());
    post_event(&app, &conflicting)
        .await
        .assert_invalid("payload.customerId");
    // Not an object at all.
    post_event(&app, &json!([1, 2])).await.assert_problem(400);
    assert_eq!(dead_letters(&app, "").await["total"], 3);
}
both_backends!(every_bad_field_is_named);

async fn a_refused_event_can_be_delivered_again_once_fixed(app: TestApp) {
    let id = active_customer(&app, "retry@integration.kz").await;
    let event = order(&app, &id, "ORD-1", "10", "2026-05-01T05:00:00Z");
    // Refused for a wrong workspace, then for an unknown customer: the id is not taken.
    let wrong_workspace = with(event.clone(), "workspaceId", json!(Uuid::now_v7()));
    post_event(&app, &wrong_workspace).await.assert_invalid("workspaceId");
    let mut unknown = event.clone();
    unknown["payload"]["customerId"] = json!(Uuid::now_v7());
    post_event(&app, &unknown).await.assert_invalid("payload.customerId");
    apply(&app, &event).await;
    assert_eq!(app.get(&id).await.body["totalPurchases"], "10.00");
    assert_eq!(dead_letters(&app, "").await["total"], 2);
}
both_backends!(a_refused_event_can_be_delivered_again_once_fixed);

// ---------------------------------------------------------------------------------------------
// Permissions
// ---------------------------------------------------------------------------------------------

async fn delivering_events_needs_the_integrate_permission(app: TestApp) {
    let id = active_customer(&app, "perm@integration.kz").await;
    let event = order(&app, &id, "ORD-1", "10", "2026-05-01T05:00:00Z");
    let events = format!("{}/events", TestApp::customers_path(app.workspace));
    let letters = format!("{events}/dead-letters");

    // Every other permission, but not this one.
    let everything_else = app.token_all(app.workspace);
    app.send(Method::POST, &events, Some(&everything_else), Some(&event))
        .await
        .assert_problem(403);
    app.send(Method::GET, &letters, Some(&everything_else), None)
        .await
        .assert_problem(403);

    // No token.
    app.send(Method::POST, &events, None, Some(&event))
        .await
        .assert_problem(401);
    app.send(Method::GET, &letters, None, None).await.assert_problem(401);

    // The permission, but for another workspace.
    let other_workspace = app.token(app.org, &[Uuid::now_v7()], &[INTEGRATE]);
    app.send(Method::POST, &events, Some(&other_workspace), Some(&event))
        .await
        .assert_problem(403);
    app.send(Method::GET, &letters, Some(&other_workspace), None)
        .await
        .assert_problem(403);

    // Nothing applied, nothing dead-lettered; with the permission it goes through.
    assert_eq!(app.get(&id).await.body["purchaseCount"], 0);
    assert_eq!(dead_letters(&app, "").await["total"], 0);
    let mut all = ALL_PERMISSIONS.to_vec();
    all.push(INTEGRATE);
    let full = app.token(app.org, &[app.workspace], &all);
    let response = app
        .send(Method::POST, &events, Some(&full), Some(&event))
        .await
        .assert_status(200);
    assert_eq!(response.body["status"], "applied");

    // Another organization's integrator with the same workspace id: its token names another
    // organization than the envelope.
    let foreign = app.token(Uuid::now_v7(), &[app.workspace], &[INTEGRATE]);
    let again = with(event.clone(), "eventId", json!(Uuid::now_v7()));
    app.send(Method::POST, &events, Some(&foreign), Some(&again))
        .await
        .assert_invalid("organizationId");
    assert_eq!(app.get(&id).await.body["purchaseCount"], 1);
}
both_backends!(delivering_events_needs_the_integrate_permission);

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

async fn concurrent_orders_and_their_repeats_count_exactly_once(app: TestApp) {
    let id = active_customer(&app, "race@integration.kz").await;
    let events: Vec<Value> = (1..=100)
        .map(|i| order(&app, &id, &format!("ORD-{i}"), &i.to_string(), "2026-05-01T05:00:00Z"))
        .collect();
    // Each event twice, interleaved.
    let bodies: Vec<Value> = events.iter().chain(events.iter()).cloned().collect();
    let barrier = Arc::new(Barrier::new(bodies.len()));
    let token = integrator(&app);
    let url = app.url(&format!("{}/events", TestApp::customers_path(app.workspace)));
    let mut tasks = Vec::new();
    for body in bodies {
        let (client, url, token, barrier) = (app.client.clone(), url.clone(), token.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let request = client.post(url).bearer_auth(token).json(&body);
            barrier.wait().await;
            TestResponse::read(request.send().await.expect("request sent")).await
        }));
    }
    let mut outcomes: HashMap<String, Vec<String>> = HashMap::new();
    for task in tasks {
        let response = task.await.expect("task").assert_status(200);
        let event_id = response.body["eventId"].as_str().expect("eventId").to_owned();
        let status = response.body["status"].as_str().expect("status").to_owned();
        outcomes.entry(event_id).or_default().push(status);
    }
    assert_eq!(outcomes.len(), 100);
    for (event_id, mut statuses) in outcomes {
        statuses.sort();
        assert_eq!(statuses, ["applied", "duplicate"], "{event_id}");
    }

    let customer = app.get(&id).await.assert_status(200).body;
    assert_eq!(customer["purchaseCount"], 100);
    assert_eq!(customer["totalPurchases"], "5050.00");
    assert_eq!(customer["version"], 101, "one new version per counted order");
    let history = purchases(&app, &id, "?limit=100").await;
    assert_eq!(history["total"], 100);
}
both_backends!(multi_thread: concurrent_orders_and_their_repeats_count_exactly_once);

// ---------------------------------------------------------------------------------------------
// Cancellations and refunds
// ---------------------------------------------------------------------------------------------

async fn a_cancelled_order_no_longer_counts(app: TestApp) {
    let id = active_customer(&app, "cancel@integration.kz").await;
    apply(&app, &order(&app, &id, "ORD-1", "1500.50", "2026-05-01T05:00:00Z")).await;
    assert_eq!(app.get(&id).await.body["purchaseCount"], 1);

    // The cancellation names only the order.
    apply(&app, &cancellation(&app, "ORD-1", "2026-05-02T09:30:00Z")).await;
    let customer = app.get(&id).await.assert_status(200);
    assert_eq!(customer.body["totalPurchases"], "0.00");
    assert_eq!(customer.body["purchaseCount"], 0);
    assert_eq!(customer.body["firstPurchaseDate"], Value::Null);
    assert_eq!(customer.body["lastPurchaseDate"], Value::Null);
    assert_eq!(customer.body["lifetimeValue"], "0.00");
    assert_eq!(customer.body["version"], 3);
    let history = purchases(&app, &id, "").await;
    assert_eq!(history["total"], 1);
    assert_eq!(history["items"][0]["orderId"], "ORD-1");
    assert_eq!(history["items"][0]["status"], "CANCELLED");
    assert_eq!(history["items"][0]["cancelledAt"], "2026-05-02T09:30:00Z");
    assert_eq!(history["items"][0]["totalAmount"], "1500.50");

    // Cancelled again under another event id: applied, nothing moves.
    apply(&app, &cancellation(&app, "ORD-1", "2026-05-03T00:00:00Z")).await;
    let unchanged = app.get(&id).await.body;
    assert_eq!(unchanged, customer.body);
    assert_eq!(
        purchases(&app, &id, "").await["items"][0]["cancelledAt"],
        "2026-05-02T09:30:00Z"
    );

    let kinds = column(
        &timeline(&app, &id, &[("kind", "order_completed,order_cancelled")]).await,
        "kind",
    );
    assert_eq!(kinds, strings(&["order_cancelled", "order_completed"]));
}
both_backends!(a_cancelled_order_no_longer_counts);

async fn a_cancellation_before_its_order_means_the_order_never_counts(app: TestApp) {
    let id = active_customer(&app, "early@integration.kz").await;
    apply(&app, &cancellation(&app, "ORD-9", "2026-05-02T00:00:00Z")).await;
    // Not known yet: not in the history.
    assert_eq!(purchases(&app, &id, "").await["total"], 0);

    apply(&app, &order(&app, &id, "ORD-9", "700", "2026-05-01T00:00:00Z")).await;
    let customer = app.get(&id).await.assert_status(200).body;
    assert_eq!(customer["totalPurchases"], "0.00");
    assert_eq!(customer["purchaseCount"], 0);
    assert_eq!(customer["firstPurchaseDate"], Value::Null);
    assert_eq!(customer["version"], 1, "nothing visible changed");
    let history = purchases(&app, &id, "").await;
    assert_eq!(history["total"], 1);
    assert_eq!(history["items"][0]["status"], "CANCELLED");
    assert_eq!(history["items"][0]["totalAmount"], "700.00");
    assert_eq!(history["items"][0]["completedAt"], "2026-05-01T00:00:00Z");
    assert_eq!(history["items"][0]["cancelledAt"], "2026-05-02T00:00:00Z");

    // Other orders still count.
    apply(&app, &order(&app, &id, "ORD-10", "50", "2026-05-03T00:00:00Z")).await;
    let customer = app.get(&id).await.body;
    assert_eq!(customer["totalPurchases"], "50.00");
    assert_eq!(customer["purchaseCount"], 1);
}
both_backends!(a_cancellation_before_its_order_means_the_order_never_counts);

async fn a_refunded_order_no_longer_counts(app: TestApp) {
    let id = active_customer(&app, "refund@integration.kz").await;
    apply(&app, &order(&app, &id, "A", "100", "2026-05-01T00:00:00Z")).await;
    apply(&app, &order(&app, &id, "B", "50.25", "2026-05-05T00:00:00Z")).await;
    let refund = envelope(
        &app,
        "order.refunded",
        json!({ "orderId": "B", "customerId": id, "refundedAt": "2026-05-06T00:00:00Z" }),
    );
    apply(&app, &refund).await;
    let customer = app.get(&id).await.body;
    assert_eq!(customer["totalPurchases"], "100.00");
    assert_eq!(customer["purchaseCount"], 1);
    assert_eq!(customer["lastPurchaseDate"], "2026-05-01T00:00:00Z");
    let history = purchases(&app, &id, "").await;
    assert_eq!(column(&history, "status"), strings(&["REFUNDED", "COMPLETED"]));
    assert_eq!(history["items"][0]["cancelledAt"], "2026-05-06T00:00:00Z");
}
both_backends!(a_refunded_order_no_longer_counts);

// ---------------------------------------------------------------------------------------------
// deal.won, invoices
// ---------------------------------------------------------------------------------------------

async fn a_won_deal_makes_a_lead_active(app: TestApp) {
    let id = created_id(&app.create(&individual("Лид Лидов", "lead@integration.kz")).await);
    assert_eq!(app.get(&id).await.body["status"], "LEAD");
    let actor = Uuid::now_v7();
    let deal = with(
        deal_won(&app, &id, "D-1", "250000", "2026-11-20T08:00:00Z"),
        "actor",
        json!(actor),
    );
    apply(&app, &deal).await;

    let customer = app.get(&id).await.assert_status(200);
    assert_eq!(customer.body["status"], "ACTIVE");
    assert!(customer.body["convertedAt"].is_string(), "{}", customer.text);
    assert_eq!(customer.body["totalPurchases"], "0.00", "money counts from orders only");
    assert_eq!(customer.body["purchaseCount"], 0);
    assert_eq!(customer.body["currentBalance"], "0.00");
    assert_eq!(customer.body["version"], 2);
    assert_eq!(customer.etag.as_deref(), Some("\"2\""));

    let trail = app
        .call(Method::GET, &format!("/{id}/history?field=status"), None)
        .await
        .assert_status(200)
        .body;
    let status = trail["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["newValue"] == "ACTIVE")
        .unwrap_or_else(|| panic!("a status entry: {trail}"));
    assert_eq!(status["field"], "status");
    assert_eq!(status["oldValue"], "LEAD");
    assert_eq!(status["source"], "event");
    assert_eq!(status["actor"], json!(actor));

    let feed = timeline(&app, &id, &[]).await;
    assert_eq!(
        column(&feed, "kind"),
        strings(&["status_changed", "created", "deal_won"]),
        "{feed}"
    );
    assert_eq!(
        feed["items"][0]["data"],
        json!({ "previousStatus": "LEAD", "newStatus": "ACTIVE", "reason": "deal.won D-1" })
    );
    assert_eq!(
        feed["items"][2]["data"],
        json!({ "dealId": "D-1", "amount": "250000.00" })
    );
    assert_eq!(feed["items"][2]["occurredAt"], "2026-11-20T08:00:00Z");

    // Another won deal of an active customer changes nothing visible.
    apply(&app, &deal_won(&app, &id, "D-2", "1", "2026-11-21T08:00:00Z")).await;
    let again = app.get(&id).await.body;
    assert_eq!(again, customer.body);
    let deals = timeline(&app, &id, &[("kind", "deal_won")]).await;
    assert_eq!(deals["total"], 2);
}
both_backends!(a_won_deal_makes_a_lead_active);

async fn invoices_and_payments_move_the_balance(app: TestApp) {
    let id = active_customer(&app, "balance@integration.kz").await;
    apply(
        &app,
        &invoice(&app, "invoice.issued", &id, "INV-1", "1000", "2026-05-01T00:00:00Z"),
    )
    .await;
    assert_eq!(app.get(&id).await.body["currentBalance"], "1000.00");
    let payment = invoice(&app, "invoice.paid", &id, "INV-1", "400", "2026-05-02T00:00:00Z");
    apply(&app, &payment).await;
    let customer = app.get(&id).await.assert_status(200).body;
    assert_eq!(customer["currentBalance"], "600.00");
    assert_eq!(customer["totalPurchases"], "0.00");
    assert_eq!(customer["version"], 3);

    // The same payment again is a duplicate; a second (partial) payment is another event.
    deliver(&app, &payment, "duplicate").await;
    assert_eq!(app.get(&id).await.body["currentBalance"], "600.00");
    apply(
        &app,
        &invoice(&app, "invoice.paid", &id, "INV-1", "600", "2026-05-03T00:00:00Z"),
    )
    .await;
    assert_eq!(app.get(&id).await.body["currentBalance"], "0.00");
}
both_backends!(invoices_and_payments_move_the_balance);

// ---------------------------------------------------------------------------------------------
// Timeline
// ---------------------------------------------------------------------------------------------

async fn the_timeline_is_one_feed_newest_first(app: TestApp) {
    let id = active_customer(&app, "timeline@integration.kz").await;
    let note = app
        .call(
            Method::POST,
            &format!("/{id}/notes"),
            Some(&json!({ "body": "позвонить в пятницу", "channel": "call", "direction": "outbound" })),
        )
        .await
        .assert_status(201)
        .body;
    let contact = app
        .call(
            Method::POST,
            &format!("/{id}/contacts"),
            Some(&json!({
                "firstName": "Бекзат", "lastName": "Ким", "position": "Снабженец",
                "email": "bekzat@integration.kz", "phone": "+77012223344"
            })),
        )
        .await
        .assert_status(201)
        .body;
    let mut times = Vec::new();
    for step in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let at = now_ms();
        times.push(at);
        let at = rfc3339(at);
        let event = match step {
            0 => order(&app, &id, "ORD-T", "300", &at),
            1 => invoice(&app, "invoice.issued", &id, "INV-T", "300", &at),
            _ => invoice(&app, "invoice.paid", &id, "INV-T", "120.50", &at),
        };
        apply(&app, &event).await;
    }

    let feed = timeline(&app, &id, &[]).await;
    assert_eq!(
        column(&feed, "kind"),
        strings(&[
            "invoice_paid",
            "invoice_issued",
            "order_completed",
            "contact_added",
            "note_added",
            "created"
        ]),
        "{feed}"
    );
    assert_eq!(
        (&feed["total"], &feed["page"], &feed["limit"], &feed["pages"]),
        (&json!(6), &json!(1), &json!(20), &json!(1))
    );
    let items = feed["items"].as_array().expect("items");
    assert_eq!(items[0]["data"], json!({ "invoiceId": "INV-T", "amount": "120.50" }));
    assert_eq!(items[1]["data"], json!({ "invoiceId": "INV-T", "amount": "300.00" }));
    assert_eq!(
        items[2]["data"],
        json!({ "orderId": "ORD-T", "totalAmount": "300.00", "itemCount": 1 })
    );
    assert_eq!(items[2]["id"], "order:ORD-T:completed");
    for (item, at) in items[..3].iter().zip(times.iter().rev()) {
        assert_eq!(instant(&item["occurredAt"]), *at, "{item}");
    }
    assert_eq!(
        items[3]["data"],
        json!({ "contactId": contact["id"], "firstName": "Бекзат", "lastName": "Ким", "position": "Снабженец" })
    );
    assert_eq!(
        items[4]["data"],
        json!({
            "noteId": note["id"],
            "content": "позвонить в пятницу",
            "channel": "call",
            "direction": "outbound"
        })
    );
    assert_eq!(items[4]["actor"], json!(app.user));
    assert_eq!(items[5]["data"], json!({ "status": "ACTIVE" }));
    assert_eq!(items[5]["actor"], json!(app.user));

    // Kinds.
    let some = timeline(&app, &id, &[("kind", "note_added,order_completed")]).await;
    assert_eq!(column(&some, "kind"), strings(&["order_completed", "note_added"]));
    assert_eq!(some["total"], 2);
    timeline_as(&app, &id, &[("kind", "bogus")])
        .await
        .assert_invalid("kind");
    timeline_as(&app, &id, &[("kind", "note_added,bogus")])
        .await
        .assert_invalid("kind");

    // Time bounds (inclusive).
    let (t_order, t_issued) = (rfc3339(times[0]), rfc3339(times[1]));
    let window = timeline(&app, &id, &[("from", &t_order), ("to", &t_issued)]).await;
    assert_eq!(column(&window, "kind"), strings(&["invoice_issued", "order_completed"]));
    let since = timeline(&app, &id, &[("from", &t_issued)]).await;
    assert_eq!(column(&since, "kind"), strings(&["invoice_paid", "invoice_issued"]));
    let before = timeline(&app, &id, &[("to", "2000-01-01")]).await;
    assert_eq!(before["items"], json!([]));
    assert_eq!(before["total"], 0);
    timeline_as(&app, &id, &[("from", "yesterday")])
        .await
        .assert_invalid("from");

    // Pages.
    let second = timeline(&app, &id, &[("limit", "2"), ("page", "2")]).await;
    assert_eq!(column(&second, "kind"), strings(&["order_completed", "contact_added"]));
    assert_eq!(
        (&second["total"], &second["page"], &second["limit"], &second["pages"]),
        (&json!(6), &json!(2), &json!(2), &json!(3))
    );

    // An unknown customer.
    timeline_as(&app, &Uuid::now_v7().to_string(), &[])
        .await
        .assert_problem(404);
}
both_backends!(the_timeline_is_one_feed_newest_first);

// ---------------------------------------------------------------------------------------------
// Merge
// ---------------------------------------------------------------------------------------------

async fn a_merge_moves_the_duplicates_orders_to_the_primary(app: TestApp) {
    let primary = created_id(&app.create(&company("ТОО Альфа", "info@alpha-int.kz")).await);
    let duplicate = created_id(&app.create(&company("Альфа ТОО", "dup@alpha-int.kz")).await);
    apply(&app, &order(&app, &primary, "ORD-P", "100", "2026-05-02T00:00:00Z")).await;
    apply(&app, &order(&app, &duplicate, "ORD-D1", "200", "2026-05-01T00:00:00Z")).await;
    apply(&app, &order(&app, &duplicate, "ORD-D2", "300", "2026-05-03T00:00:00Z")).await;

    let merged = app
        .call(
            Method::POST,
            "/merge",
            Some(&json!({ "primaryId": primary, "duplicateIds": [duplicate] })),
        )
        .await
        .assert_status(POST_OK)
        .body;
    assert_eq!(merged["totalPurchases"], "600.00");
    assert_eq!(merged["purchaseCount"], 3);
    assert_eq!(merged["firstPurchaseDate"], "2026-05-01T00:00:00Z");
    assert_eq!(merged["lastPurchaseDate"], "2026-05-03T00:00:00Z");

    let history = purchases(&app, &primary, "").await;
    assert_eq!(column(&history, "orderId"), strings(&["ORD-D2", "ORD-P", "ORD-D1"]));
    assert_eq!(history["total"], 3);
    app.call(Method::GET, &format!("/{duplicate}/purchase-history"), None)
        .await
        .assert_problem(404);
    let orders = timeline(&app, &primary, &[("kind", "order_completed,merged")]).await;
    assert_eq!(
        column(&orders, "kind"),
        strings(&["merged", "order_completed", "order_completed", "order_completed"])
    );

    // The moved orders are the primary's now: cancelling one recomputes its metrics.
    apply(&app, &cancellation(&app, "ORD-D1", "2026-05-04T00:00:00Z")).await;
    let customer = app.get(&primary).await.body;
    assert_eq!(customer["totalPurchases"], "400.00");
    assert_eq!(customer["purchaseCount"], 2);
    assert_eq!(customer["firstPurchaseDate"], "2026-05-02T00:00:00Z");
    // The merged-away customer is unknown to new events.
    post_event(&app, &order(&app, &duplicate, "ORD-D3", "1", "2026-05-05T00:00:00Z"))
        .await
        .assert_invalid("payload.customerId");
}
both_backends!(a_merge_moves_the_duplicates_orders_to_the_primary);

async fn the_lifetime_value_follows_the_status_and_the_orders(app: TestApp) {
    // A first purchase just now: one month of history, so LTV = total × lifetime months
    // (ACTIVE 24, LEAD 3; rating 5).
    let active = active_customer(&app, "ltv-active@integration.kz").await;
    let lead = created_id(&app.create(&individual("Лид", "ltv-lead@integration.kz")).await);
    let now = rfc3339(now_ms());
    apply(&app, &order(&app, &active, "ORD-A", "1500.50", &now)).await;
    apply(&app, &order(&app, &lead, "ORD-L", "1500.50", &now)).await;
    let active = app.get(&active).await.body;
    assert_eq!(active["rating"], 5);
    assert_eq!(active["lifetimeValue"], "36012.00");
    let lead = app.get(&lead).await.body;
    assert_eq!(lead["status"], "LEAD", "an order does not convert a lead");
    assert_eq!(lead["lifetimeValue"], "4501.50");
}
both_backends!(the_lifetime_value_follows_the_status_and_the_orders);

async fn events_for_a_deleted_customer_are_refused_until_it_is_restored(app: TestApp) {
    let id = active_customer(&app, "deleted@integration.kz").await;
    apply(&app, &order(&app, &id, "ORD-1", "10", "2026-05-01T00:00:00Z")).await;
    app.delete(&id).await.assert_status(204);
    let event = order(&app, &id, "ORD-2", "20", "2026-05-02T00:00:00Z");
    post_event(&app, &event).await.assert_invalid("payload.customerId");
    app.call(Method::GET, &format!("/{id}/purchase-history"), None)
        .await
        .assert_problem(404);
    app.call(Method::GET, &format!("/{id}/timeline"), None)
        .await
        .assert_problem(404);
    assert_eq!(dead_letters(&app, "").await["total"], 1);

    app.call(Method::POST, &format!("/{id}/restore"), None)
        .await
        .assert_status(200);
    apply(&app, &event).await;
    let customer = app.get(&id).await.assert_status(200).body;
    assert_eq!(customer["totalPurchases"], "30.00");
    assert_eq!(customer["purchaseCount"], 2);
    assert_eq!(purchases(&app, &id, "").await["total"], 2);
}
both_backends!(events_for_a_deleted_customer_are_refused_until_it_is_restored);

async fn another_workspace_sees_nothing_of_a_customer(app: TestApp) {
    let id = active_customer(&app, "tenant@integration.kz").await;
    apply(&app, &order(&app, &id, "ORD-1", "10", "2026-05-01T00:00:00Z")).await;
    let elsewhere = Uuid::now_v7();
    let token = app.token(app.org, &[elsewhere], &ALL_PERMISSIONS);
    for tail in ["purchase-history", "timeline"] {
        app.call_as(&token, elsewhere, Method::GET, &format!("/{id}/{tail}"), None)
            .await
            .assert_problem(404);
    }
    // Its integrator cannot name the customer either.
    let integrator = app.token(app.org, &[elsewhere], &[INTEGRATE]);
    let event = with(
        order(&app, &id, "ORD-2", "20", "2026-05-02T00:00:00Z"),
        "workspaceId",
        json!(elsewhere),
    );
    app.call_as(&integrator, elsewhere, Method::POST, "/events", Some(&event))
        .await
        .assert_invalid("payload.customerId");
    // Nor cancel its orders: the same order id there is an order of that workspace.
    let mut cancel = cancellation(&app, "ORD-1", "2026-05-03T00:00:00Z");
    cancel["workspaceId"] = json!(elsewhere);
    let answered = app
        .call_as(&integrator, elsewhere, Method::POST, "/events", Some(&cancel))
        .await
        .assert_status(200);
    assert_eq!(app.get(&id).await.body["purchaseCount"], 1, "{}", answered.text);
    assert_eq!(purchases(&app, &id, "").await["items"][0]["status"], "COMPLETED");
}
both_backends!(another_workspace_sees_nothing_of_a_customer);

// ---------------------------------------------------------------------------------------------
// Edges
// ---------------------------------------------------------------------------------------------

async fn paging_parameters_are_checked(app: TestApp) {
    let id = active_customer(&app, "paging@integration.kz").await;
    for query in ["?limit=0", "?limit=101", "?page=0"] {
        app.call(Method::GET, &format!("/{id}/purchase-history{query}"), None)
            .await
            .assert_problem(400);
        app.call(Method::GET, &format!("/{id}/timeline{query}"), None)
            .await
            .assert_problem(400);
        app.call_as(
            &integrator(&app),
            app.workspace,
            Method::GET,
            &format!("/events/dead-letters{query}"),
            None,
        )
        .await
        .assert_problem(400);
    }
    let page = purchases(&app, &id, "?limit=100").await;
    assert_eq!(
        (&page["total"], &page["page"], &page["limit"], &page["pages"]),
        (&json!(0), &json!(1), &json!(100), &json!(0))
    );
}
both_backends!(paging_parameters_are_checked);

async fn timeline_entry_ids_are_unique(app: TestApp) {
    // Two partial payments of one invoice reported with the same time (second precision).
    let id = active_customer(&app, "ids@integration.kz").await;
    apply(
        &app,
        &invoice(&app, "invoice.issued", &id, "INV-1", "100", "2026-05-01T00:00:00Z"),
    )
    .await;
    apply(
        &app,
        &invoice(&app, "invoice.paid", &id, "INV-1", "40", "2026-05-02T00:00:00Z"),
    )
    .await;
    apply(
        &app,
        &invoice(&app, "invoice.paid", &id, "INV-1", "60", "2026-05-02T00:00:00Z"),
    )
    .await;
    assert_eq!(app.get(&id).await.body["currentBalance"], "0.00");
    let feed = timeline(&app, &id, &[("kind", "invoice_paid")]).await;
    assert_eq!(feed["total"], 2);
    let ids = column(&feed, "id");
    assert_ne!(ids[0], ids[1], "two lines, two ids: {feed}");
}
both_backends!(timeline_entry_ids_are_unique);

async fn a_dead_letter_keeps_the_body_verbatim(app: TestApp) {
    let raw = format!(
        r#"{{"type":"order.completed","eventId":"{}","version":1,"occurredAt":"2026-05-01T00:00:00Z","organizationId":"{}","workspaceId":"{}","payload":{{"orderId":"ORD-1","totalAmount":1500.50}}}}"#,
        Uuid::now_v7(),
        app.org,
        app.workspace
    );
    let request = app
        .client
        .post(app.url(&format!("{}/events", TestApp::customers_path(app.workspace))))
        .bearer_auth(integrator(&app))
        .header("content-type", "application/json")
        .body(raw.clone());
    app.execute(request).await.assert_invalid("payload.completedAt");
    let letters = dead_letters(&app, "").await;
    assert_eq!(letters["total"], 1);
    assert_eq!(letters["items"][0]["body"], json!(raw), "what was received, verbatim");
}
both_backends!(a_dead_letter_keeps_the_body_verbatim);

async fn a_cancellation_in_another_workspace_does_not_touch_this_ones_order(app: TestApp) {
    // The same organization's integrator for another workspace cancels an order id before the
    // order is reported here.
    let id = active_customer(&app, "isolation@integration.kz").await;
    let elsewhere = Uuid::now_v7();
    let theirs = app.token(app.org, &[elsewhere], &[INTEGRATE]);
    let cancel = with(
        cancellation(&app, "ORD-X", "2026-05-02T00:00:00Z"),
        "workspaceId",
        json!(elsewhere),
    );
    app.call_as(&theirs, elsewhere, Method::POST, "/events", Some(&cancel))
        .await
        .assert_status(200);
    // An order known here is not cancelled from there: the same id there is another order …
    apply(&app, &order(&app, &id, "ORD-Y", "5", "2026-05-01T00:00:00Z")).await;
    let cancel_known = with(
        cancellation(&app, "ORD-Y", "2026-05-02T00:00:00Z"),
        "workspaceId",
        json!(elsewhere),
    );
    app.call_as(&theirs, elsewhere, Method::POST, "/events", Some(&cancel_known))
        .await
        .assert_status(200);
    // … and neither should one reported after the foreign cancellation.
    apply(&app, &order(&app, &id, "ORD-X", "700", "2026-05-01T00:00:00Z")).await;
    let customer = app.get(&id).await.body;
    assert_eq!(customer["purchaseCount"], 2, "{customer}");
    assert_eq!(customer["totalPurchases"], "705.00");
}
both_backends!(a_cancellation_in_another_workspace_does_not_touch_this_ones_order);

async fn orders_racing_their_cancellations_never_count(app: TestApp) {
    let id = active_customer(&app, "cancel-race@integration.kz").await;
    let mut bodies = Vec::new();
    for i in 1..=40 {
        let order_id = format!("ORD-{i}");
        bodies.push(order(&app, &id, &order_id, "10", "2026-05-01T00:00:00Z"));
        bodies.push(cancellation(&app, &order_id, "2026-05-02T00:00:00Z"));
    }
    // One order that is not cancelled.
    bodies.push(order(&app, &id, "ORD-KEPT", "7.77", "2026-05-03T00:00:00Z"));
    let barrier = Arc::new(Barrier::new(bodies.len()));
    let token = integrator(&app);
    let url = app.url(&format!("{}/events", TestApp::customers_path(app.workspace)));
    let mut tasks = Vec::new();
    for body in bodies {
        let (client, url, token, barrier) = (app.client.clone(), url.clone(), token.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let request = client.post(url).bearer_auth(token).json(&body);
            barrier.wait().await;
            TestResponse::read(request.send().await.expect("request sent")).await
        }));
    }
    for task in tasks {
        let response = task.await.expect("task").assert_status(200);
        assert_eq!(response.body["status"], "applied", "{}", response.text);
    }
    let customer = app.get(&id).await.assert_status(200).body;
    assert_eq!(customer["purchaseCount"], 1, "{customer}");
    assert_eq!(customer["totalPurchases"], "7.77");
    let history = purchases(&app, &id, "?limit=100").await;
    assert_eq!(history["total"], 41);
    let statuses = column(&history, "status");
    assert_eq!(statuses[0], "COMPLETED");
    assert!(statuses[1..].iter().all(|s| s == "CANCELLED"), "{history}");
}
both_backends!(multi_thread: orders_racing_their_cancellations_never_count);

// ---------------------------------------------------------------------------------------------
// Contradictions and extremes: refused with a field, never a 500
// ---------------------------------------------------------------------------------------------

async fn events_that_contradict_what_is_known_are_refused(app: TestApp) {
    let a = active_customer(&app, "owner-a@integration.kz").await;
    let b = active_customer(&app, "owner-b@integration.kz").await;
    apply(
        &app,
        &invoice(&app, "invoice.issued", &a, "INV-A", "1000", "2026-05-01T00:00:00Z"),
    )
    .await;
    apply(&app, &order(&app, &a, "ORD-A", "50", "2026-05-01T00:00:00Z")).await;
    // A payment of A's invoice naming B, a cancellation of A's order naming B.
    let wrong_payment = invoice(&app, "invoice.paid", &b, "INV-A", "1000", "2026-05-02T00:00:00Z");
    post_event(&app, &wrong_payment)
        .await
        .assert_invalid("payload.customerId");
    let mut wrong_cancel = cancellation(&app, "ORD-A", "2026-05-02T00:00:00Z");
    wrong_cancel["payload"]["customerId"] = json!(b);
    post_event(&app, &wrong_cancel)
        .await
        .assert_invalid("payload.customerId");
    // Nothing moved, and both wait as dead letters.
    let (a_now, b_now) = (app.get(&a).await.body, app.get(&b).await.body);
    assert_eq!(
        (a_now["currentBalance"].clone(), a_now["purchaseCount"].clone()),
        (json!("1000.00"), json!(1))
    );
    assert_eq!(b_now["currentBalance"], "0.00");
    let letters = app
        .call_as(
            &integrator(&app),
            app.workspace,
            Method::GET,
            "/events/dead-letters",
            None,
        )
        .await
        .assert_status(200)
        .body;
    assert_eq!(letters["total"], 2, "{letters}");
}
both_backends!(events_that_contradict_what_is_known_are_refused);

async fn extreme_times_and_nul_types_are_refused_not_failed(app: TestApp) {
    let id = active_customer(&app, "extremes@integration.kz").await;
    // Past year 9999 once in UTC.
    let late = order(&app, &id, "ORD-9999", "1", "9999-12-31T23:59:59-01:00");
    post_event(&app, &late).await.assert_invalid("payload.completedAt");
    app.call(
        Method::GET,
        &format!("/{id}/timeline?from=9999-12-31T23:59:59-01:00"),
        None,
    )
    .await
    .assert_invalid("from");
    // A type holding NUL (PostgreSQL text cannot store it) is refused and kept.
    let mut nul = order(&app, &id, "ORD-NUL", "1", "2026-05-01T00:00:00Z");
    nul["type"] = json!("order.completed\u{0}");
    post_event(&app, &nul).await.assert_invalid("type");
}
both_backends!(extreme_times_and_nul_types_are_refused_not_failed);
