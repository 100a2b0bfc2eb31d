//! `/opportunities/{id}/lines`: articles and quantities of an opportunity. Any change updates
//! the opportunity's `target_value` (and its version) in the same transaction; lines of a
//! closed opportunity are read-only (409).

use actix_web::web::{Data, Path};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::store::{self, LineChanges, LineRow, NewLine};
use crate::access::Actor;
use crate::auth::{Principal, Role};
use crate::db::{self, DbPool};
use crate::domain::money::{self, Money, Percent, Quantity};
use crate::error::AppError;
use crate::http::idempotency::{self, IdempotencyKey, Scope};
use crate::http::json::JsonBody;
use crate::http::pagination::{KeyKind, Page, PageParams, PageRequest, Paged, SortKey};
use crate::http::{IfMatch, Resource, ok, patch as merge};
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

/// One line of an opportunity.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f60", "opportunity_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f20",
    "position": 1, "article_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f50", "sku": "VW-ID4-PRO",
    "description": "VW ID.4 Pro", "quantity": "2", "unit": "Stk", "unit_price": "47990.00",
    "discount_percent": 5.0, "tax_rate": 19.0, "line_total": "91181.00",
    "created_at": "2026-11-02T09:15:00Z", "updated_at": "2026-11-02T09:15:00Z", "version": 1
}))]
pub struct Line {
    pub id: Uuid,
    pub opportunity_id: Uuid,
    /// 1, 2, … in the order the lines were added.
    pub position: i32,
    pub article_id: Option<Uuid>,
    pub sku: Option<String>,
    pub description: String,
    pub quantity: Quantity,
    pub unit: String,
    /// In the opportunity's currency.
    pub unit_price: Money,
    pub discount_percent: Percent,
    /// VAT percent.
    pub tax_rate: Percent,
    /// quantity × unit_price × (1 − discount_percent / 100), rounded half away from zero.
    pub line_total: Money,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Increases with every change; the ETag.
    pub version: i32,
}

impl From<LineRow> for Line {
    fn from(row: LineRow) -> Self {
        Self {
            id: row.id,
            opportunity_id: row.opportunity_id,
            position: row.position,
            article_id: row.article_id,
            sku: row.sku,
            description: row.description,
            quantity: row.quantity,
            unit: row.unit,
            unit_price: row.unit_price,
            discount_percent: row.discount_percent,
            tax_rate: row.tax_rate,
            line_total: row.line_total,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for Line {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!("/api/v1/opportunities/{}/lines/{}", self.opportunity_id, self.id)
    }
}

/// A new line: an article fills sku, description, unit, unit price and tax rate (each may be
/// given to override it); without one, description and unit_price are required.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"article_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f50", "quantity": 2, "discount_percent": 5}))]
pub struct NewLineRequest {
    pub article_id: Option<Uuid>,
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub sku: Option<String>,
    #[validate(length(max = 500), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 500)]
    pub description: Option<String>,
    pub quantity: Quantity,
    #[validate(length(max = 20), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 20, example = "Stk")]
    pub unit: Option<String>,
    #[validate(custom(function = "money::non_negative"))]
    pub unit_price: Option<Money>,
    /// Default 0.
    pub discount_percent: Option<Percent>,
    /// Default: the article's, else 19.
    pub tax_rate: Option<Percent>,
}

/// Changes to a line (JSON merge patch).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"quantity": 3, "discount_percent": 7.5}))]
pub struct LinePatch {
    #[serde(default, deserialize_with = "merge::nullable")]
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub sku: Option<Option<String>>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, min_length = 1, max_length = 500)]
    #[validate(length(max = 500), custom(function = "crate::http::not_blank"))]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub quantity: Option<Quantity>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, min_length = 1, max_length = 20)]
    #[validate(length(max = 20), custom(function = "crate::http::not_blank"))]
    pub unit: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    #[validate(custom(function = "money::non_negative"))]
    pub unit_price: Option<Money>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub discount_percent: Option<Percent>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub tax_rate: Option<Percent>,
}

impl From<NewLineRequest> for NewLine {
    fn from(r: NewLineRequest) -> Self {
        Self {
            article_id: r.article_id,
            sku: r.sku,
            description: r.description.map(|d| d.trim().to_owned()),
            quantity: r.quantity,
            unit: r.unit,
            unit_price: r.unit_price,
            discount_percent: r.discount_percent,
            tax_rate: r.tax_rate,
        }
    }
}

impl From<LinePatch> for LineChanges {
    fn from(p: LinePatch) -> Self {
        Self {
            sku: p.sku,
            description: p.description.map(|d| d.trim().to_owned()),
            quantity: p.quantity,
            unit: p.unit,
            unit_price: p.unit_price,
            discount_percent: p.discount_percent,
            tax_rate: p.tax_rate,
        }
    }
}

/// Lines in position order (opportunities and quotes).
pub const BY_POSITION: SortKey = SortKey {
    name: "position",
    column: "position",
    descending: false,
    kind: KeyKind::Integer,
};

/// Lists the lines of an opportunity by position.
#[utoipa::path(
    tag = "opportunity-lines",
    params(("id" = Uuid, Path, description = "Opportunity id"), PageParams),
    responses(
        (status = 200, description = "One page of lines", body = Paged<Line>),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/opportunities/{id}/lines")]
async fn list_lines(
    pool: Data<DbPool>,
    who: Principal,
    id: Path<Uuid>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let page = Page::new(&page, BY_POSITION)?;
    let rows = store::list(
        &mut *db::connection(&pool).await?,
        who.read_scope(),
        id.into_inner(),
        &page,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page.finish(rows, |r| (r.position.to_string(), r.id)).map(Line::from)))
}

/// Gets one line.
#[utoipa::path(
    tag = "opportunity-lines",
    params(("id" = Uuid, Path, description = "Opportunity id"), ("line_id" = Uuid, Path, description = "Line id")),
    responses(
        (status = 200, description = "The line", body = Line, headers(("ETag" = String, description = "Current version"))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/opportunities/{id}/lines/{line_id}")]
async fn get_line(pool: Data<DbPool>, who: Principal, path: Path<(Uuid, Uuid)>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let (opportunity, line) = path.into_inner();
    let row = store::find(&mut *db::connection(&pool).await?, who.read_scope(), opportunity, line).await?;
    Ok(ok(&Line::from(row)))
}

/// Adds a line to an open opportunity; its target value becomes the sum of the lines.
#[utoipa::path(
    tag = "opportunity-lines",
    params(("id" = Uuid, Path, description = "Opportunity id"), IdempotencyKey),
    request_body = NewLineRequest,
    responses(
        (status = 201, description = "Created", body = Line,
            headers(("Location" = String, description = "URL of the new line"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/opportunities/{id}/lines")]
async fn create_line(
    pool: Data<DbPool>,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    id: Path<Uuid>,
    body: JsonBody<NewLineRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let new = NewLine::from(body.parse()?);
    let (by, opportunity) = (Actor::of(&who)?, id.into_inner());
    idempotency::create(&pool, Scope::of(&who, &req), key, &body.raw, move |conn| {
        Box::pin(async move { store::insert(conn, &by, opportunity, new).await.map(Line::from) })
    })
    .await
}

/// Changes a line (JSON merge patch); honours `If-Match` against the line's version.
#[utoipa::path(
    tag = "opportunity-lines",
    params(("id" = Uuid, Path, description = "Opportunity id"), ("line_id" = Uuid, Path, description = "Line id"), IfMatch),
    request_body(content = LinePatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = Line, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/opportunities/{id}/lines/{line_id}")]
async fn update_line(
    pool: Data<DbPool>,
    who: Principal,
    path: Path<(Uuid, Uuid)>,
    if_match: IfMatch,
    body: JsonBody<LinePatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let changes = LineChanges::from(body.parse()?);
    let (opportunity, line) = path.into_inner();
    let row = store::update(
        &mut *db::connection(&pool).await?,
        &Actor::of(&who)?,
        opportunity,
        line,
        &if_match,
        changes,
    )
    .await?;
    Ok(ok(&Line::from(row)))
}

/// Deletes a line; honours `If-Match`.
#[utoipa::path(
    tag = "opportunity-lines",
    params(("id" = Uuid, Path, description = "Opportunity id"), ("line_id" = Uuid, Path, description = "Line id"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[delete("/opportunities/{id}/lines/{line_id}")]
async fn delete_line(
    pool: Data<DbPool>,
    who: Principal,
    path: Path<(Uuid, Uuid)>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let (opportunity, line) = path.into_inner();
    store::delete(
        &mut *db::connection(&pool).await?,
        &Actor::of(&who)?,
        opportunity,
        line,
        &if_match,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the line routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_lines)
        .service(get_line)
        .service(create_line)
        .service(update_line)
        .service(delete_line);
}
