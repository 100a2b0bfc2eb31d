//! The event feed: a transactional outbox. Every change writes its event in the transaction of
//! the change (`store::record`); `GET /events` publishes what has committed and pages through
//! it by feed position (`seq`).
//!
//! `data` is an object keyed by the resource's name holding it as the API shows it after the
//! change (`{"opportunity": {…}}`); updates add `previous`, the changed fields' values before
//! the change; stage moves add `from_stage` and `to_stage`; `opportunity.won` adds the
//! `business_partner`, the `lines` and the `primary_quote` with its lines.

pub mod routes;
pub mod store;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::error::AppError;

crate::domain::text_enum! {
    /// What happened.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
    pub enum EventType {
        /// A new opportunity.
        #[serde(rename = "opportunity.created")]
        OpportunityCreated = "opportunity.created",
        /// Fields of an opportunity changed (a merge patch, or its lines and so its value).
        #[serde(rename = "opportunity.updated")]
        OpportunityUpdated = "opportunity.updated",
        /// An opportunity entered another stage (also when won, lost or reopened).
        #[serde(rename = "opportunity.stage_changed")]
        OpportunityStageChanged = "opportunity.stage_changed",
        /// An opportunity entered its won stage; `data` is enough to create the order.
        #[serde(rename = "opportunity.won")]
        OpportunityWon = "opportunity.won",
        /// An opportunity entered a lost stage.
        #[serde(rename = "opportunity.lost")]
        OpportunityLost = "opportunity.lost",
        /// A won or lost opportunity was reopened.
        #[serde(rename = "opportunity.reopened")]
        OpportunityReopened = "opportunity.reopened",
        /// A new quote.
        #[serde(rename = "quote.created")]
        QuoteCreated = "quote.created",
        /// A quote was sent to the customer.
        #[serde(rename = "quote.sent")]
        QuoteSent = "quote.sent",
        /// The customer accepted a quote.
        #[serde(rename = "quote.accepted")]
        QuoteAccepted = "quote.accepted",
        /// The customer rejected a quote.
        #[serde(rename = "quote.rejected")]
        QuoteRejected = "quote.rejected",
        /// A new business partner.
        #[serde(rename = "business_partner.created")]
        BusinessPartnerCreated = "business_partner.created",
        /// A lead became a customer.
        #[serde(rename = "business_partner.converted")]
        BusinessPartnerConverted = "business_partner.converted",
        /// A new activity.
        #[serde(rename = "activity.created")]
        ActivityCreated = "activity.created",
    }
}

/// A resource as the API shows it, as JSON for an event's `data`.
pub fn shown<T: Serialize>(resource: &T) -> Result<Value, AppError> {
    serde_json::to_value(resource).map_err(|e| AppError::Internal(format!("event data: {e}")))
}

/// The fields of `before` whose value differs in `after`, with their values before; the
/// bookkeeping fields every change moves (`updated_at`, `version`) are left out.
pub fn previous(before: &Value, after: &Value) -> Value {
    let (Value::Object(before), Value::Object(after)) = (before, after) else {
        return Value::Object(Map::new());
    };
    Value::Object(
        before
            .iter()
            .filter(|(field, old)| {
                !matches!(field.as_str(), "updated_at" | "version") && after.get(field.as_str()) != Some(*old)
            })
            .map(|(field, old)| (field.clone(), old.clone()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn previous_holds_the_old_values_of_changed_fields_only() {
        let before = json!({"subject": "Old", "stage_id": "a", "version": 1, "updated_at": "t1", "lines": [1]});
        let after = json!({"subject": "New", "stage_id": "a", "version": 2, "updated_at": "t2", "lines": [1, 2]});
        assert_eq!(previous(&before, &after), json!({"subject": "Old", "lines": [1]}));
    }

    #[test]
    fn event_types_have_dotted_names_in_json_and_sql() {
        assert_eq!(
            serde_json::to_value(EventType::OpportunityStageChanged).ok(),
            Some(json!("opportunity.stage_changed"))
        );
        assert_eq!(
            "business_partner.converted".parse(),
            Ok(EventType::BusinessPartnerConverted)
        );
    }
}
