//! LostReason as the API shows it (answers and event payloads).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::LostReasonRow;
use crate::http::Resource;
use crate::ids::LostReasonId;

/// A reason an opportunity was lost.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f30", "label": "Preis zu hoch", "active": true,
    "created_at": "2026-11-02T09:15:00Z", "updated_at": "2026-11-02T09:15:00Z", "version": 1
}))]
pub struct LostReason {
    #[schema(value_type = Uuid)]
    pub id: LostReasonId,
    /// Unique, case-insensitively.
    pub label: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<LostReasonRow> for LostReason {
    fn from(row: LostReasonRow) -> Self {
        Self {
            id: row.id,
            label: row.label,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for LostReason {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!("/api/v1/lost-reasons/{}", self.id)
    }
}
