//! The demo exchange rates (CHF and USD to the home currency EUR, from the start of 2026 and
//! of 2027) and quotas for the demo reps and the Neuwagen team. Fixed keys and ids (`demo_id`
//! 701…) keep a second run from adding anything.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;

use super::demo_id;
use crate::db::SyncConn;
use crate::domain::quota::{Measure, Target};
use crate::domain::rate::Rate;
use crate::error::AppError;
use crate::quotas::store::QuotaRow;
use crate::schema::{exchange_rates, quotas};

/// (currency, first day (year, month, day), rate in units of 1/10000 EUR)
const RATES: [(&str, (i32, u32, u32), i64); 4] = [
    ("CHF", (2026, 1, 1), 10_735),
    ("CHF", (2027, 1, 1), 10_642),
    ("USD", (2026, 1, 1), 9_128),
    ("USD", (2027, 1, 1), 9_315),
];

/// (id, owner, funnel, period, measure, article, target)
type DemoQuota = (
    u128,
    Option<u128>,
    Option<u128>,
    &'static str,
    Measure,
    Option<u128>,
    i64,
);

const QUOTAS: [DemoQuota; 6] = [
    (701, Some(3), None, "2027-Q1", Measure::WonValue, None, 250_000),
    (702, Some(4), None, "2027-Q1", Measure::WonValue, None, 120_000),
    (703, Some(3), None, "2027-01", Measure::WonQuantity, Some(501), 2),
    (704, Some(4), None, "2027-Q1", Measure::WonCount, None, 12),
    (705, None, Some(301), "2027-Q1", Measure::WonValue, None, 400_000),
    (706, None, Some(302), "2026-Q4", Measure::WonCount, None, 30),
];

pub(super) fn load(conn: &mut SyncConn) -> Result<(), AppError> {
    let rates: Vec<_> = RATES
        .iter()
        .filter_map(|&(currency, (y, m, d), rate)| {
            Some((
                exchange_rates::currency.eq(currency),
                exchange_rates::valid_from.eq(NaiveDate::from_ymd_opt(y, m, d)?),
                exchange_rates::rate.eq(Rate::new(Decimal::new(rate, 4))?),
            ))
        })
        .collect();
    diesel::insert_into(exchange_rates::table)
        .values(&rates)
        .on_conflict_do_nothing()
        .execute(conn)?;
    let now = Utc::now();
    let rows: Vec<QuotaRow> = QUOTAS
        .iter()
        .filter_map(|&(n, owner, funnel, period, measure, article, target)| {
            Some(QuotaRow {
                id: demo_id(n).into(),
                owner_id: owner.map(|o| demo_id(o).into()),
                funnel_id: funnel.map(|f| demo_id(f).into()),
                period: period.to_owned(),
                measure,
                article_id: article.map(|a| demo_id(a).into()),
                target: Target::new(Decimal::from(target))?,
                created_at: now,
                updated_at: now,
                version: 1,
            })
        })
        .collect();
    diesel::insert_into(quotas::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(())
}
