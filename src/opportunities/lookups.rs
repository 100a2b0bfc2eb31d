//! The lookups the opportunity writes validate their references against.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::db::Conn;
use crate::domain::opportunity::Entry;
use crate::domain::pipeline::Outcome;
use crate::error::AppError;
use crate::ids::{FunnelId, PartnerId, StageId, UserId};
use crate::schema::{business_partners, funnel_stages, funnels, stages, users};

pub(super) async fn active_user(conn: &mut Conn, id: UserId) -> Result<Option<bool>, AppError> {
    Ok(users::table
        .find(id)
        .select(users::active)
        .first(conn)
        .await
        .optional()?)
}

pub(super) async fn partner_exists(conn: &mut Conn, id: PartnerId) -> Result<Option<bool>, AppError> {
    let found: bool = diesel::select(diesel::dsl::exists(business_partners::table.find(id)))
        .get_result(conn)
        .await?;
    Ok(found.then_some(true))
}

pub(super) async fn funnel_active(conn: &mut Conn, id: FunnelId) -> Result<Option<bool>, AppError> {
    Ok(funnels::table
        .find(id)
        .select(funnels::active)
        .first(conn)
        .await
        .optional()?)
}

/// The stage `id` as funnel `funnel` sees it; `None` when there is no such stage.
pub(super) async fn entry(conn: &mut Conn, funnel: FunnelId, id: StageId) -> Result<Option<Entry>, AppError> {
    let stage: Option<(Outcome, bool, bool)> = stages::table
        .find(id)
        .select((stages::outcome, stages::requires_lines, stages::active))
        .first(conn)
        .await
        .optional()?;
    let Some((outcome, requires_lines, active)) = stage else {
        return Ok(None);
    };
    let in_funnel: bool = diesel::select(diesel::dsl::exists(funnel_stages::table.find((funnel, id))))
        .get_result(conn)
        .await?;
    Ok(Some(Entry {
        outcome,
        requires_lines,
        active,
        in_funnel,
    }))
}
