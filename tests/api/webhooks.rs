//! Webhooks: admin CRUD, and delivery to real HTTP receivers started in the test — signed,
//! retried with backoff, filtered by type, in order, once even with several workers.

use std::collections::HashSet;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use salesfunnel::access::Role;
use salesfunnel::config::WebhookSettings;
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

use crate::helpers::{TestApp, error_fields, header, json_with, problem, spawn_app, spawn_app_with_webhooks};
use crate::webhook_kit::*;

const SECRET: &str = "receiver-secret-0123456789";

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `header` as a receiver would: `t=<unix time>,v1=<HMAC of "<t>.<body>">`, with `t`
/// within the documented 5 minutes of now.
fn check_timestamped(header: &str, body: &[u8]) {
    let (t, v1) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .unwrap_or_else(|| panic!("signature header {header}"));
    let sent: i64 = t.parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - sent).abs() <= 300, "{header}");
    let signed = [t.as_bytes(), b".", body].concat();
    assert_eq!(v1, hmac_hex(SECRET, &signed));
}

#[tokio::test]
async fn a_webhook_is_created_read_listed_patched_and_deleted_without_showing_its_secret() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/v1/webhooks",
            &app.admin(),
            &json!({"url": "https://erp.example.com/hooks", "event_types": ["quote.sent", "opportunity.won", "quote.sent"],
                    "description": "ERP"}),
        )
        .await;
    let location = header(&response, "location");
    let etag = header(&response, "etag");
    let created = json_with(response, StatusCode::CREATED).await;
    assert_eq!(location, Some(path_of(&created)));
    assert_eq!(etag.as_deref(), Some("\"1\""));
    assert_eq!(created["event_types"], json!(["opportunity.won", "quote.sent"]));
    assert_eq!(
        (created["active"].as_bool(), created["version"].as_i64()),
        (Some(true), Some(1))
    );
    let secret = created["secret"].as_str().unwrap();
    assert!(
        secret.starts_with("whsec_") && secret.len() >= 64,
        "a strong secret is generated"
    );

    let read = json_with(app.get(&path_of(&created), &app.admin()).await, StatusCode::OK).await;
    assert!(read.get("secret").is_none(), "GET never shows the secret: {read}");
    assert_eq!(read["url"], "https://erp.example.com/hooks");
    let list = json_with(app.get("/api/v1/webhooks", &app.admin()).await, StatusCode::OK).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert!(
        list["items"][0].get("secret").is_none(),
        "the list never shows it either"
    );

    let given = create_webhook(
        &app,
        json!({"url": "http://127.0.0.1:9/x", "event_types": ["*"], "secret": SECRET, "active": false}),
    )
    .await;
    assert_eq!(given["secret"], SECRET, "a given secret is echoed once");
    let inactive = json_with(
        app.get("/api/v1/webhooks?active=false", &app.admin()).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(inactive["items"][0]["id"], given["id"]);

    let response = app
        .request(Method::PATCH, &path_of(&created), &app.admin())
        .header("If-Match", "\"1\"")
        .header("Content-Type", "application/merge-patch+json")
        .body(json!({"active": false, "description": null, "event_types": ["*", "quote.sent"], "secret": "another-secret-0123456789"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "etag").as_deref(), Some("\"2\""));
    let patched = json_with(response, StatusCode::OK).await;
    assert_eq!(
        (
            patched["active"].as_bool(),
            &patched["description"],
            &patched["event_types"]
        ),
        (Some(false), &Value::Null, &json!(["*"]))
    );
    assert!(patched.get("secret").is_none());

    let deleted = app
        .request(Method::DELETE, &path_of(&created), &app.admin())
        .header("If-Match", "\"2\"")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    problem(app.get(&path_of(&created), &app.admin()).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn invalid_webhooks_are_422_naming_the_field() {
    let app = spawn_app().await;
    for (body, fields) in [
        (
            json!({"url": "ftp://erp.example.com/", "event_types": ["*"]}),
            vec!["url"],
        ),
        (json!({"url": "/hooks", "event_types": ["*"]}), vec!["url"]),
        (
            json!({"url": "erp.example.com/hooks", "event_types": ["*"]}),
            vec!["url"],
        ),
        (
            json!({"url": "https://erp.example.com/", "event_types": ["quote.sent", "quote.lost"]}),
            vec!["event_types[1]"],
        ),
        (
            json!({"url": "https://erp.example.com/", "event_types": []}),
            vec!["event_types"],
        ),
        (json!({"url": "https://erp.example.com/"}), vec!["event_types"]),
        (
            json!({"url": "https://erp.example.com/", "event_types": ["*"], "secret": "short"}),
            vec!["secret"],
        ),
        (
            json!({"url": "https://erp.example.com/", "event_types": ["*"], "events": ["*"]}),
            vec!["events"],
        ),
    ] {
        let found = problem(
            app.post("/api/v1/webhooks", &app.admin(), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&found), fields, "{body}");
    }
    let webhook = create_webhook(&app, json!({"url": "https://erp.example.com/", "event_types": ["*"]})).await;
    let found = problem(
        app.patch(
            &path_of(&webhook),
            &app.admin(),
            &json!({"url": "mailto:x@example.com", "secret": "0123"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["secret", "url"]);
}

/// The webhook settings of production: private targets refused.
fn strict() -> WebhookSettings {
    WebhookSettings {
        allow_private_targets: false,
        ..fast(50, 300, 1)
    }
}

#[tokio::test]
async fn targets_inside_the_network_weak_secrets_and_userinfo_are_refused() {
    let app = spawn_app_with_webhooks(strict()).await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://LOCALHOST./hook",
        "http://[::1]/hook",
        "http://127.1/hook",
        "http://0x7f000001/hook",
        "http://2130706433/hook",
        "http://10.0.0.5/hook",
        "http://192.168.178.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "https://user:pass@erp.example.com/hook",
    ] {
        let found = problem(
            app.post(
                "/api/v1/webhooks",
                &app.admin(),
                &json!({"url": url, "event_types": ["*"]}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&found), vec!["url"], "{url}");
    }
    for secret in ["aaaaaaaaaaaaaaaa", "abcabcabcabcabcabc", "correct horse battery staple"] {
        let body = json!({"url": "https://93.184.216.34/hook", "event_types": ["*"], "secret": secret});
        let found = problem(
            app.post("/api/v1/webhooks", &app.admin(), &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&found), vec!["secret"], "{secret}");
    }
    // A public address is fine; moving it inside later is refused like a new one.
    let webhook = create_webhook(&app, json!({"url": "https://93.184.216.34/hook", "event_types": ["*"]})).await;
    let found = problem(
        app.patch(&path_of(&webhook), &app.admin(), &json!({"url": "http://127.0.0.1/"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&found), vec!["url"]);
}

#[tokio::test]
async fn a_target_that_now_points_inside_gets_a_failed_attempt_and_no_request() {
    let app = spawn_app_with_webhooks(strict()).await;
    let receiver = Receiver::start(vec![], Duration::ZERO);
    let webhook = create_webhook(&app, json!({"url": "https://93.184.216.34/hook", "event_types": ["*"]})).await;
    // As if its name resolved inside now (or the rules changed since it was saved).
    let mut conn = app.db.connect_async().await;
    diesel::sql_query("UPDATE webhooks SET url = $1 WHERE id = $2")
        .bind::<Text, _>(receiver.url("/inside"))
        .bind::<SqlUuid, _>(Uuid::parse_str(webhook["id"].as_str().unwrap()).unwrap())
        .execute(&mut conn)
        .await
        .unwrap();
    insert_event(&app, "business_partner.created", json!({})).await;
    let items = wait_for(&app, &webhook, all_settled(1)).await;
    let attempts = items[0]["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["error"], "forbidden_target");
    assert!(receiver.received().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn only_admins_may_see_or_change_webhooks() {
    let app = spawn_app().await;
    let webhook = create_webhook(&app, json!({"url": "https://erp.example.com/", "event_types": ["*"]})).await;
    let body = json!({"url": "https://erp.example.com/", "event_types": ["*"]});
    problem(
        app.anonymous(Method::GET, "/api/v1/webhooks").send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    for role in [Role::Manager, Role::Rep, Role::Viewer, Role::Integration] {
        let token = app.token_for(role, "caller");
        problem(app.get("/api/v1/webhooks", &token).await, StatusCode::FORBIDDEN).await;
        problem(app.get(&path_of(&webhook), &token).await, StatusCode::FORBIDDEN).await;
        problem(
            app.get(&format!("{}/deliveries", path_of(&webhook)), &token).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        problem(app.post("/api/v1/webhooks", &token, &body).await, StatusCode::FORBIDDEN).await;
        problem(
            app.patch(&path_of(&webhook), &token, &json!({"active": false})).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        problem(app.delete(&path_of(&webhook), &token).await, StatusCode::FORBIDDEN).await;
    }
}

#[tokio::test]
async fn stale_if_match_is_412_and_unknown_webhooks_are_404() {
    let app = spawn_app().await;
    let webhook = create_webhook(&app, json!({"url": "https://erp.example.com/", "event_types": ["*"]})).await;
    let stale = app
        .request(Method::PATCH, &path_of(&webhook), &app.admin())
        .header("If-Match", "\"7\"")
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let stale = app
        .request(Method::DELETE, &path_of(&webhook), &app.admin())
        .header("If-Match", "\"7\"")
        .send()
        .await
        .unwrap();
    problem(stale, StatusCode::PRECONDITION_FAILED).await;
    let unknown = format!("/api/v1/webhooks/{}", Uuid::now_v7());
    problem(app.get(&unknown, &app.admin()).await, StatusCode::NOT_FOUND).await;
    problem(
        app.get(&format!("{unknown}/deliveries"), &app.admin()).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.patch(&unknown, &app.admin(), &json!({"active": false})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(app.delete(&unknown, &app.admin()).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn an_event_is_delivered_signed_after_failed_attempts_with_backoff() {
    let app = spawn_app_with_webhooks(fast(300, 2000, 5)).await;
    let receiver = Receiver::start(vec![500, 503], Duration::ZERO);
    let webhook = create_webhook(
        &app,
        json!({"url": receiver.url("/hooks"), "event_types": ["opportunity.won"], "secret": SECRET}),
    )
    .await;
    let event_id = insert_event(
        &app,
        "opportunity.won",
        json!({"number": "OPP-000001", "target_value": "100.00"}),
    )
    .await;

    let items = wait_for(&app, &webhook, all_settled(1)).await;

    let got = receiver.received();
    assert_eq!(got.len(), 3, "two failures, then success");
    for request in &got {
        assert_eq!(request.body, got[0].body, "every attempt sends the same bytes");
        assert_eq!(request.headers["content-type"], "application/json");
        let expected = format!("sha256={}", hmac_hex(SECRET, &request.body));
        assert_eq!(request.headers["x-salesfunnel-signature-256"], expected);
        check_timestamped(&request.headers["x-salesfunnel-signature"], &request.body);
        assert_eq!(request.headers["x-salesfunnel-event-id"], event_id.to_string());
        assert_eq!(request.headers["x-salesfunnel-event"], "opportunity.won");
        assert_eq!(request.headers["x-salesfunnel-delivery"], items[0]["id"]);
    }
    assert_eq!(got[2].headers["x-salesfunnel-attempt"], "3");
    let body = got[0].json();
    assert_eq!(body["id"], event_id.to_string());
    assert_eq!(body["type"], "opportunity.won");
    assert_eq!(body["seq"], 1);
    assert_eq!(body["actor"], "admin");
    assert_eq!(body["data"]["number"], "OPP-000001");
    assert!(body["subject_id"].is_string() && body["occurred_at"].is_string());
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        vec!["actor", "data", "id", "occurred_at", "seq", "subject_id", "type"],
        "the event as the feed serves it, nothing else"
    );
    let waits = [got[1].at - got[0].at, got[2].at - got[1].at];
    assert!(
        waits[0] >= Duration::from_millis(300),
        "first retry after the base wait: {waits:?}"
    );
    assert!(waits[1] >= Duration::from_millis(600), "then twice as long: {waits:?}");

    let delivery = &items[0];
    assert_eq!(delivery["status"], "delivered");
    assert_eq!(delivery["event_id"], event_id.to_string());
    assert_eq!(
        (delivery["event_seq"].as_i64(), delivery["event_type"].as_str()),
        (Some(1), Some("opportunity.won"))
    );
    assert_eq!(delivery["attempt_count"], 3);
    assert_eq!(delivery["next_attempt_at"], Value::Null);
    assert_eq!(delivery["last_status_code"], 200);
    let attempts: Vec<(i64, Option<i64>, bool)> = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["attempt"].as_i64().unwrap(),
                a["status_code"].as_i64(),
                a["error"].is_string(),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        vec![(1, Some(500), true), (2, Some(503), true), (3, Some(200), false)]
    );
}

#[tokio::test]
async fn only_subscribed_events_reach_a_webhook_and_an_inactive_one_gets_nothing() {
    let app = spawn_app_with_webhooks(fast(100, 2000, 3)).await;
    let before = insert_event(&app, "quote.sent", json!({"n": 0})).await;
    // Published before the webhooks exist: they start at the end of the feed.
    wait_until_published(&app, 1).await;
    let receiver = Receiver::start(vec![], Duration::ZERO);
    let quotes = create_webhook(
        &app,
        json!({"url": receiver.url("/quotes"), "event_types": ["quote.sent", "quote.accepted"]}),
    )
    .await;
    let inactive = create_webhook(
        &app,
        json!({"url": receiver.url("/inactive"), "event_types": ["*"], "active": false}),
    )
    .await;
    insert_event(&app, "opportunity.won", json!({"n": 1})).await;
    let sent = insert_event(&app, "quote.sent", json!({"n": 2})).await;
    insert_event(&app, "activity.created", json!({"n": 3})).await;
    let accepted = insert_event(&app, "quote.accepted", json!({"n": 4})).await;

    let items = wait_for(&app, &quotes, all_settled(2)).await;
    wait_until_published(&app, 5).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let got: Vec<(String, Value)> = receiver
        .received()
        .iter()
        .map(|r| (r.path.clone(), r.json()["id"].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("/quotes".to_owned(), json!(sent.to_string())),
            ("/quotes".to_owned(), json!(accepted.to_string()))
        ],
        "in feed order, only the subscribed types, nothing from before, nothing to the inactive webhook"
    );
    assert!(items.iter().all(|d| d["event_id"] != json!(before.to_string())));
    assert_eq!(items[0]["event_type"], "quote.accepted", "newest first");
    assert!(deliveries(&app, &inactive).await.is_empty());
}

async fn wait_until_published(app: &TestApp, count: i64) {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.db.connect_async().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let published = diesel::sql_query("SELECT count(seq) AS n FROM events")
            .get_result::<N>(&mut conn)
            .await
            .unwrap()
            .n;
        if published >= count {
            return;
        }
        assert!(Instant::now() < deadline, "events were not published");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

#[tokio::test]
async fn refused_connections_and_timeouts_are_recorded_as_failed_attempts() {
    let app = spawn_app_with_webhooks(fast(50, 300, 2)).await;
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}/gone", listener.local_addr().unwrap().port())
    };
    let slow = Receiver::start(vec![], Duration::from_secs(3));
    let refused = create_webhook(&app, json!({"url": closed, "event_types": ["*"]})).await;
    let timing_out = create_webhook(&app, json!({"url": slow.url("/slow"), "event_types": ["*"]})).await;
    insert_event(&app, "business_partner.created", json!({})).await;

    for (webhook, class) in [(&refused, "refused"), (&timing_out, "timeout")] {
        let items = wait_for(&app, webhook, all_settled(1)).await;
        let delivery = &items[0];
        assert_eq!(delivery["status"], "failed", "given up after the last attempt");
        assert_eq!(delivery["attempt_count"], 2);
        assert_eq!(delivery["last_status_code"], Value::Null);
        let attempts = delivery["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 2);
        for attempt in attempts {
            assert_eq!(attempt["status_code"], Value::Null);
            // The class only: no operating system text that would tell which ports answer.
            assert_eq!(attempt["error"], class);
        }
    }
    assert_eq!(slow.received().len(), 2, "the slow receiver saw both attempts");
}

#[tokio::test]
async fn several_workers_deliver_each_event_once_and_in_order() {
    let settings = fast(100, 2000, 3);
    let app = spawn_app_with_webhooks(settings).await;
    // Two more replicas' workers on the same database.
    let others: Vec<_> = (0..2).map(|_| worker(&app, settings)).collect();
    let receiver = Receiver::start(vec![], Duration::from_millis(5));
    let mut webhooks = Vec::new();
    for n in 0..4 {
        webhooks.push(
            create_webhook(
                &app,
                json!({"url": receiver.url(&format!("/hook/{n}")), "event_types": ["*"]}),
            )
            .await,
        );
    }
    let mut events = Vec::new();
    for n in 0..12 {
        events.push(
            insert_event(&app, "opportunity.updated", json!({"n": n}))
                .await
                .to_string(),
        );
    }
    for webhook in &webhooks {
        wait_for(&app, webhook, all_settled(12)).await;
    }
    for worker in others {
        worker.stop().await;
    }

    let got = receiver.received();
    assert_eq!(got.len(), 4 * 12, "one request per webhook and event");
    let distinct: HashSet<(String, String)> = got
        .iter()
        .map(|r| (r.path.clone(), r.headers["x-salesfunnel-event-id"].clone()))
        .collect();
    assert_eq!(distinct.len(), 4 * 12, "no event delivered twice to a webhook");
    for n in 0..4 {
        let path = format!("/hook/{n}");
        let order: Vec<String> = got
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.headers["x-salesfunnel-event-id"].clone())
            .collect();
        assert_eq!(order, events, "{path} got the events in feed order");
    }
    for webhook in &webhooks {
        assert!(deliveries(&app, webhook).await.iter().all(|d| d["attempt_count"] == 1));
    }
}

#[tokio::test]
async fn a_change_through_the_api_reaches_the_webhook_as_the_feed_serves_it() {
    let app = spawn_app_with_webhooks(fast(100, 2000, 3)).await;
    let receiver = Receiver::start(vec![], Duration::ZERO);
    let webhook = create_webhook(
        &app,
        json!({"url": receiver.url("/erp"), "event_types": ["business_partner.created"], "secret": SECRET}),
    )
    .await;

    let partner = app
        .create_partner(json!({"kind": "customer", "name": "Autohaus Ende-zu-Ende GmbH"}))
        .await;
    wait_for(&app, &webhook, all_settled(1)).await;

    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let expected = format!("sha256={}", hmac_hex(SECRET, &got[0].body));
    assert_eq!(got[0].headers["x-salesfunnel-signature-256"], expected);
    check_timestamped(&got[0].headers["x-salesfunnel-signature"], &got[0].body);
    let feed = json_with(
        app.get("/api/v1/events?type=business_partner.created", &app.admin())
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        got[0].json(),
        feed["items"][0],
        "the same event, byte for byte in meaning"
    );
    assert_eq!(got[0].json()["data"]["business_partner"]["id"], partner["id"]);
}

#[tokio::test]
async fn a_failed_delivery_is_sent_again_on_request() {
    let app = spawn_app_with_webhooks(fast(20, 2000, 2)).await;
    // Two failures use up the attempts; the third request (the redelivery) is answered 200.
    let receiver = Receiver::start(vec![500, 500], Duration::ZERO);
    let webhook = create_webhook(
        &app,
        json!({"url": receiver.url("/again"), "event_types": ["*"], "secret": SECRET}),
    )
    .await;
    insert_event(&app, "opportunity.won", json!({"number": "OPP-000009"})).await;
    let failed = wait_for(&app, &webhook, all_settled(1)).await;
    assert_eq!(failed[0]["status"], "failed");
    let again = format!(
        "{}/deliveries/{}/redeliver",
        path_of(&webhook),
        failed[0]["id"].as_str().unwrap()
    );

    let pending = json_with(app.post(&again, &app.admin(), &json!({})).await, StatusCode::OK).await;
    assert_eq!(
        (pending["status"].clone(), pending["attempt_count"].clone()),
        (json!("pending"), json!(2))
    );
    let delivered = wait_for(&app, &webhook, all_settled(1)).await;
    assert_eq!(delivered[0]["status"], "delivered");
    assert_eq!(delivered[0]["attempts"].as_array().unwrap().len(), 3);
    assert_eq!(receiver.received().len(), 3);

    // Only admins; an unknown delivery is 404.
    problem(
        app.post(&again, &app.token_for(Role::Integration, "erp"), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let unknown = format!("{}/deliveries/{}/redeliver", path_of(&webhook), Uuid::now_v7());
    problem(
        app.post(&unknown, &app.admin(), &json!({})).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn a_ping_reaches_the_receiver_signed_and_answers_what_it_said() {
    let app = spawn_app_with_webhooks(fast(20, 2000, 2)).await;
    let receiver = Receiver::start(vec![200, 418], Duration::ZERO);
    let webhook = create_webhook(
        &app,
        json!({"url": receiver.url("/ping"), "event_types": ["opportunity.won"], "secret": SECRET}),
    )
    .await;
    let ping = format!("{}/ping", path_of(&webhook));

    let answer = json_with(app.post(&ping, &app.admin(), &json!({})).await, StatusCode::OK).await;
    assert_eq!(
        (answer["delivered"].clone(), answer["status_code"].clone()),
        (json!(true), json!(200))
    );
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(
        (body["type"].clone(), body["data"]["webhook_id"].clone()),
        (json!("ping"), webhook["id"].clone())
    );
    assert_eq!(got[0].headers["x-salesfunnel-event"], "ping");
    check_timestamped(&got[0].headers["x-salesfunnel-signature"], &got[0].body);

    let refused = json_with(app.post(&ping, &app.admin(), &json!({})).await, StatusCode::OK).await;
    assert_eq!(
        (refused["delivered"].clone(), refused["status_code"].clone()),
        (json!(false), json!(418))
    );
    assert!(
        deliveries(&app, &webhook).await.is_empty(),
        "pings are not in the delivery log"
    );
    assert!(
        app.feed(0).await.iter().all(|e| e["type"] != "ping"),
        "pings are not in the feed"
    );
    problem(
        app.post(&ping, &app.token_for(Role::Manager, "m"), &json!({})).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.post(
            &format!("/api/v1/webhooks/{}/ping", Uuid::now_v7()),
            &app.admin(),
            &json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}
