//! The next step of an opportunity: its earliest planned activity (`next_activity`), the count
//! of overdue planned activities, the list filters on them, and the funnel rule that keeps a red
//! opportunity with a planned follow-up yellow.

use chrono::{Duration, SecondsFormat, Utc};
use diesel_async::RunQueryDsl;
use reqwest::StatusCode;
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, header, instant, json_with, spawn_app};
use crate::opportunities::{Sales, backdate, create, create_as, id, new_body, path_of, sales, sorted, subjects_as};

const ACTIVITIES: &str = "/api/v1/activities";

fn hours_from_now(hours: i64) -> String {
    (Utc::now() + Duration::hours(hours)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A planned activity of `kind` on `opportunity`, due `due_at` (or undated), as admin.
async fn plan(app: &TestApp, opportunity: &Value, kind: &str, subject: &str, due_at: Option<String>) -> Value {
    let mut body = json!({"kind": kind, "subject": subject, "opportunity_id": opportunity["id"]});
    if let Some(due_at) = due_at {
        body["due_at"] = json!(due_at);
    }
    json_with(app.post(ACTIVITIES, &app.admin(), &body).await, StatusCode::CREATED).await
}

async fn read(app: &TestApp, opportunity: &Value) -> Value {
    json_with(app.get(&path_of(opportunity), &app.admin()).await, StatusCode::OK).await
}

fn activity_path(activity: &Value) -> String {
    format!("{ACTIVITIES}/{}", id(activity))
}

async fn patch_activity(app: &TestApp, activity: &Value, body: Value) -> Value {
    json_with(
        app.patch(&activity_path(activity), &app.admin(), &body).await,
        StatusCode::OK,
    )
    .await
}

/// The id of the opportunity's next activity, or None.
fn next_id(opportunity: &Value) -> Option<String> {
    opportunity["next_activity"]["id"].as_str().map(str::to_owned)
}

async fn subjects(app: &TestApp, query: &str) -> Vec<String> {
    subjects_as(app, &app.admin(), query).await
}

/// Moves the due date of `activity` and the stored next step of its opportunity back by `hours`,
/// as time passing would leave them.
async fn backdate_due(app: &TestApp, activity: &Value, hours: i32) {
    let mut conn = app.db.connect_async().await;
    let id = uuid::Uuid::parse_str(activity["id"].as_str().unwrap()).unwrap();
    diesel::sql_query(
        "WITH a AS (UPDATE activities SET due_at = due_at - make_interval(hours => $2) WHERE id = $1
                    RETURNING opportunity_id, due_at)
         UPDATE opportunities o SET next_activity_due_at = a.due_at FROM a
         WHERE o.id = a.opportunity_id AND o.next_activity_id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<diesel::sql_types::Integer, _>(hours)
    .execute(&mut conn)
    .await
    .unwrap();
}

async fn keep_yellow(app: &TestApp, s: &Sales, keeps: bool) {
    let funnel = json_with(
        app.patch(
            &format!("/api/v1/funnels/{}", s.funnel),
            &app.admin(),
            &json!({"planned_followup_keeps_yellow": keeps}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(funnel["planned_followup_keeps_yellow"], keeps);
}

#[tokio::test]
async fn the_next_activity_follows_creates_patches_done_deletes_and_moves() {
    let app = spawn_app().await;
    let s = sales(&app, "NXT").await;
    let a = create(&app, &s, "Flotte A").await;
    let b = create(&app, &s, "Flotte B").await;
    assert!(a["next_activity"].is_null(), "{a}");
    assert_eq!(a["overdue_activity_count"], 0);

    let call = plan(&app, &a, "call", "Rückruf", Some(hours_from_now(72))).await;
    let got = read(&app, &a).await;
    assert_eq!(got["next_activity"]["id"], call["id"]);
    assert_eq!(got["next_activity"]["kind"], "call");
    assert_eq!(got["next_activity"]["subject"], "Rückruf");
    assert_eq!(instant(&got["next_activity"]["due_at"]), instant(&call["due_at"]));
    assert_eq!(got["version"], a["version"], "an activity leaves the version alone");

    let task = plan(&app, &a, "task", "Angebot rechnen", Some(hours_from_now(24))).await;
    assert_eq!(
        next_id(&read(&app, &a).await),
        Some(id(&task)),
        "the earliest due first"
    );
    let note = plan(&app, &a, "note", "Irgendwann nachfassen", None).await;
    assert_eq!(
        next_id(&read(&app, &a).await),
        Some(id(&task)),
        "undated ones come after dated ones"
    );

    patch_activity(
        &app,
        &task,
        json!({"due_at": hours_from_now(120), "subject": "Angebot neu rechnen"}),
    )
    .await;
    assert_eq!(next_id(&read(&app, &a).await), Some(id(&call)), "a later due date");

    patch_activity(&app, &call, json!({"status": "done", "occurred_at": hours_from_now(0)})).await;
    let got = read(&app, &a).await;
    assert_eq!(next_id(&got), Some(id(&task)), "a done one is no next step");
    assert_eq!(
        got["next_activity"]["subject"], "Angebot neu rechnen",
        "the patched subject"
    );

    let deleted = app.delete(&activity_path(&task), &app.admin()).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let got = read(&app, &a).await;
    assert_eq!(next_id(&got), Some(id(&note)), "then the undated one");
    assert!(got["next_activity"]["due_at"].is_null());

    patch_activity(&app, &note, json!({"opportunity_id": b["id"]})).await;
    assert!(read(&app, &a).await["next_activity"].is_null(), "it left A");
    assert_eq!(next_id(&read(&app, &b).await), Some(id(&note)), "and joined B");

    // Back to planned, the done call is the next step again.
    patch_activity(&app, &call, json!({"status": "planned", "due_at": hours_from_now(48)})).await;
    assert_eq!(next_id(&read(&app, &a).await), Some(id(&call)));
    assert_eq!(read(&app, &a).await["version"], a["version"]);
}

#[tokio::test]
async fn an_activity_change_that_moves_the_next_step_writes_opportunity_updated() {
    let app = spawn_app().await;
    let s = sales(&app, "EVT").await;
    let a = create(&app, &s, "Ereignis").await;
    let call = plan(&app, &a, "call", "Rückruf", Some(hours_from_now(24))).await;
    let events = app.feed(1).await;
    let updated: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "opportunity.updated" && e["subject_id"] == a["id"])
        .collect();
    let event = updated.last().expect("an opportunity.updated for the new next step");
    assert_eq!(event["data"]["cause"], json!({"type": "activity", "id": call["id"]}));
    assert!(event["data"]["previous"]["next_activity"].is_null());
    assert_eq!(event["data"]["opportunity"]["next_activity"]["id"], call["id"]);
    assert_eq!(event["data"]["opportunity"]["overdue_activity_count"], 0);
    assert_eq!(event["data"]["opportunity"]["version"], a["version"]);
}

#[tokio::test]
async fn overdue_counts_planned_activities_past_due_and_the_filters_find_them() {
    let app = spawn_app().await;
    let s = sales(&app, "OVD").await;
    let late = create(&app, &s, "Überfällig").await;
    let soon = create(&app, &s, "Demnächst").await;
    let undated = create(&app, &s, "Ohne Termin").await;
    create(&app, &s, "Nichts geplant").await;

    let first = plan(&app, &late, "call", "Nachfassen", Some(hours_from_now(2))).await;
    let second = plan(&app, &late, "email", "Unterlagen schicken", Some(hours_from_now(3))).await;
    plan(&app, &late, "task", "Später", Some(hours_from_now(240))).await;
    backdate_due(&app, &first, 50).await;
    backdate_due(&app, &second, 26).await;
    plan(&app, &soon, "meeting", "Probefahrt", Some(hours_from_now(30))).await;
    plan(&app, &undated, "note", "Irgendwann", None).await;

    let got = read(&app, &late).await;
    assert_eq!(got["overdue_activity_count"], 2, "{got}");
    assert_eq!(next_id(&got), Some(id(&first)));
    assert_eq!(read(&app, &soon).await["overdue_activity_count"], 0);
    assert_eq!(read(&app, &undated).await["overdue_activity_count"], 0);
    // A list shows the same as a read.
    let page = json_with(
        app.get("/api/v1/opportunities?overdue=true", &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["items"][0]["overdue_activity_count"], 2);

    assert_eq!(subjects(&app, "overdue=true").await, ["Überfällig"]);
    assert_eq!(
        subjects(&app, "overdue=false").await,
        sorted(&["Demnächst", "Ohne Termin", "Nichts geplant"])
    );
    assert_eq!(
        subjects(&app, "has_next_activity=true").await,
        sorted(&["Überfällig", "Demnächst", "Ohne Termin"])
    );
    assert_eq!(subjects(&app, "has_next_activity=false").await, ["Nichts geplant"]);
    let before = (Utc::now() + Duration::hours(48)).format("%Y-%m-%dT%H:%M:%SZ");
    assert_eq!(
        subjects(&app, &format!("next_activity_before={before}")).await,
        sorted(&["Überfällig", "Demnächst"])
    );
    assert_eq!(
        subjects(&app, &format!("next_activity_before={before}&overdue=false")).await,
        ["Demnächst"]
    );
    let invalid = app
        .get("/api/v1/opportunities?has_next_activity=vielleicht", &app.admin())
        .await;
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);

    // Done, the follow-up is no longer overdue.
    patch_activity(
        &app,
        &first,
        json!({"status": "done", "occurred_at": hours_from_now(0)}),
    )
    .await;
    let got = read(&app, &late).await;
    assert_eq!(got["overdue_activity_count"], 1);
    assert_eq!(next_id(&got), Some(id(&second)));
}

#[tokio::test]
async fn a_rep_filters_only_the_opportunities_they_see() {
    let app = spawn_app().await;
    let mine = sales(&app, "MINE").await;
    let other = sales(&app, "OTHER").await;
    let own = create(&app, &mine, "Eigene").await;
    let foreign = create(&app, &other, "Fremde").await;
    for opportunity in [&own, &foreign] {
        let planned = plan(&app, opportunity, "call", "Nachfassen", Some(hours_from_now(1))).await;
        backdate_due(&app, &planned, 5).await;
    }
    let rep = app.token_for(Role::Rep, &mine.owner);
    assert_eq!(subjects_as(&app, &rep, "overdue=true").await, ["Eigene"]);
    assert_eq!(subjects_as(&app, &rep, "has_next_activity=true").await, ["Eigene"]);
    assert_eq!(subjects(&app, "overdue=true").await, sorted(&["Eigene", "Fremde"]));
    let hidden = app.get(&path_of(&foreign), &rep).await;
    assert_eq!(hidden.status(), StatusCode::NOT_FOUND);
    let seen = json_with(app.get(&path_of(&own), &rep).await, StatusCode::OK).await;
    assert_eq!(seen["overdue_activity_count"], 1);
}

#[tokio::test]
async fn a_planned_followup_keeps_a_red_opportunity_yellow_when_the_funnel_says_so() {
    let app = spawn_app().await;
    let s = sales(&app, "YEL").await;
    // The funnel's thresholds: yellow after 7 days, red after 14.
    let kept = create(&app, &s, "Mit Termin").await;
    let late = create(&app, &s, "Termin verpasst").await;
    let far = create(&app, &s, "Termin in drei Wochen").await;
    let bare = create(&app, &s, "Ohne Termin").await;
    for opportunity in [&kept, &late, &far, &bare] {
        backdate(&app, opportunity, 30).await;
    }
    plan(&app, &kept, "call", "Nachfassen", Some(hours_from_now(48))).await;
    let missed = plan(&app, &late, "call", "Nachfassen", Some(hours_from_now(1))).await;
    backdate_due(&app, &missed, 25).await;
    plan(&app, &far, "meeting", "Termin", Some(hours_from_now(21 * 24))).await;

    let all = sorted(&["Mit Termin", "Termin verpasst", "Termin in drei Wochen", "Ohne Termin"]);
    let funnel = json_with(
        app.get(&format!("/api/v1/funnels/{}", s.funnel), &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(funnel["planned_followup_keeps_yellow"], false, "off by default");
    assert_eq!(read(&app, &kept).await["health"], "red", "the funnel does not keep yet");
    let red_etag = header(&app.get(&path_of(&kept), &app.admin()).await, "etag").unwrap();
    assert_eq!(subjects(&app, "health=red").await, all);

    keep_yellow(&app, &s, true).await;
    let response = app.get(&path_of(&kept), &app.admin()).await;
    let etag = header(&response, "etag").unwrap();
    let got = json_with(response, StatusCode::OK).await;
    assert_eq!(got["health"], "yellow", "{got}");
    assert!(
        etag != red_etag && etag.starts_with(&format!("\"{}-", got["version"])),
        "{etag}"
    );
    assert_eq!(
        read(&app, &late).await["health"],
        "red",
        "an overdue follow-up keeps nothing"
    );
    assert_eq!(read(&app, &far).await["health"], "red", "due beyond the warn days");
    assert_eq!(read(&app, &bare).await["health"], "red");
    assert_eq!(subjects(&app, "health=yellow").await, ["Mit Termin"]);
    assert_eq!(
        subjects(&app, "health=red").await,
        sorted(&["Termin verpasst", "Termin in drei Wochen", "Ohne Termin"])
    );
    assert!(subjects(&app, "health=green").await.is_empty());
    let owners = json_with(
        app.get(&format!("/api/v1/reports/owners?owner_id={}", s.owner), &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(owners["owners"][0]["red_count"], 3, "{owners}");

    // A stage's warn days replace the funnel's for the window: 1 day does not reach 48 hours.
    let stage = json_with(
        app.patch(
            &format!("/api/v1/stages/{}", s.first),
            &app.admin(),
            &json!({"warn_after_days": 1, "critical_after_days": 2}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(stage["warn_after_days"], 1);
    assert_eq!(read(&app, &kept).await["health"], "red");
    assert_eq!(subjects(&app, "health=yellow").await, Vec::<String>::new());

    keep_yellow(&app, &s, false).await;
    assert_eq!(read(&app, &kept).await["health"], "red");
}

#[tokio::test]
async fn a_rep_reads_the_next_step_of_an_opportunity_they_create() {
    let app = spawn_app().await;
    let s = sales(&app, "REP").await;
    let rep = app.token_for(Role::Rep, &s.owner);
    let mut body = new_body(&s, "Vom Vertrieb");
    body["owner_id"] = json!(s.owner);
    let own = create_as(&app, &app.admin(), &body).await;
    let planned = json_with(
        app.post(
            ACTIVITIES,
            &rep,
            &json!({"kind": "call", "subject": "Rückruf", "opportunity_id": own["id"], "due_at": hours_from_now(5)}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let seen = json_with(app.get(&path_of(&own), &rep).await, StatusCode::OK).await;
    assert_eq!(next_id(&seen), Some(id(&planned)));
}

#[tokio::test]
async fn the_demo_has_planned_follow_ups_two_of_them_overdue() {
    let app = spawn_app().await;
    let seeded = std::process::Command::new(env!("CARGO_BIN_EXE_salesfunnel"))
        .args(["seed", "--demo"])
        .env("DATABASE_URL", &app.db.url)
        .env("JWT_SECRET", std::str::from_utf8(crate::helpers::SECRET).unwrap())
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    assert_eq!(
        subjects(&app, "overdue=true").await,
        sorted(&[
            "Anfrage über die Website: Octavia Combi",
            "Räderwechsel und Einlagerung Baustellenfahrzeuge"
        ])
    );
    let planned = subjects(&app, "has_next_activity=true&overdue=false").await;
    assert!(planned.len() >= 4, "{planned:?}");
    assert!(planned.contains(&"Umbau Kühlfahrzeug: Werkstattstunden".to_owned()));
}
