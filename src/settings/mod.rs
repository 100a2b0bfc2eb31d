//! Company-wide settings: company header and defaults for currency and quotes.

pub mod changes;
pub mod routes;
pub mod store;
pub mod view;
