//! `ETag` / `If-Match`: optimistic concurrency on PUT, PATCH /status and POST /convert.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::helpers::{POST_OK, TestApp, TestResponse, individual};

impl TestApp {
    /// `{method} /customers/{id}{tail}` with an optional `If-Match`.
    async fn conditional(
        &self,
        method: Method,
        id: &str,
        tail: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> TestResponse {
        let url = self.url(&format!("{}/{id}{tail}", TestApp::customers_path(self.workspace)));
        let mut request = self
            .client
            .request(method, url)
            .bearer_auth(self.token_all(self.workspace))
            .json(body);
        if let Some(tag) = if_match {
            request = request.header("If-Match", tag);
        }
        self.execute(request).await
    }
}

/// The three conditional writes, each with a body that changes something, and its success
/// status.
fn writes() -> [(Method, &'static str, Value, u16); 3] {
    [
        (Method::PUT, "", json!({ "name": "Новое Имя" }), 200),
        (Method::PATCH, "/status", json!({ "status": "PROSPECT" }), 200),
        (Method::POST, "/convert", json!({}), POST_OK),
    ]
}

fn tag(version: i64) -> String {
    format!("\"{version}\"")
}

async fn get_returns_the_version_as_etag(app: TestApp) {
    let created = app.create(&individual("Асем", "asem@etag.kz")).await;
    let id = created["id"].as_str().unwrap();
    let response = app.get(id).await.assert_status(200);
    assert_eq!(response.etag.as_deref(), Some("\"1\""));
    assert_eq!(response.body["version"], 1);
    // From the cache too.
    assert_eq!(app.get(id).await.etag.as_deref(), Some("\"1\""));

    let updated = app.put(id, &json!({ "industry": "Retail" })).await.assert_status(200);
    assert_eq!(updated.etag.as_deref(), Some("\"2\""));
    assert_eq!(updated.body["version"], 2);
    let response = app.get(id).await;
    assert_eq!(response.etag.as_deref(), Some("\"2\""));
    assert_eq!(response.body["version"], 2);
}
both_backends!(get_returns_the_version_as_etag);

async fn a_stale_if_match_is_412_and_changes_nothing(app: TestApp) {
    for (i, (method, tail, body, _)) in writes().into_iter().enumerate() {
        let created = app.create(&individual("Асем", &format!("stale{i}@etag.kz"))).await;
        let id = created["id"].as_str().unwrap();
        // Someone else writes version 2.
        app.put(id, &json!({ "industry": "Retail" })).await.assert_status(200);
        let current = app.get(id).await.assert_status(200);
        assert_eq!(current.etag.as_deref(), Some("\"2\""));

        for stale in ["\"1\"", "W/\"1\"", "1", "\"7\""] {
            let problem = app
                .conditional(method.clone(), id, tail, Some(stale), &body)
                .await
                .assert_problem(412);
            assert_eq!(problem.body["currentVersion"], 2, "{method} {tail} {stale}");
            assert_eq!(problem.body["type"], "urn:customers:problem:stale-version");
        }
        assert_eq!(app.get(id).await.body, current.body, "{method} {tail}: nothing changed");
    }
}
both_backends!(a_stale_if_match_is_412_and_changes_nothing);

async fn the_current_if_match_or_none_goes_through(app: TestApp) {
    for (i, (method, tail, body, ok)) in writes().into_iter().enumerate() {
        // With the current ETag (as sent by GET, weak or strong) or `*`: success and the next ETag.
        for (j, form) in ["strong", "weak", "star"].into_iter().enumerate() {
            let created = app.create(&individual("Асем", &format!("ok{i}{j}@etag.kz"))).await;
            let id = created["id"].as_str().unwrap();
            let etag = app.get(id).await.etag.expect("ETag");
            let sent = match form {
                "strong" => etag.clone(),
                "weak" => format!("W/{etag}"),
                _ => "*".to_owned(),
            };
            let response = app
                .conditional(method.clone(), id, tail, Some(&sent), &body)
                .await
                .assert_status(ok);
            assert_eq!(
                response.etag.as_deref(),
                Some(tag(2).as_str()),
                "{method} {tail} {form}"
            );
            assert_eq!(response.body["version"], 2);
            assert_eq!(app.get(id).await.etag, response.etag);
        }
        // Without If-Match.
        let created = app.create(&individual("Асем", &format!("none{i}@etag.kz"))).await;
        let id = created["id"].as_str().unwrap();
        let response = app
            .conditional(method.clone(), id, tail, None, &body)
            .await
            .assert_status(ok);
        assert_eq!(response.etag.as_deref(), Some("\"2\""), "{method} {tail}");
    }
}
both_backends!(the_current_if_match_or_none_goes_through);

async fn if_match_is_checked_after_existence_and_must_be_a_version(app: TestApp) {
    let created = app.create(&individual("Асем", "checks@etag.kz")).await;
    let id = created["id"].as_str().unwrap();
    for (method, tail, body, _) in writes() {
        app.conditional(method.clone(), id, tail, Some("\"abc\""), &body)
            .await
            .assert_invalid("If-Match");
        app.conditional(method, &Uuid::now_v7().to_string(), tail, Some("\"1\""), &body)
            .await
            .assert_problem(404);
    }
    assert_eq!(app.get(id).await.body, created);
}
both_backends!(if_match_is_checked_after_existence_and_must_be_a_version);

async fn a_chain_of_conditional_writes_follows_the_etags(app: TestApp) {
    let created = app.create(&individual("Асем", "chain@etag.kz")).await;
    let id = created["id"].as_str().unwrap();
    let mut etag = app.get(id).await.etag.expect("ETag");
    for (method, tail, body, ok) in writes() {
        let response = app
            .conditional(method.clone(), id, tail, Some(&etag), &body)
            .await
            .assert_status(ok);
        let next = response.etag.expect("ETag");
        assert_ne!(next, etag);
        // The previous tag is stale now.
        app.conditional(method, id, tail, Some(&etag), &body)
            .await
            .assert_problem(412);
        etag = next;
    }
    let last = app.get(id).await.assert_status(200);
    assert_eq!(last.etag.as_deref(), Some("\"4\""));
    assert_eq!(
        (&last.body["name"], &last.body["status"]),
        (&json!("Новое Имя"), &json!("ACTIVE"))
    );
    assert!(last.body["convertedAt"].is_string());
}
both_backends!(a_chain_of_conditional_writes_follows_the_etags);

async fn two_concurrent_puts_with_one_if_match_one_wins(app: TestApp) {
    for round in 0..5 {
        let created = app.create(&individual("Асем", &format!("race{round}@etag.kz"))).await;
        let id = created["id"].as_str().unwrap().to_owned();
        let etag = app.get(&id).await.etag.expect("ETag");
        let barrier = Arc::new(Barrier::new(2));
        let url = app.url(&format!("{}/{id}", TestApp::customers_path(app.workspace)));
        let token = app.token_all(app.workspace);
        let tasks: Vec<_> = ["Первый", "Второй"]
            .into_iter()
            .map(|name| {
                let (client, url, token, etag, barrier) = (
                    app.client.clone(),
                    url.clone(),
                    token.clone(),
                    etag.clone(),
                    barrier.clone(),
                );
                tokio::spawn(async move {
                    let request = client
                        .put(url)
                        .bearer_auth(token)
                        .header("If-Match", etag)
                        .json(&json!({ "name": name }));
                    barrier.wait().await;
                    (name, request.send().await.expect("request sent"))
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            let (name, response) = task.await.expect("task");
            results.push((name, TestResponse::read(response).await));
        }
        let mut statuses: Vec<u16> = results.iter().map(|(_, r)| r.status).collect();
        statuses.sort();
        assert_eq!(statuses, vec![200, 412], "round {round}: {results:?}");
        let (winner, won) = results.iter().find(|(_, r)| r.status == 200).unwrap();
        let (_, lost) = results.iter().find(|(_, r)| r.status == 412).unwrap();
        assert_eq!(lost.body["currentVersion"], 2, "{}", lost.text);
        assert_eq!(won.etag.as_deref(), Some("\"2\""));
        let stored = app.get(&id).await.assert_status(200);
        assert_eq!(stored.body["name"], *winner);
        assert_eq!(stored.body["version"], 2);
    }
}
both_backends!(multi_thread: two_concurrent_puts_with_one_if_match_one_wins);

async fn concurrent_status_changes_with_one_if_match_one_wins(app: TestApp) {
    for round in 0..3 {
        let created = app
            .create(&individual("Асем", &format!("race-status{round}@etag.kz")))
            .await;
        let id = created["id"].as_str().unwrap().to_owned();
        let etag = app.get(&id).await.etag.expect("ETag");
        let barrier = Arc::new(Barrier::new(2));
        let base = app.url(&format!("{}/{id}", TestApp::customers_path(app.workspace)));
        let token = app.token_all(app.workspace);
        let requests = [
            (Method::PATCH, format!("{base}/status"), json!({ "status": "PROSPECT" })),
            (Method::POST, format!("{base}/convert"), json!({})),
        ];
        let tasks: Vec<_> = requests
            .into_iter()
            .map(|(method, url, body)| {
                let (client, token, etag, barrier) = (app.client.clone(), token.clone(), etag.clone(), barrier.clone());
                tokio::spawn(async move {
                    let request = client
                        .request(method, url)
                        .bearer_auth(token)
                        .header("If-Match", etag)
                        .json(&body);
                    barrier.wait().await;
                    request.send().await.expect("request sent")
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(TestResponse::read(task.await.expect("task")).await);
        }
        let statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
        assert!(
            statuses == [200, 412] || statuses == [412, POST_OK],
            "round {round}: one of PATCH /status and POST /convert wins: {results:?}"
        );
        let won = results.iter().find(|r| r.status != 412).unwrap();
        let stored = app.get(&id).await.body;
        assert_eq!(stored["version"], 2);
        assert_eq!(stored["status"], won.body["status"]);
    }
}
both_backends!(multi_thread: concurrent_status_changes_with_one_if_match_one_wins);

async fn stale_version_problem(app: TestApp) {
    let created = app.create(&individual("Асем", "shape@etag.kz")).await;
    let id = created["id"].as_str().unwrap();
    app.put(id, &json!({ "industry": "Retail" })).await.assert_status(200);
    let problem = app
        .conditional(Method::PUT, id, "", Some("\"1\""), &json!({ "name": "Поздно" }))
        .await
        .assert_problem(412)
        .body;
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_sort_maps(true);
    settings.bind(|| insta::assert_json_snapshot!("stale_version_problem", problem));
}
both_backends!(stale_version_problem);
