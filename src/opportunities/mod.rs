//! Opportunities: the sales process from first contact to won or lost.

pub mod derive;
pub mod events;
pub mod routes;
pub mod store;
pub mod transitions;
