//! Contact persons of business partners: the people quotes are addressed to and calls are
//! made with; one of them may be the partner's primary contact.

pub mod changes;
pub mod routes;
pub mod store;
pub mod view;
