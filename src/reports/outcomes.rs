//! What became of opportunities in a period: win/loss and stage conversion. Bodies are nested
//! from the grouped rows PostgreSQL returns.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Serialize, Serializer};
use utoipa::ToSchema;

use super::store::{ConversionRow, WinLossRow};
use crate::domain::money::{Money, Percent};
use crate::domain::pipeline::Outcome;
use crate::ids::{FunnelId, LostReasonId, StageId};

/// Days as a JSON number (one decimal), or `null`.
fn days<S: Serializer>(value: &Option<Decimal>, serializer: S) -> Result<S::Ok, S::Error> {
    match value.and_then(|d| d.to_f64()) {
        Some(days) => serializer.serialize_f64(days),
        None => serializer.serialize_none(),
    }
}

/// Closed opportunities of one currency.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"currency": "EUR", "won_count": 3, "lost_count": 1, "won_value": "180000.00", "lost_value": "25000.00"}))]
pub struct WinLossAmounts {
    #[schema(example = "EUR")]
    pub currency: String,
    pub won_count: i64,
    pub lost_count: i64,
    /// Target values of the won ones.
    pub won_value: Money,
    /// Target values of the lost ones.
    pub lost_value: Money,
}

/// Lost opportunities of one reason.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"lost_reason_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f40", "label": "Preis zu hoch", "count": 1, "amounts": [{"currency": "EUR", "value": "25000.00"}], "average_days": 12.0}))]
pub struct LostReasonSummary {
    /// `null` for opportunities lost without a reason (none since reasons are required).
    #[schema(value_type = Option<Uuid>)]
    pub lost_reason_id: Option<LostReasonId>,
    #[schema(example = "Preis zu hoch")]
    pub label: Option<String>,
    pub count: i64,
    /// Target values per currency.
    pub amounts: Vec<LostAmount>,
    /// Average days from creation to loss.
    #[serde(serialize_with = "days")]
    #[schema(value_type = Option<f64>, example = 41.5)]
    pub average_days: Option<Decimal>,
}

/// A lost value in one currency.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"currency": "EUR", "value": "25000.00"}))]
pub struct LostAmount {
    #[schema(example = "EUR")]
    pub currency: String,
    pub value: Money,
}

/// Won and lost opportunities closed in a period.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "from": "2025-11-23", "to": "2026-11-22", "won_count": 3, "lost_count": 1, "win_rate": 75.0,
    "average_days_to_win": 38.2, "average_days_to_lose": 12.0,
    "amounts": [{"currency": "EUR", "won_count": 3, "lost_count": 1, "won_value": "180000.00",
                 "lost_value": "25000.00"}],
    "lost_reasons": [{"lost_reason_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f40", "label": "Preis zu hoch",
                      "count": 1, "amounts": [{"currency": "EUR", "value": "25000.00"}], "average_days": 12.0}]
}))]
pub struct WinLossReport {
    /// First day of the period (closed on or after it, UTC).
    pub from: NaiveDate,
    /// Last day of the period (closed on or before it, UTC).
    pub to: NaiveDate,
    pub won_count: i64,
    pub lost_count: i64,
    /// won / (won + lost) × 100, by count; `null` when nothing closed.
    pub win_rate: Option<Percent>,
    /// Average days from creation to win.
    #[serde(serialize_with = "days")]
    #[schema(value_type = Option<f64>, example = 38.2)]
    pub average_days_to_win: Option<Decimal>,
    /// Average days from creation to loss.
    #[serde(serialize_with = "days")]
    #[schema(value_type = Option<f64>, example = 12.0)]
    pub average_days_to_lose: Option<Decimal>,
    /// Counts and values per currency.
    pub amounts: Vec<WinLossAmounts>,
    /// The lost ones per reason, most frequent first.
    pub lost_reasons: Vec<LostReasonSummary>,
}

impl WinLossReport {
    /// Rows come per reason (its totals, then its currencies), then the totals, then the
    /// currencies.
    pub fn new(from: NaiveDate, to: NaiveDate, rows: Vec<WinLossRow>) -> Self {
        let mut report = Self {
            from,
            to,
            won_count: 0,
            lost_count: 0,
            win_rate: None,
            average_days_to_win: None,
            average_days_to_lose: None,
            amounts: Vec::new(),
            lost_reasons: Vec::new(),
        };
        for row in rows {
            match (row.level, row.currency) {
                (3, _) => report.lost_reasons.push(LostReasonSummary {
                    lost_reason_id: row.lost_reason_id,
                    label: row.lost_reason,
                    count: row.lost_count,
                    amounts: Vec::new(),
                    average_days: row.lost_days,
                }),
                (2, Some(currency)) => {
                    if let Some(reason) = report.lost_reasons.last_mut() {
                        reason.amounts.push(LostAmount {
                            currency,
                            value: row.lost_value,
                        });
                    }
                }
                (1, _) => {
                    report.won_count = row.won_count;
                    report.lost_count = row.lost_count;
                    report.win_rate = row.win_rate;
                    report.average_days_to_win = row.won_days;
                    report.average_days_to_lose = row.lost_days;
                }
                (_, Some(currency)) => report.amounts.push(WinLossAmounts {
                    currency,
                    won_count: row.won_count,
                    lost_count: row.lost_count,
                    won_value: row.won_value,
                    lost_value: row.lost_value,
                }),
                (_, None) => {}
            }
        }
        report
    }
}

/// A stage and the opportunities that entered it in the period.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"stage_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f31", "code": "ERSTKONTAKT", "name": "Erstkontakt", "outcome": "open", "entered": 40, "moved_on": 30, "won_later": 8, "conversion_rate": 75.0, "win_rate": 20.0, "average_days": 6.5}))]
pub struct ConversionStage {
    #[schema(value_type = Uuid)]
    pub stage_id: StageId,
    #[schema(example = "ANGEBOT")]
    pub code: String,
    pub name: String,
    pub outcome: Outcome,
    /// Opportunities that first entered the stage in the period (re-entries are not counted).
    pub entered: i64,
    /// Of those: left it for a stage further down the funnel or the won stage.
    pub moved_on: i64,
    /// Of those: entered a won stage at or after their first entry.
    pub won_later: i64,
    /// moved_on / entered × 100; `null` when none entered.
    pub conversion_rate: Option<Percent>,
    /// won_later / entered × 100; `null` when none entered.
    pub win_rate: Option<Percent>,
    /// Average over the opportunities of their ended visits' days in the stage, re-entries
    /// added up; `null` when none has left it.
    #[serde(serialize_with = "days")]
    #[schema(value_type = Option<f64>, example = 6.5)]
    pub average_days: Option<Decimal>,
}

/// A funnel's stages in funnel order.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"funnel_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f30", "name": "Neuwagen", "stages": [{"stage_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f31", "code": "ERSTKONTAKT", "name": "Erstkontakt", "outcome": "open", "entered": 40, "moved_on": 30, "won_later": 8, "conversion_rate": 75.0, "win_rate": 20.0, "average_days": 6.5}]}))]
pub struct ConversionFunnel {
    #[schema(value_type = Uuid)]
    pub funnel_id: FunnelId,
    pub name: String,
    pub stages: Vec<ConversionStage>,
}

/// How opportunities that first entered each stage in a period went on.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "from": "2026-08-25", "to": "2026-11-22",
    "funnels": [{"funnel_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f30", "name": "Neuwagen", "stages": [
        {"stage_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f31", "code": "ERSTKONTAKT", "name": "Erstkontakt",
         "outcome": "open", "entered": 40, "moved_on": 30, "won_later": 8, "conversion_rate": 75.0,
         "win_rate": 20.0, "average_days": 6.5}
    ]}]
}))]
pub struct StageConversionReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub funnels: Vec<ConversionFunnel>,
}

impl StageConversionReport {
    /// Rows come per funnel, stages in funnel order.
    pub fn new(from: NaiveDate, to: NaiveDate, rows: Vec<ConversionRow>) -> Self {
        let mut funnels: Vec<ConversionFunnel> = Vec::new();
        for row in rows {
            if funnels.last().is_none_or(|f| f.funnel_id != row.funnel_id) {
                funnels.push(ConversionFunnel {
                    funnel_id: row.funnel_id,
                    name: row.funnel_name,
                    stages: Vec::new(),
                });
            }
            if let Some(funnel) = funnels.last_mut() {
                funnel.stages.push(ConversionStage {
                    stage_id: row.stage_id,
                    code: row.stage_code,
                    name: row.stage_name,
                    outcome: row.outcome,
                    entered: row.entered,
                    moved_on: row.moved_on,
                    won_later: row.won_later,
                    conversion_rate: row.conversion_rate,
                    win_rate: row.win_rate,
                    average_days: row.average_days,
                });
            }
        }
        Self { from, to, funnels }
    }
}
