//! Classes (KlassenID): route a new opportunity to a funnel and an owner.

pub mod changes;
pub mod routes;
pub mod store;
pub mod view;
