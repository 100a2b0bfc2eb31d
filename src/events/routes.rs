//! `GET /events`: the feed of changes for ERP and other integrations (admin, integration).

use actix_web::web::Query;
use actix_web::{HttpResponse, get};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::EventType;
use super::store::{self, EventRow};
use crate::access::{Principal, Role};
use crate::db::Db;
use crate::error::AppError;
use crate::openapi::responses::{BadRequest, Forbidden};

const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

/// A change, at its position in the feed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "seq": 1042, "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f90", "type": "opportunity.stage_changed",
    "occurred_at": "2026-11-22T10:15:00Z", "subject_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f20",
    "actor": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f11",
    "data": {
        "opportunity": {"id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f20", "number": "OPP-000042",
            "stage_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f32", "probability": 75.0, "version": 5},
        "previous": {"stage_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f31", "probability": 50.0},
        "from_stage": {"id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f31", "code": "QUALIFIED", "name": "Qualified"},
        "to_stage": {"id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f32", "code": "PROPOSAL", "name": "Proposal"}
    }
}))]
pub struct Event {
    /// Feed position: strictly increasing in the order consumers see events; poll with
    /// `after` = the last one processed.
    pub seq: i64,
    /// Unique id of the event: handle each id once (deliveries may repeat).
    pub id: Uuid,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When the change's transaction began.
    pub occurred_at: DateTime<Utc>,
    /// The id of the resource that changed, as text: a UUID, or a class's code.
    pub subject_id: String,
    /// The `sub` of the token that made the change.
    pub actor: Option<String>,
    /// The resource after the change under its name (`opportunity`, `quote`, `business_partner`,
    /// `activity`); `previous` with the changed fields' old values on updates; `from_stage` and
    /// `to_stage` (id, code, name, outcome) on stage moves; `business_partner`, `lines` and
    /// `primary_quote` on `opportunity.won`.
    #[schema(value_type = Object)]
    pub data: Value,
}

impl From<EventRow> for Event {
    fn from(row: EventRow) -> Self {
        Self {
            seq: row.seq,
            id: row.id,
            event_type: row.event_type,
            occurred_at: row.occurred_at,
            subject_id: row.subject_id,
            actor: row.actor,
            data: row.data,
        }
    }
}

/// One page of the feed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"items": [], "next_after": 1042}))]
pub struct EventPage {
    pub items: Vec<Event>,
    /// The `seq` of the last item, or the given `after` when there are none: pass it as
    /// `after` next time.
    pub next_after: i64,
}

/// Where to read the feed from.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Only events after this feed position: the last `seq` (or `next_after`) processed.
    #[param(minimum = 0, default = 0, example = 1041)]
    pub after: Option<i64>,
    /// Only events of this type.
    #[serde(rename = "type")]
    pub event_type: Option<EventType>,
    /// Events per page, 1 to 1000.
    #[param(minimum = 1, maximum = 1000, default = 100, example = 1000)]
    pub limit: Option<u32>,
}

/// Reads the event feed: changes in the order of their feed position, after `after`.
///
/// Events are in the order they were written (a change to a row that waited for another
/// change of it comes after that change's event). An event appears once its transaction has
/// committed and every transaction that wrote an event before it has ended, so a consumer
/// polling with `after` = the last `seq` it processed misses none, even when transactions
/// commit out of order; a long transaction that writes events delays the feed, it never skips.
#[utoipa::path(
    tag = "events",
    params(EventQuery),
    responses(
        (status = 200, description = "One page of events", body = EventPage),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden)
    ),
    security(("bearer" = []))
)]
#[get("/events")]
async fn list_events(db: Db, who: Principal, query: Query<EventQuery>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read_events)?;
    let query = query.into_inner();
    let after = query.after.unwrap_or(0);
    if after < 0 {
        return Err(AppError::BadRequest("after must be 0 or more".to_owned()));
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::BadRequest(format!("limit must be from 1 to {MAX_LIMIT}")));
    }
    let rows = store::list(&mut *db.connection().await?, after, query.event_type, i64::from(limit)).await?;
    let next_after = rows.last().map_or(after, |row| row.seq);
    Ok(HttpResponse::Ok().json(EventPage {
        items: rows.into_iter().map(Event::from).collect(),
        next_after,
    }))
}

/// Registers the event routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_events);
}
