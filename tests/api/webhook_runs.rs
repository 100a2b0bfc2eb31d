//! Delivery in runs: a webhook's deliveries go out one after the other as fast as the receiver
//! answers (not one per poll), in order, a failure holding back the later ones; and a replica
//! killed mid-attempt leaves that attempt in the delivery log.

use std::time::Duration;

use salesfunnel::config::WebhookSettings;
use serde_json::{Value, json};

use crate::cli::serve_on;
use reqwest::StatusCode;

use crate::helpers::{TestApp, json_with, problem, spawn_app_with_webhooks};
use crate::webhook_kit::*;

/// The app's own worker polls once at start and then not for an hour: what is delivered in a
/// test is delivered by the workers the test starts.
fn sleeping() -> WebhookSettings {
    WebhookSettings {
        poll_interval: Duration::from_secs(3600),
        ..fast(50, 1000, 3)
    }
}

async fn events(app: &TestApp, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for n in 0..count {
        ids.push(
            insert_event(app, "opportunity.updated", json!({"n": n}))
                .await
                .to_string(),
        );
    }
    ids
}

fn event_ids(receiver: &Receiver) -> Vec<String> {
    receiver
        .received()
        .iter()
        .map(|r| r.headers["x-salesfunnel-event-id"].clone())
        .collect()
}

#[tokio::test]
async fn one_poll_delivers_the_whole_backlog_in_order() {
    let app = spawn_app_with_webhooks(sleeping()).await;
    let receiver = Receiver::start(vec![], Duration::ZERO);
    let webhook = create_webhook(&app, json!({"url": receiver.url("/runs"), "event_types": ["*"]})).await;
    let sent = events(&app, 120).await;
    // Its first poll is its only one within the test: it must deliver everything, in rounds.
    let replica = worker(&app, sleeping());
    wait_for(&app, &webhook, all_settled(120)).await;
    replica.stop().await;
    assert_eq!(event_ids(&receiver), sent, "each event once, in feed order");
}

#[tokio::test]
async fn a_failed_attempt_holds_back_the_later_deliveries_of_its_webhook() {
    let app = spawn_app_with_webhooks(sleeping()).await;
    let receiver = Receiver::start(vec![200, 500, 503], Duration::ZERO);
    let webhook = create_webhook(&app, json!({"url": receiver.url("/runs"), "event_types": ["*"]})).await;
    let sent = events(&app, 5).await;
    let replica = worker(&app, fast(50, 1000, 5));
    let settled = wait_for(&app, &webhook, all_settled(5)).await;
    replica.stop().await;
    let mut expected = sent.clone();
    expected.insert(1, sent[1].clone());
    expected.insert(1, sent[1].clone());
    assert_eq!(
        event_ids(&receiver),
        expected,
        "the second event three times, then the rest"
    );
    let second = settled.iter().find(|d| d["event_id"] == sent[1].as_str()).unwrap();
    assert_eq!(second["attempt_count"], 3);
}

#[tokio::test]
async fn a_replica_killed_mid_attempt_leaves_the_attempt_in_the_log() {
    let app = spawn_app_with_webhooks(sleeping()).await;
    // The first request is never answered in time; the rest at once.
    let receiver = Receiver::scripted(vec![], vec![Duration::from_secs(60)], Duration::ZERO);
    let webhook = create_webhook(&app, json!({"url": receiver.url("/kill"), "event_types": ["*"]})).await;
    let sent = events(&app, 3).await;
    // Replica A: the real server, with a 2 s request timeout (a lease of 9 s)...
    let (mut replica_a, _, up) = serve_on(
        &app.db,
        &[
            ("WEBHOOK_POLL_INTERVAL_MS", "50"),
            ("WEBHOOK_TIMEOUT_MS", "2000"),
            ("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
            ("RUST_LOG", "warn"),
        ],
    )
    .await;
    assert!(up, "replica A came up");
    // ... is killed while its first attempt waits for the receiver. (The attempt is logged when
    // claimed, just before the request goes out: wait for both.)
    let in_flight = wait_for(&app, &webhook, |items| {
        !receiver.received().is_empty()
            && items
                .iter()
                .any(|d| d["attempts"].as_array().is_some_and(|a| !a.is_empty()))
    })
    .await;
    assert_eq!(receiver.received().len(), 1, "{in_flight:#?}");
    let first = in_flight.iter().find(|d| d["event_id"] == sent[0].as_str()).unwrap();
    let attempt = &first["attempts"][0];
    assert_eq!(
        (
            attempt["attempt"].clone(),
            attempt["duration_ms"].clone(),
            attempt["status_code"].clone(),
            attempt["error"].clone()
        ),
        (json!(1), Value::Null, Value::Null, Value::Null),
        "the attempt under way is in the log: {first:#}"
    );
    replica_a.kill().unwrap();
    replica_a.wait().unwrap();

    // Replica B takes over once A's lease has run out.
    let replica_b = worker(&app, fast(50, 1000, 5));
    let settled = wait_for(&app, &webhook, all_settled(3)).await;
    replica_b.stop().await;
    let first = settled.iter().find(|d| d["event_id"] == sent[0].as_str()).unwrap();
    assert_eq!(first["status"], "delivered");
    let attempts = first["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{first:#}");
    assert_eq!(
        (attempts[0]["error"].clone(), attempts[0]["duration_ms"].clone()),
        (json!("abandoned"), Value::Null)
    );
    assert_eq!(attempts[1]["status_code"], 200);
    let mut expected = vec![sent[0].clone()];
    expected.extend(sent.iter().cloned());
    assert_eq!(
        event_ids(&receiver),
        expected,
        "the first event again, then the rest in order"
    );
}

#[tokio::test]
async fn a_pending_delivery_is_not_redelivered_again() {
    let app = spawn_app_with_webhooks(sleeping()).await;
    let receiver = Receiver::start(vec![500], Duration::ZERO);
    let webhook = create_webhook(&app, json!({"url": receiver.url("/again"), "event_types": ["*"]})).await;
    events(&app, 1).await;
    // One attempt allowed: the 500 fails the delivery for good.
    let replica = worker(&app, fast(20, 1000, 1));
    let failed = wait_for(&app, &webhook, all_settled(1)).await;
    replica.stop().await;
    assert_eq!(failed[0]["status"], "failed");
    let again = format!(
        "{}/deliveries/{}/redeliver",
        path_of(&webhook),
        failed[0]["id"].as_str().unwrap()
    );
    let pending = json_with(app.post(&again, &app.admin(), &json!({})).await, StatusCode::OK).await;
    assert_eq!(pending["status"], "pending");
    // No worker runs now: it stays pending, and a second request is a conflict.
    problem(app.post(&again, &app.admin(), &json!({})).await, StatusCode::CONFLICT).await;
    let replica = worker(&app, fast(20, 1000, 1));
    let delivered = wait_for(&app, &webhook, all_settled(1)).await;
    replica.stop().await;
    assert_eq!(delivered[0]["status"], "delivered");
    assert_eq!(receiver.received().len(), 2, "the failed attempt and the redelivery");
}

#[tokio::test]
async fn a_batching_webhook_gets_consecutive_events_together_in_order() {
    let app = spawn_app_with_webhooks(sleeping()).await;
    // The first POST fails: all of its events are retried together.
    let receiver = Receiver::start(vec![500], Duration::ZERO);
    let webhook = create_webhook(
        &app,
        json!({"url": receiver.url("/batches"), "event_types": ["*"], "batch_size": 10}),
    )
    .await;
    assert_eq!(webhook["batch_size"], 10);
    let sent = events(&app, 25).await;
    let replica = worker(&app, fast(20, 1000, 3));
    let settled = wait_for(&app, &webhook, all_settled(25)).await;
    replica.stop().await;

    let posts: Vec<Vec<String>> = receiver
        .received()
        .iter()
        .map(|r| {
            let events = r.json()["events"].as_array().unwrap().clone();
            assert_eq!(r.headers["x-salesfunnel-event-count"], events.len().to_string());
            assert_eq!(r.headers["x-salesfunnel-event-id"], events[0]["id"].as_str().unwrap());
            events.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
        })
        .collect();
    assert!(posts.iter().all(|p| !p.is_empty() && p.len() <= 10), "{posts:?}");
    assert_eq!(posts[1], posts[0], "the failed POST again, whole");
    let delivered: Vec<String> = posts[1..].concat();
    assert_eq!(delivered, sent, "every event once after the retry, in order");
    let retried = settled.iter().filter(|d| d["attempt_count"] == 2).count();
    assert_eq!(
        retried,
        posts[0].len(),
        "the events of the failed POST took two attempts"
    );
    assert!(settled.iter().all(|d| d["status"] == "delivered"));

    // 1 to 100; a PATCH changes it.
    let path = path_of(&webhook);
    for wrong in [0, 101] {
        let refused = problem(
            app.patch(&path, &app.admin(), &json!({"batch_size": wrong})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(crate::helpers::error_fields(&refused), ["batch_size"]);
    }
    let single = json_with(
        app.patch(&path, &app.admin(), &json!({"batch_size": 1})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(single["batch_size"], 1);
}
