//! The SQL of keyset pagination: a cursor's key value bound as its column's type, the
//! condition `(key, id) > (last key, last id)` and the `ORDER BY`, all cacheable.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping, is_aggregate};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel::sql_types::{BigInt, Bool, Date, Integer, Numeric, Text, Timestamptz};
use rust_decimal::Decimal;
use uuid::Uuid;

/// The type of a sort key's column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Text,
    Timestamp,
    /// A date; the cursor may hold `infinity`, the key of rows without one.
    Date,
    Decimal,
    Integer,
    /// A `bigint` key, such as an event's feed position.
    BigInt,
}

/// A key value taken from a cursor, parsed into the type of its column.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum KeyValue {
    Text(String),
    Time(DateTime<Utc>),
    Date(NaiveDate),
    /// `infinity`: the date key of rows without a date (sorted last).
    DateInfinity,
    Decimal(Decimal),
    Integer(i32),
    BigInt(i64),
}

/// PostgreSQL's dates run from 4714 BC to 5874897 AD; chrono's go further back.
const MIN_DATE_YEAR: i32 = -4712;

/// `-?digits(.digits)?`: what `Decimal` and the integers print. `str::parse` of `Decimal` also
/// takes `1_000` and exponents, which PostgreSQL would not.
fn is_plain_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    !int.is_empty() && !frac.is_empty() && int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
}

impl KeyValue {
    /// The value of `text` as a `kind` key, or `None` when it is not one (as written by
    /// [`Page::finish`]: plain decimals, ISO dates, RFC 3339 times).
    pub(super) fn parse(text: &str, kind: KeyKind) -> Option<Self> {
        match kind {
            KeyKind::Text => Some(Self::Text(text.to_owned())),
            KeyKind::Timestamp => DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|at| Self::Time(at.with_timezone(&Utc))),
            KeyKind::Date if text == "infinity" => Some(Self::DateInfinity),
            KeyKind::Date => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .filter(|d| d.year() >= MIN_DATE_YEAR)
                .map(Self::Date),
            KeyKind::Decimal => is_plain_number(text)
                .then(|| text.parse::<Decimal>().ok())
                .flatten()
                .map(Self::Decimal),
            KeyKind::Integer => is_plain_number(text)
                .then(|| text.parse().ok())
                .flatten()
                .map(Self::Integer),
            KeyKind::BigInt => is_plain_number(text)
                .then(|| text.parse().ok())
                .flatten()
                .map(Self::BigInt),
        }
    }
}

/// The keyset condition. Column names come from a fixed [`SortKey`], never from input, so the
/// SQL text depends only on the sort: unlike `sql()` fragments, diesel may keep the whole list
/// query as a prepared statement.
#[derive(Debug, Clone)]
pub struct KeysetAfter {
    pub(super) column: &'static str,
    pub(super) descending: bool,
    pub(super) value: Option<(KeyValue, Uuid)>,
    pub(super) unique: bool,
    pub(super) tie: &'static str,
}

impl Expression for KeysetAfter {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for KeysetAfter {}
impl<QS> SelectableExpression<QS> for KeysetAfter {}

impl<GB> ValidGrouping<GB> for KeysetAfter {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for KeysetAfter {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Pg> for KeysetAfter {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let Some((value, id)) = &self.value else {
            out.push_sql("TRUE");
            return Ok(());
        };
        let op = if self.descending { " < " } else { " > " };
        out.push_sql("(");
        out.push_sql(self.column);
        if !self.unique {
            out.push_sql(", ");
            out.push_sql(self.tie);
        }
        out.push_sql(")");
        out.push_sql(op);
        out.push_sql("(");
        match value {
            KeyValue::Text(text) => out.push_bind_param::<Text, _>(text)?,
            KeyValue::Time(at) => out.push_bind_param::<Timestamptz, _>(at)?,
            KeyValue::Date(day) => out.push_bind_param::<Date, _>(day)?,
            KeyValue::DateInfinity => out.push_sql("'infinity'::date"),
            KeyValue::Decimal(number) => out.push_bind_param::<Numeric, _>(number)?,
            KeyValue::Integer(number) => out.push_bind_param::<Integer, _>(number)?,
            KeyValue::BigInt(number) => out.push_bind_param::<BigInt, _>(number)?,
        }
        if !self.unique {
            out.push_sql(", ");
            out.push_bind_param::<diesel::sql_types::Uuid, _>(id)?;
        }
        out.push_sql(")");
        Ok(())
    }
}

/// `ORDER BY key, id` in the sort's direction; cacheable like [`KeysetAfter`].
#[derive(Debug, Clone, Copy)]
pub struct KeysetOrder {
    pub(super) column: &'static str,
    pub(super) descending: bool,
    pub(super) tie: &'static str,
}

impl Expression for KeysetOrder {
    type SqlType = Text;
}

impl<QS> AppearsOnTable<QS> for KeysetOrder {}
impl<QS> SelectableExpression<QS> for KeysetOrder {}

impl<GB> ValidGrouping<GB> for KeysetOrder {
    type IsAggregate = is_aggregate::Never;
}

impl QueryId for KeysetOrder {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Pg> for KeysetOrder {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let direction = if self.descending { " DESC" } else { " ASC" };
        out.push_sql(self.column);
        out.push_sql(direction);
        out.push_sql(", ");
        out.push_sql(self.tie);
        out.push_sql(direction);
        Ok(())
    }
}
