//! Test harness: a fresh database per test, cloned from a template migrated once (under an
//! advisory lock, so parallel test processes do not race), and the app on a random port.

use std::net::TcpListener;
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::AsyncPgConnection;
use lettre::message::Mailbox;
use reqwest::{Method, Response, StatusCode};
use salesfunnel::access::Role;
use salesfunnel::auth::{Signer, Verifier};
use salesfunnel::config::{DatabaseSettings, JwtKey, JwtSettings, WebhookSettings};
use salesfunnel::db;
use salesfunnel::db::SyncConn;
use salesfunnel::http::pagination::CursorKey;
use salesfunnel::mail::Mailer;
use salesfunnel::startup::{AppConfig, Application};
use serde_json::Value;
use uuid::Uuid;

pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret-0123";
pub const ISSUER: &str = "salesfunnel";
pub const AUDIENCE: &str = "salesfunnel";

/// The server that holds the test databases: `TEST_DATABASE_URL` (without a database name),
/// default the local PostgreSQL with trust auth.
pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A blocking connection; only on a thread without an async runtime.
fn connect(database: &str) -> SyncConn {
    let url = format!("{}/{database}", server_url());
    db::sync_connection(&url).unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// Runs blocking database work on its own thread, so that it may be called from async tests.
fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(work).join().expect("database set-up thread")
}

/// Name of the template for the migrations this binary embeds (fingerprinted by build.rs at
/// compile time): changing a migration makes a new one, and a binary built before the change
/// never picks up a template made by one built after it, or the other way round.
fn template_name() -> String {
    format!("salesfunnel_tpl_{}", env!("SALESFUNNEL_MIGRATIONS_HASH"))
}

/// Makes the template unless it exists. Checked for every test, not once per process: test
/// runs of other checkouts (other migrations, other templates) on the same server may drop it.
/// Templates of other migrations are left alone for the same reason.
fn ensure_template() -> String {
    let name = template_name();
    let mut admin = connect("postgres");
    diesel::sql_query("SELECT pg_advisory_lock(727001)")
        .execute(&mut admin)
        .expect("advisory lock");
    if !database_exists(&mut admin, &name) {
        let building = format!("{name}_building");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .execute(&mut admin)
            .expect("drop");
        diesel::sql_query(format!("CREATE DATABASE {building}"))
            .execute(&mut admin)
            .expect("create template");
        {
            let mut conn = connect(&building);
            db::run_migrations(&mut conn).expect("migrations");
        }
        diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
            .execute(&mut admin)
            .expect("rename");
    }
    diesel::sql_query("SELECT pg_advisory_unlock(727001)")
        .execute(&mut admin)
        .expect("unlock");
    name
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    found: bool,
}

fn database_exists(conn: &mut SyncConn, name: &str) -> bool {
    diesel::sql_query("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1) AS found")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Exists>(conn)
        .is_ok_and(|row| row.found)
}

/// A fresh database, dropped when this value is.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub fn new() -> Self {
        let name = format!("salesfunnel_test_{}", Uuid::now_v7().simple());
        let created = name.clone();
        blocking(move || {
            let mut admin = connect("postgres");
            // The template may vanish between the check and the copy (see ensure_template).
            for attempt in 1.. {
                let template = ensure_template();
                match diesel::sql_query(format!("CREATE DATABASE {created} TEMPLATE {template}")).execute(&mut admin) {
                    Ok(_) => break,
                    Err(e) if attempt < 3 && e.to_string().contains("does not exist") => continue,
                    Err(e) => panic!("create test database: {e}"),
                }
            }
        });
        let url = format!("{}/{name}", server_url());
        Self { name, url }
    }

    /// A database without any table, as a new replica set meets it.
    pub fn empty() -> Self {
        let name = format!("salesfunnel_test_{}", Uuid::now_v7().simple());
        let created = name.clone();
        blocking(move || {
            diesel::sql_query(format!("CREATE DATABASE {created}"))
                .execute(&mut connect("postgres"))
                .expect("create empty database");
        });
        let url = format!("{}/{name}", server_url());
        Self { name, url }
    }

    /// A blocking connection, for tests that are not async.
    pub fn connect(&self) -> SyncConn {
        connect(&self.name)
    }

    /// An async connection, for async tests.
    pub async fn connect_async(&self) -> AsyncPgConnection {
        use diesel_async::AsyncConnection;
        AsyncPgConnection::establish(&self.url).await.expect("connect")
    }
}

impl TestDatabase {
    /// The folder the app of this database writes its `.eml` files to.
    pub fn mail_folder(&self) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("{}_mail", self.name))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.mail_folder());
        let name = self.name.clone();
        // Dropping may happen inside the async runtime: do the blocking work on a thread.
        blocking(move || {
            let mut admin = connect("postgres");
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin);
        });
    }
}

/// A running app on its own database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: TestDatabase,
    signer: Signer,
}

pub fn jwt_settings() -> JwtSettings {
    JwtSettings {
        key: None,
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        max_ttl: salesfunnel::config::DEFAULT_JWT_MAX_TTL,
    }
}

/// Starts the app with the HS256 test secret.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_key(JwtKey::Secret(SECRET.to_vec())).await
}

/// Starts the app verifying tokens with `key`.
pub async fn spawn_app_with_key(key: JwtKey) -> TestApp {
    let db = TestDatabase::new();
    spawn_on(db, key).await
}

/// Starts the app with its webhook worker polling and retrying as `webhooks` says.
pub async fn spawn_app_with_webhooks(webhooks: WebhookSettings) -> TestApp {
    let db = TestDatabase::new();
    let url = db.url.clone();
    start(
        db,
        &url,
        Options {
            webhooks,
            ..Options::default()
        },
    )
    .await
}

/// Starts the app on `db` (whose URL may point through a proxy).
pub async fn spawn_on_url(db: TestDatabase, url: &str) -> TestApp {
    start(db, url, Options::default()).await
}

async fn spawn_on(db: TestDatabase, key: JwtKey) -> TestApp {
    let url = db.url.clone();
    start(
        db,
        &url,
        Options {
            key,
            ..Options::default()
        },
    )
    .await
}

/// The webhook worker of tests that do not deliver: it polls, but rarely.
fn idle_webhooks() -> WebhookSettings {
    WebhookSettings {
        poll_interval: std::time::Duration::from_secs(5),
        allow_private_targets: true,
        ..WebhookSettings::default()
    }
}

/// Starts the app with a rate limit of `per_minute` requests per caller.
pub async fn spawn_app_with_rate_limit(per_minute: u32) -> TestApp {
    let db = TestDatabase::new();
    let url = db.url.clone();
    start(
        db,
        &url,
        Options {
            rate_limit: per_minute,
            ..Options::default()
        },
    )
    .await
}

/// Starts the app with its own limits on reading bodies and waiting on the database.
pub async fn spawn_app_with_budget(body_timeout: Duration, database_timeout: Duration) -> TestApp {
    let db = TestDatabase::new();
    let url = db.url.clone();
    start(
        db,
        &url,
        Options {
            body_timeout,
            database_timeout,
            ..Options::default()
        },
    )
    .await
}

/// Where the app under test sends e-mail.
pub enum TestMail {
    /// `.eml` files in a folder of the test's own (the embedded default's way).
    Files,
    /// An SMTP server, by its `SMTP_URL`.
    Smtp(String),
    /// None configured: sending is a 503.
    Off,
}

/// Starts the app with its e-mail going to `mail`.
pub async fn spawn_app_with_mail(mail: TestMail) -> TestApp {
    let db = TestDatabase::new();
    let url = db.url.clone();
    start(
        db,
        &url,
        Options {
            mail,
            ..Options::default()
        },
    )
    .await
}

/// What the tests vary about the app they start.
struct Options {
    mail: TestMail,
    key: JwtKey,
    webhooks: WebhookSettings,
    /// Off but in tests/api/limits.rs: tests send bursts.
    rate_limit: u32,
    body_timeout: Duration,
    database_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            mail: TestMail::Files,
            key: JwtKey::Secret(SECRET.to_vec()),
            webhooks: idle_webhooks(),
            rate_limit: 0,
            body_timeout: Duration::from_secs(10),
            database_timeout: DatabaseSettings::default().timeout,
        }
    }
}

async fn start(db: TestDatabase, url: &str, options: Options) -> TestApp {
    let verifier = Verifier::new(&jwt_settings(), &options.key).expect("verifier");
    let pool = db::pool(
        url,
        &DatabaseSettings {
            pool_size: 4,
            ..DatabaseSettings::default()
        },
    )
    .expect("pool");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://127.0.0.1:{}", listener.local_addr().expect("address").port());
    let from: Mailbox = "Autohaus Beispiel <angebote@autohaus.example>".parse().expect("sender");
    let mailer = match options.mail {
        TestMail::Files => Mailer::files(db.mail_folder(), from, &base).expect("mail folder"),
        TestMail::Smtp(url) => Mailer::smtp(&url, from, &base).expect("SMTP_URL"),
        TestMail::Off => Mailer::off(from, &base),
    };
    let config = AppConfig {
        pool,
        verifier,
        cors_allowed_origins: vec!["https://crm.example".to_owned()],
        workers: Some(1),
        webhooks: options.webhooks,
        cursor_key: CursorKey::derive(SECRET),
        database: DatabaseSettings {
            timeout: options.database_timeout,
            ..DatabaseSettings::default()
        },
        rate_limit_per_minute: options.rate_limit,
        body_timeout: options.body_timeout,
        feed_stall_warn: salesfunnel::config::DEFAULT_FEED_STALL_WARN,
        mailer,
    };
    let app = Application::build(config, listener).expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::new(),
        db,
        signer: Signer::new(&jwt_settings(), SECRET),
    }
}

impl TestApp {
    /// An HS256 token for `role` with subject `sub`.
    pub fn token_for(&self, role: Role, sub: &str) -> String {
        self.signer.sign(role, sub, 600).expect("sign")
    }

    /// An HS256 token carrying all of `roles`, with subject `sub`.
    pub fn token_with(&self, roles: &[Role], sub: &str) -> String {
        self.signer.sign_roles(roles, sub, 600).expect("sign")
    }

    pub fn admin(&self) -> String {
        self.token_for(Role::Admin, "admin")
    }

    /// A request with a bearer token.
    pub fn request(&self, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(token)
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, token).send().await.expect("request")
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path, token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, token).send().await.expect("request")
    }

    /// The feed's first 1000 events, read as admin once it holds at least `count` (or after
    /// 10 s, for the caller's assertion to show what is there).
    pub async fn feed(&self, count: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let page: Value = self
                .get("/api/v1/events?limit=1000", &self.admin())
                .await
                .json()
                .await
                .expect("the feed");
            let items = page["items"].as_array().cloned().unwrap_or_default();
            if items.len() >= count || tokio::time::Instant::now() >= deadline {
                return items;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Creates a user as admin and returns its JSON.
    pub async fn create_user(&self, email: &str, role: &str) -> Value {
        let body = serde_json::json!({"email": email, "display_name": email.split('@').next(), "role": role});
        json_with(
            self.post("/api/v1/users", &self.admin(), &body).await,
            StatusCode::CREATED,
        )
        .await
    }

    /// Creates a business partner as admin and returns its JSON.
    pub async fn create_partner(&self, body: Value) -> Value {
        json_with(
            self.post("/api/v1/business-partners", &self.admin(), &body).await,
            StatusCode::CREATED,
        )
        .await
    }

    /// Creates a stage as admin and returns its JSON.
    pub async fn create_stage(&self, body: Value) -> Value {
        json_with(
            self.post("/api/v1/stages", &self.admin(), &body).await,
            StatusCode::CREATED,
        )
        .await
    }

    /// Creates an open (40 %), a won and a lost stage with codes `{prefix}_OPEN`, `{prefix}_WON`
    /// and `{prefix}_LOST`, and returns their ids in that order.
    pub async fn create_stage_set(&self, prefix: &str) -> Vec<Value> {
        let mut ids = Vec::new();
        for (suffix, outcome, probability) in [("OPEN", "open", Some(40)), ("WON", "won", None), ("LOST", "lost", None)]
        {
            let code = format!("{prefix}_{suffix}");
            let name = format!("{prefix} {suffix}");
            let mut body = serde_json::json!({"code": code, "name": name, "outcome": outcome});
            if let Some(probability) = probability {
                body["probability"] = probability.into();
            }
            ids.push(self.create_stage(body).await["id"].clone());
        }
        ids
    }

    /// Creates a funnel as admin and returns its JSON.
    pub async fn create_funnel(&self, body: Value) -> Value {
        json_with(
            self.post("/api/v1/funnels", &self.admin(), &body).await,
            StatusCode::CREATED,
        )
        .await
    }

    /// Creates a funnel called `name` on a fresh stage set (codes prefixed with `prefix`) and
    /// returns its JSON.
    pub async fn create_simple_funnel(&self, name: &str, prefix: &str) -> Value {
        let stage_ids = self.create_stage_set(prefix).await;
        self.create_funnel(serde_json::json!({"name": name, "stage_ids": stage_ids}))
            .await
    }

    /// A request without an `Authorization` header.
    pub fn anonymous(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.address))
    }
}

/// Asserts the status and returns the JSON body.
pub async fn json_with(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Asserts a problem+json response with `status` and returns it.
pub async fn problem(response: Response, status: StatusCode) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = json_with(response, status).await;
    assert_eq!(
        content_type, "application/problem+json",
        "problem content type; body: {body}"
    );
    assert_eq!(body["status"], status.as_u16(), "status member");
    assert!(body["type"].as_str().is_some_and(|t| !t.is_empty()), "type member");
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()), "title member");
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()), "detail member");
    body
}

/// The fields named in a 422's `errors`, sorted.
pub fn error_fields(problem: &Value) -> Vec<String> {
    let mut fields: Vec<String> = problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    fields.sort();
    fields
}

/// The value of a response header, if present and text.
pub fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A JSON timestamp as an instant, for comparing times whatever their number of decimals.
pub fn instant(value: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().expect("a timestamp string")).expect("an RFC 3339 timestamp")
}

/// Every operation of the committed spec, with its path parameters filled with one UUID.
pub fn spec_operations() -> Vec<(reqwest::Method, String)> {
    let spec: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json")).unwrap(),
    )
    .unwrap();
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let filled: String = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            if let Ok(method) = method.to_uppercase().parse::<reqwest::Method>() {
                operations.push((method, filled.clone()));
            }
        }
    }
    operations
}
