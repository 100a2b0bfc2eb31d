//! What every answer gets, around the whole app (so also CORS refusals and errors no handler
//! turned into a response): the request id (`X-Request-Id`, the caller's or a new one, seen by
//! the access log), `nosniff`, `no-store` on authenticated answers, no framing of Swagger UI,
//! and an `application/problem+json` body on every error. URLs over [`MAX_URL_BYTES`] are a 414
//! and a query that is not UTF-8 once percent-decoded a 400, before the app sees them.

use actix_http::Request;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use uuid::Uuid;

use crate::error::{AppError, PROBLEM_JSON, ProblemDetails};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest path and query accepted.
pub const MAX_URL_BYTES: usize = 8 * 1024;

/// The largest error body (of CORS or actix) turned into a problem's `detail`.
const MAX_DETAIL_BYTES: usize = 1024;

/// Runs `app` for `req` inside the envelope.
pub fn around<S, B>(
    mut req: Request,
    app: &S,
) -> impl Future<Output = Result<actix_http::Response<BoxBody>, actix_web::Error>> + use<S, B>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.to_str().is_ok())
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_str(&Uuid::now_v7().to_string()).unwrap_or(HeaderValue::from_static("-")));
    req.headers_mut().insert(REQUEST_ID, id.clone());
    let authenticated = req.headers().contains_key(header::AUTHORIZATION);
    let swagger = req.path().starts_with("/swagger-ui");
    let url = req.uri().path_and_query().map_or("", |pq| pq.as_str());
    let refused = if url.len() > MAX_URL_BYTES {
        Some(AppError::UriTooLong(format!("the URL exceeds {MAX_URL_BYTES} bytes")))
    } else {
        // Decoded lossily further on (U+FFFD), so `q=%FF` would silently search for "�".
        percent_encoding::percent_decode_str(req.uri().query().unwrap_or(""))
            .decode_utf8()
            .is_err()
            .then(|| AppError::BadRequest("the query string is not UTF-8 once percent-decoded".to_owned()))
    };
    let call = match refused {
        Some(error) => Err(error.error_response()),
        None => Ok(app.call(req)),
    };
    async move {
        let response = match call {
            Ok(call) => match call.await {
                Ok(response) => response.into_parts().1.map_into_boxed_body(),
                Err(error) => error.error_response(),
            },
            Err(refused) => refused,
        };
        let mut response = as_problem(response).await;
        let headers = response.headers_mut();
        headers.insert(REQUEST_ID, id);
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        if authenticated {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if swagger {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("frame-ancestors 'none'"),
            );
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        }
        Ok(response.into())
    }
}

/// An error answer with a body other than problem+json (a CORS refusal is text/plain) as a
/// problem whose `detail` is that text; every other answer as it is, and so are the HTML pages
/// the public quote page answers for a browser (a 404 or 410 page says why in German).
async fn as_problem(response: HttpResponse) -> HttpResponse {
    let status = response.status();
    let kept = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()) || v.as_bytes().starts_with(b"text/html"));
    if status.as_u16() < 400 || kept {
        return response;
    }
    let (mut response, body) = response.into_parts();
    let text = actix_web::body::to_bytes_limited(body, MAX_DETAIL_BYTES)
        .await
        .ok()
        .and_then(Result::ok)
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .filter(|text| !text.is_empty());
    let reason = status.canonical_reason().unwrap_or("Error");
    let slug = reason.to_ascii_lowercase().replace(' ', "-");
    let detail = text.unwrap_or_else(|| reason.to_ascii_lowercase());
    let body = serde_json::to_string(&ProblemDetails::new(status, &slug, detail)).unwrap_or_default();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response.headers_mut().remove(header::CONTENT_LENGTH);
    response.set_body(body).map_into_boxed_body()
}
