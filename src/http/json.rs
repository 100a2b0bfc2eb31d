//! The JSON body extractor: content type (415), size (413), syntax (400), then every field
//! problem at once (422): missing required fields and unknown fields from the request's own
//! OpenAPI schema, wrong types from serde, rules from `validator`.

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa::PartialSchema;
use validator::Validate;

use crate::error::AppError;
use crate::http::budget::BodyClock;
use crate::http::deferred::Deferred;
use crate::http::fields::{self, Checked};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON request body: checked for content type, size and syntax when extracted; turned into
/// a validated `T` by [`JsonBody::parse`] once the handler has checked the caller's role, so a
/// caller who may not act gets a 403 rather than a list of field errors. `raw` is kept for
/// Idempotency-Key fingerprints.
pub struct JsonBody<T> {
    pub raw: Value,
    deferred: Option<Deferred>,
    target: PhantomData<T>,
}

impl<T> JsonBody<T>
where
    T: DeserializeOwned + Validate + PartialSchema,
{
    /// The body as a validated `T`, or a 422 naming every offending field. In a request
    /// (see [`Deferred`]) a body whose problems still leave a `T` gives it, stand-ins and all, so
    /// that the handler checks its references too; the problems are kept, nothing the request
    /// writes is committed, and its answer is the 422 naming all of them.
    pub fn parse(&self) -> Result<T, AppError> {
        match (fields::check::<T>(&self.raw), &self.deferred) {
            (
                Checked {
                    value: Some(value),
                    errors,
                },
                _,
            ) if errors.is_empty() => Ok(value),
            (
                Checked {
                    value: Some(value),
                    errors,
                },
                Some(deferred),
            ) => {
                let sent = self.raw.as_object().into_iter().flat_map(|o| o.keys().cloned());
                deferred.add(errors, sent);
                Ok(value)
            }
            (Checked { errors, .. }, _) => Err(AppError::Validation(errors)),
        }
    }

    /// The body as a validated `T`, or at once a 422 naming every offending field: for a
    /// handler whose effects do not all go through its `Db` (the batch runs its operations as
    /// requests of their own), which must not start when its own body is bad.
    pub fn parse_now(&self) -> Result<T, AppError> {
        parse::<T>(&self.raw)
    }
}

impl<T> FromRequest for JsonBody<T>
where
    T: DeserializeOwned + Validate + PartialSchema + 'static,
{
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let checked = check_headers(req);
        let clock = BodyClock::of(req);
        let deferred = Deferred::of(req);
        let mut payload = payload.take();
        Box::pin(async move {
            checked?;
            let bytes = clock.read(read_body(&mut payload)).await?;
            let raw: Value = serde_json::from_slice(&bytes)
                .map_err(|e| AppError::BadRequest(format!("the request body is not valid JSON: {e}")))?;
            Ok(Self {
                raw,
                deferred,
                target: PhantomData,
            })
        })
    }
}

/// A JSON body that may be left out: `None` for a request without one (no `Content-Type`
/// and no content); any body that is sent is checked like [`JsonBody`].
pub struct OptionalJsonBody<T>(pub Option<JsonBody<T>>);

impl<T> FromRequest for OptionalJsonBody<T>
where
    T: DeserializeOwned + Validate + PartialSchema + 'static,
{
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let headers = req.headers();
        let no_length = headers
            .get(header::CONTENT_LENGTH)
            .is_none_or(|v| v.to_str().is_ok_and(|v| v.trim() == "0"));
        let absent = no_length
            && !headers.contains_key(header::CONTENT_TYPE)
            && !headers.contains_key(header::TRANSFER_ENCODING);
        if absent {
            return Box::pin(async { Ok(Self(None)) });
        }
        let body = JsonBody::<T>::from_request(req, payload);
        // A `null` body is no body, as the document's nullable request body says.
        Box::pin(async move { body.await.map(|body| Self(Some(body).filter(|b| !b.raw.is_null()))) })
    }
}

/// The whole body, at most [`MAX_BODY_BYTES`] (413 beyond).
pub async fn read_body(payload: &mut Payload) -> Result<BytesMut, AppError> {
    let mut bytes = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(format!("cannot read the request body: {e}")))?;
        if bytes.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn too_large() -> AppError {
    AppError::PayloadTooLarge(format!("the request body exceeds {MAX_BODY_BYTES} bytes"))
}

fn check_headers(req: &HttpRequest) -> Result<(), AppError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence != "application/json" && !essence.ends_with("+json") {
        return Err(AppError::UnsupportedMediaType(format!(
            "the body must be application/json (or application/merge-patch+json), not '{content_type}'"
        )));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(len) if len > MAX_BODY_BYTES => Err(too_large()),
        _ => Ok(()),
    }
}

/// Deserialises and validates `raw` as a `T`, naming every offending field.
pub fn parse<T>(raw: &Value) -> Result<T, AppError>
where
    T: DeserializeOwned + Validate + PartialSchema,
{
    match fields::check::<T>(raw) {
        Checked {
            value: Some(value),
            errors,
        } if errors.is_empty() => Ok(value),
        Checked { errors, .. } => Err(AppError::Validation(errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;
    use utoipa::ToSchema;

    #[derive(Debug, Deserialize, Validate, ToSchema)]
    #[serde(deny_unknown_fields)]
    struct Sample {
        #[validate(length(min = 1))]
        name: String,
        count: u32,
        #[validate(email)]
        email: Option<String>,
    }

    fn fields(raw: Value) -> Vec<(String, String)> {
        match parse::<Sample>(&raw) {
            Err(AppError::Validation(errors)) => errors.into_iter().map(|e| (e.field, e.code)).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn names_every_missing_and_unknown_field() {
        let found = fields(json!({"extra": 1}));
        assert_eq!(
            found,
            vec![
                ("count".to_owned(), "required".to_owned()),
                ("extra".to_owned(), "unknown_field".to_owned()),
                ("name".to_owned(), "required".to_owned()),
            ]
        );
    }

    #[test]
    fn names_every_wrong_type() {
        let found = fields(json!({"name": 5, "count": "x"}));
        assert_eq!(
            found,
            vec![
                ("count".to_owned(), "invalid_type".to_owned()),
                ("name".to_owned(), "invalid_type".to_owned())
            ]
        );
    }

    #[derive(Debug, Deserialize, Validate, ToSchema)]
    #[serde(deny_unknown_fields)]
    struct WithList {
        ids: Vec<u32>,
    }

    #[test]
    fn a_bad_element_is_named_by_its_index_and_its_list_not_called_missing() {
        let found = match parse::<WithList>(&json!({"ids": [1, "x", 3]})) {
            Err(AppError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect::<Vec<_>>(),
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(found, vec!["ids[1]".to_owned()]);
        assert!(parse::<WithList>(&json!({"ids": [1, 2]})).is_ok_and(|w| w.ids == vec![1, 2]));
    }

    #[test]
    fn validator_rules_name_their_fields() {
        let found = fields(json!({"name": "", "count": 1, "email": "nope"}));
        assert_eq!(
            found,
            vec![
                ("email".to_owned(), "email".to_owned()),
                ("name".to_owned(), "length".to_owned())
            ]
        );
    }

    #[test]
    fn rules_are_checked_beside_wrong_types_and_missing_fields() {
        // `count` is required and wrong: a stand-in lets the rules of the others run.
        assert_eq!(
            fields(json!({"name": "", "count": "x", "email": "nope"})),
            vec![
                ("count".to_owned(), "invalid_type".to_owned()),
                ("email".to_owned(), "email".to_owned()),
                ("name".to_owned(), "length".to_owned()),
            ]
        );
        assert_eq!(
            fields(json!({"name": "", "extra": true})),
            vec![
                ("count".to_owned(), "required".to_owned()),
                ("extra".to_owned(), "unknown_field".to_owned()),
                ("name".to_owned(), "length".to_owned()),
            ]
        );
    }

    #[derive(Debug, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Lead,
        Customer,
    }

    #[derive(Debug, Deserialize, Validate, ToSchema)]
    #[serde(deny_unknown_fields)]
    struct WithKind {
        kind: Kind,
        #[validate(length(min = 1))]
        name: String,
    }

    #[test]
    fn a_bad_required_choice_gets_a_stand_in_from_the_choices() {
        let checked = fields::check::<WithKind>(&json!({"kind": "prospect", "name": ""}));
        let found: Vec<_> = checked
            .errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(found, [("kind", "invalid_choice"), ("name", "length")]);
        assert!(checked.value.is_some_and(|v| matches!(v.kind, Kind::Lead)));
    }

    #[test]
    fn a_valid_body_parses() {
        let parsed = parse::<Sample>(&json!({"name": "x", "count": 3}));
        assert!(parsed.is_ok_and(|s| s.count == 3 && s.name == "x" && s.email.is_none()));
    }

    #[test]
    fn nul_characters_are_named() {
        assert_eq!(
            fields(json!({"name": "a\u{0}b", "count": 1})),
            vec![("name".to_owned(), "invalid_character".to_owned())]
        );
    }

    #[test]
    fn a_non_object_body_is_named_as_the_body() {
        assert_eq!(fields(json!([1, 2])), vec![(String::new(), "invalid_type".to_owned())]);
    }
}
