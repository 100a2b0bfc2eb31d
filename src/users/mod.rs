//! Users.

pub mod routes;
pub mod store;
pub mod view;
