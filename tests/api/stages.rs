use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, header, instant, json_with, problem, spawn_app};

const UNKNOWN: &str = "/api/v1/stages/0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10";

fn path_of(stage: &Value) -> String {
    format!("/api/v1/stages/{}", stage["id"].as_str().unwrap())
}

fn open_stage(code: &str, probability: Value) -> Value {
    json!({"code": code, "name": format!("Stage {code}"), "probability": probability, "outcome": "open"})
}

/// Posts a stage as admin and expects a 422; returns the fields it names.
async fn rejected(app: &TestApp, body: &Value) -> Vec<String> {
    let found = problem(
        app.post("/api/v1/stages", &app.admin(), body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    error_fields(&found)
}

async fn codes(app: &TestApp, query: &str) -> Vec<String> {
    let page = json_with(
        app.get(&format!("/api/v1/stages?{query}"), &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_stage_is_created_with_every_field() {
    let app = spawn_app().await;
    let body = json!({
        "code": "PROBEFAHRT", "name": "Probefahrt", "icon": "car", "probability": 40.5, "outcome": "open",
        "requires_lines": true, "warn_after_days": 3, "critical_after_days": 7, "active": false
    });
    let response = app.post("/api/v1/stages", &app.admin(), &body).await;
    let location = header(&response, "location");
    let etag = header(&response, "etag");
    let created = json_with(response, StatusCode::CREATED).await;
    for (field, value) in body.as_object().unwrap() {
        if field != "probability" {
            assert_eq!(&created[field], value, "field {field}");
        }
    }
    assert!(
        created["probability"].is_number(),
        "probability is a JSON number: {created}"
    );
    assert_eq!(created["probability"].as_f64(), Some(40.5));
    assert_eq!(created["version"], 1);
    assert_eq!(location, Some(path_of(&created)));
    assert_eq!(etag.as_deref(), Some("\"1\""));
    let read = json_with(app.get(&path_of(&created), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read, created);
}

#[tokio::test]
async fn a_whole_probability_is_a_json_number_and_defaults_fill_the_rest() {
    let app = spawn_app().await;
    let created = app.create_stage(open_stage("ERSTKONTAKT", json!(40))).await;
    assert!(created["probability"].is_number(), "{created}");
    assert_eq!(created["probability"].as_f64(), Some(40.0));
    assert_eq!(
        (
            created["requires_lines"].as_bool(),
            created["active"].as_bool(),
            created["icon"].is_null(),
            created["warn_after_days"].is_null(),
            created["critical_after_days"].is_null()
        ),
        (Some(false), Some(true), true, true, true)
    );
}

#[tokio::test]
async fn a_stage_code_is_unique_regardless_of_case() {
    let app = spawn_app().await;
    app.create_stage(open_stage("QUALI", json!(10))).await;
    let found = problem(
        app.post("/api/v1/stages", &app.admin(), &open_stage("quali", json!(20)))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(found["detail"].as_str().unwrap().contains("code"), "{found}");
    let other = app.create_stage(open_stage("ANGEBOT", json!(60))).await;
    problem(
        app.patch(&path_of(&other), &app.admin(), &json!({"code": "Quali"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(codes(&app, "").await, vec!["ANGEBOT", "QUALI"]);
}

#[tokio::test]
async fn probability_is_0_to_100_with_at_most_two_decimals() {
    let app = spawn_app().await;
    for bad in [json!(100.01), json!(-1), json!(12.345), json!("viel")] {
        assert_eq!(
            rejected(&app, &open_stage("BAD", bad.clone())).await,
            vec!["probability"],
            "probability {bad}"
        );
    }
    for (code, good, expected) in [
        ("ZERO", json!(0), 0.0),
        ("FULL", json!(100), 100.0),
        ("FINE", json!(99.99), 99.99),
    ] {
        let created = app.create_stage(open_stage(code, good)).await;
        assert_eq!(created["probability"].as_f64(), Some(expected), "{code}");
    }
}

#[tokio::test]
async fn a_won_stage_must_have_probability_100_and_a_lost_stage_0() {
    let app = spawn_app().await;
    let won_at_90 = json!({"code": "WON", "name": "Gewonnen", "outcome": "won", "probability": 90});
    assert_eq!(rejected(&app, &won_at_90).await, vec!["probability"]);
    let lost_at_5 = json!({"code": "LOST", "name": "Verloren", "outcome": "lost", "probability": 5});
    assert_eq!(rejected(&app, &lost_at_5).await, vec!["probability"]);
    let won = app
        .create_stage(json!({"code": "WON", "name": "Gewonnen", "outcome": "won"}))
        .await;
    assert_eq!(won["probability"].as_f64(), Some(100.0));
    let lost = app
        .create_stage(json!({"code": "LOST", "name": "Verloren", "outcome": "lost"}))
        .await;
    assert_eq!(lost["probability"].as_f64(), Some(0.0));
    let explicit = app
        .create_stage(json!({"code": "WON2", "name": "Auftrag", "outcome": "won", "probability": 100}))
        .await;
    assert_eq!(explicit["probability"].as_f64(), Some(100.0));
    problem(
        app.patch(&path_of(&won), &app.admin(), &json!({"probability": 50}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}

#[tokio::test]
async fn an_open_stage_needs_a_probability() {
    let app = spawn_app().await;
    let body = json!({"code": "OFFEN", "name": "Offen", "outcome": "open"});
    assert_eq!(rejected(&app, &body).await, vec!["probability"]);
}

#[tokio::test]
async fn critical_after_days_must_be_later_than_warn_after_days() {
    let app = spawn_app().await;
    for (warn, critical) in [(7, 7), (7, 3)] {
        let mut body = open_stage("T", json!(10));
        body["warn_after_days"] = warn.into();
        body["critical_after_days"] = critical.into();
        assert_eq!(
            rejected(&app, &body).await,
            vec!["critical_after_days"],
            "warn {warn}, critical {critical}"
        );
    }
    let mut zero = open_stage("T", json!(10));
    zero["warn_after_days"] = 0.into();
    assert_eq!(rejected(&app, &zero).await, vec!["warn_after_days"]);
    let mut only_critical = open_stage("T", json!(10));
    only_critical["critical_after_days"] = 2.into();
    let stage = app.create_stage(only_critical).await;
    assert_eq!(stage["critical_after_days"], 2);
    let found = problem(
        app.patch(&path_of(&stage), &app.admin(), &json!({"warn_after_days": 5}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["critical_after_days"]);
    let fixed = json_with(
        app.patch(
            &path_of(&stage),
            &app.admin(),
            &json!({"warn_after_days": 5, "critical_after_days": 10}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (fixed["warn_after_days"].as_i64(), fixed["critical_after_days"].as_i64()),
        (Some(5), Some(10))
    );
}

#[tokio::test]
async fn invalid_stages_are_422_naming_each_field() {
    let app = spawn_app().await;
    let body = json!({"code": "bad code", "name": "", "icon": "x".repeat(65), "probability": 10, "outcome": "open"});
    assert_eq!(rejected(&app, &body).await, vec!["code", "icon", "name"]);
    let body = json!({"outcome": "maybe", "requires_lines": "yes", "colour": "red"});
    assert_eq!(
        rejected(&app, &body).await,
        vec!["code", "colour", "name", "outcome", "requires_lines"]
    );
}

#[tokio::test]
async fn patch_is_a_merge_patch_and_bumps_the_version() {
    let app = spawn_app().await;
    let created = app
        .create_stage(json!({
            "code": "ANGEBOT", "name": "Angebot", "icon": "doc", "probability": 60, "outcome": "open",
            "warn_after_days": 5, "critical_after_days": 10
        }))
        .await;
    let response = app
        .patch(
            &path_of(&created),
            &app.admin(),
            &json!({"name": "Angebot erstellt", "icon": null, "probability": 65.25}),
        )
        .await;
    assert_eq!(header(&response, "etag").as_deref(), Some("\"2\""));
    let updated = json_with(response, StatusCode::OK).await;
    assert_eq!(updated["name"], "Angebot erstellt");
    assert!(updated["icon"].is_null());
    assert_eq!(updated["probability"].as_f64(), Some(65.25));
    assert_eq!(updated["version"], 2);
    for unchanged in [
        "id",
        "code",
        "outcome",
        "requires_lines",
        "warn_after_days",
        "critical_after_days",
        "active",
        "created_at",
    ] {
        assert_eq!(updated[unchanged], created[unchanged], "field {unchanged}");
    }
    assert!(instant(&updated["updated_at"]) > instant(&created["updated_at"]));
    let found = problem(
        app.patch(&path_of(&created), &app.admin(), &json!({"name": null, "id": "x"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["id", "name"]);
    let read = json_with(app.get(&path_of(&created), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read, updated, "a rejected patch changes nothing");
}

#[tokio::test]
async fn an_unused_open_stage_may_become_won_and_then_has_probability_100() {
    let app = spawn_app().await;
    let stage = app.create_stage(open_stage("ZUSAGE", json!(90))).await;
    let won = json_with(
        app.patch(&path_of(&stage), &app.admin(), &json!({"outcome": "won"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (won["outcome"].as_str(), won["probability"].as_f64()),
        (Some("won"), Some(100.0))
    );
    let found = problem(
        app.patch(
            &path_of(&stage),
            &app.admin(),
            &json!({"outcome": "lost", "probability": 10}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["probability"]);
}

#[tokio::test]
async fn if_match_guards_stage_changes_and_deletion() {
    let app = spawn_app().await;
    let path = path_of(&app.create_stage(open_stage("KONTAKT", json!(10))).await);
    let stale = app
        .request(Method::PATCH, &path, &app.admin())
        .header("If-Match", "\"4\"")
        .json(&json!({"probability": 20}))
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let fresh = app
        .request(Method::PATCH, &path, &app.admin())
        .header("If-Match", "\"1\"")
        .json(&json!({"probability": 20}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_with(fresh, StatusCode::OK).await["version"], 2);
    let stale_delete = app
        .request(Method::DELETE, &path, &app.admin())
        .header("If-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    problem(stale_delete, StatusCode::PRECONDITION_FAILED).await;
    let read = json_with(app.get(&path, &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["probability"].as_f64(), Some(20.0));
}

#[tokio::test]
async fn a_stage_a_funnel_uses_keeps_its_outcome_stays_active_and_cannot_be_deleted() {
    let app = spawn_app().await;
    let funnel = app.create_simple_funnel("Neuwagen", "NW").await;
    let open = format!("/api/v1/stages/{}", funnel["stage_ids"][0].as_str().unwrap());
    let won = format!("/api/v1/stages/{}", funnel["stage_ids"][1].as_str().unwrap());
    problem(
        app.patch(&open, &app.admin(), &json!({"outcome": "lost"})).await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.patch(&won, &app.admin(), &json!({"outcome": "open", "probability": 50}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.patch(&open, &app.admin(), &json!({"active": false})).await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(app.delete(&open, &app.admin()).await, StatusCode::CONFLICT).await;
    let read = json_with(app.get(&open, &app.admin()).await, StatusCode::OK).await;
    assert_eq!(
        (
            read["outcome"].as_str(),
            read["active"].as_bool(),
            read["version"].as_i64()
        ),
        (Some("open"), Some(true), Some(1))
    );
    let renamed = json_with(
        app.patch(&open, &app.admin(), &json!({"name": "Erstkontakt", "probability": 15}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (renamed["name"].as_str(), renamed["probability"].as_f64()),
        (Some("Erstkontakt"), Some(15.0)),
        "other fields of a used stage may change"
    );
}

#[tokio::test]
async fn an_unused_stage_is_deleted() {
    let app = spawn_app().await;
    let path = path_of(&app.create_stage(open_stage("WEG", json!(10))).await);
    let response = app.delete(&path, &app.admin()).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    problem(app.get(&path, &app.admin()).await, StatusCode::NOT_FOUND).await;
    problem(app.delete(&path, &app.admin()).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn unknown_stages_are_404_and_a_malformed_id_is_400() {
    let app = spawn_app().await;
    problem(app.get(UNKNOWN, &app.admin()).await, StatusCode::NOT_FOUND).await;
    problem(
        app.patch(UNKNOWN, &app.admin(), &json!({"name": "x"})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(app.delete(UNKNOWN, &app.admin()).await, StatusCode::NOT_FOUND).await;
    problem(
        app.get("/api/v1/stages/not-a-uuid", &app.admin()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn the_stage_list_filters_by_active_outcome_and_text() {
    let app = spawn_app().await;
    app.create_stage(json!({"code": "ERST", "name": "Erstkontakt", "probability": 10, "outcome": "open"}))
        .await;
    app.create_stage(json!({"code": "ALT", "name": "Altphase", "probability": 20, "outcome": "open", "active": false}))
        .await;
    app.create_stage(json!({"code": "WON", "name": "Gewonnen", "outcome": "won"}))
        .await;
    app.create_stage(json!({"code": "LOST", "name": "Verloren", "outcome": "lost"}))
        .await;
    assert_eq!(
        codes(&app, "").await,
        vec!["ALT", "ERST", "WON", "LOST"],
        "ordered by name"
    );
    assert_eq!(codes(&app, "active=true").await, vec!["ERST", "WON", "LOST"]);
    assert_eq!(codes(&app, "active=false").await, vec!["ALT"]);
    assert_eq!(codes(&app, "outcome=open").await, vec!["ALT", "ERST"]);
    assert_eq!(codes(&app, "outcome=won").await, vec!["WON"]);
    assert_eq!(codes(&app, "outcome=open&active=true").await, vec!["ERST"]);
    assert_eq!(codes(&app, "q=kontakt").await, vec!["ERST"], "q matches the name");
    assert_eq!(codes(&app, "q=los").await, vec!["LOST"], "q matches the code");
    assert!(codes(&app, "q=nichts").await.is_empty());
    problem(
        app.get("/api/v1/stages?outcome=maybe", &app.admin()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn keyset_pages_list_every_stage_once() {
    let app = spawn_app().await;
    for (i, name) in ["Echo", "Alpha", "Delta", "Alpha", "Charlie", "Bravo", "Delta"]
        .iter()
        .enumerate()
    {
        // Duplicate names test the id tie-breaker.
        app.create_stage(json!({"code": format!("S{i}"), "name": name, "probability": 10, "outcome": "open"}))
            .await;
    }
    let mut seen: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("/api/v1/stages?limit=2&cursor={c}"),
            None => "/api/v1/stages?limit=2".to_owned(),
        };
        let page = json_with(app.get(&query, &app.admin()).await, StatusCode::OK).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().cloned());
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 4);
    let ids: HashSet<&str> = seen.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!((seen.len(), ids.len()), (7, 7), "no stage twice, none missing");
    let names: Vec<&str> = seen.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec!["Alpha", "Alpha", "Bravo", "Charlie", "Delta", "Delta", "Echo"]
    );
    problem(
        app.get("/api/v1/stages?limit=0", &app.admin()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(
        app.get("/api/v1/stages?cursor=garbage", &app.admin()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn only_admins_write_stages_and_everyone_reads_them() {
    let app = spawn_app().await;
    let stage = app.create_stage(open_stage("KONTAKT", json!(10))).await;
    let path = path_of(&stage);
    for role in [Role::Manager, Role::Rep, Role::Viewer, Role::Integration] {
        let token = app.token_for(role, "x");
        problem(
            app.post("/api/v1/stages", &token, &open_stage("NEU", json!(10))).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        problem(
            app.patch(&path, &token, &json!({"probability": 90})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        problem(app.delete(&path, &token).await, StatusCode::FORBIDDEN).await;
        let read = json_with(app.get(&path, &token).await, StatusCode::OK).await;
        assert_eq!(read, stage, "{role:?} reads the stage");
        assert_eq!(codes(&app, "").await, vec!["KONTAKT"]);
        let list = json_with(app.get("/api/v1/stages", &token).await, StatusCode::OK).await;
        assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{role:?} lists stages");
    }
    let anonymous = app.anonymous(Method::GET, "/api/v1/stages").send().await.unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
    let anonymous = app
        .anonymous(Method::POST, "/api/v1/stages")
        .json(&open_stage("NEU", json!(10)))
        .send()
        .await
        .unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_retried_create_with_the_same_idempotency_key_makes_one_stage() {
    let app = spawn_app().await;
    let body = open_stage("EINMAL", json!(25));
    let mut ids = Vec::new();
    for _ in 0..2 {
        let response = app
            .request(Method::POST, "/api/v1/stages", &app.admin())
            .header("Idempotency-Key", "stage-1")
            .json(&body)
            .send()
            .await
            .unwrap();
        ids.push(json_with(response, StatusCode::CREATED).await["id"].clone());
    }
    assert_eq!(ids[0], ids[1]);
    assert_eq!(codes(&app, "").await, vec!["EINMAL"]);
}
