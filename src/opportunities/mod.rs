//! Opportunities: the sales process from first contact to won or lost.

pub mod changes;
pub mod create;
pub mod derive;
pub mod events;
pub mod history;
pub mod list;
pub mod list_routes;
pub mod moves;
pub mod routes;
pub mod store;
pub mod transitions;
pub mod upsert;
pub mod view;
