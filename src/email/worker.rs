//! The delivery worker: a thread inside `rapport serve` that sends due emails, retries
//! transient failures with exponential backoff and stops cleanly between two emails. Each
//! poll first queues the reminders of tasks that fell due and rescores a batch of the leads
//! that a change of the scoring rules left behind.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use lettre::message::Mailbox;

use super::Mailer;
use super::outbox::{self, OutboxEmail};
use super::transport::{DeliveryError, Transport};
use crate::clock::Clock;
use crate::db::DbPool;

/// After this many failed attempts an email is marked failed for an admin to look at.
pub const MAX_ATTEMPTS: i32 = 10;
const BATCH_SIZE: i64 = 20;
const LEASE: chrono::Duration = chrono::Duration::minutes(10);

/// The wait before the next attempt: 30 s, doubling each time, at most an hour.
pub fn retry_delay(attempts_so_far: i32) -> chrono::Duration {
    let exponent = u32::try_from(attempts_so_far.saturating_sub(1))
        .unwrap_or(0)
        .min(7);
    chrono::Duration::seconds(30 * 2_i64.pow(exponent)).min(chrono::Duration::hours(1))
}

#[derive(Default)]
struct Signal {
    state: Mutex<SignalState>,
    changed: Condvar,
}

#[derive(Default)]
struct SignalState {
    wake: bool,
    stop: bool,
}

impl Signal {
    fn raise(&self, stop: bool) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.wake = true;
        state.stop |= stop;
        self.changed.notify_all();
    }

    fn stopping(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stop
    }

    /// Sleeps until woken or `timeout` passes; returns whether to stop.
    fn wait(&self, timeout: Duration) -> bool {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut state, _) = self
            .changed
            .wait_timeout_while(state, timeout, |state| !state.wake && !state.stop)
            .unwrap_or_else(PoisonError::into_inner);
        state.wake = false;
        state.stop
    }
}

/// How often a background thread copies the write-ahead log back into the database file.
/// SQLite also does it in the commit that grows the log past 1,000 pages, and that commit
/// (and every request queued behind it) waits for the copy: under a steady stream of writes
/// (website events) copying often in the background leaves that commit little to do.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// Batches of lead rescoring (2,000 leads each, about a tenth of a second) between two
/// looks at the outbox.
const RESCORE_BATCHES_PER_TURN: usize = 8;

/// Lets the app wake the worker (after queuing mail) and stop it at shutdown.
#[derive(Clone, Default)]
pub struct WorkerHandle {
    signal: Arc<Signal>,
    checkpoints: Arc<Signal>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl WorkerHandle {
    pub fn wake(&self) {
        self.signal.raise(false);
    }

    /// Asks the worker to stop after the email in hand and waits for it.
    pub fn stop(&self) {
        self.signal.raise(true);
        self.checkpoints.raise(true);
        let threads =
            std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        for thread in threads {
            let name = thread.thread().name().unwrap_or("worker").to_owned();
            if thread.join().is_err() {
                tracing::error!(thread = %name, "a background thread panicked");
            }
        }
    }
}

pub struct Worker {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub transport: Transport,
    pub from: Mailbox,
    pub poll_interval: Duration,
    /// For the emails the worker queues itself (task reminders): links and Message-IDs.
    pub mailer: Mailer,
}

impl Worker {
    pub fn spawn(self) -> std::io::Result<WorkerHandle> {
        let handle = WorkerHandle::default();
        let checkpoints = Arc::clone(&handle.checkpoints);
        let pool = self.pool.clone();
        let checkpointer = std::thread::Builder::new()
            .name("wal-checkpoints".to_owned())
            .spawn(move || {
                while !checkpoints.wait(CHECKPOINT_INTERVAL) {
                    checkpoint(&pool);
                }
            })?;
        let signal = Arc::clone(&handle.signal);
        let worker = std::thread::Builder::new()
            .name("email-worker".to_owned())
            .spawn(move || self.run(&signal))?;
        handle
            .threads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend([worker, checkpointer]);
        Ok(handle)
    }

    fn run(self, signal: &Signal) {
        tracing::info!(transport = %self.transport.describe(), "email worker started");
        loop {
            self.queue_task_reminders();
            crate::leads::scoring::apply_daily_decay(&self.pool, self.clock.now());
            let rescored = self.rescore_leads();
            if let Err(err) = self.deliver_due(signal) {
                tracing::error!(error = %err, "email worker could not read the outbox");
            }
            // While leads wait to be rescored, go straight on with the next batch.
            if rescored && signal.stopping() || !rescored && signal.wait(self.poll_interval) {
                break;
            }
        }
        tracing::info!("email worker stopped");
    }

    fn queue_task_reminders(&self) {
        let queued = self
            .pool
            .get()
            .map_err(crate::error::AppError::from)
            .and_then(|mut conn| {
                crate::tasks::reminders::queue_due(&mut conn, self.clock.now(), &self.mailer)
            });
        match queued {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "task reminders queued"),
            Err(err) => tracing::error!(error = %err, "could not queue task reminders"),
        }
    }

    /// A few batches of the rescoring a rule change started (then the outbox has its turn);
    /// whether it found leads to rescore.
    fn rescore_leads(&self) -> bool {
        let rescored = crate::leads::scoring::rescore_pending_pipelined(
            &self.pool,
            self.clock.now(),
            RESCORE_BATCHES_PER_TURN,
        );
        match rescored {
            Ok(0) => false,
            Ok(count) => {
                tracing::debug!(count, "leads rescored");
                true
            }
            Err(err) => {
                tracing::error!(error = %err, "could not rescore leads");
                false
            }
        }
    }

    fn deliver_due(&self, signal: &Signal) -> Result<(), crate::error::AppError> {
        loop {
            let now = self.clock.now();
            let batch = outbox::claim_due(&mut *self.pool.get()?, now, now + LEASE, BATCH_SIZE)?;
            if batch.is_empty() {
                return Ok(());
            }
            for email in &batch {
                if signal.stopping() {
                    return Ok(());
                }
                let outcome = self.transport.deliver(email, &self.from);
                self.record(email, outcome)?;
            }
        }
    }

    fn record(
        &self,
        email: &OutboxEmail,
        outcome: Result<(), DeliveryError>,
    ) -> Result<(), crate::error::AppError> {
        let conn = &mut *self.pool.get()?;
        let attempts = email.attempts + 1;
        let now = self.clock.now();
        match outcome {
            Ok(()) => {
                tracing::info!(email_id = email.id, attempts, "email sent");
                outbox::mark_sent(conn, email.id, now, attempts)?;
            }
            Err(DeliveryError::Transient(error)) if attempts < MAX_ATTEMPTS => {
                let next = now + retry_delay(attempts);
                tracing::warn!(email_id = email.id, attempts, %error, %next, "email delivery will be retried");
                outbox::schedule_retry(conn, email.id, attempts, next, &error)?;
            }
            Err(DeliveryError::Transient(error) | DeliveryError::Permanent(error)) => {
                tracing::error!(email_id = email.id, attempts, %error, "email delivery failed");
                outbox::mark_failed(conn, email.id, attempts, &error)?;
            }
        }
        Ok(())
    }
}

/// Copies the write-ahead log into the database file, off the requests' commits.
fn checkpoint(pool: &DbPool) {
    let done = pool
        .get()
        .map_err(crate::error::AppError::from)
        .and_then(|mut conn| Ok(crate::db::checkpoint(&mut conn)?));
    if let Err(err) = done {
        tracing::warn!(error = %err, "could not checkpoint the write-ahead log");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_an_hour() {
        let seconds: Vec<i64> = (1..=10).map(|n| retry_delay(n).num_seconds()).collect();
        assert_eq!(
            seconds,
            [30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
        );
    }
}
