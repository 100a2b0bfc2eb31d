//! The one database access path: a deadpool pool of diesel-async PostgreSQL connections
//! (pure Rust, no libpq), used directly by handlers — no blocking thread pool; embedded
//! migrations run through diesel's sync harness on a wrapper; the embedded server.
//!
//! Chosen by measurement over sync diesel + r2d2 inside `web::block` (bench/run.sh
//! --compare-async, 100k partners, 32 connections, GET by id with auth): diesel-async served
//! 15.3k-19.5k req/s with p99 4.4-6 ms, the r2d2 path 12.5k-15.0k req/s with p99 121-269 ms and
//! p99.9 up to 0.9 s, at about 1.6 times the server CPU per request (bench/README.md).

pub mod embedded;
pub mod prepared;
pub mod request;
pub mod statements;

pub use request::{Db, DbConn};

use std::time::Duration;

use deadpool::Runtime;
use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::{Connection, OptionalExtension};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use futures_util::FutureExt;

use crate::config::DatabaseSettings;
use crate::error::AppError;

/// A connection of the pool, used by the stores.
pub type Conn = AsyncPgConnection;

/// The shared connection pool.
pub type DbPool = Pool<AsyncPgConnection>;

/// A blocking connection for start-up work (migrations, seeds) outside the async runtime.
pub type SyncConn = AsyncConnectionWrapper<AsyncPgConnection>;

/// The migrations in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Builds the pool without connecting, so a database that is down at a given moment gives 503s
/// rather than a dead process. Recycling only checks for a broken or closed connection (no
/// per-checkout `SELECT 1`, which doubles round trips); a connection the server dropped is
/// noticed by its closed socket and replaced, and one given back with an open transaction (its
/// request timed out) is discarded. Connections are opened with TCP keepalive,
/// `tcp_user_timeout`, a statement timeout and JIT off (see [`DatabaseSettings`]).
pub fn pool(database_url: &str, settings: &DatabaseSettings) -> Result<DbPool, String> {
    let mut pg: tokio_postgres::Config = database_url
        .parse()
        .map_err(|e| format!("DATABASE_URL is not a PostgreSQL URL: {e}"))?;
    // JIT compilation takes hundreds of milliseconds on the larger report plans, far more than
    // it saves (owners report at 1,000,000 opportunities: 1.5 s with, 0.3 s without).
    let options = format!(
        "-c jit=off -c statement_timeout={}",
        settings.statement_timeout.as_millis()
    );
    pg.options(&options)
        .application_name("salesfunnel")
        .keepalives(true)
        .keepalives_idle(settings.keepalive_idle)
        .tcp_user_timeout(settings.tcp_user_timeout)
        .connect_timeout(settings.timeout);
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |_| {
        let pg = pg.clone();
        async move {
            let (client, connection) = pg
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            let mut conn = AsyncPgConnection::try_from_client_and_connection(client, connection).await?;
            conn.set_instrumentation(statements::Counted::default());
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(database_url, config);
    Pool::builder(manager)
        .max_size(settings.pool_size as usize)
        .wait_timeout(Some(settings.timeout))
        .create_timeout(Some(settings.timeout))
        .recycle_timeout(Some(settings.timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| format!("cannot build the connection pool: {e}"))
}

/// Closes connections idle for longer than `idle`, every few seconds, so replicas give back
/// what a burst made them open.
pub async fn close_idle(pool: DbPool, idle: Duration) {
    let mut interval = tokio::time::interval((idle / 4).clamp(Duration::from_secs(1), Duration::from_secs(15)));
    loop {
        interval.tick().await;
        pool.retain(|_, metrics| metrics.last_used() < idle);
    }
}

/// A pooled connection, or 503 when none can be had in time.
pub async fn connection(pool: &DbPool) -> Result<Object<AsyncPgConnection>, AppError> {
    pool.get().await.map_err(|e| AppError::Unavailable(e.to_string()))
}

/// Opens a blocking connection; call it outside the async runtime (e.g. on its own thread).
pub fn sync_connection(database_url: &str) -> Result<SyncConn, String> {
    <SyncConn as Connection>::establish(database_url)
        .map_err(|e| format!("cannot connect to the database {}: {e}", describe_target(database_url)))
}

/// `user@host:port/database` of a URL, for messages: never its password.
fn describe_target(database_url: &str) -> String {
    match database_url.parse::<tokio_postgres::Config>() {
        Ok(config) => {
            let host = config.get_hosts().first().map_or_else(
                || "localhost".to_owned(),
                |host| match host {
                    tokio_postgres::config::Host::Tcp(name) => name.clone(),
                    tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                },
            );
            let port = config.get_ports().first().copied().unwrap_or(5432);
            format!(
                "{}@{host}:{port}/{}",
                config.get_user().unwrap_or("?"),
                config.get_dbname().unwrap_or("?")
            )
        }
        Err(e) => format!("(the URL does not parse: {e})"),
    }
}

/// The advisory lock key that serialises migrations of one database (an arbitrary constant).
const MIGRATION_LOCK: i64 = 0x5a1e_5f00_0001;

/// Runs pending migrations; returns the versions applied. Blocking. Replicas starting together
/// take turns under a session-level advisory lock: the first migrates, the others then find
/// nothing pending (concurrent `CREATE EXTENSION`/`CREATE TYPE` would otherwise collide).
pub fn run_migrations(conn: &mut SyncConn) -> Result<Vec<String>, String> {
    let lock = |conn: &mut SyncConn, sql: &str| {
        let query = diesel::sql_query(sql).bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK);
        diesel::RunQueryDsl::execute(query, conn).map_err(|e| format!("migration lock: {e}"))
    };
    lock(conn, "SELECT pg_advisory_lock($1)")?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| format!("migration failed: {e}"));
    // Released on disconnect too; unlocking here frees the others at once.
    let unlocked = lock(conn, "SELECT pg_advisory_unlock($1)");
    let applied = applied?;
    unlocked?;
    Ok(applied)
}

#[derive(diesel::QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    version: i32,
}

/// A primary key: a UUID, or a code for tables keyed by one (classes).
pub trait RowKey: std::fmt::Display {
    /// Adds the key as the next bind parameter of `query`.
    fn bind_to<'a>(&self, query: BoxedSqlQuery<'a, Pg, SqlQuery>) -> BoxedSqlQuery<'a, Pg, SqlQuery>;
}

impl RowKey for uuid::Uuid {
    fn bind_to<'a>(&self, query: BoxedSqlQuery<'a, Pg, SqlQuery>) -> BoxedSqlQuery<'a, Pg, SqlQuery> {
        query.bind::<diesel::sql_types::Uuid, _>(*self)
    }
}

/// The typed ids bind as the UUIDs they are.
macro_rules! uuid_row_keys {
    ($($id:ident),+) => {$(
        impl RowKey for crate::ids::$id {
            fn bind_to<'a>(&self, query: BoxedSqlQuery<'a, Pg, SqlQuery>) -> BoxedSqlQuery<'a, Pg, SqlQuery> {
                self.0.bind_to(query)
            }
        }
    )+};
}
uuid_row_keys!(
    PartnerId,
    OpportunityId,
    OpportunityLineId,
    QuoteId,
    QuoteLineId,
    ActivityId,
    UserId,
    FunnelId,
    StageId,
    LostReasonId,
    ArticleId,
    ContactId,
    CustomFieldId,
    QuotaId
);

impl RowKey for str {
    fn bind_to<'a>(&self, query: BoxedSqlQuery<'a, Pg, SqlQuery>) -> BoxedSqlQuery<'a, Pg, SqlQuery> {
        query.bind::<diesel::sql_types::Text, _>(self.to_owned())
    }
}

/// Locks row `id` of `table` for the rest of the transaction and checks `If-Match` against its
/// version: 404 when there is no such row (`what` names it), 412 on a mismatch. The lock is
/// `FOR NO KEY UPDATE`: rows of other tables may still reference the row meanwhile (their
/// foreign-key checks take `FOR KEY SHARE`), so a configuration write never waits on, or
/// deadlocks with, an ordinary write that merely points at the row.
pub async fn lock_version<K: RowKey + ?Sized>(
    conn: &mut Conn,
    table: &'static str,
    what: &str,
    id: &K,
    if_match: &crate::http::IfMatch,
) -> Result<i32, AppError> {
    let query = diesel::sql_query(format!("SELECT version FROM {table} WHERE id = $1 FOR NO KEY UPDATE")).into_boxed();
    let row = id
        .bind_to(query)
        .get_result::<Version>(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::not_found(what, id))?;
    if_match.check(row.version)?;
    Ok(row.version)
}
