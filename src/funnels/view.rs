//! Funnel as the API shows it (answers and event payloads).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::FunnelRecord;
use crate::http::Resource;
use crate::ids::{FunnelId, StageId, UserId};

/// A sales funnel (Vertriebstrichter).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f40", "name": "Neuwagen", "description": "Verkauf von Neufahrzeugen",
    "stage_ids": ["0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f20", "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f21",
        "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f22"],
    "team_ids": ["0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f11"], "warn_after_days": 7, "critical_after_days": 14,
    "metric_label": "Umsatzpotenzial", "metric_formula": "target_value * probability / 100",
    "planned_followup_keeps_yellow": true, "active": true,
    "created_at": "2026-11-02T09:15:00Z", "updated_at": "2026-11-02T09:15:00Z", "version": 1
}))]
pub struct Funnel {
    #[schema(value_type = Uuid)]
    pub id: FunnelId,
    /// Unique, case-insensitively.
    pub name: String,
    pub description: Option<String>,
    /// The stages in order: at least one open, exactly one won, at least one lost.
    #[schema(value_type = Vec<Uuid>)]
    pub stage_ids: Vec<StageId>,
    /// The sales team: reps in it see and work the funnel's opportunities.
    #[schema(value_type = Vec<Uuid>)]
    pub team_ids: Vec<UserId>,
    /// Days without contact after which an open opportunity turns yellow.
    pub warn_after_days: i32,
    /// Days without contact after which it turns red; greater than `warn_after_days`.
    pub critical_after_days: i32,
    /// Name of the funnel's metric, e.g. "Umsatzpotenzial".
    pub metric_label: Option<String>,
    /// Formula over target_value, probability, weighted_value, line_count, quantity, days_open and
    /// days_since_contact with + - * /, parentheses, comparisons, and/or/not, min, max, round and
    /// if(cond, a, b); evaluated with exact decimals.
    pub metric_formula: Option<String>,
    /// When true, an open opportunity that would be red shows yellow while its next activity is
    /// due between now and `warn_after_days` (the stage's, else the funnel's) from now; an
    /// overdue one keeps nothing yellow.
    pub planned_followup_keeps_yellow: bool,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<FunnelRecord> for Funnel {
    fn from(record: FunnelRecord) -> Self {
        let row = record.row;
        Self {
            id: row.id,
            name: row.name,
            description: row.description,
            stage_ids: record.stage_ids,
            team_ids: record.team_ids,
            warn_after_days: row.warn_after_days,
            critical_after_days: row.critical_after_days,
            metric_label: row.metric_label,
            metric_formula: row.metric_formula,
            planned_followup_keeps_yellow: row.planned_followup_keeps_yellow,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for Funnel {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!("/api/v1/funnels/{}", self.id)
    }
}
