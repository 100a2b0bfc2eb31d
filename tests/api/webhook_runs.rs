//! Delivery in runs: a webhook's deliveries go out one after the other as fast as the receiver
//! answers (not one per poll), in order, a failure holding back the later ones; and a replica
//! killed mid-attempt leaves that attempt in the delivery log.

use std::time::Duration;

use salesfunnel::config::WebhookSettings;
use serde_json::{Value, json};

use crate::cli::serve_on;
use crate::helpers::{TestApp, spawn_app_with_webhooks};
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
    // ... is killed while its first attempt waits for the receiver.
    let in_flight = wait_for(&app, &webhook, |items| {
        items
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
