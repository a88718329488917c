//! Status changes, lead conversion, duplicate checks and IIN/BIN validation.

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::helpers::{
    ALL_PERMISSIONS, ALPHA_BIN, POST_OK, TestApp, TestResponse, b2b_example, company, complete_tax_id, individual,
    valid_bin, valid_iin,
};

const STATUSES: [&str; 5] = ["LEAD", "PROSPECT", "ACTIVE", "INACTIVE", "CHURNED"];

/// The transition table of the spec.
fn allowed(from: &str) -> &'static [&'static str] {
    match from {
        "LEAD" => &["PROSPECT", "ACTIVE", "CHURNED"],
        "PROSPECT" => &["LEAD", "ACTIVE", "CHURNED"],
        "ACTIVE" => &["INACTIVE", "CHURNED"],
        "INACTIVE" => &["ACTIVE", "CHURNED"],
        "CHURNED" => &["ACTIVE", "LEAD"],
        other => panic!("unknown status {other}"),
    }
}

/// The allowed path from LEAD to `status`.
fn walk(status: &str) -> &'static [&'static str] {
    match status {
        "LEAD" => &[],
        "PROSPECT" => &["PROSPECT"],
        "ACTIVE" => &["ACTIVE"],
        "INACTIVE" => &["ACTIVE", "INACTIVE"],
        "CHURNED" => &["CHURNED"],
        other => panic!("unknown status {other}"),
    }
}

impl TestApp {
    async fn patch_status(&self, id: &str, body: &Value) -> TestResponse {
        self.call(Method::PATCH, &format!("/{id}/status"), Some(body)).await
    }

    async fn convert(&self, id: &str, body: &Value) -> TestResponse {
        self.call(Method::POST, &format!("/{id}/convert"), Some(body)).await
    }

    async fn check_duplicate(&self, body: &Value) -> TestResponse {
        self.call(Method::POST, "/check-duplicate", Some(body)).await
    }

    /// A new customer (created as a LEAD) moved to `status` along allowed transitions.
    async fn customer_in(&self, status: &str, email: &str) -> Value {
        let mut customer = self.create(&individual("Статусный Клиент", email)).await;
        assert_eq!(customer["status"], "LEAD");
        let id = customer["id"].as_str().unwrap().to_owned();
        for step in walk(status) {
            customer = self
                .patch_status(&id, &json!({ "status": step }))
                .await
                .assert_status(200)
                .body;
        }
        assert_eq!(customer["status"], status);
        customer
    }
}

fn timestamp(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("a string"), &Rfc3339).expect("an RFC 3339 timestamp")
}

// ---------------------------------------------------------------------------------------------
// Status
// ---------------------------------------------------------------------------------------------

async fn every_cell_of_the_transition_table(app: TestApp) {
    for (i, from) in STATUSES.iter().enumerate() {
        for (j, to) in STATUSES.iter().enumerate() {
            let before = app.customer_in(from, &format!("status{i}{j}@example.kz")).await;
            let id = before["id"].as_str().unwrap();
            let response = app
                .patch_status(id, &json!({ "status": to, "reason": "таблица переходов" }))
                .await;
            if from == to || allowed(from).contains(to) {
                let body = response.assert_status(200).body;
                assert_eq!(body["status"], *to, "{from} → {to}");
                assert_eq!(app.get(id).await.body["status"], *to, "{from} → {to} is stored");
            } else {
                let problem = response.assert_problem(409);
                assert_eq!(problem.body["type"], "urn:customers:problem:invalid-transition");
                assert_eq!(problem.body["allowed"], json!(allowed(from)), "{from} → {to}");
                let detail = problem.body["detail"].as_str().unwrap_or_default();
                assert!(detail.contains(from) && detail.contains(to), "{detail}");
                let after = app.get(id).await.body;
                assert_eq!(after, before, "{from} → {to} refused: nothing changes");
            }
        }
    }
}
both_backends!(every_cell_of_the_transition_table);

async fn the_same_status_is_a_no_op(app: TestApp) {
    let before = app.customer_in("PROSPECT", "same@example.kz").await;
    let id = before["id"].as_str().unwrap();
    let etag = app.get(id).await.etag.expect("ETag");
    let response = app
        .patch_status(id, &json!({ "status": "PROSPECT", "reason": "повтор" }))
        .await
        .assert_status(200);
    assert_eq!(
        response.body, before,
        "a no-op writes nothing: same version, same updatedAt"
    );
    assert_eq!(response.etag.as_ref(), Some(&etag));
    // Repeating it with the ETag read before still succeeds: nothing moved.
    let request = app
        .client
        .patch(app.url(&format!("{}/{id}/status", TestApp::customers_path(app.workspace))))
        .bearer_auth(app.token_all(app.workspace))
        .header("If-Match", &etag)
        .json(&json!({ "status": "PROSPECT" }));
    let response = app.execute(request).await.assert_status(200);
    assert_eq!(response.body["version"], before["version"]);
    // A PUT of the current status is a no-op too.
    let response = app.put(id, &json!({ "status": "PROSPECT" })).await.assert_status(200);
    assert_eq!(response.body, before);
    assert_eq!(app.get(id).await.body, before);
}
both_backends!(the_same_status_is_a_no_op);

async fn a_put_with_a_forbidden_status_is_409(app: TestApp) {
    let before = app.customer_in("ACTIVE", "put@example.kz").await;
    let id = before["id"].as_str().unwrap();
    let problem = app
        .put(id, &json!({ "status": "LEAD", "name": "Новое Имя" }))
        .await
        .assert_problem(409);
    assert_eq!(problem.body["allowed"], json!(["INACTIVE", "CHURNED"]));
    assert_eq!(app.get(id).await.body, before, "nothing of the refused PUT is written");

    let updated = app
        .put(id, &json!({ "status": "INACTIVE", "name": "Новое Имя" }))
        .await
        .assert_status(200)
        .body;
    assert_eq!(
        (&updated["status"], &updated["name"]),
        (&json!("INACTIVE"), &json!("Новое Имя"))
    );
    // From INACTIVE, PROSPECT is forbidden.
    let problem = app.put(id, &json!({ "status": "PROSPECT" })).await.assert_problem(409);
    assert_eq!(problem.body["allowed"], json!(["ACTIVE", "CHURNED"]));
}
both_backends!(a_put_with_a_forbidden_status_is_409);

async fn status_requests_are_validated_and_scoped(app: TestApp) {
    let before = app.customer_in("LEAD", "scoped@example.kz").await;
    let id = before["id"].as_str().unwrap();
    app.patch_status(id, &json!({ "status": "WON" }))
        .await
        .assert_invalid("status");
    app.patch_status(id, &json!({ "status": "lead" }))
        .await
        .assert_invalid("status");
    app.patch_status(id, &json!({})).await.assert_invalid("status");
    app.patch_status(id, &json!({ "status": "ACTIVE", "reason": "x".repeat(501) }))
        .await
        .assert_invalid("reason");
    app.patch_status(&Uuid::now_v7().to_string(), &json!({ "status": "ACTIVE" }))
        .await
        .assert_problem(404);

    let ws = app.workspace;
    let second_ws = Uuid::now_v7();
    let view = app.token(app.org, &[ws], &["customers:view"]);
    let both = app.token(app.org, &[ws, second_ws], &ALL_PERMISSIONS);
    let body = json!({ "status": "ACTIVE" });
    app.call_as(&view, ws, Method::PATCH, &format!("/{id}/status"), Some(&body))
        .await
        .assert_problem(403);
    app.call_as(&both, second_ws, Method::PATCH, &format!("/{id}/status"), Some(&body))
        .await
        .assert_problem(404);
    assert_eq!(app.get(id).await.body, before);

    // A reason of 500 characters is fine.
    app.patch_status(id, &json!({ "status": "ACTIVE", "reason": "x".repeat(500) }))
        .await
        .assert_status(200);
}
both_backends!(status_requests_are_validated_and_scoped);

// ---------------------------------------------------------------------------------------------
// Conversion
// ---------------------------------------------------------------------------------------------

async fn leads_and_prospects_convert_to_active(app: TestApp) {
    let manager = Uuid::now_v7();
    for (status, body) in [
        ("LEAD", json!({ "assignedTo": manager })),
        (
            "PROSPECT",
            json!({
                "assignedTo": manager, "createDeal": true, "dealTitle": "Первая сделка", "dealValue": "150000.50"
            }),
        ),
    ] {
        let before = app
            .customer_in(status, &format!("{}@convert.kz", status.to_lowercase()))
            .await;
        assert_eq!(before["convertedAt"], Value::Null);
        let id = before["id"].as_str().unwrap();
        let started = OffsetDateTime::now_utc() - time::Duration::seconds(1);
        let converted = app.convert(id, &body).await.assert_status(POST_OK).body;
        assert_eq!(converted["status"], "ACTIVE", "{status}");
        assert_eq!(converted["assignedTo"], json!(manager), "{status}");
        let at = timestamp(&converted["convertedAt"]);
        assert!(
            at >= started && at <= OffsetDateTime::now_utc() + time::Duration::seconds(1),
            "{at}"
        );
        assert_eq!(converted["convertedAt"], converted["updatedAt"]);
        assert_eq!(converted["version"], before["version"].as_i64().unwrap() + 1);
        assert_eq!(app.get(id).await.body, converted, "{status}: the conversion is stored");
    }

    // Without a manager the current one stays.
    let keeper = Uuid::now_v7();
    let lead = app
        .create(&json!({
            "type": "INDIVIDUAL", "name": "Лид Без Менеджера", "email": "keep@convert.kz", "assignedTo": keeper
        }))
        .await;
    let converted = app
        .convert(lead["id"].as_str().unwrap(), &json!({}))
        .await
        .assert_status(POST_OK)
        .body;
    assert_eq!(converted["assignedTo"], json!(keeper));
    assert_eq!(converted["status"], "ACTIVE");
}
both_backends!(leads_and_prospects_convert_to_active);

async fn other_statuses_do_not_convert(app: TestApp) {
    for status in ["ACTIVE", "INACTIVE", "CHURNED"] {
        let before = app
            .customer_in(status, &format!("{}@noconvert.kz", status.to_lowercase()))
            .await;
        let id = before["id"].as_str().unwrap();
        let problem = app
            .convert(id, &json!({ "assignedTo": Uuid::now_v7() }))
            .await
            .assert_problem(409);
        let detail = problem.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(status), "{detail}");
        assert_eq!(app.get(id).await.body, before, "{status}: nothing changes");
    }
    // A converted lead cannot be converted again.
    let lead = app.customer_in("LEAD", "twice@noconvert.kz").await;
    let id = lead["id"].as_str().unwrap();
    let converted = app.convert(id, &json!({})).await.assert_status(POST_OK).body;
    app.convert(id, &json!({})).await.assert_problem(409);
    assert_eq!(app.get(id).await.body, converted);
}
both_backends!(other_statuses_do_not_convert);

async fn conversion_requests_are_validated_and_scoped(app: TestApp) {
    let lead = app.customer_in("LEAD", "checked@convert.kz").await;
    let id = lead["id"].as_str().unwrap();
    app.convert(id, &json!({ "dealValue": -1 }))
        .await
        .assert_invalid("dealValue");
    app.convert(id, &json!({ "dealValue": "abc" }))
        .await
        .assert_invalid("dealValue");
    app.convert(id, &json!({ "dealTitle": "x".repeat(201) }))
        .await
        .assert_invalid("dealTitle");
    app.convert(id, &json!({ "assignedTo": "someone" }))
        .await
        .assert_invalid("assignedTo");
    app.convert(&Uuid::now_v7().to_string(), &json!({}))
        .await
        .assert_problem(404);
    let view = app.token(app.org, &[app.workspace], &["customers:view"]);
    app.call_as(
        &view,
        app.workspace,
        Method::POST,
        &format!("/{id}/convert"),
        Some(&json!({})),
    )
    .await
    .assert_problem(403);
    assert_eq!(app.get(id).await.body, lead, "nothing changed");
}
both_backends!(conversion_requests_are_validated_and_scoped);

async fn a_lead_made_active_by_any_route_is_converted(app: TestApp) {
    // PATCH /status LEAD → ACTIVE.
    let lead = app.customer_in("LEAD", "patch@route.kz").await;
    let id = lead["id"].as_str().unwrap();
    let active = app
        .patch_status(id, &json!({ "status": "ACTIVE" }))
        .await
        .assert_status(200)
        .body;
    assert_eq!(active["convertedAt"], active["updatedAt"], "{active}");
    // ACTIVE → INACTIVE → ACTIVE is not a conversion: the first time stays.
    app.patch_status(id, &json!({ "status": "INACTIVE" }))
        .await
        .assert_status(200);
    let again = app
        .patch_status(id, &json!({ "status": "ACTIVE" }))
        .await
        .assert_status(200)
        .body;
    assert_eq!(again["convertedAt"], active["convertedAt"]);

    // PUT PROSPECT → ACTIVE.
    let prospect = app.customer_in("PROSPECT", "put@route.kz").await;
    let id = prospect["id"].as_str().unwrap();
    let active = app
        .put(id, &json!({ "status": "ACTIVE" }))
        .await
        .assert_status(200)
        .body;
    assert_eq!(active["convertedAt"], active["updatedAt"], "{active}");

    // CHURNED → ACTIVE of a customer that never was a lead-made-active: not a conversion.
    let churned = app.customer_in("CHURNED", "churned@route.kz").await;
    let id = churned["id"].as_str().unwrap();
    let back = app
        .patch_status(id, &json!({ "status": "ACTIVE" }))
        .await
        .assert_status(200)
        .body;
    assert_eq!(back["convertedAt"], Value::Null);
}
both_backends!(a_lead_made_active_by_any_route_is_converted);

// ---------------------------------------------------------------------------------------------
// Duplicate check
// ---------------------------------------------------------------------------------------------

/// `(field, customer id or null, score)` of each match.
fn matches(body: &Value) -> Vec<(String, Value, f64)> {
    body["duplicates"]
        .as_array()
        .expect("duplicates")
        .iter()
        .map(|m| {
            (
                m["field"].as_str().expect("field").to_owned(),
                m["customer"].get("id").cloned().unwrap_or(Value::Null),
                m["score"].as_f64().expect("score"),
            )
        })
        .collect()
}

async fn exact_matches_suggest_a_merge(app: TestApp) {
    let alpha = app.create(&b2b_example()).await; // info@alpha.kz, +77012345678, ALPHA_BIN
    let person = app
        .create(
            &json!({ "type": "INDIVIDUAL", "name": "Иван Петров", "email": "ivan@example.kz", "iin": valid_iin(1) }),
        )
        .await;

    let response = app
        .check_duplicate(&json!({ "email": "  INFO@Alpha.KZ " }))
        .await
        .assert_status(POST_OK);
    assert_eq!(response.body["hasDuplicates"], true);
    assert_eq!(response.body["suggestedAction"], "merge");
    assert_eq!(
        matches(&response.body),
        vec![("email".to_owned(), alpha["id"].clone(), 1.0)]
    );
    assert_eq!(response.body["duplicates"][0]["customer"], alpha, "the whole customer");

    for phone in ["8 701 234 56 78", "7012345678", "+7 (701) 234-56-78", "+77012345678"] {
        let body = app
            .check_duplicate(&json!({ "phone": phone }))
            .await
            .assert_status(POST_OK)
            .body;
        assert_eq!(
            matches(&body),
            vec![("phone".to_owned(), alpha["id"].clone(), 1.0)],
            "{phone}"
        );
        assert_eq!(body["suggestedAction"], "merge", "{phone}");
    }
    let body = app.check_duplicate(&json!({ "bin": ALPHA_BIN })).await.body;
    assert_eq!(matches(&body), vec![("bin".to_owned(), alpha["id"].clone(), 1.0)]);
    assert_eq!(body["suggestedAction"], "merge");
    let body = app.check_duplicate(&json!({ "iin": valid_iin(1) })).await.body;
    assert_eq!(matches(&body), vec![("iin".to_owned(), person["id"].clone(), 1.0)]);
    assert_eq!(body["suggestedAction"], "merge");

    // Several fields of one customer each match.
    let body = app
        .check_duplicate(&json!({ "email": "info@alpha.kz", "phone": "87012345678", "bin": ALPHA_BIN }))
        .await
        .body;
    let mut fields: Vec<String> = matches(&body).into_iter().map(|(f, _, _)| f).collect();
    fields.sort();
    assert_eq!(fields, vec!["bin", "email", "phone"]);
    assert_eq!(body["suggestedAction"], "merge");
}
both_backends!(exact_matches_suggest_a_merge);

async fn similar_names_suggest_a_review(app: TestApp) {
    let alpha = app.create(&company("ТОО «Альфа»", "info@alpha.kz")).await;
    app.create(&company("ТОО Гамма-Строй", "info@gamma.kz")).await;
    for name in ["Альфа ТОО", "Alfa LLP", "ТОО «Альфа»", "альфа"] {
        let body = app
            .check_duplicate(&json!({ "name": name }))
            .await
            .assert_status(POST_OK)
            .body;
        let found = matches(&body);
        assert_eq!(found.len(), 1, "{name}: {body}");
        assert_eq!((found[0].0.as_str(), &found[0].1), ("name", &alpha["id"]), "{name}");
        assert!(found[0].2 >= 0.8 && found[0].2 <= 1.0, "{name}: score {}", found[0].2);
        assert_eq!(body["hasDuplicates"], true);
        assert_eq!(body["suggestedAction"], "review", "{name}");
    }
    // The other way round: a Latin name stored, a Cyrillic one checked.
    let latin = app.create(&company("Alfa LLP", "hello@alfa.kz")).await;
    let body = app.check_duplicate(&json!({ "name": "ТОО «Альфа»" })).await.body;
    let mut found: Vec<Value> = matches(&body).into_iter().map(|(_, id, _)| id).collect();
    found.sort_by_key(|v| v.to_string());
    let mut expected = vec![alpha["id"].clone(), latin["id"].clone()];
    expected.sort_by_key(|v| v.to_string());
    assert_eq!(found, expected);
    assert_eq!(body["suggestedAction"], "review");

    // An exact match outranks the names and makes it a merge.
    let body = app
        .check_duplicate(&json!({ "name": "Альфа ТОО", "email": "info@alpha.kz" }))
        .await
        .body;
    assert_eq!(body["duplicates"][0]["field"], "email");
    assert_eq!(body["suggestedAction"], "merge");
}
both_backends!(similar_names_suggest_a_review);

async fn nothing_similar_suggests_create(app: TestApp) {
    app.create(&b2b_example()).await;
    for body in [
        json!({
            "name": "Совсем Другая Компания", "email": "new@other.kz", "phone": "+77770000000",
            "bin": valid_bin(3), "iin": valid_iin(2)
        }),
        json!({}),
        json!({ "email": "", "phone": "  ", "name": "" }),
    ] {
        let response = app.check_duplicate(&body).await.assert_status(POST_OK);
        assert_eq!(
            response.body,
            json!({ "hasDuplicates": false, "duplicates": [], "suggestedAction": "create" }),
            "{body}"
        );
    }
}
both_backends!(nothing_similar_suggests_create);

async fn invalid_values_to_check_are_400(app: TestApp) {
    for (field, value) in [
        ("email", "not-an-email"),
        ("phone", "12"),
        ("iin", "123456789012"),
        ("bin", "12345"),
    ] {
        app.check_duplicate(&json!({ field: value }))
            .await
            .assert_invalid(field);
    }
    let response = app
        .check_duplicate(&json!({ "email": "bad", "phone": "bad" }))
        .await
        .assert_problem(400);
    assert_eq!(response.error_fields(), vec!["email", "phone"]);
    app.check_duplicate(&json!({ "name": format!(" {} ", "x".repeat(201)) }))
        .await
        .assert_invalid("name");
    app.check_duplicate(&json!({ "name": format!(" {} ", "x".repeat(200)) }))
        .await
        .assert_status(POST_OK);
    let no_view = app.token(app.org, &[app.workspace], &["customers:create"]);
    app.call_as(
        &no_view,
        app.workspace,
        Method::POST,
        "/check-duplicate",
        Some(&json!({})),
    )
    .await
    .assert_problem(403);
}
both_backends!(invalid_values_to_check_are_400);

async fn customers_of_other_workspaces_are_never_disclosed(app: TestApp) {
    let second_ws = Uuid::now_v7();
    let second = app.token_all(second_ws);
    let hidden = app
        .post_customer_as(
            &second,
            second_ws,
            &json!({
                "type": "COMPANY", "name": "ТОО «Бета»", "email": "info@beta.kz", "phone": "+77015556677",
                "bin": ALPHA_BIN
            }),
        )
        .await
        .assert_status(201)
        .body;
    let other_org = app.token(Uuid::now_v7(), &[app.workspace], &ALL_PERMISSIONS);
    app.post_customer_as(
        &other_org,
        app.workspace,
        &json!({ "type": "COMPANY", "name": "ТОО «Бета»", "email": "info@gamma.kz", "iin": valid_iin(4) }),
    )
    .await
    .assert_status(201);

    // Unique values of the organization block creation: reported, without the customer.
    for (field, value) in [("email", json!("info@beta.kz")), ("bin", json!(ALPHA_BIN))] {
        let body = app
            .check_duplicate(&json!({ field: value }))
            .await
            .assert_status(POST_OK)
            .body;
        assert_eq!(
            body,
            json!({
                "hasDuplicates": true,
                "duplicates": [{ "field": field, "customer": null, "score": 1.0 }],
                "suggestedAction": "merge"
            }),
            "{field}"
        );
    }
    // Names and phones of other workspaces, and anything of other organizations, are not seen.
    for check in [
        json!({ "name": "ТОО «Бета»" }),
        json!({ "phone": "+77015556677" }),
        json!({ "email": "info@gamma.kz" }),
        json!({ "iin": valid_iin(4) }),
    ] {
        let body = app.check_duplicate(&check).await.assert_status(POST_OK).body;
        assert_eq!(
            body,
            json!({ "hasDuplicates": false, "duplicates": [], "suggestedAction": "create" }),
            "{check}"
        );
    }
    assert!(
        !app.check_duplicate(&json!({ "email": "info@beta.kz" }))
            .await
            .text
            .contains(hidden["id"].as_str().unwrap())
    );
}
both_backends!(customers_of_other_workspaces_are_never_disclosed);

// ---------------------------------------------------------------------------------------------
// IIN / BIN validation
// ---------------------------------------------------------------------------------------------

impl TestApp {
    async fn validate(&self, kind: &str, value: &str) -> Value {
        self.call(
            Method::POST,
            &format!("/validate/{kind}"),
            Some(&json!({ kind: value })),
        )
        .await
        .assert_status(POST_OK)
        .body
    }
}

fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
            e["code"].as_str().expect("code").to_owned()
        })
        .collect()
}

/// The first issued IIN/BIN starting with `prefix` (a serial fills the 11 digits).
fn issued(prefix: &str) -> String {
    let width = 11 - prefix.len();
    (0..)
        .find_map(|serial| complete_tax_id(&format!("{prefix}{serial:0width$}")))
        .expect("an issued number")
}

/// [`issued`] with a wrong control digit.
fn mistyped(prefix: &str) -> String {
    let right = issued(prefix);
    let last = right.as_bytes()[11] - b'0';
    format!("{}{}", &right[..11], (last + 1) % 10)
}

async fn valid_iins_tell_birth_date_and_sex(app: TestApp) {
    let male = "900515300008";
    assert_eq!(
        app.validate("iin", male).await,
        json!({ "valid": true, "errors": [], "birthDate": "1990-05-15", "sex": "MALE", "centuryDigit": 3 })
    );
    let female = issued("0502286");
    assert_eq!(
        app.validate("iin", &format!(" {female} ")).await,
        json!({ "valid": true, "errors": [], "birthDate": "2005-02-28", "sex": "FEMALE", "centuryDigit": 6 })
    );
    let foreign = issued("8001010");
    assert_eq!(
        app.validate("iin", &foreign).await,
        json!({ "valid": true, "errors": [], "birthDate": null, "sex": null, "centuryDigit": 0 })
    );
}
both_backends!(valid_iins_tell_birth_date_and_sex);

async fn invalid_iins_list_every_reason(app: TestApp) {
    let invalid = |errors: &[&str]| (false, errors.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>());
    let cases: Vec<(String, &[&str])> = vec![
        ("90051530000".to_owned(), &["length"]),
        ("9005153000081".to_owned(), &["length"]),
        ("".to_owned(), &["length"]),
        ("90051530000a".to_owned(), &["non_digit"]),
        ("9005-1530000".to_owned(), &["non_digit"]),
        ("abc".to_owned(), &["length", "non_digit"]),
        (issued("9013313"), &["date"]),
        (issued("9002303"), &["date"]),
        (issued("9005157"), &["century_digit"]),
        ("900515300001".to_owned(), &["checksum"]),
        (mistyped("9013318"), &["date", "century_digit", "checksum"]),
    ];
    for (iin, expected) in cases {
        let body = app.validate("iin", &iin).await;
        assert_eq!(
            (body["valid"].as_bool().unwrap(), codes(&body)),
            invalid(expected),
            "{iin:?}: {body}"
        );
        assert_eq!(
            (&body["birthDate"], &body["sex"], &body["centuryDigit"]),
            (&Value::Null, &Value::Null, &Value::Null),
            "{iin:?}"
        );
    }
}
both_backends!(invalid_iins_list_every_reason);

async fn valid_bins_tell_registration_type_and_attribute(app: TestApp) {
    assert_eq!(
        app.validate("bin", ALPHA_BIN).await,
        json!({
            "valid": true, "errors": [], "registrationYear": 1997, "registrationMonth": 12,
            "entityType": "RESIDENT_LEGAL_ENTITY", "attribute": "HEAD_OFFICE"
        })
    );
    let branch = issued("050351");
    assert_eq!(
        app.validate("bin", &branch).await,
        json!({
            "valid": true, "errors": [], "registrationYear": 2005, "registrationMonth": 3,
            "entityType": "NON_RESIDENT_LEGAL_ENTITY", "attribute": "BRANCH"
        })
    );
    let farm = issued("100163");
    let body = app.validate("bin", &farm).await;
    assert_eq!(
        (&body["entityType"], &body["attribute"]),
        (&json!("JOINT_ACTIVITY_ENTREPRENEUR"), &json!("PEASANT_FARM"))
    );
}
both_backends!(valid_bins_tell_registration_type_and_attribute);

async fn invalid_bins_name_each_broken_rule(app: TestApp) {
    let cases: Vec<(String, &[&str])> = vec![
        ("97124000131".to_owned(), &["length"]),
        ("97124000131x".to_owned(), &["non_digit"]),
        (issued("971340"), &["month"]),
        (issued("970040"), &["month"]),
        (issued("971270"), &["entity_type"]),
        (issued("971245"), &["attribute"]),
        ("971240001314".to_owned(), &["checksum"]),
        (mistyped("971379"), &["month", "entity_type", "attribute", "checksum"]),
    ];
    for (bin, expected) in cases {
        let body = app.validate("bin", &bin).await;
        assert_eq!(body["valid"], false, "{bin}");
        assert_eq!(codes(&body), expected, "{bin}: {body}");
        for fact in ["registrationYear", "registrationMonth", "entityType", "attribute"] {
            assert_eq!(body[fact], Value::Null, "{bin}: {fact}");
        }
    }
}
both_backends!(invalid_bins_name_each_broken_rule);

async fn validation_needs_a_body_and_view_permission(app: TestApp) {
    app.call(Method::POST, "/validate/iin", Some(&json!({})))
        .await
        .assert_invalid("iin");
    app.call(Method::POST, "/validate/bin", Some(&json!({ "bin": 971240001315_u64 })))
        .await
        .assert_invalid("bin");
    let path = format!("{}/validate/iin", TestApp::customers_path(app.workspace));
    app.send(Method::POST, &path, None, Some(&json!({ "iin": "900515300008" })))
        .await
        .assert_problem(401);
    let stranger = app.token_all(Uuid::now_v7());
    app.send(
        Method::POST,
        &path,
        Some(&stranger),
        Some(&json!({ "iin": "900515300008" })),
    )
    .await
    .assert_problem(403);
    let view = app.token(app.org, &[app.workspace], &["customers:view"]);
    app.send(
        Method::POST,
        &path,
        Some(&view),
        Some(&json!({ "iin": "900515300008" })),
    )
    .await
    .assert_status(POST_OK);
}
both_backends!(validation_needs_a_body_and_view_permission);

// ---------------------------------------------------------------------------------------------
// Deleted customers and wire shapes
// ---------------------------------------------------------------------------------------------

async fn deleted_customers_are_neither_duplicates_nor_movable(app: TestApp) {
    let gone = app.create(&b2b_example()).await;
    let id = gone["id"].as_str().unwrap();
    app.delete(id).await.assert_status(204);
    for check in [
        json!({ "email": "info@alpha.kz" }),
        json!({ "phone": "+77012345678" }),
        json!({ "bin": ALPHA_BIN }),
        json!({ "name": "ТОО Альфа" }),
    ] {
        let body = app.check_duplicate(&check).await.assert_status(POST_OK).body;
        assert_eq!(body["suggestedAction"], "create", "{check}: {body}");
        assert_eq!(body["duplicates"], json!([]));
    }
    app.patch_status(id, &json!({ "status": "ACTIVE" }))
        .await
        .assert_problem(404);
    app.convert(id, &json!({})).await.assert_problem(404);
}
both_backends!(deleted_customers_are_neither_duplicates_nor_movable);

fn problem_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_sort_maps(true);
    settings
}

async fn invalid_transition_problem(app: TestApp) {
    let churned = app.customer_in("CHURNED", "shape@example.kz").await;
    let problem = app
        .patch_status(churned["id"].as_str().unwrap(), &json!({ "status": "INACTIVE" }))
        .await
        .assert_problem(409)
        .body;
    problem_settings().bind(|| insta::assert_json_snapshot!("invalid_transition_problem", problem));
}
both_backends!(invalid_transition_problem);

async fn duplicate_check_result(app: TestApp) {
    app.create(&company("ТОО «Альфа»", "info@alpha.kz")).await;
    let body = app
        .check_duplicate(&json!({ "name": "Alfa LLP", "email": "INFO@alpha.kz" }))
        .await
        .assert_status(POST_OK)
        .body;
    // The customers are checked elsewhere; the snapshot keeps the envelope.
    let shape: Vec<Value> = body["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| json!({ "field": m["field"], "customerEmail": m["customer"]["email"], "score": m["score"] }))
        .collect();
    let summary = json!({
        "hasDuplicates": body["hasDuplicates"], "duplicates": shape, "suggestedAction": body["suggestedAction"]
    });
    problem_settings().bind(|| insta::assert_json_snapshot!("duplicate_check_result", summary));
}
both_backends!(duplicate_check_result);

async fn a_renamed_customer_is_matched_by_its_new_name(app: TestApp) {
    let customer = app.create(&company("ТОО Гамма", "info@gamma.kz")).await;
    let id = customer["id"].as_str().unwrap();
    app.put(id, &json!({ "name": "ТОО «Альфа»" })).await.assert_status(200);
    let body = app.check_duplicate(&json!({ "name": "Alfa LLP" })).await.body;
    assert_eq!(
        matches(&body).into_iter().map(|(f, c, _)| (f, c)).collect::<Vec<_>>(),
        vec![("name".to_owned(), customer["id"].clone())]
    );
    let body = app.check_duplicate(&json!({ "name": "Гамма" })).await.body;
    assert_eq!(body["suggestedAction"], "create", "{body}");
}
both_backends!(a_renamed_customer_is_matched_by_its_new_name);
