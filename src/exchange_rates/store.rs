//! Exchange rates in PostgreSQL, and `rate_on(currency, day)` (migration 000028): the rate of a
//! day is the latest with `valid_from` <= that day, 1 for the home currency, NULL without one.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Date};
use diesel_async::RunQueryDsl;
use rust_decimal::Decimal;

use crate::db::Conn;
use crate::domain::rate::Rate;
use crate::error::AppError;
use crate::http::pagination::Page;
use crate::schema::exchange_rates;

diesel::define_sql_function! {
    /// The rate of `currency` on `day`: 1 for the home currency, the latest rate with
    /// `valid_from` <= `day`, or NULL when there is none. One SQL expression: reports use it
    /// inside their aggregates (`sum(amount) * rate_on(currency, day)` per currency).
    fn rate_on(currency: diesel::sql_types::Bpchar, day: Date) -> diesel::sql_types::Nullable<diesel::sql_types::Numeric>;
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = exchange_rates, check_for_backend(diesel::pg::Pg))]
pub struct ExchangeRateRow {
    pub currency: String,
    pub valid_from: NaiveDate,
    pub rate: Rate,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl ExchangeRateRow {
    /// Its key as text, `CHF/2027-01-01`: the events' `subject_id` and the list's sort key.
    pub fn key(&self) -> String {
        key(&self.currency, self.valid_from)
    }
}

/// `CHF/2027-01-01`.
pub fn key(currency: &str, valid_from: NaiveDate) -> String {
    format!("{}/{}", currency.trim(), valid_from.format("%Y-%m-%d"))
}

/// The list's sort key as SQL: the same text as [`key`], compared byte by byte.
pub(super) const KEY_SQL: &str =
    "((exchange_rates.currency::text || '/' || to_char(exchange_rates.valid_from, 'YYYY-MM-DD')) COLLATE \"C\")";

pub(super) const WHAT: &str = "exchange rate";

/// The rate of `currency` on `day` (see [`rate_on`]).
pub async fn rate_of_day(conn: &mut Conn, currency: &str, day: NaiveDate) -> Result<Option<Decimal>, AppError> {
    Ok(diesel::select(rate_on(currency, day)).get_result(conn).await?)
}

pub async fn find(conn: &mut Conn, currency: &str, valid_from: NaiveDate) -> Result<ExchangeRateRow, AppError> {
    exchange_rates::table
        .find((currency, valid_from))
        .select(ExchangeRateRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(WHAT, key(currency, valid_from)))
}

/// Filters of the list: one currency; `on` a day, the rate valid that day per currency.
#[derive(Debug, Default)]
pub struct RateFilter {
    pub currency: Option<String>,
    pub on: Option<NaiveDate>,
}

pub async fn list(conn: &mut Conn, filter: &RateFilter, page: &Page) -> Result<Vec<ExchangeRateRow>, AppError> {
    let mut query = exchange_rates::table.select(ExchangeRateRow::as_select()).into_boxed();
    if let Some(currency) = &filter.currency {
        query = query.filter(exchange_rates::currency.eq(currency));
    }
    if let Some(day) = filter.on {
        // The row of each currency whose rate holds on `day`: the latest that starts by then.
        query = query.filter(exchange_rates::valid_from.le(day)).filter(
            diesel::dsl::sql::<Bool>(
                "NOT EXISTS (SELECT 1 FROM exchange_rates later \
                 WHERE later.currency = exchange_rates.currency \
                 AND later.valid_from > exchange_rates.valid_from AND later.valid_from <= ",
            )
            .bind::<Date, _>(day)
            .sql(")"),
        );
    }
    Ok(query
        .filter(page.after_unique())
        .order(page.order())
        .limit(page.fetch())
        .load(conn)
        .await?)
}
