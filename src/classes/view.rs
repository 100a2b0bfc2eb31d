//! Class as the API shows it (answers and event payloads).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::ClassRow;
use crate::http::Resource;
use crate::ids::{FunnelId, UserId};

/// A class (KlassenID): groups opportunities and routes new ones.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "NEUWAGEN", "description": "Neufahrzeuge", "default_funnel_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f40",
    "default_owner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f11", "active": true,
    "created_at": "2026-11-02T09:15:00Z", "updated_at": "2026-11-02T09:15:00Z", "version": 1
}))]
pub struct Class {
    /// The class code, `[A-Z0-9_-]{1,30}`.
    pub id: String,
    pub description: Option<String>,
    /// Funnel of a new opportunity of this class when none is given.
    #[schema(value_type = Option<Uuid>)]
    pub default_funnel_id: Option<FunnelId>,
    /// Owner of a new opportunity of this class when none is given.
    #[schema(value_type = Option<Uuid>)]
    pub default_owner_id: Option<UserId>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<ClassRow> for Class {
    fn from(row: ClassRow) -> Self {
        Self {
            id: row.id,
            description: row.description,
            default_funnel_id: row.default_funnel_id,
            default_owner_id: row.default_owner_id,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for Class {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!("/api/v1/classes/{}", self.id)
    }
}
