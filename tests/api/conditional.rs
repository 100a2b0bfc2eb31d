//! `If-None-Match` on reads (issue 16): 304 while the client's copy is current, and an
//! opportunity's ETag changes with what it shows, which may change without a new version.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, header, json_with, spawn_app};
use crate::opportunities::{backdate, create, path_of, sales};

async fn read_with(app: &TestApp, path: &str, if_none_match: &str) -> reqwest::Response {
    app.request(Method::GET, path, &app.admin())
        .header("If-None-Match", if_none_match)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_read_answers_304_while_the_etag_held_is_current_and_200_once_it_changed() {
    let app = spawn_app().await;
    let partner = app.create_partner(json!({"kind": "lead", "name": "Müller GmbH"})).await;
    let path = format!("/api/v1/business-partners/{}", partner["id"].as_str().unwrap());
    for held in ["\"1\"", "W/\"1\"", "\"7\", \"1\"", "*"] {
        let unchanged = read_with(&app, &path, held).await;
        assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED, "{held}");
        assert_eq!(header(&unchanged, "etag").as_deref(), Some("\"1\""));
        assert!(header(&unchanged, "x-request-id").is_some());
        assert!(unchanged.bytes().await.unwrap().is_empty(), "a 304 has no body");
    }
    let patched = app.patch(&path, &app.admin(), &json!({"city": "Köln"})).await;
    assert_eq!(patched.status(), StatusCode::OK);
    let changed = read_with(&app, &path, "\"1\"").await;
    assert_eq!(header(&changed, "etag").as_deref(), Some("\"2\""));
    let body = json_with(changed, StatusCode::OK).await;
    assert_eq!(body["city"], "Köln");
    // Lists carry no ETag, and a write is never answered 304.
    let list = read_with(&app, "/api/v1/business-partners", "*").await;
    assert_eq!(list.status(), StatusCode::OK);
    let write = app
        .request(Method::PATCH, &path, &app.admin())
        .header("If-None-Match", "\"2\"")
        .header("Content-Type", "application/merge-patch+json")
        .body(r#"{"city": "Bonn"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_opportunity_is_sent_again_when_what_it_shows_changed_without_a_new_version() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let opportunity = create(&app, &s, "Flotte").await;
    let path = path_of(&opportunity);
    let first = header(&app.get(&path, &app.admin()).await, "etag").unwrap();
    assert!(first.starts_with("\"1-"), "{first}");
    assert_eq!(read_with(&app, &path, &first).await.status(), StatusCode::NOT_MODIFIED);
    // The traffic light turns with time, the version stays.
    backdate(&app, &opportunity, 400).await;
    let turned = read_with(&app, &path, &first).await;
    let red = header(&turned, "etag").unwrap();
    assert!(red.starts_with("\"1-") && red != first, "{red}");
    let body: Value = json_with(turned, StatusCode::OK).await;
    assert_eq!(
        (body["health"].as_str(), body["version"].as_i64()),
        (Some("red"), Some(1))
    );
    // A logged call moves the last contact, also without a new version.
    let call = json!({"kind": "call", "subject": "Nachgefasst", "status": "done", "opportunity_id": opportunity["id"]});
    json_with(
        app.post("/api/v1/activities", &app.admin(), &call).await,
        StatusCode::CREATED,
    )
    .await;
    let contacted = read_with(&app, &path, &red).await;
    let green = header(&contacted, "etag").unwrap();
    assert!(green.starts_with("\"1-") && green != red, "{green}");
    assert_eq!(json_with(contacted, StatusCode::OK).await["health"], "green");
    // The version is what If-Match checks: either form of its ETag will do.
    for (held, version) in [(green.as_str(), 2), ("\"2\"", 3)] {
        let patched = app
            .request(Method::PATCH, &path, &app.admin())
            .header("If-Match", held)
            .header("Content-Type", "application/merge-patch+json")
            .body(r#"{"description": "nachfassen"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(json_with(patched, StatusCode::OK).await["version"], version, "{held}");
    }
}
