//! `/quotes` and `/opportunities/{id}/quotes`: offers made from an opportunity's lines, their
//! status, the primary quote, and the PDF. Quote lines are in `lines`.

use actix_web::http::header;
use actix_web::web::{self, Data, Path, Query};
use actix_web::{HttpRequest, HttpResponse, get, patch, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::lines::QuoteLine;
use super::store::{self, NewQuote, QuoteChanges, QuoteFilter, QuoteRecord, Transition};
use crate::access::Actor;
use crate::auth::{Principal, Role};
use crate::db::{self, DbPool};
use crate::domain::money::{Money, Percent};
use crate::domain::quote::{self, QuoteStatus};
use crate::error::AppError;
use crate::http::idempotency::{self, IdempotencyKey, Scope};
use crate::http::json::JsonBody;
use crate::http::pagination::{KeyKind, Page, PageParams, PageRequest, Paged, SortKey, time_key};
use crate::http::{IfMatch, Resource, ok, patch as merge};
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

/// The tax of one rate.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"tax_rate": 19.0, "amount": "19000.00"}))]
pub struct TaxAmount {
    pub tax_rate: Percent,
    /// The rate applied to the net of the lines at this rate, rounded once.
    pub amount: Money,
}

/// A quote (Angebot): a numbered revision of an opportunity's lines with texts and totals.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f70", "number": "QT-000007",
    "opportunity_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f20",
    "business_partner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10", "revision": 1, "status": "draft",
    "is_primary": true, "currency": "EUR", "quote_date": "2026-11-22", "valid_until": "2026-12-22",
    "header_text": "Vielen Dank für Ihre Anfrage.", "customer_text": "Wie besprochen mit Winterrädern.",
    "footer_text": "Es gelten unsere AGB.",
    "lines": [{"id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f71", "quote_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f70",
        "position": 1, "article_id": null, "sku": "VW-ID4", "description": "VW ID.4 Pro", "quantity": "2",
        "unit": "Stk", "unit_price": "50000.00", "discount_percent": 0.0, "tax_rate": 19.0,
        "line_total": "100000.00", "created_at": "2026-11-22T10:00:00Z", "updated_at": "2026-11-22T10:00:00Z",
        "version": 1}],
    "net_total": "100000.00", "taxes": [{"tax_rate": 19.0, "amount": "19000.00"}], "tax_total": "19000.00",
    "gross_total": "119000.00", "sent_at": null, "decided_at": null, "created_by": "admin",
    "created_at": "2026-11-22T10:00:00Z", "updated_at": "2026-11-22T10:00:00Z", "version": 1
}))]
pub struct Quote {
    pub id: Uuid,
    /// Human number from a sequence, `QT-000001`.
    pub number: String,
    pub opportunity_id: Uuid,
    /// The addressee: the opportunity's partner when the quote was made.
    pub business_partner_id: Uuid,
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

/// A new quote of the opportunity's lines: only `valid_until` is required; the texts default
/// from the settings.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"valid_until": "2026-12-22", "customer_text": "Wie besprochen mit Winterrädern."}))]
pub struct NewQuoteRequest {
    /// Today or later.
    pub valid_until: NaiveDate,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub header_text: Option<String>,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub footer_text: Option<String>,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub customer_text: Option<String>,
}

/// Changes to a draft (JSON merge patch).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"valid_until": "2027-01-15", "customer_text": null}))]
pub struct QuotePatch {
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false)]
    pub valid_until: Option<NaiveDate>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, max_length = 5000)]
    #[validate(length(max = 5000))]
    pub header_text: Option<String>,
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, max_length = 5000)]
    #[validate(length(max = 5000))]
    pub footer_text: Option<String>,
    #[serde(default, deserialize_with = "merge::nullable")]
    #[schema(max_length = 5000)]
    #[validate(length(max = 5000))]
    pub customer_text: Option<Option<String>>,
}

/// 422 unless `date` is today or later.
fn not_past(date: NaiveDate) -> Result<(), AppError> {
    if date < store::today() {
        Err(AppError::invalid("valid_until", "past", "must be today or later"))
    } else {
        Ok(())
    }
}

/// Filters of the quote list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuoteQuery {
    pub status: Option<QuoteStatus>,
    pub opportunity_id: Option<Uuid>,
    pub business_partner_id: Option<Uuid>,
}

const NEWEST_FIRST: SortKey = SortKey {
    name: "-created_at",
    column: "created_at",
    descending: true,
    kind: KeyKind::Timestamp,
};

async fn list(
    pool: &DbPool,
    who: &Principal,
    filter: QuoteFilter,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let page = Page::new(&page, NEWEST_FIRST)?;
    let rows = store::list(&mut *db::connection(pool).await?, who.read_scope(), &filter, &page).await?;
    Ok(HttpResponse::Ok().json(
        page.finish(rows, |r| (time_key(&r.row.created_at), r.row.id))
            .map(Quote::from),
    ))
}

/// Lists the quotes of the opportunities the caller sees, newest first.
#[utoipa::path(
    tag = "quotes",
    params(QuoteQuery, PageParams),
    responses((status = 200, description = "One page of quotes", body = Paged<Quote>)),
    security(("bearer" = []))
)]
#[get("/quotes")]
async fn list_quotes(
    pool: Data<DbPool>,
    who: Principal,
    query: Query<QuoteQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let filter = QuoteFilter {
        status: q.status,
        opportunity_id: q.opportunity_id,
        business_partner_id: q.business_partner_id,
    };
    list(&pool, &who, filter, page).await
}

/// Lists the quotes of one opportunity (its quote history), newest first.
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Opportunity id"), PageParams),
    responses(
        (status = 200, description = "One page of the opportunity's quotes", body = Paged<Quote>),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/opportunities/{id}/quotes")]
async fn opportunity_quotes(
    pool: Data<DbPool>,
    who: Principal,
    id: Path<Uuid>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let id = id.into_inner();
    crate::opportunities::store::check_visible(&mut *db::connection(&pool).await?, who.read_scope(), id).await?;
    let filter = QuoteFilter {
        opportunity_id: Some(id),
        ..QuoteFilter::default()
    };
    list(&pool, &who, filter, page).await
}

/// Makes a quote of an open opportunity's lines (the next revision; the first is primary).
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Opportunity id"), IdempotencyKey),
    request_body = NewQuoteRequest,
    responses(
        (status = 201, description = "Created", body = Quote,
            headers(("Location" = String, description = "URL of the new quote"), ("ETag" = String, description = "Its version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[post("/opportunities/{id}/quotes")]
async fn create_quote(
    pool: Data<DbPool>,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    id: Path<Uuid>,
    body: JsonBody<NewQuoteRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let r = body.parse()?;
    not_past(r.valid_until)?;
    let new = NewQuote {
        valid_until: r.valid_until,
        header_text: r.header_text,
        footer_text: r.footer_text,
        customer_text: r.customer_text,
    };
    let (actor, opportunity) = (Actor::of(&who)?, id.into_inner());
    idempotency::create(&pool, Scope::of(&who, &req), key, &body.raw, move |conn| {
        Box::pin(async move { store::create(conn, &actor, opportunity, new).await.map(Quote::from) })
    })
    .await
}

/// Gets one quote with its lines.
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id")),
    responses(
        (status = 200, description = "The quote", body = Quote, headers(("ETag" = String, description = "Current version"))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/quotes/{id}")]
async fn get_quote(pool: Data<DbPool>, who: Principal, id: Path<Uuid>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let record = store::find(&mut *db::connection(&pool).await?, who.read_scope(), id.into_inner()).await?;
    Ok(ok(&Quote::from(record)))
}

/// Changes the texts or validity of a draft (JSON merge patch); honours `If-Match`.
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id"), IfMatch),
    request_body(content = QuotePatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "Updated", body = Quote, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[patch("/quotes/{id}")]
async fn update_quote(
    pool: Data<DbPool>,
    who: Principal,
    id: Path<Uuid>,
    if_match: IfMatch,
    body: JsonBody<QuotePatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let p = body.parse()?;
    if let Some(date) = p.valid_until {
        not_past(date)?;
    }
    let changes = QuoteChanges {
        valid_until: p.valid_until,
        header_text: p.header_text,
        footer_text: p.footer_text,
        customer_text: p.customer_text,
    };
    let record = store::update(
        &mut *db::connection(&pool).await?,
        &Actor::of(&who)?,
        id.into_inner(),
        &if_match,
        changes,
    )
    .await?;
    Ok(ok(&Quote::from(record)))
}

/// Makes this quote the opportunity's primary one; its lines become the opportunity's.
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id"), IfMatch),
    responses(
        (status = 200, description = "Now primary", body = Quote, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[post("/quotes/{id}/make-primary")]
async fn make_primary(
    pool: Data<DbPool>,
    who: Principal,
    id: Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let record = store::make_primary(
        &mut *db::connection(&pool).await?,
        &Actor::of(&who)?,
        id.into_inner(),
        &if_match,
    )
    .await?;
    Ok(ok(&Quote::from(record)))
}

async fn run_transition(
    pool: &DbPool,
    who: &Principal,
    id: Uuid,
    if_match: &IfMatch,
    to: Transition,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let record = store::transition(&mut *db::connection(pool).await?, &Actor::of(who)?, id, if_match, to).await?;
    Ok(ok(&Quote::from(record)))
}

/// Marks a draft as sent to the customer; 409 unless it is a draft that has not expired.
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id"), IfMatch),
    responses(
        (status = 200, description = "Sent", body = Quote, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[post("/quotes/{id}/send")]
async fn send_quote(
    pool: Data<DbPool>,
    who: Principal,
    id: Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    run_transition(&pool, &who, id.into_inner(), &if_match, Transition::Send).await
}

/// Records that the customer accepted a sent quote; 409 unless it is sent.
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id"), IfMatch),
    responses(
        (status = 200, description = "Accepted", body = Quote, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[post("/quotes/{id}/accept")]
async fn accept_quote(
    pool: Data<DbPool>,
    who: Principal,
    id: Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    run_transition(&pool, &who, id.into_inner(), &if_match, Transition::Accept).await
}

/// Records that the customer rejected a sent quote; 409 unless it is sent.
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id"), IfMatch),
    responses(
        (status = 200, description = "Rejected", body = Quote, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed)
    ),
    security(("bearer" = []))
)]
#[post("/quotes/{id}/reject")]
async fn reject_quote(
    pool: Data<DbPool>,
    who: Principal,
    id: Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, AppError> {
    run_transition(&pool, &who, id.into_inner(), &if_match, Transition::Reject).await
}

/// A PDF file.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PdfDocument(pub Vec<u8>);

/// The quote as a PDF offer: letterhead, address, number, dates, texts, line table, totals.
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id")),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf", body = PdfDocument,
            headers(("Content-Disposition" = String, description = "inline; filename=\"QT-000001.pdf\""))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/quotes/{id}/pdf")]
async fn quote_pdf(pool: Data<DbPool>, who: Principal, id: Path<Uuid>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let document = store::document(&mut *db::connection(&pool).await?, who.read_scope(), id.into_inner()).await?;
    let filename = format!("{}.pdf", document.number);
    // Layout is CPU work: off the async workers.
    let pdf = web::block(move || super::pdf::render(&document).map(PdfDocument))
        .await
        .map_err(|e| AppError::Internal(format!("PDF rendering did not finish: {e}")))?
        .map_err(|e| AppError::Internal(format!("PDF rendering failed: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, format!("inline; filename=\"{filename}\"")))
        .body(pdf.0))
}

/// Registers the quote routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_quotes)
        .service(opportunity_quotes)
        .service(create_quote)
        .service(get_quote)
        .service(update_quote)
        .service(make_primary)
        .service(send_quote)
        .service(accept_quote)
        .service(reject_quote)
        .service(quote_pdf);
    super::lines::configure(cfg);
}
