//! `/quotes` and `/opportunities/{id}/quotes`: offers made from an opportunity's lines, their
//! status, the primary quote, and the PDF. Quote lines are in `lines`.

use actix_web::http::header;
use actix_web::web::{Path, Query};
use actix_web::{HttpRequest, HttpResponse, get, patch, post};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::changes::{self, NewQuote, QuoteChanges, Transition};
use super::pdf::offer::MachineReadableOffer;
use super::store::{self, QuoteFilter};
use super::view::Quote;
use crate::access::Actor;
use crate::access::{Principal, Role};
use crate::custom_fields::filters::{self, CustomFilterParams};
use crate::custom_fields::values::Sent;
use crate::custom_fields::view::CustomValues;
use crate::db::Db;
use crate::domain::custom::CustomResource;
use crate::domain::quote::QuoteStatus;
use crate::error::AppError;
use crate::http::idempotency::{self, IdempotencyKey, Scope};
use crate::http::json::JsonBody;
use crate::http::pagination::{CountParams, KeyKind, Page, PageParams, PageRequest, Paged, SortKey, time_key};
use crate::http::{IfMatch, ok, patch as merge};
use crate::ids::{ContactId, OpportunityId, PartnerId, QuoteId};
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};

/// A new quote of the opportunity's lines: everything is optional; `valid_until` and the texts
/// default from the settings.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"valid_until": "2026-12-22", "customer_text": "Wie besprochen mit Winterrädern."}))]
pub struct NewQuoteRequest {
    /// Today or later; by default today + the settings' `quote_valid_days`.
    pub valid_until: Option<NaiveDate>,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub header_text: Option<String>,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub footer_text: Option<String>,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub customer_text: Option<String>,
    /// The person the quote is addressed to: an active contact of the opportunity's partner
    /// (422 otherwise), or null for none. By default the previous revision's contact while it
    /// is an active contact of the partner, else the partner's primary contact (if active).
    #[serde(default, deserialize_with = "merge::nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub contact_id: Option<Option<ContactId>>,
    /// Custom field values by key (see `/custom-fields?resource=quote`).
    #[schema(value_type = Option<CustomValues>)]
    pub custom: Option<Sent>,
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
    /// An active contact of the quote's partner (422 otherwise); null clears it.
    #[serde(default, deserialize_with = "merge::nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub contact_id: Option<Option<ContactId>>,
    /// Merged onto the custom values; a key set to null is removed.
    #[serde(default, deserialize_with = "merge::present")]
    #[schema(nullable = false, value_type = Option<CustomValues>)]
    pub custom: Option<Sent>,
}

/// Filters of the quote list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuoteQuery {
    pub status: Option<QuoteStatus>,
    #[param(value_type = Option<Uuid>)]
    pub opportunity_id: Option<OpportunityId>,
    #[param(value_type = Option<Uuid>)]
    pub business_partner_id: Option<PartnerId>,
}

const NEWEST_FIRST: SortKey = SortKey {
    name: "-created_at",
    column: "created_at",
    descending: true,
    kind: KeyKind::Timestamp,
};

async fn list(db: &Db, who: &Principal, filter: QuoteFilter, page: PageRequest) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let page = Page::new(&page, NEWEST_FIRST)?;
    let mut conn = db.connection().await?;
    let total = store::total(&mut conn, who.read_scope(), &filter, &page).await?;
    let rows = store::list(&mut conn, who.read_scope(), &filter, &page).await?;
    Ok(HttpResponse::Ok().json(
        page.finish(rows, |r| (time_key(&r.row.created_at), r.row.id))
            .map(Quote::from)
            .counted(total),
    ))
}

/// Lists the quotes of the opportunities the caller sees, newest first.
#[utoipa::path(
    tag = "quotes",
    params(QuoteQuery, PageParams, CountParams, CustomFilterParams),
    responses((status = 200, description = "One page of quotes", body = Paged<Quote>)),
    security(("bearer" = []))
)]
#[get("/quotes")]
async fn list_quotes(
    db: Db,
    who: Principal,
    req: HttpRequest,
    query: Query<QuoteQuery>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let q = query.into_inner();
    let custom = filters::parse(&mut *db.connection().await?, CustomResource::Quote, req.query_string()).await?;
    let filter = QuoteFilter {
        status: q.status,
        opportunity_id: q.opportunity_id,
        business_partner_id: q.business_partner_id,
        custom,
    };
    list(&db, &who, filter, page).await
}

/// Lists the quotes of one opportunity (its quote history), newest first.
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Opportunity id"), PageParams, CountParams),
    responses(
        (status = 200, description = "One page of the opportunity's quotes", body = Paged<Quote>),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/opportunities/{id}/quotes")]
async fn opportunity_quotes(
    db: Db,
    who: Principal,
    id: Path<OpportunityId>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let id = id.into_inner();
    crate::opportunities::store::check_visible(&mut *db.connection().await?, who.read_scope(), id).await?;
    let filter = QuoteFilter {
        opportunity_id: Some(id),
        ..QuoteFilter::default()
    };
    list(&db, &who, filter, page).await
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
    db: Db,
    who: Principal,
    req: HttpRequest,
    key: IdempotencyKey,
    id: Path<OpportunityId>,
    body: JsonBody<NewQuoteRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let r = body.parse()?;
    let new = NewQuote {
        valid_until: r.valid_until,
        header_text: r.header_text,
        footer_text: r.footer_text,
        customer_text: r.customer_text,
        contact_id: r.contact_id,
        custom: r.custom,
    };
    let (actor, opportunity) = (Actor::of(&who)?, id.into_inner());
    idempotency::create(&db, Scope::of(&who, &req), key, &body.raw, move |conn| {
        Box::pin(async move { changes::create(conn, &actor, opportunity, new).await.map(Quote::from) })
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
async fn get_quote(db: Db, who: Principal, id: Path<QuoteId>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let record = store::find(&mut *db.connection().await?, who.read_scope(), id.into_inner()).await?;
    Ok(ok(&Quote::from(record)))
}

/// Changes the texts, validity or contact of a draft (JSON merge patch); honours `If-Match`.
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
    db: Db,
    who: Principal,
    id: Path<QuoteId>,
    if_match: IfMatch,
    body: JsonBody<QuotePatch>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let p = body.parse()?;
    let changes = QuoteChanges {
        valid_until: p.valid_until,
        header_text: p.header_text,
        footer_text: p.footer_text,
        customer_text: p.customer_text,
        contact_id: p.contact_id,
        custom: p.custom,
    };
    let record = changes::update(
        &mut *db.connection().await?,
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
async fn make_primary(db: Db, who: Principal, id: Path<QuoteId>, if_match: IfMatch) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let record = changes::make_primary(
        &mut *db.connection().await?,
        &Actor::of(&who)?,
        id.into_inner(),
        &if_match,
    )
    .await?;
    Ok(ok(&Quote::from(record)))
}

async fn run_transition(
    db: &Db,
    who: &Principal,
    id: QuoteId,
    if_match: &IfMatch,
    to: Transition,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let record = changes::transition(&mut *db.connection().await?, &Actor::of(who)?, id, if_match, to).await?;
    Ok(ok(&Quote::from(record)))
}

/// Records that the customer accepted a sent quote; 409 unless it is sent.
///
/// The accepted quote becomes the opportunity's primary one (its lines become the
/// opportunity's; on a closed opportunity only the primary quote can be accepted), its sent
/// siblings become `superseded`, and with `settings.win_on_quote_accept` the opportunity is
/// won, so that `opportunity.won` hands the ERP this quote.
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
async fn accept_quote(db: Db, who: Principal, id: Path<QuoteId>, if_match: IfMatch) -> Result<HttpResponse, AppError> {
    run_transition(&db, &who, id.into_inner(), &if_match, Transition::Accept).await
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
async fn reject_quote(db: Db, who: Principal, id: Path<QuoteId>, if_match: IfMatch) -> Result<HttpResponse, AppError> {
    run_transition(&db, &who, id.into_inner(), &if_match, Transition::Reject).await
}

/// A PDF file.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct PdfDocument(pub Vec<u8>);

/// The quote as a PDF offer: letterhead, address, number, dates, texts, line table, totals.
///
/// A complete German offer: the footer carries the company's register, directors, VAT id, tax
/// number, bank and contact details from the settings; a draft is marked "ENTWURF". The PDF
/// (version 2.0) embeds the quote as the file `angebot.json`, associated with the document as
/// its alternative representation, in the format of the schema `MachineReadableOffer`, for
/// the buyer's procurement system.
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id")),
    responses(
        (status = 200, description = "The PDF; it embeds `angebot.json`, the offer `GET /quotes/{id}/offer` answers", content_type = "application/pdf", body = PdfDocument,
            headers(("Content-Disposition" = String, description = "inline; filename=\"QT-000001.pdf\""))),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/quotes/{id}/pdf")]
async fn quote_pdf(db: Db, who: Principal, id: Path<QuoteId>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let document = store::document(&mut *db.connection().await?, who.read_scope(), id.into_inner()).await?;
    let filename = format!("{}.pdf", document.number);
    let pdf = super::pdf::render_off_workers(document).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, format!("inline; filename=\"{filename}\"")))
        .body(pdf))
}

/// The quote as the machine-readable offer: the JSON file the PDF embeds as `angebot.json`,
/// for a buyer's procurement system or an integration that wants the offer without the PDF.
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id")),
    responses(
        (status = 200, description = "The offer, as embedded in the PDF", body = MachineReadableOffer),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/quotes/{id}/offer")]
async fn quote_offer(db: Db, who: Principal, id: Path<QuoteId>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let document = store::document(&mut *db.connection().await?, who.read_scope(), id.into_inner()).await?;
    let offer = MachineReadableOffer::of(&document)
        .map_err(|e| AppError::Internal(format!("the offer could not be built: {e}")))?;
    Ok(HttpResponse::Ok().json(offer))
}

/// Registers the quote routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_quotes)
        .service(opportunity_quotes)
        .service(create_quote)
        .service(get_quote)
        .service(update_quote)
        .service(make_primary)
        .service(accept_quote)
        .service(reject_quote)
        .service(quote_pdf)
        .service(quote_offer);
    super::lines::configure(cfg);
}
