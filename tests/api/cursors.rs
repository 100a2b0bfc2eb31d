//! Signed list cursors: a cursor the server did not issue is a 400 on every list, values in a
//! validly signed cursor are checked before they reach SQL (every sort key's round trip is in
//! opportunity_lists.rs and the other list tests).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::*;
use crate::opportunities::*;

/// A cursor signed the way the server signs them (see `http::pagination`), with the test
/// harness's secret: the contract of the format, written out independently.
fn signed_cursor(sort: &str, value: &str) -> String {
    let mut derive = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    derive.update(b"salesfunnel cursor key v1");
    let key = derive.finalize().into_bytes();
    let json = serde_json::to_vec(&json!({"s": sort, "v": value, "id": uuid::Uuid::nil()})).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(&json);
    let tag = mac.finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&json),
        URL_SAFE_NO_PAD.encode(&tag[..16])
    )
}

/// The lists of the spec that take a cursor and need no path id.
fn top_level_lists() -> Vec<String> {
    let spec: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/openapi/openapi.json"
    )))
    .unwrap();
    spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| !path.contains('{'))
        .filter(|(_, ops)| {
            ops["get"]["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "cursor"))
        })
        .map(|(path, _)| path.clone())
        .collect()
}

#[tokio::test]
async fn every_list_refuses_a_cursor_it_did_not_issue() {
    let app = spawn_app().await;
    let lists = top_level_lists();
    assert!(lists.len() >= 10, "{lists:?}");
    // A cursor of the right shape, signed with another key, and the same one edited.
    let foreign = {
        let json = serde_json::to_vec(&json!({"s": "name", "v": "a", "id": uuid::Uuid::nil()})).unwrap();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(json), URL_SAFE_NO_PAD.encode([7u8; 16]))
    };
    let unsigned = URL_SAFE_NO_PAD.encode(br#"{"s":"name","v":"a","id":"00000000-0000-0000-0000-000000000000"}"#);
    for list in &lists {
        for cursor in [&foreign, &unsigned, &"garbage".to_owned()] {
            let response = app.get(&format!("{list}?cursor={cursor}"), &app.admin()).await;
            let problem = problem(response, StatusCode::BAD_REQUEST).await;
            assert!(
                problem["detail"].as_str().unwrap().contains("cursor"),
                "{list}: {problem}"
            );
        }
        // An empty cursor is the first page.
        json_with(app.get(&format!("{list}?cursor="), &app.admin()).await, StatusCode::OK).await;
    }
}

#[tokio::test]
async fn signed_cursors_with_values_postgresql_would_refuse_are_400_not_500() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    create(&app, &s, "Chance").await;
    for (sort, value) in [
        ("-target_value", "1_000"),
        ("-target_value", "1_"),
        ("-weighted_value", "1__0"),
        ("-weighted_value", "1e400"),
        ("expected_close_date", "-0001-01-01x"),
        ("expected_close_date", "-9999-01-01"),
        ("expected_close_date", "2026-02-30"),
        ("updated_at", "yesterday"),
    ] {
        let cursor = signed_cursor(sort, value);
        let response = app
            .get(
                &format!("/api/v1/opportunities?sort={sort}&cursor={cursor}"),
                &app.admin(),
            )
            .await;
        problem(response, StatusCode::BAD_REQUEST).await;
    }
    // In range, far in the past: a valid position, bound as a date.
    for (sort, value) in [
        ("expected_close_date", "0001-01-01"),
        ("expected_close_date", "infinity"),
    ] {
        let cursor = signed_cursor(sort, value);
        json_with(
            app.get(
                &format!("/api/v1/opportunities?sort={sort}&cursor={cursor}"),
                &app.admin(),
            )
            .await,
            StatusCode::OK,
        )
        .await;
    }
}
