//! `GET /customers/analytics/clv` and `POST /customers/analytics/clv/fit`: the workspace's
//! lifetime value models, and one customer's predictions from them.

use std::sync::Arc;

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use customers_api::app;
use customers_domain::commands::CustomerDraft;
use customers_domain::integration::{CompletedOrder, InboundEnvelope, InboundEvent, InboundOutcome};
use customers_domain::ports::{CustomerRepository, InboundStore};
use customers_domain::service::AsOf;
use customers_domain::{Customer, CustomerId, CustomerType, Money, Scope};
use customers_infra::SeaRepository;

use crate::helpers::{TestApp, individual};

/// The end of the generated purchase histories.
const AS_OF: OffsetDateTime = datetime!(2026-06-30 12:00 UTC);

/// xorshift64*: the same histories on every run.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `buyers` customers stored through the repository, each with a purchase history over the
/// year before [`AS_OF`] (applied as `order.completed` events) drawn from the BG/NBD process,
/// and a typical spend of its own. Returns the customers with their purchases.
async fn seed_histories(app: &TestApp, buyers: usize, seed: u64) -> Vec<(Customer, Vec<(OffsetDateTime, Money)>)> {
    let repo = SeaRepository::new(app.db.connection.clone());
    let scope = Scope::new(app.org.into(), app.workspace.into());
    let customers: Vec<Customer> = (0..buyers)
        .map(|i| {
            CustomerDraft::new(
                CustomerType::Individual,
                &format!("Покупатель {i}"),
                &format!("buyer{i}@clv.kz"),
            )
            .parse()
            .expect("valid draft")
            .into_customer(scope, app.user.into(), AS_OF - Duration::days(400))
        })
        .collect();
    repo.insert_many(&customers, &[]).await.expect("customers stored");
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    for customer in customers {
        // The BG/NBD process: a purchase rate from Gamma(2, 60 days), a dropout probability
        // after each repeat purchase from Beta(1, 4).
        let rate = -((1.0 - rng.unit()).ln() + (1.0 - rng.unit()).ln()) / 60.0;
        let dropout = 1.0 - (1.0 - rng.unit()).powf(0.25);
        let spend = 2_000.0 + 8_000.0 * rng.unit();
        let mut day = 365.0 * rng.unit();
        let mut purchases = Vec::new();
        while day < 365.0 {
            let at = AS_OF - Duration::days(365) + Duration::seconds((day * 86_400.0) as i64);
            let amount = Money::parse(Decimal::new((spend * (0.5 + rng.unit()) * 100.0) as i64, 2)).unwrap();
            let event = InboundEnvelope {
                event_id: Uuid::now_v7(),
                version: 1,
                occurred_at: at,
                organization_id: scope.organization_id,
                workspace_id: scope.workspace_id,
                customer_id: Some(customer.id),
                actor: None,
                event: InboundEvent::OrderCompleted(CompletedOrder {
                    order_id: format!("O-{}-{}", customer.id, purchases.len()),
                    total_amount: amount,
                    completed_at: at,
                    items: Vec::new(),
                }),
            };
            let outcome = repo.apply_inbound(&event, at).await.expect("order applied");
            assert!(matches!(outcome, InboundOutcome::Applied(_)), "{outcome:?}");
            purchases.push((at, amount));
            if purchases.len() > 1 && rng.unit() < dropout {
                break;
            }
            day += -(1.0 - rng.unit()).ln() / rate;
        }
        out.push((customer, purchases));
    }
    out
}

fn number(body: &Value, path: &[&str]) -> f64 {
    let mut v = body;
    for key in path {
        v = &v[*key];
    }
    v.as_f64().unwrap_or_else(|| panic!("{path:?} is not a number: {body}"))
}

async fn clv_is_not_fitted_then_too_little_data_says_why(app: TestApp) {
    let before = app
        .call(Method::GET, "/analytics/clv", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(
        before,
        json!({
            "status": "NOT_FITTED", "model": null, "timeUnit": "days", "sampleSize": 0,
            "asOf": null, "fittedAt": null, "reason": "not fitted yet"
        })
    );

    let a = app.create(&individual("Айгерим", "aigerim@clv.kz")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = app.create(&individual("Болат", "bolat@clv.kz")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let _no_orders = app.create(&individual("Сауле", "saule@clv.kz")).await;
    let now = OffsetDateTime::now_utc();
    app.complete_order(&a, "O-1", "12000.00", now - Duration::days(200))
        .await;
    app.complete_order(&a, "O-2", "8000.00", now - Duration::days(20)).await;
    app.complete_order(&b, "O-3", "5000.00", now - Duration::days(3)).await;

    // No body: as of now.
    let fitted = app
        .call(Method::POST, "/analytics/clv/fit", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(fitted["status"], "INSUFFICIENT_DATA", "{fitted}");
    assert_eq!(fitted["model"], Value::Null);
    assert_eq!(fitted["sampleSize"], 2);
    assert_eq!(fitted["timeUnit"], "days");
    assert_eq!(
        fitted["reason"],
        "not enough data: 2 customers with a purchase; a model needs at least 200"
    );
    let as_of = OffsetDateTime::parse(
        fitted["asOf"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!((as_of - now).abs() < Duration::minutes(5), "{fitted}");
    assert_eq!(fitted["asOf"], fitted["fittedAt"]);
    // Stored: GET gives the same.
    let read = app
        .call(Method::GET, "/analytics/clv", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(read, fitted);

    // As of a day before the second customer's only order, it is not in the sample.
    let day = (now - Duration::days(10)).date().to_string();
    let earlier = app
        .call(Method::POST, "/analytics/clv/fit", Some(&json!({ "asOf": day })))
        .await
        .assert_status(200)
        .body;
    assert_eq!(earlier["sampleSize"], 1, "{earlier}");
    assert!(
        earlier["asOf"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{day}T23:59:59.999999")),
        "{earlier}"
    );

    // Another workspace has its own (none).
    let other = Uuid::now_v7();
    let token = app.token(app.org, &[other], &crate::helpers::ALL_PERMISSIONS);
    let theirs = app
        .call_as(&token, other, Method::GET, "/analytics/clv", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(theirs["status"], "NOT_FITTED");
}
both_backends!(clv_is_not_fitted_then_too_little_data_says_why);

async fn clv_fits_a_model_on_enough_history_and_predicts_customers(app: TestApp) {
    let histories = seed_histories(&app, 260, 20_260_630).await;
    let fitted = app
        .call(
            Method::POST,
            "/analytics/clv/fit",
            Some(&json!({ "asOf": "2026-06-30" })),
        )
        .await
        .assert_status(200)
        .body;
    assert_eq!(fitted["status"], "FITTED", "{fitted}");
    assert_eq!(fitted["reason"], Value::Null);
    assert_eq!(fitted["sampleSize"], 260);
    assert_eq!(fitted["timeUnit"], "days");
    assert_eq!(fitted["asOf"], "2026-06-30T23:59:59.999999Z");
    for path in [
        ["bgNbd", "r"],
        ["bgNbd", "alpha"],
        ["bgNbd", "a"],
        ["bgNbd", "b"],
        ["gammaGamma", "p"],
        ["gammaGamma", "q"],
        ["gammaGamma", "v"],
    ] {
        let value = number(&fitted["model"], &path);
        assert!(value > 0.0 && value.is_finite(), "{path:?} = {value}: {fitted}");
    }
    assert!(number(&fitted["model"], &["gammaGamma", "q"]) > 1.0);
    assert!(number(&fitted["model"], &["bgNbd", "logLikelihood"]) < 0.0);
    assert_eq!(fitted["model"]["bgNbd"]["customers"], 260);
    // Gamma-Gamma sees the customers who bought on two days or more.
    let repeat_buyers = histories
        .iter()
        .filter(|(_, p)| {
            let days: std::collections::BTreeSet<_> = p.iter().map(|(at, _)| at.date()).collect();
            days.len() > 1
        })
        .count();
    assert_eq!(fitted["model"]["gammaGamma"]["customers"], repeat_buyers);
    // The stored models are what GET returns, numbers included.
    let read = app
        .call(Method::GET, "/analytics/clv", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(read, fitted);

    // One customer's predictions from the stored models (what `GET /{id}/analytics` uses).
    let service = Arc::new(app::service(app.db.connection.clone()));
    let scope = Scope::new(app.org.into(), app.workspace.into());
    let (loyal, purchases) = histories.iter().max_by_key(|(_, p)| p.len()).expect("customers");
    let answer = service
        .customer_prediction(scope, loyal.id, Some(AsOf::At(AS_OF)))
        .await
        .expect("prediction");
    let prediction = answer
        .prediction()
        .unwrap_or_else(|| panic!("no prediction: {:?}", answer.reason()));
    assert!((0.0..=1.0).contains(&prediction.p_alive), "{prediction:?}");
    assert!(prediction.expected_purchases > 0.0, "{prediction:?}");
    assert!(prediction.predicted_clv.amount() >= Decimal::ZERO);
    // `GET /{id}/analytics` gives the same predictions over HTTP.
    let analytics = app
        .call(
            Method::GET,
            &format!("/{}/analytics?asOf={}", loyal.id, AS_OF.format(&Rfc3339).unwrap()),
            None,
        )
        .await
        .assert_status(200)
        .body;
    let four = |x: f64| (x * 10_000.0).round() / 10_000.0;
    assert_eq!(analytics["predictionUnavailableReason"], Value::Null, "{analytics:#}");
    assert_eq!(analytics["churnProbability"], json!(four(prediction.churn_probability)));
    assert_eq!(
        analytics["expectedPurchasesNext90Days"],
        json!(four(prediction.expected_purchases))
    );
    assert_eq!(
        analytics["expectedOrderValue"],
        json!(prediction.expected_order_value.amount().to_string())
    );
    assert_eq!(
        analytics["predictedClv"],
        json!(prediction.predicted_clv.amount().to_string())
    );
    let next = prediction.next_purchase.map(|d| d.to_string());
    assert_eq!(analytics["nextPurchasePrediction"], json!(next));
    // Before its first purchase there is nothing to say.
    let first = purchases.iter().map(|(at, _)| *at).min().unwrap();
    let before = service
        .customer_prediction(scope, loyal.id, Some(AsOf::At(first - Duration::days(1))))
        .await
        .unwrap();
    assert_eq!(before.reason(), Some("the customer has no completed purchase by then"));
    // A customer of another workspace is not found.
    let stranger = Scope::new(app.org.into(), Uuid::now_v7().into());
    assert!(matches!(
        service.customer_prediction(stranger, loyal.id, None).await,
        Err(customers_domain::CustomerError::NotFound)
    ));
    assert!(matches!(
        service.customer_prediction(scope, CustomerId::new(), None).await,
        Err(customers_domain::CustomerError::NotFound)
    ));
}
both_backends!(clv_fits_a_model_on_enough_history_and_predicts_customers);

async fn clv_fit_checks_as_of_the_body_and_permissions(app: TestApp) {
    let tomorrow = (OffsetDateTime::now_utc() + Duration::days(1)).date().to_string();
    let in_an_hour = (OffsetDateTime::now_utc() + Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    for bad in [
        json!({ "asOf": "31.01.2026" }),
        json!({ "asOf": "2026-02-30" }),
        json!({ "asOf": tomorrow }),
        json!({ "asOf": in_an_hour }),
        json!({ "asOf": 20260131 }),
    ] {
        app.call(Method::POST, "/analytics/clv/fit", Some(&bad))
            .await
            .assert_invalid("asOf");
    }
    // Nothing was stored by the refused requests.
    let read = app
        .call(Method::GET, "/analytics/clv", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(read["status"], "NOT_FITTED");
    // A null or absent asOf is now; so is an empty object.
    for body in [json!({ "asOf": null }), json!({})] {
        let fitted = app
            .call(Method::POST, "/analytics/clv/fit", Some(&body))
            .await
            .assert_status(200)
            .body;
        assert_eq!(fitted["status"], "INSUFFICIENT_DATA", "{fitted}");
        assert_eq!(fitted["sampleSize"], 0);
    }
    // A body that is not JSON is refused as such.
    let path = format!("{}/analytics/clv/fit", TestApp::customers_path(app.workspace));
    let token = app.token_all(app.workspace);
    let request = app
        .client
        .post(app.url(&path))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json");
    app.execute(request).await.assert_problem(400);
    let request = app
        .client
        .post(app.url(&path))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("asOf=2026-01-01");
    app.execute(request).await.assert_problem(415);

    // Reading needs customers:view, fitting customers:update.
    let viewer = app.token(app.org, &[app.workspace], &["customers:view"]);
    app.call_as(&viewer, app.workspace, Method::GET, "/analytics/clv", None)
        .await
        .assert_status(200);
    app.call_as(&viewer, app.workspace, Method::POST, "/analytics/clv/fit", None)
        .await
        .assert_problem(403);
    let updater = app.token(app.org, &[app.workspace], &["customers:update"]);
    app.call_as(&updater, app.workspace, Method::GET, "/analytics/clv", None)
        .await
        .assert_problem(403);
    app.call_as(&updater, app.workspace, Method::POST, "/analytics/clv/fit", None)
        .await
        .assert_status(200);
    // Another workspace's token does not reach this one.
    let outsider = app.token(app.org, &[Uuid::now_v7()], &crate::helpers::ALL_PERMISSIONS);
    app.call_as(&outsider, app.workspace, Method::GET, "/analytics/clv", None)
        .await
        .assert_problem(403);
    app.send(
        Method::GET,
        &format!("{}/analytics/clv", TestApp::customers_path(app.workspace)),
        None,
        None,
    )
    .await
    .assert_problem(401);
    app.call(Method::GET, "/analytics/clv", None).await.assert_status(200);
    let bad_ws = app
        .send(
            Method::GET,
            "/api/v1/workspaces/not-a-uuid/customers/analytics/clv",
            Some(&token),
            None,
        )
        .await;
    bad_ws.assert_invalid("workspaceId");
}
both_backends!(clv_fit_checks_as_of_the_body_and_permissions);

/// The current `fittedAt` of the default workspace (null while never fitted).
async fn fitted_at(app: &TestApp) -> Value {
    app.call(Method::GET, "/analytics/clv", None)
        .await
        .assert_status(200)
        .body["fittedAt"]
        .clone()
}

/// Waits (up to 20 s) for a `fittedAt` other than `previous`, and returns it.
async fn next_fit(app: &TestApp, previous: Value) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let current = fitted_at(app).await;
        if current != previous {
            return current;
        }
        assert!(std::time::Instant::now() < deadline, "no refit in 20 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn clv_refit_task_fits_workspaces_with_orders_and_refits_stale_ones(app: TestApp) {
    let a = app.create(&individual("Дана", "dana@clv.kz")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.complete_order(&a, "O-1", "100.00", OffsetDateTime::now_utc() - Duration::days(40))
        .await;
    let quiet = Uuid::now_v7();
    let quiet_token = app.token(app.org, &[quiet], &crate::helpers::ALL_PERMISSIONS);

    let service = Arc::new(app::service(app.db.connection.clone()));
    let task = tokio::spawn(app::refit_clv_periodically(
        service,
        std::time::Duration::from_millis(300),
    ));
    let first = next_fit(&app, Value::Null).await;
    let body = app
        .call(Method::GET, "/analytics/clv", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(body["status"], "INSUFFICIENT_DATA", "{body}");
    assert_eq!(body["sampleSize"], 1);
    // Older than the interval: fitted again.
    let second = next_fit(&app, first.clone()).await;
    assert!(
        second.as_str().unwrap() > first.as_str().unwrap(),
        "{first} then {second}"
    );
    // A workspace without orders is left alone.
    let theirs = app
        .call_as(&quiet_token, quiet, Method::GET, "/analytics/clv", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(theirs["status"], "NOT_FITTED");
    task.abort();
}
both_backends!(clv_refit_task_fits_workspaces_with_orders_and_refits_stale_ones);
