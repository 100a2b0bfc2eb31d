//! async-probe: GET /api/v1/business-partners/{id} on diesel-async 0.9 + deadpool.
//!
//! Mirrors the main server's request path for this one route: HS256 bearer token verified with
//! jsonwebtoken (iss = aud = JWT_ISSUER/JWT_AUDIENCE, default "salesfunnel"; exp, iss, aud, sub
//! required; nbf checked; 30 s leeway), the same SELECT of the 17 business_partners columns by
//! primary key, the same JSON body and ETag header, problem+json errors, and the main server's
//! middleware stack (X-Request-Id, actix-web-prom request metrics with the same buckets, the
//! access-log Logger with the same format), so that the difference measured is the database
//! access path: diesel-async + deadpool on the actix worker vs sync diesel + r2d2 in web::block.
//!
//! Environment: DATABASE_URL, JWT_SECRET (required), BIND (default 127.0.0.1:8090),
//! DATABASE_POOL_SIZE (default 32), PROBE_RECYCLING = fast (default, like the main server's
//! test_on_check_out(false)) or verified (a SELECT 1 on every checkout), PROBE_MIDDLEWARE =
//! full (default) or bare (no metrics and no access log).

use std::net::SocketAddr;

use actix_web::http::StatusCode;
use actix_web::dev::Service;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{Condition, Logger};
use actix_web::web::{Data, Path};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, get};
use actix_web_prom::PrometheusMetricsBuilder;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

diesel::table! {
    business_partners (id) {
        id -> Uuid,
        number -> Text,
        kind -> Text,
        name -> Text,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        website -> Nullable<Text>,
        street -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        city -> Nullable<Text>,
        country -> Nullable<Text>,
        vat_id -> Nullable<Text>,
        owner_id -> Nullable<Uuid>,
        notes -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

/// The same columns, in the same order, and the same JSON as the main server's `Partner`.
#[derive(Debug, Queryable, Selectable, Serialize)]
#[diesel(table_name = business_partners, check_for_backend(diesel::pg::Pg))]
struct Partner {
    id: Uuid,
    number: String,
    kind: String,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    website: Option<String>,
    street: Option<String>,
    postal_code: Option<String>,
    city: Option<String>,
    country: Option<String>,
    vat_id: Option<String>,
    owner_id: Option<Uuid>,
    notes: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i32,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RolesClaim {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
struct Claims {
    #[allow(dead_code)]
    sub: String,
    #[serde(default)]
    roles: Option<RolesClaim>,
}

const KNOWN_ROLES: [&str; 5] = ["admin", "manager", "rep", "viewer", "integration"];

struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

impl Verifier {
    fn verify(&self, req: &HttpRequest) -> Result<(), HttpResponse> {
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| unauthorized("an Authorization: Bearer <token> header is required".to_owned()))?;
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| unauthorized(format!("the bearer token is not valid: {e}")))?;
        // Every known role may read; a token without one is forbidden, as in the main server.
        let names = match data.claims.roles {
            Some(RolesClaim::One(name)) => vec![name],
            Some(RolesClaim::Many(names)) => names,
            None => Vec::new(),
        };
        if names.iter().any(|n| KNOWN_ROLES.contains(&n.as_str())) {
            Ok(())
        } else {
            Err(problem(StatusCode::FORBIDDEN, "your role may not do this".to_owned()))
        }
    }
}

fn problem(status: StatusCode, detail: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "application/problem+json"))
        .json(serde_json::json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
        }))
}

fn unauthorized(detail: String) -> HttpResponse {
    let mut response = problem(StatusCode::UNAUTHORIZED, detail);
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[get("/api/v1/business-partners/{id}")]
async fn get_partner(
    req: HttpRequest,
    pool: Data<Pool<AsyncPgConnection>>,
    verifier: Data<Verifier>,
    id: Path<String>,
) -> HttpResponse {
    handle(&req, &pool, &verifier, &id).await.unwrap_or_else(|e| e)
}

async fn handle(
    req: &HttpRequest,
    pool: &Pool<AsyncPgConnection>,
    verifier: &Verifier,
    id: &str,
) -> Result<HttpResponse, HttpResponse> {
    verifier.verify(req)?;
    let id = Uuid::parse_str(id)
        .map_err(|_| problem(StatusCode::BAD_REQUEST, format!("'{id}' is not a valid id")))?;
    let mut conn = pool.get().await.map_err(|e| {
        log::warn!("database unavailable: {e}");
        let mut r = problem(StatusCode::SERVICE_UNAVAILABLE, "the database is unavailable".to_owned());
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        r
    })?;
    let row = business_partners::table
        .find(id)
        .select(Partner::as_select())
        .first::<Partner>(&mut conn)
        .await
        .optional()
        .map_err(|e| {
            log::error!("internal error: {e}");
            problem(StatusCode::INTERNAL_SERVER_ERROR, "internal error".to_owned())
        })?;
    match row {
        Some(partner) => Ok(HttpResponse::Ok()
            .insert_header((header::ETAG, format!("\"{}\"", partner.version)))
            .json(partner)),
        None => Err(problem(
            StatusCode::NOT_FOUND,
            format!("business partner {id} does not exist"),
        )),
    }
}

#[get("/readyz")]
async fn readyz(pool: Data<Pool<AsyncPgConnection>>) -> HttpResponse {
    let ok = match pool.get().await {
        Ok(mut conn) => diesel::sql_query("SELECT 1").execute(&mut conn).await.is_ok(),
        Err(_) => false,
    };
    if ok {
        HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))
    } else {
        problem(StatusCode::SERVICE_UNAVAILABLE, "the database is unavailable".to_owned())
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn main() -> Result<(), String> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let url = env("DATABASE_URL").ok_or("DATABASE_URL is required")?;
    let secret = env("JWT_SECRET").ok_or("JWT_SECRET is required")?;
    if secret.len() < 32 {
        return Err("JWT_SECRET: must be at least 32 bytes long".to_owned());
    }
    let bind: SocketAddr = env("BIND")
        .unwrap_or_else(|| "127.0.0.1:8090".to_owned())
        .parse()
        .map_err(|e| format!("BIND: {e}"))?;
    let pool_size: usize = env("DATABASE_POOL_SIZE")
        .map(|v| v.parse().map_err(|e| format!("DATABASE_POOL_SIZE: {e}")))
        .transpose()?
        .unwrap_or(32);
    let issuer = env("JWT_ISSUER").unwrap_or_else(|| "salesfunnel".to_owned());
    let audience = env("JWT_AUDIENCE").unwrap_or_else(|| "salesfunnel".to_owned());

    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[&issuer]);
    validation.set_audience(&[&audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = 30;
    let verifier = Data::new(Verifier {
        key: DecodingKey::from_secret(secret.as_bytes()),
        validation,
    });

    let mut manager_config = ManagerConfig::<AsyncPgConnection>::default();
    manager_config.recycling_method = match env("PROBE_RECYCLING").as_deref() {
        None | Some("fast") => RecyclingMethod::Fast,
        Some("verified") => RecyclingMethod::Verified,
        Some(other) => return Err(format!("PROBE_RECYCLING: '{other}' is not fast or verified")),
    };
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, manager_config);
    let full = match env("PROBE_MIDDLEWARE").as_deref() {
        None | Some("full") => true,
        Some("bare") => false,
        Some(other) => return Err(format!("PROBE_MIDDLEWARE: '{other}' is not full or bare")),
    };
    // As in the main server's ops::metrics::build.
    let prometheus = PrometheusMetricsBuilder::new("salesfunnel")
        .registry(prometheus::Registry::new())
        .mask_unmatched_patterns("UNMATCHED")
        .buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
        .build()
        .map_err(|e| format!("metrics: {e}"))?;

    actix_web::rt::System::new().block_on(async move {
        // deadpool's pool is runtime-agnostic: one pool shared by all actix workers.
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .build()
            .map_err(|e| format!("pool: {e}"))?;
        let pool = Data::new(pool);
        println!(
            "async-probe listening on http://{bind} (pool {pool_size}, middleware {})",
            if full { "full" } else { "bare" }
        );
        HttpServer::new(move || {
            App::new()
                .app_data(pool.clone())
                .app_data(verifier.clone())
                .service(get_partner)
                .service(readyz)
                // The main server's middleware, in the same order (startup.rs).
                .wrap_fn(|req, srv| {
                    let id = req
                        .headers()
                        .get(&REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .filter(|v| !v.is_empty() && v.len() <= 128)
                        .map_or_else(|| Uuid::now_v7().to_string(), str::to_owned);
                    let call = srv.call(req);
                    async move {
                        let mut response = call.await?;
                        if let Ok(value) = HeaderValue::from_str(&id) {
                            response.headers_mut().insert(REQUEST_ID, value);
                        }
                        Ok(response)
                    }
                })
                .wrap(Condition::new(full, prometheus.clone()))
                .wrap(Condition::new(
                    full,
                    Logger::new("%a \"%r\" %s %b %Dms request_id=%{x-request-id}o"),
                ))
        })
        .bind(bind)
        .map_err(|e| format!("BIND: {e}"))?
        .run()
        .await
        .map_err(|e| e.to_string())
    })
}
