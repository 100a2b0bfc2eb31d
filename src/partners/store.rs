//! Business partners in PostgreSQL.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{Conn, lock_version};
use crate::error::AppError;
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::http::pagination::Page;
use crate::partners::routes::Partner;
use crate::schema::business_partners as bp;

crate::db::text_enum! {
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
    pub id: Uuid,
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
    pub owner_id: Option<Uuid>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = bp)]
pub struct NewPartner {
    pub id: Uuid,
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
    pub owner_id: Option<Uuid>,
    pub notes: Option<String>,
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
    pub owner_id: Option<Option<Uuid>>,
    pub notes: Option<Option<String>>,
}

/// List filters.
#[derive(Debug, Default)]
pub struct PartnerFilter {
    pub kind: Option<PartnerKind>,
    pub owner_id: Option<Uuid>,
    pub q: Option<String>,
    pub updated_after: Option<DateTime<Utc>>,
}

const WHAT: &str = "business partner";

/// Inserts a partner with its `business_partner.created` event; the owner must exist (422
/// otherwise).
pub async fn insert(conn: &mut Conn, actor: &str, new: &NewPartner) -> Result<PartnerRow, AppError> {
    conn.transaction(async |conn| {
        check_owner(conn, new.owner_id).await?;
        let row = diesel::insert_into(bp::table)
            .values(new)
            .returning(PartnerRow::as_returning())
            .get_result(conn)
            .await?;
        let data = json!({ "business_partner": events::shown(&Partner::from(row.clone()))? });
        events::store::record(conn, EventType::BusinessPartnerCreated, row.id, actor, data).await?;
        Ok(row)
    })
    .await
}

pub async fn find(conn: &mut Conn, id: Uuid) -> Result<PartnerRow, AppError> {
    bp::table
        .find(id)
        .select(PartnerRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

pub async fn list(conn: &mut Conn, filter: &PartnerFilter, page: &Page) -> Result<Vec<PartnerRow>, AppError> {
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
    if let Some(q) = &filter.q {
        let pattern = crate::http::contains_pattern(q);
        query = query.filter(bp::name.ilike(pattern.clone()).or(bp::number.ilike(pattern)));
    }
    Ok(query
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load(conn)
        .await?)
}

pub async fn update(
    conn: &mut Conn,
    id: Uuid,
    if_match: &IfMatch,
    changes: &PartnerChanges,
) -> Result<PartnerRow, AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "business_partners", WHAT, &id, if_match).await?;
        apply(conn, id, changes).await
    })
    .await
}

async fn apply(conn: &mut Conn, id: Uuid, changes: &PartnerChanges) -> Result<PartnerRow, AppError> {
    check_owner(conn, changes.owner_id.flatten()).await?;
    Ok(diesel::update(bp::table.find(id))
        .set((
            changes,
            bp::updated_at.eq(diesel::dsl::now),
            bp::version.eq(bp::version + 1),
        ))
        .returning(PartnerRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Turns a lead into a customer, with its `business_partner.converted` event; 409 when it
/// already is one.
pub async fn convert(conn: &mut Conn, actor: &str, id: Uuid, if_match: &IfMatch) -> Result<PartnerRow, AppError> {
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
        )
        .await?;
        let after = events::shown(&Partner::from(row.clone()))?;
        let data = json!({ "previous": events::previous(&before, &after), "business_partner": after });
        events::store::record(conn, EventType::BusinessPartnerConverted, id, actor, data).await?;
        Ok(row)
    })
    .await
}

/// Deletes a partner nothing refers to; 409 otherwise.
pub async fn delete(conn: &mut Conn, id: Uuid, if_match: &IfMatch) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        lock_version(conn, "business_partners", WHAT, &id, if_match).await?;
        diesel::delete(bp::table.find(id)).execute(conn).await.map_err(|e| {
            AppError::from(e).or_conflict(format!(
                "business partner {id} is still referenced by opportunities, activities or quotes"
            ))
        })?;
        Ok(())
    })
    .await
}

async fn check_owner(conn: &mut Conn, owner: Option<Uuid>) -> Result<(), AppError> {
    match owner {
        Some(id) if !crate::users::store::exists(conn, id).await? => Err(AppError::invalid(
            "owner_id",
            "not_found",
            format!("user {id} does not exist"),
        )),
        _ => Ok(()),
    }
}
