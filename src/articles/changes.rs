//! The transactional commands on articles: each validates against the database and
//! writes its event in its transaction.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::store::{ArticleChanges, ArticleRow, WHAT, find, sku_conflict};
use super::view::Article;
use crate::db::{Conn, lock_version};
use crate::error::AppError;
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::ids::ArticleId;
use crate::schema::articles;

/// The name of an article in events.
const KEY: &str = "article";

pub async fn insert(conn: &mut Conn, actor: &str, row: &ArticleRow) -> Result<ArticleRow, AppError> {
    let row: ArticleRow = diesel::insert_into(articles::table)
        .values(row)
        .returning(ArticleRow::as_returning())
        .get_result(conn)
        .await
        .map_err(|e| sku_conflict(e, &row.sku))?;
    created(conn, actor, row).await
}

async fn created(conn: &mut Conn, actor: &str, row: ArticleRow) -> Result<ArticleRow, AppError> {
    let shown = Article::from(row.clone());
    events::store::state(conn, EventType::ArticleCreated, actor, (KEY, row.id), &shown).await?;
    Ok(row)
}

/// Applies `changes` with an `article.updated` event; changes that change nothing keep the
/// version and write no event.
async fn apply(
    conn: &mut Conn,
    actor: &str,
    current: ArticleRow,
    changes: &ArticleChanges,
) -> Result<ArticleRow, AppError> {
    if changes.unchanged(&current) {
        return Ok(current);
    }
    let before = events::shown(&Article::from(current.clone()))?;
    let sku = changes.sku.as_deref().unwrap_or(&current.sku).to_owned();
    let row: ArticleRow = diesel::update(articles::table.find(current.id))
        .set((
            changes,
            articles::updated_at.eq(diesel::dsl::now),
            articles::version.eq(articles::version + 1),
        ))
        .returning(ArticleRow::as_returning())
        .get_result(conn)
        .await
        .map_err(|e| sku_conflict(e, &sku))?;
    let after = Article::from(row.clone());
    events::store::updated(conn, EventType::ArticleUpdated, actor, (KEY, row.id), &before, &after).await?;
    Ok(row)
}

pub async fn update(
    conn: &mut Conn,
    actor: &str,
    id: ArticleId,
    if_match: &IfMatch,
    changes: &ArticleChanges,
) -> Result<ArticleRow, AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "articles", WHAT, &id, if_match).await?;
        let current = find(conn, id).await?;
        apply(conn, actor, current, changes).await
    })
    .await
}

/// Creates the article with this sku, or replaces it; a replacement that changes nothing
/// keeps the version (so repeating a sync is a no-op). Returns whether it was created.
pub async fn upsert(
    conn: &mut Conn,
    actor: &str,
    new: ArticleRow,
    if_match: &IfMatch,
    replacement: &ArticleChanges,
) -> Result<(ArticleRow, bool), AppError> {
    conn.transaction(async |conn| {
        let inserted: Option<ArticleRow> = diesel::insert_into(articles::table)
            .values(&new)
            .on_conflict_do_nothing()
            .returning(ArticleRow::as_returning())
            .get_result(conn)
            .await
            .optional()?;
        if let Some(row) = inserted {
            return Ok((created(conn, actor, row).await?, true));
        }
        let current: ArticleRow = articles::table
            .filter(articles::sku.eq(&new.sku))
            .select(ArticleRow::as_select())
            .for_no_key_update()
            .first(conn)
            .await?;
        if_match.check(current.version)?;
        Ok((apply(conn, actor, current, replacement).await?, false))
    })
    .await
}

pub async fn delete(conn: &mut Conn, actor: &str, id: ArticleId, if_match: &IfMatch) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "articles", WHAT, &id, if_match).await?;
        let last: ArticleRow = diesel::delete(articles::table.find(id))
            .returning(ArticleRow::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| {
                AppError::from(e).or_conflict("opportunity or quote lines refer to this article; deactivate it instead")
            })?;
        events::store::state(conn, EventType::ArticleDeleted, actor, (KEY, id), &Article::from(last)).await
    })
    .await
}
