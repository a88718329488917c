//! Bearer JWT: 401 without a valid token, 403 without the workspace or the permission.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::helpers::{ALL_PERMISSIONS, TestApp, TestResponse, b2b_example};

/// One of the five customer operations.
#[derive(Debug, Clone, Copy)]
enum Op {
    List,
    Get,
    Create,
    Update,
    Delete,
}

impl Op {
    const ALL: [Op; 5] = [Op::List, Op::Get, Op::Create, Op::Update, Op::Delete];

    fn permission(self) -> &'static str {
        match self {
            Op::List | Op::Get => "customers:view",
            Op::Create => "customers:create",
            Op::Update => "customers:update",
            Op::Delete => "customers:delete",
        }
    }

    /// Sends the operation on customer `id` of the default workspace with `authorization` as
    /// the raw header (none when `None`).
    async fn send(self, app: &TestApp, id: &str, authorization: Option<&str>) -> TestResponse {
        let collection = TestApp::customers_path(app.workspace);
        let item = format!("{collection}/{id}");
        let (method, path, body): (Method, &str, Option<Value>) = match self {
            Op::List => (Method::GET, &collection, None),
            Op::Get => (Method::GET, &item, None),
            Op::Create => (
                Method::POST,
                &collection,
                Some(with_email(b2b_example(), &Uuid::now_v7().to_string())),
            ),
            Op::Update => (Method::PUT, &item, Some(json!({ "rating": 7 }))),
            Op::Delete => (Method::DELETE, &item, None),
        };
        let mut request = app.client.request(method, app.url(path));
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        app.execute(request).await
    }
}

fn with_email(mut body: Value, unique: &str) -> Value {
    body["email"] = json!(format!("{unique}@alpha.kz"));
    body.as_object_mut().unwrap().remove("bin");
    body
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Asserts that every operation answers `status` with a problem for `authorization`, and that
/// the customer is still there, unchanged.
async fn every_operation_is(app: &TestApp, authorization: Option<&str>, status: u16) {
    let created = app.create(&b2b_example()).await;
    let id = created["id"].as_str().unwrap();
    for op in Op::ALL {
        let response = op.send(app, id, authorization).await;
        assert_eq!(
            response.status, status,
            "{op:?} with {authorization:?}: {}",
            response.text
        );
        let response = response.assert_problem(status);
        assert!(response.body["detail"].is_string(), "{op:?}: {}", response.text);
    }
    assert_eq!(app.get(id).await.assert_status(200).body, created, "nothing changed");
    assert_eq!(app.list(&[]).await.body["total"], 1, "nothing created");
}

async fn no_token_is_401(app: TestApp) {
    every_operation_is(&app, None, 401).await;
}
both_backends!(no_token_is_401);

async fn malformed_token_is_401(app: TestApp) {
    for authorization in [
        "Bearer not.a.jwt",
        "Bearer ",
        "Bearer abc",
        "Token abc",
        "Basic dXNlcjpwYXNz",
    ] {
        every_operation_is(&app, Some(authorization), 401).await;
        // The customer created by the helper stays; remove it for the next round.
        let page = app.list(&[]).await.body;
        app.delete(page["items"][0]["id"].as_str().unwrap())
            .await
            .assert_status(204);
    }
}
both_backends!(malformed_token_is_401);

async fn wrong_signature_is_401(app: TestApp) {
    let claims = json!({
        "sub": app.user, "org": app.org, "workspaces": [app.workspace],
        "permissions": ALL_PERMISSIONS, "exp": now() + 3600
    });
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(b"another-secret"),
    )
    .unwrap();
    every_operation_is(&app, Some(&format!("Bearer {forged}")), 401).await;
}
both_backends!(wrong_signature_is_401);

async fn expired_token_is_401(app: TestApp) {
    let expired = app.mint(&customers_api::auth::Claims {
        sub: app.user,
        org: app.org,
        workspaces: vec![app.workspace],
        permissions: ALL_PERMISSIONS.iter().map(|p| (*p).to_owned()).collect(),
        exp: now() - 5,
        iat: Some(now() - 3600),
    });
    every_operation_is(&app, Some(&format!("Bearer {expired}")), 401).await;
}
both_backends!(expired_token_is_401);

async fn token_without_expiry_or_with_another_algorithm_is_401(app: TestApp) {
    let claims = json!({
        "sub": app.user, "org": app.org, "workspaces": [app.workspace], "permissions": ALL_PERMISSIONS
    });
    let no_exp = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(crate::helpers::SECRET),
    )
    .unwrap();
    every_operation_is(&app, Some(&format!("Bearer {no_exp}")), 401).await;
    app.delete(app.list(&[]).await.body["items"][0]["id"].as_str().unwrap())
        .await
        .assert_status(204);

    let mut claims = claims;
    claims["exp"] = json!(now() + 3600);
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(crate::helpers::SECRET),
    )
    .unwrap();
    every_operation_is(&app, Some(&format!("Bearer {hs512}")), 401).await;
    app.delete(app.list(&[]).await.body["items"][0]["id"].as_str().unwrap())
        .await
        .assert_status(204);

    // alg "none": header {"alg":"none","typ":"JWT"}, no signature.
    let unsigned = {
        use std::fmt::Write;
        let b64 = |bytes: &[u8]| {
            const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
                for i in 0..=chunk.len() {
                    let _ = out.write_char(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                }
            }
            out
        };
        format!(
            "{}.{}.",
            b64(br#"{"alg":"none","typ":"JWT"}"#),
            b64(claims.to_string().as_bytes())
        )
    };
    every_operation_is(&app, Some(&format!("Bearer {unsigned}")), 401).await;
}
both_backends!(token_without_expiry_or_with_another_algorithm_is_401);

async fn token_without_the_workspace_is_403(app: TestApp) {
    let other = app.token(app.org, &[Uuid::now_v7()], &ALL_PERMISSIONS);
    every_operation_is(&app, Some(&format!("Bearer {other}")), 403).await;
    app.delete(app.list(&[]).await.body["items"][0]["id"].as_str().unwrap())
        .await
        .assert_status(204);
    let none = app.token(app.org, &[], &ALL_PERMISSIONS);
    every_operation_is(&app, Some(&format!("Bearer {none}")), 403).await;
}
both_backends!(token_without_the_workspace_is_403);

async fn each_operation_needs_its_permission(app: TestApp) {
    for op in Op::ALL {
        let created = app.create(&b2b_example()).await;
        let id = created["id"].as_str().unwrap();
        let others: Vec<&str> = ALL_PERMISSIONS
            .iter()
            .copied()
            .filter(|p| *p != op.permission())
            .collect();
        for permissions in [others.as_slice(), &[], &["customers:*"], &["customers:admin"]] {
            let token = app.token(app.org, &[app.workspace], permissions);
            let response = op.send(&app, id, Some(&format!("Bearer {token}"))).await;
            assert_eq!(response.status, 403, "{op:?} with {permissions:?}: {}", response.text);
            response.assert_problem(403);
        }
        assert_eq!(app.get(id).await.body, created, "{op:?}: nothing changed");

        let token = app.token(app.org, &[app.workspace], &[op.permission()]);
        let response = op.send(&app, id, Some(&format!("Bearer {token}"))).await;
        assert!(
            (200..300).contains(&response.status),
            "{op:?} with only {}: {} {}",
            op.permission(),
            response.status,
            response.text
        );
        // Start the next round from an empty workspace.
        for item in app.list(&[]).await.body["items"].as_array().unwrap() {
            app.delete(item["id"].as_str().unwrap()).await.assert_status(204);
        }
    }
}
both_backends!(each_operation_needs_its_permission);

async fn health_and_docs_need_no_token(app: TestApp) {
    for path in ["/health/live", "/health/ready", "/openapi.json", "/docs"] {
        app.send(Method::GET, path, None, None).await.assert_status(200);
    }
}
both_backends!(health_and_docs_need_no_token);
