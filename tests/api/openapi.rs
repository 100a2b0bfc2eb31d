use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{json_with, spawn_app};

fn committed() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn the_served_spec_equals_the_committed_file() {
    let app = spawn_app().await;
    let served = json_with(
        app.client
            .get(format!("{}/api-docs/openapi.json", app.address))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert!(
        served == committed(),
        "openapi/openapi.json is out of date: run `cargo run -- openapi > openapi/openapi.json` and commit it"
    );
}

#[test]
fn every_operation_has_one_tag_a_summary_and_its_error_responses() {
    let spec = committed();
    let mut operations = 0;
    let mut operation_ids = std::collections::HashSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let name = format!("{method} {path}");
            let operation_id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(
                operation_ids.insert(operation_id),
                "{name}: operationId {} is not unique",
                op["operationId"]
            );
            assert_eq!(op["tags"].as_array().map(Vec::len), Some(1), "{name}: one tag");
            assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{name}: summary");
            let responses = op["responses"].as_object().unwrap();
            // A form of the public page answers its success with a redirect (post/redirect/get);
            // redocly.yaml leaves this check to here.
            let public_form = path.starts_with("/public/") && method == "post";
            assert!(
                responses
                    .keys()
                    .any(|s| s.starts_with('2') || (public_form && s == "303")),
                "{name}: a success response"
            );
            // Swagger UI sends a parameter's example with every try: no shared key, no stale version.
            for parameter in op["parameters"].as_array().into_iter().flatten() {
                if matches!(parameter["name"].as_str(), Some("Idempotency-Key" | "If-Match")) {
                    assert!(
                        parameter.get("example").is_none(),
                        "{name}: {} pre-filled",
                        parameter["name"]
                    );
                }
            }
            // Every operation states its security; those without a token an empty list.
            let security = op["security"].as_array().unwrap_or_else(|| panic!("{name}: security"));
            if path.starts_with("/api/") {
                assert!(!security.is_empty(), "{name}: a token");
                for status in ["401", "503"] {
                    assert!(responses.contains_key(status), "{name}: {status}");
                }
            } else if security.is_empty() {
                assert!(!responses.contains_key("401"), "{name}: no 401 without a token");
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(status), "{name}: {status}");
                }
            }
        }
    }
    assert!(operations >= 14, "found {operations} operations");
    assert_eq!(
        spec["servers"][0]["url"], "/",
        "a server generators and Swagger UI can use"
    );
    assert_eq!(spec["info"]["license"]["identifier"], "MIT");
}

#[test]
fn every_problem_response_has_problem_json_and_an_example() {
    let spec = committed();
    for (name, response) in spec["components"]["responses"].as_object().unwrap() {
        let content = &response["content"]["application/problem+json"];
        assert!(content.is_object(), "{name}: application/problem+json");
        assert!(content["example"].is_object(), "{name}: example");
    }
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        let is_object = schema["type"] == "object";
        let generic = name.starts_with("Paged");
        assert!(
            !is_object || generic || schema["example"].is_object() || name == "FieldError",
            "{name}: example"
        );
    }
}

/// Every `$ref` of the document points at something it defines (a generator or validator
/// refuses a dangling one; utoipa writes them for types named but never registered).
#[test]
fn every_reference_resolves() {
    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target);
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }
    let spec = committed();
    let mut found = Vec::new();
    refs(&spec, &mut found);
    assert!(found.len() > 100, "the document uses references");
    let dangling: Vec<_> = found
        .into_iter()
        .filter(|target| {
            target
                .strip_prefix('#')
                .is_none_or(|pointer| spec.pointer(pointer).is_none())
        })
        .collect();
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
}

/// Swagger UI renders `multipleOf` by splitting its decimal text at the point: one written with
/// an exponent (`1e-10`) throws, and the whole page shows "Could not render BaseLayout".
#[test]
fn every_multiple_of_is_written_without_an_exponent() {
    fn walk(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(step) = map.get("multipleOf") {
                    found.push(step.to_string());
                }
                map.values().for_each(|v| walk(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(&committed(), &mut found);
    assert!(!found.is_empty(), "money states its cents");
    let exponents: Vec<_> = found.iter().filter(|text| text.contains(['e', 'E'])).collect();
    assert!(exponents.is_empty(), "multipleOf with an exponent: {exponents:?}");
}
