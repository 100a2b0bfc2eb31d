//! Users in PostgreSQL.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::view::User;
use crate::access::Role;
use crate::db::{Conn, lock_version};
use crate::error::AppError;
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::http::pagination::Page;
use crate::ids::UserId;
use crate::schema::users;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

/// List filters.
#[derive(Debug, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub q: Option<String>,
}

/// The name of a user in events.
const KEY: &str = "user";
const WHAT: &str = "user";

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

pub async fn find(conn: &mut Conn, id: UserId) -> Result<UserRow, AppError> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

/// Whether a user with this id exists (for references from other resources).
/// The stored role of user `id` and whether they are active; `None` when there is no such user.
pub async fn standing(conn: &mut Conn, id: UserId) -> Result<Option<(Role, bool)>, AppError> {
    Ok(users::table
        .find(id)
        .select((users::role, users::active))
        .first(conn)
        .await
        .optional()?)
}

pub async fn exists(conn: &mut Conn, id: UserId) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(users::table.find(id)))
        .get_result(conn)
        .await?)
}

pub async fn list(conn: &mut Conn, filter: &UserFilter, page: &Page) -> Result<Vec<UserRow>, AppError> {
    let mut query = users::table.select(UserRow::as_select()).into_boxed();
    if let Some(role) = filter.role {
        query = query.filter(users::role.eq(role));
    }
    if let Some(active) = filter.active {
        query = query.filter(users::active.eq(active));
    }
    if let Some(q) = &filter.q {
        let pattern = crate::http::contains_pattern(q);
        query = query.filter(
            users::email
                .ilike(pattern.clone())
                .or(users::display_name.ilike(pattern)),
        );
    }
    Ok(query
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load(conn)
        .await?)
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
