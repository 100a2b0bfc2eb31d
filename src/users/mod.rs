//! Users.

pub mod changes;
pub mod routes;
pub mod store;
pub mod view;
