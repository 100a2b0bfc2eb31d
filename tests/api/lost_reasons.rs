use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, header, json_with, problem, spawn_app};

fn path_of(reason: &Value) -> String {
    format!("/api/v1/lost-reasons/{}", reason["id"].as_str().unwrap())
}

async fn create_reason(app: &TestApp, body: Value) -> Value {
    json_with(
        app.post("/api/v1/lost-reasons", &app.admin(), &body).await,
        StatusCode::CREATED,
    )
    .await
}

async fn labels(app: &TestApp, query: &str) -> Vec<String> {
    let page = json_with(
        app.get(&format!("/api/v1/lost-reasons?{query}"), &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_lost_reason_is_created_active_and_read_back() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/v1/lost-reasons",
            &app.admin(),
            &json!({"label": "  Preis zu hoch "}),
        )
        .await;
    let location = header(&response, "location");
    let etag = header(&response, "etag");
    let created = json_with(response, StatusCode::CREATED).await;
    assert_eq!(created["label"], "Preis zu hoch", "the label is trimmed");
    assert_eq!(
        (created["active"].as_bool(), created["version"].as_i64()),
        (Some(true), Some(1))
    );
    assert_eq!(location, Some(path_of(&created)));
    assert_eq!(etag.as_deref(), Some("\"1\""));
    let read = json_with(
        app.get(&path_of(&created), &app.token_for(Role::Viewer, "v")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(read, created);
    let inactive = create_reason(&app, json!({"label": "Veraltet", "active": false})).await;
    assert_eq!(inactive["active"], false);
}

#[tokio::test]
async fn a_lost_reason_label_is_unique_regardless_of_case() {
    let app = spawn_app().await;
    create_reason(&app, json!({"label": "Preis zu hoch"})).await;
    let duplicate = problem(
        app.post("/api/v1/lost-reasons", &app.admin(), &json!({"label": "PREIS ZU HOCH"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(duplicate["detail"], "another resource already has this label");
    let other = create_reason(&app, json!({"label": "Lieferzeit"})).await;
    problem(
        app.patch(&path_of(&other), &app.admin(), &json!({"label": "preis zu hoch"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(labels(&app, "").await, vec!["Lieferzeit", "Preis zu hoch"]);
}

#[tokio::test]
async fn invalid_lost_reasons_are_422_naming_the_field() {
    let app = spawn_app().await;
    for (body, fields) in [
        (json!({"label": ""}), vec!["label"]),
        (json!({"label": "x".repeat(201)}), vec!["label"]),
        (json!({}), vec!["label"]),
        (
            json!({"label": 5, "active": "ja", "reason": "x"}),
            vec!["active", "label", "reason"],
        ),
    ] {
        let found = problem(
            app.post("/api/v1/lost-reasons", &app.admin(), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&found), fields, "{body}");
    }
}

#[tokio::test]
async fn patch_changes_label_and_active_and_honours_if_match() {
    let app = spawn_app().await;
    let created = create_reason(&app, json!({"label": "Preis"})).await;
    let path = path_of(&created);
    let stale = app
        .request(Method::PATCH, &path, &app.admin())
        .header("If-Match", "\"3\"")
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let response = app
        .request(Method::PATCH, &path, &app.admin())
        .header("If-Match", "\"1\"")
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "etag").as_deref(), Some("\"2\""));
    let updated = json_with(response, StatusCode::OK).await;
    assert_eq!(
        (
            updated["active"].as_bool(),
            updated["label"].as_str(),
            updated["version"].as_i64()
        ),
        (Some(false), Some("Preis"), Some(2))
    );
    let renamed = json_with(
        app.patch(&path, &app.admin(), &json!({"label": "Preis zu hoch"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            renamed["label"].as_str(),
            renamed["active"].as_bool(),
            renamed["version"].as_i64()
        ),
        (Some("Preis zu hoch"), Some(false), Some(3))
    );
    let found = problem(
        app.patch(&path, &app.admin(), &json!({"label": null, "id": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["id", "label"]);
}

#[tokio::test]
async fn a_lost_reason_is_deleted() {
    let app = spawn_app().await;
    let path = path_of(&create_reason(&app, json!({"label": "Kein Budget"})).await);
    let stale = app
        .request(Method::DELETE, &path, &app.admin())
        .header("If-Match", "\"2\"")
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(app.delete(&path, &app.admin()).await.status(), StatusCode::NO_CONTENT);
    problem(app.get(&path, &app.admin()).await, StatusCode::NOT_FOUND).await;
    problem(app.delete(&path, &app.admin()).await, StatusCode::NOT_FOUND).await;
    problem(
        app.patch(&path, &app.admin(), &json!({"active": true})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn the_lost_reason_list_filters_by_active_and_text() {
    let app = spawn_app().await;
    for (label, active) in [
        ("Preis zu hoch", true),
        ("Lieferzeit zu lang", true),
        ("Wettbewerber günstiger", true),
        ("Kein Bedarf mehr", false),
    ] {
        create_reason(&app, json!({"label": label, "active": active})).await;
    }
    assert_eq!(
        labels(&app, "").await,
        vec![
            "Kein Bedarf mehr",
            "Lieferzeit zu lang",
            "Preis zu hoch",
            "Wettbewerber günstiger"
        ]
    );
    assert_eq!(
        labels(&app, "active=true").await,
        vec!["Lieferzeit zu lang", "Preis zu hoch", "Wettbewerber günstiger"]
    );
    assert_eq!(labels(&app, "active=false").await, vec!["Kein Bedarf mehr"]);
    assert_eq!(labels(&app, "q=ZU").await, vec!["Lieferzeit zu lang", "Preis zu hoch"]);
    assert_eq!(labels(&app, "q=zu&active=false").await, Vec::<String>::new());
    assert_eq!(labels(&app, "q=g%C3%BCnstig").await, vec!["Wettbewerber günstiger"]);
    let first = json_with(
        app.get("/api/v1/lost-reasons?limit=3", &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = json_with(
        app.get(&format!("/api/v1/lost-reasons?limit=3&cursor={cursor}"), &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(second["items"][0]["label"], "Wettbewerber günstiger");
    assert!(second["next_cursor"].is_null());
}

#[tokio::test]
async fn only_admins_write_lost_reasons_and_everyone_reads_them() {
    let app = spawn_app().await;
    let reason = create_reason(&app, json!({"label": "Preis"})).await;
    let path = path_of(&reason);
    for role in [Role::Manager, Role::Rep, Role::Viewer, Role::Integration] {
        let token = app.token_for(role, "x");
        problem(
            app.post("/api/v1/lost-reasons", &token, &json!({"label": "Neu"})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        problem(
            app.patch(&path, &token, &json!({"active": false})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        problem(app.delete(&path, &token).await, StatusCode::FORBIDDEN).await;
        assert_eq!(
            json_with(app.get(&path, &token).await, StatusCode::OK).await,
            reason,
            "{role:?} reads the lost reason"
        );
        let list = json_with(app.get("/api/v1/lost-reasons", &token).await, StatusCode::OK).await;
        assert_eq!(
            list["items"].as_array().map(Vec::len),
            Some(1),
            "{role:?} lists lost reasons"
        );
    }
    let anonymous = app.anonymous(Method::GET, "/api/v1/lost-reasons").send().await.unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
}
