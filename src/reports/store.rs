//! The reports' statements (`sql/*.sql`) and their rows. Every figure is aggregated by
//! PostgreSQL; Rust only nests the grouped rows into the response.
//!
//! The statements share the scope condition `sql/scope.sql` and its parameters `$1`–`$5`; a
//! statement's own parameters follow from `$6`. The statements run unprepared, so PostgreSQL
//! plans them with the parameters' values and folds the filters a caller left out.

use std::time::Duration;

use chrono::NaiveDate;
use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Array, Bool, Date, Int4, Int8, Nullable, Numeric, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use rust_decimal::Decimal;

use crate::access::{self, Visibility};
use crate::db::{self, Conn, DbPool};
use crate::domain::money::{Money, Percent};
use crate::domain::pipeline::Outcome;
use crate::error::AppError;
use crate::ids::{ArticleId, FunnelId, LostReasonId, StageId, UserId};

/// What a report covers: the filters every report takes, and what the caller sees.
#[derive(Debug, Clone)]
pub struct Scope {
    pub funnel_id: Option<FunnelId>,
    pub owner_id: Option<UserId>,
    pub class_id: Option<String>,
    pub viewer: Visibility,
}

/// Days from `from` up to `until` (exclusive); in UTC where instants are compared.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: NaiveDate,
    pub until: NaiveDate,
}

const SCOPE: &str = include_str!("sql/scope.sql");
/// The report cells with their deltas not yet folded, as a table expression.
pub const CELLS: &str = include_str!("sql/cells.sql");

type Statement = BoxedSqlQuery<'static, Pg, SqlQuery>;

/// `template` with the scope condition and its parameters bound.
async fn statement(conn: &mut Conn, template: &str, scope: &Scope) -> Result<Statement, AppError> {
    let (rep, teams) = match access::fence(conn, scope.viewer).await? {
        None => (None, Vec::new()),
        Some((user, teams)) => (Some(user), teams),
    };
    Ok(
        diesel::sql_query(template.replace("{scope}", SCOPE).replace("{cells}", CELLS.trim()))
            .into_boxed()
            .bind::<Nullable<SqlUuid>, _>(scope.funnel_id)
            .bind::<Nullable<SqlUuid>, _>(scope.owner_id)
            .bind::<Nullable<Text>, _>(scope.class_id.clone())
            .bind::<Nullable<SqlUuid>, _>(rep)
            .bind::<Array<SqlUuid>, _>(teams),
    )
}

fn with_period(statement: Statement, period: Period) -> Statement {
    statement.bind::<Date, _>(period.from).bind::<Date, _>(period.until)
}

#[derive(QueryableByName)]
struct Folded {
    #[diesel(sql_type = Int8)]
    folded: i64,
}

/// Folds the report cells' deltas (written by triggers on every change of an opportunity or its
/// stage history) into the cells; returns how many it folded.
pub async fn compact(conn: &mut Conn) -> Result<i64, AppError> {
    let result: Folded = diesel::sql_query("SELECT compact_report_cells() AS folded")
        .get_result(conn)
        .await?;
    Ok(result.folded)
}

/// Keeps the deltas few: folds them every few seconds while the server runs (any number of
/// replicas may do so; one at a time folds, the others skip).
pub async fn keep_compact(pool: DbPool) {
    let mut interval = tokio::time::interval(Duration::from_secs(5));
    loop {
        interval.tick().await;
        let folded = match db::connection(&pool).await {
            Ok(mut conn) => compact(&mut conn).await,
            Err(e) => Err(e),
        };
        if let Err(e) = folded {
            log::warn!("could not fold the report cells: {e}");
        }
    }
}

/// A stage, a funnel's outcome or an outcome over all funnels; in one currency or in all.
#[derive(Debug, QueryableByName)]
pub struct PipelineRow {
    /// What is rolled up: 1 the currency, 2 the stage, 4 the funnel.
    #[diesel(sql_type = Int4)]
    pub level: i32,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub funnel_id: Option<FunnelId>,
    #[diesel(sql_type = Nullable<Text>)]
    pub funnel_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub metric_label: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub stage_id: Option<StageId>,
    #[diesel(sql_type = Nullable<Text>)]
    pub stage_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub stage_name: Option<String>,
    #[diesel(sql_type = Text)]
    pub outcome: Outcome,
    #[diesel(sql_type = Nullable<Text>)]
    pub currency: Option<String>,
    #[diesel(sql_type = Int8)]
    pub count: i64,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub target_value: Option<Money>,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub weighted_value: Option<Money>,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub metric: Option<Decimal>,
}

/// The pipeline: stages in funnel order with their totals, then the funnels' and overall totals.
pub async fn pipeline(conn: &mut Conn, scope: &Scope) -> Result<Vec<PipelineRow>, AppError> {
    let statement = statement(conn, include_str!("sql/pipeline.sql"), scope).await?;
    Ok(statement.load(conn).await?)
}

/// A month, or an owner's month; in one currency or in all.
#[derive(Debug, QueryableByName)]
pub struct ForecastRow {
    /// What is rolled up: 1 the currency, 2 the owner.
    #[diesel(sql_type = Int4)]
    pub level: i32,
    #[diesel(sql_type = Date)]
    pub month: NaiveDate,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub owner_id: Option<UserId>,
    #[diesel(sql_type = Nullable<Text>)]
    pub owner_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub currency: Option<String>,
    #[diesel(sql_type = Int8)]
    pub open_count: i64,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub target_value: Option<Money>,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub weighted_value: Option<Money>,
    #[diesel(sql_type = Int8)]
    pub won_count: i64,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub won_value: Option<Money>,
}

/// Open opportunities by expected close month and won ones by month closed, per owner too
/// when `by_owner`.
pub async fn forecast(
    conn: &mut Conn,
    scope: &Scope,
    period: Period,
    by_owner: bool,
) -> Result<Vec<ForecastRow>, AppError> {
    let statement = statement(conn, include_str!("sql/forecast.sql"), scope).await?;
    Ok(with_period(statement, period)
        .bind::<Bool, _>(by_owner)
        .load(conn)
        .await?)
}

/// An article's month, in one currency or (for the quantities) in all.
#[derive(Debug, QueryableByName)]
pub struct ArticleForecastRow {
    /// 1 when the currency is rolled up: then only the quantities are meaningful.
    #[diesel(sql_type = Int4)]
    pub level: i32,
    #[diesel(sql_type = Date)]
    pub month: NaiveDate,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub article_id: Option<ArticleId>,
    #[diesel(sql_type = Nullable<Text>)]
    pub sku: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub article_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub unit: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub currency: Option<String>,
    #[diesel(sql_type = Numeric)]
    pub quantity: Decimal,
    #[diesel(sql_type = Numeric)]
    pub weighted_quantity: Decimal,
    #[diesel(sql_type = Numeric)]
    pub won_quantity: Decimal,
    #[diesel(sql_type = Numeric)]
    pub value: Money,
    #[diesel(sql_type = Numeric)]
    pub weighted_value: Money,
    #[diesel(sql_type = Numeric)]
    pub won_value: Money,
}

/// Quantities and values per article and month.
pub async fn article_forecast(
    conn: &mut Conn,
    scope: &Scope,
    period: Period,
) -> Result<Vec<ArticleForecastRow>, AppError> {
    let statement = statement(conn, include_str!("sql/forecast_articles.sql"), scope).await?;
    Ok(with_period(statement, period).load(conn).await?)
}

/// An owner's open opportunities, in one currency or in all.
#[derive(Debug, QueryableByName)]
pub struct OwnerRow {
    /// 1 when the currency is rolled up.
    #[diesel(sql_type = Int4)]
    pub level: i32,
    #[diesel(sql_type = SqlUuid)]
    pub owner_id: UserId,
    #[diesel(sql_type = Text)]
    pub owner_name: String,
    #[diesel(sql_type = Text)]
    pub owner_role: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub currency: Option<String>,
    #[diesel(sql_type = Int8)]
    pub open_count: i64,
    #[diesel(sql_type = Int8)]
    pub partner_count: i64,
    #[diesel(sql_type = Int8)]
    pub red_count: i64,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub target_value: Option<Money>,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub weighted_value: Option<Money>,
}

/// Per owner: open opportunities, partners, red traffic lights and sums.
pub async fn owners(conn: &mut Conn, scope: &Scope) -> Result<Vec<OwnerRow>, AppError> {
    let statement = statement(conn, include_str!("sql/owners.sql"), scope).await?;
    Ok(statement.load(conn).await?)
}

/// Closed opportunities of a period: all of them, or the lost ones of one reason; in one
/// currency or in all.
#[derive(Debug, QueryableByName)]
pub struct WinLossRow {
    /// 0/1: all closed ones per currency / in all currencies; 2/3: per lost reason.
    #[diesel(sql_type = Int4)]
    pub level: i32,
    #[diesel(sql_type = Nullable<Text>)]
    pub currency: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub lost_reason_id: Option<LostReasonId>,
    #[diesel(sql_type = Nullable<Text>)]
    pub lost_reason: Option<String>,
    #[diesel(sql_type = Int8)]
    pub won_count: i64,
    #[diesel(sql_type = Int8)]
    pub lost_count: i64,
    #[diesel(sql_type = Numeric)]
    pub won_value: Money,
    #[diesel(sql_type = Numeric)]
    pub lost_value: Money,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub won_days: Option<Decimal>,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub lost_days: Option<Decimal>,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub win_rate: Option<Percent>,
}

/// Won and lost opportunities closed in `period`, and the lost ones per reason.
pub async fn win_loss(conn: &mut Conn, scope: &Scope, period: Period) -> Result<Vec<WinLossRow>, AppError> {
    let statement = statement(conn, include_str!("sql/win_loss.sql"), scope).await?;
    Ok(with_period(statement, period).load(conn).await?)
}

/// A stage of a funnel with the cohort that entered it in the period.
#[derive(Debug, QueryableByName)]
pub struct ConversionRow {
    #[diesel(sql_type = SqlUuid)]
    pub funnel_id: FunnelId,
    #[diesel(sql_type = Text)]
    pub funnel_name: String,
    #[diesel(sql_type = SqlUuid)]
    pub stage_id: StageId,
    #[diesel(sql_type = Text)]
    pub stage_code: String,
    #[diesel(sql_type = Text)]
    pub stage_name: String,
    #[diesel(sql_type = Text)]
    pub outcome: Outcome,
    #[diesel(sql_type = Int8)]
    pub entered: i64,
    #[diesel(sql_type = Int8)]
    pub moved_on: i64,
    #[diesel(sql_type = Int8)]
    pub won_later: i64,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub conversion_rate: Option<Percent>,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub win_rate: Option<Percent>,
    #[diesel(sql_type = Nullable<Numeric>)]
    pub average_days: Option<Decimal>,
}

/// Per funnel stage: entered in `period`, moved on, won later, and days in the stage.
pub async fn stage_conversion(conn: &mut Conn, scope: &Scope, period: Period) -> Result<Vec<ConversionRow>, AppError> {
    let statement = statement(conn, include_str!("sql/stage_conversion.sql"), scope).await?;
    Ok(with_period(statement, period).load(conn).await?)
}
