//! How many SQL statements a request runs: every pooled connection counts what it executes
//! (an `Instrumentation` of diesel's), the handlers' `Db` adds what its connections ran
//! to the request's [`Tally`], and the metrics middleware observes the total per route
//! (`salesfunnel_db_statements`), so that a route that grows a query per row shows up. BEGIN,
//! COMMIT, ROLLBACK and savepoints are not counted: they are the transaction, not its work.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel_async::AsyncConnection;

use super::Conn;

/// The statements one connection has executed since it was opened.
#[derive(Debug, Default)]
pub struct Counted {
    started: u64,
    transaction_control: u64,
}

impl Instrumentation for Counted {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => self.started += 1,
            // Each of these is followed by the one statement that does it, counted above.
            InstrumentationEvent::BeginTransaction { .. }
            | InstrumentationEvent::CommitTransaction { .. }
            | InstrumentationEvent::RollbackTransaction { .. } => self.transaction_control += 1,
            _ => {}
        }
    }
}

/// The statements `conn` has executed so far (0 for a connection that does not count).
pub fn executed(conn: &mut Conn) -> u64 {
    conn.instrumentation()
        .downcast_ref::<Counted>()
        .map_or(0, |counted| counted.started.saturating_sub(counted.transaction_control))
}

/// The statements a request's connections have run, kept in its extensions.
#[derive(Debug, Clone, Default)]
pub struct Tally(Arc<AtomicU64>);

impl Tally {
    pub fn add(&self, statements: u64) {
        self.0.fetch_add(statements, Ordering::Relaxed);
    }

    pub fn total(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}
