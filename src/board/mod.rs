//! The board (`GET /funnels/{id}/board`): a funnel's stages in order, each with its count, its
//! sums per currency and the first cards of its column, in two statements.

pub mod routes;
pub mod store;
pub mod view;
