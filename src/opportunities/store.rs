//! Opportunities in PostgreSQL: reads with the traffic light, and the writes that
//! keep the derived columns right (see `derive`).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{derive, events};
use crate::access::{self, Visibility};
use crate::db::Conn;
use crate::domain::money::{Money, Percent};
use crate::domain::opportunity::{self, Entry};
use crate::domain::pipeline::Outcome;
use crate::error::{AppError, FieldError};
use crate::http::IfMatch;
use crate::http::pagination::Page;
use crate::schema::{
    activities, business_partners, classes, funnel_stages, funnels, lost_reasons, opportunities as opp,
    opportunity_stage_changes as changes, stages, users,
};

crate::db::text_enum! {
    /// The traffic light of an open opportunity.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    // Named apart from the health check's schema, which would otherwise replace it in the spec.
    #[schema(as = TrafficLight)]
    pub enum Health {
        /// Contacted within the stage's (else the funnel's) `warn_after_days`.
        Green = "green",
        /// Not contacted for `warn_after_days`, but within `critical_after_days`.
        Yellow = "yellow",
        /// Not contacted for `critical_after_days` or longer ("kritisch").
        Red = "red",
    }
}

diesel::define_sql_function! {
    /// The instant before which a last contact turns an open opportunity yellow (warn days) or
    /// red (critical days): the stage's threshold, else the funnel's.
    fn health_cutoff(stage_days: Nullable<Integer>, funnel_days: Integer) -> Timestamptz;
}

diesel::define_sql_function! {
    /// The time now, not the transaction's start (`now()`): taken after a row lock, it orders
    /// the changes serialised by that lock as they happened.
    fn clock_timestamp() -> Timestamptz;
}

diesel::define_sql_function! {
    /// `green`, `yellow`, `red`, or null for a closed opportunity.
    fn opportunity_health(status: Text, last_contact_at: Timestamptz, warn: Timestamptz, critical: Timestamptz)
        -> Nullable<Text>;
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = opp, check_for_backend(Pg))]
pub struct OpportunityRow {
    pub id: Uuid,
    pub number: String,
    pub subject: String,
    pub description: Option<String>,
    pub business_partner_id: Uuid,
    pub class_id: String,
    pub funnel_id: Uuid,
    pub stage_id: Uuid,
    pub owner_id: Uuid,
    pub currency: String,
    pub status: Outcome,
    pub probability_override: Option<Percent>,
    pub probability: Percent,
    pub target_value: Money,
    pub weighted_value: Money,
    pub line_count: i32,
    pub quantity: Decimal,
    pub metric: Option<Decimal>,
    pub expected_close_date: Option<NaiveDate>,
    pub last_contact_at: DateTime<Utc>,
    pub stage_entered_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub lost_reason_id: Option<Uuid>,
    pub lost_note: Option<String>,
    pub erp_reference: Option<String>,
    pub erp_handed_off_at: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

/// An opportunity as read: its row, its traffic light and its activities per kind.
#[derive(Debug, Clone)]
pub struct OpportunityRecord {
    pub row: OpportunityRow,
    pub health: Option<Health>,
    pub activity_counts: BTreeMap<String, i64>,
    pub primary_quote_id: Option<Uuid>,
}

/// Whether the caller sees opportunity `id` (404 otherwise: others' opportunities do not exist
/// for a rep).
pub async fn check_visible(conn: &mut Conn, who: Visibility, id: Uuid) -> Result<(), AppError> {
    let condition = access::opportunities_in(conn, who).await?;
    let seen: bool = diesel::select(diesel::dsl::exists(opp::table.find(id).filter(condition)))
        .get_result(conn)
        .await?;
    if seen {
        Ok(())
    } else {
        Err(AppError::not_found(WHAT, id))
    }
}

const WHAT: &str = "opportunity";

/// List filters (all optional, combined with AND).
#[derive(Debug, Default)]
pub struct OpportunityFilter {
    pub status: Option<Outcome>,
    pub owner_id: Option<Uuid>,
    pub funnel_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    pub class_id: Option<String>,
    pub business_partner_id: Option<Uuid>,
    pub health: Option<Health>,
    pub close_from: Option<NaiveDate>,
    pub close_to: Option<NaiveDate>,
    pub updated_after: Option<DateTime<Utc>>,
    pub q: Option<String>,
}

/// The read query: opportunities with their stage and funnel (for the thresholds).
macro_rules! reading {
    () => {
        opp::table.inner_join(stages::table).inner_join(funnels::table).select((
            OpportunityRow::as_select(),
            opportunity_health(
                opp::status,
                opp::last_contact_at,
                health_cutoff(stages::warn_after_days, funnels::warn_after_days),
                health_cutoff(stages::critical_after_days, funnels::critical_after_days),
            ),
        ))
    };
}

pub async fn find(conn: &mut Conn, who: Visibility, id: Uuid) -> Result<OpportunityRecord, AppError> {
    let condition = access::opportunities_in(conn, who).await?;
    let row = reading!()
        .filter(opp::id.eq(id))
        .filter(condition)
        .first::<(OpportunityRow, Option<String>)>(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))?;
    complete(conn, vec![row])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

pub async fn list(
    conn: &mut Conn,
    who: Visibility,
    filter: &OpportunityFilter,
    page: &Page,
) -> Result<Vec<OpportunityRecord>, AppError> {
    let condition = access::opportunities_in(conn, who).await?;
    let mut query = reading!().filter(condition).into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(opp::status.eq(status));
    }
    if let Some(owner) = filter.owner_id {
        query = query.filter(opp::owner_id.eq(owner));
    }
    if let Some(funnel) = filter.funnel_id {
        query = query.filter(opp::funnel_id.eq(funnel));
    }
    if let Some(stage) = filter.stage_id {
        query = query.filter(opp::stage_id.eq(stage));
    }
    if let Some(class) = &filter.class_id {
        query = query.filter(opp::class_id.eq(class.clone()));
    }
    if let Some(partner) = filter.business_partner_id {
        query = query.filter(opp::business_partner_id.eq(partner));
    }
    if let Some(from) = filter.close_from {
        query = query.filter(opp::expected_close_date.ge(from));
    }
    if let Some(to) = filter.close_to {
        query = query.filter(opp::expected_close_date.le(to));
    }
    if let Some(after) = filter.updated_after {
        query = query.filter(opp::updated_at.gt(after));
    }
    if let Some(q) = &filter.q {
        let pattern = crate::http::contains_pattern(q);
        query = query.filter(opp::subject.ilike(pattern.clone()).or(opp::number.ilike(pattern)));
    }
    // Range conditions on last_contact_at (not a test of the health text) so that an index
    // on (funnel_id, stage_id, last_contact_at) serves them.
    let warn = health_cutoff(stages::warn_after_days, funnels::warn_after_days);
    let critical = health_cutoff(stages::critical_after_days, funnels::critical_after_days);
    query = match filter.health {
        None => query,
        Some(Health::Green) => query.filter(opp::status.eq(Outcome::Open).and(opp::last_contact_at.gt(warn))),
        Some(Health::Yellow) => query.filter(
            opp::status
                .eq(Outcome::Open)
                .and(opp::last_contact_at.le(warn))
                .and(opp::last_contact_at.gt(critical)),
        ),
        // Not green first, as in opportunity_health: a stage may lower only the critical days
        // below the funnel's warn days.
        Some(Health::Red) => query.filter(
            opp::status
                .eq(Outcome::Open)
                .and(opp::last_contact_at.le(warn))
                .and(opp::last_contact_at.le(critical)),
        ),
    };
    let rows = query
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load::<(OpportunityRow, Option<String>)>(conn)
        .await?;
    complete(conn, rows).await
}

/// Adds the activity counts and primary quotes of a page of opportunities (a query each).
async fn complete(
    conn: &mut Conn,
    rows: Vec<(OpportunityRow, Option<String>)>,
) -> Result<Vec<OpportunityRecord>, AppError> {
    let ids: Vec<Uuid> = rows.iter().map(|(row, _)| row.id).collect();
    let mut counts: HashMap<Uuid, BTreeMap<String, i64>> = HashMap::new();
    for (id, kind, n) in activities::table
        .filter(activities::opportunity_id.eq_any(&ids))
        .group_by((activities::opportunity_id, activities::kind))
        .select((activities::opportunity_id, activities::kind, diesel::dsl::count_star()))
        .load::<(Option<Uuid>, String, i64)>(conn)
        .await?
    {
        if let Some(id) = id {
            counts.entry(id).or_default().insert(kind, n);
        }
    }
    let primaries: HashMap<Uuid, Uuid> = crate::quotes::store::primaries(conn, &ids).await?.into_iter().collect();
    Ok(rows
        .into_iter()
        .map(|(row, health)| OpportunityRecord {
            activity_counts: counts.remove(&row.id).unwrap_or_default(),
            primary_quote_id: primaries.get(&row.id).copied(),
            health: health.and_then(|h| h.parse().ok()),
            row,
        })
        .collect())
}

/// Who changes something: the token's subject, recorded in the history.
#[derive(Debug, Clone)]
pub struct Actor {
    pub who: Visibility,
    pub subject: String,
    pub user_id: Option<Uuid>,
}

/// A new opportunity as the caller asked for it; the store fills in the defaults.
#[derive(Debug, Clone)]
pub struct NewOpportunity {
    pub subject: String,
    pub description: Option<String>,
    pub business_partner_id: Uuid,
    pub class_id: String,
    pub stage_id: Uuid,
    pub funnel_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub currency: Option<String>,
    pub target_value: Option<Money>,
    pub probability_override: Option<Percent>,
    pub expected_close_date: Option<NaiveDate>,
}

/// 422 with `errors` unless there are none.
fn validation(errors: Vec<FieldError>) -> Result<(), AppError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

async fn active_user(conn: &mut Conn, id: Uuid) -> Result<Option<bool>, AppError> {
    Ok(users::table
        .find(id)
        .select(users::active)
        .first(conn)
        .await
        .optional()?)
}

/// Errors of a reference to a user, a partner, a class, a funnel or a lost reason: it must
/// exist and (where it can be switched off) be active.
fn reference(field: &str, what: &str, id: &(dyn std::fmt::Display + Sync), active: Option<bool>) -> Option<FieldError> {
    match active {
        None => Some(FieldError::new(
            field,
            "not_found",
            format!("{what} {id} does not exist"),
        )),
        Some(false) => Some(FieldError::new(field, "inactive", format!("{what} {id} is not active"))),
        Some(true) => None,
    }
}

async fn partner_exists(conn: &mut Conn, id: Uuid) -> Result<Option<bool>, AppError> {
    let found: bool = diesel::select(diesel::dsl::exists(business_partners::table.find(id)))
        .get_result(conn)
        .await?;
    Ok(found.then_some(true))
}

async fn funnel_active(conn: &mut Conn, id: Uuid) -> Result<Option<bool>, AppError> {
    Ok(funnels::table
        .find(id)
        .select(funnels::active)
        .first(conn)
        .await
        .optional()?)
}

/// The stage `id` as funnel `funnel` sees it; `None` when there is no such stage.
async fn entry(conn: &mut Conn, funnel: Uuid, id: Uuid) -> Result<Option<Entry>, AppError> {
    let stage: Option<(Outcome, bool, bool)> = stages::table
        .find(id)
        .select((stages::outcome, stages::requires_lines, stages::active))
        .first(conn)
        .await
        .optional()?;
    let Some((outcome, requires_lines, active)) = stage else {
        return Ok(None);
    };
    let in_funnel: bool = diesel::select(diesel::dsl::exists(funnel_stages::table.find((funnel, id))))
        .get_result(conn)
        .await?;
    Ok(Some(Entry {
        outcome,
        requires_lines,
        active,
        in_funnel,
    }))
}

/// Creates an opportunity in an open stage: funnel and owner default from the class (the
/// owner then to the creating user), the currency from the settings.
pub async fn insert(conn: &mut Conn, actor: &Actor, new: NewOpportunity) -> Result<OpportunityRecord, AppError> {
    conn.transaction(async |conn| {
        let mut errors = Vec::new();
        let class: Option<(bool, Option<Uuid>, Option<Uuid>)> = classes::table
            .find(&new.class_id)
            .select((classes::active, classes::default_funnel_id, classes::default_owner_id))
            .first(conn)
            .await
            .optional()?;
        errors.extend(reference("class_id", "class", &new.class_id, class.map(|c| c.0)));
        let (class_funnel, class_owner) = class.map_or((None, None), |c| (c.1, c.2));
        errors.extend(reference(
            "business_partner_id",
            "business partner",
            &new.business_partner_id,
            partner_exists(conn, new.business_partner_id).await?,
        ));
        let funnel = new.funnel_id.or(class_funnel);
        let owner = new.owner_id.or(class_owner).or(actor.user_id);
        match funnel {
            None if class.is_some() => errors.push(FieldError::new(
                "funnel_id",
                "required",
                "the class has no default funnel: give funnel_id",
            )),
            None => {}
            Some(funnel) => {
                let funnel_error = reference("funnel_id", "funnel", &funnel, funnel_active(conn, funnel).await?);
                if funnel_error.is_none() {
                    let stage = entry(conn, funnel, new.stage_id).await?;
                    errors.extend(opportunity::check_open_entry(
                        stage,
                        0,
                        "a new opportunity starts in an open stage; win or lose it afterwards",
                    ));
                }
                errors.extend(funnel_error);
            }
        }
        match owner {
            None => errors.push(FieldError::new(
                "owner_id",
                "required",
                "the class has no default owner and the caller is no user: give owner_id",
            )),
            Some(owner) => errors.extend(reference("owner_id", "user", &owner, active_user(conn, owner).await?)),
        }
        validation(errors)?;
        let (Some(funnel), Some(owner)) = (funnel, owner) else {
            return Err(AppError::Validation(vec![]));
        };
        if !access::covers(conn, actor.who, funnel, owner).await? {
            return Err(AppError::Forbidden(
                "reps create opportunities they own or in funnels of their team".to_owned(),
            ));
        }
        let currency = match new.currency {
            Some(currency) => currency,
            None => crate::settings::store::default_currency(conn).await?,
        };
        let id = Uuid::now_v7();
        diesel::insert_into(opp::table)
            .values((
                opp::id.eq(id),
                opp::subject.eq(&new.subject),
                opp::description.eq(&new.description),
                opp::business_partner_id.eq(new.business_partner_id),
                opp::class_id.eq(&new.class_id),
                opp::funnel_id.eq(funnel),
                opp::stage_id.eq(new.stage_id),
                opp::owner_id.eq(owner),
                opp::currency.eq(currency),
                opp::status.eq(Outcome::Open),
                opp::probability_override.eq(new.probability_override),
                opp::probability.eq(Percent::ZERO),
                opp::target_value.eq(new.target_value.unwrap_or_default()),
                opp::expected_close_date.eq(new.expected_close_date),
                opp::created_by.eq(&actor.subject),
            ))
            .execute(conn)
            .await?;
        record_stage(conn, id, None, new.stage_id, actor, None, None).await?;
        let record = find(conn, Visibility::All, id).await?;
        events::created(conn, actor, &record).await?;
        Ok(record)
    })
    .await
}

/// Adds a history entry for opportunity `id` entering `to`, with the values it now has.
async fn record_stage(
    conn: &mut Conn,
    id: Uuid,
    from: Option<Uuid>,
    to: Uuid,
    actor: &Actor,
    lost_reason: Option<Uuid>,
    note: Option<&str>,
) -> Result<(), AppError> {
    // Probability and value as they are after the move: refresh first. The change happened when
    // the opportunity entered the stage: under its row lock (`clock_timestamp()`, not the
    // transaction's start), so concurrent moves are recorded in the order they were made.
    derive::refresh(conn, &[id]).await?;
    let (probability, target, entered_at): (Percent, Money, DateTime<Utc>) = opp::table
        .find(id)
        .select((opp::probability, opp::target_value, opp::stage_entered_at))
        .first(conn)
        .await?;
    diesel::insert_into(changes::table)
        .values((
            changes::id.eq(Uuid::now_v7()),
            changes::opportunity_id.eq(id),
            changes::from_stage_id.eq(from),
            changes::to_stage_id.eq(to),
            changes::probability.eq(probability),
            changes::target_value.eq(target),
            changes::lost_reason_id.eq(lost_reason),
            changes::note.eq(note),
            changes::changed_by.eq(&actor.subject),
            changes::changed_at.eq(entered_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Locks a visible opportunity for the rest of the transaction and checks `If-Match`.
pub async fn lock(conn: &mut Conn, who: Visibility, id: Uuid, if_match: &IfMatch) -> Result<OpportunityRow, AppError> {
    let condition = access::opportunities_in(conn, who).await?;
    let row: OpportunityRow = opp::table
        .find(id)
        .filter(condition)
        .select(OpportunityRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))?;
    if_match.check(row.version)?;
    Ok(row)
}

/// 409 unless the opportunity is open: closed ones are read-only until reopened.
pub fn ensure_open(row: &OpportunityRow) -> Result<(), AppError> {
    if row.status == Outcome::Open {
        Ok(())
    } else {
        Err(AppError::Conflict(format!(
            "opportunity {} is {}: it is read-only until reopened",
            row.number, row.status
        )))
    }
}

/// Locks an open, visible opportunity the caller may change (lines, activities).
pub async fn lock_open(conn: &mut Conn, who: Visibility, id: Uuid) -> Result<OpportunityRow, AppError> {
    let row = lock(conn, who, id, &IfMatch::default()).await?;
    ensure_open(&row)?;
    Ok(row)
}

/// Bumps the version of an opportunity whose lines changed and refreshes what derives from
/// them, with an `opportunity.updated` event naming the values before (`target_value`, …);
/// the caller holds the row lock.
pub async fn touch(conn: &mut Conn, actor: &Actor, id: Uuid) -> Result<(), AppError> {
    let before = events::snapshot(conn, id).await?;
    touch_since(conn, actor, id, &before).await
}

/// [`touch`] for a change that began before its caller could call it (a new primary quote is
/// already in place): `before` is the opportunity as it was.
pub async fn touch_since(conn: &mut Conn, actor: &Actor, id: Uuid, before: &serde_json::Value) -> Result<(), AppError> {
    diesel::update(opp::table.find(id))
        .set((opp::updated_at.eq(diesel::dsl::now), opp::version.eq(opp::version + 1)))
        .execute(conn)
        .await?;
    derive::refresh(conn, &[id]).await?;
    let after = find(conn, Visibility::All, id).await?;
    events::updated(conn, &actor.subject, before, &after).await
}

/// A merge patch of the writable fields; `Some(None)` clears an optional one.
#[derive(Debug, Default)]
pub struct OpportunityChanges {
    pub subject: Option<String>,
    pub description: Option<Option<String>>,
    pub business_partner_id: Option<Uuid>,
    pub class_id: Option<String>,
    pub funnel_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub currency: Option<String>,
    pub target_value: Option<Money>,
    pub probability_override: Option<Option<Percent>>,
    pub expected_close_date: Option<Option<NaiveDate>>,
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = opp)]
struct Columns<'a> {
    subject: Option<&'a str>,
    description: Option<Option<&'a str>>,
    business_partner_id: Option<Uuid>,
    class_id: Option<&'a str>,
    funnel_id: Option<Uuid>,
    stage_id: Option<Uuid>,
    owner_id: Option<Uuid>,
    currency: Option<&'a str>,
    target_value: Option<Money>,
    probability_override: Option<Option<Percent>>,
    expected_close_date: Option<Option<NaiveDate>>,
}

/// Checks the references a patch changes; one 422 naming every bad field.
async fn check_changes(conn: &mut Conn, current: &OpportunityRow, c: &OpportunityChanges) -> Result<(), AppError> {
    let mut errors = Vec::new();
    if let Some(partner) = c.business_partner_id {
        errors.extend(reference(
            "business_partner_id",
            "business partner",
            &partner,
            partner_exists(conn, partner).await?,
        ));
    }
    if let Some(class) = &c.class_id {
        let active: Option<bool> = classes::table
            .find(class)
            .select(classes::active)
            .first(conn)
            .await
            .optional()?;
        errors.extend(reference("class_id", "class", class, active));
    }
    if let Some(owner) = c.owner_id {
        errors.extend(reference("owner_id", "user", &owner, active_user(conn, owner).await?));
    }
    let funnel = c.funnel_id.unwrap_or(current.funnel_id);
    let funnel_error = match c.funnel_id {
        Some(new_funnel) => reference(
            "funnel_id",
            "funnel",
            &new_funnel,
            funnel_active(conn, new_funnel).await?,
        ),
        None => None,
    };
    let stage = c.stage_id.unwrap_or(current.stage_id);
    // A funnel that is not there has no stages to check against.
    if funnel_error.is_none() && (c.stage_id.is_some() || c.funnel_id.is_some()) {
        let entered = entry(conn, funnel, stage).await?;
        errors.extend(opportunity::check_open_entry(
            entered,
            current.line_count,
            "close an opportunity with win, lose or stage",
        ));
    }
    errors.extend(funnel_error);
    validation(errors)?;
    if c.target_value.is_some() && current.line_count > 0 {
        return Err(AppError::Conflict(
            "target_value is the sum of the lines while the opportunity has lines".to_owned(),
        ));
    }
    if c.currency.as_ref().is_some_and(|cur| *cur != current.currency) && current.line_count > 0 {
        return Err(AppError::Conflict(
            "the lines are priced in the current currency: remove them before changing it".to_owned(),
        ));
    }
    Ok(())
}

/// Applies a merge patch to an open opportunity; a changed stage is recorded as a move.
pub async fn update(
    conn: &mut Conn,
    actor: &Actor,
    id: Uuid,
    if_match: &IfMatch,
    c: OpportunityChanges,
) -> Result<OpportunityRecord, AppError> {
    conn.transaction(async |conn| {
        let current = lock(conn, actor.who, id, if_match).await?;
        ensure_open(&current)?;
        check_changes(conn, &current, &c).await?;
        let before = events::snapshot(conn, id).await?;
        // The rule of creation holds for handing over: a rep gives opportunities to others
        // only in funnels of their team.
        let (funnel, owner) = (
            c.funnel_id.unwrap_or(current.funnel_id),
            c.owner_id.unwrap_or(current.owner_id),
        );
        if (c.funnel_id.is_some() || c.owner_id.is_some()) && !access::covers(conn, actor.who, funnel, owner).await? {
            return Err(AppError::Forbidden(
                "reps give opportunities to others only in funnels of their team".to_owned(),
            ));
        }
        if let Some(partner) = c.business_partner_id.filter(|p| *p != current.business_partner_id) {
            // Its activities are contacts with the opportunity's partner: they move along.
            diesel::update(activities::table.filter(activities::opportunity_id.eq(id)))
                .set(activities::business_partner_id.eq(partner))
                .execute(conn)
                .await?;
        }
        let moved = c.stage_id.filter(|stage| *stage != current.stage_id);
        let columns = Columns {
            subject: c.subject.as_deref(),
            description: c.description.as_ref().map(Option::as_deref),
            business_partner_id: c.business_partner_id,
            class_id: c.class_id.as_deref(),
            funnel_id: c.funnel_id,
            stage_id: c.stage_id,
            owner_id: c.owner_id,
            currency: c.currency.as_deref(),
            target_value: c.target_value,
            probability_override: c.probability_override,
            expected_close_date: c.expected_close_date,
        };
        diesel::update(opp::table.find(id))
            .set((
                columns,
                opp::updated_at.eq(diesel::dsl::now),
                opp::version.eq(opp::version + 1),
            ))
            .execute(conn)
            .await?;
        if let Some(stage) = moved {
            diesel::update(opp::table.find(id))
                .set(opp::stage_entered_at.eq(clock_timestamp()))
                .execute(conn)
                .await?;
            record_stage(conn, id, Some(current.stage_id), stage, actor, None, None).await?;
        } else {
            derive::refresh(conn, &[id]).await?;
        }
        let after = find(conn, Visibility::All, id).await?;
        events::updated(conn, &actor.subject, &before, &after).await?;
        if moved.is_some() {
            events::moved(conn, actor, &before, &after, current.stage_id, false).await?;
        }
        Ok(after)
    })
    .await
}

/// Where a move goes.
#[derive(Debug, Clone, Copy)]
pub enum Destination {
    /// A stage of the funnel, by id.
    Stage(Uuid),
    /// The funnel's won stage.
    Won,
    /// The funnel's first lost stage.
    Lost,
}

/// A stage move with its lost reason and note.
#[derive(Debug, Clone)]
pub struct Move {
    pub to: Destination,
    pub lost_reason_id: Option<Uuid>,
    pub note: Option<String>,
}

/// The funnel's stage with `outcome` that comes first in its order.
async fn funnel_stage(conn: &mut Conn, funnel: Uuid, outcome: Outcome) -> Result<Uuid, AppError> {
    funnel_stages::table
        .inner_join(stages::table)
        .filter(funnel_stages::funnel_id.eq(funnel))
        .filter(stages::outcome.eq(outcome))
        .order(funnel_stages::position)
        .select(stages::id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::Conflict(format!("the funnel has no {outcome} stage")))
}

/// Moves an open opportunity to another stage of its funnel, closing it when the stage is won
/// or lost. Moving to the stage it is in changes nothing.
pub async fn move_to(
    conn: &mut Conn,
    actor: &Actor,
    id: Uuid,
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
        let mut errors = opportunity::check_entry(entered, current.line_count, m.lost_reason_id.is_some());
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
    id: Uuid,
    if_match: &IfMatch,
    stage: Uuid,
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
        validation(opportunity::check_open_entry(
            entered,
            current.line_count,
            "reopen into an open stage",
        ))?;
        let before = events::snapshot(conn, id).await?;
        diesel::update(opp::table.find(id))
            .set((
                opp::stage_id.eq(stage),
                opp::status.eq(Outcome::Open),
                opp::stage_entered_at.eq(clock_timestamp()),
                opp::closed_at.eq(None::<DateTime<Utc>>),
                opp::lost_reason_id.eq(None::<Uuid>),
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
    id: Uuid,
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
        diesel::update(opp::table.find(id))
            .set((
                opp::erp_reference.eq(&reference),
                opp::erp_handed_off_at.eq(diesel::dsl::now),
                opp::updated_at.eq(diesel::dsl::now),
                opp::version.eq(opp::version + 1),
            ))
            .execute(conn)
            .await?;
        find(conn, Visibility::All, id).await
    })
    .await
}

/// Deletes an open opportunity with its lines and history; 409 when it is closed or has
/// activities.
pub async fn delete(conn: &mut Conn, who: Visibility, id: Uuid, if_match: &IfMatch) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        let current = lock(conn, who, id, if_match).await?;
        ensure_open(&current)?;
        diesel::delete(opp::table.find(id)).execute(conn).await.map_err(|e| {
            AppError::from(e).or_conflict("the opportunity has activities or quotes; delete those first")
        })?;
        Ok(())
    })
    .await
}

/// One entry of an opportunity's stage history.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = changes, check_for_backend(Pg))]
pub struct StageChangeRow {
    pub id: Uuid,
    pub from_stage_id: Option<Uuid>,
    pub to_stage_id: Uuid,
    pub probability: Percent,
    pub target_value: Money,
    pub lost_reason_id: Option<Uuid>,
    pub note: Option<String>,
    pub changed_by: Option<String>,
    pub changed_at: DateTime<Utc>,
}

/// The stage history of a visible opportunity, oldest first.
pub async fn history(conn: &mut Conn, who: Visibility, id: Uuid) -> Result<Vec<StageChangeRow>, AppError> {
    check_visible(conn, who, id).await?;
    Ok(changes::table
        .filter(changes::opportunity_id.eq(id))
        .order((changes::changed_at, changes::id))
        .select(StageChangeRow::as_select())
        .load(conn)
        .await?)
}
