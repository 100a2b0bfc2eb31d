//! What an opportunity shows of other resources: its contact persons with their roles (always),
//! and the objects `?expand=` embeds (its partner, owner, stage and the contact persons
//! themselves). Types only, shared by the store, the view and the expansion.

use diesel::Queryable;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::contact::ContactRole;
use crate::domain::money::Percent;
use crate::domain::pipeline::Outcome;
use crate::ids::{ContactId, PartnerId, StageId, UserId};
use crate::partners::store::PartnerKind;

/// A contact person of the opportunity's partner and the part they play in the purchase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"contact_id": "01930000-0000-7000-8000-000000000259", "role": "decision_maker"}))]
pub struct OpportunityContact {
    #[schema(value_type = Uuid)]
    pub contact_id: ContactId,
    pub role: ContactRole,
    /// The person, with `expand=contacts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub contact: Option<ContactPerson>,
}

/// A contact person as an expanded opportunity embeds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Queryable)]
#[schema(example = json!({
    "id": "01930000-0000-7000-8000-000000000259", "salutation": "Frau", "title": "Dr.",
    "first_name": "Sabine", "last_name": "Müller", "email": "sabine.mueller@autohaus.example",
    "phone": "+49 30 0799819-1", "mobile": "+49 171 4455667", "position": "Geschäftsführerin",
    "is_primary": true, "active": true
}))]
pub struct ContactPerson {
    #[schema(value_type = Uuid)]
    pub id: ContactId,
    pub salutation: Option<String>,
    pub title: Option<String>,
    pub first_name: Option<String>,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub position: Option<String>,
    pub is_primary: bool,
    /// An inactive person stays on the opportunities that name them until they are replaced.
    pub active: bool,
}

/// The business partner as an expanded opportunity embeds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Queryable)]
#[schema(example = json!({
    "id": "01930000-0000-7000-8000-000000000065", "number": "BP-000001", "name": "Autohaus Müller GmbH",
    "kind": "customer", "city": "München"
}))]
pub struct PartnerSummary {
    #[schema(value_type = Uuid)]
    pub id: PartnerId,
    pub number: String,
    pub name: String,
    pub kind: PartnerKind,
    pub city: Option<String>,
}

/// The owner as an expanded opportunity embeds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Queryable)]
#[schema(example = json!({
    "id": "01930000-0000-7000-8000-000000000003", "display_name": "Anna Schmidt", "email": "anna.schmidt@example.com"
}))]
pub struct OpportunityOwner {
    #[schema(value_type = Uuid)]
    pub id: UserId,
    pub display_name: String,
    pub email: String,
}

/// The stage as an expanded opportunity embeds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Queryable)]
#[schema(example = json!({
    "id": "01930000-0000-7000-8000-0000000000cb", "code": "PROBEFAHRT", "name": "Probefahrt", "icon": "car",
    "probability": 40, "outcome": "open"
}))]
pub struct StageSummary {
    #[schema(value_type = Uuid)]
    pub id: StageId,
    pub code: String,
    pub name: String,
    pub icon: Option<String>,
    /// The stage's probability (the opportunity's own may be overridden).
    pub probability: Percent,
    pub outcome: Outcome,
}
