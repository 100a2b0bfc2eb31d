//! An opportunity line as the API shows it: in answers and in the events of the feed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::LineRow;
use crate::domain::money::{Money, Percent, Quantity};
use crate::http::Resource;
use crate::ids::{ArticleId, OpportunityId, OpportunityLineId};

/// One line of an opportunity.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f60", "opportunity_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f20",
    "position": 1, "article_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f50", "sku": "VW-ID4-PRO",
    "description": "VW ID.4 Pro", "long_description": null, "quantity": "2", "unit": "Stk", "unit_price": "47990.00",
    "discount_percent": 5.0, "tax_rate": 19.0, "line_total": "91181.00",
    "created_at": "2026-11-02T09:15:00Z", "updated_at": "2026-11-02T09:15:00Z", "version": 1
}))]
pub struct Line {
    #[schema(value_type = Uuid)]
    pub id: OpportunityLineId,
    #[schema(value_type = Uuid)]
    pub opportunity_id: OpportunityId,
    /// 1, 2, … in the order the lines were added.
    pub position: i32,
    #[schema(value_type = Option<Uuid>)]
    pub article_id: Option<ArticleId>,
    pub sku: Option<String>,
    pub description: String,
    /// The long text printed under the description on the quote (copied from the article).
    pub long_description: Option<String>,
    pub quantity: Quantity,
    pub unit: String,
    /// In the opportunity's currency.
    pub unit_price: Money,
    pub discount_percent: Percent,
    /// VAT percent.
    pub tax_rate: Percent,
    /// quantity × unit_price × (1 − discount_percent / 100), rounded half away from zero.
    pub line_total: Money,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Increases with every change; the ETag.
    pub version: i32,
}

impl From<LineRow> for Line {
    fn from(row: LineRow) -> Self {
        Self {
            id: row.id,
            opportunity_id: row.opportunity_id,
            position: row.position,
            article_id: row.article_id,
            sku: row.sku,
            description: row.description,
            long_description: row.long_description,
            quantity: row.quantity,
            unit: row.unit,
            unit_price: row.unit_price,
            discount_percent: row.discount_percent,
            tax_rate: row.tax_rate,
            line_total: row.line_total,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for Line {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!("/api/v1/opportunities/{}/lines/{}", self.opportunity_id, self.id)
    }
}
