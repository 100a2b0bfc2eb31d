//! The board's two statements (`sql/`): the stages with their counts and sums, and the first
//! cards of every stage. Both take the filters `$1`–`$5` (funnel, owner, class, health, the
//! fenced rep); they run unprepared, so PostgreSQL plans them with the values and folds the
//! filters a caller left out.

use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Nullable, Numeric, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;

use crate::access::{self, Visibility};
use crate::db::Conn;
use crate::domain::money::{Money, Percent};
use crate::domain::pipeline::Outcome;
use crate::error::AppError;
use crate::ids::{FunnelId, StageId, UserId};
use crate::opportunities::list::CardRecord;
use crate::opportunities::store::{Health, health_sql};
use crate::reports::store::CELLS;

/// The traffic light of `o` in stage `s` of funnel `f`, as every read computes it.
const HEALTH: &str = health_sql!("o", "s", "f");

/// What a board shows: one funnel's opportunities that match the filters and that `viewer` sees.
#[derive(Debug, Clone)]
pub struct BoardFilter {
    pub funnel_id: FunnelId,
    pub owner_id: Option<UserId>,
    pub class_id: Option<String>,
    pub health: Option<Health>,
    pub viewer: Visibility,
}

type Statement = BoxedSqlQuery<'static, Pg, SqlQuery>;

/// `template` with the health, the fence and `source` filled in and `$1`–`$5` bound.
fn statement(template: &str, source: &str, filter: &BoardFilter) -> Statement {
    let text = template
        .replace("{source}", source)
        .replace("{fence}", &access::rep_fence_sql("o", "$5::uuid"))
        .replace("{health}", HEALTH);
    diesel::sql_query(text)
        .into_boxed()
        .bind::<SqlUuid, _>(filter.funnel_id)
        .bind::<Nullable<SqlUuid>, _>(filter.owner_id)
        .bind::<Nullable<Text>, _>(filter.class_id.clone())
        .bind::<Nullable<Text>, _>(filter.health.map(|h| h.as_str()))
        .bind::<Nullable<SqlUuid>, _>(access::fenced_rep(filter.viewer))
}

/// A stage of the board in one currency (or, without opportunities, in none).
#[derive(Debug, QueryableByName)]
pub struct StageRow {
    #[diesel(sql_type = Text)]
    pub funnel_name: String,
    #[diesel(sql_type = SqlUuid)]
    pub stage_id: StageId,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub icon: Option<String>,
    #[diesel(sql_type = Numeric)]
    pub probability: Percent,
    #[diesel(sql_type = Text)]
    pub outcome: Outcome,
    #[diesel(sql_type = Nullable<Text>)]
    pub currency: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub target_value: Option<Money>,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub weighted_value: Option<Money>,
}

/// The funnel's stages in order with their counts and sums per currency; empty when there is
/// no such funnel. Without a health filter the sums come from the report cells, which the
/// triggers keep equal to the opportunities.
pub async fn stages(conn: &mut Conn, filter: &BoardFilter) -> Result<Vec<StageRow>, AppError> {
    let source = if filter.health.is_some() {
        include_str!("sql/health_source.sql")
    } else {
        CELLS.trim()
    };
    Ok(statement(include_str!("sql/stages.sql"), source, filter)
        .load(conn)
        .await?)
}

/// Up to `per_stage` cards of every stage, by stage in funnel order, newest change first.
pub async fn cards(conn: &mut Conn, filter: &BoardFilter, per_stage: i64) -> Result<Vec<CardRecord>, AppError> {
    Ok(statement(include_str!("sql/cards.sql"), "", filter)
        .bind::<BigInt, _>(per_stage)
        .load(conn)
        .await?)
}
