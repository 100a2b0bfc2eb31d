//! Stages in PostgreSQL.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::Conn;
use crate::domain::money::Percent;
use crate::domain::pipeline::Outcome;
use crate::error::AppError;
use crate::http::pagination::Page;
use crate::ids::StageId;
use crate::schema::stages;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = stages, check_for_backend(diesel::pg::Pg))]
pub struct StageRow {
    pub id: StageId,
    pub code: String,
    pub name: String,
    pub icon: Option<String>,
    pub probability: Percent,
    pub outcome: Outcome,
    pub requires_lines: bool,
    pub warn_after_days: Option<i32>,
    pub critical_after_days: Option<i32>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A merge patch of the writable fields; `Some(None)` clears an optional one.
#[derive(Debug, Default)]
pub struct StageChanges {
    pub code: Option<String>,
    pub name: Option<String>,
    pub icon: Option<Option<String>>,
    pub probability: Option<Percent>,
    pub outcome: Option<Outcome>,
    pub requires_lines: Option<bool>,
    pub warn_after_days: Option<Option<i32>>,
    pub critical_after_days: Option<Option<i32>>,
    pub active: Option<bool>,
}

#[derive(Debug, Default)]
pub struct StageFilter {
    pub active: Option<bool>,
    pub outcome: Option<Outcome>,
    pub q: Option<String>,
}

pub(super) const WHAT: &str = "stage";

pub async fn find(conn: &mut Conn, id: StageId) -> Result<StageRow, AppError> {
    stages::table
        .find(id)
        .select(StageRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

pub async fn list(conn: &mut Conn, filter: &StageFilter, page: &Page) -> Result<Vec<StageRow>, AppError> {
    let mut query = stages::table.select(StageRow::as_select()).into_boxed();
    if let Some(active) = filter.active {
        query = query.filter(stages::active.eq(active));
    }
    if let Some(outcome) = filter.outcome {
        query = query.filter(stages::outcome.eq(outcome));
    }
    if let Some(q) = &filter.q {
        let pattern = crate::http::contains_pattern(q);
        query = query.filter(stages::code.ilike(pattern.clone()).or(stages::name.ilike(pattern)));
    }
    Ok(query
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load(conn)
        .await?)
}
