//! `POST /batch`: up to 100 write operations in one request, each run as if sent alone, or all
//! in one transaction (`atomic`).

use std::collections::BTreeMap;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, Uri};
use actix_web::{HttpRequest, HttpResponse, post};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use validator::Validate;

use super::MAX_OPERATIONS;
use super::dispatch::{Answer, Call, Dispatcher};
use crate::access::{Principal, Role};
use crate::db::Db;
use crate::db::request::SharedTransaction;
use crate::error::{AppError, FieldError, PROBLEM_JSON};
use crate::http::json::JsonBody;
use crate::openapi::responses::{Forbidden, ValidationFailed};

/// Where the API's own endpoints live; operations name paths below it.
const API_PREFIX: &str = "/api/v1/";

/// Headers an operation may send: the caller's `Authorization` is the batch's.
const OPERATION_HEADERS: [&str; 2] = ["idempotency-key", "if-match"];

/// Operations to run, in order.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "atomic": false,
    "operations": [
        {"method": "PUT", "path": "/api/v1/business-partners/by-external-id/D-10042",
         "body": {"kind": "customer", "name": "Autohaus Müller GmbH", "city": "München", "country": "DE"}},
        {"method": "POST", "path": "/api/v1/business-partners",
         "headers": {"Idempotency-Key": "erp-import-2026-12-04-0002"},
         "body": {"kind": "lead", "name": "Fuhrpark Schneider KG"}}
    ]
}))]
pub struct BatchRequest {
    /// `true`: all operations run in one transaction, and the first that fails rolls every one
    /// back (409). `false` (default): each commits or fails on its own.
    #[serde(default)]
    pub atomic: bool,
    /// 1 to 100 write operations, run in this order.
    #[schema(min_items = 1, max_items = 100)]
    pub operations: Vec<Operation>,
}

/// A write method.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum WriteMethod {
    Post,
    Put,
    Patch,
    Delete,
}

impl From<WriteMethod> for Method {
    fn from(method: WriteMethod) -> Self {
        match method {
            WriteMethod::Post => Self::POST,
            WriteMethod::Put => Self::PUT,
            WriteMethod::Patch => Self::PATCH,
            WriteMethod::Delete => Self::DELETE,
        }
    }
}

/// One write request of the API.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"method": "PATCH", "path": "/api/v1/business-partners/0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10",
    "headers": {"If-Match": "\"1\""}, "body": {"phone": "+49 89 7654321"}}))]
pub struct Operation {
    pub method: WriteMethod,
    /// The endpoint's path, with `/api/v1/` (not `/api/v1/batch`).
    #[schema(example = "/api/v1/business-partners", pattern = r"^/api/v1/(?!batch(/|\?|$))\S*$")]
    pub path: String,
    /// The JSON body the endpoint takes (the endpoint checks it); left out for a DELETE or a
    /// bodiless POST.
    #[schema(value_type = Option<Value>)]
    pub body: Option<Value>,
    /// Only `Idempotency-Key` and `If-Match`; authorization is the batch's.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// What one operation answered.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": 201,
    "headers": {"content-type": "application/json", "etag": "\"1\"",
                "location": "/api/v1/business-partners/0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10"},
    "body": {"id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10", "kind": "lead", "name": "Fuhrpark Schneider KG", "version": 1}}))]
pub struct OperationResult {
    /// The HTTP status it would have had alone.
    pub status: u16,
    /// Its response headers (lower-case names), e.g. `etag`, `location`.
    pub headers: BTreeMap<String, String>,
    /// Its JSON body (a resource, or a problem for a 4xx/5xx); null when it had none.
    #[schema(value_type = Option<Object>)]
    pub body: Option<Value>,
}

impl From<Answer> for OperationResult {
    fn from(answer: Answer) -> Self {
        Self {
            status: answer.status,
            headers: answer.headers.into_iter().collect(),
            body: answer.body,
        }
    }
}

/// Every operation's answer, in the order sent.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"results": [
    {"status": 200, "headers": {"content-type": "application/json", "etag": "\"3\""},
     "body": {"id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10", "external_id": "D-10042", "version": 3}},
    {"status": 422, "headers": {"content-type": "application/problem+json"},
     "body": {"type": "urn:salesfunnel:problem:validation", "title": "Unprocessable Entity", "status": 422,
              "detail": "the request has invalid fields", "errors": [{"field": "name", "code": "required", "message": "is required"}]}}
]}))]
pub struct BatchResponse {
    pub results: Vec<OperationResult>,
}

/// An atomic batch rolled back: which operation failed and what it answered.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"type": "urn:salesfunnel:problem:batch-failed", "title": "Conflict", "status": 409,
    "detail": "operation 1 failed with 412; nothing of the batch was written", "index": 1,
    "failure": {"status": 412, "headers": {"content-type": "application/problem+json"},
                "body": {"type": "urn:salesfunnel:problem:precondition-failed", "title": "Precondition Failed",
                         "status": 412, "detail": "If-Match \"1\" does not match the current version \"2\""}}}))]
pub struct BatchFailed {
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The failing operation's position (from 0).
    pub index: usize,
    /// Its answer, as it would have been alone.
    pub failure: OperationResult,
}

/// Runs up to 100 write operations in one request.
///
/// Each operation is one of the API's own write requests (method, path below `/api/v1/`,
/// JSON body, `Idempotency-Key` and `If-Match` headers) and runs exactly as if sent alone
/// with the batch's `Authorization`: its own transaction, status, events, idempotency and
/// access rules. The answer is 200 with each operation's status, headers and body in order,
/// also when some failed. With `"atomic": true` every operation runs in one transaction: the
/// first that fails (4xx or 5xx) rolls all back and the batch answers 409 naming its index,
/// with its answer; nothing was written then.
#[utoipa::path(
    tag = "batch",
    request_body = BatchRequest,
    responses(
        (status = 200, description = "Every operation's answer, in order", body = BatchResponse),
        (status = 403, response = Forbidden),
        (status = 409, description = "An atomic batch failed at `index` and wrote nothing", body = BatchFailed,
            content_type = "application/problem+json"),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/batch")]
async fn run_batch(
    req: HttpRequest,
    db: Db,
    who: Principal,
    body: JsonBody<BatchRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_send_batches)?;
    let batch = body.parse_now()?;
    let calls = checked(&batch.operations)?;
    let dispatcher = req
        .app_data::<Dispatcher>()
        .ok_or_else(|| AppError::Internal("no batch dispatcher configured".to_owned()))?;
    if !batch.atomic {
        let mut results = Vec::with_capacity(calls.len());
        for (index, call) in calls.iter().enumerate() {
            results.push(OperationResult::from(dispatcher.send(&req, index, call, None).await?));
        }
        return Ok(HttpResponse::Ok().json(BatchResponse { results }));
    }
    let shared = SharedTransaction::begin(db.pool()).await?;
    let mut results = Vec::with_capacity(calls.len());
    for (index, call) in calls.iter().enumerate() {
        let answer = match dispatcher.send(&req, index, call, Some(&shared)).await {
            Ok(answer) => answer,
            Err(error) => {
                shared.roll_back().await;
                return Err(error);
            }
        };
        if answer.status >= 400 {
            shared.roll_back().await;
            if answer.contended {
                // The whole batch runs again (see the retry middleware).
                return Err(AppError::Contended(format!(
                    "operation {index} was rolled back by contention"
                )));
            }
            let failed = BatchFailed {
                problem_type: "urn:salesfunnel:problem:batch-failed".to_owned(),
                title: "Conflict".to_owned(),
                status: 409,
                detail: format!(
                    "operation {index} failed with {}; nothing of the batch was written",
                    answer.status
                ),
                index,
                failure: OperationResult::from(answer),
            };
            return Ok(HttpResponse::Conflict().content_type(PROBLEM_JSON).json(failed));
        }
        results.push(OperationResult::from(answer));
    }
    shared.commit().await?;
    Ok(HttpResponse::Ok().json(BatchResponse { results }))
}

/// The operations as requests, or a 422 naming every bad path and header.
fn checked(operations: &[Operation]) -> Result<Vec<Call>, AppError> {
    let mut errors = Vec::new();
    if !(1..=MAX_OPERATIONS).contains(&operations.len()) {
        errors.push(FieldError::new(
            "operations",
            "length",
            format!("must hold 1 to {MAX_OPERATIONS} operations"),
        ));
    }
    let mut calls = Vec::with_capacity(operations.len());
    for (index, op) in operations.iter().enumerate() {
        let field = |name: &str| format!("operations[{index}].{name}");
        let uri = match op.path.parse::<Uri>() {
            Ok(uri) if uri.scheme().is_none() && below_api(uri.path()) => Some(uri),
            _ => {
                errors.push(FieldError::new(
                    field("path"),
                    "invalid",
                    format!("must be a path below {API_PREFIX} other than {API_PREFIX}batch"),
                ));
                None
            }
        };
        let mut headers = Vec::new();
        for (name, value) in &op.headers {
            let lower = name.to_ascii_lowercase();
            let parsed = (
                HeaderName::try_from(lower.as_str()),
                HeaderValue::try_from(value.as_str()),
            );
            match parsed {
                (Ok(name), Ok(value)) if OPERATION_HEADERS.contains(&lower.as_str()) => headers.push((name, value)),
                _ => errors.push(FieldError::new(
                    field(&format!("headers.{name}")),
                    "invalid",
                    "only Idempotency-Key and If-Match, with visible ASCII values, may be set",
                )),
            }
        }
        if let Some(uri) = uri {
            calls.push(Call {
                method: op.method.into(),
                uri,
                body: op.body.clone(),
                headers,
            });
        }
    }
    if errors.is_empty() {
        Ok(calls)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Whether `path` names an endpoint of the API other than the batch itself.
fn below_api(path: &str) -> bool {
    path.strip_prefix(API_PREFIX)
        .is_some_and(|rest| !rest.is_empty() && rest.trim_end_matches('/') != "batch")
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(run_batch);
}

#[cfg(test)]
mod tests {
    use super::below_api;

    #[test]
    fn operations_stay_below_the_api_and_out_of_the_batch() {
        assert!(below_api("/api/v1/business-partners"));
        assert!(below_api(
            "/api/v1/opportunities/0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10/win"
        ));
        assert!(!below_api("/api/v1/batch"));
        assert!(!below_api("/api/v1/batch/"));
        assert!(!below_api("/api/v1/"));
        assert!(!below_api("/metrics"));
        assert!(!below_api("/api/v2/business-partners"));
    }
}
