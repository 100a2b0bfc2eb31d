//! Quotes reach the customer: `POST /quotes/{id}/send` e-mails a quote (the PDF attached, a
//! link to the public acceptance page), `GET /quotes/{id}/sendings` lists what left.

pub mod changes;
mod compose;
pub mod routes;
pub mod store;
pub mod view;
