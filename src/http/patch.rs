//! JSON merge patch (RFC 7396) fields: absent leaves a field alone, `null` clears it (only
//! where the field may be empty), a value replaces it.

use serde::{Deserialize, Deserializer};

/// For a field that may not be cleared: absent → `None`, value → `Some`, `null` → error.
/// Use with `#[serde(default, deserialize_with = "patch::present")]`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// For a field that may be cleared: absent → `None`, `null` → `Some(None)`, value →
/// `Some(Some(v))`. Use with `#[serde(default, deserialize_with = "patch::nullable")]`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Patch {
        #[serde(default, deserialize_with = "present")]
        name: Option<String>,
        #[serde(default, deserialize_with = "nullable")]
        notes: Option<Option<String>>,
    }

    #[test]
    fn absent_null_and_value_are_told_apart() {
        let absent: Result<Patch, _> = serde_json::from_value(json!({}));
        assert!(absent.is_ok_and(|p| p.name.is_none() && p.notes.is_none()));
        let cleared: Result<Patch, _> = serde_json::from_value(json!({"notes": null}));
        assert!(cleared.is_ok_and(|p| p.notes == Some(None)));
        let set: Result<Patch, _> = serde_json::from_value(json!({"name": "x", "notes": "y"}));
        assert!(set.is_ok_and(|p| p.name.as_deref() == Some("x") && p.notes == Some(Some("y".to_owned()))));
        let null_name: Result<Patch, _> = serde_json::from_value(json!({"name": null}));
        assert!(null_name.is_err());
    }
}
