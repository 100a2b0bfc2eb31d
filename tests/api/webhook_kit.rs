//! What the webhook tests share: a receiver on 127.0.0.1 that records every request, fast
//! worker settings, and calls to create webhooks, write events and wait for deliveries.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web::{self, Bytes, Data};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer};
use diesel::sql_types::{Jsonb, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use reqwest::StatusCode;
use salesfunnel::config::WebhookSettings;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{TestApp, json_with};

/// A request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// An HTTP server on 127.0.0.1 that records every request and answers with the scripted
/// statuses in turn (then 200), after `delay`.
#[derive(Clone)]
pub struct Receiver {
    base: String,
    log: Arc<Mutex<Vec<Received>>>,
}

struct Script {
    statuses: Vec<u16>,
    /// The delay of the n-th request; `delay` for the rest.
    delays: Vec<Duration>,
    delay: Duration,
    log: Arc<Mutex<Vec<Received>>>,
}

async fn record(req: HttpRequest, body: Bytes, script: Data<Script>) -> HttpResponse {
    let arrived = Instant::now();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let n = {
        let mut log = script.log.lock().unwrap();
        log.push(Received {
            at: arrived,
            path: req.path().to_owned(),
            headers,
            body: body.to_vec(),
        });
        log.len() - 1
    };
    tokio::time::sleep(script.delays.get(n).copied().unwrap_or(script.delay)).await;
    let status = script.statuses.get(n).copied().unwrap_or(200);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

impl Receiver {
    pub fn start(statuses: Vec<u16>, delay: Duration) -> Self {
        Self::scripted(statuses, vec![], delay)
    }

    /// Answers the n-th request with `statuses[n]` after `delays[n]` (200 and `delay` beyond).
    pub fn scripted(statuses: Vec<u16>, delays: Vec<Duration>, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let log = Arc::new(Mutex::new(Vec::new()));
        let script = Data::new(Script {
            statuses,
            delays,
            delay,
            log: log.clone(),
        });
        let server = HttpServer::new(move || App::new().app_data(script.clone()).default_service(web::to(record)))
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
        tokio::spawn(server);
        Self { base, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}

/// Fast polling and retries, so delivery tests take fractions of a second.
pub fn fast(retry_base_ms: u64, timeout_ms: u64, max_attempts: u32) -> WebhookSettings {
    WebhookSettings {
        poll_interval: Duration::from_millis(30),
        retry_base: Duration::from_millis(retry_base_ms),
        timeout: Duration::from_millis(timeout_ms),
        max_attempts,
        // The receivers of these tests listen on 127.0.0.1.
        allow_private_targets: true,
    }
}

pub fn path_of(webhook: &Value) -> String {
    format!("/api/v1/webhooks/{}", webhook["id"].as_str().unwrap())
}

pub async fn create_webhook(app: &TestApp, body: Value) -> Value {
    json_with(
        app.post("/api/v1/webhooks", &app.admin(), &body).await,
        StatusCode::CREATED,
    )
    .await
}

/// Writes an event as the outbox would, in its own transaction; the worker publishes it.
pub async fn insert_event(app: &TestApp, event_type: &str, data: Value) -> Uuid {
    let id = Uuid::now_v7();
    let mut conn = app.db.connect_async().await;
    diesel::sql_query("INSERT INTO events (id, type, subject_id, actor, data) VALUES ($1, $2, $3, 'admin', $4)")
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(event_type)
        .bind::<SqlUuid, _>(Uuid::now_v7())
        .bind::<Jsonb, _>(data)
        .execute(&mut conn)
        .await
        .unwrap();
    id
}

pub async fn deliveries(app: &TestApp, webhook: &Value) -> Vec<Value> {
    let page = json_with(
        app.get(&format!("{}/deliveries?limit=200", path_of(webhook)), &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

/// Polls the deliveries until `done` holds for them; panics after 20 s.
pub async fn wait_for(app: &TestApp, webhook: &Value, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let items = deliveries(app, webhook).await;
        if done(&items) {
            return items;
        }
        assert!(Instant::now() < deadline, "deliveries never got there: {items:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn all_settled(count: usize) -> impl Fn(&[Value]) -> bool {
    move |items| items.len() == count && items.iter().all(|d| d["status"] != "pending")
}

/// Another replica's worker on the app's database.
pub fn worker(app: &TestApp, settings: WebhookSettings) -> salesfunnel::webhooks::worker::Worker {
    let pool = salesfunnel::db::pool(
        &app.db.url,
        &salesfunnel::config::DatabaseSettings {
            pool_size: 2,
            ..Default::default()
        },
    )
    .unwrap();
    salesfunnel::webhooks::worker::spawn(pool, settings).unwrap()
}
