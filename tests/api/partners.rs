use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, json_with, problem, spawn_app};

fn path_of(partner: &Value) -> String {
    format!("/api/v1/business-partners/{}", partner["id"].as_str().unwrap())
}

fn full_partner() -> Value {
    json!({
        "kind": "lead", "name": "Autohaus Müller GmbH", "email": "info@mueller.example", "phone": "+49 89 1234567",
        "website": "https://mueller.example", "street": "Leopoldstraße 12", "postal_code": "80802", "city": "München",
        "country": "DE", "vat_id": "DE123456789", "notes": "Flotte mit 40 Fahrzeugen"
    })
}

#[tokio::test]
async fn a_partner_is_created_with_every_field_and_a_number() {
    let app = spawn_app().await;
    let created = app.create_partner(full_partner()).await;
    for (field, value) in full_partner().as_object().unwrap() {
        assert_eq!(&created[field], value, "field {field}");
    }
    assert_eq!(created["number"], "BP-000001");
    let second = app
        .create_partner(json!({"kind": "customer", "name": "Zweite AG"}))
        .await;
    assert_eq!(second["number"], "BP-000002");
    let read = json_with(app.get(&path_of(&created), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read, created);
}

#[tokio::test]
async fn the_owner_defaults_to_the_calling_user_and_must_exist() {
    let app = spawn_app().await;
    let rep = app.create_user("rep@example.com", "rep").await;
    let rep_token = app.token_for(Role::Rep, rep["id"].as_str().unwrap());
    let created = json_with(
        app.post(
            "/api/v1/business-partners",
            &rep_token,
            &json!({"kind": "lead", "name": "Mine"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["owner_id"], rep["id"]);
    let by_admin = app.create_partner(json!({"kind": "lead", "name": "Nobody's"})).await;
    assert!(
        by_admin["owner_id"].is_null(),
        "an admin token whose sub is no user leaves the owner empty"
    );
    let body = json!({"kind": "lead", "name": "Ghost", "owner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10"});
    let found = problem(
        app.post("/api/v1/business-partners", &app.admin(), &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["owner_id"]);
}

#[tokio::test]
async fn invalid_contact_data_is_422_naming_each_field() {
    let app = spawn_app().await;
    let body = json!({
        "kind": "lead", "name": "", "email": "nope", "phone": "call me", "website": "not a url",
        "country": "Germany", "vat_id": "123"
    });
    let found = problem(
        app.post("/api/v1/business-partners", &app.admin(), &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        error_fields(&found),
        vec!["country", "email", "name", "phone", "vat_id", "website"]
    );
    let lower = json!({"kind": "lead", "name": "X", "country": "de"});
    let found = problem(
        app.post("/api/v1/business-partners", &app.admin(), &lower).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["country"]);
}

#[tokio::test]
async fn patch_is_a_merge_patch_and_bumps_the_version() {
    let app = spawn_app().await;
    let created = app.create_partner(full_partner()).await;
    let path = path_of(&created);
    let updated = json_with(
        app.patch(&path, &app.admin(), &json!({"phone": "+49 30 999999", "notes": null}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["phone"], "+49 30 999999");
    assert!(updated["notes"].is_null());
    assert_eq!(updated["name"], created["name"]);
    assert_eq!(updated["city"], created["city"]);
    assert_eq!(updated["version"], 2);
    assert!(updated["updated_at"].as_str() > created["updated_at"].as_str());
    let response = app
        .request(Method::PATCH, &path, &app.admin())
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"city": "Berlin"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(json_with(response, StatusCode::OK).await["city"], "Berlin");
}

#[tokio::test]
async fn patch_rejects_null_for_required_fields_and_unknown_fields() {
    let app = spawn_app().await;
    let path = path_of(&app.create_partner(full_partner()).await);
    let found = problem(
        app.patch(&path, &app.admin(), &json!({"name": null, "number": "BP-9"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["name", "number"]);
    let unchanged = json_with(app.get(&path, &app.admin()).await, StatusCode::OK).await;
    assert_eq!(unchanged["version"], 1, "a rejected patch changes nothing");
}

#[tokio::test]
async fn if_match_guards_against_lost_updates() {
    let app = spawn_app().await;
    let path = path_of(&app.create_partner(full_partner()).await);
    let first = app
        .request(Method::PATCH, &path, &app.admin())
        .header("If-Match", "\"1\"")
        .json(&json!({"city": "Köln"}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let second = app
        .request(Method::PATCH, &path, &app.admin())
        .header("If-Match", "\"1\"")
        .json(&json!({"city": "Bonn"}))
        .send()
        .await
        .unwrap();
    problem(second, StatusCode::PRECONDITION_FAILED).await;
    let read = app.get(&path, &app.admin()).await;
    assert_eq!(read.headers().get("etag").and_then(|v| v.to_str().ok()), Some("\"2\""));
    assert_eq!(json_with(read, StatusCode::OK).await["city"], "Köln");
}

#[tokio::test]
async fn convert_turns_a_lead_into_a_customer_once() {
    let app = spawn_app().await;
    let path = path_of(&app.create_partner(full_partner()).await);
    let stale = app
        .request(Method::POST, &format!("{path}/convert"), &app.admin())
        .header("If-Match", "\"5\"")
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let rep = app.token_for(Role::Rep, "r");
    let converted = json_with(
        app.request(Method::POST, &format!("{path}/convert"), &rep)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (converted["kind"].as_str(), converted["version"].as_i64()),
        (Some("customer"), Some(2))
    );
    let again = app
        .request(Method::POST, &format!("{path}/convert"), &app.admin())
        .send()
        .await
        .unwrap();
    problem(again, StatusCode::CONFLICT).await;
    let viewer = app.token_for(Role::Viewer, "v");
    problem(
        app.request(Method::POST, &format!("{path}/convert"), &viewer)
            .send()
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.request(
            Method::POST,
            "/api/v1/business-partners/0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10/convert",
            &app.admin(),
        )
        .send()
        .await
        .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn roles_decide_who_writes_and_deletes_partners() {
    let app = spawn_app().await;
    let path = path_of(&app.create_partner(full_partner()).await);
    for role in [Role::Rep, Role::Manager, Role::Integration] {
        let token = app.token_for(role, "x");
        json_with(
            app.post(
                "/api/v1/business-partners",
                &token,
                &json!({"kind": "lead", "name": "By role"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        json_with(
            app.patch(&path, &token, &json!({"notes": "touched"})).await,
            StatusCode::OK,
        )
        .await;
    }
    let viewer = app.token_for(Role::Viewer, "v");
    problem(
        app.patch(&path, &viewer, &json!({"notes": "no"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    for role in [Role::Rep, Role::Viewer, Role::Integration] {
        problem(
            app.delete(&path, &app.token_for(role, "x")).await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    assert_eq!(
        app.delete(&path, &app.token_for(Role::Manager, "m")).await.status(),
        StatusCode::NO_CONTENT
    );
    problem(app.get(&path, &app.admin()).await, StatusCode::NOT_FOUND).await;
    problem(app.delete(&path, &app.admin()).await, StatusCode::NOT_FOUND).await;
}

async fn names(app: &TestApp, query: &str) -> Vec<String> {
    let page = json_with(
        app.get(&format!("/api/v1/business-partners?{query}"), &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_list_filters_by_kind_owner_text_and_change_time() {
    let app = spawn_app().await;
    let owner = app.create_user("owner@example.com", "rep").await;
    app.create_partner(json!({"kind": "lead", "name": "Bäckerei Schäfer", "owner_id": owner["id"]}))
        .await;
    app.create_partner(json!({"kind": "customer", "name": "Autohaus Müller"}))
        .await;
    let late = app
        .create_partner(json!({"kind": "customer", "name": "Brauerei 100%_Bio"}))
        .await;
    assert_eq!(
        names(&app, "kind=customer").await,
        vec!["Autohaus Müller", "Brauerei 100%_Bio"]
    );
    assert_eq!(
        names(&app, &format!("owner_id={}", owner["id"].as_str().unwrap())).await,
        vec!["Bäckerei Schäfer"]
    );
    assert_eq!(names(&app, "q=m%C3%BCLLer").await, vec!["Autohaus Müller"]);
    assert_eq!(names(&app, "q=BP-000003").await, vec!["Brauerei 100%_Bio"]);
    assert_eq!(
        names(&app, "q=100%25_").await,
        vec!["Brauerei 100%_Bio"],
        "% and _ are literal"
    );
    assert!(names(&app, "q=%25B").await.is_empty());
    let stamp = late["created_at"].as_str().unwrap().replace('+', "%2B");
    let since = names(&app, &format!("updated_after={stamp}")).await;
    assert!(since.is_empty(), "nothing changed after the last creation: {since:?}");
    assert_eq!(names(&app, "kind=lead&q=autohaus").await, Vec::<String>::new());
}

#[tokio::test]
async fn keyset_pages_cover_every_partner_once_in_every_sort() {
    let app = spawn_app().await;
    for i in 0..23 {
        // Duplicate names test the id tie-breaker.
        app.create_partner(json!({"kind": "lead", "name": format!("Firma {}", i % 7)}))
            .await;
    }
    for sort in [
        "name",
        "-name",
        "created_at",
        "-created_at",
        "updated_at",
        "-updated_at",
    ] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let query = match &cursor {
                Some(c) => format!("/api/v1/business-partners?sort={sort}&limit=5&cursor={c}"),
                None => format!("/api/v1/business-partners?sort={sort}&limit=5"),
            };
            let page = json_with(app.get(&query, &app.admin()).await, StatusCode::OK).await;
            seen.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let ids: HashSet<&str> = seen.iter().map(|p| p["id"].as_str().unwrap()).collect();
        assert_eq!((seen.len(), ids.len()), (23, 23), "sort {sort}");
        let key = sort.trim_start_matches('-');
        let normal = |value: &str| match chrono::DateTime::parse_from_rfc3339(value) {
            Ok(at) => at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            Err(_) => value.to_owned(),
        };
        let keys: Vec<(String, String)> = seen
            .iter()
            .map(|p| (normal(p[key].as_str().unwrap()), p["id"].as_str().unwrap().to_owned()))
            .collect();
        let mut expected = keys.clone();
        expected.sort();
        if sort.starts_with('-') {
            expected.reverse();
        }
        assert_eq!(keys, expected, "sort {sort} is ordered");
    }
    let page = json_with(
        app.get("/api/v1/business-partners?sort=name&limit=5", &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let mixed = app
        .get(
            &format!("/api/v1/business-partners?sort=-name&cursor={cursor}"),
            &app.admin(),
        )
        .await;
    problem(mixed, StatusCode::BAD_REQUEST).await;
}
