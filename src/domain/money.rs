//! Exact money and percentages: `Money` (two decimals, a string in JSON, `numeric` in
//! PostgreSQL), `Percent` (0–100 with at most two decimals, a JSON number) and ISO 4217
//! currency codes. Rounding is half away from zero, to two decimals, once per computed value.

use std::borrow::Cow;
use std::str::FromStr;

use diesel::deserialize::{FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{Output, ToSql};
use diesel::sql_types::Numeric;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// Rounds half away from zero to two decimals.
pub fn round2(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Reads a decimal from a JSON string or number, refusing more than two decimals.
fn two_decimals<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    deserializer.deserialize_any(DecimalVisitor { places: 2 })
}

/// Reads a decimal from a JSON string or number with at most `places` decimals.
pub(super) struct DecimalVisitor {
    pub(super) places: usize,
}

impl Visitor<'_> for DecimalVisitor {
    type Value = Decimal;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "a decimal number with at most {} decimals, as a string or a number",
            self.places
        )
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Decimal, E> {
        let text = text.trim();
        // Counted on the text: parsing may round away digits beyond 28 decimals.
        let decimals = text
            .split_once('.')
            .map_or(0, |(_, fraction)| fraction.trim_end_matches('0').len());
        let value = Decimal::from_str(text).map_err(|_| E::custom(format!("'{text}' is not a decimal number")))?;
        if decimals > self.places || value.normalize().scale() as usize > self.places {
            return Err(E::custom(format!("must have at most {} decimals", self.places)));
        }
        Ok(value)
    }
    fn visit_f64<E: de::Error>(self, number: f64) -> Result<Decimal, E> {
        // The shortest text that reads back as this f64: 0.1, not 0.1000000000000000055…
        self.visit_str(&number.to_string())
    }
    fn visit_i64<E: de::Error>(self, number: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(number))
    }
    fn visit_u64<E: de::Error>(self, number: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(number))
    }
}

/// The largest amount a `numeric(14,2)` column holds.
const MONEY_LIMIT: i64 = 1_000_000_000_000;

/// An amount of money with two decimals, below a trillion in magnitude.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, AsExpression, FromSqlRow)]
#[diesel(sql_type = Numeric)]
pub struct Money(Decimal);

impl Money {
    /// Rounds a computed amount (half away from zero).
    pub fn rounded(value: Decimal) -> Self {
        Self(round2(value))
    }

    pub fn amount(self) -> Decimal {
        self.0
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{:.2}", round2(self.0)))
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = two_decimals(deserializer)?;
        if value.abs() >= Decimal::from(MONEY_LIMIT) {
            return Err(de::Error::custom("must be less than 1000000000000"));
        }
        Ok(Self(value))
    }
}

/// `validator` check: not negative (prices, quantities of money).
pub fn non_negative(money: &Money) -> Result<(), validator::ValidationError> {
    if money.0.is_sign_negative() && !money.0.is_zero() {
        Err(validator::ValidationError::new("non_negative").with_message("must not be negative".into()))
    } else {
        Ok(())
    }
}

impl PartialSchema for Money {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Exact amount with two decimals, as a decimal string (\"100000.00\"); requests \
                 may also send a number (see `MoneyInput`)",
            ))
            // Unbounded digits: report totals add up many amounts.
            .pattern(Some(r"^-?[0-9]+\.[0-9]{2}$"))
            .examples(["100000.00"])
            .into()
    }
}

impl ToSchema for Money {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Money")
    }
}

/// The schema of [`Money`] in requests, which accept a string or a number: request fields name
/// it with `#[schema(value_type = MoneyInput)]`, the Rust type stays [`Money`]. Responses use
/// `Money`, always a string, so that generated clients get one type to sum.
pub struct MoneyInput;

impl PartialSchema for MoneyInput {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Number]))
            .description(Some(
                "Exact amount, not negative, below a trillion, with at most two decimals, as a string \
                 (\"100000.00\") or a number",
            ))
            .pattern(Some(r"^[0-9]{1,12}(\.[0-9]{1,2})?$"))
            .minimum(Some(0))
            .maximum(Some(999_999_999_999.99))
            .multiple_of(Some(0.01))
            .examples(["100000.00"])
            .into()
    }
}

impl ToSchema for MoneyInput {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("MoneyInput")
    }
}

impl ToSql<Numeric, Pg> for Money {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        <Decimal as ToSql<Numeric, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<Numeric, Pg> for Money {
    fn from_sql(bytes: PgValue<'_>) -> diesel::deserialize::Result<Self> {
        <Decimal as FromSql<Numeric, Pg>>::from_sql(bytes).map(Self)
    }
}

/// A percentage from 0 to 100 with at most two decimals, a JSON number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, AsExpression, FromSqlRow)]
#[diesel(sql_type = Numeric)]
pub struct Percent(Decimal);

impl Percent {
    pub const HUNDRED: Percent = Percent(Decimal::ONE_HUNDRED);
    pub const ZERO: Percent = Percent(Decimal::ZERO);
    /// The German standard VAT rate, the default tax rate of articles and lines.
    pub const STANDARD_VAT: Percent = Percent(Decimal::from_parts(19, 0, 0, false, 0));

    /// A percentage, when `value` is within 0–100.
    pub fn new(value: Decimal) -> Option<Self> {
        (Decimal::ZERO..=Decimal::ONE_HUNDRED)
            .contains(&value)
            .then_some(Self(value))
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use rust_decimal::prelude::ToPrimitive;
        // At most 5 significant digits: the shortest f64 text is the exact decimal.
        serializer.serialize_f64(self.0.to_f64().unwrap_or_default())
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = two_decimals(deserializer)?;
        Self::new(value).ok_or_else(|| de::Error::custom("must be from 0 to 100"))
    }
}

impl PartialSchema for Percent {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .description(Some("Percent from 0 to 100 with at most two decimals"))
            .minimum(Some(0.0))
            .maximum(Some(100.0))
            .multiple_of(Some(0.01))
            .examples([75])
            .into()
    }
}

impl ToSchema for Percent {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Percent")
    }
}

impl ToSql<Numeric, Pg> for Percent {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        <Decimal as ToSql<Numeric, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<Numeric, Pg> for Percent {
    fn from_sql(bytes: PgValue<'_>) -> diesel::deserialize::Result<Self> {
        <Decimal as FromSql<Numeric, Pg>>::from_sql(bytes).map(Self)
    }
}

/// A quantity greater than 0 and below 100 billion with at most three decimals; a decimal
/// string in JSON (`"2.5"`), a string or a number on input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Numeric)]
pub struct Quantity(Decimal);

impl Quantity {
    /// A quantity, when `value` is positive, below the limit and has at most three decimals.
    pub fn new(value: Decimal) -> Option<Self> {
        (value > Decimal::ZERO && value < Decimal::from(QUANTITY_LIMIT) && value.normalize().scale() <= 3)
            .then_some(Self(value))
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

/// The largest quantity a `numeric(14,3)` column holds.
const QUANTITY_LIMIT: i64 = 100_000_000_000;

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.normalize().to_string())
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = deserializer.deserialize_any(DecimalVisitor { places: 3 })?;
        Self::new(value).ok_or_else(|| de::Error::custom("must be greater than 0 and less than 100000000000"))
    }
}

impl PartialSchema for Quantity {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Exact quantity, greater than 0, at most three decimals, as a decimal string (\"2.5\"); \
                 requests may also send a number (see `QuantityInput`)",
            ))
            .pattern(Some(QUANTITY_PATTERN))
            .examples(["2.5"])
            .into()
    }
}

impl ToSchema for Quantity {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Quantity")
    }
}

/// The schema of [`Quantity`] in requests, which accept a string or a number (see [`MoneyInput`]).
pub struct QuantityInput;

impl PartialSchema for QuantityInput {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Number]))
            .description(Some(
                "Exact quantity, greater than 0, at most three decimals, as a string (\"2.5\") or a number",
            ))
            .pattern(Some(QUANTITY_PATTERN))
            .exclusive_minimum(Some(0))
            .exclusive_maximum(Some(QUANTITY_LIMIT))
            .multiple_of(Some(0.001))
            .examples(["2.5"])
            .into()
    }
}

impl ToSchema for QuantityInput {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("QuantityInput")
    }
}

/// A quantity as text: up to 11 digits before the point and 3 after.
/// Zero (`0`, `0.000`) is no quantity.
const QUANTITY_PATTERN: &str = r"^(?!0*(\.0*)?$)[0-9]{1,11}(\.[0-9]{1,3})?$";

impl ToSql<Numeric, Pg> for Quantity {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        <Decimal as ToSql<Numeric, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<Numeric, Pg> for Quantity {
    fn from_sql(bytes: PgValue<'_>) -> diesel::deserialize::Result<Self> {
        <Decimal as FromSql<Numeric, Pg>>::from_sql(bytes).map(Self)
    }
}

/// ISO 4217 check for `validator`.
pub fn currency(code: &str) -> Result<(), validator::ValidationError> {
    match iso_currency::Currency::from_code(code) {
        Some(_) => Ok(()),
        None => Err(validator::ValidationError::new("currency")
            .with_message("must be an ISO 4217 currency code such as EUR".into())),
    }
}

/// An ISO 4217 currency code in the spec: the `Currency` schema, an enum of the codes
/// [`currency`] accepts. `String` fields name it with `#[schema(value_type = Currency)]`, or
/// `Option<Currency>` where `null` is allowed (`oneOf` of the `$ref` and `null`, which
/// generators turn into one optional enum).
pub struct Currency;

impl PartialSchema for Currency {
    fn schema() -> RefOr<Schema> {
        use iso_currency::IntoEnumIterator;
        let codes: Vec<&str> = iso_currency::Currency::iter().map(|c| c.code()).collect();
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("ISO 4217 currency code"))
            .enum_values(Some(codes))
            .examples(["EUR"])
            .into()
    }
}

impl ToSchema for Currency {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Currency")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn money_reads_strings_and_numbers_and_writes_two_decimals() {
        for (input, text) in [
            (json!("100000"), "100000.00"),
            (json!(0.1), "0.10"),
            (json!("19.5"), "19.50"),
            (json!(42), "42.00"),
        ] {
            let money: Result<Money, _> = serde_json::from_value(input);
            assert_eq!(
                money.ok().map(|m| serde_json::to_value(m).ok()),
                Some(Some(json!(text)))
            );
        }
        for bad in [
            json!("1.005"),
            json!(0.125),
            json!("abc"),
            json!(true),
            json!("1000000000000.00"),
            json!(1e20),
            json!(2.5e-42),
            json!("0.0000000000000000000000000000001"),
        ] {
            assert!(serde_json::from_value::<Money>(bad).is_err());
        }
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round2(Decimal::new(125, 3)), Decimal::new(13, 2));
        assert_eq!(round2(Decimal::new(-125, 3)), Decimal::new(-13, 2));
        assert_eq!(round2(Decimal::new(124, 3)), Decimal::new(12, 2));
    }

    #[test]
    fn percent_is_a_number_from_0_to_100_with_two_decimals() {
        let p: Result<Percent, _> = serde_json::from_value(json!(75.5));
        assert_eq!(p.ok().and_then(|p| serde_json::to_value(p).ok()), Some(json!(75.5)));
        let whole: Result<Percent, _> = serde_json::from_value(json!(5));
        assert_eq!(whole.ok().and_then(|p| serde_json::to_value(p).ok()), Some(json!(5.0)));
        for bad in [json!(100.01), json!(-1), json!(12.345)] {
            assert!(serde_json::from_value::<Percent>(bad).is_err());
        }
    }

    #[test]
    fn quantity_is_positive_with_three_decimals() {
        let q: Result<Quantity, _> = serde_json::from_value(json!("2.500"));
        assert_eq!(q.ok().and_then(|q| serde_json::to_value(q).ok()), Some(json!("2.5")));
        let n: Result<Quantity, _> = serde_json::from_value(json!(0.125));
        assert_eq!(n.ok().map(Quantity::value), Some(Decimal::new(125, 3)));
        for bad in [
            json!(0),
            json!("-1"),
            json!("1.0001"),
            json!("100000000000"),
            json!("x"),
        ] {
            assert!(serde_json::from_value::<Quantity>(bad).is_err());
        }
    }

    #[test]
    fn currencies() {
        assert!(currency("EUR").is_ok() && currency("CHF").is_ok());
        assert!(currency("EURO").is_err() && currency("eur").is_err() && currency("XYZ").is_err());
    }
}
