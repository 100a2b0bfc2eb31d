//! Creating an opportunity in three statements: one reads everything the new opportunity is
//! checked against (class, partner, funnel, stage, owner, the rep's team, the default
//! currency), one writes the row with its derived values and its first history entry and reads
//! it back with its traffic light, and one writes `opportunity.created`.

use chrono::Utc;
use diesel::sql_types::{Bool, Nullable, Numeric, Text, Uuid as SqlUuid};
use std::sync::LazyLock;

use diesel::QueryableByName;
use diesel_async::{AsyncConnection, RunQueryDsl};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::buying_centre;
use super::changes::{NewOpportunity, reference, validation};
use super::derive;
use super::events;
use super::store::{OpportunityRecord, WRITTEN, Written};
use crate::access::{self, Actor};
use crate::custom_fields::values::{self, Change, Definitions};
use crate::db::Conn;
use crate::db::prepared::Statement;
use crate::domain::custom::CustomResource;
use crate::domain::formula::Formula;
use crate::domain::money::Percent;
use crate::domain::opportunity::{self, Entry, Facts};
use crate::domain::pipeline::Outcome;
use crate::error::{AppError, FieldError, field_errors};
use crate::ids::{FunnelId, OpportunityId, UserId};
use serde_json::Map;

/// Everything a new opportunity is checked against, for class `$1`, partner `$2`, funnel `$3`
/// (else the class's), stage `$4`, owner `$5` (else the class's, else the creating user `$6`);
/// `$7` is the rep whose team the funnel must be, if a rep creates it.
static CHECKS: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(&format!(
        "
WITH p AS (
    SELECT $1::text AS class_id, $2::uuid AS partner_id, $3::uuid AS funnel_id, $4::uuid AS stage_id,
           $5::uuid AS owner_id, $6::uuid AS creator_id, $7::uuid AS rep_id
)
SELECT c.active AS class_active, c.default_funnel_id, c.default_owner_id,
       EXISTS (SELECT 1 FROM business_partners b WHERE b.id = p.partner_id) AS partner_found,
       f.active AS funnel_active, f.metric_formula,
       s.outcome AS stage_outcome, s.requires_lines, s.active AS stage_active, s.probability AS stage_probability,
       EXISTS (SELECT 1 FROM funnel_stages fs WHERE fs.funnel_id = f.id AND fs.stage_id = s.id) AS in_funnel,
       u.active AS owner_active,
       {} AS in_team,
       (SELECT default_currency::text FROM settings) AS default_currency,
       {} AS custom_fields
FROM p
LEFT JOIN classes c ON c.id = p.class_id
LEFT JOIN funnels f ON f.id = coalesce(p.funnel_id, c.default_funnel_id)
LEFT JOIN stages s ON s.id = p.stage_id
LEFT JOIN users u ON u.id = coalesce(p.owner_id, c.default_owner_id, p.creator_id)",
        access::in_team_sql("f.id", "p.rep_id"),
        values::definitions_sql(CustomResource::Opportunity)
    ))
});

#[derive(Debug, QueryableByName)]
struct Checks {
    #[diesel(sql_type = Nullable<Bool>)]
    class_active: Option<bool>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    default_funnel_id: Option<FunnelId>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    default_owner_id: Option<UserId>,
    #[diesel(sql_type = Bool)]
    partner_found: bool,
    #[diesel(sql_type = Nullable<Bool>)]
    funnel_active: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    metric_formula: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    stage_outcome: Option<Outcome>,
    #[diesel(sql_type = Nullable<Bool>)]
    requires_lines: Option<bool>,
    #[diesel(sql_type = Nullable<Bool>)]
    stage_active: Option<bool>,
    #[diesel(sql_type = Nullable<Numeric>)]
    stage_probability: Option<Decimal>,
    #[diesel(sql_type = Bool)]
    in_funnel: bool,
    #[diesel(sql_type = Nullable<Bool>)]
    owner_active: Option<bool>,
    #[diesel(sql_type = Bool)]
    in_team: bool,
    #[diesel(sql_type = Nullable<Text>)]
    default_currency: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    custom_fields: serde_json::Value,
}

impl Checks {
    /// The stage as the funnel sees it; `None` when there is no such stage.
    fn entry(&self) -> Option<Entry> {
        Some(Entry {
            outcome: self.stage_outcome?,
            requires_lines: self.requires_lines?,
            active: self.stage_active?,
            in_funnel: self.in_funnel,
        })
    }
}

/// The row with its derived values, creator and custom values (`$1`…`$18`), its first history
/// entry (`$19`), read back as every read shows it.
static INSERT: LazyLock<Statement> = LazyLock::new(|| {
    Statement::new(&format!(
        "
WITH written AS (
    INSERT INTO opportunities (id, subject, description, business_partner_id, class_id, funnel_id, stage_id,
                               owner_id, currency, status, probability_override, probability, target_value,
                               weighted_value, metric, expected_close_date, external_id, created_by, custom)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11, $12, $13, $14, $15, $16, $17, $18)
    RETURNING *
), history AS (
    INSERT INTO opportunity_stage_changes (id, opportunity_id, to_stage_id, probability, target_value,
                                           changed_by, changed_at)
    SELECT $19, w.id, w.stage_id, w.probability, w.target_value, w.created_by, w.stage_entered_at FROM written w
)
{WRITTEN}"
    ))
});

/// Creates an opportunity in an open stage: funnel and owner default from the class (the
/// owner then to the creating user), the currency from the settings.
pub async fn insert(conn: &mut Conn, actor: &Actor, new: NewOpportunity) -> Result<OpportunityRecord, AppError> {
    conn.transaction(async |conn| {
        let checks: Checks = CHECKS
            .query()
            .bind::<Text, _>(new.class_id.clone())
            .bind::<SqlUuid, _>(new.business_partner_id)
            .bind::<Nullable<SqlUuid>, _>(new.funnel_id)
            .bind::<SqlUuid, _>(new.stage_id)
            .bind::<Nullable<SqlUuid>, _>(new.owner_id)
            .bind::<Nullable<SqlUuid>, _>(actor.user_id)
            .bind::<Nullable<SqlUuid>, _>(access::fenced_rep(actor.who))
            .get_result(conn)
            .await?;
        // Its contacts are read only when it has some: without, a create stays three statements.
        let contacts = new.contacts.clone().unwrap_or_default();
        let mut errors = Vec::new();
        buying_centre::check(conn, new.business_partner_id, &contacts, &[], &mut errors).await?;
        let (funnel, owner, custom) = check(&new, actor, &checks, errors)?;
        let probability = opportunity::probability(
            Outcome::Open,
            new.probability_override.map(Percent::value),
            checks.stage_probability.unwrap_or_default(),
        );
        let target = new.target_value.unwrap_or_default().amount();
        let weighted = opportunity::weighted_value(target, probability);
        let now = Utc::now();
        let facts = Facts {
            target_value: target,
            probability,
            weighted_value: weighted,
            line_count: 0,
            quantity: Decimal::ZERO,
            created_at: now,
            closed_at: None,
            last_contact_at: now,
        };
        let formula = checks
            .metric_formula
            .as_deref()
            .and_then(|text| Formula::parse(text).ok());
        let definitions = Definitions::from_json(checks.custom_fields.clone())?;
        let numbers = derive::custom_inputs(formula.as_ref(), &definitions, &custom.stored());
        let metric = derive::metric(formula.as_ref(), &facts, numbers, now);
        let currency = new.currency.or(checks.default_currency).unwrap_or_default();
        let written: Written = INSERT
            .query()
            .bind::<SqlUuid, _>(OpportunityId::generate())
            .bind::<Text, _>(new.subject.clone())
            .bind::<Nullable<Text>, _>(new.description.clone())
            .bind::<SqlUuid, _>(new.business_partner_id)
            .bind::<Text, _>(new.class_id.clone())
            .bind::<SqlUuid, _>(funnel)
            .bind::<SqlUuid, _>(new.stage_id)
            .bind::<SqlUuid, _>(owner)
            .bind::<Text, _>(currency)
            .bind::<Nullable<Numeric>, _>(new.probability_override.map(Percent::value))
            .bind::<Numeric, _>(probability)
            .bind::<Numeric, _>(target)
            .bind::<Numeric, _>(weighted)
            .bind::<Nullable<Numeric>, _>(metric)
            .bind::<Nullable<diesel::sql_types::Date>, _>(new.expected_close_date)
            .bind::<Nullable<Text>, _>(new.external_id.clone())
            .bind::<Text, _>(actor.subject.clone())
            .bind::<diesel::sql_types::Jsonb, _>(custom.stored())
            .bind::<SqlUuid, _>(Uuid::now_v7())
            .get_result(conn)
            .await?;
        let mut record = written.record();
        buying_centre::insert(conn, record.row.id, &contacts).await?;
        record.contacts = buying_centre::shown(&contacts);
        events::created(conn, actor, &record).await?;
        Ok(record)
    })
    .await
}

/// The funnel, owner and custom values of the new opportunity, or one 422 naming every bad
/// reference and value, or 403 when a rep creates it for someone else outside their team's
/// funnels.
/// `errors` holds those found before (its contacts).
fn check(
    new: &NewOpportunity,
    actor: &Actor,
    checks: &Checks,
    mut errors: Vec<FieldError>,
) -> Result<(FunnelId, UserId, Change), AppError> {
    let definitions = Definitions::from_json(checks.custom_fields.clone())?;
    let custom = match definitions.check(&Map::new(), new.custom.as_ref()) {
        Ok(custom) => {
            errors.extend(definitions.missing_for(&custom.after, new.stage_id));
            custom
        }
        Err(wrong) => {
            errors.extend(wrong);
            Change::default()
        }
    };
    let class_found = checks.class_active.is_some();
    errors.extend(reference("class_id", "class", &new.class_id, checks.class_active));
    errors.extend(reference(
        "business_partner_id",
        "business partner",
        &new.business_partner_id,
        checks.partner_found.then_some(true),
    ));
    let funnel = new.funnel_id.or(checks.default_funnel_id);
    let owner = new.owner_id.or(checks.default_owner_id).or(actor.user_id);
    match funnel {
        None if class_found => errors.push(FieldError::new(
            "funnel_id",
            "required",
            "the class has no default funnel: give funnel_id",
        )),
        None => {}
        Some(funnel) => {
            let funnel_error = reference("funnel_id", "funnel", &funnel, checks.funnel_active);
            if funnel_error.is_none() {
                errors.extend(field_errors(opportunity::check_open_entry(
                    checks.entry(),
                    0,
                    "a new opportunity starts in an open stage; win or lose it afterwards",
                )));
            }
            errors.extend(funnel_error);
        }
    }
    match owner {
        None if class_found => errors.push(FieldError::new(
            "owner_id",
            "required",
            "the class has no default owner and the caller is no user: give owner_id",
        )),
        None => {}
        Some(owner) => errors.extend(reference("owner_id", "user", &owner, checks.owner_active)),
    }
    validation(errors)?;
    let (Some(funnel), Some(owner)) = (funnel, owner) else {
        return Err(AppError::Validation(vec![]));
    };
    if !access::covers_known(actor.who, owner, checks.in_team) {
        return Err(AppError::Forbidden(
            "reps create opportunities they own or in funnels of their team".to_owned(),
        ));
    }
    Ok((funnel, owner, custom))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statements_number_their_parameters_once_and_in_order() {
        assert_eq!(CHECKS.parameters(), 7);
        assert_eq!(INSERT.parameters(), 19);
    }
}
