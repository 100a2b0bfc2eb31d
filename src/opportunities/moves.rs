//! Stage moves: to another stage, won, lost, reopened, and the hand-off to the ERP; each with
//! its history entry and events in the same transaction.

use std::sync::LazyLock;

use chrono::Utc;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Numeric, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, RunQueryDsl};
use rust_decimal::Decimal;

use super::changes::{ensure_open, lock, reference, validation};
use super::derive;
use super::events;
use super::store::{OpportunityRecord, OpportunityRow, WHAT, WRITTEN, Written, find};
use super::view::Opportunity;
use crate::access::Visibility;
use crate::access::{self, Actor};
use crate::custom_fields::values::{self, Definitions};
use crate::db::Conn;
use crate::db::prepared::Statement;
use crate::domain::custom::CustomResource;
use crate::domain::formula::Formula;
use crate::domain::money::Percent;
use crate::domain::opportunity::{self, Entry, Facts};
use crate::domain::pipeline::Outcome;
use crate::error::{AppError, FieldError, field_errors};
use crate::events::EventType;
use crate::http::IfMatch;
use crate::ids::{LostReasonId, OpportunityId, StageId};
use crate::schema::opportunities as opp;

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

/// What a move reads of opportunity `$1` under its row lock, in one statement: the row and its
/// traffic light, the stage it is in, the stage it goes to (`$2`, else the first of its funnel
/// with outcome `$3`) as the funnel sees it, the lost reason `$4`, and the funnel's formula.
/// `$5` is the rep whose fence the opportunity must be inside, if a rep moves it. The lock is
/// taken on the opportunity alone, first: when a concurrent change made it wait, the rest is
/// read for the row as that change left it.
static LOCK: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(&format!(
        "
WITH p AS (
    SELECT $1::uuid AS id, $2::uuid AS stage_id, $3::text AS outcome, $4::uuid AS lost_reason_id, $5::uuid AS rep_id
), o AS MATERIALIZED (
    SELECT x.* FROM opportunities x, p
    WHERE x.id = p.id AND {}
    FOR NO KEY UPDATE OF x
)
SELECT o.*, custom_shown('opportunity', o.custom) AS shown_custom, {} AS custom_fields,
       opportunity_health(o.status, o.last_contact_at, health_cutoff(cur.warn_after_days, f.warn_after_days),
                          health_cutoff(cur.critical_after_days, f.critical_after_days),
                          followup_keeps_yellow(f.planned_followup_keeps_yellow, o.next_activity_due_at,
                                                cur.warn_after_days, f.warn_after_days)) AS health,
       cur.code AS from_code, cur.name AS from_name, cur.outcome AS from_outcome,
       t.id AS to_id, t.code AS to_code, t.name AS to_name, t.outcome AS to_outcome,
       t.requires_lines AS to_requires_lines, t.active AS to_active, t.probability AS to_probability,
       EXISTS (SELECT 1 FROM funnel_stages fs WHERE fs.funnel_id = o.funnel_id AND fs.stage_id = t.id) AS to_in_funnel,
       (SELECT r.active FROM lost_reasons r WHERE r.id = p.lost_reason_id) AS lost_reason_active,
       f.metric_formula
FROM o
CROSS JOIN p
JOIN stages cur ON cur.id = o.stage_id
JOIN funnels f ON f.id = o.funnel_id
LEFT JOIN stages t ON t.id = coalesce(p.stage_id, (
    SELECT fs.stage_id FROM funnel_stages fs JOIN stages w ON w.id = fs.stage_id
    WHERE fs.funnel_id = o.funnel_id AND w.outcome = p.outcome ORDER BY fs.position LIMIT 1))",
        access::rep_fence_sql("x", "p.rep_id"),
        values::definitions_sql(CustomResource::Opportunity)
    ))
});

#[derive(Debug, QueryableByName)]
struct Locked {
    #[diesel(embed)]
    opportunity: OpportunityRow,
    #[diesel(sql_type = Nullable<Text>)]
    health: Option<String>,
    #[diesel(sql_type = Text)]
    from_code: String,
    #[diesel(sql_type = Text)]
    from_name: String,
    #[diesel(sql_type = Text)]
    from_outcome: Outcome,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    to_id: Option<StageId>,
    #[diesel(sql_type = Nullable<Text>)]
    to_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    to_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    to_outcome: Option<Outcome>,
    #[diesel(sql_type = Nullable<Bool>)]
    to_requires_lines: Option<bool>,
    #[diesel(sql_type = Nullable<Bool>)]
    to_active: Option<bool>,
    #[diesel(sql_type = Nullable<Numeric>)]
    to_probability: Option<Decimal>,
    #[diesel(sql_type = Bool)]
    to_in_funnel: bool,
    #[diesel(sql_type = Nullable<Bool>)]
    lost_reason_active: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    metric_formula: Option<String>,
    /// The opportunity custom field definitions (`values::definitions_sql`).
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    custom_fields: serde_json::Value,
}

impl Locked {
    /// The custom values the stage it goes to requires and it lacks.
    fn missing_custom(&self) -> Result<Vec<FieldError>, AppError> {
        let Some(to) = self.to_id else {
            return Ok(Vec::new());
        };
        Ok(Definitions::from_json(self.custom_fields.clone())?
            .missing_for(&values::object(&self.opportunity.custom), to))
    }

    /// The stage it goes to as the funnel sees it; `None` when there is no such stage.
    fn entry(&self) -> Option<Entry> {
        Some(Entry {
            outcome: self.to_outcome?,
            requires_lines: self.to_requires_lines?,
            active: self.to_active?,
            in_funnel: self.to_in_funnel,
        })
    }
}

/// Locks the opportunity `id` if `who` may change it and reads what a move to `to` needs (see
/// [`LOCK`]); 404 when it is not there for the caller, 412 when `If-Match` fails.
async fn lock_for_move(
    conn: &mut Conn,
    who: Visibility,
    id: OpportunityId,
    if_match: &IfMatch,
    to: Destination,
    lost_reason: Option<LostReasonId>,
) -> Result<Locked, AppError> {
    let (stage, outcome) = match to {
        Destination::Stage(stage) => (Some(stage), None),
        Destination::Won => (None, Some(Outcome::Won)),
        Destination::Lost => (None, Some(Outcome::Lost)),
    };
    let locked: Locked = LOCK
        .query()
        .bind::<SqlUuid, _>(id)
        .bind::<Nullable<SqlUuid>, _>(stage)
        .bind::<Nullable<Text>, _>(outcome)
        .bind::<Nullable<SqlUuid>, _>(lost_reason)
        .bind::<Nullable<SqlUuid>, _>(access::fenced_rep(who))
        .get_result(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))?;
    if_match.check(locked.opportunity.version)?;
    if let (None, Some(outcome)) = (locked.to_id, outcome) {
        return Err(AppError::Conflict(format!("the funnel has no {outcome} stage")));
    }
    Ok(locked)
}

/// The move of a locked opportunity (`$9`) into stage `$1` with outcome `$2` and the values
/// derived for it, with its history entry (`$10`…`$13`), read back as every read shows it.
static MOVE: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(&format!(
        "
WITH written AS (
    UPDATE opportunities SET stage_id = $1, status = $2, stage_entered_at = clock_timestamp(), closed_at = $3,
           lost_reason_id = $4, lost_note = $5, probability = $6, weighted_value = $7, metric = $8,
           updated_at = now(), version = version + 1
    WHERE id = $9
    RETURNING *
), history AS (
    INSERT INTO opportunity_stage_changes (id, opportunity_id, from_stage_id, to_stage_id, probability, target_value,
                                           lost_reason_id, note, changed_by, changed_at)
    SELECT $10, w.id, $11, w.stage_id, w.probability, w.target_value, w.lost_reason_id, $12, $13, w.stage_entered_at
    FROM written w
)
{WRITTEN}"
    ))
});

/// Writes the move of `locked` into the stage it read with its outcome, the history entry and
/// the events; answers the opportunity after it.
async fn write_move(
    conn: &mut Conn,
    actor: &Actor,
    locked: Locked,
    lost_reason: Option<LostReasonId>,
    note: Option<&str>,
    reopened: bool,
) -> Result<OpportunityRecord, AppError> {
    let row = &locked.opportunity;
    let (Some(to), Some(outcome)) = (locked.to_id, locked.to_outcome) else {
        return Err(AppError::Validation(vec![]));
    };
    let probability = opportunity::probability(
        outcome,
        row.probability_override.map(Percent::value),
        locked.to_probability.unwrap_or_default(),
    );
    let target = row.target_value.amount();
    let weighted = opportunity::weighted_value(target, probability);
    let now = Utc::now();
    let closed_at = (outcome != Outcome::Open).then_some(now);
    let facts = Facts {
        target_value: target,
        probability,
        weighted_value: weighted,
        line_count: row.line_count,
        quantity: row.quantity,
        created_at: row.created_at,
        closed_at,
        last_contact_at: row.last_contact_at,
    };
    let formula = locked
        .metric_formula
        .as_deref()
        .and_then(|text| Formula::parse(text).ok());
    let definitions = Definitions::from_json(locked.custom_fields.clone())?;
    let numbers = derive::custom_inputs(formula.as_ref(), &definitions, &row.custom);
    let metric = derive::metric(formula.as_ref(), &facts, numbers, now);
    let written: Written = MOVE
        .query()
        .bind::<SqlUuid, _>(to)
        .bind::<Text, _>(outcome)
        .bind::<Nullable<Timestamptz>, _>(closed_at)
        .bind::<Nullable<SqlUuid>, _>(lost_reason)
        .bind::<Nullable<Text>, _>(note.filter(|_| outcome == Outcome::Lost).map(str::to_owned))
        .bind::<Numeric, _>(probability)
        .bind::<Numeric, _>(weighted)
        .bind::<Nullable<Numeric>, _>(metric)
        .bind::<SqlUuid, _>(row.id)
        .bind::<SqlUuid, _>(uuid::Uuid::now_v7())
        .bind::<SqlUuid, _>(row.stage_id)
        .bind::<Nullable<Text>, _>(note.map(str::to_owned))
        .bind::<Text, _>(actor.subject.clone())
        .get_result(conn)
        .await?;
    let after = written.record();
    // The state before, from the locked row: a move changes neither the activities nor the
    // primary quote, which the lock keeps as they are.
    let before = crate::events::shown(&Opportunity::from(OpportunityRecord {
        row: locked.opportunity.clone(),
        health: locked.health.as_deref().and_then(|h| h.parse().ok()),
        activity_counts: after.activity_counts.clone(),
        primary_quote_id: after.primary_quote_id,
        overdue_activity_count: after.overdue_activity_count,
        contacts: after.contacts.clone(),
    }))?;
    let stages = (
        events::stage_ref(row.stage_id, &locked.from_code, &locked.from_name, locked.from_outcome),
        events::stage_ref(
            to,
            locked.to_code.as_deref().unwrap_or_default(),
            locked.to_name.as_deref().unwrap_or_default(),
            outcome,
        ),
    );
    events::moved(conn, actor, &before, &after, stages, reopened).await?;
    Ok(after)
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
        let locked = lock_for_move(conn, actor.who, id, if_match, m.to, m.lost_reason_id).await?;
        ensure_open(&locked.opportunity)?;
        if locked.to_id == Some(locked.opportunity.stage_id) {
            return find(conn, Visibility::All, id).await;
        }
        let mut errors = field_errors(opportunity::check_entry(
            locked.entry(),
            locked.opportunity.line_count,
            m.lost_reason_id.is_some(),
        ));
        if let Some(reason) = m.lost_reason_id {
            errors.extend(reference(
                "lost_reason_id",
                "lost reason",
                &reason,
                locked.lost_reason_active,
            ));
        }
        errors.extend(locked.missing_custom()?);
        validation(errors)?;
        write_move(conn, actor, locked, m.lost_reason_id, m.note.as_deref(), false).await
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
        let locked = lock_for_move(conn, actor.who, id, if_match, Destination::Stage(stage), None).await?;
        let current = &locked.opportunity;
        if current.status == Outcome::Open {
            return Err(AppError::Conflict(format!("opportunity {} is open", current.number)));
        }
        if let Some(reference) = &current.erp_reference {
            return Err(AppError::Conflict(format!(
                "opportunity {} was handed to the ERP as {reference}; it stays won",
                current.number
            )));
        }
        let mut errors = field_errors(opportunity::check_open_entry(
            locked.entry(),
            current.line_count,
            "reopen into an open stage",
        ));
        errors.extend(locked.missing_custom()?);
        validation(errors)?;
        write_move(conn, actor, locked, None, note.as_deref(), true).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statements_number_their_parameters_once_and_in_order() {
        assert_eq!(LOCK.parameters(), 5);
        assert_eq!(MOVE.parameters(), 13);
    }
}
