//! Article as the API shows it (answers and event payloads).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::ArticleRow;
use crate::domain::money::{Money, Percent};
use crate::http::Resource;
use crate::ids::ArticleId;

/// A catalogue article.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f50", "sku": "VW-ID4-PRO", "name": "VW ID.4 Pro",
    "description": "Elektro-SUV, 77 kWh",
    "long_description": "Wärmepumpe, Assistenzpaket Plus, 20-Zoll-Leichtmetallräder, Anhängerkupplung.", "unit": "Stk", "unit_price": "47990.00", "currency": "EUR",
    "tax_rate": 19, "active": true, "created_at": "2026-11-02T09:15:00Z",
    "updated_at": "2026-11-02T09:15:00Z", "version": 1
}))]
pub struct Article {
    #[schema(value_type = Uuid)]
    pub id: ArticleId,
    /// Unique article number, `[A-Za-z0-9._-]{1,64}`.
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    /// The long text (technical details, scope of delivery) that lines copy and quote PDFs
    /// print under the line's description.
    pub long_description: Option<String>,
    /// Unit of quantity, e.g. "Stk", "h", "kg".
    pub unit: String,
    pub unit_price: Money,
    pub currency: String,
    /// VAT percent, default 19.
    pub tax_rate: Percent,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<ArticleRow> for Article {
    fn from(row: ArticleRow) -> Self {
        Self {
            id: row.id,
            sku: row.sku,
            name: row.name,
            description: row.description,
            long_description: row.long_description,
            unit: row.unit,
            unit_price: row.unit_price,
            currency: row.currency,
            tax_rate: row.tax_rate,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for Article {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!("/api/v1/articles/{}", self.id)
    }
}
