//! Rate limits per caller and per replica (DESIGN.md Conventions): a token bucket of
//! `RATE_LIMIT_PER_MINUTE` requests (GCRA, the governor crate) keyed by the verified token's
//! `sub`, else the client address. Every answer carries `RateLimit-Limit`, `RateLimit-Remaining`
//! and `RateLimit-Reset`; an exhausted caller gets 429 problem+json with `Retry-After`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::web::Data;
use actix_web::{HttpMessage, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::auth::{Verifier, bearer_token};
use crate::error::AppError;

const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Paths no caller is limited on: probes and metrics scrapes.
const EXEMPT: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

type Keyed = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// The per-replica limiter; cheap to clone.
#[derive(Clone)]
pub struct Limiter {
    per_minute: u32,
    buckets: Arc<Keyed>,
}

/// What the limiter decided for one request: the headers to add, and whether it may pass.
pub struct Decision {
    pub allowed: bool,
    /// Seconds until the next request would be allowed (only when refused).
    pub retry_after: u64,
    limit: u32,
    remaining: u32,
    reset: u64,
}

impl Decision {
    /// Adds `RateLimit-*` (and on a refusal `Retry-After`) to `headers`.
    pub fn write(&self, headers: &mut HeaderMap) {
        headers.insert(LIMIT, HeaderValue::from(self.limit));
        headers.insert(REMAINING, HeaderValue::from(self.remaining));
        headers.insert(RESET, HeaderValue::from(self.reset));
        if !self.allowed {
            headers.insert(RETRY_AFTER, HeaderValue::from(self.retry_after));
        }
    }
}

impl Limiter {
    /// `None` when `per_minute` is 0 (limits off).
    pub fn new(per_minute: u32) -> Option<Self> {
        let burst = NonZeroU32::new(per_minute)?;
        Some(Self {
            per_minute,
            buckets: Arc::new(RateLimiter::keyed(Quota::per_minute(burst)).with_middleware()),
        })
    }

    /// Takes one request of the caller's bucket; `None` for exempt paths. Verifies the bearer
    /// token (when there is one) to key by its `sub`, and leaves the principal in the request's
    /// extensions for the `Principal` extractor.
    pub fn check(&self, req: &ServiceRequest) -> Option<Decision> {
        if EXEMPT.contains(&req.path()) {
            return None;
        }
        let verified = req
            .app_data::<Data<Verifier>>()
            .and_then(|verifier| verifier.verify(bearer_token(req.request()).ok()?).ok());
        let key = match verified {
            Some(principal) => {
                let key = format!("sub:{}", principal.subject);
                req.extensions_mut().insert(principal);
                key
            }
            None => format!(
                "ip:{}",
                req.peer_addr()
                    .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
            ),
        };
        // One request's share of the minute: the time one token takes to come back.
        let refill = Duration::from_secs(60) / self.per_minute;
        Some(match self.buckets.check_key(&key) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                Decision {
                    allowed: true,
                    retry_after: 0,
                    limit: self.per_minute,
                    remaining,
                    reset: seconds(refill * (self.per_minute - remaining)),
                }
            }
            Err(not_until) => {
                let wait = seconds(not_until.wait_time_from(DefaultClock::default().now()));
                Decision {
                    allowed: false,
                    retry_after: wait.max(1),
                    limit: self.per_minute,
                    remaining: 0,
                    reset: seconds(refill * self.per_minute),
                }
            }
        })
    }

    /// Forgets callers whose buckets are full again, every minute, so the map stays small.
    pub async fn forget_idle(self) {
        let mut interval = tokio::time::interval(Duration::from_secs(60));
        loop {
            interval.tick().await;
            self.buckets.retain_recent();
            self.buckets.shrink_to_fit();
        }
    }
}

/// The app's rate limit: a 429 for an exhausted caller, `RateLimit-*` headers on every answer.
pub fn limit<S>(
    limiter: &Option<Limiter>,
    req: ServiceRequest,
    srv: &S,
) -> impl Future<Output = Result<ServiceResponse<BoxBody>, actix_web::Error>> + use<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>,
{
    let decision = limiter.as_ref().and_then(|limiter| limiter.check(&req));
    let call = match &decision {
        Some(refused) if !refused.allowed => Err(req.into_response(
            AppError::TooManyRequests(format!(
                "more than {} requests a minute; try again in {} s",
                refused.limit, refused.retry_after
            ))
            .error_response(),
        )),
        _ => Ok(srv.call(req)),
    };
    async move {
        let mut response = match call {
            Ok(call) => call.await?,
            Err(refused) => refused,
        };
        if let Some(decision) = decision {
            decision.write(response.headers_mut());
        }
        Ok(response)
    }
}

/// Whole seconds, rounded up.
fn seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}
