//! The line handlers of every parent (an opportunity, a quote): roles, body parsing, the
//! idempotent create, the answer. A parent says how its lines are read and written
//! ([`Parent`]); its routes file declares the paths and documents them.

use actix_web::{HttpRequest, HttpResponse};
use futures_util::future::BoxFuture;
use serde::Serialize;
use uuid::Uuid;

use super::{BY_POSITION, LinePatch, NewLineRequest};
use crate::access::{Actor, Visibility};
use crate::access::{Principal, Role};
use crate::db::{Conn, Db};
use crate::error::AppError;
use crate::http::idempotency::{self, IdempotencyKey, Scope};
use crate::http::json::JsonBody;
use crate::http::pagination::{Page, PageRequest};
use crate::http::{IfMatch, Resource, ok};
use crate::lines::content::{LineChanges, NewLine};

/// What has lines, and how they are read and written (in its store).
pub trait Parent {
    /// The parent's id and the id of its lines (typed, from the path).
    type Id: Copy + Send + 'static;
    type LineId: Copy + Send + Into<Uuid> + 'static;
    type Row: Send + 'static;
    /// The line as the API shows it.
    type Line: From<Self::Row> + Resource + Serialize + Send + 'static;

    fn page<'c>(
        conn: &'c mut Conn,
        who: Visibility,
        parent: Self::Id,
        page: &'c Page,
    ) -> BoxFuture<'c, Result<Vec<Self::Row>, AppError>>;
    /// The row's position and id, for the page's cursor.
    fn position(row: &Self::Row) -> (String, Self::LineId);
    fn find(
        conn: &mut Conn,
        who: Visibility,
        parent: Self::Id,
        line: Self::LineId,
    ) -> BoxFuture<'_, Result<Self::Row, AppError>>;
    fn add<'c>(
        conn: &'c mut Conn,
        actor: &'c Actor,
        parent: Self::Id,
        new: NewLine,
    ) -> BoxFuture<'c, Result<Self::Row, AppError>>;
    fn update<'c>(
        conn: &'c mut Conn,
        actor: &'c Actor,
        ids: (Self::Id, Self::LineId),
        if_match: &'c IfMatch,
        changes: LineChanges,
    ) -> BoxFuture<'c, Result<Self::Row, AppError>>;
    fn delete<'c>(
        conn: &'c mut Conn,
        actor: &'c Actor,
        ids: (Self::Id, Self::LineId),
        if_match: &'c IfMatch,
    ) -> BoxFuture<'c, Result<(), AppError>>;
}

/// One page of a parent's lines by position.
pub async fn list<P: Parent>(
    db: &Db,
    who: &Principal,
    parent: P::Id,
    page: &PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let page = Page::new(page, BY_POSITION)?;
    let rows = P::page(&mut *db.connection().await?, who.read_scope(), parent, &page).await?;
    Ok(HttpResponse::Ok().json(page.finish(rows, P::position).map(P::Line::from)))
}

/// One line.
pub async fn get<P: Parent>(
    db: &Db,
    who: &Principal,
    (parent, line): (P::Id, P::LineId),
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let row = P::find(&mut *db.connection().await?, who.read_scope(), parent, line).await?;
    Ok(ok(&P::Line::from(row)))
}

/// Adds a line (idempotent with `Idempotency-Key`).
pub async fn create<P: Parent>(
    db: &Db,
    who: &Principal,
    req: &HttpRequest,
    key: IdempotencyKey,
    parent: P::Id,
    body: JsonBody<NewLineRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let new = NewLine::from(body.parse()?);
    let by = Actor::of(who)?;
    idempotency::create(db, Scope::of(who, req), key, &body.raw, move |conn| {
        Box::pin(async move { P::add(conn, &by, parent, new).await.map(P::Line::from) })
    })
    .await
}

/// Changes a line (JSON merge patch), honouring `If-Match`.
pub async fn update<P: Parent>(
    db: &Db,
    who: &Principal,
    ids: (P::Id, P::LineId),
    if_match: IfMatch,
    body: JsonBody<LinePatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let changes = LineChanges::from(body.parse()?);
    let row = P::update(&mut *db.connection().await?, &Actor::of(who)?, ids, &if_match, changes).await?;
    Ok(ok(&P::Line::from(row)))
}

/// Deletes a line, honouring `If-Match`.
pub async fn delete<P: Parent>(
    db: &Db,
    who: &Principal,
    ids: (P::Id, P::LineId),
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    P::delete(&mut *db.connection().await?, &Actor::of(who)?, ids, &if_match).await?;
    Ok(HttpResponse::NoContent().finish())
}
