//! The links of the public page.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::Conn;
use crate::error::AppError;
use crate::ids::QuoteId;
use crate::quote_sendings::changes::token_digest;
use crate::schema::quote_links;

/// The quote a link leads to, and when the link was revoked (by a newer one for the
/// opportunity).
pub struct Link {
    pub quote_id: QuoteId,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The link of `token`; 404 for a token that was never sent (or is mistyped).
pub async fn link(conn: &mut Conn, token: &str) -> Result<Link, AppError> {
    let (quote_id, revoked_at) = quote_links::table
        .find(token_digest(token))
        .select((quote_links::quote_id, quote_links::revoked_at))
        .first::<(QuoteId, Option<DateTime<Utc>>)>(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::NotFound("this link does not lead to a quote".to_owned()))?;
    Ok(Link { quote_id, revoked_at })
}
