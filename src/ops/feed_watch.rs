//! The feed's lag, watched: every few seconds the age of the oldest committed event that is not
//! yet published and the webhook backlog go to `/metrics`, and a WARN names the transaction that
//! holds publication once it has for longer than `FEED_STALL_WARN_S`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Double, Integer, Nullable, Text, Timestamptz};
use diesel::{QueryableByName, sql_query};
use diesel_async::RunQueryDsl;
use prometheus::{Gauge, IntGauge, Opts, Registry};

use crate::db::{self, DbPool};
use crate::error::AppError;

/// How often the watcher looks.
const EVERY: Duration = Duration::from_secs(5);

/// The gauges `/metrics` shows.
#[derive(Clone)]
pub struct FeedGauges {
    unpublished_age: Gauge,
    pending_deliveries: IntGauge,
    oldest_pending_delivery_age: Gauge,
}

impl FeedGauges {
    /// The gauges, registered in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let opts = |name: &str, help: &str| Opts::new(name, help).namespace("salesfunnel");
        let gauges = Self {
            unpublished_age: Gauge::with_opts(opts(
                "feed_oldest_unpublished_event_age_seconds",
                "Age of the oldest committed event the feed has not published yet (0: none)",
            ))?,
            pending_deliveries: IntGauge::with_opts(opts(
                "webhook_pending_deliveries",
                "Webhook deliveries waiting to be made or retried",
            ))?,
            oldest_pending_delivery_age: Gauge::with_opts(opts(
                "webhook_oldest_pending_delivery_age_seconds",
                "Age of the oldest pending webhook delivery (0: none)",
            ))?,
        };
        registry.register(Box::new(gauges.unpublished_age.clone()))?;
        registry.register(Box::new(gauges.pending_deliveries.clone()))?;
        registry.register(Box::new(gauges.oldest_pending_delivery_age.clone()))?;
        Ok(gauges)
    }
}

#[derive(QueryableByName)]
struct Lag {
    #[diesel(sql_type = Double)]
    unpublished_age: f64,
    #[diesel(sql_type = BigInt)]
    pending: i64,
    #[diesel(sql_type = Double)]
    pending_age: f64,
}

/// The backend whose transaction holds publication.
#[derive(QueryableByName)]
struct Holder {
    #[diesel(sql_type = Integer)]
    pid: i32,
    #[diesel(sql_type = Nullable<Text>)]
    application_name: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    xact_start: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    state: Option<String>,
}

const LAG: &str = "
SELECT coalesce(extract(epoch FROM clock_timestamp() - (SELECT min(occurred_at) FROM events WHERE seq IS NULL)), 0)::float8
           AS unpublished_age,
       (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS pending,
       coalesce(extract(epoch FROM clock_timestamp()
           - (SELECT min(created_at) FROM webhook_deliveries WHERE status = 'pending')), 0)::float8 AS pending_age";

/// The running transaction with the lowest unpublished event (see migration 000011).
const HOLDER: &str = "
SELECT a.pid, a.application_name, a.xact_start, a.state
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.classid::bigint >= 1073741824
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY (l.classid::bigint << 32) | l.objid::bigint
LIMIT 1";

/// Looks once: sets the gauges, and warns when publication has been held longer than `warn`.
pub async fn look(pool: &DbPool, gauges: &FeedGauges, warn: Duration) -> Result<(), AppError> {
    let mut conn = db::connection(pool).await?;
    // What is publishable is published (as a consumer's poll would): what stays is held.
    crate::events::store::publish(&mut conn).await?;
    let lag: Lag = sql_query(LAG).get_result(&mut *conn).await?;
    gauges.unpublished_age.set(lag.unpublished_age);
    gauges.pending_deliveries.set(lag.pending);
    gauges.oldest_pending_delivery_age.set(lag.pending_age);
    if lag.unpublished_age > warn.as_secs_f64() {
        let holder: Option<Holder> = sql_query(HOLDER).get_result(&mut *conn).await.ok();
        match holder {
            Some(h) => log::warn!(
                "the event feed has been held for {:.0} s by backend pid {} (application '{}', transaction \
                 started {}, {}); events written after it wait until it ends",
                lag.unpublished_age,
                h.pid,
                h.application_name.unwrap_or_default(),
                h.xact_start.map_or_else(|| "?".to_owned(), |at| at.to_rfc3339()),
                h.state.unwrap_or_default()
            ),
            None => log::warn!(
                "the event feed has been held for {:.0} s; no transaction holds it now",
                lag.unpublished_age
            ),
        }
    }
    Ok(())
}

/// Looks every few seconds until the runtime stops.
pub async fn watch(pool: DbPool, gauges: FeedGauges, warn: Duration) {
    let mut interval = tokio::time::interval(EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(e) = look(&pool, &gauges, warn).await {
            log::debug!("feed watch: {e}");
        }
    }
}
