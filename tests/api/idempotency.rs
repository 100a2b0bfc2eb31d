use diesel_async::RunQueryDsl;
use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json_with, problem, spawn_app};

async fn post_with_key(app: &TestApp, token: &str, key: &str, body: &Value) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/business-partners", token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn count(app: &TestApp) -> usize {
    let page = json_with(
        app.get("/api/v1/business-partners?limit=200", &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    page["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_retry_with_the_same_key_replays_the_first_response() {
    let app = spawn_app().await;
    let body = json!({"kind": "lead", "name": "Einmal GmbH", "city": "Kiel"});
    let first = post_with_key(&app, &app.admin(), "key-1", &body).await;
    let location = first.headers().get("location").cloned();
    let first = json_with(first, StatusCode::CREATED).await;
    // Same content, other key order: the same request.
    let reordered = json!({"city": "Kiel", "name": "Einmal GmbH", "kind": "lead"});
    let second = post_with_key(&app, &app.admin(), "key-1", &reordered).await;
    assert_eq!(
        second
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(second.headers().get("location").cloned(), location);
    assert_eq!(json_with(second, StatusCode::CREATED).await, first);
    assert_eq!(count(&app).await, 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422() {
    let app = spawn_app().await;
    json_with(
        post_with_key(&app, &app.admin(), "key-2", &json!({"kind": "lead", "name": "A"})).await,
        StatusCode::CREATED,
    )
    .await;
    let other = post_with_key(&app, &app.admin(), "key-2", &json!({"kind": "lead", "name": "B"})).await;
    let found = problem(other, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(found["errors"][0]["code"], "idempotency_key_reused");
    assert_eq!(count(&app).await, 1);
}

#[tokio::test]
async fn keys_are_scoped_to_the_caller() {
    let app = spawn_app().await;
    let body = json!({"kind": "lead", "name": "A"});
    let a = json_with(
        post_with_key(&app, &app.token_for(Role::Rep, "alice"), "shared", &body).await,
        StatusCode::CREATED,
    )
    .await;
    let b = json_with(
        post_with_key(&app, &app.token_for(Role::Rep, "bob"), "shared", &body).await,
        StatusCode::CREATED,
    )
    .await;
    assert_ne!(a["id"], b["id"]);
    assert_eq!(count(&app).await, 2);
}

#[tokio::test]
async fn a_failed_request_does_not_burn_the_key() {
    let app = spawn_app().await;
    let ghost = json!({"kind": "lead", "name": "A", "owner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10"});
    problem(
        post_with_key(&app, &app.admin(), "key-3", &ghost).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        post_with_key(&app, &app.admin(), "key-3", &ghost).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(count(&app).await, 0);
}

#[tokio::test]
async fn twenty_concurrent_identical_requests_create_exactly_one_resource() {
    let app = spawn_app().await;
    let body = json!({"kind": "customer", "name": "Gleichzeitig AG"});
    let token = app.admin();
    let requests = (0..20).map(|_| post_with_key(&app, &token, "concurrent", &body));
    let responses = futures_util::future::join_all(requests).await;
    let mut ids = std::collections::HashSet::new();
    for response in responses {
        let created = json_with(response, StatusCode::CREATED).await;
        ids.insert(created["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "every response names the same partner");
    assert_eq!(count(&app).await, 1);
    let mut conn = app.db.connect_async().await;
    let stored: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT count(*) FROM idempotency_keys")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored, 1, "one stored response for the key");
}

#[tokio::test]
async fn an_expired_key_is_claimed_anew() {
    let app = spawn_app().await;
    let first = json_with(
        post_with_key(&app, &app.admin(), "key-old", &json!({"kind": "lead", "name": "Alt"})).await,
        StatusCode::CREATED,
    )
    .await;
    diesel::sql_query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'key-old'")
        .execute(&mut app.db.connect_async().await)
        .await
        .unwrap();
    // Past its retention the key is free: another body creates another partner, not a 422.
    let second = json_with(
        post_with_key(&app, &app.admin(), "key-old", &json!({"kind": "lead", "name": "Neu"})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_ne!(second["id"], first["id"]);
    assert_eq!(second["name"], "Neu");
    // And the key now answers for the new request.
    let replayed = post_with_key(&app, &app.admin(), "key-old", &json!({"kind": "lead", "name": "Neu"})).await;
    assert_eq!(json_with(replayed, StatusCode::CREATED).await, second);
    assert_eq!(count(&app).await, 2);
}
