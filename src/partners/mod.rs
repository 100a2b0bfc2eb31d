//! Business partners: leads and customers.

pub mod routes;
pub mod store;
