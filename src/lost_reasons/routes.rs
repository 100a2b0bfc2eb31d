//! `/lost-reasons`: why opportunities are lost. Admins write; everyone reads.

use actix_web::web::{Path, Query};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use chrono::Utc;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::changes;
use super::store::{self, LostReasonChanges, LostReasonRow};
use super::view::LostReason;
use crate::access::{Principal, Role};
use crate::db::Db;
use crate::error::AppError;
use crate::http::idempotency::{self, IdempotencyKey, Scope};
use crate::http::json::JsonBody;
use crate::http::pagination::{KeyKind, Page, PageParams, PageRequest, Paged, SortKey};
use crate::http::{IfMatch, ok, patch as merge};
use crate::ids::LostReasonId;
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

/// A new lost reason.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"label": "Preis zu hoch"}))]
pub struct NewLostReasonRequest {
    #[validate(length(max = 200), custom(function = "crate::http::not_blank"))]
    #[schema(min_length = 1, max_length = 200)]
    pub label: String,
    #[serde(default = "crate::http::default_true")]
    pub active: bool,
}

/// Changes to a lost reason (JSON merge patch).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"active": false}))]
pub struct LostReasonPatch {
    #[serde(default, deserialize_with = "merge::present")]
    #[validate(length(max = 200), custom(function = "crate::http::not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 200)]
    pub label: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// Filters of the lost reason list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LostReasonQuery {
    pub active: Option<bool>,
    /// Case-insensitive substring of the label.
    pub q: Option<String>,
}

const BY_LABEL: SortKey = SortKey {
    name: "label",
    column: "label",
    descending: false,
    kind: KeyKind::Text,
};

/// Lists lost reasons, ordered by label.
#[utoipa::path(
    tag = "lost-reasons",
    params(LostReasonQuery, PageParams),
    responses((status = 200, description = "One page of lost reasons", body = Paged<LostReason>)),
    security(("bearer" = []))
)]
#[get("/lost-reasons")]
async fn list_lost_reasons(
    db: Db,
    who: Principal,
    query: Query<LostReasonQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let page = Page::new(&page, BY_LABEL)?;
    let rows = store::list(&mut *db.connection().await?, query.active, query.q.as_deref(), &page).await?;
    Ok(HttpResponse::Ok().json(
        page.finish(rows, |row| (row.label.clone(), row.id))
            .map(LostReason::from),
    ))
}

/// Gets one lost reason.
#[utoipa::path(
    tag = "lost-reasons",
    params(("id" = Uuid, Path, description = "Lost reason id")),
    responses(
        (status = 200, description = "The lost reason", body = LostReason, headers(("ETag" = String, description = "Current version"))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/lost-reasons/{id}")]
async fn get_lost_reason(db: Db, who: Principal, id: Path<LostReasonId>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let row = store::find(&mut *db.connection().await?, id.into_inner()).await?;
    Ok(ok(&LostReason::from(row)))
}

/// Creates a lost reason (admin).
#[utoipa::path(
    tag = "lost-reasons",
    request_body = NewLostReasonRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created", body = LostReason,
            headers(("Location" = String, description = "URL of the new lost reason"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/lost-reasons")]
async fn create_lost_reason(
    db: Db,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    body: JsonBody<NewLostReasonRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let r = body.parse()?;
    let now = Utc::now();
    let row = LostReasonRow {
        id: LostReasonId::generate(),
        label: r.label.trim().to_owned(),
        active: r.active,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let actor = who.subject.clone();
    idempotency::create(&db, Scope::of(&who, &req), key, &body.raw, move |conn| {
        Box::pin(async move { changes::insert(conn, &actor, &row).await.map(LostReason::from) })
    })
    .await
}

/// Changes a lost reason (admin); honours `If-Match`.
#[utoipa::path(
    tag = "lost-reasons",
    params(("id" = Uuid, Path, description = "Lost reason id"), IfMatch),
    request_body(content = LostReasonPatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = LostReason, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/lost-reasons/{id}")]
async fn update_lost_reason(
    db: Db,
    who: Principal,
    id: Path<LostReasonId>,
    if_match: IfMatch,
    body: JsonBody<LostReasonPatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    let p = body.parse()?;
    let changes = LostReasonChanges {
        label: p.label.map(|l| l.trim().to_owned()),
        active: p.active,
    };
    let row = changes::update(
        &mut *db.connection().await?,
        &who.subject,
        id.into_inner(),
        &if_match,
        &changes,
    )
    .await?;
    Ok(ok(&LostReason::from(row)))
}

/// Deletes a lost reason no opportunity refers to (admin); otherwise 409.
#[utoipa::path(
    tag = "lost-reasons",
    params(("id" = Uuid, Path, description = "Lost reason id"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[delete("/lost-reasons/{id}")]
async fn delete_lost_reason(
    db: Db,
    who: Principal,
    id: Path<LostReasonId>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_configure)?;
    changes::delete(&mut *db.connection().await?, &who.subject, id.into_inner(), &if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the lost reason routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_lost_reasons)
        .service(get_lost_reason)
        .service(create_lost_reason)
        .service(update_lost_reason)
        .service(delete_lost_reason);
}
