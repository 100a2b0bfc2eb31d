//! One error type for everything a request can fail with, rendered as RFC 9457
//! `application/problem+json`.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{ValidationErrors, ValidationErrorsKind};

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

impl ProblemDetails {
    /// A problem of kind `urn:salesfunnel:problem:{slug}`, titled with the status's reason.
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Self {
            problem_type: format!("urn:salesfunnel:problem:{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: None,
        }
    }
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"field": "email", "code": "email", "message": "must be an e-mail address"}))]
pub struct FieldError {
    /// JSON path of the field (`lines[0].quantity`); empty for the body as a whole.
    pub field: String,
    /// Machine-readable reason: `required`, `invalid_type`, `unknown_field`, `length`, …
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<crate::domain::Violation> for FieldError {
    fn from(v: crate::domain::Violation) -> Self {
        Self {
            field: v.field,
            code: v.code,
            message: v.message,
        }
    }
}

/// The field errors of the violations `rules` found.
pub fn field_errors(rules: impl IntoIterator<Item = crate::domain::Violation>) -> Vec<FieldError> {
    rules.into_iter().map(FieldError::from).collect()
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:salesfunnel:problem:not-found",
    "title": "Not Found",
    "status": 404,
    "detail": "business partner 0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10 does not exist"
}))]
pub struct ProblemDetails {
    /// URI that identifies the kind of problem.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the kind of problem (the HTTP reason phrase).
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// Only for 422: every invalid field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    UriTooLong(String),
    #[error("the request is invalid")]
    Validation(Vec<FieldError>),
    /// The request body did not arrive in time (`BODY_TIMEOUT_MS`).
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    Unavailable(String),
    /// A feature whose configuration is missing (e-mail without `SMTP_URL`): a 503 that names
    /// the variable.
    #[error("{0}")]
    NotConfigured(String),
    /// A server we relay to (the SMTP server) refused or failed: a 502 with its answer.
    #[error("{0}")]
    BadGateway(String),
    /// The database did not answer within a time limit (503 as well; the cause is logged).
    #[error("{0}")]
    TimedOut(String),
    /// PostgreSQL rolled the transaction back to resolve a deadlock or a serialization
    /// conflict: nothing was written. The retry middleware (`http/retry.rs`) runs the request
    /// again; after its last attempt this is a 503.
    #[error("{0}")]
    Contended(String),
    /// Something on our side; the cause is logged, never sent.
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    /// A 422 for one field.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    /// Replaces the generic text of a 409 (e.g. from a foreign key) with `message`.
    pub fn or_conflict(self, message: impl Into<String>) -> Self {
        match self {
            Self::Conflict(_) => Self::Conflict(message.into()),
            other => other,
        }
    }

    /// A 404 naming the missing resource.
    pub fn not_found(what: &str, id: impl std::fmt::Display) -> Self {
        Self::NotFound(format!("{what} {id} does not exist"))
    }

    fn slug(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad-request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::MethodNotAllowed(_) => "method-not-allowed",
            Self::Conflict(_) => "conflict",
            Self::PreconditionFailed(_) => "precondition-failed",
            Self::PayloadTooLarge(_) => "payload-too-large",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::UriTooLong(_) => "uri-too-long",
            Self::Validation(_) => "validation-failed",
            Self::RequestTimeout(_) => "request-timeout",
            Self::TooManyRequests(_) => "too-many-requests",
            Self::Unavailable(_) | Self::TimedOut(_) | Self::Contended(_) | Self::NotConfigured(_) => {
                "service-unavailable"
            }
            Self::BadGateway(_) => "bad-gateway",
            Self::Internal(_) => "internal-error",
        }
    }

    /// The body sent to the client; 5xx details stay in the log.
    pub fn problem(&self) -> ProblemDetails {
        let status = self.status_code();
        let detail = match self {
            Self::Internal(_) => "an unexpected error occurred; it has been logged".to_owned(),
            Self::Unavailable(cause) if cause.contains("too many clients") => {
                "the database has no free connection (too many clients); try again shortly".to_owned()
            }
            Self::TimedOut(_) => format!("the database did not answer in time; {RETRY_WITH_KEY}"),
            Self::Unavailable(_) => format!("the database is unavailable; {RETRY_WITH_KEY}"),
            Self::Contended(_) => {
                "the change collided with concurrent changes and was rolled back; try again shortly".to_owned()
            }
            other => other.to_string(),
        };
        ProblemDetails {
            errors: match self {
                Self::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
            ..ProblemDetails::new(status, self.slug(), detail)
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::TimedOut(_) | Self::Contended(_) | Self::NotConfigured(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => log::error!("internal error: {cause}"),
            Self::Unavailable(cause) | Self::TimedOut(cause) => log::warn!("database unavailable: {cause}"),
            Self::Contended(cause) => log::warn!("rolled back after retries: {cause}"),
            Self::BadGateway(cause) => log::warn!("relay failed: {cause}"),
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self {
            Self::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            Self::Unavailable(_) | Self::TimedOut(_) | Self::Contended(_) => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("2")));
            }
            _ => {}
        }
        response.json(self.problem())
    }
}

impl From<DieselError> for AppError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => Self::NotFound("the resource does not exist".to_owned()),
            DieselError::DatabaseError(kind, info) => match kind {
                DatabaseErrorKind::UniqueViolation => Self::Conflict(unique_message(info.constraint_name())),
                DatabaseErrorKind::ForeignKeyViolation => {
                    Self::Conflict("the resource is referenced by or refers to another resource".to_owned())
                }
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                    Self::Unavailable(info.message().to_owned())
                }
                DatabaseErrorKind::SerializationFailure => Self::Contended(info.message().to_owned()),
                _ if info.message().starts_with("deadlock detected") => Self::Contended(info.message().to_owned()),
                DatabaseErrorKind::CheckViolation => Self::Validation(vec![FieldError::new(
                    "",
                    "check",
                    format!("a value breaks rule {}", info.constraint_name().unwrap_or("?")),
                )]),
                _ if is_connection_failure(info.message()) => Self::Unavailable(info.message().to_owned()),
                // statement_timeout (DATABASE_STATEMENT_TIMEOUT_MS) cancelled it.
                _ if info.message().contains("statement timeout") => Self::TimedOut(info.message().to_owned()),
                _ if info.message().contains("out of range") || info.message().contains("numeric field overflow") => {
                    Self::Validation(vec![FieldError::new(
                        "",
                        "out_of_range",
                        "a value is too large to store",
                    )])
                }
                // e.g. U+0000 in a query parameter: the client's text, not our fault.
                _ if info.message().contains("invalid byte sequence") => Self::BadRequest(
                    "the request contains a character that cannot be stored (such as U+0000)".to_owned(),
                ),
                _ => Self::Internal(format!("database error: {}", info.message())),
            },
            DieselError::BrokenTransactionManager => Self::Unavailable("broken transaction".to_owned()),
            other => Self::Internal(format!("database error: {other}")),
        }
    }
}

/// How a client retries after a 503: a write may have committed before its answer was lost.
const RETRY_WITH_KEY: &str =
    "try again shortly; retry a write only with the same Idempotency-Key, since it may have committed";

/// Messages libpq gives when the server went away mid-query.
fn is_connection_failure(message: &str) -> bool {
    const SIGNS: [&str; 5] = [
        "server closed the connection",
        "terminating connection",
        "no connection to the server",
        "connection to server",
        "the database system is shutting down",
    ];
    SIGNS.iter().any(|sign| message.contains(sign))
}

/// Names the duplicated field from the constraint (`lost_reasons_label_key` → `label`): the
/// unique fields are single words, table names may not be.
fn unique_message(constraint: Option<&str>) -> String {
    match constraint
        .and_then(|c| c.strip_suffix("_key"))
        .and_then(|c| c.rsplit_once('_'))
    {
        Some((_, field)) => format!("another resource already has this {field}"),
        None => "the resource conflicts with an existing one".to_owned(),
    }
}

impl From<validator::ValidationErrors> for AppError {
    fn from(errors: validator::ValidationErrors) -> Self {
        Self::Validation(validator_errors(&errors))
    }
}

/// Flattens validator's nested errors into `field` paths.
pub fn validator_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    let mut out = Vec::new();
    collect(errors, "", &mut out);
    out
}

fn collect(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    let sorted: BTreeMap<_, _> = errors.errors().iter().collect();
    for (field, kind) in sorted {
        let path = match (prefix.is_empty(), field.as_ref()) {
            (_, "__all__") => prefix.to_owned(),
            (true, f) => f.to_owned(),
            (false, f) => format!("{prefix}.{f}"),
        };
        match kind {
            ValidationErrorsKind::Field(list) => out.extend(list.iter().map(|e| {
                let message = e
                    .message
                    .as_ref()
                    .map_or_else(|| default_message(&e.code), ToString::to_string);
                FieldError::new(path.clone(), e.code.to_string(), message)
            })),
            ValidationErrorsKind::Struct(inner) => collect(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(inner, &format!("{path}[{index}]"), out);
                }
            }
        }
    }
}

fn default_message(code: &str) -> String {
    match code {
        "email" => "must be an e-mail address".to_owned(),
        "url" => "must be a URL".to_owned(),
        "length" => "has the wrong length".to_owned(),
        "range" => "is out of range".to_owned(),
        other => format!("is invalid ({other})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_clients_and_timeouts_are_503s_that_say_so() {
        let detail = |cause: &str| AppError::Unavailable(cause.to_owned()).problem().detail;
        assert!(detail("FATAL: sorry, too many clients already").contains("too many clients"));
        assert_eq!(
            detail("connection refused"),
            "the database is unavailable; try again shortly; retry a write only with the same \
             Idempotency-Key, since it may have committed"
        );
        let contended = AppError::from(diesel::result::Error::DatabaseError(
            DatabaseErrorKind::SerializationFailure,
            Box::new("could not serialize access".to_owned()),
        ));
        assert!(matches!(contended, AppError::Contended(_)));
        assert_eq!(contended.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let timed_out = AppError::TimedOut("no answer within 4500 ms".to_owned());
        assert_eq!(timed_out.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(timed_out.problem().detail.contains("did not answer in time"));
    }

    #[test]
    fn a_unique_violation_names_the_field_after_the_table() {
        assert_eq!(
            unique_message(Some("users_email_key")),
            "another resource already has this email"
        );
        assert_eq!(
            unique_message(Some("lost_reasons_label_key")),
            "another resource already has this label"
        );
        assert_eq!(
            unique_message(Some("classes_pkey")),
            "the resource conflicts with an existing one"
        );
    }
}
