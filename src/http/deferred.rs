//! One 422 for every offending field of a write: the body's own problems (types, rules) are
//! kept here while the request goes on to check its references with what could be built from
//! the body; the request's answer is then the 422 naming all of them.
//!
//! Nothing such a request writes is committed: the request's `Db` hands it connections taken
//! out of the pool, inside a transaction that is never committed (dropping the connection
//! ends the session, and PostgreSQL rolls it back at once), and [`merge`] answers 422 whatever
//! the handler answered.

use std::cell::RefCell;
use std::rc::Rc;

use actix_web::body::BoxBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::{HttpMessage, HttpRequest};

use crate::error::{AppError, FieldError};
use crate::http::fields::top;

/// The body problems a request has found so far, and the properties its body sent (request
/// extension).
#[derive(Clone, Default)]
pub struct Deferred(Rc<RefCell<Kept>>);

#[derive(Default)]
struct Kept {
    errors: Vec<FieldError>,
    sent: Vec<String>,
}

impl Deferred {
    /// The request's, when [`merge`] runs around it.
    pub fn of(req: &HttpRequest) -> Option<Self> {
        req.extensions().get::<Self>().cloned()
    }

    /// Keeps the problems of a body that sent the properties `sent`.
    pub fn add(&self, errors: Vec<FieldError>, sent: impl IntoIterator<Item = String>) {
        let mut kept = self.0.borrow_mut();
        kept.errors.extend(errors);
        kept.sent.extend(sent);
    }

    /// Whether the request has body problems, so that it must not commit anything.
    pub fn is_pending(&self) -> bool {
        !self.0.borrow().errors.is_empty()
    }

    /// The kept problems and those found later about other properties the body sent. A later
    /// problem of a property that already had one judged a stand-in; one of a property the
    /// body did not send follows from another value (an owner taken from an unknown class, a
    /// probability an outcome that was no outcome would need), and the body's own problems
    /// already name what was missing.
    fn merged(&self, later: &[FieldError]) -> Vec<FieldError> {
        let kept = self.0.borrow();
        let mut errors = kept.errors.clone();
        let judged: Vec<&str> = kept.errors.iter().map(|e| top(&e.field)).collect();
        errors.extend(
            later
                .iter()
                .filter(|e| {
                    let field = top(&e.field);
                    kept.sent.iter().any(|s| s == field) && !judged.contains(&field)
                })
                .cloned(),
        );
        errors.sort_by(|a, b| a.field.cmp(&b.field).then_with(|| a.code.cmp(&b.code)));
        errors.dedup();
        errors
    }
}

/// Runs the request with a fresh [`Deferred`]; when it holds problems at the end, the answer is
/// the 422 naming them and any field errors the handler answered with.
pub fn merge<S>(
    req: ServiceRequest,
    srv: &S,
) -> impl Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>> + use<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>,
{
    let deferred = Deferred::default();
    req.extensions_mut().insert(deferred.clone());
    let call = srv.call(req);
    async move {
        let response = call.await?;
        if !deferred.is_pending() {
            return Ok(response);
        }
        let later = match response.response().error().and_then(|e| e.as_error::<AppError>()) {
            Some(AppError::Validation(errors)) => errors.clone(),
            _ => Vec::new(),
        };
        let errors = deferred.merged(&later);
        Ok(response.error_response(AppError::Validation(errors)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_problems_of_other_properties_join_the_kept_ones() {
        let deferred = Deferred::default();
        deferred.add(
            vec![
                FieldError::new("target_value", "invalid_value", "not a number"),
                FieldError::new("lines[0].quantity", "range", "too small"),
            ],
            ["target_value", "lines", "class_id"].map(str::to_owned),
        );
        let later = [
            FieldError::new("class_id", "not_found", "no such class"),
            FieldError::new("owner_id", "required", "follows from the unknown class"),
            FieldError::new("target_value", "range", "a stand-in's complaint"),
            FieldError::new("lines", "not_found", "a stand-in's complaint"),
            FieldError::new("", "check", "no property"),
        ];
        let fields: Vec<_> = deferred.merged(&later).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["class_id", "lines[0].quantity", "target_value"]);
    }
}
