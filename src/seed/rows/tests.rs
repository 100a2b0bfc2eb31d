use chrono::Duration;
use diesel::pg::Pg;

use super::super::copy::{ACTIVITIES, OPPORTUNITIES, statement};
use super::*;
use crate::domain::activity::ActivityKind;
use crate::ids::{ActivityId, FunnelId, OpportunityId, OpportunityLineId, PartnerId, StageId, UserId};

fn step(stage: u128, probability: i64, at: DateTime<Utc>) -> Step {
    Step {
        id: Uuid::from_u128(stage),
        stage_id: StageId(Uuid::from_u128(stage)),
        probability: Decimal::from(probability),
        lost_reason_id: None,
        note: None,
        at,
    }
}

fn activity(kind: ActivityKind, done: bool, at: DateTime<Utc>) -> Activity {
    Activity {
        id: ActivityId::generate(),
        kind,
        subject: kind.as_str().to_owned(),
        body: None,
        done,
        at,
        created_at: at,
    }
}

fn line(quantity: i64, cents: i64, discount: i64, at: DateTime<Utc>) -> Line {
    Line {
        id: OpportunityLineId::generate(),
        article_id: None,
        sku: None,
        description: "Werkstattstunde".to_owned(),
        quantity: Decimal::from(quantity),
        unit: "h".to_owned(),
        unit_price: Decimal::new(cents, 2),
        discount_percent: Decimal::from(discount),
        tax_rate: Decimal::from(19),
        created_at: at,
    }
}

fn draft(now: DateTime<Utc>) -> Draft {
    let created_at = now - Duration::days(30);
    Draft {
        id: OpportunityId::generate(),
        subject: "Umbau".to_owned(),
        description: None,
        business_partner_id: PartnerId::generate(),
        class_id: "SERVICE".to_owned(),
        funnel_id: FunnelId::generate(),
        owner_id: UserId::generate(),
        currency: "EUR".to_owned(),
        status: Outcome::Open,
        probability_override: None,
        manual_target: Decimal::from(500),
        expected_close_date: None,
        erp: None,
        created_at,
        updated_at: created_at,
        lines: vec![line(3, 3333, 0, created_at), line(1, 10_000, 5, created_at)],
        start: step(1, 5, created_at),
        moves: vec![step(2, 75, now - Duration::days(20))],
        activities: vec![
            activity(ActivityKind::Call, true, now - Duration::days(16)),
            activity(ActivityKind::Note, true, now - Duration::days(2)),
            activity(ActivityKind::Appointment, false, now + Duration::days(2)),
        ],
    }
}

#[test]
fn derived_columns_follow_the_lines_the_stage_and_the_latest_done_contact() {
    let now = now_in_seconds();
    let formula = Formula::parse("if(days_since_contact > 14, round(weighted_value / 2, 2), weighted_value)").ok();
    let derived = draft(now).derive(Decimal::from(75), formula.as_ref(), now);
    // 3 × 33.33 + 100.00 × 0.95 = 194.99; × 75 % = 146.2425 → 146.24; halved → 73.12
    assert_eq!(derived.target_value, Decimal::new(19499, 2));
    assert_eq!(derived.probability, Decimal::from(75));
    assert_eq!(derived.weighted_value, Decimal::new(14624, 2));
    assert_eq!((derived.line_count, derived.quantity), (2, Decimal::from(4)));
    assert_eq!(
        derived.last_contact_at,
        now - Duration::days(16),
        "notes and plans are no contact"
    );
    assert_eq!(derived.metric, Some(Decimal::new(7312, 2)));
}

#[test]
fn closed_ones_have_fixed_probabilities_and_no_lines_keep_the_manual_value() {
    let now = now_in_seconds();
    let mut won = draft(now);
    won.status = Outcome::Won;
    won.lines.clear();
    won.probability_override = Some(Decimal::from(40));
    let derived = won.derive(Decimal::from(75), None, now);
    assert_eq!(
        (derived.probability, derived.target_value),
        (Decimal::ONE_HUNDRED, Decimal::from(500))
    );
    assert_eq!((derived.weighted_value, derived.metric), (Decimal::from(500), None));
    assert_eq!(won.closed_at(), Some(now - Duration::days(20)));
    let mut lost = won;
    lost.status = Outcome::Lost;
    assert_eq!(lost.derive(Decimal::from(75), None, now).weighted_value, Decimal::ZERO);
}

#[test]
fn an_insert_binds_one_array_per_column() {
    let sql = diesel::debug_query::<Pg, _>(&statement(OPPORTUNITIES, Existing::Skip)).to_string();
    assert!(sql.starts_with("INSERT INTO opportunities (id, subject, description, business_partner_id,"));
    assert!(sql.contains("SELECT unnest($1::uuid[]), unnest($2::text[]),"));
    assert!(sql.contains("unnest($32::timestamptz[]) ON CONFLICT (id) DO NOTHING"));
    assert!(!sql.contains("$33"));
    let sql = diesel::debug_query::<Pg, _>(&statement(ACTIVITIES, Existing::Fail)).to_string();
    assert!(sql.contains("unnest($12::timestamptz[])") && !sql.contains("$13") && !sql.contains("CONFLICT"));
}

#[test]
fn the_catalogue_lists_the_contact_kinds_first() {
    let n = ActivityKind::CONTACTS.len();
    assert!(crate::seed::catalogue::KINDS[..n].iter().all(|k| k.0.is_contact()));
    assert!(crate::seed::catalogue::KINDS[n..].iter().all(|k| !k.0.is_contact()));
}
