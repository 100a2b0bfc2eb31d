//! salesfunnel: a JSON REST API for sales opportunities.

pub mod activities;
pub mod articles;
pub mod auth;
pub mod classes;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod funnels;
pub mod http;
pub mod lost_reasons;
pub mod openapi;
pub mod opportunities;
pub mod opportunity_lines;
pub mod ops;
pub mod partners;
pub mod quotes;
pub mod schema;
pub mod seed;
pub mod settings;
pub mod stages;
pub mod startup;
pub mod users;
