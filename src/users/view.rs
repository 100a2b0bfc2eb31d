//! User as the API shows it (answers and event payloads).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::store::UserRow;
use crate::access::Role;
use crate::http::Resource;
use crate::ids::UserId;

/// A user of salesfunnel.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f10", "email": "anna.schmidt@autohaus-example.de",
    "display_name": "Anna Schmidt", "role": "rep", "active": true,
    "created_at": "2026-11-02T09:15:00Z", "updated_at": "2026-11-02T09:15:00Z", "version": 1
}))]
pub struct User {
    #[schema(value_type = Uuid)]
    pub id: UserId,
    /// Unique, case-insensitively.
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Inactive users keep their records but should get no new work.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Increases with every change; the ETag.
    pub version: i32,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            role: row.role,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

impl Resource for User {
    fn version(&self) -> i32 {
        self.version
    }
    fn location(&self) -> String {
        format!("/api/v1/users/{}", self.id)
    }
}
