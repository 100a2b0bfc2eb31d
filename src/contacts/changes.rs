//! The transactional commands on contacts: create, change, delete. Each writes its events in
//! its transaction; making a contact the primary one demotes the partner's previous primary
//! contact in the same transaction (with its own `contact.updated`).

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::store::{ContactChanges, ContactRow, WHAT};
use super::view::Contact;
use serde_json::Map;

use crate::custom_fields::values;
use crate::db::Conn;
use crate::domain::custom::CustomResource;
use crate::error::AppError;
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::ids::{ContactId, PartnerId};
use crate::schema::{activities, business_partners as bp, contacts, opportunities, opportunity_contacts, quotes};

/// The name of a contact in events.
const KEY: &str = "contact";

/// Whose custom fields a contact has.
const RESOURCE: CustomResource = CustomResource::Contact;

/// Inserts a contact of its partner with its `contact.created` event; 404 when the partner
/// does not exist.
pub async fn insert(conn: &mut Conn, actor: &str, new: &ContactRow) -> Result<ContactRow, AppError> {
    conn.transaction(async |conn| {
        lock_partner(conn, new.business_partner_id).await?;
        let sent = new.custom.as_object().cloned();
        let custom = values::checked(conn, RESOURCE, &Map::new(), sent.as_ref(), Ok(())).await?;
        if new.is_primary {
            demote_primary(conn, actor, new.business_partner_id, new.id).await?;
        }
        let new = ContactRow {
            custom: custom.stored(),
            ..new.clone()
        };
        let row: ContactRow = diesel::insert_into(contacts::table)
            .values(&new)
            .returning(ContactRow::as_returning())
            .get_result(conn)
            .await?;
        let shown = Contact::from(row.clone());
        events::store::state(conn, EventType::ContactCreated, actor, (KEY, row.id), &shown).await?;
        Ok(row)
    })
    .await
}

/// Changes a contact of `partner` (merge patch), with its `contact.updated` event; 404 when the
/// partner has no such contact, 412 on an `If-Match` mismatch.
pub async fn update(
    conn: &mut Conn,
    actor: &str,
    (partner, id): (PartnerId, ContactId),
    if_match: &IfMatch,
    changes: &ContactChanges,
) -> Result<ContactRow, AppError> {
    conn.transaction(async |conn| {
        let promotes = changes.is_primary == Some(true);
        // Partner before contacts, as a create locks them: promotions of one partner's
        // contacts queue up instead of deadlocking.
        if promotes {
            lock_partner(conn, partner).await?;
        }
        let current = lock(conn, partner, id, if_match).await?;
        let shown = values::object(&current.custom);
        let custom = values::checked(conn, RESOURCE, &shown, changes.custom.as_ref(), Ok(())).await?;
        if promotes && !current.is_primary {
            demote_primary(conn, actor, partner, id).await?;
        }
        let before = events::shown(&Contact::from(current))?;
        let row: ContactRow = diesel::update(contacts::table.find(id))
            .set((
                changes,
                contacts::custom.eq(values::merged(contacts::custom, &custom)),
                contacts::updated_at.eq(diesel::dsl::now),
                contacts::version.eq(contacts::version + 1),
            ))
            .returning(ContactRow::as_returning())
            .get_result(conn)
            .await?;
        let after = Contact::from(row.clone());
        events::store::updated(conn, EventType::ContactUpdated, actor, (KEY, id), &before, &after).await?;
        Ok(row)
    })
    .await
}

/// Deletes a contact of `partner`, with its `contact.deleted` event holding its last state; 409
/// while a quote, an opportunity (open or closed) or an activity names it.
pub async fn delete(
    conn: &mut Conn,
    actor: &str,
    (partner, id): (PartnerId, ContactId),
    if_match: &IfMatch,
) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        lock(conn, partner, id, if_match).await?;
        let quoted: Vec<String> = quotes::table
            .filter(quotes::contact_id.eq(id))
            .order(quotes::number)
            .select(quotes::number)
            .limit(4)
            .load(conn)
            .await?;
        refuse_while_named(id, "the contact of quotes", &quoted, "change their contact first")?;
        // The buying centre and the record of who was called stay true: a person who left is
        // deactivated (`active: false`), not deleted, while anything names them.
        let on: Vec<String> = opportunity_contacts::table
            .inner_join(opportunities::table)
            .filter(opportunity_contacts::contact_id.eq(id))
            .order(opportunities::number)
            .select(opportunities::number)
            .limit(4)
            .load(conn)
            .await?;
        refuse_while_named(
            id,
            "a contact person of opportunities",
            &on,
            "deactivate the contact (active: false) or remove it from their contacts first",
        )?;
        let met: Vec<String> = activities::table
            .filter(activities::contact_id.eq(id))
            .order(activities::timeline_at.desc())
            .select(activities::subject)
            .limit(4)
            .load(conn)
            .await?;
        refuse_while_named(
            id,
            "the contact person of activities",
            &met,
            "deactivate the contact (active: false) or change their contact_id first",
        )?;
        let last: ContactRow = diesel::delete(contacts::table.find(id))
            .returning(ContactRow::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| AppError::from(e).or_conflict(format!("contact {id} is still referenced")))?;
        events::store::state(conn, EventType::ContactDeleted, actor, (KEY, id), &Contact::from(last)).await
    })
    .await
}

/// 409 when `names` (up to four) are of what names contact `id` as `what`.
fn refuse_while_named(id: ContactId, what: &str, names: &[String], way_out: &str) -> Result<(), AppError> {
    if names.is_empty() {
        return Ok(());
    }
    let more = if names.len() > 3 { ", …" } else { "" };
    Err(AppError::Conflict(format!(
        "contact {id} is {what} {}{more}; {way_out}",
        names[..names.len().min(3)].join(", ")
    )))
}

/// Locks the partner's row (`FOR NO KEY UPDATE`: rows referring to it may still be written)
/// for the rest of the transaction; 404 when it does not exist.
async fn lock_partner(conn: &mut Conn, partner: PartnerId) -> Result<(), AppError> {
    bp::table
        .find(partner)
        .select(bp::id)
        .for_no_key_update()
        .first::<PartnerId>(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("business partner", partner))?;
    Ok(())
}

/// Locks contact `id` of `partner` and checks `If-Match` against its version.
async fn lock(conn: &mut Conn, partner: PartnerId, id: ContactId, if_match: &IfMatch) -> Result<ContactRow, AppError> {
    let row: ContactRow = contacts::table
        .find(id)
        .filter(contacts::business_partner_id.eq(partner))
        .select(ContactRow::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))?;
    if_match.check(row.version)?;
    Ok(row)
}

/// Makes the partner's primary contact (other than `keep`) no longer primary, with its
/// `contact.updated` event. The caller holds the partner's lock.
async fn demote_primary(conn: &mut Conn, actor: &str, partner: PartnerId, keep: ContactId) -> Result<(), AppError> {
    let demoted: Vec<ContactRow> = diesel::update(
        contacts::table
            .filter(contacts::business_partner_id.eq(partner))
            .filter(contacts::is_primary)
            .filter(contacts::id.ne(keep)),
    )
    .set((
        contacts::is_primary.eq(false),
        contacts::updated_at.eq(diesel::dsl::now),
        contacts::version.eq(contacts::version + 1),
    ))
    .returning(ContactRow::as_returning())
    .get_results(conn)
    .await?;
    for row in demoted {
        let after = Contact::from(row);
        let before = events::shown(&Contact {
            is_primary: true,
            ..after.clone()
        })?;
        events::store::updated(conn, EventType::ContactUpdated, actor, (KEY, after.id), &before, &after).await?;
    }
    Ok(())
}
