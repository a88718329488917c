//! `GET /customers/metrics`: the module metrics of a period, counted from the history.

use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::helpers::{TestApp, individual, with};
use customers_infra::testing::Backend;

/// `?from=…&to=…` with `+` escaped.
fn period(from: Option<&str>, to: Option<&str>) -> String {
    let escape = |v: &str| v.replace('+', "%2B");
    let mut parts = Vec::new();
    if let Some(from) = from {
        parts.push(format!("from={}", escape(from)));
    }
    if let Some(to) = to {
        parts.push(format!("to={}", escape(to)));
    }
    format!("/metrics?{}", parts.join("&"))
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

async fn create(app: &TestApp, name: &str, email: &str, status: &str) -> String {
    app.create(&with(individual(name, email), "status", json!(status)))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn set_status(app: &TestApp, id: &str, status: &str) {
    app.call(
        Method::PATCH,
        &format!("/{id}/status"),
        Some(&json!({ "status": status })),
    )
    .await
    .assert_status(200);
}

/// Sets a stored lifetime value (the API has no operation that records purchases).
async fn set_lifetime_value(app: &TestApp, id: &str, cents: i64) {
    let db = &app.db.connection;
    let id = sea_orm::Value::Uuid(Some(Uuid::parse_str(id).unwrap()));
    let statement = match app.backend {
        Backend::Postgres => Statement::from_sql_and_values(
            db.get_database_backend(),
            "UPDATE customers SET lifetime_value = $1 WHERE id = $2",
            [sea_orm::Value::Decimal(Some(rust_decimal::Decimal::new(cents, 2))), id],
        ),
        Backend::Sqlite => Statement::from_sql_and_values(
            db.get_database_backend(),
            "UPDATE customers SET lifetime_value = ? WHERE id = ?",
            [sea_orm::Value::BigInt(Some(cents)), id],
        ),
    };
    assert_eq!(db.execute_raw(statement).await.unwrap().rows_affected(), 1);
}

async fn metrics_of_the_last_30_days_and_of_a_period(app: TestApp) {
    // Nothing yet: counts 0, rates and averages null.
    let empty = app.call(Method::GET, "/metrics", None).await.assert_status(200).body;
    assert_eq!(empty["activeCustomers"], 0, "{empty}");
    for field in [
        "leadConversionRate",
        "churnRate",
        "averageLeadConversionTimeDays",
        "averageLifetimeValue",
    ] {
        assert!(empty[field].is_null(), "{field}: {empty}");
    }

    let active = create(&app, "Актив", "active@metrics.kz", "ACTIVE").await;
    let lead = create(&app, "Лид", "lead@metrics.kz", "LEAD").await;
    let lost = create(&app, "Потерянный", "lost@metrics.kz", "LEAD").await;
    app.call(Method::POST, &format!("/{lead}/convert"), Some(&json!({})))
        .await
        .assert_status(201);
    set_status(&app, &lost, "CHURNED").await;
    set_lifetime_value(&app, &active, 100_000).await;
    set_lifetime_value(&app, &lead, 50_001).await;

    // The default period: the 30 days up to now.
    let before = now();
    let body = app.call(Method::GET, "/metrics", None).await.assert_status(200).body;
    let after = now();
    let to = OffsetDateTime::parse(body["to"].as_str().unwrap(), &Rfc3339).unwrap();
    let from = OffsetDateTime::parse(body["from"].as_str().unwrap(), &Rfc3339).unwrap();
    assert!(before - time::Duration::seconds(1) <= to && to <= after, "{body}");
    assert_eq!(to - from, time::Duration::days(30));
    assert_eq!(body["asOf"], body["to"]);
    assert_eq!(body["activeCustomers"], 2, "{body}");
    assert_eq!(body["activeAtStart"], 0);
    assert_eq!(body["leadsCreated"], 2);
    assert_eq!(body["leadsConverted"], 1);
    assert_eq!(body["leadConversionRate"], "0.5");
    // Converted within a second of its creation.
    assert_eq!(body["averageLeadConversionTimeDays"], "0");
    // Given up, not churned: nobody was active at the start.
    assert_eq!(body["churnedCustomers"], 0);
    assert!(body["churnRate"].is_null());
    assert_eq!(body["liveCustomers"], 3);
    // (1000.00 + 500.01 + 0) / 3 = 500.003…
    assert_eq!(body["averageLifetimeValue"], "500.00");

    // A period starting now: both active customers were active at its start; one churns.
    let start = now();
    set_status(&app, &active, "CHURNED").await;
    app.delete(&lead).await.assert_status(204);
    let body = app
        .call(Method::GET, &period(Some(&rfc3339(start)), None), None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(body["activeAtStart"], 2, "{body}");
    assert_eq!(body["churnedCustomers"], 1);
    assert_eq!(body["churnRate"], "0.5");
    assert_eq!(body["activeCustomers"], 0);
    assert_eq!(
        (body["leadsCreated"].as_u64(), body["liveCustomers"].as_u64()),
        (Some(0), Some(2))
    );
    assert!(body["leadConversionRate"].is_null());
    // The lead that held 500.01 is deleted; a churned customer's lifetime value is 0.
    assert_eq!(body["averageLifetimeValue"], "0.00");

    // Dates: `from` at its midnight, `to` including its day; offsets become UTC.
    let body = app
        .call(Method::GET, &period(Some("2026-01-01"), Some("2026-01-31")), None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(
        (body["from"].as_str(), body["to"].as_str()),
        (Some("2026-01-01T00:00:00Z"), Some("2026-02-01T00:00:00Z"))
    );
    assert_eq!(body["activeCustomers"], 0);
    let body = app
        .call(
            Method::GET,
            &period(Some("2026-01-01T05:00:00+05:00"), Some("2026-01-02T00:00:00Z")),
            None,
        )
        .await
        .assert_status(200)
        .body;
    assert_eq!(body["from"], "2026-01-01T00:00:00Z");
}
both_backends!(metrics_of_the_last_30_days_and_of_a_period);

async fn bad_periods_are_400_naming_the_field(app: TestApp) {
    let tomorrow = rfc3339(now() + time::Duration::days(1));
    for (from, to, field) in [
        (Some("yesterday"), None, "from"),
        (None, Some("2026-02-30"), "to"),
        (Some("2026-05-01"), Some("2026-04-01"), "from"),
        (Some("2026-05-01T00:00:00Z"), Some("2026-05-01T00:00:00Z"), "from"),
        (Some(tomorrow.as_str()), None, "from"),
        (Some("1990-01-01"), Some("2026-01-01"), "from"),
        (Some("0001-01-01"), Some("9999-12-30"), "from"),
        (None, Some("9999-12-31T23:00:00-05:00"), "to"),
        (None, Some("9999-12-31"), "to"),
    ] {
        let response = app.call(Method::GET, &period(from, to), None).await;
        assert_eq!(response.status, 400, "{from:?} {to:?}: {}", response.text);
        response.assert_invalid(field);
    }
    // Both bad: both named.
    let response = app
        .call(Method::GET, &period(Some("soon"), Some("later")), None)
        .await
        .assert_invalid("from");
    assert!(response.error_fields().contains(&"to".to_owned()));
}
both_backends!(bad_periods_are_400_naming_the_field);

async fn metrics_need_the_workspace_and_view_permission(app: TestApp) {
    create(&app, "Актив", "active@metrics.kz", "ACTIVE").await;
    let other = Uuid::now_v7();
    let token = app.token(app.org, &[other], &["customers:view"]);
    app.call_as(&token, app.workspace, Method::GET, "/metrics", None)
        .await
        .assert_problem(403);
    let token = app.token(app.org, &[app.workspace], &["customers:create"]);
    app.call_as(&token, app.workspace, Method::GET, "/metrics", None)
        .await
        .assert_problem(403);
    app.send(
        Method::GET,
        &format!("{}/metrics", TestApp::customers_path(app.workspace)),
        None,
        None,
    )
    .await
    .assert_problem(401);
    // Another workspace of the organization sees its own (empty) metrics.
    let token = app.token_all(other);
    let body: Value = app
        .call_as(&token, other, Method::GET, "/metrics", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(
        (body["activeCustomers"].as_u64(), body["liveCustomers"].as_u64()),
        (Some(0), Some(0))
    );
}
both_backends!(metrics_need_the_workspace_and_view_permission);
