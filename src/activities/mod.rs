//! Activities: calls, emails, meetings, appointments, tickets, tasks and notes with a business
//! partner, optionally on one of its opportunities. Done contacts move the opportunity's
//! `last_contact_at` and so its traffic light.

pub mod changes;
pub mod routes;
pub mod store;
pub mod view;
