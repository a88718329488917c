//! Probes, the OpenAPI document and the docs page; unknown routes.

use reqwest::Method;
use serde_json::json;

use crate::helpers::TestApp;

async fn probes_answer_200(app: TestApp) {
    let live = app
        .send(Method::GET, "/health/live", None, None)
        .await
        .assert_status(200);
    assert_eq!(live.body, json!({ "status": "ok" }));
    let ready = app
        .send(Method::GET, "/health/ready", None, None)
        .await
        .assert_status(200);
    assert_eq!(ready.body, json!({ "status": "ok" }));
}
both_backends!(probes_answer_200);

async fn openapi_document_is_served(app: TestApp) {
    let spec = app
        .send(Method::GET, "/openapi.json", None, None)
        .await
        .assert_status(200);
    assert!(
        spec.content_type
            .as_deref()
            .unwrap_or_default()
            .starts_with("application/json"),
        "{:?}",
        spec.content_type
    );
    assert!(
        spec.body["openapi"].as_str().is_some_and(|v| v.starts_with('3')),
        "{}",
        spec.body["openapi"]
    );
    let paths = spec.body["paths"].as_object().expect("paths");
    assert!(
        paths.contains_key("/api/v1/workspaces/{workspaceId}/customers"),
        "{:?}",
        paths.keys()
    );
    assert!(
        paths.contains_key("/api/v1/workspaces/{workspaceId}/customers/{id}"),
        "{:?}",
        paths.keys()
    );
}
both_backends!(openapi_document_is_served);

async fn docs_page_is_served(app: TestApp) {
    let docs = app.send(Method::GET, "/docs", None, None).await.assert_status(200);
    assert!(
        docs.content_type
            .as_deref()
            .unwrap_or_default()
            .starts_with("text/html"),
        "{:?}",
        docs.content_type
    );
    assert!(docs.text.to_lowercase().contains("swagger"), "Swagger UI");
}
both_backends!(docs_page_is_served);

async fn unknown_routes_and_methods_are_problems(app: TestApp) {
    let token = app.token_all(app.workspace);
    app.send(Method::GET, "/nope", Some(&token), None)
        .await
        .assert_problem(404);
    app.send(Method::GET, "/api/v1/workspaces", Some(&token), None)
        .await
        .assert_problem(404);
    let path = TestApp::customers_path(app.workspace);
    app.send(Method::PATCH, &path, Some(&token), None)
        .await
        .assert_problem(405);
}
both_backends!(unknown_routes_and_methods_are_problems);
