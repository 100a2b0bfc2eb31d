//! Articles: the catalogue that opportunity and quote lines draw on.

pub mod changes;
pub mod routes;
pub mod store;
pub mod view;
