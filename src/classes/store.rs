//! Classes in PostgreSQL; the id is the class code.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::view::Class;
use crate::db::{Conn, lock_version};
use crate::error::{AppError, FieldError};
use crate::events::{self, EventType};
use crate::http::IfMatch;
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

/// The name of a class in events.
const KEY: &str = "class";
const WHAT: &str = "class";

/// The default funnel and owner must exist (422 naming the field).
async fn check_references(conn: &mut Conn, funnel: Option<FunnelId>, owner: Option<UserId>) -> Result<(), AppError> {
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

pub async fn insert(conn: &mut Conn, actor: &str, row: &ClassRow) -> Result<ClassRow, AppError> {
    check_references(conn, row.default_funnel_id, row.default_owner_id).await?;
    let row: ClassRow = diesel::insert_into(classes::table)
        .values(row)
        .returning(ClassRow::as_returning())
        .get_result(conn)
        .await
        .map_err(|e| AppError::from(e).or_conflict(format!("class {} already exists", row.id)))?;
    let shown = Class::from(row.clone());
    events::store::state(conn, EventType::ClassCreated, actor, (KEY, &row.id), &shown).await?;
    Ok(row)
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

pub async fn update(
    conn: &mut Conn,
    actor: &str,
    id: &str,
    if_match: &IfMatch,
    changes: &ClassChanges,
) -> Result<ClassRow, AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "classes", WHAT, id, if_match).await?;
        let before = events::shown(&Class::from(find(conn, id).await?))?;
        check_references(
            conn,
            changes.default_funnel_id.flatten(),
            changes.default_owner_id.flatten(),
        )
        .await?;
        let row: ClassRow = diesel::update(classes::table.find(id))
            .set((
                changes,
                classes::updated_at.eq(diesel::dsl::now),
                classes::version.eq(classes::version + 1),
            ))
            .returning(ClassRow::as_returning())
            .get_result(conn)
            .await?;
        let after = Class::from(row.clone());
        events::store::updated(conn, EventType::ClassUpdated, actor, (KEY, id), &before, &after).await?;
        Ok(row)
    })
    .await
}

pub async fn delete(conn: &mut Conn, actor: &str, id: &str, if_match: &IfMatch) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "classes", WHAT, id, if_match).await?;
        let last: ClassRow = diesel::delete(classes::table.find(id))
            .returning(ClassRow::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| {
                AppError::from(e).or_conflict(format!("opportunities refer to class {id}; deactivate it instead"))
            })?;
        events::store::state(conn, EventType::ClassDeleted, actor, (KEY, id), &Class::from(last)).await
    })
    .await
}
