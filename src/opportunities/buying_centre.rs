//! An opportunity's contact persons and their roles (its buying centre): what a write checks
//! them against and how it replaces them. The list is written whole: a create or upsert gives
//! it, a `PATCH` with `contacts` replaces it.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Deserialize;
use utoipa::ToSchema;

use super::embedded::OpportunityContact;
use crate::db::Conn;
use crate::domain::contact::ContactRole;
use crate::error::{AppError, FieldError};
use crate::ids::{ContactId, OpportunityId, PartnerId};
use crate::schema::{activities, contacts, opportunity_contacts as oc};

/// A contact person of the opportunity's partner and the part they play.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"contact_id": "01930000-0000-7000-8000-000000000259", "role": "decision_maker"}))]
pub struct ContactAssignment {
    /// An active contact of the opportunity's business partner, at most once per opportunity.
    #[schema(value_type = Uuid)]
    pub contact_id: ContactId,
    pub role: ContactRole,
}

impl From<&OpportunityContact> for ContactAssignment {
    fn from(shown: &OpportunityContact) -> Self {
        Self {
            contact_id: shown.contact_id,
            role: shown.role,
        }
    }
}

/// Checks `given` for an opportunity of `partner`: each a contact of that partner, named once,
/// and active unless it is among `kept` (those on the opportunity already: a person who left
/// stays on record until replaced). Problems go to `errors` as `contacts[i].contact_id`. The
/// contacts found are share-locked, so that none is deleted before the write commits.
pub async fn check(
    conn: &mut Conn,
    partner: PartnerId,
    given: &[ContactAssignment],
    kept: &[ContactId],
    errors: &mut Vec<FieldError>,
) -> Result<(), AppError> {
    if given.is_empty() {
        return Ok(());
    }
    let ids: Vec<ContactId> = given.iter().map(|c| c.contact_id).collect();
    let found: HashMap<ContactId, (PartnerId, bool)> = contacts::table
        .filter(contacts::id.eq_any(&ids))
        .select((contacts::id, (contacts::business_partner_id, contacts::active)))
        .for_key_share()
        .load::<(ContactId, (PartnerId, bool))>(conn)
        .await?
        .into_iter()
        .collect();
    let mut seen = HashSet::new();
    for (i, assignment) in given.iter().enumerate() {
        let id = assignment.contact_id;
        let field = format!("contacts[{i}].contact_id");
        let problem = match found.get(&id) {
            _ if !seen.insert(id) => Some(("duplicate", format!("contact {id} is already on the list"))),
            None => Some(("not_found", format!("contact {id} does not exist"))),
            Some((of, _)) if *of != partner => Some((
                "mismatch",
                format!("contact {id} is a contact of business partner {of}, not of {partner}"),
            )),
            Some((_, false)) if !kept.contains(&id) => Some(("inactive", format!("contact {id} is not active"))),
            Some(_) => None,
        };
        if let Some((code, message)) = problem {
            errors.push(FieldError::new(&field, code, message));
        }
    }
    Ok(())
}

/// Makes `list` the contacts of opportunity `id`, in its order.
pub async fn replace(conn: &mut Conn, id: OpportunityId, list: &[ContactAssignment]) -> Result<(), AppError> {
    diesel::delete(oc::table.filter(oc::opportunity_id.eq(id)))
        .execute(conn)
        .await?;
    insert(conn, id, list).await
}

/// Adds `list` to the (empty) contacts of the new opportunity `id`.
pub async fn insert(conn: &mut Conn, id: OpportunityId, list: &[ContactAssignment]) -> Result<(), AppError> {
    if list.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = (0_i16..)
        .zip(list)
        .map(|(position, c)| {
            (
                oc::opportunity_id.eq(id),
                oc::contact_id.eq(c.contact_id),
                oc::role.eq(c.role),
                oc::position.eq(position),
            )
        })
        .collect();
    diesel::insert_into(oc::table).values(rows).execute(conn).await?;
    Ok(())
}

/// The list as the opportunity shows it (without the persons).
pub fn shown(list: &[ContactAssignment]) -> Vec<OpportunityContact> {
    list.iter()
        .map(|c| OpportunityContact {
            contact_id: c.contact_id,
            role: c.role,
            contact: None,
        })
        .collect()
}

/// 409 when activities of opportunity `id` name contacts that are not of `partner`: moving the
/// opportunity to another partner moves its activities along, and an activity's contact is a
/// person of its partner.
pub async fn ensure_activities_follow(conn: &mut Conn, id: OpportunityId, partner: PartnerId) -> Result<(), AppError> {
    let foreign: Vec<ContactId> = activities::table
        .inner_join(contacts::table)
        .filter(activities::opportunity_id.eq(id))
        .filter(contacts::business_partner_id.ne(partner))
        .select(contacts::id)
        .distinct()
        .limit(3)
        .load(conn)
        .await?;
    if foreign.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = foreign.iter().map(ToString::to_string).collect();
    Err(AppError::Conflict(format!(
        "activities of this opportunity name contacts of its current business partner ({}): \
         change or clear their contact_id before moving it to business partner {partner}",
        names.join(", ")
    )))
}

/// The contacts of opportunity `id` with their roles, in their order.
pub async fn of(conn: &mut Conn, id: OpportunityId) -> Result<Vec<ContactAssignment>, AppError> {
    Ok(oc::table
        .filter(oc::opportunity_id.eq(id))
        .order(oc::position)
        .select((oc::contact_id, oc::role))
        .load::<(ContactId, ContactRole)>(conn)
        .await?
        .into_iter()
        .map(|(contact_id, role)| ContactAssignment { contact_id, role })
        .collect())
}
