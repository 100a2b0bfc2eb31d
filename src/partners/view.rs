//! A business partner as the API shows it: in answers and in the events of the feed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::{PartnerKind, PartnerRow};
use crate::custom_fields::values;
use crate::custom_fields::view::CustomValues;
use crate::http::Resource;
use crate::ids::{PartnerId, UserId};

/// A business partner: a lead or a customer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10", "number": "BP-000042", "kind": "lead",
    "name": "Autohaus Müller GmbH", "email": "info@autohaus-mueller.example", "phone": "+49 89 1234567",
    "website": "https://autohaus-mueller.example", "street": "Leopoldstraße 12", "postal_code": "80802",
    "city": "München", "country": "DE", "vat_id": "DE123456789",
    "owner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f11", "notes": "Fleet of 40 cars, renewal in spring",
    "external_id": "D-10042", "custom": {"erp_customer_group": "Flotte"},
    "created_at": "2026-11-02T09:15:00Z", "updated_at": "2026-11-02T09:15:00Z", "version": 1
}))]
pub struct Partner {
    #[schema(value_type = Uuid)]
    pub id: PartnerId,
    /// Human number from a sequence, `BP-000001`.
    pub number: String,
    pub kind: PartnerKind,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub vat_id: Option<String>,
    /// The user responsible for this partner.
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<UserId>,
    pub notes: Option<String>,
    /// The ERP's key for this partner (unique, case-sensitive; set by admin or integration).
    pub external_id: Option<String>,
    #[schema(value_type = CustomValues)]
    pub custom: serde_json::Map<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Increases with every change; the ETag.
    pub version: i32,
}

impl From<PartnerRow> for Partner {
    fn from(row: PartnerRow) -> Self {
        Self {
            id: row.id,
            number: row.number,
            kind: row.kind,
            name: row.name,
            email: row.email,
            phone: row.phone,
            website: row.website,
            street: row.street,
            postal_code: row.postal_code,
            city: row.city,
            country: row.country,
            vat_id: row.vat_id,
            owner_id: row.owner_id,
            notes: row.notes,
            external_id: row.external_id,
            custom: values::object(&row.custom),
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for Partner {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!("/api/v1/business-partners/{}", self.id)
    }
}
