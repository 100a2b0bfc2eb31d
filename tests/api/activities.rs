use chrono::{Duration, SecondsFormat, Utc};
use diesel_async::RunQueryDsl;
use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, header, instant, json_with, problem, spawn_app};

const NOBODY: &str = "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10";
const LIST: &str = "/api/v1/activities";

/// A funnel whose team is one rep, a class routing to it, a partner with an opportunity, and
/// a rep outside the team.
struct World {
    app: TestApp,
    partner: String,
    class: String,
    stage: String,
    opportunity: Value,
    /// A rep in the funnel's team.
    member: String,
    /// A rep neither in the team nor owning anything.
    outsider: String,
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

fn path_of(activity: &Value) -> String {
    format!("{LIST}/{}", id(activity))
}

/// An instant `minutes` from now (negative: ago), as RFC 3339.
fn minutes_from_now(minutes: i64) -> String {
    (Utc::now() + Duration::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn world() -> World {
    let app = spawn_app().await;
    let member = id(&app.create_user("member@example.com", "rep").await);
    let outsider = id(&app.create_user("outsider@example.com", "rep").await);
    let stages = app.create_stage_set("NW").await;
    let funnel = app
        .create_funnel(json!({"name": "Neuwagen", "stage_ids": stages, "team_ids": [member]}))
        .await;
    json_with(
        app.post(
            "/api/v1/classes",
            &app.admin(),
            &json!({"id": "NW", "default_funnel_id": funnel["id"], "default_owner_id": member}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let partner = id(&app
        .create_partner(json!({"kind": "lead", "name": "Autohaus Müller"}))
        .await);
    let stage = stages[0].as_str().unwrap().to_owned();
    let mut world = World {
        app,
        partner,
        class: "NW".to_owned(),
        stage,
        opportunity: Value::Null,
        member,
        outsider,
    };
    world.opportunity = world.opportunity_of(&world.partner.clone(), "Flottenerneuerung").await;
    world
}

impl World {
    async fn opportunity_of(&self, partner: &str, subject: &str) -> Value {
        json_with(
            self.app
                .post(
                    "/api/v1/opportunities",
                    &self.app.admin(),
                    &json!({
                        "subject": subject, "business_partner_id": partner, "class_id": self.class,
                        "stage_id": self.stage, "target_value": "1000.00"
                    }),
                )
                .await,
            StatusCode::CREATED,
        )
        .await
    }

    /// Creates an activity as admin and returns it.
    async fn log(&self, body: Value) -> Value {
        json_with(self.app.post(LIST, &self.app.admin(), &body).await, StatusCode::CREATED).await
    }

    /// A done call on `opportunity`, `minutes` from now.
    async fn call(&self, opportunity: &Value, minutes: i64) -> Value {
        self.log(json!({
            "kind": "call", "subject": "Angebot besprochen", "opportunity_id": opportunity["id"],
            "status": "done", "occurred_at": minutes_from_now(minutes)
        }))
        .await
    }

    async fn opportunity(&self, opportunity: &Value) -> Value {
        json_with(
            self.app
                .get(&format!("/api/v1/opportunities/{}", id(opportunity)), &self.app.admin())
                .await,
            StatusCode::OK,
        )
        .await
    }

    /// Posts an activity as admin, expects a 422 and returns the fields it names.
    async fn rejected(&self, body: Value) -> Vec<String> {
        let found = problem(
            self.app.post(LIST, &self.app.admin(), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        error_fields(&found)
    }

    /// Patches an activity as admin, expects a 422 and returns the fields it names.
    async fn rejected_patch(&self, activity: &Value, body: Value) -> Vec<String> {
        let found = problem(
            self.app.patch(&path_of(activity), &self.app.admin(), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        error_fields(&found)
    }

    async fn patch(&self, activity: &Value, body: Value) -> Value {
        json_with(
            self.app.patch(&path_of(activity), &self.app.admin(), &body).await,
            StatusCode::OK,
        )
        .await
    }

    /// The subjects of a list, in order.
    async fn subjects(&self, path: &str, token: &str) -> Vec<String> {
        let page = json_with(self.app.get(path, token).await, StatusCode::OK).await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["subject"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Makes an opportunity look `days` old and uncontacted since.
    async fn backdate(&self, opportunity: &Value, days: i32) {
        let mut conn = self.app.db.connect_async().await;
        let id = uuid::Uuid::parse_str(&id(opportunity)).unwrap();
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
}

#[tokio::test]
async fn a_done_call_is_logged_on_an_opportunity_and_takes_its_partner() {
    let w = world().await;
    let before = Utc::now();
    let response = w
        .app
        .post(
            LIST,
            &w.app.admin(),
            &json!({
                "kind": "call", "subject": "  Angebot besprochen ", "body": "Will 48 Monate Leasing",
                "opportunity_id": w.opportunity["id"], "status": "done"
            }),
        )
        .await;
    let location = header(&response, "location").unwrap();
    let etag = header(&response, "etag").unwrap();
    let created = json_with(response, StatusCode::CREATED).await;
    assert_eq!(location, path_of(&created));
    assert_eq!(etag, "\"1\"");
    assert_eq!(created["kind"], "call");
    assert_eq!(created["subject"], "Angebot besprochen", "stored trimmed");
    assert_eq!(created["body"], "Will 48 Monate Leasing");
    assert_eq!(created["business_partner_id"], w.partner.as_str());
    assert_eq!(created["opportunity_id"], w.opportunity["id"]);
    assert!(
        created["owner_id"].is_null(),
        "an admin token whose sub is no user leaves it empty"
    );
    assert_eq!(created["status"], "done");
    assert!(created["due_at"].is_null());
    let occurred = instant(&created["occurred_at"]);
    assert!(occurred >= before - Duration::seconds(1) && occurred <= Utc::now() + Duration::seconds(1));
    assert_eq!(created["timeline_at"], created["occurred_at"]);
    assert_eq!(created["version"], 1);
    let read = json_with(w.app.get(&location, &w.app.admin()).await, StatusCode::OK).await;
    assert_eq!(read, created);
}

#[tokio::test]
async fn an_activity_without_an_opportunity_needs_an_existing_partner() {
    let w = world().await;
    let created = w
        .log(json!({"kind": "note", "subject": "Messe-Kontakt", "business_partner_id": w.partner}))
        .await;
    assert_eq!(created["business_partner_id"], w.partner.as_str());
    assert!(created["opportunity_id"].is_null());
    assert_eq!(created["status"], "planned", "no occurred_at: planned");
    assert!(created["occurred_at"].is_null());
    assert_eq!(
        w.rejected(json!({"kind": "note", "subject": "Niemand"})).await,
        ["business_partner_id"]
    );
    assert_eq!(
        w.rejected(json!({"kind": "note", "subject": "Geist", "business_partner_id": NOBODY}))
            .await,
        ["business_partner_id"]
    );
}

#[tokio::test]
async fn status_defaults_from_occurred_at_and_a_planned_activity_is_due() {
    let w = world().await;
    let due = minutes_from_now(60 * 24);
    let planned = w
        .log(json!({"kind": "meeting", "subject": "Probefahrt", "opportunity_id": w.opportunity["id"], "due_at": due}))
        .await;
    assert_eq!(planned["status"], "planned");
    assert_eq!(instant(&planned["due_at"]), instant(&json!(due)));
    assert_eq!(
        planned["timeline_at"], planned["due_at"],
        "a planned activity sits at its due date"
    );
    let at = minutes_from_now(-90);
    let done = w
        .log(json!({"kind": "email", "subject": "Prospekt geschickt", "opportunity_id": w.opportunity["id"], "occurred_at": at}))
        .await;
    assert_eq!(done["status"], "done", "an occurred_at means it happened");
    assert_eq!(instant(&done["occurred_at"]), instant(&json!(at)));
    // Up to five minutes ahead is clock skew, not the future.
    let skewed = w
        .log(json!({"kind": "call", "subject": "Rückruf", "opportunity_id": w.opportunity["id"], "occurred_at": minutes_from_now(4)}))
        .await;
    assert_eq!(skewed["status"], "done");
}

#[tokio::test]
async fn every_invalid_field_of_a_new_activity_is_named() {
    let w = world().await;
    let other = id(&w
        .app
        .create_partner(json!({"kind": "customer", "name": "Andere AG"}))
        .await);
    let opp = w.opportunity["id"].clone();
    let cases = [
        (
            json!({"kind": "call", "subject": "x", "opportunity_id": NOBODY}),
            "opportunity_id",
        ),
        (
            json!({"kind": "call", "subject": "x", "opportunity_id": opp, "business_partner_id": other}),
            "business_partner_id",
        ),
        (
            json!({"kind": "call", "subject": "x", "opportunity_id": opp, "owner_id": NOBODY}),
            "owner_id",
        ),
        (
            json!({"kind": "call", "subject": "x", "opportunity_id": opp, "occurred_at": minutes_from_now(60)}),
            "occurred_at",
        ),
        (
            json!({"kind": "call", "subject": "x", "opportunity_id": opp, "status": "planned", "occurred_at": minutes_from_now(-60)}),
            "occurred_at",
        ),
        (json!({"kind": "fax", "subject": "x", "opportunity_id": opp}), "kind"),
        (
            json!({"kind": "call", "subject": "  ", "opportunity_id": opp}),
            "subject",
        ),
        (json!({"kind": "call", "opportunity_id": opp}), "subject"),
        (json!({"subject": "x", "opportunity_id": opp}), "kind"),
        (
            json!({"kind": "call", "subject": "x", "opportunity_id": opp, "status": "maybe"}),
            "status",
        ),
        (
            json!({"kind": "call", "subject": "x", "opportunity_id": opp, "due_at": "tomorrow"}),
            "due_at",
        ),
        (
            json!({"kind": "call", "subject": "x", "opportunity_id": opp, "colour": "red"}),
            "colour",
        ),
        (
            json!({"kind": "call", "subject": "x".repeat(201), "opportunity_id": opp}),
            "subject",
        ),
    ];
    for (body, field) in cases {
        assert_eq!(w.rejected(body.clone()).await, [field], "body {body}");
    }
    // The partner may be repeated when it is the opportunity's.
    let same = w
        .log(json!({"kind": "call", "subject": "x", "opportunity_id": opp, "business_partner_id": w.partner}))
        .await;
    assert_eq!(same["business_partner_id"], w.partner.as_str());
    // Several problems at once are all named.
    assert_eq!(
        w.rejected(json!({"kind": "call", "subject": "x", "opportunity_id": NOBODY, "owner_id": NOBODY}))
            .await,
        ["opportunity_id", "owner_id"]
    );
}

#[tokio::test]
async fn the_owner_defaults_to_the_calling_user() {
    let w = world().await;
    let member = w.app.token_for(Role::Rep, &w.member);
    let created = json_with(
        w.app
            .post(
                LIST,
                &member,
                &json!({"kind": "call", "subject": "Mein Anruf", "opportunity_id": w.opportunity["id"], "status": "done"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["owner_id"], w.member.as_str());
    let manager = id(&w.app.create_user("manager@example.com", "manager").await);
    let given = json_with(
        w.app
            .post(
                LIST,
                &w.app.token_for(Role::Manager, &manager),
                &json!({"kind": "task", "subject": "Für Anna", "business_partner_id": w.partner, "owner_id": w.member}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(given["owner_id"], w.member.as_str(), "a given owner wins");
    // A caller that is no user (an integration) leaves the owner empty.
    let integration = w.app.token_for(Role::Manager, "erp");
    let orphan = json_with(
        w.app
            .post(
                LIST,
                &integration,
                &json!({"kind": "note", "subject": "?", "business_partner_id": w.partner}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert!(orphan["owner_id"].is_null());
    // A user id that is not (or no longer) a user is refused.
    let stranger = w.app.token_for(Role::Manager, NOBODY);
    problem(
        w.app
            .post(
                LIST,
                &stranger,
                &json!({"kind": "note", "subject": "?", "business_partner_id": w.partner}),
            )
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn a_patch_changes_only_the_given_fields_and_null_clears_optional_ones() {
    let w = world().await;
    let created = w
        .log(json!({
            "kind": "meeting", "subject": "Termin", "body": "Im Autohaus", "opportunity_id": w.opportunity["id"],
            "owner_id": w.member, "due_at": minutes_from_now(120)
        }))
        .await;
    let response = w
        .app
        .request(Method::PATCH, &path_of(&created), &w.app.admin())
        .header("content-type", "application/merge-patch+json")
        .header("if-match", "\"1\"")
        .body(json!({"subject": "Termin beim Kunden", "body": null, "owner_id": null}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "etag").as_deref(), Some("\"2\""));
    let patched = json_with(response, StatusCode::OK).await;
    assert_eq!(patched["subject"], "Termin beim Kunden");
    assert!(patched["body"].is_null() && patched["owner_id"].is_null());
    assert_eq!(patched["kind"], "meeting");
    assert_eq!(patched["due_at"], created["due_at"]);
    assert_eq!(patched["version"], 2);
    // Done now, then back to planned: occurred_at comes and goes.
    let done = w.patch(&created, json!({"status": "done", "due_at": null})).await;
    assert!(done["occurred_at"].is_string() && done["due_at"].is_null());
    assert_eq!(done["timeline_at"], done["occurred_at"]);
    let replanned = w.patch(&created, json!({"status": "planned"})).await;
    assert!(replanned["occurred_at"].is_null());
    assert_eq!(replanned["timeline_at"], replanned["created_at"]);
    // Off the opportunity the partner stays; on it again the partner must match.
    let loose = w.patch(&created, json!({"opportunity_id": null})).await;
    assert!(loose["opportunity_id"].is_null());
    assert_eq!(loose["business_partner_id"], w.partner.as_str());
    let other = id(&w
        .app
        .create_partner(json!({"kind": "customer", "name": "Andere AG"}))
        .await);
    let moved = w.patch(&created, json!({"business_partner_id": other})).await;
    assert_eq!(moved["business_partner_id"], other.as_str());
    let back = w.patch(&created, json!({"opportunity_id": w.opportunity["id"]})).await;
    assert_eq!(
        back["business_partner_id"],
        w.partner.as_str(),
        "the partner follows the opportunity"
    );
    assert_eq!(back["version"], 7);
}

#[tokio::test]
async fn every_invalid_field_of_a_patch_is_named() {
    let w = world().await;
    let call = w.call(&w.opportunity, -30).await;
    let other = id(&w
        .app
        .create_partner(json!({"kind": "customer", "name": "Andere AG"}))
        .await);
    let cases = [
        (json!({"subject": null}), "subject"),
        (json!({"subject": ""}), "subject"),
        (json!({"kind": null}), "kind"),
        (json!({"status": null}), "status"),
        (json!({"business_partner_id": null}), "business_partner_id"),
        (json!({"business_partner_id": other}), "business_partner_id"),
        (
            json!({"business_partner_id": NOBODY, "opportunity_id": null}),
            "business_partner_id",
        ),
        (json!({"opportunity_id": NOBODY}), "opportunity_id"),
        (json!({"owner_id": NOBODY}), "owner_id"),
        (json!({"occurred_at": null}), "occurred_at"),
        (json!({"occurred_at": minutes_from_now(30)}), "occurred_at"),
        (
            json!({"status": "planned", "occurred_at": minutes_from_now(-30)}),
            "occurred_at",
        ),
        (json!({"number": 5}), "number"),
    ];
    for (body, field) in cases {
        assert_eq!(w.rejected_patch(&call, body.clone()).await, [field], "patch {body}");
    }
    let unchanged = json_with(w.app.get(&path_of(&call), &w.app.admin()).await, StatusCode::OK).await;
    assert_eq!(unchanged, call, "rejected patches change nothing");
}

#[tokio::test]
async fn if_match_guards_changes_and_deletion() {
    let w = world().await;
    let call = w.call(&w.opportunity, -10).await;
    let stale = w
        .app
        .request(Method::PATCH, &path_of(&call), &w.app.admin())
        .header("if-match", "\"7\"")
        .json(&json!({"subject": "Zu spät"}))
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let fresh = w
        .app
        .request(Method::PATCH, &path_of(&call), &w.app.admin())
        .header("if-match", "\"1\"")
        .json(&json!({"subject": "Rechtzeitig"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_with(fresh, StatusCode::OK).await["version"], 2);
    let old = w
        .app
        .request(Method::DELETE, &path_of(&call), &w.app.admin())
        .header("if-match", "\"1\"")
        .send()
        .await
        .unwrap();
    problem(old, StatusCode::PRECONDITION_FAILED).await;
    let current = w
        .app
        .request(Method::DELETE, &path_of(&call), &w.app.admin())
        .header("if-match", "\"2\"")
        .send()
        .await
        .unwrap();
    assert_eq!(current.status(), StatusCode::NO_CONTENT);
    problem(w.app.get(&path_of(&call), &w.app.admin()).await, StatusCode::NOT_FOUND).await;
    problem(
        w.app.delete(&path_of(&call), &w.app.admin()).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        w.app
            .patch(&path_of(&call), &w.app.admin(), &json!({"subject": "weg"}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_activity() {
    let w = world().await;
    let body = json!({"kind": "call", "subject": "Einmal", "opportunity_id": w.opportunity["id"], "status": "done"});
    let send = |body: Value| {
        w.app
            .request(Method::POST, LIST, &w.app.admin())
            .header("idempotency-key", "activity-retry-1")
            .json(&body)
            .send()
    };
    let first = send(body.clone()).await.unwrap();
    let first_location = header(&first, "location");
    let first = json_with(first, StatusCode::CREATED).await;
    let again = send(body.clone()).await.unwrap();
    assert_eq!(header(&again, "idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(header(&again, "location"), first_location);
    assert_eq!(json_with(again, StatusCode::CREATED).await, first);
    let mut changed = body;
    changed["subject"] = json!("Zweimal");
    let reused = problem(send(changed).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&reused), ["Idempotency-Key"]);
    assert_eq!(w.subjects(LIST, &w.app.admin()).await, ["Einmal"]);
    assert_eq!(
        w.opportunity(&w.opportunity).await["activity_counts"],
        json!({"call": 1})
    );
}

#[tokio::test]
async fn viewers_read_but_do_not_write_and_anonymous_callers_get_401() {
    let w = world().await;
    let call = w.call(&w.opportunity, -5).await;
    let viewer = w.app.token_for(Role::Viewer, "viewer");
    let body = json!({"kind": "call", "subject": "x", "business_partner_id": w.partner});
    problem(w.app.post(LIST, &viewer, &body).await, StatusCode::FORBIDDEN).await;
    problem(
        w.app.patch(&path_of(&call), &viewer, &json!({"subject": "y"})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(w.app.delete(&path_of(&call), &viewer).await, StatusCode::FORBIDDEN).await;
    // A viewer gets a 403 even for an invalid body: the role is checked first.
    problem(
        w.app.post(LIST, &viewer, &json!({"kind": 1})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let integration = w.app.token_for(Role::Integration, "erp");
    problem(w.app.post(LIST, &integration, &body).await, StatusCode::FORBIDDEN).await;
    for token in [&viewer, &integration] {
        json_with(w.app.get(&path_of(&call), token).await, StatusCode::OK).await;
        assert_eq!(w.subjects(LIST, token).await, ["Angebot besprochen"]);
    }
    let anonymous = [
        w.app.anonymous(Method::GET, LIST),
        w.app.anonymous(Method::GET, &path_of(&call)),
        w.app.anonymous(Method::POST, LIST).json(&body),
        w.app.anonymous(Method::PATCH, &path_of(&call)).json(&json!({})),
        w.app.anonymous(Method::DELETE, &path_of(&call)),
        w.app.anonymous(
            Method::GET,
            &format!("/api/v1/business-partners/{}/activities", w.partner),
        ),
        w.app.anonymous(
            Method::GET,
            &format!("/api/v1/opportunities/{}/activities", id(&w.opportunity)),
        ),
    ];
    for request in anonymous {
        problem(request.send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    }
}

#[tokio::test]
async fn a_rep_outside_the_team_does_not_see_activities_of_its_opportunities() {
    let w = world().await;
    let hidden = w.call(&w.opportunity, -20).await;
    let loose = w
        .log(json!({"kind": "note", "subject": "Ohne Chance", "business_partner_id": w.partner}))
        .await;
    let outsider = w.app.token_for(Role::Rep, &w.outsider);
    problem(w.app.get(&path_of(&hidden), &outsider).await, StatusCode::NOT_FOUND).await;
    problem(
        w.app
            .patch(&path_of(&hidden), &outsider, &json!({"subject": "meins"}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(w.app.delete(&path_of(&hidden), &outsider).await, StatusCode::NOT_FOUND).await;
    problem(
        w.app
            .get(
                &format!("/api/v1/opportunities/{}/activities", id(&w.opportunity)),
                &outsider,
            )
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(w.subjects(LIST, &outsider).await, ["Ohne Chance"]);
    let timeline = format!("/api/v1/business-partners/{}/activities", w.partner);
    assert_eq!(w.subjects(&timeline, &outsider).await, ["Ohne Chance"]);
    // Nor may the rep attach an activity to it or move one onto it.
    let attach = json!({"kind": "call", "subject": "x", "opportunity_id": w.opportunity["id"]});
    let found = problem(
        w.app.post(LIST, &outsider, &attach).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), ["opportunity_id"]);
    let onto = json!({"opportunity_id": w.opportunity["id"]});
    let found = problem(
        w.app.patch(&path_of(&loose), &outsider, &onto).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), ["opportunity_id"]);
    // Activities without an opportunity are anyone's to read and change.
    let renamed = json_with(
        w.app
            .patch(&path_of(&loose), &outsider, &json!({"body": "Messe"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(renamed["body"], "Messe");
    // The team member sees and changes everything.
    let member = w.app.token_for(Role::Rep, &w.member);
    let mut seen = w.subjects(LIST, &member).await;
    seen.sort();
    assert_eq!(seen, ["Angebot besprochen", "Ohne Chance"]);
    json_with(
        w.app
            .patch(&path_of(&hidden), &member, &json!({"body": "vom Team"}))
            .await,
        StatusCode::OK,
    )
    .await;
    // A rep token whose subject is no user id sees only the activities without opportunity.
    let nobody = w.app.token_for(Role::Rep, "not-a-uuid");
    assert_eq!(w.subjects(LIST, &nobody).await, ["Ohne Chance"]);
}

#[tokio::test]
async fn a_done_call_moves_the_last_contact_and_tasks_notes_and_plans_do_not() {
    let w = world().await;
    w.backdate(&w.opportunity, 30).await;
    let start = w.opportunity(&w.opportunity).await;
    let created_at = instant(&start["created_at"]);
    assert_eq!(instant(&start["last_contact_at"]), created_at);
    let opp = w.opportunity["id"].clone();
    for body in [
        json!({"kind": "call", "subject": "geplant", "opportunity_id": opp, "due_at": minutes_from_now(60)}),
        json!({"kind": "task", "subject": "Aufgabe", "opportunity_id": opp, "status": "done"}),
        json!({"kind": "note", "subject": "Notiz", "opportunity_id": opp, "status": "done"}),
    ] {
        w.log(body).await;
        let now = w.opportunity(&w.opportunity).await;
        assert_eq!(instant(&now["last_contact_at"]), created_at, "no contact yet");
    }
    let call = w.call(&w.opportunity, -60 * 24 * 2).await;
    let contacted = w.opportunity(&w.opportunity).await;
    assert_eq!(instant(&contacted["last_contact_at"]), instant(&call["occurred_at"]));
    assert_eq!(
        contacted["version"], start["version"],
        "activities do not change the opportunity's version"
    );
    // An older contact does not move it back; a newer one moves it on.
    w.call(&w.opportunity, -60 * 24 * 5).await;
    assert_eq!(
        instant(&w.opportunity(&w.opportunity).await["last_contact_at"]),
        instant(&call["occurred_at"])
    );
    let later = minutes_from_now(-60);
    w.patch(&call, json!({"occurred_at": later})).await;
    assert_eq!(
        instant(&w.opportunity(&w.opportunity).await["last_contact_at"]),
        instant(&json!(later))
    );
    // Turning the call into a note, or back to planned, takes it away again.
    w.patch(&call, json!({"kind": "note"})).await;
    let older = w.opportunity(&w.opportunity).await;
    assert!(instant(&older["last_contact_at"]) < instant(&json!(minutes_from_now(-60 * 24 * 4))));
    w.patch(&call, json!({"kind": "call", "status": "planned"})).await;
    assert!(instant(&w.opportunity(&w.opportunity).await["last_contact_at"]) < instant(&json!(later)));
}

#[tokio::test]
async fn deleting_or_replanning_the_only_contact_moves_the_last_contact_back() {
    let w = world().await;
    w.backdate(&w.opportunity, 30).await;
    let created_at = instant(&w.opportunity(&w.opportunity).await["created_at"]);
    let call = w.call(&w.opportunity, -5).await;
    assert_eq!(
        instant(&w.opportunity(&w.opportunity).await["last_contact_at"]),
        instant(&call["occurred_at"])
    );
    let planned = w.patch(&call, json!({"status": "planned"})).await;
    assert_eq!(
        instant(&w.opportunity(&w.opportunity).await["last_contact_at"]),
        created_at
    );
    w.patch(&planned, json!({"status": "done"})).await;
    assert!(instant(&w.opportunity(&w.opportunity).await["last_contact_at"]) > created_at);
    let response = w.app.delete(&path_of(&call), &w.app.admin()).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let after = w.opportunity(&w.opportunity).await;
    assert_eq!(instant(&after["last_contact_at"]), created_at);
    assert_eq!(after["activity_counts"], json!({}));
}

#[tokio::test]
async fn health_turns_from_red_to_green_when_a_done_call_is_logged() {
    let w = world().await;
    w.backdate(&w.opportunity, 30).await;
    assert_eq!(w.opportunity(&w.opportunity).await["health"], "red");
    let red = "/api/v1/opportunities?health=red";
    let listed = json_with(w.app.get(red, &w.app.admin()).await, StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let call = w.call(&w.opportunity, -15).await;
    assert_eq!(w.opportunity(&w.opportunity).await["health"], "green");
    let listed = json_with(w.app.get(red, &w.app.admin()).await, StatusCode::OK).await;
    assert!(listed["items"].as_array().unwrap().is_empty());
    // A call ten days ago leaves it yellow (warn after 7, critical after 14 days).
    w.patch(&call, json!({"occurred_at": minutes_from_now(-60 * 24 * 10)}))
        .await;
    assert_eq!(w.opportunity(&w.opportunity).await["health"], "yellow");
}

#[tokio::test]
async fn moving_an_activity_to_another_opportunity_refreshes_both() {
    let w = world().await;
    let second = w.opportunity_of(&w.partner, "Zweitwagen").await;
    w.backdate(&w.opportunity, 30).await;
    w.backdate(&second, 30).await;
    let call = w.call(&w.opportunity, -5).await;
    assert_eq!(w.opportunity(&w.opportunity).await["health"], "green");
    assert_eq!(w.opportunity(&second).await["health"], "red");
    let moved = w.patch(&call, json!({"opportunity_id": second["id"]})).await;
    assert_eq!(moved["opportunity_id"], second["id"]);
    let first = w.opportunity(&w.opportunity).await;
    assert_eq!(first["health"], "red");
    assert_eq!(first["activity_counts"], json!({}));
    let now_second = w.opportunity(&second).await;
    assert_eq!(now_second["health"], "green");
    assert_eq!(now_second["activity_counts"], json!({"call": 1}));
    // To another partner's opportunity: the partner follows.
    let other = id(&w
        .app
        .create_partner(json!({"kind": "customer", "name": "Andere AG"}))
        .await);
    let third = w.opportunity_of(&other, "Dienstwagen").await;
    let elsewhere = w.patch(&call, json!({"opportunity_id": third["id"]})).await;
    assert_eq!(elsewhere["business_partner_id"], other.as_str());
    assert_eq!(w.opportunity(&second).await["health"], "red");
}

#[tokio::test]
async fn activity_counts_on_the_opportunity_count_by_kind() {
    let w = world().await;
    let opp = w.opportunity["id"].clone();
    w.call(&w.opportunity, -10).await;
    w.call(&w.opportunity, -20).await;
    w.log(json!({"kind": "meeting", "subject": "Probefahrt", "opportunity_id": opp, "due_at": minutes_from_now(60)}))
        .await;
    let task = w
        .log(json!({"kind": "task", "subject": "Angebot schreiben", "opportunity_id": opp}))
        .await;
    w.log(json!({"kind": "note", "subject": "Ohne Chance", "business_partner_id": w.partner}))
        .await;
    let read = w.opportunity(&w.opportunity).await;
    assert_eq!(read["activity_counts"], json!({"call": 2, "meeting": 1, "task": 1}));
    w.app.delete(&path_of(&task), &w.app.admin()).await;
    let read = w.opportunity(&w.opportunity).await;
    assert_eq!(read["activity_counts"], json!({"call": 2, "meeting": 1}));
}

#[tokio::test]
async fn the_opportunity_timeline_lists_its_activities_newest_first() {
    let w = world().await;
    let opp = w.opportunity["id"].clone();
    w.log(json!({"kind": "call", "subject": "vor drei Tagen", "opportunity_id": opp, "occurred_at": minutes_from_now(-60 * 72)}))
        .await;
    w.log(json!({"kind": "meeting", "subject": "morgen", "opportunity_id": opp, "due_at": minutes_from_now(60 * 24)}))
        .await;
    w.log(json!({"kind": "email", "subject": "gestern", "opportunity_id": opp, "occurred_at": minutes_from_now(-60 * 24)}))
        .await;
    w.log(json!({"kind": "note", "subject": "anderswo", "business_partner_id": w.partner}))
        .await;
    let timeline = format!("/api/v1/opportunities/{}/activities", id(&w.opportunity));
    assert_eq!(
        w.subjects(&timeline, &w.app.admin()).await,
        ["morgen", "gestern", "vor drei Tagen"]
    );
    assert_eq!(
        w.subjects(&format!("{timeline}?sort=timeline_at"), &w.app.admin())
            .await,
        ["vor drei Tagen", "gestern", "morgen"]
    );
    assert_eq!(
        w.subjects(&format!("{timeline}?kind=email"), &w.app.admin()).await,
        ["gestern"]
    );
    assert_eq!(
        w.subjects(&format!("{timeline}?status=done"), &w.app.admin()).await,
        ["gestern", "vor drei Tagen"]
    );
    let member = w.app.token_for(Role::Rep, &w.member);
    assert_eq!(w.subjects(&timeline, &member).await.len(), 3);
    problem(
        w.app
            .get(&format!("/api/v1/opportunities/{NOBODY}/activities"), &w.app.admin())
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn the_partner_timeline_holds_every_activity_with_the_partner_newest_first_in_pages() {
    let w = world().await;
    let second = w.opportunity_of(&w.partner, "Zweitwagen").await;
    let other = id(&w
        .app
        .create_partner(json!({"kind": "customer", "name": "Andere AG"}))
        .await);
    let mut expected = Vec::new();
    for (hours, opportunity) in [
        (-1, &w.opportunity),
        (-2, &second),
        (-3, &Value::Null),
        (-4, &w.opportunity),
    ] {
        let subject = format!("vor {} Stunden", -hours);
        let mut body = json!({"kind": "call", "subject": subject, "occurred_at": minutes_from_now(hours * 60)});
        if opportunity.is_null() {
            body["business_partner_id"] = json!(w.partner);
        } else {
            body["opportunity_id"] = opportunity["id"].clone();
        }
        w.log(body).await;
        expected.push(subject);
    }
    w.log(json!({"kind": "call", "subject": "fremd", "business_partner_id": other, "status": "done"}))
        .await;
    let timeline = format!("/api/v1/business-partners/{}/activities", w.partner);
    let mut seen = Vec::new();
    let mut path = format!("{timeline}?limit=3");
    let mut pages = 0;
    loop {
        let page = json_with(w.app.get(&path, &w.app.admin()).await, StatusCode::OK).await;
        pages += 1;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["subject"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{timeline}?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(seen, expected);
    // A cursor of one sort does not fit another.
    let first = json_with(
        w.app.get(&format!("{timeline}?limit=1"), &w.app.admin()).await,
        StatusCode::OK,
    )
    .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    problem(
        w.app
            .get(&format!("{timeline}?sort=timeline_at&cursor={cursor}"), &w.app.admin())
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(
        w.app
            .get(
                &format!("/api/v1/business-partners/{NOBODY}/activities"),
                &w.app.admin(),
            )
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn the_activity_list_filters_and_pages() {
    let w = world().await;
    let opp = w.opportunity["id"].clone();
    w.log(json!({"kind": "call", "subject": "Anruf", "opportunity_id": opp, "status": "done", "owner_id": w.member}))
        .await;
    w.log(json!({"kind": "task", "subject": "Bald", "opportunity_id": opp, "due_at": minutes_from_now(60)}))
        .await;
    w.log(json!({"kind": "task", "subject": "Später", "business_partner_id": w.partner, "due_at": minutes_from_now(60 * 24 * 7)}))
        .await;
    let admin = w.app.admin();
    let list = |query: &str| format!("{LIST}?{query}");
    assert_eq!(w.subjects(&list("kind=task"), &admin).await, ["Später", "Bald"]);
    assert_eq!(w.subjects(&list("status=done"), &admin).await, ["Anruf"]);
    assert_eq!(
        w.subjects(&list(&format!("owner_id={}", w.member)), &admin).await,
        ["Anruf"]
    );
    assert_eq!(
        w.subjects(&list(&format!("opportunity_id={}", id(&w.opportunity))), &admin)
            .await,
        ["Bald", "Anruf"]
    );
    assert_eq!(
        w.subjects(&list(&format!("business_partner_id={}", w.partner)), &admin)
            .await,
        ["Später", "Bald", "Anruf"]
    );
    let day = urlencoding(&minutes_from_now(60 * 24));
    assert_eq!(w.subjects(&list(&format!("due_before={day}")), &admin).await, ["Bald"]);
    assert_eq!(w.subjects(&list(&format!("due_after={day}")), &admin).await, ["Später"]);
    assert_eq!(
        w.subjects(&list("sort=timeline_at"), &admin).await,
        ["Anruf", "Bald", "Später"]
    );
    let first = json_with(w.app.get(&list("limit=2"), &admin).await, StatusCode::OK).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    assert_eq!(
        w.subjects(&list(&format!("limit=2&cursor={cursor}")), &admin).await,
        ["Anruf"]
    );
    problem(w.app.get(&list("kind=fax"), &admin).await, StatusCode::BAD_REQUEST).await;
    problem(w.app.get(&list("limit=0"), &admin).await, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn activities_on_closed_opportunities_are_allowed_and_block_deleting_the_opportunity() {
    let w = world().await;
    let path = format!("/api/v1/opportunities/{}", id(&w.opportunity));
    json_with(
        w.app.post(&format!("{path}/win"), &w.app.admin(), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    let call = w.call(&w.opportunity, -1).await;
    assert_eq!(call["opportunity_id"], w.opportunity["id"]);
    let open = w.opportunity_of(&w.partner, "Noch offen").await;
    let note = w
        .log(json!({"kind": "note", "subject": "Merker", "opportunity_id": open["id"]}))
        .await;
    let open_path = format!("/api/v1/opportunities/{}", id(&open));
    problem(w.app.delete(&open_path, &w.app.admin()).await, StatusCode::CONFLICT).await;
    w.app.delete(&path_of(&note), &w.app.admin()).await;
    assert_eq!(
        w.app.delete(&open_path, &w.app.admin()).await.status(),
        StatusCode::NO_CONTENT
    );
}

/// Percent-encodes an RFC 3339 instant for a query string (`+` and `:`).
fn urlencoding(text: &str) -> String {
    text.replace(':', "%3A").replace('+', "%2B")
}

#[tokio::test]
async fn activities_follow_their_opportunity_to_another_partner() {
    let w = world().await;
    let call = w.call(&w.opportunity, -5).await;
    let other = id(&w
        .app
        .create_partner(json!({"kind": "customer", "name": "Spedition Weber"}))
        .await);
    let path = format!("/api/v1/opportunities/{}", id(&w.opportunity));
    json_with(
        w.app
            .patch(&path, &w.app.admin(), &json!({"business_partner_id": other}))
            .await,
        StatusCode::OK,
    )
    .await;
    let moved = json_with(w.app.get(&path_of(&call), &w.app.admin()).await, StatusCode::OK).await;
    assert_eq!(moved["business_partner_id"], other.as_str());
    let old_timeline = format!("/api/v1/business-partners/{}/activities", w.partner);
    assert!(w.subjects(&old_timeline, &w.app.admin()).await.is_empty());
    let new_timeline = format!("/api/v1/business-partners/{other}/activities");
    assert_eq!(w.subjects(&new_timeline, &w.app.admin()).await, ["Angebot besprochen"]);
}
