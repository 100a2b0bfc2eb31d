//! Rules of an opportunity: line totals, entering a stage, whole days for the metric.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::domain::Violation;
use crate::domain::formula::Inputs;
use crate::domain::money::round2;
use crate::domain::pipeline::Outcome;

/// quantity × unit price × (1 − discount / 100), rounded once (half away from zero).
pub fn line_total(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal) -> Decimal {
    round2(quantity * unit_price * (Decimal::ONE_HUNDRED - discount_percent) / Decimal::ONE_HUNDRED)
}

/// The probability of an opportunity: won 100, lost 0, else its override or its stage's. (The
/// API's refresh states it in SQL, `opportunities/derive.rs`; a seed test compares the two.)
pub fn probability(outcome: Outcome, probability_override: Option<Decimal>, stage: Decimal) -> Decimal {
    match outcome {
        Outcome::Won => Decimal::ONE_HUNDRED,
        Outcome::Lost => Decimal::ZERO,
        Outcome::Open => probability_override.unwrap_or(stage),
    }
}

/// Target value × probability / 100, to the cent.
pub fn weighted_value(target_value: Decimal, probability: Decimal) -> Decimal {
    round2(target_value * probability / Decimal::ONE_HUNDRED)
}

/// Whole days from `from` until `to`; 0 when `to` is not later.
pub fn whole_days(from: DateTime<Utc>, to: DateTime<Utc>) -> Decimal {
    Decimal::from((to - from).num_days().max(0))
}

/// What the funnel formula knows of an opportunity.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    pub target_value: Decimal,
    pub probability: Decimal,
    pub weighted_value: Decimal,
    pub line_count: i32,
    pub quantity: Decimal,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub last_contact_at: DateTime<Utc>,
}

impl Facts {
    /// The formula's variables at `now`; a closed opportunity stops ageing at its close.
    pub fn inputs(&self, now: DateTime<Utc>) -> Inputs {
        Inputs {
            target_value: self.target_value,
            probability: self.probability,
            weighted_value: self.weighted_value,
            line_count: Decimal::from(self.line_count),
            quantity: self.quantity,
            days_open: whole_days(self.created_at, self.closed_at.unwrap_or(now)),
            days_since_contact: whole_days(self.last_contact_at, now),
            custom: Default::default(),
        }
    }
}

/// A stage an opportunity is about to enter, as its funnel sees it.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub outcome: Outcome,
    pub requires_lines: bool,
    pub active: bool,
    /// Whether the stage belongs to the opportunity's funnel.
    pub in_funnel: bool,
}

/// What entering a stage asks for: the stage exists, is active and in the funnel; a
/// `requires_lines` stage needs lines; a lost stage needs a lost reason and only a lost stage
/// takes one. `stage` is `None` when no such stage exists.
pub fn check_entry(stage: Option<Entry>, line_count: i32, lost_reason_given: bool) -> Vec<Violation> {
    let mut errors = Vec::new();
    let Some(stage) = stage else {
        errors.push(Violation::new("stage_id", "not_found", "no such stage"));
        return errors;
    };
    if !stage.in_funnel {
        errors.push(Violation::new(
            "stage_id",
            "not_in_funnel",
            "the stage does not belong to the opportunity's funnel",
        ));
    } else if !stage.active {
        errors.push(Violation::new("stage_id", "inactive", "the stage is not active"));
    } else if stage.requires_lines && line_count == 0 {
        errors.push(Violation::new(
            "stage_id",
            "requires_lines",
            "this stage may only be entered by an opportunity with lines",
        ));
    }
    match (stage.outcome, lost_reason_given) {
        (Outcome::Lost, false) => errors.push(Violation::new(
            "lost_reason_id",
            "required",
            "a lost stage needs a lost reason",
        )),
        (Outcome::Open | Outcome::Won, true) => errors.push(Violation::new(
            "lost_reason_id",
            "not_lost",
            "only a lost stage takes a lost reason",
        )),
        _ => {}
    }
    errors
}

/// What entering an open stage asks for, where the request cannot close the opportunity
/// (creating it, reopening it, a patch of `stage_id`): [`check_entry`], and a won or lost stage
/// is refused as `not_open` with `why`, rather than asking for a lost reason the request
/// cannot carry.
pub fn check_open_entry(stage: Option<Entry>, line_count: i32, why: &str) -> Vec<Violation> {
    let mut errors = check_entry(stage, line_count, false);
    errors.retain(|e| e.field != "lost_reason_id");
    if stage.is_some_and(|s| s.outcome != Outcome::Open) {
        errors.push(Violation::new("stage_id", "not_open", why));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: Entry = Entry {
        outcome: Outcome::Open,
        requires_lines: false,
        active: true,
        in_funnel: true,
    };

    fn codes(errors: &[Violation]) -> Vec<(&str, &str)> {
        errors.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect()
    }

    #[test]
    fn line_totals_round_once_half_away_from_zero() {
        assert_eq!(
            line_total(Decimal::new(3, 0), Decimal::new(3333, 2), Decimal::ZERO),
            Decimal::new(9999, 2)
        );
        // 1.5 × 0.33 × 0.9 = 0.4455 → 0.45
        assert_eq!(
            line_total(Decimal::new(15, 1), Decimal::new(33, 2), Decimal::TEN),
            Decimal::new(45, 2)
        );
        assert_eq!(
            line_total(Decimal::ONE, Decimal::new(5000, 2), Decimal::ONE_HUNDRED),
            Decimal::ZERO
        );
    }

    #[test]
    fn whole_days_floor_and_never_go_negative() {
        let start = DateTime::parse_from_rfc3339("2026-11-01T12:00:00Z").map(|d| d.with_timezone(&Utc));
        let Ok(start) = start else { panic!("valid date") };
        assert_eq!(whole_days(start, start + chrono::Duration::hours(47)), Decimal::ONE);
        assert_eq!(whole_days(start, start - chrono::Duration::days(3)), Decimal::ZERO);
    }

    #[test]
    fn entering_a_stage() {
        assert!(check_entry(Some(OPEN), 0, false).is_empty());
        assert_eq!(codes(&check_entry(None, 0, false)), [("stage_id", "not_found")]);
        let elsewhere = Entry {
            in_funnel: false,
            ..OPEN
        };
        assert_eq!(
            codes(&check_entry(Some(elsewhere), 0, false)),
            [("stage_id", "not_in_funnel")]
        );
        let needs_lines = Entry {
            requires_lines: true,
            ..OPEN
        };
        assert_eq!(
            codes(&check_entry(Some(needs_lines), 0, false)),
            [("stage_id", "requires_lines")]
        );
        assert!(check_entry(Some(needs_lines), 2, false).is_empty());
        let lost = Entry {
            outcome: Outcome::Lost,
            ..OPEN
        };
        assert_eq!(
            codes(&check_entry(Some(lost), 0, false)),
            [("lost_reason_id", "required")]
        );
        assert!(check_entry(Some(lost), 0, true).is_empty());
        assert_eq!(
            codes(&check_entry(Some(OPEN), 0, true)),
            [("lost_reason_id", "not_lost")]
        );
    }

    #[test]
    fn entering_an_open_stage_refuses_closed_ones_without_asking_for_a_reason() {
        assert!(check_open_entry(Some(OPEN), 0, "open only").is_empty());
        for outcome in [Outcome::Won, Outcome::Lost] {
            let closed = Entry { outcome, ..OPEN };
            assert_eq!(
                codes(&check_open_entry(Some(closed), 0, "open only")),
                [("stage_id", "not_open")]
            );
        }
        let needs_lines = Entry {
            requires_lines: true,
            ..OPEN
        };
        assert_eq!(
            codes(&check_open_entry(Some(needs_lines), 0, "open only")),
            [("stage_id", "requires_lines")]
        );
        assert_eq!(
            codes(&check_open_entry(None, 0, "open only")),
            [("stage_id", "not_found")]
        );
    }
}
