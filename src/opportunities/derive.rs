//! The derived columns of opportunities, rewritten in the transaction of every change that
//! affects them: lines (`line_count`, `quantity`, `target_value`), stage, outcome or override
//! (`probability`), activities (`last_contact_at`, `next_activity_*`), and the funnel formula
//! (`metric`).
//! `weighted_value` follows from target and probability. The SQL below is the one place that
//! says how; the formula is evaluated in Rust with decimals.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Numeric};
use diesel_async::RunQueryDsl;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::events;
use crate::custom_fields::values::Definitions;
use crate::db::Conn;
use crate::domain::activity::ActivityKind;
use crate::domain::custom::CustomResource;
use crate::domain::formula::Formula;
use crate::domain::money::round2;
use crate::domain::opportunity::Facts;
use crate::domain::pipeline::Outcome;
use crate::error::AppError;
use crate::ids::{FunnelId, OpportunityId, StageId};
use crate::schema::opportunities;

/// Opportunities refreshed per statement when a stage or funnel change touches many.
const BATCH: i64 = 500;

/// The statement that recomputes the derived columns of the opportunities `$1`. The contact
/// kinds are the domain's ([`ActivityKind::CONTACTS`]), written in as literals so that the
/// partial index on contacts (whose predicate a test compares with them) serves the lookup.
static REFRESH: LazyLock<String> = LazyLock::new(|| {
    let contacts: Vec<String> = ActivityKind::CONTACTS
        .iter()
        .map(|kind| format!("'{}'", kind.as_str()))
        .collect();
    REFRESH_TEMPLATE.replace("{contacts}", &contacts.join(", "))
});

const REFRESH_TEMPLATE: &str = "
UPDATE opportunities o SET
    line_count = d.line_count,
    quantity = d.quantity,
    target_value = d.target_value,
    probability = d.probability,
    weighted_value = round(d.target_value * d.probability / 100, 2),
    last_contact_at = d.last_contact_at,
    next_activity_id = d.next_id,
    next_activity_kind = d.next_kind,
    next_activity_subject = d.next_subject,
    next_activity_due_at = d.next_due_at
FROM (
    SELECT x.id,
           l.n::integer AS line_count,
           coalesce(l.quantity, 0) AS quantity,
           CASE WHEN l.n > 0 THEN l.total WHEN x.line_count > 0 THEN 0 ELSE x.target_value END AS target_value,
           CASE x.status
               WHEN 'won' THEN 100
               WHEN 'lost' THEN 0
               ELSE coalesce(x.probability_override, s.probability)
           END AS probability,
           coalesce(c.at, x.created_at) AS last_contact_at,
           n.id AS next_id, n.kind AS next_kind, n.subject AS next_subject, n.due_at AS next_due_at
    FROM opportunities x
    JOIN stages s ON s.id = x.stage_id
    CROSS JOIN LATERAL (
        SELECT count(*) AS n, sum(quantity) AS quantity, sum(line_total) AS total
        FROM opportunity_lines WHERE opportunity_id = x.id
    ) l
    CROSS JOIN LATERAL (
        SELECT max(occurred_at) AS at FROM activities
        WHERE opportunity_id = x.id AND status = 'done'
          AND kind IN ({contacts})
    ) c
    -- The next step: the earliest planned activity, undated ones last (activities_planned_idx).
    LEFT JOIN LATERAL (
        SELECT id, kind, subject, due_at FROM activities
        WHERE opportunity_id = x.id AND status = 'planned'
        ORDER BY due_at NULLS LAST, id
        LIMIT 1
    ) n ON true
    WHERE x.id = ANY($1)
) d
WHERE o.id = d.id
RETURNING o.id, o.target_value, o.probability, o.weighted_value, o.line_count, o.quantity,
          o.created_at, o.closed_at, o.last_contact_at, o.metric, o.custom,
          (SELECT f.metric_formula FROM funnels f WHERE f.id = o.funnel_id) AS metric_formula";

const SET_METRIC: &str = "
UPDATE opportunities o SET metric = v.metric
FROM unnest($1::uuid[], $2::numeric[]) AS v(id, metric)
WHERE o.id = v.id";

/// What the formula needs of a refreshed opportunity.
#[derive(Debug, QueryableByName)]
struct Refreshed {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: OpportunityId,
    #[diesel(sql_type = Numeric)]
    target_value: Decimal,
    #[diesel(sql_type = Numeric)]
    probability: Decimal,
    #[diesel(sql_type = Numeric)]
    weighted_value: Decimal,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    line_count: i32,
    #[diesel(sql_type = Numeric)]
    quantity: Decimal,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Timestamptz>)]
    closed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    last_contact_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Numeric>)]
    metric: Option<Decimal>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Text>)]
    metric_formula: Option<String>,
    /// The stored custom values (the formula's `custom.<key>`).
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    custom: serde_json::Value,
}

impl Refreshed {
    fn facts(&self) -> Facts {
        Facts {
            target_value: self.target_value,
            probability: self.probability,
            weighted_value: self.weighted_value,
            line_count: self.line_count,
            quantity: self.quantity,
            created_at: self.created_at,
            closed_at: self.closed_at,
            last_contact_at: self.last_contact_at,
        }
    }
}

/// Recomputes every derived column of the opportunities `ids`, metric included; answers the
/// ids whose metric changed.
pub async fn refresh(conn: &mut Conn, ids: &[OpportunityId]) -> Result<Vec<OpportunityId>, AppError> {
    let rows: Vec<Refreshed> = diesel::sql_query(REFRESH.as_str())
        .bind::<Array<diesel::sql_types::Uuid>, _>(ids)
        .load(conn)
        .await?;
    let now = Utc::now();
    let mut formulas: HashMap<String, Option<Formula>> = HashMap::new();
    for text in rows.iter().filter_map(|row| row.metric_formula.as_ref()) {
        formulas
            .entry(text.clone())
            .or_insert_with(|| Formula::parse(text).ok());
    }
    // The custom field definitions only when a formula takes custom values.
    let definitions = if formulas.values().flatten().any(|f| !f.custom_variables().is_empty()) {
        Definitions::load(conn, CustomResource::Opportunity).await?
    } else {
        Definitions::default()
    };
    let (mut changed_ids, mut metrics) = (Vec::new(), Vec::new());
    for row in &rows {
        let formula = row
            .metric_formula
            .as_ref()
            .and_then(|text| formulas.get(text))
            .and_then(Option::as_ref);
        let custom = custom_inputs(formula, &definitions, &row.custom);
        let metric = metric(formula, &row.facts(), custom, now);
        if metric != row.metric {
            changed_ids.push(row.id);
            metrics.push(metric);
        }
    }
    if !changed_ids.is_empty() {
        diesel::sql_query(SET_METRIC)
            .bind::<Array<diesel::sql_types::Uuid>, _>(&changed_ids)
            .bind::<Array<Nullable<Numeric>>, _>(&metrics)
            .execute(conn)
            .await?;
    }
    Ok(changed_ids)
}

/// The funnel formula's value for an opportunity with `facts` and the number and money custom
/// values `custom` at `now`, to the cent; `None` without a formula or where it has no value (a
/// division by zero).
pub(super) fn metric(
    formula: Option<&Formula>,
    facts: &Facts,
    custom: BTreeMap<String, Decimal>,
    now: DateTime<Utc>,
) -> Option<Decimal> {
    formula
        .and_then(|formula| formula.evaluate(&facts.inputs(now).with_custom(custom)))
        .map(round2)
}

/// The custom values `formula` reads of stored values `custom` under `definitions` (none when
/// it names no custom variable).
pub(super) fn custom_inputs(
    formula: Option<&Formula>,
    definitions: &Definitions,
    custom: &serde_json::Value,
) -> BTreeMap<String, Decimal> {
    match (formula, custom.as_object()) {
        (Some(formula), Some(custom)) if !formula.custom_variables().is_empty() => definitions.numbers(custom),
        _ => BTreeMap::new(),
    }
}

/// Which opportunities a configuration change touches.
#[derive(Debug, Clone, Copy)]
pub enum Affected {
    /// Those in a stage whose probability changed.
    Stage(StageId),
    /// Those of a funnel whose formula changed.
    Funnel(FunnelId),
}

/// Refreshes every opportunity `affected` names, in the caller's transaction, in batches of
/// [`BATCH`] locked in id order (the one order every multi-row write takes, so that ordinary
/// writes to these opportunities wait instead of deadlocking). Those whose probability or
/// metric changes get a new version and `updated_at`, so that ETags and `updated_after` syncs
/// see the change, and an `opportunity.updated` event with `previous` and the `cause`.
pub async fn refresh_all(conn: &mut Conn, actor: &str, affected: Affected) -> Result<(), AppError> {
    let cause = match affected {
        Affected::Stage(stage) => events::cause("stage", stage),
        Affected::Funnel(funnel) => events::cause("funnel", funnel),
    };
    let mut after = OpportunityId(Uuid::nil());
    loop {
        let batch = opportunities::table
            .select(opportunities::id)
            .filter(opportunities::id.gt(after))
            .order(opportunities::id)
            .limit(BATCH);
        let ids: Vec<OpportunityId> = match affected {
            // Only open ones without an override follow their stage's probability.
            Affected::Stage(stage) => {
                batch
                    .filter(opportunities::stage_id.eq(stage))
                    .filter(opportunities::status.eq(Outcome::Open))
                    .filter(opportunities::probability_override.is_null())
                    .for_no_key_update()
                    .load(conn)
                    .await?
            }
            Affected::Funnel(funnel) => {
                batch
                    .filter(opportunities::funnel_id.eq(funnel))
                    .for_no_key_update()
                    .load(conn)
                    .await?
            }
        };
        let Some(last) = ids.last() else {
            return Ok(());
        };
        after = *last;
        let before = events::snapshots(conn, &ids).await?;
        let metric_changed = refresh(conn, &ids).await?;
        let changed = match affected {
            Affected::Stage(_) => &ids,
            Affected::Funnel(_) => &metric_changed,
        };
        diesel::update(opportunities::table.filter(opportunities::id.eq_any(changed)))
            .set((
                opportunities::version.eq(opportunities::version + 1),
                opportunities::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        events::recomputed(conn, actor, &cause, &before, changed).await?;
    }
}
