//! Rejections below the handlers are problem+json too: what the HTTP/1 parser refuses (431,
//! a malformed header or Content-Length), over-long URLs (414), refused CORS preflights, and
//! bodies that do not arrive in time (408, `BODY_TIMEOUT_MS`), whose reading never counts
//! against the database's time budget.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, problem, spawn_app, spawn_app_with_budget};

/// An answer read off the wire: status, head (lower-case) and body.
struct Raw {
    status: u16,
    head: String,
    body: String,
}

impl Raw {
    /// The body as a problem of `status`, after checking the head says so.
    fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}\n{}", self.head, self.body);
        assert!(
            self.head.contains("content-type: application/problem+json"),
            "{}",
            self.head
        );
        let problem: Value = serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("not JSON: {}", self.body));
        assert_eq!(problem["status"], status);
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{problem}");
        problem
    }
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads one answer until the server closes the connection.
async fn answer(mut stream: impl tokio::io::AsyncRead + Unpin) -> Raw {
    let mut bytes = Vec::new();
    let mut buffer = [0; 8192];
    // Until the server closes; a reset after a refused oversized head ends it too.
    while let Ok(read @ 1..) = stream.read(&mut buffer).await {
        bytes.extend_from_slice(&buffer[..read]);
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Raw {
        status: head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0),
        head: head.to_lowercase(),
        body: body.to_owned(),
    }
}

/// Sends `request` as it is and reads the answer.
async fn send_raw(app: &TestApp, request: &[u8]) -> Raw {
    let mut stream = connect(app).await;
    stream.write_all(request).await.unwrap();
    answer(stream).await
}

#[tokio::test]
async fn a_header_block_over_the_parser_limit_is_431_problem_json() {
    let app = spawn_app().await;
    let request = format!(
        "GET /api/v1/stages HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(140_000)
    );
    let raw = send_raw(&app, request.as_bytes()).await;
    let problem = raw.problem(431);
    assert_eq!(
        problem["type"],
        "urn:salesfunnel:problem:request-header-fields-too-large"
    );
    assert!(raw.head.contains("x-content-type-options: nosniff"), "{}", raw.head);
    // A URL of the same size hits the same limit.
    let request = format!(
        "GET /api/v1/stages?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(140_000)
    );
    send_raw(&app, request.as_bytes()).await.problem(431);
}

#[tokio::test]
async fn a_url_over_8_kib_is_414_problem_json() {
    let app = spawn_app().await;
    let response = app
        .request(
            Method::GET,
            &format!("/api/v1/business-partners?q={}", "a".repeat(9000)),
            &app.admin(),
        )
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("x-request-id"));
    let problem = problem(response, StatusCode::URI_TOO_LONG).await;
    assert_eq!(problem["type"], "urn:salesfunnel:problem:uri-too-long");
}

#[tokio::test]
async fn malformed_heads_are_400_problem_json() {
    let app = spawn_app().await;
    for request in [
        &b"POST /api/v1/business-partners HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12abc\r\n\r\n{}"[..],
        b"POST /api/v1/business-partners HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        b"POST /api/v1/business-partners HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\0b\r\nContent-Length: 2\r\n\r\n{}",
        b"GET /api/v1/stages HTTP/1.1\r\nHost: x\r\nBroken header line\r\n\r\n",
    ] {
        let raw = send_raw(&app, request).await;
        let problem = raw.problem(400);
        assert_eq!(problem["type"], "urn:salesfunnel:problem:bad-request");
    }
}

#[tokio::test]
async fn a_refused_cors_preflight_is_problem_json() {
    let app = spawn_app().await;
    let refused = app
        .client
        .request(Method::OPTIONS, format!("{}/api/v1/business-partners", app.address))
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(refused.headers().contains_key("x-request-id"));
    assert!(refused.headers().get("access-control-allow-origin").is_none());
    let problem = problem(refused, StatusCode::BAD_REQUEST).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .to_lowercase()
            .contains("origin"),
        "{problem}"
    );
}

/// A create of a business partner whose body comes in `pieces`, `pause` apart, and whether the
/// whole body had been sent when the answer came (the answer is read while the body trickles).
async fn trickle(app: &TestApp, pieces: usize, pause: Duration) -> (Raw, bool) {
    let body = br#"{"kind": "lead", "name": "Tropfen GmbH", "city": "Kassel"}"#;
    let stream = connect(app).await;
    let head = format!(
        "POST /api/v1/business-partners HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        app.admin(),
        body.len()
    );
    let (reader, mut writer) = stream.into_split();
    writer.write_all(head.as_bytes()).await.unwrap();
    let sent_all = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = std::sync::Arc::clone(&sent_all);
    let trickling = tokio::spawn(async move {
        for piece in body.chunks(body.len().div_ceil(pieces)) {
            tokio::time::sleep(pause).await;
            // The server may have answered and closed already.
            if writer.write_all(piece).await.is_err() {
                return;
            }
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        // Keep the connection open until the answer is read.
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let raw = answer(reader).await;
    let whole_body_sent = sent_all.load(std::sync::atomic::Ordering::SeqCst);
    trickling.abort();
    (raw, whole_body_sent)
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_408_and_nothing_is_created() {
    let app = spawn_app_with_budget(Duration::from_millis(600), Duration::from_secs(4)).await;
    // The whole body would take 4 s; the server gives up after 0.6 s without waiting for it.
    let (raw, whole_body_sent) = trickle(&app, 4, Duration::from_secs(1)).await;
    let problem = raw.problem(408);
    assert_eq!(problem["type"], "urn:salesfunnel:problem:request-timeout");
    assert!(raw.head.contains("x-request-id: "), "{}", raw.head);
    assert!(!whole_body_sent, "the 408 came only after the whole body");
    let partners: Value = app
        .get("/api/v1/business-partners?q=Tropfen", &app.admin())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(partners["items"].as_array().map(Vec::len), Some(0), "{partners}");
}

#[tokio::test]
async fn reading_a_slow_body_does_not_count_against_the_database_budget() {
    // The database budget is 0.2 s + 0.5 s; the body takes about 1.2 s but may take 5 s.
    let app = spawn_app_with_budget(Duration::from_secs(5), Duration::from_millis(200)).await;
    let (raw, whole_body_sent) = trickle(&app, 4, Duration::from_millis(300)).await;
    assert!(whole_body_sent);
    assert_eq!(raw.status, 201, "{}\n{}", raw.head, raw.body);
}
