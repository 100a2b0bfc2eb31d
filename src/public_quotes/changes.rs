//! The customer's decision on the public page.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::access::{Actor, Visibility};
use crate::db::Conn;
use crate::error::AppError;
use crate::http::IfMatch;
use crate::ids::QuoteId;
use crate::quotes::changes::{Transition, lock, transition};
use crate::quotes::store::QuoteRecord;
use crate::schema::quotes;

/// Who decided, as the page received it.
pub struct Decision {
    pub accept: bool,
    pub name: String,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
}

/// The actor of a customer's decision in the history and the feed.
pub const CUSTOMER: &str = "customer (online)";

/// Accepts or rejects the quote with the rules of the API (only a sent quote; accepting makes it
/// primary, supersedes its sent siblings and, with `settings.win_on_quote_accept`, wins the
/// opportunity), recording who decided from where.
pub async fn decide(conn: &mut Conn, id: QuoteId, decision: Decision) -> Result<QuoteRecord, AppError> {
    let actor = Actor {
        who: Visibility::All,
        subject: CUSTOMER.to_owned(),
        user_id: None,
    };
    conn.transaction(async |conn| {
        // Locked in the order every quote change locks (opportunity, then quote), then marked,
        // so that the transition's event carries who decided.
        lock(conn, Visibility::All, id, &IfMatch::default()).await?;
        diesel::update(quotes::table.find(id))
            .set((
                quotes::decided_by_name.eq(&decision.name),
                quotes::decided_from.eq(&decision.client_address),
                quotes::decided_user_agent.eq(&decision.user_agent),
            ))
            .execute(conn)
            .await?;
        let to = if decision.accept {
            Transition::Accept
        } else {
            Transition::Reject
        };
        transition(conn, &actor, id, &IfMatch::default(), to).await
    })
    .await
}
