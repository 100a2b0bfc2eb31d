//! The event feed: a transactional outbox. Every change writes its event in the transaction of
//! the change (`store::record`); `GET /events` publishes what has committed and pages through
//! it by feed position (`seq`).
//!
//! `data` is an object keyed by the resource's name holding it as the API shows it after the
//! change (`{"opportunity": {…}}`); updates add `previous`, the changed fields' values before
//! the change; stage moves add `from_stage` and `to_stage`; `opportunity.won` adds the
//! `business_partner`, the `lines` and the `primary_quote` with its lines.

pub mod routes;
pub mod schema;
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
        /// The ERP recorded its order for a won opportunity (`erp_reference`).
        #[serde(rename = "opportunity.handed_off")]
        OpportunityHandedOff = "opportunity.handed_off",
        /// An opportunity was deleted; `data` holds its last state.
        #[serde(rename = "opportunity.deleted")]
        OpportunityDeleted = "opportunity.deleted",
        /// A quote's texts, validity, lines or primary flag changed.
        #[serde(rename = "quote.updated")]
        QuoteUpdated = "quote.updated",
        /// A sent quote was replaced by an accepted sibling.
        #[serde(rename = "quote.superseded")]
        QuoteSuperseded = "quote.superseded",
        /// Fields of a business partner changed.
        #[serde(rename = "business_partner.updated")]
        BusinessPartnerUpdated = "business_partner.updated",
        /// A business partner was deleted; `data` holds its last state.
        #[serde(rename = "business_partner.deleted")]
        BusinessPartnerDeleted = "business_partner.deleted",
        /// Fields of an activity changed.
        #[serde(rename = "activity.updated")]
        ActivityUpdated = "activity.updated",
        /// An activity was deleted; `data` holds its last state.
        #[serde(rename = "activity.deleted")]
        ActivityDeleted = "activity.deleted",
        /// A new article in the catalogue.
        #[serde(rename = "article.created")]
        ArticleCreated = "article.created",
        /// Fields of an article changed (also by an upsert by SKU).
        #[serde(rename = "article.updated")]
        ArticleUpdated = "article.updated",
        /// An article was deleted; `data` holds its last state.
        #[serde(rename = "article.deleted")]
        ArticleDeleted = "article.deleted",
        /// A new stage.
        #[serde(rename = "stage.created")]
        StageCreated = "stage.created",
        /// Fields of a stage changed.
        #[serde(rename = "stage.updated")]
        StageUpdated = "stage.updated",
        /// A stage was deleted; `data` holds its last state.
        #[serde(rename = "stage.deleted")]
        StageDeleted = "stage.deleted",
        /// A new funnel.
        #[serde(rename = "funnel.created")]
        FunnelCreated = "funnel.created",
        /// Fields of a funnel changed (stages, team, thresholds, formula).
        #[serde(rename = "funnel.updated")]
        FunnelUpdated = "funnel.updated",
        /// A funnel was deleted; `data` holds its last state.
        #[serde(rename = "funnel.deleted")]
        FunnelDeleted = "funnel.deleted",
        /// A new opportunity class.
        #[serde(rename = "class.created")]
        ClassCreated = "class.created",
        /// Fields of a class changed.
        #[serde(rename = "class.updated")]
        ClassUpdated = "class.updated",
        /// A class was deleted; `data` holds its last state.
        #[serde(rename = "class.deleted")]
        ClassDeleted = "class.deleted",
        /// A new lost reason.
        #[serde(rename = "lost_reason.created")]
        LostReasonCreated = "lost_reason.created",
        /// Fields of a lost reason changed.
        #[serde(rename = "lost_reason.updated")]
        LostReasonUpdated = "lost_reason.updated",
        /// A lost reason was deleted; `data` holds its last state.
        #[serde(rename = "lost_reason.deleted")]
        LostReasonDeleted = "lost_reason.deleted",
        /// A new user.
        #[serde(rename = "user.created")]
        UserCreated = "user.created",
        /// Fields of a user changed.
        #[serde(rename = "user.updated")]
        UserUpdated = "user.updated",
        /// A user was deleted; `data` holds its last state.
        #[serde(rename = "user.deleted")]
        UserDeleted = "user.deleted",
        /// The settings changed.
        #[serde(rename = "settings.updated")]
        SettingsUpdated = "settings.updated",
        /// A new contact person of a business partner.
        #[serde(rename = "contact.created")]
        ContactCreated = "contact.created",
        /// Fields of a contact changed (also when another contact of its partner became the
        /// primary one and it no longer is).
        #[serde(rename = "contact.updated")]
        ContactUpdated = "contact.updated",
        /// A contact was deleted; `data` holds its last state.
        #[serde(rename = "contact.deleted")]
        ContactDeleted = "contact.deleted",
        /// A new custom field definition.
        #[serde(rename = "custom_field.created")]
        CustomFieldCreated = "custom_field.created",
        /// Fields of a custom field definition changed.
        #[serde(rename = "custom_field.updated")]
        CustomFieldUpdated = "custom_field.updated",
        /// A custom field definition was deleted (records keep their values, no longer shown);
        /// `data` holds its last state.
        #[serde(rename = "custom_field.deleted")]
        CustomFieldDeleted = "custom_field.deleted",
        /// A new exchange rate of a currency from a day on (also by the upsert).
        #[serde(rename = "exchange_rate.created")]
        ExchangeRateCreated = "exchange_rate.created",
        /// The rate of a currency from a day on changed.
        #[serde(rename = "exchange_rate.updated")]
        ExchangeRateUpdated = "exchange_rate.updated",
        /// An exchange rate was deleted; `data` holds its last state.
        #[serde(rename = "exchange_rate.deleted")]
        ExchangeRateDeleted = "exchange_rate.deleted",
        /// A new quota.
        #[serde(rename = "quota.created")]
        QuotaCreated = "quota.created",
        /// Fields of a quota changed.
        #[serde(rename = "quota.updated")]
        QuotaUpdated = "quota.updated",
        /// A quota was deleted; `data` holds its last state.
        #[serde(rename = "quota.deleted")]
        QuotaDeleted = "quota.deleted",
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
