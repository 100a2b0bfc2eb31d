//! Articles in PostgreSQL.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::Conn;
use crate::domain::money::{Money, Percent};
use crate::error::AppError;
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
    pub long_description: Option<String>,
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
    pub long_description: Option<Option<String>>,
    pub unit: Option<String>,
    pub unit_price: Option<Money>,
    pub currency: Option<String>,
    pub tax_rate: Option<Percent>,
    pub active: Option<bool>,
}

impl ArticleChanges {
    /// Whether applying these changes to `row` would change nothing.
    pub(super) fn unchanged(&self, row: &ArticleRow) -> bool {
        self.sku.as_ref().is_none_or(|v| *v == row.sku)
            && self.name.as_ref().is_none_or(|v| *v == row.name)
            && self.description.as_ref().is_none_or(|v| *v == row.description)
            && self
                .long_description
                .as_ref()
                .is_none_or(|v| *v == row.long_description)
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

pub(super) const WHAT: &str = "article";

pub(super) fn sku_conflict(error: diesel::result::Error, sku: &str) -> AppError {
    AppError::from(error).or_conflict(format!("another article already has sku {sku}"))
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
