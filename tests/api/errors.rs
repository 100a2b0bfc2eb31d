//! Every client mistake is problem+json with the status DESIGN.md names; never a 500.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{error_fields, json_with, problem, spawn_app, spec_operations};

#[tokio::test]
async fn a_body_that_is_not_json_is_400() {
    let app = spawn_app().await;
    let response = app
        .request(Method::POST, "/api/v1/business-partners", &app.admin())
        .header("content-type", "application/json")
        .body("{\"kind\": \"lead\", ")
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn a_wrong_content_type_is_415() {
    let app = spawn_app().await;
    let response = app
        .request(Method::POST, "/api/v1/business-partners", &app.admin())
        .header("content-type", "text/plain")
        .body("{\"kind\": \"lead\", \"name\": \"A\"}")
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let none = app
        .request(Method::POST, "/api/v1/business-partners", &app.admin())
        .body("{}")
        .send()
        .await
        .unwrap();
    problem(none, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let app = spawn_app().await;
    let body = json!({"kind": "lead", "name": "A", "notes": "x".repeat(1024 * 1024)});
    problem(
        app.post("/api/v1/business-partners", &app.admin(), &body).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    // Also when the length is not declared up front (chunked).
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..20).map(|_| Ok(vec![b' '; 64 * 1024])).collect();
    let response = app
        .request(Method::POST, "/api/v1/business-partners", &app.admin())
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;
}

#[tokio::test]
async fn a_json_body_with_many_mistakes_names_each_field() {
    let app = spawn_app().await;
    let body = json!({"kind": "prospect", "email": 42, "colour": "blue"});
    let found = problem(
        app.post("/api/v1/business-partners", &app.admin(), &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["colour", "email", "kind", "name"]);
    let codes: Vec<&str> = found["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"unknown_field") && codes.contains(&"required") && codes.contains(&"invalid_type"));
}

#[tokio::test]
async fn a_json_body_that_is_not_an_object_is_422() {
    let app = spawn_app().await;
    for body in [json!([1, 2]), json!("text"), json!(null)] {
        problem(
            app.post("/api/v1/business-partners", &app.admin(), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
}

#[tokio::test]
async fn malformed_query_strings_and_paths_are_400() {
    let app = spawn_app().await;
    let token = app.admin();
    for path in [
        "/api/v1/business-partners?limit=abc",
        "/api/v1/business-partners?limit=0",
        "/api/v1/business-partners?limit=201",
        "/api/v1/business-partners?kind=alien",
        "/api/v1/business-partners?sort=colour",
        "/api/v1/business-partners?cursor=garbage",
        "/api/v1/business-partners?q=%FF%FE",
        "/api/v1/opportunities?q=caf%E9",
        "/api/v1/business-partners?updated_after=yesterday",
        "/api/v1/business-partners/not-a-uuid",
        "/api/v1/users/123",
    ] {
        problem(app.get(path, &token).await, StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let app = spawn_app().await;
    let token = app.admin();
    problem(app.get("/api/v1/nothing-here", &token).await, StatusCode::NOT_FOUND).await;
    problem(app.get("/nothing", &token).await, StatusCode::NOT_FOUND).await;
    let response = app
        .request(Method::PUT, "/api/v1/business-partners", &token)
        .send()
        .await
        .unwrap();
    let allow = response
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
    assert!(allow.contains("GET") && allow.contains("POST"), "Allow: {allow}");
    let response = app
        .request(
            Method::POST,
            "/api/v1/users/0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10",
            &token,
        )
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test]
async fn a_malformed_if_match_is_400_and_idempotency_key_too_long_is_400() {
    let app = spawn_app().await;
    let partner = app.create_partner(json!({"kind": "lead", "name": "A"})).await;
    let path = format!("/api/v1/business-partners/{}", partner["id"].as_str().unwrap());
    let response = app
        .request(Method::PATCH, &path, &app.admin())
        .header("If-Match", "\"abc\"")
        .json(&json!({"name": "B"}))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::BAD_REQUEST).await;
    let response = app
        .request(Method::POST, "/api/v1/business-partners", &app.admin())
        .header("Idempotency-Key", "k".repeat(300))
        .json(&json!({"kind": "lead", "name": "A"}))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn nul_characters_are_client_errors_not_500() {
    let app = spawn_app().await;
    let body = json!({"kind": "lead", "name": "Null\u{0}Byte"});
    let found = problem(
        app.post("/api/v1/business-partners", &app.admin(), &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["name"]);
    problem(
        app.get("/api/v1/business-partners?q=a%00b", &app.admin()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn a_mistyped_filter_is_400_naming_it_and_what_the_operation_takes() {
    let app = spawn_app().await;
    let token = app.admin();
    let body = problem(
        app.get("/api/v1/opportunities?statuss=won&limit=5", &token).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("'statuss'"), "{detail}");
    assert!(
        detail.contains("status") && detail.contains("limit"),
        "lists the known ones: {detail}"
    );
    assert!(
        !detail.contains("'limit'"),
        "a known one is not named unknown: {detail}"
    );

    // The documented spelling and an empty pair are fine.
    let page = json_with(
        app.get("/api/v1/opportunities?status=won&limit=5", &token).await,
        StatusCode::OK,
    )
    .await;
    assert!(page["items"].is_array());
    json_with(
        app.get("/api/v1/business-partners?kind=lead&", &token).await,
        StatusCode::OK,
    )
    .await;
    // Each unknown name is named once, however often it comes.
    let body = problem(
        app.get("/api/v1/opportunities?zeta=1&statuss=won&zeta=2", &token).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let detail = body["detail"].as_str().unwrap();
    assert_eq!(detail.matches("'zeta'").count(), 1, "{detail}");
    assert!(detail.contains("'statuss'"), "{detail}");
    // An operation without query parameters takes none.
    let body = problem(
        app.get("/api/v1/settings?verbose=1", &token).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("no query parameters"),
        "{body}"
    );
}

#[tokio::test]
async fn a_write_with_an_unknown_query_parameter_changes_nothing() {
    let app = spawn_app().await;
    let token = app.admin();
    let response = app
        .request(Method::POST, "/api/v1/business-partners?dry_run=true", &token)
        .json(&json!({"kind": "lead", "name": "Nicht anlegen"}))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::BAD_REQUEST).await;
    let page = json_with(
        app.get("/api/v1/business-partners?q=Nicht%20anlegen", &token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 0, "{page}");
}

#[tokio::test]
async fn every_operation_of_the_spec_refuses_an_unknown_query_parameter() {
    let app = spawn_app().await;
    let token = app.admin();
    let operations = spec_operations();
    assert!(
        operations.len() > 80,
        "the spec lists the operations: {}",
        operations.len()
    );
    let mut wrong = Vec::new();
    for (method, path) in operations {
        let response = app
            .request(method.clone(), &format!("{path}?no_such_parameter=1"), &token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        if response.status() != StatusCode::BAD_REQUEST {
            wrong.push(format!("{method} {path}: {}", response.status()));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn a_whole_number_with_a_fraction_is_an_integer_and_a_null_optional_body_is_no_body() {
    let app = spawn_app().await;
    // JSON does not tell 45.0 from 45: an integer field takes it.
    let settings = json_with(
        app.patch("/api/v1/settings", &app.admin(), &json!({"quote_valid_days": 45.0}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(settings["quote_valid_days"], 45);
    let found = problem(
        app.patch("/api/v1/settings", &app.admin(), &json!({"quote_valid_days": 45.5}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), ["quote_valid_days"]);
    // The win body is optional: `null` is the same as none.
    let s = crate::opportunities::sales(&app, "NW").await;
    let opportunity = crate::opportunities::create(&app, &s, "Flotte").await;
    let won = json_with(
        crate::opportunities::act(&app, &app.admin(), &opportunity, "win", &serde_json::Value::Null).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(won["status"], "won");
}
