//! The opportunity list: its filters, applied alike to the page of full opportunities, the page
//! of cards (`view=card`, the board's slim opportunity) and the count (`count=true`).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use diesel_async::RunQueryDsl;

// `reading!` names these as it finds them.
use super::store::{
    Health, OpportunityRecord, OpportunityRow, Read, array_of, followup_keeps_yellow, health_cutoff, reading,
};
use crate::access::{self, Visibility};
use crate::custom_fields::filters::{self, CustomFilter};
use crate::db::Conn;
use crate::domain::activity::ActivityKind;
use crate::domain::money::{Money, Percent};
use crate::domain::pipeline::Outcome;
use crate::error::AppError;
use crate::http::pagination::Page;
use crate::ids::{ActivityId, FunnelId, OpportunityId, PartnerId, StageId, UserId};
use crate::schema::{activities, business_partners, funnels, opportunities as opp, quotes, stages, users};

/// List filters (all optional, combined with AND).
#[derive(Debug, Default)]
pub struct OpportunityFilter {
    pub status: Option<Outcome>,
    pub owner_id: Option<UserId>,
    pub funnel_id: Option<FunnelId>,
    pub stage_id: Option<StageId>,
    pub class_id: Option<String>,
    pub business_partner_id: Option<PartnerId>,
    pub health: Option<Health>,
    pub close_from: Option<NaiveDate>,
    pub close_to: Option<NaiveDate>,
    pub updated_after: Option<DateTime<Utc>>,
    pub q: Option<String>,
    pub external_id: Option<String>,
    /// Its next activity is due before this instant.
    pub next_activity_before: Option<DateTime<Utc>>,
    pub has_next_activity: Option<bool>,
    /// It has (or has no) overdue planned activity.
    pub overdue: Option<bool>,
    pub custom: Vec<CustomFilter>,
}

/// `$query` (a boxed query over opportunities joined with their stage and funnel) with the
/// conditions of `$filter`: one place for the list, the cards and the count.
macro_rules! filtered {
    ($query:expr, $filter:expr) => {{
        let mut query = $query;
        if let Some(status) = $filter.status {
            query = query.filter(opp::status.eq(status));
        }
        if let Some(owner) = $filter.owner_id {
            query = query.filter(opp::owner_id.eq(owner));
        }
        if let Some(funnel) = $filter.funnel_id {
            query = query.filter(opp::funnel_id.eq(funnel));
        }
        if let Some(stage) = $filter.stage_id {
            query = query.filter(opp::stage_id.eq(stage));
        }
        if let Some(class) = &$filter.class_id {
            query = query.filter(opp::class_id.eq(class.clone()));
        }
        if let Some(partner) = $filter.business_partner_id {
            query = query.filter(opp::business_partner_id.eq(partner));
        }
        if let Some(from) = $filter.close_from {
            query = query.filter(opp::expected_close_date.ge(from));
        }
        if let Some(to) = $filter.close_to {
            query = query.filter(opp::expected_close_date.le(to));
        }
        if let Some(after) = $filter.updated_after {
            query = query.filter(opp::updated_at.gt(after));
        }
        if let Some(external_id) = &$filter.external_id {
            query = query.filter(opp::external_id.eq(external_id));
        }
        if let Some(q) = &$filter.q {
            let pattern = crate::http::contains_pattern(q);
            query = query.filter(opp::subject.ilike(pattern.clone()).or(opp::number.ilike(pattern)));
        }
        for custom in &$filter.custom {
            query = query.filter(opp::id.eq_any(filters::matching(custom)));
        }
        // Each names `next_activity_id IS NOT NULL` where it needs a next activity, so that the
        // partial index on (next_activity_due_at, id) serves it; overdue is "the next activity is
        // due before now", since the next activity is the earliest dated one.
        let dated = opp::next_activity_id.is_not_null();
        if let Some(before) = $filter.next_activity_before {
            query = query.filter(dated.and(opp::next_activity_due_at.lt(before)));
        }
        match $filter.has_next_activity {
            Some(true) => query = query.filter(dated),
            Some(false) => query = query.filter(opp::next_activity_id.is_null()),
            None => {}
        }
        let due = opp::next_activity_due_at;
        match $filter.overdue {
            Some(true) => query = query.filter(dated.and(due.lt(diesel::dsl::now))),
            Some(false) => query = query.filter(due.is_null().or(due.ge(diesel::dsl::now))),
            None => {}
        }
        // Range conditions on last_contact_at (not a test of the health text) so that an index
        // on (funnel_id, stage_id, last_contact_at) serves them.
        let warn = health_cutoff(stages::warn_after_days, funnels::warn_after_days);
        let critical = health_cutoff(stages::critical_after_days, funnels::critical_after_days);
        let keeps = followup_keeps_yellow(
            funnels::planned_followup_keeps_yellow,
            opp::next_activity_due_at,
            stages::warn_after_days,
            funnels::warn_after_days,
        );
        query = match $filter.health {
            None => query,
            Some(Health::Green) => query.filter(opp::status.eq(Outcome::Open).and(opp::last_contact_at.gt(warn))),
            Some(Health::Yellow) => query.filter(
                opp::status
                    .eq(Outcome::Open)
                    .and(opp::last_contact_at.le(warn))
                    .and(opp::last_contact_at.gt(critical).or(keeps)),
            ),
            // Not green first, as in opportunity_health: a stage may lower only the critical days
            // below the funnel's warn days.
            Some(Health::Red) => query.filter(
                opp::status
                    .eq(Outcome::Open)
                    .and(opp::last_contact_at.le(warn))
                    .and(opp::last_contact_at.le(critical))
                    .and(diesel::dsl::not(keeps)),
            ),
        };
        query
    }};
}

pub async fn list(
    conn: &mut Conn,
    who: Visibility,
    filter: &OpportunityFilter,
    page: &Page,
) -> Result<Vec<OpportunityRecord>, AppError> {
    let condition = access::opportunities_in(conn, who).await?;
    let rows = filtered!(reading!().filter(condition).into_boxed(), filter)
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load::<Read>(conn)
        .await?;
    Ok(rows.into_iter().map(OpportunityRecord::read).collect())
}

/// With `count=true`: how many opportunities `who` sees match `filter` (capped, see
/// [`Page::total`]); `None` otherwise.
pub async fn total(
    conn: &mut Conn,
    who: Visibility,
    filter: &OpportunityFilter,
    page: &Page,
) -> Result<Option<i64>, AppError> {
    if !page.counts() {
        return Ok(None);
    }
    let condition = access::opportunities_in(conn, who).await?;
    let query = filtered!(
        opp::table
            .inner_join(stages::table)
            .inner_join(funnels::table)
            .select(opp::id)
            .filter(condition)
            .into_boxed(),
        filter
    );
    page.total(conn, query).await
}

/// The columns of an opportunity that its card shows.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = opp, check_for_backend(Pg))]
pub struct CardRow {
    pub id: OpportunityId,
    pub number: String,
    pub subject: String,
    pub stage_id: StageId,
    pub business_partner_id: PartnerId,
    pub owner_id: UserId,
    pub currency: String,
    pub target_value: Money,
    pub weighted_value: Money,
    pub probability: Percent,
    pub expected_close_date: Option<NaiveDate>,
    pub next_activity_id: Option<ActivityId>,
    pub next_activity_kind: Option<ActivityKind>,
    pub next_activity_subject: Option<String>,
    pub next_activity_due_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// A card as read: its columns, the names of its partner and owner, and its traffic light (as
/// `opportunity_health` names it).
#[derive(Debug, Clone, QueryableByName)]
#[diesel(check_for_backend(Pg))]
pub struct CardRecord {
    #[diesel(embed)]
    pub columns: CardRow,
    #[diesel(sql_type = Text)]
    pub business_partner_name: String,
    #[diesel(sql_type = Text)]
    pub owner_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub health: Option<String>,
}

type CardRead = (CardRow, Option<String>, Option<String>, Option<String>);

/// The page of cards: the list's filters, keyset and order, with the partner's and owner's
/// names read by primary key (one statement; two for a rep, whose team is looked up first).
pub async fn cards(
    conn: &mut Conn,
    who: Visibility,
    filter: &OpportunityFilter,
    page: &Page,
) -> Result<Vec<CardRecord>, AppError> {
    let condition = access::opportunities_in(conn, who).await?;
    let query = opp::table.inner_join(stages::table).inner_join(funnels::table).select((
        CardRow::as_select(),
        business_partners::table
            .filter(business_partners::id.eq(opp::business_partner_id))
            .select(business_partners::name)
            .single_value(),
        users::table
            .filter(users::id.eq(opp::owner_id))
            .select(users::display_name)
            .single_value(),
        super::store::traffic_light!(),
    ));
    let rows = filtered!(query.filter(condition).into_boxed(), filter)
        .filter(page.after())
        .order(page.order())
        .limit(page.fetch())
        .load::<CardRead>(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(columns, partner, owner, health)| CardRecord {
            columns,
            business_partner_name: partner.unwrap_or_default(),
            owner_name: owner.unwrap_or_default(),
            health,
        })
        .collect())
}
