//! The transactional commands on classes: each validates against the database and
//! writes its event in its transaction.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::store::{ClassChanges, ClassRow, WHAT, check_references, find};
use super::view::Class;
use crate::db::{Conn, lock_version};
use crate::error::AppError;
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::schema::classes;

/// The name of a class in events.
const KEY: &str = "class";

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
