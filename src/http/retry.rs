//! Transparent retries of writes that PostgreSQL rolled back to resolve a deadlock or a
//! serialization conflict ([`AppError::Contended`]): nothing of them was written, so the
//! request runs again, from its buffered body, up to [`ATTEMPTS`] times with a short jittered
//! pause. Writes lock rows in one order (by id) so this is rare; it is never a 500.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Method;
use futures_util::future::LocalBoxFuture;

use super::budget::BodyClock;
use super::json::read_body;
use crate::error::AppError;

/// How often a write runs at most.
pub const ATTEMPTS: u32 = 4;

/// The middleware factory.
#[derive(Debug, Clone, Copy, Default)]
pub struct RetryContended;

impl<S, B> Transform<S, ServiceRequest> for RetryContended
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Transform = RetryService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RetryService {
            service: Rc::new(service),
        }))
    }
}

pub struct RetryService<S> {
    service: Rc<S>,
}

/// Whether the answer is a contention that a new attempt may resolve.
fn contended<B>(response: &ServiceResponse<B>) -> bool {
    response
        .response()
        .error()
        .and_then(|error| error.as_error::<AppError>())
        .is_some_and(|error| matches!(error, AppError::Contended(_)))
}

impl<S, B> Service<ServiceRequest> for RetryService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
            return Box::pin(async move { Ok(service.call(req).await?.map_into_boxed_body()) });
        }
        Box::pin(async move {
            let (http, mut payload) = req.into_parts();
            let body = match BodyClock::of(&http).read(read_body(&mut payload)).await {
                Ok(body) => body.freeze(),
                Err(error) => return Ok(ServiceResponse::from_err(error, http)),
            };
            let mut request = ServiceRequest::from_parts(http, Payload::from(body.clone()));
            let mut attempt = 1;
            loop {
                let response = service.call(request).await?;
                if attempt >= ATTEMPTS || !contended(&response) {
                    return Ok(response.map_into_boxed_body());
                }
                let http = response.request().clone();
                drop(response);
                log::info!(
                    "{} {}: rolled back by contention, attempt {attempt} of {ATTEMPTS}",
                    http.method(),
                    http.path()
                );
                // Jitter, so that the transactions that collided do not meet again in step.
                let pause = 10 * u64::from(attempt) + rand::random_range(0..15);
                tokio::time::sleep(Duration::from_millis(pause)).await;
                request = ServiceRequest::from_parts(http, Payload::from(body.clone()));
                // Routing consumed the path in the first attempt; the app routes from the start.
                request.match_info_mut().reset();
                attempt += 1;
            }
        })
    }
}
