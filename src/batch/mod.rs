//! `/batch`: many write operations in one request, run through the API itself.

pub mod dispatch;
pub mod routes;

/// Where batches are sent.
pub const PATH: &str = "/api/v1/batch";

/// The most operations in one batch.
pub const MAX_OPERATIONS: usize = 100;
