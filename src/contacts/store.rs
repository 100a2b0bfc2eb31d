//! Contacts in PostgreSQL.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::custom_fields::filters::{self, CustomFilter};
use crate::custom_fields::values::{self, Sent};
use crate::db::Conn;
use crate::domain::custom::CustomResource;
use crate::error::AppError;
use crate::http::pagination::Page;
use crate::ids::{ContactId, PartnerId};
use crate::schema::contacts;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = contacts, check_for_backend(diesel::pg::Pg))]
pub struct ContactRow {
    pub id: ContactId,
    pub business_partner_id: PartnerId,
    pub salutation: Option<String>,
    pub title: Option<String>,
    pub first_name: Option<String>,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub position: Option<String>,
    pub is_primary: bool,
    pub active: bool,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    /// Shown custom values when read; the values to store when inserted (checked first).
    #[diesel(
        select_expression = values::shown(CustomResource::Contact, contacts::custom),
        select_expression_type = values::Shown<contacts::custom>
    )]
    pub custom: serde_json::Value,
}

/// `None` leaves a column alone; `Some(None)` clears it.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = contacts)]
pub struct ContactChanges {
    pub salutation: Option<Option<String>>,
    pub title: Option<Option<String>>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub mobile: Option<Option<String>>,
    pub position: Option<Option<String>>,
    pub is_primary: Option<bool>,
    pub active: Option<bool>,
    /// Merged onto the custom values (checked in the write).
    #[diesel(skip_update)]
    pub custom: Option<Sent>,
}

/// List filters.
#[derive(Debug, Default)]
pub struct ContactFilter {
    pub business_partner_id: Option<PartnerId>,
    pub active: Option<bool>,
    pub q: Option<String>,
    pub updated_after: Option<DateTime<Utc>>,
    pub custom: Vec<CustomFilter>,
}

pub(super) const WHAT: &str = "contact";

/// The contact `id` of partner `partner`; 404 when there is none (also when it belongs to
/// another partner).
pub async fn find(conn: &mut Conn, partner: PartnerId, id: ContactId) -> Result<ContactRow, AppError> {
    contacts::table
        .find(id)
        .filter(contacts::business_partner_id.eq(partner))
        .select(ContactRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

/// One page of contacts. Every word of `q` must appear (case-insensitively) in the first name,
/// the last name or the e-mail address, so `anna schmidt` finds Anna Schmidt; the trigram index
/// serves each word.
pub async fn list(conn: &mut Conn, filter: &ContactFilter, page: &Page) -> Result<Vec<ContactRow>, AppError> {
    Ok(filtered(filter)
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load(conn)
        .await?)
}

/// With `count=true`, how many contacts match `filter` (see [`Page::total`]).
pub async fn total(conn: &mut Conn, filter: &ContactFilter, page: &Page) -> Result<Option<i64>, AppError> {
    page.total(conn, filtered(filter)).await
}

/// The contacts matching `filter`, unordered.
fn filtered(filter: &ContactFilter) -> contacts::BoxedQuery<'_, Pg, diesel::dsl::AsSelect<ContactRow, Pg>> {
    let mut query = contacts::table.select(ContactRow::as_select()).into_boxed();
    if let Some(partner) = filter.business_partner_id {
        query = query.filter(contacts::business_partner_id.eq(partner));
    }
    if let Some(active) = filter.active {
        query = query.filter(contacts::active.eq(active));
    }
    if let Some(after) = filter.updated_after {
        query = query.filter(contacts::updated_at.gt(after));
    }
    for custom in &filter.custom {
        query = query.filter(contacts::id.eq_any(filters::matching(custom)));
    }
    for word in filter.q.iter().flat_map(|q| q.split_whitespace()) {
        let pattern = crate::http::contains_pattern(word);
        query = query.filter(
            contacts::first_name
                .ilike(pattern.clone())
                .or(contacts::last_name.ilike(pattern.clone()))
                .or(contacts::email.ilike(pattern)),
        );
    }
    query
}
