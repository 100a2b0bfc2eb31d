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
use tokio::sync::{Mutex, OwnedMutexGuard};

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

/// The handler's way to the database; see the module comment.
pub struct Db {
    pool: Data<DbPool>,
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
            None if self.deferred.as_ref().is_some_and(Deferred::is_pending) => {
                let mut conn = Pooled::take(connection(&self.pool).await?);
                AnsiTransactionManager::begin_transaction(&mut conn).await?;
                Held::Detached(conn)
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
        ready(match req.app_data::<Data<DbPool>>() {
            Some(pool) => Ok(Self {
                pool: pool.clone(),
                shared,
                tally,
                deferred,
            }),
            None => Err(AppError::Internal("no database pool configured".to_owned())),
        })
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
    Detached(Conn),
}

impl Held {
    fn conn(&mut self) -> &mut Conn {
        match self {
            Self::Pooled(conn) => conn,
            Self::Shared(conn) => conn,
            Self::Detached(conn) => conn,
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
            Held::Detached(conn) => conn,
        }
    }
}

impl DerefMut for DbConn {
    fn deref_mut(&mut self) -> &mut Conn {
        self.held.conn()
    }
}
