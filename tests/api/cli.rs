//! The command line: openapi, token, migrate, seed, and configuration errors.

use std::process::{Command, Output, Stdio};

use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{SECRET, TestDatabase, json_with, spawn_app};

fn salesfunnel(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_salesfunnel"));
    command.args(args).env("RUST_LOG", "error");
    for name in [
        "DATABASE_URL",
        "JWT_SECRET",
        "JWT_PUBLIC_KEY_FILE",
        "JWT_ALGORITHM",
        "BIND",
        "DATABASE_POOL_SIZE",
    ] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn openapi_prints_the_committed_document() {
    let printed: Value = serde_json::from_str(&stdout(&salesfunnel(&["openapi"], &[]))).unwrap();
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap(),
    )
    .unwrap();
    assert!(
        printed == committed,
        "run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn a_reader_that_stops_early_ends_the_output_quietly() {
    // `salesfunnel openapi | head`: the document is far larger than a pipe's buffer, so the
    // command is still writing when the reader goes away.
    let mut child = Command::new(env!("CARGO_BIN_EXE_salesfunnel"))
        .arg("openapi")
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn help_lists_every_configuration_variable_and_flags_override_it() {
    let help = stdout(&salesfunnel(&["--help"], &[]));
    for variable in salesfunnel::config::VARIABLES {
        assert!(
            help.contains(&format!("[env: {}]", variable.name)),
            "{} missing in:\n{help}",
            variable.name
        );
    }
    // Values are resolved by clap: a flag and its variable are the same setting, and errors name the variable.
    let by_flag = salesfunnel(&["--bind", "nope", "migrate"], &[]);
    let by_variable = salesfunnel(&["migrate"], &[("BIND", "nope")]);
    for output in [by_flag, by_variable] {
        assert!(!output.status.success());
        assert!(String::from_utf8_lossy(&output.stderr).contains("BIND: 'nope' is not an address"));
    }
}

#[test]
fn database_url_errors_name_the_variable_and_the_target_but_never_the_password() {
    let secret = std::str::from_utf8(SECRET).unwrap();
    for (url, sign) in [
        ("postgres://bob:hunter2-secret@127.0.0.1:1/crm", "bob@127.0.0.1:1/crm"),
        ("not a url hunter2-secret", "does not parse"),
    ] {
        let output = salesfunnel(&["migrate"], &[("DATABASE_URL", url), ("JWT_SECRET", secret)]);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("DATABASE_URL: ") && stderr.contains(sign), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}

#[tokio::test]
async fn token_prints_a_token_the_service_accepts() {
    let app = spawn_app().await;
    let secret = std::str::from_utf8(SECRET).unwrap();
    let out = salesfunnel(
        &["token", "--role", "viewer", "--sub", "erp-1", "--ttl", "60"],
        &[("JWT_SECRET", secret)],
    );
    let token = stdout(&out).trim().to_owned();
    json_with(app.get("/api/v1/users", &token).await, StatusCode::OK).await;
    let forbidden = app.post("/api/v1/users", &token, &serde_json::json!({})).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN, "the role is viewer");
}

#[test]
fn a_database_url_without_a_token_key_refuses_to_start_naming_the_variable() {
    let out = salesfunnel(&["serve"], &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_SECRET"));
    let out = salesfunnel(
        &["serve"],
        &[
            ("BIND", "not-an-address"),
            ("JWT_SECRET", std::str::from_utf8(SECRET).unwrap()),
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("BIND"));
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut salesfunnel::db::SyncConn, table: &str) -> i64 {
    diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
        .get_result::<Count>(conn)
        .unwrap()
        .n
}

#[test]
fn migrate_is_idempotent_and_demo_seed_twice_changes_nothing() {
    let db = TestDatabase::new();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("JWT_SECRET", std::str::from_utf8(SECRET).unwrap()),
    ];
    assert!(
        stdout(&salesfunnel(&["migrate"], &env)).contains("applied 0 migration(s)"),
        "the template is migrated"
    );
    stdout(&salesfunnel(&["seed", "--demo"], &env));
    let mut conn = db.connect();
    let (users, partners) = (count(&mut conn, "users"), count(&mut conn, "business_partners"));
    assert!(users >= 5 && partners >= 5, "demo users and partners");
    stdout(&salesfunnel(&["seed", "--demo"], &env));
    assert_eq!(
        (count(&mut conn, "users"), count(&mut conn, "business_partners")),
        (users, partners)
    );
    stdout(&salesfunnel(&["seed", "--partners", "250"], &env));
    assert_eq!(count(&mut conn, "business_partners"), partners + 250);
}

#[test]
fn token_refuses_a_lifetime_above_the_maximum() {
    let secret = std::str::from_utf8(SECRET).unwrap();
    let out = salesfunnel(
        &["token", "--role", "admin", "--ttl", "86401"],
        &[("JWT_SECRET", secret)],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_MAX_TTL"));
    let out = salesfunnel(
        &["token", "--role", "admin", "--ttl", "600"],
        &[("JWT_SECRET", secret), ("JWT_MAX_TTL", "300")],
    );
    assert!(!out.status.success(), "JWT_MAX_TTL is honoured");
    stdout(&salesfunnel(
        &["token", "--role", "admin", "--ttl", "86400"],
        &[("JWT_SECRET", secret)],
    ));
}

/// Starts `serve` on `db` with `JWT_SECRET` on a free port, output piped; waits up to 30 s for
/// `/readyz`. Returns the process, its port, and whether it came up.
pub async fn serve_on(db: &TestDatabase, env: &[(&str, &str)]) -> (std::process::Child, u16, bool) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_salesfunnel"));
    for name in ["JWT_PUBLIC_KEY_FILE", "JWT_ALGORITHM", "DATABASE_POOL_SIZE"] {
        command.env_remove(name);
    }
    let child = command
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("JWT_SECRET", std::str::from_utf8(SECRET).unwrap())
        .env("BIND", format!("127.0.0.1:{port}"))
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let ready = format!("http://127.0.0.1:{port}/readyz");
    for _ in 0..300 {
        if reqwest::get(&ready).await.is_ok_and(|r| r.status().is_success()) {
            return (child, port, true);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    (child, port, false)
}

#[tokio::test]
async fn serve_with_a_database_url_prints_no_token() {
    let db = TestDatabase::new();
    let (child, port, up) = serve_on(&db, &[("RUST_LOG", "info"), ("LOG_FORMAT", "json")]).await;
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let healthy = salesfunnel(&["healthcheck"], &[("BIND", &format!("0.0.0.0:{port}"))]);
    assert!(healthy.status.success(), "{}", String::from_utf8_lossy(&healthy.stderr));
    let token = salesfunnel::auth::Signer::new(&crate::helpers::jwt_settings(), SECRET)
        .sign(salesfunnel::access::Role::Viewer, "log-reader", 600)
        .unwrap();
    let stages = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/v1/stages"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(stages.status(), 200);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    let unhealthy = salesfunnel(&["healthcheck"], &[("BIND", &format!("127.0.0.1:{port}"))]);
    assert!(!unhealthy.status.success(), "nothing listens any more");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(up, "the server came up: {printed}");
    assert!(printed.contains("listening"), "{printed}");
    assert!(!printed.contains("Admin token"), "{printed}");
    assert!(!printed.contains("eyJ"), "no JWT anywhere in the output: {printed}");
    // LOG_FORMAT=json: every log line is one JSON object; the access log's fields are keys.
    let logged: Vec<Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        logged.iter().any(|l| l["route"] == "/readyz"
            && l["status"] == 200
            && l["request_id"].is_string()
            && l["user"].is_null()),
        "{logged:#?}"
    );
    // The authenticated caller is the access log's `user`.
    assert!(
        logged
            .iter()
            .any(|l| l["route"] == "/api/v1/stages" && l["status"] == 200 && l["user"] == "log-reader"),
        "{logged:#?}"
    );
}

#[tokio::test]
async fn sigint_drains_a_request_in_flight_like_sigterm() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = TestDatabase::new();
    let (mut child, port, up) = serve_on(&db, &[("RUST_LOG", "error")]).await;
    assert!(up, "the server came up");
    let token = salesfunnel::auth::Signer::new(&crate::helpers::jwt_settings(), SECRET)
        .sign(salesfunnel::access::Role::Admin, "admin", 600)
        .unwrap();
    // A create whose body is still arriving when Ctrl-C comes.
    let body = br#"{"kind": "lead", "name": "Noch unterwegs GmbH"}"#;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let head = format!(
        "POST /api/v1/business-partners HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..10]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stream.write_all(&body[10..]).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

/// The GET path of a well-known id's resource, and the field whose value the name is made of.
fn resource_of(name: &str) -> (&'static str, &'static str) {
    [
        ("STAGE_", ("/api/v1/stages", "code")),
        ("FUNNEL_", ("/api/v1/funnels", "name")),
        ("CLASS_", ("/api/v1/classes", "id")),
        ("ARTICLE_", ("/api/v1/articles", "sku")),
        ("LOST_REASON_", ("/api/v1/lost-reasons", "label")),
        ("PARTNER_", ("/api/v1/business-partners", "name")),
        ("USER_", ("/api/v1/users", "email")),
        ("CUSTOM_FIELD_", ("/api/v1/custom-fields", "key")),
    ]
    .into_iter()
    .find(|(prefix, _)| name.starts_with(prefix))
    .map(|(_, resource)| resource)
    .unwrap_or_else(|| panic!("{name}: no known prefix"))
}

#[tokio::test]
async fn ids_prints_the_demo_data_sets_fixed_ids_for_a_shell() {
    let app = spawn_app().await;
    let secret = std::str::from_utf8(SECRET).unwrap();
    let env = [("DATABASE_URL", app.db.url.as_str()), ("JWT_SECRET", secret)];
    stdout(&salesfunnel(&["seed", "--demo"], &env));
    let printed = stdout(&salesfunnel(&["ids"], &[]));
    let ids: Vec<(&str, &str)> = printed
        .lines()
        .map(|line| line.split_once('=').unwrap_or_else(|| panic!("not NAME=value: {line}")))
        .collect();
    // Each id is that of a demo resource whose code, name, SKU, label or e-mail it is named after.
    for (name, id) in &ids {
        let (path, field) = resource_of(name);
        let resource = json_with(app.get(&format!("{path}/{id}"), &app.admin()).await, StatusCode::OK).await;
        let named_after = resource[field].as_str().unwrap().to_uppercase();
        let named_after = named_after.split('@').next().unwrap();
        let words: Vec<&str> = named_after
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let simple: Vec<&str> = words.iter().filter(|w| w.is_ascii()).copied().collect();
        for word in simple {
            assert!(name.contains(word), "{name}={id} is {field} {named_after:?}");
        }
    }
    // Every stage, funnel, class and article of the demo has its name.
    for (path, field, prefix) in [
        ("/api/v1/stages", "id", "STAGE_"),
        ("/api/v1/funnels", "id", "FUNNEL_"),
        ("/api/v1/classes", "id", "CLASS_"),
        ("/api/v1/articles", "id", "ARTICLE_"),
        ("/api/v1/lost-reasons", "id", "LOST_REASON_"),
        ("/api/v1/business-partners", "id", "PARTNER_"),
        ("/api/v1/users", "id", "USER_"),
        ("/api/v1/custom-fields", "id", "CUSTOM_FIELD_"),
    ] {
        let page = json_with(
            app.get(&format!("{path}?limit=200"), &app.admin()).await,
            StatusCode::OK,
        )
        .await;
        let listed: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item[field].as_str().unwrap())
            .collect();
        assert!(!listed.is_empty(), "{path} has demo data");
        for id in listed {
            assert!(
                ids.iter().any(|(name, value)| name.starts_with(prefix) && value == &id),
                "{path}: {id} missing in `salesfunnel ids`"
            );
        }
    }
    // A shell takes the output as it is.
    let echoed = Command::new("bash")
        .args([
            "-c",
            "eval \"$1\"; echo \"$STAGE_ANFRAGE $CLASS_NEUWAGEN\"",
            "-",
            &printed,
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&echoed.stdout).trim(),
        format!(
            "{} NEUWAGEN",
            ids.iter().find(|(name, _)| *name == "STAGE_ANFRAGE").unwrap().1
        )
    );
}
