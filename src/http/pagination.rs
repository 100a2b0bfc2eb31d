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
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::keyset::KeyValue;
pub use super::keyset::{KeyKind, KeysetAfter, KeysetOrder};
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

    /// The cursor of a page of sort `sort` that ends with the row whose key is `value` and id
    /// `id`: what [`Page::finish`] returns as `next_cursor`, for pages read elsewhere (the board).
    pub fn cursor(&self, sort: SortKey, value: String, id: Uuid) -> String {
        encode(
            self,
            &CursorData {
                s: sort.name.to_owned(),
                v: value,
                id,
            },
        )
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

/// `count` of the lists that can count their filtered rows, as the spec describes it.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountParams {
    /// `true` adds `total` (the rows matching the filters, exact up to 10,000) and
    /// `total_is_estimate` to the page; without it both are absent.
    #[param(default = false, example = true)]
    pub count: Option<bool>,
}

/// What [`PageRequest`] reads of the query string: [`PageParams`] and [`CountParams`].
#[derive(Debug, Deserialize)]
struct PageQuery {
    limit: Option<u32>,
    cursor: Option<String>,
    count: Option<bool>,
}

/// The extractor of [`PageParams`]: the query's `limit` and `cursor` with the server's cursor key.
#[derive(Debug)]
pub struct PageRequest {
    params: PageQuery,
    key: CursorKey,
}

impl FromRequest for PageRequest {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(key) = req.app_data::<Data<CursorKey>>() else {
            return ready(Err(AppError::Internal("no cursor key configured".to_owned()).into()));
        };
        let params = Query::<PageQuery>::from_query(req.query_string()).map_err(|e| crate::http::query_error(e, req));
        ready(params.map(|params| Self {
            params: params.into_inner(),
            key: key.get_ref().clone(),
        }))
    }
}

/// Rows `?count=true` counts exactly; beyond them `total` is this many and an estimate.
pub const COUNT_CAP: i64 = 10_000;

/// One page of a list.
#[derive(Debug, Serialize, Deserialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// With `count=true`: the rows matching the filters, at most [`COUNT_CAP`]; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// With `count=true`: whether there are more than `total`; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_is_estimate: Option<bool>,
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
            .property(
                "total",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(0))
                    .maximum(Some(COUNT_CAP))
                    .description(Some(
                        "Only with `count=true` (absent otherwise): how many rows match the filters, \
                         counted exactly up to 10,000; 10,000 with `total_is_estimate` when there are more.",
                    )),
            )
            .property(
                "total_is_estimate",
                ObjectBuilder::new().schema_type(Type::Boolean).description(Some(
                    "Only with `count=true` (absent otherwise): `true` when more than 10,000 rows match, \
                     so that `total` is a lower bound.",
                )),
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
            total: self.total,
            total_is_estimate: self.total_is_estimate,
        }
    }

    /// The page with `total` as [`Page::total`] counted it (capped at [`COUNT_CAP`]).
    pub fn counted(self, counted: Option<i64>) -> Self {
        Self {
            total: counted.map(|n| n.min(COUNT_CAP)),
            total_is_estimate: counted.map(|n| n > COUNT_CAP),
            ..self
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
    count: bool,
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
            count: request.params.count.unwrap_or(false),
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
            total: None,
            total_is_estimate: None,
        }
    }

    /// Whether the caller asked for `count=true`.
    pub fn counts(&self) -> bool {
        self.count
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
