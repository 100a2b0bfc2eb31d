//! A quote as the API shows it: in answers, in the PDF and in the events of the feed.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::{self, QuoteLineRow, QuoteRecord};
use crate::custom_fields::view::CustomValues;
use crate::domain::money::{Money, Percent, Quantity};
use crate::domain::quote::{self, QuoteStatus};
use crate::http::Resource;
use crate::ids::{ArticleId, ContactId, OpportunityId, PartnerId, QuoteId, QuoteLineId};

/// The tax of one rate.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"tax_rate": 19.0, "amount": "19000.00"}))]
pub struct TaxAmount {
    pub tax_rate: Percent,
    /// The rate applied to the net of the lines at this rate, rounded once.
    pub amount: Money,
}

/// Who accepted or declined a quote on the public page, as they typed their name, and the
/// client they did it from (the address as the proxy in front of the service reports it).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Anna Schmidt", "client_address": "203.0.113.7", "user_agent": "Mozilla/5.0"}))]
pub struct CustomerDecision {
    pub name: String,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
}

/// A quote (Angebot): a numbered revision of an opportunity's lines with texts and totals.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f70", "number": "QT-000007",
    "opportunity_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f20",
    "business_partner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10",
    "contact_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f15", "revision": 1, "status": "draft",
    "is_primary": true, "currency": "EUR", "quote_date": "2026-11-22", "valid_until": "2026-12-22",
    "header_text": "Vielen Dank für Ihre Anfrage.", "customer_text": "Wie besprochen mit Winterrädern.",
    "footer_text": "Es gelten unsere AGB.",
    "lines": [{"id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f71", "quote_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f70",
        "position": 1, "article_id": null, "sku": "VW-ID4", "description": "VW ID.4 Pro", "long_description": null, "quantity": "2",
        "unit": "Stk", "unit_price": "50000.00", "discount_percent": 0.0, "tax_rate": 19.0,
        "line_total": "100000.00", "created_at": "2026-11-22T10:00:00Z", "updated_at": "2026-11-22T10:00:00Z",
        "version": 1}],
    "net_total": "100000.00", "taxes": [{"tax_rate": 19.0, "amount": "19000.00"}], "tax_total": "19000.00",
    "gross_total": "119000.00", "sent_at": null, "decided_at": null, "customer_decision": null, "created_by": "admin",
    "custom": {"delivery_date": "2027-01-15"},
    "created_at": "2026-11-22T10:00:00Z", "updated_at": "2026-11-22T10:00:00Z", "version": 1
}))]
pub struct Quote {
    #[schema(value_type = Uuid)]
    pub id: QuoteId,
    /// Human number from a sequence, `QT-000001`.
    pub number: String,
    #[schema(value_type = Uuid)]
    pub opportunity_id: OpportunityId,
    /// The addressee: the opportunity's partner when the quote was made.
    #[schema(value_type = Uuid)]
    pub business_partner_id: PartnerId,
    /// The person the quote is addressed to ("z. Hd." in the PDF's address): an active contact
    /// of `business_partner_id`, or null.
    #[schema(value_type = Option<Uuid>)]
    pub contact_id: Option<ContactId>,
    /// 1, 2, … per opportunity.
    pub revision: i32,
    /// `expired` is a draft whose `valid_until` has passed.
    pub status: QuoteStatus,
    /// The primary quote's line edits flow back to the opportunity.
    pub is_primary: bool,
    pub currency: String,
    pub quote_date: NaiveDate,
    pub valid_until: NaiveDate,
    pub header_text: String,
    pub customer_text: Option<String>,
    pub footer_text: String,
    /// Its own copy of the lines, by position.
    pub lines: Vec<QuoteLine>,
    /// The sum of the line totals.
    pub net_total: Money,
    /// Tax per rate.
    pub taxes: Vec<TaxAmount>,
    pub tax_total: Money,
    /// net_total + tax_total.
    pub gross_total: Money,
    pub sent_at: Option<DateTime<Utc>>,
    /// When it was accepted or rejected.
    pub decided_at: Option<DateTime<Utc>>,
    /// The customer's own decision on the public page (the link in the quote's e-mail): who, and
    /// from where; null when it was recorded through the API.
    pub customer_decision: Option<CustomerDecision>,
    /// Custom field values by key (see `/custom-fields?resource=quote`).
    #[schema(value_type = CustomValues)]
    pub custom: serde_json::Map<String, serde_json::Value>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Increases with every change; the ETag.
    pub version: i32,
}

impl From<QuoteRecord> for Quote {
    fn from(record: QuoteRecord) -> Self {
        let row = record.row;
        let totals = quote::totals(record.lines.iter().map(|l| (l.line_total.amount(), l.tax_rate.value())));
        Self {
            id: row.id,
            number: row.number,
            opportunity_id: row.opportunity_id,
            business_partner_id: row.business_partner_id,
            contact_id: row.contact_id,
            revision: row.revision,
            status: quote::shown_status(row.status, row.valid_until, store::today()),
            is_primary: row.is_primary,
            currency: row.currency,
            quote_date: row.quote_date,
            valid_until: row.valid_until,
            header_text: row.header_text,
            customer_text: row.customer_text,
            footer_text: row.footer_text,
            lines: record.lines.into_iter().map(QuoteLine::from).collect(),
            net_total: row.net_total,
            taxes: totals
                .taxes
                .into_iter()
                .filter_map(|(rate, amount)| {
                    Percent::new(rate).map(|tax_rate| TaxAmount {
                        tax_rate,
                        amount: Money::rounded(amount),
                    })
                })
                .collect(),
            tax_total: row.tax_total,
            gross_total: row.gross_total,
            sent_at: row.sent_at,
            decided_at: row.decided_at,
            customer_decision: row.decided_by_name.map(|name| CustomerDecision {
                name,
                client_address: row.decided_from,
                user_agent: row.decided_user_agent,
            }),
            custom: crate::custom_fields::values::object(&row.custom),
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for Quote {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!("/api/v1/quotes/{}", self.id)
    }
}

/// One line of a quote: its own copy, independent of the opportunity's lines (except that
/// the primary quote's edits flow back).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f71", "quote_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f70",
    "position": 1, "article_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f50", "sku": "VW-ID4-PRO",
    "description": "VW ID.4 Pro", "long_description": null, "quantity": "2", "unit": "Stk", "unit_price": "50000.00",
    "discount_percent": 0.0, "tax_rate": 19.0, "line_total": "100000.00",
    "created_at": "2026-11-22T10:00:00Z", "updated_at": "2026-11-22T10:00:00Z", "version": 1
}))]
pub struct QuoteLine {
    #[schema(value_type = Uuid)]
    pub id: QuoteLineId,
    #[schema(value_type = Uuid)]
    pub quote_id: QuoteId,
    pub position: i32,
    #[schema(value_type = Option<Uuid>)]
    pub article_id: Option<ArticleId>,
    pub sku: Option<String>,
    pub description: String,
    /// The long text printed under the description on the quote (copied from the article).
    pub long_description: Option<String>,
    pub quantity: Quantity,
    pub unit: String,
    pub unit_price: Money,
    pub discount_percent: Percent,
    /// VAT percent.
    pub tax_rate: Percent,
    /// quantity × unit_price × (1 − discount_percent / 100), rounded half away from zero.
    pub line_total: Money,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Increases with every change; the ETag.
    pub version: i32,
}

impl From<QuoteLineRow> for QuoteLine {
    fn from(row: QuoteLineRow) -> Self {
        Self {
            id: row.id,
            quote_id: row.quote_id,
            position: row.position,
            article_id: row.article_id,
            sku: row.sku,
            description: row.description,
            long_description: row.long_description,
            quantity: row.quantity,
            unit: row.unit,
            unit_price: row.unit_price,
            discount_percent: row.discount_percent,
            tax_rate: row.tax_rate,
            line_total: row.line_total,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for QuoteLine {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!("/api/v1/quotes/{}/lines/{}", self.quote_id, self.id)
    }
}
