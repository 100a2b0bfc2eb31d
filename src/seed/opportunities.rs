//! The demo opportunities: both demo funnels, every stage of each, won and lost ones, one
//! handed to the ERP, and open ones in every colour of the traffic light, with lines,
//! activities and their stage history. Fixed ids (`demo_id` 1001… for opportunities, 2001… for
//! lines, 3001… for activities, 4001… for stage changes) keep a second run from adding anything.

use super::copy::Batch;
use super::demo_data::{DEMO, Demo};
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::demo_id;
use super::rows::{Activity, Draft, Existing, Line, Step, now_in_seconds};
use crate::articles::store::ArticleRow;
use crate::db::Conn;
use crate::domain::opportunity;
use crate::domain::pipeline::Outcome;
use crate::error::AppError;
use crate::ids::{OpportunityId, StageId};
use crate::opportunities::derive;
use crate::schema::{articles, opportunities, stages};

/// What the demo set refers to, as the database has it.
struct DemoCatalogue {
    articles: Vec<ArticleRow>,
    /// Stage id, probability and outcome.
    stages: Vec<(StageId, Decimal, Outcome)>,
    currency: String,
}

/// The next fixed ids of lines, activities and stage changes, in the order of [`DEMO`].
struct DemoIds {
    line: u128,
    activity: u128,
    step: u128,
}

impl DemoIds {
    fn next(counter: &mut u128) -> Uuid {
        *counter += 1;
        demo_id(*counter - 1)
    }
}

impl Demo {
    fn missing(&self, what: &str) -> AppError {
        AppError::Internal(format!("demo opportunity {}: no {what}", self.n))
    }

    /// The stages entered, with the status the last one gives.
    fn steps(&self, now: DateTime<Utc>, catalogue: &DemoCatalogue, ids: &mut DemoIds) -> Result<Vec<Step>, AppError> {
        let mut steps = Vec::with_capacity(self.path.len());
        for &(stage, hours) in self.path {
            let &(stage_id, probability, outcome) = catalogue
                .stages
                .iter()
                .find(|s| s.0 == demo_id(stage).into())
                .ok_or_else(|| self.missing("stage"))?;
            let lost = self.lost.filter(|_| outcome == Outcome::Lost);
            steps.push(Step {
                id: DemoIds::next(&mut ids.step),
                stage_id,
                probability: opportunity::probability(
                    outcome,
                    self.probability_override.map(Decimal::from),
                    probability,
                ),
                lost_reason_id: lost.map(|(reason, _)| demo_id(reason).into()),
                note: lost.map(|(_, note)| note.to_owned()),
                at: now - Duration::hours(hours),
            });
        }
        Ok(steps)
    }

    /// The lines, added an hour after the creation.
    fn lines(&self, at: DateTime<Utc>, catalogue: &DemoCatalogue, ids: &mut DemoIds) -> Result<Vec<Line>, AppError> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for &(article, description, quantity, cents, discount) in self.lines {
            let id = DemoIds::next(&mut ids.line);
            let (quantity, discount) = (Decimal::from(quantity), Decimal::from(discount));
            let mut line = match article {
                Some(n) => {
                    let article = catalogue
                        .articles
                        .iter()
                        .find(|a| a.id == demo_id(n).into())
                        .ok_or_else(|| self.missing("article"))?;
                    Line::of(id, article, quantity, discount, at)
                }
                None => Line {
                    id: id.into(),
                    article_id: None,
                    sku: None,
                    description: description.to_owned(),
                    quantity,
                    unit: "Stk".to_owned(),
                    unit_price: Decimal::ZERO,
                    discount_percent: discount,
                    tax_rate: Decimal::from(19),
                    created_at: at,
                },
            };
            if let Some(cents) = cents {
                line.unit_price = Decimal::new(cents, 2);
            }
            lines.push(line);
        }
        Ok(lines)
    }

    fn draft(&self, now: DateTime<Utc>, catalogue: &DemoCatalogue, ids: &mut DemoIds) -> Result<Draft, AppError> {
        let mut steps = self.steps(now, catalogue, ids)?.into_iter();
        let start = steps.next().ok_or_else(|| self.missing("stage"))?;
        let moves: Vec<Step> = steps.collect();
        let status = catalogue
            .stages
            .iter()
            .find(|s| s.0 == moves.last().unwrap_or(&start).stage_id)
            .map_or(Outcome::Open, |s| s.2);
        let created_at = start.at;
        let last_step_at = moves.last().map_or(created_at, |s| s.at);
        let lines = self.lines(created_at + Duration::hours(1), catalogue, ids)?;
        let activities: Vec<Activity> = self
            .activities
            .iter()
            .map(|&(kind, subject, done, hours)| {
                let at = now - Duration::hours(hours);
                Activity {
                    id: DemoIds::next(&mut ids.activity).into(),
                    kind,
                    subject: subject.to_owned(),
                    body: None,
                    done,
                    at,
                    // Planned an hour after the creation.
                    created_at: if done { at } else { created_at + Duration::hours(1) },
                }
            })
            .collect();
        let erp = self
            .erp_reference
            .map(|reference| (reference.to_owned(), last_step_at + Duration::hours(2)));
        let updated_at = activities
            .iter()
            .filter(|a| a.done)
            .map(|a| a.at)
            .chain(erp.as_ref().map(|(_, at)| *at))
            .fold(last_step_at, DateTime::max);
        Ok(Draft {
            id: demo_id(self.n).into(),
            subject: self.subject.to_owned(),
            description: None,
            business_partner_id: demo_id(self.partner).into(),
            class_id: self.class.to_owned(),
            funnel_id: demo_id(self.funnel).into(),
            owner_id: demo_id(self.owner).into(),
            currency: catalogue.currency.clone(),
            status,
            probability_override: self.probability_override.map(Decimal::from),
            manual_target: Decimal::from(self.target),
            expected_close_date: self.close_in_days.map(|days| (now + Duration::days(days)).date_naive()),
            erp,
            created_at,
            updated_at,
            lines,
            start,
            moves,
            activities,
        })
    }
}

/// Adds the demo opportunities that do not exist yet, with their lines, history and
/// activities, in one transaction; the API's refresh computes their derived columns. Existing
/// ones are left alone. Returns how many it added.
pub(super) async fn load_demo(conn: &mut Conn) -> Result<usize, AppError> {
    conn.transaction(async |conn| {
        let ids: Vec<Uuid> = DEMO.iter().map(|d| demo_id(d.n)).collect();
        let existing: Vec<OpportunityId> = opportunities::table
            .filter(opportunities::id.eq_any(&ids))
            .select(opportunities::id)
            .load(conn)
            .await?;
        let demo_articles: Vec<Uuid> = DEMO
            .iter()
            .flat_map(|d| d.lines.iter().filter_map(|line| line.0.map(demo_id)))
            .collect();
        let demo_stages: Vec<Uuid> = DEMO
            .iter()
            .flat_map(|d| d.path.iter().map(|step| demo_id(step.0)))
            .collect();
        let catalogue = DemoCatalogue {
            articles: articles::table
                .filter(articles::id.eq_any(&demo_articles))
                .select(ArticleRow::as_select())
                .load(conn)
                .await?,
            stages: stages::table
                .filter(stages::id.eq_any(&demo_stages))
                .select((stages::id, stages::probability, stages::outcome))
                .load(conn)
                .await?,
            currency: crate::settings::store::default_currency(conn).await?,
        };
        let now = now_in_seconds();
        let mut fixed = DemoIds {
            line: 2001,
            activity: 3001,
            step: 4001,
        };
        let mut batch = Batch::default();
        let mut added = Vec::new();
        for demo in &DEMO {
            // Built even when it exists, so that every later one keeps its ids.
            let draft = demo.draft(now, &catalogue, &mut fixed)?;
            if !existing.contains(&draft.id) {
                added.push(draft.id);
                let placeholder = draft.placeholder();
                batch.push(draft, &placeholder);
            }
        }
        batch.insert(conn, Existing::Skip).await?;
        super::buying_centres::load(conn, &added).await?;
        for (n, values) in super::custom::opportunity_values() {
            let id = OpportunityId::from(demo_id(n));
            if added.contains(&id) {
                diesel::update(opportunities::table.find(id))
                    .set(opportunities::custom.eq(values))
                    .execute(conn)
                    .await?;
            }
        }
        derive::refresh(conn, &added).await?;
        demo_quotes(conn, &added).await?;
        // The demo data is the initial state (consumers take it from the lists): the quotes
        // made through the store leave no events.
        crate::events::store::discard_own(conn).await?;
        Ok(added.len())
    })
    .await
}

/// Quotes of the first three open demo opportunities with lines, made through the API's own
/// store: the first is sent, the second gets a second (draft) revision with a customer text.
async fn demo_quotes(conn: &mut Conn, added: &[OpportunityId]) -> Result<(), AppError> {
    use crate::access::Actor;
    use crate::access::Visibility;
    use crate::http::IfMatch;
    use crate::quotes::changes::{self as quotes, NewQuote, Transition};
    use crate::quotes::store::today;

    let quoted: Vec<OpportunityId> = opportunities::table
        .filter(opportunities::id.eq_any(added))
        .filter(opportunities::status.eq(Outcome::Open))
        .filter(opportunities::line_count.gt(0))
        .order(opportunities::id)
        .limit(3)
        .select(opportunities::id)
        .load(conn)
        .await?;
    let actor = Actor {
        who: Visibility::All,
        subject: "seed".to_owned(),
        user_id: None,
    };
    let valid_until = today() + chrono::Days::new(30);
    for (i, id) in quoted.into_iter().enumerate() {
        let new = NewQuote {
            valid_until: Some(valid_until),
            header_text: None,
            footer_text: None,
            customer_text: None,
            contact_id: None,
            custom: None,
        };
        // The first quote says when the cars come (a custom field printed on the quote).
        let delivery = (today() + chrono::Days::new(60)).format("%Y-%m-%d").to_string();
        let custom = (i == 0).then(|| serde_json::Map::from_iter([("delivery_date".to_owned(), delivery.into())]));
        let first = quotes::create(conn, &actor, id, NewQuote { custom, ..new.clone() }).await?;
        match i {
            0 => {
                quotes::transition(conn, &actor, first.row.id, &IfMatch::default(), Transition::Send).await?;
            }
            1 => {
                let revised = NewQuote {
                    customer_text: Some("Wie besprochen mit Überführung und Zulassung.".to_owned()),
                    ..new
                };
                quotes::create(conn, &actor, id, revised).await?;
            }
            _ => {}
        }
    }
    Ok(())
}
