//! What every resource shares: JSON bodies, pagination, ETag/If-Match, Idempotency-Key,
//! merge-patch fields, extractor error handlers and response helpers.

pub mod budget;
pub mod conditional;
pub mod count;
pub mod deferred;
pub mod envelope;
pub mod fields;
pub mod idempotency;
pub mod json;
pub mod keyset;
pub mod limits;
pub mod pagination;
pub mod patch;
pub mod retry;
pub mod wire;

use actix_web::error::{PathError, QueryPayloadError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload};
use serde::Serialize;
use std::future::{Ready, ready};
use utoipa::IntoParams;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use crate::error::AppError;

/// A resource with a version (its ETag) and an address (its Location).
pub trait Resource: Serialize {
    fn version(&self) -> i32;
    fn location(&self) -> String;
    /// Whether what is sent also changes without a new version: its ETag then adds a digest of
    /// the body, so that `If-None-Match` never answers 304 to a copy from before (see
    /// [`etag_of`]).
    const CHANGES_WITHOUT_VERSION: bool = false;
}

/// The ETag of a version: `"<version>"`.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The ETag of `resource` sent as `body`: `"<version>"`, or `"<version>-<digest of body>"` for
/// a resource whose body changes without a new version. `If-Match` compares the version.
pub fn etag_of<R: Resource>(resource: &R, body: &[u8]) -> String {
    if R::CHANGES_WITHOUT_VERSION {
        use sha2::Digest;
        format!(
            "\"{}-{}\"",
            resource.version(),
            hex::encode(&sha2::Sha256::digest(body)[..6])
        )
    } else {
        etag(resource.version())
    }
}

/// The resource as a JSON answer with its ETag, serialised once.
fn answer<R: Resource>(mut builder: actix_web::HttpResponseBuilder, resource: &R) -> HttpResponse {
    match serde_json::to_vec(resource) {
        Ok(body) => builder
            .insert_header((header::ETAG, etag_of(resource, &body)))
            .insert_header(header::ContentType::json())
            .body(body),
        Err(e) => actix_web::ResponseError::error_response(&AppError::Internal(e.to_string())),
    }
}

/// 200 with the resource and its ETag.
pub fn ok<R: Resource>(resource: &R) -> HttpResponse {
    answer(HttpResponse::Ok(), resource)
}

/// 201 with the new resource, its `Location` and `ETag` (an upsert that created it).
pub fn created<R: Resource>(resource: &R) -> HttpResponse {
    let mut builder = HttpResponse::Created();
    builder.insert_header((header::LOCATION, header_value(&resource.location())));
    answer(builder, resource)
}

/// The `If-Match` precondition: `None` when absent or `*`.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(Option<Vec<i32>>);

impl IfMatch {
    /// 412 unless `current` is one of the listed versions.
    pub fn check(&self, current: i32) -> Result<(), AppError> {
        match &self.0 {
            Some(versions) if !versions.contains(&current) => Err(AppError::PreconditionFailed(format!(
                "If-Match does not match the current version {}; fetch the resource again",
                etag(current)
            ))),
            _ => Ok(()),
        }
    }

    fn parse(value: &str) -> Result<Self, AppError> {
        if value.trim() == "*" {
            return Ok(Self(None));
        }
        value
            .split(',')
            .map(|tag| {
                let tag = tag.trim();
                let tag = tag.strip_prefix("W/").unwrap_or(tag);
                let tag = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(tag);
                // `"3-5f0a1c9e2b7d"` is version 3 (see `Resource::etag`).
                let digest = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
                let version = match tag.split_once('-') {
                    Some((version, rest)) if digest(rest) => version,
                    Some(_) => "",
                    None => tag,
                };
                version
                    .parse::<i32>()
                    .map_err(|_| AppError::BadRequest(format!("If-Match must hold ETags such as \"3\", not '{value}'")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|versions| Self(Some(versions)))
    }
}

impl FromRequest for IfMatch {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.headers().get(header::IF_MATCH) {
            None => Ok(Self::default()),
            Some(value) => value
                .to_str()
                .map_err(|_| AppError::BadRequest("If-Match is not readable text".to_owned()))
                .and_then(Self::parse),
        })
    }
}

/// An optional header parameter for the OpenAPI document, without an example: Swagger UI would
/// send the example with every try, a stale version (412) or a key already used for another
/// body (422).
fn header_parameter(name: &str, description: &str, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema.schema_type(Type::String)))
        .build()
}

impl IntoParams for IfMatch {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = ObjectBuilder::new().pattern(Some(
            r#"^\s*(\*|(W/)?("[0-9]{1,9}(-[0-9a-z]+)?"|[0-9]{1,9})(\s*,\s*(W/)?("[0-9]{1,9}(-[0-9a-z]+)?"|[0-9]{1,9}))*)\s*$"#,
        ));
        vec![header_parameter(
            "If-Match",
            "The ETag (version) the change is based on, as the last read answered it (e.g. `\"3\"`); \
             412 when the resource has changed since",
            schema,
        )]
    }
}

/// The `If-None-Match` parameter of a read with an ETag (see [`conditional`]).
pub fn if_none_match_parameter() -> Parameter {
    header_parameter(
        "If-None-Match",
        "The ETag of the copy the client holds (e.g. `\"3\"`): 304 without a body while it is current",
        ObjectBuilder::new(),
    )
}

impl IntoParams for idempotency::IdempotencyKey {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = ObjectBuilder::new()
            .min_length(Some(1))
            .max_length(Some(255))
            .pattern(Some("^[!-~]+$"));
        vec![header_parameter(
            "Idempotency-Key",
            "Makes retries safe: a repeat with the same key and body returns the first response and creates \
             nothing; the same key with another body is a 422. Use a fresh value (a UUID) for every new \
             request and the same one only to retry it. Kept 24 hours.",
            schema,
        )]
    }
}

/// Query strings that do not parse are a 400 problem.
pub fn query_error(error: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    AppError::BadRequest(format!("invalid query string: {error}")).into()
}

/// Path segments that do not parse (e.g. a malformed UUID) are a 400 problem.
pub fn path_error(error: PathError, _: &HttpRequest) -> actix_web::Error {
    AppError::BadRequest(format!("invalid path: {error}")).into()
}

/// A header value we generated; falls back to an empty value rather than failing.
pub fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `true`, for `#[serde(default = "crate::http::default_true")]` on flags such as `active`.
pub fn default_true() -> bool {
    true
}

/// `validator` check for names and labels: not only white space (they are stored trimmed).
pub fn not_blank(text: &str) -> Result<(), validator::ValidationError> {
    if text.trim().is_empty() {
        Err(validator::ValidationError::new("blank").with_message("must not be blank".into()))
    } else {
        Ok(())
    }
}

/// `validator` check for an ERP's key (`external_id`): 1 to 200 characters, no white space at
/// either end (it is compared exactly, case-sensitively).
pub fn external_id(text: &str) -> Result<(), validator::ValidationError> {
    if text.is_empty() || text.chars().count() > 200 || text.trim() != text {
        Err(validator::ValidationError::new("external_id")
            .with_message("must be 1 to 200 characters without white space at either end".into()))
    } else {
        Ok(())
    }
}

/// The ERP key of an upsert path (`…/by-external-id/{external_id}`), checked, and the body's
/// `external_id`, which must be absent or the same (422 otherwise).
pub fn upsert_key(path: String, body: Option<&String>) -> Result<String, AppError> {
    external_id(&path).map_err(|e| AppError::invalid("external_id", "external_id", e.message.unwrap_or_default()))?;
    if body.is_some_and(|given| *given != path) {
        return Err(AppError::invalid(
            "external_id",
            "mismatch",
            "leave external_id out or give the path's",
        ));
    }
    Ok(path)
}

/// An ILIKE pattern that finds `q` anywhere, with `%`, `_` and `\` in `q` taken literally.
pub fn contains_pattern(q: &str) -> String {
    let escaped = q.trim().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_accepts_strong_weak_and_bare_tags() {
        assert!(IfMatch::parse("\"3\"").is_ok_and(|m| m.check(3).is_ok() && m.check(4).is_err()));
        assert!(IfMatch::parse("W/\"3\", \"5\"").is_ok_and(|m| m.check(5).is_ok()));
        assert!(IfMatch::parse("7").is_ok_and(|m| m.check(7).is_ok()));
        assert!(IfMatch::parse("*").is_ok_and(|m| m.check(1).is_ok()));
        assert!(IfMatch::parse("\"abc\"").is_err());
        assert!(IfMatch::parse("\"1-\"").is_err() && IfMatch::parse("9-vfq(D!e5").is_err());
        assert!(IfMatch::parse("\"3-5f0a1c9e2b7d\"").is_ok_and(|m| m.check(3).is_ok() && m.check(4).is_err()));
    }
}
