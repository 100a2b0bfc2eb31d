//! Quotes in PostgreSQL. A change to a quote locks its opportunity first (like line edits), so
//! revisions, the primary flag and the lines that flow back to the opportunity stay consistent
//! under concurrent requests.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::pdf::{CompanyDetails, DocumentLine, PartnerAddress, QuoteDocument};
use crate::access::{self, Visibility};
use crate::custom_fields::filters::{self, CustomFilter};
use crate::custom_fields::values;
use crate::db::Conn;
use crate::domain::custom::CustomResource;
use crate::domain::money::{Money, Percent, Quantity};
use crate::domain::quote::{self, StoredStatus};
use crate::error::AppError;
use crate::http::pagination::Page;
use crate::ids::{ArticleId, ContactId, OpportunityId, PartnerId, QuoteId, QuoteLineId};
use crate::lines::content::LineContent;
use crate::schema::{contacts, opportunities as opp, quote_lines as ql, quotes};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = quotes, check_for_backend(diesel::pg::Pg))]
pub struct QuoteRow {
    pub id: QuoteId,
    pub number: String,
    pub opportunity_id: OpportunityId,
    pub business_partner_id: PartnerId,
    pub contact_id: Option<ContactId>,
    pub revision: i32,
    pub status: StoredStatus,
    pub is_primary: bool,
    pub currency: String,
    pub quote_date: NaiveDate,
    pub valid_until: NaiveDate,
    pub header_text: String,
    pub customer_text: Option<String>,
    pub footer_text: String,
    pub net_total: Money,
    pub tax_total: Money,
    pub gross_total: Money,
    pub sent_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by_name: Option<String>,
    pub decided_from: Option<String>,
    pub decided_user_agent: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    /// Shown custom values.
    #[diesel(
        select_expression = values::shown(CustomResource::Quote, quotes::custom),
        select_expression_type = values::Shown<quotes::custom>
    )]
    pub custom: serde_json::Value,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ql, check_for_backend(diesel::pg::Pg))]
pub struct QuoteLineRow {
    pub id: QuoteLineId,
    pub quote_id: QuoteId,
    pub position: i32,
    pub article_id: Option<ArticleId>,
    pub sku: Option<String>,
    pub description: String,
    pub long_description: Option<String>,
    pub quantity: Quantity,
    pub unit: String,
    pub unit_price: Money,
    pub discount_percent: Percent,
    pub tax_rate: Percent,
    pub line_total: Money,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<&QuoteLineRow> for LineContent {
    fn from(row: &QuoteLineRow) -> Self {
        Self {
            article_id: row.article_id,
            sku: row.sku.clone(),
            description: row.description.clone(),
            long_description: row.long_description.clone(),
            quantity: row.quantity,
            unit: row.unit.clone(),
            unit_price: row.unit_price,
            discount_percent: row.discount_percent,
            tax_rate: row.tax_rate,
            line_total: row.line_total,
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = ql)]
pub(super) struct NewQuoteLineRow {
    id: QuoteLineId,
    quote_id: QuoteId,
    position: i32,
    article_id: Option<ArticleId>,
    sku: Option<String>,
    description: String,
    long_description: Option<String>,
    quantity: Quantity,
    unit: String,
    unit_price: Money,
    discount_percent: Percent,
    tax_rate: Percent,
    line_total: Money,
}

pub(super) fn quote_line(content: LineContent, quote_id: QuoteId, position: i32) -> NewQuoteLineRow {
    NewQuoteLineRow {
        id: QuoteLineId::generate(),
        quote_id,
        position,
        article_id: content.article_id,
        sku: content.sku,
        description: content.description,
        long_description: content.long_description,
        quantity: content.quantity,
        unit: content.unit,
        unit_price: content.unit_price,
        discount_percent: content.discount_percent,
        tax_rate: content.tax_rate,
        line_total: content.line_total,
    }
}

/// A quote with its lines.
#[derive(Debug, Clone)]
pub struct QuoteRecord {
    pub row: QuoteRow,
    pub lines: Vec<QuoteLineRow>,
}

pub(super) const WHAT: &str = "quote";

/// Lines one quote may have: as many as an opportunity, whose lines a primary quote's become.
pub(super) const MAX_LINES: i64 = 500;

/// Names the quote in a 404 about its (invisible) opportunity; other errors (a database
/// outage) pass unchanged.
pub(super) fn hidden_as_quote(id: QuoteId) -> impl FnOnce(AppError) -> AppError {
    move |error| match error {
        AppError::NotFound(_) => AppError::not_found(WHAT, id),
        other => other,
    }
}

/// A quote with its lines, whoever asks.
pub(super) async fn load(conn: &mut Conn, id: QuoteId) -> Result<QuoteRecord, AppError> {
    let row = quotes::table
        .find(id)
        .select(QuoteRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))?;
    let lines = lines_of(conn, &[id]).await?;
    Ok(QuoteRecord { row, lines })
}

pub(super) async fn lines_of(conn: &mut Conn, ids: &[QuoteId]) -> Result<Vec<QuoteLineRow>, AppError> {
    Ok(ql::table
        .filter(ql::quote_id.eq_any(ids))
        .order((ql::quote_id, ql::position))
        .select(QuoteLineRow::as_select())
        .load(conn)
        .await?)
}

/// A quote of an opportunity the caller sees; 404 otherwise.
pub async fn find(conn: &mut Conn, who: Visibility, id: QuoteId) -> Result<QuoteRecord, AppError> {
    let record = load(conn, id).await?;
    crate::opportunities::store::check_visible(conn, who, record.row.opportunity_id)
        .await
        .map_err(hidden_as_quote(id))?;
    Ok(record)
}

/// Line `line` of a quote the caller sees; 404 otherwise.
pub async fn find_line(
    conn: &mut Conn,
    who: Visibility,
    id: QuoteId,
    line: QuoteLineId,
) -> Result<QuoteLineRow, AppError> {
    find(conn, who, id).await?;
    ql::table
        .filter(ql::quote_id.eq(id))
        .filter(ql::id.eq(line))
        .select(QuoteLineRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found("quote line", line))
}

/// List filters.
#[derive(Debug, Default)]
pub struct QuoteFilter {
    pub status: Option<quote::QuoteStatus>,
    pub opportunity_id: Option<OpportunityId>,
    pub business_partner_id: Option<PartnerId>,
    pub custom: Vec<CustomFilter>,
}

/// Quotes of the opportunities the caller sees, with their lines.
pub async fn list(
    conn: &mut Conn,
    who: Visibility,
    filter: &QuoteFilter,
    page: &Page,
) -> Result<Vec<QuoteRecord>, AppError> {
    let rows: Vec<QuoteRow> = filtered(access::opportunity_ids(conn, who).await?, filter)
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load(conn)
        .await?;
    with_lines(conn, rows).await
}

/// With `count=true`, how many quotes `who` sees match `filter` (see [`Page::total`]).
pub async fn total(
    conn: &mut Conn,
    who: Visibility,
    filter: &QuoteFilter,
    page: &Page,
) -> Result<Option<i64>, AppError> {
    if !page.counts() {
        return Ok(None);
    }
    let seen = access::opportunity_ids(conn, who).await?;
    page.total(conn, filtered(seen, filter)).await
}

/// The quotes matching `filter` of the opportunities `seen` (all for `None`), unordered.
fn filtered(
    seen: Option<access::FencedIds>,
    filter: &QuoteFilter,
) -> quotes::BoxedQuery<'static, Pg, diesel::dsl::AsSelect<QuoteRow, Pg>> {
    let mut query = quotes::table.select(QuoteRow::as_select()).into_boxed();
    if let Some(seen) = seen {
        query = query.filter(quotes::opportunity_id.eq_any(seen));
    }
    if let Some(opportunity) = filter.opportunity_id {
        query = query.filter(quotes::opportunity_id.eq(opportunity));
    }
    if let Some(partner) = filter.business_partner_id {
        query = query.filter(quotes::business_partner_id.eq(partner));
    }
    for custom in &filter.custom {
        query = query.filter(quotes::id.eq_any(filters::matching(custom)));
    }
    match filter.status {
        None => query,
        Some(quote::QuoteStatus::Draft) => query
            .filter(quotes::status.eq(StoredStatus::Draft))
            .filter(quotes::valid_until.ge(today())),
        Some(quote::QuoteStatus::Expired) => query
            .filter(quotes::status.eq(StoredStatus::Draft))
            .filter(quotes::valid_until.lt(today())),
        Some(quote::QuoteStatus::Sent) => query.filter(quotes::status.eq(StoredStatus::Sent)),
        Some(quote::QuoteStatus::Accepted) => query.filter(quotes::status.eq(StoredStatus::Accepted)),
        Some(quote::QuoteStatus::Rejected) => query.filter(quotes::status.eq(StoredStatus::Rejected)),
        Some(quote::QuoteStatus::Superseded) => query.filter(quotes::status.eq(StoredStatus::Superseded)),
    }
}

/// `rows` with their lines (one statement for all).
async fn with_lines(conn: &mut Conn, rows: Vec<QuoteRow>) -> Result<Vec<QuoteRecord>, AppError> {
    let ids: Vec<QuoteId> = rows.iter().map(|r| r.id).collect();
    let mut by_quote: HashMap<QuoteId, Vec<QuoteLineRow>> = HashMap::new();
    for line in lines_of(conn, &ids).await? {
        by_quote.entry(line.quote_id).or_default().push(line);
    }
    Ok(rows
        .into_iter()
        .map(|row| QuoteRecord {
            lines: by_quote.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

/// Everything the PDF of a visible quote shows.
pub async fn document(conn: &mut Conn, who: Visibility, id: QuoteId) -> Result<QuoteDocument, AppError> {
    let record = find(conn, who, id).await?;
    document_of(conn, record).await
}

/// The printable document of a quote already read (and checked) with [`find`].
pub async fn document_of(conn: &mut Conn, record: QuoteRecord) -> Result<QuoteDocument, AppError> {
    let settings = crate::settings::store::get(conn).await?;
    let partner = crate::partners::store::find(conn, record.row.business_partner_id).await?;
    let (subject, opportunity_custom): (String, serde_json::Value) = opp::table
        .find(record.row.opportunity_id)
        .select((opp::subject, opp::custom))
        .first(conn)
        .await?;
    let printed = crate::custom_fields::store::printed_on_quote(conn).await?;
    let contact = match record.row.contact_id {
        Some(id) => contacts::table
            .find(id)
            .select((
                contacts::salutation,
                contacts::title,
                contacts::first_name,
                contacts::last_name,
            ))
            .first::<(Option<String>, Option<String>, Option<String>, String)>(conn)
            .await
            .optional()?,
        None => None,
    };
    let row = record.row;
    let custom_fields = printed
        .into_iter()
        .filter_map(|field| {
            let values = match field.resource {
                CustomResource::Quote => &row.custom,
                _ => &opportunity_custom,
            };
            let value = values.get(&field.key)?;
            Some((
                field.label,
                super::pdf::format::custom_value(field.type_, value, &row.currency)?,
            ))
        })
        .collect();
    let acceptance = acceptance_line(&row);
    let t = quote::totals(record.lines.iter().map(|l| (l.line_total.amount(), l.tax_rate.value())));
    Ok(QuoteDocument {
        company_name: settings.company_name,
        company_address: settings.company_address,
        company: CompanyDetails {
            register_court: settings.register_court,
            register_number: settings.register_number,
            managing_directors: settings.managing_directors,
            vat_id: settings.vat_id,
            tax_number: settings.tax_number,
            iban: settings.iban,
            bic: settings.bic,
            bank_name: settings.bank_name,
            phone: settings.phone,
            email: settings.email,
            website: settings.website,
        },
        number: row.number,
        revision: row.revision,
        status: quote::shown_status(row.status, row.valid_until, today()),
        acceptance,
        date: row.quote_date,
        valid_until: row.valid_until,
        currency: row.currency,
        partner: PartnerAddress {
            name: partner.name,
            street: partner.street,
            postal_code: partner.postal_code,
            city: partner.city,
            country: partner.country,
            contact: contact.map(|(salutation, title, first_name, last_name)| {
                super::pdf::person_name(&[salutation, title, first_name, Some(last_name)])
            }),
            vat_id: partner.vat_id,
        },
        subject,
        custom_fields,
        header_text: row.header_text,
        customer_text: row.customer_text,
        footer_text: row.footer_text,
        lines: record
            .lines
            .into_iter()
            .map(|l| DocumentLine {
                position: l.position,
                sku: l.sku,
                description: l.description,
                long_description: l.long_description,
                quantity: l.quantity.value(),
                unit: l.unit,
                unit_price: l.unit_price.amount(),
                discount_percent: l.discount_percent.value(),
                tax_rate: l.tax_rate.value(),
                line_total: l.line_total.amount(),
            })
            .collect(),
        net_total: row.net_total.amount(),
        taxes: t.taxes,
        tax_total: row.tax_total.amount(),
        gross_total: row.gross_total.amount(),
    })
}

/// One page of a visible quote's lines, by position.
pub async fn page_of_lines(
    conn: &mut Conn,
    who: Visibility,
    id: QuoteId,
    page: &Page,
) -> Result<Vec<QuoteLineRow>, AppError> {
    find(conn, who, id).await?;
    Ok(ql::table
        .filter(ql::quote_id.eq(id))
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .select(QuoteLineRow::as_select())
        .load(conn)
        .await?)
}

/// "Angenommen am 04.12.2026 von Anna Schmidt" (the name only when the customer decided on the
/// public page) for an accepted quote.
fn acceptance_line(row: &QuoteRow) -> Option<String> {
    let at = row.decided_at.filter(|_| row.status == StoredStatus::Accepted)?;
    let by = row
        .decided_by_name
        .as_ref()
        .map(|name| format!(" von {name}"))
        .unwrap_or_default();
    Some(format!(
        "Angenommen am {}{by}",
        super::pdf::format::date(at.date_naive())
    ))
}

/// The date quotes are judged by (validity, expiry): today in UTC.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}
