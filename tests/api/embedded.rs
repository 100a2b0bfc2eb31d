//! `cargo run` with no DATABASE_URL: the binary starts its own PostgreSQL, serves, prints a
//! working admin token, stops PostgreSQL on SIGTERM/SIGINT, and reuses the data next time.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use reqwest::StatusCode;

use crate::helpers::json_with;

struct Served {
    child: Child,
    base: String,
    token: String,
}

fn start(data_dir: &Path) -> Served {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_salesfunnel"))
        .env_remove("DATABASE_URL")
        .env_remove("JWT_SECRET")
        .env_remove("JWT_PUBLIC_KEY_FILE")
        .env_remove("JWT_ALGORITHM")
        .env("SALESFUNNEL_DATA_DIR", data_dir)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        while let Some(line) = lines.next() {
            if line.starts_with("Admin token") {
                let _ = tx.send(lines.next().unwrap_or_default());
            }
        }
    });
    let token = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the binary prints an admin token");
    Served {
        child,
        base: format!("http://127.0.0.1:{port}"),
        token,
    }
}

fn stop(mut served: Served, signal: Signal) {
    kill(Pid::from_raw(served.child.id() as i32), signal).unwrap();
    for _ in 0..600 {
        if served.child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = served.child.kill();
    panic!("the server did not stop within 60 s of {signal}");
}

async fn partner_count(served: &Served) -> usize {
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/business-partners", served.base))
        .bearer_auth(&served.token)
        .send()
        .await
        .unwrap();
    json_with(response, StatusCode::OK).await["items"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn the_binary_runs_its_own_postgres_and_stops_it() {
    // Under /tmp so that the unprivileged postgres user can reach it when we are root.
    let data_dir = std::env::temp_dir().join(format!("salesfunnel-embedded-{}", uuid::Uuid::now_v7().simple()));
    let first = start(&data_dir);
    let ready = reqwest::get(format!("{}/readyz", first.base)).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let demo_partners = partner_count(&first).await;
    assert!(demo_partners > 0, "the empty embedded database gets demo data");
    stop(first, Signal::SIGTERM);
    assert!(
        !data_dir.join("postgres/postmaster.pid").exists(),
        "PostgreSQL is stopped with the server"
    );

    let second = start(&data_dir);
    assert_eq!(
        partner_count(&second).await,
        demo_partners,
        "the second start reuses the data"
    );
    // A second process on the same folder: migrate and seed use the running cluster and leave
    // it running; another serve is refused; the first server keeps answering.
    let other = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_salesfunnel"))
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("JWT_SECRET")
            .env_remove("JWT_PUBLIC_KEY_FILE")
            .env_remove("JWT_ALGORITHM")
            .env("SALESFUNNEL_DATA_DIR", &data_dir)
            .env("BIND", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    for args in [&["migrate"][..], &["seed", "--demo"][..]] {
        let output = other(args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let refused = other(&["serve"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("another salesfunnel process"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(
        partner_count(&second).await,
        demo_partners,
        "the running server's database is still up"
    );
    stop(second, Signal::SIGINT);
    assert!(
        !data_dir.join("postgres/postmaster.pid").exists(),
        "Ctrl-C stops PostgreSQL too"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}
