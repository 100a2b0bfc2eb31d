//! Rules of stages and funnels: outcome probabilities, traffic-light thresholds, and what a
//! funnel's stage list must contain.

use crate::domain::Violation;
use crate::domain::money::Percent;

crate::domain::text_enum! {
    /// What reaching a stage means for an opportunity.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Outcome {
        /// Still being worked on.
        Open = "open",
        /// Won: probability 100.
        Won = "won",
        /// Lost: probability 0.
        Lost = "lost",
    }
}

/// The probability a stage must have (or gets by default) for its outcome: won ⇒ 100,
/// lost ⇒ 0; an open stage needs one given.
pub fn stage_probability(outcome: Outcome, given: Option<Percent>) -> Result<Percent, Violation> {
    let fixed = match outcome {
        Outcome::Won => Some(Percent::HUNDRED),
        Outcome::Lost => Some(Percent::ZERO),
        Outcome::Open => None,
    };
    match (fixed, given) {
        (Some(fixed), Some(given)) if fixed != given => Err(Violation::new(
            "probability",
            "outcome_probability",
            format!("a {outcome} stage has probability {}", fixed.value()),
        )),
        (Some(fixed), _) => Ok(fixed),
        (None, Some(given)) => Ok(given),
        (None, None) => Err(Violation::new(
            "probability",
            "required",
            "an open stage needs a probability",
        )),
    }
}

/// Traffic-light thresholds: each at least 1 day, critical later than warn.
pub fn thresholds(warn: Option<i32>, critical: Option<i32>) -> Vec<Violation> {
    let mut errors = Vec::new();
    for (field, days) in [("warn_after_days", warn), ("critical_after_days", critical)] {
        if days.is_some_and(|d| !(1..=3650).contains(&d)) {
            errors.push(Violation::new(field, "range", "must be from 1 to 3650 days"));
        }
    }
    if let (Some(warn), Some(critical)) = (warn, critical)
        && critical <= warn
    {
        errors.push(Violation::new(
            "critical_after_days",
            "after_warn",
            "must be greater than warn_after_days",
        ));
    }
    errors
}

/// A stage as a funnel sees it.
#[derive(Debug, Clone, Copy)]
pub struct FunnelStage {
    pub outcome: Outcome,
    pub active: bool,
}

/// A funnel's ordered stages: no duplicates, all existing and active, at least one open,
/// exactly one won and at least one lost. `found[i]` is the stage of `ids[i]`, if it exists.
pub fn funnel_stages<Id: PartialEq + std::fmt::Display>(ids: &[Id], found: &[Option<FunnelStage>]) -> Vec<Violation> {
    let mut errors = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let field = format!("stage_ids[{i}]");
        if ids[..i].contains(id) {
            errors.push(Violation::new(
                field,
                "duplicate",
                format!("stage {id} is listed twice"),
            ));
            continue;
        }
        match found.get(i).copied().flatten() {
            None => errors.push(Violation::new(field, "not_found", format!("stage {id} does not exist"))),
            Some(stage) if !stage.active => {
                errors.push(Violation::new(field, "inactive", format!("stage {id} is not active")))
            }
            Some(_) => {}
        }
    }
    let count = |outcome: Outcome| found.iter().flatten().filter(|s| s.outcome == outcome).count();
    if count(Outcome::Open) == 0 {
        errors.push(Violation::new(
            "stage_ids",
            "no_open_stage",
            "a funnel needs at least one open stage",
        ));
    }
    if count(Outcome::Won) != 1 {
        errors.push(Violation::new(
            "stage_ids",
            "won_stage",
            "a funnel needs exactly one won stage",
        ));
    }
    if count(Outcome::Lost) == 0 {
        errors.push(Violation::new(
            "stage_ids",
            "no_lost_stage",
            "a funnel needs at least one lost stage",
        ));
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn pct(n: i64) -> Option<Percent> {
        Percent::new(Decimal::from(n))
    }

    #[test]
    fn won_is_100_lost_is_0_open_needs_one() {
        assert_eq!(stage_probability(Outcome::Won, None).ok(), pct(100));
        assert_eq!(stage_probability(Outcome::Lost, pct(0)).ok(), pct(0));
        assert!(stage_probability(Outcome::Won, pct(90)).is_err());
        assert!(stage_probability(Outcome::Lost, pct(5)).is_err());
        assert!(stage_probability(Outcome::Open, None).is_err());
        assert_eq!(stage_probability(Outcome::Open, pct(40)).ok(), pct(40));
    }

    #[test]
    fn critical_must_follow_warn() {
        assert!(thresholds(Some(7), Some(14)).is_empty());
        assert!(thresholds(None, Some(3)).is_empty());
        assert_eq!(thresholds(Some(7), Some(7)).len(), 1);
        assert_eq!(thresholds(Some(0), None).len(), 1);
    }

    #[test]
    fn a_funnel_needs_open_won_and_lost_stages_once_each() {
        let open = Some(FunnelStage {
            outcome: Outcome::Open,
            active: true,
        });
        let won = Some(FunnelStage {
            outcome: Outcome::Won,
            active: true,
        });
        let lost = Some(FunnelStage {
            outcome: Outcome::Lost,
            active: true,
        });
        assert!(funnel_stages(&[1, 2, 3], &[open, won, lost]).is_empty());
        let codes = |e: Vec<Violation>| e.into_iter().map(|e| e.code).collect::<Vec<_>>();
        assert_eq!(codes(funnel_stages(&[1, 2], &[open, lost])), vec!["won_stage"]);
        assert_eq!(
            codes(funnel_stages(&[1, 2, 3, 4], &[open, won, won, lost])),
            vec!["won_stage"]
        );
        assert_eq!(
            codes(funnel_stages(&[1, 1, 2, 3], &[open, open, won, lost])),
            vec!["duplicate"]
        );
        assert_eq!(
            codes(funnel_stages(&[1, 2, 3, 9], &[open, won, lost, None])),
            vec!["not_found"]
        );
        let inactive = Some(FunnelStage {
            outcome: Outcome::Open,
            active: false,
        });
        assert_eq!(
            codes(funnel_stages(&[1, 2, 3], &[inactive, won, lost])),
            vec!["inactive"]
        );
    }
}
