//! `/public/quotes/{token}`: the page, its PDF, and the customer's decision. No token, no
//! login: the link's random token is the key. Answers are HTML for a browser, never cached,
//! never sent as a referrer, never framed.

use actix_web::http::{StatusCode, header};
use actix_web::web::{Bytes, Data, Path};
use actix_web::{HttpRequest, HttpResponse, get, post};
use serde::Deserialize;
use utoipa::ToSchema;

use super::changes::{self, Decision};
use super::page::{self, Notice, Page};
use super::store;
use crate::access::Visibility;
use crate::db::{Conn, Db};
use crate::domain::quote::{self, QuoteStatus};
use crate::error::AppError;
use crate::mail::Mailer;
use crate::quotes::pdf::{self, QuoteDocument, format};
use crate::quotes::store::{self as quotes, QuoteRow, today};

/// What the page may do with the quote of a link.
enum State {
    /// Sent, valid, the latest link: Accept / Decline.
    Open,
    /// Decided: shown with the decision.
    Decided(Notice),
    /// Superseded, revoked or expired: a 410 with the reason.
    Gone(String),
}

/// A link's quote as the page sees it.
struct Seen {
    row: QuoteRow,
    document: QuoteDocument,
    state: State,
}

async fn see(conn: &mut Conn, token: &str) -> Result<Seen, AppError> {
    let link = store::link(conn, token).await?;
    let record = quotes::find(conn, Visibility::All, link.quote_id).await?;
    let row = record.row.clone();
    let document = quotes::document_of(conn, record).await?;
    let decided = row
        .decided_at
        .map(|at| format::date(at.date_naive()))
        .unwrap_or_default();
    let by = row
        .decided_by_name
        .as_ref()
        .map(|name| format!(" von {name}"))
        .unwrap_or_default();
    let state = match quote::shown_status(row.status, row.valid_until, today()) {
        QuoteStatus::Accepted => Ok(State::Decided(Notice::Ok(format!(
            "Dieses Angebot wurde am {decided}{by} angenommen. Vielen Dank für Ihren Auftrag!"
        )))),
        QuoteStatus::Rejected => Ok(State::Decided(Notice::Info(format!(
            "Dieses Angebot wurde am {decided}{by} abgelehnt."
        )))),
        QuoteStatus::Superseded => Ok(State::Gone(SUPERSEDED.to_owned())),
        QuoteStatus::Sent if link.revoked_at.is_some() => Ok(State::Gone(SUPERSEDED.to_owned())),
        QuoteStatus::Sent if row.valid_until < today() => Ok(State::Gone(format!(
            "Dieses Angebot war gültig bis {} und ist abgelaufen. Bitte sprechen Sie uns an, wir erstellen Ihnen gern ein neues.",
            format::date(row.valid_until)
        ))),
        QuoteStatus::Sent => Ok(State::Open),
        QuoteStatus::Draft | QuoteStatus::Expired => Err(unknown()),
    }?;
    Ok(Seen { row, document, state })
}

const SUPERSEDED: &str = "Dieses Angebot ist nicht mehr aktuell: es wurde durch eine neuere Fassung ersetzt. \
                          Bitte verwenden Sie den Link aus unserer letzten E-Mail.";

fn unknown() -> AppError {
    AppError::NotFound("this link does not lead to a quote".to_owned())
}

/// An HTML answer with the headers a page holding a secret link needs.
fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .insert_header(("X-Robots-Tag", "noindex"))
        .body(body)
}

fn show(status: StatusCode, page: &Page) -> Result<HttpResponse, AppError> {
    Ok(html(status, page::render(page).map_err(AppError::Internal)?))
}

/// The page of a seen quote, or of a link that leads nowhere.
fn answer(
    mailer: &Mailer,
    token: &str,
    seen: Result<Seen, AppError>,
    form: Form<'_>,
) -> Result<HttpResponse, AppError> {
    let seen = match seen {
        Ok(seen) => Some(seen),
        Err(AppError::NotFound(_)) => None,
        Err(other) => return Err(other),
    };
    let company = seen
        .as_ref()
        .map(|s| s.document.company_name.as_str())
        .unwrap_or("Angebot");
    let mut page = Page {
        company,
        base: &mailer.public_base_url,
        token,
        offer: None,
        open: false,
        notice: Notice::None,
        error: form.error,
        name: form.name,
    };
    let status = match &seen {
        None => {
            page.notice = Notice::Error(
                "Dieser Link führt zu keinem Angebot. Bitte prüfen Sie, ob er vollständig ist.".to_owned(),
            );
            StatusCode::NOT_FOUND
        }
        Some(seen) => {
            page.offer = Some(&seen.document);
            match &seen.state {
                State::Open => {
                    page.open = true;
                    form.status
                }
                State::Decided(notice) => {
                    page.notice = notice.clone();
                    form.status
                }
                State::Gone(reason) => {
                    page.offer = None;
                    page.notice = Notice::Info(reason.clone());
                    StatusCode::GONE
                }
            }
        }
    };
    show(status, &page)
}

/// What the page shows about a submitted form.
#[derive(Clone, Copy)]
struct Form<'a> {
    status: StatusCode,
    error: Option<&'a str>,
    name: &'a str,
}

const NO_FORM: Form<'static> = Form {
    status: StatusCode::OK,
    error: None,
    name: "",
};

/// The offer of a quote e-mail's link, for the customer, without a login: the quote's lines and
/// totals, its PDF, and Accept / Decline while it is sent, valid and the latest link of its
/// opportunity. An accepted or rejected quote shows the decision; a superseded, revoked or
/// expired link is a 410 page saying so; an unknown one a 404 page.
#[utoipa::path(
    tag = "public",
    params(("token" = String, Path, description = "The link's token, from the quote e-mail")),
    responses(
        (status = 200, description = "The offer", content_type = "text/html", body = String),
        (status = 404, description = "The link leads to no quote", content_type = "text/html", body = String),
        (status = 410, description = "The quote was superseded by a newer one or has expired", content_type = "text/html", body = String)
    )
)]
#[get("/public/quotes/{token}")]
async fn public_quote_page(db: Db, mailer: Data<Mailer>, token: Path<String>) -> Result<HttpResponse, AppError> {
    let seen = see(&mut *db.connection().await?, &token).await;
    answer(&mailer, &token, seen, NO_FORM)
}

/// The quote's PDF, as the page offers it for download; 404 and 410 as the page.
#[utoipa::path(
    tag = "public",
    params(("token" = String, Path, description = "The link's token, from the quote e-mail")),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf", body = crate::quotes::routes::PdfDocument),
        (status = 404, description = "The link leads to no quote", content_type = "text/html", body = String),
        (status = 410, description = "The quote was superseded by a newer one or has expired", content_type = "text/html", body = String)
    )
)]
#[get("/public/quotes/{token}/pdf")]
async fn public_quote_pdf(db: Db, mailer: Data<Mailer>, token: Path<String>) -> Result<HttpResponse, AppError> {
    let seen = see(&mut *db.connection().await?, &token).await;
    match seen {
        Ok(seen) if !matches!(seen.state, State::Gone(_)) => {
            let filename = format!("Angebot-{}.pdf", seen.row.number);
            let bytes = pdf::render_off_workers(seen.document).await?;
            Ok(HttpResponse::Ok()
                .content_type("application/pdf")
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                ))
                .body(bytes))
        }
        other => answer(&mailer, &token, other, NO_FORM),
    }
}

/// The customer's decision as the page's form sends it.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Anna Schmidt"}))]
pub struct DecisionForm {
    /// The name of who decides, 1–200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

impl DecisionForm {
    /// The `name` field of a form body (`application/x-www-form-urlencoded`).
    fn read(body: &[u8]) -> Self {
        let name = url::form_urlencoded::parse(body)
            .find(|(key, _)| key == "name")
            .map(|(_, value)| value.trim().to_owned())
            .unwrap_or_default();
        Self { name }
    }
}

async fn decide(
    req: &HttpRequest,
    db: &Db,
    mailer: &Mailer,
    token: &str,
    body: &Bytes,
    accept: bool,
) -> Result<HttpResponse, AppError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(AppError::UnsupportedMediaType(format!(
            "the body must be application/x-www-form-urlencoded (the page's form), not '{content_type}'"
        )));
    }
    let form = DecisionForm::read(body);
    let mut conn = db.connection().await?;
    let seen = see(&mut conn, token).await;
    let open = matches!(&seen, Ok(Seen { state: State::Open, .. }));
    let problem = match form.name.chars().count() {
        _ if !open => None,
        0 => Some("Bitte geben Sie Ihren Namen an."),
        201.. => Some("Bitte geben Sie höchstens 200 Zeichen an."),
        _ => None,
    };
    if !open || problem.is_some() {
        let status = if problem.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::CONFLICT
        };
        let shown = Form {
            status,
            error: problem,
            name: &form.name,
        };
        return answer(mailer, token, seen, shown);
    }
    let quote_id = seen?.row.id;
    let text = |value: Option<&str>| value.map(|v| v.chars().take(500).collect::<String>());
    let decision = Decision {
        accept,
        name: form.name.clone(),
        client_address: text(req.connection_info().realip_remote_addr()),
        user_agent: text(req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok())),
    };
    changes::decide(&mut conn, quote_id, decision).await?;
    // Post/redirect/get: a reload shows the decision instead of sending it again.
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("{}/public/quotes/{token}", mailer.public_base_url),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// Accepts the quote in the customer's name: 303 to the page, which then shows the decision.
/// The acceptance follows the rules of `POST /quotes/{id}/accept` (primary quote, superseded
/// siblings, the opportunity won with `settings.win_on_quote_accept`) and records the name, the
/// time, the client address and the user agent (`customer_decision`). 409 when the quote can no
/// longer be decided on, 422 without a name (the page again, with the message).
#[utoipa::path(
    tag = "public",
    params(("token" = String, Path, description = "The link's token, from the quote e-mail")),
    request_body(content = DecisionForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Decided; `Location` is the page", headers(("Location" = String, description = "The page"))),
        (status = 404, description = "The link leads to no quote", content_type = "text/html", body = String),
        (status = 409, description = "The quote can no longer be decided on", content_type = "text/html", body = String),
        (status = 410, description = "The quote was superseded by a newer one or has expired", content_type = "text/html", body = String),
        (status = 422, description = "No name, or a longer one than 200 characters", content_type = "text/html", body = String)
    )
)]
#[post("/public/quotes/{token}/accept")]
async fn accept_quote_online(
    req: HttpRequest,
    db: Db,
    mailer: Data<Mailer>,
    token: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    decide(&req, &db, &mailer, &token, &body, true).await
}

/// Declines the quote in the customer's name, as `accept` does (the quote becomes `rejected`).
#[utoipa::path(
    tag = "public",
    params(("token" = String, Path, description = "The link's token, from the quote e-mail")),
    request_body(content = DecisionForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Decided; `Location` is the page", headers(("Location" = String, description = "The page"))),
        (status = 404, description = "The link leads to no quote", content_type = "text/html", body = String),
        (status = 409, description = "The quote can no longer be decided on", content_type = "text/html", body = String),
        (status = 410, description = "The quote was superseded by a newer one or has expired", content_type = "text/html", body = String),
        (status = 422, description = "No name, or a longer one than 200 characters", content_type = "text/html", body = String)
    )
)]
#[post("/public/quotes/{token}/decline")]
async fn decline_quote_online(
    req: HttpRequest,
    db: Db,
    mailer: Data<Mailer>,
    token: Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    decide(&req, &db, &mailer, &token, &body, false).await
}

/// Registers the public page.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(public_quote_page)
        .service(public_quote_pdf)
        .service(accept_quote_online)
        .service(decline_quote_online);
}
