//! `If-None-Match` on reads (issue 16): 304 while the client's copy is current, and an open
//! opportunity's ETag changes with its traffic light, which turns without a new version.

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
async fn an_open_opportunity_is_sent_again_when_its_traffic_light_turned() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let opportunity = create(&app, &s, "Flotte").await;
    let path = path_of(&opportunity);
    assert_eq!(
        read_with(&app, &path, "\"1-green\"").await.status(),
        StatusCode::NOT_MODIFIED
    );
    backdate(&app, &opportunity, 400).await;
    let turned = read_with(&app, &path, "\"1-green\"").await;
    assert_eq!(header(&turned, "etag").as_deref(), Some("\"1-red\""));
    let body: Value = json_with(turned, StatusCode::OK).await;
    assert_eq!(
        (body["health"].as_str(), body["version"].as_i64()),
        (Some("red"), Some(1))
    );
    // The version is what If-Match checks: either form of its ETag will do.
    for (held, version) in [("\"1-red\"", 2), ("\"2\"", 3)] {
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
