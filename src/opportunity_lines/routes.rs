//! `/opportunities/{id}/lines`: articles and quantities of an opportunity. Any change updates
//! the opportunity's `target_value` (and its version) in the same transaction; lines of a
//! closed opportunity are read-only (409).

use super::view::Line;
use crate::access::Visibility;
use crate::db::Conn;
use crate::ids::{OpportunityId, OpportunityLineId};
use crate::lines::handlers;
use crate::lines::{LinePatch, NewLineRequest};
use actix_web::web::Path;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};
use futures_util::future::BoxFuture;

use super::store::{self, LineRow};
use crate::access::Actor;
use crate::access::Principal;
use crate::db::Db;
use crate::error::AppError;
use crate::http::IfMatch;
use crate::http::idempotency::IdempotencyKey;
use crate::http::json::JsonBody;
use crate::http::pagination::{Page, PageParams, PageRequest, Paged};
use crate::lines::content::{LineChanges, NewLine};
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

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
    db: Db,
    who: Principal,
    id: Path<OpportunityId>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    handlers::list::<Opportunity>(&db, &who, id.into_inner(), &page).await
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
async fn get_line(
    db: Db,
    who: Principal,
    path: Path<(OpportunityId, OpportunityLineId)>,
) -> Result<HttpResponse, AppError> {
    handlers::get::<Opportunity>(&db, &who, path.into_inner()).await
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
    db: Db,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    id: Path<OpportunityId>,
    body: JsonBody<NewLineRequest>,
) -> Result<HttpResponse, AppError> {
    handlers::create::<Opportunity>(&db, &who, &req, key, id.into_inner(), body).await
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
    db: Db,
    who: Principal,
    path: Path<(OpportunityId, OpportunityLineId)>,
    if_match: IfMatch,
    body: JsonBody<LinePatch>,
) -> Result<HttpResponse, AppError> {
    handlers::update::<Opportunity>(&db, &who, path.into_inner(), if_match, body).await
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
    db: Db,
    who: Principal,
    path: Path<(OpportunityId, OpportunityLineId)>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    handlers::delete::<Opportunity>(&db, &who, path.into_inner(), if_match).await
}

/// Registers the line routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_lines)
        .service(get_line)
        .service(create_line)
        .service(update_line)
        .service(delete_line);
}

/// Opportunity lines, as the shared handlers read and write them.
pub enum Opportunity {}

impl handlers::Parent for Opportunity {
    type Id = OpportunityId;
    type LineId = OpportunityLineId;
    type Row = LineRow;
    type Line = Line;

    fn page<'c>(
        conn: &'c mut Conn,
        who: Visibility,
        parent: OpportunityId,
        page: &'c Page,
    ) -> BoxFuture<'c, Result<Vec<LineRow>, AppError>> {
        Box::pin(store::list(conn, who, parent, page))
    }
    fn position(row: &LineRow) -> (String, Self::LineId) {
        (row.position.to_string(), row.id)
    }
    fn find(
        conn: &mut Conn,
        who: Visibility,
        parent: OpportunityId,
        line: OpportunityLineId,
    ) -> BoxFuture<'_, Result<LineRow, AppError>> {
        Box::pin(store::find(conn, who, parent, line))
    }
    fn add<'c>(
        conn: &'c mut Conn,
        actor: &'c Actor,
        parent: OpportunityId,
        new: NewLine,
    ) -> BoxFuture<'c, Result<LineRow, AppError>> {
        Box::pin(store::insert(conn, actor, parent, new))
    }
    fn update<'c>(
        conn: &'c mut Conn,
        actor: &'c Actor,
        (parent, line): (OpportunityId, OpportunityLineId),
        if_match: &'c IfMatch,
        changes: LineChanges,
    ) -> BoxFuture<'c, Result<LineRow, AppError>> {
        Box::pin(store::update(conn, actor, parent, line, if_match, changes))
    }
    fn delete<'c>(
        conn: &'c mut Conn,
        actor: &'c Actor,
        (parent, line): (OpportunityId, OpportunityLineId),
        if_match: &'c IfMatch,
    ) -> BoxFuture<'c, Result<(), AppError>> {
        Box::pin(store::delete(conn, actor, parent, line, if_match))
    }
}
