//! Articles in PostgreSQL.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::view::Article;
use crate::db::{Conn, lock_version};
use crate::domain::money::{Money, Percent};
use crate::error::AppError;
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::http::pagination::Page;
use crate::ids::ArticleId;
use crate::schema::articles;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = articles, check_for_backend(diesel::pg::Pg))]
pub struct ArticleRow {
    pub id: ArticleId,
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    pub unit: String,
    pub unit_price: Money,
    pub currency: String,
    pub tax_rate: Percent,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// The writable fields; `None` leaves a field alone, `Some(None)` clears an optional one.
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = articles)]
pub struct ArticleChanges {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub unit: Option<String>,
    pub unit_price: Option<Money>,
    pub currency: Option<String>,
    pub tax_rate: Option<Percent>,
    pub active: Option<bool>,
}

impl ArticleChanges {
    /// Whether applying these changes to `row` would change nothing.
    fn unchanged(&self, row: &ArticleRow) -> bool {
        self.sku.as_ref().is_none_or(|v| *v == row.sku)
            && self.name.as_ref().is_none_or(|v| *v == row.name)
            && self.description.as_ref().is_none_or(|v| *v == row.description)
            && self.unit.as_ref().is_none_or(|v| *v == row.unit)
            && self.unit_price.is_none_or(|v| v == row.unit_price)
            && self.currency.as_ref().is_none_or(|v| *v == row.currency)
            && self.tax_rate.is_none_or(|v| v == row.tax_rate)
            && self.active.is_none_or(|v| v == row.active)
    }
}

#[derive(Debug, Default)]
pub struct ArticleFilter {
    pub active: Option<bool>,
    pub currency: Option<String>,
    pub q: Option<String>,
}

/// The name of an article in events.
const KEY: &str = "article";
const WHAT: &str = "article";

fn sku_conflict(error: diesel::result::Error, sku: &str) -> AppError {
    AppError::from(error).or_conflict(format!("another article already has sku {sku}"))
}

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

pub async fn find(conn: &mut Conn, id: ArticleId) -> Result<ArticleRow, AppError> {
    articles::table
        .find(id)
        .select(ArticleRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

pub async fn list(conn: &mut Conn, filter: &ArticleFilter, page: &Page) -> Result<Vec<ArticleRow>, AppError> {
    let mut query = articles::table.select(ArticleRow::as_select()).into_boxed();
    if let Some(active) = filter.active {
        query = query.filter(articles::active.eq(active));
    }
    if let Some(currency) = &filter.currency {
        query = query.filter(articles::currency.eq(currency));
    }
    if let Some(q) = &filter.q {
        let pattern = crate::http::contains_pattern(q);
        query = query.filter(articles::name.ilike(pattern.clone()).or(articles::sku.ilike(pattern)));
    }
    Ok(query
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load(conn)
        .await?)
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
