//! Bounded waits on the database: with PostgreSQL frozen (SIGSTOP, as a hung host or a network
//! partition behaves), every request answers within 5 s (503 problem+json) and `/readyz` within
//! 2 s, and the service recovers on its own once PostgreSQL runs again.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use reqwest::StatusCode;
use salesfunnel::db::embedded::{EmbeddedPostgres, Sharing};
use salesfunnel::db::{self};

use crate::helpers::{TestDatabase, spawn_on_url};

/// The postmaster and every process it started (backends, checkpointer, …).
fn cluster_processes(data_dir: &std::path::Path) -> Vec<Pid> {
    let pid_file = std::fs::read_to_string(data_dir.join("postgres/postmaster.pid")).unwrap();
    let postmaster: i32 = pid_file.lines().next().unwrap().trim().parse().unwrap();
    let mut pids = vec![Pid::from_raw(postmaster)];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid …; comm may contain spaces, so split after the last ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse::<i32>().ok());
        if ppid == Some(postmaster) {
            let pid = head.split_whitespace().next().and_then(|p| p.parse().ok()).unwrap();
            pids.push(Pid::from_raw(pid));
        }
    }
    pids
}

fn signal_all(pids: &[Pid], signal: Signal) {
    for pid in pids {
        let _ = kill(*pid, signal);
    }
}

#[tokio::test]
async fn a_frozen_database_gives_quick_503s_and_the_service_recovers() {
    let data_dir = std::env::temp_dir().join(format!("salesfunnel-freeze-{}", uuid::Uuid::now_v7().simple()));
    let dir = data_dir.clone();
    let (server, url) = std::thread::spawn(move || {
        let server = EmbeddedPostgres::start(&dir, Sharing::Exclusive).unwrap();
        let url = server.url().to_owned();
        db::run_migrations(&mut db::sync_connection(&url).unwrap()).unwrap();
        (server, url)
    })
    .join()
    .unwrap();
    let app = spawn_on_url(TestDatabase::new(), &url).await;
    let token = app.admin();
    let list = "/api/v1/business-partners?limit=5";
    assert_eq!(app.get(list, &token).await.status(), StatusCode::OK);

    let pids = cluster_processes(&data_dir);
    signal_all(&pids, Signal::SIGSTOP);
    let frozen_at = Instant::now();
    // Readiness first: a load balancer must learn quickly.
    let started = Instant::now();
    let ready = app.anonymous(reqwest::Method::GET, "/readyz").send().await.unwrap();
    let ready_took = started.elapsed();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready_took < Duration::from_secs(2), "readyz took {ready_took:?}");

    // An open loop of 20 requests a second for 6 s of freeze.
    let mut requests = Vec::new();
    while frozen_at.elapsed() < Duration::from_secs(6) {
        let (app_url, token) = (app.address.clone(), token.clone());
        requests.push(tokio::spawn(async move {
            let started = Instant::now();
            let response = reqwest::Client::new()
                .get(format!("{app_url}{list}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let content_type = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap_or("").to_owned());
            let request_id = response.headers().contains_key("x-request-id");
            (status, content_type, request_id, started.elapsed())
        }));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut unavailable = 0;
    let mut slowest = Duration::ZERO;
    let total = requests.len();
    for request in requests {
        let (status, content_type, request_id, took) = request.await.unwrap();
        slowest = slowest.max(took);
        assert!(took < Duration::from_secs(5), "a request took {took:?}");
        if status == StatusCode::SERVICE_UNAVAILABLE {
            unavailable += 1;
            assert_eq!(content_type.as_deref(), Some("application/problem+json"));
            assert!(request_id, "a 503 of the time budget carries X-Request-Id too");
        } else {
            assert_eq!(status, StatusCode::OK);
        }
    }
    signal_all(&pids, Signal::SIGCONT);
    let thawed = Instant::now();
    assert!(unavailable > total / 2, "{unavailable} of {total} were 503");
    // Back to normal without a restart.
    loop {
        if app.get(list, &token).await.status() == StatusCode::OK {
            break;
        }
        assert!(thawed.elapsed() < Duration::from_secs(10), "no recovery after the thaw");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "frozen 6 s: {unavailable} of {total} requests 503, slowest {slowest:?}, readyz {ready_took:?}, recovered after {:?}",
        thawed.elapsed()
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[derive(diesel::QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

#[tokio::test]
async fn pooled_connections_carry_their_limits_and_idle_ones_are_closed() {
    use diesel_async::RunQueryDsl;
    let db = TestDatabase::new();
    let settings = salesfunnel::config::DatabaseSettings {
        pool_size: 3,
        statement_timeout: Duration::from_millis(1500),
        pool_idle: Duration::from_secs(1),
        ..Default::default()
    };
    let pool = db::pool(&db.url, &settings).unwrap();
    {
        let mut conn = db::connection(&pool).await.unwrap();
        for (sql, expected) in [
            ("SELECT current_setting('statement_timeout') AS value", "1500ms"),
            ("SELECT current_setting('application_name') AS value", "salesfunnel"),
            ("SELECT current_setting('jit') AS value", "off"),
        ] {
            let row: Setting = diesel::sql_query(sql).get_result(&mut *conn).await.unwrap();
            assert_eq!(row.value, expected, "{sql}");
        }
        // A statement over the timeout is cancelled by PostgreSQL: a 503, not a 500.
        let slow = diesel::sql_query("SELECT pg_sleep(3)")
            .execute(&mut *conn)
            .await
            .unwrap_err();
        let error = salesfunnel::error::AppError::from(slow);
        assert!(matches!(error, salesfunnel::error::AppError::TimedOut(_)), "{error:?}");
    }
    let held: Vec<_> = futures_util::future::join_all((0..3).map(|_| db::connection(&pool))).await;
    drop(held);
    assert_eq!(pool.status().size, 3);
    tokio::spawn(db::close_idle(pool.clone(), settings.pool_idle));
    let deadline = Instant::now() + Duration::from_secs(10);
    while pool.status().size > 0 {
        assert!(
            Instant::now() < deadline,
            "idle connections stay open: {:?}",
            pool.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
