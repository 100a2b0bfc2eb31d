//! Prometheus metrics: request counts and latency by route pattern and status (actix-web-prom),
//! the connection pool's connections in use and idle, read at scrape time, webhook deliveries by
//! outcome, the SQL statements per request by route (`crate::db::statements`), and the feed's
//! lag (`feed_watch`).

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{HistogramOpts, HistogramVec, IntGauge, Opts, Registry};

use crate::db::statements::Tally;

use super::feed_watch::FeedGauges;
use crate::db::DbPool;

/// Reports the pool's state whenever metrics are scraped.
struct PoolCollector {
    pool: DbPool,
    in_use: IntGauge,
    idle: IntGauge,
    max: IntGauge,
}

impl PoolCollector {
    fn new(pool: DbPool) -> prometheus::Result<Self> {
        let gauge = |name: &str, help: &str| IntGauge::with_opts(Opts::new(name, help).namespace("salesfunnel"));
        Ok(Self {
            pool,
            in_use: gauge(
                "db_pool_connections_in_use",
                "Database connections checked out by requests",
            )?,
            idle: gauge(
                "db_pool_connections_idle",
                "Open database connections waiting in the pool",
            )?,
            max: gauge("db_pool_connections_max", "Configured size of the connection pool")?,
        })
    }
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        [&self.in_use, &self.idle, &self.max]
            .into_iter()
            .flat_map(|g| g.desc())
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let status = self.pool.status();
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.in_use.set(gauge(status.size.saturating_sub(status.available)));
        self.idle.set(gauge(status.available));
        self.max.set(gauge(status.max_size));
        [&self.in_use, &self.idle, &self.max]
            .into_iter()
            .flat_map(|g| g.collect())
            .collect()
    }
}

/// The request-metrics middleware, the registry `/metrics` renders, and the feed's gauges
/// (set by [`super::feed_watch::watch`]).
pub fn build(pool: &DbPool) -> Result<(PrometheusMetrics, Registry, FeedGauges, HistogramVec), String> {
    let registry = Registry::new();
    let collector = PoolCollector::new(pool.clone()).map_err(|e| e.to_string())?;
    registry.register(Box::new(collector)).map_err(|e| e.to_string())?;
    let feed = FeedGauges::register(&registry).map_err(|e| e.to_string())?;
    let statements = statements_histogram().map_err(|e| e.to_string())?;
    registry
        .register(Box::new(statements.clone()))
        .map_err(|e| e.to_string())?;
    if let Some(deliveries) = crate::webhooks::worker::DELIVERIES.as_ref() {
        registry
            .register(Box::new(deliveries.clone()))
            .map_err(|e| e.to_string())?;
    }
    let middleware = PrometheusMetricsBuilder::new("salesfunnel")
        .registry(registry.clone())
        .mask_unmatched_patterns("UNMATCHED")
        .buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0])
        .build()
        .map_err(|e| e.to_string())?;
    Ok((middleware, registry, feed, statements))
}

/// SQL statements per request by method and route pattern (`count_statements` observes it).
fn statements_histogram() -> prometheus::Result<HistogramVec> {
    HistogramVec::new(
        HistogramOpts::new(
            "db_statements",
            "SQL statements a request ran (transaction control not counted)",
        )
        .namespace("salesfunnel")
        .buckets(vec![
            0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 50.0, 100.0,
        ]),
        &["method", "route"],
    )
}

/// The statements a request ran, once it is answered: observed in `salesfunnel_db_statements`.
/// Requests that took no connection are not observed.
pub async fn count_statements<B: MessageBody>(
    statements: HistogramVec,
    call: impl Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let response = call.await?;
    if let Some(tally) = response.request().extensions().get::<Tally>() {
        let request = response.request();
        let route = request.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
        #[expect(
            clippy::cast_precision_loss,
            reason = "a request runs far fewer than 2^52 statements"
        )]
        statements
            .with_label_values(&[request.method().as_str(), route.as_str()])
            .observe(tally.total() as f64);
    }
    Ok(response)
}
