//! The event schemas of the OpenAPI document match what the domain publishes: every
//! `CustomerEvent` variant, serialized as the relay sends it, is valid against the schema its
//! `type` maps to, and the inbound schemas accept the documented inbound events.

use std::collections::BTreeSet;
use std::str::FromStr;

use poem_openapi::types::{ParseFromJSON, ToJSON};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use customers_api::dto::events::{CustomerEventEnvelope, InboundEventEnvelope};
use customers_domain::commands::{AddressDraft, ContactDraft, CustomerDraft, SocialMediaDraft};
use customers_domain::events::{CustomerEvent, EventCause, EventEnvelope, FieldChange, diff};
use customers_domain::{
    AddressType, CompanySize, Coordinates, Customer, CustomerId, CustomerStatus, CustomerType, Money, OrganizationId,
    Scope, UserId, WorkspaceId,
};

const NOW: OffsetDateTime = datetime!(2026-11-25 10:00:00.123456 UTC);

async fn spec() -> Value {
    let text = customers_api::app::openapi_spec().await.expect("spec generation");
    serde_json::from_str(&text).expect("the spec is JSON")
}

fn schema<'a>(spec: &'a Value, name: &str) -> &'a Value {
    let schema = &spec["components"]["schemas"][name];
    assert!(schema.is_object(), "components/schemas/{name} is missing");
    schema
}

/// The schema documenting `event`. Adding a variant to `CustomerEvent` breaks this match: give
/// the new event a schema in `dto::events` and a sample in [`samples`].
fn schema_name(event: &CustomerEvent) -> &'static str {
    match event {
        CustomerEvent::Created { .. } => "CustomerCreatedEvent",
        CustomerEvent::Updated { .. } => "CustomerUpdatedEvent",
        CustomerEvent::Deleted { .. } => "CustomerDeletedEvent",
        CustomerEvent::StatusChanged { .. } => "CustomerStatusChangedEvent",
        CustomerEvent::LeadConverted { .. } => "CustomerLeadConvertedEvent",
        CustomerEvent::DealCreateRequested { .. } => "DealCreateRequestedEvent",
        CustomerEvent::Merged { .. } => "CustomersMergedEvent",
        CustomerEvent::Restored { .. } => "CustomerRestoredEvent",
        CustomerEvent::MetricsUpdated { .. } => "CustomerMetricsUpdatedEvent",
        CustomerEvent::Assigned { .. } => "CustomerAssignedEvent",
    }
}

fn money(text: &str) -> Money {
    Money::parse(Decimal::from_str(text).unwrap()).unwrap()
}

/// A company with every optional field, contact and address field filled in.
fn full_customer(scope: Scope, actor: UserId) -> Customer {
    let mut draft = CustomerDraft::new(CustomerType::Company, "ТОО Альфа", "info@alfa.kz");
    draft.phone = Some("+77011234567".into());
    draft.iin = Some("900515300008".into());
    draft.bin = Some("971240001315".into());
    draft.company_name = Some("ТОО «Альфа»".into());
    draft.company_size = Some(CompanySize::Medium);
    draft.industry = Some("Retail".into());
    draft.credit_limit = Some(Decimal::from(5_000_000));
    draft.status = Some(CustomerStatus::Prospect);
    draft.lead_source = Some("website".into());
    draft.custom_fields = Some(json!({"segment": "A", "score": 7}));
    draft.tags = vec!["vip".into(), "almaty".into()];
    draft.assigned_to = Some(Uuid::now_v7());
    draft.contacts = vec![ContactDraft {
        first_name: "Айгуль".into(),
        last_name: "Серикова".into(),
        middle_name: Some("Маратовна".into()),
        position: Some("CFO".into()),
        department: Some("Finance".into()),
        email: "aigul@alfa.kz".into(),
        phone: "+77017654321".into(),
        mobile_phone: Some("+77021234567".into()),
        is_primary: Some(true),
        is_decision_maker: Some(true),
        social_media: Some(SocialMediaDraft {
            linkedin: Some("https://linkedin.com/in/aigul".into()),
            telegram: Some("@aigul".into()),
            whatsapp: None,
        }),
        notes: Some("Prefers e-mail".into()),
    }];
    let mut address = AddressDraft::new(AddressType::Billing, "пр. Абая 150", "Алматы", "050000");
    address.building = Some("2".into());
    address.apartment = Some("301".into());
    address.region = Some("Алматы".into());
    address.is_primary = Some(true);
    address.contact_name = Some("Reception".into());
    address.contact_phone = Some("+77011112233".into());
    address.delivery_instructions = Some("Gate 3".into());
    address.coordinates = Some(Coordinates {
        latitude: 43.238,
        longitude: 76.945,
    });
    draft.addresses = vec![
        address,
        AddressDraft::new(AddressType::Shipping, "ул. Толе би 1", "Алматы", "A05F4K5"),
    ];
    let mut customer = draft.parse().expect("valid draft").into_customer(scope, actor, NOW);
    customer.first_purchase_date = Some(NOW);
    customer.last_purchase_date = Some(NOW);
    customer.total_purchases = money("1234.50");
    customer.purchase_count = 2;
    customer.lifetime_value = money("4000");
    customer.current_balance = money("-10.05");
    customer.converted_at = Some(NOW);
    customer
}

/// A lead with the required fields only (the optional ones are null).
fn bare_customer(scope: Scope, actor: UserId) -> Customer {
    CustomerDraft::new(CustomerType::Individual, "Иван Петров", "ivan@example.kz")
        .parse()
        .expect("valid draft")
        .into_customer(scope, actor, NOW)
}

/// At least one envelope of every event, with optional payload fields present and absent.
fn samples() -> Vec<EventEnvelope> {
    let scope = Scope::new(OrganizationId::new(), WorkspaceId::new());
    let actor = UserId::new();
    let customer = full_customer(scope, actor);
    let mut renamed = customer.clone();
    renamed.name = "ТОО Альфа Групп".into();
    renamed.phone = None;
    renamed.tags.push("b2b".into());
    let cause = EventCause {
        event_id: Uuid::now_v7(),
        event_type: "order.completed".into(),
    };
    let events = vec![
        CustomerEvent::Created {
            customer_type: CustomerType::Company,
            status: CustomerStatus::Lead,
            created_by: actor,
            source: None,
        },
        CustomerEvent::Created {
            customer_type: CustomerType::Individual,
            status: CustomerStatus::Prospect,
            created_by: actor,
            source: Some("import".into()),
        },
        CustomerEvent::Updated {
            changes: diff(&customer, &renamed),
            updated_by: actor,
            cause: None,
        },
        CustomerEvent::Updated {
            changes: [(
                "currentBalance".to_owned(),
                FieldChange {
                    old: json!("0.00"),
                    new: json!("150.00"),
                },
            )]
            .into(),
            updated_by: actor,
            cause: Some(cause.clone()),
        },
        CustomerEvent::Deleted { deleted_by: actor },
        CustomerEvent::StatusChanged {
            previous_status: CustomerStatus::Active,
            new_status: CustomerStatus::Churned,
            changed_by: actor,
            reason: Some("No orders for a year".into()),
        },
        CustomerEvent::StatusChanged {
            previous_status: CustomerStatus::Lead,
            new_status: CustomerStatus::Prospect,
            changed_by: actor,
            reason: None,
        },
        CustomerEvent::LeadConverted {
            previous_status: CustomerStatus::Prospect,
            new_status: CustomerStatus::Active,
            converted_by: actor,
        },
        CustomerEvent::DealCreateRequested {
            title: "First deal".into(),
            value: money("250000"),
            assigned_to: Some(UserId::new()),
        },
        CustomerEvent::DealCreateRequested {
            title: "First deal".into(),
            value: money("0"),
            assigned_to: None,
        },
        CustomerEvent::Merged {
            primary_customer_id: customer.id,
            merged_customer_ids: vec![renamed.id, CustomerId::new()],
            merged_customers: vec![full_customer(scope, actor), bare_customer(scope, actor)],
            merged_by: actor,
        },
        CustomerEvent::Restored { restored_by: actor },
        CustomerEvent::MetricsUpdated {
            total_purchases: money("1234.50"),
            purchase_count: 2,
            lifetime_value: money("4000"),
            first_purchase_date: Some(NOW),
            last_purchase_date: Some(NOW),
            current_balance: money("-10.05"),
            cause: cause.clone(),
        },
        CustomerEvent::MetricsUpdated {
            total_purchases: Money::ZERO,
            purchase_count: 0,
            lifetime_value: Money::ZERO,
            first_purchase_date: None,
            last_purchase_date: None,
            current_balance: money("99.99"),
            cause,
        },
        CustomerEvent::Assigned {
            assigned_to: Some(UserId::new()),
            assigned_by: actor,
        },
        CustomerEvent::Assigned {
            assigned_to: None,
            assigned_by: actor,
        },
    ];
    events
        .into_iter()
        .map(|event| EventEnvelope::new(&customer, actor, NOW, event))
        .collect()
}

/// `#/components/schemas/X` → `X`.
fn ref_name(reference: &Value) -> &str {
    reference
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .unwrap_or_else(|| panic!("not a component reference: {reference}"))
}

/// `type` → envelope schema name, from the discriminator of a union; checks that the `oneOf`
/// lists exactly the mapped schemas.
fn union_members(spec: &Value, union: &str) -> Vec<(String, String)> {
    let union_schema = schema(spec, union);
    assert_eq!(union_schema["discriminator"]["propertyName"], "type", "{union}");
    let mapping: Vec<(String, String)> = union_schema["discriminator"]["mapping"]
        .as_object()
        .unwrap_or_else(|| panic!("{union}: discriminator mapping"))
        .iter()
        .map(|(event_type, reference)| (event_type.clone(), ref_name(reference).to_owned()))
        .collect();
    let one_of: BTreeSet<&str> = union_schema["oneOf"]
        .as_array()
        .unwrap_or_else(|| panic!("{union}: oneOf"))
        .iter()
        .map(|member| ref_name(&member["$ref"]))
        .collect();
    let mapped: BTreeSet<&str> = mapping.iter().map(|(_, name)| name.as_str()).collect();
    assert_eq!(
        one_of, mapped,
        "{union}: oneOf and discriminator mapping list the same schemas"
    );
    for (event_type, name) in &mapping {
        let property = &schema(spec, name)["properties"]["type"];
        assert_eq!(
            property["enum"],
            json!([event_type]),
            "{name}.type allows only {event_type}"
        );
        assert!(
            schema(spec, name)["required"]
                .as_array()
                .unwrap()
                .contains(&json!("type")),
            "{name}.type is required"
        );
    }
    mapping
}

/// Follows `$ref`s and the `allOf: [$ref]` wrapper poem-openapi puts around a described
/// reference, to the schema with the properties.
fn resolve<'a>(spec: &'a Value, mut schema: &'a Value) -> &'a Value {
    loop {
        if let Some(reference) = schema.get("$ref") {
            schema = self::schema(spec, ref_name(reference));
        } else if let Some(inner) = schema.get("allOf").and_then(Value::as_array).and_then(|parts| {
            parts
                .iter()
                .find(|p| p.get("$ref").is_some() || p.get("properties").is_some())
        }) {
            schema = inner;
        } else {
            return schema;
        }
    }
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// Checks `value` against `schema` (the subset of OpenAPI 3.0 the document uses), collecting
/// every mismatch with its path. Objects with `properties` are closed: an undocumented key is an
/// error, so that a field added to the domain without a schema is caught.
fn validate(spec: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if value.is_null() {
        let any = ["type", "$ref", "allOf", "oneOf"]
            .iter()
            .all(|k| schema.get(k).is_none());
        if !any && schema["nullable"] != json!(true) {
            errors.push(format!("{path}: null, but the schema is not nullable"));
        }
        return;
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            validate(spec, part, value, path, errors);
        }
    }
    if let Some(reference) = schema.get("$ref") {
        return validate(spec, self::schema(spec, ref_name(reference)), value, path, errors);
    }
    if let Some(members) = schema.get("oneOf").and_then(Value::as_array) {
        let property = schema["discriminator"]["propertyName"].as_str().expect("discriminator");
        let tag = value.get(property).and_then(Value::as_str).unwrap_or_default();
        match schema["discriminator"]["mapping"].get(tag) {
            Some(reference) => validate(spec, self::schema(spec, ref_name(reference)), value, path, errors),
            None => errors.push(format!(
                "{path}: `{property}` {tag:?} is not in the discriminator mapping"
            )),
        }
        assert_eq!(
            members.len(),
            schema["discriminator"]["mapping"].as_object().unwrap().len()
        );
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!("{path}: {value} is not one of {allowed:?}"));
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let Some(object) = value.as_object() else {
                return errors.push(format!("{path}: expected an object, got {value}"));
            };
            let properties = schema.get("properties").and_then(Value::as_object);
            for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                let name = required.as_str().unwrap();
                if !object.contains_key(name) {
                    errors.push(format!("{path}: required `{name}` is missing"));
                }
            }
            for (key, item) in object {
                let item_path = format!("{path}.{key}");
                match (properties.and_then(|p| p.get(key)), schema.get("additionalProperties")) {
                    (Some(property), _) => validate(spec, property, item, &item_path, errors),
                    (None, Some(additional)) => validate(spec, additional, item, &item_path, errors),
                    (None, None) if properties.is_some() => {
                        errors.push(format!("{item_path}: not a documented property"));
                    }
                    (None, None) => {}
                }
            }
        }
        Some("array") => match value.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    validate(spec, &schema["items"], item, &format!("{path}[{i}]"), errors);
                }
            }
            None => errors.push(format!("{path}: expected an array, got {value}")),
        },
        Some("string") => {
            let Some(text) = value.as_str() else {
                return errors.push(format!("{path}: expected a string, got {value}"));
            };
            let ok = match schema.get("format").and_then(Value::as_str) {
                Some("uuid") => Uuid::parse_str(text).is_ok(),
                Some("date-time") => {
                    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok()
                }
                Some("decimal") => Decimal::from_str(text).is_ok(),
                _ => true,
            };
            if !ok {
                errors.push(format!("{path}: {text:?} is not a {}", schema["format"]));
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && text.chars().count() as u64 > max
            {
                errors.push(format!("{path}: longer than {max}"));
            }
        }
        Some("integer") if !(value.is_i64() || value.is_u64()) => {
            errors.push(format!("{path}: expected an integer, got {value}"));
        }
        Some("number") if !value.is_number() => errors.push(format!("{path}: expected a number, got {value}")),
        Some("boolean") if !value.is_boolean() => errors.push(format!("{path}: expected a boolean, got {value}")),
        _ => {}
    }
}

fn assert_valid(spec: &Value, schema_name: &str, value: &Value) {
    let mut errors = Vec::new();
    validate(spec, schema(spec, schema_name), value, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "{value:#}\ndoes not match {schema_name}:\n{}",
        errors.join("\n")
    );
}

fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

#[tokio::test]
async fn every_outbound_event_matches_its_schema() {
    let spec = spec().await;
    let members = union_members(&spec, "CustomerEventEnvelope");
    let samples = samples();

    let sampled: BTreeSet<&str> = samples.iter().map(|s| schema_name(&s.event)).collect();
    let documented: BTreeSet<&str> = members.iter().map(|(_, name)| name.as_str()).collect();
    assert_eq!(
        sampled, documented,
        "every CustomerEvent variant has a sample and the outbound union lists exactly their schemas"
    );

    for envelope in &samples {
        let wire = serde_json::to_value(envelope).expect("the envelope serializes");
        let event_type = wire["type"].as_str().expect("type").to_owned();
        let name = schema_name(&envelope.event);
        assert_eq!(event_type, envelope.event.type_name());

        // (a) the type is one the union lists, mapped to this variant's schema.
        let mapped = members.iter().find(|(t, _)| *t == event_type);
        assert_eq!(
            mapped.map(|(_, n)| n.as_str()),
            Some(name),
            "{event_type}: mapped to its schema by CustomerEventEnvelope"
        );

        // (b) the envelope keys are exactly the documented properties, all required.
        let envelope_schema = schema(&spec, name);
        assert_eq!(
            keys(&wire),
            keys(&envelope_schema["properties"]),
            "{event_type}: envelope keys"
        );
        let required: BTreeSet<String> = envelope_schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            required,
            keys(&wire),
            "{event_type}: every envelope property is required"
        );

        // (c) payload keys are properties of the payload schema, required ones present.
        let payload_schema = resolve(&spec, &envelope_schema["properties"]["payload"]);
        let properties = keys(&payload_schema["properties"]);
        let payload = keys(&wire["payload"]);
        assert!(
            payload.is_subset(&properties),
            "{event_type}: undocumented payload keys {:?}",
            payload.difference(&properties).collect::<Vec<_>>()
        );
        for required in payload_schema["required"].as_array().into_iter().flatten() {
            assert!(
                payload.contains(required.as_str().unwrap()),
                "{event_type}: payload lacks required {required}"
            );
        }

        // And the values, recursively (merged customers against CustomerResponse, …), through
        // the union as a consumer would read it.
        assert_valid(&spec, "CustomerEventEnvelope", &wire);

        // The Rust types of the schemas read the event and write it back the same.
        let parsed = CustomerEventEnvelope::parse_from_json(Some(wire.clone()))
            .unwrap_or_else(|e| panic!("{event_type}: CustomerEventEnvelope does not parse it: {}", e.message()));
        assert_eq!(parsed.type_name(), event_type);
        assert_eq!(
            without_nulls(parsed.to_json().unwrap()),
            without_nulls(wire),
            "{event_type}: round trip through CustomerEventEnvelope"
        );
    }
}

fn inbound_samples() -> Vec<Value> {
    let envelope = |event_type: &str, payload: Value| {
        json!({
            "eventId": Uuid::now_v7(),
            "type": event_type,
            "version": 1,
            "occurredAt": "2026-11-25T10:00:00Z",
            "organizationId": Uuid::now_v7(),
            "workspaceId": Uuid::now_v7(),
            "customerId": Uuid::now_v7(),
            "actor": Uuid::now_v7(),
            "payload": payload,
        })
    };
    let customer = Uuid::now_v7();
    let mut minimal = envelope("order.cancelled", json!({"orderId": "ORD-1"}));
    let object = minimal.as_object_mut().unwrap();
    object.remove("customerId");
    object.remove("actor");
    vec![
        envelope(
            "order.completed",
            json!({
                "orderId": "ORD-1",
                "customerId": customer,
                "totalAmount": "15000.00",
                "completedAt": "2026-11-25T09:59:00+05:00",
                "items": [
                    {"productId": "P-1", "productName": "Кофе", "category": "Food", "quantity": "2",
                     "amount": "10000.00", "cost": "6000.00"},
                    {"productId": "P-2", "productName": "Сахар", "quantity": "0.5", "amount": "5000.00"},
                ],
            }),
        ),
        minimal,
        envelope(
            "order.cancelled",
            json!({"orderId": "ORD-1", "cancelledAt": "2026-11-25T10:00:00Z"}),
        ),
        envelope(
            "order.refunded",
            json!({"orderId": "ORD-2", "refundedAt": "2026-11-25T10:00:00Z"}),
        ),
        envelope(
            "deal.won",
            json!({"dealId": "D-1", "customerId": customer, "amount": "250000.00", "wonAt": "2026-11-25T10:00:00Z"}),
        ),
        envelope(
            "invoice.issued",
            json!({"invoiceId": "INV-1", "customerId": customer, "amount": "1000.00", "issuedAt": "2026-11-25T10:00:00Z"}),
        ),
        envelope(
            "invoice.paid",
            json!({"invoiceId": "INV-1", "customerId": customer, "amount": "400.00", "paidAt": "2026-11-25T10:00:00Z"}),
        ),
    ]
}

#[tokio::test]
async fn inbound_events_match_their_schemas() {
    let spec = spec().await;
    let members = union_members(&spec, "InboundEventEnvelope");
    let types: BTreeSet<&str> = members.iter().map(|(t, _)| t.as_str()).collect();
    let expected = [
        "order.completed",
        "order.cancelled",
        "order.refunded",
        "deal.won",
        "invoice.issued",
        "invoice.paid",
    ];
    assert_eq!(types, expected.into_iter().collect());
    assert_eq!(InboundEventEnvelope::TYPES, expected);

    let samples = inbound_samples();
    let sampled: BTreeSet<&str> = samples.iter().map(|s| s["type"].as_str().unwrap()).collect();
    assert_eq!(sampled, types, "a sample of every inbound type");
    for sample in &samples {
        assert_valid(&spec, "InboundEventEnvelope", sample);
        let parsed = InboundEventEnvelope::parse_from_json(Some(sample.clone()))
            .unwrap_or_else(|e| panic!("{sample}: {}", e.message()));
        assert_eq!(parsed.type_name(), sample["type"]);
    }

    // Both the checker and the types refuse what the schemas do not allow.
    let mut bad = samples[0].clone();
    bad["payload"]["items"][0]["quantity"] = json!("0");
    assert!(
        InboundEventEnvelope::parse_from_json(Some(bad)).is_err(),
        "quantity must be > 0"
    );
    let mut bad = samples[0].clone();
    bad["payload"].as_object_mut().unwrap().remove("customerId");
    bad["payload"]["discount"] = json!("1.00");
    let mut errors = Vec::new();
    validate(&spec, schema(&spec, "InboundEventEnvelope"), &bad, "$", &mut errors);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(InboundEventEnvelope::parse_from_json(Some(bad)).is_err());
    let mut bad = samples[0].clone();
    bad["type"] = json!("order.shipped");
    assert!(InboundEventEnvelope::parse_from_json(Some(bad)).is_err());
}

#[tokio::test]
async fn the_event_schemas_are_in_the_document() {
    let spec = spec().await;
    for name in customers_api::dto::events::EventSchemas::schema_names() {
        schema(&spec, &name);
    }
    assert_eq!(CustomerEventEnvelope::TYPES.len(), 10);
}
