//! One integration test binary; a module per area. Every test gets its own database.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on a broken set-up"
)]

mod auth;
mod cli;
mod embedded;
mod errors;
mod helpers;
mod idempotency;
mod migrations;
mod openapi;
mod operations;
mod outage;
mod partners;
mod users;
