//! Opportunity rows for the seeds. A [`Draft`] is one opportunity with its lines, stage path
//! and activities; a [`Batch`] holds many, column by column, and writes each table with one
//! statement that binds every column as an array (`INSERT … SELECT * FROM unnest(…)`): a few
//! round trips per ten thousand opportunities.
//!
//! The demo set goes in with the placeholders the API inserts too and lets the API's refresh
//! compute the derived columns; bulk data computes them here ([`Draft::derive`]) with the
//! domain rules, and a test checks that the refresh would change nothing.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::articles::store::ArticleRow;
use crate::domain::activity::ActivityKind;
use crate::domain::formula::Formula;
use crate::domain::money::round2;
use crate::domain::opportunity::{self, Facts, line_total};
use crate::domain::pipeline::Outcome;
use crate::ids::{
    ActivityId, ArticleId, FunnelId, LostReasonId, OpportunityId, OpportunityLineId, PartnerId, StageId, UserId,
};

/// An article line.
pub(super) struct Line {
    pub id: OpportunityLineId,
    pub article_id: Option<ArticleId>,
    pub sku: Option<String>,
    pub description: String,
    pub quantity: Decimal,
    pub unit: String,
    pub unit_price: Decimal,
    pub discount_percent: Decimal,
    pub tax_rate: Decimal,
    pub created_at: DateTime<Utc>,
}

impl Line {
    /// A line of `quantity` of `article` at its catalogue price.
    pub fn of(id: Uuid, article: &ArticleRow, quantity: Decimal, discount_percent: Decimal, at: DateTime<Utc>) -> Self {
        Line {
            id: id.into(),
            article_id: Some(article.id),
            sku: Some(article.sku.clone()),
            description: article.name.clone(),
            quantity,
            unit: article.unit.clone(),
            unit_price: article.unit_price.amount(),
            discount_percent,
            tax_rate: article.tax_rate.value(),
            created_at: at,
        }
    }

    pub(super) fn total(&self) -> Decimal {
        line_total(self.quantity, self.unit_price, self.discount_percent)
    }
}

/// A stage the opportunity entered; the first one at its creation.
pub(super) struct Step {
    pub id: Uuid,
    pub stage_id: StageId,
    /// The probability from then on, as the history records it.
    pub probability: Decimal,
    pub lost_reason_id: Option<LostReasonId>,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

/// An activity of the opportunity (with its partner and owner).
pub(super) struct Activity {
    pub id: ActivityId,
    pub kind: ActivityKind,
    pub subject: String,
    pub body: Option<String>,
    /// Done at `at`, else planned and due at `at`.
    pub done: bool,
    pub at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl Activity {
    fn is_contact(&self) -> bool {
        self.done && self.kind.is_contact()
    }
}

/// An opportunity to insert, with everything that hangs off it.
pub(super) struct Draft {
    pub id: OpportunityId,
    pub subject: String,
    pub description: Option<String>,
    pub business_partner_id: PartnerId,
    pub class_id: String,
    pub funnel_id: FunnelId,
    pub owner_id: UserId,
    pub currency: String,
    /// The outcome of its current stage.
    pub status: Outcome,
    pub probability_override: Option<Decimal>,
    /// Its target value while it has no lines.
    pub manual_target: Decimal,
    pub expected_close_date: Option<NaiveDate>,
    pub erp: Option<(String, DateTime<Utc>)>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub lines: Vec<Line>,
    /// The stage it was created in.
    pub start: Step,
    /// Later stage changes, oldest first; the last is its current stage.
    pub moves: Vec<Step>,
    pub activities: Vec<Activity>,
}

/// The derived columns of an opportunity.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Derived {
    pub probability: Decimal,
    pub target_value: Decimal,
    pub weighted_value: Decimal,
    pub line_count: i32,
    pub quantity: Decimal,
    pub last_contact_at: DateTime<Utc>,
    pub metric: Option<Decimal>,
    /// The earliest planned activity: id, kind, subject and due date.
    pub next_activity: Option<(ActivityId, ActivityKind, String, DateTime<Utc>)>,
}

impl Draft {
    pub(super) fn current(&self) -> &Step {
        self.moves.last().unwrap_or(&self.start)
    }

    pub(super) fn closed_at(&self) -> Option<DateTime<Utc>> {
        (self.status != Outcome::Open).then(|| self.current().at)
    }

    /// The sum of its line totals once it has lines, else the manual value.
    pub fn target_value(&self) -> Decimal {
        if self.lines.is_empty() {
            self.manual_target
        } else {
            self.lines.iter().map(Line::total).sum()
        }
    }

    /// What the API's refresh computes for it at `now`: `stage_probability` is its current
    /// stage's, `formula` its funnel's metric.
    pub fn derive(&self, stage_probability: Decimal, formula: Option<&Formula>, now: DateTime<Utc>) -> Derived {
        let target_value = self.target_value();
        let probability = opportunity::probability(self.status, self.probability_override, stage_probability);
        let weighted_value = opportunity::weighted_value(target_value, probability);
        let line_count = i32::try_from(self.lines.len()).unwrap_or(i32::MAX);
        let quantity = self.lines.iter().map(|l| l.quantity).sum();
        let last_contact_at = self
            .activities
            .iter()
            .filter(|a| a.is_contact())
            .map(|a| a.at)
            .max()
            .unwrap_or(self.created_at);
        // Every planned activity of a draft has a due date; ties go to the lower id, as in SQL.
        let next_activity = self
            .activities
            .iter()
            .filter(|a| !a.done)
            .min_by_key(|a| (a.at, a.id.0))
            .map(|a| (a.id, a.kind, a.subject.clone(), a.at));
        let inputs = Facts {
            target_value,
            probability,
            weighted_value,
            line_count,
            quantity,
            created_at: self.created_at,
            closed_at: self.closed_at(),
            last_contact_at,
        }
        .inputs(now);
        Derived {
            probability,
            target_value,
            weighted_value,
            line_count,
            quantity,
            last_contact_at,
            metric: formula.and_then(|f| f.evaluate(&inputs)).map(round2),
            next_activity,
        }
    }

    /// The derived columns as the API inserts them, before its refresh.
    pub fn placeholder(&self) -> Derived {
        Derived {
            probability: Decimal::ZERO,
            target_value: self.manual_target,
            weighted_value: Decimal::ZERO,
            line_count: 0,
            quantity: Decimal::ZERO,
            last_contact_at: self.created_at,
            metric: None,
            next_activity: None,
        }
    }
}

/// Rows written, per table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub opportunities: usize,
    pub lines: usize,
    pub stage_changes: usize,
    pub activities: usize,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, other: Counts) {
        self.opportunities += other.opportunities;
        self.lines += other.lines;
        self.stage_changes += other.stage_changes;
        self.activities += other.activities;
    }
}

/// Whether rows whose id exists already are skipped (the demo) or an error (bulk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Existing {
    Skip,
    Fail,
}

/// Now, to the second: stored timestamps keep microseconds, so the day counts computed here and
/// after a round trip through the database agree.
pub(super) fn now_in_seconds() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
}

#[cfg(test)]
mod tests;
