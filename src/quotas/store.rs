//! Quotas in PostgreSQL, and the checks of what a quota refers to.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::Conn;
use crate::domain::quota::{Measure, Target};
use crate::error::{AppError, FieldError};
use crate::http::pagination::Page;
use crate::ids::{ArticleId, FunnelId, QuotaId, UserId};
use crate::schema::{articles, funnels, quotas, users};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = quotas, check_for_backend(diesel::pg::Pg))]
pub struct QuotaRow {
    pub id: QuotaId,
    pub owner_id: Option<UserId>,
    pub funnel_id: Option<FunnelId>,
    pub period: String,
    pub measure: Measure,
    pub article_id: Option<ArticleId>,
    pub target: Target,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

pub(super) const WHAT: &str = "quota";

/// A taken (owner or funnel, period, measure, article) is a 409.
pub(super) fn taken(error: impl Into<AppError>) -> AppError {
    error
        .into()
        .or_conflict("a quota for this owner or funnel, period, measure and article exists already")
}

/// The quota, when `owner` (a rep's fence, see `Principal::quota_owner`) may see it; 404
/// otherwise.
pub async fn find(conn: &mut Conn, id: QuotaId, owner: Option<UserId>) -> Result<QuotaRow, AppError> {
    let mut query = quotas::table.find(id).select(QuotaRow::as_select()).into_boxed();
    if let Some(owner) = owner {
        query = query.filter(quotas::owner_id.eq(owner));
    }
    query
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

/// Filters of the list; `fence` keeps a rep to their own quotas.
#[derive(Debug, Default)]
pub struct QuotaFilter {
    pub owner_id: Option<UserId>,
    pub funnel_id: Option<FunnelId>,
    pub period: Option<String>,
    pub fence: Option<UserId>,
}

pub async fn list(conn: &mut Conn, filter: &QuotaFilter, page: &Page) -> Result<Vec<QuotaRow>, AppError> {
    let mut query = quotas::table.select(QuotaRow::as_select()).into_boxed();
    if let Some(owner) = filter.owner_id {
        query = query.filter(quotas::owner_id.eq(owner));
    }
    if let Some(funnel) = filter.funnel_id {
        query = query.filter(quotas::funnel_id.eq(funnel));
    }
    if let Some(period) = &filter.period {
        query = query.filter(quotas::period.eq(period));
    }
    if let Some(owner) = filter.fence {
        query = query.filter(quotas::owner_id.eq(owner));
    }
    Ok(query
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load(conn)
        .await?)
}

/// The problems of the references of `row` that differ from `before` (all of them for a new
/// quota): the owner must be an active rep or manager, the funnel and the article active.
pub(super) async fn reference_errors(
    conn: &mut Conn,
    row: &QuotaRow,
    before: Option<&QuotaRow>,
) -> Result<Vec<FieldError>, AppError> {
    let mut errors = Vec::new();
    let (owner_changed, funnel_changed, article_changed) = match before {
        None => (true, true, true),
        Some(b) => (
            b.owner_id != row.owner_id,
            b.funnel_id != row.funnel_id,
            b.article_id != row.article_id,
        ),
    };
    if let Some(owner) = row.owner_id.filter(|_| owner_changed) {
        let found: Option<(String, bool)> = users::table
            .find(owner)
            .select((users::role, users::active))
            .first(conn)
            .await
            .optional()?;
        match found {
            None => errors.push(FieldError::new(
                "owner_id",
                "not_found",
                format!("user {owner} does not exist"),
            )),
            Some((_, false)) => errors.push(FieldError::new(
                "owner_id",
                "inactive",
                format!("user {owner} is inactive"),
            )),
            Some((role, true)) if !matches!(role.as_str(), "rep" | "manager") => errors.push(FieldError::new(
                "owner_id",
                "role",
                format!("user {owner} is a {role}: quotas are for reps and managers"),
            )),
            Some(_) => {}
        }
    }
    if let Some(funnel) = row.funnel_id.filter(|_| funnel_changed) {
        let active: Option<bool> = funnels::table
            .find(funnel)
            .select(funnels::active)
            .first(conn)
            .await
            .optional()?;
        match active {
            None => errors.push(FieldError::new(
                "funnel_id",
                "not_found",
                format!("funnel {funnel} does not exist"),
            )),
            Some(false) => errors.push(FieldError::new(
                "funnel_id",
                "inactive",
                format!("funnel {funnel} is inactive"),
            )),
            Some(true) => {}
        }
    }
    if let Some(article) = row.article_id.filter(|_| article_changed) {
        let active: Option<bool> = articles::table
            .find(article)
            .select(articles::active)
            .first(conn)
            .await
            .optional()?;
        match active {
            None => errors.push(FieldError::new(
                "article_id",
                "not_found",
                format!("article {article} does not exist"),
            )),
            Some(false) => errors.push(FieldError::new(
                "article_id",
                "inactive",
                format!("article {article} is inactive"),
            )),
            Some(true) => {}
        }
    }
    Ok(errors)
}
