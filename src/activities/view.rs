//! An activity as the API shows it: in answers and in the events of the feed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::{ActivityRow, ActivityStatus};
use crate::custom_fields::view::CustomValues;
use crate::domain::activity::ActivityKind;
use crate::http::Resource;
use crate::ids::{ActivityId, ContactId, OpportunityId, PartnerId, UserId};

/// A call, e-mail, meeting, appointment, ticket, task or note with a business partner,
/// optionally on one of its opportunities.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f50", "kind": "call", "subject": "Discussed the leasing offer",
    "body": "Wants a second quote with 48 months", "business_partner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10",
    "opportunity_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f20", "owner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f11",
    "status": "done", "due_at": null, "occurred_at": "2026-11-20T14:05:00Z", "timeline_at": "2026-11-20T14:05:00Z",
    "external_id": null, "custom": {}, "contact_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f40",
    "created_at": "2026-11-20T14:20:00Z", "updated_at": "2026-11-20T14:20:00Z", "version": 1
}))]
pub struct Activity {
    #[schema(value_type = Uuid)]
    pub id: ActivityId,
    pub kind: ActivityKind,
    pub subject: String,
    pub body: Option<String>,
    /// The partner; the opportunity's when it has one.
    #[schema(value_type = Uuid)]
    pub business_partner_id: PartnerId,
    #[schema(value_type = Option<Uuid>)]
    pub opportunity_id: Option<OpportunityId>,
    /// The user responsible for it.
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<UserId>,
    pub status: ActivityStatus,
    /// When a planned activity is due.
    pub due_at: Option<DateTime<Utc>>,
    /// When a done activity happened; `null` while planned.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Its place in timelines: `occurred_at`, else `due_at`, else `created_at`.
    pub timeline_at: DateTime<Utc>,
    /// The ERP's key for this activity (unique, case-sensitive; set by admin or integration).
    pub external_id: Option<String>,
    /// Custom field values by key (see `/custom-fields?resource=activity`).
    #[schema(value_type = CustomValues)]
    pub custom: serde_json::Map<String, serde_json::Value>,
    /// The person it was with, a contact of its business partner.
    #[schema(value_type = Option<Uuid>)]
    pub contact_id: Option<ContactId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Increases with every change; the ETag.
    pub version: i32,
}

impl From<ActivityRow> for Activity {
    fn from(row: ActivityRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            subject: row.subject,
            body: row.body,
            business_partner_id: row.business_partner_id,
            opportunity_id: row.opportunity_id,
            owner_id: row.owner_id,
            status: row.status,
            due_at: row.due_at,
            occurred_at: row.occurred_at,
            timeline_at: row.timeline_at,
            external_id: row.external_id,
            custom: crate::custom_fields::values::object(&row.custom),
            contact_id: row.contact_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for Activity {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!("/api/v1/activities/{}", self.id)
    }
}
