use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, header, instant, json_with, problem, spawn_app};

const NOBODY: &str = "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10";

async fn create_class(app: &TestApp, body: Value) -> Value {
    json_with(
        app.post("/api/v1/classes", &app.admin(), &body).await,
        StatusCode::CREATED,
    )
    .await
}

/// Posts a class as admin and expects a 422; returns the fields it names.
async fn rejected(app: &TestApp, body: &Value) -> Vec<String> {
    let found = problem(
        app.post("/api/v1/classes", &app.admin(), body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    error_fields(&found)
}

async fn codes(app: &TestApp, query: &str) -> Vec<String> {
    let page = json_with(
        app.get(&format!("/api/v1/classes?{query}"), &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_class_is_created_with_its_code_as_id_and_read_by_code() {
    let app = spawn_app().await;
    let funnel = app.create_simple_funnel("Neuwagen", "NW").await;
    let owner = app.create_user("owner@example.com", "rep").await;
    let body = json!({
        "id": "NEUWAGEN", "description": "Neufahrzeuge", "default_funnel_id": funnel["id"],
        "default_owner_id": owner["id"], "active": false
    });
    let response = app.post("/api/v1/classes", &app.admin(), &body).await;
    let location = header(&response, "location");
    let etag = header(&response, "etag");
    let created = json_with(response, StatusCode::CREATED).await;
    for (field, value) in body.as_object().unwrap() {
        assert_eq!(&created[field], value, "field {field}");
    }
    assert_eq!(created["version"], 1);
    assert_eq!(location.as_deref(), Some("/api/v1/classes/NEUWAGEN"));
    assert_eq!(etag.as_deref(), Some("\"1\""));
    let read = app.get("/api/v1/classes/NEUWAGEN", &app.admin()).await;
    assert_eq!(header(&read, "etag").as_deref(), Some("\"1\""));
    assert_eq!(json_with(read, StatusCode::OK).await, created);
    let minimal = create_class(&app, json!({"id": "SERVICE"})).await;
    assert_eq!(
        (
            minimal["active"].as_bool(),
            minimal["description"].is_null(),
            minimal["default_funnel_id"].is_null(),
            minimal["default_owner_id"].is_null()
        ),
        (Some(true), true, true, true)
    );
}

#[tokio::test]
async fn a_class_code_is_1_to_30_upper_case_letters_digits_dashes_or_underscores() {
    let app = spawn_app().await;
    for bad in [
        "auto".to_owned(),
        "Auto".to_owned(),
        "A".repeat(31),
        "NEU WAGEN".to_owned(),
        String::new(),
        "AUTO!".to_owned(),
        "ÄRGER".to_owned(),
    ] {
        assert_eq!(rejected(&app, &json!({"id": bad})).await, vec!["id"], "code {bad:?}");
    }
    for good in ["A".repeat(30), "A-1_B".to_owned(), "2026".to_owned()] {
        assert_eq!(create_class(&app, json!({"id": good})).await["id"], good.as_str());
    }
    assert_eq!(rejected(&app, &json!({"description": "no code"})).await, vec!["id"]);
}

#[tokio::test]
async fn a_duplicate_class_code_is_409() {
    let app = spawn_app().await;
    create_class(&app, json!({"id": "AUTO", "description": "first"})).await;
    problem(
        app.post(
            "/api/v1/classes",
            &app.admin(),
            &json!({"id": "AUTO", "description": "second"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    let read = json_with(app.get("/api/v1/classes/AUTO", &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["description"], "first");
}

#[tokio::test]
async fn the_default_funnel_and_owner_must_exist() {
    let app = spawn_app().await;
    let body = json!({"id": "AUTO", "default_funnel_id": NOBODY, "default_owner_id": NOBODY});
    assert_eq!(
        rejected(&app, &body).await,
        vec!["default_funnel_id", "default_owner_id"]
    );
    let body = json!({"id": "AUTO", "default_funnel_id": NOBODY});
    assert_eq!(rejected(&app, &body).await, vec!["default_funnel_id"]);
    let body = json!({"id": "AUTO", "default_owner_id": NOBODY});
    assert_eq!(rejected(&app, &body).await, vec!["default_owner_id"]);
    problem(
        app.get("/api/v1/classes/AUTO", &app.admin()).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    create_class(&app, json!({"id": "AUTO"})).await;
    for (patch, field) in [
        (json!({"default_funnel_id": NOBODY}), "default_funnel_id"),
        (json!({"default_owner_id": NOBODY}), "default_owner_id"),
    ] {
        let found = problem(
            app.patch("/api/v1/classes/AUTO", &app.admin(), &patch).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&found), vec![field]);
    }
}

#[tokio::test]
async fn patch_cannot_change_the_code_but_can_clear_the_default_owner() {
    let app = spawn_app().await;
    let funnel = app.create_simple_funnel("Neuwagen", "NW").await;
    let owner = app.create_user("owner@example.com", "rep").await;
    let created = create_class(
        &app,
        json!({"id": "AUTO", "description": "Autos", "default_funnel_id": funnel["id"], "default_owner_id": owner["id"]}),
    )
    .await;
    let found = problem(
        app.patch("/api/v1/classes/AUTO", &app.admin(), &json!({"id": "CAR"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["id"]);
    problem(
        app.get("/api/v1/classes/CAR", &app.admin()).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let response = app
        .patch("/api/v1/classes/AUTO", &app.admin(), &json!({"default_owner_id": null}))
        .await;
    assert_eq!(header(&response, "etag").as_deref(), Some("\"2\""));
    let updated = json_with(response, StatusCode::OK).await;
    assert!(updated["default_owner_id"].is_null(), "{updated}");
    assert_eq!(updated["default_funnel_id"], funnel["id"]);
    assert_eq!(updated["description"], "Autos");
    assert_eq!(updated["version"], 2);
    assert!(instant(&updated["updated_at"]) > instant(&created["updated_at"]));
    let deactivated = json_with(
        app.patch(
            "/api/v1/classes/AUTO",
            &app.admin(),
            &json!({"active": false, "description": null}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (deactivated["active"].as_bool(), deactivated["description"].is_null()),
        (Some(false), true)
    );
    let found = problem(
        app.patch("/api/v1/classes/AUTO", &app.admin(), &json!({"active": null}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["active"]);
}

#[tokio::test]
async fn if_match_guards_class_changes_and_deletion() {
    let app = spawn_app().await;
    create_class(&app, json!({"id": "AUTO"})).await;
    let stale = app
        .request(Method::PATCH, "/api/v1/classes/AUTO", &app.admin())
        .header("If-Match", "\"9\"")
        .json(&json!({"description": "x"}))
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let stale_delete = app
        .request(Method::DELETE, "/api/v1/classes/AUTO", &app.admin())
        .header("If-Match", "\"9\"")
        .send()
        .await
        .unwrap();
    problem(stale_delete, StatusCode::PRECONDITION_FAILED).await;
    let matching = app
        .request(Method::DELETE, "/api/v1/classes/AUTO", &app.admin())
        .header("If-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(matching.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_class_is_deleted_and_then_unknown() {
    let app = spawn_app().await;
    create_class(&app, json!({"id": "AUTO"})).await;
    let response = app.delete("/api/v1/classes/AUTO", &app.admin()).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    problem(
        app.get("/api/v1/classes/AUTO", &app.admin()).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(codes(&app, "").await.is_empty());
}

#[tokio::test]
async fn unknown_classes_are_404() {
    let app = spawn_app().await;
    create_class(&app, json!({"id": "AUTO"})).await;
    for path in ["/api/v1/classes/NOPE", "/api/v1/classes/auto"] {
        problem(app.get(path, &app.admin()).await, StatusCode::NOT_FOUND).await;
        problem(
            app.patch(path, &app.admin(), &json!({"description": "x"})).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        problem(app.delete(path, &app.admin()).await, StatusCode::NOT_FOUND).await;
    }
}

#[tokio::test]
async fn the_class_list_pages_by_code_and_filters() {
    let app = spawn_app().await;
    for (code, description, active) in [
        ("DELTA", "Dienstwagen", true),
        ("ALPHA", "Autos", true),
        ("ECHO", "Elektro", false),
        ("CHARLIE", "Caravans", true),
        ("BRAVO", "Busse", true),
    ] {
        create_class(&app, json!({"id": code, "description": description, "active": active})).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("/api/v1/classes?limit=2&cursor={c}"),
            None => "/api/v1/classes?limit=2".to_owned(),
        };
        let page = json_with(app.get(&query, &app.admin()).await, StatusCode::OK).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, vec!["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO"]);
    assert_eq!(codes(&app, "active=false").await, vec!["ECHO"]);
    assert_eq!(codes(&app, "active=true&limit=200").await.len(), 4);
    assert_eq!(codes(&app, "q=elek").await, vec!["ECHO"], "q matches the description");
    assert_eq!(codes(&app, "q=brav").await, vec!["BRAVO"], "q matches the code");
}

#[tokio::test]
async fn only_admins_write_classes_and_everyone_reads_them() {
    let app = spawn_app().await;
    let class = create_class(&app, json!({"id": "AUTO"})).await;
    for role in [Role::Manager, Role::Rep, Role::Viewer, Role::Integration] {
        let token = app.token_for(role, "x");
        problem(
            app.post("/api/v1/classes", &token, &json!({"id": "NEU"})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        problem(
            app.patch("/api/v1/classes/AUTO", &token, &json!({"active": false}))
                .await,
            StatusCode::FORBIDDEN,
        )
        .await;
        problem(app.delete("/api/v1/classes/AUTO", &token).await, StatusCode::FORBIDDEN).await;
        let read = json_with(app.get("/api/v1/classes/AUTO", &token).await, StatusCode::OK).await;
        assert_eq!(read, class, "{role:?} reads the class");
        let list = json_with(app.get("/api/v1/classes", &token).await, StatusCode::OK).await;
        assert_eq!(
            list["items"].as_array().map(Vec::len),
            Some(1),
            "{role:?} lists classes"
        );
    }
    let anonymous = app.anonymous(Method::GET, "/api/v1/classes/AUTO").send().await.unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
}
