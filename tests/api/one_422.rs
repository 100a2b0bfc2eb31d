//! One 422 names every offending field of a write: wrong types, broken rules and unknown
//! references together (issue 16), and such a request writes nothing.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_fields, json_with, problem, spawn_app};
use crate::opportunities::{LIST, NOBODY, create, new_body, path_of, sales, subjects};

async fn fields_of(response: reqwest::Response) -> Vec<String> {
    error_fields(&problem(response, StatusCode::UNPROCESSABLE_ENTITY).await)
}

async fn feed_length(app: &TestApp) -> usize {
    let page: Value = json_with(app.get("/api/v1/events?limit=1000", &app.admin()).await, StatusCode::OK).await;
    page["items"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_create_names_its_wrong_type_its_broken_rule_and_its_unknown_class_at_once() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let events = feed_length(&app).await;
    let mut body = new_body(&s, "");
    body["class_id"] = "NOPE".into();
    body["target_value"] = "abc".into();
    assert_eq!(
        fields_of(app.post(LIST, &app.admin(), &body).await).await,
        ["class_id", "subject", "target_value"]
    );
    // A required reference with the wrong type gets a stand-in: the others are still checked.
    let mut body = new_body(&s, "Geister");
    body["business_partner_id"] = 17.into();
    body["owner_id"] = NOBODY.into();
    body["expected_close_date"] = "bald".into();
    assert_eq!(
        fields_of(app.post(LIST, &app.admin(), &body).await).await,
        ["business_partner_id", "expected_close_date", "owner_id"]
    );
    assert!(subjects(&app, "").await.is_empty(), "nothing was created");
    assert_eq!(feed_length(&app).await, events, "no event was written");
    // The connections of the refused requests were not handed back in their transactions.
    create(&app, &s, "Danach").await;
    assert_eq!(subjects(&app, "").await, ["Danach"]);
}

#[tokio::test]
async fn a_partner_names_its_bad_choice_its_blank_name_and_its_unknown_owner_at_once() {
    let app = spawn_app().await;
    let body = json!({"kind": "prospect", "name": "", "owner_id": NOBODY, "email": "nope"});
    assert_eq!(
        fields_of(app.post("/api/v1/business-partners", &app.admin(), &body).await).await,
        ["email", "kind", "name", "owner_id"]
    );
    let listed: Value = json_with(
        app.get("/api/v1/business-partners?limit=200", &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0), "nothing was created");
}

#[tokio::test]
async fn a_patch_and_a_line_name_rule_and_reference_errors_together_and_change_nothing() {
    let app = spawn_app().await;
    let s = sales(&app, "NW").await;
    let opportunity = create(&app, &s, "Flotte").await;
    let path = path_of(&opportunity);
    let patch = json!({"subject": " ", "owner_id": NOBODY, "probability_override": 150});
    assert_eq!(
        fields_of(app.patch(&path, &app.admin(), &patch).await).await,
        ["owner_id", "probability_override", "subject"]
    );
    let line = json!({"article_id": NOBODY, "quantity": "-1", "discount_percent": 101});
    assert_eq!(
        fields_of(app.post(&format!("{path}/lines"), &app.admin(), &line).await).await,
        ["article_id", "discount_percent", "quantity"]
    );
    let now: Value = json_with(app.get(&path, &app.admin()).await, StatusCode::OK).await;
    assert_eq!(now["version"], opportunity["version"]);
    assert_eq!(now["subject"], "Flotte");
    assert_eq!(now["line_count"], 0);
}

#[derive(diesel::QueryableByName)]
struct Waiting {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The app's connections to the test database that wait for a lock.
async fn waiting_on_a_lock(conn: &mut diesel_async::AsyncPgConnection) -> i64 {
    use diesel_async::RunQueryDsl;
    diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = 'salesfunnel' AND wait_event_type = 'Lock'",
    )
    .get_result::<Waiting>(conn)
    .await
    .unwrap()
    .n
}

#[tokio::test]
async fn refused_bodies_never_hold_more_connections_than_the_pool() {
    use diesel_async::{AsyncConnection, RunQueryDsl};
    // The tests' pool holds 4 connections. A refused body checks its references on a
    // connection of its own (its transaction is dropped, never committed); 12 at once must
    // not open 12 connections: the others wait for one of the 4 places.
    const POOL: i64 = 4;
    let app = spawn_app().await;
    let s = sales(&app, "CAP").await;
    let mut blocker = app.db.connect_async().await;
    blocker.begin_test_transaction().await.unwrap();
    diesel::sql_query("LOCK TABLE business_partners IN ACCESS EXCLUSIVE MODE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let bodies: Vec<_> = (0..12).map(|_| new_body(&s, "")).collect();
    let token = app.admin();
    let requests = join_all(bodies.iter().map(|body| app.post(LIST, &token, body)));
    let watch = async {
        let mut watcher = app.db.connect_async().await;
        let mut seen = 0;
        for _ in 0..600 {
            seen = waiting_on_a_lock(&mut watcher).await;
            if seen >= POOL {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // Give the others every chance to open more connections: they must not.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let later = waiting_on_a_lock(&mut watcher).await;
        drop(blocker);
        (seen, later)
    };
    let (responses, (seen, later)) = tokio::join!(requests, watch);
    assert_eq!(seen, POOL, "the pool's worth of refused requests reached the lock");
    assert_eq!(later, POOL, "no more than that");
    for response in responses {
        assert!(fields_of(response).await.contains(&"subject".to_owned()));
    }
    create(&app, &s, "Danach").await;
    assert_eq!(subjects(&app, "").await, ["Danach"]);
}
