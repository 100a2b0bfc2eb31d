//! Quotas: targets per rep or manager, or per funnel team, per month or quarter.

pub mod changes;
pub mod routes;
pub mod store;
pub mod view;
