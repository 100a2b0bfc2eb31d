//! An opportunity's stage history: every stage change, oldest first.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::store::check_visible;
use crate::access::Visibility;
use crate::db::Conn;
use crate::domain::money::{Money, Percent};
use crate::error::AppError;
use crate::http::pagination::Page;
use crate::ids::{LostReasonId, OpportunityId, StageId};
use crate::schema::opportunity_stage_changes as changes;

/// One entry of an opportunity's stage history.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = changes, check_for_backend(Pg))]
pub struct StageChangeRow {
    pub id: OpportunityId,
    pub from_stage_id: Option<StageId>,
    pub to_stage_id: StageId,
    pub probability: Percent,
    pub target_value: Money,
    pub lost_reason_id: Option<LostReasonId>,
    pub note: Option<String>,
    pub changed_by: Option<String>,
    pub changed_at: DateTime<Utc>,
}

/// A page of the stage history of a visible opportunity, oldest first.
pub async fn stage_changes(
    conn: &mut Conn,
    who: Visibility,
    id: OpportunityId,
    page: &Page,
) -> Result<Vec<StageChangeRow>, AppError> {
    check_visible(conn, who, id).await?;
    Ok(changes::table
        .filter(changes::opportunity_id.eq(id))
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .select(StageChangeRow::as_select())
        .load(conn)
        .await?)
}
