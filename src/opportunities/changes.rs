//! The transactional commands on opportunities: create, change, delete, and the locks and
//! refreshes other resources take when they change an opportunity's lines, activities or
//! quotes. Each validates against the database, keeps the derived columns right (see
//! `derive`) and writes its event in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::buying_centre::{self, ContactAssignment};
use super::lookups::{active_user, entry, funnel_active, partner_exists};
use super::store::{OpportunityRecord, OpportunityRow, WHAT, find};
use super::{derive, events};
use crate::access::Actor;
use crate::access::{self, Visibility};
use crate::custom_fields::values::{self, Change, Definitions, Sent};
use crate::db::Conn;
use crate::domain::custom::CustomResource;
use crate::domain::money::{Money, Percent};
use crate::domain::opportunity::{self};
use crate::domain::pipeline::Outcome;
use crate::error::{AppError, FieldError, field_errors};
use crate::events::EventType;
use crate::http::IfMatch;
use crate::ids::{FunnelId, LostReasonId, OpportunityId, PartnerId, StageId, UserId};
use crate::schema::{activities, classes, opportunities as opp, opportunity_stage_changes as changes};

diesel::define_sql_function! {
    /// The time now, not the transaction's start (`now()`): taken after a row lock, it orders
    /// the changes serialised by that lock as they happened.
    fn clock_timestamp() -> Timestamptz;
}

/// A new opportunity as the caller asked for it; the store fills in the defaults.
#[derive(Debug, Clone)]
pub struct NewOpportunity {
    pub subject: String,
    pub description: Option<String>,
    pub business_partner_id: PartnerId,
    pub class_id: String,
    pub stage_id: StageId,
    pub funnel_id: Option<FunnelId>,
    pub owner_id: Option<UserId>,
    pub currency: Option<String>,
    pub target_value: Option<Money>,
    pub probability_override: Option<Percent>,
    pub expected_close_date: Option<NaiveDate>,
    pub external_id: Option<String>,
    /// The `custom` object the body sent (checked in the write).
    pub custom: Option<Sent>,
    /// Its contact persons; `None` when the body has no `contacts` (a create then has none, an
    /// upsert keeps those the opportunity has).
    pub contacts: Option<Vec<ContactAssignment>>,
}

/// 422 with `errors` unless there are none.
pub(super) fn validation(errors: Vec<FieldError>) -> Result<(), AppError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Errors of a reference to a user, a partner, a class, a funnel or a lost reason: it must
/// exist and (where it can be switched off) be active.
pub(super) fn reference(
    field: &str,
    what: &str,
    id: &(dyn std::fmt::Display + Sync),
    active: Option<bool>,
) -> Option<FieldError> {
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

/// Adds a history entry for opportunity `id` entering `to`, with the values it now has.
pub(super) async fn record_stage(
    conn: &mut Conn,
    id: OpportunityId,
    from: Option<StageId>,
    to: StageId,
    actor: &Actor,
    lost_reason: Option<LostReasonId>,
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
pub async fn lock(
    conn: &mut Conn,
    who: Visibility,
    id: OpportunityId,
    if_match: &IfMatch,
) -> Result<OpportunityRow, AppError> {
    let condition = access::opportunities_in(conn, who).await?;
    let row: OpportunityRow = opp::table
        .find(id)
        .filter(condition)
        .select(OpportunityRow::as_select())
        .for_no_key_update()
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
pub async fn lock_open(conn: &mut Conn, who: Visibility, id: OpportunityId) -> Result<OpportunityRow, AppError> {
    let row = lock(conn, who, id, &IfMatch::default()).await?;
    ensure_open(&row)?;
    Ok(row)
}

/// Bumps the version of an opportunity whose lines changed and refreshes what derives from
/// them, with an `opportunity.updated` event naming the values before (`target_value`, …);
/// the caller holds the row lock.
pub async fn touch(conn: &mut Conn, actor: &Actor, id: OpportunityId) -> Result<(), AppError> {
    let before = events::snapshot(conn, id).await?;
    touch_since(conn, actor, id, &before).await
}

/// [`touch`] for a change that began before its caller could call it (a new primary quote is
/// already in place): `before` is the opportunity as it was.
pub async fn touch_since(
    conn: &mut Conn,
    actor: &Actor,
    id: OpportunityId,
    before: &serde_json::Value,
) -> Result<(), AppError> {
    diesel::update(opp::table.find(id))
        .set((opp::updated_at.eq(diesel::dsl::now), opp::version.eq(opp::version + 1)))
        .execute(conn)
        .await?;
    derive::refresh(conn, &[id]).await?;
    let after = find(conn, Visibility::All, id).await?;
    events::lines_changed(conn, &actor.subject, before, &after).await
}

/// A merge patch of the writable fields; `Some(None)` clears an optional one.
#[derive(Debug, Default)]
pub struct OpportunityChanges {
    pub subject: Option<String>,
    pub description: Option<Option<String>>,
    pub business_partner_id: Option<PartnerId>,
    pub class_id: Option<String>,
    pub funnel_id: Option<FunnelId>,
    pub stage_id: Option<StageId>,
    pub owner_id: Option<UserId>,
    pub currency: Option<String>,
    pub target_value: Option<Money>,
    pub probability_override: Option<Option<Percent>>,
    pub expected_close_date: Option<Option<NaiveDate>>,
    pub external_id: Option<Option<String>>,
    /// Merged onto the custom values (a key set to null is removed).
    pub custom: Option<Sent>,
    /// Replaces its contact persons.
    pub contacts: Option<Vec<ContactAssignment>>,
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = opp)]
struct Columns<'a> {
    subject: Option<&'a str>,
    description: Option<Option<&'a str>>,
    business_partner_id: Option<PartnerId>,
    class_id: Option<&'a str>,
    funnel_id: Option<FunnelId>,
    stage_id: Option<StageId>,
    owner_id: Option<UserId>,
    currency: Option<&'a str>,
    target_value: Option<Money>,
    probability_override: Option<Option<Percent>>,
    expected_close_date: Option<Option<NaiveDate>>,
    external_id: Option<Option<&'a str>>,
}

/// Checks the references and custom values a patch changes (and the custom values a new stage
/// requires); one 422 naming every bad field. Answers the custom values' change.
async fn check_changes(conn: &mut Conn, current: &OpportunityRow, c: &OpportunityChanges) -> Result<Change, AppError> {
    let mut errors = Vec::new();
    let shown = values::object(&current.custom);
    let moved = c.stage_id.filter(|stage| *stage != current.stage_id);
    let custom = if c.custom.as_ref().is_some_and(|sent| !sent.is_empty()) || moved.is_some() {
        let definitions = Definitions::load(conn, CustomResource::Opportunity).await?;
        match definitions.check(&shown, c.custom.as_ref()) {
            Ok(custom) => {
                errors.extend(
                    moved
                        .map(|stage| definitions.missing_for(&custom.after, stage))
                        .unwrap_or_default(),
                );
                custom
            }
            Err(wrong) => {
                errors.extend(wrong);
                Change::default()
            }
        }
    } else {
        Change::default()
    };
    if let Some(partner) = c.business_partner_id {
        errors.extend(reference(
            "business_partner_id",
            "business partner",
            &partner,
            partner_exists(conn, partner).await?,
        ));
    }
    check_contacts(conn, current, c, &mut errors).await?;
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
        errors.extend(field_errors(opportunity::check_open_entry(
            entered,
            current.line_count,
            "close an opportunity with win, lose or stage",
        )));
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
    Ok(custom)
}

/// Checks the contacts a patch gives against the partner the opportunity will have; a new
/// partner needs new contacts when it has some (`contacts[i].contact_id`, `contacts`).
async fn check_contacts(
    conn: &mut Conn,
    current: &OpportunityRow,
    c: &OpportunityChanges,
    errors: &mut Vec<FieldError>,
) -> Result<(), AppError> {
    let partner = c.business_partner_id.unwrap_or(current.business_partner_id);
    if c.contacts.is_none() && partner == current.business_partner_id {
        return Ok(());
    }
    let kept: Vec<_> = buying_centre::of(conn, current.id)
        .await?
        .into_iter()
        .map(|k| k.contact_id)
        .collect();
    match &c.contacts {
        Some(list) => buying_centre::check(conn, partner, list, &kept, errors).await,
        None if !kept.is_empty() => {
            errors.push(FieldError::new(
                "contacts",
                "mismatch",
                format!(
                    "its contacts are persons of business partner {}: give the contacts of business partner {partner} \
                     (or []) with the new business_partner_id",
                    current.business_partner_id
                ),
            ));
            Ok(())
        }
        None => Ok(()),
    }
}

/// Applies a merge patch to an open opportunity; a changed stage is recorded as a move.
pub async fn update(
    conn: &mut Conn,
    actor: &Actor,
    id: OpportunityId,
    if_match: &IfMatch,
    c: OpportunityChanges,
) -> Result<OpportunityRecord, AppError> {
    conn.transaction(async |conn| {
        let current = lock(conn, actor.who, id, if_match).await?;
        ensure_open(&current)?;
        let custom = check_changes(conn, &current, &c).await?;
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
            buying_centre::ensure_activities_follow(conn, id, partner).await?;
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
            external_id: c.external_id.as_ref().map(Option::as_deref),
        };
        diesel::update(opp::table.find(id))
            .set((
                columns,
                opp::custom.eq(values::merged(opp::custom, &custom)),
                opp::updated_at.eq(diesel::dsl::now),
                opp::version.eq(opp::version + 1),
            ))
            .execute(conn)
            .await?;
        if let Some(list) = &c.contacts {
            buying_centre::replace(conn, id, list).await?;
        }
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
        events::updated(conn, EventType::OpportunityUpdated, &actor.subject, &before, &after).await?;
        if moved.is_some() {
            let stages = (
                events::stage(conn, current.stage_id).await?,
                events::stage(conn, after.row.stage_id).await?,
            );
            events::moved(conn, actor, &before, &after, stages, false).await?;
        }
        Ok(after)
    })
    .await
}

/// Deletes an open opportunity with its lines and history; 409 when it is closed or has
/// activities; `opportunity.deleted` holds its last state with its lines.
pub async fn delete(conn: &mut Conn, actor: &Actor, id: OpportunityId, if_match: &IfMatch) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        let current = lock(conn, actor.who, id, if_match).await?;
        ensure_open(&current)?;
        let shown = events::snapshot(conn, id).await?;
        let last = events::with_lines(conn, id, shown).await?;
        diesel::delete(opp::table.find(id)).execute(conn).await.map_err(|e| {
            AppError::from(e).or_conflict("the opportunity has activities or quotes; delete those first")
        })?;
        events::deleted(conn, &actor.subject, id, last).await
    })
    .await
}
