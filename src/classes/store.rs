//! Classes in PostgreSQL; the id is the class code.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::Conn;
use crate::error::{AppError, FieldError};
use crate::http::pagination::Page;
use crate::ids::{FunnelId, UserId};
use crate::schema::{classes, funnels};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = classes, check_for_backend(diesel::pg::Pg))]
pub struct ClassRow {
    pub id: String,
    pub description: Option<String>,
    pub default_funnel_id: Option<FunnelId>,
    pub default_owner_id: Option<UserId>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = classes)]
pub struct ClassChanges {
    pub description: Option<Option<String>>,
    pub default_funnel_id: Option<Option<FunnelId>>,
    pub default_owner_id: Option<Option<UserId>>,
    pub active: Option<bool>,
}

pub(super) const WHAT: &str = "class";

/// The default funnel and owner must exist (422 naming the field).
pub(super) async fn check_references(
    conn: &mut Conn,
    funnel: Option<FunnelId>,
    owner: Option<UserId>,
) -> Result<(), AppError> {
    let mut errors = Vec::new();
    if let Some(id) = funnel
        && !diesel::select(diesel::dsl::exists(funnels::table.find(id)))
            .get_result::<bool>(conn)
            .await?
    {
        errors.push(FieldError::new(
            "default_funnel_id",
            "not_found",
            format!("funnel {id} does not exist"),
        ));
    }
    if let Some(id) = owner
        && !crate::users::store::exists(conn, id).await?
    {
        errors.push(FieldError::new(
            "default_owner_id",
            "not_found",
            format!("user {id} does not exist"),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

pub async fn find(conn: &mut Conn, id: &str) -> Result<ClassRow, AppError> {
    classes::table
        .find(id)
        .select(ClassRow::as_select())
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
) -> Result<Vec<ClassRow>, AppError> {
    let mut query = classes::table.select(ClassRow::as_select()).into_boxed();
    if let Some(active) = active {
        query = query.filter(classes::active.eq(active));
    }
    if let Some(q) = q {
        let pattern = crate::http::contains_pattern(q);
        query = query.filter(
            classes::id
                .ilike(pattern.clone())
                .or(classes::description.ilike(pattern)),
        );
    }
    Ok(query
        .filter(page.after_unique())
        .order(classes::id)
        .limit(page.fetch())
        .load(conn)
        .await?)
}
