//! Opportunities in PostgreSQL: rows and read queries with the traffic light, the lookups
//! the writes validate against, and the stage history.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::embedded::OpportunityContact;
use crate::access::{self, Visibility};
use crate::custom_fields::values;
use crate::db::Conn;
use crate::domain::activity::ActivityKind;
use crate::domain::custom::CustomResource;
use crate::domain::money::{Money, Percent};
use crate::domain::pipeline::Outcome;
use crate::error::AppError;
use crate::ids::{ActivityId, FunnelId, LostReasonId, OpportunityId, PartnerId, QuoteId, StageId, UserId};
use crate::schema::{activities, funnels, opportunities as opp, quotes, stages};

crate::domain::text_enum! {
    /// The traffic light of an open opportunity.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    // Named apart from the health check's schema, which would otherwise replace it in the spec.
    #[schema(as = TrafficLight)]
    pub enum Health {
        /// Contacted within the stage's (else the funnel's) `warn_after_days`.
        Green = "green",
        /// Not contacted for `warn_after_days`, but within `critical_after_days`; or longer, in a
        /// funnel with `planned_followup_keeps_yellow`, while its next activity is due within
        /// `warn_after_days` from now.
        Yellow = "yellow",
        /// Not contacted for `critical_after_days` or longer ("kritisch"), without a follow-up
        /// that keeps it yellow.
        Red = "red",
    }
}

diesel::define_sql_function! {
    /// The instant before which a last contact turns an open opportunity yellow (warn days) or
    /// red (critical days): the stage's threshold, else the funnel's.
    fn health_cutoff(stage_days: Nullable<Integer>, funnel_days: Integer) -> Timestamptz;
}

diesel::define_sql_function! {
    /// Whether the funnel keeps red opportunities with a planned follow-up yellow (`keeps`) and
    /// the next activity is due between now and the warn days (stage's, else funnel's) from now.
    fn followup_keeps_yellow(
        keeps: Bool,
        next_due_at: Nullable<Timestamptz>,
        stage_days: Nullable<Integer>,
        funnel_days: Integer,
    ) -> Bool;
}

diesel::define_sql_function! {
    /// `green`, `yellow`, `red`, or null for a closed opportunity.
    fn opportunity_health(
        status: Text,
        last_contact_at: Timestamptz,
        warn: Timestamptz,
        critical: Timestamptz,
        followup_keeps_yellow: Bool,
    ) -> Nullable<Text>;
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = opp, check_for_backend(Pg))]
pub struct OpportunityRow {
    pub id: OpportunityId,
    pub number: String,
    pub subject: String,
    pub description: Option<String>,
    pub business_partner_id: PartnerId,
    pub class_id: String,
    pub funnel_id: FunnelId,
    pub stage_id: StageId,
    pub owner_id: UserId,
    pub currency: String,
    pub status: Outcome,
    pub probability_override: Option<Percent>,
    pub probability: Percent,
    pub target_value: Money,
    pub weighted_value: Money,
    pub line_count: i32,
    pub quantity: Decimal,
    pub metric: Option<Decimal>,
    pub expected_close_date: Option<NaiveDate>,
    pub last_contact_at: DateTime<Utc>,
    pub stage_entered_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub lost_reason_id: Option<LostReasonId>,
    pub lost_note: Option<String>,
    pub erp_reference: Option<String>,
    pub erp_handed_off_at: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    pub external_id: Option<String>,
    pub next_activity_id: Option<ActivityId>,
    pub next_activity_kind: Option<ActivityKind>,
    pub next_activity_subject: Option<String>,
    pub next_activity_due_at: Option<DateTime<Utc>>,
    /// Shown custom values; a statement that reads rows by name selects them as `shown_custom`.
    #[diesel(
        sql_type = diesel::sql_types::Jsonb,
        column_name = shown_custom,
        select_expression = values::shown(CustomResource::Opportunity, opp::custom),
        select_expression_type = values::Shown<opp::custom>
    )]
    pub custom: serde_json::Value,
}

/// An opportunity as read: its row, its traffic light, its activities per kind and how many
/// of its planned activities are overdue.
#[derive(Debug, Clone)]
pub struct OpportunityRecord {
    pub row: OpportunityRow,
    pub health: Option<Health>,
    pub activity_counts: BTreeMap<String, i64>,
    pub primary_quote_id: Option<QuoteId>,
    pub overdue_activity_count: i64,
    pub contacts: Vec<OpportunityContact>,
}

/// Whether the caller sees opportunity `id` (404 otherwise: others' opportunities do not exist
/// for a rep).
pub async fn check_visible(conn: &mut Conn, who: Visibility, id: OpportunityId) -> Result<(), AppError> {
    let condition = access::opportunities_in(conn, who).await?;
    let seen: bool = diesel::select(diesel::dsl::exists(opp::table.find(id).filter(condition)))
        .get_result(conn)
        .await?;
    if seen {
        Ok(())
    } else {
        Err(AppError::not_found(WHAT, id))
    }
}

pub(super) const WHAT: &str = "opportunity";

diesel::define_sql_function! {
    /// The values of a group as an array (`array_agg`); null for no rows.
    #[aggregate]
    #[sql_name = "array_agg"]
    fn array_of(value: Text) -> Nullable<Array<Text>>;
}

/// What every read selects of an opportunity: the row, the traffic light, the activity counts,
/// the primary quote, the overdue planned activities and the contacts, in one statement.
pub(super) type Read = (
    OpportunityRow,
    Option<String>,
    Option<Vec<String>>,
    Option<QuoteId>,
    i64,
    serde_json::Value,
);

/// The traffic light of an opportunity read with its stage and funnel (`opportunity_health`,
/// the one definition in SQL), as a diesel expression.
macro_rules! traffic_light {
    () => {
        $crate::opportunities::store::opportunity_health(
            $crate::schema::opportunities::status,
            $crate::schema::opportunities::last_contact_at,
            $crate::opportunities::store::health_cutoff(
                $crate::schema::stages::warn_after_days,
                $crate::schema::funnels::warn_after_days,
            ),
            $crate::opportunities::store::health_cutoff(
                $crate::schema::stages::critical_after_days,
                $crate::schema::funnels::critical_after_days,
            ),
            $crate::opportunities::store::followup_keeps_yellow(
                $crate::schema::funnels::planned_followup_keeps_yellow,
                $crate::schema::opportunities::next_activity_due_at,
                $crate::schema::stages::warn_after_days,
                $crate::schema::funnels::warn_after_days,
            ),
        )
    };
}
pub(crate) use traffic_light;

/// [`traffic_light!`] for hand-written statements: the traffic light of the opportunity aliased
/// `$o` in stage `$s` of funnel `$f`, as an SQL string literal.
macro_rules! health_sql {
    ($o:literal, $s:literal, $f:literal) => {
        concat!(
            "opportunity_health(",
            $o,
            ".status, ",
            $o,
            ".last_contact_at, ",
            "health_cutoff(",
            $s,
            ".warn_after_days, ",
            $f,
            ".warn_after_days), ",
            "health_cutoff(",
            $s,
            ".critical_after_days, ",
            $f,
            ".critical_after_days), ",
            "followup_keeps_yellow(",
            $f,
            ".planned_followup_keeps_yellow, ",
            $o,
            ".next_activity_due_at, ",
            $s,
            ".warn_after_days, ",
            $f,
            ".warn_after_days))"
        )
    };
}
pub(crate) use health_sql;

/// Its contacts in their order, `[{"contact_id", "role"}]`, served by the primary key of
/// `opportunity_contacts`; `{}` is the opportunity's row (`opportunities`, `w`).
macro_rules! contacts_of {
    ($row:literal) => {
        concat!(
            "coalesce((SELECT jsonb_agg(jsonb_build_object('contact_id', oc.contact_id, 'role', oc.role) ",
            "ORDER BY oc.position) FROM opportunity_contacts oc WHERE oc.opportunity_id = ",
            $row,
            ".id), '[]'::jsonb)"
        )
    };
}
pub(crate) use contacts_of;

/// The read query: opportunities with their stage and funnel (for the thresholds), their
/// activity counts and primary quote.
macro_rules! reading {
    () => {
        opp::table.inner_join(stages::table).inner_join(funnels::table).select((
            OpportunityRow::as_select(),
            $crate::opportunities::store::traffic_light!(),
            // The kinds of its activities, counted per kind in Rust: one statement for the
            // page, prepared, where a count per kind in SQL needs a nested aggregate.
            activities::table
                .filter(activities::opportunity_id.eq(opp::id.nullable()))
                .select(array_of(activities::kind))
                .single_value(),
            quotes::table
                .filter(quotes::opportunity_id.eq(opp::id))
                .filter(quotes::is_primary)
                .select(quotes::id)
                .single_value(),
            // Served by activities_planned_idx (opportunity, status, due date).
            activities::table
                .filter(activities::opportunity_id.eq(opp::id.nullable()))
                .filter(activities::status.eq("planned"))
                .filter(activities::due_at.lt(diesel::dsl::now))
                .count()
                .single_value()
                .assume_not_null(),
            diesel::dsl::sql::<diesel::sql_types::Jsonb>($crate::opportunities::store::contacts_of!("opportunities")),
        ))
    };
}
pub(super) use reading;

/// The end of a statement that writes opportunities in a CTE named `written`: they as every
/// read shows them (see [`Written`]).
pub(super) const WRITTEN: &str = concat!(
    "SELECT w.*, custom_shown('opportunity', w.custom) AS shown_custom, ",
    contacts_of!("w"),
    " AS contacts, ",
    health_sql!("w", "s", "f"),
    " AS health,
       (SELECT array_agg(a.kind) FROM activities a WHERE a.opportunity_id = w.id) AS activity_kinds,
       (SELECT q.id FROM quotes q WHERE q.opportunity_id = w.id AND q.is_primary) AS primary_quote_id,
       (SELECT count(*) FROM activities a
        WHERE a.opportunity_id = w.id AND a.status = 'planned' AND a.due_at < now()) AS overdue_activity_count
FROM written w
JOIN stages s ON s.id = w.stage_id
JOIN funnels f ON f.id = w.funnel_id"
);

/// An opportunity as a writing statement read it back (see [`WRITTEN`]).
#[derive(Debug, QueryableByName)]
pub(super) struct Written {
    #[diesel(embed)]
    opportunity: OpportunityRow,
    #[diesel(sql_type = Nullable<Text>)]
    health: Option<String>,
    #[diesel(sql_type = Nullable<Array<Text>>)]
    activity_kinds: Option<Vec<String>>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    primary_quote_id: Option<QuoteId>,
    #[diesel(sql_type = BigInt)]
    overdue_activity_count: i64,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    contacts: serde_json::Value,
}

impl Written {
    pub(super) fn record(self) -> OpportunityRecord {
        OpportunityRecord::of(
            self.opportunity,
            self.health,
            self.activity_kinds,
            self.primary_quote_id,
            self.overdue_activity_count,
            self.contacts,
        )
    }
}

impl OpportunityRecord {
    /// The record of a read row: `health` as the SQL function `opportunity_health` names it,
    /// `kinds` the kind of each of its activities.
    pub(super) fn of(
        row: OpportunityRow,
        health: Option<String>,
        kinds: Option<Vec<String>>,
        primary: Option<QuoteId>,
        overdue_activity_count: i64,
        contacts: serde_json::Value,
    ) -> Self {
        let mut activity_counts = BTreeMap::new();
        for kind in kinds.unwrap_or_default() {
            *activity_counts.entry(kind).or_insert(0) += 1;
        }
        Self {
            health: health.and_then(|h| h.parse().ok()),
            activity_counts,
            primary_quote_id: primary,
            overdue_activity_count,
            // The table's checks keep the roles to those the type knows.
            contacts: serde_json::from_value(contacts).unwrap_or_default(),
            row,
        }
    }

    pub(super) fn read((row, health, kinds, primary, overdue, contacts): Read) -> Self {
        Self::of(row, health, kinds, primary, overdue, contacts)
    }
}

/// The opportunity `id` if `who` sees it: one statement (a rep's team funnels are looked up
/// first).
pub async fn find(conn: &mut Conn, who: Visibility, id: OpportunityId) -> Result<OpportunityRecord, AppError> {
    let condition = access::opportunities_in(conn, who).await?;
    reading!()
        .filter(opp::id.eq(id))
        .filter(condition)
        .first::<Read>(conn)
        .await
        .optional()?
        .map(OpportunityRecord::read)
        .ok_or_else(|| AppError::not_found(WHAT, id))
}

/// The opportunities `ids` (whoever may see them), in id order.
pub async fn find_many(conn: &mut Conn, ids: &[OpportunityId]) -> Result<Vec<OpportunityRecord>, AppError> {
    let rows = reading!()
        .filter(opp::id.eq_any(ids))
        .order(opp::id)
        .load::<Read>(conn)
        .await?;
    Ok(rows.into_iter().map(OpportunityRecord::read).collect())
}
