//! Custom fields: which resources have them, their value types, and what makes a value fit its
//! definition. A value is stored as it is shown: money a Money string, a date `YYYY-MM-DD`, a
//! number a JSON number, a multi_enum an array of options.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::money::Money;
use super::text_enum;
use super::violation::Violation;

text_enum! {
    /// The resource a custom field belongs to.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum CustomResource {
        Opportunity = "opportunity",
        BusinessPartner = "business_partner",
        Contact = "contact",
        Quote = "quote",
        Activity = "activity",
    }
}

text_enum! {
    /// The type of a custom field's values.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum FieldType {
        /// A string of at most 2,000 characters.
        Text = "text",
        /// A JSON number.
        Number = "number",
        /// A Money string with two decimals (a string or a number on input).
        Money = "money",
        /// `YYYY-MM-DD`.
        Date = "date",
        /// `true` or `false`.
        Boolean = "boolean",
        /// One of `options`.
        Enum = "enum",
        /// An array of distinct `options`.
        MultiEnum = "multi_enum",
    }
}

impl FieldType {
    /// Whether the type takes options.
    pub fn has_options(self) -> bool {
        matches!(self, Self::Enum | Self::MultiEnum)
    }

    /// Whether values of the type are numbers (number and money: the formula's variables).
    pub fn is_numeric(self) -> bool {
        matches!(self, Self::Number | Self::Money)
    }

    /// Whether values of the type are ordered (ranges `_from`/`_to` apply).
    pub fn is_ranged(self) -> bool {
        matches!(self, Self::Number | Self::Money | Self::Date)
    }
}

/// What a definition says about its values.
#[derive(Debug, Clone)]
pub struct Definition {
    pub key: String,
    pub field_type: FieldType,
    pub options: Vec<String>,
}

/// What is wrong with a definition of `field_type` with `options` on `resource` that requires
/// its value from `required_stages` stages: enums need options, other types take none, and only
/// opportunities have stages.
pub fn check_definition(
    resource: CustomResource,
    field_type: FieldType,
    options: &[String],
    required_stages: usize,
) -> Vec<Violation> {
    let mut wrong = Vec::new();
    if field_type.has_options() && options.is_empty() {
        wrong.push(Violation::new(
            "options",
            "required",
            "an enum needs at least one option",
        ));
    }
    if !field_type.has_options() && !options.is_empty() {
        wrong.push(Violation::new(
            "options",
            "not_allowed",
            "only enum and multi_enum fields take options",
        ));
    }
    let mut sorted = options.to_vec();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != options.len() {
        wrong.push(Violation::new("options", "duplicate", "options must be distinct"));
    }
    if resource != CustomResource::Opportunity && required_stages > 0 {
        wrong.push(Violation::new(
            "required_from_stage_ids",
            "not_allowed",
            "only opportunity fields can be required from a stage",
        ));
    }
    wrong
}

/// The longest text value.
const MAX_TEXT: usize = 2000;

/// The valid key of a custom field: `[a-z][a-z0-9_]{0,39}`.
pub fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && key.len() <= 40
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `value` as stored for `definition` (money with two decimals, a trimmed date), or the
/// violation of `custom.<key>`.
pub fn normalise(definition: &Definition, value: &Value) -> Result<Value, Violation> {
    let field = format!("custom.{}", definition.key);
    let bad = |code: &str, message: String| Violation::new(field.clone(), code, message);
    match (definition.field_type, value) {
        (FieldType::Text, Value::String(text)) if text.chars().count() <= MAX_TEXT => Ok(value.clone()),
        (FieldType::Text, Value::String(_)) => Err(bad("length", format!("at most {MAX_TEXT} characters"))),
        (FieldType::Number, Value::Number(n)) if Decimal::from_str(&n.to_string()).is_ok() => Ok(value.clone()),
        (FieldType::Money, Value::String(_) | Value::Number(_)) => Money::deserialize(value)
            .map(|money| Value::String(format!("{:.2}", money.amount())))
            .map_err(|e| bad("invalid_value", e.to_string())),
        (FieldType::Date, Value::String(text)) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|day| Value::String(day.format("%Y-%m-%d").to_string()))
            .map_err(|_| bad("invalid_value", format!("'{text}' is no date (YYYY-MM-DD)"))),
        (FieldType::Boolean, Value::Bool(_)) => Ok(value.clone()),
        (FieldType::Enum, Value::String(text)) => option(definition, text)
            .map(|()| value.clone())
            .map_err(|message| bad("invalid_choice", message)),
        (FieldType::MultiEnum, Value::Array(items)) => {
            let mut seen = Vec::new();
            for item in items {
                let Value::String(text) = item else {
                    return Err(bad("invalid_type", "an array of option strings".to_owned()));
                };
                option(definition, text).map_err(|message| bad("invalid_choice", message))?;
                if seen.contains(text) {
                    return Err(bad("duplicate", format!("'{text}' is given twice")));
                }
                seen.push(text.clone());
            }
            Ok(value.clone())
        }
        (field_type, _) => Err(bad("invalid_type", format!("expected a value of type {field_type}"))),
    }
}

fn option(definition: &Definition, text: &str) -> Result<(), String> {
    if definition.options.iter().any(|o| o == text) {
        Ok(())
    } else {
        Err(format!("'{text}' is not one of {}", definition.options.join(", ")))
    }
}

/// A number or money value as a decimal (the formula's variables); `None` for other values.
pub fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(n) => Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .ok(),
        Value::String(text) => Decimal::from_str(text).ok(),
        _ => None,
    }
}

/// The text of a value as a filter compares it and the quote prints it: an option list joined
/// by ", ", other values as their JSON text without quotes.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn definition(field_type: FieldType) -> Definition {
        Definition {
            key: "k".to_owned(),
            field_type,
            options: vec!["a".to_owned(), "b".to_owned()],
        }
    }

    #[test]
    fn values_are_checked_and_stored_as_shown() {
        let money = definition(FieldType::Money);
        assert_eq!(normalise(&money, &json!(12.5)), Ok(json!("12.50")));
        assert_eq!(normalise(&money, &json!("3")), Ok(json!("3.00")));
        assert!(normalise(&money, &json!("1.234")).is_err());
        assert!(normalise(&money, &json!(true)).is_err());
        let date = definition(FieldType::Date);
        assert_eq!(normalise(&date, &json!("2027-02-01")), Ok(json!("2027-02-01")));
        let wrong = normalise(&date, &json!("2027-02-30")).err();
        assert_eq!(
            wrong.map(|v| (v.field, v.code)),
            Some(("custom.k".to_owned(), "invalid_value".to_owned()))
        );
        assert!(normalise(&definition(FieldType::Number), &json!(36)).is_ok());
        assert!(normalise(&definition(FieldType::Number), &json!("36")).is_err());
        assert!(normalise(&definition(FieldType::Enum), &json!("a")).is_ok());
        assert!(normalise(&definition(FieldType::Enum), &json!("c")).is_err());
        let multi = definition(FieldType::MultiEnum);
        assert!(normalise(&multi, &json!(["a", "b"])).is_ok());
        assert!(normalise(&multi, &json!(["a", "a"])).is_err());
        assert!(normalise(&multi, &json!(["c"])).is_err());
        assert!(normalise(&definition(FieldType::Boolean), &json!("true")).is_err());
        assert!(normalise(&definition(FieldType::Text), &json!("x".repeat(2001))).is_err());
    }

    #[test]
    fn enums_need_options_and_only_opportunities_have_stages() {
        let none: Vec<String> = Vec::new();
        let two = vec!["a".to_owned(), "a".to_owned()];
        assert!(check_definition(CustomResource::Quote, FieldType::Text, &none, 0).is_empty());
        let fields = |v: Vec<Violation>| v.into_iter().map(|v| v.code).collect::<Vec<_>>();
        assert_eq!(
            fields(check_definition(CustomResource::Quote, FieldType::Enum, &none, 0)),
            ["required"]
        );
        assert_eq!(
            fields(check_definition(CustomResource::Quote, FieldType::Number, &two, 1)),
            ["not_allowed", "duplicate", "not_allowed"]
        );
        assert!(check_definition(CustomResource::Opportunity, FieldType::Date, &none, 2).is_empty());
    }

    #[test]
    fn keys_follow_the_pattern() {
        assert!(valid_key("leasing_months"));
        assert!(valid_key("a"));
        assert!(!valid_key("1a"));
        assert!(!valid_key("Leasing"));
        assert!(!valid_key(""));
        assert!(!valid_key(&"a".repeat(41)));
    }

    #[test]
    fn numbers_and_money_are_decimals() {
        assert_eq!(decimal(&json!(36)), Some(Decimal::from(36)));
        assert_eq!(decimal(&json!("1500.50")), Decimal::from_str("1500.50").ok());
        assert_eq!(decimal(&json!(true)), None);
        assert_eq!(text(&json!(["a", "b"])), "a, b");
        assert_eq!(text(&json!(2.5)), "2.5");
    }
}
