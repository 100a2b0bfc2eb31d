//! The transactional commands on funnels: each validates against the database and
//! writes its event in its transaction.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::store::{FunnelChanges, FunnelRecord, FunnelRow, WHAT, find, replace_stages, replace_team, validate};
use super::view::Funnel;
use crate::db::Conn;
use crate::error::AppError;
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::ids::{FunnelId, StageId};
use crate::opportunities::derive::{self, Affected};
use crate::schema::{funnels, opportunities, stages};

/// Inserts a funnel with its stages and team after checking them.
pub async fn insert(conn: &mut Conn, actor: &str, record: FunnelRecord) -> Result<FunnelRecord, AppError> {
    conn.transaction(async |conn| {
        validate(conn, &record).await?;
        let row = diesel::insert_into(funnels::table)
            .values(&record.row)
            .returning(FunnelRow::as_returning())
            .get_result(conn)
            .await?;
        replace_stages(conn, row.id, &record.stage_ids).await?;
        replace_team(conn, row.id, &record.team_ids).await?;
        let created = FunnelRecord { row, ..record }.sorted_team();
        let shown = Funnel::from(created.clone());
        events::store::state(conn, EventType::FunnelCreated, actor, (WHAT, created.row.id), &shown).await?;
        Ok(created)
    })
    .await
}

/// Applies `changes`; the merged funnel must satisfy every rule (422).
pub async fn update(
    conn: &mut Conn,
    actor: &str,
    id: FunnelId,
    if_match: &IfMatch,
    changes: FunnelChanges,
) -> Result<FunnelRecord, AppError> {
    conn.transaction(async |conn| {
        crate::db::lock_version(conn, "funnels", WHAT, &id, if_match).await?;
        let current = find(conn, id).await?;
        let before = events::shown(&Funnel::from(current.clone()))?;
        let formula_before = current.row.metric_formula.clone();
        let merged = FunnelRecord {
            row: FunnelRow {
                name: changes.name.unwrap_or(current.row.name),
                description: changes.description.unwrap_or(current.row.description),
                warn_after_days: changes.warn_after_days.unwrap_or(current.row.warn_after_days),
                critical_after_days: changes.critical_after_days.unwrap_or(current.row.critical_after_days),
                metric_label: changes.metric_label.unwrap_or(current.row.metric_label),
                metric_formula: changes.metric_formula.unwrap_or(current.row.metric_formula),
                active: changes.active.unwrap_or(current.row.active),
                planned_followup_keeps_yellow: changes
                    .planned_followup_keeps_yellow
                    .unwrap_or(current.row.planned_followup_keeps_yellow),
                ..current.row
            },
            stage_ids: changes.stage_ids.unwrap_or(current.stage_ids),
            team_ids: changes.team_ids.unwrap_or(current.team_ids),
        };
        validate(conn, &merged).await?;
        keeps_occupied_stages(conn, id, &merged.stage_ids).await?;
        let m = &merged.row;
        let row = diesel::update(funnels::table.find(id))
            .set((
                funnels::name.eq(&m.name),
                funnels::description.eq(&m.description),
                funnels::warn_after_days.eq(m.warn_after_days),
                funnels::critical_after_days.eq(m.critical_after_days),
                funnels::metric_label.eq(&m.metric_label),
                funnels::metric_formula.eq(&m.metric_formula),
                funnels::active.eq(m.active),
                funnels::planned_followup_keeps_yellow.eq(m.planned_followup_keeps_yellow),
                funnels::updated_at.eq(diesel::dsl::now),
                funnels::version.eq(funnels::version + 1),
            ))
            .returning(FunnelRow::as_returning())
            .get_result(conn)
            .await?;
        replace_stages(conn, id, &merged.stage_ids).await?;
        replace_team(conn, id, &merged.team_ids).await?;
        let formula_changed = row.metric_formula != formula_before;
        let updated = FunnelRecord { row, ..merged }.sorted_team();
        let after = Funnel::from(updated.clone());
        events::store::updated(conn, EventType::FunnelUpdated, actor, (WHAT, id), &before, &after).await?;
        if formula_changed {
            derive::refresh_all(conn, actor, Affected::Funnel(id)).await?;
        }
        Ok(updated)
    })
    .await
}

/// 409 when a stage leaving the funnel still holds opportunities of it.
async fn keeps_occupied_stages(conn: &mut Conn, id: FunnelId, stage_ids: &[StageId]) -> Result<(), AppError> {
    let stranded: Option<String> = opportunities::table
        .inner_join(stages::table)
        .filter(opportunities::funnel_id.eq(id))
        .filter(diesel::dsl::not(opportunities::stage_id.eq_any(stage_ids)))
        .select(stages::code)
        .first(conn)
        .await
        .optional()?;
    match stranded {
        Some(code) => Err(AppError::Conflict(format!(
            "stage {code} still holds opportunities of this funnel: move them before removing it"
        ))),
        None => Ok(()),
    }
}

/// Deletes a funnel no class or opportunity refers to; 409 otherwise.
pub async fn delete(conn: &mut Conn, actor: &str, id: FunnelId, if_match: &IfMatch) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        crate::db::lock_version(conn, "funnels", WHAT, &id, if_match).await?;
        let last = Funnel::from(find(conn, id).await?);
        diesel::delete(funnels::table.find(id))
            .execute(conn)
            .await
            .map_err(|e| {
                AppError::from(e).or_conflict("classes or opportunities refer to this funnel; deactivate it instead")
            })?;
        events::store::state(conn, EventType::FunnelDeleted, actor, (WHAT, id), &last).await
    })
    .await
}
