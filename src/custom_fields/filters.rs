//! The list filters on custom values: `custom.<key>=value` (equality; for a multi_enum, holds
//! that option) and `custom.<key>_from` / `custom.<key>_to` (inclusive bounds) for number, money
//! and date fields. Each is a semi-join on `custom_values`, served by its (field, value) index
//! whatever the key; a key without a definition is a 400 naming it.

use std::str::FromStr;

use chrono::NaiveDate;
use diesel::pg::Pg;
use diesel::prelude::*;
use rust_decimal::Decimal;

use super::store;
use crate::db::Conn;
use crate::domain::custom::{CustomResource, FieldType};
use crate::error::AppError;
use crate::ids::CustomFieldId;
use crate::schema::custom_values as cv;

/// The document's name of the filter parameters.
pub const PARAMETER: &str = "custom.{key}";

/// How a filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Equal,
    From,
    To,
}

/// A value as `custom_values` types it.
#[derive(Debug, Clone)]
enum Typed {
    Number(Decimal),
    Day(NaiveDate),
    Text(String),
}

/// One custom value filter of a list: the tests one value of one field passes. The `_from` and
/// `_to` of a key are one filter, so that one range scan of the (field, value) index serves
/// both bounds and the planner estimates the range as a whole.
#[derive(Debug, Clone)]
pub struct CustomFilter {
    field: CustomFieldId,
    tests: Vec<(Bound, Typed)>,
}

/// The `custom.*` parameters of query string `query`, as filters on `resource`'s fields; the
/// definitions are read only when there is one.
pub async fn parse(conn: &mut Conn, resource: CustomResource, query: &str) -> Result<Vec<CustomFilter>, AppError> {
    let sent: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter_map(|(name, value)| {
            name.strip_prefix("custom.")
                .map(|key| (key.to_owned(), value.into_owned()))
        })
        .collect();
    if sent.is_empty() {
        return Ok(Vec::new());
    }
    let fields = store::of_resource(conn, resource).await?;
    let parsed = sent
        .into_iter()
        .map(|(name, text)| {
            let found = fields.iter().find_map(|f| {
                if f.key == name {
                    Some((f, Bound::Equal))
                } else if f.type_.is_ranged() && name.strip_suffix("_from") == Some(f.key.as_str()) {
                    Some((f, Bound::From))
                } else if f.type_.is_ranged() && name.strip_suffix("_to") == Some(f.key.as_str()) {
                    Some((f, Bound::To))
                } else {
                    None
                }
            });
            let Some((field, bound)) = found else {
                return Err(AppError::BadRequest(format!(
                    "unknown query parameter 'custom.{name}': no {resource} custom field takes it"
                )));
            };
            let value = typed(field.type_, &text)
                .ok_or_else(|| AppError::BadRequest(format!("'custom.{name}': '{text}' is no {}", field.type_)))?;
            Ok((field.id, bound, value))
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    let mut filters: Vec<CustomFilter> = Vec::new();
    for (field, bound, value) in parsed {
        let range = filters
            .iter_mut()
            .find(|f| f.field == field && bound != Bound::Equal && f.tests.iter().all(|(b, _)| *b != Bound::Equal));
        match range {
            Some(filter) => filter.tests.push((bound, value)),
            None => filters.push(CustomFilter {
                field,
                tests: vec![(bound, value)],
            }),
        }
    }
    Ok(filters)
}

fn typed(field_type: FieldType, text: &str) -> Option<Typed> {
    match field_type {
        FieldType::Number | FieldType::Money => Decimal::from_str(text).ok().map(Typed::Number),
        FieldType::Date => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(Typed::Day),
        FieldType::Boolean => matches!(text, "true" | "false").then(|| Typed::Text(text.to_owned())),
        FieldType::Text | FieldType::Enum | FieldType::MultiEnum => Some(Typed::Text(text.to_owned())),
    }
}

/// The ids of the records whose value passes `filter`: compare with `id.eq_any(…)`.
pub fn matching(filter: &CustomFilter) -> cv::BoxedQuery<'static, Pg, diesel::sql_types::Uuid> {
    let mut values = cv::table
        .filter(cv::field_id.eq(filter.field))
        .select(cv::entity_id)
        .into_boxed();
    for (bound, value) in &filter.tests {
        values = match (value, bound) {
            (Typed::Number(n), Bound::Equal) => values.filter(cv::num.eq(*n)),
            (Typed::Number(n), Bound::From) => values.filter(cv::num.ge(*n)),
            (Typed::Number(n), Bound::To) => values.filter(cv::num.le(*n)),
            (Typed::Day(d), Bound::Equal) => values.filter(cv::day.eq(*d)),
            (Typed::Day(d), Bound::From) => values.filter(cv::day.ge(*d)),
            (Typed::Day(d), Bound::To) => values.filter(cv::day.le(*d)),
            (Typed::Text(t), _) => values.filter(cv::txt.eq(t.clone())),
        };
    }
    values
}

/// The filter parameters in the document of a list operation.
pub struct CustomFilterParams;

impl utoipa::IntoParams for CustomFilterParams {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::Required;
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        vec![
            ParameterBuilder::new()
                .name(PARAMETER)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(
                    "Custom value filters, one parameter per key (see `/custom-fields`): `custom.<key>=<value>` \
                     keeps records with that value (for a multi_enum: holding that option; booleans `true`/`false`), \
                     `custom.<key>_from` and `custom.<key>_to` bound number, money and date fields (inclusive). \
                     A key without a definition of the resource is a 400. Served by an index whatever the key.",
                ))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build(),
        ]
    }
}
