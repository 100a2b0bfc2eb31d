//! A custom field definition as the API shows it (answers and event payloads).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::CustomFieldRow;
use crate::domain::custom::{CustomResource, FieldType};
use crate::http::Resource;
use crate::ids::{CustomFieldId, StageId};

/// A custom field: a key of the `custom` object of one resource, with its type.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f31", "resource": "opportunity", "key": "leasing_months",
    "label": "Leasinglaufzeit (Monate)", "type": "number", "options": [], "required_from_stage_ids": [],
    "show_on_quote": true, "active": true,
    "created_at": "2026-11-02T09:15:00Z", "updated_at": "2026-11-02T09:15:00Z", "version": 1
}))]
pub struct CustomField {
    #[schema(value_type = Uuid)]
    pub id: CustomFieldId,
    pub resource: CustomResource,
    /// Unique per resource: `[a-z][a-z0-9_]{0,39}`.
    pub key: String,
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// The choices of an `enum` or `multi_enum` (empty for other types).
    pub options: Vec<String>,
    /// Opportunities only: the value is required before entering these stages.
    #[schema(value_type = Vec<Uuid>)]
    pub required_from_stage_ids: Vec<StageId>,
    /// Printed on the quote PDF (quote and opportunity fields).
    pub show_on_quote: bool,
    /// Inactive fields keep and show their values but take no new ones.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<CustomFieldRow> for CustomField {
    fn from(row: CustomFieldRow) -> Self {
        Self {
            id: row.id,
            resource: row.resource,
            key: row.key,
            label: row.label,
            field_type: row.type_,
            options: row.options.into_iter().flatten().collect(),
            required_from_stage_ids: row.required_from_stage_ids.into_iter().flatten().collect(),
            show_on_quote: row.show_on_quote,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for CustomField {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!("/api/v1/custom-fields/{}", self.id)
    }
}

/// The `custom` object of a resource in the document: values by key, each a string (text,
/// money as a Money string, date, enum), a number, a boolean or an array of strings
/// (multi_enum).
pub struct CustomValues;

impl utoipa::PartialSchema for CustomValues {
    #[expect(
        deprecated,
        reason = "`example` (not `examples`) is what the document's objects carry"
    )]
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
        let of = |t: Type| ObjectBuilder::new().schema_type(t);
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "Custom field values by key (see `/custom-fields`): text, enum, date (`YYYY-MM-DD`) and money \
                 (a Money string with two decimals; a number is accepted on input) as strings, numbers as \
                 numbers, booleans, multi_enum as an array of options. In a PATCH a key set to null is removed.",
            ))
            .additional_properties(Some(AdditionalProperties::RefOr(RefOr::T(Schema::OneOf(
                OneOfBuilder::new()
                    .item(of(Type::String))
                    .item(of(Type::Number))
                    .item(of(Type::Boolean))
                    .item(ArrayBuilder::new().items(of(Type::String)))
                    .item(of(Type::Null))
                    .build(),
            )))))
            .example(Some(
                serde_json::json!({"leasing_months": 36, "trade_in_value": "12500.00"}),
            ))
            .into()
    }
}

impl ToSchema for CustomValues {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("CustomValues")
    }
}
