//! Invalid input: 400 `application/problem+json` naming the field or parameter; never a 500.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, b2b_example, company, individual, valid_bin, valid_iin, with};

/// POSTs `body` and asserts a 400 naming `field`; returns the fields named.
async fn refused(app: &TestApp, body: &Value, field: &str) -> Vec<String> {
    let response = app.post_customer(body).await.assert_invalid(field);
    assert_eq!(app.list(&[]).await.body["total"], 0, "nothing was created");
    response.error_fields()
}

fn contact() -> Value {
    json!({ "firstName": "Асет", "lastName": "Жумабеков", "email": "aset@alpha.kz", "phone": "+77011111111" })
}

fn address() -> Value {
    json!({ "type": "billing", "street": "ул. Абая, 150", "city": "Алматы", "postalCode": "050000" })
}

// ---------------------------------------------------------------------------------------------
// Body fields, one rule each
// ---------------------------------------------------------------------------------------------

async fn type_must_be_a_known_value(app: TestApp) {
    refused(&app, &with(b2b_example(), "type", json!("PARTNER")), "type").await;
    refused(&app, &with(b2b_example(), "type", json!("company")), "type").await;
    let mut missing = b2b_example();
    missing.as_object_mut().unwrap().remove("type");
    refused(&app, &missing, "type").await;
}
both_backends!(type_must_be_a_known_value);

async fn name_must_have_2_to_200_characters(app: TestApp) {
    refused(&app, &with(b2b_example(), "name", json!("A")), "name").await;
    refused(&app, &with(b2b_example(), "name", json!("Я".repeat(201))), "name").await;
    refused(&app, &with(b2b_example(), "name", json!("   ")), "name").await;
    refused(&app, &with(b2b_example(), "name", Value::Null), "name").await;
    // The bounds themselves are fine (characters, not bytes).
    app.create(&individual("Ян", "yan@example.kz")).await;
    app.create(&individual(&"Я".repeat(200), "long@example.kz")).await;
}
both_backends!(name_must_have_2_to_200_characters);

async fn email_must_be_an_address(app: TestApp) {
    for email in ["not-an-email", "a@b", "@alpha.kz", "a b@alpha.kz", ""] {
        refused(&app, &with(b2b_example(), "email", json!(email)), "email").await;
    }
    let mut missing = b2b_example();
    missing.as_object_mut().unwrap().remove("email");
    refused(&app, &missing, "email").await;
}
both_backends!(email_must_be_an_address);

async fn phone_must_be_a_valid_number(app: TestApp) {
    for phone in ["12345", "+7 701 abc 56 78", "+7701234567890123", "0000000000"] {
        refused(&app, &with(b2b_example(), "phone", json!(phone)), "phone").await;
    }
}
both_backends!(phone_must_be_a_valid_number);

async fn iin_must_have_a_valid_checksum(app: TestApp) {
    let body = with(
        individual("Иван Петров", "ivan@example.kz"),
        "iin",
        json!("900515300001"),
    );
    refused(&app, &body, "iin").await;
    for iin in ["90051530000", "9005153000080", "90051530000a", "901399800000"] {
        refused(
            &app,
            &with(individual("Иван Петров", "ivan@example.kz"), "iin", json!(iin)),
            "iin",
        )
        .await;
    }
    app.create(&with(
        individual("Иван Петров", "ivan@example.kz"),
        "iin",
        json!(valid_iin(2)),
    ))
    .await;
}
both_backends!(iin_must_have_a_valid_checksum);

async fn bin_must_have_a_valid_month(app: TestApp) {
    // 97-13: there is no 13th month.
    refused(&app, &with(b2b_example(), "bin", json!("971340001315")), "bin").await;
    // The spec's own example number is not a valid BIN either.
    refused(&app, &with(b2b_example(), "bin", json!("123456789012")), "bin").await;
    refused(&app, &with(b2b_example(), "bin", json!("971240001314")), "bin").await;
}
both_backends!(bin_must_have_a_valid_month);

async fn bin_is_refused_on_an_individual(app: TestApp) {
    let body = with(individual("Иван Петров", "ivan@example.kz"), "bin", json!(valid_bin(3)));
    let fields = refused(&app, &body, "bin").await;
    assert_eq!(fields, vec!["bin"]);
}
both_backends!(bin_is_refused_on_an_individual);

async fn company_size_must_be_a_band(app: TestApp) {
    for size in ["huge", "50-200", "500", ""] {
        refused(&app, &with(b2b_example(), "companySize", json!(size)), "companySize").await;
    }
    for (i, size) in ["1-10", "11-50", "51-200", "201-500", "500+"].into_iter().enumerate() {
        let body = with(
            company("ТОО Размер", &format!("size{i}@example.kz")),
            "companySize",
            json!(size),
        );
        assert_eq!(app.create(&body).await["companySize"], size);
    }
}
both_backends!(company_size_must_be_a_band);

async fn credit_limit_must_not_be_negative(app: TestApp) {
    refused(&app, &with(b2b_example(), "creditLimit", json!(-100)), "creditLimit").await;
}
both_backends!(credit_limit_must_not_be_negative);

async fn status_must_be_a_known_value(app: TestApp) {
    refused(&app, &with(b2b_example(), "status", json!("NOPE")), "status").await;
    refused(&app, &with(b2b_example(), "status", json!("prospect")), "status").await;
}
both_backends!(status_must_be_a_known_value);

async fn contact_email_must_be_an_address(app: TestApp) {
    let body = with(
        b2b_example(),
        "contacts",
        json!([with(contact(), "email", json!("aset-at-alpha"))]),
    );
    refused(&app, &body, "contacts[0].email").await;
    let body = with(
        b2b_example(),
        "contacts",
        json!([contact(), with(contact(), "email", json!("nope"))]),
    );
    refused(&app, &body, "contacts[1].email").await;
}
both_backends!(contact_email_must_be_an_address);

async fn contact_phone_must_be_a_valid_number(app: TestApp) {
    let body = with(
        b2b_example(),
        "contacts",
        json!([with(contact(), "phone", json!("123"))]),
    );
    refused(&app, &body, "contacts[0].phone").await;
    let mut no_phone = contact();
    no_phone.as_object_mut().unwrap().remove("phone");
    refused(
        &app,
        &with(b2b_example(), "contacts", json!([no_phone])),
        "contacts[0].phone",
    )
    .await;
}
both_backends!(contact_phone_must_be_a_valid_number);

async fn at_most_one_primary_contact(app: TestApp) {
    let primary = with(contact(), "isPrimary", json!(true));
    let other = with(
        with(contact(), "isPrimary", json!(true)),
        "email",
        json!("other@alpha.kz"),
    );
    let fields = refused(
        &app,
        &with(b2b_example(), "contacts", json!([primary, other])),
        "contacts",
    )
    .await;
    assert_eq!(fields, vec!["contacts"]);
}
both_backends!(at_most_one_primary_contact);

async fn at_most_one_primary_address_per_type(app: TestApp) {
    let billing = with(address(), "isPrimary", json!(true));
    let body = with(b2b_example(), "addresses", json!([billing.clone(), billing.clone()]));
    let fields = refused(&app, &body, "addresses").await;
    assert_eq!(fields, vec!["addresses"]);
    // One primary of each type is fine.
    let shipping = with(billing.clone(), "type", json!("shipping"));
    let created = app
        .create(&with(b2b_example(), "addresses", json!([billing, shipping])))
        .await;
    assert_eq!(created["addresses"].as_array().unwrap().len(), 2);
}
both_backends!(at_most_one_primary_address_per_type);

async fn address_postal_code_must_be_kazakh(app: TestApp) {
    for code in ["12", "0500001", "ABCDEF", "05000"] {
        let body = with(
            b2b_example(),
            "addresses",
            json!([with(address(), "postalCode", json!(code))]),
        );
        refused(&app, &body, "addresses[0].postalCode").await;
    }
    // Abroad, the code is kept as given.
    let abroad = with(
        with(address(), "country", json!("Russia")),
        "postalCode",
        json!("125009"),
    );
    let body = with(company("ООО Москва", "msk@example.ru"), "addresses", json!([abroad]));
    assert_eq!(app.create(&body).await["addresses"][0]["postalCode"], "125009");
}
both_backends!(address_postal_code_must_be_kazakh);

async fn address_type_must_be_a_known_value(app: TestApp) {
    let body = with(
        b2b_example(),
        "addresses",
        json!([address(), with(address(), "type", json!("home"))]),
    );
    refused(&app, &body, "addresses[1].type").await;
    let body = with(
        b2b_example(),
        "addresses",
        json!([with(address(), "type", json!("BILLING"))]),
    );
    refused(&app, &body, "addresses[0].type").await;
}
both_backends!(address_type_must_be_a_known_value);

async fn at_most_fifty_tags(app: TestApp) {
    let tags: Vec<String> = (0..51).map(|i| format!("tag{i}")).collect();
    refused(&app, &with(b2b_example(), "tags", json!(tags)), "tags").await;
    refused(
        &app,
        &with(b2b_example(), "tags", json!(["ok", "x".repeat(51)])),
        "tags[1]",
    )
    .await;
    refused(&app, &with(b2b_example(), "tags", json!("premium")), "tags").await;
    refused(&app, &with(b2b_example(), "tags", json!(["ok", "  "])), "tags[1]").await;
    // Fifty distinct tags are fine.
    let tags: Vec<String> = (0..50).map(|i| format!("tag{i}")).collect();
    assert_eq!(
        app.create(&with(b2b_example(), "tags", json!(tags))).await["tags"],
        json!(tags)
    );
}
both_backends!(at_most_fifty_tags);

async fn custom_fields_must_be_an_object(app: TestApp) {
    refused(
        &app,
        &with(b2b_example(), "customFields", json!([1, 2, 3])),
        "customFields",
    )
    .await;
    refused(
        &app,
        &with(b2b_example(), "customFields", json!("text")),
        "customFields",
    )
    .await;
    let big = json!({ "blob": "x".repeat(17 * 1024) });
    refused(&app, &with(b2b_example(), "customFields", big), "customFields").await;
    let nested = json!({ "a": { "b": [1, 2, { "c": null }] }, "n": 1.5, "t": true });
    assert_eq!(
        app.create(&with(b2b_example(), "customFields", nested.clone())).await["customFields"],
        nested
    );
}
both_backends!(custom_fields_must_be_an_object);

async fn rating_must_be_1_to_10(app: TestApp) {
    let id = app.create(&b2b_example()).await["id"].as_str().unwrap().to_owned();
    for rating in [json!(11), json!(0), json!(-1), json!("five"), json!(5.5)] {
        let response = app
            .put(&id, &json!({ "rating": rating }))
            .await
            .assert_invalid("rating");
        assert_eq!(response.error_fields(), vec!["rating"], "{rating}");
    }
    assert_eq!(app.get(&id).await.body["rating"], 5, "unchanged");
    assert_eq!(app.get(&id).await.body["version"], 1, "nothing written");
}
both_backends!(rating_must_be_1_to_10);

async fn update_fields_are_validated_like_create(app: TestApp) {
    let id = app.create(&b2b_example()).await["id"].as_str().unwrap().to_owned();
    for (body, field) in [
        (json!({ "email": "bad" }), "email"),
        (json!({ "name": "A" }), "name"),
        (json!({ "phone": "12" }), "phone"),
        (json!({ "iin": "900515300001" }), "iin"),
        (json!({ "bin": "971340001315" }), "bin"),
        (json!({ "status": "NOPE" }), "status"),
        (json!({ "creditLimit": -1 }), "creditLimit"),
        (json!({ "currentBalance": "1.005" }), "currentBalance"),
        (json!({ "isActive": "yes" }), "isActive"),
        (
            json!({ "contacts": [with(contact(), "email", json!("x"))] }),
            "contacts[0].email",
        ),
        (
            json!({ "addresses": [with(address(), "postalCode", json!("1"))] }),
            "addresses[0].postalCode",
        ),
        (json!({ "customFields": [1] }), "customFields"),
        (json!({ "assignedTo": "not-a-uuid" }), "assignedTo"),
        (json!({ "rating": 11 }), "rating"),
        (json!({ "type": "PARTNER" }), "type"),
        (json!({ "companySize": "huge" }), "companySize"),
        (
            json!({ "tags": (0..51).map(|i| format!("t{i}")).collect::<Vec<_>>() }),
            "tags",
        ),
        (
            json!({ "contacts": [with(contact(), "isPrimary", json!(true)), with(contact(), "isPrimary", json!(true))] }),
            "contacts",
        ),
    ] {
        app.put(&id, &body).await.assert_invalid(field);
    }
    assert_eq!(app.get(&id).await.body["version"], 1, "nothing written");
}
both_backends!(update_fields_are_validated_like_create);

async fn several_errors_are_all_listed(app: TestApp) {
    let mut body = b2b_example();
    body["name"] = json!("A");
    body["email"] = json!("not-an-email");
    body["creditLimit"] = json!(-5);
    body["contacts"][0]["phone"] = json!("1");
    body["addresses"][0]["postalCode"] = json!("12");
    let response = app.post_customer(&body).await.assert_invalid("name");
    let mut fields = response.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "addresses[0].postalCode",
            "contacts[0].phone",
            "creditLimit",
            "email",
            "name"
        ],
        "{}",
        response.text
    );
}
both_backends!(several_errors_are_all_listed);

async fn a_body_that_is_not_json_is_400(app: TestApp) {
    let path = TestApp::customers_path(app.workspace);
    let token = app.token_all(app.workspace);
    for raw in [
        "{not json",
        "",
        "[1, 2]",
        "null",
        "42",
        "{\"type\": \"COMPANY\",}",
        "{} {}",
    ] {
        let request = app
            .client
            .post(app.url(&path))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(raw);
        let response = app.execute(request).await;
        assert_eq!(response.status, 400, "{raw:?}: {}", response.text);
        response.assert_problem(400);
    }
    // Neither for an update.
    let id = app.create(&b2b_example()).await["id"].as_str().unwrap().to_owned();
    let request = app
        .client
        .put(app.url(&format!("{path}/{id}")))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"rating\": ");
    app.execute(request).await.assert_problem(400);
}
both_backends!(a_body_that_is_not_json_is_400);

// ---------------------------------------------------------------------------------------------
// Query parameters and path
// ---------------------------------------------------------------------------------------------

async fn bad_query(app: &TestApp, name: &str, value: &str) {
    let response = app.list(&[(name, value)]).await;
    let response = response.assert_invalid(name);
    assert_eq!(
        response.error_fields(),
        vec![name.to_owned()],
        "{name}={value}: {}",
        response.text
    );
}

async fn query_status_must_be_known(app: TestApp) {
    bad_query(&app, "status", "NOPE").await;
    bad_query(&app, "type", "PARTNER").await;
}
both_backends!(query_status_must_be_known);

async fn query_sort_by_must_be_known(app: TestApp) {
    bad_query(&app, "sortBy", "foo").await;
    bad_query(&app, "sortBy", "created_at").await;
}
both_backends!(query_sort_by_must_be_known);

async fn query_sort_order_must_be_asc_or_desc(app: TestApp) {
    bad_query(&app, "sortOrder", "up").await;
}
both_backends!(query_sort_order_must_be_asc_or_desc);

async fn query_page_starts_at_1(app: TestApp) {
    bad_query(&app, "page", "0").await;
    bad_query(&app, "page", "-1").await;
    bad_query(&app, "page", "x").await;
}
both_backends!(query_page_starts_at_1);

async fn query_limit_is_1_to_100(app: TestApp) {
    bad_query(&app, "limit", "101").await;
    bad_query(&app, "limit", "0").await;
    bad_query(&app, "limit", "abc").await;
}
both_backends!(query_limit_is_1_to_100);

async fn query_purchases_are_numbers(app: TestApp) {
    bad_query(&app, "minPurchases", "abc").await;
    bad_query(&app, "maxPurchases", "abc").await;
    bad_query(&app, "minPurchases", "-1").await;
    let response = app
        .list(&[("minPurchases", "10"), ("maxPurchases", "5")])
        .await
        .assert_invalid("minPurchases");
    assert_eq!(response.error_fields(), vec!["minPurchases"]);
}
both_backends!(query_purchases_are_numbers);

async fn query_dates_must_parse(app: TestApp) {
    bad_query(&app, "createdFrom", "yesterday").await;
    bad_query(&app, "createdTo", "2026-13-01").await;
    bad_query(&app, "createdFrom", "31.01.2026").await;
    let response = app
        .list(&[("createdFrom", "2026-02-01"), ("createdTo", "2026-01-01")])
        .await
        .assert_invalid("createdFrom");
    assert_eq!(response.error_fields(), vec!["createdFrom"]);
}
both_backends!(query_dates_must_parse);

async fn query_search_is_at_most_200_characters(app: TestApp) {
    bad_query(&app, "search", &"я".repeat(201)).await;
    app.list(&[("search", &"я".repeat(200))]).await.assert_status(200);
}
both_backends!(query_search_is_at_most_200_characters);

async fn query_assigned_to_must_be_a_uuid(app: TestApp) {
    bad_query(&app, "assignedTo", "not-uuid").await;
}
both_backends!(query_assigned_to_must_be_a_uuid);

async fn query_is_active_must_be_a_boolean(app: TestApp) {
    bad_query(&app, "isActive", "maybe").await;
}
both_backends!(query_is_active_must_be_a_boolean);

async fn several_bad_parameters_are_reported(app: TestApp) {
    let response = app
        .list(&[("page", "1"), ("createdFrom", "yesterday"), ("createdTo", "tomorrow")])
        .await
        .assert_invalid("createdFrom");
    let mut fields = response.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["createdFrom", "createdTo"]);
}
both_backends!(several_bad_parameters_are_reported);

async fn a_customer_id_that_is_not_a_uuid_is_400(app: TestApp) {
    let token = app.token_all(app.workspace);
    for response in [
        app.get_as(&token, app.workspace, "not-a-uuid").await,
        app.put_as(&token, app.workspace, "123", &json!({ "rating": 2 })).await,
        app.delete_as(&token, app.workspace, "zzz").await,
    ] {
        response.assert_invalid("id");
    }
    // A workspace id that is not a UUID names the workspace parameter.
    let response = app
        .send(Method::GET, "/api/v1/workspaces/abc/customers", Some(&token), None)
        .await
        .assert_invalid("workspaceId");
    assert_eq!(response.error_fields(), vec!["workspaceId"]);
}
both_backends!(a_customer_id_that_is_not_a_uuid_is_400);

// ---------------------------------------------------------------------------------------------
// Never a 500
// ---------------------------------------------------------------------------------------------

async fn odd_input_is_never_a_server_error(app: TestApp) {
    let id = app.create(&b2b_example()).await["id"].as_str().unwrap().to_owned();
    let bodies = [
        json!({}),
        json!({ "type": null, "name": null, "email": null }),
        json!({ "type": "COMPANY", "name": 42, "email": ["a@b.kz"] }),
        with(b2b_example(), "contacts", json!({ "firstName": "x" })),
        with(b2b_example(), "contacts", json!([null])),
        with(b2b_example(), "contacts", json!([{}])),
        with(b2b_example(), "addresses", json!([{ "type": "billing" }])),
        with(
            b2b_example(),
            "addresses",
            json!([with(
                address(),
                "coordinates",
                json!({ "latitude": 91, "longitude": 0 })
            )]),
        ),
        with(
            b2b_example(),
            "addresses",
            json!([with(address(), "coordinates", json!({ "latitude": "north" }))]),
        ),
        with(
            b2b_example(),
            "contacts",
            json!([with(contact(), "socialMedia", json!({ "telegram": "x".repeat(201) }))]),
        ),
        with(
            b2b_example(),
            "contacts",
            json!([with(contact(), "firstName", json!("x".repeat(101)))]),
        ),
        with(b2b_example(), "contacts", json!(vec![contact(); 51])),
        with(b2b_example(), "addresses", json!(vec![address(); 51])),
        with(b2b_example(), "creditLimit", json!(1e308)),
        with(b2b_example(), "creditLimit", json!("NaN")),
        with(b2b_example(), "creditLimit", json!("1e30")),
        with(
            b2b_example(),
            "creditLimit",
            json!(123456789012345678901234567890_u128 as f64),
        ),
        with(b2b_example(), "assignedTo", json!("nope")),
        with(b2b_example(), "assignedTo", json!(12)),
        with(b2b_example(), "iin", json!(900515300008_u64)),
        with(b2b_example(), "bin", json!("９７１２４０００１３１５")),
        with(b2b_example(), "email", json!("ü@example.kz")),
        with(b2b_example(), "email", json!(format!("{}@example.kz", "a".repeat(250)))),
        with(b2b_example(), "name", json!("\u{FFFF}𝔘𝔫𝔦\u{202E}")),
        with(b2b_example(), "industry", json!("x".repeat(101))),
        with(b2b_example(), "leadSource", json!("x".repeat(101))),
        with(b2b_example(), "companyName", json!("x".repeat(201))),
        with(b2b_example(), "tags", json!([null])),
        with(b2b_example(), "tags", json!(["   "])),
        with(b2b_example(), "unknownField", json!("ignored or refused")),
    ];
    for body in &bodies {
        let response = app.post_customer(body).await;
        assert!(
            (200..500).contains(&response.status),
            "POST {body} gave {}: {}",
            response.status,
            response.text
        );
        if response.status >= 400 {
            let status = response.status;
            response.assert_problem(status);
        }
    }
    for body in &bodies {
        let response = app.put(&id, body).await;
        assert!(
            (200..500).contains(&response.status),
            "PUT {body} gave {}: {}",
            response.status,
            response.text
        );
    }
    let queries: [&[(&str, &str)]; 10] = [
        &[("search", "'; DROP TABLE customers; --")],
        &[("search", &"x".repeat(201))],
        &[("search", "\\")],
        &[("minPurchases", "1e400")],
        &[("minPurchases", "99999999999999999999999999999")],
        &[("page", "99999999999999999999")],
        &[("page", "4294967295"), ("limit", "100")],
        &[("createdFrom", "9999-12-31T23:59:59Z")],
        &[("createdFrom", "0001-01-01")],
        &[("tags", ","), ("industry", ""), ("city", " ")],
    ];
    for query in queries {
        let response = app.list(query).await;
        assert!(
            (200..500).contains(&response.status),
            "GET ?{query:?} gave {}: {}",
            response.status,
            response.text
        );
        if response.status >= 400 {
            let status = response.status;
            response.assert_problem(status);
        }
    }
    let response = app
        .execute(
            app.client
                .post(app.url(&TestApp::customers_path(app.workspace)))
                .bearer_auth(app.token_all(app.workspace))
                .header("content-type", "text/plain")
                .body(b2b_example().to_string()),
        )
        .await;
    assert!(
        (400..500).contains(&response.status),
        "text/plain body: {} {}",
        response.status,
        response.text
    );
}
both_backends!(odd_input_is_never_a_server_error);

async fn nul_characters_are_not_a_server_error(app: TestApp) {
    let nul = "ТОО \u{0000}Альфа";
    let id = app.create(&company("ТОО Ноль", "zero@example.kz")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut failures = Vec::new();
    for (field, body) in [
        ("name", with(company("x", "nul1@example.kz"), "name", json!(nul))),
        (
            "industry",
            with(company("ТОО Ноль", "nul2@example.kz"), "industry", json!(nul)),
        ),
        (
            "customFields.k",
            with(
                company("ТОО Ноль", "nul3@example.kz"),
                "customFields",
                json!({ "k": nul }),
            ),
        ),
        (
            "customFields",
            with(
                company("ТОО Ноль", "nul4@example.kz"),
                "customFields",
                json!({ nul: 1 }),
            ),
        ),
        (
            "tags[0]",
            with(company("ТОО Ноль", "nul5@example.kz"), "tags", json!([nul])),
        ),
        (
            "contacts[0].notes",
            with(
                company("ТОО Ноль", "nul6@example.kz"),
                "contacts",
                json!([with(contact(), "notes", json!(nul))]),
            ),
        ),
    ] {
        let response = app.post_customer(&body).await;
        if response.status >= 500 || (response.status == 400 && !response.error_fields().contains(&field.to_owned())) {
            failures.push(format!("POST {field}: {} {}", response.status, response.text));
        }
        let response = app.put(&id, &body).await;
        if response.status >= 500 {
            failures.push(format!("PUT {field}: {} {}", response.status, response.text));
        }
    }
    for (name, value) in [
        ("search", nul),
        ("industry", nul),
        ("city", nul),
        ("tags", nul),
        ("leadSource", nul),
    ] {
        let response = app.list(&[(name, value)]).await;
        if response.status >= 500 {
            failures.push(format!("GET ?{name}=NUL: {} {}", response.status, response.text));
        }
    }
    assert!(
        failures.is_empty(),
        "NUL characters gave server errors:\n{}",
        failures.join("\n")
    );
}
both_backends!(nul_characters_are_not_a_server_error);
