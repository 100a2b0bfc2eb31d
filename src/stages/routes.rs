//! `/stages`: sales stages with name, icon, probability and outcome. Admins write; everyone
//! reads.

use actix_web::web::{Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::Utc;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::changes;
use super::store::{self, StageChanges, StageFilter, StageRow};
use super::view::Stage;
use crate::access::{Principal, Role};
use crate::db::Db;
use crate::domain::money::Percent;
use crate::domain::pipeline::{self, Outcome};
use crate::error::{AppError, field_errors};
use crate::http::idempotency::{self, IdempotencyKey, Scope};
use crate::http::json::JsonBody;
use crate::http::pagination::{KeyKind, Page, PageParams, PageRequest, Paged, SortKey};
use crate::http::{IfMatch, ok, patch as merge};
use crate::ids::StageId;
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

/// A new stage. `probability` is required for open stages; won (100) and lost (0) stages may
/// omit it.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "PROBEFAHRT", "name": "Probefahrt", "icon": "car", "probability": 40, "outcome": "open"}))]
pub struct NewStageRequest {
    #[validate(length(min = 1, max = 40), custom(function = "code_chars"))]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,40}$")]
    pub code: String,
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub icon: Option<String>,
    pub probability: Option<Percent>,
    pub outcome: Outcome,
    #[serde(default)]
    pub requires_lines: bool,
    #[schema(minimum = 1, maximum = 3650)]
    pub warn_after_days: Option<i32>,
    #[schema(minimum = 1, maximum = 3650)]
    pub critical_after_days: Option<i32>,
    #[serde(default = "crate::http::default_true")]
    pub active: bool,
}

/// Changes to a stage (JSON merge patch). A stage that a funnel uses keeps its outcome and
/// stays active (409).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"probability": 45, "icon": null}))]
pub struct StagePatch {
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(length(min = 1, max = 40), custom(function = "code_chars"))]
    #[schema(nullable = false, pattern = "^[A-Za-z0-9_-]{1,40}$")]
    pub code: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 64))]
    #[schema(max_length = 64)]
    pub icon: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub probability: Option<Percent>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub outcome: Option<Outcome>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub requires_lines: Option<bool>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[schema(minimum = 1, maximum = 3650)]
    pub warn_after_days: Option<Option<i32>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[schema(minimum = 1, maximum = 3650)]
    pub critical_after_days: Option<Option<i32>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

fn code_chars(value: &str) -> Result<(), validator::ValidationError> {
    if value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        Ok(())
    } else {
        Err(validator::ValidationError::new("code").with_message("letters, digits, _ and - only".into()))
    }
}

/// Filters of the stage list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StageQuery {
    pub active: Option<bool>,
    pub outcome: Option<Outcome>,
    /// Case-insensitive substring of code or name.
    pub q: Option<String>,
}

const BY_NAME: SortKey = SortKey {
    name: "name",
    column: "name",
    descending: false,
    kind: KeyKind::Text,
};

/// Lists stages, ordered by name.
#[utoipa::path(
    tag = "stages",
    params(StageQuery, PageParams),
    responses((status = 200, description = "One page of stages", body = Paged<Stage>)),
    security(("bearer" = []))
)]
#[get("/stages")]
async fn list_stages(
    db: Db,
    who: Principal,
    query: Query<StageQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let page = Page::new(&page, BY_NAME)?;
    let query = query.into_inner();
    let filter = StageFilter {
        active: query.active,
        outcome: query.outcome,
        q: query.q,
    };
    let rows = store::list(&mut *db.connection().await?, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(page.finish(rows, |row| (row.name.clone(), row.id)).map(Stage::from)))
}

/// Gets one stage.
#[utoipa::path(
    tag = "stages",
    params(("id" = Uuid, Path, description = "Stage id")),
    responses(
        (status = 200, description = "The stage", body = Stage, headers(("ETag" = String, description = "Current version"))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/stages/{id}")]
async fn get_stage(db: Db, who: Principal, id: Path<StageId>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let row = store::find(&mut *db.connection().await?, id.into_inner()).await?;
    Ok(ok(&Stage::from(row)))
}

/// Creates a stage (admin).
#[utoipa::path(
    tag = "stages",
    request_body = NewStageRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created", body = Stage,
            headers(("Location" = String, description = "URL of the new stage"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/stages")]
async fn create_stage(
    db: Db,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<NewStageRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let r = body.parse()?;
    let mut errors = pipeline::thresholds(r.warn_after_days, r.critical_after_days);
    let probability = pipeline::stage_probability(r.outcome, r.probability)
        .map_err(|e| errors.push(e))
        .ok();
    let Some(probability) = probability.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(field_errors(errors)));
    };
    let now = Utc::now();
    let row = StageRow {
        id: StageId::generate(),
        code: r.code,
        name: r.name.trim().to_owned(),
        icon: r.icon,
        probability,
        outcome: r.outcome,
        requires_lines: r.requires_lines,
        warn_after_days: r.warn_after_days,
        critical_after_days: r.critical_after_days,
        active: r.active,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let actor = who.subject.clone();
    idempotency::create(&db, Scope::of(&who, &req), key, &body.raw, move |conn| {
        Box::pin(async move { changes::insert(conn, &actor, &row).await.map(Stage::from) })
    })
    .await
}

/// Changes a stage (admin); honours `If-Match`.
#[utoipa::path(
    tag = "stages",
    params(("id" = Uuid, Path, description = "Stage id"), IfMatch),
    request_body(content = StagePatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = Stage, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/stages/{id}")]
async fn update_stage(
    db: Db,
    who: Principal,
    id: Path<StageId>,
    if_match: IfMatch,
    body: JsonBody<StagePatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let p = body.parse()?;
    let changes = StageChanges {
        code: p.code,
        name: p.name.map(|n| n.trim().to_owned()),
        icon: p.icon,
        probability: p.probability,
        outcome: p.outcome,
        requires_lines: p.requires_lines,
        warn_after_days: p.warn_after_days,
        critical_after_days: p.critical_after_days,
        active: p.active,
    };
    let row = changes::update(
        &mut *db.connection().await?,
        &who.subject,
        id.into_inner(),
        &if_match,
        changes,
    )
    .await?;
    Ok(ok(&Stage::from(row)))
}

/// Deletes a stage no funnel uses (admin); otherwise 409 — deactivate it instead.
#[utoipa::path(
    tag = "stages",
    params(("id" = Uuid, Path, description = "Stage id"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[delete("/stages/{id}")]
async fn delete_stage(db: Db, who: Principal, id: Path<StageId>, if_match: IfMatch) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    changes::delete(&mut *db.connection().await?, &who.subject, id.into_inner(), &if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the stage routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_stages)
        .service(get_stage)
        .service(create_stage)
        .service(update_stage)
        .service(delete_stage);
}
