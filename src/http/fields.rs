//! Every problem of a JSON body in one pass: NUL characters, schema-required and unknown
//! properties, wrong types (from serde) and the rules of `validator`. A property with a problem
//! is taken out of the body (or, when required, replaced by a stand-in value of its type) and
//! the rest is tried again, so the rules of the remaining properties are checked too and a
//! `T` is still built when it can be: the request then checks its references with it, and the
//! one 422 names every offending field (see `http::deferred`).

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use utoipa::PartialSchema;
use utoipa::openapi::{RefOr, Schema};
use validator::Validate;

use crate::error::{FieldError, validator_errors};

/// What a body amounts to: the value built from it (with stand-ins for its bad required
/// properties) and every problem found.
pub struct Checked<T> {
    pub value: Option<T>,
    pub errors: Vec<FieldError>,
}

/// Checks `raw` as a `T`.
pub fn check<T>(raw: &Value) -> Checked<T>
where
    T: DeserializeOwned + Validate + PartialSchema,
{
    let normalised = whole_numbers(raw);
    let raw = normalised.as_ref();
    if let Some(checked) = valid_shape(raw) {
        return checked;
    }
    let Value::Object(object) = raw else {
        return Checked {
            value: None,
            errors: vec![FieldError::new("", "invalid_type", "the body must be a JSON object")],
        };
    };
    let mut errors = Vec::new();
    nul_characters(raw, "", &mut errors);
    let mut required = Vec::new();
    if let RefOr::T(Schema::Object(schema)) = T::schema() {
        required.clone_from(&schema.required);
        for name in schema.required.iter().filter(|name| !object.contains_key(*name)) {
            errors.push(FieldError::new(name.clone(), "required", "this field is required"));
        }
        for name in object.keys().filter(|k| !schema.properties.contains_key(*k)) {
            errors.push(FieldError::new(
                name.clone(),
                "unknown_field",
                "this field is not known here",
            ));
        }
    }
    let mut touched: BTreeSet<String> = errors.iter().map(|e| top(&e.field).to_owned()).collect();
    let mut trial = object.clone();
    for name in &touched {
        if required.contains(name) {
            trial.insert(name.clone(), Value::Null);
        } else {
            trial.remove(name);
        }
    }
    let mut stood_in = BTreeSet::new();
    let value = loop {
        let error = match serde_path_to_error::deserialize::<_, T>(&Value::Object(trial.clone())) {
            Ok(value) => break Some(value),
            Err(error) => error,
        };
        let message = clean_message(&error.inner().to_string());
        let field = error_field(&error.path().to_string(), &message);
        let name = top(&field).to_owned();
        if name.is_empty() || !trial.contains_key(&name) && !message.starts_with("missing field") {
            break None;
        }
        if touched.insert(name.clone()) {
            errors.push(FieldError::new(field, serde_code(&message), message.clone()));
        }
        let replace = required.contains(&name) || message.starts_with("missing field");
        if !replace {
            trial.remove(&name);
        } else if !stood_in.insert(name.clone()) || !stand_in::<T>(&mut trial, &name, &message) {
            break None;
        }
    };
    if let Some(Err(rules)) = value.as_ref().map(Validate::validate) {
        let rules = validator_errors(&rules);
        errors.extend(rules.into_iter().filter(|e| !touched.contains(top(&e.field))));
    }
    if errors.is_empty() && value.is_none() {
        errors.push(FieldError::new(
            "",
            "invalid",
            "the body does not match the expected schema",
        ));
    }
    errors.sort_by(|a, b| a.field.cmp(&b.field).then_with(|| a.code.cmp(&b.code)));
    errors.dedup();
    Checked { value, errors }
}

/// The common case without copies: a body of the right shape (no NUL character, every
/// property known and of its type) is built at once and only its rules are checked; `None`
/// sends the body through the property-by-property pass.
fn valid_shape<T: DeserializeOwned + Validate>(raw: &Value) -> Option<Checked<T>> {
    // serde builds a struct from an array too (`[null, null]` as its first two fields).
    if !raw.is_object() {
        return None;
    }
    let mut unstorable = Vec::new();
    nul_characters(raw, "", &mut unstorable);
    if !unstorable.is_empty() {
        return None;
    }
    let value = T::deserialize(raw).ok()?;
    let mut errors = value
        .validate()
        .err()
        .map(|rules| validator_errors(&rules))
        .unwrap_or_default();
    errors.sort_by(|a, b| a.field.cmp(&b.field).then_with(|| a.code.cmp(&b.code)));
    Some(Checked {
        value: Some(value),
        errors,
    })
}

/// JSON does not tell `3.0` from `3`: a whole number sent with a fraction reads as an integer,
/// so that integer fields take it (numbers of amounts mean the same either way). The body is
/// copied only when it holds such a number.
fn whole_numbers(value: &Value) -> Cow<'_, Value> {
    if fractional_whole(value) {
        Cow::Owned(integers(value))
    } else {
        Cow::Borrowed(value)
    }
}

/// 2^53: every integer below it is an exact f64.
const EXACT: f64 = 9_007_199_254_740_992.0;

fn as_whole(n: &serde_json::Number) -> Option<i64> {
    #[expect(clippy::cast_possible_truncation, reason = "a whole number below 2^53 in magnitude")]
    n.as_f64()
        .filter(|f| !n.is_i64() && !n.is_u64() && f.fract() == 0.0 && f.abs() < EXACT)
        .map(|f| f as i64)
}

fn fractional_whole(value: &Value) -> bool {
    match value {
        Value::Number(n) => as_whole(n).is_some(),
        Value::Array(items) => items.iter().any(fractional_whole),
        Value::Object(map) => map.values().any(fractional_whole),
        _ => false,
    }
}

fn integers(value: &Value) -> Value {
    match value {
        Value::Number(n) => as_whole(n).map_or_else(|| value.clone(), Value::from),
        Value::Array(items) => Value::Array(items.iter().map(integers).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), integers(v))).collect()),
        other => other.clone(),
    }
}

/// The top-level property of a field path (`lines[0].quantity` → `lines`).
pub fn top(field: &str) -> &str {
    field.split(['.', '[']).next().unwrap_or("")
}

/// Puts a value of the right type in place of `name`, so that the rest of the body can be
/// built: the first of a few plain values of each JSON type (or the first variant serde names)
/// that `T` accepts there. False when none does.
fn stand_in<T: DeserializeOwned>(trial: &mut Map<String, Value>, name: &str, message: &str) -> bool {
    let mut candidates = vec![
        json!("00000000-0000-0000-0000-000000000000"),
        json!("2000-01-01"),
        json!("2000-01-01T00:00:00Z"),
        json!("1"),
        json!(1),
        json!("0"),
        json!(0),
        json!(false),
        json!([]),
        json!({}),
    ];
    if let Some(variant) = first_variant(message) {
        candidates.insert(0, json!(variant));
    }
    let mut tried = BTreeSet::new();
    while let Some(candidate) = candidates.first().cloned() {
        candidates.remove(0);
        if !tried.insert(candidate.to_string()) {
            continue;
        }
        trial.insert(name.to_owned(), candidate);
        match serde_path_to_error::deserialize::<_, T>(&Value::Object(trial.clone())) {
            Ok(_) => return true,
            Err(error) => {
                let message = error.inner().to_string();
                if top(&error_field(&error.path().to_string(), &message)) != name {
                    return true;
                }
                if let Some(variant) = first_variant(&message) {
                    candidates.insert(0, json!(variant));
                }
            }
        }
    }
    false
}

/// The first variant serde lists in "unknown variant `x`, expected one of `a`, `b`" (or
/// "expected `a`").
fn first_variant(message: &str) -> Option<&str> {
    let (_, expected) = message.split_once("expected ")?;
    let rest = expected.strip_prefix("one of ").unwrap_or(expected);
    rest.strip_prefix('`')?.split('`').next()
}

/// PostgreSQL text cannot hold U+0000: name every string (or key) that contains it.
fn nul_characters(value: &Value, path: &str, out: &mut Vec<FieldError>) {
    let bad = |path: &str| FieldError::new(path, "invalid_character", "must not contain the NUL character (U+0000)");
    match value {
        Value::String(text) if text.contains('\0') => out.push(bad(path)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                nul_characters(item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if key.contains('\0') {
                    out.push(bad(&child));
                } else {
                    nul_characters(item, &child, out);
                }
            }
        }
        _ => {}
    }
}

/// The path of a serde error; a missing field is named by its own path, not its parent's.
fn error_field(path: &str, message: &str) -> String {
    let parent = if path == "." { "" } else { path };
    match message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        Some(name) if parent.is_empty() => name.to_owned(),
        Some(name) => format!("{parent}.{name}"),
        None => parent.to_owned(),
    }
}

fn serde_code(message: &str) -> &'static str {
    if message.starts_with("missing field") {
        "required"
    } else if message.starts_with("unknown field") {
        "unknown_field"
    } else if message.starts_with("unknown variant") {
        "invalid_choice"
    } else if message.starts_with("invalid type") {
        "invalid_type"
    } else {
        "invalid_value"
    }
}

/// Drops serde's position suffix (" at line 1 column 9"), meaningless for a re-serialised value.
fn clean_message(message: &str) -> String {
    message.split(" at line ").next().unwrap_or(message).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, Validate, utoipa::ToSchema)]
    struct Patch {
        description: Option<String>,
        active: Option<bool>,
    }

    #[test]
    fn an_array_is_no_body_even_where_serde_would_read_it_as_the_fields() {
        let checked = check::<Patch>(&json!([null, null]));
        assert!(checked.value.is_none());
        assert_eq!(checked.errors.first().map(|e| e.code.as_str()), Some("invalid_type"));
        let read = check::<Patch>(&json!({"active": true, "description": "x"})).value;
        assert!(read.is_some_and(|p| p.active == Some(true) && p.description.as_deref() == Some("x")));
    }

    #[test]
    fn whole_numbers_with_a_fraction_become_integers_and_other_bodies_are_not_copied() {
        let plain = json!({"days": 45, "price": 1.5, "lines": [{"quantity": 2}]});
        assert!(matches!(whole_numbers(&plain), Cow::Borrowed(_)));
        let sent = json!({"days": 45.0, "price": 1.5, "lines": [{"quantity": 2.0}], "huge": 1e300});
        let read = whole_numbers(&sent);
        assert!(matches!(read, Cow::Owned(_)));
        assert_eq!(
            read.as_ref(),
            &json!({"days": 45, "price": 1.5, "lines": [{"quantity": 2}], "huge": 1e300})
        );
    }
}
