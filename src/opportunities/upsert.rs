//! `PUT /opportunities/by-external-id/{external_id}`: an ERP creates or replaces an opportunity
//! by its own key, with the rules of creating and changing one.

use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::buying_centre::{self, ContactAssignment};
use super::changes::{NewOpportunity, OpportunityChanges, lock, update};
use super::create::insert;
use super::store::{OpportunityRecord, OpportunityRow, find};
use crate::access::{Actor, Visibility};
use crate::custom_fields::values::{self, Sent};
use crate::db::Conn;
use crate::error::AppError;
use crate::http::IfMatch;
use crate::ids::OpportunityId;
use crate::schema::opportunities as opp;

/// What replacing `current` with `new` changes: the fields `new` gives that differ; optional
/// fields without a default (`description`, `probability_override`, `expected_close_date`)
/// become null when absent, those with a default (funnel, owner, currency, target value) keep
/// their value.
fn replacing(new: &NewOpportunity, current: &OpportunityRow, contacts: &[ContactAssignment]) -> OpportunityChanges {
    fn differs<T: PartialEq + Clone>(given: Option<&T>, current: &T) -> Option<T> {
        given.filter(|value| *value != current).cloned()
    }
    OpportunityChanges {
        subject: differs(Some(&new.subject), &current.subject),
        description: differs(Some(&new.description), &current.description),
        business_partner_id: differs(Some(&new.business_partner_id), &current.business_partner_id),
        class_id: differs(Some(&new.class_id), &current.class_id),
        funnel_id: differs(new.funnel_id.as_ref(), &current.funnel_id),
        stage_id: differs(Some(&new.stage_id), &current.stage_id),
        owner_id: differs(new.owner_id.as_ref(), &current.owner_id),
        currency: differs(new.currency.as_ref(), &current.currency),
        target_value: differs(new.target_value.as_ref(), &current.target_value),
        probability_override: differs(Some(&new.probability_override), &current.probability_override),
        expected_close_date: differs(Some(&new.expected_close_date), &current.expected_close_date),
        external_id: None,
        custom: replaced_custom(new, current),
        // Absent, the list stays: an ERP that knows no contact persons keeps the CRM's.
        contacts: new.contacts.clone().filter(|given| given.as_slice() != contacts),
    }
}

/// The merge patch that makes the shown custom values those `new` gives (keys it leaves out
/// are removed); `None` when they are already.
fn replaced_custom(new: &NewOpportunity, current: &OpportunityRow) -> Option<Sent> {
    let given = new.custom.clone().unwrap_or_default();
    let shown = values::object(&current.custom);
    if given == shown {
        return None;
    }
    let mut patch = given;
    for key in shown.keys() {
        patch.entry(key.clone()).or_insert(serde_json::Value::Null);
    }
    Some(patch)
}

fn is_empty(c: &OpportunityChanges) -> bool {
    c.subject.is_none()
        && c.description.is_none()
        && c.business_partner_id.is_none()
        && c.class_id.is_none()
        && c.funnel_id.is_none()
        && c.stage_id.is_none()
        && c.owner_id.is_none()
        && c.currency.is_none()
        && c.target_value.is_none()
        && c.probability_override.is_none()
        && c.expected_close_date.is_none()
        && c.custom.is_none()
        && c.contacts.is_none()
}

/// Creates the opportunity with `new.external_id`, or replaces the fields of the one that has
/// it (a closed one is read-only, 409; a new stage is a recorded move); a replacement that
/// changes nothing keeps the version. Answers it and whether it was created.
pub async fn upsert(
    conn: &mut Conn,
    actor: &Actor,
    new: NewOpportunity,
    if_match: &IfMatch,
) -> Result<(OpportunityRecord, bool), AppError> {
    let key = new.external_id.clone().unwrap_or_default();
    conn.transaction(async |conn| {
        // Concurrent upserts of one key wait for each other instead of racing to insert. The
        // two-key form keeps it apart from the feed's one-key locks (migration 000011).
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('salesfunnel.opportunity'), hashtext($1))")
            .bind::<Text, _>(&key)
            .execute(conn)
            .await?;
        let existing: Option<OpportunityId> = opp::table
            .filter(opp::external_id.eq(&key))
            .select(opp::id)
            .first(conn)
            .await
            .optional()?;
        let Some(id) = existing else {
            return Ok((insert(conn, actor, new).await?, true));
        };
        let current = lock(conn, actor.who, id, if_match).await?;
        let contacts = buying_centre::of(conn, id).await?;
        let changes = replacing(&new, &current, &contacts);
        if is_empty(&changes) {
            return Ok((find(conn, Visibility::All, id).await?, false));
        }
        Ok((update(conn, actor, id, &IfMatch::default(), changes).await?, false))
    })
    .await
}
