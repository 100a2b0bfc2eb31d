//! Reports (Berichtsmodul): pipeline, forecast, owners, win/loss and stage conversion,
//! aggregated in PostgreSQL (`sql/`), never by loading opportunities into Rust.

pub mod forecast;
pub mod outcomes;
pub mod pipeline;
pub mod routes;
pub mod store;
