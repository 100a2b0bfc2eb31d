//! Stages (Vertriebsphasen): name, icon, probability and outcome, independent of funnels.

pub mod changes;
pub mod routes;
pub mod store;
pub mod view;
