//! Custom field definitions in PostgreSQL, and the typed values (`custom_values`) that tell
//! whether a definition is in use.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::Conn;
use crate::domain::custom::{CustomResource, FieldType};
use crate::error::AppError;
use crate::http::pagination::Page;
use crate::ids::{CustomFieldId, StageId};
use crate::schema::{custom_fields, custom_values};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = custom_fields, check_for_backend(diesel::pg::Pg))]
pub struct CustomFieldRow {
    pub id: CustomFieldId,
    pub resource: CustomResource,
    pub key: String,
    pub label: String,
    pub type_: FieldType,
    pub options: Vec<Option<String>>,
    pub required_from_stage_ids: Vec<Option<StageId>>,
    pub show_on_quote: bool,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = custom_fields)]
pub struct CustomFieldChanges {
    pub label: Option<String>,
    pub type_: Option<FieldType>,
    pub options: Option<Vec<Option<String>>>,
    pub required_from_stage_ids: Option<Vec<Option<StageId>>>,
    pub show_on_quote: Option<bool>,
    pub active: Option<bool>,
}

pub(super) const WHAT: &str = "custom field";

pub async fn find(conn: &mut Conn, id: CustomFieldId) -> Result<CustomFieldRow, AppError> {
    custom_fields::table
        .find(id)
        .select(CustomFieldRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

pub async fn list(
    conn: &mut Conn,
    resource: Option<CustomResource>,
    active: Option<bool>,
    page: &Page,
) -> Result<Vec<CustomFieldRow>, AppError> {
    let mut query = custom_fields::table.select(CustomFieldRow::as_select()).into_boxed();
    if let Some(resource) = resource {
        query = query.filter(custom_fields::resource.eq(resource));
    }
    if let Some(active) = active {
        query = query.filter(custom_fields::active.eq(active));
    }
    Ok(query
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load(conn)
        .await?)
}

/// The active definitions of opportunities and quotes flagged `show_on_quote`: opportunity
/// fields first, then by label.
pub async fn printed_on_quote(conn: &mut Conn) -> Result<Vec<CustomFieldRow>, AppError> {
    Ok(custom_fields::table
        .filter(custom_fields::resource.eq_any([CustomResource::Opportunity, CustomResource::Quote]))
        .filter(custom_fields::show_on_quote)
        .filter(custom_fields::active)
        .order((custom_fields::resource, custom_fields::label, custom_fields::key))
        .select(CustomFieldRow::as_select())
        .load(conn)
        .await?)
}

/// The definitions of `resource` (active or not), by key.
pub async fn of_resource(conn: &mut Conn, resource: CustomResource) -> Result<Vec<CustomFieldRow>, AppError> {
    Ok(custom_fields::table
        .filter(custom_fields::resource.eq(resource))
        .select(CustomFieldRow::as_select())
        .order(custom_fields::key)
        .load(conn)
        .await?)
}

/// Whether any row holds a value of field `id` (of type `field_type`); with `options`, a value
/// that is one of them. Served by the per-type index of `custom_values`.
pub async fn in_use(
    conn: &mut Conn,
    id: CustomFieldId,
    field_type: FieldType,
    options: Option<&[String]>,
) -> Result<bool, AppError> {
    let values = custom_values::table.filter(custom_values::field_id.eq(id)).into_boxed();
    let values = match (field_type, options) {
        (_, Some(options)) => values.filter(custom_values::txt.eq_any(options.to_vec())),
        (FieldType::Number | FieldType::Money, None) => values.filter(custom_values::num.is_not_null()),
        (FieldType::Date, None) => values.filter(custom_values::day.is_not_null()),
        (_, None) => values.filter(custom_values::txt.is_not_null()),
    };
    Ok(
        diesel::select(diesel::dsl::exists(values.select(custom_values::entity_id)))
            .get_result(conn)
            .await?,
    )
}

/// Which of `ids` are no stage.
pub async fn unknown_stages(conn: &mut Conn, ids: &[StageId]) -> Result<Vec<StageId>, AppError> {
    let found: Vec<StageId> = crate::schema::stages::table
        .filter(crate::schema::stages::id.eq_any(ids.to_vec()))
        .select(crate::schema::stages::id)
        .load(conn)
        .await?;
    Ok(ids.iter().filter(|id| !found.contains(id)).copied().collect())
}

/// The table that holds the values of `resource`.
pub fn table_of(resource: CustomResource) -> &'static str {
    match resource {
        CustomResource::Opportunity => "opportunities",
        CustomResource::BusinessPartner => "business_partners",
        CustomResource::Contact => "contacts",
        CustomResource::Quote => "quotes",
        CustomResource::Activity => "activities",
    }
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    found: bool,
}

/// Whether a row of `resource` still holds a value under `key` (left by a deleted definition).
/// Read once per new definition; a scan of the resource's table, as befits a rare admin write.
pub async fn key_has_values(conn: &mut Conn, resource: CustomResource, key: &str) -> Result<bool, AppError> {
    let found: Found = diesel::sql_query(format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE custom ? $1) AS found",
        table_of(resource)
    ))
    .bind::<diesel::sql_types::Text, _>(key)
    .get_result(conn)
    .await?;
    Ok(found.found)
}
