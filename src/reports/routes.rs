//! `/reports/*`: pipeline, forecast, owners, win/loss and stage conversion. Every role may read
//! them; a rep's reports cover only the opportunities the rep sees.

use actix_web::web::Query;
use actix_web::{HttpResponse, get};
use chrono::{Datelike, Days, NaiveDate, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::forecast::{ForecastGrouping, ForecastReport, Month};
use super::outcomes::{StageConversionReport, WinLossReport};
use super::pipeline::{OwnersReport, PipelineReport};
use super::store::{self, Period, Scope};
use crate::access::{Principal, Role};
use crate::db::Db;
use crate::error::{AppError, FieldError};
use crate::ids::{FunnelId, UserId};
use crate::openapi::responses::{Forbidden, ValidationFailed};

/// The filters every report takes (all optional, combined with AND).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScopeQuery {
    /// Only opportunities of this funnel.
    #[param(value_type = Option<Uuid>)]
    pub funnel_id: Option<FunnelId>,
    /// Only opportunities this user owns.
    #[param(value_type = Option<Uuid>)]
    pub owner_id: Option<UserId>,
    /// Only opportunities of this class.
    #[param(example = "NEUWAGEN")]
    pub class_id: Option<String>,
}

impl ScopeQuery {
    fn scope(self, who: &Principal) -> Scope {
        Scope {
            funnel_id: self.funnel_id,
            owner_id: self.owner_id,
            class_id: self.class_id,
            viewer: who.read_scope(),
        }
    }
}

/// A period of whole days (UTC), both ends included.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day; default 364 days before `to`, so that the period is a year. Not after `to`.
    #[param(example = "2026-01-01", pattern = r"^(19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$")]
    pub from: Option<NaiveDate>,
    /// Last day; default today (UTC).
    #[param(example = "2026-12-31", pattern = r"^(19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$")]
    pub to: Option<NaiveDate>,
}

/// Days of the default period.
const DEFAULT_DAYS: u64 = 365;

impl PeriodQuery {
    /// The period, or 422 naming each bad end: years 1900–9999, `from` not after `to`.
    fn period(&self) -> Result<(NaiveDate, NaiveDate, Period), AppError> {
        let to = self.to.unwrap_or_else(|| Utc::now().date_naive());
        let from = self
            .from
            .or_else(|| to.checked_sub_days(Days::new(DEFAULT_DAYS - 1)))
            .unwrap_or(to);
        let mut errors = Vec::new();
        for (field, day) in [("from", from), ("to", to)] {
            if !(1900..=9999).contains(&day.year()) {
                errors.push(FieldError::new(
                    field,
                    "range",
                    "must be a day of the years 1900 to 9999",
                ));
            }
        }
        if errors.is_empty() && from > to {
            errors.push(FieldError::new("from", "after_to", "must not be after to"));
        }
        match to.succ_opt() {
            Some(until) if errors.is_empty() => Ok((from, to, Period { from, until })),
            _ => Err(AppError::Validation(errors)),
        }
    }
}

/// The forecast's months and breakdown.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForecastQuery {
    /// First month, `YYYY-MM`; default the current month (UTC).
    #[param(value_type = Option<String>, example = "2026-11", pattern = r"^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])$")]
    pub from: Option<Month>,
    /// Number of months, 1–36; default 6.
    #[param(minimum = 1, maximum = 36, example = 6)]
    pub months: Option<u32>,
    /// `month` (default), `owner` or `article` (quantities per article: Absatzprognose).
    #[param(inline)]
    pub group_by: Option<ForecastGrouping>,
}

const MAX_MONTHS: u32 = 36;

/// The open pipeline per stage in funnel order: count, target, weighted and metric sums.
///
/// Every stage of each funnel is listed, also without opportunities (funnels: the one asked
/// for, else the active ones and any inactive one with opportunities). A stage counts the
/// opportunities in it now: open stages the pipeline, the won and lost stages what closed there.
/// Money is summed per currency; totals per funnel and outcome, and per outcome overall.
#[utoipa::path(
    tag = "reports",
    params(ScopeQuery),
    responses((status = 200, description = "The pipeline", body = PipelineReport), (status = 403, response = Forbidden)),
    security(("bearer" = []))
)]
#[get("/reports/pipeline")]
async fn pipeline(db: Db, who: Principal, query: Query<ScopeQuery>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let scope = query.into_inner().scope(&who);
    let rows = store::pipeline(&mut *db.connection().await?, &scope).await?;
    Ok(HttpResponse::Ok().json(PipelineReport::from(rows)))
}

/// Sales forecast (Umsatzprognose) per month: open opportunities by expected close month
/// (count, target and weighted sums) and won value by month closed; per owner, or with
/// quantities per article (Absatzprognose).
///
/// Open opportunities without an expected close date, or expected before `from`, are not in
/// it. Months are calendar months in UTC; every month of the range is listed.
#[utoipa::path(
    tag = "reports",
    params(ScopeQuery, ForecastQuery),
    responses(
        (status = 200, description = "One entry per month", body = ForecastReport),
        (status = 403, response = Forbidden),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[get("/reports/forecast")]
async fn forecast(
    db: Db,
    who: Principal,
    query: Query<ScopeQuery>,
    options: Query<ForecastQuery>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let months = options.months.unwrap_or(6);
    let first = options.from.unwrap_or_else(|| Month::of(Utc::now().date_naive()));
    let period = (1..=MAX_MONTHS)
        .contains(&months)
        .then(|| first.period(months))
        .flatten()
        .filter(|p| p.until.year() <= 9999)
        .ok_or_else(|| AppError::invalid("months", "range", format!("must be from 1 to {MAX_MONTHS}")))?;
    let group_by = options.group_by.unwrap_or_default();
    let scope = query.into_inner().scope(&who);
    let conn = &mut *db.connection().await?;
    let rows = store::forecast(conn, &scope, period, group_by == ForecastGrouping::Owner).await?;
    let report = ForecastReport::new(group_by, months, period, rows);
    let report = match group_by {
        ForecastGrouping::Article => report.with_articles(store::article_forecast(conn, &scope, period).await?),
        ForecastGrouping::Month | ForecastGrouping::Owner => report,
    };
    Ok(HttpResponse::Ok().json(report))
}

/// Per owner (Vertriebsmitarbeiter): open opportunities, distinct business partners, red
/// traffic lights now, and target and weighted sums per currency.
#[utoipa::path(
    tag = "reports",
    params(ScopeQuery),
    responses((status = 200, description = "One entry per owner", body = OwnersReport), (status = 403, response = Forbidden)),
    security(("bearer" = []))
)]
#[get("/reports/owners")]
async fn owners(db: Db, who: Principal, query: Query<ScopeQuery>) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let scope = query.into_inner().scope(&who);
    let rows = store::owners(&mut *db.connection().await?, &scope).await?;
    Ok(HttpResponse::Ok().json(OwnersReport::from(rows)))
}

/// Win/loss analysis of the opportunities closed in a period: counts and values, win rate,
/// average days to close, and the lost ones per lost reason.
#[utoipa::path(
    tag = "reports",
    params(ScopeQuery, PeriodQuery),
    responses(
        (status = 200, description = "The period's closed opportunities", body = WinLossReport),
        (status = 403, response = Forbidden),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[get("/reports/win-loss")]
async fn win_loss(
    db: Db,
    who: Principal,
    query: Query<ScopeQuery>,
    period: Query<PeriodQuery>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let (from, to, period) = period.period()?;
    let scope = query.into_inner().scope(&who);
    let rows = store::win_loss(&mut *db.connection().await?, &scope, period).await?;
    Ok(HttpResponse::Ok().json(WinLossReport::new(from, to, rows)))
}

/// Stage conversion from the stage history: per stage in funnel order, the opportunities that
/// first entered it in the period, how many moved on and were won later, and the days they
/// spent in it.
///
/// Each opportunity counts once per stage, at its first entry, however often it re-entered the
/// stage; moving back is not moving on, and the days of all its ended visits are added up. What
/// happened after `to` counts too.
#[utoipa::path(
    tag = "reports",
    params(ScopeQuery, PeriodQuery),
    responses(
        (status = 200, description = "Per funnel and stage", body = StageConversionReport),
        (status = 403, response = Forbidden),
        (status = 422, response = ValidationFailed)
    ),
    security(("bearer" = []))
)]
#[get("/reports/stage-conversion")]
async fn stage_conversion(
    db: Db,
    who: Principal,
    query: Query<ScopeQuery>,
    period: Query<PeriodQuery>,
) -> Result<HttpResponse, AppError> {
    who.require(Role::can_read)?;
    let (from, to, period) = period.period()?;
    let scope = query.into_inner().scope(&who);
    let rows = store::stage_conversion(&mut *db.connection().await?, &scope, period).await?;
    Ok(HttpResponse::Ok().json(StageConversionReport::new(from, to, rows)))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(pipeline)
        .service(forecast)
        .service(owners)
        .service(win_loss)
        .service(stage_conversion);
}
