//! Quotes (Angebote): offers made from an opportunity's lines, and their PDF.

pub mod changes;
mod checks;
pub mod line_changes;
pub mod lines;
pub mod pdf;
pub mod routes;
pub mod store;
pub mod view;
