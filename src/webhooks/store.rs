//! Webhooks, their deliveries and attempts in PostgreSQL, and the worker's queries: fan-out,
//! claim and record.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::{Conn, lock_version};
use crate::error::AppError;
use crate::http::IfMatch;
use crate::http::pagination::Page;
use crate::schema::{events, webhook_deliveries, webhook_delivery_attempts, webhooks};

crate::domain::text_enum! {
    /// Where a delivery stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum DeliveryStatus {
        /// Not yet answered with a 2xx; `next_attempt_at` says when it is (re)tried.
        Pending = "pending",
        /// A 2xx answer came back.
        Delivered = "delivered",
        /// Every attempt failed; no more are made.
        Failed = "failed",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks, check_for_backend(diesel::pg::Pg))]
pub struct WebhookRow {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<Option<String>>,
    pub secret: String,
    pub active: bool,
    pub description: Option<String>,
    pub last_seq: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// The writable fields; `None` leaves a field alone, `Some(None)` clears the description.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct WebhookChanges {
    pub url: Option<String>,
    pub event_types: Option<Vec<Option<String>>>,
    pub secret: Option<String>,
    pub active: Option<bool>,
    pub description: Option<Option<String>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub struct DeliveryRow {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event_seq: i64,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_delivery_attempts, check_for_backend(diesel::pg::Pg))]
pub struct AttemptRow {
    pub delivery_id: Uuid,
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
}

const WHAT: &str = "webhook";

/// Inserts a webhook whose cursor is the current end of the feed: it gets the events published
/// from now on, not the history (read that from `GET /events`).
pub async fn insert(conn: &mut Conn, row: &WebhookRow) -> Result<WebhookRow, AppError> {
    let end: Option<i64> = events::table
        .select(diesel::dsl::max(events::seq))
        .get_result(conn)
        .await?;
    let row = WebhookRow {
        last_seq: end.unwrap_or(0),
        ..row.clone()
    };
    Ok(diesel::insert_into(webhooks::table)
        .values(&row)
        .returning(WebhookRow::as_returning())
        .get_result(conn)
        .await?)
}

pub async fn find(conn: &mut Conn, id: Uuid) -> Result<WebhookRow, AppError> {
    webhooks::table
        .find(id)
        .select(WebhookRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

pub async fn list(conn: &mut Conn, active: Option<bool>, page: &Page) -> Result<Vec<WebhookRow>, AppError> {
    let mut query = webhooks::table.select(WebhookRow::as_select()).into_boxed();
    if let Some(active) = active {
        query = query.filter(webhooks::active.eq(active));
    }
    Ok(query
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load(conn)
        .await?)
}

pub async fn update(
    conn: &mut Conn,
    id: Uuid,
    if_match: &IfMatch,
    changes: &WebhookChanges,
) -> Result<WebhookRow, AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "webhooks", WHAT, &id, if_match).await?;
        Ok(diesel::update(webhooks::table.find(id))
            .set((
                changes,
                webhooks::updated_at.eq(diesel::dsl::now),
                webhooks::version.eq(webhooks::version + 1),
            ))
            .returning(WebhookRow::as_returning())
            .get_result(conn)
            .await?)
    })
    .await
}

/// Deletes a webhook with its deliveries and their attempts.
pub async fn delete(conn: &mut Conn, id: Uuid, if_match: &IfMatch) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "webhooks", WHAT, &id, if_match).await?;
        diesel::delete(webhooks::table.find(id)).execute(conn).await?;
        Ok(())
    })
    .await
}

/// One page of a webhook's deliveries with their event types, newest event first; 404 for an
/// unknown webhook.
pub async fn deliveries(
    conn: &mut Conn,
    webhook_id: Uuid,
    page: &Page,
) -> Result<Vec<(DeliveryRow, String)>, AppError> {
    find(conn, webhook_id).await?;
    Ok(webhook_deliveries::table
        .inner_join(events::table)
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .select((DeliveryRow::as_select(), events::type_))
        .load(conn)
        .await?)
}

/// Makes a settled delivery of webhook `webhook_id` due again now (the attempts go on counting);
/// 404 when there is no such delivery, 409 while it is still pending.
pub async fn redeliver(
    conn: &mut Conn,
    webhook_id: Uuid,
    delivery_id: Uuid,
) -> Result<(DeliveryRow, String), AppError> {
    let updated: Option<DeliveryRow> = diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(delivery_id))
            .filter(webhook_deliveries::webhook_id.eq(webhook_id))
            .filter(webhook_deliveries::status.ne(DeliveryStatus::Pending)),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Pending),
        webhook_deliveries::next_attempt_at.eq(Some(Utc::now())),
        webhook_deliveries::updated_at.eq(diesel::dsl::now),
    ))
    .returning(DeliveryRow::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    let Some(row) = updated else {
        let exists: bool = diesel::select(diesel::dsl::exists(
            webhook_deliveries::table
                .filter(webhook_deliveries::id.eq(delivery_id))
                .filter(webhook_deliveries::webhook_id.eq(webhook_id)),
        ))
        .get_result(conn)
        .await?;
        return Err(if exists {
            AppError::Conflict("the delivery is still pending: it will be attempted anyway".to_owned())
        } else {
            AppError::not_found("delivery", delivery_id)
        });
    };
    let event_type: String = events::table
        .find(row.event_id)
        .select(events::type_)
        .first(conn)
        .await?;
    Ok((row, event_type))
}

/// The attempts of `deliveries`, in order of delivery and attempt number.
pub async fn attempts(conn: &mut Conn, deliveries: &[Uuid]) -> Result<Vec<AttemptRow>, AppError> {
    Ok(webhook_delivery_attempts::table
        .filter(webhook_delivery_attempts::delivery_id.eq_any(deliveries.to_vec()))
        .order((
            webhook_delivery_attempts::delivery_id,
            webhook_delivery_attempts::attempt,
        ))
        .select(AttemptRow::as_select())
        .load(conn)
        .await?)
}

/// Gives numbers (`seq`) to the events whose transactions have ended; returns how many.
pub async fn publish_events(conn: &mut Conn) -> Result<i64, AppError> {
    #[derive(QueryableByName)]
    struct Published {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let published = diesel::sql_query("SELECT publish_events() AS n")
        .get_result::<Published>(conn)
        .await?;
    Ok(published.n)
}

/// In one statement (so one transaction): for each webhook behind the end of the feed that no
/// other worker is fanning out, inserts a pending delivery for every newly published event
/// that it subscribes to (none while it is inactive) and moves its cursor past them, at most
/// `batch` events per webhook. Returns the number of webhooks moved on.
pub async fn fan_out(conn: &mut Conn, batch: i64) -> Result<usize, AppError> {
    Ok(diesel::sql_query(
        "WITH top AS (
             SELECT coalesce(max(seq), 0) AS top FROM events
         ), hooks AS (
             SELECT w.id, least(top.top, w.last_seq + $1) AS upto, w.last_seq, w.event_types, w.active
             FROM webhooks w, top
             WHERE w.last_seq < top.top
             FOR UPDATE OF w SKIP LOCKED
         ), fanned AS (
             INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_seq, next_attempt_at)
             SELECT gen_uuid_v7(), h.id, e.id, e.seq, now()
             FROM hooks h JOIN events e ON e.seq > h.last_seq AND e.seq <= h.upto
             WHERE h.active AND ('*' = ANY (h.event_types) OR e.type = ANY (h.event_types))
             ORDER BY h.id, e.seq
             ON CONFLICT (webhook_id, event_id) DO NOTHING
         )
         UPDATE webhooks w SET last_seq = h.upto FROM hooks h WHERE w.id = h.id",
    )
    .bind::<BigInt, _>(batch)
    .execute(conn)
    .await?)
}

/// A delivery claimed for one attempt, with everything needed to make it.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    pub delivery_id: Uuid,
    /// The number of this attempt (1 for the first).
    #[diesel(sql_type = Integer)]
    pub attempt: i32,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Text)]
    pub secret: String,
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

/// Claims up to `limit` due deliveries of active webhooks in one short statement: locks them
/// with `FOR UPDATE SKIP LOCKED` (rows another worker is claiming are passed over), counts the
/// attempt and moves `next_attempt_at` a `lease` ahead, so no other worker finds them due
/// while this one makes the HTTP request. A delivery is only due when no earlier event of the
/// same webhook is still pending: each webhook gets its events in `seq` order, one at a time.
pub async fn claim(conn: &mut Conn, limit: i64, lease: Duration) -> Result<Vec<Claimed>, AppError> {
    Ok(diesel::sql_query(
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
         )
         UPDATE webhook_deliveries d
         SET attempts = d.attempts + 1,
             next_attempt_at = now() + make_interval(secs => $2),
             updated_at = now()
         FROM due, webhooks w, events e
         WHERE d.id = due.id AND w.id = d.webhook_id AND e.id = d.event_id
         RETURNING d.id AS delivery_id, d.attempts AS attempt, w.url, w.secret, e.seq, e.id AS event_id,
                   e.type AS event_type, e.occurred_at, e.subject_id, e.actor, e.data",
    )
    .bind::<BigInt, _>(limit)
    .bind::<Double, _>(lease.as_secs_f64())
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

/// Records an attempt and settles or reschedules its delivery, in one statement. Does nothing
/// (returns `false`) when the delivery has moved on meanwhile — deleted with its webhook, or
/// claimed again after the lease ran out — so an attempt is recorded only once.
pub async fn record(conn: &mut Conn, claimed: &Claimed, outcome: &Outcome, next: Next) -> Result<bool, AppError> {
    let (status, delay) = match next {
        Next::Delivered => ("delivered", None),
        Next::Retry(delay) => ("pending", Some(delay.as_secs_f64())),
        Next::Failed => ("failed", None),
    };
    let recorded = diesel::sql_query(
        "WITH settled AS (
             UPDATE webhook_deliveries
             SET status = $3,
                 next_attempt_at = CASE WHEN $3 = 'pending' THEN now() + make_interval(secs => $4) END,
                 last_status_code = $5, last_error = $6, updated_at = now()
             WHERE id = $1 AND attempts = $2 AND status = 'pending'
             RETURNING id
         )
         INSERT INTO webhook_delivery_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error)
         SELECT id, $2, $7, $8, $5, $6 FROM settled",
    )
    .bind::<SqlUuid, _>(claimed.delivery_id)
    .bind::<Integer, _>(claimed.attempt)
    .bind::<Text, _>(status)
    .bind::<Nullable<Double>, _>(delay)
    .bind::<Nullable<Integer>, _>(outcome.status_code)
    .bind::<Nullable<Text>, _>(outcome.error.as_deref())
    .bind::<Timestamptz, _>(outcome.started_at)
    .bind::<Integer, _>(outcome.duration_ms)
    .execute(conn)
    .await?;
    Ok(recorded == 1)
}
