//! Races: unique values hold under concurrent creates; concurrent updates lose nothing.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::helpers::{TestApp, TestResponse, b2b_example, company, valid_bin};

/// Sends all `requests` at once (each task waits at a barrier) and returns the responses in
/// the same order.
async fn race(app: &TestApp, requests: Vec<(Method, String, Option<Value>)>) -> Vec<TestResponse> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let token = app.token_all(app.workspace);
    let mut tasks = Vec::new();
    for (method, path, body) in requests {
        let (client, url, token, barrier) = (app.client.clone(), app.url(&path), token.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut request = client.request(method, url).bearer_auth(token);
            if let Some(body) = body {
                request = request.json(&body);
            }
            barrier.wait().await;
            request.send().await.expect("request sent")
        }));
    }
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(TestResponse::read(task.await.expect("task")).await);
    }
    responses
}

fn statuses(responses: &[TestResponse]) -> Vec<u16> {
    responses.iter().map(|r| r.status).collect()
}

async fn concurrent_creates_with_one_email_make_one_customer(app: TestApp) {
    let path = TestApp::customers_path(app.workspace);
    let requests = (0..8)
        .map(|i| {
            // The same address in different cases, with distinct BINs.
            let email = if i % 2 == 0 { "race@alpha.kz" } else { "RACE@Alpha.KZ" };
            let body =
                json!({ "type": "COMPANY", "name": format!("ТОО Гонка {i}"), "email": email, "bin": valid_bin(i) });
            (Method::POST, path.clone(), Some(body))
        })
        .collect();
    let responses = race(&app, requests).await;
    let created: Vec<&TestResponse> = responses.iter().filter(|r| r.status == 201).collect();
    assert_eq!(created.len(), 1, "exactly one 201: {:?}", statuses(&responses));
    let winner = created[0].body["id"].clone();
    for response in responses.into_iter().filter(|r| r.status != 201) {
        let response = response.assert_problem(409);
        assert_eq!(response.body["field"], "email", "{}", response.text);
        assert_eq!(response.body["existingId"], winner, "{}", response.text);
    }
    let page = app.list(&[]).await.body;
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["id"], winner);
}
both_backends!(multi_thread: concurrent_creates_with_one_email_make_one_customer);

async fn concurrent_creates_with_one_bin_make_one_customer(app: TestApp) {
    let path = TestApp::customers_path(app.workspace);
    let requests = (0..8)
        .map(|i| {
            let body = json!({
                "type": "COMPANY", "name": format!("ТОО Гонка {i}"), "email": format!("race{i}@alpha.kz"),
                "bin": valid_bin(42)
            });
            (Method::POST, path.clone(), Some(body))
        })
        .collect();
    let responses = race(&app, requests).await;
    assert_eq!(
        responses.iter().filter(|r| r.status == 201).count(),
        1,
        "exactly one 201: {:?}",
        statuses(&responses)
    );
    for response in responses.into_iter().filter(|r| r.status != 201) {
        let response = response.assert_problem(409);
        assert_eq!(response.body["field"], "bin", "{}", response.text);
    }
    assert_eq!(app.list(&[]).await.body["total"], 1);
}
both_backends!(multi_thread: concurrent_creates_with_one_bin_make_one_customer);

async fn concurrent_creates_of_distinct_customers_all_succeed(app: TestApp) {
    let path = TestApp::customers_path(app.workspace);
    let requests = (0..8)
        .map(|i| {
            let mut body = b2b_example();
            body["email"] = json!(format!("many{i}@alpha.kz"));
            body["bin"] = json!(valid_bin(100 + i));
            (Method::POST, path.clone(), Some(body))
        })
        .collect();
    let responses = race(&app, requests).await;
    assert_eq!(statuses(&responses), vec![201; 8]);
    let page = app.list(&[]).await.body;
    assert_eq!(page["total"], 8);
    for item in page["items"].as_array().unwrap() {
        assert_eq!(item["contacts"].as_array().unwrap().len(), 1);
        assert_eq!(item["addresses"].as_array().unwrap().len(), 2);
    }
}
both_backends!(multi_thread: concurrent_creates_of_distinct_customers_all_succeed);

async fn concurrent_updates_lose_no_change(app: TestApp) {
    let created = app.create(&company("ТОО Старт", "start@alpha.kz")).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("{}/{id}", TestApp::customers_path(app.workspace));
    // Eight updates, each of a different field.
    let changes = [
        ("name", json!("ТОО Финиш")),
        ("industry", json!("Retail")),
        ("leadSource", json!("exhibition")),
        ("rating", json!(9)),
        ("isActive", json!(false)),
        ("currentBalance", json!("12.34")),
        ("companyName", json!("ТОО Финиш Групп")),
        ("status", json!("ACTIVE")),
    ];
    let requests = changes
        .iter()
        .map(|(field, value)| (Method::PUT, path.clone(), Some(json!({ *field: value }))))
        .collect();
    let responses = race(&app, requests).await;
    let mut applied = 0;
    let fetched = app.list(&[]).await.body["items"][0].clone();
    for ((field, value), response) in changes.iter().zip(responses) {
        match response.status {
            200 => {
                applied += 1;
                assert_eq!(
                    &fetched[*field], value,
                    "{field} was accepted, so it must be kept: {fetched}"
                );
            }
            409 => {
                response.assert_problem(409);
            }
            other => panic!("PUT {field}: unexpected {other}: {}", response.text),
        }
    }
    assert!(applied >= 1, "at least one update wins");
    assert_eq!(fetched["version"], json!(1 + applied), "one version per applied update");
    assert_eq!(app.get(&id).await.body, fetched, "GET agrees with the list");
}
both_backends!(multi_thread: concurrent_updates_lose_no_change);

async fn concurrent_deletes_delete_once(app: TestApp) {
    let mut failures = Vec::new();
    for round in 0..20_u32 {
        let mut body = b2b_example();
        body["email"] = json!(format!("delete{round}@alpha.kz"));
        let created = app.create(&body).await;
        let path = format!(
            "{}/{}",
            TestApp::customers_path(app.workspace),
            created["id"].as_str().unwrap()
        );
        // Six deletes of the customer, racing four creates of others (concurrent writes).
        let mut requests: Vec<_> = (0..6).map(|_| (Method::DELETE, path.clone(), None)).collect();
        requests.extend((0..4).map(|i| {
            let email = format!("writer{round}-{i}@alpha.kz");
            let other = company("ТОО Писатель", &email);
            (Method::POST, TestApp::customers_path(app.workspace), Some(other))
        }));
        let responses = race(&app, requests).await;
        let mut codes = statuses(&responses);
        codes.sort_unstable();
        if codes != [201, 201, 201, 201, 204, 404, 404, 404, 404, 404] {
            let errors: Vec<&str> = responses
                .iter()
                .filter(|r| r.status >= 500)
                .map(|r| r.text.as_str())
                .collect();
            failures.push(format!("round {round}: {codes:?} {errors:?}"));
        }
    }
    assert!(failures.is_empty(), "one 204 and five 404 expected: {failures:#?}");
    assert_eq!(app.list(&[]).await.body["total"], 80, "only the writers remain");
}
both_backends!(multi_thread: concurrent_deletes_delete_once);

/// Forty rounds of one PUT racing four GETs on a customer whose cache entry was just
/// emptied. Returns the torn reads (a name of one version with the contacts of another) and
/// the rounds after which GET served an older version than the database held.
async fn reads_racing_updates(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let created = app.create(&b2b_example()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("{}/{id}", TestApp::customers_path(app.workspace));
    let contact = |n: usize| json!({ "firstName": format!("v{n}"), "lastName": "Версия", "email": format!("v{n}@alpha.kz"), "phone": "+77011111111" });
    let (mut torn, mut stale) = (Vec::new(), Vec::new());
    for n in 1..=40 {
        // An empty change empties the cache, so that the reads below go to the database.
        app.put(&id, &json!({})).await.assert_status(200);
        let mut requests = vec![(
            Method::PUT,
            path.clone(),
            Some(json!({ "name": format!("v{n}"), "contacts": [contact(n)] })),
        )];
        requests.extend((0..4).map(|_| (Method::GET, path.clone(), None)));
        for response in race(app, requests).await {
            let response = response.assert_status(200);
            let body = &response.body;
            // A customer is read as one version: its name and its contacts belong together.
            let name = body["name"].as_str().unwrap();
            let first_name = body["contacts"][0]["firstName"].as_str().unwrap();
            if name != "ТОО Альфа" && name != first_name {
                torn.push(format!(
                    "round {n}: name {name} with contact {first_name} (version {})",
                    body["version"]
                ));
            }
        }
        let from_database = app.list(&[]).await.body["items"][0].clone();
        let through_cache = app.get(&id).await.assert_status(200).body;
        if through_cache != from_database {
            stale.push(format!(
                "round {n}: GET serves version {} ({}) while the database holds version {} ({})",
                through_cache["version"], through_cache["name"], from_database["version"], from_database["name"]
            ));
        }
    }
    (torn, stale)
}

async fn reads_racing_updates_see_whole_versions(app: TestApp) {
    let (torn, _) = reads_racing_updates(&app).await;
    assert!(torn.is_empty(), "torn reads: {torn:#?}");
}
both_backends!(multi_thread: reads_racing_updates_see_whole_versions);

async fn reads_racing_updates_leave_no_stale_cache(app: TestApp) {
    let (_, stale) = reads_racing_updates(&app).await;
    assert!(stale.is_empty(), "stale cache: {stale:#?}");
}
both_backends!(multi_thread: reads_racing_updates_leave_no_stale_cache);

async fn reads_racing_a_delete_leave_no_ghost(app: TestApp) {
    let mut ghosts = Vec::new();
    for n in 0..20 {
        let mut body = b2b_example();
        body["email"] = json!(format!("ghost{n}@alpha.kz"));
        body["bin"] = json!(valid_bin(200 + n));
        let id = app.create(&body).await["id"].as_str().unwrap().to_owned();
        let path = format!("{}/{id}", TestApp::customers_path(app.workspace));
        let mut requests = vec![(Method::DELETE, path.clone(), None)];
        requests.extend((0..4).map(|_| (Method::GET, path.clone(), None)));
        let responses = race(&app, requests).await;
        assert_eq!(responses[0].status, 204, "{}", responses[0].text);
        let after = app.get(&id).await;
        if after.status != 404 {
            ghosts.push(format!("round {n}: GET of the deleted customer gave {}", after.status));
        }
    }
    assert!(ghosts.is_empty(), "deleted customers still served: {ghosts:#?}");
}
both_backends!(multi_thread: reads_racing_a_delete_leave_no_ghost);

async fn concurrent_deletes_of_distinct_customers_all_succeed(app: TestApp) {
    let mut failures = Vec::new();
    for round in 0..10_u32 {
        let mut requests = Vec::new();
        for i in 0..8 {
            let body = company("ТОО Удаляемое", &format!("bulk{round}-{i}@alpha.kz"));
            let id = app.create(&body).await["id"].as_str().unwrap().to_owned();
            let path = format!("{}/{id}", TestApp::customers_path(app.workspace));
            requests.push((Method::DELETE, path, None));
        }
        let responses = race(&app, requests).await;
        let codes = statuses(&responses);
        if codes != [204; 8] {
            let errors: Vec<&str> = responses
                .iter()
                .filter(|r| r.status >= 500)
                .map(|r| r.text.as_str())
                .collect();
            failures.push(format!("round {round}: {codes:?} {errors:?}"));
        }
    }
    assert!(failures.is_empty(), "every delete succeeds: {failures:#?}");
    assert_eq!(app.list(&[]).await.body["total"], 0);
}
both_backends!(multi_thread: concurrent_deletes_of_distinct_customers_all_succeed);
