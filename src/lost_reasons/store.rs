//! Lost reasons in PostgreSQL.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::Conn;
use crate::error::AppError;
use crate::http::pagination::Page;
use crate::ids::LostReasonId;
use crate::schema::lost_reasons;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = lost_reasons, check_for_backend(diesel::pg::Pg))]
pub struct LostReasonRow {
    pub id: LostReasonId,
    pub label: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = lost_reasons)]
pub struct LostReasonChanges {
    pub label: Option<String>,
    pub active: Option<bool>,
}

pub(super) const WHAT: &str = "lost reason";

pub async fn find(conn: &mut Conn, id: LostReasonId) -> Result<LostReasonRow, AppError> {
    lost_reasons::table
        .find(id)
        .select(LostReasonRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

pub async fn list(
    conn: &mut Conn,
    active: Option<bool>,
    q: Option<&str>,
    page: &Page,
) -> Result<Vec<LostReasonRow>, AppError> {
    let mut query = lost_reasons::table.select(LostReasonRow::as_select()).into_boxed();
    if let Some(active) = active {
        query = query.filter(lost_reasons::active.eq(active));
    }
    if let Some(q) = q {
        query = query.filter(lost_reasons::label.ilike(crate::http::contains_pattern(q)));
    }
    Ok(query
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load(conn)
        .await?)
}
