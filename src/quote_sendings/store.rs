//! Sendings in PostgreSQL, and what an e-mail about a quote needs to know.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::access::Visibility;
use crate::db::Conn;
use crate::error::AppError;
use crate::http::pagination::Page;
use crate::ids::{ActivityId, QuoteId, QuoteSendingId};
use crate::schema::quote_sendings as qs;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = qs, check_for_backend(diesel::pg::Pg))]
pub struct SendingRow {
    pub id: QuoteSendingId,
    pub quote_id: QuoteId,
    pub message_id: String,
    pub to_addresses: Vec<Option<String>>,
    pub cc_addresses: Vec<Option<String>>,
    pub subject: String,
    pub pdf_sha256: Option<String>,
    pub acceptance_link: bool,
    pub activity_id: Option<ActivityId>,
    pub sent_by: String,
    pub sent_at: DateTime<Utc>,
}

/// One page of the sendings of a quote the caller sees, oldest first.
pub async fn page(conn: &mut Conn, who: Visibility, id: QuoteId, page: &Page) -> Result<Vec<SendingRow>, AppError> {
    crate::quotes::store::find(conn, who, id).await?;
    Ok(qs::table
        .filter(qs::quote_id.eq(id))
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .select(SendingRow::as_select())
        .load(conn)
        .await?)
}
