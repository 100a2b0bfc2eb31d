//! Drafting realistic bulk opportunities from the configuration in the database.
//!
//! Opportunities are created evenly over the last two years, oldest first (so their v7 ids,
//! taken from the creation time, arrive in order). Young ones are mostly open, old ones mostly
//! won or lost (about 60 % open, 25 % won and 15 % lost in all). Open ones get a last contact
//! that makes about half of them green, a third yellow and a fifth red against their stage's or
//! funnel's thresholds; every time is kept at least ten minutes away from a whole number of days
//! before now, so day counts and traffic lights hold for that long after seeding.

use chrono::{DateTime, Datelike, Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use tokio::sync::mpsc::Sender;
use uuid::Uuid;

use super::rows::{Activity, Batch, CONTACT_KINDS, Derived, Draft, Line, Step, now_in_seconds, step_probability};
use crate::articles::store::ArticleRow;
use crate::auth::Role;
use crate::db::Conn;
use crate::domain::formula::Formula;
use crate::domain::pipeline::Outcome;
use crate::error::AppError;
use crate::funnels::store::FunnelRow;
use crate::schema::{articles, business_partners, classes, funnel_stages, funnels, lost_reasons, stages, users};
use crate::stages::store::StageRow;

const DAY: i64 = 86_400;
/// How far back opportunities are created.
const SPAN: i64 = 730 * DAY;
/// The least distance, in seconds, of a time from a whole number of days before now.
const EDGE: i64 = 600;
/// Partners drawn from (the first by id).
const MAX_PARTNERS: i64 = 2_000_000;

/// A stage as drafting needs it, with the traffic-light thresholds in force there.
struct StagePlan {
    id: Uuid,
    probability: Decimal,
    requires_lines: bool,
    warn_days: i64,
    critical_days: i64,
}

struct FunnelPlan {
    id: Uuid,
    formula: Option<Formula>,
    /// In funnel order.
    open: Vec<StagePlan>,
    won: StagePlan,
    lost: StagePlan,
}

struct ClassPlan {
    id: String,
    /// Index into `Plan::funnels`.
    funnel: usize,
    owner: Option<Uuid>,
}

/// What bulk opportunities are drafted from.
pub(super) struct Plan {
    funnels: Vec<FunnelPlan>,
    classes: Vec<ClassPlan>,
    /// Cheapest first.
    articles: Vec<ArticleRow>,
    lost_reasons: Vec<Uuid>,
    partners: Vec<(Uuid, String)>,
    owners: Vec<Uuid>,
    currency: String,
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
        let members: Vec<(Uuid, StageRow)> = funnel_stages::table
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
            .load::<(String, Option<Uuid>, Option<Uuid>)>(conn)
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

fn funnel_plan(funnel: &FunnelRow, members: &[(Uuid, StageRow)]) -> Option<FunnelPlan> {
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
fn snap(ago: i64) -> i64 {
    let into_day = ago.rem_euclid(DAY);
    ago - into_day + into_day.clamp(EDGE, DAY - EDGE)
}

/// A number in `0..n`, small ones more likely (weights n, n−1, …, 1).
fn early_index(rng: &mut SmallRng, n: usize) -> usize {
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
fn weighted(rng: &mut SmallRng, weights: &[u32]) -> usize {
    let mut pick = rng.random_range(0..weights.iter().sum::<u32>().max(1));
    for (index, &weight) in weights.iter().enumerate() {
        if pick < weight {
            return index;
        }
        pick -= weight;
    }
    0
}

const TOPICS: [&str; 12] = [
    "Anfrage Neufahrzeug",
    "Flottenangebot",
    "Leasinganfrage",
    "Ersatzbeschaffung Dienstwagen",
    "Wartungsvertrag",
    "Inspektion und Service",
    "Reifenservice",
    "Elektromobilität für den Fuhrpark",
    "Probefahrt vereinbart",
    "Rahmenvertrag Fahrzeuge",
    "Werkstattauftrag",
    "Nutzfahrzeug für den Lieferverkehr",
];

const DESCRIPTIONS: [&str; 5] = [
    "Kunde wünscht ein Angebot mit Finanzierung über 36 Monate.",
    "Entscheidung fällt in der nächsten Geschäftsführersitzung.",
    "Leasing bevorzugt, Inzahlungnahme des Altfahrzeugs gewünscht.",
    "Budget ist freigegeben, Liefertermin ist entscheidend.",
    "Empfehlung eines Bestandskunden.",
];

const LOST_NOTES: [&str; 5] = [
    "Mitbewerber war günstiger.",
    "Projekt wurde verschoben.",
    "Lieferzeit war zu lang.",
    "Kunde hat sich für ein gebrauchtes Fahrzeug entschieden.",
    "Keine Reaktion auf drei Nachfassversuche.",
];

/// An activity kind, its weight and subjects.
type Kind = (&'static str, u32, [&'static str; 3]);

/// The contact kinds (in the order of [`CONTACT_KINDS`]), then the others.
const KINDS: [Kind; 7] = [
    (
        "call",
        28,
        [
            "Telefonat: Bedarf klären",
            "Rückruf wegen Finanzierung",
            "Nachfassen zum Angebot",
        ],
    ),
    (
        "email",
        24,
        [
            "Angebot per E-Mail versendet",
            "Prospekt und Preisliste gesendet",
            "Rückfragen beantwortet",
        ],
    ),
    (
        "meeting",
        12,
        ["Beratungstermin im Autohaus", "Termin beim Kunden", "Probefahrt"],
    ),
    (
        "appointment",
        8,
        [
            "Angebotsbesprechung",
            "Fahrzeugübergabe besprechen",
            "Termin in der Werkstatt",
        ],
    ),
    (
        "ticket",
        5,
        [
            "Serviceanfrage über das Kundenportal",
            "Reklamation",
            "Anfrage Ersatzteil",
        ],
    ),
    (
        "task",
        13,
        [
            "Finanzierungsvarianten rechnen",
            "Inzahlungnahme bewerten",
            "Unterlagen vorbereiten",
        ],
    ),
    (
        "note",
        10,
        [
            "Notiz zum Gespräch",
            "Wettbewerbsangebot liegt vor",
            "Kunde im Urlaub bis Monatsende",
        ],
    ),
];

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

/// What gets planned ahead.
const PLANNED: [Kind; 3] = [
    (
        "call",
        3,
        ["Rückruf vereinbart", "Nachfassen zum Angebot", "Termin bestätigen"],
    ),
    (
        "appointment",
        4,
        ["Angebotsbesprechung", "Probefahrt", "Fahrzeugübergabe"],
    ),
    (
        "task",
        3,
        [
            "Angebot überarbeiten",
            "Finanzierung anfragen",
            "Unterlagen vorbereiten",
        ],
    ),
];

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
            probability: step_probability(outcome, probability_override, stage.probability),
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
        id: dice.id(created_at),
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
    let contacts = &KINDS[..CONTACT_KINDS.len()];
    let others = &KINDS[CONTACT_KINDS.len()..];
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
            id: dice.id(created_at),
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

#[cfg(test)]
mod tests;
