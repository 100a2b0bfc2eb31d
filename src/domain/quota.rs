//! Quotas: a target per owner or funnel team, per month or quarter, for a measure of won
//! business. The period (`2027-01`, `2027-Q1`), the measures, the target and the rules between
//! them, without I/O.

use std::borrow::Cow;
use std::str::FromStr;

use chrono::NaiveDate;
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

super::text_enum! {
    /// What a quota counts: the won value in the home currency, the number of won
    /// opportunities, or the won quantity of one article.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Measure {
        WonValue = "won_value",
        WonCount = "won_count",
        WonQuantity = "won_quantity",
    }
}

/// The pattern of a period: a month `2027-01` or a quarter `2027-Q1`.
pub const PERIOD_PATTERN: &str = "^[0-9]{4}-(0[1-9]|1[0-2]|Q[1-4])$";

/// A month or a quarter of a year from 1900 to 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month { year: i32, month: u32 },
    Quarter { year: i32, quarter: u32 },
}

impl FromStr for Period {
    type Err = Violation;
    fn from_str(text: &str) -> Result<Self, Violation> {
        let invalid = || Violation::new("period", "period", "must be a month (2027-01) or a quarter (2027-Q1)");
        let (year, rest) = text.split_once('-').ok_or_else(invalid)?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let year: i32 = year.parse().map_err(|_| invalid())?;
        if !(1900..=9999).contains(&year) {
            return Err(invalid());
        }
        let number = |digits: &str, len: usize, max: u32| {
            (digits.len() == len && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.parse::<u32>().ok())
                .flatten()
                .filter(|n| (1..=max).contains(n))
        };
        match rest.strip_prefix('Q') {
            Some(q) => number(q, 1, 4).map(|quarter| Self::Quarter { year, quarter }),
            None => number(rest, 2, 12).map(|month| Self::Month { year, month }),
        }
        .ok_or_else(invalid)
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Self::Quarter { year, quarter } => write!(f, "{year:04}-Q{quarter}"),
        }
    }
}

impl Period {
    /// The first day of the period.
    pub fn starts_on(self) -> Option<NaiveDate> {
        let (year, month) = match self {
            Self::Month { year, month } => (year, month),
            Self::Quarter { year, quarter } => (year, quarter * 3 - 2),
        };
        NaiveDate::from_ymd_opt(year, month, 1)
    }

    /// The last day of the period.
    pub fn ends_on(self) -> Option<NaiveDate> {
        let months = match self {
            Self::Month { .. } => 1,
            Self::Quarter { .. } => 3,
        };
        self.starts_on()?
            .checked_add_months(chrono::Months::new(months))?
            .pred_opt()
    }
}

/// A target: not negative, below 10^14, at most three decimals; a decimal string in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Numeric)]
pub struct Target(Decimal);

/// Targets stay below this (`numeric(17,3)`).
const TARGET_LIMIT: i64 = 100_000_000_000_000;

const TARGET_PATTERN: &str = r"^[0-9]{1,14}(\.[0-9]{1,3})?$";

impl Target {
    pub fn new(value: Decimal) -> Option<Self> {
        (!value.is_sign_negative() || value.is_zero())
            .then_some(value)
            .filter(|v| *v < Decimal::from(TARGET_LIMIT) && v.normalize().scale() <= 3)
            .map(|v| Self(v.abs()))
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.normalize().to_string())
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = deserializer.deserialize_any(DecimalVisitor { places: 3 })?;
        Self::new(value).ok_or_else(|| de::Error::custom("must be from 0 to less than 100000000000000"))
    }
}

impl PartialSchema for Target {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A quota's target as a decimal string (\"250000\"): the won value in the home currency \
                 (at most two decimals), a count (whole), or a quantity (at most three decimals)",
            ))
            .pattern(Some(TARGET_PATTERN))
            .examples(["250000"])
            .into()
    }
}

impl ToSchema for Target {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Target")
    }
}

/// The schema of [`Target`] in requests: a string or a number.
pub struct TargetInput;

impl PartialSchema for TargetInput {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Number]))
            .description(Some(
                "Not negative, below 100000000000000, as a string (\"250000\") or a number: the won value \
                 in the home currency (at most two decimals), a whole count, or a quantity (at most three \
                 decimals)",
            ))
            .pattern(Some(TARGET_PATTERN))
            .minimum(Some(0))
            .exclusive_maximum(Some(TARGET_LIMIT))
            .multiple_of(Some(0.001))
            .examples(["250000"])
            .into()
    }
}

impl ToSchema for TargetInput {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("TargetInput")
    }
}

impl ToSql<Numeric, Pg> for Target {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        <Decimal as ToSql<Numeric, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<Numeric, Pg> for Target {
    fn from_sql(bytes: PgValue<'_>) -> diesel::deserialize::Result<Self> {
        <Decimal as FromSql<Numeric, Pg>>::from_sql(bytes).map(Self)
    }
}

/// What a quota's rules look at.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub has_owner: bool,
    pub has_funnel: bool,
    pub measure: Measure,
    pub has_article: bool,
    pub target: Target,
}

/// The rules between a quota's fields: an owner or a funnel (not both), an article exactly for
/// `won_quantity`, a target with the decimals its measure has.
pub fn rules(shape: Shape) -> Vec<Violation> {
    let mut broken = Vec::new();
    match (shape.has_owner, shape.has_funnel) {
        (false, false) => broken.push(Violation::new(
            "owner_id",
            "required",
            "give owner_id (a rep or manager) or funnel_id (a funnel's team)",
        )),
        (true, true) => {
            for field in ["owner_id", "funnel_id"] {
                broken.push(Violation::new(
                    field,
                    "exclusive",
                    "a quota is for an owner or for a funnel, not both",
                ));
            }
        }
        _ => {}
    }
    match (shape.measure, shape.has_article) {
        (Measure::WonQuantity, false) => broken.push(Violation::new(
            "article_id",
            "required",
            "won_quantity counts the quantity of one article",
        )),
        (Measure::WonValue | Measure::WonCount, true) => broken.push(Violation::new(
            "article_id",
            "forbidden",
            "only won_quantity names an article",
        )),
        _ => {}
    }
    let decimals = shape.target.0.normalize().scale();
    let allowed = match shape.measure {
        Measure::WonValue => 2,
        Measure::WonCount => 0,
        Measure::WonQuantity => 3,
    };
    if decimals > allowed {
        broken.push(Violation::new(
            "target",
            "decimals",
            format!("a {} target has at most {allowed} decimals", shape.measure),
        ));
    }
    broken
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn period(text: &str) -> Option<Period> {
        text.parse().ok()
    }

    #[test]
    fn periods_are_months_or_quarters_with_their_days() {
        let q1 = period("2027-Q1");
        assert_eq!(q1, Some(Period::Quarter { year: 2027, quarter: 1 }));
        assert_eq!(q1.and_then(Period::starts_on), NaiveDate::from_ymd_opt(2027, 1, 1));
        assert_eq!(q1.and_then(Period::ends_on), NaiveDate::from_ymd_opt(2027, 3, 31));
        let feb = period("2028-02");
        assert_eq!(feb.and_then(Period::ends_on), NaiveDate::from_ymd_opt(2028, 2, 29));
        assert_eq!(
            period("2027-Q4").and_then(Period::ends_on),
            NaiveDate::from_ymd_opt(2027, 12, 31)
        );
        assert_eq!(feb.map(|p| p.to_string()).as_deref(), Some("2028-02"));
        for bad in [
            "2027-13",
            "2027-00",
            "2027-Q5",
            "2027-Q0",
            "2027-1",
            "27-01",
            "2027",
            "2027-q1",
            "1899-01",
            "2027-01-01",
            "+202-01",
        ] {
            assert!(period(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_target_is_not_negative_with_three_decimals() {
        let t: Result<Target, _> = serde_json::from_value(json!("250000.500"));
        assert_eq!(
            t.ok().and_then(|t| serde_json::to_value(t).ok()),
            Some(json!("250000.5"))
        );
        assert!(serde_json::from_value::<Target>(json!(0)).is_ok());
        for bad in [json!(-1), json!("1.0001"), json!("100000000000000"), json!("x")] {
            assert!(serde_json::from_value::<Target>(bad.clone()).is_err(), "{bad}");
        }
    }

    fn shape(owner: bool, funnel: bool, measure: Measure, article: bool, target: Decimal) -> Vec<String> {
        rules(Shape {
            has_owner: owner,
            has_funnel: funnel,
            measure,
            has_article: article,
            target: Target(target),
        })
        .into_iter()
        .map(|v| format!("{}:{}", v.field, v.code))
        .collect()
    }

    #[test]
    fn a_quota_is_for_an_owner_or_a_funnel_and_names_an_article_only_for_quantities() {
        let one = Decimal::ONE;
        assert!(shape(true, false, Measure::WonValue, false, one).is_empty());
        assert!(shape(false, true, Measure::WonQuantity, true, Decimal::new(25, 1)).is_empty());
        assert_eq!(
            shape(false, false, Measure::WonCount, false, one),
            ["owner_id:required"]
        );
        assert_eq!(
            shape(true, true, Measure::WonCount, false, one),
            ["owner_id:exclusive", "funnel_id:exclusive"]
        );
        assert_eq!(
            shape(true, false, Measure::WonQuantity, false, one),
            ["article_id:required"]
        );
        assert_eq!(
            shape(true, false, Measure::WonValue, true, one),
            ["article_id:forbidden"]
        );
        assert_eq!(
            shape(true, false, Measure::WonCount, false, Decimal::new(15, 1)),
            ["target:decimals"]
        );
        assert_eq!(
            shape(true, false, Measure::WonValue, false, Decimal::new(1005, 3)),
            ["target:decimals"]
        );
    }
}
