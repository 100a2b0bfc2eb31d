//! `/healthz`, `/readyz`, `/metrics`.

use actix_web::web::Data;
use actix_web::{HttpResponse, get};
use diesel_async::RunQueryDsl;
use prometheus::{Encoder, Registry, TextEncoder};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{self, DbPool};
use crate::error::AppError;
use crate::openapi::responses::Unavailable;

/// How long readiness waits for the database: a load balancer's probe gets its 503 within 2 s.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_millis(1500);

/// Health or readiness.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// Liveness: the process is up and serving.
#[utoipa::path(tag = "operations", responses((status = 200, description = "Up", body = Health)))]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".to_owned(),
    })
}

/// Readiness: the database answers.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Ready", body = Health), (status = 503, response = Unavailable))
)]
#[get("/readyz")]
async fn readyz(pool: Data<DbPool>) -> Result<HttpResponse, AppError> {
    let check = async {
        let mut conn = db::connection(&pool).await?;
        diesel::sql_query("SELECT 1")
            .execute(&mut *conn)
            .await
            .map_err(AppError::from)
    };
    tokio::time::timeout(READY_WITHIN, check)
        .await
        .map_err(|_| AppError::TimedOut(format!("no answer from the database within {READY_WITHIN:?}")))??;
    Ok(HttpResponse::Ok().json(Health {
        status: "ok".to_owned(),
    }))
}

/// Prometheus metrics: request counts and latency histograms by route pattern, method and
/// status; database pool connections in use and idle.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain; version=0.0.4",
        body = String, example = "salesfunnel_db_pool_connections_idle 4"))
)]
#[get("/metrics")]
async fn metrics(registry: Data<Registry>) -> Result<HttpResponse, AppError> {
    let mut buffer = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut buffer)
        .map_err(|e| AppError::Internal(format!("cannot encode metrics: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(buffer))
}

/// Registers the operations routes (outside `/api/v1`).
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}
