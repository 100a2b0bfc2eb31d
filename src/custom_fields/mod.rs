//! Custom fields: definitions per resource (`/custom-fields`) and the `custom` values of
//! opportunities, business partners, contacts, quotes and activities (`values.rs`).

pub mod changes;
pub mod filters;
pub mod routes;
pub mod store;
pub mod values;
pub mod view;
