//! Stage as the API shows it (answers and event payloads).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::StageRow;
use crate::domain::money::Percent;
use crate::domain::pipeline::Outcome;
use crate::http::Resource;
use crate::ids::StageId;

/// A stage of the sales process (Vertriebsphase / Qualifikationsstufe).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f20", "code": "PROBEFAHRT", "name": "Probefahrt", "icon": "car",
    "probability": 40, "outcome": "open", "requires_lines": false, "warn_after_days": 3,
    "critical_after_days": 7, "active": true, "created_at": "2026-11-02T09:15:00Z",
    "updated_at": "2026-11-02T09:15:00Z", "version": 1
}))]
pub struct Stage {
    #[schema(value_type = Uuid)]
    pub id: StageId,
    /// Unique, case-insensitively.
    pub code: String,
    pub name: String,
    /// An icon name for front-ends (at most 64 characters).
    pub icon: Option<String>,
    /// Chance of winning in this stage; every open opportunity in it uses it live.
    pub probability: Percent,
    /// `won` stages have probability 100, `lost` ones 0.
    pub outcome: Outcome,
    /// An opportunity may only enter this stage when it has lines.
    pub requires_lines: bool,
    /// Overrides the funnel's yellow threshold (days without contact) in this stage.
    pub warn_after_days: Option<i32>,
    /// Overrides the funnel's red threshold in this stage.
    pub critical_after_days: Option<i32>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<StageRow> for Stage {
    fn from(row: StageRow) -> Self {
        Self {
            id: row.id,
            code: row.code,
            name: row.name,
            icon: row.icon,
            probability: row.probability,
            outcome: row.outcome,
            requires_lines: row.requires_lines,
            warn_after_days: row.warn_after_days,
            critical_after_days: row.critical_after_days,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for Stage {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!("/api/v1/stages/{}", self.id)
    }
}
