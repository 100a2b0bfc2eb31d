//! `If-None-Match` on reads: a GET (or HEAD) whose answer would be a 200 with an `ETag` the
//! client already holds is answered 304 Not Modified, with the ETag and no body.

use actix_web::HttpResponse;
use actix_web::body::BoxBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::{Method, StatusCode};

/// Answers 304 where `If-None-Match` names the ETag of the 200 a read gives.
pub fn not_modified<S>(
    req: ServiceRequest,
    srv: &S,
) -> impl Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>> + use<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>,
{
    let held = (matches!(*req.method(), Method::GET | Method::HEAD))
        .then(|| {
            req.headers()
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .flatten();
    let call = srv.call(req);
    async move {
        let response = call.await?;
        let Some(held) = held else {
            return Ok(response);
        };
        let current = response.headers().get(header::ETAG).and_then(|v| v.to_str().ok());
        let fresh = response.status() == StatusCode::OK && current.is_some_and(|current| matches(&held, current));
        if !fresh {
            return Ok(response);
        }
        let (request, answered) = response.into_parts();
        let mut unchanged = HttpResponse::NotModified();
        copy_validators(answered.headers(), &mut unchanged);
        Ok(ServiceResponse::new(request, unchanged.finish()))
    }
}

/// RFC 9110 13.1.2: `*`, or any listed tag equal to `current` by the weak comparison.
fn matches(held: &str, current: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    held.trim() == "*" || held.split(',').any(|tag| opaque(tag) == opaque(current))
}

/// A 304 carries what the 200 would have for caching: ETag, Cache-Control, Vary and the
/// headers every answer carries (request id, rate limits).
fn copy_validators(from: &HeaderMap, to: &mut actix_web::HttpResponseBuilder) {
    for (name, value) in from {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            to.append_header((name.clone(), value.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn weak_comparison_lists_and_star() {
        assert!(matches("\"3\"", "\"3\""));
        assert!(matches("W/\"3\"", "\"3\""));
        assert!(matches("\"1\", \"3-5f0a1c\"", "\"3-5f0a1c\""));
        assert!(matches("*", "\"7\""));
        assert!(!matches("\"3\"", "\"3-5f0a1c\""));
        assert!(!matches("\"2\"", "\"3\""));
    }
}
