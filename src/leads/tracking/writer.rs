//! Event requests share SQLite's single writer by group commit: a request queues its
//! events, then waits for the writer; whoever holds the writer stores every queued request
//! in one transaction and hands each its own outcome. Under load many requests share one
//! transaction (one commit, each lead rescored once); alone, a request is its own group.
//! Waiting on a lock in the process, rather than on SQLite's busy handler (which polls with
//! growing sleeps), also keeps the latency tail short.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::NaiveDateTime;

use super::api::{Refusal, resolve};
use super::payload::{Fields, Incoming};
use crate::db::{self, Conn};
use crate::leads::events;

/// A group stops growing at this many events, so one transaction stays short.
const MAX_GROUP_EVENTS: usize = 50;

/// What became of one request's events.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Stored; the new events' ids, in order.
    Stored(Vec<i64>),
    /// Refused (an unknown lead, contact or email): nothing of the request was stored.
    Invalid(Fields),
    /// The group's transaction failed: nothing of it was stored.
    Failed(String),
}

type Slot = Arc<Mutex<Option<Outcome>>>;

struct Job {
    incoming: Vec<Incoming>,
    slot: Slot,
}

/// The queue and the writer of one app (one database), kept in its `AppState`.
#[derive(Default)]
pub struct GroupWriter {
    pending: Mutex<Vec<Job>>,
    writer: Mutex<()>,
}

/// A poisoned lock only means another request panicked; the data it guards stays usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl GroupWriter {
    /// Stores one request's events (in a group with whatever else is queued) and returns
    /// what became of them.
    pub fn submit(&self, conn: &mut Conn, incoming: Vec<Incoming>, now: NaiveDateTime) -> Outcome {
        let slot: Slot = Arc::new(Mutex::new(None));
        lock(&self.pending).push(Job {
            incoming,
            slot: Arc::clone(&slot),
        });
        loop {
            let _writer = lock(&self.writer);
            if let Some(outcome) = lock(&slot).take() {
                return outcome;
            }
            // Our job is still queued, so the group is not empty.
            let group = self.take_group();
            write_group(conn, &group, now);
        }
    }

    fn take_group(&self) -> Vec<Job> {
        let mut pending = lock(&self.pending);
        let mut events = 0;
        let mut jobs = 0;
        for job in pending.iter() {
            if jobs > 0 && events + job.incoming.len() > MAX_GROUP_EVENTS {
                break;
            }
            events += job.incoming.len();
            jobs += 1;
        }
        pending.drain(..jobs).collect()
    }
}

/// One write transaction for the whole group: each request is resolved on its own (one
/// with an unknown lead is refused alone), then every accepted event is stored and every
/// lead touched is rescored once.
fn write_group(conn: &mut Conn, group: &[Job], now: NaiveDateTime) {
    let written = db::write(conn, |conn| {
        let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(group.len());
        let mut batch = Vec::new();
        let mut stitches = Vec::new();
        // (job, first event in `batch`, how many)
        let mut spans = Vec::new();
        for (index, job) in group.iter().enumerate() {
            match resolve(conn, &job.incoming) {
                Ok(resolved) => {
                    spans.push((index, batch.len(), resolved.batch.len()));
                    batch.extend(resolved.batch);
                    stitches.extend(resolved.stitches);
                    outcomes.push(None);
                }
                Err(Refusal::Invalid(fields)) => outcomes.push(Some(Outcome::Invalid(fields))),
                Err(Refusal::Database(err)) => return Err(err),
            }
        }
        let ids = events::record_batch(conn, &batch, &stitches, now)?;
        for (index, start, count) in spans {
            let stored = ids
                .get(start..start + count)
                .map(<[i64]>::to_vec)
                .unwrap_or_default();
            if let Some(outcome) = outcomes.get_mut(index) {
                *outcome = Some(Outcome::Stored(stored));
            }
        }
        Ok::<_, diesel::result::Error>(outcomes)
    });
    match written {
        Ok(outcomes) => {
            for (job, outcome) in group.iter().zip(outcomes) {
                *lock(&job.slot) =
                    Some(outcome.unwrap_or_else(|| Outcome::Failed("no outcome".to_owned())));
            }
        }
        Err(err) => {
            for job in group {
                *lock(&job.slot) = Some(Outcome::Failed(err.to_string()));
            }
        }
    }
}
