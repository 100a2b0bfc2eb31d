//! The transactional commands on stages: each validates against the database and
//! writes its event in its transaction.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::store::{StageChanges, StageRow, WHAT};
use super::view::Stage;
use crate::db::Conn;
use crate::domain::pipeline::{self, Outcome};
use crate::error::{AppError, field_errors};
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::ids::StageId;
use crate::opportunities::derive::{self, Affected};
use crate::schema::{funnel_stages, stages};

pub async fn insert(conn: &mut Conn, actor: &str, row: &StageRow) -> Result<StageRow, AppError> {
    let row: StageRow = diesel::insert_into(stages::table)
        .values(row)
        .returning(StageRow::as_returning())
        .get_result(conn)
        .await?;
    let shown = Stage::from(row.clone());
    events::store::state(conn, EventType::StageCreated, actor, (WHAT, row.id), &shown).await?;
    Ok(row)
}

/// Applies `changes` to the stage, keeping its rules: the outcome fixes the probability, the
/// thresholds stay ordered, and a stage that funnels use keeps its outcome and stays active.
pub async fn update(
    conn: &mut Conn,
    actor: &str,
    id: StageId,
    if_match: &IfMatch,
    changes: StageChanges,
) -> Result<StageRow, AppError> {
    conn.transaction(async |conn| {
        let current: StageRow = stages::table
            .find(id)
            .select(StageRow::as_select())
            .for_no_key_update()
            .first(conn)
            .await
            .optional()?
            .ok_or_else(|| AppError::not_found(WHAT, id))?;
        if_match.check(current.version)?;
        let before = events::shown(&Stage::from(current.clone()))?;
        let outcome = changes.outcome.unwrap_or(current.outcome);
        let in_funnels = used_by_funnels(conn, id).await?;
        if in_funnels && outcome != current.outcome {
            return Err(AppError::Conflict(
                "the stage is part of a funnel: its outcome cannot change".to_owned(),
            ));
        }
        if in_funnels && changes.active == Some(false) && current.active {
            return Err(AppError::Conflict(
                "the stage is part of a funnel: remove it there before deactivating it".to_owned(),
            ));
        }
        let given = changes
            .probability
            .or((outcome == Outcome::Open).then_some(current.probability));
        let probability =
            pipeline::stage_probability(outcome, given).map_err(|e| AppError::Validation(field_errors([e])))?;
        let warn = changes.warn_after_days.unwrap_or(current.warn_after_days);
        let critical = changes.critical_after_days.unwrap_or(current.critical_after_days);
        let errors = pipeline::thresholds(warn, critical);
        if !errors.is_empty() {
            return Err(AppError::Validation(field_errors(errors)));
        }
        let row = diesel::update(stages::table.find(id))
            .set((
                stages::code.eq(changes.code.unwrap_or(current.code)),
                stages::name.eq(changes.name.unwrap_or(current.name)),
                stages::icon.eq(changes.icon.unwrap_or(current.icon)),
                stages::probability.eq(probability),
                stages::outcome.eq(outcome),
                stages::requires_lines.eq(changes.requires_lines.unwrap_or(current.requires_lines)),
                stages::warn_after_days.eq(warn),
                stages::critical_after_days.eq(critical),
                stages::active.eq(changes.active.unwrap_or(current.active)),
                stages::updated_at.eq(diesel::dsl::now),
                stages::version.eq(stages::version + 1),
            ))
            .returning(StageRow::as_returning())
            .get_result::<StageRow>(conn)
            .await?;
        // Probability is live: every opportunity in the stage follows it.
        let after = Stage::from(row.clone());
        events::store::updated(conn, EventType::StageUpdated, actor, (WHAT, id), &before, &after).await?;
        if row.probability != current.probability {
            derive::refresh_all(conn, actor, Affected::Stage(id)).await?;
        }
        Ok(row)
    })
    .await
}

/// Deletes a stage no funnel uses; 409 otherwise.
pub async fn delete(conn: &mut Conn, actor: &str, id: StageId, if_match: &IfMatch) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        crate::db::lock_version(conn, "stages", WHAT, &id, if_match).await?;
        let last: StageRow = diesel::delete(stages::table.find(id))
            .returning(StageRow::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| {
                AppError::from(e)
                    .or_conflict("the stage is used by a funnel or by opportunities; deactivate it instead")
            })?;
        events::store::state(conn, EventType::StageDeleted, actor, (WHAT, id), &Stage::from(last)).await
    })
    .await
}

async fn used_by_funnels(conn: &mut Conn, id: StageId) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        funnel_stages::table.filter(funnel_stages::stage_id.eq(id)),
    ))
    .get_result(conn)
    .await?)
}
