//! Activities in PostgreSQL: visibility through their opportunity, the timing rules, and the
//! refresh of the opportunities whose last contact they change (in the same transaction).

use chrono::{DateTime, TimeDelta, Utc};
use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::{self, Visibility};
use crate::custom_fields::filters::{self, CustomFilter};
use crate::custom_fields::values;
use crate::db::Conn;
use crate::domain::activity::ActivityKind;
use crate::domain::custom::CustomResource;
use crate::error::{AppError, FieldError};
use crate::http::pagination::Page;
use crate::ids::{ActivityId, ContactId, OpportunityId, PartnerId, UserId};
use crate::schema::activities as act;

crate::domain::text_enum! {
    /// Whether an activity is still to do or has happened.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ActivityStatus {
        /// To do; may have a `due_at`.
        Planned = "planned",
        /// Happened at `occurred_at`.
        Done = "done",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = act, check_for_backend(Pg))]
pub struct ActivityRow {
    pub id: ActivityId,
    pub kind: ActivityKind,
    pub subject: String,
    pub body: Option<String>,
    pub business_partner_id: PartnerId,
    pub opportunity_id: Option<OpportunityId>,
    pub owner_id: Option<UserId>,
    pub status: ActivityStatus,
    pub due_at: Option<DateTime<Utc>>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    pub timeline_at: DateTime<Utc>,
    pub external_id: Option<String>,
    #[diesel(
        select_expression = values::shown(CustomResource::Activity, act::custom),
        select_expression_type = values::Shown<act::custom>
    )]
    pub custom: serde_json::Value,
    pub contact_id: Option<ContactId>,
}

/// List filters (all optional, combined with AND).
#[derive(Debug, Default)]
pub struct ActivityFilter {
    pub kind: Option<ActivityKind>,
    pub status: Option<ActivityStatus>,
    pub owner_id: Option<UserId>,
    pub opportunity_id: Option<OpportunityId>,
    pub business_partner_id: Option<PartnerId>,
    pub due_before: Option<DateTime<Utc>>,
    pub due_after: Option<DateTime<Utc>>,
    pub updated_after: Option<DateTime<Utc>>,
    pub external_id: Option<String>,
    pub contact_id: Option<ContactId>,
    pub custom: Vec<CustomFilter>,
}

pub(super) const WHAT: &str = "activity";

/// How far ahead of the server's clock an `occurred_at` may lie (clients' clocks drift).
const CLOCK_SLACK: TimeDelta = TimeDelta::minutes(5);

/// The `occurred_at` a request leads to, before the status rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occurred {
    /// Not given (or, for a patch, not given and nothing to keep).
    Unset,
    /// Explicitly set to `null` by a patch.
    Cleared,
    At(DateTime<Utc>),
}

/// The `occurred_at` stored for `status`: a done activity has one (now, when not given) that
/// is not in the future; a planned one has none.
pub fn occurred_at(
    status: ActivityStatus,
    occurred: Occurred,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, FieldError> {
    match (status, occurred) {
        (ActivityStatus::Done, Occurred::Unset) => Ok(Some(now)),
        (ActivityStatus::Done, Occurred::Cleared) => Err(FieldError::new(
            "occurred_at",
            "required",
            "a done activity has an occurred_at; set status to planned to clear it",
        )),
        (ActivityStatus::Done, Occurred::At(at)) if at > now + CLOCK_SLACK => Err(FieldError::new(
            "occurred_at",
            "in_future",
            "occurred_at lies in the future; plan the activity with due_at instead",
        )),
        (ActivityStatus::Done, Occurred::At(at)) => Ok(Some(at)),
        (ActivityStatus::Planned, Occurred::Unset | Occurred::Cleared) => Ok(None),
        (ActivityStatus::Planned, Occurred::At(_)) => Err(FieldError::new(
            "occurred_at",
            "not_allowed",
            "a planned activity has not occurred yet: set status to done, or use due_at",
        )),
    }
}

/// The activities a caller sees, as a condition on `activities`: those without an opportunity
/// and those of opportunities the caller sees. A rep's team funnels are looked up first.
pub(super) async fn visible(
    conn: &mut Conn,
    who: Visibility,
) -> Result<Box<dyn BoxableExpression<act::table, Pg, SqlType = Bool>>, AppError> {
    Ok(match access::opportunity_ids(conn, who).await? {
        // The primary key is never null: the planner drops this condition.
        None => Box::new(act::id.is_not_null()),
        Some(seen) => Box::new(
            act::opportunity_id
                .is_null()
                .or(act::opportunity_id.assume_not_null().eq_any(seen)),
        ),
    })
}

/// One activity the caller sees; 404 otherwise.
pub async fn find(conn: &mut Conn, who: Visibility, id: ActivityId) -> Result<ActivityRow, AppError> {
    let condition = visible(conn, who).await?;
    act::table
        .find(id)
        .filter(condition)
        .select(ActivityRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

pub async fn list(
    conn: &mut Conn,
    who: Visibility,
    filter: &ActivityFilter,
    page: &Page,
) -> Result<Vec<ActivityRow>, AppError> {
    let condition = visible(conn, who).await?;
    Ok(filtered(condition, filter)
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load(conn)
        .await?)
}

/// With `count=true`, how many activities `who` sees match `filter` (see [`Page::total`]).
pub async fn total(
    conn: &mut Conn,
    who: Visibility,
    filter: &ActivityFilter,
    page: &Page,
) -> Result<Option<i64>, AppError> {
    if !page.counts() {
        return Ok(None);
    }
    let condition = visible(conn, who).await?;
    page.total(conn, filtered(condition, filter)).await
}

/// The activities matching `filter` inside `condition` (what the caller sees), unordered.
fn filtered<'a>(
    condition: Box<dyn BoxableExpression<act::table, Pg, SqlType = Bool>>,
    filter: &'a ActivityFilter,
) -> act::BoxedQuery<'a, Pg, diesel::dsl::AsSelect<ActivityRow, Pg>> {
    let mut query = act::table
        .select(ActivityRow::as_select())
        .filter(condition)
        .into_boxed();
    if let Some(kind) = filter.kind {
        query = query.filter(act::kind.eq(kind));
    }
    if let Some(status) = filter.status {
        query = query.filter(act::status.eq(status));
    }
    if let Some(owner) = filter.owner_id {
        query = query.filter(act::owner_id.eq(owner));
    }
    if let Some(opportunity) = filter.opportunity_id {
        query = query.filter(act::opportunity_id.eq(opportunity));
    }
    if let Some(partner) = filter.business_partner_id {
        query = query.filter(act::business_partner_id.eq(partner));
    }
    if let Some(before) = filter.due_before {
        query = query.filter(act::due_at.lt(before));
    }
    if let Some(after) = filter.due_after {
        query = query.filter(act::due_at.gt(after));
    }
    if let Some(after) = filter.updated_after {
        query = query.filter(act::updated_at.gt(after));
    }
    if let Some(external_id) = &filter.external_id {
        query = query.filter(act::external_id.eq(external_id));
    }
    if let Some(contact) = filter.contact_id {
        query = query.filter(act::contact_id.eq(contact));
    }
    for custom in &filter.custom {
        query = query.filter(act::id.eq_any(filters::matching(custom)));
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).map_or(DateTime::UNIX_EPOCH, |t| t.with_timezone(&Utc))
    }

    #[test]
    fn a_done_activity_occurred_now_unless_told_and_not_in_the_future() {
        let now = at("2026-11-22T10:00:00Z");
        assert_eq!(occurred_at(ActivityStatus::Done, Occurred::Unset, now), Ok(Some(now)));
        let earlier = at("2026-11-21T09:00:00Z");
        assert_eq!(
            occurred_at(ActivityStatus::Done, Occurred::At(earlier), now),
            Ok(Some(earlier))
        );
        let skewed = at("2026-11-22T10:05:00Z");
        assert_eq!(
            occurred_at(ActivityStatus::Done, Occurred::At(skewed), now),
            Ok(Some(skewed))
        );
        let future = occurred_at(ActivityStatus::Done, Occurred::At(at("2026-11-22T10:05:01Z")), now);
        assert!(future.is_err_and(|e| e.field == "occurred_at" && e.code == "in_future"));
        let cleared = occurred_at(ActivityStatus::Done, Occurred::Cleared, now);
        assert!(cleared.is_err_and(|e| e.code == "required"));
    }

    #[test]
    fn a_planned_activity_has_not_occurred() {
        let now = at("2026-11-22T10:00:00Z");
        assert_eq!(occurred_at(ActivityStatus::Planned, Occurred::Unset, now), Ok(None));
        assert_eq!(occurred_at(ActivityStatus::Planned, Occurred::Cleared, now), Ok(None));
        let given = occurred_at(ActivityStatus::Planned, Occurred::At(now), now);
        assert!(given.is_err_and(|e| e.code == "not_allowed"));
    }
}
