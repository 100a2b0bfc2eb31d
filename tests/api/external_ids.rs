//! The ERP's keys: `external_id` on partners (set by admin and integration, unique, a filter)
//! and the upsert `PUT /business-partners/by-external-id/{external_id}`.

use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::*;

const UPSERT: &str = "/api/v1/business-partners/by-external-id";

async fn put(app: &TestApp, token: &str, key: &str, body: &Value, if_match: Option<&str>) -> reqwest::Response {
    let mut request = app.request(Method::PUT, &format!("{UPSERT}/{key}"), token).json(body);
    if let Some(version) = if_match {
        request = request.header("If-Match", version);
    }
    request.send().await.unwrap()
}

/// The types of `subject`'s events, once the feed holds at least `count` events.
async fn events_of(app: &TestApp, subject: &Value, count: usize) -> Vec<String> {
    app.feed(count)
        .await
        .iter()
        .filter(|e| e["subject_id"] == *subject)
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_partner_upsert_creates_then_replaces_and_a_repeat_keeps_the_version() {
    let app = spawn_app().await;
    let integration = app.token_for(Role::Integration, "erp");
    let body = json!({"kind": "customer", "name": "Müller GmbH", "city": "München", "phone": "+49 89 1234567"});

    let response = put(&app, &integration, "D-100", &body, None).await;
    assert!(header(&response, "location").is_some());
    let created = json_with(response, StatusCode::CREATED).await;
    assert_eq!(
        (created["external_id"].clone(), created["version"].clone()),
        (json!("D-100"), json!(1))
    );

    let again = json_with(put(&app, &integration, "D-100", &body, None).await, StatusCode::OK).await;
    assert_eq!(again, created, "the same PUT twice changes nothing");

    // A replacement: absent optional fields become null.
    let replaced = json_with(
        put(
            &app,
            &integration,
            "D-100",
            &json!({"kind": "customer", "name": "Müller AG"}),
            Some("\"1\""),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (replaced["name"].clone(), replaced["city"].clone()),
        (json!("Müller AG"), Value::Null)
    );
    assert_eq!(
        (replaced["id"].clone(), replaced["version"].clone()),
        (created["id"].clone(), json!(2))
    );
    problem(
        put(&app, &integration, "D-100", &body, Some("\"1\"")).await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    assert_eq!(
        events_of(&app, &created["id"], 2).await,
        ["business_partner.created", "business_partner.updated"]
    );

    // The filter finds it by its key, exactly.
    let listed: Value = app
        .get("/api/v1/business-partners?external_id=D-100", &app.admin())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let none: Value = app
        .get("/api/v1/business-partners?external_id=d-100", &app.admin())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["items"], json!([]));
}

#[tokio::test]
async fn external_ids_are_unique_valid_and_set_by_admin_and_integration_only() {
    let app = spawn_app().await;
    let body = json!({"kind": "lead", "name": "Erste GmbH", "external_id": "K-1"});
    let first = json_with(
        app.post("/api/v1/business-partners", &app.admin(), &body).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(first["external_id"], "K-1");
    problem(
        app.post("/api/v1/business-partners", &app.admin(), &body).await,
        StatusCode::CONFLICT,
    )
    .await;

    let rep = app.token_for(Role::Rep, "rep");
    problem(
        app.post("/api/v1/business-partners", &rep, &body).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let path = format!("/api/v1/business-partners/{}", first["id"].as_str().unwrap());
    problem(
        app.patch(&path, &rep, &json!({"external_id": "K-2"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        put(&app, &rep, "K-9", &json!({"kind": "lead", "name": "X"}), None).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // A rep may still change the other fields.
    json_with(app.patch(&path, &rep, &json!({"city": "Köln"})).await, StatusCode::OK).await;

    for bad in [json!(""), json!(" K-1"), json!("x".repeat(201))] {
        let rejected = problem(
            app.post(
                "/api/v1/business-partners",
                &app.admin(),
                &json!({"kind": "lead", "name": "Y", "external_id": bad}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&rejected), ["external_id"]);
    }
    let mismatch = problem(
        put(
            &app,
            &app.admin(),
            "K-5",
            &json!({"kind": "lead", "name": "Z", "external_id": "K-6"}),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&mismatch), ["external_id"]);
    let cleared = json_with(
        app.patch(&path, &app.admin(), &json!({"external_id": null})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cleared["external_id"], Value::Null);
}

#[tokio::test]
async fn the_opportunity_upsert_creates_replaces_moves_and_keeps_a_repeat() {
    let app = spawn_app().await;
    let s = crate::opportunities::sales(&app, "EXT").await;
    let integration = app.token_for(Role::Integration, "erp");
    let path = "/api/v1/opportunities/by-external-id/AUF-1";
    let body = json!({
        "subject": "Flotte 2027", "business_partner_id": s.partner, "class_id": s.class, "stage_id": s.first,
        "target_value": "50000.00", "description": "12 Kombis"
    });
    let send = |body: Value, version: Option<&'static str>| {
        let mut request = app.request(Method::PUT, path, &integration).json(&body);
        if let Some(version) = version {
            request = request.header("If-Match", version);
        }
        request.send()
    };
    let created = json_with(send(body.clone(), None).await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(
        (created["external_id"].clone(), created["version"].clone()),
        (json!("AUF-1"), json!(1))
    );
    let again = json_with(send(body.clone(), None).await.unwrap(), StatusCode::OK).await;
    assert_eq!(again["version"], 1, "the same PUT twice keeps the version");

    // A replacement with another open stage is a recorded move; the description is cleared.
    let mut moved = body.clone();
    moved["stage_id"] = json!(s.proposal);
    moved.as_object_mut().unwrap().remove("description");
    let replaced = json_with(send(moved.clone(), Some("\"1\"")).await.unwrap(), StatusCode::OK).await;
    assert_eq!(
        (replaced["stage_id"].clone(), replaced["description"].clone()),
        (json!(s.proposal), Value::Null)
    );
    assert_eq!(replaced["id"], created["id"]);
    problem(
        send(body.clone(), Some("\"1\"")).await.unwrap(),
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    let history: Value = app
        .get(
            &format!("/api/v1/opportunities/{}/history", created["id"].as_str().unwrap()),
            &app.admin(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history["items"].as_array().map(Vec::len), Some(2), "{history}");

    let listed: Value = app
        .get("/api/v1/opportunities?external_id=AUF-1", &app.admin())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["id"], created["id"]);
    // Reps neither upsert nor set keys; a closed opportunity is read-only.
    let rep = app.token_for(Role::Rep, "rep");
    problem(
        app.request(Method::PUT, path, &rep).json(&body).send().await.unwrap(),
        StatusCode::FORBIDDEN,
    )
    .await;
    json_with(
        app.post(
            &format!("/api/v1/opportunities/{}/win", created["id"].as_str().unwrap()),
            &app.admin(),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    problem(send(body, None).await.unwrap(), StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn activities_carry_an_external_id_and_filter_by_it() {
    let app = spawn_app().await;
    let partner = app.create_partner(json!({"kind": "lead", "name": "Akt GmbH"})).await;
    let body =
        json!({"kind": "call", "subject": "Anruf", "business_partner_id": partner["id"], "external_id": "CRM-1"});
    let activity = json_with(
        app.post("/api/v1/activities", &app.admin(), &body).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(activity["external_id"], "CRM-1");
    problem(
        app.post("/api/v1/activities", &app.admin(), &body).await,
        StatusCode::CONFLICT,
    )
    .await;
    let listed: Value = app
        .get("/api/v1/activities?external_id=CRM-1", &app.admin())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let rep = app.token_for(Role::Rep, "rep");
    let path = format!("/api/v1/activities/{}", activity["id"].as_str().unwrap());
    problem(
        app.patch(&path, &rep, &json!({"external_id": "CRM-2"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let patched = json_with(
        app.patch(&path, &app.admin(), &json!({"external_id": "CRM-2"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["external_id"], "CRM-2");
}
