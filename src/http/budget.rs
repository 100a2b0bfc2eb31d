//! How long a request may take: its body must arrive within `BODY_TIMEOUT_MS` (else 408), and
//! the rest of it must not wait on the database longer than `DATABASE_TIMEOUT_MS` and a margin
//! (else 503; a batch has the budgets of its operations together). The database clock stops while the body is read, so a client that trickles its
//! body is told so, and never blamed on the database.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::dev::ServiceRequest;
use tokio::time::Instant;

use crate::error::AppError;

/// The two limits, the same for every request.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// How long reading the body may take.
    pub body: Duration,
    /// How long the request may wait on the database, body reading not counted.
    pub database: Duration,
}

/// Where one request's body reading stands; shared by [`Budget::within`] and the body
/// extractor, which finds it in the request's extensions.
#[derive(Debug, Clone)]
pub struct BodyClock {
    limit: Duration,
    state: Rc<Cell<Reading>>,
}

#[derive(Debug, Clone, Copy)]
enum Reading {
    NotStarted,
    InProgress,
    Took(Duration),
}

impl BodyClock {
    /// The request's clock, or an unlimited one where no budget is installed.
    pub fn of(req: &actix_web::HttpRequest) -> Self {
        req.extensions().get::<Self>().cloned().unwrap_or_else(|| Self {
            limit: Duration::MAX,
            state: Rc::new(Cell::new(Reading::NotStarted)),
        })
    }

    /// Reads the body with `read`, or gives up with a 408 once the limit has passed.
    pub async fn read<T>(&self, read: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
        let started = Instant::now();
        // A body read again from memory (a retried request) adds to the first reading.
        let earlier = match self.state.get() {
            Reading::Took(took) => took,
            Reading::NotStarted | Reading::InProgress => Duration::ZERO,
        };
        self.state.set(Reading::InProgress);
        let result = tokio::time::timeout(self.limit, read).await;
        self.state.set(Reading::Took(earlier + started.elapsed()));
        result.unwrap_or_else(|_| {
            Err(AppError::RequestTimeout(format!(
                "the request body did not arrive within {} ms",
                self.limit.as_millis()
            )))
        })
    }
}

impl Budget {
    /// Starts one request's clocks: the body clock goes into its extensions for the body
    /// extractor; [`Timer::run`] runs the rest of the service within the database limit.
    pub fn start(&self, req: &ServiceRequest) -> Timer {
        let clock = BodyClock {
            limit: self.body,
            state: Rc::new(Cell::new(Reading::NotStarted)),
        };
        req.extensions_mut().insert(clock.clone());
        // Each operation of a batch runs within a budget of its own; the batch has theirs.
        let operations = if req.path() == crate::batch::PATH {
            crate::batch::MAX_OPERATIONS as u32 + 1
        } else {
            1
        };
        Timer {
            clock,
            limit: self.database * operations,
            start: Instant::now(),
        }
    }
}

/// One request's database clock.
pub struct Timer {
    clock: BodyClock,
    limit: Duration,
    start: Instant,
}

impl Timer {
    /// `call`'s output, or `Err` when it waited longer than the limit, body reading not counted.
    pub async fn run<F: Future>(self, call: F) -> Result<F::Output, AppError> {
        let mut deadline = self.start + self.limit;
        let mut call = std::pin::pin!(call);
        loop {
            tokio::select! {
                output = &mut call => return Ok(output),
                () = tokio::time::sleep_until(deadline) => {
                    let now = Instant::now();
                    deadline = match self.clock.state.get() {
                        // The body has its own limit; look again afterwards.
                        Reading::InProgress => now + self.limit,
                        Reading::Took(took) if self.start + self.limit + took > now => self.start + self.limit + took,
                        _ => {
                            return Err(AppError::TimedOut(format!(
                                "no answer from the database within {} ms",
                                self.limit.as_millis()
                            )));
                        }
                    };
                }
            }
        }
    }
}
