//! `POST /customers/merge`: duplicates folded into a primary customer.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ALL_PERMISSIONS, ALPHA_BIN, POST_OK, TestApp, TestResponse, company, ids};

impl TestApp {
    async fn merge(&self, body: &Value) -> TestResponse {
        self.call(Method::POST, "/merge", Some(body)).await
    }

    async fn add_note(&self, customer: &str, body: &str) -> String {
        self.call(
            Method::POST,
            &format!("/{customer}/notes"),
            Some(&json!({ "body": body })),
        )
        .await
        .assert_status(201)
        .body["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn note_ids(&self, customer: &str) -> Vec<String> {
        let page = self
            .call(Method::GET, &format!("/{customer}/notes?limit=100"), None)
            .await
            .assert_status(200)
            .body;
        let mut found = ids(&page["items"]);
        found.sort();
        found
    }
}

fn contact(first_name: &str, is_primary: bool) -> Value {
    json!({
        "firstName": first_name, "lastName": "Тестов", "email": format!("{}@contacts.kz", first_name.to_lowercase()),
        "phone": "+77010000000", "isPrimary": is_primary
    })
}

fn address(address_type: &str, street: &str, is_primary: bool) -> Value {
    json!({ "type": address_type, "street": street, "city": "Алматы", "postalCode": "050000", "isPrimary": is_primary })
}

/// `(id, isPrimary)` of each part.
fn flags(items: &Value) -> Vec<(String, bool)> {
    items
        .as_array()
        .expect("an array")
        .iter()
        .map(|p| (p["id"].as_str().unwrap().to_owned(), p["isPrimary"].as_bool().unwrap()))
        .collect()
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("id").to_owned()
}

/// A primary and two duplicates with contacts, addresses, notes and purchases.
struct Family {
    primary: Value,
    one: Value,
    two: Value,
    /// Every note id, sorted.
    notes: Vec<String>,
}

impl Family {
    async fn new(app: &TestApp) -> Self {
        let primary = app
            .create(&json!({
                "type": "COMPANY", "name": "ТОО Альфа", "email": "info@alpha.kz",
                "tags": ["a", "b"], "customFields": { "k1": "p", "shared": "primary" },
                "contacts": [contact("Primary", true)],
                "addresses": [address("billing", "ул. Абая, 1", true)]
            }))
            .await;
        let one = app
            .create(&json!({
                "type": "COMPANY", "name": "Альфа ТОО", "email": "one@alpha.kz", "phone": "+77015550001",
                "industry": "Retail", "companySize": "11-50", "leadSource": "website",
                "tags": ["B", "c"], "customFields": { "shared": "one", "k2": 1 },
                "contacts": [contact("One", true)],
                "addresses": [address("billing", "ул. Абая, 2", true), address("shipping", "ул. Абая, 3", true)]
            }))
            .await;
        let two = app
            .create(&json!({
                "type": "COMPANY", "name": "Alfa", "email": "two@alpha.kz", "phone": "+77015550002",
                "bin": ALPHA_BIN, "industry": "Wholesale", "assignedTo": "0191b1e4-0000-7000-8000-000000000042",
                "tags": ["d", "A"], "customFields": { "k2": 2, "k3": true },
                "contacts": [contact("Two", false), contact("Twob", true)],
                "addresses": [address("shipping", "ул. Абая, 4", true)]
            }))
            .await;
        // Balances are settable; they add up in a merge.
        let primary = app
            .put(&id_of(&primary), &json!({ "currentBalance": "-12.50" }))
            .await
            .assert_status(200)
            .body;
        app.put(&id_of(&one), &json!({ "currentBalance": 500 }))
            .await
            .assert_status(200);
        let mut notes = Vec::new();
        for (customer, count) in [(&primary, 1), (&one, 2), (&two, 1)] {
            for i in 0..count {
                notes.push(app.add_note(&id_of(customer), &format!("note {i}")).await);
            }
        }
        notes.sort();
        app.set_purchases(&id_of(&primary), 10_000, 1).await;
        app.set_purchases(&id_of(&one), 25_050, 2).await;
        app.set_purchases(&id_of(&two), 150, 1).await;
        Self {
            primary,
            one,
            two,
            notes,
        }
    }

    fn request(&self, dry_run: Option<bool>) -> Value {
        let mut body = json!({ "primaryId": self.primary["id"], "duplicateIds": [self.one["id"], self.two["id"]] });
        if let Some(dry_run) = dry_run {
            body["dryRun"] = json!(dry_run);
        }
        body
    }

    /// Asserts what the merged customer must be.
    fn assert_merged(&self, merged: &Value) {
        let p = &self.primary;
        assert_eq!(merged["id"], p["id"]);
        for kept in [
            "name",
            "email",
            "type",
            "status",
            "createdAt",
            "creditLimit",
            "rating",
            "convertedAt",
        ] {
            assert_eq!(merged[kept], p[kept], "{kept} is the primary's");
        }
        assert_eq!(merged["totalPurchases"], "352.00");
        assert_eq!(merged["purchaseCount"], 4);
        assert_eq!(merged["currentBalance"], "487.50");
        assert_eq!(merged["tags"], json!(["a", "b", "c", "d"]));
        assert_eq!(
            merged["customFields"],
            json!({ "k1": "p", "shared": "primary", "k2": 1, "k3": true })
        );
        // Empty fields filled from the first duplicate that has them.
        assert_eq!(merged["phone"], "+77015550001");
        assert_eq!(merged["industry"], "Retail");
        assert_eq!(merged["companySize"], "11-50");
        assert_eq!(merged["leadSource"], "website");
        assert_eq!(merged["bin"], ALPHA_BIN);
        assert_eq!(merged["assignedTo"], "0191b1e4-0000-7000-8000-000000000042");
        assert_eq!(merged["version"], p["version"].as_i64().unwrap() + 1);
        assert!(merged["lifetimeValue"].is_string(), "{merged}");

        let contact = |c: &Value, i: usize| id_of(&c["contacts"][i]);
        assert_eq!(
            flags(&merged["contacts"]),
            vec![
                (contact(p, 0), true),
                (contact(&self.one, 0), false),
                (contact(&self.two, 0), false),
                (contact(&self.two, 1), false),
            ],
            "all contacts move; only the primary's primary contact stays primary"
        );
        let address = |c: &Value, i: usize| id_of(&c["addresses"][i]);
        assert_eq!(
            flags(&merged["addresses"]),
            vec![
                (address(p, 0), true),
                (address(&self.one, 0), false),
                (address(&self.one, 1), true),
                (address(&self.two, 0), false),
            ],
            "one primary address per type: the primary's billing, the first duplicate's shipping"
        );
        for part in merged["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .chain(merged["addresses"].as_array().unwrap())
        {
            assert_eq!(part["customerId"], p["id"], "{part}");
        }
        assert_eq!(
            merged["contacts"][0], p["contacts"][0],
            "the primary's own contact is untouched"
        );
        assert_eq!(merged["contacts"][2]["firstName"], "Two");
    }
}

async fn a_merge_moves_everything_to_the_primary_and_removes_the_duplicates(app: TestApp) {
    let family = Family::new(&app).await;
    let primary = id_of(&family.primary);
    let merged = app.merge(&family.request(None)).await.assert_status(POST_OK).body;
    family.assert_merged(&merged);
    assert_eq!(
        app.get(&primary).await.assert_status(200).body,
        merged,
        "the merge is stored"
    );

    for duplicate in [&family.one, &family.two] {
        let id = id_of(duplicate);
        app.get(&id).await.assert_problem(404);
        app.call(Method::GET, &format!("/{id}/notes"), None)
            .await
            .assert_problem(404);
        app.call(Method::POST, &format!("/{id}/restore"), None)
            .await
            .assert_problem(404);
    }
    assert_eq!(app.list_ids(&[]).await, vec![primary.clone()]);
    assert_eq!(app.note_ids(&primary).await, family.notes, "every note moved");
    let contacts = app
        .call(Method::GET, &format!("/{primary}/contacts"), None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(contacts, merged["contacts"]);

    // The duplicates' e-mails are free again; the BIN now belongs to the primary.
    app.create(&company("ТОО Новая", "one@alpha.kz")).await;
    let conflict = app
        .post_customer(&json!({ "type": "COMPANY", "name": "ТОО Другая", "email": "x@alpha.kz", "bin": ALPHA_BIN }))
        .await
        .assert_problem(409);
    assert_eq!(conflict.body["field"], "bin");
    assert_eq!(conflict.body["existingId"], family.primary["id"]);

    // Merged again: the duplicates are gone, so 404.
    app.merge(&family.request(None)).await.assert_problem(404);
}
both_backends!(a_merge_moves_everything_to_the_primary_and_removes_the_duplicates);

async fn a_dry_run_returns_the_result_and_writes_nothing(app: TestApp) {
    let family = Family::new(&app).await;
    let primary = id_of(&family.primary);
    let before: Vec<Value> = {
        let mut all = Vec::new();
        for c in [&family.primary, &family.one, &family.two] {
            all.push(app.get(&id_of(c)).await.assert_status(200).body);
        }
        all
    };
    let preview = app.merge(&family.request(Some(true))).await.assert_status(POST_OK).body;
    family.assert_merged(&preview);

    for (customer, stored) in [&family.primary, &family.one, &family.two].iter().zip(&before) {
        assert_eq!(&app.get(&id_of(customer)).await.assert_status(200).body, stored);
    }
    assert_eq!(app.list(&[]).await.body["total"], 3);
    assert_eq!(app.note_ids(&primary).await.len(), 1, "notes stay where they were");
    assert_eq!(app.note_ids(&id_of(&family.one)).await.len(), 2);
    assert_eq!(before[0]["totalPurchases"], "100.00");

    // `dryRun: false` writes, and gives what the preview showed.
    let merged = app
        .merge(&family.request(Some(false)))
        .await
        .assert_status(POST_OK)
        .body;
    family.assert_merged(&merged);
    for key in [
        "totalPurchases",
        "purchaseCount",
        "tags",
        "customFields",
        "phone",
        "bin",
        "lifetimeValue",
        "version",
    ] {
        assert_eq!(merged[key], preview[key], "{key}");
    }
    assert_eq!(app.list(&[]).await.body["total"], 1);
    // The duplicates were read (and cached on SQLite) before: they are gone all the same.
    for duplicate in [&family.one, &family.two] {
        app.get(&id_of(duplicate)).await.assert_problem(404);
    }
    assert_eq!(app.get(&primary).await.body, merged);
}
both_backends!(a_dry_run_returns_the_result_and_writes_nothing);

async fn ids_of_another_workspace_are_not_found_and_nothing_changes(app: TestApp) {
    let primary = app.create(&company("ТОО Альфа", "info@alpha.kz")).await;
    let local = app.create(&company("ТОО Альфа 2", "two@alpha.kz")).await;
    app.add_note(&id_of(&local), "local").await;
    let second_ws = Uuid::now_v7();
    let elsewhere = app
        .post_customer_as(
            &app.token_all(second_ws),
            second_ws,
            &company("ТОО Альфа 3", "three@alpha.kz"),
        )
        .await
        .assert_status(201)
        .body;
    let other_org = app
        .post_customer_as(
            &app.token(Uuid::now_v7(), &[app.workspace], &ALL_PERMISSIONS),
            app.workspace,
            &company("ТОО Альфа 4", "four@alpha.kz"),
        )
        .await
        .assert_status(201)
        .body;

    for (primary_id, duplicates) in [
        (&primary["id"], json!([elsewhere["id"]])),
        (&primary["id"], json!([other_org["id"]])),
        (&primary["id"], json!([local["id"], elsewhere["id"]])),
        (&primary["id"], json!([Uuid::now_v7()])),
        (&elsewhere["id"], json!([local["id"]])),
        (&json!(Uuid::now_v7()), json!([local["id"]])),
    ] {
        for dry_run in [false, true] {
            app.merge(&json!({ "primaryId": primary_id, "duplicateIds": duplicates, "dryRun": dry_run }))
                .await
                .assert_problem(404);
        }
    }

    assert_eq!(app.get(&id_of(&primary)).await.assert_status(200).body, primary);
    assert_eq!(app.get(&id_of(&local)).await.assert_status(200).body, local);
    assert_eq!(app.note_ids(&id_of(&local)).await.len(), 1);
    assert_eq!(app.list(&[]).await.body["total"], 2);
    let in_second = app
        .get_as(&app.token_all(second_ws), second_ws, &id_of(&elsewhere))
        .await
        .assert_status(200)
        .body;
    assert_eq!(in_second, elsewhere);
}
both_backends!(ids_of_another_workspace_are_not_found_and_nothing_changes);

async fn merge_requests_are_validated(app: TestApp) {
    let primary = app.create(&company("ТОО Альфа", "info@alpha.kz")).await;
    let other = app.create(&company("ТОО Бета", "info@beta.kz")).await;
    let (p, o) = (&primary["id"], &other["id"]);
    let eleven: Vec<Uuid> = (0..11).map(|_| Uuid::now_v7()).collect();
    for body in [
        json!({ "primaryId": p, "duplicateIds": [p] }),
        json!({ "primaryId": p, "duplicateIds": [o, p] }),
        json!({ "primaryId": p, "duplicateIds": [] }),
        json!({ "primaryId": p, "duplicateIds": eleven }),
        json!({ "primaryId": p, "duplicateIds": [o, o] }),
    ] {
        app.merge(&body).await.assert_invalid("duplicateIds");
    }
    app.merge(&json!({ "duplicateIds": [o] }))
        .await
        .assert_invalid("primaryId");
    app.merge(&json!({ "primaryId": p }))
        .await
        .assert_invalid("duplicateIds");
    app.merge(&json!({ "primaryId": p, "duplicateIds": ["nope"] }))
        .await
        .assert_invalid("duplicateIds[0]");
    app.merge(&json!({ "primaryId": "nope", "duplicateIds": [o] }))
        .await
        .assert_invalid("primaryId");

    // Ten ids is the most: all unknown, so 404 rather than 400.
    app.merge(&json!({ "primaryId": p, "duplicateIds": eleven[..10] }))
        .await
        .assert_problem(404);
    assert_eq!(app.get(&id_of(&primary)).await.body, primary);
    assert_eq!(app.get(&id_of(&other)).await.body, other);
}
both_backends!(merge_requests_are_validated);

async fn merging_needs_update_and_delete(app: TestApp) {
    let primary = app.create(&company("ТОО Альфа", "info@alpha.kz")).await;
    let other = app.create(&company("ТОО Бета", "info@beta.kz")).await;
    let body = json!({ "primaryId": primary["id"], "duplicateIds": [other["id"]] });
    let ws = app.workspace;
    for permissions in [
        &["customers:view", "customers:update", "customers:create"][..],
        &["customers:view", "customers:delete", "customers:create"][..],
        &["customers:view"][..],
    ] {
        let token = app.token(app.org, &[ws], permissions);
        app.call_as(&token, ws, Method::POST, "/merge", Some(&body))
            .await
            .assert_problem(403);
    }
    assert_eq!(app.list(&[]).await.body["total"], 2);
    let token = app.token(app.org, &[ws], &["customers:update", "customers:delete"]);
    let merged = app
        .call_as(&token, ws, Method::POST, "/merge", Some(&body))
        .await
        .assert_status(POST_OK)
        .body;
    assert_eq!(merged["id"], primary["id"]);
    assert_eq!(app.list_ids(&[]).await, vec![id_of(&primary)]);
}
both_backends!(merging_needs_update_and_delete);

async fn deleted_customers_cannot_be_merged(app: TestApp) {
    let primary = app.create(&company("ТОО Альфа", "info@alpha.kz")).await;
    let deleted = app.create(&company("ТОО Бета", "info@beta.kz")).await;
    let live = app.create(&company("ТОО Гамма", "info@gamma.kz")).await;
    app.delete(&id_of(&deleted)).await.assert_status(204);
    app.merge(&json!({ "primaryId": primary["id"], "duplicateIds": [live["id"], deleted["id"]] }))
        .await
        .assert_problem(404);
    app.merge(&json!({ "primaryId": deleted["id"], "duplicateIds": [live["id"]] }))
        .await
        .assert_problem(404);
    assert_eq!(app.get(&id_of(&live)).await.body, live);
    assert_eq!(app.get(&id_of(&primary)).await.body, primary);
    // Still restorable.
    app.call(Method::POST, &format!("/{}/restore", id_of(&deleted)), None)
        .await
        .assert_status(200);
}
both_backends!(deleted_customers_cannot_be_merged);
