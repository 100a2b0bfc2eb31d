//! Stage moves: to another stage, won, lost, reopened, and the hand-off to the ERP; each with
//! its history entry and events in the same transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::changes::{clock_timestamp, ensure_open, lock, record_stage, reference, validation};
use super::events;
use super::store::{OpportunityRecord, entry, find, funnel_stage};
use crate::access::Actor;
use crate::access::Visibility;
use crate::db::Conn;
use crate::domain::opportunity::{self};
use crate::domain::pipeline::Outcome;
use crate::error::{AppError, field_errors};
use crate::events::EventType;
use crate::http::IfMatch;
use crate::ids::{LostReasonId, OpportunityId, StageId};
use crate::schema::{lost_reasons, opportunities as opp};

/// Where a move goes.
#[derive(Debug, Clone, Copy)]
pub enum Destination {
    /// A stage of the funnel, by id.
    Stage(StageId),
    /// The funnel's won stage.
    Won,
    /// The funnel's first lost stage.
    Lost,
}

/// A stage move with its lost reason and note.
#[derive(Debug, Clone)]
pub struct Move {
    pub to: Destination,
    pub lost_reason_id: Option<LostReasonId>,
    pub note: Option<String>,
}

/// Moves an open opportunity to another stage of its funnel, closing it when the stage is won
/// or lost. Moving to the stage it is in changes nothing.
pub async fn move_to(
    conn: &mut Conn,
    actor: &Actor,
    id: OpportunityId,
    if_match: &IfMatch,
    m: Move,
) -> Result<OpportunityRecord, AppError> {
    conn.transaction(async |conn| {
        let current = lock(conn, actor.who, id, if_match).await?;
        ensure_open(&current)?;
        let stage = match m.to {
            Destination::Stage(stage) => stage,
            Destination::Won => funnel_stage(conn, current.funnel_id, Outcome::Won).await?,
            Destination::Lost => funnel_stage(conn, current.funnel_id, Outcome::Lost).await?,
        };
        if stage == current.stage_id {
            return find(conn, Visibility::All, id).await;
        }
        let entered = entry(conn, current.funnel_id, stage).await?;
        let mut errors = field_errors(opportunity::check_entry(
            entered,
            current.line_count,
            m.lost_reason_id.is_some(),
        ));
        if let Some(reason) = m.lost_reason_id {
            let active: Option<bool> = lost_reasons::table
                .find(reason)
                .select(lost_reasons::active)
                .first(conn)
                .await
                .optional()?;
            errors.extend(reference("lost_reason_id", "lost reason", &reason, active));
        }
        validation(errors)?;
        let before = events::snapshot(conn, id).await?;
        let outcome = entered.map_or(Outcome::Open, |e| e.outcome);
        let closed = outcome != Outcome::Open;
        diesel::update(opp::table.find(id))
            .set((
                opp::stage_id.eq(stage),
                opp::status.eq(outcome),
                opp::stage_entered_at.eq(clock_timestamp()),
                opp::closed_at.eq(closed.then(Utc::now)),
                opp::lost_reason_id.eq(m.lost_reason_id),
                opp::lost_note.eq(m.note.as_deref().filter(|_| outcome == Outcome::Lost)),
                opp::updated_at.eq(diesel::dsl::now),
                opp::version.eq(opp::version + 1),
            ))
            .execute(conn)
            .await?;
        record_stage(
            conn,
            id,
            Some(current.stage_id),
            stage,
            actor,
            m.lost_reason_id,
            m.note.as_deref(),
        )
        .await?;
        let after = find(conn, Visibility::All, id).await?;
        events::moved(conn, actor, &before, &after, current.stage_id, false).await?;
        Ok(after)
    })
    .await
}

/// Reopens a won or lost opportunity into an open stage of its funnel; 409 when it is open or
/// already handed to the ERP.
pub async fn reopen(
    conn: &mut Conn,
    actor: &Actor,
    id: OpportunityId,
    if_match: &IfMatch,
    stage: StageId,
    note: Option<String>,
) -> Result<OpportunityRecord, AppError> {
    conn.transaction(async |conn| {
        let current = lock(conn, actor.who, id, if_match).await?;
        if current.status == Outcome::Open {
            return Err(AppError::Conflict(format!("opportunity {} is open", current.number)));
        }
        if let Some(reference) = &current.erp_reference {
            return Err(AppError::Conflict(format!(
                "opportunity {} was handed to the ERP as {reference}; it stays won",
                current.number
            )));
        }
        let entered = entry(conn, current.funnel_id, stage).await?;
        validation(field_errors(opportunity::check_open_entry(
            entered,
            current.line_count,
            "reopen into an open stage",
        )))?;
        let before = events::snapshot(conn, id).await?;
        diesel::update(opp::table.find(id))
            .set((
                opp::stage_id.eq(stage),
                opp::status.eq(Outcome::Open),
                opp::stage_entered_at.eq(clock_timestamp()),
                opp::closed_at.eq(None::<DateTime<Utc>>),
                opp::lost_reason_id.eq(None::<LostReasonId>),
                opp::lost_note.eq(None::<String>),
                opp::updated_at.eq(diesel::dsl::now),
                opp::version.eq(opp::version + 1),
            ))
            .execute(conn)
            .await?;
        record_stage(conn, id, Some(current.stage_id), stage, actor, None, note.as_deref()).await?;
        let after = find(conn, Visibility::All, id).await?;
        events::moved(conn, actor, &before, &after, current.stage_id, true).await?;
        Ok(after)
    })
    .await
}

/// Records the ERP order of a won opportunity. The same reference again changes nothing;
/// another one is a 409.
pub async fn hand_off(
    conn: &mut Conn,
    actor: &str,
    id: OpportunityId,
    if_match: &IfMatch,
    reference: String,
) -> Result<OpportunityRecord, AppError> {
    conn.transaction(async |conn| {
        let current = lock(conn, Visibility::All, id, if_match).await?;
        match &current.erp_reference {
            Some(existing) if *existing == reference => return find(conn, Visibility::All, id).await,
            Some(existing) => {
                return Err(AppError::Conflict(format!(
                    "opportunity {} was already handed off as {existing}",
                    current.number
                )));
            }
            None if current.status != Outcome::Won => {
                return Err(AppError::Conflict(format!(
                    "opportunity {} is {}: only won opportunities go to the ERP",
                    current.number, current.status
                )));
            }
            None => {}
        }
        let before = events::snapshot(conn, id).await?;
        diesel::update(opp::table.find(id))
            .set((
                opp::erp_reference.eq(&reference),
                opp::erp_handed_off_at.eq(diesel::dsl::now),
                opp::updated_at.eq(diesel::dsl::now),
                opp::version.eq(opp::version + 1),
            ))
            .execute(conn)
            .await?;
        let after = find(conn, Visibility::All, id).await?;
        events::updated(conn, EventType::OpportunityHandedOff, actor, &before, &after).await?;
        Ok(after)
    })
    .await
}
