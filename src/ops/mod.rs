//! Operations: health, readiness, metrics, request ids, and the 404/405 fallback.

pub mod fallback;
pub mod feed_watch;
pub mod metrics;
pub mod routes;
