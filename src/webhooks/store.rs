//! Webhooks, their deliveries and attempts in PostgreSQL, publication and fan-out (the
//! worker's claims and results are in `queue.rs`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
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
    pub batch_size: i32,
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
    pub batch_size: Option<i32>,
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
    pub duration_ms: Option<i32>,
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
