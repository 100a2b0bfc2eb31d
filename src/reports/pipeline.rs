//! The pipeline and owners reports: where the open opportunities are now. Their bodies are
//! nested from the grouped rows PostgreSQL returns (every figure comes from SQL).

use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use super::store::{OwnerRow, PipelineRow};
use crate::domain::money::Money;
use crate::domain::pipeline::Outcome;
use crate::ids::{FunnelId, StageId, UserId};

/// Sums of one currency.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"currency": "EUR", "target_value": "130000.00", "weighted_value": "97500.00"}))]
pub struct Amounts {
    /// ISO 4217 code.
    #[schema(example = "EUR")]
    pub currency: String,
    pub target_value: Money,
    pub weighted_value: Money,
}

impl Amounts {
    pub(super) fn of(currency: Option<String>, target: Option<Money>, weighted: Option<Money>) -> Option<Self> {
        Some(Self {
            currency: currency?,
            target_value: target.unwrap_or_default(),
            weighted_value: weighted.unwrap_or_default(),
        })
    }
}

/// Opportunities in a stage now.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"stage_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f32", "code": "ANGEBOT", "name": "Angebot", "outcome": "open", "count": 2, "metric": null, "amounts": [{"currency": "EUR", "target_value": "130000.00", "weighted_value": "97500.00"}]}))]
pub struct PipelineStage {
    #[schema(value_type = Uuid)]
    pub stage_id: StageId,
    #[schema(example = "ANGEBOT")]
    pub code: String,
    #[schema(example = "Angebot")]
    pub name: String,
    pub outcome: Outcome,
    /// Opportunities in the stage, in every currency.
    pub count: i64,
    /// Target and weighted sums per currency; empty when the stage has none.
    pub amounts: Vec<Amounts>,
    /// The sum of the funnel formula's values (`metric`); `null` when none has one.
    #[schema(value_type = Option<String>, example = "75000.00")]
    pub metric: Option<Decimal>,
}

/// Totals of the stages of one outcome (open, won or lost).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"outcome": "open", "count": 2, "metric": "97500.00", "amounts": [{"currency": "EUR", "target_value": "130000.00", "weighted_value": "97500.00"}]}))]
pub struct OutcomeTotals {
    pub outcome: Outcome,
    pub count: i64,
    pub amounts: Vec<Amounts>,
    /// Within one funnel: the sum of its metric. Absent over several funnels, whose formulas
    /// differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub metric: Option<Decimal>,
}

/// One funnel's stages in funnel order, and its totals per outcome.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"funnel_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f30", "name": "Neuwagen", "metric_label": null, "stages": [{"stage_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f32", "code": "ANGEBOT", "name": "Angebot", "outcome": "open", "count": 2, "metric": null, "amounts": [{"currency": "EUR", "target_value": "130000.00", "weighted_value": "97500.00"}]}], "totals": [{"outcome": "open", "count": 2, "amounts": [{"currency": "EUR", "target_value": "130000.00", "weighted_value": "97500.00"}]}]}))]
pub struct PipelineFunnel {
    #[schema(value_type = Uuid)]
    pub funnel_id: FunnelId,
    pub name: String,
    /// What the funnel's `metric` means, e.g. "Deckungsbeitrag".
    pub metric_label: Option<String>,
    pub stages: Vec<PipelineStage>,
    pub totals: Vec<OutcomeTotals>,
}

/// How many opportunities are in each stage now, and what they are worth.
#[derive(Debug, Default, Serialize, ToSchema)]
#[schema(example = json!({
    "funnels": [{
        "funnel_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f30", "name": "Neuwagen", "metric_label": null,
        "stages": [
            {"stage_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f31", "code": "ERSTKONTAKT", "name": "Erstkontakt",
             "outcome": "open", "count": 0, "amounts": [], "metric": null},
            {"stage_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f32", "code": "ANGEBOT", "name": "Angebot",
             "outcome": "open", "count": 2, "metric": null,
             "amounts": [{"currency": "EUR", "target_value": "130000.00", "weighted_value": "97500.00"}]}
        ],
        "totals": [
            {"outcome": "open", "count": 2,
             "amounts": [{"currency": "EUR", "target_value": "130000.00", "weighted_value": "97500.00"}]},
            {"outcome": "won", "count": 0, "amounts": []},
            {"outcome": "lost", "count": 0, "amounts": []}
        ]
    }],
    "totals": [
        {"outcome": "open", "count": 2,
         "amounts": [{"currency": "EUR", "target_value": "130000.00", "weighted_value": "97500.00"}]},
        {"outcome": "won", "count": 0, "amounts": []},
        {"outcome": "lost", "count": 0, "amounts": []}
    ]
}))]
pub struct PipelineReport {
    pub funnels: Vec<PipelineFunnel>,
    /// Per outcome over all funnels shown.
    pub totals: Vec<OutcomeTotals>,
}

impl From<Vec<PipelineRow>> for PipelineReport {
    /// Rows come per funnel (stages in order, each with its count before its currencies, then
    /// the funnel's outcomes), then the outcomes over all funnels.
    fn from(rows: Vec<PipelineRow>) -> Self {
        let mut report = Self::default();
        for row in rows {
            let amounts = Amounts::of(row.currency, row.target_value, row.weighted_value);
            let totals = OutcomeTotals {
                outcome: row.outcome,
                count: row.count,
                amounts: Vec::new(),
                metric: row.metric,
            };
            match (row.level, row.funnel_id) {
                (1, Some(funnel_id)) => {
                    if report.funnels.last().is_none_or(|f| f.funnel_id != funnel_id) {
                        report.funnels.push(PipelineFunnel {
                            funnel_id,
                            name: row.funnel_name.unwrap_or_default(),
                            metric_label: row.metric_label,
                            stages: Vec::new(),
                            totals: Vec::new(),
                        });
                    }
                    if let (Some(funnel), Some(stage_id)) = (report.funnels.last_mut(), row.stage_id) {
                        funnel.stages.push(PipelineStage {
                            stage_id,
                            code: row.stage_code.unwrap_or_default(),
                            name: row.stage_name.unwrap_or_default(),
                            outcome: row.outcome,
                            count: row.count,
                            amounts: Vec::new(),
                            metric: row.metric,
                        });
                    }
                }
                (0, _) => {
                    if let Some(stage) = report.funnels.last_mut().and_then(|f| f.stages.last_mut()) {
                        stage.amounts.extend(amounts);
                    }
                }
                (3, _) => {
                    if let Some(funnel) = report.funnels.last_mut() {
                        funnel.totals.push(totals);
                    }
                }
                (2, _) => {
                    if let Some(outcome) = report.funnels.last_mut().and_then(|f| f.totals.last_mut()) {
                        outcome.amounts.extend(amounts);
                    }
                }
                (7, _) => report.totals.push(OutcomeTotals { metric: None, ..totals }),
                _ => {
                    if let Some(outcome) = report.totals.last_mut() {
                        outcome.amounts.extend(amounts);
                    }
                }
            }
        }
        report
    }
}

/// One owner's open opportunities.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"owner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f11", "name": "Anna Berger", "role": "rep", "open_count": 12, "partner_count": 9, "red_count": 2, "amounts": [{"currency": "EUR", "target_value": "412000.00", "weighted_value": "161500.00"}]}))]
pub struct OwnerSummary {
    #[schema(value_type = Uuid)]
    pub owner_id: UserId,
    #[schema(example = "Anna Berger")]
    pub name: String,
    #[schema(example = "rep")]
    pub role: String,
    pub open_count: i64,
    /// Distinct business partners of the open opportunities ("welche Interessenten").
    pub partner_count: i64,
    /// Open opportunities whose traffic light is red now.
    pub red_count: i64,
    pub amounts: Vec<Amounts>,
}

/// Per owner: what they work on now.
#[derive(Debug, Default, Serialize, ToSchema)]
#[schema(example = json!({"owners": [{
    "owner_id": "0193a1c2-7d1e-7c4a-9f00-2b6c1d9e8f11", "name": "Anna Berger", "role": "rep",
    "open_count": 12, "partner_count": 9, "red_count": 2,
    "amounts": [{"currency": "EUR", "target_value": "412000.00", "weighted_value": "161500.00"}]
}]}))]
pub struct OwnersReport {
    /// By name; active reps without open opportunities included (with zeros).
    pub owners: Vec<OwnerSummary>,
}

impl From<Vec<OwnerRow>> for OwnersReport {
    /// Rows come per owner: the totals first, then each currency.
    fn from(rows: Vec<OwnerRow>) -> Self {
        let mut report = Self::default();
        for row in rows {
            if row.level == 1 {
                report.owners.push(OwnerSummary {
                    owner_id: row.owner_id,
                    name: row.owner_name,
                    role: row.owner_role,
                    open_count: row.open_count,
                    partner_count: row.partner_count,
                    red_count: row.red_count,
                    amounts: Vec::new(),
                });
            } else if let Some(owner) = report.owners.last_mut() {
                owner
                    .amounts
                    .extend(Amounts::of(row.currency, row.target_value, row.weighted_value));
            }
        }
        report
    }
}
