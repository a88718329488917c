//! `GET /customers/segments`, the thresholds at `/customers/segments/rules`, and the list's
//! `segment` filter.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, individual};

/// Creates a lead (no purchases, created now).
async fn lead(app: &TestApp, name: &str, email: &str) -> String {
    app.create(&individual(name, email)).await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

fn count_of(body: &Value, segment: &str) -> u64 {
    body["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .find(|s| s["segment"] == segment)
        .and_then(|s| s["count"].as_u64())
        .expect("every segment is listed")
}

async fn segments_count_and_filter_customers(app: TestApp) {
    // Two fresh leads (NEW: no purchase, created today) and one churned (LOST).
    let a = lead(&app, "Алия", "aliya@seg.kz").await;
    let b = lead(&app, "Бауыржан", "baur@seg.kz").await;
    let c = lead(&app, "Ерлан", "erlan@seg.kz").await;
    for status in ["PROSPECT", "ACTIVE", "CHURNED"] {
        app.call(
            Method::PATCH,
            &format!("/{c}/status"),
            Some(&json!({ "status": status })),
        )
        .await
        .assert_status(200);
    }
    let body = app.call(Method::GET, "/segments", None).await.assert_status(200).body;
    let names: Vec<&str> = body["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["segment"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["LOST", "VIP", "LOYAL", "NEW", "AT_RISK", "DORMANT", "PROMISING"]
    );
    assert_eq!((count_of(&body, "NEW"), count_of(&body, "LOST")), (2, 1), "{body}");
    assert_eq!(count_of(&body, "PROMISING"), 0);
    assert_eq!(body["rules"]["lostAfterDays"], 365);
    assert_eq!(body["rules"]["vipLifetimeValue"], "10000000.00");
    assert!(body["asOf"].is_string());

    let new = app
        .list(&[("segment", "NEW"), ("sortOrder", "ASC")])
        .await
        .assert_status(200)
        .body;
    assert_eq!(crate::helpers::ids(&new["items"]), vec![a, b]);
    assert_eq!(new["total"], 2);
    let lost = app.list(&[("segment", "LOST")]).await.assert_status(200).body;
    assert_eq!(crate::helpers::ids(&lost["items"]), vec![c]);
    app.list(&[("segment", "SLEEPY")]).await.assert_invalid("segment");
}
both_backends!(segments_count_and_filter_customers);

async fn thresholds_are_per_workspace_and_checked(app: TestApp) {
    let defaults = app
        .call(Method::GET, "/segments/rules", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(defaults["newWithinDays"], 30);
    // A partial body takes the defaults for what it leaves out.
    let set = app
        .call(
            Method::PUT,
            "/segments/rules",
            Some(&json!({ "lostAfterDays": 200, "vipLifetimeValue": 5000000 })),
        )
        .await
        .assert_status(200)
        .body;
    assert_eq!(set["lostAfterDays"], 200);
    assert_eq!(set["vipLifetimeValue"], "5000000.00");
    assert_eq!(set["dormantAfterDays"], 180);
    let read = app
        .call(Method::GET, "/segments/rules", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(read, set);
    let segments = app.call(Method::GET, "/segments", None).await.assert_status(200).body;
    assert_eq!(segments["rules"], set);
    // Out of range values name their fields.
    app.call(Method::PUT, "/segments/rules", Some(&json!({ "lostAfterDays": 0 })))
        .await
        .assert_invalid("lostAfterDays");
    app.call(
        Method::PUT,
        "/segments/rules",
        Some(&json!({ "vipLifetimeValue": "-1" })),
    )
    .await
    .assert_invalid("vipLifetimeValue");
    // Another workspace keeps the defaults.
    let other = uuid::Uuid::now_v7();
    let token = app.token(app.org, &[other], &crate::helpers::ALL_PERMISSIONS);
    let theirs = app
        .call_as(&token, other, Method::GET, "/segments/rules", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(theirs["lostAfterDays"], 365);
    // Setting needs customers:update.
    let viewer = app.token(app.org, &[app.workspace], &["customers:view"]);
    app.call_as(&viewer, app.workspace, Method::PUT, "/segments/rules", Some(&json!({})))
        .await
        .assert_problem(403);
}
both_backends!(thresholds_are_per_workspace_and_checked);

/// `order.completed` for `customer` `days_ago` days ago, through `POST /customers/events`.
async fn order(app: &TestApp, customer: &str, order_id: &str, amount: &str, days_ago: i64) {
    let at = time::OffsetDateTime::now_utc() - time::Duration::days(days_ago);
    app.complete_order(customer, order_id, amount, at).await;
}

async fn rfm_grid_scores_customers_with_purchases(app: TestApp) {
    let empty = app
        .call(Method::GET, "/analytics/rfm", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(empty["customers"], 0);
    assert_eq!(empty["cells"].as_array().unwrap().len(), 25);
    assert_eq!(
        (
            empty["cells"][0]["recency"].clone(),
            empty["cells"][0]["frequency"].clone()
        ),
        (json!(5), json!(1))
    );

    let recent = lead(&app, "Гульнара", "gulnara@rfm.kz").await;
    let old = lead(&app, "Даурен", "dauren@rfm.kz").await;
    let _never = lead(&app, "Жанна", "zhanna@rfm.kz").await;
    order(&app, &recent, "O-1", "100.00", 1).await;
    order(&app, &recent, "O-2", "150.50", 2).await;
    order(&app, &old, "O-3", "40.00", 300).await;
    let grid = app
        .call(Method::GET, "/analytics/rfm", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(grid["customers"], 2, "{grid}");
    let cell = |r: u64, f: u64| {
        grid["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["recency"] == r && c["frequency"] == f)
            .cloned()
            .unwrap()
    };
    // Two scored: the recent, frequent one scores 5/5; the other ⌈5·1/2⌉ = 3 on both.
    assert_eq!(cell(5, 5)["customers"], 1);
    assert_eq!(cell(5, 5)["revenue"], "250.50");
    assert_eq!(cell(3, 3)["customers"], 1);
    assert_eq!(cell(3, 3)["revenue"], "40.00");
}
both_backends!(rfm_grid_scores_customers_with_purchases);
