//! The transactional commands on quotes and their lines: create from the opportunity's lines,
//! change, make primary, send, accept, reject, and line edits of a draft; each locks what it
//! changes, checks the state rules and writes its event in the same transaction.

use super::store::{NewQuoteLineRow, QuoteRecord, QuoteRow, WHAT, hidden_as_quote, lines_of, load, quote_line, today};

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde_json::{Map, Value, json};

use super::checks::{contact_problem, default_contact, past};
use super::view::Quote;
use crate::access::Actor;
use crate::access::Visibility;
use crate::custom_fields::values::{self, Sent};
use crate::db::Conn;
use crate::domain::custom::CustomResource;
use crate::domain::money::{Money, Percent};
use crate::domain::pipeline::Outcome;
use crate::domain::quote::{self, StoredStatus};
use crate::error::{AppError, FieldError};
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::ids::{ContactId, OpportunityId, QuoteId};
use crate::lines::content::LineContent;
use crate::opportunities::changes as opportunities;
use crate::opportunities::moves::{self, Destination, Move};
use crate::opportunities::store::OpportunityRow;
use crate::opportunity_lines::store as opportunity_lines;
use crate::schema::{quote_lines as ql, quotes};

/// Whose custom fields a quote has.
const RESOURCE: CustomResource = CustomResource::Quote;

/// What a new quote may say; the rest comes from the settings and the opportunity.
#[derive(Debug, Clone)]
pub struct NewQuote {
    /// `None`: today + the settings' `quote_valid_days`.
    pub valid_until: Option<NaiveDate>,
    pub header_text: Option<String>,
    pub footer_text: Option<String>,
    pub customer_text: Option<String>,
    /// `None`: the previous revision's contact while it is an active contact of the partner,
    /// else the partner's primary contact (if active); `Some(None)`: no contact.
    pub contact_id: Option<Option<ContactId>>,
    /// Custom values (checked against the quote's custom fields).
    pub custom: Option<Sent>,
}

/// Writes a quote's totals from its lines.
async fn total_up(conn: &mut Conn, id: QuoteId) -> Result<(), AppError> {
    let lines: Vec<(Money, Percent)> = ql::table
        .filter(ql::quote_id.eq(id))
        .select((ql::line_total, ql::tax_rate))
        .load(conn)
        .await?;
    let t = quote::totals(lines.into_iter().map(|(total, rate)| (total.amount(), rate.value())));
    diesel::update(quotes::table.find(id))
        .set((
            quotes::net_total.eq(Money::rounded(t.net)),
            quotes::tax_total.eq(Money::rounded(t.tax)),
            quotes::gross_total.eq(Money::rounded(t.gross)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Makes a quote of an open opportunity's lines: the next revision, primary when it is the
/// first, texts from the settings unless given.
pub async fn create(
    conn: &mut Conn,
    actor: &Actor,
    opportunity_id: OpportunityId,
    new: NewQuote,
) -> Result<QuoteRecord, AppError> {
    conn.transaction(async |conn| {
        let opportunity = opportunities::lock_open(conn, actor.who, opportunity_id).await?;
        let lines = opportunity_lines::of(conn, opportunity_id).await?;
        let mut errors: Vec<FieldError> = past(new.valid_until).into_iter().collect();
        if lines.is_empty() {
            errors.push(FieldError::new(
                "opportunity_id",
                "no_lines",
                format!(
                    "opportunity {} has no lines to quote; add lines first",
                    opportunity.number
                ),
            ));
        }
        let partner = opportunity.business_partner_id;
        let contact_id = match new.contact_id {
            Some(Some(id)) => {
                errors.extend(contact_problem(conn, partner, id).await?);
                Some(id)
            }
            Some(None) => None,
            None => default_contact(conn, opportunity_id, partner).await?,
        };
        let custom = values::check_into(conn, RESOURCE, &Map::new(), new.custom.as_ref(), &mut errors).await?;
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let settings = crate::settings::store::get(conn).await?;
        let (last, has_primary): (Option<i32>, bool) = (
            quotes::table
                .filter(quotes::opportunity_id.eq(opportunity_id))
                .select(diesel::dsl::max(quotes::revision))
                .first(conn)
                .await?,
            diesel::select(diesel::dsl::exists(
                quotes::table
                    .filter(quotes::opportunity_id.eq(opportunity_id))
                    .filter(quotes::is_primary),
            ))
            .get_result(conn)
            .await?,
        );
        // The first quote becomes the primary one: the opportunity as it was, for its event.
        let before = if has_primary {
            None
        } else {
            Some(crate::opportunities::events::snapshot(conn, opportunity_id).await?)
        };
        let id = QuoteId::generate();
        diesel::insert_into(quotes::table)
            .values((
                quotes::id.eq(id),
                quotes::opportunity_id.eq(opportunity_id),
                quotes::business_partner_id.eq(partner),
                quotes::contact_id.eq(contact_id),
                quotes::revision.eq(last.unwrap_or(0) + 1),
                quotes::status.eq(StoredStatus::Draft),
                quotes::is_primary.eq(!has_primary),
                quotes::currency.eq(&opportunity.currency),
                quotes::quote_date.eq(today()),
                quotes::valid_until.eq(new
                    .valid_until
                    .unwrap_or_else(|| today() + chrono::Days::new(settings.quote_valid_days.unsigned_abs().into()))),
                quotes::header_text.eq(new.header_text.unwrap_or(settings.quote_header_text)),
                quotes::customer_text.eq(new.customer_text),
                quotes::footer_text.eq(new.footer_text.unwrap_or(settings.quote_footer_text)),
                quotes::created_by.eq(&actor.subject),
                quotes::custom.eq(custom.stored()),
            ))
            .execute(conn)
            .await?;
        let copies: Vec<NewQuoteLineRow> = lines
            .iter()
            .map(|line| quote_line(LineContent::from(line), id, line.position))
            .collect();
        diesel::insert_into(ql::table).values(copies).execute(conn).await?;
        total_up(conn, id).await?;
        if let Some(before) = &before {
            // Its primary_quote_id changed: a new version, so ETags and `updated_after` see it.
            opportunities::touch_since(conn, actor, opportunity_id, before).await?;
        }
        let record = load(conn, id).await?;
        let data = json!({ "quote": events::shown(&Quote::from(record.clone()))? });
        events::store::record(conn, EventType::QuoteCreated, id, &actor.subject, data).await?;
        Ok(record)
    })
    .await
}

/// Locks a quote for a change: its opportunity first (visible to the caller), then the quote,
/// whose version `If-Match` is checked against.
pub(crate) async fn lock(
    conn: &mut Conn,
    who: Visibility,
    id: QuoteId,
    if_match: &IfMatch,
) -> Result<(OpportunityRow, QuoteRow), AppError> {
    let opportunity_id: OpportunityId = quotes::table
        .find(id)
        .select(quotes::opportunity_id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, id))?;
    let opportunity = opportunities::lock(conn, who, opportunity_id, &IfMatch::default())
        .await
        .map_err(hidden_as_quote(id))?;
    let row: QuoteRow = quotes::table
        .find(id)
        .select(QuoteRow::as_select())
        .for_update()
        .first(conn)
        .await?;
    if_match.check(row.version)?;
    Ok((opportunity, row))
}

/// Locks a draft quote of an open opportunity for editing; 409 otherwise.
pub(super) async fn lock_draft(
    conn: &mut Conn,
    who: Visibility,
    id: QuoteId,
    if_match: &IfMatch,
) -> Result<(OpportunityRow, QuoteRow), AppError> {
    let (opportunity, row) = lock(conn, who, id, if_match).await?;
    if row.status != StoredStatus::Draft {
        return Err(AppError::Conflict(format!(
            "quote {} is {}: only drafts change",
            row.number, row.status
        )));
    }
    opportunities::ensure_open(&opportunity)?;
    Ok((opportunity, row))
}

/// The quote as the API shows it now, as JSON (the `before` of [`changed`]).
pub(crate) async fn shown_now(conn: &mut Conn, id: QuoteId) -> Result<Value, AppError> {
    events::shown(&Quote::from(load(conn, id).await?))
}

/// A new version of a quote with its event (`event_type`, with the values in `before` that
/// changed); with `lines_changed`, its totals recomputed and, for the primary quote, its lines
/// copied to the opportunity.
pub(crate) async fn changed(
    conn: &mut Conn,
    actor: &Actor,
    row: &QuoteRow,
    before: &Value,
    (event_type, lines_changed): (EventType, bool),
) -> Result<QuoteRecord, AppError> {
    diesel::update(quotes::table.find(row.id))
        .set((
            quotes::updated_at.eq(diesel::dsl::now),
            quotes::version.eq(quotes::version + 1),
        ))
        .execute(conn)
        .await?;
    if lines_changed {
        total_up(conn, row.id).await?;
        if row.is_primary {
            flow_back(conn, actor, row).await?;
        }
    }
    let record = load(conn, row.id).await?;
    let after = events::shown(&Quote::from(record.clone()))?;
    let data = json!({ "previous": events::previous(before, &after), "quote": after });
    events::store::record(conn, event_type, row.id, &actor.subject, data).await?;
    Ok(record)
}

/// Makes the opportunity's lines a copy of the primary quote's.
async fn flow_back(conn: &mut Conn, actor: &Actor, row: &QuoteRow) -> Result<(), AppError> {
    let lines = lines_of(conn, &[row.id]).await?;
    let contents = lines.iter().map(LineContent::from).collect();
    opportunity_lines::replace(conn, actor, row.opportunity_id, contents).await
}

/// Texts and validity of a draft.
#[derive(Debug, Default)]
pub struct QuoteChanges {
    pub valid_until: Option<NaiveDate>,
    pub header_text: Option<String>,
    pub footer_text: Option<String>,
    pub customer_text: Option<Option<String>>,
    /// `Some(None)` clears it.
    pub contact_id: Option<Option<ContactId>>,
    /// Merged onto the custom values (a key set to null is removed).
    pub custom: Option<Sent>,
}

/// Changes the texts, validity or contact of a draft (also an expired one, to extend it).
pub async fn update(
    conn: &mut Conn,
    actor: &Actor,
    id: QuoteId,
    if_match: &IfMatch,
    c: QuoteChanges,
) -> Result<QuoteRecord, AppError> {
    conn.transaction(async |conn| {
        let (_, row) = lock_draft(conn, actor.who, id, if_match).await?;
        let mut errors: Vec<FieldError> = past(c.valid_until).into_iter().collect();
        if let Some(Some(contact)) = c.contact_id {
            errors.extend(contact_problem(conn, row.business_partner_id, contact).await?);
        }
        let shown = values::object(&row.custom);
        let custom = values::check_into(conn, RESOURCE, &shown, c.custom.as_ref(), &mut errors).await?;
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let before = shown_now(conn, id).await?;
        diesel::update(quotes::table.find(id))
            .set((
                quotes::valid_until.eq(c.valid_until.unwrap_or(row.valid_until)),
                quotes::header_text.eq(c.header_text.unwrap_or_else(|| row.header_text.clone())),
                quotes::footer_text.eq(c.footer_text.unwrap_or_else(|| row.footer_text.clone())),
                quotes::customer_text.eq(c.customer_text.unwrap_or_else(|| row.customer_text.clone())),
                quotes::contact_id.eq(c.contact_id.unwrap_or(row.contact_id)),
                quotes::custom.eq(values::merged(quotes::custom, &custom)),
            ))
            .execute(conn)
            .await?;
        changed(conn, actor, &row, &before, (EventType::QuoteUpdated, false)).await
    })
    .await
}

/// Makes a quote the opportunity's primary one: its lines become the opportunity's.
pub async fn make_primary(
    conn: &mut Conn,
    actor: &Actor,
    id: QuoteId,
    if_match: &IfMatch,
) -> Result<QuoteRecord, AppError> {
    conn.transaction(async |conn| {
        let (opportunity, row) = lock(conn, actor.who, id, if_match).await?;
        if row.is_primary {
            return load(conn, id).await;
        }
        opportunities::ensure_open(&opportunity)?;
        let before = shown_now(conn, id).await?;
        let primary = promote(conn, actor, row).await?;
        changed(conn, actor, &primary, &before, (EventType::QuoteUpdated, false)).await
    })
    .await
}

/// Makes the locked quote `row` its opportunity's primary one: the former primary quote (if
/// any) gets a new version and `quote.updated`, `row`'s lines become the opportunity's. The
/// caller writes `row`'s own event.
async fn promote(conn: &mut Conn, actor: &Actor, row: QuoteRow) -> Result<QuoteRow, AppError> {
    let former: Option<QuoteId> = quotes::table
        .filter(quotes::opportunity_id.eq(row.opportunity_id))
        .filter(quotes::is_primary)
        .select(quotes::id)
        .for_no_key_update()
        .first(conn)
        .await
        .optional()?;
    if let Some(former) = former {
        let before = shown_now(conn, former).await?;
        diesel::update(quotes::table.find(former))
            .set((
                quotes::is_primary.eq(false),
                quotes::updated_at.eq(diesel::dsl::now),
                quotes::version.eq(quotes::version + 1),
            ))
            .execute(conn)
            .await?;
        let after = events::shown(&Quote::from(load(conn, former).await?))?;
        let data = json!({ "previous": events::previous(&before, &after), "quote": after });
        events::store::record(conn, EventType::QuoteUpdated, former, &actor.subject, data).await?;
    }
    diesel::update(quotes::table.find(row.id))
        .set(quotes::is_primary.eq(true))
        .execute(conn)
        .await?;
    let primary = QuoteRow {
        is_primary: true,
        ..row
    };
    flow_back(conn, actor, &primary).await?;
    Ok(primary)
}

/// Marks the sent siblings of accepted quote `row` `superseded`, each with its event; they are
/// locked in id order.
async fn supersede_siblings(conn: &mut Conn, actor: &Actor, row: &QuoteRow) -> Result<(), AppError> {
    let siblings: Vec<QuoteId> = quotes::table
        .filter(quotes::opportunity_id.eq(row.opportunity_id))
        .filter(quotes::id.ne(row.id))
        .filter(quotes::status.eq(StoredStatus::Sent))
        .select(quotes::id)
        .order(quotes::id)
        .for_no_key_update()
        .load(conn)
        .await?;
    for sibling in siblings {
        let before = shown_now(conn, sibling).await?;
        diesel::update(quotes::table.find(sibling))
            .set((
                quotes::status.eq(StoredStatus::Superseded),
                quotes::decided_at.eq(diesel::dsl::now),
                quotes::updated_at.eq(diesel::dsl::now),
                quotes::version.eq(quotes::version + 1),
            ))
            .execute(conn)
            .await?;
        let after = events::shown(&Quote::from(load(conn, sibling).await?))?;
        let data = json!({ "previous": events::previous(&before, &after), "quote": after });
        events::store::record(conn, EventType::QuoteSuperseded, sibling, &actor.subject, data).await?;
    }
    Ok(())
}

/// A status transition of a quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// draft → sent (not once expired).
    Send,
    /// sent → accepted.
    Accept,
    /// sent → rejected.
    Reject,
}

/// Sends, accepts or rejects a quote; 409 when its status does not allow it.
pub async fn transition(
    conn: &mut Conn,
    actor: &Actor,
    id: QuoteId,
    if_match: &IfMatch,
    to: Transition,
) -> Result<QuoteRecord, AppError> {
    conn.transaction(async |conn| {
        let (opportunity, row) = lock(conn, actor.who, id, if_match).await?;
        let before = shown_now(conn, id).await?;
        let shown = quote::shown_status(row.status, row.valid_until, today());
        let (from, target) = match to {
            Transition::Send => (quote::QuoteStatus::Draft, StoredStatus::Sent),
            Transition::Accept => (quote::QuoteStatus::Sent, StoredStatus::Accepted),
            Transition::Reject => (quote::QuoteStatus::Sent, StoredStatus::Rejected),
        };
        if shown != from {
            let status = serde_json::to_value(shown)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned));
            return Err(AppError::Conflict(format!(
                "quote {} is {}: only a {} quote can be {}",
                row.number,
                status.unwrap_or_default(),
                serde_json::to_value(from)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                target
            )));
        }
        // An accepted quote is the one the opportunity (and the ERP) goes by.
        let row = if to == Transition::Accept && !row.is_primary {
            opportunities::ensure_open(&opportunity)?;
            promote(conn, actor, row).await?
        } else {
            row
        };
        let now = Utc::now();
        let (sent_at, decided_at) = match to {
            Transition::Send => (Some(now), None),
            Transition::Accept | Transition::Reject => (row.sent_at, Some(now)),
        };
        diesel::update(quotes::table.find(id))
            .set((
                quotes::status.eq(target),
                quotes::sent_at.eq(sent_at),
                quotes::decided_at.eq(decided_at),
            ))
            .execute(conn)
            .await?;
        let event_type = match to {
            Transition::Send => EventType::QuoteSent,
            Transition::Accept => EventType::QuoteAccepted,
            Transition::Reject => EventType::QuoteRejected,
        };
        let record = changed(conn, actor, &row, &before, (event_type, false)).await?;
        if to == Transition::Accept {
            supersede_siblings(conn, actor, &row).await?;
            if opportunity.status == Outcome::Open && crate::settings::store::get(conn).await?.win_on_quote_accept {
                let win = Move {
                    to: Destination::Won,
                    lost_reason_id: None,
                    note: Some(format!("quote {} accepted", row.number)),
                };
                moves::move_to(conn, actor, row.opportunity_id, &IfMatch::default(), win).await?;
            }
        }
        Ok(record)
    })
    .await
}
