//! Stages in PostgreSQL.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::view::Stage;
use crate::db::Conn;
use crate::domain::money::Percent;
use crate::domain::pipeline::{self, Outcome};
use crate::error::{AppError, field_errors};
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::http::pagination::Page;
use crate::ids::StageId;
use crate::opportunities::derive::{self, Affected};
use crate::schema::{funnel_stages, stages};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = stages, check_for_backend(diesel::pg::Pg))]
pub struct StageRow {
    pub id: StageId,
    pub code: String,
    pub name: String,
    pub icon: Option<String>,
    pub probability: Percent,
    pub outcome: Outcome,
    pub requires_lines: bool,
    pub warn_after_days: Option<i32>,
    pub critical_after_days: Option<i32>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// A merge patch of the writable fields; `Some(None)` clears an optional one.
#[derive(Debug, Default)]
pub struct StageChanges {
    pub code: Option<String>,
    pub name: Option<String>,
    pub icon: Option<Option<String>>,
    pub probability: Option<Percent>,
    pub outcome: Option<Outcome>,
    pub requires_lines: Option<bool>,
    pub warn_after_days: Option<Option<i32>>,
    pub critical_after_days: Option<Option<i32>>,
    pub active: Option<bool>,
}

#[derive(Debug, Default)]
pub struct StageFilter {
    pub active: Option<bool>,
    pub outcome: Option<Outcome>,
    pub q: Option<String>,
}

const WHAT: &str = "stage";

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

pub async fn find(conn: &mut Conn, id: StageId) -> Result<StageRow, AppError> {
    stages::table
        .find(id)
        .select(StageRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

pub async fn list(conn: &mut Conn, filter: &StageFilter, page: &Page) -> Result<Vec<StageRow>, AppError> {
    let mut query = stages::table.select(StageRow::as_select()).into_boxed();
    if let Some(active) = filter.active {
        query = query.filter(stages::active.eq(active));
    }
    if let Some(outcome) = filter.outcome {
        query = query.filter(stages::outcome.eq(outcome));
    }
    if let Some(q) = &filter.q {
        let pattern = crate::http::contains_pattern(q);
        query = query.filter(stages::code.ilike(pattern.clone()).or(stages::name.ilike(pattern)));
    }
    Ok(query
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load(conn)
        .await?)
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
