//! The committed OpenAPI document (`openapi/customers.json`) is what the code describes, and it
//! is complete enough for SDK generators.

use serde_json::Value;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/customers.json");

async fn spec() -> Value {
    let text = customers_api::app::openapi_spec().await.expect("spec generation");
    serde_json::from_str(&text).expect("the spec is JSON")
}

#[tokio::test]
async fn committed_spec_matches_the_code() {
    let generated = customers_api::app::openapi_spec().await.expect("spec generation");
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/customers.json differs from the spec the code produces; regenerate it with \
         `bash scripts/regen-openapi.sh` (or `just openapi`) and commit the result"
    );
}

#[tokio::test]
async fn every_operation_is_usable_by_sdk_generators() {
    let spec = spec().await;
    let paths = spec["paths"].as_object().expect("paths");
    let mut operation_ids = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: operationId"));
            operation_ids.push(id.to_owned());
            assert!(
                operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path}: tag"
            );
            if path.starts_with("/api/") {
                let responses = operation["responses"].as_object().expect("responses");
                for status in ["400", "401", "403", "404", "500"] {
                    let content = &responses[status]["content"];
                    assert!(
                        content.get("application/problem+json").is_some(),
                        "{method} {path}: {status} documented as problem+json"
                    );
                }
                assert!(operation["security"].is_array(), "{method} {path}: security");
            }
        }
    }
    let mut unique = operation_ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), operation_ids.len(), "operationIds are unique");
    for expected in [
        "listCustomers",
        "getCustomer",
        "createCustomer",
        "updateCustomer",
        "deleteCustomer",
    ] {
        assert!(operation_ids.iter().any(|id| id == expected), "{expected}");
    }
}

#[tokio::test]
async fn schemas_carry_their_constraints() {
    let spec = spec().await;
    let create = &spec["components"]["schemas"]["CreateCustomerRequest"];
    assert_eq!(create["properties"]["name"]["minLength"], 2);
    assert_eq!(create["properties"]["name"]["maxLength"], 200);
    assert_eq!(create["properties"]["contacts"]["maxItems"], 50);
    let required: Vec<&str> = create["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(required.contains(&"type") && required.contains(&"name") && required.contains(&"email"));
    let types = &spec["components"]["schemas"]["CustomerType"]["enum"];
    assert_eq!(types, &serde_json::json!(["INDIVIDUAL", "COMPANY"]));
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["BearerAuth"]["scheme"], "bearer");
}
