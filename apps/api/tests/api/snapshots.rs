//! Wire format snapshots (insta), shared by both backends: the snapshot names do not mention
//! the backend, so SQLite and PostgreSQL must produce the same document.
//!
//! Ids, timestamps and the tenant/user ids vary per run; they are redacted after checking
//! their shape (as crates.io's `tests/util/insta.rs` does).

use insta::internals::{Content, ContentPath};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::helpers::{TestApp, b2b_example};

fn uuid_redaction(value: Content, path: ContentPath<'_>) -> Content {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not a string: {value:?}"));
    Uuid::parse_str(text).unwrap_or_else(|e| panic!("{path} is not a UUID ({e}): {text}"));
    "[uuid]".into()
}

fn optional_uuid_redaction(value: Content, path: ContentPath<'_>) -> Content {
    if value.as_str().is_none() {
        return value; // null stays visible
    }
    uuid_redaction(value, path)
}

fn datetime_redaction(value: Content, path: ContentPath<'_>) -> Content {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{path} is not a string: {value:?}"));
    let at = OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("{path} is not RFC 3339 ({e}): {text}"));
    assert_eq!(at.offset(), time::UtcOffset::UTC, "{path} is in UTC: {text}");
    "[datetime]".into()
}

/// Settings with the redactions of a customer document at `prefix` (`""` or `.items[]`).
fn customer_settings(prefixes: &[&str]) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_sort_maps(true);
    for prefix in prefixes {
        for field in ["id", "organizationId", "workspaceId", "createdBy", "updatedBy"] {
            settings.add_dynamic_redaction(&format!("{prefix}.{field}"), uuid_redaction);
        }
        settings.add_dynamic_redaction(&format!("{prefix}.assignedTo"), optional_uuid_redaction);
        for field in ["createdAt", "updatedAt"] {
            settings.add_dynamic_redaction(&format!("{prefix}.{field}"), datetime_redaction);
        }
        for child in ["contacts", "addresses"] {
            for field in ["id", "customerId"] {
                settings.add_dynamic_redaction(&format!("{prefix}.{child}[].{field}"), uuid_redaction);
            }
            for field in ["createdAt", "updatedAt"] {
                settings.add_dynamic_redaction(&format!("{prefix}.{child}[].{field}"), datetime_redaction);
            }
        }
    }
    settings
}

async fn created_b2b_customer(app: TestApp) {
    let created = app.create(&b2b_example()).await;
    customer_settings(&[""]).bind(|| insta::assert_json_snapshot!("created_b2b_customer", created));
}
both_backends!(created_b2b_customer);

async fn list_page(app: TestApp) {
    app.create(&b2b_example()).await;
    let mut other = crate::helpers::individual("Иван Петров", "ivan.petrov@example.com");
    other["phone"] = json!("8 705 123 45 67");
    other["tags"] = json!(["retail"]);
    app.create(&other).await;
    let page: Value = app
        .list(&[("sortBy", "name"), ("sortOrder", "ASC"), ("limit", "2")])
        .await
        .assert_status(200)
        .body;
    customer_settings(&[".items[]"]).bind(|| insta::assert_json_snapshot!("list_page", page));
}
both_backends!(list_page);

async fn validation_problem(app: TestApp) {
    let mut body = b2b_example();
    body["name"] = json!("A");
    body["email"] = json!("not-an-email");
    body["bin"] = json!("971340001315");
    body["creditLimit"] = json!(-5);
    body["contacts"][0]["phone"] = json!("1");
    body["addresses"][0]["postalCode"] = json!("12");
    let mut problem = app.post_customer(&body).await.assert_problem(400).body;
    // The order of errors is not part of the contract; sort them for a stable snapshot.
    if let Some(errors) = problem["errors"].as_array_mut() {
        errors.sort_by_key(|e| e["field"].as_str().unwrap_or_default().to_owned());
    }
    customer_settings(&[]).bind(|| insta::assert_json_snapshot!("validation_problem", problem));
}
both_backends!(validation_problem);

async fn not_found_problem(app: TestApp) {
    let problem = app.get(&Uuid::now_v7().to_string()).await.assert_problem(404).body;
    customer_settings(&[]).bind(|| insta::assert_json_snapshot!("not_found_problem", problem));
}
both_backends!(not_found_problem);

async fn conflict_problem(app: TestApp) {
    app.create(&b2b_example()).await;
    let mut copy = b2b_example();
    copy["bin"] = json!(crate::helpers::valid_bin(8));
    copy["email"] = json!("INFO@alpha.kz");
    let problem = app.post_customer(&copy).await.assert_problem(409).body;
    let mut settings = customer_settings(&[]);
    settings.add_dynamic_redaction(".existingId", uuid_redaction);
    settings.bind(|| insta::assert_json_snapshot!("conflict_problem", problem));
}
both_backends!(conflict_problem);
