//! Create, read, update, delete; money on the wire; 404, 409 and 413.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::helpers::{
    ALL_PERMISSIONS, ALPHA_BIN, TestApp, b2b_example, company, individual, valid_bin, valid_iin, with,
};

fn uuid(value: &Value) -> Uuid {
    Uuid::parse_str(value.as_str().unwrap_or_else(|| panic!("{value} is not a string"))).expect("a UUID")
}

fn timestamp(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("a string"), &Rfc3339).expect("an RFC 3339 timestamp")
}

/// Asserts that no key anywhere in `value` is snake_case.
fn assert_camel_case(value: &Value, path: &str) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                assert!(!key.contains('_'), "{path}.{key} is not camelCase");
                // customFields keep the client's keys.
                if key != "customFields" {
                    assert_camel_case(inner, &format!("{path}.{key}"));
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| assert_camel_case(item, &format!("{path}[]"))),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Create and read
// ---------------------------------------------------------------------------------------------

async fn creates_the_b2b_example(app: TestApp) {
    let before = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let response = app.post_customer(&b2b_example()).await.assert_status(201);
    let body = response.body.clone();
    assert!(
        response
            .content_type
            .as_deref()
            .unwrap_or_default()
            .starts_with("application/json"),
        "{:?}",
        response.content_type
    );
    let id = response.id();
    assert_eq!(
        response.location.as_deref(),
        Some(format!("/api/v1/workspaces/{}/customers/{id}", app.workspace).as_str()),
        "Location points at the new customer"
    );
    assert_camel_case(&body, "");

    let created_at = body["createdAt"].clone();
    let at = timestamp(&created_at);
    assert!(
        at >= before && at <= OffsetDateTime::now_utc() + time::Duration::seconds(1),
        "{at}"
    );
    assert_eq!(uuid(&body["id"]).get_version_num(), 7, "ids are UUID v7");

    let contact_id = body["contacts"][0]["id"].clone();
    let billing_id = body["addresses"][0]["id"].clone();
    let shipping_id = body["addresses"][1]["id"].clone();
    for child in [&contact_id, &billing_id, &shipping_id] {
        uuid(child);
    }
    assert_ne!(billing_id, shipping_id);

    let expected = json!({
        "id": id,
        "organizationId": app.org,
        "workspaceId": app.workspace,
        "type": "COMPANY",
        "status": "PROSPECT",
        "name": "ТОО Альфа",
        "email": "info@alpha.kz",
        "phone": "+77012345678",
        "iin": null,
        "bin": ALPHA_BIN,
        "companyName": "ТОО Альфа",
        "companySize": "51-200",
        "industry": "Manufacturing",
        "creditLimit": "5000000.00",
        "currentBalance": "0.00",
        "customFields": { "preferredDeliveryTime": "09:00-18:00", "taxExempt": false },
        "tags": ["manufacturing", "premium", "almaty"],
        "leadSource": null,
        "firstPurchaseDate": null,
        "lastPurchaseDate": null,
        "totalPurchases": "0.00",
        "purchaseCount": 0,
        "lifetimeValue": "0.00",
        "rating": 5,
        "assignedTo": null,
        "isActive": true,
        "contacts": [{
            "id": contact_id,
            "customerId": id,
            "firstName": "Асет",
            "lastName": "Жумабеков",
            "middleName": null,
            "position": "Директор",
            "department": null,
            "email": "aset@alpha.kz",
            "phone": "+77011111111",
            "mobilePhone": null,
            "isPrimary": true,
            "isDecisionMaker": true,
            "socialMedia": null,
            "notes": null,
            "createdAt": created_at,
            "updatedAt": created_at
        }],
        "addresses": [
            {
                "id": billing_id,
                "customerId": id,
                "type": "billing",
                "street": "ул. Абая, 150",
                "building": null,
                "apartment": null,
                "city": "Алматы",
                "region": null,
                "postalCode": "050000",
                "country": "Kazakhstan",
                "isPrimary": true,
                "contactName": null,
                "contactPhone": null,
                "deliveryInstructions": null,
                "coordinates": null,
                "createdAt": created_at,
                "updatedAt": created_at
            },
            {
                "id": shipping_id,
                "customerId": id,
                "type": "shipping",
                "street": "ул. Розыбакиева, 247",
                "building": null,
                "apartment": null,
                "city": "Алматы",
                "region": null,
                "postalCode": "050060",
                "country": "Kazakhstan",
                "isPrimary": false,
                "contactName": null,
                "contactPhone": null,
                "deliveryInstructions": null,
                "coordinates": null,
                "createdAt": created_at,
                "updatedAt": created_at
            }
        ],
        "convertedAt": null,
        "version": 1,
        "createdAt": created_at,
        "updatedAt": created_at,
        "createdBy": app.user,
        "updatedBy": app.user
    });
    assert_eq!(body, expected);

    // GET by the Location equals the POST body.
    let location = response.location.expect("Location");
    let fetched = app
        .send(
            reqwest::Method::GET,
            &location,
            Some(&app.token_all(app.workspace)),
            None,
        )
        .await
        .assert_status(200);
    assert_eq!(fetched.body, body, "GET returns what POST returned");
    // And again (served from the cache this time) the same.
    assert_eq!(app.get(&id).await.assert_status(200).body, body);
}
both_backends!(creates_the_b2b_example);

async fn optional_fields_are_normalized(app: TestApp) {
    let body = json!({
        "type": "INDIVIDUAL",
        "name": "  Иван Петров  ",
        "email": "  Ivan.Petrov@Example.COM ",
        "phone": "8 (701) 234-56-79",
        "iin": valid_iin(1),
        "industry": "   ",
        "tags": [" vip ", "VIP", "retail"],
        "assignedTo": Uuid::nil(),
        "contacts": [{
            "firstName": "Иван", "lastName": "Петров", "email": "IVAN@EXAMPLE.COM", "phone": "7012345679",
            "mobilePhone": "+7 777 123 45 67",
            "socialMedia": { "telegram": "@ivan" }
        }],
        "addresses": [{
            "type": "office", "street": "пр. Кабанбай батыра, 1", "city": "Астана", "postalCode": "z05k7b0",
            "coordinates": { "latitude": 51.128, "longitude": 71.43 }
        }]
    });
    let created = app.create(&body).await;
    assert_eq!(created["name"], "Иван Петров");
    assert_eq!(created["email"], "ivan.petrov@example.com");
    assert_eq!(created["phone"], "+77012345679");
    assert_eq!(created["industry"], Value::Null, "a blank optional string is absent");
    assert_eq!(created["tags"], json!(["vip", "retail"]));
    assert_eq!(created["status"], "LEAD", "LEAD by default");
    assert_eq!(created["creditLimit"], "0.00");
    assert_eq!(created["customFields"], Value::Null);
    assert_eq!(created["assignedTo"], json!(Uuid::nil()));
    let contact = &created["contacts"][0];
    assert_eq!(contact["email"], "ivan@example.com");
    assert_eq!(contact["phone"], "+77012345679");
    assert_eq!(contact["mobilePhone"], "+77771234567");
    assert_eq!(contact["isPrimary"], false);
    assert_eq!(contact["isDecisionMaker"], false);
    assert_eq!(contact["socialMedia"]["telegram"], "@ivan");
    let address = &created["addresses"][0];
    assert_eq!(address["country"], "Kazakhstan", "Kazakhstan by default");
    assert_eq!(address["postalCode"], "Z05K7B0");
    assert_eq!(
        address["coordinates"],
        json!({ "latitude": 51.128, "longitude": 71.43 })
    );
    assert_eq!(
        app.get(created["id"].as_str().unwrap()).await.assert_status(200).body,
        created
    );
}
both_backends!(optional_fields_are_normalized);

// ---------------------------------------------------------------------------------------------
// Money
// ---------------------------------------------------------------------------------------------

async fn money_accepts_numbers_and_strings(app: TestApp) {
    for (i, (sent, shown)) in [
        (json!(5000000), "5000000.00"),
        (json!("5000000"), "5000000.00"),
        (json!(1234.5), "1234.50"),
        (json!("1234.56"), "1234.56"),
        (json!(0.1), "0.10"),
        (json!("0"), "0.00"),
        (json!(" 77.7 "), "77.70"),
    ]
    .into_iter()
    .enumerate()
    {
        let body = with(
            company("ТОО Деньги", &format!("money{i}@example.kz")),
            "creditLimit",
            sent.clone(),
        );
        let created = app.create(&body).await;
        assert_eq!(created["creditLimit"], shown, "creditLimit {sent}");
        let id = created["id"].as_str().unwrap();
        assert_eq!(
            app.get(id).await.assert_status(200).body["creditLimit"],
            shown,
            "stored {sent}"
        );
    }
}
both_backends!(money_accepts_numbers_and_strings);

async fn money_largest_amount_round_trips_exactly(app: TestApp) {
    let body = with(
        company("ТОО Максимум", "max@example.kz"),
        "creditLimit",
        json!("9999999999999999.99"),
    );
    let created = app.create(&body).await;
    assert_eq!(created["creditLimit"], "9999999999999999.99");
    let id = created["id"].as_str().unwrap().to_owned();
    // Read back from the database (bypassing the cache): the list.
    let page = app.list(&[]).await.assert_status(200).body;
    assert_eq!(page["items"][0]["creditLimit"], "9999999999999999.99");
    let updated = app
        .put(&id, &json!({ "currentBalance": "-9999999999999999.99" }))
        .await
        .assert_status(200)
        .body;
    assert_eq!(updated["currentBalance"], "-9999999999999999.99");
    let page = app.list(&[]).await.assert_status(200).body;
    assert_eq!(page["items"][0]["currentBalance"], "-9999999999999999.99");
    // One cent more does not fit.
    let too_big = with(
        company("ТОО Больше", "more@example.kz"),
        "creditLimit",
        json!("10000000000000000.00"),
    );
    app.post_customer(&too_big).await.assert_invalid("creditLimit");
}
both_backends!(money_largest_amount_round_trips_exactly);

async fn money_with_three_decimals_is_refused(app: TestApp) {
    for sent in [json!(1.005), json!("1.005"), json!("0.001")] {
        let body = with(company("ТОО Копейки", "cents@example.kz"), "creditLimit", sent.clone());
        let response = app.post_customer(&body).await.assert_invalid("creditLimit");
        assert_eq!(
            response.error_fields(),
            vec!["creditLimit"],
            "{sent}: {}",
            response.text
        );
    }
    // Trailing zeros are not extra precision.
    let body = with(company("ТОО Нули", "zeros@example.kz"), "creditLimit", json!("10.500"));
    assert_eq!(app.create(&body).await["creditLimit"], "10.50");
}
both_backends!(money_with_three_decimals_is_refused);

async fn money_negative_credit_limit_is_refused(app: TestApp) {
    for sent in [json!(-1), json!("-0.01"), json!(-5000000.5)] {
        let body = with(company("ТОО Минус", "minus@example.kz"), "creditLimit", sent.clone());
        app.post_customer(&body).await.assert_invalid("creditLimit");
    }
    for sent in [json!("abc"), json!(true), json!({}), json!("1e400")] {
        let body = with(company("ТОО Текст", "text@example.kz"), "creditLimit", sent.clone());
        app.post_customer(&body).await.assert_invalid("creditLimit");
    }
    assert_eq!(app.list(&[]).await.body["total"], 0, "nothing was created");
}
both_backends!(money_negative_credit_limit_is_refused);

// ---------------------------------------------------------------------------------------------
// Update
// ---------------------------------------------------------------------------------------------

async fn update_changes_fields_and_sets_updated_by(app: TestApp) {
    let created = app.create(&b2b_example()).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let editor = Uuid::now_v7();
    let token = app.token_for(editor, app.org, &[app.workspace], &ALL_PERMISSIONS);
    let change = json!({
        "name": "ТОО Альфа Групп",
        "phone": null,
        "rating": 10,
        "isActive": false,
        "currentBalance": "-1500.50",
        "creditLimit": 7500000.25,
        "status": "ACTIVE",
        "contacts": [{
            "firstName": "Мария",
            "lastName": "Ким",
            "email": "Maria@Alpha.kz",
            "phone": "8 701 222 33 44",
            "isPrimary": true
        }]
    });
    let updated = app
        .put_as(&token, app.workspace, &id, &change)
        .await
        .assert_status(200)
        .body;

    let mut expected = created.clone();
    expected["name"] = json!("ТОО Альфа Групп");
    expected["phone"] = Value::Null;
    expected["rating"] = json!(10);
    expected["isActive"] = json!(false);
    expected["currentBalance"] = json!("-1500.50");
    expected["creditLimit"] = json!("7500000.25");
    expected["status"] = json!("ACTIVE");
    expected["version"] = json!(2);
    expected["updatedBy"] = json!(editor);
    expected["updatedAt"] = updated["updatedAt"].clone();
    // PROSPECT → ACTIVE is a conversion, by whatever route.
    expected["convertedAt"] = updated["updatedAt"].clone();
    expected["contacts"] = updated["contacts"].clone();
    assert_eq!(updated, expected, "only the sent fields changed");
    assert_eq!(updated["createdBy"], json!(app.user), "createdBy is kept");
    assert!(timestamp(&updated["updatedAt"]) >= timestamp(&created["updatedAt"]));
    assert_eq!(
        updated["addresses"], created["addresses"],
        "absent addresses are kept as they were"
    );

    let contacts = updated["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 1, "contacts replace the set");
    assert_ne!(contacts[0]["id"], created["contacts"][0]["id"]);
    assert_eq!(contacts[0]["customerId"], json!(id));
    assert_eq!(contacts[0]["firstName"], "Мария");
    assert_eq!(contacts[0]["email"], "maria@alpha.kz");
    assert_eq!(contacts[0]["phone"], "+77012223344");
    assert_eq!(contacts[0]["isPrimary"], true);

    assert_eq!(
        app.get(&id).await.assert_status(200).body,
        updated,
        "GET shows the update"
    );

    // Rating bounds are inclusive; other fields stay as they are now.
    let low = app.put(&id, &json!({ "rating": 1 })).await.assert_status(200).body;
    assert_eq!(low["rating"], 1);
    assert_eq!(low["phone"], Value::Null);
    assert_eq!(low["name"], "ТОО Альфа Групп");
    assert_eq!(low["contacts"], updated["contacts"]);
    assert_eq!(low["version"], 3);
    assert_eq!(low["updatedBy"], json!(app.user));

    // null and empty collections clear; a manager is assigned.
    let manager = Uuid::now_v7();
    let cleared = app
        .put(
            &id,
            &json!({
                "industry": null, "customFields": null, "tags": [], "addresses": [], "contacts": [],
                "companySize": null, "assignedTo": manager, "leadSource": "referral", "phone": "7012345678"
            }),
        )
        .await
        .assert_status(200)
        .body;
    assert_eq!(cleared["industry"], Value::Null);
    assert_eq!(cleared["customFields"], Value::Null);
    assert_eq!(cleared["companySize"], Value::Null);
    assert_eq!(cleared["tags"], json!([]));
    assert_eq!(cleared["addresses"], json!([]));
    assert_eq!(cleared["contacts"], json!([]));
    assert_eq!(cleared["assignedTo"], json!(manager));
    assert_eq!(cleared["leadSource"], "referral");
    assert_eq!(cleared["phone"], "+77012345678");
    assert_eq!(cleared["bin"], ALPHA_BIN, "untouched");
    assert_eq!(app.get(&id).await.assert_status(200).body, cleared);

    // An empty change changes nothing but the bookkeeping.
    let same = app.put(&id, &json!({})).await.assert_status(200).body;
    for key in [
        "name",
        "email",
        "phone",
        "bin",
        "tags",
        "contacts",
        "addresses",
        "creditLimit",
        "rating",
    ] {
        assert_eq!(same[key], cleared[key], "{key}");
    }
}
both_backends!(update_changes_fields_and_sets_updated_by);

async fn update_keeps_the_bin_rule_across_fields(app: TestApp) {
    let created = app.create(&b2b_example()).await;
    let id = created["id"].as_str().unwrap();
    // A company with a BIN cannot become an individual while keeping it.
    let response = app
        .put(id, &json!({ "type": "INDIVIDUAL" }))
        .await
        .assert_invalid("type");
    assert_eq!(response.error_fields(), vec!["type"]);
    // Clearing the BIN in the same change is fine.
    let individual = app
        .put(id, &json!({ "type": "INDIVIDUAL", "bin": null, "iin": valid_iin(3) }))
        .await
        .assert_status(200)
        .body;
    assert_eq!(individual["type"], "INDIVIDUAL");
    assert_eq!(individual["bin"], Value::Null);
    assert_eq!(individual["iin"], json!(valid_iin(3)));
    // Now a BIN alone is refused on the individual.
    app.put(id, &json!({ "bin": valid_bin(2) })).await.assert_invalid("bin");
    assert_eq!(app.get(id).await.body["version"], 2, "refused changes are not written");
}
both_backends!(update_keeps_the_bin_rule_across_fields);

// ---------------------------------------------------------------------------------------------
// Delete
// ---------------------------------------------------------------------------------------------

async fn delete_removes_the_customer(app: TestApp) {
    let created = app.create(&b2b_example()).await;
    let id = created["id"].as_str().unwrap();
    let other = app.create(&individual("Иван Петров", "ivan@example.kz")).await;
    app.get(id).await.assert_status(200); // cached now

    let deleted = app.delete(id).await.assert_status(204);
    assert!(deleted.text.is_empty(), "204 has no body: {}", deleted.text);

    app.get(id).await.assert_problem(404);
    let page = app.list(&[]).await.assert_status(200).body;
    assert_eq!(crate::helpers::ids(&page["items"]), vec![other["id"].as_str().unwrap()]);
    assert_eq!(page["total"], 1);
    assert_eq!(app.list_ids(&[("search", ALPHA_BIN)]).await, Vec::<String>::new());
    app.delete(id).await.assert_problem(404);
    app.put(id, &json!({ "rating": 3 })).await.assert_problem(404);

    // The e-mail, BIN and children are free again.
    let again = app.create(&b2b_example()).await;
    assert_ne!(again["id"], created["id"]);
}
both_backends!(delete_removes_the_customer);

async fn missing_customer_is_404(app: TestApp) {
    app.create(&b2b_example()).await;
    let missing = Uuid::now_v7().to_string();
    for response in [
        app.get(&missing).await,
        app.put(&missing, &json!({ "rating": 3 })).await,
        app.delete(&missing).await,
    ] {
        let response = response.assert_problem(404);
        assert!(response.body["detail"].is_string(), "{}", response.text);
    }
}
both_backends!(missing_customer_is_404);

// ---------------------------------------------------------------------------------------------
// Conflicts
// ---------------------------------------------------------------------------------------------

async fn duplicate_email_is_409_naming_the_existing_customer(app: TestApp) {
    let first = app.create(&individual("Иван Петров", "ivan@example.kz")).await;
    let response = app
        .post_customer(&individual("Иван Другой", "  IVAN@Example.KZ "))
        .await
        .assert_problem(409);
    assert_eq!(response.body["field"], "email");
    assert_eq!(response.body["existingId"], first["id"]);
    assert_eq!(app.list(&[]).await.body["total"], 1);

    // Changing another customer's e-mail to the taken one is refused the same way.
    let second = app.create(&individual("Пётр Иванов", "petr@example.kz")).await;
    let response = app
        .put(second["id"].as_str().unwrap(), &json!({ "email": "Ivan@example.kz" }))
        .await
        .assert_problem(409);
    assert_eq!(response.body["field"], "email");
    assert_eq!(response.body["existingId"], first["id"]);
    assert_eq!(
        app.get(second["id"].as_str().unwrap()).await.body["email"],
        "petr@example.kz"
    );

    // Keeping one's own e-mail is not a conflict.
    app.put(
        first["id"].as_str().unwrap(),
        &json!({ "email": "IVAN@example.kz", "rating": 6 }),
    )
    .await
    .assert_status(200);
}
both_backends!(duplicate_email_is_409_naming_the_existing_customer);

async fn duplicate_iin_is_409(app: TestApp) {
    let iin = valid_iin(7);
    let first = app
        .create(&with(individual("Иван Петров", "a@example.kz"), "iin", json!(iin)))
        .await;
    let response = app
        .post_customer(&with(individual("Иван Петров", "b@example.kz"), "iin", json!(iin)))
        .await
        .assert_problem(409);
    assert_eq!(response.body["field"], "iin");
    assert_eq!(response.body["existingId"], first["id"]);
    // A sole proprietor (a COMPANY with an IIN) collides too: IINs are unique whatever the type.
    let response = app
        .post_customer(&with(company("ИП Петров", "c@example.kz"), "iin", json!(iin)))
        .await
        .assert_problem(409);
    assert_eq!(response.body["field"], "iin");
}
both_backends!(duplicate_iin_is_409);

async fn duplicate_bin_is_409(app: TestApp) {
    let first = app.create(&b2b_example()).await;
    let mut copy = b2b_example();
    copy["email"] = json!("other@alpha.kz");
    let response = app.post_customer(&copy).await.assert_problem(409);
    assert_eq!(response.body["field"], "bin");
    assert_eq!(response.body["existingId"], first["id"]);

    let second = app
        .create(&with(
            company("ТОО Бета", "beta@example.kz"),
            "bin",
            json!(valid_bin(4)),
        ))
        .await;
    let response = app
        .put(second["id"].as_str().unwrap(), &json!({ "bin": ALPHA_BIN }))
        .await
        .assert_problem(409);
    assert_eq!(response.body["field"], "bin");
}
both_backends!(duplicate_bin_is_409);

async fn email_is_reported_first_when_several_values_collide(app: TestApp) {
    // The spec's validateUniqueness checks e-mail, then IIN, then BIN.
    let first = app.create(&with(b2b_example(), "iin", json!(valid_iin(5)))).await;
    let response = app
        .post_customer(&with(b2b_example(), "iin", json!(valid_iin(5))))
        .await
        .assert_problem(409);
    assert_eq!(response.body["field"], "email", "{}", response.text);
    assert_eq!(response.body["existingId"], first["id"]);
    let mut copy = with(b2b_example(), "iin", json!(valid_iin(5)));
    copy["email"] = json!("other@alpha.kz");
    let response = app.post_customer(&copy).await.assert_problem(409);
    assert_eq!(response.body["field"], "iin", "{}", response.text);
}
both_backends!(email_is_reported_first_when_several_values_collide);

async fn same_email_in_another_organization_is_allowed(app: TestApp) {
    let first = app.create(&b2b_example()).await;
    let other_org = Uuid::now_v7();
    let token = app.token(other_org, &[app.workspace], &ALL_PERMISSIONS);
    let second = app
        .post_customer_as(&token, app.workspace, &b2b_example())
        .await
        .assert_status(201)
        .body;
    assert_ne!(second["id"], first["id"]);
    assert_eq!(second["organizationId"], json!(other_org));
    assert_eq!(second["email"], first["email"]);
    assert_eq!(second["bin"], first["bin"], "BINs are unique per organization as well");
}
both_backends!(same_email_in_another_organization_is_allowed);

async fn same_email_in_another_workspace_of_the_organization_conflicts(app: TestApp) {
    app.create(&b2b_example()).await;
    let other_ws = Uuid::now_v7();
    let mut copy = b2b_example();
    copy["bin"] = json!(valid_bin(9));
    let response = app
        .post_customer_as(&app.token_all(other_ws), other_ws, &copy)
        .await
        .assert_problem(409);
    assert_eq!(response.body["field"], "email");
    assert!(
        response.body.get("existingId").is_none_or(Value::is_null),
        "the id of another workspace's customer is not disclosed: {}",
        response.text
    );
}
both_backends!(same_email_in_another_workspace_of_the_organization_conflicts);

// ---------------------------------------------------------------------------------------------
// Body size
// ---------------------------------------------------------------------------------------------

async fn body_over_one_mebibyte_is_413(app: TestApp) {
    let filler = "x".repeat(1024 * 1024);
    let body = format!(r#"{{"type":"COMPANY","name":"ТОО Большой","email":"big@example.kz","industry":"{filler}"}}"#);
    let request = app
        .client
        .post(app.url(&TestApp::customers_path(app.workspace)))
        .bearer_auth(app.token_all(app.workspace))
        .header("content-type", "application/json")
        .body(body);
    app.execute(request).await.assert_problem(413);

    // Just under the limit is read (and refused for its content, not its size).
    let filler = "x".repeat(1024 * 1024 - 200);
    let body = format!(r#"{{"type":"COMPANY","name":"ТОО Большой","email":"big@example.kz","industry":"{filler}"}}"#);
    let request = app
        .client
        .post(app.url(&TestApp::customers_path(app.workspace)))
        .bearer_auth(app.token_all(app.workspace))
        .header("content-type", "application/json")
        .body(body);
    app.execute(request).await.assert_invalid("industry");
    assert_eq!(app.list(&[]).await.body["total"], 0);
}
both_backends!(body_over_one_mebibyte_is_413);
