//! The transactional commands on quotas: each checks the quota's rules and references (one
//! 422 naming every field) and writes its event in its transaction.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::store::{QuotaRow, WHAT, find, reference_errors, taken};
use super::view::Quota;
use crate::db::{Conn, lock_version};
use crate::domain::quota::{self, Measure, Shape, Target};
use crate::error::{AppError, field_errors};
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::ids::{ArticleId, FunnelId, QuotaId, UserId};
use crate::schema::quotas;

/// The name of a quota in events.
const KEY: &str = "quota";

/// Changes of a merge patch: `None` leaves a field alone, `Some(None)` clears an optional one.
#[derive(Debug, Default)]
pub struct QuotaChanges {
    pub owner_id: Option<Option<UserId>>,
    pub funnel_id: Option<Option<FunnelId>>,
    pub period: Option<String>,
    pub measure: Option<Measure>,
    pub article_id: Option<Option<ArticleId>>,
    pub target: Option<Target>,
}

/// 422 naming every field when `row` breaks a rule or refers to what it may not (only the
/// references that differ from `before` are looked up).
async fn check(conn: &mut Conn, row: &QuotaRow, before: Option<&QuotaRow>) -> Result<(), AppError> {
    let mut errors = field_errors(quota::rules(Shape {
        has_owner: row.owner_id.is_some(),
        has_funnel: row.funnel_id.is_some(),
        measure: row.measure,
        has_article: row.article_id.is_some(),
        target: row.target,
    }));
    errors.extend(reference_errors(conn, row, before).await?);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Inserts a quota (inside the caller's transaction, see `idempotency::create`).
pub async fn insert(conn: &mut Conn, actor: &str, row: &QuotaRow) -> Result<QuotaRow, AppError> {
    check(conn, row, None).await?;
    let row: QuotaRow = diesel::insert_into(quotas::table)
        .values(row)
        .returning(QuotaRow::as_returning())
        .get_result(conn)
        .await
        .map_err(taken)?;
    let shown = Quota::from(row.clone());
    events::store::state(conn, EventType::QuotaCreated, actor, (KEY, row.id), &shown).await?;
    Ok(row)
}

/// Applies a merge patch; the merged quota must satisfy every rule (422) and stay unique (409).
/// A patch that changes nothing keeps the version and writes no event.
pub async fn update(
    conn: &mut Conn,
    actor: &str,
    id: QuotaId,
    if_match: &IfMatch,
    changes: QuotaChanges,
) -> Result<QuotaRow, AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "quotas", WHAT, &id, if_match).await?;
        let current = find(conn, id, None).await?;
        let merged = QuotaRow {
            owner_id: changes.owner_id.unwrap_or(current.owner_id),
            funnel_id: changes.funnel_id.unwrap_or(current.funnel_id),
            period: changes.period.unwrap_or_else(|| current.period.clone()),
            measure: changes.measure.unwrap_or(current.measure),
            article_id: changes.article_id.unwrap_or(current.article_id),
            target: changes.target.unwrap_or(current.target),
            ..current.clone()
        };
        if merged == current {
            return Ok(current);
        }
        check(conn, &merged, Some(&current)).await?;
        let before = events::shown(&Quota::from(current))?;
        let row: QuotaRow = diesel::update(quotas::table.find(id))
            .set((
                quotas::owner_id.eq(merged.owner_id),
                quotas::funnel_id.eq(merged.funnel_id),
                quotas::period.eq(&merged.period),
                quotas::measure.eq(merged.measure),
                quotas::article_id.eq(merged.article_id),
                quotas::target.eq(merged.target),
                quotas::updated_at.eq(diesel::dsl::now),
                quotas::version.eq(quotas::version + 1),
            ))
            .returning(QuotaRow::as_returning())
            .get_result(conn)
            .await
            .map_err(taken)?;
        let after = Quota::from(row.clone());
        events::store::updated(conn, EventType::QuotaUpdated, actor, (KEY, id), &before, &after).await?;
        Ok(row)
    })
    .await
}

pub async fn delete(conn: &mut Conn, actor: &str, id: QuotaId, if_match: &IfMatch) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "quotas", WHAT, &id, if_match).await?;
        let last: QuotaRow = diesel::delete(quotas::table.find(id))
            .returning(QuotaRow::as_returning())
            .get_result(conn)
            .await?;
        events::store::state(conn, EventType::QuotaDeleted, actor, (KEY, id), &Quota::from(last)).await
    })
    .await
}
