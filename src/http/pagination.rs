//! Keyset pagination with opaque cursors: `?limit=` (1–200, default 50) and `?cursor=`.
//! A cursor holds the sort it was made for, the last row's sort key and id, and is signed
//! (HMAC-SHA256 with the server's [`CursorKey`]): a cursor this API did not issue is a 400
//! before anything reaches the database, and every value taken from one is bound as its type.

use std::borrow::Cow;
use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::web::{Data, Query};
use actix_web::{FromRequest, HttpRequest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping, is_aggregate};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::result::QueryResult;
use diesel::sql_types::{BigInt, Bool, Date, Integer, Numeric, Text, Timestamptz};
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::AppError;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// Bytes of the HMAC-SHA256 tag a cursor carries (128 bits).
const TAG_LEN: usize = 16;

/// The key cursors are signed with. Replicas behind one load balancer must share it, as a
/// cursor from one may come back to another: it is derived from the JWT secret or from
/// `CURSOR_SECRET` (see `Settings::cursor_secret`).
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl CursorKey {
    /// Derives the key from a secret (domain-separated, so a cursor tag is never a token MAC).
    pub fn derive(secret: &[u8]) -> Self {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"salesfunnel cursor key v1");
        Self(mac.finalize().into_bytes().into())
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

/// `limit` and `cursor` of every list, as the spec describes them.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 200.
    #[param(minimum = 1, maximum = 200, default = 50, example = 50)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page; omit it (or leave it empty) for the first page.
    /// Cursors are signed by the server: one it did not issue, or one of another `sort`, is a 400.
    pub cursor: Option<String>,
}

/// The extractor of [`PageParams`]: the query's `limit` and `cursor` with the server's cursor key.
#[derive(Debug)]
pub struct PageRequest {
    params: PageParams,
    key: CursorKey,
}

impl FromRequest for PageRequest {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(key) = req.app_data::<Data<CursorKey>>() else {
            return ready(Err(AppError::Internal("no cursor key configured".to_owned()).into()));
        };
        let params = Query::<PageParams>::from_query(req.query_string()).map_err(|e| crate::http::query_error(e, req));
        ready(params.map(|params| Self {
            params: params.into_inner(),
            key: key.get_ref().clone(),
        }))
    }
}

/// One page of a list.
#[derive(Debug, Serialize, Deserialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `Paged<T>` in the spec is `Paged_T` whose `items` are `$ref`s to `T`'s own schema, so that
/// generated clients get one `Opportunity` type, not a copy per list. utoipa's derive inlines
/// a generic argument's schema instead (juhaku/utoipa#1586), hence this hand-written impl of
/// the trait the derive implements; `<Paged<T> as ToSchema>::name()` is `Paged`, and utoipa
/// appends the argument's name (`Paged_Opportunity`).
impl<T: ToSchema> utoipa::__dev::ComposeSchema for Paged<T> {
    fn compose(_inline_generics: Vec<RefOr<Schema>>) -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("One page of a list."))
            .property("items", ArrayBuilder::new().items(Ref::from_schema_name(T::name())))
            .required("items")
            .property(
                "next_cursor",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                    .description(Some("Pass as `cursor` to get the next page; `null` on the last page.")),
            )
            .into()
    }
}

impl<T: ToSchema> ToSchema for Paged<T> {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Paged")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }
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
    after: Option<(KeyValue, Uuid)>,
    tie: &'static str,
    key: CursorKey,
}

impl Page {
    /// Checks `limit`, verifies `cursor` and decodes its values for `sort`; 400 when any is off.
    pub fn new(request: &PageRequest, sort: SortKey) -> Result<Self, AppError> {
        let limit = request.params.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::BadRequest(format!("limit must be from 1 to {MAX_LIMIT}")));
        }
        let after = match request.params.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(cursor) => {
                let data = decode(&request.key, cursor, sort)?;
                Some((KeyValue::parse(&data.v, sort.kind).ok_or_else(invalid_cursor)?, data.id))
            }
            None => None,
        };
        Ok(Self {
            limit,
            sort,
            after,
            tie: "id",
            key: request.key.clone(),
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
    pub fn after(&self) -> KeysetAfter {
        KeysetAfter {
            column: self.sort.column,
            descending: self.sort.descending,
            value: self.after.clone(),
            unique: false,
            tie: self.tie,
        }
    }

    /// `key > last key` for a unique text key (no tie-breaker needed), `TRUE` on the first page.
    pub fn after_unique(&self) -> KeysetAfter {
        KeysetAfter {
            unique: true,
            ..self.after()
        }
    }

    /// Cuts the extra row off and makes the next cursor from the last item.
    pub fn finish<T, Id: Into<Uuid>>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> (String, Id)) -> Paged<T> {
        let more = rows.len() > self.limit as usize;
        rows.truncate(self.limit as usize);
        let next_cursor = match rows.last() {
            Some(last) if more => {
                let (v, id) = key(last);
                Some(encode(
                    &self.key,
                    &CursorData {
                        s: self.sort.name.to_owned(),
                        v,
                        id: id.into(),
                    },
                ))
            }
            _ => None,
        };
        Paged {
            items: rows,
            next_cursor,
        }
    }
}

/// A key value taken from a cursor, parsed into the type of its column.
#[derive(Debug, Clone, PartialEq)]
enum KeyValue {
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
    fn parse(text: &str, kind: KeyKind) -> Option<Self> {
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

/// `base64url(json) "." base64url(tag)`, the tag an HMAC of the JSON.
fn encode(key: &CursorKey, data: &CursorData) -> String {
    let json = serde_json::to_vec(data).unwrap_or_default();
    let mut mac = key.mac();
    mac.update(&json);
    let tag = mac.finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&json),
        URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN])
    )
}

fn decode(key: &CursorKey, cursor: &str, sort: SortKey) -> Result<CursorData, AppError> {
    let (json, tag) = cursor.split_once('.').ok_or_else(invalid_cursor)?;
    let json = URL_SAFE_NO_PAD.decode(json).map_err(|_| invalid_cursor())?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid_cursor())?;
    let mut mac = key.mac();
    mac.update(&json);
    mac.verify_truncated_left(&tag)
        .ok()
        .filter(|()| tag.len() == TAG_LEN)
        .ok_or_else(invalid_cursor)?;
    let data: CursorData = serde_json::from_slice(&json).map_err(|_| invalid_cursor())?;
    if data.s != sort.name {
        return Err(AppError::BadRequest(format!(
            "this cursor belongs to sort '{}', not '{}'; start again without a cursor",
            data.s, sort.name
        )));
    }
    Ok(data)
}

fn invalid_cursor() -> AppError {
    AppError::BadRequest("cursor is not one this API issued; pass next_cursor as it was returned".to_owned())
}

#[cfg(test)]
mod tests;
