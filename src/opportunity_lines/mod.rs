//! Opportunity lines: the articles and quantities that make up an opportunity's target value.

pub mod routes;
pub mod store;
pub mod view;
