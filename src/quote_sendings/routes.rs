//! `POST /quotes/{id}/send` and `GET /quotes/{id}/sendings`.

use actix_web::web::{Data, Path};
use actix_web::{HttpResponse, get, post};
use lettre::message::Mailbox;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::changes::{self, SendQuote};
use super::store;
use super::view::QuoteSending;
use crate::access::{Actor, Principal, Role};
use crate::db::Db;
use crate::error::{AppError, FieldError};
use crate::http::json::OptionalJsonBody;
use crate::http::pagination::{KeyKind, Page, PageParams, PageRequest, Paged, SortKey, time_key};
use crate::http::{IfMatch, ok};
use crate::ids::QuoteId;
use crate::mail::Mailer;
use crate::openapi::responses::{Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed};
use crate::quotes::view::Quote;

/// Most recipients (`to` and `cc` each) of one e-mail.
const MAX_RECIPIENTS: usize = 20;

/// How to e-mail the quote; everything is optional.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "to": ["anna.schmidt@muster.example"], "cc": ["einkauf@muster.example"],
    "message": "{{ greeting }}\n\nwie besprochen unser Angebot {{ quote.number }}.\n\n{{ acceptance_link }}\n\nViele Grüße\n{{ sender.name }}",
    "attach_pdf": true, "acceptance_link": true
}))]
pub struct SendQuoteRequest {
    /// Recipients (`anna@muster.example` or `Anna Schmidt <anna@muster.example>`); by default
    /// the quote's contact, else its business partner's e-mail address (422 when neither has one).
    #[validate(length(min = 1, max = 20))]
    #[schema(min_items = 1, max_items = 20)]
    pub to: Option<Vec<String>>,
    #[validate(length(max = 20))]
    #[schema(max_items = 20)]
    pub cc: Option<Vec<String>>,
    /// The subject, a template like the settings' `quote_email_subject` (its default).
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    pub subject: Option<String>,
    /// The text, a template with placeholders such as `{{ quote.number }}`, `{{ greeting }}`,
    /// `{{ contact.last_name }}`, `{{ acceptance_link }}` (see the settings'
    /// `quote_email_text`, its default); an unknown placeholder is a 422.
    #[validate(length(min = 1, max = 20000))]
    #[schema(min_length = 1, max_length = 20000)]
    pub message: Option<String>,
    /// Attach the quote's PDF, exactly as `GET /quotes/{id}/pdf` serves it (default true).
    pub attach_pdf: Option<bool>,
    /// Include a link to the public page where the customer views, accepts or declines the quote
    /// without logging in (default true). A new link revokes those sent for the opportunity's
    /// other quotes.
    pub acceptance_link: Option<bool>,
}

fn mailboxes(field: &str, addresses: &[String], errors: &mut Vec<FieldError>) -> Vec<Mailbox> {
    addresses
        .iter()
        .take(MAX_RECIPIENTS)
        .enumerate()
        .filter_map(|(i, address)| {
            address
                .trim()
                .parse::<Mailbox>()
                .map_err(|e| {
                    let message = format!("'{address}' is not an e-mail address: {e}");
                    errors.push(FieldError::new(format!("{field}[{i}]"), "email", message));
                })
                .ok()
        })
        .collect()
}

impl TryFrom<SendQuoteRequest> for SendQuote {
    type Error = AppError;

    fn try_from(r: SendQuoteRequest) -> Result<Self, AppError> {
        let mut errors = Vec::new();
        let to = r.to.map(|to| mailboxes("to", &to, &mut errors));
        let cc = mailboxes("cc", &r.cc.unwrap_or_default(), &mut errors);
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(Self {
            to,
            cc,
            subject: r.subject,
            message: r.message,
            attach_pdf: r.attach_pdf.unwrap_or(true),
            acceptance_link: r.acceptance_link.unwrap_or(true),
        })
    }
}

/// E-mails the quote to the customer and marks a draft as sent; a sent quote may be sent again
/// (a reminder).
///
/// The e-mail (text and HTML) has the PDF attached and a link to the public page where the
/// customer accepts or declines without logging in; subject and text come from the settings'
/// templates unless given. The SMTP server must accept it before anything changes: then the
/// sending is recorded (`GET /quotes/{id}/sendings`), an `email` activity is logged on the
/// opportunity, and `quote.sent` is written. 502 when the SMTP server refuses it (nothing
/// changes), 503 when no SMTP server is configured (`SMTP_URL`), 409 inside an atomic batch (an
/// e-mail cannot be rolled back) and for quotes that are not drafts or sent.
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id"), IfMatch),
    request_body(content = Option<SendQuoteRequest>, description = "Optional"),
    responses(
        (status = 200, description = "Sent", body = Quote, headers(("ETag" = String, description = "New version"))),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = ValidationFailed),
        (status = 502, description = "The SMTP server refused the e-mail or could not be reached; nothing changed",
            body = crate::error::ProblemDetails, content_type = "application/problem+json",
            example = json!({"type": "urn:salesfunnel:problem:bad-gateway", "title": "Bad Gateway", "status": 502,
                "detail": "the SMTP server did not take the e-mail; nothing was changed: permanent error (550): mailbox unavailable"})),
        (status = 503, description = "No SMTP server is configured (`SMTP_URL`), or the database is unavailable",
            body = crate::error::ProblemDetails, content_type = "application/problem+json",
            example = json!({"type": "urn:salesfunnel:problem:service-unavailable", "title": "Service Unavailable", "status": 503,
                "detail": "e-mail is not configured: set SMTP_URL (e.g. smtp://user:password@mail.example.com:587)"}))
    ),
    security(("bearer" = []))
)]
#[post("/quotes/{id}/send")]
async fn send_quote(
    db: Db,
    who: Principal,
    mailer: Data<Mailer>,
    id: Path<QuoteId>,
    if_match: IfMatch,
    body: OptionalJsonBody<SendQuoteRequest>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_write_opportunities)?;
    let actor = Actor::of(&who)?;
    // An e-mail leaves the database: a bad body stops it at once (no deferred 422).
    let request = match body.0 {
        Some(body) => body.parse_now()?,
        None => SendQuoteRequest {
            to: None,
            cc: None,
            subject: None,
            message: None,
            attach_pdf: None,
            acceptance_link: None,
        },
    };
    let request = SendQuote::try_from(request)?;
    if db.in_atomic_batch() {
        return Err(AppError::Conflict(
            "an e-mail cannot be rolled back: send quotes outside an atomic batch".to_owned(),
        ));
    }
    let record = changes::send(&db, &mailer, &actor, id.into_inner(), &if_match, request).await?;
    Ok(ok(&Quote::from(record)))
}

const BY_TIME: SortKey = SortKey {
    name: "sent_at",
    column: "sent_at",
    descending: false,
    kind: KeyKind::Timestamp,
};

/// Lists the e-mails that carried the quote, oldest first: recipients, subject, message id and
/// the SHA-256 of the PDF attached.
#[utoipa::path(
    tag = "quotes",
    params(("id" = Uuid, Path, description = "Quote id"), PageParams),
    responses(
        (status = 200, description = "One page of sendings", body = Paged<QuoteSending>),
        (status = 404, response = NotFound)
    ),
    security(("bearer" = []))
)]
#[get("/quotes/{id}/sendings")]
async fn quote_sendings(
    db: Db,
    who: Principal,
    id: Path<QuoteId>,
    page: PageRequest,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let page = Page::new(&page, BY_TIME)?;
    let rows = store::page(&mut *db.connection().await?, who.read_scope(), id.into_inner(), &page).await?;
    Ok(HttpResponse::Ok().json(
        page.finish(rows, |row| (time_key(&row.sent_at), row.id))
            .map(QuoteSending::from),
    ))
}

/// Registers the sending routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(send_quote).service(quote_sendings);
}
