//! salesfunnel: a JSON REST API for sales opportunities.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod openapi;
pub mod ops;
pub mod partners;
pub mod schema;
pub mod seed;
pub mod startup;
pub mod users;
