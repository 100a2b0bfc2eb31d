//! The delivery queue of the worker: claiming deliveries (a webhook's next one, one webhook at a
//! time, in `seq` order) and recording what became of each attempt.
//!
//! An attempt is in the log from the moment it is claimed (`duration_ms` null while it runs),
//! so a replica that dies mid-attempt still leaves it there: when its lease runs out and the
//! delivery is claimed again, the unfinished attempt is marked `abandoned`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Double, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::Conn;
use crate::error::AppError;

/// The error class of an attempt whose worker stopped before it could record a result.
pub const ABANDONED: &str = "abandoned";

/// A delivery claimed for one attempt, with everything needed to make it.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    pub delivery_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub webhook_id: Uuid,
    /// The number of this attempt (1 for the first).
    #[diesel(sql_type = Integer)]
    pub attempt: i32,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Text)]
    pub secret: String,
    /// The webhook's events per POST.
    #[diesel(sql_type = Integer)]
    pub batch_size: i32,
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = SqlUuid)]
    pub event_id: Uuid,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Timestamptz)]
    pub occurred_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub subject_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub actor: Option<String>,
    #[diesel(sql_type = Jsonb)]
    pub data: serde_json::Value,
}

/// What the claim does with the deliveries `due` picked: counts the attempt, moves
/// `next_attempt_at` a lease ($2 seconds) ahead so no other worker finds them due while this
/// one makes the request, marks an earlier attempt that never got a result as abandoned,
/// enters the new attempt in the log, and returns what the request needs.
const CLAIM: &str = "
     claimed AS (
         UPDATE webhook_deliveries d
         SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => $2), updated_at = now()
         FROM due WHERE d.id = due.id
         RETURNING d.id, d.webhook_id, d.event_id, d.attempts
     ), abandoned AS (
         UPDATE webhook_delivery_attempts a SET error = 'abandoned'
         FROM claimed c
         WHERE a.delivery_id = c.id AND a.attempt < c.attempts AND a.duration_ms IS NULL AND a.error IS NULL
     ), started AS (
         INSERT INTO webhook_delivery_attempts (delivery_id, attempt, started_at)
         SELECT id, attempts, now() FROM claimed
     )
     SELECT c.id AS delivery_id, c.webhook_id, c.attempts AS attempt, w.url, w.secret, w.batch_size, e.seq,
            e.id AS event_id, e.type AS event_type, e.occurred_at, e.subject_id, e.actor, e.data
     FROM claimed c JOIN webhooks w ON w.id = c.webhook_id JOIN events e ON e.id = c.event_id
     ORDER BY e.seq";

/// Claims the next due delivery of up to `limit` webhooks in one short statement: the first
/// pending delivery (by `seq`) of each active webhook, when it is due, locked with `FOR UPDATE
/// SKIP LOCKED` (rows another worker is claiming are passed over). A webhook has at most one
/// delivery under way: a later one is only due once every earlier one is settled.
pub async fn claim(conn: &mut Conn, limit: i64, lease: Duration) -> Result<Vec<Claimed>, AppError> {
    Ok(diesel::sql_query(format!(
        "WITH due AS (
             SELECT d.id
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND w.active
               AND NOT EXISTS (
                   SELECT 1 FROM webhook_deliveries p
                   WHERE p.webhook_id = d.webhook_id AND p.status = 'pending' AND p.event_seq < d.event_seq)
             ORDER BY d.next_attempt_at, d.event_seq
             LIMIT $1
             FOR UPDATE OF d SKIP LOCKED
         ), {CLAIM}"
    ))
    .bind::<BigInt, _>(limit)
    .bind::<Double, _>(lease.as_secs_f64())
    .load(conn)
    .await?)
}

/// Claims the next delivery of `webhook` if it is due: the rest of a run, right after the
/// previous delivery of the run was settled.
pub async fn claim_next(conn: &mut Conn, webhook: Uuid, lease: Duration) -> Result<Option<Claimed>, AppError> {
    Ok(diesel::sql_query(format!(
        "WITH head AS (
             SELECT id FROM webhook_deliveries
             WHERE webhook_id = $3 AND status = 'pending'
             ORDER BY event_seq
             LIMIT $1
         ), due AS (
             -- The head itself or nothing: skipping a locked head would overtake it.
             SELECT d.id
             FROM webhook_deliveries d JOIN head ON head.id = d.id JOIN webhooks w ON w.id = d.webhook_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND w.active
             FOR UPDATE OF d SKIP LOCKED
         ), {CLAIM}"
    ))
    .bind::<BigInt, _>(1)
    .bind::<Double, _>(lease.as_secs_f64())
    .bind::<SqlUuid, _>(webhook)
    .load(conn)
    .await?
    .pop())
}

/// Claims up to `limit` pending deliveries of `webhook` that follow its delivery `after` (a
/// head this worker holds), in `seq` order: what goes into the same POST of a batching webhook.
/// They ride along with their head even before their own retry time (one POST either way). No
/// other worker claims them meanwhile: they are not heads.
pub async fn claim_followers(
    conn: &mut Conn,
    webhook: Uuid,
    after: i64,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Claimed>, AppError> {
    Ok(diesel::sql_query(format!(
        "WITH due AS (
             SELECT id FROM webhook_deliveries
             WHERE webhook_id = $3 AND status = 'pending' AND event_seq > $4
             ORDER BY event_seq
             LIMIT $1
             FOR UPDATE
         ), {CLAIM}"
    ))
    .bind::<BigInt, _>(limit)
    .bind::<Double, _>(lease.as_secs_f64())
    .bind::<SqlUuid, _>(webhook)
    .bind::<BigInt, _>(after)
    .load(conn)
    .await?)
}

/// What became of one attempt.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<i32>,
    /// Why there was no answer, or which status was not a success.
    pub error: Option<String>,
}

impl Outcome {
    /// A 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|code| (200..300).contains(&code))
    }
}

/// What to do with a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    Delivered,
    /// Try again after this long.
    Retry(Duration),
    /// Given up.
    Failed,
}

#[derive(QueryableByName)]
struct Settled {
    #[diesel(sql_type = BigInt)]
    settled: i64,
}

/// Records an attempt's result in the log and settles or reschedules its delivery, in one
/// statement. The delivery is left alone (returns `false`) when it has moved on meanwhile —
/// deleted with its webhook, or claimed again after the lease ran out — so it is settled only
/// once; the attempt's result is logged all the same.
pub async fn record(conn: &mut Conn, claimed: &Claimed, outcome: &Outcome, next: Next) -> Result<bool, AppError> {
    let (status, delay) = match next {
        Next::Delivered => ("delivered", None),
        Next::Retry(delay) => ("pending", Some(delay.as_secs_f64())),
        Next::Failed => ("failed", None),
    };
    let settled = diesel::sql_query(
        "WITH settled AS (
             UPDATE webhook_deliveries
             SET status = $3,
                 next_attempt_at = CASE WHEN $3 = 'pending' THEN now() + make_interval(secs => $4) END,
                 last_status_code = $5, last_error = $6, updated_at = now()
             WHERE id = $1 AND attempts = $2 AND status = 'pending'
             RETURNING id
         ), logged AS (
             UPDATE webhook_delivery_attempts
             SET started_at = $7, duration_ms = $8, status_code = $5, error = $6
             WHERE delivery_id = $1 AND attempt = $2
         )
         SELECT count(*) AS settled FROM settled",
    )
    .bind::<SqlUuid, _>(claimed.delivery_id)
    .bind::<Integer, _>(claimed.attempt)
    .bind::<Text, _>(status)
    .bind::<Nullable<Double>, _>(delay)
    .bind::<Nullable<Integer>, _>(outcome.status_code)
    .bind::<Nullable<Text>, _>(outcome.error.as_deref())
    .bind::<Timestamptz, _>(outcome.started_at)
    .bind::<Integer, _>(outcome.duration_ms)
    .get_result::<Settled>(conn)
    .await?;
    Ok(settled.settled == 1)
}
