//! Soft delete and `POST /customers/{id}/restore`.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ALPHA_BIN, TestApp, TestResponse, b2b_example, company, individual};

impl TestApp {
    async fn restore(&self, id: &str) -> TestResponse {
        self.call(Method::POST, &format!("/{id}/restore"), None).await
    }

    async fn write_note(&self, id: &str, body: &str) -> Value {
        self.call(Method::POST, &format!("/{id}/notes"), Some(&json!({ "body": body })))
            .await
            .assert_status(201)
            .body
    }

    async fn notes_of(&self, id: &str) -> TestResponse {
        self.call(Method::GET, &format!("/{id}/notes"), None).await
    }
}

async fn a_deleted_customer_is_gone_and_frees_its_unique_values(app: TestApp) {
    let customer = app.create(&b2b_example()).await;
    let id = customer["id"].as_str().unwrap();
    let other = app.create(&individual("Другой", "other@example.kz")).await;
    app.get(id).await.assert_status(200); // cached on SQLite
    app.delete(id).await.assert_status(204);

    app.get(id).await.assert_problem(404);
    assert_eq!(app.list_ids(&[]).await, vec![other["id"].as_str().unwrap().to_owned()]);
    assert!(app.list_ids(&[("search", "Альфа")]).await.is_empty());
    for tail in ["contacts", "addresses", "notes"] {
        app.call(Method::GET, &format!("/{id}/{tail}"), None)
            .await
            .assert_problem(404);
    }
    app.put(id, &json!({ "name": "Воскресший" })).await.assert_problem(404);
    app.delete(id).await.assert_problem(404);
    app.call(
        Method::POST,
        &format!("/{id}/notes"),
        Some(&json!({ "body": "поздно" })),
    )
    .await
    .assert_problem(404);
    let contact_id = customer["contacts"][0]["id"].as_str().unwrap();
    app.call(Method::GET, &format!("/{id}/contacts/{contact_id}"), None)
        .await
        .assert_problem(404);
    app.call(
        Method::POST,
        &format!("/{id}/addresses"),
        Some(&json!({ "type": "office", "street": "x", "city": "y", "postalCode": "050000" })),
    )
    .await
    .assert_problem(404);

    // E-mail (in another case) and BIN can be used again.
    let reuse = app
        .create(&json!({ "type": "COMPANY", "name": "ТОО Альфа Новая", "email": "INFO@alpha.kz", "bin": ALPHA_BIN }))
        .await;
    assert_ne!(reuse["id"], customer["id"]);
    assert_eq!(reuse["email"], "info@alpha.kz");
}
both_backends!(a_deleted_customer_is_gone_and_frees_its_unique_values);

async fn a_restore_brings_the_customer_back_with_its_parts(app: TestApp) {
    let customer = app.create(&b2b_example()).await;
    let id = customer["id"].as_str().unwrap();
    let first = app.write_note(id, "первая").await;
    let second = app.write_note(id, "вторая").await;
    let before = app.get(id).await.assert_status(200).body;
    assert_eq!(before, customer);

    app.delete(id).await.assert_status(204);
    let response = app.restore(id).await.assert_status(200);
    let restored = response.body.clone();
    assert_eq!(response.etag.as_deref(), Some("\"2\""));
    assert_eq!(restored["version"], 2);
    assert_eq!(restored["updatedBy"], json!(app.user));
    // Everything else is as before, contacts and addresses included.
    let strip = |mut c: Value| {
        for key in ["version", "updatedAt", "updatedBy"] {
            c.as_object_mut().unwrap().remove(key);
        }
        c
    };
    assert_eq!(strip(restored.clone()), strip(before.clone()));
    assert!(restored["updatedAt"].as_str().unwrap() >= before["updatedAt"].as_str().unwrap());

    assert_eq!(app.get(id).await.assert_status(200).body, restored);
    assert_eq!(app.list_ids(&[]).await, vec![id.to_owned()]);
    let notes = app.notes_of(id).await.assert_status(200).body;
    assert_eq!(notes["items"], json!([second, first]));
    let contacts = app
        .call(Method::GET, &format!("/{id}/contacts"), None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(contacts, customer["contacts"]);

    // It is live again: its e-mail is taken, it can be changed and deleted again.
    let conflict = app
        .post_customer(&company("ТОО Копия", "info@alpha.kz"))
        .await
        .assert_problem(409);
    assert_eq!(conflict.body["field"], "email");
    app.put(id, &json!({ "industry": "Retail" })).await.assert_status(200);
    app.delete(id).await.assert_status(204);
    app.restore(id).await.assert_status(200);
    assert_eq!(app.get(id).await.body["industry"], "Retail");
}
both_backends!(a_restore_brings_the_customer_back_with_its_parts);

async fn customers_deleted_in_bulk_are_restorable(app: TestApp) {
    let a = app.create(&individual("Первый", "a@restore.kz")).await;
    let b = app.create(&individual("Второй", "b@restore.kz")).await;
    app.call(Method::DELETE, "/bulk", Some(&json!([a["id"], b["id"]])))
        .await
        .assert_status(200);
    assert_eq!(app.list(&[]).await.body["total"], 0);
    let restored = app.restore(a["id"].as_str().unwrap()).await.assert_status(200).body;
    assert_eq!(restored["email"], "a@restore.kz");
    assert_eq!(app.list_ids(&[]).await, vec![a["id"].as_str().unwrap().to_owned()]);
}
both_backends!(customers_deleted_in_bulk_are_restorable);

async fn a_restore_after_the_email_was_taken_is_409(app: TestApp) {
    let old = app.create(&company("ТОО Старая", "taken@restore.kz")).await;
    let id = old["id"].as_str().unwrap();
    app.delete(id).await.assert_status(204);
    let new = app.create(&company("ТОО Новая", "Taken@Restore.kz")).await;

    let problem = app.restore(id).await.assert_problem(409);
    assert_eq!(problem.body["field"], "email");
    assert_eq!(problem.body["existingId"], new["id"]);
    assert_eq!(problem.error_fields(), vec!["email"]);
    app.get(id).await.assert_problem(404);
    assert_eq!(app.list(&[]).await.body["total"], 1);

    // Once the e-mail is free again, the restore goes through.
    app.delete(new["id"].as_str().unwrap()).await.assert_status(204);
    let restored = app.restore(id).await.assert_status(200).body;
    assert_eq!(restored["email"], "taken@restore.kz");
}
both_backends!(a_restore_after_the_email_was_taken_is_409);

async fn a_restore_after_the_bin_was_taken_is_409(app: TestApp) {
    let old = app
        .create(&json!({ "type": "COMPANY", "name": "ТОО Старая", "email": "old@restore.kz", "bin": ALPHA_BIN }))
        .await;
    let id = old["id"].as_str().unwrap();
    app.delete(id).await.assert_status(204);
    let second_ws = Uuid::now_v7();
    app.post_customer_as(
        &app.token_all(second_ws),
        second_ws,
        &json!({ "type": "COMPANY", "name": "ТОО Новая", "email": "new@restore.kz", "bin": ALPHA_BIN }),
    )
    .await
    .assert_status(201);
    let problem = app.restore(id).await.assert_problem(409);
    assert_eq!(problem.body["field"], "bin");
    assert_eq!(
        problem.body.get("existingId"),
        None,
        "another workspace's customer is not disclosed"
    );
    app.get(id).await.assert_problem(404);
}
both_backends!(a_restore_after_the_bin_was_taken_is_409);

async fn restoring_a_live_unknown_or_foreign_customer_is_404(app: TestApp) {
    let live = app.create(&individual("Живой", "live@restore.kz")).await;
    let id = live["id"].as_str().unwrap();
    app.restore(id).await.assert_problem(404);
    app.restore(&Uuid::now_v7().to_string()).await.assert_problem(404);
    assert_eq!(app.get(id).await.body, live, "nothing changed");

    // Deleted in another workspace: not restorable from this one.
    let second_ws = Uuid::now_v7();
    let other_token = app.token_all(second_ws);
    let theirs = app
        .post_customer_as(&other_token, second_ws, &individual("Чужой", "theirs@restore.kz"))
        .await
        .assert_status(201)
        .body;
    let theirs_id = theirs["id"].as_str().unwrap();
    app.delete_as(&other_token, second_ws, theirs_id)
        .await
        .assert_status(204);
    app.restore(theirs_id).await.assert_problem(404);

    // Restored once: a second restore is a 404.
    app.delete(id).await.assert_status(204);
    app.restore(id).await.assert_status(200);
    app.restore(id).await.assert_problem(404);

    // Restoring needs customers:delete.
    app.delete(id).await.assert_status(204);
    let ws = app.workspace;
    let no_delete = app.token(
        app.org,
        &[ws],
        &["customers:view", "customers:update", "customers:create"],
    );
    app.call_as(&no_delete, ws, Method::POST, &format!("/{id}/restore"), None)
        .await
        .assert_problem(403);
    app.get(id).await.assert_problem(404);
}
both_backends!(restoring_a_live_unknown_or_foreign_customer_is_404);
