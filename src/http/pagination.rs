//! Keyset pagination with opaque cursors: `?limit=` (1–200, default 50) and `?cursor=`.
//! A cursor holds the sort it was made for, the last row's sort key and id.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping, is_aggregate};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel::sql_types::{Bool, Text, Timestamptz};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::AppError;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// `limit` and `cursor` of every list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 200.
    #[param(minimum = 1, maximum = 200, default = 50, example = 50)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page; omit for the first page.
    pub cursor: Option<String>,
}

/// One page of a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Paged<T> {
    /// The same page with each item converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// How a list is ordered: a column of the sort key, its direction, and its type.
#[derive(Debug, Clone, Copy)]
pub struct SortKey {
    /// The `sort` parameter's value (`-name`), recorded in the cursor.
    pub name: &'static str,
    /// SQL expression of the key column (never user input).
    pub column: &'static str,
    pub descending: bool,
    pub kind: KeyKind,
}

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

/// The last row of a page: its sort key value and id.
#[derive(Debug, Serialize, Deserialize)]
struct CursorData {
    s: String,
    v: String,
    id: Uuid,
}

/// A validated request for one page.
#[derive(Debug)]
pub struct Page {
    pub limit: u32,
    sort: SortKey,
    after: Option<CursorData>,
    tie: &'static str,
}

impl Page {
    /// Checks `limit` and decodes `cursor` for `sort`; 400 when either is off.
    pub fn new(params: &PageParams, sort: SortKey) -> Result<Self, AppError> {
        let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::BadRequest(format!("limit must be from 1 to {MAX_LIMIT}")));
        }
        let after = params.cursor.as_deref().map(|c| decode(c, sort)).transpose()?;
        Ok(Self {
            limit,
            sort,
            after,
            tie: "id",
        })
    }

    /// Names the tie-breaking id column, for queries that join tables with an `id` each.
    pub fn tie_breaker(self, column: &'static str) -> Self {
        Self { tie: column, ..self }
    }

    /// Rows to fetch: one more than the page, to know whether another page follows.
    pub fn fetch(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// `ORDER BY` the sort key with `id` as tie-breaker.
    pub fn order(&self) -> KeysetOrder {
        KeysetOrder {
            column: self.sort.column,
            descending: self.sort.descending,
            tie: self.tie,
        }
    }

    /// `(key, id) > (last key, last id)` (or `<` for descending), `TRUE` on the first page.
    pub fn after(&self) -> Result<KeysetAfter, AppError> {
        let value = match (&self.after, self.sort.kind) {
            (None, _) => None,
            (Some(after), KeyKind::Text) => Some((KeyValue::Text(after.v.clone()), after.id)),
            (Some(after), KeyKind::Timestamp) => {
                let at = DateTime::parse_from_rfc3339(&after.v)
                    .map_err(|_| invalid_cursor())?
                    .with_timezone(&Utc);
                Some((KeyValue::Time(at), after.id))
            }
            (Some(after), KeyKind::Date) => {
                if after.v != "infinity" {
                    chrono::NaiveDate::parse_from_str(&after.v, "%Y-%m-%d").map_err(|_| invalid_cursor())?;
                }
                Some((KeyValue::Cast(after.v.clone(), "::date"), after.id))
            }
            (Some(after), KeyKind::Decimal) => {
                after.v.parse::<Decimal>().map_err(|_| invalid_cursor())?;
                Some((KeyValue::Cast(after.v.clone(), "::numeric"), after.id))
            }
            (Some(after), KeyKind::Integer) => {
                after.v.parse::<i32>().map_err(|_| invalid_cursor())?;
                Some((KeyValue::Cast(after.v.clone(), "::integer"), after.id))
            }
            (Some(after), KeyKind::BigInt) => {
                after.v.parse::<i64>().map_err(|_| invalid_cursor())?;
                Some((KeyValue::Cast(after.v.clone(), "::bigint"), after.id))
            }
        };
        Ok(KeysetAfter {
            column: self.sort.column,
            descending: self.sort.descending,
            value,
            unique: false,
            tie: self.tie,
        })
    }

    /// `key > last key` for a unique text key (no tie-breaker needed), `TRUE` on the first page.
    pub fn after_unique(&self) -> KeysetAfter {
        let value = self
            .after
            .as_ref()
            .map(|after| (KeyValue::Text(after.v.clone()), after.id));
        KeysetAfter {
            column: self.sort.column,
            descending: self.sort.descending,
            value,
            unique: true,
            tie: self.tie,
        }
    }

    /// Cuts the extra row off and makes the next cursor from the last item.
    pub fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> (String, Uuid)) -> Paged<T> {
        let more = rows.len() > self.limit as usize;
        rows.truncate(self.limit as usize);
        let next_cursor = match rows.last() {
            Some(last) if more => {
                let (v, id) = key(last);
                Some(encode(&CursorData {
                    s: self.sort.name.to_owned(),
                    v,
                    id,
                }))
            }
            _ => None,
        };
        Paged {
            items: rows,
            next_cursor,
        }
    }
}

/// A key value taken from a cursor.
#[derive(Debug, Clone)]
enum KeyValue {
    Text(String),
    Time(DateTime<Utc>),
    /// Checked text cast in SQL (`$1::date`), so that `infinity` stays possible.
    Cast(String, &'static str),
}

/// The keyset condition. Column names come from a fixed [`SortKey`], never from input, so the
/// SQL text depends only on the sort: unlike `sql()` fragments, diesel may keep the whole list
/// query as a prepared statement.
#[derive(Debug, Clone)]
pub struct KeysetAfter {
    column: &'static str,
    descending: bool,
    value: Option<(KeyValue, Uuid)>,
    unique: bool,
    tie: &'static str,
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
            KeyValue::Cast(text, cast) => {
                out.push_bind_param::<Text, _>(text)?;
                out.push_sql(cast);
            }
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
    column: &'static str,
    descending: bool,
    tie: &'static str,
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

/// The cursor form of a timestamp key (microseconds, as PostgreSQL stores them).
pub fn time_key(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn encode(data: &CursorData) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(data).unwrap_or_default())
}

fn decode(cursor: &str, sort: SortKey) -> Result<CursorData, AppError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid_cursor())?;
    let data: CursorData = serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())?;
    if data.s != sort.name {
        return Err(AppError::BadRequest(format!(
            "this cursor belongs to sort '{}', not '{}'; start again without a cursor",
            data.s, sort.name
        )));
    }
    Ok(data)
}

fn invalid_cursor() -> AppError {
    AppError::BadRequest("cursor is not one this API issued".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BY_NAME: SortKey = SortKey {
        name: "name",
        column: "name",
        descending: false,
        kind: KeyKind::Text,
    };

    fn params(limit: Option<u32>, cursor: Option<&str>) -> PageParams {
        PageParams {
            limit,
            cursor: cursor.map(str::to_owned),
        }
    }

    #[test]
    fn limit_outside_1_to_200_is_rejected() {
        assert!(Page::new(&params(Some(0), None), BY_NAME).is_err());
        assert!(Page::new(&params(Some(201), None), BY_NAME).is_err());
        assert!(Page::new(&params(Some(200), None), BY_NAME).is_ok());
    }

    #[test]
    fn a_cursor_round_trips_and_is_tied_to_its_sort() {
        let page = Page::new(&params(Some(1), None), BY_NAME);
        let Ok(page) = page else { panic!("valid page") };
        let paged = page.finish(vec![("a", Uuid::nil()), ("b", Uuid::nil())], |r| (r.0.to_owned(), r.1));
        assert_eq!(paged.items.len(), 1);
        let Some(cursor) = paged.next_cursor else {
            panic!("a next cursor")
        };
        assert!(Page::new(&params(None, Some(&cursor)), BY_NAME).is_ok());
        let other = SortKey {
            name: "-name",
            descending: true,
            ..BY_NAME
        };
        assert!(Page::new(&params(None, Some(&cursor)), other).is_err());
        assert!(Page::new(&params(None, Some("garbage!")), BY_NAME).is_err());
    }

    #[test]
    fn the_last_page_has_no_cursor() {
        let Ok(page) = Page::new(&params(Some(5), None), BY_NAME) else {
            panic!("valid page")
        };
        assert!(
            page.finish(vec![("a", Uuid::nil())], |r| (r.0.to_owned(), r.1))
                .next_cursor
                .is_none()
        );
    }
}
