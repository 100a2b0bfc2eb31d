//! Exchange rates: `Rate`, how many units of the home currency one unit of another currency is
//! worth (exact, greater than 0, at most ten decimals; a decimal string in JSON, `numeric(20,10)`
//! in PostgreSQL), and the rules of a rate's currency and first day.

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate};
use diesel::deserialize::{FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{Output, ToSql};
use diesel::sql_types::Numeric;
use rust_decimal::Decimal;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::Violation;
use super::money::DecimalVisitor;

/// Decimals a rate keeps.
pub const RATE_DECIMALS: usize = 10;

/// Rates stay below this (`numeric(20,10)` holds ten digits before the point).
const RATE_LIMIT: i64 = 10_000_000_000;

/// A rate as text: up to ten digits before the point and ten after, not zero.
const RATE_PATTERN: &str = r"^(?!0*(\.0*)?$)[0-9]{1,10}(\.[0-9]{1,10})?$";

/// Units of the home currency per unit of another currency: greater than 0, below 10^10, at most
/// ten decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Numeric)]
pub struct Rate(Decimal);

impl Rate {
    /// A rate, when `value` is positive, below the limit and has at most ten decimals.
    pub fn new(value: Decimal) -> Option<Self> {
        (value > Decimal::ZERO
            && value < Decimal::from(RATE_LIMIT)
            && value.normalize().scale() as usize <= RATE_DECIMALS)
            .then_some(Self(value))
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.normalize().to_string())
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = deserializer.deserialize_any(DecimalVisitor { places: RATE_DECIMALS })?;
        Self::new(value).ok_or_else(|| de::Error::custom("must be greater than 0 and less than 10000000000"))
    }
}

impl PartialSchema for Rate {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Units of the home currency per unit of the currency: exact, greater than 0, at most ten \
                 decimals, as a decimal string (\"0.9512\"); requests may also send a number (see `RateInput`)",
            ))
            .pattern(Some(RATE_PATTERN))
            .examples(["1.0642"])
            .into()
    }
}

impl ToSchema for Rate {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Rate")
    }
}

/// The schema of [`Rate`] in requests, which accept a string or a number (see `MoneyInput`).
pub struct RateInput;

impl PartialSchema for RateInput {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Number]))
            .description(Some(
                "Units of the home currency per unit of the currency: exact, greater than 0, below \
                 10000000000, at most ten decimals, as a string (\"0.9512\") or a number",
            ))
            .pattern(Some(RATE_PATTERN))
            .exclusive_minimum(Some(0))
            .exclusive_maximum(Some(RATE_LIMIT))
            .examples(["1.0642"])
            .into()
    }
}

impl ToSchema for RateInput {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("RateInput")
    }
}

impl ToSql<Numeric, Pg> for Rate {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        <Decimal as ToSql<Numeric, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<Numeric, Pg> for Rate {
    fn from_sql(bytes: PgValue<'_>) -> diesel::deserialize::Result<Self> {
        <Decimal as FromSql<Numeric, Pg>>::from_sql(bytes).map(Self)
    }
}

/// Years a rate's first day may fall in.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

/// The currency of a rate: an ISO 4217 code other than the home currency (whose rate is 1).
pub fn rate_currency(code: &str, home: &str) -> Result<(), Violation> {
    if iso_currency::Currency::from_code(code).is_none() {
        return Err(Violation::new(
            "currency",
            "currency",
            "must be an ISO 4217 currency code such as CHF",
        ));
    }
    if code == home.trim() {
        return Err(Violation::new(
            "currency",
            "home_currency",
            format!("{code} is the home currency (settings.default_currency): its rate is always 1"),
        ));
    }
    Ok(())
}

/// The first day of a rate, `YYYY-MM-DD` in the years 1900 to 9999.
pub fn valid_from(text: &str) -> Result<NaiveDate, Violation> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|day| text.len() == 10 && YEARS.contains(&day.year()))
        .ok_or_else(|| Violation::new("valid_from", "date", "must be a date YYYY-MM-DD from 1900 to 9999"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_rate_is_positive_with_ten_decimals_and_written_as_a_plain_string() {
        let r: Result<Rate, _> = serde_json::from_value(json!("0.9512000"));
        assert_eq!(r.ok().and_then(|r| serde_json::to_value(r).ok()), Some(json!("0.9512")));
        let n: Result<Rate, _> = serde_json::from_value(json!(1.0642));
        assert_eq!(n.ok().map(Rate::value), Some(Decimal::new(10642, 4)));
        let fine: Result<Rate, _> = serde_json::from_value(json!("0.0000000001"));
        assert!(fine.is_ok());
        for bad in [
            json!(0),
            json!("0.000"),
            json!("-1"),
            json!("0.00000000001"),
            json!("10000000000"),
            json!("x"),
            json!(true),
        ] {
            assert!(serde_json::from_value::<Rate>(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_currency_of_a_rate_is_iso_and_not_the_home_currency() {
        assert!(rate_currency("CHF", "EUR").is_ok());
        assert_eq!(
            rate_currency("EUR", "EUR").err().map(|v| v.code),
            Some("home_currency".to_owned())
        );
        assert!(rate_currency("chf", "EUR").is_err() && rate_currency("XYZ", "EUR").is_err());
    }

    #[test]
    fn a_first_day_is_an_iso_date_in_sensible_years() {
        assert_eq!(valid_from("2027-01-01").ok(), NaiveDate::from_ymd_opt(2027, 1, 1));
        for bad in [
            "2027-1-1",
            "2027-02-30",
            "0000-01-01",
            "1899-12-31",
            "x",
            "+12027-01-01",
        ] {
            assert!(valid_from(bad).is_err(), "{bad}");
        }
    }
}
