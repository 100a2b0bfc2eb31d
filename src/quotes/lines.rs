//! `/quotes/{id}/lines`: the lines of a draft quote. Every change recomputes the quote's
//! totals; the primary quote's lines flow back to its opportunity in the same transaction.

use actix_web::web::Path;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post};

use super::line_changes;
use super::store::{self, QuoteLineRow};
use super::view::QuoteLine;
use crate::access::Actor;
use crate::access::Principal;
use crate::access::Visibility;
use crate::db::Conn;
use crate::db::Db;
use crate::error::AppError;
use crate::http::IfMatch;
use crate::http::idempotency::IdempotencyKey;
use crate::http::json::JsonBody;
use crate::http::pagination::{Page, PageParams, PageRequest};
use crate::ids::{QuoteId, QuoteLineId};
use crate::lines::content::{LineChanges, NewLine};
use crate::lines::handlers;
use crate::lines::{LinePatch, NewLineRequest};
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};
use futures_util::future::BoxFuture;

/// Lists a quote's lines by position.
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id"), PageParams),
    responses(
        (status = 200, description = "One page of lines", body = crate::http::pagination::Paged<QuoteLine>),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/quotes/{id}/lines")]
async fn list_quote_lines(
    db: Db,
    who: Principal,
    id: Path<QuoteId>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    handlers::list::<Quote>(&db, &who, id.into_inner(), &page).await
}

/// Gets one line of a quote.
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id"), ("line_id" = Uuid, Path, description = "Line id")),
    responses(
        (status = 200, description = "The line", body = QuoteLine, headers(("ETag" = String, description = "Current version"))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/quotes/{id}/lines/{line_id}")]
async fn get_quote_line(db: Db, who: Principal, path: Path<(QuoteId, QuoteLineId)>) -> Result<HttpResponse, AppError> {
    handlers::get::<Quote>(&db, &who, path.into_inner()).await
}

/// Adds a line to a draft quote (an article fills it, as on opportunities).
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id"), IdempotencyKey),
    request_body = NewLineRequest,
    responses(
        (status = 201, description = "Created", body = QuoteLine,
            headers(("Location" = String, description = "URL of the new line"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/quotes/{id}/lines")]
async fn create_quote_line(
    db: Db,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    id: Path<QuoteId>,
    body: JsonBody<NewLineRequest>,
) -> Result<HttpResponse, AppError> {
    handlers::create::<Quote>(&db, &who, &req, key, id.into_inner(), body).await
}

/// Changes a line of a draft quote (JSON merge patch); honours `If-Match` on the line.
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id"), ("line_id" = Uuid, Path, description = "Line id"), IfMatch),
    request_body(content = LinePatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = QuoteLine, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/quotes/{id}/lines/{line_id}")]
async fn update_quote_line(
    db: Db,
    who: Principal,
    path: Path<(QuoteId, QuoteLineId)>,
    if_match: IfMatch,
    body: JsonBody<LinePatch>,
) -> Result<HttpResponse, AppError> {
    handlers::update::<Quote>(&db, &who, path.into_inner(), if_match, body).await
}

/// Deletes a line of a draft quote; its last line stays (409).
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id"), ("line_id" = Uuid, Path, description = "Line id"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[delete("/quotes/{id}/lines/{line_id}")]
async fn delete_quote_line(
    db: Db,
    who: Principal,
    path: Path<(QuoteId, QuoteLineId)>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    handlers::delete::<Quote>(&db, &who, path.into_inner(), if_match).await
}

/// Registers the quote line routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_quote_lines)
        .service(get_quote_line)
        .service(create_quote_line)
        .service(update_quote_line)
        .service(delete_quote_line);
}

/// Quote lines, as the shared handlers read and write them.
pub enum Quote {}

impl handlers::Parent for Quote {
    type Id = QuoteId;
    type LineId = QuoteLineId;
    type Row = QuoteLineRow;
    type Line = QuoteLine;

    fn page<'c>(
        conn: &'c mut Conn,
        who: Visibility,
        parent: QuoteId,
        page: &'c Page,
    ) -> BoxFuture<'c, Result<Vec<QuoteLineRow>, AppError>> {
        Box::pin(store::page_of_lines(conn, who, parent, page))
    }
    fn position(row: &QuoteLineRow) -> (String, Self::LineId) {
        (row.position.to_string(), row.id)
    }
    fn find(
        conn: &mut Conn,
        who: Visibility,
        parent: QuoteId,
        line: QuoteLineId,
    ) -> BoxFuture<'_, Result<QuoteLineRow, AppError>> {
        Box::pin(store::find_line(conn, who, parent, line))
    }
    fn add<'c>(
        conn: &'c mut Conn,
        actor: &'c Actor,
        parent: QuoteId,
        new: NewLine,
    ) -> BoxFuture<'c, Result<QuoteLineRow, AppError>> {
        Box::pin(line_changes::add_line(conn, actor, parent, new))
    }
    fn update<'c>(
        conn: &'c mut Conn,
        actor: &'c Actor,
        (parent, line): (QuoteId, QuoteLineId),
        if_match: &'c IfMatch,
        changes: LineChanges,
    ) -> BoxFuture<'c, Result<QuoteLineRow, AppError>> {
        Box::pin(line_changes::update_line(conn, actor, parent, line, if_match, changes))
    }
    fn delete<'c>(
        conn: &'c mut Conn,
        actor: &'c Actor,
        (parent, line): (QuoteId, QuoteLineId),
        if_match: &'c IfMatch,
    ) -> BoxFuture<'c, Result<(), AppError>> {
        Box::pin(line_changes::delete_line(conn, actor, parent, line, if_match))
    }
}
