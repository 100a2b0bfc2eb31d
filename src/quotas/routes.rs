//! `/quotas`: targets per rep or manager, or per funnel team, per month or quarter. Admins and
//! managers write; everyone reads, except that a rep reads only the quotas set for them.

use actix_web::web::{Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::Utc;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::changes::{self, QuotaChanges};
use super::store::{self, QuotaFilter, QuotaRow};
use super::view::Quota;
use crate::access::{Principal, Role};
use crate::db::Db;
use crate::domain::quota::{Measure, Period, Target, TargetInput};
use crate::error::AppError;
use crate::http::idempotency::{self, IdempotencyKey, Scope};
use crate::http::json::JsonBody;
use crate::http::pagination::{KeyKind, Page, PageParams, PageRequest, Paged, SortKey};
use crate::http::{IfMatch, ok, patch as merge};
use crate::ids::{ArticleId, FunnelId, QuotaId, UserId};
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

/// `validator` check of a period: a month `2027-01` or a quarter `2027-Q1`.
fn period_rule(text: &str) -> Result<(), validator::ValidationError> {
    text.parse::<Period>()
        .map(|_| ())
        .map_err(|v| validator::ValidationError::new("period").with_message(v.message.into()))
}

/// A new quota: for an owner or a funnel, not both.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "owner_id": "01930000-0000-7000-8000-000000000004", "period": "2027-Q2",
    "measure": "won_value", "target": "180000"
}))]
pub struct NewQuotaRequest {
    /// A rep or manager (active); give this or `funnel_id`.
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<UserId>,
    /// A funnel (active), for its team; give this or `owner_id`.
    #[schema(value_type = Option<Uuid>)]
    pub funnel_id: Option<FunnelId>,
    /// A month (`2027-01`) or a quarter (`2027-Q1`).
    #[validate(custom(function = "period_rule"))]
    #[schema(pattern = "^[0-9]{4}-(0[1-9]|1[0-2]|Q[1-4])$", example = "2027-Q2")]
    pub period: String,
    pub measure: Measure,
    /// The article whose won quantity counts: required for `won_quantity`, not allowed otherwise.
    #[schema(value_type = Option<Uuid>)]
    pub article_id: Option<ArticleId>,
    /// For `won_value` in the home currency with at most two decimals; a whole number for
    /// `won_count`; at most three decimals for `won_quantity`.
    #[schema(value_type = TargetInput)]
    pub target: Target,
}

/// Changes to a quota (JSON merge patch); the result must still be for an owner or a funnel.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"target": "200000"}))]
pub struct QuotaPatch {
    #[serde(default, deserialize_with = "merge::nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<Option<UserId>>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub funnel_id: Option<Option<FunnelId>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(custom(function = "period_rule"))]
    #[schema(nullable = false, pattern = "^[0-9]{4}-(0[1-9]|1[0-2]|Q[1-4])$")]
    pub period: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub measure: Option<Measure>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub article_id: Option<Option<ArticleId>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, value_type = Option<TargetInput>)]
    pub target: Option<Target>,
}

/// Filters of the quota list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuotaQuery {
    #[param(value_type = Option<Uuid>)]
    pub owner_id: Option<UserId>,
    #[param(value_type = Option<Uuid>)]
    pub funnel_id: Option<FunnelId>,
    /// A month (`2027-01`) or a quarter (`2027-Q1`).
    #[param(example = "2027-Q1")]
    pub period: Option<String>,
}

const BY_PERIOD: SortKey = SortKey {
    name: "period",
    column: "period",
    descending: false,
    kind: KeyKind::Text,
};

/// Lists quotas by period; a rep sees only their own.
#[utoipa::path(
    tag = "quotas",
    params(QuotaQuery, PageParams),
    responses((status = 200, description = "One page of quotas", body = Paged<Quota>)),
    security(("bearer" = []))
)]
#[get("/quotas")]
async fn list_quotas(
    db: Db,
    who: Principal,
    query: Query<QuotaQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let query = query.into_inner();
    let page = Page::new(&page, BY_PERIOD)?;
    let filter = QuotaFilter {
        owner_id: query.owner_id,
        funnel_id: query.funnel_id,
        period: query.period,
        fence: who.quota_owner(),
    };
    let rows = store::list(&mut *db.connection().await?, &filter, &page).await?;
    Ok(HttpResponse::Ok().json(page.finish(rows, |row| (row.period.clone(), row.id)).map(Quota::from)))
}

/// Gets one quota (a rep: only their own, else 404).
#[utoipa::path(
    tag = "quotas",
    params(("id" = Uuid, Path, description = "Quota id", example = "01930000-0000-7000-8000-0000000002bd")),
    responses(
        (status = 200, description = "The quota", body = Quota, headers(("ETag" = String, description = "Current version"))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/quotas/{id}")]
async fn get_quota(db: Db, who: Principal, id: Path<QuotaId>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let row = store::find(&mut *db.connection().await?, id.into_inner(), who.quota_owner()).await?;
    Ok(ok(&Quota::from(row)))
}

/// Creates a quota (admin, manager); the same owner or funnel, period, measure and article
/// twice is a 409.
#[utoipa::path(
    tag = "quotas",
    request_body = NewQuotaRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created", body = Quota,
            headers(("Location" = String, description = "URL of the new quota"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/quotas")]
async fn create_quota(
    db: Db,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<NewQuotaRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_quotas)?;
    let r = body.parse()?;
    let now = Utc::now();
    let row = QuotaRow {
        id: QuotaId::generate(),
        owner_id: r.owner_id,
        funnel_id: r.funnel_id,
        period: r.period,
        measure: r.measure,
        article_id: r.article_id,
        target: r.target,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let actor = who.subject.clone();
    idempotency::create(&db, Scope::of(&who, &req), key, &body.raw, move |conn| {
        Box::pin(async move { changes::insert(conn, &actor, &row).await.map(Quota::from) })
    })
    .await
}

/// Changes a quota (admin, manager); honours `If-Match`.
#[utoipa::path(
    tag = "quotas",
    params(("id" = Uuid, Path, description = "Quota id"), IfMatch),
    request_body(content = QuotaPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = Quota, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/quotas/{id}")]
async fn update_quota(
    db: Db,
    who: Principal,
    id: Path<QuotaId>,
    if_match: IfMatch,
    body: JsonBody<QuotaPatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_quotas)?;
    let p = body.parse()?;
    let changes = QuotaChanges {
        owner_id: p.owner_id,
        funnel_id: p.funnel_id,
        period: p.period,
        measure: p.measure,
        article_id: p.article_id,
        target: p.target,
    };
    let row = changes::update(
        &mut *db.connection().await?,
        &who.subject,
        id.into_inner(),
        &if_match,
        changes,
    )
    .await?;
    Ok(ok(&Quota::from(row)))
}

/// Deletes a quota (admin, manager).
#[utoipa::path(
    tag = "quotas",
    params(("id" = Uuid, Path, description = "Quota id"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[delete("/quotas/{id}")]
async fn delete_quota(db: Db, who: Principal, id: Path<QuotaId>, if_match: IfMatch) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_quotas)?;
    changes::delete(&mut *db.connection().await?, &who.subject, id.into_inner(), &if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the quota routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_quotas)
        .service(get_quota)
        .service(create_quota)
        .service(update_quota)
        .service(delete_quota);
}
