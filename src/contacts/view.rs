//! A contact as the API shows it: in answers and in the events of the feed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::ContactRow;
use crate::custom_fields::view::CustomValues;
use crate::http::Resource;
use crate::ids::{ContactId, PartnerId};

/// A contact person of a business partner.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f40", "business_partner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10",
    "salutation": "Frau", "title": "Dr.", "first_name": "Anna", "last_name": "Schmidt",
    "email": "anna.schmidt@autohaus-mueller.example", "phone": "+49 89 1234567-12", "mobile": "+49 171 2345678",
    "position": "Leiterin Fuhrpark", "is_primary": true, "active": true, "custom": {},
    "created_by": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f11",
    "created_at": "2026-11-02T09:15:00Z", "updated_at": "2026-11-02T09:15:00Z", "version": 1
}))]
pub struct Contact {
    #[schema(value_type = Uuid)]
    pub id: ContactId,
    /// The business partner this person works for.
    #[schema(value_type = Uuid)]
    pub business_partner_id: PartnerId,
    /// Printed before the name in an address (`Frau`, `Herr`, `Mr`, `Ms`); free text.
    pub salutation: Option<String>,
    /// Academic or honorary title (`Dr.`, `Prof. Dr.`).
    pub title: Option<String>,
    pub first_name: Option<String>,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    /// The job title or role in the company (`Einkauf`, `Geschäftsführer`).
    pub position: Option<String>,
    /// The partner's primary contact (at most one per partner).
    pub is_primary: bool,
    pub active: bool,
    /// Custom field values by key (see `/custom-fields?resource=contact`).
    #[schema(value_type = CustomValues)]
    pub custom: serde_json::Map<String, serde_json::Value>,
    /// The subject of the token that created it.
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Increases with every change; the ETag.
    pub version: i32,
}

impl From<ContactRow> for Contact {
    fn from(row: ContactRow) -> Self {
        Self {
            id: row.id,
            business_partner_id: row.business_partner_id,
            salutation: row.salutation,
            title: row.title,
            first_name: row.first_name,
            last_name: row.last_name,
            email: row.email,
            phone: row.phone,
            mobile: row.mobile,
            position: row.position,
            is_primary: row.is_primary,
            active: row.active,
            custom: crate::custom_fields::values::object(&row.custom),
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for Contact {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!(
            "/api/v1/business-partners/{}/contacts/{}",
            self.business_partner_id, self.id
        )
    }
}
