//! The public quote page: `GET /public/quotes/{token}` shows the customer the offer of a quote
//! e-mail's link, without a login, with the PDF and Accept / Decline; the decision accepts or
//! rejects the quote as the API would, recording the name typed, the time, the client address
//! and the user agent. A link works while its quote is sent and valid and no newer link was
//! sent for the opportunity.

pub mod changes;
mod page;
pub mod routes;
pub mod store;
