//! `Idempotency-Key` on creating POSTs: the first request's response is stored in PostgreSQL
//! in the same transaction as the resource it created; a retry with the same key and body
//! replays it, the same key with another body is a 422. Concurrent retries serialise on the
//! key's primary key, so exactly one creates.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use futures_util::future::BoxFuture;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Resource, etag_of, header_value};
use crate::access::Principal;
use crate::db::{self, Conn, Db, DbPool};
use crate::error::AppError;
use crate::schema::idempotency_keys;

/// How long a key is remembered.
const RETENTION_HOURS: i64 = 24;
const MAX_KEY_LEN: usize = 255;

/// The optional `Idempotency-Key` header.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyKey(Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = req.headers().get("Idempotency-Key").map(|value| {
            let bytes = value.as_bytes();
            let visible = bytes.iter().all(|b| (b'!'..=b'~').contains(b));
            if visible && (1..=MAX_KEY_LEN).contains(&bytes.len()) {
                Ok(String::from_utf8_lossy(bytes).into_owned())
            } else {
                Err(AppError::BadRequest(format!(
                    "Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters without spaces"
                )))
            }
        });
        ready(key.transpose().map(Self))
    }
}

/// Where a request is scoped: the caller, the method and the path.
pub struct Scope {
    text: String,
}

impl Scope {
    pub fn of(who: &Principal, req: &HttpRequest) -> Self {
        Self {
            text: format!("{} {} {}", who.subject, req.method(), req.path()),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
struct Stored {
    request_hash: Vec<u8>,
    status: i16,
    location: Option<String>,
    etag: Option<String>,
    body: Option<Value>,
}

/// A response as stored and replayed.
struct Response {
    status: i16,
    location: Option<String>,
    etag: Option<String>,
    body: Value,
    replayed: bool,
}

/// Runs `create` in one transaction under the idempotency key (if any) and answers 201 with
/// the created resource, its `Location` and `ETag` — or replays the stored answer.
pub async fn create<R, F>(
    db: &Db,
    scope: Scope,
    key: IdempotencyKey,
    body: &Value,
    create: F,
) -> Result<HttpResponse, AppError>
where
    R: Resource + Send,
    F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<R, AppError>> + Send,
{
    let hash = fingerprint(body);
    let mut conn = db.connection().await?;
    let response = conn
        .transaction(async |conn| match key.0 {
            None => created(&create(conn).await?),
            Some(key) => once(conn, &scope.text, &key, &hash, create).await,
        })
        .await?;
    let mut builder = HttpResponse::build(StatusCode::from_u16(response.status as u16).unwrap_or(StatusCode::CREATED));
    if let Some(location) = &response.location {
        builder.insert_header((header::LOCATION, header_value(location)));
    }
    if let Some(tag) = &response.etag {
        builder.insert_header((header::ETAG, header_value(tag)));
    }
    if response.replayed {
        builder.insert_header(("Idempotent-Replayed", "true"));
    }
    Ok(builder.json(response.body))
}

fn created<R: Resource>(resource: &R) -> Result<Response, AppError> {
    let body = serde_json::to_vec(resource).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Response {
        status: 201,
        location: Some(resource.location()),
        etag: Some(etag_of(resource, &body)),
        body: serde_json::from_slice(&body).map_err(|e| AppError::Internal(e.to_string()))?,
        replayed: false,
    })
}

async fn once<R, F>(conn: &mut Conn, scope: &str, key: &str, hash: &[u8], create: F) -> Result<Response, AppError>
where
    R: Resource,
    F: for<'c> FnOnce(&'c mut Conn) -> BoxFuture<'c, Result<R, AppError>>,
{
    use crate::schema::idempotency_keys::dsl as k;
    use diesel::upsert::excluded;
    let mine = k::idempotency_keys.filter(k::scope.eq(scope)).filter(k::key.eq(key));
    // Blocks while another transaction holds the same key, then either wins or sees its answer;
    // an expired key is claimed anew, in the same statement.
    let claim = diesel::insert_into(k::idempotency_keys)
        .values((
            k::scope.eq(scope),
            k::key.eq(key),
            k::request_hash.eq(hash),
            k::expires_at.eq(Utc::now() + Duration::hours(RETENTION_HOURS)),
        ))
        .on_conflict((k::scope, k::key))
        .do_update()
        .set((
            k::request_hash.eq(excluded(k::request_hash)),
            k::status.eq(excluded(k::status)),
            k::location.eq(None::<String>),
            k::etag.eq(None::<String>),
            k::body.eq(None::<Value>),
            k::created_at.eq(excluded(k::created_at)),
            k::expires_at.eq(excluded(k::expires_at)),
        ));
    // (`filter` of an upsert is its `WHERE`: only an expired key is taken over.)
    let claimed = diesel::query_dsl::methods::FilterDsl::filter(claim, k::expires_at.lt(Utc::now()))
        .execute(conn)
        .await?;
    if claimed == 1 {
        let response = created(&create(conn).await?)?;
        diesel::update(mine)
            .set((
                k::status.eq(response.status),
                k::location.eq(&response.location),
                k::etag.eq(&response.etag),
                k::body.eq(&response.body),
            ))
            .execute(conn)
            .await?;
        return Ok(response);
    }
    let stored: Stored = mine.select(Stored::as_select()).first(conn).await?;
    if stored.request_hash != hash {
        return Err(AppError::invalid(
            "Idempotency-Key",
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different request body",
        ));
    }
    let body = stored
        .body
        .ok_or_else(|| AppError::Conflict("the first request with this key is still running".to_owned()))?;
    Ok(Response {
        status: stored.status,
        location: stored.location,
        etag: stored.etag,
        body,
        replayed: true,
    })
}

/// SHA-256 of the body's canonical JSON (object keys sorted), so key order does not matter.
fn fingerprint(body: &Value) -> Vec<u8> {
    let mut text = String::new();
    canonical(body, &mut text);
    Sha256::digest(text.as_bytes()).to_vec()
}

fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Deletes expired keys; the server calls it periodically.
pub async fn purge_expired(pool: &DbPool) -> Result<usize, AppError> {
    use crate::schema::idempotency_keys::dsl as k;
    let mut conn = db::connection(pool).await?;
    Ok(diesel::delete(k::idempotency_keys.filter(k::expires_at.lt(Utc::now())))
        .execute(&mut conn)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_fingerprint() {
        let a = fingerprint(&json!({"name": "A", "kind": "lead", "n": [1, {"x": 1, "y": 2}]}));
        let b = fingerprint(&json!({"kind": "lead", "n": [1, {"y": 2, "x": 1}], "name": "A"}));
        assert_eq!(a, b);
        assert_ne!(a, fingerprint(&json!({"name": "B", "kind": "lead"})));
    }
}
