//! Plans that do not depend on luck: straight after a bulk seed of 100,000 opportunities (no
//! waiting for autovacuum), creating and moving opportunities reads none of the big tables
//! sequentially, with the plans statistics give and with generic plans. The server runs as its own process so that its statistics reach
//! `pg_stat_user_tables` when it exits.

use std::collections::BTreeMap;
use std::process::Command;

use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cli::serve_on;
use crate::helpers::{SECRET, TestDatabase, jwt_settings};

/// The tables a seed of 100,000 opportunities makes large (written directly or by triggers).
const BIG: [&str; 10] = [
    "business_partners",
    "opportunities",
    "opportunity_lines",
    "opportunity_stage_changes",
    "activities",
    "stage_visits",
    "line_contributions",
    "article_cells",
    "stage_cells",
    "opportunity_cells",
];

#[derive(QueryableByName)]
struct Scans {
    #[diesel(sql_type = diesel::sql_types::Text)]
    relname: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    seq_scan: i64,
}

async fn seq_scans(db: &TestDatabase) -> BTreeMap<String, i64> {
    diesel::sql_query("SELECT relname::text, seq_scan FROM pg_stat_user_tables WHERE relname = ANY($1)")
        .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(BIG.to_vec())
        .load::<Scans>(&mut db.connect_async().await)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.relname, s.seq_scan))
        .collect()
}

#[tokio::test]
async fn creates_and_moves_right_after_a_bulk_seed_scan_no_big_table() {
    let db = TestDatabase::new();
    let seeded = Command::new(env!("CARGO_BIN_EXE_salesfunnel"))
        .args(["seed", "--opportunities", "100000"])
        .env("DATABASE_URL", &db.url)
        .env("JWT_SECRET", std::str::from_utf8(SECRET).unwrap())
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let scanned = exercise(&db).await;
    assert!(scanned.is_empty(), "the write path and its reads scanned: {scanned:#?}");

    // The same with the generic plans PostgreSQL switches prepared statements to after five
    // runs, forced from the first: no plan may depend on the parameters' values to use an index.
    diesel::sql_query(format!(
        "ALTER DATABASE \"{}\" SET plan_cache_mode = force_generic_plan",
        db.name
    ))
    .execute(&mut db.connect_async().await)
    .await
    .unwrap();
    let scanned = exercise(&db).await;
    assert!(
        scanned.is_empty(),
        "with generic plans, the write path and its reads scanned: {scanned:#?}"
    );
}

/// Runs a server on `db` for 20 creates, 20 stage moves, 20 planned activities marked done, 20
/// reads by id, pages of opportunities (plain and with each next-step filter), 20 partner
/// creates and a page of partners; answers the big tables it read sequentially, with how often.
async fn exercise(db: &TestDatabase) -> Vec<String> {
    let before = seq_scans(db).await;
    assert_eq!(before.len(), BIG.len(), "{before:?}");
    let (mut server, port, up) = serve_on(db, &[("RUST_LOG", "warn"), ("WEBHOOK_POLL_INTERVAL_MS", "3600000")]).await;
    assert!(up, "the server came up");
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let token = salesfunnel::auth::Signer::new(&jwt_settings(), SECRET)
        .sign(salesfunnel::access::Role::Admin, "plans", 600)
        .unwrap();
    let client = reqwest::Client::new();
    let get = |path: String| client.get(format!("{base}{path}")).bearer_auth(&token).send();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    // The demo's partner 101 and the first Neuwagen stage (fixed ids), and the stage after it.
    let first = "01930000-0000-7000-8000-0000000000c9";
    let funnels: Value = get("/funnels".to_owned()).await.unwrap().json().await.unwrap();
    let stages = funnels["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["stage_ids"].as_array().unwrap().clone())
        .find(|ids| ids[0] == first)
        .unwrap();
    for n in 0..20 {
        let created = post(
            "/opportunities",
            json!({"subject": format!("Plan {n}"), "business_partner_id": "01930000-0000-7000-8000-000000000065",
                   "class_id": "NEUWAGEN", "stage_id": first, "target_value": "25000.00"}),
        )
        .await
        .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let created: Value = created.json().await.unwrap();
        let path = format!("/opportunities/{}", created["id"].as_str().unwrap());
        let moved = post(&format!("{path}/stage"), json!({"stage_id": stages[1]}))
            .await
            .unwrap();
        assert_eq!(moved.status(), StatusCode::OK);
        // A planned follow-up, then done: the next step is derived in the same transaction.
        let planned = post(
            "/activities",
            json!({"kind": "call", "subject": format!("Plan {n}"), "opportunity_id": created["id"],
                   "due_at": "2030-01-01T10:00:00Z"}),
        )
        .await
        .unwrap();
        assert_eq!(planned.status(), StatusCode::CREATED);
        let planned: Value = planned.json().await.unwrap();
        let done = client
            .patch(format!("{base}/activities/{}", planned["id"].as_str().unwrap()))
            .bearer_auth(&token)
            .json(&json!({"status": "done", "occurred_at": "2026-01-01T10:00:00Z"}))
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::OK);
        assert_eq!(get(path).await.unwrap().status(), StatusCode::OK);
        let partner = post(
            "/business-partners",
            json!({"kind": "lead", "name": format!("Plan {n} GmbH")}),
        )
        .await
        .unwrap();
        assert_eq!(partner.status(), StatusCode::CREATED);
    }
    for page in [
        "/opportunities?limit=50",
        "/business-partners?limit=50",
        "/opportunities?limit=50&overdue=true",
        "/opportunities?limit=50&overdue=false",
        "/opportunities?limit=50&has_next_activity=true",
        "/opportunities?limit=50&has_next_activity=false",
        "/opportunities?limit=50&next_activity_before=2026-01-01T00:00:00Z",
    ] {
        assert_eq!(get(page.to_owned()).await.unwrap().status(), StatusCode::OK);
    }
    // Its backends report their statistics when they end.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    server.wait().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let after = loop {
        let after = seq_scans(db).await;
        let backends_gone = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'salesfunnel'",
        )
        .get_result::<Count>(&mut db.connect_async().await)
        .await
        .unwrap()
        .n
            == 0;
        if backends_gone || std::time::Instant::now() > deadline {
            break after;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    BIG.iter()
        .filter(|t| after[**t] != before[**t])
        .map(|t| format!("{t}: {} sequential scans", after[*t] - before[*t]))
        .collect()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
