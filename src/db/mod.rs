//! The one database access path: an r2d2 pool of synchronous diesel connections, used inside
//! `web::block` through [`run`] and [`transaction`]; embedded migrations; the embedded server.

pub mod embedded;

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, Pool};
use diesel::{Connection, ConnectionError, OptionalExtension, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::AppError;

/// The shared connection pool.
pub type DbPool = Pool<Manager>;

/// A pooled connection that remembers when the server went away under it, so the pool drops
/// it instead of handing it out again (diesel's own manager never considers a connection
/// broken outside a failed transaction, and the per-checkout `SELECT 1` is off).
pub struct PooledPg {
    pg: PgConnection,
    broken: bool,
}

impl Deref for PooledPg {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.pg
    }
}

impl DerefMut for PooledPg {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.pg
    }
}

/// Opens PostgreSQL connections for the pool.
pub struct Manager {
    url: String,
}

impl ManageConnection for Manager {
    type Connection = PooledPg;
    type Error = ConnectionError;

    fn connect(&self) -> Result<PooledPg, ConnectionError> {
        PgConnection::establish(&self.url).map(|pg| PooledPg { pg, broken: false })
    }

    fn is_valid(&self, conn: &mut PooledPg) -> Result<(), ConnectionError> {
        diesel::sql_query("SELECT 1")
            .execute(&mut conn.pg)
            .map(|_| ())
            .map_err(|e| ConnectionError::BadConnection(e.to_string()))
    }

    fn has_broken(&self, conn: &mut PooledPg) -> bool {
        conn.broken || std::thread::panicking()
    }
}

/// The migrations in `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// How long a request waits for a connection before it gets a 503.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(3);

/// Builds the pool without connecting, so a database that is down at a given moment gives 503s
/// rather than a dead process; r2d2's per-checkout `SELECT 1` is off (it doubles round trips).
pub fn pool(database_url: &str, size: u32) -> DbPool {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(size.min(4)))
        .test_on_check_out(false)
        .connection_timeout(CHECKOUT_TIMEOUT)
        .build_unchecked(Manager {
            url: database_url.to_owned(),
        })
}

/// Runs pending migrations on one connection of `pool`.
pub fn migrate(pool: &DbPool) -> Result<Vec<String>, String> {
    let mut conn = pool.get().map_err(|e| format!("cannot connect to the database: {e}"))?;
    run_migrations(&mut conn)
}

/// Runs pending migrations; returns the versions applied.
pub fn run_migrations(conn: &mut PgConnection) -> Result<Vec<String>, String> {
    conn.run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| format!("migration failed: {e}"))
}

#[derive(diesel::QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    version: i32,
}

/// Locks row `id` of `table` for the rest of the transaction and checks `If-Match` against its
/// version: 404 when there is no such row (`what` names it), 412 on a mismatch.
pub fn lock_version(
    conn: &mut PgConnection,
    table: &'static str,
    what: &str,
    id: uuid::Uuid,
    if_match: &crate::http::IfMatch,
) -> Result<i32, AppError> {
    let row = diesel::sql_query(format!("SELECT version FROM {table} WHERE id = $1 FOR UPDATE"))
        .bind::<diesel::sql_types::Uuid, _>(id)
        .get_result::<Version>(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found(what, id))?;
    if_match.check(row.version)?;
    Ok(row.version)
}

/// Runs `f` with a pooled connection on the blocking thread pool.
pub async fn run<T, F>(pool: &DbPool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get()?;
        let result = f(&mut conn);
        if let Err(AppError::Unavailable(_)) = &result {
            conn.broken = true;
        }
        result
    })
    .await?
}

/// Runs `f` in one transaction with a pooled connection; any error rolls it back.
pub async fn transaction<T, F>(pool: &DbPool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    run(pool, move |conn| conn.transaction(f)).await
}

/// Declares a Rust enum stored as `text` (with a CHECK constraint in the migration) and
/// serialised as the same snake_case string in JSON.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(diesel::AsExpression, diesel::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name { $( $(#[$vmeta])* $variant ),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialised name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("'{other}' is not a valid {}", stringify!($name))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>)
                -> diesel::serialize::Result {
                std::io::Write::write_all(out, self.as_str().as_bytes())?;
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg>>::from_sql(bytes)?;
                text.parse().map_err(Into::into)
            }
        }
    };
}
pub(crate) use text_enum;
