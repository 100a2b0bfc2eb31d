//! Drafting bulk opportunities from the plan: their path through the stages, times, lines and
//! activities.

use super::catalogue::{DESCRIPTIONS, KINDS, Kind, LOST_NOTES, PLANNED, TOPICS};
use super::copy::Batch;
use super::plan::{ClassPlan, DAY, EDGE, FunnelPlan, Plan, SPAN, StagePlan, early_index, snap, weighted};
use chrono::{DateTime, Datelike, Duration, Utc};
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use tokio::sync::mpsc::Sender;
use uuid::Uuid;

use super::rows::{Activity, Derived, Draft, Line, Step, now_in_seconds};
use crate::domain::activity::ActivityKind;
use crate::domain::opportunity;
use crate::domain::pipeline::Outcome;

/// Randomness and the clock of one drafting run.
struct Dice {
    rng: SmallRng,
    now: DateTime<Utc>,
    erp_orders: u32,
}

impl Dice {
    fn at(&self, ago: i64) -> DateTime<Utc> {
        self.now - Duration::seconds(ago)
    }

    /// A v7 id for something created at `at`.
    fn id(&mut self, at: DateTime<Utc>) -> Uuid {
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(millis, &self.rng.random()).into_uuid()
    }

    /// A time (seconds before now) between `earliest` and `latest`.
    fn between(&mut self, earliest: i64, latest: i64) -> i64 {
        if earliest <= latest {
            latest
        } else {
            self.rng.random_range(latest..=earliest)
        }
    }

    fn index(&mut self, len: usize) -> usize {
        self.rng.random_range(0..len.max(1))
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    fn pick<'a>(&mut self, texts: &[&'a str]) -> &'a str {
        texts.choose(&mut self.rng).copied().unwrap_or_default()
    }
}

/// The times of an opportunity, in seconds before now.
struct Times {
    created: i64,
    /// When each stage of its path was entered, the first at the creation.
    steps: Vec<i64>,
    /// The latest contact of an open one; the creation when nobody has been contacted.
    contact: i64,
}

struct Drafter {
    plan: Plan,
    dice: Dice,
    count: u32,
}

/// Drafts `count` opportunities and sends them in batches of `batch_size`; stops early when
/// the receiver is gone (the load failed).
pub(super) fn draft_all(plan: Plan, count: u32, batch_size: usize, sender: &Sender<Batch>) {
    let mut drafter = Drafter {
        plan,
        dice: Dice {
            rng: SmallRng::from_rng(&mut rand::rng()),
            now: now_in_seconds(),
            erp_orders: 0,
        },
        count,
    };
    let mut batch = Batch::default();
    for i in 0..count {
        let (draft, derived) = drafter.draft(i);
        batch.push(draft, &derived);
        if batch.len() >= batch_size && sender.blocking_send(std::mem::take(&mut batch)).is_err() {
            return;
        }
    }
    if batch.len() > 0 {
        // A closed channel means the load failed; it reports why.
        let _ = sender.blocking_send(batch);
    }
}

impl Drafter {
    /// Opportunity `i` of `count` (the later, the younger) and its derived columns.
    fn draft(&mut self, i: u32) -> (Draft, Derived) {
        let Drafter { plan, dice, count } = self;
        let share = (f64::from(*count - i) - dice.rng.random::<f64>()) / f64::from(*count);
        let created = snap((share * SPAN as f64) as i64);
        let class = &plan.classes[dice.index(plan.classes.len())];
        let funnel = &plan.funnels[class.funnel];
        let open_odds = 0.1 + 0.9 * (-(created as f64) / (550.0 * DAY as f64)).exp();
        let status = if dice.chance(open_odds) {
            Outcome::Open
        } else if dice.chance(0.625) {
            Outcome::Won
        } else {
            Outcome::Lost
        };
        let mut stages: Vec<&StagePlan> = path(dice, funnel, status)
            .into_iter()
            .map(|i| &funnel.open[i])
            .collect();
        match status {
            Outcome::Open => {}
            Outcome::Won => stages.push(&funnel.won),
            Outcome::Lost => stages.push(&funnel.lost),
        }
        let times = times(dice, created, &stages, status);
        let draft = assemble(plan, dice, class, status, &stages, &times);
        let stage_probability = stages.last().map_or(Decimal::ZERO, |s| s.probability);
        let derived = draft.derive(stage_probability, funnel.formula.as_ref(), dice.now);
        (draft, derived)
    }
}

/// Indexes of the open stages it went through: usually from the first, skipping some.
fn path(dice: &mut Dice, funnel: &FunnelPlan, status: Outcome) -> Vec<usize> {
    let open = funnel.open.len();
    let reached = match status {
        Outcome::Won if dice.chance(0.6) => open - 1,
        _ => early_index(&mut dice.rng, open),
    };
    let first = if dice.chance(0.85) { 0 } else { reached };
    let mut path = vec![first];
    for stage in first + 1..=reached {
        if stage == reached || dice.chance(0.7) {
            path.push(stage);
        }
    }
    path
}

fn times(dice: &mut Dice, created: i64, stages: &[&StagePlan], status: Outcome) -> Times {
    let end = match status {
        Outcome::Open => EDGE.min(created),
        Outcome::Won | Outcome::Lost => {
            let days = 1.0 - (1.0 - dice.rng.random::<f64>()).ln() * 40.0;
            let took = ((days * DAY as f64) as i64).min(240 * DAY);
            (created - took).max(EDGE.min(created))
        }
    };
    let mut steps: Vec<i64> = (1..stages.len()).map(|_| dice.between(created, end)).collect();
    steps.sort_unstable_by(|a, b| b.cmp(a));
    if let (Outcome::Won | Outcome::Lost, Some(closed)) = (status, steps.last_mut()) {
        *closed = end;
    }
    steps.insert(0, created);
    let mut contact = created;
    if let (Outcome::Open, Some(stage)) = (status, stages.last()) {
        let (warn, critical) = (stage.warn_days * DAY, stage.critical_days * DAY);
        let colour = dice.rng.random::<f64>();
        let ago = if colour < 0.5 {
            dice.rng.random_range(0..warn.max(1))
        } else if colour < 0.82 {
            dice.rng.random_range(warn..critical.max(warn + 1))
        } else {
            dice.rng.random_range(critical..critical + 120 * DAY)
        };
        contact = snap(ago.min(created)).min(created);
    }
    Times {
        created,
        steps,
        contact,
    }
}

fn assemble(
    plan: &Plan,
    dice: &mut Dice,
    class: &ClassPlan,
    status: Outcome,
    stages: &[&StagePlan],
    times: &Times,
) -> Draft {
    let created_at = dice.at(times.created);
    let owner = match class.owner {
        Some(owner) if dice.chance(0.6) => owner,
        _ => plan.owners[dice.index(plan.owners.len())],
    };
    let (partner, partner_name) = &plan.partners[dice.index(plan.partners.len())];
    let probability_override =
        (status == Outcome::Open && dice.chance(0.04)).then(|| Decimal::from(10 * (1 + dice.index(8)) as i64));
    let lost = (status == Outcome::Lost).then(|| {
        let reason = plan.lost_reasons[dice.index(plan.lost_reasons.len())];
        let note = dice.chance(0.6).then(|| dice.pick(&LOST_NOTES).to_owned());
        (reason, note)
    });
    let last = stages.len() - 1;
    let mut steps = Vec::with_capacity(stages.len());
    for (k, (stage, &ago)) in stages.iter().zip(&times.steps).enumerate() {
        let closing = k == last && status != Outcome::Open;
        let outcome = if closing { status } else { Outcome::Open };
        let (lost_reason_id, note) = match (&lost, closing) {
            (Some((reason, note)), true) => (Some(*reason), note.clone()),
            _ => (None, None),
        };
        let at = dice.at(ago);
        steps.push(Step {
            id: dice.id(at),
            stage_id: stage.id,
            probability: opportunity::probability(outcome, probability_override, stage.probability),
            lost_reason_id,
            note,
            at,
        });
    }
    let closed = times.steps.last().copied().unwrap_or(times.created);
    let needs_lines = stages.iter().any(|s| s.requires_lines);
    let lines = if needs_lines || dice.chance(if status == Outcome::Won { 0.7 } else { 0.25 }) {
        lines(plan, dice, created_at)
    } else {
        Vec::new()
    };
    let manual_target = if status == Outcome::Open && stages.len() == 1 && dice.chance(0.1) {
        Decimal::ZERO
    } else {
        let euros = (300f64.ln() + dice.rng.random::<f64>() * (150_000f64 / 300.0).ln()).exp();
        Decimal::from((euros / 10.0).round() as i64 * 10)
    };
    let activities = activities(dice, status, times, closed);
    let erp = (status == Outcome::Won && closed > 2 * DAY && dice.chance(0.7)).then(|| {
        dice.erp_orders += 1;
        let reference = format!("AB-{}-{:06}", dice.at(closed).year(), dice.erp_orders);
        let handed_off = closed - dice.rng.random_range(3600..2 * DAY);
        (reference, dice.at(handed_off))
    });
    let (expected_close_date, updated) = match status {
        Outcome::Open => {
            let date = dice
                .chance(0.85)
                .then(|| dice.now + Duration::days(dice.rng.random_range(-21..150)));
            let touched = times.steps.last().copied().unwrap_or(times.created);
            (date, (touched as f64 * dice.rng.random::<f64>().powi(2)) as i64)
        }
        Outcome::Won | Outcome::Lost => {
            let date = dice
                .chance(0.9)
                .then(|| dice.at(closed) + Duration::days(dice.rng.random_range(-30..14)));
            let touched = erp.as_ref().map_or(closed, |(_, at)| (dice.now - *at).num_seconds());
            (date, touched - dice.rng.random_range(0..=touched.min(2 * DAY)))
        }
    };
    let topic = lines
        .as_slice()
        .first()
        .map_or_else(|| dice.pick(&TOPICS).to_owned(), |l| l.description.clone());
    Draft {
        id: dice.id(created_at).into(),
        subject: format!("{topic} – {partner_name}"),
        description: dice.chance(0.2).then(|| dice.pick(&DESCRIPTIONS).to_owned()),
        business_partner_id: *partner,
        class_id: class.id.clone(),
        funnel_id: plan.funnels[class.funnel].id,
        owner_id: owner,
        currency: plan.currency.clone(),
        status,
        probability_override,
        manual_target,
        expected_close_date: expected_close_date.map(|at| at.date_naive()),
        erp,
        created_at,
        updated_at: dice.at(updated),
        lines,
        start: steps.remove(0),
        moves: steps,
        activities,
    }
}

/// 1 to 4 lines: a main article and cheaper ones that go with it (accessories, services).
fn lines(plan: &Plan, dice: &mut Dice, created_at: DateTime<Utc>) -> Vec<Line> {
    let main = dice.index(plan.articles.len());
    // The others differ from each other and from the main article.
    let others = (weighted(&mut dice.rng, &[45, 30, 15, 10])).min(main);
    let chosen = std::iter::once(main).chain(rand::seq::index::sample(&mut dice.rng, main, others));
    (1..)
        .zip(chosen)
        .map(|(position, index)| {
            let article = &plan.articles[index];
            let quantity = match article.unit.as_str() {
                "h" => Decimal::new(dice.rng.random_range(2..=32) * 5, 1),
                "Stk" => Decimal::from(match dice.rng.random_range(0..100) {
                    0..70 => 1,
                    70..92 => dice.rng.random_range(2..=3),
                    _ => dice.rng.random_range(4..=12),
                }),
                _ => Decimal::from(dice.rng.random_range(1..=4)),
            };
            let discount = if dice.chance(0.6) {
                Decimal::ZERO
            } else {
                Decimal::new(*[20, 30, 50, 75, 100, 125, 150].choose(&mut dice.rng).unwrap_or(&50), 1)
            };
            let at = created_at + Duration::seconds(position);
            Line::of(dice.id(at), article, quantity, discount, at)
        })
        .collect()
}

/// 0 to 5 activities. Those of an open one lead up to its latest contact (or are notes and
/// tasks when nobody was contacted) and may be planned; those of a closed one are done.
fn activities(dice: &mut Dice, status: Outcome, times: &Times, closed: i64) -> Vec<Activity> {
    let count = weighted(&mut dice.rng, &[6, 18, 26, 22, 16, 12]);
    let contacted = status == Outcome::Open && times.contact < times.created;
    let contacts = &KINDS[..ActivityKind::CONTACTS.len()];
    let others = &KINDS[ActivityKind::CONTACTS.len()..];
    let mut activities = Vec::with_capacity(count.max(1));
    for k in 0..if contacted { count.max(1) } else { count } {
        let (kinds, done, ago): (&[Kind], bool, i64) = match status {
            Outcome::Won | Outcome::Lost => (&KINDS, true, dice.between(times.created, closed)),
            Outcome::Open if contacted && k == 0 => (contacts, true, times.contact),
            Outcome::Open if dice.chance(0.3) => (&PLANNED, false, -dice.rng.random_range(3600..30 * DAY)),
            Outcome::Open if contacted => (&KINDS, true, dice.between(times.created, times.contact)),
            Outcome::Open => (others, true, dice.between(times.created, EDGE.min(times.created))),
        };
        let weights: Vec<u32> = kinds.iter().map(|k| k.1).collect();
        let (kind, _, subjects) = kinds[weighted(&mut dice.rng, &weights)];
        let at = dice.at(ago);
        let created_at = if done {
            at
        } else {
            let planned = dice.between(times.created, EDGE.min(times.created));
            dice.at(planned)
        };
        activities.push(Activity {
            id: dice.id(created_at).into(),
            kind,
            subject: dice.pick(&subjects).to_owned(),
            body: dice.chance(0.25).then(|| dice.pick(&DESCRIPTIONS).to_owned()),
            done,
            at,
            created_at,
        });
    }
    activities
}
