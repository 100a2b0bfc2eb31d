//! Seeding: the demo opportunities as the API shows them (every stage of both funnels, every
//! colour of the traffic light), a second demo run that changes nothing, and bulk opportunities
//! whose derived columns are exactly what the API's refresh computes.

use std::process::Command;

use chrono::{DateTime, Utc};
use diesel::{QueryDsl, QueryableByName};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use salesfunnel::schema::opportunities as opp;
use salesfunnel::seed::bulk::{self, Indexes};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{SECRET, TestApp, TestDatabase, json_with, spawn_app};

/// Runs `salesfunnel seed <args>` against `db`.
pub fn seed(db: &TestDatabase, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_salesfunnel"))
        .arg("seed")
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("JWT_SECRET", std::str::from_utf8(SECRET).unwrap())
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "seed {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn items(app: &TestApp, query: &str) -> Vec<Value> {
    let page = json_with(
        app.get(&format!("/api/v1/opportunities?limit=200&{query}"), &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn the_demo_has_opportunities_in_every_stage_of_both_funnels_and_in_every_colour() {
    let app = spawn_app().await;
    seed(&app.db, &["--demo"]);

    let funnels = json_with(app.get("/api/v1/funnels", &app.admin()).await, StatusCode::OK).await;
    let funnels = funnels["items"].as_array().unwrap();
    assert_eq!(funnels.len(), 2, "Neuwagen and Service");
    for funnel in funnels {
        let (id, name) = (funnel["id"].as_str().unwrap(), &funnel["name"]);
        for stage in funnel["stage_ids"].as_array().unwrap() {
            let found = items(&app, &format!("funnel_id={id}&stage_id={}", stage.as_str().unwrap())).await;
            assert!(!found.is_empty(), "{name}: nothing in stage {stage}");
        }
        for colour in ["green", "yellow", "red"] {
            let found = items(&app, &format!("funnel_id={id}&health={colour}")).await;
            assert!(!found.is_empty(), "{name}: nothing {colour}");
            assert!(found.iter().all(|o| o["health"] == colour && o["status"] == "open"));
        }
    }

    let won = items(&app, "status=won").await;
    assert!(won.iter().all(|o| o["closed_at"].is_string() && o["health"].is_null()));
    assert!(
        won.iter().any(|o| o["erp_reference"].is_string()),
        "one is handed to the ERP"
    );
    let lost = items(&app, "status=lost").await;
    assert!(!lost.is_empty());
    assert!(
        lost.iter()
            .all(|o| o["closed_at"].is_string() && o["lost_reason_id"].is_string() && o["lost_note"].is_string())
    );
    let with_activities = items(&app, "").await;
    assert!(
        with_activities
            .iter()
            .filter(|o| o["activity_counts"].as_object().is_some_and(|c| c.len() >= 2))
            .count()
            >= 5,
        "several have activities of different kinds"
    );

    let example = items(&app, "q=Flottenerneuerung").await;
    assert_eq!(example.len(), 1);
    let example = &example[0];
    assert_eq!(example["target_value"], "100000.00");
    assert_eq!(example["probability"], 75.0);
    assert_eq!(example["weighted_value"], "75000.00");
    assert_eq!(example["line_count"], 3);
    let history = json_with(
        app.get(
            &format!("/api/v1/opportunities/{}/history", example["id"].as_str().unwrap()),
            &app.admin(),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let history = history["items"].as_array().unwrap();
    assert_eq!(history.len(), 3, "created in Anfrage, then two moves: {history:?}");
}

#[derive(QueryableByName)]
struct Dump {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

/// Every row of the tables the demo fills, and the opportunity number sequence.
fn dump(conn: &mut salesfunnel::db::SyncConn) -> Vec<String> {
    use diesel::RunQueryDsl;
    let mut dumps: Vec<String> = [
        "opportunities",
        "opportunity_lines",
        "opportunity_stage_changes",
        "activities",
        "users",
        "business_partners",
        "stages",
        "funnels",
        "classes",
        "articles",
    ]
    .iter()
    .map(|table| {
        diesel::sql_query(format!(
            "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') AS text FROM {table} t"
        ))
        .get_result::<Dump>(conn)
        .unwrap()
        .text
    })
    .collect();
    dumps.push(
        diesel::sql_query("SELECT last_value::text AS text FROM opportunity_number_seq")
            .get_result::<Dump>(conn)
            .unwrap()
            .text,
    );
    dumps
}

#[test]
fn a_second_demo_run_adds_and_changes_nothing() {
    let db = TestDatabase::new();
    seed(&db, &["--demo"]);
    let mut conn = db.connect();
    let first = dump(&mut conn);
    assert!(first[0].lines().count() >= 15, "the demo opportunities");

    seed(&db, &["--demo"]);

    assert_eq!(dump(&mut conn), first);
}

type Snapshot = (
    Uuid,
    String,
    Decimal,
    Decimal,
    Decimal,
    i32,
    Decimal,
    DateTime<Utc>,
    Option<Decimal>,
    (Option<Uuid>, Option<String>, Option<String>, Option<DateTime<Utc>>),
);

async fn snapshot(conn: &mut diesel_async::AsyncPgConnection) -> Vec<Snapshot> {
    use diesel_async::RunQueryDsl;
    opp::table
        .order(opp::id)
        .select((
            opp::id,
            opp::status,
            opp::target_value,
            opp::probability,
            opp::weighted_value,
            opp::line_count,
            opp::quantity,
            opp::last_contact_at,
            opp::metric,
            (
                opp::next_activity_id,
                opp::next_activity_kind,
                opp::next_activity_subject,
                opp::next_activity_due_at,
            ),
        ))
        .load(conn)
        .await
        .unwrap()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The indexes and foreign keys of the tables a bulk load fills.
async fn structure(conn: &mut diesel_async::AsyncPgConnection) -> (i64, i64) {
    use diesel_async::RunQueryDsl;
    let tables = "('opportunities', 'opportunity_lines', 'opportunity_stage_changes', 'activities')";
    let indexes: Count = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM pg_indexes WHERE tablename IN {tables}"
    ))
    .get_result(conn)
    .await
    .unwrap();
    let keys: Count = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text IN {tables}"
    ))
    .get_result(conn)
    .await
    .unwrap();
    (indexes.n, keys.n)
}

#[tokio::test]
async fn bulk_opportunities_have_the_derived_columns_the_api_computes() {
    use diesel_async::RunQueryDsl;
    let db = TestDatabase::new();
    // Demo data, 200 opportunities updating the indexes row by row (and partners for them).
    let out = seed(&db, &["--opportunities", "200"]);
    assert!(out.contains("created 200 opportunities"), "{out}");
    let mut conn = db.connect_async().await;
    let indexes_and_keys = structure(&mut conn).await;
    // 300 more building the indexes and checking the references at the end.
    let counts = bulk::load_opportunities(&mut conn, 300, Indexes::Rebuild, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(counts.opportunities, 300);
    assert!(counts.lines > 0 && counts.activities > 0 && counts.stage_changes > 300);
    assert_eq!(
        structure(&mut conn).await,
        indexes_and_keys,
        "indexes and foreign keys are back"
    );
    // The report cells' triggers are on again, and what they keep covers the load.
    for (query, what) in [
        ("SELECT count(*) AS n FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'", "disabled triggers"),
        (
            "SELECT (SELECT count(*) FROM (SELECT DISTINCT opportunity_id, to_stage_id FROM opportunity_stage_changes) p)
                    - (SELECT count(*) FROM stage_visits) AS n",
            "stage pairs without their visit",
        ),
        (
            "SELECT (SELECT count(*) FROM opportunity_lines) - (SELECT count(*) FROM line_contributions) AS n",
            "lines without their contribution",
        ),
    ] {
        let count: Count = diesel::sql_query(query).get_result(&mut conn).await.unwrap();
        assert_eq!(count.n, 0, "{what}");
    }

    let before = snapshot(&mut conn).await;
    assert_eq!(before.len(), 18 + 200 + 300);
    assert!(
        before.iter().filter(|row| row.9.0.is_some()).count() > 50,
        "bulk opportunities have next steps"
    );
    let ids: Vec<salesfunnel::ids::OpportunityId> = before.iter().map(|row| row.0.into()).collect();
    salesfunnel::opportunities::derive::refresh(&mut conn, &ids)
        .await
        .unwrap();
    let after = snapshot(&mut conn).await;
    for (was, is) in before.iter().zip(&after) {
        assert_eq!(was, is, "the refresh changed a bulk opportunity");
    }

    let statuses: Vec<&str> = before.iter().map(|row| row.1.as_str()).collect();
    for status in ["open", "won", "lost"] {
        assert!(statuses.contains(&status), "some {status}");
    }
    let created: Count = diesel::sql_query(
        "SELECT count(DISTINCT opportunity_id) AS n FROM opportunity_stage_changes WHERE from_stage_id IS NULL",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(created.n, 518, "every opportunity has its creation in the history");
    let current: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM opportunities o
         WHERE (o.stage_id, o.stage_entered_at) = (SELECT c.to_stage_id, c.changed_at FROM opportunity_stage_changes c
                                                    WHERE c.opportunity_id = o.id ORDER BY c.changed_at DESC LIMIT 1)",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(current.n, 518, "the latest change is the current stage");
    let colours: Vec<Option<String>> = diesel::sql_query(
        "SELECT DISTINCT opportunity_health(o.status, o.last_contact_at,
                health_cutoff(s.warn_after_days, f.warn_after_days),
                health_cutoff(s.critical_after_days, f.critical_after_days),
                followup_keeps_yellow(f.planned_followup_keeps_yellow, o.next_activity_due_at,
                                      s.warn_after_days, f.warn_after_days)) AS text
         FROM opportunities o JOIN stages s ON s.id = o.stage_id JOIN funnels f ON f.id = o.funnel_id
         WHERE o.status = 'open'",
    )
    .load::<Dump>(&mut conn)
    .await
    .unwrap()
    .into_iter()
    .map(|d| Some(d.text))
    .collect();
    for colour in ["green", "yellow", "red"] {
        assert!(colours.contains(&Some(colour.to_owned())), "some {colour}: {colours:?}");
    }
}

#[tokio::test]
async fn the_spec_examples_of_the_opportunity_list_and_create_work_on_the_demo() {
    let app = spawn_app().await;
    seed(&app.db, &["--demo"]);
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap();
    let spec: Value = serde_json::from_str(&text).unwrap();
    // What Swagger UI pre-fills for the list: the parameters' examples, all at once.
    let list = &spec["paths"]["/api/v1/opportunities"]["get"];
    let query: Vec<String> = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            let example = p.get("example").or_else(|| p["schema"].get("example"))?;
            // An array (`style: form`, `explode: false`) is sent comma-separated.
            let value = match example {
                Value::String(text) => text.clone(),
                Value::Array(items) => items
                    .iter()
                    .map(|item| item.as_str().map_or_else(|| item.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            Some(format!("{}={value}", p["name"].as_str()?))
        })
        .collect();
    let page = json_with(
        app.get(&format!("/api/v1/opportunities?{}", query.join("&")), &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        page["items"].as_array().is_some_and(|items| !items.is_empty()),
        "pre-filled: {query:?}"
    );
    // The request body's example.
    let schema = &spec["components"]["schemas"]["NewOpportunityRequest"]["example"];
    assert!(schema.is_object(), "an example body");
    let created = app.post("/api/v1/opportunities", &app.admin(), schema).await;
    assert_eq!(
        created.status(),
        StatusCode::CREATED,
        "{}",
        created.text().await.unwrap()
    );
}
