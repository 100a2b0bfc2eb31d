//! The transactional commands on business partners: create, change, convert a lead to a
//! customer, delete; each checks against the database and writes its event in its transaction.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use serde_json::Map;

use super::store::{PartnerKind, PartnerRow, WHAT, find};
use crate::custom_fields::values::{self, Change, Definitions, Sent};
use crate::db::{Conn, lock_version};
use crate::domain::custom::CustomResource;
use crate::error::AppError;
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::ids::{PartnerId, UserId};
use crate::partners::view::Partner;
use crate::schema::business_partners as bp;

/// The name of a business partner in events.
const KEY: &str = "business_partner";

/// Whose custom fields a partner has.
const RESOURCE: CustomResource = CustomResource::BusinessPartner;

#[derive(Debug, Insertable)]
#[diesel(table_name = bp)]
pub struct NewPartner {
    pub id: PartnerId,
    pub kind: PartnerKind,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub vat_id: Option<String>,
    pub owner_id: Option<UserId>,
    pub notes: Option<String>,
    pub external_id: Option<String>,
    /// The `custom` object the body sent (checked in the write).
    #[diesel(skip_insertion)]
    pub custom: Option<Sent>,
}

/// `None` leaves a column alone; `Some(None)` clears it.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = bp)]
pub struct PartnerChanges {
    pub kind: Option<PartnerKind>,
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub website: Option<Option<String>>,
    pub street: Option<Option<String>>,
    pub postal_code: Option<Option<String>>,
    pub city: Option<Option<String>>,
    pub country: Option<Option<String>>,
    pub vat_id: Option<Option<String>>,
    pub owner_id: Option<Option<UserId>>,
    pub notes: Option<Option<String>>,
    pub external_id: Option<Option<String>>,
    /// The `custom` object the body sent: merged onto the values (checked in the write).
    #[diesel(skip_update)]
    pub custom: Option<Sent>,
}

impl PartnerChanges {
    /// Every writable field as `new` has it: a replacement (PUT).
    pub fn replacing(new: &NewPartner) -> Self {
        Self {
            kind: Some(new.kind),
            name: Some(new.name.clone()),
            email: Some(new.email.clone()),
            phone: Some(new.phone.clone()),
            website: Some(new.website.clone()),
            street: Some(new.street.clone()),
            postal_code: Some(new.postal_code.clone()),
            city: Some(new.city.clone()),
            country: Some(new.country.clone()),
            vat_id: Some(new.vat_id.clone()),
            owner_id: Some(new.owner_id),
            notes: Some(new.notes.clone()),
            external_id: Some(new.external_id.clone()),
            custom: None,
        }
    }

    /// Whether applying these changes to `row` would change nothing.
    fn unchanged(&self, row: &PartnerRow) -> bool {
        fn same<T: PartialEq>(change: &Option<T>, current: &T) -> bool {
            change.as_ref().is_none_or(|value| value == current)
        }
        same(&self.kind, &row.kind)
            && same(&self.name, &row.name)
            && same(&self.email, &row.email)
            && same(&self.phone, &row.phone)
            && same(&self.website, &row.website)
            && same(&self.street, &row.street)
            && same(&self.postal_code, &row.postal_code)
            && same(&self.city, &row.city)
            && same(&self.country, &row.country)
            && same(&self.vat_id, &row.vat_id)
            && same(&self.owner_id, &row.owner_id)
            && same(&self.notes, &row.notes)
            && same(&self.external_id, &row.external_id)
    }
}

/// Inserts a partner with its `business_partner.created` event; the owner must exist and the
/// custom values fit their definitions (422 otherwise).
pub async fn insert(conn: &mut Conn, actor: &str, new: &NewPartner) -> Result<PartnerRow, AppError> {
    conn.transaction(async |conn| {
        // The owner's foreign key checks it in the insert, unless custom values were sent: then
        // it is looked up first, for one 422 naming every problem.
        let others = if new.custom.as_ref().is_some_and(|c| !c.is_empty()) {
            check_owner(conn, new.owner_id).await
        } else {
            Ok(())
        };
        let custom = values::checked(conn, RESOURCE, &Map::new(), new.custom.as_ref(), others).await?;
        let row = diesel::insert_into(bp::table)
            .values((new, bp::custom.eq(custom.stored())))
            .returning(PartnerRow::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| missing_owner(e, new.owner_id))?;
        let shown = Partner::from(row.clone());
        events::store::state(conn, EventType::BusinessPartnerCreated, actor, (KEY, row.id), &shown).await?;
        Ok(row)
    })
    .await
}

/// Changes a partner (merge patch), with its `business_partner.updated` event.
pub async fn update(
    conn: &mut Conn,
    actor: &str,
    id: PartnerId,
    if_match: &IfMatch,
    changes: &PartnerChanges,
) -> Result<PartnerRow, AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "business_partners", WHAT, &id, if_match).await?;
        let current = find(conn, id).await?;
        let others = check_owner(conn, changes.owner_id.flatten()).await;
        let custom = values::checked(
            conn,
            RESOURCE,
            &values::object(&current.custom),
            changes.custom.as_ref(),
            others,
        )
        .await?;
        let before = events::shown(&Partner::from(current))?;
        let row = apply(conn, id, changes, &custom).await?;
        let after = Partner::from(row.clone());
        events::store::updated(
            conn,
            EventType::BusinessPartnerUpdated,
            actor,
            (KEY, id),
            &before,
            &after,
        )
        .await?;
        Ok(row)
    })
    .await
}

/// Writes `changes` and the custom values' `custom` change (the owner is checked).
async fn apply(
    conn: &mut Conn,
    id: PartnerId,
    changes: &PartnerChanges,
    custom: &Change,
) -> Result<PartnerRow, AppError> {
    Ok(diesel::update(bp::table.find(id))
        .set((
            changes,
            bp::custom.eq(values::merged(bp::custom, custom)),
            bp::updated_at.eq(diesel::dsl::now),
            bp::version.eq(bp::version + 1),
        ))
        .returning(PartnerRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Creates the partner with `new`'s external id, or replaces it with `new`'s fields; a
/// replacement that changes nothing keeps the version and writes no event (so repeating a sync
/// is a no-op). Answers the partner and whether it was created.
pub async fn upsert(
    conn: &mut Conn,
    actor: &str,
    new: &NewPartner,
    if_match: &IfMatch,
) -> Result<(PartnerRow, bool), AppError> {
    conn.transaction(async |conn| {
        let others = check_owner(conn, new.owner_id).await;
        let definitions = Definitions::load(conn, RESOURCE).await?;
        let fresh = values::join(definitions.check(&Map::new(), new.custom.as_ref()), others)?;
        let inserted: Option<PartnerRow> = diesel::insert_into(bp::table)
            .values((new, bp::custom.eq(fresh.stored())))
            .on_conflict_do_nothing()
            .returning(PartnerRow::as_returning())
            .get_result(conn)
            .await
            .optional()?;
        if let Some(row) = inserted {
            let shown = Partner::from(row.clone());
            events::store::state(conn, EventType::BusinessPartnerCreated, actor, (KEY, row.id), &shown).await?;
            return Ok((row, true));
        }
        let current: PartnerRow = bp::table
            .filter(bp::external_id.eq(&new.external_id))
            .select(PartnerRow::as_select())
            .for_no_key_update()
            .first(conn)
            .await?;
        if_match.check(current.version)?;
        let replacement = PartnerChanges::replacing(new);
        let shown = values::object(&current.custom);
        let custom = definitions
            .replace(&shown, new.custom.as_ref())
            .map_err(AppError::Validation)?;
        if replacement.unchanged(&current) && custom.after == shown {
            return Ok((current, false));
        }
        let before = events::shown(&Partner::from(current.clone()))?;
        let row = apply(conn, current.id, &replacement, &custom).await?;
        let after = Partner::from(row.clone());
        events::store::updated(
            conn,
            EventType::BusinessPartnerUpdated,
            actor,
            (KEY, row.id),
            &before,
            &after,
        )
        .await?;
        Ok((row, false))
    })
    .await
}

/// Turns a lead into a customer, with its `business_partner.converted` event; 409 when it
/// already is one.
pub async fn convert(conn: &mut Conn, actor: &str, id: PartnerId, if_match: &IfMatch) -> Result<PartnerRow, AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "business_partners", WHAT, &id, if_match).await?;
        let current = find(conn, id).await?;
        if current.kind == PartnerKind::Customer {
            return Err(AppError::Conflict(format!(
                "business partner {} is already a customer",
                current.number
            )));
        }
        let before = events::shown(&Partner::from(current))?;
        let row = apply(
            conn,
            id,
            &PartnerChanges {
                kind: Some(PartnerKind::Customer),
                ..PartnerChanges::default()
            },
            &Change::default(),
        )
        .await?;
        let after = Partner::from(row.clone());
        events::store::updated(
            conn,
            EventType::BusinessPartnerConverted,
            actor,
            (KEY, id),
            &before,
            &after,
        )
        .await?;
        Ok(row)
    })
    .await
}

/// Deletes a partner nothing refers to, with its `business_partner.deleted` event holding its
/// last state; 409 otherwise.
pub async fn delete(conn: &mut Conn, actor: &str, id: PartnerId, if_match: &IfMatch) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "business_partners", WHAT, &id, if_match).await?;
        let last: PartnerRow = diesel::delete(bp::table.find(id))
            .returning(PartnerRow::as_returning())
            .get_result(conn)
            .await
            .map_err(|e| {
                AppError::from(e).or_conflict(format!(
                    "business partner {id} is still referenced by opportunities, activities, quotes or contacts"
                ))
            })?;
        events::store::state(
            conn,
            EventType::BusinessPartnerDeleted,
            actor,
            (KEY, id),
            &Partner::from(last),
        )
        .await
    })
    .await
}

/// A foreign-key violation of the owner as the 422 [`check_owner`] gives; other errors as
/// they are.
fn missing_owner(error: diesel::result::Error, owner: Option<UserId>) -> AppError {
    use diesel::result::{DatabaseErrorKind, Error};
    match (&error, owner) {
        (Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info), Some(id))
            if info.constraint_name() == Some("business_partners_owner_id_fkey") =>
        {
            owner_not_found(id)
        }
        _ => error.into(),
    }
}

fn owner_not_found(id: UserId) -> AppError {
    AppError::invalid("owner_id", "not_found", format!("user {id} does not exist"))
}

async fn check_owner(conn: &mut Conn, owner: Option<UserId>) -> Result<(), AppError> {
    match owner {
        Some(id) if !crate::users::store::exists(conn, id).await? => Err(owner_not_found(id)),
        _ => Ok(()),
    }
}
