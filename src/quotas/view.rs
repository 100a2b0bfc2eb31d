//! Quota as the API shows it (answers and event payloads).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::QuotaRow;
use crate::domain::quota::{Measure, Period, Target};
use crate::http::Resource;
use crate::ids::{ArticleId, FunnelId, QuotaId, UserId};

/// A target for a rep or manager (`owner_id`) or a funnel's team (`funnel_id`) in a month or a
/// quarter.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "01930000-0000-7000-8000-0000000002bd", "owner_id": "01930000-0000-7000-8000-000000000003",
    "funnel_id": null, "period": "2027-Q1", "starts_on": "2027-01-01", "ends_on": "2027-03-31",
    "measure": "won_value", "article_id": null, "target": "250000",
    "created_at": "2026-11-02T09:15:00Z", "updated_at": "2026-11-02T09:15:00Z", "version": 1
}))]
pub struct Quota {
    #[schema(value_type = Uuid)]
    pub id: QuotaId,
    /// The rep or manager the quota is for; `null` for a funnel's quota.
    #[schema(value_type = Option<Uuid>)]
    pub owner_id: Option<UserId>,
    /// The funnel whose team the quota is for; `null` for an owner's quota.
    #[schema(value_type = Option<Uuid>)]
    pub funnel_id: Option<FunnelId>,
    /// A month (`2027-01`) or a quarter (`2027-Q1`).
    #[schema(pattern = "^[0-9]{4}-(0[1-9]|1[0-2]|Q[1-4])$")]
    pub period: String,
    /// The period's first day.
    pub starts_on: Option<NaiveDate>,
    /// The period's last day.
    pub ends_on: Option<NaiveDate>,
    pub measure: Measure,
    /// The article whose won quantity counts (`won_quantity` only).
    #[schema(value_type = Option<Uuid>)]
    pub article_id: Option<ArticleId>,
    /// For `won_value` in the home currency (`settings.default_currency`).
    pub target: Target,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<QuotaRow> for Quota {
    fn from(row: QuotaRow) -> Self {
        let period = row.period.parse::<Period>().ok();
        Self {
            id: row.id,
            owner_id: row.owner_id,
            funnel_id: row.funnel_id,
            starts_on: period.and_then(Period::starts_on),
            ends_on: period.and_then(Period::ends_on),
            period: row.period,
            measure: row.measure,
            article_id: row.article_id,
            target: row.target,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for Quota {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!("/api/v1/quotas/{}", self.id)
    }
}
