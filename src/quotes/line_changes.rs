//! The transactional commands on the lines of a draft quote: add, change, delete. Each
//! recomputes the quote's totals and writes `quote.updated`; the primary quote's lines flow
//! back to its opportunity in the same transaction.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::changes::{changed, lock_draft, shown_now};
use super::store::QuoteRow;
use super::store::quote_line;
use super::store::{MAX_LINES, QuoteLineRow};
use crate::access::Actor;
use crate::access::Visibility;
use crate::db::Conn;
use crate::error::AppError;
use crate::events::EventType;
use crate::http::IfMatch;
use crate::ids::{QuoteId, QuoteLineId};
use crate::lines::content::{LineChanges, LineContent, NewLine, complete};
use crate::schema::quote_lines as ql;

/// Adds a line to a draft quote.
pub async fn add_line(conn: &mut Conn, actor: &Actor, id: QuoteId, new: NewLine) -> Result<QuoteLineRow, AppError> {
    conn.transaction(async |conn| {
        let (_, row) = lock_draft(conn, actor.who, id, &IfMatch::default()).await?;
        let before = shown_now(conn, id).await?;
        let content = LineContent::from(complete(conn, &row.currency, new).await?);
        let (count, last): (i64, Option<i32>) = ql::table
            .filter(ql::quote_id.eq(id))
            .select((diesel::dsl::count_star(), diesel::dsl::max(ql::position)))
            .first(conn)
            .await?;
        if count >= MAX_LINES {
            return Err(AppError::Conflict(format!("a quote has at most {MAX_LINES} lines")));
        }
        let added = diesel::insert_into(ql::table)
            .values(quote_line(content, id, last.unwrap_or(0) + 1))
            .returning(QuoteLineRow::as_returning())
            .get_result(conn)
            .await?;
        changed(conn, actor, &row, &before, (EventType::QuoteUpdated, true)).await?;
        Ok(added)
    })
    .await
}

/// Locks line `line` of draft quote `id` and checks `If-Match` against the line.
async fn lock_line(
    conn: &mut Conn,
    who: Visibility,
    id: QuoteId,
    line: QuoteLineId,
    if_match: &IfMatch,
) -> Result<(QuoteRow, QuoteLineRow), AppError> {
    let (_, row) = lock_draft(conn, who, id, &IfMatch::default()).await?;
    let current: QuoteLineRow = ql::table
        .filter(ql::quote_id.eq(id))
        .filter(ql::id.eq(line))
        .select(QuoteLineRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("quote line", line))?;
    if_match.check(current.version)?;
    Ok((row, current))
}

/// Changes a line of a draft quote.
pub async fn update_line(
    conn: &mut Conn,
    actor: &Actor,
    id: QuoteId,
    line: QuoteLineId,
    if_match: &IfMatch,
    c: LineChanges,
) -> Result<QuoteLineRow, AppError> {
    conn.transaction(async |conn| {
        let (row, current) = lock_line(conn, actor.who, id, line, if_match).await?;
        let before = shown_now(conn, id).await?;
        let c = LineContent::from(&current).patched(c);
        let updated = diesel::update(ql::table.find(line))
            .set(crate::lines::content_columns!(ql, c))
            .returning(QuoteLineRow::as_returning())
            .get_result(conn)
            .await?;
        changed(conn, actor, &row, &before, (EventType::QuoteUpdated, true)).await?;
        Ok(updated)
    })
    .await
}

/// Deletes a line of a draft quote; its last line cannot go (409).
pub async fn delete_line(
    conn: &mut Conn,
    actor: &Actor,
    id: QuoteId,
    line: QuoteLineId,
    if_match: &IfMatch,
) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        let (row, _) = lock_line(conn, actor.who, id, line, if_match).await?;
        let before = shown_now(conn, id).await?;
        let count: i64 = ql::table.filter(ql::quote_id.eq(id)).count().get_result(conn).await?;
        if count <= 1 {
            return Err(AppError::Conflict(format!(
                "quote {} keeps at least one line",
                row.number
            )));
        }
        diesel::delete(ql::table.find(line)).execute(conn).await?;
        changed(conn, actor, &row, &before, (EventType::QuoteUpdated, true)).await?;
        Ok(())
    })
    .await
}
