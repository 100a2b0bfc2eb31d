//! `/funnels`: ordered stages, a sales team, traffic-light thresholds and a metric formula.
//! Admins write; everyone reads.

use actix_web::web::{Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::Utc;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::changes;
use super::store::{self, FunnelChanges, FunnelFilter, FunnelRecord, FunnelRow};
use super::view::Funnel;
use crate::access::{Principal, Role};
use crate::db::Db;
use crate::error::AppError;
use crate::http::idempotency::{self, IdempotencyKey, Scope};
use crate::http::json::JsonBody;
use crate::http::pagination::{KeyKind, Page, PageParams, PageRequest, Paged, SortKey};
use crate::http::{IfMatch, ok, patch as merge};
use crate::ids::{FunnelId, StageId, UserId};
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

fn seven() -> i32 {
    7
}
fn fourteen() -> i32 {
    14
}

/// A new funnel.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Neuwagen", "stage_ids": ["0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f20", "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f21",
        "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f22"],
    "team_ids": ["0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f11"], "metric_label": "Umsatzpotenzial",
    "metric_formula": "if(days_since_contact > 14, 0, weighted_value)"
}))]
pub struct NewFunnelRequest {
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[validate(length(min = 1, max = 50))]
    #[schema(min_items = 1, max_items = 50)]
    #[schema(value_type = Vec<Uuid>)]
    pub stage_ids: Vec<StageId>,
    #[serde(default)]
    #[validate(length(max = 500))]
    #[schema(max_items = 500)]
    #[schema(value_type = Vec<Uuid>)]
    pub team_ids: Vec<UserId>,
    #[serde(default = "seven")]
    #[schema(minimum = 1, maximum = 3650, default = 7)]
    pub warn_after_days: i32,
    #[serde(default = "fourteen")]
    #[schema(minimum = 1, maximum = 3650, default = 14)]
    pub critical_after_days: i32,
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 100)]
    pub metric_label: Option<String>,
    #[validate(length(max = 1000), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 1000)]
    pub metric_formula: Option<String>,
    /// A planned activity due within the warn days keeps a red opportunity yellow.
    #[serde(default)]
    pub planned_followup_keeps_yellow: bool,
    #[serde(default = "crate::http::default_true")]
    pub active: bool,
}

/// Changes to a funnel (JSON merge patch); `stage_ids` and `team_ids` replace the lists.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"critical_after_days": 21, "metric_formula": "round(weighted_value / 1000, 1)"}))]
pub struct FunnelPatch {
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(length(min = 1, max = 50))]
    #[schema(nullable = false, min_items = 1, max_items = 50)]
    #[schema(value_type = Option<Vec<Uuid>>)]
    pub stage_ids: Option<Vec<StageId>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(length(max = 500))]
    #[schema(nullable = false, max_items = 500)]
    #[schema(value_type = Option<Vec<Uuid>>)]
    pub team_ids: Option<Vec<UserId>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, minimum = 1, maximum = 3650)]
    pub warn_after_days: Option<i32>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, minimum = 1, maximum = 3650)]
    pub critical_after_days: Option<i32>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 100), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 100)]
    pub metric_label: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(max = 1000), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 1000)]
    pub metric_formula: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub planned_followup_keeps_yellow: Option<bool>,
}

/// Filters of the funnel list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FunnelQuery {
    pub active: Option<bool>,
    /// Case-insensitive substring of the name.
    pub q: Option<String>,
    /// Only funnels whose team includes this user.
    #[param(value_type = Option<Uuid>)]
    pub member_id: Option<UserId>,
}

const BY_NAME: SortKey = SortKey {
    name: "name",
    column: "name",
    descending: false,
    kind: KeyKind::Text,
};

/// Lists funnels, ordered by name.
#[utoipa::path(
    tag = "funnels",
    params(FunnelQuery, PageParams),
    responses((status = 200, description = "One page of funnels", body = Paged<Funnel>)),
    security(("bearer" = []))
)]
#[get("/funnels")]
async fn list_funnels(
    db: Db,
    who: Principal,
    query: Query<FunnelQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let page = Page::new(&page, BY_NAME)?;
    let query = query.into_inner();
    let filter = FunnelFilter {
        active: query.active,
        q: query.q,
        member_id: query.member_id,
    };
    let records = store::list(&mut *db.connection().await?, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(
        page.finish(records, |r| (r.row.name.clone(), r.row.id))
            .map(Funnel::from),
    ))
}

/// Gets one funnel.
#[utoipa::path(
    tag = "funnels",
    params(("id" = Uuid, Path, description = "Funnel id")),
    responses(
        (status = 200, description = "The funnel", body = Funnel, headers(("ETag" = String, description = "Current version"))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/funnels/{id}")]
async fn get_funnel(db: Db, who: Principal, id: Path<FunnelId>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let record = store::find(&mut *db.connection().await?, id.into_inner()).await?;
    Ok(ok(&Funnel::from(record)))
}

/// Creates a funnel (admin).
#[utoipa::path(
    tag = "funnels",
    request_body = NewFunnelRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created", body = Funnel,
            headers(("Location" = String, description = "URL of the new funnel"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/funnels")]
async fn create_funnel(
    db: Db,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<NewFunnelRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let r = body.parse()?;
    let now = Utc::now();
    let record = FunnelRecord {
        row: FunnelRow {
            id: FunnelId::generate(),
            name: r.name.trim().to_owned(),
            description: r.description,
            warn_after_days: r.warn_after_days,
            critical_after_days: r.critical_after_days,
            metric_label: r.metric_label,
            metric_formula: r.metric_formula,
            active: r.active,
            created_at: now,
            updated_at: now,
            version: 1,
            planned_followup_keeps_yellow: r.planned_followup_keeps_yellow,
        },
        stage_ids: r.stage_ids,
        team_ids: r.team_ids,
    };
    let actor = who.subject.clone();
    idempotency::create(&db, Scope::of(&who, &req), key, &body.raw, move |conn| {
        Box::pin(async move { changes::insert(conn, &actor, record).await.map(Funnel::from) })
    })
    .await
}

/// Changes a funnel (admin); honours `If-Match`.
#[utoipa::path(
    tag = "funnels",
    params(("id" = Uuid, Path, description = "Funnel id"), IfMatch),
    request_body(content = FunnelPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = Funnel, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/funnels/{id}")]
async fn update_funnel(
    db: Db,
    who: Principal,
    id: Path<FunnelId>,
    if_match: IfMatch,
    body: JsonBody<FunnelPatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let p = body.parse()?;
    let changes = FunnelChanges {
        name: p.name.map(|n| n.trim().to_owned()),
        description: p.description,
        stage_ids: p.stage_ids,
        team_ids: p.team_ids,
        warn_after_days: p.warn_after_days,
        critical_after_days: p.critical_after_days,
        metric_label: p.metric_label,
        metric_formula: p.metric_formula,
        active: p.active,
        planned_followup_keeps_yellow: p.planned_followup_keeps_yellow,
    };
    let record = changes::update(
        &mut *db.connection().await?,
        &who.subject,
        id.into_inner(),
        &if_match,
        changes,
    )
    .await?;
    Ok(ok(&Funnel::from(record)))
}

/// Deletes a funnel no class or opportunity refers to (admin); otherwise 409.
#[utoipa::path(
    tag = "funnels",
    params(("id" = Uuid, Path, description = "Funnel id"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[delete("/funnels/{id}")]
async fn delete_funnel(
    db: Db,
    who: Principal,
    id: Path<FunnelId>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    changes::delete(&mut *db.connection().await?, &who.subject, id.into_inner(), &if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the funnel routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_funnels)
        .service(get_funnel)
        .service(create_funnel)
        .service(update_funnel)
        .service(delete_funnel);
}
