//! The outbox table: every outgoing email is a row, written in the transaction of the change
//! that causes it and delivered later by the worker.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::tokens::random_token;
use crate::db::Conn;
use crate::db::schema::email_outbox;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Queued,
    Sent,
    Failed,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Queued, Status::Sent, Status::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sent => "sent",
            Status::Failed => "failed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_outbox, check_for_backend(diesel::sqlite::Sqlite))]
pub struct OutboxEmail {
    pub id: i64,
    pub message_id: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

/// An email to queue. `idempotency_key` names its cause: a second email with the same key
/// is never queued.
#[derive(Debug, Clone)]
pub struct NewEmail {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub idempotency_key: Option<String>,
}

/// Queues an email and returns its row id, or `None` when its idempotency key was already
/// used. `domain` is the right-hand side of its Message-ID.
pub fn enqueue(
    conn: &mut Conn,
    now: NaiveDateTime,
    domain: &str,
    email: &NewEmail,
) -> QueryResult<Option<i64>> {
    let message_id = format!("<{}@{}>", random_token(), domain);
    let inserted = diesel::insert_into(email_outbox::table)
        .values((
            email_outbox::message_id.eq(&message_id),
            email_outbox::idempotency_key.eq(&email.idempotency_key),
            email_outbox::recipient.eq(&email.to),
            email_outbox::subject.eq(&email.subject),
            email_outbox::body_text.eq(&email.body),
            email_outbox::status.eq(Status::Queued.as_str()),
            email_outbox::next_attempt_at.eq(now),
            email_outbox::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    if inserted == 0 {
        return Ok(None);
    }
    email_outbox::table
        .filter(email_outbox::message_id.eq(&message_id))
        .select(email_outbox::id)
        .first(conn)
        .map(Some)
}

/// Takes up to `limit` due emails for this worker: each is leased until `lease_until`, so
/// another worker (another instance) skips it, and a crashed worker's lease runs out.
pub fn claim_due(
    conn: &mut Conn,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OutboxEmail>> {
    let due = || {
        email_outbox::table
            .filter(email_outbox::status.eq(Status::Queued.as_str()))
            .filter(email_outbox::next_attempt_at.le(now))
            .filter(
                email_outbox::locked_until
                    .is_null()
                    .or(email_outbox::locked_until.lt(now)),
            )
    };
    let candidates: Vec<OutboxEmail> = due()
        .order(email_outbox::next_attempt_at.asc())
        .limit(limit)
        .select(OutboxEmail::as_select())
        .load(conn)?;
    let mut claimed = Vec::with_capacity(candidates.len());
    for email in candidates {
        let taken = diesel::update(due().filter(email_outbox::id.eq(email.id)))
            .set(email_outbox::locked_until.eq(lease_until))
            .execute(conn)?;
        if taken == 1 {
            claimed.push(email);
        }
    }
    Ok(claimed)
}

pub fn mark_sent(conn: &mut Conn, id: i64, now: NaiveDateTime, attempts: i32) -> QueryResult<()> {
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::status.eq(Status::Sent.as_str()),
            email_outbox::attempts.eq(attempts),
            email_outbox::sent_at.eq(now),
            email_outbox::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn schedule_retry(
    conn: &mut Conn,
    id: i64,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    error: &str,
) -> QueryResult<()> {
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::attempts.eq(attempts),
            email_outbox::next_attempt_at.eq(next_attempt_at),
            email_outbox::last_error.eq(error),
            email_outbox::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn mark_failed(conn: &mut Conn, id: i64, attempts: i32, error: &str) -> QueryResult<()> {
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::status.eq(Status::Failed.as_str()),
            email_outbox::attempts.eq(attempts),
            email_outbox::last_error.eq(error),
            email_outbox::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Puts a queued or failed email back at the front of the queue with a fresh set of
/// attempts. `false` if there is no such email or it was already sent.
pub fn retry_now(conn: &mut Conn, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        email_outbox::table
            .filter(email_outbox::id.eq(id))
            .filter(email_outbox::status.ne(Status::Sent.as_str())),
    )
    .set((
        email_outbox::status.eq(Status::Queued.as_str()),
        email_outbox::attempts.eq(0),
        email_outbox::next_attempt_at.eq(now),
        email_outbox::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)
    .map(|updated| updated == 1)
}

pub fn find(conn: &mut Conn, id: i64) -> QueryResult<Option<OutboxEmail>> {
    email_outbox::table
        .find(id)
        .select(OutboxEmail::as_select())
        .first(conn)
        .optional()
}

/// Newest first, `limit` emails older than the cursor `before` (a row id).
pub fn page(
    conn: &mut Conn,
    status: Option<Status>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<OutboxEmail>> {
    let mut query = email_outbox::table
        .select(OutboxEmail::as_select())
        .order(email_outbox::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(email_outbox::status.eq(status.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(email_outbox::id.lt(before));
    }
    query.load(conn)
}

pub fn count_by_status(conn: &mut Conn, status: Status) -> QueryResult<i64> {
    email_outbox::table
        .filter(email_outbox::status.eq(status.as_str()))
        .count()
        .get_result(conn)
}
