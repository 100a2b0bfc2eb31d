//! Opportunities: the sales process from first contact to won or lost.

pub mod buying_centre;
pub mod changes;
pub mod create;
pub mod derive;
pub mod embedded;
pub mod events;
pub mod expand;
pub mod history;
pub mod list;
pub mod list_routes;
pub mod lookups;
pub mod moves;
pub mod routes;
pub mod sort;
pub mod store;
pub mod transitions;
pub mod upsert;
pub mod view;
