//! Business partners in PostgreSQL.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::custom_fields::filters::{self, CustomFilter};
use crate::custom_fields::values;
use crate::db::Conn;
use crate::domain::custom::CustomResource;
use crate::error::AppError;
use crate::http::pagination::Page;
use crate::ids::{PartnerId, UserId};
use crate::schema::business_partners as bp;

crate::domain::text_enum! {
    /// A lead (prospect) or a customer.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum PartnerKind {
        /// A prospect that has not bought yet.
        Lead = "lead",
        /// An existing customer.
        Customer = "customer",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = bp, check_for_backend(diesel::pg::Pg))]
pub struct PartnerRow {
    pub id: PartnerId,
    pub number: String,
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
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    pub external_id: Option<String>,
    #[diesel(
        select_expression = values::shown(CustomResource::BusinessPartner, bp::custom),
        select_expression_type = values::Shown<bp::custom>
    )]
    pub custom: serde_json::Value,
}

/// List filters.
#[derive(Debug, Default)]
pub struct PartnerFilter {
    pub kind: Option<PartnerKind>,
    pub owner_id: Option<UserId>,
    pub q: Option<String>,
    pub updated_after: Option<DateTime<Utc>>,
    pub external_id: Option<String>,
    pub custom: Vec<CustomFilter>,
}

pub(super) const WHAT: &str = "business partner";

pub async fn find(conn: &mut Conn, id: PartnerId) -> Result<PartnerRow, AppError> {
    bp::table
        .find(id)
        .select(PartnerRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

pub async fn list(conn: &mut Conn, filter: &PartnerFilter, page: &Page) -> Result<Vec<PartnerRow>, AppError> {
    Ok(filtered(filter)
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load(conn)
        .await?)
}

/// With `count=true`, how many partners match `filter` (see [`Page::total`]).
pub async fn total(conn: &mut Conn, filter: &PartnerFilter, page: &Page) -> Result<Option<i64>, AppError> {
    page.total(conn, filtered(filter)).await
}

/// The partners matching `filter`, unordered.
fn filtered(filter: &PartnerFilter) -> bp::BoxedQuery<'_, Pg, diesel::dsl::AsSelect<PartnerRow, Pg>> {
    let mut query = bp::table.select(PartnerRow::as_select()).into_boxed();
    if let Some(kind) = filter.kind {
        query = query.filter(bp::kind.eq(kind));
    }
    if let Some(owner) = filter.owner_id {
        query = query.filter(bp::owner_id.eq(owner));
    }
    if let Some(after) = filter.updated_after {
        query = query.filter(bp::updated_at.gt(after));
    }
    if let Some(external_id) = &filter.external_id {
        query = query.filter(bp::external_id.eq(external_id));
    }
    if let Some(q) = &filter.q {
        let pattern = crate::http::contains_pattern(q);
        query = query.filter(bp::name.ilike(pattern.clone()).or(bp::number.ilike(pattern)));
    }
    for custom in &filter.custom {
        query = query.filter(bp::id.eq_any(filters::matching(custom)));
    }
    query
}
