//! Exchange rates to the home currency, pushed by the ERP, and `rate_on`, the rate of a
//! currency on a day that reports convert with.

pub mod changes;
pub mod routes;
pub mod store;
pub mod view;
