//! Lost reasons: why an opportunity was lost, for win/loss analysis.

pub mod changes;
pub mod routes;
pub mod store;
pub mod view;
