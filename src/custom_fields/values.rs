//! The `custom` values of opportunities, business partners, contacts, quotes and activities,
//! in one place for all five: a body's `custom` object is checked per key against the active
//! definitions of its resource (each problem a field error `custom.<key>`, all at once),
//! merge-patched onto the stored values (a key set to null removes it), and required before an
//! opportunity enters the stages a definition names. Reads show only the keys that have a
//! definition ([`Shown`]): values of a deleted definition stay stored but are not shown.

use std::collections::BTreeMap;

use diesel::sql_types::{Jsonb, Text};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::store;
use crate::db::Conn;
use crate::domain::custom::{self, CustomResource, Definition, FieldType, normalise};
use crate::domain::formula::CustomKind;
use crate::error::{AppError, FieldError};
use crate::ids::StageId;

/// The `custom` object of a request body: keys with values, `null` to remove a key.
pub type Sent = Map<String, Value>;

diesel::define_sql_function! {
    /// `custom` with only the keys that have a definition of `resource`.
    fn custom_shown(resource: Text, custom: Jsonb) -> Jsonb;
}

diesel::define_sql_function! {
    /// The stored values `custom` with the keys of `set` replaced and those of `removed` taken
    /// out; values of deleted definitions stay.
    fn custom_merge(custom: Jsonb, set: Jsonb, removed: diesel::sql_types::Array<Text>) -> Jsonb;
}

/// The new value of column `column` after `change`.
pub fn merged<C>(column: C, change: &Change) -> custom_merge<C, Value, Vec<String>>
where
    C: diesel::expression::AsExpression<Jsonb>,
{
    custom_merge(column, Value::Object(change.set.clone()), change.removed.clone())
}

/// The type of the expression that reads a resource's `custom` column `C` as shown.
pub type Shown<C> = custom_shown<&'static str, C>;

/// The expression that reads column `column` of `resource` as shown.
pub fn shown<C>(resource: CustomResource, column: C) -> Shown<C>
where
    C: diesel::expression::AsExpression<Jsonb>,
{
    custom_shown(resource.as_str(), column)
}

/// A definition as the values are checked against it.
#[derive(Debug, Clone, Deserialize)]
pub struct Field {
    pub key: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub required_from_stage_ids: Vec<StageId>,
    pub active: bool,
}

/// The definitions of one resource.
#[derive(Debug, Clone, Default)]
pub struct Definitions(Vec<Field>);

/// The definitions of `resource` as a `jsonb` array, for a statement that reads them with what
/// else a write checks (`Definitions::from_json`).
pub fn definitions_sql(resource: CustomResource) -> String {
    format!(
        "(SELECT coalesce(jsonb_agg(jsonb_build_object('key', cf.key, 'type', cf.type, 'options', cf.options,
                 'required_from_stage_ids', cf.required_from_stage_ids, 'active', cf.active)), '[]')
          FROM custom_fields cf WHERE cf.resource = '{}')",
        resource.as_str()
    )
}

/// A checked change of a record's `custom`: what to store (`set` merged, `removed` taken
/// out) and the values shown afterwards.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub set: Map<String, Value>,
    pub removed: Vec<String>,
    pub after: Map<String, Value>,
}

impl Change {
    /// Whether the change stores nothing new.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.removed.is_empty()
    }

    /// The values to store for a new record.
    pub fn stored(&self) -> Value {
        Value::Object(self.set.clone())
    }
}

impl Definitions {
    /// The definitions of `resource` (active or not).
    pub async fn load(conn: &mut Conn, resource: CustomResource) -> Result<Self, AppError> {
        let rows = store::of_resource(conn, resource).await?;
        Ok(Self(
            rows.into_iter()
                .map(|row| Field {
                    key: row.key,
                    field_type: row.type_,
                    options: row.options.into_iter().flatten().collect(),
                    required_from_stage_ids: row.required_from_stage_ids.into_iter().flatten().collect(),
                    active: row.active,
                })
                .collect(),
        ))
    }

    /// The definitions a statement read with [`definitions_sql`].
    pub fn from_json(value: Value) -> Result<Self, AppError> {
        serde_json::from_value(value)
            .map(Self)
            .map_err(|e| AppError::Internal(format!("custom field definitions: {e}")))
    }

    fn field(&self, key: &str) -> Option<&Field> {
        self.0.iter().find(|f| f.key == key)
    }

    /// What field `key` is to a funnel formula that names `custom.<key>`; `None` without one.
    pub fn formula_kind(&self, key: &str) -> Option<CustomKind> {
        self.field(key).map(|f| {
            if f.field_type.is_numeric() {
                CustomKind::Number
            } else {
                CustomKind::Other
            }
        })
    }

    /// The number and money values of `custom` by key: the formula's `custom.<key>` variables
    /// (the one place that says which values those are; a key without one reads as 0).
    pub fn numbers(&self, custom: &Map<String, Value>) -> BTreeMap<String, Decimal> {
        self.0
            .iter()
            .filter(|f| f.field_type.is_numeric())
            .filter_map(|f| custom.get(&f.key).and_then(custom::decimal).map(|d| (f.key.clone(), d)))
            .collect()
    }

    /// `sent` merged onto the shown values `current`, each key checked against its active
    /// definition; the field errors name `custom.<key>`.
    pub fn check(&self, current: &Map<String, Value>, sent: Option<&Sent>) -> Result<Change, Vec<FieldError>> {
        let mut change = Change {
            after: current.clone(),
            ..Change::default()
        };
        let mut errors = Vec::new();
        for (key, value) in sent.into_iter().flatten() {
            let name = format!("custom.{key}");
            if value.is_null() {
                change.after.remove(key);
                change.removed.push(key.clone());
                continue;
            }
            match self.field(key) {
                None => errors.push(FieldError::new(name, "unknown_field", "no custom field has this key")),
                Some(field) if !field.active => {
                    errors.push(FieldError::new(name, "inactive", "this custom field is inactive"));
                }
                Some(field) => {
                    let definition = Definition {
                        key: key.clone(),
                        field_type: field.field_type,
                        options: field.options.clone(),
                    };
                    match normalise(&definition, value) {
                        Ok(stored) => {
                            change.after.insert(key.clone(), stored.clone());
                            change.set.insert(key.clone(), stored);
                        }
                        Err(violation) => errors.push(FieldError::from(violation)),
                    }
                }
            }
        }
        if errors.is_empty() { Ok(change) } else { Err(errors) }
    }

    /// `sent` replacing the shown values `current` (a PUT): keys it does not name are removed.
    pub fn replace(&self, current: &Map<String, Value>, sent: Option<&Sent>) -> Result<Change, Vec<FieldError>> {
        let mut all = sent.cloned().unwrap_or_default();
        for key in current.keys() {
            all.entry(key.clone()).or_insert(Value::Null);
        }
        self.check(current, Some(&all))
    }

    /// The field errors of values `custom` lacks to enter stage `stage`.
    pub fn missing_for(&self, custom: &Map<String, Value>, stage: StageId) -> Vec<FieldError> {
        self.0
            .iter()
            .filter(|f| f.required_from_stage_ids.contains(&stage) && !custom.contains_key(&f.key))
            .map(|f| {
                FieldError::new(
                    format!("custom.{}", f.key),
                    "required",
                    "this custom field is required in the target stage",
                )
            })
            .collect()
    }
}

/// The object of a shown `custom` column (always an object; anything else reads as empty).
pub fn object(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

/// Checks `sent` merged onto the shown values `current` of a `resource` record, loading the
/// definitions only when something was sent; with `others`, the problems the write found
/// besides (its references), so that one 422 names them all.
pub async fn checked(
    conn: &mut Conn,
    resource: CustomResource,
    current: &Map<String, Value>,
    sent: Option<&Sent>,
    others: Result<(), AppError>,
) -> Result<Change, AppError> {
    let custom = match sent {
        Some(sent) if !sent.is_empty() => Definitions::load(conn, resource).await?.check(current, Some(sent)),
        _ => Ok(Change {
            after: current.clone(),
            ..Change::default()
        }),
    };
    join(custom, others)
}

/// One 422 with the custom values' field errors and those of `others`; other errors as they are.
pub fn join(custom: Result<Change, Vec<FieldError>>, others: Result<(), AppError>) -> Result<Change, AppError> {
    match (custom, others) {
        (Ok(change), Ok(())) => Ok(change),
        (Ok(_), Err(error)) => Err(error),
        (Err(errors), Ok(())) => Err(AppError::Validation(errors)),
        (Err(mut errors), Err(AppError::Validation(more))) => {
            errors.extend(more);
            Err(AppError::Validation(errors))
        }
        (Err(_), Err(error)) => Err(error),
    }
}

/// [`checked`] for a write that gathers its field errors in `errors`: the custom values'
/// problems join them (and the change is then empty).
pub async fn check_into(
    conn: &mut Conn,
    resource: CustomResource,
    current: &Map<String, Value>,
    sent: Option<&Sent>,
    errors: &mut Vec<FieldError>,
) -> Result<Change, AppError> {
    match checked(conn, resource, current, sent, Ok(())).await {
        Err(AppError::Validation(wrong)) => {
            errors.extend(wrong);
            Ok(Change::default())
        }
        other => other,
    }
}
