//! The write path in few statements: every request's SQL statements are counted per route in
//! `salesfunnel_db_statements` (transaction control aside), and the hot paths stay within
//! their budget: a create and a stage move read everything they check in one statement, write
//! with the values they derive in another and the event in a third; a read by id is one
//! statement (two for a rep, whose team is looked up first).

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, json_with, spawn_app};
use crate::opportunities::{act, create, create_as, new_body, path_of, sales};
use salesfunnel::access::Role;

/// The statements `method` `route` ran, summed over its requests so far, and how many requests.
pub async fn statements(app: &TestApp, method: &str, route: &str) -> (f64, f64) {
    let text = app.get("/metrics", &app.admin()).await.text().await.unwrap();
    let labels = format!(r#"{{method="{method}",route="{route}"}}"#);
    let value = |series: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("salesfunnel_db_statements_{series}{labels} ")))
            .map_or(0.0, |v| v.parse::<f64>().unwrap())
    };
    (value("sum"), value("count"))
}

#[tokio::test]
async fn creates_moves_and_reads_run_few_statements() {
    let app = spawn_app().await;
    let s = sales(&app, "SQL").await;
    let created = create(&app, &s, "Zählen").await;
    assert_eq!(
        statements(&app, "POST", "/api/v1/opportunities").await,
        (3.0, 1.0),
        "a create: checks, the row with its history, the event"
    );

    let moved = act(&app, &app.admin(), &created, "stage", &json!({"stage_id": s.proposal})).await;
    assert_eq!(moved.status(), StatusCode::OK);
    assert_eq!(
        statements(&app, "POST", "/api/v1/opportunities/{id}/stage").await,
        (3.0, 1.0),
        "a move: the locked row with what it checks, the row with its history, the events"
    );

    json_with(app.get(&path_of(&created), &app.admin()).await, StatusCode::OK).await;
    assert_eq!(statements(&app, "GET", "/api/v1/opportunities/{id}").await, (1.0, 1.0));
    let rep = app.token_for(Role::Rep, &s.owner);
    json_with(app.get(&path_of(&created), &rep).await, StatusCode::OK).await;
    assert_eq!(
        statements(&app, "GET", "/api/v1/opportunities/{id}").await,
        (3.0, 2.0),
        "a rep's read looks up their team first"
    );

    // A rep's create checks the team in the same statement.
    create_as(&app, &rep, &new_body(&s, "Vom Vertrieb")).await;
    assert_eq!(statements(&app, "POST", "/api/v1/opportunities").await, (6.0, 2.0));

    let list = app.get("/api/v1/opportunities?limit=50", &app.admin()).await;
    assert_eq!(list.status(), StatusCode::OK);
    assert_eq!(
        statements(&app, "GET", "/api/v1/opportunities").await,
        (1.0, 1.0),
        "a page with its activity counts and primary quotes"
    );
}

#[tokio::test]
async fn partner_writes_and_lists_run_few_statements() {
    let app = spawn_app().await;
    app.create_partner(json!({"kind": "customer", "name": "Zähl GmbH"}))
        .await;
    let (sum, count) = statements(&app, "POST", "/api/v1/business-partners").await;
    assert_eq!(count, 1.0);
    assert!(sum <= 2.0, "the row and its event: {sum}");
    let keyed = app
        .request(reqwest::Method::POST, "/api/v1/business-partners", &app.admin())
        .header("Idempotency-Key", "zaehl-1")
        .json(&json!({"kind": "customer", "name": "Schlüssel GmbH"}))
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.status(), StatusCode::CREATED);
    let (keyed_sum, _) = statements(&app, "POST", "/api/v1/business-partners").await;
    assert!(
        keyed_sum - sum <= 4.0,
        "the row, its event, and the key's claim and answer: {}",
        keyed_sum - sum
    );
    let list = app.get("/api/v1/business-partners?limit=50", &app.admin()).await;
    assert_eq!(list.status(), StatusCode::OK);
    assert_eq!(statements(&app, "GET", "/api/v1/business-partners").await, (1.0, 1.0));
}

#[tokio::test]
async fn the_values_a_create_or_move_derives_are_those_the_refresh_computes() {
    use diesel_async::RunQueryDsl;
    let app = spawn_app().await;
    let s = sales(&app, "DRV").await;
    let formula = json!({"metric_label": "Wert", "metric_formula": "weighted_value * 3 / 7 + probability + days_open"});
    let funnel = app
        .patch(&format!("/api/v1/funnels/{}", s.funnel), &app.admin(), &formula)
        .await;
    assert_eq!(funnel.status(), StatusCode::OK);
    let plain = create(&app, &s, "Ohne").await;
    let mut body = new_body(&s, "Mit Vorgabe");
    body["probability_override"] = json!(33.33);
    body["target_value"] = json!("1234.57");
    let overridden = create_as(&app, &app.admin(), &body).await;
    for (opportunity, action, body) in [
        (&plain, "stage", json!({"stage_id": s.proposal})),
        (&overridden, "stage", json!({"stage_id": s.proposal})),
        (&overridden, "win", json!({})),
        (&plain, "lose", json!({"lost_reason_id": s.reason, "note": "zu teuer"})),
        (&plain, "reopen", json!({"stage_id": s.first})),
    ] {
        let response = act(&app, &app.admin(), opportunity, action, &body).await;
        assert_eq!(response.status(), StatusCode::OK, "{action}");
    }
    // Planned activities, dated and undated, and one done: the next step is derived too.
    for (kind, due_at) in [
        ("call", Some("2030-01-02T10:00:00Z")),
        ("task", None),
        ("email", Some("2020-01-02T10:00:00Z")),
    ] {
        let body = json!({"kind": kind, "subject": kind, "opportunity_id": plain["id"], "due_at": due_at});
        let planned = app.post("/api/v1/activities", &app.admin(), &body).await;
        assert_eq!(planned.status(), StatusCode::CREATED, "{kind}");
    }
    let mut conn = app.db.connect_async().await;
    let columns = "SELECT string_agg(concat_ws('|', id, status, probability, target_value, weighted_value, metric,
                                           line_count, quantity, last_contact_at, next_activity_id,
                                           next_activity_kind, next_activity_subject, next_activity_due_at),
                                 ',' ORDER BY id) AS text
                   FROM opportunities";
    let before: Text = diesel::sql_query(columns).get_result(&mut conn).await.unwrap();
    assert!(before.text.contains("|won|100.00|1234.57|1234.57|"), "{}", before.text);
    assert!(before.text.contains("|email|email|2020-01-02"), "{}", before.text);
    let ids: Vec<salesfunnel::ids::OpportunityId> = [&plain, &overridden]
        .iter()
        .map(|o| o["id"].as_str().unwrap().parse::<uuid::Uuid>().unwrap().into())
        .collect();
    let changed = salesfunnel::opportunities::derive::refresh(&mut conn, &ids)
        .await
        .unwrap();
    assert!(
        changed.is_empty(),
        "the refresh computed another metric for {changed:?}"
    );
    let after: Text = diesel::sql_query(columns).get_result(&mut conn).await.unwrap();
    assert_eq!(after.text, before.text, "the refresh changed a derived value");
}

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}
