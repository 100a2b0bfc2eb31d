use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, header, json_with, problem, spawn_app};

const NOBODY: &str = "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10";

fn path_of(funnel: &Value) -> String {
    format!("/api/v1/funnels/{}", funnel["id"].as_str().unwrap())
}

/// Stages of every kind for building funnels.
struct Stages {
    open: Value,
    open2: Value,
    won: Value,
    won2: Value,
    lost: Value,
    inactive: Value,
}

async fn stage(app: &TestApp, code: &str, outcome: &str, active: bool) -> Value {
    let mut body = json!({"code": code, "name": code, "outcome": outcome, "active": active});
    if outcome == "open" {
        body["probability"] = 30.into();
    }
    app.create_stage(body).await["id"].clone()
}

async fn stages(app: &TestApp) -> Stages {
    Stages {
        open: stage(app, "OPEN", "open", true).await,
        open2: stage(app, "OPEN2", "open", true).await,
        won: stage(app, "WON", "won", true).await,
        won2: stage(app, "WON2", "won", true).await,
        lost: stage(app, "LOST", "lost", true).await,
        inactive: stage(app, "OLD", "open", false).await,
    }
}

/// Posts a funnel as admin and expects a 422; returns the problem.
async fn rejected(app: &TestApp, body: &Value) -> Value {
    problem(
        app.post("/api/v1/funnels", &app.admin(), body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

async fn names(app: &TestApp, query: &str) -> Vec<String> {
    let page = json_with(
        app.get(&format!("/api/v1/funnels?{query}"), &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

fn id_set(list: &Value) -> HashSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_funnel_keeps_its_stage_order_and_team_and_defaults_its_thresholds() {
    let app = spawn_app().await;
    let s = stages(&app).await;
    let anna = app.create_user("anna@example.com", "rep").await;
    let ben = app.create_user("ben@example.com", "rep").await;
    let order = json!([s.open2, s.open, s.won, s.lost]);
    let body = json!({
        "name": "Neuwagen", "description": "Verkauf von Neufahrzeugen", "stage_ids": order,
        "team_ids": [ben["id"], anna["id"]], "metric_label": "Potenzial"
    });
    let response = app.post("/api/v1/funnels", &app.admin(), &body).await;
    let location = header(&response, "location");
    let etag = header(&response, "etag");
    let created = json_with(response, StatusCode::CREATED).await;
    assert_eq!(location, Some(path_of(&created)));
    assert_eq!(etag.as_deref(), Some("\"1\""));
    assert_eq!(created["stage_ids"], order, "the given order is kept");
    assert_eq!(id_set(&created["team_ids"]), id_set(&json!([anna["id"], ben["id"]])));
    assert_eq!(
        (
            created["warn_after_days"].as_i64(),
            created["critical_after_days"].as_i64(),
            created["active"].as_bool(),
            created["version"].as_i64()
        ),
        (Some(7), Some(14), Some(true), Some(1))
    );
    assert_eq!(created["name"], "Neuwagen");
    assert_eq!(created["description"], "Verkauf von Neufahrzeugen");
    assert_eq!(created["metric_label"], "Potenzial");
    assert!(created["metric_formula"].is_null());
    let read = json_with(app.get(&path_of(&created), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["stage_ids"], order, "the order is kept when read back");
    assert_eq!(id_set(&read["team_ids"]), id_set(&created["team_ids"]));
    let explicit = app
        .create_funnel(json!({
            "name": "Gebraucht", "stage_ids": [s.open, s.won, s.lost], "warn_after_days": 3, "critical_after_days": 5
        }))
        .await;
    assert_eq!(
        (
            explicit["warn_after_days"].as_i64(),
            explicit["critical_after_days"].as_i64()
        ),
        (Some(3), Some(5))
    );
    assert_eq!(explicit["team_ids"], json!([]));
}

#[tokio::test]
async fn a_funnel_needs_an_open_a_lost_and_exactly_one_won_stage() {
    let app = spawn_app().await;
    let s = stages(&app).await;
    for (case, stage_ids) in [
        ("no won stage", json!([s.open, s.lost])),
        ("two won stages", json!([s.open, s.won, s.won2, s.lost])),
        ("no lost stage", json!([s.open, s.won])),
        ("no open stage", json!([s.won, s.lost])),
    ] {
        let found = rejected(&app, &json!({"name": "F", "stage_ids": stage_ids})).await;
        assert_eq!(error_fields(&found), vec!["stage_ids"], "{case}: {found}");
    }
    let empty = rejected(&app, &json!({"name": "F", "stage_ids": []})).await;
    assert_eq!(error_fields(&empty), vec!["stage_ids"]);
    assert!(names(&app, "").await.is_empty(), "nothing was created");
}

#[tokio::test]
async fn a_duplicate_missing_or_inactive_stage_is_named_by_its_index() {
    let app = spawn_app().await;
    let s = stages(&app).await;
    for (case, extra) in [
        ("duplicate", s.open.clone()),
        ("does not exist", json!(NOBODY)),
        ("inactive", s.inactive.clone()),
    ] {
        let body = json!({"name": "F", "stage_ids": [s.open, s.won, s.lost, extra]});
        let found = rejected(&app, &body).await;
        assert_eq!(error_fields(&found), vec!["stage_ids[3]"], "{case}: {found}");
    }
}

#[tokio::test]
async fn a_stage_id_that_is_no_uuid_is_named_by_its_index_and_stage_ids_is_not_called_missing() {
    let app = spawn_app().await;
    let s = stages(&app).await;
    let body = json!({"name": "F", "stage_ids": [s.open, "not-a-uuid", s.won, s.lost]});
    let found = rejected(&app, &body).await;
    assert_eq!(error_fields(&found), vec!["stage_ids[1]"], "{found}");
}

#[tokio::test]
async fn a_funnel_with_bad_thresholds_and_a_missing_stage_names_both_fields() {
    let app = spawn_app().await;
    let s = stages(&app).await;
    let body = json!({
        "name": "F", "stage_ids": [s.open, s.won, s.lost, NOBODY], "warn_after_days": 9, "critical_after_days": 3
    });
    let found = rejected(&app, &body).await;
    assert_eq!(
        error_fields(&found),
        vec!["critical_after_days", "stage_ids[3]"],
        "a 422 names each field, including the reference to a stage that does not exist: {found}"
    );
}

#[tokio::test]
async fn every_team_member_must_be_an_existing_user() {
    let app = spawn_app().await;
    let s = stages(&app).await;
    let anna = app.create_user("anna@example.com", "rep").await;
    let body = json!({"name": "F", "stage_ids": [s.open, s.won, s.lost], "team_ids": [anna["id"], NOBODY]});
    let found = rejected(&app, &body).await;
    assert_eq!(error_fields(&found), vec!["team_ids[1]"]);
}

#[tokio::test]
async fn critical_after_days_must_be_later_than_warn_after_days() {
    let app = spawn_app().await;
    let s = stages(&app).await;
    let stage_ids = json!([s.open, s.won, s.lost]);
    for (warn, critical) in [(7, 7), (10, 5)] {
        let body =
            json!({"name": "F", "stage_ids": stage_ids, "warn_after_days": warn, "critical_after_days": critical});
        let found = rejected(&app, &body).await;
        assert_eq!(
            error_fields(&found),
            vec!["critical_after_days"],
            "warn {warn}, critical {critical}"
        );
    }
    let default_warn = json!({"name": "F", "stage_ids": stage_ids, "critical_after_days": 7});
    assert_eq!(
        error_fields(&rejected(&app, &default_warn).await),
        vec!["critical_after_days"]
    );
    let zero = json!({"name": "F", "stage_ids": stage_ids, "warn_after_days": 0});
    assert_eq!(error_fields(&rejected(&app, &zero).await), vec!["warn_after_days"]);
}

#[tokio::test]
async fn a_metric_formula_that_does_not_parse_is_422_with_its_position() {
    let app = spawn_app().await;
    let s = stages(&app).await;
    let body = json!({"name": "F", "stage_ids": [s.open, s.won, s.lost], "metric_formula": "target_value * * 2"});
    let found = rejected(&app, &body).await;
    assert_eq!(error_fields(&found), vec!["metric_formula"]);
    let message = found["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("line 1, column 16"), "{message}");
}

#[tokio::test]
async fn a_metric_formula_with_an_unknown_variable_is_422() {
    let app = spawn_app().await;
    let s = stages(&app).await;
    let body = json!({"name": "F", "stage_ids": [s.open, s.won, s.lost], "metric_formula": "target_valu * 2"});
    let found = rejected(&app, &body).await;
    assert_eq!(error_fields(&found), vec!["metric_formula"]);
    let message = found["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("target_valu"), "{message}");
}

#[tokio::test]
async fn a_valid_metric_formula_is_stored_and_may_be_changed_or_cleared() {
    let app = spawn_app().await;
    let s = stages(&app).await;
    let formula = "if(days_since_contact > 14, 0, weighted_value)";
    let created = app
        .create_funnel(json!({
            "name": "F", "stage_ids": [s.open, s.won, s.lost], "metric_label": "Aktives Potenzial", "metric_formula": formula
        }))
        .await;
    assert_eq!(created["metric_formula"], formula);
    let path = path_of(&created);
    let read = json_with(app.get(&path, &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["metric_formula"], formula);
    let found = problem(
        app.patch(
            &path,
            &app.admin(),
            &json!({"metric_formula": "round(weighted_value / 1000, 1"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["metric_formula"]);
    let changed = json_with(
        app.patch(
            &path,
            &app.admin(),
            &json!({"metric_formula": "round(weighted_value / 1000, 1)"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(changed["metric_formula"], "round(weighted_value / 1000, 1)");
    assert_eq!(changed["version"], 2);
    let cleared = json_with(
        app.patch(
            &path,
            &app.admin(),
            &json!({"metric_formula": null, "metric_label": null}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        cleared["metric_formula"].is_null() && cleared["metric_label"].is_null(),
        "{cleared}"
    );
}

#[tokio::test]
async fn patch_replaces_the_stage_and_team_lists_and_checks_them_like_create() {
    let app = spawn_app().await;
    let s = stages(&app).await;
    let anna = app.create_user("anna@example.com", "rep").await;
    let ben = app.create_user("ben@example.com", "rep").await;
    let created = app
        .create_funnel(
            json!({"name": "F", "description": "alt", "stage_ids": [s.open, s.won, s.lost], "team_ids": [anna["id"]]}),
        )
        .await;
    let path = path_of(&created);
    let new_order = json!([s.lost, s.open2, s.open, s.won]);
    let response = app
        .patch(
            &path,
            &app.admin(),
            &json!({"stage_ids": new_order, "team_ids": [ben["id"]]}),
        )
        .await;
    assert_eq!(header(&response, "etag").as_deref(), Some("\"2\""));
    let updated = json_with(response, StatusCode::OK).await;
    assert_eq!(updated["stage_ids"], new_order);
    assert_eq!(updated["team_ids"], json!([ben["id"]]));
    assert_eq!(updated["description"], "alt", "fields not in the patch stay");
    assert_eq!(updated["version"], 2);
    let read = json_with(app.get(&path, &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["stage_ids"], new_order);
    assert_eq!(read["team_ids"], json!([ben["id"]]));
    for (case, patch, field) in [
        ("no won stage", json!({"stage_ids": [s.open, s.lost]}), "stage_ids"),
        (
            "two won stages",
            json!({"stage_ids": [s.open, s.won, s.won2, s.lost]}),
            "stage_ids",
        ),
        (
            "duplicate stage",
            json!({"stage_ids": [s.open, s.won, s.lost, s.lost]}),
            "stage_ids[3]",
        ),
        (
            "unknown stage",
            json!({"stage_ids": [s.open, NOBODY, s.won, s.lost]}),
            "stage_ids[1]",
        ),
        (
            "inactive stage",
            json!({"stage_ids": [s.inactive, s.open, s.won, s.lost]}),
            "stage_ids[0]",
        ),
        ("unknown user", json!({"team_ids": [NOBODY]}), "team_ids[0]"),
        (
            "critical before warn",
            json!({"critical_after_days": 7}),
            "critical_after_days",
        ),
        ("warn 0", json!({"warn_after_days": 0}), "warn_after_days"),
        ("empty stage list", json!({"stage_ids": []}), "stage_ids"),
        ("null stage list", json!({"stage_ids": null}), "stage_ids"),
    ] {
        let found = problem(
            app.patch(&path, &app.admin(), &patch).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&found), vec![field], "{case}: {found}");
    }
    let unchanged = json_with(app.get(&path, &app.admin()).await, StatusCode::OK).await;
    assert_eq!(unchanged, read, "rejected patches change nothing");
    let cleared = json_with(
        app.patch(&path, &app.admin(), &json!({"team_ids": [], "description": null}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cleared["team_ids"], json!([]));
    assert!(cleared["description"].is_null());
    assert_eq!(cleared["stage_ids"], new_order);
}

#[tokio::test]
async fn if_match_guards_funnel_changes_and_deletion() {
    let app = spawn_app().await;
    let path = path_of(&app.create_simple_funnel("F", "F").await);
    let stale = app
        .request(Method::PATCH, &path, &app.admin())
        .header("If-Match", "\"2\"")
        .json(&json!({"warn_after_days": 3}))
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let stale_delete = app
        .request(Method::DELETE, &path, &app.admin())
        .header("If-Match", "\"2\"")
        .send()
        .await
        .unwrap();
    problem(stale_delete, StatusCode::PRECONDITION_FAILED).await;
    let read = json_with(app.get(&path, &app.admin()).await, StatusCode::OK).await;
    assert_eq!(
        (read["warn_after_days"].as_i64(), read["version"].as_i64()),
        (Some(7), Some(1))
    );
}

#[tokio::test]
async fn the_funnel_list_filters_by_member_activity_and_name() {
    let app = spawn_app().await;
    let s = stages(&app).await;
    let anna = app.create_user("anna@example.com", "rep").await;
    let ben = app.create_user("ben@example.com", "rep").await;
    let stage_ids = json!([s.open, s.won, s.lost]);
    app.create_funnel(json!({"name": "Neuwagen", "stage_ids": stage_ids, "team_ids": [anna["id"], ben["id"]]}))
        .await;
    app.create_funnel(json!({"name": "Gebrauchtwagen", "stage_ids": stage_ids, "team_ids": [anna["id"]]}))
        .await;
    app.create_funnel(json!({"name": "Service", "stage_ids": stage_ids, "active": false}))
        .await;
    assert_eq!(names(&app, "").await, vec!["Gebrauchtwagen", "Neuwagen", "Service"]);
    let anna_id = anna["id"].as_str().unwrap();
    let ben_id = ben["id"].as_str().unwrap();
    assert_eq!(
        names(&app, &format!("member_id={anna_id}")).await,
        vec!["Gebrauchtwagen", "Neuwagen"]
    );
    assert_eq!(names(&app, &format!("member_id={ben_id}")).await, vec!["Neuwagen"]);
    assert!(names(&app, &format!("member_id={NOBODY}")).await.is_empty());
    assert_eq!(names(&app, "active=false").await, vec!["Service"]);
    assert_eq!(names(&app, "q=WAGEN").await, vec!["Gebrauchtwagen", "Neuwagen"]);
    assert_eq!(
        names(&app, &format!("q=neu&member_id={ben_id}")).await,
        vec!["Neuwagen"]
    );
    let first = json_with(app.get("/api/v1/funnels?limit=2", &app.admin()).await, StatusCode::OK).await;
    assert_eq!(first["items"].as_array().map(Vec::len), Some(2));
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = json_with(
        app.get(&format!("/api/v1/funnels?limit=2&cursor={cursor}"), &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(second["items"][0]["name"], "Service");
    assert_eq!(
        second["items"][0]["stage_ids"], stage_ids,
        "listed funnels carry their stages"
    );
    assert!(second["next_cursor"].is_null());
    problem(
        app.get("/api/v1/funnels?member_id=anna", &app.admin()).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[tokio::test]
async fn a_funnel_name_is_unique_regardless_of_case() {
    let app = spawn_app().await;
    let s = stages(&app).await;
    let stage_ids = json!([s.open, s.won, s.lost]);
    app.create_funnel(json!({"name": "Neuwagen", "stage_ids": stage_ids}))
        .await;
    problem(
        app.post(
            "/api/v1/funnels",
            &app.admin(),
            &json!({"name": "NEUWAGEN", "stage_ids": stage_ids}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    let other = app
        .create_funnel(json!({"name": "Service", "stage_ids": stage_ids}))
        .await;
    problem(
        app.patch(&path_of(&other), &app.admin(), &json!({"name": "neuwagen"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(names(&app, "").await, vec!["Neuwagen", "Service"]);
}

#[tokio::test]
async fn a_funnel_a_class_uses_cannot_be_deleted_but_an_unused_one_can() {
    let app = spawn_app().await;
    let used = app.create_simple_funnel("Neuwagen", "NW").await;
    let unused = app.create_simple_funnel("Service", "SV").await;
    json_with(
        app.post(
            "/api/v1/classes",
            &app.admin(),
            &json!({"id": "AUTO", "default_funnel_id": used["id"]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    problem(app.delete(&path_of(&used), &app.admin()).await, StatusCode::CONFLICT).await;
    json_with(app.get(&path_of(&used), &app.admin()).await, StatusCode::OK).await;
    let response = app.delete(&path_of(&unused), &app.admin()).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    problem(app.get(&path_of(&unused), &app.admin()).await, StatusCode::NOT_FOUND).await;
    problem(app.delete(&path_of(&unused), &app.admin()).await, StatusCode::NOT_FOUND).await;
    let freed = format!("/api/v1/stages/{}", unused["stage_ids"][0].as_str().unwrap());
    assert_eq!(
        app.delete(&freed, &app.admin()).await.status(),
        StatusCode::NO_CONTENT,
        "the deleted funnel's stages are free again"
    );
}

#[tokio::test]
async fn unknown_funnels_are_404() {
    let app = spawn_app().await;
    let path = format!("/api/v1/funnels/{NOBODY}");
    problem(app.get(&path, &app.admin()).await, StatusCode::NOT_FOUND).await;
    problem(
        app.patch(&path, &app.admin(), &json!({"name": "x"})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(app.delete(&path, &app.admin()).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn only_admins_write_funnels_and_everyone_reads_them() {
    let app = spawn_app().await;
    let funnel = app.create_simple_funnel("Neuwagen", "NW").await;
    let path = path_of(&funnel);
    let body = json!({"name": "Anders", "stage_ids": funnel["stage_ids"]});
    for role in [Role::Manager, Role::Rep, Role::Viewer, Role::Integration] {
        let token = app.token_for(role, "x");
        problem(app.post("/api/v1/funnels", &token, &body).await, StatusCode::FORBIDDEN).await;
        problem(
            app.patch(&path, &token, &json!({"warn_after_days": 1})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        problem(app.delete(&path, &token).await, StatusCode::FORBIDDEN).await;
        let read = json_with(app.get(&path, &token).await, StatusCode::OK).await;
        assert_eq!(read, funnel, "{role:?} reads the funnel");
        let list = json_with(app.get("/api/v1/funnels", &token).await, StatusCode::OK).await;
        assert_eq!(
            list["items"].as_array().map(Vec::len),
            Some(1),
            "{role:?} lists funnels"
        );
    }
    let anonymous = app.anonymous(Method::GET, &path).send().await.unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
}
