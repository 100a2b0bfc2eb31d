//! Stage moves (`stage`, `win`, `lose`, `reopen`), the stage history and the ERP hand-off.

use actix_web::web::Path;
use actix_web::{HttpResponse, get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::history::{StageChangeRow, stage_changes};
use super::moves::{self, Destination, Move};
use super::view::Opportunity;
use crate::access::Actor;
use crate::access::{Principal, Role};
use crate::db::Db;
use crate::domain::money::{Money, Percent};
use crate::error::AppError;
use crate::http::json::{JsonBody, OptionalJsonBody};
use crate::http::pagination::{KeyKind, Page, PageParams, PageRequest, Paged, SortKey, time_key};
use crate::http::{IfMatch, ok};
use crate::ids::{LostReasonId, OpportunityId, StageId};
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

/// A move to another stage of the funnel; a lost stage needs `lost_reason_id`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"stage_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f31", "note": "Test drive agreed"}))]
pub struct StageMoveRequest {
    #[schema(value_type = Uuid)]
    pub stage_id: StageId,
    /// Required for a lost stage, refused for any other.
    #[schema(value_type = Option<Uuid>)]
    pub lost_reason_id: Option<LostReasonId>,
    /// Kept in the history (and as `lost_note` when lost).
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Winning: an optional note for the history.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"note": "Signed on site"}))]
pub struct WinRequest {
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Losing: why, and optionally more words.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"lost_reason_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f40", "note": "Competitor 8 % cheaper"}))]
pub struct LoseRequest {
    #[schema(value_type = Uuid)]
    pub lost_reason_id: LostReasonId,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// Reopening: the open stage to continue in.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"stage_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f31"}))]
pub struct ReopenRequest {
    #[schema(value_type = Uuid)]
    pub stage_id: StageId,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// The ERP order a won opportunity became.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"erp_reference": "SO-2026-004711"}))]
pub struct HandoffRequest {
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 100)]
    pub erp_reference: String,
}

/// One stage an opportunity entered, with the values it had then.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f50", "from_stage_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f31",
    "to_stage_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f32", "probability": 75.0, "target_value": "100000.00",
    "lost_reason_id": null, "note": "Test drive agreed", "changed_by": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f11",
    "changed_at": "2026-11-18T10:00:00Z"
}))]
pub struct StageChange {
    #[schema(value_type = Uuid)]
    pub id: OpportunityId,
    /// `null` for the stage it was created in.
    #[schema(value_type = Option<Uuid>)]
    pub from_stage_id: Option<StageId>,
    #[schema(value_type = Uuid)]
    pub to_stage_id: StageId,
    /// Probability right after the change.
    pub probability: Percent,
    /// Target value at the change.
    pub target_value: Money,
    #[schema(value_type = Option<Uuid>)]
    pub lost_reason_id: Option<LostReasonId>,
    pub note: Option<String>,
    /// The subject of the token that made the change.
    pub changed_by: Option<String>,
    pub changed_at: DateTime<Utc>,
}

impl From<StageChangeRow> for StageChange {
    fn from(row: StageChangeRow) -> Self {
        Self {
            id: row.id,
            from_stage_id: row.from_stage_id,
            to_stage_id: row.to_stage_id,
            probability: row.probability,
            target_value: row.target_value,
            lost_reason_id: row.lost_reason_id,
            note: row.note,
            changed_by: row.changed_by,
            changed_at: row.changed_at,
        }
    }
}

/// Runs a move of an open opportunity and answers 200 with it.
async fn run_move(
    db: &Db,
    who: &Principal,
    id: OpportunityId,
    if_match: &IfMatch,
    m: Move,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let record = moves::move_to(&mut *db.connection().await?, &Actor::of(who)?, id, if_match, m).await?;
    Ok(ok(&Opportunity::from(record)))
}

/// Moves an open opportunity to another stage of its funnel (closing it in a won or lost
/// stage); moving to its current stage changes nothing.
#[utoipa::path(
    tag = "opportunities",
    params(("id" = Uuid, Path, description = "Opportunity id"), IfMatch),
    request_body = StageMoveRequest,
    responses(
        (status = 200, description = "Moved", body = Opportunity, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/opportunities/{id}/stage")]
async fn move_stage(
    db: Db,
    who: Principal,
    id: Path<OpportunityId>,
    if_match: IfMatch,
    body: JsonBody<StageMoveRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let r = body.parse()?;
    let m = Move {
        to: Destination::Stage(r.stage_id),
        lost_reason_id: r.lost_reason_id,
        note: r.note,
    };
    run_move(&db, &who, id.into_inner(), &if_match, m).await
}

/// Wins an open opportunity: moves it to its funnel's won stage (probability 100).
#[utoipa::path(
    tag = "opportunities",
    params(("id" = Uuid, Path, description = "Opportunity id"), IfMatch),
    request_body(content = Option<WinRequest>, description = "Optional"),
    responses(
        (status = 200, description = "Won", body = Opportunity, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/opportunities/{id}/win")]
async fn win(
    db: Db,
    who: Principal,
    id: Path<OpportunityId>,
    if_match: IfMatch,
    body: OptionalJsonBody<WinRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let note = body.0.map(|b| b.parse()).transpose()?.and_then(|r| r.note);
    let m = Move {
        to: Destination::Won,
        lost_reason_id: None,
        note,
    };
    run_move(&db, &who, id.into_inner(), &if_match, m).await
}

/// Loses an open opportunity: moves it to its funnel's (first) lost stage with a reason.
#[utoipa::path(
    tag = "opportunities",
    params(("id" = Uuid, Path, description = "Opportunity id"), IfMatch),
    request_body = LoseRequest,
    responses(
        (status = 200, description = "Lost", body = Opportunity, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/opportunities/{id}/lose")]
async fn lose(
    db: Db,
    who: Principal,
    id: Path<OpportunityId>,
    if_match: IfMatch,
    body: JsonBody<LoseRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let r = body.parse()?;
    let m = Move {
        to: Destination::Lost,
        lost_reason_id: Some(r.lost_reason_id),
        note: r.note,
    };
    run_move(&db, &who, id.into_inner(), &if_match, m).await
}

/// Reopens a won or lost opportunity into an open stage; 409 when open or handed to the ERP.
#[utoipa::path(
    tag = "opportunities",
    params(("id" = Uuid, Path, description = "Opportunity id"), IfMatch),
    request_body = ReopenRequest,
    responses(
        (status = 200, description = "Reopened", body = Opportunity, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/opportunities/{id}/reopen")]
async fn reopen(
    db: Db,
    who: Principal,
    id: Path<OpportunityId>,
    if_match: IfMatch,
    body: JsonBody<ReopenRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let r = body.parse()?;
    let record = moves::reopen(
        &mut *db.connection().await?,
        &Actor::of(&who)?,
        id.into_inner(),
        &if_match,
        r.stage_id,
        r.note,
    )
    .await?;
    Ok(ok(&Opportunity::from(record)))
}

/// The history's order: when the opportunity entered the stage, then the entry's id.
const BY_CHANGE: SortKey = SortKey {
    name: "changed_at",
    column: "opportunity_stage_changes.changed_at",
    descending: false,
    kind: KeyKind::Timestamp,
};

/// Lists every stage the opportunity entered, oldest first, from its creation on, a page at
/// a time like every list.
#[utoipa::path(
    tag = "opportunities",
    params(("id" = Uuid, Path, description = "Opportunity id"), PageParams),
    responses(
        (status = 200, description = "One page of the stage history", body = Paged<StageChange>),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/opportunities/{id}/history")]
async fn history(db: Db, who: Principal, id: Path<OpportunityId>, page: PageRequest) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let page = Page::new(&page, BY_CHANGE)?.tie_breaker("opportunity_stage_changes.id");
    let rows = stage_changes(&mut *db.connection().await?, who.read_scope(), id.into_inner(), &page).await?;
    Ok(HttpResponse::Ok().json(
        page.finish(rows, |row| (time_key(&row.changed_at), row.id))
            .map(StageChange::from),
    ))
}

/// Records the ERP order of a won opportunity (integration). The same reference again is a
/// no-op; another reference is a 409, as is an opportunity that is not won.
#[utoipa::path(
    tag = "opportunities",
    params(("id" = Uuid, Path, description = "Opportunity id"), IfMatch),
    request_body = HandoffRequest,
    responses(
        (status = 200, description = "Handed off", body = Opportunity, headers(("ETag" = String, description = "Current version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/opportunities/{id}/erp-handoff")]
async fn erp_handoff(
    db: Db,
    who: Principal,
    id: Path<OpportunityId>,
    if_match: IfMatch,
    body: JsonBody<HandoffRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_hand_off)?;
    let r = body.parse()?;
    let record = moves::hand_off(
        &mut *db.connection().await?,
        &who.subject,
        id.into_inner(),
        &if_match,
        r.erp_reference.trim().to_owned(),
    )
    .await?;
    Ok(ok(&Opportunity::from(record)))
}

/// Registers the transition routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(move_stage)
        .service(win)
        .service(lose)
        .service(reopen)
        .service(history)
        .service(erp_handoff);
}
