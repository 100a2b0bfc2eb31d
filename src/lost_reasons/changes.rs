//! The transactional commands on lost reasons: each validates against the database and
//! writes its event in its transaction.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::store::{LostReasonChanges, LostReasonRow, WHAT, find};
use super::view::LostReason;
use crate::db::{Conn, lock_version};
use crate::error::AppError;
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::ids::LostReasonId;
use crate::schema::lost_reasons;

/// The name of a lost reason in events.
const KEY: &str = "lost_reason";

pub async fn insert(conn: &mut Conn, actor: &str, row: &LostReasonRow) -> Result<LostReasonRow, AppError> {
    let row: LostReasonRow = diesel::insert_into(lost_reasons::table)
        .values(row)
        .returning(LostReasonRow::as_returning())
        .get_result(conn)
        .await?;
    let shown = LostReason::from(row.clone());
    events::store::state(conn, EventType::LostReasonCreated, actor, (KEY, row.id), &shown).await?;
    Ok(row)
}

pub async fn update(
    conn: &mut Conn,
    actor: &str,
    id: LostReasonId,
    if_match: &IfMatch,
    changes: &LostReasonChanges,
) -> Result<LostReasonRow, AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "lost_reasons", WHAT, &id, if_match).await?;
        let before = events::shown(&LostReason::from(find(conn, id).await?))?;
        let row: LostReasonRow = diesel::update(lost_reasons::table.find(id))
            .set((
                changes,
                lost_reasons::updated_at.eq(diesel::dsl::now),
                lost_reasons::version.eq(lost_reasons::version + 1),
            ))
            .returning(LostReasonRow::as_returning())
            .get_result(conn)
            .await?;
        let after = LostReason::from(row.clone());
        events::store::updated(conn, EventType::LostReasonUpdated, actor, (KEY, id), &before, &after).await?;
        Ok(row)
    })
    .await
}

pub async fn delete(conn: &mut Conn, actor: &str, id: LostReasonId, if_match: &IfMatch) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "lost_reasons", WHAT, &id, if_match).await?;
        let last: LostReasonRow = diesel::delete(lost_reasons::table.find(id))
            .returning(LostReasonRow::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| {
                AppError::from(e).or_conflict("lost opportunities refer to this reason; deactivate it instead")
            })?;
        events::store::state(
            conn,
            EventType::LostReasonDeleted,
            actor,
            (KEY, id),
            &LostReason::from(last),
        )
        .await
    })
    .await
}
