//! Funnels (Vertriebstrichter): ordered stages, a sales team, thresholds and a metric formula.

pub mod changes;
pub mod routes;
pub mod store;
pub mod view;
