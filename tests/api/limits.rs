//! Rate limits per caller and the headers every answer carries.

use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;

use crate::helpers::{header, problem, spawn_app, spawn_app_with_rate_limit};

#[tokio::test]
async fn each_caller_has_its_own_bucket_and_an_exhausted_one_gets_429_with_retry_after() {
    let app = spawn_app_with_rate_limit(5).await;
    let alice = app.token_for(Role::Viewer, "alice-integration");
    let bob = app.token_for(Role::Viewer, "bob-integration");
    let mut remaining = Vec::new();
    for _ in 0..5 {
        let response = app.get("/api/v1/stages", &alice).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "ratelimit-limit").as_deref(), Some("5"));
        remaining.push(header(&response, "ratelimit-remaining").unwrap());
        assert!(header(&response, "ratelimit-reset").is_some());
    }
    assert_eq!(remaining, ["4", "3", "2", "1", "0"]);
    let refused = app.get("/api/v1/stages", &alice).await;
    let retry_after: u64 = header(&refused, "retry-after").unwrap().parse().unwrap();
    assert!(
        (1..=12).contains(&retry_after),
        "one token comes back every 12 s: {retry_after}"
    );
    assert_eq!(header(&refused, "ratelimit-remaining").as_deref(), Some("0"));
    let body = problem(refused, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(body["detail"].as_str().unwrap().contains("5 requests a minute"));
    // Another token's subject, and probes, are not affected.
    assert_eq!(app.get("/api/v1/stages", &bob).await.status(), StatusCode::OK);
    for probe in ["/healthz", "/readyz"] {
        let response = app.anonymous(Method::GET, probe).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(header(&response, "ratelimit-limit").is_none());
    }
    // Without a (valid) token the client address is the caller: 5 more for it.
    for _ in 0..5 {
        let response = app.anonymous(Method::GET, "/api/v1/stages").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = app.anonymous(Method::GET, "/api/v1/stages").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn answers_carry_nosniff_no_store_and_swagger_ui_cannot_be_framed() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/stages", &app.admin()).await;
    assert_eq!(header(&response, "x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(header(&response, "cache-control").as_deref(), Some("no-store"));
    let anonymous = app.anonymous(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(header(&anonymous, "x-content-type-options").as_deref(), Some("nosniff"));
    assert!(header(&anonymous, "cache-control").is_none());
    let swagger = app.anonymous(Method::GET, "/swagger-ui/").send().await.unwrap();
    assert_eq!(swagger.status(), StatusCode::OK);
    assert_eq!(
        header(&swagger, "content-security-policy").as_deref(),
        Some("frame-ancestors 'none'")
    );
    assert_eq!(header(&swagger, "x-frame-options").as_deref(), Some("DENY"));
}
