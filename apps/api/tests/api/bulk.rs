//! `POST /customers/bulk` (all or nothing) and `DELETE /customers/bulk`.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ALL_PERMISSIONS, TestApp, TestResponse, b2b_example, company, ids, individual, valid_bin};

impl TestApp {
    async fn bulk_create(&self, body: &Value) -> TestResponse {
        self.call(Method::POST, "/bulk", Some(body)).await
    }

    async fn bulk_delete(&self, body: &Value) -> TestResponse {
        self.call(Method::DELETE, "/bulk", Some(body)).await
    }

    async fn total(&self) -> u64 {
        self.list(&[]).await.assert_status(200).body["total"]
            .as_u64()
            .expect("total")
    }
}

fn people(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| individual(&format!("Клиент {i}"), &format!("client{i}@bulk.kz")))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Bulk create
// ---------------------------------------------------------------------------------------------

async fn a_bulk_create_makes_every_customer_in_order(app: TestApp) {
    let mut items = people(3);
    items.push(b2b_example());
    let response = app.bulk_create(&json!(items)).await.assert_status(201);
    let created = response.body.as_array().expect("an array").clone();
    assert_eq!(created.len(), 4);
    for (item, sent) in created.iter().zip(&items) {
        assert_eq!(item["email"], sent["email"]);
        assert_eq!(item["name"], sent["name"]);
        assert_eq!(item["workspaceId"], json!(app.workspace));
        assert_eq!(item["createdBy"], json!(app.user));
        assert_eq!(item["version"], 1);
        assert_eq!(
            app.get(item["id"].as_str().unwrap()).await.assert_status(200).body,
            *item
        );
    }
    assert_eq!(created[3]["contacts"].as_array().unwrap().len(), 1);
    assert_eq!(created[3]["addresses"].as_array().unwrap().len(), 2);
    assert_eq!(created[3]["status"], "PROSPECT");
    assert_eq!(created[0]["status"], "LEAD");
    let mut listed = app.list_ids(&[("limit", "100")]).await;
    let mut expected = ids(&json!(created));
    listed.sort();
    expected.sort();
    assert_eq!(listed, expected);

    // A hundred is the most.
    let hundred: Vec<Value> = (0..100)
        .map(|i| individual(&format!("Сотый {i}"), &format!("hundred{i}@bulk.kz")))
        .collect();
    let created = app.bulk_create(&json!(hundred)).await.assert_status(201).body;
    assert_eq!(created.as_array().unwrap().len(), 100);
    assert_eq!(app.total().await, 104);
}
both_backends!(a_bulk_create_makes_every_customer_in_order);

async fn a_bulk_create_is_an_import_in_the_history(app: TestApp) {
    let created = app.bulk_create(&json!(people(2))).await.assert_status(201).body;
    let id = created[0]["id"].as_str().expect("id").to_owned();
    let history = app
        .call(Method::GET, &format!("/{id}/history"), None)
        .await
        .assert_status(200)
        .body;
    let entries = history["items"].as_array().expect("items");
    assert!(!entries.is_empty(), "{history}");
    assert!(entries.iter().all(|e| e["source"] == "import"), "{history}");
    // A later change through the API is the API's.
    let mut body = app.get(&id).await.assert_status(200).body;
    body["name"] = json!("Клиент переименован");
    app.call(Method::PUT, &format!("/{id}"), Some(&body))
        .await
        .assert_status(200);
    let history = app
        .call(Method::GET, &format!("/{id}/history?field=name"), None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(history["items"][0]["source"], "api", "{history}");
    // One created alone is the API's too.
    let single = app.create(&individual("Один", "single@bulk.kz")).await;
    let history = app
        .call(
            Method::GET,
            &format!("/{}/history", single["id"].as_str().unwrap()),
            None,
        )
        .await
        .body;
    assert_eq!(history["items"][0]["source"], "api", "{history}");
}
both_backends!(a_bulk_create_is_an_import_in_the_history);

async fn one_invalid_item_writes_nothing(app: TestApp) {
    app.create(&company("ТОО Существующая", "exists@bulk.kz")).await;
    let mut items = people(5);
    items[3]["email"] = json!("not-an-email");
    let response = app.bulk_create(&json!(items)).await.assert_invalid("[3].email");
    assert_eq!(response.error_fields(), vec!["[3].email"], "only the bad item is named");
    assert_eq!(app.total().await, 1, "nothing written");

    // Every bad item is named, with its own path.
    let mut items = people(5);
    items[1]["name"] = json!("x");
    items[3]["email"] = json!("not-an-email");
    items[4]["contacts"] = json!([{ "firstName": "А", "lastName": "Б", "email": "a@b.kz", "phone": "12" }]);
    let response = app.bulk_create(&json!(items)).await.assert_problem(400);
    assert_eq!(
        response.error_fields(),
        vec!["[1].name", "[3].email", "[4].contacts[0].phone"]
    );
    // A value of the wrong type is named too.
    let mut items = people(3);
    items[2]["type"] = json!("PERSON");
    app.bulk_create(&json!(items)).await.assert_invalid("[2].type");
    assert_eq!(app.total().await, 1, "nothing written");
}
both_backends!(one_invalid_item_writes_nothing);

async fn items_repeating_each_other_are_409(app: TestApp) {
    let mut items = people(4);
    items[2]["email"] = json!("CLIENT0@Bulk.KZ");
    let response = app.bulk_create(&json!(items)).await.assert_problem(409);
    assert_eq!(response.error_fields(), vec!["[2].email"]);
    assert_eq!(app.total().await, 0);

    let mut items = vec![
        company("ТОО Один", "one@bulk.kz"),
        company("ТОО Два", "two@bulk.kz"),
        company("ТОО Три", "three@bulk.kz"),
    ];
    items[0]["bin"] = json!(valid_bin(1));
    items[2]["bin"] = json!(valid_bin(1));
    items[1]["email"] = json!("one@bulk.kz");
    let response = app.bulk_create(&json!(items)).await.assert_problem(409);
    assert_eq!(response.error_fields(), vec!["[1].email", "[2].bin"]);
    assert_eq!(response.body["type"], "urn:customers:problem:duplicate");
    assert_eq!(app.total().await, 0);
}
both_backends!(items_repeating_each_other_are_409);

async fn an_item_colliding_with_an_existing_customer_is_409(app: TestApp) {
    let existing = app.create(&individual("Клиент 1", "client1@bulk.kz")).await;
    let response = app.bulk_create(&json!(people(3))).await.assert_problem(409);
    assert_eq!(response.error_fields(), vec!["[1].email"]);
    let message = response.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(existing["id"].as_str().unwrap()), "{message}");
    assert_eq!(app.total().await, 1);

    // E-mails are unique in the organization: another workspace's customer collides too,
    // without being disclosed.
    let second_ws = Uuid::now_v7();
    let hidden = app
        .post_customer_as(
            &app.token_all(second_ws),
            second_ws,
            &individual("Скрытый", "hidden@bulk.kz"),
        )
        .await
        .assert_status(201)
        .body;
    let mut items = people(3);
    items[0]["email"] = json!("client0-new@bulk.kz");
    items[1]["email"] = json!("client1-new@bulk.kz");
    items[2]["email"] = json!("Hidden@Bulk.kz");
    let response = app.bulk_create(&json!(items)).await.assert_problem(409);
    assert_eq!(response.error_fields(), vec!["[2].email"]);
    assert!(
        !response.text.contains(hidden["id"].as_str().unwrap()),
        "{}",
        response.text
    );
    assert_eq!(app.total().await, 1);
}
both_backends!(an_item_colliding_with_an_existing_customer_is_409);

async fn bulk_create_sizes_and_permissions(app: TestApp) {
    app.bulk_create(&json!([])).await.assert_invalid("body");
    let too_many: Vec<Value> = (0..101)
        .map(|i| individual(&format!("Лишний {i}"), &format!("extra{i}@bulk.kz")))
        .collect();
    let response = app.bulk_create(&json!(too_many)).await.assert_invalid("body");
    assert!(response.text.contains("101"), "{}", response.text);
    app.bulk_create(&individual("Не массив", "obj@bulk.kz"))
        .await
        .assert_problem(400);
    assert_eq!(app.total().await, 0);

    let ws = app.workspace;
    let no_create = app.token(
        app.org,
        &[ws],
        &["customers:view", "customers:update", "customers:delete"],
    );
    app.call_as(&no_create, ws, Method::POST, "/bulk", Some(&json!(people(1))))
        .await
        .assert_problem(403);
    assert_eq!(app.total().await, 0);
}
both_backends!(bulk_create_sizes_and_permissions);

// ---------------------------------------------------------------------------------------------
// Bulk delete
// ---------------------------------------------------------------------------------------------

async fn a_bulk_delete_takes_an_object_or_a_bare_array(app: TestApp) {
    let created = app.bulk_create(&json!(people(4))).await.assert_status(201).body;
    let all = ids(&created);
    for id in &all {
        app.get(id).await.assert_status(200); // cached on SQLite
    }
    let unknown = Uuid::now_v7().to_string();

    let result = app
        .bulk_delete(&json!({ "ids": [all[0], unknown, all[1]] }))
        .await
        .assert_status(200)
        .body;
    assert_eq!(result, json!({ "deleted": [all[0], all[1]], "notFound": [unknown] }));
    for id in &all[..2] {
        app.get(id).await.assert_problem(404);
    }

    // The original API's bare array; an already deleted id is not found; repeats count once.
    let result = app
        .bulk_delete(&json!([all[2], all[0], all[2]]))
        .await
        .assert_status(200)
        .body;
    assert_eq!(result, json!({ "deleted": [all[2]], "notFound": [all[0]] }));
    app.get(&all[2]).await.assert_problem(404);
    assert_eq!(app.list_ids(&[]).await, vec![all[3].clone()]);
}
both_backends!(a_bulk_delete_takes_an_object_or_a_bare_array);

async fn ids_of_another_workspace_count_as_not_found(app: TestApp) {
    let mine = app.create(&individual("Мой", "mine@bulk.kz")).await;
    let second_ws = Uuid::now_v7();
    let theirs = app
        .post_customer_as(
            &app.token_all(second_ws),
            second_ws,
            &individual("Чужой", "theirs@bulk.kz"),
        )
        .await
        .assert_status(201)
        .body;
    let foreign = app
        .post_customer_as(
            &app.token(Uuid::now_v7(), &[app.workspace], &ALL_PERMISSIONS),
            app.workspace,
            &individual("Иностранный", "foreign@bulk.kz"),
        )
        .await
        .assert_status(201)
        .body;
    let result = app
        .bulk_delete(&json!({ "ids": [theirs["id"], foreign["id"], mine["id"]] }))
        .await
        .assert_status(200)
        .body;
    assert_eq!(
        result,
        json!({ "deleted": [mine["id"]], "notFound": [theirs["id"], foreign["id"]] })
    );
    app.get_as(&app.token_all(second_ws), second_ws, theirs["id"].as_str().unwrap())
        .await
        .assert_status(200);
}
both_backends!(ids_of_another_workspace_count_as_not_found);

async fn bulk_delete_sizes_shapes_and_permissions(app: TestApp) {
    let kept = app.create(&individual("Остаётся", "kept@bulk.kz")).await;
    let hundred_one: Vec<String> = (0..101).map(|_| Uuid::now_v7().to_string()).collect();
    for body in [
        json!([]),
        json!({ "ids": [] }),
        json!(hundred_one),
        json!({ "ids": hundred_one }),
    ] {
        app.bulk_delete(&body).await.assert_invalid("ids");
    }
    for body in [
        json!({ "ids": ["nope"] }),
        json!(["nope"]),
        json!({ "id": [kept["id"]] }),
        json!("x"),
    ] {
        app.bulk_delete(&body).await.assert_problem(400);
    }
    // A hundred unknown ids: all not found.
    let result = app
        .bulk_delete(&json!(hundred_one[..100]))
        .await
        .assert_status(200)
        .body;
    assert_eq!(result["deleted"], json!([]));
    assert_eq!(result["notFound"], json!(hundred_one[..100]));

    let ws = app.workspace;
    let no_delete = app.token(
        app.org,
        &[ws],
        &["customers:view", "customers:update", "customers:create"],
    );
    app.call_as(&no_delete, ws, Method::DELETE, "/bulk", Some(&json!([kept["id"]])))
        .await
        .assert_problem(403);
    assert_eq!(
        app.get(kept["id"].as_str().unwrap()).await.assert_status(200).body,
        kept
    );
}
both_backends!(bulk_delete_sizes_shapes_and_permissions);

async fn a_deleted_customers_values_can_be_bulk_created_again(app: TestApp) {
    let gone = app
        .create(&json!({ "type": "COMPANY", "name": "ТОО Ушедшая", "email": "gone@bulk.kz", "bin": valid_bin(5) }))
        .await;
    app.delete(gone["id"].as_str().unwrap()).await.assert_status(204);
    let created = app
        .bulk_create(&json!([
            individual("Новый", "new@bulk.kz"),
            { "type": "COMPANY", "name": "ТОО Пришедшая", "email": "GONE@bulk.kz", "bin": valid_bin(5) }
        ]))
        .await
        .assert_status(201)
        .body;
    assert_eq!(created[1]["email"], "gone@bulk.kz");
    assert_eq!(app.total().await, 2);
    // An individual with a BIN is refused like on a single create.
    let mut items = people(2);
    items[1]["bin"] = json!(valid_bin(6));
    app.bulk_create(&json!(items)).await.assert_invalid("[1].bin");
    assert_eq!(app.total().await, 2);
}
both_backends!(a_deleted_customers_values_can_be_bulk_created_again);
