//! The transactional commands on activities: create, change, delete, with the checks against
//! the database, the opportunity's derived values (last contact, activity counts) and the
//! events, in one transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde_json::Value;

use super::store::{ActivityRow, ActivityStatus, Occurred, WHAT, occurred_at, visible};
use super::view::Activity;
use crate::access::Actor;
use crate::access::Visibility;
use serde_json::Map;

use crate::custom_fields::values::{self, Sent};
use crate::db::Conn;
use crate::domain::activity::ActivityKind;
use crate::domain::custom::CustomResource;
use crate::error::{AppError, FieldError};
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::ids::{ActivityId, ContactId, OpportunityId, PartnerId, UserId};
use crate::opportunities::changes as opportunities;
use crate::opportunities::derive;
use crate::opportunities::events as opportunity_events;
use crate::schema::{activities as act, business_partners, contacts};

/// The name of an activity in events.
const KEY: &str = "activity";

/// Whose custom fields an activity has.
const RESOURCE: CustomResource = CustomResource::Activity;

/// A new activity as the caller asked for it; the store settles partner, owner and timing.
#[derive(Debug, Clone)]
pub struct NewActivity {
    pub kind: ActivityKind,
    pub subject: String,
    pub body: Option<String>,
    pub business_partner_id: Option<PartnerId>,
    pub opportunity_id: Option<OpportunityId>,
    pub owner_id: Option<UserId>,
    /// `None`: done when `occurred_at` is given, else planned.
    pub status: Option<ActivityStatus>,
    pub due_at: Option<DateTime<Utc>>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub external_id: Option<String>,
    /// The `custom` object the body sent (checked in the write).
    pub custom: Option<Sent>,
    pub contact_id: Option<ContactId>,
}

/// A merge patch: `None` leaves a field alone, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct ActivityChanges {
    pub kind: Option<ActivityKind>,
    pub subject: Option<String>,
    pub body: Option<Option<String>>,
    pub business_partner_id: Option<PartnerId>,
    pub opportunity_id: Option<Option<OpportunityId>>,
    pub owner_id: Option<Option<UserId>>,
    pub status: Option<ActivityStatus>,
    pub due_at: Option<Option<DateTime<Utc>>>,
    pub occurred_at: Option<Option<DateTime<Utc>>>,
    pub external_id: Option<Option<String>>,
    /// Merged onto the custom values (checked in the write).
    pub custom: Option<Sent>,
    pub contact_id: Option<Option<ContactId>>,
}

/// Locks an activity the caller sees for the rest of the transaction and checks `If-Match`.
/// `FOR NO KEY UPDATE` lets a concurrent opportunity deletion check its foreign key (and fail)
/// instead of deadlocking with the opportunity lock taken next.
async fn lock(conn: &mut Conn, who: Visibility, id: ActivityId, if_match: &IfMatch) -> Result<ActivityRow, AppError> {
    let condition = visible(conn, who).await?;
    let row = act::table
        .find(id)
        .filter(condition)
        .select(ActivityRow::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))?;
    if_match.check(row.version)?;
    Ok(row)
}

/// Creates an activity: the partner comes from the opportunity when there is one, the owner
/// defaults to the calling user; the opportunity's last contact is refreshed.
pub async fn insert(conn: &mut Conn, actor: &Actor, new: NewActivity) -> Result<ActivityRow, AppError> {
    conn.transaction(async |conn| {
        let mut errors = Vec::new();
        let default_status = if new.occurred_at.is_some() {
            ActivityStatus::Done
        } else {
            ActivityStatus::Planned
        };
        let status = new.status.unwrap_or(default_status);
        let occurred = new.occurred_at.map_or(Occurred::Unset, Occurred::At);
        let occurred_at = occurred_at(status, occurred, Utc::now()).unwrap_or_else(|e| {
            errors.push(e);
            None
        });
        let partner = place(
            conn,
            actor.who,
            Place {
                joins: new.opportunity_id,
                leaves: None,
                given_partner: new.business_partner_id,
                kept_partner: None,
            },
            &mut errors,
        )
        .await?;
        check_contact(conn, new.contact_id, partner, None, &mut errors).await?;
        let touched = affected(None, new.opportunity_id);
        let before = opportunity_events::snapshots(conn, &touched).await?;
        let owner = match (new.owner_id, actor.user_id) {
            (Some(owner), _) => check_owner(conn, owner, &mut errors).await?,
            (None, Some(caller)) => crate::users::store::exists(conn, caller).await?.then_some(caller),
            (None, None) => None,
        };
        let custom = values::check_into(conn, RESOURCE, &Map::new(), new.custom.as_ref(), &mut errors).await?;
        let values = ActivityValues {
            kind: new.kind,
            subject: new.subject,
            body: new.body,
            business_partner_id: settled(errors, partner)?,
            opportunity_id: new.opportunity_id,
            owner_id: owner,
            status,
            due_at: new.due_at,
            occurred_at,
            external_id: new.external_id,
            contact_id: new.contact_id,
        };
        let row = diesel::insert_into(act::table)
            .values((
                act::id.eq(ActivityId::generate()),
                &values,
                act::custom.eq(custom.stored()),
            ))
            .returning(ActivityRow::as_returning())
            .get_result(conn)
            .await?;
        derive::refresh(conn, &touched).await?;
        let shown = Activity::from(row.clone());
        events::store::state(conn, EventType::ActivityCreated, &actor.subject, (KEY, row.id), &shown).await?;
        effects(conn, actor, row.id, &before, &touched).await?;
        Ok(row)
    })
    .await
}

/// Changes an activity the caller sees (merge patch); refreshes the opportunities it leaves
/// and joins. Moving it back to `planned` clears `occurred_at`.
pub async fn update(
    conn: &mut Conn,
    actor: &Actor,
    id: ActivityId,
    if_match: &IfMatch,
    changes: ActivityChanges,
) -> Result<ActivityRow, AppError> {
    conn.transaction(async |conn| {
        let row = lock(conn, actor.who, id, if_match).await?;
        let mut errors = Vec::new();
        let status = changes.status.unwrap_or(row.status);
        let occurred = match changes.occurred_at {
            Some(Some(at)) => Occurred::At(at),
            Some(None) => Occurred::Cleared,
            None if status == ActivityStatus::Planned => Occurred::Unset,
            None => row.occurred_at.map_or(Occurred::Unset, Occurred::At),
        };
        let occurred_at = occurred_at(status, occurred, Utc::now()).unwrap_or_else(|e| {
            errors.push(e);
            None
        });
        let joins = changes.opportunity_id.unwrap_or(row.opportunity_id);
        let partner = place(
            conn,
            actor.who,
            Place {
                joins,
                leaves: row.opportunity_id,
                given_partner: changes.business_partner_id,
                kept_partner: Some(row.business_partner_id),
            },
            &mut errors,
        )
        .await?;
        let contact = changes.contact_id.unwrap_or(row.contact_id);
        check_contact(conn, contact, partner, row.contact_id, &mut errors).await?;
        let touched = affected(row.opportunity_id, joins);
        let before_activity = events::shown(&Activity::from(row.clone()))?;
        let before = opportunity_events::snapshots(conn, &touched).await?;
        let owner = match changes.owner_id {
            Some(Some(owner)) => check_owner(conn, owner, &mut errors).await?,
            Some(None) => None,
            None => row.owner_id,
        };
        let shown = values::object(&row.custom);
        let custom = values::check_into(conn, RESOURCE, &shown, changes.custom.as_ref(), &mut errors).await?;
        let values = ActivityValues {
            kind: changes.kind.unwrap_or(row.kind),
            subject: changes.subject.unwrap_or(row.subject),
            body: changes.body.unwrap_or(row.body),
            business_partner_id: settled(errors, partner)?,
            opportunity_id: joins,
            owner_id: owner,
            status,
            due_at: changes.due_at.unwrap_or(row.due_at),
            occurred_at,
            external_id: changes.external_id.unwrap_or(row.external_id),
            contact_id: contact,
        };
        let updated = diesel::update(act::table.find(id))
            .set((
                &values,
                act::custom.eq(values::merged(act::custom, &custom)),
                act::updated_at.eq(diesel::dsl::now),
                act::version.eq(act::version + 1),
            ))
            .returning(ActivityRow::as_returning())
            .get_result(conn)
            .await?;
        derive::refresh(conn, &touched).await?;
        let after = Activity::from(updated.clone());
        events::store::updated(
            conn,
            EventType::ActivityUpdated,
            &actor.subject,
            (KEY, id),
            &before_activity,
            &after,
        )
        .await?;
        effects(conn, actor, id, &before, &touched).await?;
        Ok(updated)
    })
    .await
}

/// Deletes an activity the caller sees and refreshes its opportunity's last contact.
pub async fn delete(conn: &mut Conn, actor: &Actor, id: ActivityId, if_match: &IfMatch) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        let row = lock(conn, actor.who, id, if_match).await?;
        if let Some(opportunity) = row.opportunity_id {
            opportunities::lock(conn, actor.who, opportunity, &IfMatch::default()).await?;
        }
        let touched = affected(row.opportunity_id, None);
        let before = opportunity_events::snapshots(conn, &touched).await?;
        diesel::delete(act::table.find(id)).execute(conn).await?;
        derive::refresh(conn, &touched).await?;
        events::store::state(
            conn,
            EventType::ActivityDeleted,
            &actor.subject,
            (KEY, id),
            &Activity::from(row),
        )
        .await?;
        effects(conn, actor, id, &before, &touched).await
    })
    .await
}

/// `opportunity.updated` with the activity as `cause` for each opportunity whose shown
/// values (last contact, activity counts) the activity's change moved; versions stay.
async fn effects(
    conn: &mut Conn,
    actor: &Actor,
    id: ActivityId,
    before: &HashMap<OpportunityId, Value>,
    touched: &[OpportunityId],
) -> Result<(), AppError> {
    let cause = opportunity_events::cause(KEY, id);
    opportunity_events::recomputed(conn, &actor.subject, &cause, before, touched).await
}

/// Where an activity goes: the opportunity it joins (or stays on) and the one it leaves, the
/// partner the request names and the one it has.
struct Place {
    joins: Option<OpportunityId>,
    leaves: Option<OpportunityId>,
    given_partner: Option<PartnerId>,
    kept_partner: Option<PartnerId>,
}

/// Locks the opportunities an activity leaves and joins, in id order so that concurrent moves
/// cannot deadlock, and settles its partner: the opportunity's, else the one given or kept.
/// Problems with the request go to `errors`; the partner is `None` only when there are some.
async fn place(
    conn: &mut Conn,
    who: Visibility,
    place: Place,
    errors: &mut Vec<FieldError>,
) -> Result<Option<PartnerId>, AppError> {
    let mut joined = None;
    for id in affected(place.leaves, place.joins) {
        match opportunities::lock(conn, who, id, &IfMatch::default()).await {
            Ok(row) if Some(id) == place.joins => joined = Some(row),
            Ok(_) => {}
            Err(AppError::NotFound(_)) if Some(id) == place.joins => errors.push(FieldError::new(
                "opportunity_id",
                "not_found",
                format!("opportunity {id} does not exist"),
            )),
            Err(e) => return Err(e),
        }
    }
    match (place.joins, joined, place.given_partner) {
        (Some(_), None, _) => Ok(None),
        (Some(_), Some(opportunity), Some(given)) if given != opportunity.business_partner_id => {
            errors.push(FieldError::new(
                "business_partner_id",
                "mismatch",
                format!(
                    "opportunity {} belongs to business partner {}; leave business_partner_id out",
                    opportunity.number, opportunity.business_partner_id
                ),
            ));
            Ok(None)
        }
        (Some(_), Some(opportunity), _) => Ok(Some(opportunity.business_partner_id)),
        (None, _, Some(given)) => {
            let found: bool = diesel::select(diesel::dsl::exists(business_partners::table.find(given)))
                .get_result(conn)
                .await?;
            if !found {
                errors.push(FieldError::new(
                    "business_partner_id",
                    "not_found",
                    format!("business partner {given} does not exist"),
                ));
            }
            Ok(found.then_some(given))
        }
        (None, _, None) => {
            if place.kept_partner.is_none() {
                errors.push(FieldError::new(
                    "business_partner_id",
                    "required",
                    "give business_partner_id or opportunity_id",
                ));
            }
            Ok(place.kept_partner)
        }
    }
}

/// Checks the contact person of an activity of `partner`: a contact of that partner, active
/// unless the activity names them already (`kept`). Share-locks it against deletion until the
/// write commits. Problems go to `errors`; without a settled partner there is nothing to check.
async fn check_contact(
    conn: &mut Conn,
    contact: Option<ContactId>,
    partner: Option<PartnerId>,
    kept: Option<ContactId>,
    errors: &mut Vec<FieldError>,
) -> Result<(), AppError> {
    let (Some(contact), Some(partner)) = (contact, partner) else {
        return Ok(());
    };
    let found: Option<(PartnerId, bool)> = contacts::table
        .find(contact)
        .select((contacts::business_partner_id, contacts::active))
        .for_key_share()
        .first(conn)
        .await
        .optional()?;
    let problem = match found {
        None => Some(("not_found", format!("contact {contact} does not exist"))),
        Some((of, _)) if of != partner => Some((
            "mismatch",
            format!("contact {contact} is a contact of business partner {of}, not of the activity's {partner}"),
        )),
        Some((_, false)) if kept != Some(contact) => Some(("inactive", format!("contact {contact} is not active"))),
        Some(_) => None,
    };
    if let Some((code, message)) = problem {
        errors.push(FieldError::new("contact_id", code, message));
    }
    Ok(())
}

/// The owner if the user exists; else an error in `errors`.
async fn check_owner(conn: &mut Conn, owner: UserId, errors: &mut Vec<FieldError>) -> Result<Option<UserId>, AppError> {
    if crate::users::store::exists(conn, owner).await? {
        Ok(Some(owner))
    } else {
        errors.push(FieldError::new(
            "owner_id",
            "not_found",
            format!("user {owner} does not exist"),
        ));
        Ok(None)
    }
}

/// The partner once the request has no problems: 422 with every problem otherwise.
fn settled(errors: Vec<FieldError>, partner: Option<PartnerId>) -> Result<PartnerId, AppError> {
    match partner {
        Some(partner) if errors.is_empty() => Ok(partner),
        _ if !errors.is_empty() => Err(AppError::Validation(errors)),
        _ => Err(AppError::invalid(
            "business_partner_id",
            "required",
            "give business_partner_id or opportunity_id",
        )),
    }
}

/// The distinct opportunities of `a` and `b`, sorted (the lock order).
fn affected(a: Option<OpportunityId>, b: Option<OpportunityId>) -> Vec<OpportunityId> {
    let mut ids: Vec<OpportunityId> = a.into_iter().chain(b).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Every writable column, as stored (`timeline_at` is generated by PostgreSQL).
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = act, treat_none_as_null = true)]
struct ActivityValues {
    kind: ActivityKind,
    subject: String,
    body: Option<String>,
    business_partner_id: PartnerId,
    opportunity_id: Option<OpportunityId>,
    owner_id: Option<UserId>,
    status: ActivityStatus,
    due_at: Option<DateTime<Utc>>,
    occurred_at: Option<DateTime<Utc>>,
    external_id: Option<String>,
    contact_id: Option<ContactId>,
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::affected;
    use crate::ids::OpportunityId;

    #[test]
    fn affected_opportunities_are_distinct_and_sorted() {
        let (a, b) = (OpportunityId(Uuid::from_u128(2)), OpportunityId(Uuid::from_u128(1)));
        assert_eq!(affected(Some(a), Some(b)), vec![b, a]);
        assert_eq!(affected(Some(a), Some(a)), vec![a]);
        assert!(affected(None, None).is_empty());
    }
}
