//! An opportunity as the API shows it: in answers, and in the events of the feed and webhooks.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::embedded::{OpportunityContact, OpportunityOwner, PartnerSummary, StageSummary};
use super::list::CardRecord;
use super::store::{Health, OpportunityRecord};
use crate::custom_fields::view::CustomValues;
use crate::domain::activity::ActivityKind;
use crate::domain::money::{Money, Percent};
use crate::domain::pipeline::Outcome;
use crate::http::Resource;
use crate::ids::{ActivityId, FunnelId, LostReasonId, OpportunityId, PartnerId, QuoteId, StageId, UserId};

/// A sales opportunity (Vertriebschance).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f20", "number": "OPP-000042",
    "subject": "Fleet renewal 2027: 12 estate cars", "description": "Leasing preferred",
    "business_partner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10", "class_id": "FLOTTE",
    "funnel_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f30", "stage_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f31",
    "owner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f11", "status": "open", "currency": "EUR",
    "target_value": "100000.00", "probability": 75.0, "probability_override": null,
    "weighted_value": "75000.00", "metric": "75000.00", "line_count": 0,
    "expected_close_date": "2027-03-31", "last_contact_at": "2026-11-20T14:05:00Z", "health": "green",
    "activity_counts": {"call": 2, "meeting": 1},
    "next_activity": {"id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f50", "kind": "call",
                      "subject": "Call back about the leasing offer", "due_at": "2026-11-25T09:00:00Z"},
    "overdue_activity_count": 0, "stage_entered_at": "2026-11-18T10:00:00Z",
    "closed_at": null, "lost_reason_id": null, "lost_note": null, "erp_reference": null, "external_id": null,
    "custom": {"leasing_months": 36, "trade_in_value": "12500.00", "customer_group": "Flotte"},
    "contacts": [{"contact_id": "01930000-0000-7000-8000-000000000259", "role": "decision_maker"},
                 {"contact_id": "01930000-0000-7000-8000-00000000025a", "role": "user"}],
    "erp_handed_off_at": null, "primary_quote_id": null, "created_by": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f11",
    "created_at": "2026-11-02T09:15:00Z", "updated_at": "2026-11-20T14:05:00Z", "version": 4
}))]
pub struct Opportunity {
    #[schema(value_type = Uuid)]
    pub id: OpportunityId,
    /// Human number from a sequence, `OPP-000001`.
    pub number: String,
    pub subject: String,
    pub description: Option<String>,
    #[schema(value_type = Uuid)]
    pub business_partner_id: PartnerId,
    /// The class (KlassenID) it was created in.
    pub class_id: String,
    #[schema(value_type = Uuid)]
    pub funnel_id: FunnelId,
    #[schema(value_type = Uuid)]
    pub stage_id: StageId,
    #[schema(value_type = Uuid)]
    pub owner_id: UserId,
    /// The outcome of its stage.
    pub status: Outcome,
    /// ISO 4217 code of all its amounts.
    pub currency: String,
    /// The sum of the line totals once it has lines; else as set.
    pub target_value: Money,
    /// The override if set, else the stage's; 100 when won and 0 when lost, always.
    pub probability: Percent,
    /// A probability that replaces the stage's until set back to `null`.
    pub probability_override: Option<Percent>,
    /// target_value × probability / 100, rounded half away from zero.
    pub weighted_value: Money,
    /// The funnel's metric formula for this opportunity, as of its last change; `null` without
    /// a formula or when it has no value (division by zero).
    #[schema(value_type = Option<String>, example = "75000.00")]
    pub metric: Option<Decimal>,
    pub line_count: i32,
    pub expected_close_date: Option<NaiveDate>,
    /// The latest done call, email, meeting, appointment or ticket; else the creation.
    pub last_contact_at: DateTime<Utc>,
    /// The traffic light, current at read time; `null` when closed.
    pub health: Option<Health>,
    /// Its activities by kind.
    pub activity_counts: BTreeMap<String, i64>,
    /// The next step: its earliest planned activity (dated ones by due date first, then those
    /// without a due date, oldest first); `null` when none is planned.
    pub next_activity: Option<NextActivity>,
    /// Its planned activities whose `due_at` has passed, as of now.
    pub overdue_activity_count: i64,
    pub stage_entered_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<Uuid>)]
    pub lost_reason_id: Option<LostReasonId>,
    pub lost_note: Option<String>,
    /// The ERP order it was handed off as.
    pub erp_reference: Option<String>,
    /// The ERP's key for this opportunity (unique, case-sensitive; set by admin or integration).
    pub external_id: Option<String>,
    /// Custom field values by key (see `/custom-fields?resource=opportunity`).
    #[schema(value_type = CustomValues)]
    pub custom: serde_json::Map<String, serde_json::Value>,
    /// Its contact persons (contacts of its business partner) and the part each plays, in the
    /// order last given; with `expand=contacts` each entry embeds the person.
    pub contacts: Vec<OpportunityContact>,
    pub erp_handed_off_at: Option<DateTime<Utc>>,
    /// The primary quote; `null` while it has none.
    #[schema(value_type = Option<Uuid>)]
    pub primary_quote_id: Option<QuoteId>,
    /// The subject of the token that created it.
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Increases with every change; the ETag.
    pub version: i32,
    /// Its business partner, with `expand=business_partner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub business_partner: Option<PartnerSummary>,
    /// Its owner, with `expand=owner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub owner: Option<OpportunityOwner>,
    /// Its stage, with `expand=stage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub stage: Option<StageSummary>,
}

impl From<OpportunityRecord> for Opportunity {
    fn from(record: OpportunityRecord) -> Self {
        let row = record.row;
        Self {
            id: row.id,
            number: row.number,
            subject: row.subject,
            description: row.description,
            business_partner_id: row.business_partner_id,
            class_id: row.class_id,
            funnel_id: row.funnel_id,
            stage_id: row.stage_id,
            owner_id: row.owner_id,
            status: row.status,
            currency: row.currency,
            target_value: row.target_value,
            probability: row.probability,
            probability_override: row.probability_override,
            weighted_value: row.weighted_value,
            metric: row.metric,
            line_count: row.line_count,
            expected_close_date: row.expected_close_date,
            last_contact_at: row.last_contact_at,
            health: record.health,
            activity_counts: record.activity_counts,
            // The columns are written together (derive.rs): all set or all null.
            next_activity: row
                .next_activity_id
                .zip(row.next_activity_kind)
                .map(|(id, kind)| NextActivity {
                    id,
                    kind,
                    subject: row.next_activity_subject.unwrap_or_default(),
                    due_at: row.next_activity_due_at,
                }),
            overdue_activity_count: record.overdue_activity_count,
            stage_entered_at: row.stage_entered_at,
            closed_at: row.closed_at,
            lost_reason_id: row.lost_reason_id,
            lost_note: row.lost_note,
            erp_reference: row.erp_reference,
            external_id: row.external_id,
            custom: crate::custom_fields::values::object(&row.custom),
            erp_handed_off_at: row.erp_handed_off_at,
            primary_quote_id: record.primary_quote_id,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
            contacts: record.contacts,
            business_partner: None,
            owner: None,
            stage: None,
        }
    }
}

/// The earliest planned activity of an opportunity.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f50", "kind": "call",
    "subject": "Call back about the leasing offer", "due_at": "2026-11-25T09:00:00Z"
}))]
pub struct NextActivity {
    #[schema(value_type = Uuid)]
    pub id: ActivityId,
    pub kind: ActivityKind,
    pub subject: String,
    /// `null` for an activity planned without a date.
    pub due_at: Option<DateTime<Utc>>,
}

impl Resource for Opportunity {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!("/api/v1/opportunities/{}", self.id)
    }
    /// The traffic light and the overdue count turn with time; an activity moves the last
    /// contact, the counts and the next step: none of them makes a new version.
    const CHANGES_WITHOUT_VERSION: bool = true;
}

/// The slim opportunity of the board's columns and of `GET /opportunities?view=card`: what a
/// card shows, with the names of its partner and owner.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f20", "number": "OPP-000042",
    "subject": "Fleet renewal 2027: 12 estate cars", "stage_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f31",
    "business_partner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10", "business_partner_name": "Autohaus Berger GmbH",
    "owner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f11", "owner_name": "Anna Berger", "currency": "EUR",
    "target_value": "100000.00", "weighted_value": "75000.00", "probability": 75.0, "health": "green",
    "next_activity": {"id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f50", "kind": "call",
                      "subject": "Call back about the leasing offer", "due_at": "2026-11-25T09:00:00Z"},
    "expected_close_date": "2027-03-31", "updated_at": "2026-11-20T14:05:00Z"
}))]
pub struct OpportunityCard {
    #[schema(value_type = Uuid)]
    pub id: OpportunityId,
    /// Human number from a sequence, `OPP-000001`.
    pub number: String,
    pub subject: String,
    #[schema(value_type = Uuid)]
    pub stage_id: StageId,
    #[schema(value_type = Uuid)]
    pub business_partner_id: PartnerId,
    pub business_partner_name: String,
    #[schema(value_type = Uuid)]
    pub owner_id: UserId,
    /// The owner's `display_name`.
    pub owner_name: String,
    /// ISO 4217 code of its amounts.
    pub currency: String,
    pub target_value: Money,
    pub weighted_value: Money,
    pub probability: Percent,
    /// The traffic light, current at read time; `null` when closed.
    pub health: Option<Health>,
    /// Its earliest planned activity; `null` when none is planned.
    pub next_activity: Option<NextActivity>,
    pub expected_close_date: Option<NaiveDate>,
    /// The key of the list's default order (`-updated_at`), which the board's columns use.
    pub updated_at: DateTime<Utc>,
}

impl From<CardRecord> for OpportunityCard {
    fn from(record: CardRecord) -> Self {
        let row = record.columns;
        Self {
            id: row.id,
            number: row.number,
            subject: row.subject,
            stage_id: row.stage_id,
            business_partner_id: row.business_partner_id,
            business_partner_name: record.business_partner_name,
            owner_id: row.owner_id,
            owner_name: record.owner_name,
            currency: row.currency,
            target_value: row.target_value,
            weighted_value: row.weighted_value,
            probability: row.probability,
            health: record.health.and_then(|h| h.parse().ok()),
            // The columns are written together (derive.rs): all set or all null.
            next_activity: row
                .next_activity_id
                .zip(row.next_activity_kind)
                .map(|(id, kind)| NextActivity {
                    id,
                    kind,
                    subject: row.next_activity_subject.unwrap_or_default(),
                    due_at: row.next_activity_due_at,
                }),
            expected_close_date: row.expected_close_date,
            updated_at: row.updated_at,
        }
    }
}
