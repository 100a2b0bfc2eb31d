//! Sending a quote. What the e-mail needs is read first, with no lock held; then the PDF is
//! rendered and the e-mail handed to the SMTP server, with no connection held while it answers;
//! only once it is accepted is anything written, in one transaction: the quote marked sent (a
//! sent quote stays sent: sending again is a reminder), the sending, the link of the public page
//! (revoking the links of the opportunity's other quotes), the `email` activity on the
//! opportunity and `quote.sent`. So a refused e-mail changes nothing (502), and every e-mail
//! that left is recorded as it left.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use lettre::message::Mailbox;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::compose::{self, Letter};
use super::store::SendingRow;
use crate::access::Actor;
use crate::activities::changes::{self as activities, NewActivity};
use crate::activities::store::ActivityStatus;
use crate::db::{Conn, Db};
use crate::domain::activity::ActivityKind;
use crate::domain::quote::{self, QuoteStatus, StoredStatus};
use crate::error::{AppError, FieldError};
use crate::events::EventType;
use crate::http::IfMatch;
use crate::ids::{OpportunityId, QuoteId, QuoteSendingId};
use crate::mail::template::{self, ContactValues, Named, QuoteValues, Subject, Values};
use crate::mail::{MailError, Mailer};
use crate::quotes::changes::{changed, lock, shown_now};
use crate::quotes::pdf::{self, QuoteDocument, format};
use crate::quotes::store::{self as quotes, QuoteRecord, today};
use crate::schema::{contacts, opportunities as opp, quote_links, quotes as q, users};

/// What the caller asked for, checked.
#[derive(Debug, Clone)]
pub struct SendQuote {
    /// `None`: the quote's contact, else the partner.
    pub to: Option<Vec<Mailbox>>,
    pub cc: Vec<Mailbox>,
    /// Templates; `None`: the settings'.
    pub subject: Option<String>,
    pub message: Option<String>,
    pub attach_pdf: bool,
    pub acceptance_link: bool,
}

/// Everything the e-mail is made of, read before it is sent.
struct Prepared {
    opportunity_id: OpportunityId,
    number: String,
    document: QuoteDocument,
    to: Vec<Mailbox>,
    reply_to: Option<Mailbox>,
    subject: String,
    text: String,
}

/// E-mails the quote and records it; see the module comment.
pub async fn send(
    db: &Db,
    mailer: &Mailer,
    actor: &Actor,
    id: QuoteId,
    if_match: &IfMatch,
    request: SendQuote,
) -> Result<QuoteRecord, AppError> {
    if !mailer.is_on() {
        return Err(not_configured());
    }
    let token = request.acceptance_link.then(new_token);
    let link = token
        .as_ref()
        .map(|t| format!("{}/public/quotes/{t}", mailer.public_base_url));
    let prepared = prepare(
        &mut *db.connection().await?,
        actor,
        id,
        if_match,
        &request,
        link.as_deref(),
    )
    .await?;
    let pdf = match request.attach_pdf {
        // The PDF of the quote as it is once sent: no draft mark, as GET /quotes/{id}/pdf then
        // serves it, byte for byte.
        true => Some(
            pdf::render_off_workers(QuoteDocument {
                status: QuoteStatus::Sent,
                ..prepared.document.clone()
            })
            .await?,
        ),
        false => None,
    };
    let sending_id = QuoteSendingId::generate();
    let message_id = format!("<{sending_id}@{}>", mailer.from.email.domain());
    let letter = Letter {
        from: mailer.from.clone(),
        reply_to: prepared.reply_to.clone(),
        to: prepared.to.clone(),
        cc: request.cc.clone(),
        subject: prepared.subject.clone(),
        text: prepared.text.clone(),
        message_id: message_id.clone(),
        pdf: pdf
            .clone()
            .map(|bytes| (format!("Angebot-{}.pdf", prepared.number), bytes)),
    };
    let message = compose::message(letter).map_err(AppError::Internal)?;
    mailer.send(message).await.map_err(|e| match e {
        MailError::NotConfigured => not_configured(),
        MailError::Failed(cause) => AppError::BadGateway(format!(
            "the SMTP server did not take the e-mail; nothing was changed: {cause}"
        )),
    })?;
    let sending = SendingRow {
        id: sending_id,
        quote_id: id,
        message_id,
        to_addresses: prepared.to.iter().map(|m| Some(m.to_string())).collect(),
        cc_addresses: request.cc.iter().map(|m| Some(m.to_string())).collect(),
        subject: prepared.subject.clone(),
        pdf_sha256: pdf.map(|bytes| hex::encode(Sha256::digest(bytes))),
        acceptance_link: token.is_some(),
        activity_id: None,
        sent_by: actor.subject.clone(),
        sent_at: Utc::now(),
    };
    record(
        &mut *db.connection().await?,
        actor,
        &prepared,
        sending,
        token.as_deref(),
    )
    .await
}

fn not_configured() -> AppError {
    AppError::NotConfigured(MailError::NotConfigured.to_string())
}

/// A link token: 256 random bits, URL-safe.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a link token.
pub fn token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

type ContactRow = (Option<String>, Option<String>, Option<String>, String, Option<String>);

async fn prepare(
    conn: &mut Conn,
    actor: &Actor,
    id: QuoteId,
    if_match: &IfMatch,
    request: &SendQuote,
    link: Option<&str>,
) -> Result<Prepared, AppError> {
    let record = quotes::find(conn, actor.who, id).await?;
    let row = record.row.clone();
    if_match.check(row.version)?;
    let shown = quote::shown_status(row.status, row.valid_until, today());
    if !matches!(shown, QuoteStatus::Draft | QuoteStatus::Sent) {
        return Err(AppError::Conflict(format!(
            "quote {} is {}: only a draft or a sent quote can be sent",
            row.number,
            serde_json::to_value(shown)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        )));
    }
    let document = quotes::document_of(conn, record).await?;
    let contact: Option<ContactRow> = match row.contact_id {
        Some(contact) => contacts::table
            .find(contact)
            .select((
                contacts::salutation,
                contacts::title,
                contacts::first_name,
                contacts::last_name,
                contacts::email,
            ))
            .first(conn)
            .await
            .optional()?,
        None => None,
    };
    let partner = crate::partners::store::find(conn, row.business_partner_id).await?;
    let (subject, owner): (String, (String, String)) = opp::table
        .inner_join(users::table)
        .filter(opp::id.eq(row.opportunity_id))
        .select((opp::subject, (users::display_name, users::email)))
        .first(conn)
        .await?;
    let settings = crate::settings::store::get(conn).await?;
    let mut errors = Vec::new();
    let to = match &request.to {
        Some(to) => to.clone(),
        None => {
            let address = contact
                .as_ref()
                .and_then(|c| c.4.clone())
                .or_else(|| partner.email.clone());
            match address.map(|a| a.parse::<Mailbox>()) {
                Some(Ok(mailbox)) => vec![mailbox],
                _ => {
                    errors.push(FieldError::new(
                        "to",
                        "required",
                        "the quote's contact and its partner have no usable e-mail address: name the recipients",
                    ));
                    Vec::new()
                }
            }
        }
    };
    let contact = contact.map_or_else(
        ContactValues::default,
        |(salutation, title, first_name, last_name, _)| {
            let text = |part: &Option<String>| part.clone().unwrap_or_default();
            ContactValues {
                name: pdf::person_name(&[
                    salutation.clone(),
                    title.clone(),
                    first_name.clone(),
                    Some(last_name.clone()),
                ]),
                salutation: text(&salutation),
                title: text(&title),
                first_name: text(&first_name),
                last_name,
            }
        },
    );
    let values = Values {
        quote: QuoteValues {
            number: row.number.clone(),
            revision: row.revision,
            valid_until: format::date(row.valid_until),
            net_total: format::money(row.net_total.amount(), &row.currency),
            gross_total: format::money(row.gross_total.amount(), &row.currency),
        },
        opportunity: Subject { subject },
        partner: Named {
            name: partner.name.clone(),
            email: partner.email.clone().unwrap_or_default(),
        },
        greeting: template::greeting(&contact),
        contact,
        sender: Named {
            name: owner.0.clone(),
            email: owner.1.clone(),
        },
        company: Named {
            name: settings.company_name.clone(),
            email: String::new(),
        },
        acceptance_link: link.unwrap_or_default().to_owned(),
    };
    let mut render = |field: &str, given: &Option<String>, default: &str| {
        template::render(given.as_deref().unwrap_or(default), &values).unwrap_or_else(|e| {
            let field = if given.is_some() {
                field.to_owned()
            } else {
                format!("settings.quote_email_{field}")
            };
            errors.push(FieldError::new(&field, "template", e));
            String::new()
        })
    };
    let subject = render("subject", &request.subject, &settings.quote_email_subject);
    let text = render("message", &request.message, &settings.quote_email_text);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(Prepared {
        opportunity_id: row.opportunity_id,
        number: row.number.clone(),
        document,
        to,
        reply_to: format!("{} <{}>", owner.0, owner.1).parse().ok(),
        subject: subject.lines().next().unwrap_or_default().trim().to_owned(),
        text,
    })
}

async fn record(
    conn: &mut Conn,
    actor: &Actor,
    prepared: &Prepared,
    mut sending: SendingRow,
    token: Option<&str>,
) -> Result<QuoteRecord, AppError> {
    let id = sending.quote_id;
    conn.transaction(async |conn| {
        let (_, row) = lock(conn, actor.who, id, &IfMatch::default()).await?;
        let before = shown_now(conn, id).await?;
        if row.status == StoredStatus::Draft {
            diesel::update(q::table.find(id))
                .set((q::status.eq(StoredStatus::Sent), q::sent_at.eq(sending.sent_at)))
                .execute(conn)
                .await?;
        }
        let recipients: Vec<String> = sending.to_addresses.iter().flatten().cloned().collect();
        let activity = activities::insert(
            conn,
            actor,
            NewActivity {
                kind: ActivityKind::Email,
                subject: format!("Angebot {} gesendet an {}", prepared.number, recipients.join(", ")),
                body: Some(prepared.text.clone()),
                business_partner_id: None,
                opportunity_id: Some(prepared.opportunity_id),
                owner_id: None,
                status: Some(ActivityStatus::Done),
                due_at: None,
                occurred_at: Some(sending.sent_at),
                external_id: None,
                custom: None,
                contact_id: None,
            },
        )
        .await?;
        sending.activity_id = Some(activity.id);
        diesel::insert_into(crate::schema::quote_sendings::table)
            .values(&sending)
            .execute(conn)
            .await?;
        if let Some(token) = token {
            // A new link replaces those of the opportunity's other quotes (earlier revisions).
            diesel::update(quote_links::table)
                .filter(quote_links::revoked_at.is_null())
                .filter(
                    quote_links::quote_id.eq_any(
                        q::table
                            .filter(q::opportunity_id.eq(prepared.opportunity_id))
                            .filter(q::id.ne(id))
                            .select(q::id),
                    ),
                )
                .set(quote_links::revoked_at.eq(sending.sent_at))
                .execute(conn)
                .await?;
            diesel::insert_into(quote_links::table)
                .values((
                    quote_links::token_sha256.eq(token_digest(token)),
                    quote_links::quote_id.eq(id),
                    quote_links::created_at.eq(sending.sent_at),
                ))
                .execute(conn)
                .await?;
        }
        changed(conn, actor, &row, &before, (EventType::QuoteSent, false)).await
    })
    .await
}
