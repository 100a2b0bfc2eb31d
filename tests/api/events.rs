//! The event feed: every change writes its event in its own transaction, with the resource and
//! the previous values; `GET /events` pages by feed position and never skips an event, even
//! when transactions commit out of order.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, json_with, problem, spawn_app};
use crate::opportunities::{Sales, act, act_ok, create, id, path_of, sales};
use crate::quotes::{CUSTOMER_EMAIL, add_line, new_quote, quote_path, two_cars};

const EVENTS: &str = "/api/v1/events";
/// Publication waits for every older transaction of the whole server (other tests' too).
const PATIENCE: Duration = Duration::from_secs(60);

fn integration(app: &TestApp) -> String {
    app.token_for(Role::Integration, "erp")
}

/// One page of the feed as the integration role.
async fn page(app: &TestApp, query: &str) -> Value {
    json_with(
        app.get(&format!("{EVENTS}?{query}"), &integration(app)).await,
        StatusCode::OK,
    )
    .await
}

/// The whole published feed, read in pages of 1000.
async fn feed(app: &TestApp) -> Vec<Value> {
    let (mut all, mut after) = (Vec::new(), 0);
    loop {
        let page = page(app, &format!("after={after}&limit=1000")).await;
        let items = page["items"].as_array().unwrap().clone();
        if items.is_empty() {
            return all;
        }
        after = page["next_after"].as_i64().unwrap();
        all.extend(items);
    }
}

/// The feed once `done` holds for it; fails after [`PATIENCE`].
async fn feed_until(app: &TestApp, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let events = feed(app).await;
        if done(&events) {
            return events;
        }
        assert!(start.elapsed() < PATIENCE, "the feed never got there: {events:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Writes a marker partner and returns the feed up to (without) its event: every change made
/// before has then been published, and nothing else.
async fn settled(app: &TestApp) -> Vec<Value> {
    let marker = app.create_partner(json!({"kind": "lead", "name": "Marker"})).await;
    let events = feed_until(app, |events| events.iter().any(|e| e["subject_id"] == marker["id"])).await;
    events
        .into_iter()
        .take_while(|e| e["subject_id"] != marker["id"])
        .collect()
}

fn of_type<'a>(events: &'a [Value], event_type: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == event_type).collect()
}

fn only<'a>(events: &'a [Value], event_type: &str) -> &'a Value {
    let found = of_type(events, event_type);
    assert_eq!(found.len(), 1, "one {event_type} in {events:#?}");
    found[0]
}

#[tokio::test]
async fn partner_events_hold_the_partner_and_the_previous_kind() {
    let app = spawn_app().await;
    let lead = app
        .create_partner(json!({"kind": "lead", "name": "Autohaus Müller"}))
        .await;
    let path = format!("/api/v1/business-partners/{}", id(&lead));
    let converted = json_with(
        app.post(&format!("{path}/convert"), &app.admin(), &json!({})).await,
        StatusCode::OK,
    )
    .await;

    let events = settled(&app).await;

    let created = only(&events, "business_partner.created");
    assert_eq!(created["data"], json!({"business_partner": lead}));
    assert_eq!(created["subject_id"], lead["id"]);
    assert_eq!(created["actor"], "admin");
    let conversion = only(&events, "business_partner.converted");
    assert_eq!(conversion["data"]["business_partner"], converted);
    assert_eq!(conversion["data"]["previous"], json!({"kind": "lead"}));
    assert!(created["seq"].as_i64() < conversion["seq"].as_i64());
}

#[tokio::test]
async fn creating_and_patching_an_opportunity_write_it_with_the_previous_values() {
    let app = spawn_app().await;
    let s = sales(&app, "EVP").await;
    let created = create(&app, &s, "Old subject").await;
    let user = app.create_user("editor@example.com", "admin").await;
    let user = user["id"].as_str().unwrap();
    let rep = app.token_for(Role::Admin, user);
    let patched = json_with(
        app.patch(
            &path_of(&created),
            &rep,
            &json!({"subject": "New subject", "probability_override": 60}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let events = settled(&app).await;

    let creation = only(&events, "opportunity.created");
    assert_eq!(creation["data"], json!({"opportunity": created}));
    let update = only(&events, "opportunity.updated");
    assert_eq!(update["actor"], user);
    assert_eq!(update["data"]["opportunity"], patched);
    let previous = &update["data"]["previous"];
    assert_eq!(previous["subject"], "Old subject");
    assert_eq!(previous.get("probability_override"), Some(&Value::Null));
    assert_eq!(previous["probability"], created["probability"]);
    assert_eq!(previous["weighted_value"], created["weighted_value"]);
    for unchanged in ["description", "stage_id", "version", "updated_at"] {
        assert!(previous.get(unchanged).is_none(), "{unchanged} in {previous}");
    }
    assert!(of_type(&events, "opportunity.stage_changed").is_empty());
}

#[tokio::test]
async fn a_stage_change_names_both_stages() {
    let app = spawn_app().await;
    let s = sales(&app, "EVS").await;
    let opportunity = create(&app, &s, "Move me").await;
    let moved = act_ok(&app, &opportunity, "stage", &json!({"stage_id": s.proposal})).await;
    let patched = json_with(
        app.patch(&path_of(&opportunity), &app.admin(), &json!({"stage_id": s.first}))
            .await,
        StatusCode::OK,
    )
    .await;

    let events = settled(&app).await;

    let changes = of_type(&events, "opportunity.stage_changed");
    assert_eq!(changes.len(), 2, "{events:#?}");
    let first = &changes[0]["data"];
    assert_eq!(
        first["from_stage"],
        json!({"id": s.first, "code": "EVS_FIRST", "name": "EVS_FIRST", "outcome": "open"})
    );
    assert_eq!(
        first["to_stage"],
        json!({"id": s.proposal, "code": "EVS_PROPOSAL", "name": "EVS_PROPOSAL", "outcome": "open"})
    );
    assert_eq!(first["opportunity"], moved);
    assert_eq!(first["previous"]["stage_id"], json!(s.first));
    assert_eq!(first["previous"]["probability"], opportunity["probability"]);
    // A patch that moves is an update and a stage change, in one transaction.
    let second = &changes[1]["data"];
    assert_eq!(second["from_stage"]["id"], json!(s.proposal));
    assert_eq!(second["to_stage"]["id"], json!(s.first));
    assert_eq!(second["opportunity"], patched);
    let update = only(&events, "opportunity.updated");
    assert_eq!(update["data"]["previous"]["stage_id"], json!(s.proposal));
    assert_eq!(update["seq"].as_i64().unwrap() + 1, changes[1]["seq"].as_i64().unwrap());
}

#[tokio::test]
async fn winning_writes_the_order_with_partner_lines_and_primary_quote() {
    let app = spawn_app().await;
    let s = sales(&app, "EVW").await;
    let opportunity = create(&app, &s, "Zwei Autos").await;
    add_line(&app, &opportunity, &two_cars()).await;
    let quote = new_quote(&app, &opportunity).await;
    let won = act_ok(&app, &opportunity, "win", &json!({})).await;

    let events = settled(&app).await;

    let change = only(&events, "opportunity.stage_changed");
    let win = only(&events, "opportunity.won");
    assert_eq!(change["seq"].as_i64().unwrap() + 1, win["seq"].as_i64().unwrap());
    let order = &win["data"];
    assert_eq!(order["opportunity"], won);
    assert_eq!(order["to_stage"]["id"], json!(s.won));
    assert_eq!(order["to_stage"]["outcome"], "won");
    assert_eq!(order["previous"]["status"], "open");
    assert_eq!(order["business_partner"]["id"], json!(s.partner));
    assert_eq!(order["business_partner"]["name"], "EVW GmbH");
    let lines = order["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["description"], "VW ID.4 Pro");
    assert_eq!(lines[0]["line_total"], "100000.00");
    assert_eq!(order["primary_quote"]["id"], quote["id"]);
    assert_eq!(order["primary_quote"]["lines"].as_array().unwrap().len(), 1);
    assert_eq!(order["primary_quote"]["gross_total"], "119000.00");
}

#[tokio::test]
async fn moving_into_the_won_stage_by_stage_is_a_win_and_losing_and_reopening_have_events() {
    let app = spawn_app().await;
    let s = sales(&app, "EVL").await;
    let a = create(&app, &s, "Won by stage").await;
    act_ok(&app, &a, "stage", &json!({"stage_id": s.won})).await;
    let b = create(&app, &s, "Lost, then reopened").await;
    let lost = act_ok(
        &app,
        &b,
        "lose",
        &json!({"lost_reason_id": s.reason, "note": "zu teuer"}),
    )
    .await;
    let reopened = act_ok(&app, &b, "reopen", &json!({"stage_id": s.proposal})).await;

    let events = settled(&app).await;

    let win = only(&events, "opportunity.won");
    assert_eq!(win["subject_id"], a["id"]);
    assert_eq!(win["data"]["primary_quote"], Value::Null);
    assert_eq!(win["data"]["lines"], json!([]));
    let loss = only(&events, "opportunity.lost");
    assert_eq!(loss["data"]["opportunity"], lost);
    assert_eq!(loss["data"]["opportunity"]["lost_reason_id"], json!(s.reason));
    assert_eq!(loss["data"]["to_stage"]["id"], json!(s.lost));
    let reopening = only(&events, "opportunity.reopened");
    assert_eq!(reopening["data"]["opportunity"], reopened);
    assert_eq!(reopening["data"]["from_stage"]["id"], json!(s.lost));
    assert_eq!(reopening["data"]["to_stage"]["id"], json!(s.proposal));
    assert_eq!(reopening["data"]["previous"]["status"], "lost");
    assert_eq!(of_type(&events, "opportunity.stage_changed").len(), 3);
}

#[tokio::test]
async fn line_changes_are_opportunity_updates_with_the_previous_value() {
    let app = spawn_app().await;
    let s = sales(&app, "EVLN").await;
    let opportunity = create(&app, &s, "Lines").await;
    add_line(
        &app,
        &opportunity,
        &json!({"description": "Wartung", "quantity": 3, "unit_price": "1000.00"}),
    )
    .await;

    let events = settled(&app).await;

    let update = only(&events, "opportunity.updated");
    assert_eq!(update["data"]["previous"]["target_value"], "100000.00");
    assert_eq!(update["data"]["previous"]["line_count"], 0);
    assert_eq!(update["data"]["opportunity"]["target_value"], "3000.00");
}

#[tokio::test]
async fn quote_events_follow_its_status() {
    let app = spawn_app().await;
    let s = sales(&app, "EVQ").await;
    let opportunity = create(&app, &s, "Quoted").await;
    add_line(&app, &opportunity, &two_cars()).await;
    let first = new_quote(&app, &opportunity).await;
    let second = new_quote(&app, &opportunity).await;
    for (quote, decision) in [(&first, "accept"), (&second, "reject")] {
        json_with(
            app.post(
                &format!("{}/send", quote_path(quote)),
                &app.admin(),
                &json!({"to": [CUSTOMER_EMAIL]}),
            )
            .await,
            StatusCode::OK,
        )
        .await;
        json_with(
            app.post(&format!("{}/{decision}", quote_path(quote)), &app.admin(), &json!({}))
                .await,
            StatusCode::OK,
        )
        .await;
    }

    let events = settled(&app).await;

    let created = of_type(&events, "quote.created");
    assert_eq!(created.len(), 2);
    let (caused, primary): (Vec<&Value>, Vec<&Value>) = of_type(&events, "opportunity.updated")
        .into_iter()
        .partition(|e| e["data"].get("cause").is_some());
    assert_eq!(primary.len(), 2, "the line, then the first (primary) quote");
    // Each e-mail is an `email` activity, a contact that moves the last contact.
    assert_eq!(caused.len(), 2);
    assert!(
        caused.iter().all(|e| e["data"]["cause"]["type"] == "activity"),
        "{caused:?}"
    );
    assert_eq!(
        primary[1]["data"]["previous"].get("primary_quote_id"),
        Some(&Value::Null)
    );
    assert_eq!(primary[1]["data"]["opportunity"]["primary_quote_id"], first["id"]);
    assert_eq!(
        primary[1]["seq"].as_i64().unwrap() + 1,
        created[0]["seq"].as_i64().unwrap()
    );
    assert_eq!(created[0]["data"], json!({"quote": first}));
    let sent = of_type(&events, "quote.sent");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0]["data"]["previous"]["status"], "draft");
    assert_eq!(sent[0]["data"]["quote"]["status"], "sent");
    let accepted = only(&events, "quote.accepted");
    assert_eq!(accepted["subject_id"], first["id"]);
    assert_eq!(accepted["data"]["previous"]["status"], "sent");
    let rejected = only(&events, "quote.rejected");
    assert_eq!(rejected["subject_id"], second["id"]);
    assert_eq!(rejected["data"]["quote"]["status"], "rejected");
}

#[tokio::test]
async fn an_activity_is_written_as_created() {
    let app = spawn_app().await;
    let s = sales(&app, "EVA").await;
    let opportunity = create(&app, &s, "Contacted").await;
    let activity = json_with(
        app.post(
            "/api/v1/activities",
            &app.admin(),
            &json!({"kind": "call", "subject": "Angerufen", "opportunity_id": opportunity["id"],
                "status": "done", "occurred_at": "2026-11-20T10:00:00Z"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;

    let events = settled(&app).await;

    assert_eq!(only(&events, "activity.created")["data"], json!({"activity": activity}));
}

async fn expect_status(response: reqwest::Response, status: StatusCode) {
    problem(response, status).await;
}

#[tokio::test]
async fn a_change_that_fails_writes_no_event() {
    let app = spawn_app().await;
    let s = sales(&app, "EVF").await;
    let opportunity = create(&app, &s, "Stays").await;
    let quote_of = {
        add_line(&app, &opportunity, &two_cars()).await;
        new_quote(&app, &opportunity).await
    };
    let before = settled(&app).await;
    let admin = app.admin();

    let nobody = "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10";
    let bad_partner = json!({"kind": "lead", "name": "X", "owner_id": nobody});
    expect_status(
        app.post("/api/v1/business-partners", &admin, &bad_partner).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let in_won_stage =
        json!({"subject": "X", "business_partner_id": s.partner, "class_id": s.class, "stage_id": s.won});
    expect_status(
        app.post("/api/v1/opportunities", &admin, &in_won_stage).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    expect_status(
        act(&app, &admin, &opportunity, "stage", &json!({"stage_id": s.lost})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let stale = app
        .request(Method::PATCH, &path_of(&opportunity), &admin)
        .header("If-Match", "\"1\"")
        .json(&json!({"subject": "Too late"}))
        .send()
        .await
        .unwrap();
    expect_status(stale, StatusCode::PRECONDITION_FAILED).await;
    let customer = format!("/api/v1/business-partners/{}/convert", s.partner);
    expect_status(app.post(&customer, &admin, &json!({})).await, StatusCode::CONFLICT).await;
    let accept_draft = format!("{}/accept", quote_path(&quote_of));
    expect_status(app.post(&accept_draft, &admin, &json!({})).await, StatusCode::CONFLICT).await;
    act_ok(&app, &opportunity, "win", &json!({})).await;
    expect_status(
        app.patch(&path_of(&opportunity), &admin, &json!({"subject": "Closed"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;

    let after = settled(&app).await;

    let new: Vec<&str> = after[before.len()..]
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .filter(|t| *t != "business_partner.created")
        .collect();
    assert_eq!(new, ["opportunity.stage_changed", "opportunity.won"]);
    let markers = after[before.len()..]
        .iter()
        .filter(|e| e["type"] == "business_partner.created")
        .all(|e| e["data"]["business_partner"]["name"] == "Marker");
    assert!(markers, "only the marker partner was created: {after:#?}");
}

#[tokio::test]
async fn the_feed_is_for_admins_and_integrations() {
    let app = spawn_app().await;
    for role in [Role::Admin, Role::Integration] {
        let response = app.get(EVENTS, &app.token_for(role, "caller")).await;
        assert_eq!(response.status(), StatusCode::OK, "{role}");
    }
    for role in [Role::Manager, Role::Rep, Role::Viewer] {
        let response = app.get(EVENTS, &app.token_for(role, "caller")).await;
        problem(response, StatusCode::FORBIDDEN).await;
    }
    let anonymous = app.anonymous(Method::GET, EVENTS).send().await.unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn the_feed_pages_with_after_and_limit_and_filters_by_type() {
    let app = spawn_app().await;
    let s = sales(&app, "EVPG").await;
    for n in 0..3 {
        create(&app, &s, &format!("Page {n}")).await;
    }
    let all = settled(&app).await;
    // sales() configures 5 stages, a funnel, a user, a class and a lost reason, and creates a
    // partner: 10 events before the three opportunities.
    assert_eq!(
        all.len(),
        13,
        "configuration, one partner and three opportunities: {all:#?}"
    );
    assert_eq!(of_type(&all, "stage.created").len(), 5);
    assert_eq!(of_type(&all, "opportunity.created").len(), 3);
    let seqs: Vec<i64> = all.iter().map(|e| e["seq"].as_i64().unwrap()).collect();

    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = page(&app, &format!("after={after}&limit=3")).await;
        let items = page["items"].as_array().unwrap();
        if items.is_empty() {
            assert_eq!(page["next_after"], json!(after), "an empty page keeps the position");
            break;
        }
        assert!(items.len() <= 3);
        assert_eq!(page["next_after"], items.last().unwrap()["seq"]);
        after = page["next_after"].as_i64().unwrap();
        paged.extend(items.iter().map(|e| e["seq"].as_i64().unwrap()));
    }
    // The marker (and its successors) come after the thirteen.
    assert_eq!(paged[..13], seqs[..]);

    let typed = page(&app, "type=opportunity.created").await;
    let types: Vec<&Value> = typed["items"].as_array().unwrap().iter().map(|e| &e["type"]).collect();
    assert_eq!(types, [&json!("opportunity.created"); 3]);
    let default_page = page(&app, "").await;
    assert!(default_page["items"].as_array().unwrap().len() >= 13);
    let past = page(&app, &format!("after={}", i64::MAX)).await;
    assert_eq!(past, json!({"items": [], "next_after": i64::MAX}));

    let admin = app.admin();
    for bad in [
        "limit=0",
        "limit=1001",
        "after=-1",
        "after=x",
        "type=opportunity.vanished",
    ] {
        let response = app.get(&format!("{EVENTS}?{bad}"), &admin).await;
        problem(response, StatusCode::BAD_REQUEST).await;
    }
    // Unknown enum values in a query are a 400 everywhere.
    problem(
        app.get("/api/v1/business-partners?kind=nope", &admin).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Seq {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    seq: Option<i64>,
}

async fn sql(conn: &mut AsyncPgConnection, statement: &str) {
    diesel::sql_query(statement).execute(conn).await.unwrap();
}

/// Writes an event as the stores do, in `conn`'s transaction.
async fn insert_event(conn: &mut AsyncPgConnection, id: Uuid) {
    diesel::sql_query(
        "INSERT INTO events (id, type, subject_id, data) VALUES ($1, 'activity.created', $1, '{\"direct\": true}')",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .execute(conn)
    .await
    .unwrap();
}

async fn seq_of(conn: &mut AsyncPgConnection, id: Uuid) -> Option<i64> {
    diesel::sql_query("SELECT seq FROM events WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(id)
        .get_result::<Seq>(conn)
        .await
        .unwrap()
        .seq
}

#[tokio::test]
async fn an_event_committed_before_an_older_transaction_waits_for_it() {
    let app = spawn_app().await;
    let (mut a, mut b, mut publisher) = (
        app.db.connect_async().await,
        app.db.connect_async().await,
        app.db.connect_async().await,
    );
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
    sql(&mut a, "BEGIN").await;
    insert_event(&mut a, first).await;
    sql(&mut b, "BEGIN").await;
    insert_event(&mut b, second).await;
    sql(&mut b, "COMMIT").await;

    // B has committed, but A (an older transaction) may still commit an event numbered before.
    sql(&mut publisher, "SELECT publish_events()").await;
    assert_eq!(seq_of(&mut publisher, second).await, None);
    assert_eq!(page(&app, "after=0").await, json!({"items": [], "next_after": 0}));

    sql(&mut a, "COMMIT").await;
    let events = feed_until(&app, |events| events.len() == 2).await;

    let ids: Vec<&Value> = events.iter().map(|e| &e["id"]).collect();
    assert_eq!(ids, [&json!(first), &json!(second)], "in the order written");
    assert_eq!(events[0]["seq"], 1);
    assert_eq!(events[1]["seq"], 2);
    assert_eq!(seq_of(&mut publisher, second).await, Some(2));
}

#[tokio::test]
async fn events_are_numbered_in_the_order_they_were_written_and_only_writers_hold_the_feed() {
    let app = spawn_app().await;
    let (mut old, mut young) = (app.db.connect_async().await, app.db.connect_async().await);
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
    // An old transaction with an id (as a recomputation that locked its funnel) but no event…
    sql(&mut old, "BEGIN").await;
    sql(&mut old, "SELECT pg_current_xact_id()").await;
    // …does not hold the feed: a younger transaction's event is published meanwhile.
    sql(&mut young, "BEGIN").await;
    insert_event(&mut young, first).await;
    sql(&mut young, "COMMIT").await;
    let events = feed_until(&app, |events| events.len() == 1).await;
    assert_eq!(events[0]["id"], json!(first));
    // When the old transaction then writes (after the younger one, as a row it waited for),
    // its event comes after, although its transaction id is older.
    insert_event(&mut old, second).await;
    sql(&mut old, "COMMIT").await;
    let events = feed_until(&app, |events| events.len() == 2).await;
    let ids: Vec<&Value> = events.iter().map(|e| &e["id"]).collect();
    assert_eq!(ids, [&json!(first), &json!(second)], "in the order written");
}

#[tokio::test]
async fn publishing_refuses_a_snapshot_older_than_its_lock() {
    let app = spawn_app().await;
    let mut conn = app.db.connect_async().await;
    sql(&mut conn, "BEGIN ISOLATION LEVEL REPEATABLE READ").await;
    let refused = diesel::sql_query("SELECT publish_events()").execute(&mut conn).await;
    assert!(refused.is_err(), "{refused:?}");
}

/// What the concurrent writers did: the ids of the events they wrote directly and committed.
async fn writer(app: Arc<TestApp>, s: Arc<Sales>, n: usize) -> Vec<Uuid> {
    let admin = app.admin();
    let mut committed = Vec::new();
    let mut conn = app.db.connect_async().await;
    for step in 0..8 {
        match (n + step) % 5 {
            0 => {
                app.post(
                    "/api/v1/business-partners",
                    &admin,
                    &json!({"kind": "lead", "name": format!("W{n}-{step}")}),
                )
                .await;
            }
            1 => {
                app.post(
                    "/api/v1/opportunities",
                    &admin,
                    &json!({"subject": format!("W{n}-{step}"), "business_partner_id": s.partner,
                        "class_id": s.class, "stage_id": s.first}),
                )
                .await;
            }
            // Fail on purpose: an owner that does not exist, a stage a new one cannot start in.
            2 => {
                app.post(
                    "/api/v1/business-partners",
                    &admin,
                    &json!({"kind": "lead", "name": "Fails", "owner_id": Uuid::now_v7()}),
                )
                .await;
            }
            3 => {
                app.post(
                    "/api/v1/opportunities",
                    &admin,
                    &json!({"subject": "Fails", "business_partner_id": s.partner,
                        "class_id": s.class, "stage_id": s.won}),
                )
                .await;
            }
            // A slow transaction that wrote its event early: it commits after younger ones,
            // or rolls back.
            _ => {
                let event = Uuid::now_v7();
                sql(&mut conn, "BEGIN").await;
                insert_event(&mut conn, event).await;
                tokio::time::sleep(Duration::from_millis(20 + 10 * (n as u64 % 4))).await;
                if n.is_multiple_of(2) {
                    sql(&mut conn, "COMMIT").await;
                    committed.push(event);
                } else {
                    sql(&mut conn, "ROLLBACK").await;
                }
            }
        }
    }
    committed
}

async fn ids_in(app: &TestApp, table: &str) -> BTreeSet<String> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let mut conn = app.db.connect_async().await;
    diesel::sql_query(format!("SELECT id FROM {table}"))
        .load::<Id>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.id.to_string())
        .collect()
}

fn subjects(seen: &[Value], event_type: &str) -> BTreeSet<String> {
    seen.iter()
        .filter(|e| e["type"] == event_type && e["data"].get("direct").is_none())
        .map(|e| e["subject_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_polling_consumer_sees_every_committed_event_once_in_order_under_concurrent_writers() {
    let app = Arc::new(spawn_app().await);
    let s = Arc::new(sales(&app, "EVC").await);
    let writers: Vec<_> = (0..16)
        .map(|n| tokio::spawn(writer(Arc::clone(&app), Arc::clone(&s), n)))
        .collect();

    // The consumer: poll after the last seq seen, small pages, until the writers are done and
    // the feed has caught up with what exists.
    let mut seen: Vec<Value> = Vec::new();
    let mut after = 0;
    let mut committed_direct: Option<BTreeSet<String>> = None;
    let start = Instant::now();
    let mut writers = Some(writers);
    loop {
        let page = page(&app, &format!("after={after}&limit=7")).await;
        let items = page["items"].as_array().unwrap();
        seen.extend(items.iter().cloned());
        after = page["next_after"].as_i64().unwrap();
        if items.is_empty() {
            if let Some(handles) = writers.take_if(|w| w.iter().all(|h| h.is_finished())) {
                let mut direct = BTreeSet::new();
                for handle in handles {
                    direct.extend(handle.await.unwrap().into_iter().map(|id| id.to_string()));
                }
                committed_direct = Some(direct);
            }
            if let Some(direct) = &committed_direct {
                let partners = ids_in(&app, "business_partners").await;
                let opportunities = ids_in(&app, "opportunities").await;
                let caught_up = subjects(&seen, "business_partner.created") == partners
                    && subjects(&seen, "opportunity.created") == opportunities
                    && seen.iter().filter(|e| e["data"]["direct"] == true).count() == direct.len();
                if caught_up {
                    break;
                }
            }
            assert!(start.elapsed() < PATIENCE * 2, "the consumer never caught up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    let seqs: Vec<i64> = seen.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "strictly increasing: {seqs:?}");
    let ids: HashSet<&str> = seen.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), seen.len(), "each event once");
    let direct: BTreeSet<String> = seen
        .iter()
        .filter(|e| e["data"]["direct"] == true)
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(Some(direct), committed_direct, "exactly the committed direct events");
    let partners = subjects(&seen, "business_partner.created");
    assert_eq!(
        seen.iter().filter(|e| e["type"] == "business_partner.created").count(),
        partners.len()
    );
    assert!(partners.len() > 10 && subjects(&seen, "opportunity.created").len() > 10);
    // Nothing else is in the table, published or not: every event was seen.
    let mut conn = app.db.connect_async().await;
    let total = diesel::sql_query("SELECT count(*) AS n FROM events")
        .get_result::<Count>(&mut conn)
        .await
        .unwrap();
    assert_eq!(total.n as usize, seen.len());
}
