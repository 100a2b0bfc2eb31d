//! The transactional commands on exchange rates: each checks the currency against the settings
//! and writes its event in its transaction. `subject_id` of the events is `CHF/2027-01-01`.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::store::{ExchangeRateRow, WHAT, key};
use super::view::ExchangeRate;
use crate::db::Conn;
use crate::domain::rate::{Rate, rate_currency};
use crate::error::{AppError, field_errors};
use crate::events::{self, EventType};
use crate::http::IfMatch;
use crate::schema::exchange_rates;

/// The name of an exchange rate in events.
const KEY: &str = "exchange_rate";

/// 422 when `currency` is no ISO code or is the home currency.
async fn check_currency(conn: &mut Conn, currency: &str) -> Result<(), AppError> {
    let home = crate::settings::store::default_currency(conn).await?;
    rate_currency(currency, &home).map_err(|v| AppError::Validation(field_errors([v])))
}

/// The row of `currency` from `valid_from`, locked for the rest of the transaction; 404 when
/// there is none, 412 when `If-Match` names another version.
async fn lock(
    conn: &mut Conn,
    currency: &str,
    valid_from: NaiveDate,
    if_match: &IfMatch,
) -> Result<ExchangeRateRow, AppError> {
    let row: ExchangeRateRow = exchange_rates::table
        .find((currency, valid_from))
        .select(ExchangeRateRow::as_select())
        .for_no_key_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, key(currency, valid_from)))?;
    if_match.check(row.version)?;
    Ok(row)
}

/// Creates the rate of `currency` from `valid_from`, or replaces its value; a replacement that
/// changes nothing keeps the version and writes no event (so repeating a sync is a no-op).
/// Returns whether it was created.
pub async fn upsert(
    conn: &mut Conn,
    actor: &str,
    currency: &str,
    valid_from: NaiveDate,
    rate: Rate,
    if_match: &IfMatch,
) -> Result<(ExchangeRateRow, bool), AppError> {
    conn.transaction(async |conn| {
        check_currency(conn, currency).await?;
        let inserted: Option<ExchangeRateRow> = diesel::insert_into(exchange_rates::table)
            .values((
                exchange_rates::currency.eq(currency),
                exchange_rates::valid_from.eq(valid_from),
                exchange_rates::rate.eq(rate),
            ))
            .on_conflict_do_nothing()
            .returning(ExchangeRateRow::as_returning())
            .get_result(conn)
            .await
            .optional()?;
        if let Some(row) = inserted {
            let shown = ExchangeRate::from(row.clone());
            events::store::state(conn, EventType::ExchangeRateCreated, actor, (KEY, row.key()), &shown).await?;
            return Ok((row, true));
        }
        let current = lock(conn, currency, valid_from, if_match).await?;
        if current.rate == rate {
            return Ok((current, false));
        }
        let before = events::shown(&ExchangeRate::from(current.clone()))?;
        let row: ExchangeRateRow = diesel::update(exchange_rates::table.find((currency, valid_from)))
            .set((
                exchange_rates::rate.eq(rate),
                exchange_rates::updated_at.eq(diesel::dsl::now),
                exchange_rates::version.eq(exchange_rates::version + 1),
            ))
            .returning(ExchangeRateRow::as_returning())
            .get_result(conn)
            .await?;
        let after = ExchangeRate::from(row.clone());
        events::store::updated(
            conn,
            EventType::ExchangeRateUpdated,
            actor,
            (KEY, row.key()),
            &before,
            &after,
        )
        .await?;
        Ok((row, false))
    })
    .await
}

pub async fn delete(
    conn: &mut Conn,
    actor: &str,
    currency: &str,
    valid_from: NaiveDate,
    if_match: &IfMatch,
) -> Result<(), AppError> {
    conn.transaction(async |conn| {
        lock(conn, currency, valid_from, if_match).await?;
        let last: ExchangeRateRow = diesel::delete(exchange_rates::table.find((currency, valid_from)))
            .returning(ExchangeRateRow::as_returning())
            .get_result(conn)
            .await?;
        let shown = ExchangeRate::from(last.clone());
        events::store::state(conn, EventType::ExchangeRateDeleted, actor, (KEY, last.key()), &shown).await
    })
    .await
}
