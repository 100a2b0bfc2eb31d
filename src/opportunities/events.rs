//! The events of opportunity changes, written by the store in the transaction of the change.
//! `data` holds the opportunity as `GET` shows it after the change; see `crate::events`.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use super::store::{OpportunityRecord, find, find_many};
use super::view::Opportunity;
use crate::access::Actor;
use crate::access::Visibility;
use crate::db::Conn;
use crate::domain::pipeline::Outcome;
use crate::error::AppError;
use crate::events::{self, EventType, store::record};
use crate::ids::{OpportunityId, StageId};
use crate::opportunity_lines::view::Line;
use crate::partners::view::Partner;
use crate::quotes::view::Quote;
use crate::schema::stages;

/// The opportunity as the API shows it now, as JSON.
pub async fn snapshot(conn: &mut Conn, id: OpportunityId) -> Result<Value, AppError> {
    events::shown(&Opportunity::from(find(conn, Visibility::All, id).await?))
}

/// The opportunities `ids` as the API shows them now, by id: the `before` of [`recomputed`].
pub async fn snapshots(conn: &mut Conn, ids: &[OpportunityId]) -> Result<HashMap<OpportunityId, Value>, AppError> {
    find_many(conn, ids)
        .await?
        .into_iter()
        .map(|record| Ok((record.row.id, events::shown(&Opportunity::from(record))?)))
        .collect()
}

/// What changed an opportunity's derived values without a write to it: `{"type", "id"}` of
/// the stage, funnel or activity.
pub fn cause(kind: &str, id: impl std::fmt::Display) -> Value {
    json!({ "type": kind, "id": id.to_string() })
}

/// `opportunity.updated` with `previous` and `cause` for each of `ids` whose shown state now
/// differs from its state in `before` (a recomputation, or an activity's effect).
pub async fn recomputed(
    conn: &mut Conn,
    actor: &str,
    cause: &Value,
    before: &HashMap<OpportunityId, Value>,
    ids: &[OpportunityId],
) -> Result<(), AppError> {
    let mut changes = Vec::new();
    for record in find_many(conn, ids).await? {
        let id = record.row.id;
        let Some(old) = before.get(&id) else { continue };
        let shown = events::shown(&Opportunity::from(record))?;
        let previous = events::previous(old, &shown);
        if previous.as_object().is_some_and(|fields| !fields.is_empty()) {
            let data = json!({ "previous": previous, "cause": cause, "opportunity": shown });
            changes.push((EventType::OpportunityUpdated, id.to_string(), data));
        }
    }
    events::store::record_many(conn, actor, changes).await
}

/// `opportunity.created`.
pub async fn created(conn: &mut Conn, actor: &Actor, record: &OpportunityRecord) -> Result<(), AppError> {
    let data = json!({ "opportunity": events::shown(&Opportunity::from(record.clone()))? });
    record_event(conn, EventType::OpportunityCreated, record.row.id, actor, data).await
}

/// `opportunity.updated` (or `opportunity.handed_off`, the change that records the ERP's
/// reference), with the changed fields' values from `before`.
pub async fn updated(
    conn: &mut Conn,
    event_type: EventType,
    actor: &str,
    before: &Value,
    after: &OpportunityRecord,
) -> Result<(), AppError> {
    let after_shown = Opportunity::from(after.clone());
    events::store::updated(
        conn,
        event_type,
        actor,
        ("opportunity", after.row.id),
        before,
        &after_shown,
    )
    .await
}

/// `opportunity.updated` after a change of its lines: `data` also holds its `lines` now.
pub async fn lines_changed(
    conn: &mut Conn,
    actor: &str,
    before: &Value,
    after: &OpportunityRecord,
) -> Result<(), AppError> {
    let after_shown = events::shown(&Opportunity::from(after.clone()))?;
    let previous = events::previous(before, &after_shown);
    let mut data = with_lines(conn, after.row.id, after_shown).await?;
    if let Value::Object(fields) = &mut data {
        fields.insert("previous".to_owned(), previous);
    }
    record(conn, EventType::OpportunityUpdated, after.row.id, actor, data).await
}

/// `opportunity`, the opportunity as shown, and `lines`, its lines now, as event data.
pub async fn with_lines(conn: &mut Conn, id: OpportunityId, opportunity: Value) -> Result<Value, AppError> {
    let lines: Vec<Line> = crate::opportunity_lines::store::of(conn, id)
        .await?
        .into_iter()
        .map(Line::from)
        .collect();
    Ok(json!({ "opportunity": opportunity, "lines": events::shown(&lines)? }))
}

/// `opportunity.deleted` with `last`, its last state (see [`with_lines`]).
pub async fn deleted(conn: &mut Conn, actor: &str, id: OpportunityId, last: Value) -> Result<(), AppError> {
    record(conn, EventType::OpportunityDeleted, id, actor, last).await
}

/// `opportunity.stage_changed` from stage `from` to stage `to` (as [`stage`] shows them), and
/// `opportunity.won`, `opportunity.lost` or (with `reopened`) `opportunity.reopened` as the move
/// means, in one statement (a win first reads what the ERP needs of the order).
pub async fn moved(
    conn: &mut Conn,
    actor: &Actor,
    before: &Value,
    after: &OpportunityRecord,
    (from, to): (Value, Value),
    reopened: bool,
) -> Result<(), AppError> {
    let id = after.row.id.to_string();
    let opportunity = events::shown(&Opportunity::from(after.clone()))?;
    let data = json!({
        "previous": events::previous(before, &opportunity),
        "from_stage": from,
        "to_stage": to,
        "opportunity": opportunity,
    });
    let outcome = match (reopened, after.row.status) {
        (true, _) => Some((EventType::OpportunityReopened, data.clone())),
        (false, Outcome::Won) => Some((EventType::OpportunityWon, won(conn, after, data.clone()).await?)),
        (false, Outcome::Lost) => Some((EventType::OpportunityLost, data.clone())),
        (false, Outcome::Open) => None,
    };
    let mut written = vec![(EventType::OpportunityStageChanged, id.clone(), data)];
    written.extend(outcome.map(|(event_type, data)| (event_type, id, data)));
    events::store::record_many(conn, &actor.subject, written).await
}

/// What an ERP needs to create the order: the move's data with the business partner, the
/// opportunity's lines and its primary quote with the quote's lines.
async fn won(conn: &mut Conn, after: &OpportunityRecord, mut data: Value) -> Result<Value, AppError> {
    let partner = crate::partners::store::find(conn, after.row.business_partner_id).await?;
    let lines: Vec<Line> = crate::opportunity_lines::store::of(conn, after.row.id)
        .await?
        .into_iter()
        .map(Line::from)
        .collect();
    let quote = match after.primary_quote_id {
        Some(quote) => Some(Quote::from(
            crate::quotes::store::find(conn, Visibility::All, quote).await?,
        )),
        None => None,
    };
    if let Value::Object(map) = &mut data {
        map.insert("business_partner".to_owned(), events::shown(&Partner::from(partner))?);
        map.insert("lines".to_owned(), events::shown(&lines)?);
        map.insert("primary_quote".to_owned(), events::shown(&quote)?);
    }
    Ok(data)
}

/// A stage as events name it: id, code, name and outcome.
pub fn stage_ref(id: StageId, code: &str, name: &str, outcome: Outcome) -> Value {
    json!({ "id": id, "code": code, "name": name, "outcome": outcome })
}

/// [`stage_ref`] of stage `id`, read.
pub(super) async fn stage(conn: &mut Conn, id: StageId) -> Result<Value, AppError> {
    let (code, name, outcome): (String, String, Outcome) = stages::table
        .find(id)
        .select((stages::code, stages::name, stages::outcome))
        .first(conn)
        .await?;
    Ok(stage_ref(id, &code, &name, outcome))
}

async fn record_event(
    conn: &mut Conn,
    event_type: EventType,
    id: OpportunityId,
    actor: &Actor,
    data: Value,
) -> Result<(), AppError> {
    record(conn, event_type, id, &actor.subject, data).await
}
