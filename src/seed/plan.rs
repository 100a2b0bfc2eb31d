//! Drafting realistic bulk opportunities from the configuration in the database.
//!
//! Opportunities are created evenly over the last two years, oldest first (so their v7 ids,
//! taken from the creation time, arrive in order). Young ones are mostly open, old ones mostly
//! won or lost (about 60 % open, 25 % won and 15 % lost in all). Open ones get a last contact
//! that makes about half of them green, a third yellow and a fifth red against their stage's or
//! funnel's thresholds; every time is kept at least ten minutes away from a whole number of days
//! before now, so day counts and traffic lights hold for that long after seeding.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use rand::Rng;
use rand::rngs::SmallRng;
use rust_decimal::Decimal;

use crate::access::Role;
use crate::articles::store::ArticleRow;
use crate::db::Conn;
use crate::domain::formula::Formula;
use crate::domain::pipeline::Outcome;
use crate::error::AppError;
use crate::funnels::store::FunnelRow;
use crate::ids::{FunnelId, LostReasonId, PartnerId, StageId, UserId};
use crate::schema::{articles, business_partners, classes, funnel_stages, funnels, lost_reasons, stages, users};
use crate::stages::store::StageRow;

pub(super) const DAY: i64 = 86_400;

/// How far back opportunities are created.
pub(super) const SPAN: i64 = 730 * DAY;

/// The least distance, in seconds, of a time from a whole number of days before now.
pub(super) const EDGE: i64 = 600;

/// Partners drawn from (the first by id).
const MAX_PARTNERS: i64 = 2_000_000;

/// A stage as drafting needs it, with the traffic-light thresholds in force there.
pub(super) struct StagePlan {
    pub(super) id: StageId,
    pub(super) probability: Decimal,
    pub(super) requires_lines: bool,
    pub(super) warn_days: i64,
    pub(super) critical_days: i64,
}

pub(super) struct FunnelPlan {
    pub(super) id: FunnelId,
    pub(super) formula: Option<Formula>,
    /// In funnel order.
    pub(super) open: Vec<StagePlan>,
    pub(super) won: StagePlan,
    pub(super) lost: StagePlan,
}

pub(super) struct ClassPlan {
    pub(super) id: String,
    /// Index into `Plan::funnels`.
    pub(super) funnel: usize,
    pub(super) owner: Option<UserId>,
}

/// What bulk opportunities are drafted from.
pub(super) struct Plan {
    pub(super) funnels: Vec<FunnelPlan>,
    pub(super) classes: Vec<ClassPlan>,
    /// Cheapest first.
    pub(super) articles: Vec<ArticleRow>,
    pub(super) lost_reasons: Vec<LostReasonId>,
    pub(super) partners: Vec<(PartnerId, String)>,
    pub(super) owners: Vec<UserId>,
    pub(super) currency: String,
}

fn needs(what: &str) -> AppError {
    AppError::Internal(format!("bulk opportunities need {what}: load the demo data first"))
}

impl Plan {
    /// Reads the active funnels (with an open, a won and a lost stage), the classes routing to
    /// them, articles, lost reasons, partners, and the reps and managers as owners.
    pub async fn load(conn: &mut Conn) -> Result<Plan, AppError> {
        let funnel_rows: Vec<FunnelRow> = funnels::table
            .filter(funnels::active.eq(true))
            .order(funnels::id)
            .select(FunnelRow::as_select())
            .load(conn)
            .await?;
        let members: Vec<(FunnelId, StageRow)> = funnel_stages::table
            .inner_join(stages::table)
            .filter(stages::active.eq(true))
            .order((funnel_stages::funnel_id, funnel_stages::position))
            .select((funnel_stages::funnel_id, StageRow::as_select()))
            .load(conn)
            .await?;
        let funnels: Vec<FunnelPlan> = funnel_rows
            .iter()
            .filter_map(|funnel| funnel_plan(funnel, &members))
            .collect();
        let classes: Vec<ClassPlan> = classes::table
            .filter(classes::active.eq(true))
            .order(classes::id)
            .select((classes::id, classes::default_funnel_id, classes::default_owner_id))
            .load::<(String, Option<FunnelId>, Option<UserId>)>(conn)
            .await?
            .into_iter()
            .filter_map(|(id, funnel, owner)| {
                let funnel = funnels.iter().position(|f| Some(f.id) == funnel)?;
                Some(ClassPlan { id, funnel, owner })
            })
            .collect();
        let plan = Plan {
            articles: articles::table
                .filter(articles::active.eq(true))
                .order((articles::unit_price, articles::sku))
                .select(ArticleRow::as_select())
                .load(conn)
                .await?,
            lost_reasons: lost_reasons::table
                .filter(lost_reasons::active.eq(true))
                .order(lost_reasons::id)
                .select(lost_reasons::id)
                .load(conn)
                .await?,
            partners: business_partners::table
                .order(business_partners::id)
                .limit(MAX_PARTNERS)
                .select((business_partners::id, business_partners::name))
                .load(conn)
                .await?,
            owners: users::table
                .filter(users::active.eq(true))
                .filter(users::role.eq_any([Role::Rep, Role::Manager]))
                .order(users::id)
                .select(users::id)
                .load(conn)
                .await?,
            currency: crate::settings::store::default_currency(conn).await?,
            funnels,
            classes,
        };
        for (empty, what) in [
            (
                plan.classes.is_empty(),
                "an active class routing to a funnel with open, won and lost stages",
            ),
            (plan.articles.is_empty(), "active articles"),
            (plan.lost_reasons.is_empty(), "active lost reasons"),
            (plan.partners.is_empty(), "business partners"),
            (plan.owners.is_empty(), "active reps or managers"),
        ] {
            if empty {
                return Err(needs(what));
            }
        }
        Ok(plan)
    }
}

fn funnel_plan(funnel: &FunnelRow, members: &[(FunnelId, StageRow)]) -> Option<FunnelPlan> {
    let stages = members
        .iter()
        .filter(|(id, _)| *id == funnel.id)
        .map(|(_, stage)| stage);
    let plan = |stage: &StageRow| StagePlan {
        id: stage.id,
        probability: stage.probability.value(),
        requires_lines: stage.requires_lines,
        warn_days: i64::from(stage.warn_after_days.unwrap_or(funnel.warn_after_days)),
        critical_days: i64::from(stage.critical_after_days.unwrap_or(funnel.critical_after_days)),
    };
    let of = |outcome: Outcome| stages.clone().filter(move |s| s.outcome == outcome);
    let open: Vec<StagePlan> = of(Outcome::Open).map(plan).collect();
    let won = of(Outcome::Won).next().map(plan)?;
    let lost = of(Outcome::Lost).next().map(plan)?;
    (!open.is_empty()).then(|| FunnelPlan {
        id: funnel.id,
        // As the refresh does: a formula that does not parse gives no metric.
        formula: funnel
            .metric_formula
            .as_deref()
            .and_then(|text| Formula::parse(text).ok()),
        open,
        won,
        lost,
    })
}

/// `ago` seconds moved within its day (counted back from now) to at least [`EDGE`] from the
/// day's ends: the whole days it spans stay the same.
pub(super) fn snap(ago: i64) -> i64 {
    let into_day = ago.rem_euclid(DAY);
    ago - into_day + into_day.clamp(EDGE, DAY - EDGE)
}

/// A number in `0..n`, small ones more likely (weights n, n−1, …, 1).
pub(super) fn early_index(rng: &mut SmallRng, n: usize) -> usize {
    let total = n * (n + 1) / 2;
    let mut pick = rng.random_range(0..total.max(1));
    for index in 0..n {
        let weight = n - index;
        if pick < weight {
            return index;
        }
        pick -= weight;
    }
    0
}

/// An index into `weights`, drawn by weight.
pub(super) fn weighted(rng: &mut SmallRng, weights: &[u32]) -> usize {
    let mut pick = rng.random_range(0..weights.iter().sum::<u32>().max(1));
    for (index, &weight) in weights.iter().enumerate() {
        if pick < weight {
            return index;
        }
        pick -= weight;
    }
    0
}

#[cfg(test)]
mod tests;
