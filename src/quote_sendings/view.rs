//! A sending as the API shows it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::SendingRow;
use crate::ids::{ActivityId, QuoteId, QuoteSendingId};

/// An e-mail that carried a quote to the customer, as the SMTP server accepted it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f90", "quote_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f70",
    "message_id": "<0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f90@autohaus.example>",
    "to": ["anna.schmidt@muster.example"], "cc": [], "subject": "Ihr Angebot QT-000007: Neuwagen",
    "pdf_sha256": "9f2c6c2b4f0a1d8e5b7a3c9d1e2f4a6b8c0d2e4f6a8b0c2d4e6f8a0b2c4d6e8f",
    "acceptance_link": true, "activity_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f91",
    "sent_by": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f01", "sent_at": "2026-11-22T10:05:00Z"
}))]
pub struct QuoteSending {
    #[schema(value_type = Uuid)]
    pub id: QuoteSendingId,
    #[schema(value_type = Uuid)]
    pub quote_id: QuoteId,
    /// The e-mail's `Message-ID` header, to find it in a mail server's log.
    pub message_id: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    /// SHA-256 (hex) of the PDF attached, byte for byte; null when none was.
    pub pdf_sha256: Option<String>,
    /// The e-mail carried a link to the public page where the customer accepts or declines.
    pub acceptance_link: bool,
    /// The `email` activity recorded on the opportunity.
    #[schema(value_type = Option<Uuid>)]
    pub activity_id: Option<ActivityId>,
    /// The token subject of who sent it.
    pub sent_by: String,
    pub sent_at: DateTime<Utc>,
}

impl From<SendingRow> for QuoteSending {
    fn from(row: SendingRow) -> Self {
        Self {
            id: row.id,
            quote_id: row.quote_id,
            message_id: row.message_id,
            to: row.to_addresses.into_iter().flatten().collect(),
            cc: row.cc_addresses.into_iter().flatten().collect(),
            subject: row.subject,
            pdf_sha256: row.pdf_sha256,
            acceptance_link: row.acceptance_link,
            activity_id: row.activity_id,
            sent_by: row.sent_by,
            sent_at: row.sent_at,
        }
    }
}
