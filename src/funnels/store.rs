//! Funnels with their ordered stages and team in PostgreSQL.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::custom_fields::values::Definitions;
use crate::db::Conn;
use crate::domain::custom::CustomResource;
use crate::domain::formula::Formula;
use crate::domain::pipeline::{self, FunnelStage, Outcome};
use crate::error::{AppError, FieldError, field_errors};
use crate::http::pagination::Page;
use crate::ids::{FunnelId, StageId, UserId};
use crate::schema::{funnel_members, funnel_stages, funnels, stages, users};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = funnels, check_for_backend(diesel::pg::Pg))]
pub struct FunnelRow {
    pub id: FunnelId,
    pub name: String,
    pub description: Option<String>,
    pub warn_after_days: i32,
    pub critical_after_days: i32,
    pub metric_label: Option<String>,
    pub metric_formula: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    pub planned_followup_keeps_yellow: bool,
}

/// A funnel with its stage ids in order and its team.
#[derive(Debug, Clone)]
pub struct FunnelRecord {
    pub row: FunnelRow,
    pub stage_ids: Vec<StageId>,
    pub team_ids: Vec<UserId>,
}

impl FunnelRecord {
    /// The team is a set: always listed by user id, as reads list it.
    pub(super) fn sorted_team(mut self) -> Self {
        self.team_ids.sort();
        self
    }
}

/// A merge patch of the writable fields; `Some(None)` clears an optional one.
#[derive(Debug, Default)]
pub struct FunnelChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub stage_ids: Option<Vec<StageId>>,
    pub team_ids: Option<Vec<UserId>>,
    pub warn_after_days: Option<i32>,
    pub critical_after_days: Option<i32>,
    pub metric_label: Option<Option<String>>,
    pub metric_formula: Option<Option<String>>,
    pub active: Option<bool>,
    pub planned_followup_keeps_yellow: Option<bool>,
}

pub(super) const WHAT: &str = "funnel";

/// Checks a funnel as it would be saved — thresholds, formula, stage list and team — and
/// answers one 422 naming every offending field.
pub(super) async fn validate(conn: &mut Conn, record: &FunnelRecord) -> Result<(), AppError> {
    let (stage_ids, team_ids) = (&record.stage_ids[..], &record.team_ids[..]);
    let mut errors = field_errors(pipeline::thresholds(
        Some(record.row.warn_after_days),
        Some(record.row.critical_after_days),
    ));
    match record.row.metric_formula.as_deref().map(Formula::parse) {
        Some(Err(error)) => errors.push(FieldError::new("metric_formula", "formula", error.to_string())),
        // Its `custom.<key>` variables name number or money fields of opportunities.
        Some(Ok(formula)) if !formula.custom_variables().is_empty() => {
            let fields = Definitions::load(conn, CustomResource::Opportunity).await?;
            if let Err(error) = formula.check_custom(|key| fields.formula_kind(key)) {
                errors.push(FieldError::new("metric_formula", "formula", error.to_string()));
            }
        }
        _ => {}
    }
    let found: HashMap<StageId, FunnelStage> = stages::table
        .filter(stages::id.eq_any(stage_ids))
        .select((stages::id, stages::outcome, stages::active))
        .load::<(StageId, Outcome, bool)>(conn)
        .await?
        .into_iter()
        .map(|(id, outcome, active)| (id, FunnelStage { outcome, active }))
        .collect();
    let listed: Vec<Option<FunnelStage>> = stage_ids.iter().map(|id| found.get(id).copied()).collect();
    errors.extend(field_errors(pipeline::funnel_stages(stage_ids, &listed)));
    let users: Vec<UserId> = users::table
        .filter(users::id.eq_any(team_ids))
        .select(users::id)
        .load(conn)
        .await?;
    for (i, id) in team_ids.iter().enumerate() {
        if team_ids[..i].contains(id) {
            errors.push(FieldError::new(
                format!("team_ids[{i}]"),
                "duplicate",
                format!("user {id} is listed twice"),
            ));
        } else if !users.contains(id) {
            errors.push(FieldError::new(
                format!("team_ids[{i}]"),
                "not_found",
                format!("user {id} does not exist"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

pub(super) async fn replace_stages(conn: &mut Conn, funnel: FunnelId, stage_ids: &[StageId]) -> Result<(), AppError> {
    diesel::delete(funnel_stages::table.filter(funnel_stages::funnel_id.eq(funnel)))
        .execute(conn)
        .await?;
    let rows: Vec<_> = stage_ids
        .iter()
        .zip(1..)
        .map(|(id, position): (&StageId, i32)| {
            (
                funnel_stages::funnel_id.eq(funnel),
                funnel_stages::stage_id.eq(*id),
                funnel_stages::position.eq(position),
            )
        })
        .collect();
    diesel::insert_into(funnel_stages::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

pub(super) async fn replace_team(conn: &mut Conn, funnel: FunnelId, team_ids: &[UserId]) -> Result<(), AppError> {
    diesel::delete(funnel_members::table.filter(funnel_members::funnel_id.eq(funnel)))
        .execute(conn)
        .await?;
    let rows: Vec<_> = team_ids
        .iter()
        .map(|id| (funnel_members::funnel_id.eq(funnel), funnel_members::user_id.eq(*id)))
        .collect();
    diesel::insert_into(funnel_members::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// Adds the stage ids and team of each funnel row (two queries for a whole page).
async fn complete(conn: &mut Conn, rows: Vec<FunnelRow>) -> Result<Vec<FunnelRecord>, AppError> {
    let ids: Vec<FunnelId> = rows.iter().map(|r| r.id).collect();
    let mut stage_map: HashMap<FunnelId, Vec<StageId>> = HashMap::new();
    for (funnel, stage) in funnel_stages::table
        .filter(funnel_stages::funnel_id.eq_any(&ids))
        .order((funnel_stages::funnel_id, funnel_stages::position))
        .select((funnel_stages::funnel_id, funnel_stages::stage_id))
        .load::<(FunnelId, _)>(conn)
        .await?
    {
        stage_map.entry(funnel).or_default().push(stage);
    }
    let mut team_map: HashMap<FunnelId, Vec<UserId>> = HashMap::new();
    for (funnel, user) in funnel_members::table
        .filter(funnel_members::funnel_id.eq_any(&ids))
        .order((funnel_members::funnel_id, funnel_members::user_id))
        .select((funnel_members::funnel_id, funnel_members::user_id))
        .load::<(FunnelId, _)>(conn)
        .await?
    {
        team_map.entry(funnel).or_default().push(user);
    }
    Ok(rows
        .into_iter()
        .map(|row| FunnelRecord {
            stage_ids: stage_map.remove(&row.id).unwrap_or_default(),
            team_ids: team_map.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

pub async fn find(conn: &mut Conn, id: FunnelId) -> Result<FunnelRecord, AppError> {
    let row = funnels::table
        .find(id)
        .select(FunnelRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))?;
    complete(conn, vec![row])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

/// List filters; `member_id` keeps funnels whose team includes that user.
#[derive(Debug, Default)]
pub struct FunnelFilter {
    pub active: Option<bool>,
    pub q: Option<String>,
    pub member_id: Option<UserId>,
}

pub async fn list(conn: &mut Conn, filter: &FunnelFilter, page: &Page) -> Result<Vec<FunnelRecord>, AppError> {
    let mut query = funnels::table.select(FunnelRow::as_select()).into_boxed();
    if let Some(active) = filter.active {
        query = query.filter(funnels::active.eq(active));
    }
    if let Some(q) = &filter.q {
        query = query.filter(funnels::name.ilike(crate::http::contains_pattern(q)));
    }
    if let Some(member) = filter.member_id {
        let teams = funnel_members::table
            .filter(funnel_members::user_id.eq(member))
            .select(funnel_members::funnel_id);
        query = query.filter(funnels::id.eq_any(teams));
    }
    let rows = query
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load(conn)
        .await?;
    complete(conn, rows).await
}
