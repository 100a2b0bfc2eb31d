//! One integration test binary; a module per area. Every test gets its own database.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on a broken set-up"
)]

mod activities;
mod architecture;
mod articles;
mod auth;
mod batch;
mod board;
mod bulk_plans;
mod classes;
mod cli;
mod conditional;
mod contacts;
mod contention;
mod cursors;
mod custom_fields;
mod custom_formula;
mod custom_quotes;
mod database;
mod embedded;
mod erp_consumer;
mod errors;
mod events;
mod exchange_rates;
mod external_ids;
mod feed;
mod funnels;
mod helpers;
mod http_layer;
mod idempotency;
mod limits;
mod lost_reasons;
mod migrations;
mod mirror;
mod next_step;
mod one_422;
mod openapi;
mod operations;
mod opportunities;
mod opportunity_contacts;
mod opportunity_expand;
mod opportunity_lines;
mod opportunity_lists;
mod opportunity_moves;
mod opportunity_visibility;
mod outage;
mod partners;
mod public_quote;
mod quotas;
mod quote_acceptance;
mod quote_contacts;
mod quote_email;
mod quote_lines;
mod quote_pdf_offer;
mod quote_workflow;
mod quotes;
mod report_periods;
mod reports;
mod role_combinations;
mod seed;
mod settings;
mod smtp_peer;
mod stages;
mod token_users;
mod users;
mod webhook_kit;
mod webhook_runs;
mod webhooks;
mod write_path;
