//! Creating opportunities, their computed fields, changing and deleting them; the shared
//! set-up of the opportunity tests.

use diesel_async::RunQueryDsl;
use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, header, instant, json_with, problem, spawn_app};

pub const NOBODY: &str = "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10";
pub const LIST: &str = "/api/v1/opportunities";

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

pub fn id(value: &Value) -> String {
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

pub async fn rejected(app: &TestApp, body: &Value) -> Vec<String> {
    error_fields(
        &problem(
            app.post(LIST, &app.admin(), body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await,
    )
}

/// The subjects of the listed opportunities (one page of up to 200), sorted.
pub async fn subjects_as(app: &TestApp, token: &str, query: &str) -> Vec<String> {
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

pub async fn subjects(app: &TestApp, query: &str) -> Vec<String> {
    subjects_as(app, &app.admin(), query).await
}

pub fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    names.sort();
    names
}

/// Makes an opportunity look `days` old and uncontacted since.
pub async fn backdate(app: &TestApp, opportunity: &Value, days: i32) {
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
    assert!(
        etag.as_deref().is_some_and(|e| e.starts_with("\"1-")),
        "an opportunity's ETag is its version and a digest of what is sent: {etag:?}"
    );
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
    assert_eq!(header(&read, "etag"), etag, "the same opportunity, the same ETag");
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
    assert!(header(&response, "etag").is_some_and(|e| e.starts_with("\"2-")));
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
