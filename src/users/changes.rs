//! The transactional commands on users: each validates against the database and
//! writes its event in its transaction.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::store::{NewUser, UserChanges, UserRow, WHAT, find};
use super::view::User;
use crate::db::{Conn, lock_version};
use crate::error::AppError;
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::ids::UserId;
use crate::schema::users;

/// The name of a user in events.
const KEY: &str = "user";

pub async fn insert(conn: &mut Conn, actor: &str, new: &NewUser) -> Result<UserRow, AppError> {
    let row: UserRow = diesel::insert_into(users::table)
        .values(new)
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await?;
    let shown = User::from(row.clone());
    events::store::state(conn, EventType::UserCreated, actor, (KEY, row.id), &shown).await?;
    Ok(row)
}

pub async fn update(
    conn: &mut Conn,
    actor: &str,
    id: UserId,
    if_match: &IfMatch,
    changes: &UserChanges,
) -> Result<UserRow, AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "users", WHAT, &id, if_match).await?;
        let before = events::shown(&User::from(find(conn, id).await?))?;
        let row: UserRow = diesel::update(users::table.find(id))
            .set((
                changes,
                users::updated_at.eq(diesel::dsl::now),
                users::version.eq(users::version + 1),
            ))
            .returning(UserRow::as_returning())
            .get_result(conn)
            .await?;
        let after = User::from(row.clone());
        events::store::updated(conn, EventType::UserUpdated, actor, (KEY, id), &before, &after).await?;
        Ok(row)
    })
    .await
}

/// Deletes a user who owns nothing; 409 otherwise.
pub async fn delete(conn: &mut Conn, actor: &str, id: UserId, if_match: &IfMatch) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "users", WHAT, &id, if_match).await?;
        let last: UserRow = diesel::delete(users::table.find(id))
            .returning(UserRow::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| {
                AppError::from(e).or_conflict(
                    "the user still owns business partners or other records; reassign them or deactivate the user",
                )
            })?;
        events::store::state(conn, EventType::UserDeleted, actor, (KEY, id), &User::from(last)).await
    })
    .await
}
