//! The database as a handler sees it ([`Db`]): the shared pool, or, for an operation of an
//! atomic batch, the one transaction all of the batch's operations run in. A handler's own
//! transaction then becomes a savepoint of it, so each operation still commits or fails as a
//! whole, and the batch decides whether everything is kept.

use std::future::{Ready, ready};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use deadpool::managed::Object;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::{AnsiTransactionManager, TransactionManager};
use tokio::sync::{Mutex, OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use super::statements::{self, Tally};
use super::{Conn, DbPool, connection};
use crate::error::AppError;
use crate::http::deferred::Deferred;

type Pooled = Object<AsyncDieselConnectionManager<Conn>>;

/// One open transaction shared by the operations of an atomic batch, in turn.
#[derive(Clone)]
pub struct SharedTransaction(Arc<Mutex<Pooled>>);

impl SharedTransaction {
    /// Takes a connection of the pool and begins the transaction.
    pub async fn begin(pool: &DbPool) -> Result<Self, AppError> {
        let mut conn = connection(pool).await?;
        AnsiTransactionManager::begin_transaction(&mut *conn).await?;
        Ok(Self(Arc::new(Mutex::new(conn))))
    }

    /// Commits what every operation wrote.
    pub async fn commit(&self) -> Result<(), AppError> {
        let mut conn = self.0.lock().await;
        Ok(AnsiTransactionManager::commit_transaction(&mut **conn).await?)
    }

    /// Rolls everything back. A connection left in a transaction (an operation was cut off
    /// mid-way) is discarded by the pool's recycling check rather than reused.
    pub async fn roll_back(&self) {
        let mut conn = self.0.lock().await;
        while AnsiTransactionManager::transaction_manager_status_mut(&mut **conn)
            .transaction_depth()
            .is_ok_and(|depth| depth.is_some())
        {
            if AnsiTransactionManager::rollback_transaction(&mut **conn).await.is_err() {
                break;
            }
        }
    }
}

/// Caps the connections taken out of the pool for requests whose body already failed (see
/// [`Db::connection`]) at the pool's size: the pool opens a new connection for each one taken,
/// so without a cap a flood of invalid requests would open PostgreSQL connections without
/// bound and exhaust its `max_connections` for everyone. Created once per process.
pub struct DetachedLimit(Arc<Semaphore>);

impl DetachedLimit {
    pub fn new(pool: &DbPool) -> Self {
        Self(Arc::new(Semaphore::new(pool.status().max_size)))
    }
}

/// The handler's way to the database; see the module comment.
pub struct Db {
    pool: Data<DbPool>,
    detached: Data<DetachedLimit>,
    shared: Option<SharedTransaction>,
    tally: Tally,
    deferred: Option<Deferred>,
}

impl Db {
    /// The pool, for work that needs a connection of its own.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Whether the handler runs inside an atomic batch, whose writes may still be rolled back.
    pub fn in_atomic_batch(&self) -> bool {
        self.shared.is_some()
    }

    /// A connection: from the pool (503 when none comes in time), or the batch's transaction.
    pub async fn connection(&self) -> Result<DbConn, AppError> {
        let mut held = match &self.shared {
            // The body had problems: the request only checks its references, on a connection
            // taken out of the pool and inside a transaction that is never committed; dropping
            // the connection ends it, and PostgreSQL rolls it back at once, locks and all. (In
            // a shared transaction the batch rolls everything back.)
            // At most as many at once as the pool holds; the others wait as for the pool.
            None if self.deferred.as_ref().is_some_and(Deferred::is_pending) => {
                let permit = Arc::clone(&self.detached.0).acquire_owned();
                let permit = match self.pool.timeouts().wait {
                    Some(wait) => tokio::time::timeout(wait, permit)
                        .await
                        .map_err(|_| AppError::Unavailable("no database connection became free in time".to_owned()))?,
                    None => permit.await,
                }
                .map_err(|e| AppError::Internal(e.to_string()))?;
                let mut conn = Pooled::take(connection(&self.pool).await?);
                AnsiTransactionManager::begin_transaction(&mut conn).await?;
                Held::Detached { conn, _place: permit }
            }
            None => Held::Pooled(connection(&self.pool).await?),
            Some(shared) => Held::Shared(Arc::clone(&shared.0).lock_owned().await),
        };
        let start = statements::executed(held.conn());
        Ok(DbConn {
            held,
            start,
            tally: self.tally.clone(),
        })
    }
}

impl FromRequest for Db {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let shared = req.extensions().get::<SharedTransaction>().cloned();
        let tally = req.extensions_mut().get_or_insert_with(Tally::default).clone();
        let deferred = Deferred::of(req);
        ready(
            match (req.app_data::<Data<DbPool>>(), req.app_data::<Data<DetachedLimit>>()) {
                (Some(pool), Some(detached)) => Ok(Self {
                    pool: pool.clone(),
                    detached: detached.clone(),
                    shared,
                    tally,
                    deferred,
                }),
                _ => Err(AppError::Internal("no database pool configured".to_owned())),
            },
        )
    }
}

/// A connection lent to one handler; what it runs is added to the request's [`Tally`].
pub struct DbConn {
    held: Held,
    start: u64,
    tally: Tally,
}

enum Held {
    Pooled(Pooled),
    Shared(OwnedMutexGuard<Pooled>),
    /// Out of the pool, with its place under the [`DetachedLimit`].
    Detached {
        conn: Conn,
        _place: OwnedSemaphorePermit,
    },
}

impl Held {
    fn conn(&mut self) -> &mut Conn {
        match self {
            Self::Pooled(conn) => conn,
            Self::Shared(conn) => conn,
            Self::Detached { conn, .. } => conn,
        }
    }
}

impl Drop for DbConn {
    fn drop(&mut self) {
        let ran = statements::executed(self.held.conn()).saturating_sub(self.start);
        self.tally.add(ran);
    }
}

impl Deref for DbConn {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        match &self.held {
            Held::Pooled(conn) => conn,
            Held::Shared(conn) => conn,
            Held::Detached { conn, .. } => conn,
        }
    }
}

impl DerefMut for DbConn {
    fn deref_mut(&mut self) -> &mut Conn {
        self.held.conn()
    }
}
