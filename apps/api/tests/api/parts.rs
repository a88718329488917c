//! Contacts, addresses and notes: `/customers/{customerId}/contacts|addresses|notes`.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ALL_PERMISSIONS, TestApp, TestResponse, b2b_example, company, ids};

const VIEW: &[&str] = &["customers:view"];
const VIEW_UPDATE: &[&str] = &["customers:view", "customers:update"];

fn contact(first_name: &str, email: &str, is_primary: bool) -> Value {
    json!({
        "firstName": first_name,
        "lastName": "Сериков",
        "email": email,
        "phone": "+77012223344",
        "isPrimary": is_primary
    })
}

fn address(address_type: &str, street: &str, is_primary: bool) -> Value {
    json!({
        "type": address_type,
        "street": street,
        "city": "Астана",
        "postalCode": "010000",
        "isPrimary": is_primary
    })
}

/// The `isPrimary` flags of a list of parts, by id.
fn primaries(items: &Value) -> Vec<(String, bool)> {
    items
        .as_array()
        .expect("an array")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id").to_owned(),
                p["isPrimary"].as_bool().expect("flag"),
            )
        })
        .collect()
}

/// `body` without the keys a server assigns.
fn without_meta(body: &Value) -> Value {
    let mut body = body.clone();
    for key in ["id", "customerId", "createdAt", "updatedAt"] {
        body.as_object_mut().expect("an object").remove(key);
    }
    body
}

impl TestApp {
    async fn part(&self, method: Method, customer: &str, tail: &str, body: Option<&Value>) -> TestResponse {
        self.call(method, &format!("/{customer}/{tail}"), body).await
    }
}

// ---------------------------------------------------------------------------------------------
// Contacts
// ---------------------------------------------------------------------------------------------

async fn contacts_are_added_read_changed_and_removed(app: TestApp) {
    let customer = app.create(&b2b_example()).await;
    let id = customer["id"].as_str().unwrap();
    let listed = app
        .part(Method::GET, id, "contacts", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(
        listed, customer["contacts"],
        "the list holds the contacts of the customer"
    );

    let full = json!({
        "firstName": " Айгерим ",
        "lastName": "Касымова",
        "middleName": "Болатовна",
        "position": "Бухгалтер",
        "department": "Финансы",
        "email": "Aigerim@Alpha.KZ",
        "phone": "8 701 234 56 78",
        "mobilePhone": "7771234567",
        "isPrimary": false,
        "isDecisionMaker": true,
        "socialMedia": { "telegram": "@aigerim" },
        "notes": "звонить после обеда"
    });
    let created = app
        .part(Method::POST, id, "contacts", Some(&full))
        .await
        .assert_status(201)
        .body;
    let contact_id = created["id"].as_str().expect("contact id").to_owned();
    Uuid::parse_str(&contact_id).expect("a UUID");
    assert_eq!(created["customerId"], customer["id"]);
    assert_eq!(created["createdAt"], created["updatedAt"]);
    assert_eq!(
        without_meta(&created),
        json!({
            "firstName": "Айгерим",
            "lastName": "Касымова",
            "middleName": "Болатовна",
            "position": "Бухгалтер",
            "department": "Финансы",
            "email": "aigerim@alpha.kz",
            "phone": "+77012345678",
            "mobilePhone": "+77771234567",
            "isPrimary": false,
            "isDecisionMaker": true,
            "socialMedia": { "linkedin": null, "telegram": "@aigerim", "whatsapp": null },
            "notes": "звонить после обеда"
        })
    );
    let path = format!("contacts/{contact_id}");
    assert_eq!(
        app.part(Method::GET, id, &path, None).await.assert_status(200).body,
        created
    );
    let listed = app.part(Method::GET, id, "contacts", None).await.body;
    assert_eq!(
        ids(&listed),
        vec![ids(&customer["contacts"])[0].clone(), contact_id.clone()]
    );
    assert_eq!(
        app.get(id).await.body["version"],
        2,
        "a contact change is a customer write"
    );

    // PUT changes what it names (UpdateContactDto): absent fields stay.
    let changed = app
        .part(
            Method::PUT,
            id,
            &path,
            Some(&json!({ "lastName": " Нурланова ", "email": "A.N@alpha.kz", "phone": "+7 701 999 88 77" })),
        )
        .await
        .assert_status(200)
        .body;
    let mut expected = without_meta(&created);
    expected["lastName"] = json!("Нурланова");
    expected["email"] = json!("a.n@alpha.kz");
    expected["phone"] = json!("+77019998877");
    assert_eq!(without_meta(&changed), expected);
    assert_eq!(changed["id"], created["id"], "the id stays");
    assert_eq!(changed["createdAt"], created["createdAt"], "the creation time stays");
    assert_eq!(app.part(Method::GET, id, &path, None).await.body, changed);

    // `null` clears an optional field.
    let cleared = app
        .part(
            Method::PUT,
            id,
            &path,
            Some(&json!({
                "middleName": null, "position": null, "department": null, "mobilePhone": null,
                "socialMedia": null, "notes": null, "isDecisionMaker": false
            })),
        )
        .await
        .assert_status(200)
        .body;
    assert_eq!(
        without_meta(&cleared),
        json!({
            "firstName": "Айгерим",
            "lastName": "Нурланова",
            "middleName": null,
            "position": null,
            "department": null,
            "email": "a.n@alpha.kz",
            "phone": "+77019998877",
            "mobilePhone": null,
            "isPrimary": false,
            "isDecisionMaker": false,
            "socialMedia": null,
            "notes": null
        })
    );
    assert_eq!(app.part(Method::GET, id, &path, None).await.body, cleared);
    assert_eq!(app.get(id).await.body["contacts"][1], cleared);
    // Required fields cannot be cleared.
    for field in ["firstName", "lastName", "email", "phone", "isPrimary"] {
        app.part(Method::PUT, id, &path, Some(&json!({ field: null })))
            .await
            .assert_invalid(field);
    }
    assert_eq!(app.part(Method::GET, id, &path, None).await.body, cleared);

    app.part(Method::DELETE, id, &path, None).await.assert_status(204);
    app.part(Method::GET, id, &path, None).await.assert_problem(404);
    app.part(Method::DELETE, id, &path, None).await.assert_problem(404);
    app.part(Method::PUT, id, &path, Some(&json!({ "notes": "x" })))
        .await
        .assert_problem(404);
    let listed = app.part(Method::GET, id, "contacts", None).await.body;
    assert_eq!(listed, customer["contacts"], "only the original contact is left");
}
both_backends!(contacts_are_added_read_changed_and_removed);

async fn a_primary_contact_unmarks_the_previous_one(app: TestApp) {
    let customer = app.create(&b2b_example()).await;
    let id = customer["id"].as_str().unwrap();
    let first = customer["contacts"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(customer["contacts"][0]["isPrimary"], true);

    let second = app
        .part(
            Method::POST,
            id,
            "contacts",
            Some(&contact("Берик", "berik@alpha.kz", true)),
        )
        .await
        .assert_status(201)
        .body;
    let second = second["id"].as_str().unwrap().to_owned();
    let listed = app.part(Method::GET, id, "contacts", None).await.body;
    assert_eq!(primaries(&listed), vec![(first.clone(), false), (second.clone(), true)]);

    // A non-primary addition changes nothing.
    let third = app
        .part(
            Method::POST,
            id,
            "contacts",
            Some(&contact("Дана", "dana@alpha.kz", false)),
        )
        .await
        .assert_status(201)
        .body;
    let third = third["id"].as_str().unwrap().to_owned();

    // Replacing the first one as primary un-marks the second.
    let first_body = contact("Асет", "aset@alpha.kz", true);
    let replaced = app
        .part(Method::PUT, id, &format!("contacts/{first}"), Some(&first_body))
        .await
        .assert_status(200)
        .body;
    assert_eq!(replaced["isPrimary"], true);
    let listed = app.part(Method::GET, id, "contacts", None).await.body;
    assert_eq!(
        primaries(&listed),
        vec![(first.clone(), true), (second.clone(), false), (third.clone(), false)]
    );
    let fetched = app.get(id).await.assert_status(200).body;
    assert_eq!(primaries(&fetched["contacts"]), primaries(&listed));

    // Un-marking the primary leaves none.
    app.part(
        Method::PUT,
        id,
        &format!("contacts/{first}"),
        Some(&contact("Асет", "aset@alpha.kz", false)),
    )
    .await
    .assert_status(200);
    let listed = app.part(Method::GET, id, "contacts", None).await.body;
    assert_eq!(
        primaries(&listed),
        vec![(first, false), (second, false), (third, false)]
    );
}
both_backends!(a_primary_contact_unmarks_the_previous_one);

// ---------------------------------------------------------------------------------------------
// Addresses
// ---------------------------------------------------------------------------------------------

async fn addresses_are_added_read_changed_and_removed(app: TestApp) {
    let customer = app.create(&b2b_example()).await;
    let id = customer["id"].as_str().unwrap();
    let listed = app
        .part(Method::GET, id, "addresses", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(listed, customer["addresses"]);

    let full = json!({
        "type": "warehouse",
        "street": " ул. Складская, 5 ",
        "building": "2",
        "apartment": "склад 3",
        "city": "Шымкент",
        "region": "Туркестанская область",
        "postalCode": "a05f4k5",
        "isPrimary": true,
        "contactName": "Ерлан",
        "contactPhone": "8 701 234 56 78",
        "deliveryInstructions": "въезд со двора",
        "coordinates": { "latitude": 42.3, "longitude": 69.6 }
    });
    let created = app
        .part(Method::POST, id, "addresses", Some(&full))
        .await
        .assert_status(201)
        .body;
    let address_id = created["id"].as_str().expect("address id").to_owned();
    assert_eq!(created["customerId"], customer["id"]);
    assert_eq!(
        without_meta(&created),
        json!({
            "type": "warehouse",
            "street": "ул. Складская, 5",
            "building": "2",
            "apartment": "склад 3",
            "city": "Шымкент",
            "region": "Туркестанская область",
            "postalCode": "A05F4K5",
            "country": "Kazakhstan",
            "isPrimary": true,
            "contactName": "Ерлан",
            "contactPhone": "+77012345678",
            "deliveryInstructions": "въезд со двора",
            "coordinates": { "latitude": 42.3, "longitude": 69.6 }
        })
    );
    let path = format!("addresses/{address_id}");
    assert_eq!(
        app.part(Method::GET, id, &path, None).await.assert_status(200).body,
        created
    );

    // PUT changes what it names (UpdateAddressDto): absent fields stay.
    let changed = app
        .part(
            Method::PUT,
            id,
            &path,
            Some(&json!({
                "type": "office", "street": "Tverskaya 1", "city": "Moscow", "postalCode": "125009", "country": "Russia"
            })),
        )
        .await
        .assert_status(200)
        .body;
    let mut expected = without_meta(&created);
    for (key, value) in [
        ("type", "office"),
        ("street", "Tverskaya 1"),
        ("city", "Moscow"),
        ("postalCode", "125009"),
        ("country", "Russia"),
    ] {
        expected[key] = json!(value);
    }
    assert_eq!(without_meta(&changed), expected);
    assert_eq!(changed["id"], created["id"]);
    assert_eq!(changed["createdAt"], created["createdAt"]);

    // `null` clears an optional field.
    let replaced = app
        .part(
            Method::PUT,
            id,
            &path,
            Some(&json!({
                "building": null, "apartment": null, "region": null, "contactName": null, "contactPhone": null,
                "deliveryInstructions": null, "coordinates": null, "isPrimary": false
            })),
        )
        .await
        .assert_status(200)
        .body;
    assert_eq!(
        without_meta(&replaced),
        json!({
            "type": "office",
            "street": "Tverskaya 1",
            "building": null,
            "apartment": null,
            "city": "Moscow",
            "region": null,
            "postalCode": "125009",
            "country": "Russia",
            "isPrimary": false,
            "contactName": null,
            "contactPhone": null,
            "deliveryInstructions": null,
            "coordinates": null
        })
    );
    for field in ["type", "street", "city", "postalCode", "country", "isPrimary"] {
        app.part(Method::PUT, id, &path, Some(&json!({ field: null })))
            .await
            .assert_invalid(field);
    }
    // Back to Kazakhstan, the postal code must be a Kazakh one again.
    app.part(
        Method::PUT,
        id,
        &path,
        Some(&json!({ "country": "Kazakhstan", "postalCode": "1250" })),
    )
    .await
    .assert_invalid("postalCode");
    assert_eq!(app.part(Method::GET, id, &path, None).await.body, replaced);

    app.part(Method::DELETE, id, &path, None).await.assert_status(204);
    app.part(Method::GET, id, &path, None).await.assert_problem(404);
    app.part(Method::DELETE, id, &path, None).await.assert_problem(404);
    assert_eq!(
        app.part(Method::GET, id, "addresses", None).await.body,
        customer["addresses"]
    );
    assert_eq!(app.get(id).await.body["addresses"], customer["addresses"]);
}
both_backends!(addresses_are_added_read_changed_and_removed);

async fn a_primary_address_unmarks_only_its_own_type(app: TestApp) {
    // The example: a primary billing address and a non-primary shipping one.
    let customer = app.create(&b2b_example()).await;
    let id = customer["id"].as_str().unwrap();
    let billing = customer["addresses"][0]["id"].as_str().unwrap().to_owned();
    let shipping = customer["addresses"][1]["id"].as_str().unwrap().to_owned();

    let new_shipping = app
        .part(
            Method::POST,
            id,
            "addresses",
            Some(&address("shipping", "ул. Новая, 1", true)),
        )
        .await
        .assert_status(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = app.part(Method::GET, id, "addresses", None).await.body;
    assert_eq!(
        primaries(&listed),
        vec![
            (billing.clone(), true),
            (shipping.clone(), false),
            (new_shipping.clone(), true)
        ],
        "the billing primary is untouched by a shipping primary"
    );

    let new_billing = app
        .part(
            Method::POST,
            id,
            "addresses",
            Some(&address("billing", "ул. Новая, 2", true)),
        )
        .await
        .assert_status(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = app.part(Method::GET, id, "addresses", None).await.body;
    assert_eq!(
        primaries(&listed),
        vec![
            (billing.clone(), false),
            (shipping.clone(), false),
            (new_shipping.clone(), true),
            (new_billing.clone(), true)
        ]
    );

    // Replacing the old shipping address as primary un-marks the new shipping one only.
    app.part(
        Method::PUT,
        id,
        &format!("addresses/{shipping}"),
        Some(&address("shipping", "ул. Розыбакиева, 247", true)),
    )
    .await
    .assert_status(200);
    let listed = app.part(Method::GET, id, "addresses", None).await.body;
    assert_eq!(
        primaries(&listed),
        vec![
            (billing.clone(), false),
            (shipping.clone(), true),
            (new_shipping.clone(), false),
            (new_billing.clone(), true)
        ]
    );
    // Changing an address's type to billing as primary un-marks the billing primary.
    app.part(
        Method::PUT,
        id,
        &format!("addresses/{new_shipping}"),
        Some(&address("billing", "ул. Новая, 1", true)),
    )
    .await
    .assert_status(200);
    let fetched = app.get(id).await.body;
    assert_eq!(
        primaries(&fetched["addresses"]),
        vec![
            (billing, false),
            (shipping, true),
            (new_shipping, true),
            (new_billing, false)
        ]
    );
}
both_backends!(a_primary_address_unmarks_only_its_own_type);

// ---------------------------------------------------------------------------------------------
// Validation, tenancy, permissions
// ---------------------------------------------------------------------------------------------

async fn invalid_parts_are_400_naming_the_field(app: TestApp) {
    let customer = app.create(&b2b_example()).await;
    let id = customer["id"].as_str().unwrap();
    let contact_id = customer["contacts"][0]["id"].as_str().unwrap();
    let address_id = customer["addresses"][0]["id"].as_str().unwrap();
    let good = contact("Асет", "aset@alpha.kz", true);
    let cases = [
        ("email", json!("not-an-email")),
        ("phone", json!("12")),
        ("mobilePhone", json!("abc")),
        ("firstName", json!("   ")),
        ("lastName", json!("x".repeat(101))),
        ("notes", json!("x".repeat(2001))),
    ];
    for (field, value) in cases {
        let mut body = good.clone();
        body[field] = value;
        let response = app.part(Method::POST, id, "contacts", Some(&body)).await;
        assert_eq!(response.error_fields(), vec![field.to_owned()], "{}", response.text);
        response.assert_invalid(field);
        app.part(Method::PUT, id, &format!("contacts/{contact_id}"), Some(&body))
            .await
            .assert_invalid(field);
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("email");
    app.part(Method::POST, id, "contacts", Some(&missing))
        .await
        .assert_invalid("email");

    let good = address("billing", "ул. Абая, 1", true);
    let cases = [
        ("postalCode", json!("12")),
        ("street", json!(" ")),
        ("city", json!("")),
        ("type", json!("home")),
        ("contactPhone", json!("123")),
    ];
    for (field, value) in cases {
        let mut body = good.clone();
        body[field] = value;
        app.part(Method::POST, id, "addresses", Some(&body))
            .await
            .assert_invalid(field);
        app.part(Method::PUT, id, &format!("addresses/{address_id}"), Some(&body))
            .await
            .assert_invalid(field);
    }
    let mut far = good.clone();
    far["coordinates"] = json!({ "latitude": 91, "longitude": 0 });
    let response = app
        .part(Method::POST, id, "addresses", Some(&far))
        .await
        .assert_problem(400);
    assert!(
        response.error_fields().iter().all(|f| f.starts_with("coordinates")),
        "{}",
        response.text
    );

    // Nothing was written.
    let after = app.get(id).await.body;
    assert_eq!(after["version"], 1);
    assert_eq!(after["contacts"], customer["contacts"]);
    assert_eq!(after["addresses"], customer["addresses"]);
}
both_backends!(invalid_parts_are_400_naming_the_field);

async fn parts_of_another_customer_workspace_or_organization_are_not_found(app: TestApp) {
    let owner = app.create(&b2b_example()).await;
    let owner_id = owner["id"].as_str().unwrap();
    let other = app.create(&company("ТОО Бета", "info@beta.kz")).await;
    let other_id = other["id"].as_str().unwrap();
    let contact_id = owner["contacts"][0]["id"].as_str().unwrap();
    let address_id = owner["addresses"][0]["id"].as_str().unwrap();
    let note_id = app
        .part(Method::POST, owner_id, "notes", Some(&json!({ "body": "заметка" })))
        .await
        .assert_status(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let contact_body = contact("Асет", "aset@alpha.kz", false);
    let address_body = address("billing", "ул. Абая, 1", false);
    let note_body = json!({ "body": "чужая" });

    // Through another customer of the same workspace.
    for (tail, body) in [
        (format!("contacts/{contact_id}"), &contact_body),
        (format!("addresses/{address_id}"), &address_body),
        (format!("notes/{note_id}"), &note_body),
    ] {
        if !tail.starts_with("notes") {
            app.part(Method::GET, other_id, &tail, None).await.assert_problem(404);
        }
        app.part(Method::PUT, other_id, &tail, Some(body))
            .await
            .assert_problem(404);
        app.part(Method::DELETE, other_id, &tail, None)
            .await
            .assert_problem(404);
    }

    // Through another workspace (the token grants both) or another organization.
    let second_ws = Uuid::now_v7();
    let both = app.token(app.org, &[app.workspace, second_ws], &ALL_PERMISSIONS);
    let stranger_org = app.token(Uuid::now_v7(), &[app.workspace], &ALL_PERMISSIONS);
    for (token, ws) in [(&both, second_ws), (&stranger_org, app.workspace)] {
        for (method, tail, body) in [
            (Method::GET, "contacts".to_owned(), None),
            (Method::POST, "contacts".to_owned(), Some(&contact_body)),
            (Method::GET, format!("contacts/{contact_id}"), None),
            (Method::PUT, format!("contacts/{contact_id}"), Some(&contact_body)),
            (Method::DELETE, format!("contacts/{contact_id}"), None),
            (Method::GET, "addresses".to_owned(), None),
            (Method::POST, "addresses".to_owned(), Some(&address_body)),
            (Method::GET, format!("addresses/{address_id}"), None),
            (Method::PUT, format!("addresses/{address_id}"), Some(&address_body)),
            (Method::DELETE, format!("addresses/{address_id}"), None),
            (Method::GET, "notes".to_owned(), None),
            (Method::POST, "notes".to_owned(), Some(&note_body)),
            (Method::PUT, format!("notes/{note_id}"), Some(&note_body)),
            (Method::DELETE, format!("notes/{note_id}"), None),
        ] {
            let response = app
                .call_as(token, ws, method.clone(), &format!("/{owner_id}/{tail}"), body)
                .await;
            assert_eq!(response.status, 404, "{method} {tail} in {ws}: {}", response.text);
            response.assert_problem(404);
        }
    }

    // Unknown customer and unknown parts.
    let unknown = Uuid::now_v7();
    app.part(Method::GET, &unknown.to_string(), "contacts", None)
        .await
        .assert_problem(404);
    app.part(Method::GET, &unknown.to_string(), "notes", None)
        .await
        .assert_problem(404);
    app.part(Method::POST, &unknown.to_string(), "notes", Some(&note_body))
        .await
        .assert_problem(404);
    app.part(Method::GET, owner_id, &format!("contacts/{unknown}"), None)
        .await
        .assert_problem(404);
    app.part(Method::GET, owner_id, &format!("addresses/{unknown}"), None)
        .await
        .assert_problem(404);
    app.part(Method::PUT, owner_id, &format!("notes/{unknown}"), Some(&note_body))
        .await
        .assert_problem(404);
    app.part(Method::DELETE, owner_id, &format!("notes/{unknown}"), None)
        .await
        .assert_problem(404);

    // Nothing changed.
    let after = app.get(owner_id).await.body;
    assert_eq!(after, owner);
    let notes = app.part(Method::GET, owner_id, "notes", None).await.body;
    assert_eq!(notes["total"], 1);
    assert_eq!(notes["items"][0]["body"], "заметка");
}
both_backends!(parts_of_another_customer_workspace_or_organization_are_not_found);

async fn reads_need_view_and_writes_need_update(app: TestApp) {
    let customer = app.create(&b2b_example()).await;
    let id = customer["id"].as_str().unwrap();
    let contact_id = customer["contacts"][0]["id"].as_str().unwrap();
    let address_id = customer["addresses"][0]["id"].as_str().unwrap();
    let ws = app.workspace;
    let view = app.token(app.org, &[ws], VIEW);
    let no_view = app.token(
        app.org,
        &[ws],
        &["customers:create", "customers:update", "customers:delete"],
    );
    let update_only = app.token(app.org, &[ws], &["customers:update"]);
    let contact_body = contact("Берик", "berik@alpha.kz", false);
    let address_body = address("office", "ул. Байтурсынова, 9", false);

    for tail in [
        "contacts".to_owned(),
        format!("contacts/{contact_id}"),
        "addresses".to_owned(),
        format!("addresses/{address_id}"),
        "notes".to_owned(),
    ] {
        let path = format!("/{id}/{tail}");
        app.call_as(&view, ws, Method::GET, &path, None)
            .await
            .assert_status(200);
        app.call_as(&no_view, ws, Method::GET, &path, None)
            .await
            .assert_problem(403);
    }
    for (method, tail, body) in [
        (Method::POST, "contacts".to_owned(), Some(&contact_body)),
        (Method::PUT, format!("contacts/{contact_id}"), Some(&contact_body)),
        (Method::DELETE, format!("contacts/{contact_id}"), None),
        (Method::POST, "addresses".to_owned(), Some(&address_body)),
        (Method::PUT, format!("addresses/{address_id}"), Some(&address_body)),
        (Method::DELETE, format!("addresses/{address_id}"), None),
    ] {
        let response = app
            .call_as(&view, ws, method.clone(), &format!("/{id}/{tail}"), body)
            .await;
        assert_eq!(response.status, 403, "{method} {tail}: {}", response.text);
        response.assert_problem(403);
    }
    assert_eq!(app.get(id).await.body, customer, "refused writes changed nothing");

    // `customers:update` alone is enough to write.
    let added = app
        .call_as(
            &update_only,
            ws,
            Method::POST,
            &format!("/{id}/contacts"),
            Some(&contact_body),
        )
        .await
        .assert_status(201)
        .body;
    app.call_as(
        &update_only,
        ws,
        Method::DELETE,
        &format!("/{id}/contacts/{}", added["id"].as_str().unwrap()),
        None,
    )
    .await
    .assert_status(204);
    app.call_as(
        &update_only,
        ws,
        Method::POST,
        &format!("/{id}/addresses"),
        Some(&address_body),
    )
    .await
    .assert_status(201);
}
both_backends!(reads_need_view_and_writes_need_update);

// ---------------------------------------------------------------------------------------------
// Notes
// ---------------------------------------------------------------------------------------------

async fn notes_are_listed_newest_first_and_paged(app: TestApp) {
    let customer = app.create(&company("ТОО Альфа", "info@alpha.kz")).await;
    let id = customer["id"].as_str().unwrap();
    let empty = app.part(Method::GET, id, "notes", None).await.assert_status(200).body;
    assert_eq!(
        empty,
        json!({ "items": [], "total": 0, "page": 1, "limit": 20, "pages": 0 })
    );

    let mut written = Vec::new();
    for i in 1..=5 {
        let note = app
            .part(
                Method::POST,
                id,
                "notes",
                Some(&json!({ "body": format!("  заметка {i}  ") })),
            )
            .await
            .assert_status(201)
            .body;
        assert_eq!(note["body"], format!("заметка {i}"), "the body is trimmed");
        assert_eq!(note["customerId"], customer["id"]);
        assert_eq!(note["authorId"], json!(app.user));
        assert_eq!(note["createdAt"], note["updatedAt"]);
        Uuid::parse_str(note["id"].as_str().unwrap()).expect("a UUID");
        written.push(note);
    }
    let newest_first: Vec<Value> = written.iter().rev().cloned().collect();

    let page = app.part(Method::GET, id, "notes", None).await.assert_status(200).body;
    assert_eq!(
        page,
        json!({ "items": newest_first, "total": 5, "page": 1, "limit": 20, "pages": 1 })
    );
    let page = app
        .part(Method::GET, id, "notes?page=2&limit=2", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(
        page,
        json!({ "items": newest_first[2..4], "total": 5, "page": 2, "limit": 2, "pages": 3 })
    );
    let page = app.part(Method::GET, id, "notes?page=3&limit=2", None).await.body;
    assert_eq!(page["items"], json!(newest_first[4..]));
    let page = app
        .part(Method::GET, id, "notes?page=9&limit=2", None)
        .await
        .assert_status(200)
        .body;
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["total"], 5);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("page=0", "page"),
        ("page=x", "page"),
    ] {
        app.part(Method::GET, id, &format!("notes?{query}"), None)
            .await
            .assert_invalid(field);
    }

    // Notes do not change the customer.
    assert_eq!(app.get(id).await.body["version"], 1);
}
both_backends!(notes_are_listed_newest_first_and_paged);

async fn a_viewer_may_write_notes_and_only_authors_or_updaters_change_them(app: TestApp) {
    let customer = app.create(&company("ТОО Альфа", "info@alpha.kz")).await;
    let id = customer["id"].as_str().unwrap();
    let ws = app.workspace;
    let (author, colleague, manager) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let author_token = app.token_for(author, app.org, &[ws], VIEW);
    let colleague_token = app.token_for(colleague, app.org, &[ws], VIEW);
    let manager_token = app.token_for(manager, app.org, &[ws], VIEW_UPDATE);
    let no_view = app.token_for(author, app.org, &[ws], &["customers:update"]);

    let note = app
        .call_as(
            &author_token,
            ws,
            Method::POST,
            &format!("/{id}/notes"),
            Some(&json!({ "body": "первая" })),
        )
        .await
        .assert_status(201)
        .body;
    assert_eq!(note["authorId"], json!(author));
    let path = format!("/{id}/notes/{}", note["id"].as_str().unwrap());

    // Another viewer may neither change nor delete it.
    app.call_as(
        &colleague_token,
        ws,
        Method::PUT,
        &path,
        Some(&json!({ "body": "чужая правка" })),
    )
    .await
    .assert_problem(403);
    app.call_as(&colleague_token, ws, Method::DELETE, &path, None)
        .await
        .assert_problem(403);
    // Without view nobody may touch notes, author or not.
    app.call_as(&no_view, ws, Method::PUT, &path, Some(&json!({ "body": "x" })))
        .await
        .assert_problem(403);
    app.call_as(
        &no_view,
        ws,
        Method::POST,
        &format!("/{id}/notes"),
        Some(&json!({ "body": "x" })),
    )
    .await
    .assert_problem(403);
    let listed = app.part(Method::GET, id, "notes", None).await.body;
    assert_eq!(listed["items"], json!([note]), "refused changes changed nothing");

    // The author may.
    let edited = app
        .call_as(
            &author_token,
            ws,
            Method::PUT,
            &path,
            Some(&json!({ "body": " правка автора " })),
        )
        .await
        .assert_status(200)
        .body;
    assert_eq!(edited["body"], "правка автора");
    assert_eq!(edited["id"], note["id"]);
    assert_eq!(edited["authorId"], json!(author), "the author stays");
    assert_eq!(edited["createdAt"], note["createdAt"]);
    assert!(
        edited["updatedAt"].as_str().unwrap() >= note["updatedAt"].as_str().unwrap(),
        "{edited}"
    );

    // A user with customers:update may change anyone's note; the author stays.
    let managed = app
        .call_as(
            &manager_token,
            ws,
            Method::PUT,
            &path,
            Some(&json!({ "body": "правка менеджера" })),
        )
        .await
        .assert_status(200)
        .body;
    assert_eq!(managed["authorId"], json!(author));
    let listed = app.part(Method::GET, id, "notes", None).await.body;
    assert_eq!(listed["items"], json!([managed]));

    app.call_as(&manager_token, ws, Method::DELETE, &path, None)
        .await
        .assert_status(204);
    app.call_as(&manager_token, ws, Method::DELETE, &path, None)
        .await
        .assert_problem(404);

    // And the author may delete their own.
    let second = app
        .call_as(
            &author_token,
            ws,
            Method::POST,
            &format!("/{id}/notes"),
            Some(&json!({ "body": "вторая" })),
        )
        .await
        .assert_status(201)
        .body;
    let second_path = format!("/{id}/notes/{}", second["id"].as_str().unwrap());
    app.call_as(&author_token, ws, Method::DELETE, &second_path, None)
        .await
        .assert_status(204);
    let listed = app.part(Method::GET, id, "notes", None).await.body;
    assert_eq!(listed["total"], 0);
}
both_backends!(a_viewer_may_write_notes_and_only_authors_or_updaters_change_them);

async fn note_bodies_hold_1_to_10000_characters(app: TestApp) {
    let customer = app.create(&company("ТОО Альфа", "info@alpha.kz")).await;
    let id = customer["id"].as_str().unwrap();
    for body in [
        json!(""),
        json!("   \n\t "),
        json!("x".repeat(10_001)),
        json!("ж".repeat(10_001)),
    ] {
        app.part(Method::POST, id, "notes", Some(&json!({ "body": body })))
            .await
            .assert_invalid("body");
    }
    app.part(Method::POST, id, "notes", Some(&json!({})))
        .await
        .assert_invalid("body");
    app.part(Method::POST, id, "notes", Some(&json!({ "body": 5 })))
        .await
        .assert_invalid("body");

    let longest = "ж".repeat(10_000);
    let note = app
        .part(Method::POST, id, "notes", Some(&json!({ "body": longest })))
        .await
        .assert_status(201)
        .body;
    assert_eq!(note["body"], longest.as_str());
    let one = app
        .part(Method::POST, id, "notes", Some(&json!({ "body": "x" })))
        .await
        .assert_status(201)
        .body;
    assert_eq!(one["body"], "x");

    let path = format!("notes/{}", note["id"].as_str().unwrap());
    for body in [json!(" "), json!("y".repeat(10_001))] {
        app.part(Method::PUT, id, &path, Some(&json!({ "body": body })))
            .await
            .assert_invalid("body");
    }
    let listed = app.part(Method::GET, id, "notes", None).await.body;
    assert_eq!(listed["total"], 2);
    assert_eq!(
        listed["items"][1]["body"],
        longest.as_str(),
        "refused edits changed nothing"
    );
}
both_backends!(note_bodies_hold_1_to_10000_characters);
