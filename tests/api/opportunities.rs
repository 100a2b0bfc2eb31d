use std::collections::HashSet;

use chrono::Datelike;

use diesel_async::RunQueryDsl;
use reqwest::{Method, StatusCode};
use salesfunnel::auth::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, header, instant, json_with, problem, spawn_app};

pub const NOBODY: &str = "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10";
const LIST: &str = "/api/v1/opportunities";

/// A funnel with its stages, a class routing to it (with a default owner), a partner and a
/// lost reason: everything an opportunity needs.
pub struct Sales {
    pub funnel: String,
    pub class: String,
    pub partner: String,
    /// The class's default owner, a rep.
    pub owner: String,
    /// Open, 5 %.
    pub first: String,
    /// Open, 75 %.
    pub proposal: String,
    /// Open, 90 %, `requires_lines`.
    pub contract: String,
    pub won: String,
    pub lost: String,
    pub reason: String,
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

async fn open_stage(app: &TestApp, code: String, probability: u32, requires_lines: bool) -> String {
    id(&app
        .create_stage(json!({
            "code": code, "name": code, "outcome": "open", "probability": probability,
            "requires_lines": requires_lines
        }))
        .await)
}

/// Sets up [`Sales`] with stage codes, class code and names starting with `prefix` (upper case).
pub async fn sales(app: &TestApp, prefix: &str) -> Sales {
    let first = open_stage(app, format!("{prefix}_FIRST"), 5, false).await;
    let proposal = open_stage(app, format!("{prefix}_PROPOSAL"), 75, false).await;
    let contract = open_stage(app, format!("{prefix}_CONTRACT"), 90, true).await;
    let won = id(&app
        .create_stage(json!({"code": format!("{prefix}_WON"), "name": "Gewonnen", "outcome": "won"}))
        .await);
    let lost = id(&app
        .create_stage(json!({"code": format!("{prefix}_LOST"), "name": "Verloren", "outcome": "lost"}))
        .await);
    let funnel = id(&app
        .create_funnel(json!({
            "name": format!("{prefix} Trichter"), "stage_ids": [first, proposal, contract, won, lost]
        }))
        .await);
    let owner = id(&app
        .create_user(&format!("{}.owner@example.com", prefix.to_lowercase()), "rep")
        .await);
    json_with(
        app.post(
            "/api/v1/classes",
            &app.admin(),
            &json!({"id": prefix, "default_funnel_id": funnel, "default_owner_id": owner}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let partner = id(&app
        .create_partner(json!({"kind": "customer", "name": format!("{prefix} GmbH")}))
        .await);
    let reason = id(&json_with(
        app.post(
            "/api/v1/lost-reasons",
            &app.admin(),
            &json!({"label": format!("{prefix} Preis zu hoch")}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await);
    Sales {
        funnel,
        class: prefix.to_owned(),
        partner,
        owner,
        first,
        proposal,
        contract,
        won,
        lost,
        reason,
    }
}

pub fn path_of(opportunity: &Value) -> String {
    format!("{LIST}/{}", opportunity["id"].as_str().unwrap())
}

/// A valid create body: 100,000.00 in the first (5 %) stage of `s`.
pub fn new_body(s: &Sales, subject: &str) -> Value {
    json!({
        "subject": subject, "business_partner_id": s.partner, "class_id": s.class, "stage_id": s.first,
        "target_value": "100000.00"
    })
}

/// Creates an opportunity with `body` as `token` and expects a 201.
pub async fn create_as(app: &TestApp, token: &str, body: &Value) -> Value {
    json_with(app.post(LIST, token, body).await, StatusCode::CREATED).await
}

/// Creates an opportunity of `s` as admin.
pub async fn create(app: &TestApp, s: &Sales, subject: &str) -> Value {
    create_as(app, &app.admin(), &new_body(s, subject)).await
}

/// POSTs `body` to the opportunity's `action` (`stage`, `win`, `lose`, `reopen`, `erp-handoff`).
pub async fn act(app: &TestApp, token: &str, opportunity: &Value, action: &str, body: &Value) -> reqwest::Response {
    app.post(&format!("{}/{action}", path_of(opportunity)), token, body)
        .await
}

/// The same, as admin, expecting a 200.
pub async fn act_ok(app: &TestApp, opportunity: &Value, action: &str, body: &Value) -> Value {
    json_with(act(app, &app.admin(), opportunity, action, body).await, StatusCode::OK).await
}

/// Probability as a number.
pub fn probability(opportunity: &Value) -> f64 {
    opportunity["probability"].as_f64().unwrap()
}

async fn rejected(app: &TestApp, body: &Value) -> Vec<String> {
    error_fields(
        &problem(
            app.post(LIST, &app.admin(), body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await,
    )
}

/// The subjects of the listed opportunities (one page of up to 200), sorted.
async fn subjects_as(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let page = json_with(
        app.get(&format!("{LIST}?limit=200&{query}"), token).await,
        StatusCode::OK,
    )
    .await;
    let mut found: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["subject"].as_str().unwrap().to_owned())
        .collect();
    found.sort();
    found
}

async fn subjects(app: &TestApp, query: &str) -> Vec<String> {
    subjects_as(app, &app.admin(), query).await
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    names.sort();
    names
}

/// Makes an opportunity look `days` old and uncontacted since.
async fn backdate(app: &TestApp, opportunity: &Value, days: i32) {
    let mut conn = app.db.connect_async().await;
    let id = uuid::Uuid::parse_str(opportunity["id"].as_str().unwrap()).unwrap();
    diesel::sql_query(
        "UPDATE opportunities SET created_at = now() - make_interval(days => $2),
                                  last_contact_at = now() - make_interval(days => $2)
         WHERE id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<diesel::sql_types::Integer, _>(days)
    .execute(&mut conn)
    .await
    .unwrap();
}

#[tokio::test]
async fn the_seed_example_weighs_100000_at_5_percent_then_75_percent_then_won() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let body = json!({
        "subject": "Flotte 2027", "business_partner_id": s.partner, "class_id": "NW", "stage_id": s.first,
        "target_value": 100000, "expected_close_date": "2027-03-31", "description": "12 Kombis"
    });
    let response = app.post(LIST, &app.admin(), &body).await;
    let location = header(&response, "location");
    let etag = header(&response, "etag");
    let created = json_with(response, StatusCode::CREATED).await;
    assert_eq!(location, Some(path_of(&created)));
    assert_eq!(etag.as_deref(), Some("\"1\""));
    assert_eq!(created["number"], "OPP-000001");
    assert_eq!(
        (&created["status"], &created["target_value"], &created["weighted_value"]),
        (&json!("open"), &json!("100000.00"), &json!("5000.00"))
    );
    assert_eq!(probability(&created), 5.0);
    assert_eq!(created["currency"], "EUR", "the settings' default currency");
    assert_eq!(created["funnel_id"], s.funnel.as_str(), "the class's funnel");
    assert_eq!(created["owner_id"], s.owner.as_str(), "the class's owner");
    assert_eq!(created["expected_close_date"], "2027-03-31");
    assert_eq!(created["description"], "12 Kombis");
    assert_eq!(created["health"], "green");
    assert_eq!(created["version"], 1);
    assert_eq!(created["created_by"], "admin");
    assert_eq!(created["activity_counts"], json!({}));
    for field in [
        "metric",
        "probability_override",
        "closed_at",
        "lost_reason_id",
        "lost_note",
        "erp_reference",
        "primary_quote_id",
    ] {
        assert!(created[field].is_null(), "{field} of {created}");
    }
    let read = app.get(&path_of(&created), &app.admin()).await;
    assert_eq!(header(&read, "etag").as_deref(), Some("\"1\""));
    assert_eq!(json_with(read, StatusCode::OK).await, created);

    let moved = act_ok(&app, &created, "stage", &json!({"stage_id": s.proposal})).await;
    assert_eq!(moved["weighted_value"], "75000.00");
    assert_eq!(probability(&moved), 75.0);
    assert_eq!(moved["version"], 2);

    let won = act_ok(&app, &moved, "win", &json!({})).await;
    assert_eq!(
        (&won["status"], &won["stage_id"], &won["weighted_value"]),
        (&json!("won"), &json!(s.won), &json!("100000.00"))
    );
    assert_eq!(probability(&won), 100.0);
    assert!(won["closed_at"].is_string());
    assert!(won["health"].is_null(), "closed: no traffic light");

    let second = create(&app, &s, "Zweite").await;
    assert_eq!(second["number"], "OPP-000002");
}

#[tokio::test]
async fn the_currency_defaults_to_the_settings_currency() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let settings = json_with(app.get("/api/v1/settings", &app.admin()).await, StatusCode::OK).await;
    assert_eq!(settings["default_currency"], "EUR");
    assert_eq!(create(&app, &s, "Euro").await["currency"], "EUR");
    json_with(
        app.patch("/api/v1/settings", &app.admin(), &json!({"default_currency": "CHF"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(create(&app, &s, "Franken").await["currency"], "CHF");
    let mut body = new_body(&s, "Dollar");
    body["currency"] = "USD".into();
    assert_eq!(create_as(&app, &app.admin(), &body).await["currency"], "USD");
}

#[tokio::test]
async fn funnel_and_owner_come_from_the_class_and_the_owner_falls_back_to_the_creating_rep() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let other = sales(&app, "GW").await;
    let ben = id(&app.create_user("ben@example.com", "rep").await);
    // Body values win over the class's.
    let mut body = new_body(&s, "Explizit");
    body["funnel_id"] = other.funnel.clone().into();
    body["stage_id"] = other.first.clone().into();
    body["owner_id"] = ben.clone().into();
    let explicit = create_as(&app, &app.admin(), &body).await;
    assert_eq!(
        (explicit["funnel_id"].as_str(), explicit["owner_id"].as_str()),
        (Some(other.funnel.as_str()), Some(ben.as_str()))
    );
    // A class without a default owner: the creating rep owns it.
    json_with(
        app.post(
            "/api/v1/classes",
            &app.admin(),
            &json!({"id": "OHNE", "default_funnel_id": s.funnel}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let mut body = new_body(&s, "Eigene");
    body["class_id"] = "OHNE".into();
    let mine = create_as(&app, &app.token_for(Role::Rep, &ben), &body).await;
    assert_eq!(
        (mine["owner_id"].as_str(), mine["funnel_id"].as_str()),
        (Some(ben.as_str()), Some(s.funnel.as_str()))
    );
    assert_eq!(mine["created_by"], ben.as_str());
    // Neither class nor body nor token names an owner.
    assert_eq!(rejected(&app, &body).await, vec!["owner_id"]);
    // A class without a default funnel and no funnel_id.
    json_with(
        app.post("/api/v1/classes", &app.admin(), &json!({"id": "LEER"})).await,
        StatusCode::CREATED,
    )
    .await;
    let mut body = new_body(&s, "Nirgends");
    body["class_id"] = "LEER".into();
    assert_eq!(rejected(&app, &body).await, vec!["funnel_id", "owner_id"]);
    body["owner_id"] = ben.clone().into();
    assert_eq!(rejected(&app, &body).await, vec!["funnel_id"]);
    body["funnel_id"] = s.funnel.clone().into();
    assert_eq!(
        create_as(&app, &app.admin(), &body).await["funnel_id"],
        s.funnel.as_str()
    );
}

#[tokio::test]
async fn missing_fields_and_unknown_references_are_422_naming_each_field() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    assert_eq!(
        rejected(&app, &json!({})).await,
        vec!["business_partner_id", "class_id", "stage_id", "subject"]
    );
    let ghosts = json!({
        "subject": "Geister", "business_partner_id": NOBODY, "class_id": "NOPE", "stage_id": s.first,
        "funnel_id": NOBODY, "owner_id": NOBODY
    });
    assert_eq!(
        rejected(&app, &ghosts).await,
        vec!["business_partner_id", "class_id", "funnel_id", "owner_id"]
    );
    let mut unknown_stage = new_body(&s, "Stufe");
    unknown_stage["stage_id"] = NOBODY.into();
    assert_eq!(rejected(&app, &unknown_stage).await, vec!["stage_id"]);
    json_with(
        app.post(
            "/api/v1/classes",
            &app.admin(),
            &json!({"id": "ALT", "default_funnel_id": s.funnel, "default_owner_id": s.owner, "active": false}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let mut inactive = new_body(&s, "Alt");
    inactive["class_id"] = "ALT".into();
    let found = problem(
        app.post(LIST, &app.admin(), &inactive).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["class_id"]);
    assert_eq!(found["errors"][0]["code"], "inactive");
    assert!(subjects(&app, "").await.is_empty(), "nothing was created");
}

#[tokio::test]
async fn a_new_opportunity_starts_in_an_open_stage_of_its_funnel_that_needs_no_lines() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let other = sales(&app, "GW").await;
    for (case, stage, code) in [
        ("another funnel's stage", &other.first, "not_in_funnel"),
        ("a stage that requires lines", &s.contract, "requires_lines"),
        ("the won stage", &s.won, "not_open"),
        ("the lost stage", &s.lost, "not_open"),
    ] {
        let mut body = new_body(&s, case);
        body["stage_id"] = stage.clone().into();
        let found = problem(
            app.post(LIST, &app.admin(), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&found), vec!["stage_id"], "{case}: {found}");
        assert_eq!(found["errors"][0]["code"], code, "{case}");
    }
    assert!(subjects(&app, "").await.is_empty());
}

#[tokio::test]
async fn invalid_values_and_wrong_types_are_422_naming_each_field() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let mut rules = new_body(&s, "Regeln");
    rules["currency"] = "EURO".into();
    rules["target_value"] = "-1.00".into();
    assert_eq!(rejected(&app, &rules).await, vec!["currency", "target_value"]);
    let mut blank = new_body(&s, "   ");
    blank["currency"] = "eur".into();
    assert_eq!(rejected(&app, &blank).await, vec!["currency", "subject"]);
    let types = json!({
        "subject": 7, "business_partner_id": "not-a-uuid", "class_id": "NW", "stage_id": s.first,
        "target_value": "viel", "expected_close_date": "bald", "probability_override": 150, "colour": "red"
    });
    assert_eq!(
        rejected(&app, &types).await,
        vec![
            "business_partner_id",
            "colour",
            "expected_close_date",
            "probability_override",
            "subject",
            "target_value"
        ]
    );
    let not_json = app
        .request(Method::POST, LIST, &app.admin())
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    problem(not_json, StatusCode::BAD_REQUEST).await;
    assert!(subjects(&app, "").await.is_empty());
}

#[tokio::test]
async fn a_retried_create_with_the_same_idempotency_key_makes_one_opportunity() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let post = |body: Value| {
        app.request(Method::POST, LIST, &app.admin())
            .header("Idempotency-Key", "opp-1")
            .json(&body)
            .send()
    };
    let first = json_with(post(new_body(&s, "Einmal")).await.unwrap(), StatusCode::CREATED).await;
    let again = post(new_body(&s, "Einmal")).await.unwrap();
    assert_eq!(header(&again, "idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(header(&again, "location"), Some(path_of(&first)));
    assert_eq!(json_with(again, StatusCode::CREATED).await, first);
    let other = post(new_body(&s, "Anders")).await.unwrap();
    problem(other, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(subjects(&app, "").await, vec!["Einmal"]);
}

#[tokio::test]
async fn probability_is_the_stages_live_unless_overridden() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let plain = create(&app, &s, "Ohne").await;
    let mut body = new_body(&s, "Von Anfang an");
    body["probability_override"] = 20.into();
    let from_start = create_as(&app, &app.admin(), &body).await;
    assert_eq!(
        (probability(&from_start), &from_start["weighted_value"]),
        (20.0, &json!("20000.00"))
    );
    let overridden = create(&app, &s, "Mit").await;
    let stage_path = format!("/api/v1/stages/{}", s.first);
    json_with(
        app.patch(&stage_path, &app.admin(), &json!({"probability": 10})).await,
        StatusCode::OK,
    )
    .await;
    let read = json_with(app.get(&path_of(&plain), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(
        (probability(&read), &read["weighted_value"]),
        (10.0, &json!("10000.00"))
    );
    assert_eq!(
        read["version"],
        plain["version"].as_i64().unwrap() + 1,
        "a changed opportunity has a new ETag"
    );
    assert!(
        instant(&read["updated_at"]) > instant(&plain["updated_at"]),
        "and shows in updated_after syncs"
    );
    let untouched = json_with(app.get(&path_of(&from_start), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(
        untouched["version"], from_start["version"],
        "an overridden one did not change"
    );

    let set = json_with(
        app.patch(
            &path_of(&overridden),
            &app.admin(),
            &json!({"probability_override": 30}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            probability(&set),
            set["probability_override"].as_f64(),
            &set["weighted_value"]
        ),
        (30.0, Some(30.0), &json!("30000.00"))
    );
    json_with(
        app.patch(&stage_path, &app.admin(), &json!({"probability": 20})).await,
        StatusCode::OK,
    )
    .await;
    let kept = json_with(app.get(&path_of(&overridden), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(probability(&kept), 30.0, "the override wins over the stage");
    let moved = act_ok(&app, &kept, "stage", &json!({"stage_id": s.proposal})).await;
    assert_eq!(
        (probability(&moved), &moved["weighted_value"]),
        (30.0, &json!("30000.00")),
        "the override survives a move"
    );
    let cleared = json_with(
        app.patch(&path_of(&moved), &app.admin(), &json!({"probability_override": null}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(cleared["probability_override"].is_null());
    assert_eq!(
        (probability(&cleared), &cleared["weighted_value"]),
        (75.0, &json!("75000.00"))
    );

    json_with(
        app.patch(&path_of(&cleared), &app.admin(), &json!({"probability_override": 12.5}))
            .await,
        StatusCode::OK,
    )
    .await;
    let won = act_ok(&app, &cleared, "win", &json!({})).await;
    assert_eq!(
        (probability(&won), &won["weighted_value"]),
        (100.0, &json!("100000.00"))
    );
    let lost = json_with(
        app.patch(&path_of(&plain), &app.admin(), &json!({"probability_override": 50}))
            .await,
        StatusCode::OK,
    )
    .await;
    let lost = act_ok(&app, &lost, "lose", &json!({"lost_reason_id": s.reason})).await;
    assert_eq!((probability(&lost), &lost["weighted_value"]), (0.0, &json!("0.00")));
    assert_eq!(
        lost["probability_override"].as_f64(),
        Some(50.0),
        "kept for a reopening"
    );
}

#[tokio::test]
async fn the_metric_follows_the_funnel_formula() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let plain = sales(&app, "GW").await;
    let funnel_path = format!("/api/v1/funnels/{}", s.funnel);
    json_with(
        app.patch(
            &funnel_path,
            &app.admin(),
            &json!({"metric_formula": "weighted_value * 2"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let created = create(&app, &s, "Formel").await;
    assert_eq!(created["metric"], "10000.00");
    let moved = act_ok(&app, &created, "stage", &json!({"stage_id": s.proposal})).await;
    assert_eq!(moved["metric"], "150000.00");
    let without = create(&app, &plain, "Ohne Formel").await;
    assert!(without["metric"].is_null());

    json_with(
        app.patch(
            &funnel_path,
            &app.admin(),
            &json!({"metric_formula": "target_value - weighted_value"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let read = json_with(app.get(&path_of(&created), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["metric"], "25000.00", "recomputed when the formula changes");
    let patched = json_with(
        app.patch(&path_of(&read), &app.admin(), &json!({"target_value": "200000"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["metric"], "50000.00", "recomputed when the opportunity changes");
    json_with(
        app.patch(&funnel_path, &app.admin(), &json!({"metric_formula": null}))
            .await,
        StatusCode::OK,
    )
    .await;
    let read = json_with(app.get(&path_of(&created), &app.admin()).await, StatusCode::OK).await;
    assert!(read["metric"].is_null(), "no formula, no metric: {read}");
}

#[tokio::test]
async fn patch_changes_the_writable_fields_and_bumps_the_version() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let ben = id(&app.create_user("ben@example.com", "rep").await);
    let partner = id(&app.create_partner(json!({"kind": "lead", "name": "Neu AG"})).await);
    let created = create(&app, &s, "Alt").await;
    let changes = json!({
        "subject": "Neu", "description": "Mehr", "business_partner_id": partner, "owner_id": ben,
        "target_value": "2000.50", "expected_close_date": "2027-06-30", "currency": "CHF"
    });
    let response = app.patch(&path_of(&created), &app.admin(), &changes).await;
    assert_eq!(header(&response, "etag").as_deref(), Some("\"2\""));
    let patched = json_with(response, StatusCode::OK).await;
    for (field, value) in changes.as_object().unwrap() {
        assert_eq!(&patched[field], value, "field {field}");
    }
    assert_eq!(
        patched["weighted_value"], "100.03",
        "2000.50 × 5 % rounded half away from zero"
    );
    let cleared = json_with(
        app.patch(
            &path_of(&created),
            &app.admin(),
            &json!({"description": null, "expected_close_date": null}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(cleared["description"].is_null() && cleared["expected_close_date"].is_null());
    assert_eq!(cleared["subject"], "Neu", "absent fields stay");
    assert_eq!(cleared["version"], 3);
    for (body, field) in [
        (json!({"subject": null}), "subject"),
        (json!({"owner_id": NOBODY}), "owner_id"),
        (json!({"business_partner_id": NOBODY}), "business_partner_id"),
        (json!({"class_id": "NOPE"}), "class_id"),
        (json!({"funnel_id": NOBODY}), "funnel_id"),
        (json!({"stage_id": s.won}), "stage_id"),
        (json!({"stage_id": s.lost}), "stage_id"),
        (json!({"stage_id": s.contract}), "stage_id"),
        (json!({"target_value": -5}), "target_value"),
        (json!({"number": "OPP-9"}), "number"),
    ] {
        let found = problem(
            app.patch(&path_of(&created), &app.admin(), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&found), vec![field], "{body}: {found}");
    }
    let read = json_with(app.get(&path_of(&created), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["version"], 3, "failed patches change nothing");
    // Into another funnel: its stage has to come along.
    let other = sales(&app, "GW").await;
    let found = problem(
        app.patch(&path_of(&created), &app.admin(), &json!({"funnel_id": other.funnel}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["stage_id"]);
    let moved = json_with(
        app.patch(
            &path_of(&created),
            &app.admin(),
            &json!({"funnel_id": other.funnel, "stage_id": other.proposal}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (&moved["funnel_id"], &moved["stage_id"], &moved["weighted_value"]),
        (&json!(other.funnel), &json!(other.proposal), &json!("1500.38"))
    );
}

#[tokio::test]
async fn the_list_filters_by_every_field() {
    let app = spawn_app().await;
    let a = sales(&app, "NW").await;
    let b = sales(&app, "GW").await;
    let ben = id(&app.create_user("ben@example.com", "rep").await);
    let partner = id(&app.create_partner(json!({"kind": "lead", "name": "Schmidt KG"})).await);
    let mut body = new_body(&a, "Flotte Müller");
    body["expected_close_date"] = "2027-01-15".into();
    let flotte = create_as(&app, &app.admin(), &body).await;
    let mut body = new_body(&a, "Leasing Schmidt");
    body["expected_close_date"] = "2027-03-01".into();
    body["owner_id"] = ben.clone().into();
    body["business_partner_id"] = partner.clone().into();
    create_as(&app, &app.admin(), &body).await;
    create(&app, &b, "Transporter").await;
    let lost = create(&app, &a, "Verloren").await;
    act_ok(&app, &lost, "lose", &json!({"lost_reason_id": a.reason})).await;
    let won = create(&app, &b, "Gewonnen").await;
    let won = act_ok(&app, &won, "win", &json!({})).await;

    let all = sorted(&[
        "Flotte Müller",
        "Leasing Schmidt",
        "Transporter",
        "Verloren",
        "Gewonnen",
    ]);
    assert_eq!(subjects(&app, "").await, all);
    for (query, expected) in [
        ("status=open", vec!["Flotte Müller", "Leasing Schmidt", "Transporter"]),
        ("status=won", vec!["Gewonnen"]),
        ("status=lost", vec!["Verloren"]),
        (&*format!("owner_id={ben}"), vec!["Leasing Schmidt"]),
        (&*format!("funnel_id={}", b.funnel), vec!["Transporter", "Gewonnen"]),
        (
            &*format!("stage_id={}", a.first),
            vec!["Flotte Müller", "Leasing Schmidt"],
        ),
        (&*format!("stage_id={}", a.lost), vec!["Verloren"]),
        ("class_id=GW", vec!["Transporter", "Gewonnen"]),
        (&*format!("business_partner_id={partner}"), vec!["Leasing Schmidt"]),
        ("close_from=2027-02-01", vec!["Leasing Schmidt"]),
        ("close_to=2027-02-01", vec!["Flotte Müller"]),
        (
            "close_from=2027-01-15&close_to=2027-03-01",
            vec!["Flotte Müller", "Leasing Schmidt"],
        ),
        ("health=green", vec!["Flotte Müller", "Leasing Schmidt", "Transporter"]),
        ("health=red", vec![]),
        ("q=FLOTTE", vec!["Flotte Müller"]),
        ("q=opp-000003", vec!["Transporter"]),
        ("q=%25", vec![]),
        (
            &*format!("status=open&funnel_id={}", a.funnel),
            vec!["Flotte Müller", "Leasing Schmidt"],
        ),
    ] {
        assert_eq!(subjects(&app, query).await, sorted(&expected), "{query}");
    }
    let stamp = won["updated_at"].as_str().unwrap().replace('+', "%2B");
    assert!(subjects(&app, &format!("updated_after={stamp}")).await.is_empty());
    json_with(
        app.patch(&path_of(&flotte), &app.admin(), &json!({"description": "neu"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        subjects(&app, &format!("updated_after={stamp}")).await,
        vec!["Flotte Müller"]
    );
}

/// Every item of every page of `sort`, following `next_cursor` with `limit=2`.
async fn all_pages(app: &TestApp, sort: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let query = match &cursor {
            Some(c) => format!("{LIST}?sort={sort}&limit=2&cursor={c}"),
            None => format!("{LIST}?sort={sort}&limit=2"),
        };
        let page = json_with(app.get(&query, &app.admin()).await, StatusCode::OK).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
    panic!("pages never end for sort {sort}");
}

fn cents(amount: &Value) -> i64 {
    let text = amount.as_str().unwrap();
    (text.parse::<f64>().unwrap() * 100.0).round() as i64
}

#[tokio::test]
async fn keyset_pages_cover_every_opportunity_once_in_every_sort() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    // (target, close date, moved to 75 %): equal keys test the id tie-breaker.
    let specs = [
        ("500", Some("2027-05-01"), false),
        ("100", None, false),
        ("100", Some("2027-01-01"), true),
        ("300", Some("2027-01-01"), false),
        ("0", None, true),
        ("250", Some("2026-12-24"), true),
        ("100", Some("2027-05-01"), false),
    ];
    let mut created = Vec::new();
    for (i, (target, close, moved)) in specs.iter().enumerate() {
        let mut body = new_body(&s, &format!("Chance {i}"));
        body["target_value"] = (*target).into();
        body["expected_close_date"] = close.map_or(Value::Null, Value::from);
        let opportunity = create_as(&app, &app.admin(), &body).await;
        if *moved {
            act_ok(&app, &opportunity, "stage", &json!({"stage_id": s.proposal})).await;
        }
        created.push(opportunity);
    }
    // Touch the first one last so that updated_at differs from creation order.
    json_with(
        app.patch(&path_of(&created[0]), &app.admin(), &json!({"description": "zuletzt"}))
            .await,
        StatusCode::OK,
    )
    .await;
    let everyone: HashSet<String> = created.iter().map(id).collect();
    for sort in [
        "updated_at",
        "-updated_at",
        "expected_close_date",
        "-target_value",
        "-weighted_value",
    ] {
        let seen = all_pages(&app, sort).await;
        let ids: HashSet<String> = seen.iter().map(id).collect();
        assert_eq!((seen.len(), &ids), (everyone.len(), &everyone), "sort {sort}");
        let keys: Vec<(i64, String)> = seen
            .iter()
            .map(|o| {
                let key = match sort {
                    "updated_at" | "-updated_at" => instant(&o["updated_at"]).timestamp_micros(),
                    "expected_close_date" => o["expected_close_date"].as_str().map_or(i64::MAX, |d| {
                        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                            .unwrap()
                            .num_days_from_ce()
                            .into()
                    }),
                    "-target_value" => cents(&o["target_value"]),
                    _ => cents(&o["weighted_value"]),
                };
                (key, id(o))
            })
            .collect();
        let mut expected = keys.clone();
        expected.sort();
        if sort.starts_with('-') {
            expected.reverse();
        }
        assert_eq!(keys, expected, "sort {sort} is ordered");
    }
    let default = all_pages(&app, "-updated_at").await;
    let first_page = json_with(app.get(&format!("{LIST}?limit=2"), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(
        first_page["items"].as_array().unwrap()[..],
        default[..2],
        "-updated_at is the default"
    );
    assert_eq!(default[0]["id"], created[0]["id"], "the last touched comes first");
}

#[tokio::test]
async fn bad_list_parameters_are_400() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    for i in 0..3 {
        create(&app, &s, &format!("Chance {i}")).await;
    }
    let page = json_with(
        app.get(&format!("{LIST}?sort=-target_value&limit=2"), &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    let cursor = page["next_cursor"].as_str().unwrap();
    for query in [
        "cursor=bm90LWEtY3Vyc29y".to_owned(),
        "cursor=%%%".to_owned(),
        format!("sort=-weighted_value&cursor={cursor}"),
        format!("cursor={cursor}"),
        "limit=0".to_owned(),
        "limit=201".to_owned(),
        "limit=ten".to_owned(),
        "sort=subject".to_owned(),
        "status=pending".to_owned(),
        "health=blue".to_owned(),
        "owner_id=nobody".to_owned(),
        "close_from=2027-13-01".to_owned(),
    ] {
        let response = app.get(&format!("{LIST}?{query}"), &app.admin()).await;
        problem(response, StatusCode::BAD_REQUEST).await;
    }
    let limit = json_with(
        app.get(&format!("{LIST}?limit=200"), &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(limit["items"].as_array().unwrap().len(), 3);
    assert!(limit["next_cursor"].is_null());
}

#[tokio::test]
async fn health_follows_the_last_contact_and_the_stage_or_funnel_thresholds() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    // The proposal stage overrides the funnel's 7/14 days with 2/4; a late stage only the
    // critical days (3), so its effective thresholds are 7 (funnel) and 3 (stage).
    json_with(
        app.patch(
            &format!("/api/v1/stages/{}", s.proposal),
            &app.admin(),
            &json!({"warn_after_days": 2, "critical_after_days": 4}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let late = id(&app
        .create_stage(
            json!({"code": "LATE", "name": "Spät", "outcome": "open", "probability": 50, "critical_after_days": 3}),
        )
        .await);
    json_with(
        app.patch(
            &format!("/api/v1/funnels/{}", s.funnel),
            &app.admin(),
            &json!({"stage_ids": [s.first, s.proposal, late, s.contract, s.won, s.lost]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let mut expected = Vec::new();
    for (subject, stage, days, health) in [
        ("funnel 1 day", &s.first, 1, "green"),
        ("funnel 10 days", &s.first, 10, "yellow"),
        ("funnel 20 days", &s.first, 20, "red"),
        ("stage 1 day", &s.proposal, 1, "green"),
        ("stage 3 days", &s.proposal, 3, "yellow"),
        ("stage 5 days", &s.proposal, 5, "red"),
        ("late 5 days", &late, 5, "green"),
        ("late 8 days", &late, 8, "red"),
    ] {
        let mut opportunity = create(&app, &s, subject).await;
        if *stage != s.first {
            opportunity = act_ok(&app, &opportunity, "stage", &json!({"stage_id": stage})).await;
        }
        backdate(&app, &opportunity, days).await;
        expected.push((opportunity, subject, health));
    }
    let won = create(&app, &s, "won long ago").await;
    backdate(&app, &won, 30).await;
    let won = act_ok(&app, &won, "win", &json!({})).await;
    assert!(won["health"].is_null());
    let lost = create(&app, &s, "lost long ago").await;
    backdate(&app, &lost, 30).await;
    act_ok(&app, &lost, "lose", &json!({"lost_reason_id": s.reason})).await;

    for (opportunity, subject, health) in &expected {
        let read = json_with(app.get(&path_of(opportunity), &app.admin()).await, StatusCode::OK).await;
        assert_eq!(read["health"], *health, "{subject}: {read}");
    }
    let read = json_with(app.get(&path_of(&won), &app.admin()).await, StatusCode::OK).await;
    assert!(read["health"].is_null(), "closed: {read}");
    let listed = json_with(
        app.get(&format!("{LIST}?limit=200"), &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    for item in listed["items"].as_array().unwrap() {
        let subject = item["subject"].as_str().unwrap();
        let want = expected
            .iter()
            .find(|(_, s, _)| *s == subject)
            .map_or(Value::Null, |(_, _, h)| Value::from(*h));
        assert_eq!(item["health"], want, "listed {subject}");
    }
    for health in ["green", "yellow", "red"] {
        let want: Vec<&str> = expected
            .iter()
            .filter(|(_, _, h)| *h == health)
            .map(|(_, s, _)| *s)
            .collect();
        assert_eq!(
            subjects(&app, &format!("health={health}")).await,
            sorted(&want),
            "health={health}"
        );
        assert!(
            subjects(&app, &format!("health={health}&status=won")).await.is_empty(),
            "closed ones have no health"
        );
    }
}

#[tokio::test]
async fn a_rep_sees_the_opportunities_of_their_team_funnels_and_their_own() {
    let app = spawn_app().await;
    let a = sales(&app, "NW").await;
    let b = sales(&app, "GW").await;
    let anna = id(&app.create_user("anna@example.com", "rep").await);
    json_with(
        app.patch(
            &format!("/api/v1/funnels/{}", a.funnel),
            &app.admin(),
            &json!({"team_ids": [anna]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let team = create(&app, &a, "Team").await;
    let mut body = new_body(&b, "Eigene");
    body["owner_id"] = anna.clone().into();
    let own = create_as(&app, &app.admin(), &body).await;
    let hidden = create(&app, &b, "Fremd").await;
    let anna_token = app.token_for(Role::Rep, &anna);

    assert_eq!(subjects_as(&app, &anna_token, "").await, sorted(&["Team", "Eigene"]));
    for opportunity in [&team, &own] {
        json_with(app.get(&path_of(opportunity), &anna_token).await, StatusCode::OK).await;
    }
    json_with(
        app.patch(&path_of(&team), &anna_token, &json!({"description": "von Anna"}))
            .await,
        StatusCode::OK,
    )
    .await;
    problem(app.get(&path_of(&hidden), &anna_token).await, StatusCode::NOT_FOUND).await;
    problem(
        app.get(&format!("{}/history", path_of(&hidden)), &anna_token).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.patch(&path_of(&hidden), &anna_token, &json!({"subject": "x"}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    for (action, body) in [
        ("stage", json!({"stage_id": b.proposal})),
        ("win", json!({})),
        ("lose", json!({"lost_reason_id": b.reason})),
    ] {
        problem(
            act(&app, &anna_token, &hidden, action, &body).await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    problem(app.delete(&path_of(&hidden), &anna_token).await, StatusCode::NOT_FOUND).await;
    for query in [
        format!("owner_id={}", b.owner),
        format!("funnel_id={}", b.funnel),
        format!("stage_id={}", b.first),
        "class_id=GW".to_owned(),
        format!("business_partner_id={}", b.partner),
        "health=green".to_owned(),
        "status=open".to_owned(),
        "q=Fremd".to_owned(),
        "q=OPP-000003".to_owned(),
    ] {
        let found = subjects_as(&app, &anna_token, &query).await;
        assert!(!found.contains(&"Fremd".to_owned()), "{query}: {found:?}");
    }
    assert_eq!(
        subjects_as(&app, &anna_token, &format!("funnel_id={}", b.funnel)).await,
        vec!["Eigene"]
    );
    let read = json_with(app.get(&path_of(&hidden), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["version"], 1, "nothing reached it");
    let closed = act_ok(&app, &hidden, "win", &json!({})).await;
    problem(
        act(&app, &anna_token, &closed, "reopen", &json!({"stage_id": b.first})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // A rep token whose subject is no user sees nothing.
    assert!(
        subjects_as(&app, &app.token_for(Role::Rep, "not-a-user"), "")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_rep_creates_for_others_only_in_their_team_funnels() {
    let app = spawn_app().await;
    let a = sales(&app, "NW").await;
    let b = sales(&app, "GW").await;
    let anna = id(&app.create_user("anna@example.com", "rep").await);
    let ben = id(&app.create_user("ben@example.com", "rep").await);
    json_with(
        app.patch(
            &format!("/api/v1/funnels/{}", a.funnel),
            &app.admin(),
            &json!({"team_ids": [anna]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let anna_token = app.token_for(Role::Rep, &anna);
    let mut elsewhere = new_body(&b, "Für Ben woanders");
    elsewhere["owner_id"] = ben.clone().into();
    problem(app.post(LIST, &anna_token, &elsewhere).await, StatusCode::FORBIDDEN).await;
    // The class's default owner is someone else as well.
    problem(
        app.post(LIST, &anna_token, &new_body(&b, "Klassenbesitzer")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    elsewhere["owner_id"] = anna.clone().into();
    create_as(&app, &anna_token, &elsewhere).await;
    let mut team = new_body(&a, "Für Ben im Team");
    team["owner_id"] = ben.clone().into();
    create_as(&app, &anna_token, &team).await;
    // Handing an opportunity to someone else in a funnel outside the team is just as closed.
    let mine = create_as(&app, &anna_token, &{
        let mut body = new_body(&b, "Abgeben");
        body["owner_id"] = anna.clone().into();
        body
    })
    .await;
    problem(
        app.patch(&path_of(&mine), &anna_token, &json!({"owner_id": ben})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        subjects(&app, "").await,
        sorted(&["Für Ben woanders", "Für Ben im Team", "Abgeben"])
    );
    let anonymous = app.anonymous(Method::GET, LIST).send().await.unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
    let anonymous = app
        .anonymous(Method::POST, LIST)
        .json(&new_body(&a, "Anonym"))
        .send()
        .await
        .unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_viewer_reads_everything_and_writes_nothing() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let open = create(&app, &s, "Offen").await;
    let won = create(&app, &s, "Gewonnen").await;
    let won = act_ok(&app, &won, "win", &json!({})).await;
    let viewer = app.token_for(Role::Viewer, "v");
    assert_eq!(subjects_as(&app, &viewer, "").await, sorted(&["Offen", "Gewonnen"]));
    json_with(app.get(&path_of(&open), &viewer).await, StatusCode::OK).await;
    json_with(
        app.get(&format!("{}/history", path_of(&open)), &viewer).await,
        StatusCode::OK,
    )
    .await;
    problem(
        app.post(LIST, &viewer, &new_body(&s, "Nein")).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.patch(&path_of(&open), &viewer, &json!({"subject": "Nein"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    for (opportunity, action, body) in [
        (&open, "stage", json!({"stage_id": s.proposal})),
        (&open, "win", json!({})),
        (&open, "lose", json!({"lost_reason_id": s.reason})),
        (&won, "reopen", json!({"stage_id": s.first})),
        (&won, "erp-handoff", json!({"erp_reference": "SO-1"})),
    ] {
        problem(
            act(&app, &viewer, opportunity, action, &body).await,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    problem(app.delete(&path_of(&open), &viewer).await, StatusCode::FORBIDDEN).await;
    let read = json_with(app.get(&path_of(&open), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(read["version"], 1);
}

#[tokio::test]
async fn an_open_opportunity_is_deleted_with_its_history() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let created = create(&app, &s, "Weg").await;
    let moved = act_ok(&app, &created, "stage", &json!({"stage_id": s.proposal})).await;
    let stale = app
        .request(Method::DELETE, &path_of(&moved), &app.admin())
        .header("If-Match", "\"1\"")
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let response = app
        .request(Method::DELETE, &path_of(&moved), &app.admin())
        .header("If-Match", "\"2\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    problem(app.get(&path_of(&created), &app.admin()).await, StatusCode::NOT_FOUND).await;
    problem(
        app.get(&format!("{}/history", path_of(&created)), &app.admin()).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.delete(&path_of(&created), &app.admin()).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let mut conn = app.db.connect_async().await;
    let left: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT count(*) FROM opportunity_stage_changes")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0, "the history went with it");
    // A manager deletes too.
    let other = create(&app, &s, "Auch weg").await;
    let manager = app.token_for(Role::Manager, "m");
    assert_eq!(
        app.delete(&path_of(&other), &manager).await.status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn what_opportunities_use_cannot_be_removed() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let spare = sales(&app, "GW").await;
    // Only an opportunity refers to the spare funnel (its class routes elsewhere).
    json_with(
        app.patch(
            "/api/v1/classes/GW",
            &app.admin(),
            &json!({"default_funnel_id": s.funnel}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let created = create(&app, &s, "Belegt").await;
    act_ok(&app, &created, "stage", &json!({"stage_id": s.proposal})).await;
    let mut body = new_body(&s, "Anderer Trichter");
    body["funnel_id"] = spare.funnel.clone().into();
    body["stage_id"] = spare.first.clone().into();
    create_as(&app, &app.admin(), &body).await;

    let funnel_path = format!("/api/v1/funnels/{}", s.funnel);
    let without_proposal = json!({"stage_ids": [s.first, s.contract, s.won, s.lost]});
    problem(
        app.patch(&funnel_path, &app.admin(), &without_proposal).await,
        StatusCode::CONFLICT,
    )
    .await;
    let without_contract = json!({"stage_ids": [s.first, s.proposal, s.won, s.lost]});
    json_with(
        app.patch(&funnel_path, &app.admin(), &without_contract).await,
        StatusCode::OK,
    )
    .await;
    for path in [
        format!("/api/v1/stages/{}", s.proposal),
        format!("/api/v1/business-partners/{}", s.partner),
        format!("/api/v1/classes/{}", s.class),
        format!("/api/v1/funnels/{}", spare.funnel),
    ] {
        problem(app.delete(&path, &app.admin()).await, StatusCode::CONFLICT).await;
    }
    assert_eq!(subjects(&app, "").await, sorted(&["Belegt", "Anderer Trichter"]));
    // The stage taken out of the funnel holds nothing: it goes.
    assert_eq!(
        app.delete(&format!("/api/v1/stages/{}", s.contract), &app.admin())
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
}
