//! The delivery worker: a tokio task per server that, every poll interval and then round after
//! round while there is work, publishes ended transactions' events, fans them out to the
//! webhooks, and delivers: one run per webhook with a due delivery (the runs concurrently),
//! each run POSTing that webhook's deliveries one after the other in `seq` order, the next as
//! soon as the previous one was answered and recorded. No transaction is open while an HTTP
//! request runs: claims and results are short statements of their own (see `queue.rs`).

use std::error::Error as _;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use prometheus::{IntCounterVec, Opts};
use reqwest::header::CONTENT_TYPE;
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::queue::{self, Claimed, Next, Outcome};
use super::store;
use super::target::{self, CheckedResolver};
use super::{LEGACY_SIGNATURE_HEADER, SIGNATURE_HEADER};
use crate::config::WebhookSettings;
use crate::db::{self, DbPool};
use crate::error::AppError;

/// Webhooks whose runs are claimed at once; the runs go on concurrently.
const CLAIM_BATCH: i64 = 32;
/// How long one run of a webhook's deliveries goes on before the worker publishes and fans out
/// again (and other webhooks get their turn).
const RUN_LIMIT: Duration = Duration::from_secs(1);
/// Events fanned out per webhook and tick at most.
const FAN_OUT_BATCH: i64 = 1000;

/// The running worker; dropping it stops the task too.
pub struct Worker {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Worker {
    /// Asks the worker to stop and waits until it has: deliveries in flight are finished and
    /// recorded first.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Delivery attempts by outcome (`delivered`, `retry`, `failed`), in this process.
pub static DELIVERIES: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    IntCounterVec::new(
        Opts::new("webhook_deliveries_total", "Webhook delivery attempts by outcome").namespace("salesfunnel"),
        &["outcome"],
    )
    .ok()
});

/// Starts the worker on the runtime this is called from.
pub fn spawn(pool: DbPool, settings: WebhookSettings) -> Result<Worker, String> {
    let client = client(&settings)?;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run(pool, client, settings, stopped));
    Ok(Worker { stop, task })
}

/// The HTTP client of deliveries: no redirects, names resolved only to allowed addresses.
pub fn client(settings: &WebhookSettings) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        // Names resolve only to allowed addresses; literal ones are checked in `attempt`.
        .dns_resolver(
            CheckedResolver {
                allow_private: settings.allow_private_targets,
            }
            .shared(),
        )
        .user_agent(concat!("salesfunnel-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))
}

/// Sends a `ping` event to `url`, signed with `secret`, now, as a delivery would be sent (the
/// same checks of the target, headers and signature); not in the feed, not in the log.
pub async fn ping(
    settings: &WebhookSettings,
    webhook_id: Uuid,
    url: String,
    secret: String,
) -> Result<Outcome, AppError> {
    let client = client(settings).map_err(AppError::Internal)?;
    let now = Utc::now();
    let claimed = Claimed {
        delivery_id: Uuid::nil(),
        webhook_id,
        attempt: 1,
        url,
        secret,
        batch_size: 1,
        seq: 0,
        event_id: Uuid::now_v7(),
        event_type: "ping".to_owned(),
        occurred_at: now,
        subject_id: webhook_id.to_string(),
        actor: None,
        data: serde_json::json!({ "webhook_id": webhook_id, "zen": "Ein Angebot ist erst fertig, wenn der Kunde es hat." }),
    };
    Ok(attempt(&client, std::slice::from_ref(&claimed), settings.allow_private_targets).await)
}

async fn run(pool: DbPool, client: reqwest::Client, settings: WebhookSettings, mut stopped: watch::Receiver<bool>) {
    let mut interval = tokio::time::interval(settings.poll_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = interval.tick() => {}
        }
        // Round after round while there is work, then wait for the next tick.
        loop {
            match round(&pool, &client, &settings).await {
                Ok(0) => break,
                Ok(_) if *stopped.borrow() => return,
                Ok(_) => {}
                Err(e) => {
                    log::warn!("webhook worker: {e}");
                    break;
                }
            }
        }
    }
}

/// One round of work: publish, fan out, then a run for each webhook with a due delivery, the
/// runs concurrently. Answers how many attempts were made.
async fn round(pool: &DbPool, client: &reqwest::Client, settings: &WebhookSettings) -> Result<usize, AppError> {
    let claimed = {
        let mut conn = db::connection(pool).await?;
        store::publish_events(&mut conn).await?;
        store::fan_out(&mut conn, FAN_OUT_BATCH).await?;
        queue::claim(&mut conn, CLAIM_BATCH, settings.lease()).await?
    };
    let runs = join_all(
        claimed
            .into_iter()
            .map(|first| deliver_run(pool, client, settings, first)),
    )
    .await;
    let mut attempts = 0;
    for run in runs {
        match run {
            Ok(made) => attempts += made,
            Err(e) => log::warn!("webhook worker: {e}"),
        }
    }
    Ok(attempts)
}

/// Delivers `first` (with the deliveries that follow it, for a batching webhook), then the same
/// webhook's next deliveries one POST after the other, each as soon as the previous one was
/// answered with a 2xx and recorded, for up to [`RUN_LIMIT`]: as fast as the receiver answers,
/// in `seq` order. A failed attempt ends the run; the webhook's later deliveries wait for its
/// retry. Answers how many attempts (POSTs) were made.
async fn deliver_run(
    pool: &DbPool,
    client: &reqwest::Client,
    settings: &WebhookSettings,
    first: Claimed,
) -> Result<usize, AppError> {
    let started = Instant::now();
    let mut head = first;
    let mut attempts = 0;
    loop {
        let mut group = vec![head];
        if group[0].batch_size > 1 {
            let more = i64::from(group[0].batch_size - 1);
            let (webhook, after) = (group[0].webhook_id, group[0].seq);
            let followers = queue::claim_followers(
                &mut *db::connection(pool).await?,
                webhook,
                after,
                more,
                settings.lease(),
            )
            .await?;
            group.extend(followers);
        }
        let outcome = attempt(client, &group, settings.allow_private_targets).await;
        attempts += 1;
        if let Some(error) = &outcome.error {
            log::warn!(
                "webhook delivery {} (event {}, attempt {}, {} event(s)) failed: {error}",
                group[0].delivery_id,
                group[0].seq,
                group[0].attempt,
                group.len()
            );
        }
        let mut conn = db::connection(pool).await?;
        let mut go_on = true;
        for claimed in &group {
            let next = next_step(&outcome, claimed.attempt, settings);
            if let Some(deliveries) = DELIVERIES.as_ref() {
                deliveries.with_label_values(&[outcome_label(next)]).inc();
            }
            if !queue::record(&mut conn, claimed, &outcome, next).await? {
                log::info!(
                    "webhook delivery {} changed during attempt {}; its result is logged, the delivery left alone",
                    claimed.delivery_id,
                    claimed.attempt
                );
                go_on = false;
            }
            go_on &= next == Next::Delivered;
        }
        if !go_on || started.elapsed() >= RUN_LIMIT {
            return Ok(attempts);
        }
        match queue::claim_next(&mut conn, group[0].webhook_id, settings.lease()).await? {
            Some(claimed) => head = claimed,
            None => return Ok(attempts),
        }
    }
}

/// The `outcome` label of [`DELIVERIES`].
fn outcome_label(next: Next) -> &'static str {
    match next {
        Next::Delivered => "delivered",
        Next::Retry(_) => "retry",
        Next::Failed => "failed",
    }
}

/// Delivered on a 2xx; otherwise retried after the backoff until the attempts are used up.
fn next_step(outcome: &Outcome, attempt: i32, settings: &WebhookSettings) -> Next {
    let made = u32::try_from(attempt).unwrap_or(u32::MAX);
    if outcome.succeeded() {
        Next::Delivered
    } else if made >= settings.max_attempts {
        Next::Failed
    } else {
        Next::Retry(settings.retry_delay(made))
    }
}

/// The body of a webhook request: the event as `GET /events` serves it (or a batch of them).
#[derive(Debug, Serialize)]
struct EventBody<'a> {
    seq: i64,
    id: Uuid,
    #[serde(rename = "type")]
    event_type: &'a str,
    occurred_at: DateTime<Utc>,
    subject_id: &'a str,
    actor: Option<&'a str>,
    data: &'a serde_json::Value,
}

impl<'a> From<&'a Claimed> for EventBody<'a> {
    fn from(claimed: &'a Claimed) -> Self {
        Self {
            seq: claimed.seq,
            id: claimed.event_id,
            event_type: &claimed.event_type,
            occurred_at: claimed.occurred_at,
            subject_id: &claimed.subject_id,
            actor: claimed.actor.as_deref(),
            data: &claimed.data,
        }
    }
}

/// The body of a batching webhook's request.
#[derive(Debug, Serialize)]
struct BatchBody<'a> {
    events: Vec<EventBody<'a>>,
}

/// The exact bytes POSTed for claimed deliveries of one webhook: the event alone, or
/// `{"events": [...]}` for a webhook with a `batch_size` above 1.
fn body(group: &[Claimed]) -> Result<Vec<u8>, serde_json::Error> {
    match group {
        [single] if single.batch_size == 1 => serde_json::to_vec(&EventBody::from(single)),
        _ => serde_json::to_vec(&BatchBody {
            events: group.iter().map(EventBody::from).collect(),
        }),
    }
}

/// Makes one HTTP attempt for `group` (one webhook's consecutive deliveries, at least one);
/// never fails, the outcome says what happened.
async fn attempt(client: &reqwest::Client, group: &[Claimed], allow_private: bool) -> Outcome {
    let Some(claimed) = group.first() else {
        return Outcome {
            started_at: Utc::now(),
            duration_ms: 0,
            status_code: None,
            error: Some("request".to_owned()),
        };
    };
    let started_at = Utc::now();
    let started = Instant::now();
    // Literal addresses never reach the resolver: check them here (the rules may have changed
    // since the URL was saved).
    let literal = reqwest::Url::parse(&claimed.url)
        .map_err(|_| "invalid_url".to_owned())
        .and_then(|url| target::check_syntax(&claimed.url, &url, allow_private).map_err(|_| FORBIDDEN.to_owned()));
    let result = match (literal, body(group)) {
        (Err(refused), _) => Err(refused),
        (Ok(()), Err(e)) => Err(format!("cannot serialise the event: {e}")),
        (Ok(()), Ok(body)) => client
            .post(&claimed.url)
            .header(CONTENT_TYPE, "application/json")
            .header(
                SIGNATURE_HEADER,
                super::timestamped_signature(claimed.secret.as_bytes(), Utc::now().timestamp(), &body),
            )
            .header(
                LEGACY_SIGNATURE_HEADER,
                super::signature(claimed.secret.as_bytes(), &body),
            )
            .header("X-Salesfunnel-Event", &claimed.event_type)
            .header("X-Salesfunnel-Event-Id", claimed.event_id.to_string())
            .header("X-Salesfunnel-Delivery", claimed.delivery_id.to_string())
            .header("X-Salesfunnel-Attempt", claimed.attempt.to_string())
            .header("X-Salesfunnel-Event-Count", group.len().to_string())
            .body(body)
            .send()
            .await
            .map_err(|e| describe(&e)),
    };
    let duration_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    match result {
        Ok(response) => {
            let status = response.status();
            Outcome {
                started_at,
                duration_ms,
                status_code: Some(i32::from(status.as_u16())),
                error: (!status.is_success()).then(|| format!("status {}", status.as_u16())),
            }
        }
        Err(error) => Outcome {
            started_at,
            duration_ms,
            status_code: None,
            error: Some(error),
        },
    }
}

/// The error class of a failed attempt recorded for a refused target.
const FORBIDDEN: &str = "forbidden_target";

/// The class of a failed request: `timeout`, `forbidden_target`, `dns`, `refused`, `tls`,
/// `connect` or `request`. Never the operating system's text, which would tell a caller which
/// ports of which hosts answer.
fn describe(error: &reqwest::Error) -> String {
    let mut causes = std::iter::successors(error.source(), |cause: &&(dyn std::error::Error + 'static)| {
        (*cause).source()
    });
    let refusal = causes.clone().find_map(|cause| cause.downcast_ref::<target::Refusal>());
    let class = match refusal {
        _ if error.is_timeout() => "timeout",
        Some(target::Refusal::Unresolvable) => "dns",
        Some(_) => FORBIDDEN,
        None if causes.clone().any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        }) =>
        {
            "refused"
        }
        None if causes.any(|cause| {
            let text = cause.to_string().to_ascii_lowercase();
            text.contains("certificate") || text.contains("tls") || text.contains("handshake")
        }) =>
        {
            "tls"
        }
        None if error.is_connect() => "connect",
        None => "request",
    };
    class.to_owned()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn outcome(status_code: Option<i32>) -> Outcome {
        Outcome {
            started_at: Utc::now(),
            duration_ms: 1,
            status_code,
            error: None,
        }
    }

    #[test]
    fn success_delivers_failure_retries_with_backoff_then_gives_up() {
        let settings = WebhookSettings::default();
        assert_eq!(next_step(&outcome(Some(204)), 1, &settings), Next::Delivered);
        assert_eq!(
            next_step(&outcome(Some(500)), 1, &settings),
            Next::Retry(Duration::from_secs(10))
        );
        assert_eq!(
            next_step(&outcome(None), 3, &settings),
            Next::Retry(Duration::from_secs(40))
        );
        assert_eq!(next_step(&outcome(Some(302)), 10, &settings), Next::Failed);
    }
}
