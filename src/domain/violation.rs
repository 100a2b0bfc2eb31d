//! What a rule reports when a value breaks it: the field, a stable code, a message for people.
//! The HTTP edge turns violations into the `errors` of a 422 (`FieldError`).

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON path of the field the rule is about (`stage_ids[2]`).
    pub field: String,
    /// Machine-readable reason: `required`, `range`, `not_open`, …
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl Violation {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}
