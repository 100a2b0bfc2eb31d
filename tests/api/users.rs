use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::json;

use crate::helpers::{error_fields, json_with, problem, spawn_app};

#[tokio::test]
async fn admin_creates_a_user_and_everyone_reads_it() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/v1/users",
            &app.admin(),
            &json!({"email": "anna@example.com", "display_name": "Anna", "role": "rep"}),
        )
        .await;
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let etag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let user = json_with(response, StatusCode::CREATED).await;
    let id = user["id"].as_str().unwrap();
    assert_eq!(location, Some(format!("/api/v1/users/{id}")));
    assert_eq!(etag.as_deref(), Some("\"1\""));
    assert_eq!(
        (
            user["role"].as_str(),
            user["active"].as_bool(),
            user["version"].as_i64()
        ),
        (Some("rep"), Some(true), Some(1))
    );
    assert_eq!(
        uuid::Uuid::parse_str(id).unwrap().get_version_num(),
        7,
        "ids are UUID v7"
    );
    for role in [Role::Viewer, Role::Rep, Role::Manager, Role::Integration] {
        let read = json_with(
            app.get(&format!("/api/v1/users/{id}"), &app.token_for(role, "x")).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(read["email"], "anna@example.com");
    }
}

#[tokio::test]
async fn only_admins_write_users() {
    let app = spawn_app().await;
    let user = app.create_user("bob@example.com", "rep").await;
    let path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    for role in [Role::Manager, Role::Rep, Role::Viewer, Role::Integration] {
        let token = app.token_for(role, "x");
        let body = json!({"email": "c@example.com", "display_name": "C", "role": "rep"});
        problem(app.post("/api/v1/users", &token, &body).await, StatusCode::FORBIDDEN).await;
        problem(
            app.patch(&path, &token, &json!({"role": "admin"})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        problem(app.delete(&path, &token).await, StatusCode::FORBIDDEN).await;
    }
}

#[tokio::test]
async fn a_duplicate_email_is_409_regardless_of_case() {
    let app = spawn_app().await;
    app.create_user("dup@example.com", "rep").await;
    let body = json!({"email": "DUP@example.com", "display_name": "Dup", "role": "viewer"});
    let found = problem(
        app.post("/api/v1/users", &app.admin(), &body).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(found["detail"].as_str().unwrap().contains("email"), "{found}");
}

#[tokio::test]
async fn invalid_users_are_422_naming_the_fields() {
    let app = spawn_app().await;
    let body = json!({"email": "not-an-email", "display_name": "", "role": "overlord"});
    let found = problem(
        app.post("/api/v1/users", &app.admin(), &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["display_name", "email", "role"]);
    let body = json!({"email": "not-an-email", "display_name": "", "role": "rep"});
    let found = problem(
        app.post("/api/v1/users", &app.admin(), &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["display_name", "email"]);
}

#[tokio::test]
async fn patch_changes_only_the_given_fields_and_honours_if_match() {
    let app = spawn_app().await;
    let user = app.create_user("eve@example.com", "rep").await;
    let path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    let stale = app
        .request(Method::PATCH, &path, &app.admin())
        .header("If-Match", "\"7\"")
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
    assert_eq!(
        response.headers().get("etag").and_then(|v| v.to_str().ok()),
        Some("\"2\"")
    );
    let updated = json_with(response, StatusCode::OK).await;
    assert_eq!(
        (
            updated["active"].as_bool(),
            updated["role"].as_str(),
            updated["version"].as_i64()
        ),
        (Some(false), Some("rep"), Some(2))
    );
    assert_eq!(updated["email"], "eve@example.com");
    problem(
        app.patch(&path, &app.admin(), &json!({"email": null})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem(
        app.patch(&path, &app.admin(), &json!({"id": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn unknown_users_are_404() {
    let app = spawn_app().await;
    let path = "/api/v1/users/0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10";
    problem(app.get(path, &app.admin()).await, StatusCode::NOT_FOUND).await;
    problem(
        app.patch(path, &app.admin(), &json!({"active": false})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(app.delete(path, &app.admin()).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_user_who_owns_partners_cannot_be_deleted_but_a_free_one_can() {
    let app = spawn_app().await;
    let owner = app.create_user("owner@example.com", "rep").await;
    let free = app.create_user("free@example.com", "rep").await;
    app.create_partner(json!({"kind": "lead", "name": "Owned GmbH", "owner_id": owner["id"]}))
        .await;
    let owner_path = format!("/api/v1/users/{}", owner["id"].as_str().unwrap());
    problem(app.delete(&owner_path, &app.admin()).await, StatusCode::CONFLICT).await;
    json_with(app.get(&owner_path, &app.admin()).await, StatusCode::OK).await;
    let free_path = format!("/api/v1/users/{}", free["id"].as_str().unwrap());
    let stale = app
        .request(Method::DELETE, &free_path, &app.admin())
        .header("If-Match", "\"3\"")
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(
        app.delete(&free_path, &app.admin()).await.status(),
        StatusCode::NO_CONTENT
    );
    problem(app.get(&free_path, &app.admin()).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn the_user_list_filters_and_pages_by_email() {
    let app = spawn_app().await;
    for (email, role) in [
        ("c@example.com", "rep"),
        ("A@example.com", "rep"),
        ("b@example.com", "manager"),
        ("d@example.com", "viewer"),
    ] {
        app.create_user(email, role).await;
    }
    let reps = json_with(app.get("/api/v1/users?role=rep", &app.admin()).await, StatusCode::OK).await;
    let emails: Vec<&str> = reps["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, vec!["A@example.com", "c@example.com"]);
    let first = json_with(app.get("/api/v1/users?limit=3", &app.admin()).await, StatusCode::OK).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = json_with(
        app.get(&format!("/api/v1/users?limit=3&cursor={cursor}"), &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(second["items"][0]["email"], "d@example.com");
    assert!(second["next_cursor"].is_null());
    let found = json_with(app.get("/api/v1/users?q=B%40EX", &app.admin()).await, StatusCode::OK).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
}
