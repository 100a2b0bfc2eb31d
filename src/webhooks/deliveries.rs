//! `GET /webhooks/{id}/deliveries`: what was sent to a webhook, every attempt with its result.

use std::collections::HashMap;

use actix_web::web::{Data, Path};
use actix_web::{HttpResponse, get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::store::{self, AttemptRow, DeliveryRow, DeliveryStatus};
use crate::access::{Principal, Role};
use crate::config::WebhookSettings;
use crate::db::Db;
use crate::error::AppError;
use crate::http::pagination::{KeyKind, Page, PageParams, PageRequest, Paged, SortKey};
use crate::openapi::responses::{Conflict, Forbidden, NotFound};

/// One HTTP attempt.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "attempt": 1, "started_at": "2026-11-22T09:15:00.120Z", "duration_ms": 10002, "status_code": null,
    "error": "timed out"
}))]
pub struct Attempt {
    /// 1 for the first attempt.
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    /// `null` while the attempt is under way, and for an `abandoned` one.
    pub duration_ms: Option<i32>,
    /// The receiver's HTTP status; `null` when it did not answer (see `error`).
    pub status_code: Option<i32>,
    /// Why the attempt failed, as a class: `status <code>`, `timeout`, `refused`, `dns`, `tls`,
    /// `connect`, `forbidden_target` (the target is, or now resolves to, a refused address),
    /// `request`, or `abandoned` (the worker making it stopped before it could record a result;
    /// the delivery was tried again); `null` on success and while the attempt is under way.
    pub error: Option<String>,
}

impl From<AttemptRow> for Attempt {
    fn from(row: AttemptRow) -> Self {
        Self {
            attempt: row.attempt,
            started_at: row.started_at,
            duration_ms: row.duration_ms,
            status_code: row.status_code,
            error: row.error,
        }
    }
}

/// One event sent (or to be sent) to one webhook.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f70", "event_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f71",
    "event_seq": 42, "event_type": "opportunity.won", "status": "delivered", "attempt_count": 2,
    "next_attempt_at": null, "last_status_code": 200, "last_error": null,
    "created_at": "2026-11-22T09:15:00Z", "updated_at": "2026-11-22T09:15:11Z",
    "attempts": [
        {"attempt": 1, "started_at": "2026-11-22T09:15:00.120Z", "duration_ms": 35, "status_code": 500,
         "error": "status 500"},
        {"attempt": 2, "started_at": "2026-11-22T09:15:10.180Z", "duration_ms": 28, "status_code": 200,
         "error": null}
    ]
}))]
pub struct Delivery {
    pub id: Uuid,
    pub event_id: Uuid,
    /// The event's position in the feed (`seq` of `GET /events`).
    pub event_seq: i64,
    pub event_type: String,
    pub status: DeliveryStatus,
    /// Attempts made so far (one may be under way).
    pub attempt_count: i32,
    /// When a pending delivery is tried next; `null` once delivered or failed.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every finished attempt, oldest first.
    pub attempts: Vec<Attempt>,
}

impl Delivery {
    fn new(row: DeliveryRow, event_type: String, attempts: Vec<Attempt>) -> Self {
        Self {
            id: row.id,
            event_id: row.event_id,
            event_seq: row.event_seq,
            event_type,
            status: row.status,
            attempt_count: row.attempts,
            next_attempt_at: row.next_attempt_at,
            last_status_code: row.last_status_code,
            last_error: row.last_error,
            created_at: row.created_at,
            updated_at: row.updated_at,
            attempts,
        }
    }
}

const NEWEST_FIRST: SortKey = SortKey {
    name: "-event_seq",
    column: "webhook_deliveries.event_seq",
    descending: true,
    kind: KeyKind::BigInt,
};

/// What a ping's request got.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"delivered": true, "status_code": 200, "duration_ms": 41, "error": null}))]
pub struct PingResult {
    /// The receiver answered 2xx.
    pub delivered: bool,
    /// The receiver's HTTP status; `null` when it did not answer (see `error`).
    pub status_code: Option<i32>,
    pub duration_ms: i32,
    /// Why it failed, as a class (as in the delivery log); `null` on success.
    pub error: Option<String>,
}

/// Sends a signed `ping` event to the webhook now and answers what the receiver said (admin):
/// the request is a delivery's (headers, signature, target checks), with `type` `ping` and
/// `data` `{"webhook_id", "zen"}`. Pings are not in the feed or the delivery log; an inactive
/// webhook is pinged too.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "The receiver's answer (also when it failed)", body = PingResult),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[post("/webhooks/{id}/ping")]
pub async fn ping(
    db: Db,
    settings: Data<WebhookSettings>,
    who: Principal,
    id: Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let webhook = store::find(&mut *db.connection().await?, id.into_inner()).await?;
    let outcome = super::worker::ping(&settings, webhook.id, webhook.url, webhook.secret).await?;
    Ok(HttpResponse::Ok().json(PingResult {
        delivered: outcome.succeeded(),
        status_code: outcome.status_code,
        duration_ms: outcome.duration_ms,
        error: outcome.error,
    }))
}

/// Sends a delivered or failed event to the webhook again (admin): the delivery is pending and
/// due now, its attempts go on counting, and the per-webhook order still holds (it waits while
/// an earlier event of the webhook is pending). 409 while it is pending.
#[utoipa::path(
    tag = "webhooks",
    params(
        ("id" = Uuid, Path, description = "Webhook id"),
        ("delivery_id" = Uuid, Path, description = "Delivery id (from the deliveries list)")
    ),
    responses(
        (status = 200, description = "Due again", body = Delivery),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict)
    ),
    security(("bearer" = []))
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/redeliver")]
pub async fn redeliver(db: Db, who: Principal, path: Path<(Uuid, Uuid)>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let (webhook, delivery) = path.into_inner();
    let mut conn = db.connection().await?;
    let (row, event_type) = store::redeliver(&mut conn, webhook, delivery).await?;
    let attempts = store::attempts(&mut conn, &[row.id])
        .await?
        .into_iter()
        .map(Attempt::from)
        .collect();
    Ok(HttpResponse::Ok().json(Delivery::new(row, event_type, attempts)))
}

/// Lists a webhook's deliveries with every attempt, newest event first (admin).
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Webhook id"), PageParams),
    responses(
        (status = 200, description = "One page of deliveries", body = Paged<Delivery>),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    db: Db,
    who: Principal,
    id: Path<Uuid>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let page = Page::new(&page, NEWEST_FIRST)?.tie_breaker("webhook_deliveries.id");
    let mut conn = db.connection().await?;
    let rows = store::deliveries(&mut conn, id.into_inner(), &page).await?;
    let paged = page.finish(rows, |(row, _)| (row.event_seq.to_string(), row.id));
    let ids: Vec<Uuid> = paged.items.iter().map(|(row, _)| row.id).collect();
    let mut attempts: HashMap<Uuid, Vec<Attempt>> = HashMap::new();
    for row in store::attempts(&mut conn, &ids).await? {
        attempts.entry(row.delivery_id).or_default().push(Attempt::from(row));
    }
    Ok(HttpResponse::Ok().json(paged.map(|(row, event_type)| {
        let mine = attempts.remove(&row.id).unwrap_or_default();
        Delivery::new(row, event_type, mine)
    })))
}
