//! The checks of a new or changed quote's fields that need the database, and the contact a
//! new quote is addressed to by default.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::store::today;
use crate::db::Conn;
use crate::error::{AppError, FieldError};
use crate::ids::{ContactId, OpportunityId, PartnerId};
use crate::schema::{contacts, quotes};

/// The problem with `valid_until`, unless it is today or later.
pub(super) fn past(valid_until: Option<NaiveDate>) -> Option<FieldError> {
    valid_until
        .filter(|date| *date < today())
        .map(|_| FieldError::new("valid_until", "past", "must be today or later"))
}

/// The problem with `contact_id`, unless it is an active contact of `partner`. The contact is
/// locked (`FOR SHARE`) so that it stays so until the quote is written.
pub(super) async fn contact_problem(
    conn: &mut Conn,
    partner: PartnerId,
    id: ContactId,
) -> Result<Option<FieldError>, AppError> {
    let found: Option<(PartnerId, bool)> = contacts::table
        .find(id)
        .select((contacts::business_partner_id, contacts::active))
        .for_share()
        .first(conn)
        .await
        .optional()?;
    Ok(match found {
        Some((of, true)) if of == partner => None,
        Some((of, false)) if of == partner => Some(FieldError::new(
            "contact_id",
            "inactive",
            format!("contact {id} is inactive"),
        )),
        _ => Some(FieldError::new(
            "contact_id",
            "not_a_contact",
            format!("{id} is not a contact of the quote's business partner {partner}"),
        )),
    })
}

/// The contact of a new quote of `opportunity` for `partner` that names none: the latest
/// revision's while it is an active contact of `partner`, else the partner's active primary
/// contact, else none.
pub(super) async fn default_contact(
    conn: &mut Conn,
    opportunity: OpportunityId,
    partner: PartnerId,
) -> Result<Option<ContactId>, AppError> {
    let previous: Option<ContactId> = quotes::table
        .inner_join(contacts::table)
        .filter(quotes::opportunity_id.eq(opportunity))
        .filter(contacts::business_partner_id.eq(partner))
        .filter(contacts::active)
        .order(quotes::revision.desc())
        .select(contacts::id)
        .for_share()
        .first(conn)
        .await
        .optional()?;
    if previous.is_some() {
        return Ok(previous);
    }
    Ok(contacts::table
        .filter(contacts::business_partner_id.eq(partner))
        .filter(contacts::is_primary)
        .filter(contacts::active)
        .select(contacts::id)
        .for_share()
        .first(conn)
        .await
        .optional()?)
}
