use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{json_with, spawn_app};

#[tokio::test]
async fn healthz_and_readyz_answer_without_a_token() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let body = json_with(
            app.client.get(format!("{}{path}", app.address)).send().await.unwrap(),
            StatusCode::OK,
        )
        .await;
        assert_eq!(body, json!({"status": "ok"}));
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_report_the_pool() {
    let app = spawn_app().await;
    app.get("/api/v1/users", &app.admin()).await;
    app.get("/api/v1/users/0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10", &app.admin())
        .await;
    app.get("/no/such/path/12345", &app.admin()).await;
    let response = app.client.get(format!("{}/metrics", app.address)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        text.contains(r#"salesfunnel_http_requests_total{endpoint="/api/v1/users",method="GET",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"endpoint="/api/v1/users/{id}",method="GET",status="404""#),
        "{text}"
    );
    assert!(
        text.contains("salesfunnel_http_requests_duration_seconds_bucket"),
        "latency histogram"
    );
    assert!(
        !text.contains("12345"),
        "unmatched paths are masked, not recorded one by one"
    );
    assert!(text.contains("salesfunnel_db_pool_connections_in_use"));
    assert!(text.contains("salesfunnel_db_pool_connections_idle"));
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = spawn_app().await;
    let echoed = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(
        echoed.headers().get("x-request-id").and_then(|v| v.to_str().ok()),
        Some("abc-123")
    );
    let generated = app.get("/api/v1/users/not-a-uuid", &app.admin()).await;
    let id = generated
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "generated id on an error response: {id}"
    );
}

#[tokio::test]
async fn swagger_ui_is_served_with_a_redirect_from_the_bare_path() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let bare = client.get(format!("{}/swagger-ui", app.address)).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::FOUND);
    assert_eq!(
        bare.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/swagger-ui/")
    );
    let page = client.get(format!("{}/swagger-ui/", app.address)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("swagger"));
    let config = client
        .get(format!("{}/swagger-ui/swagger-initializer.js", app.address))
        .send()
        .await
        .unwrap();
    assert!(config.text().await.unwrap().contains("/api-docs/openapi.json"));
}

#[tokio::test]
async fn cors_preflight_is_answered_for_allowed_origins_only() {
    let app = spawn_app().await;
    let preflight = app
        .client
        .request(Method::OPTIONS, format!("{}/api/v1/business-partners", app.address))
        .header("Origin", "https://crm.example")
        .header("Access-Control-Request-Method", "PATCH")
        .header(
            "Access-Control-Request-Headers",
            "authorization, if-match, content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://crm.example")
    );
    let simple = app
        .request(Method::GET, "/api/v1/users", &app.admin())
        .header("Origin", "https://crm.example")
        .send()
        .await
        .unwrap();
    let exposed = simple
        .headers()
        .get("access-control-expose-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_lowercase();
    assert!(
        exposed.contains("etag") && exposed.contains("location") && exposed.contains("x-request-id"),
        "{exposed}"
    );
    let foreign = app
        .request(Method::GET, "/api/v1/users", &app.admin())
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(foreign.headers().get("access-control-allow-origin").is_none());
}
