//! Every change made through the API leaves its events in the outbox, in order, with the
//! envelope fields other modules rely on.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, b2b_example};

/// `(type, payload)` of the customer's outbox rows, in the order written.
async fn outbox(app: &TestApp, customer: &str) -> Vec<(String, serde_json::Value)> {
    let backend = app.db.connection.get_database_backend();
    let id = Uuid::parse_str(customer).expect("uuid");
    let placeholder = if matches!(backend, sea_orm::DbBackend::Postgres) {
        "$1"
    } else {
        "?"
    };
    let rows = app
        .db
        .connection
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!("SELECT type, payload FROM customer_events WHERE customer_id = {placeholder} ORDER BY seq"),
            [sea_orm::Value::Uuid(Some(id))],
        ))
        .await
        .expect("outbox query");
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("", "type").expect("type");
            let payload = match row.try_get::<serde_json::Value>("", "payload") {
                Ok(serde_json::Value::String(text)) => serde_json::from_str(&text).expect("payload JSON"),
                Ok(value) => value,
                Err(_) => {
                    let text: String = row.try_get("", "payload").expect("payload");
                    serde_json::from_str(&text).expect("payload JSON")
                }
            };
            (kind, payload)
        })
        .collect()
}

async fn api_writes_leave_their_events_in_the_outbox(app: TestApp) {
    let created = app.create(&b2b_example()).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let manager = Uuid::now_v7();
    app.put(&id, &json!({ "name": "ТОО Альфа Групп", "assignedTo": manager }))
        .await
        .assert_status(200);
    app.delete(&id).await.assert_status(204);

    let events = outbox(&app, &id).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        vec![
            "customer.created",
            "customer.updated",
            "customer.assigned",
            "customer.deleted"
        ]
    );
    assert_eq!(events[0].1["status"], "PROSPECT");
    assert_eq!(
        events[1].1["changes"]["name"],
        json!({ "old": "ТОО Альфа", "new": "ТОО Альфа Групп" })
    );
    assert_eq!(events[2].1["assignedTo"], json!(manager));
    assert_eq!(events[3].1["deletedBy"], json!(app.user));
}
both_backends!(api_writes_leave_their_events_in_the_outbox);

async fn a_refused_write_leaves_no_event(app: TestApp) {
    let created = app.create(&b2b_example()).await;
    let id = created["id"].as_str().expect("id").to_owned();
    // A forbidden status move (PROSPECT → INACTIVE) and a duplicate e-mail change nothing.
    app.call(
        reqwest::Method::PATCH,
        &format!("/{id}/status"),
        Some(&json!({ "status": "INACTIVE" })),
    )
    .await
    .assert_status(409);
    let mut other = b2b_example();
    other["email"] = json!("other@alpha.kz");
    other["bin"] = serde_json::Value::Null;
    let second = app.create(&other).await;
    let second_id = second["id"].as_str().expect("id").to_owned();
    app.put(&second_id, &json!({ "email": "INFO@alpha.kz" }))
        .await
        .assert_status(409);

    assert_eq!(outbox(&app, &id).await.len(), 1, "only customer.created");
    assert_eq!(outbox(&app, &second_id).await.len(), 1, "only customer.created");
}
both_backends!(a_refused_write_leaves_no_event);

async fn history_lists_who_changed_what_newest_first(app: TestApp) {
    let created = app.create(&b2b_example()).await;
    let id = created["id"].as_str().expect("id").to_owned();
    app.put(&id, &json!({ "name": "ТОО Альфа Групп" }))
        .await
        .assert_status(200);
    app.call(
        reqwest::Method::PATCH,
        &format!("/{id}/status"),
        Some(&json!({ "status": "ACTIVE" })),
    )
    .await
    .assert_status(200);

    let trail = app
        .call(reqwest::Method::GET, &format!("/{id}/history"), None)
        .await
        .assert_status(200)
        .body;
    let lines: Vec<(serde_json::Value, serde_json::Value, serde_json::Value)> = trail["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| (e["field"].clone(), e["oldValue"].clone(), e["newValue"].clone()))
        .collect();
    let converted_at = lines[0].2.clone();
    assert!(converted_at.is_string(), "{lines:?}");
    assert_eq!(
        lines,
        vec![
            (json!("convertedAt"), json!(null), converted_at),
            (json!("status"), json!("PROSPECT"), json!("ACTIVE")),
            (json!("name"), json!("ТОО Альфа"), json!("ТОО Альфа Групп")),
            (json!(null), json!(null), json!("PROSPECT")),
        ]
    );
    assert_eq!(trail["items"][0]["actor"], json!(app.user));
    assert_eq!(trail["items"][0]["source"], "api");

    let status_only = app
        .call(reqwest::Method::GET, &format!("/{id}/history?field=status"), None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(status_only["total"], 1);
    assert_eq!(status_only["items"][0]["newValue"], "ACTIVE");

    let paged = app
        .call(reqwest::Method::GET, &format!("/{id}/history?limit=1&page=2"), None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(paged["items"].as_array().expect("items").len(), 1);
    assert_eq!(paged["limit"], 1);

    app.call(reqwest::Method::GET, &format!("/{id}/history?from=yesterday"), None)
        .await
        .assert_status(400);
    app.call(reqwest::Method::GET, &format!("/{}/history", Uuid::now_v7()), None)
        .await
        .assert_status(404);
}
both_backends!(history_lists_who_changed_what_newest_first);
