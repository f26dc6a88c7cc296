//! Server-side sessions. The browser holds a random id; the database holds its hash, so
//! logging out, deactivation, a password change or an admin can end a session at once.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::User;
use super::tokens::{hash_token, random_token};
use crate::db::Conn;
use crate::db::schema::{sessions, users};

/// How stale `last_seen_at` may get before a request refreshes it; keeps reads read-only.
const TOUCH_AFTER_SECONDS: i64 = 60;

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::sqlite::Sqlite))]
pub struct Session {
    pub id: i64,
    pub user_id: i64,
    pub csrf_token: String,
    pub second_factor_pending: bool,
    pub totp_enrolment_secret: Option<String>,
    #[diesel(deserialize_as = crate::db::timestamps::Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::timestamps::Stamp)]
    pub last_seen_at: NaiveDateTime,
    pub client_address: String,
    pub user_agent: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("second_factor_pending", &self.second_factor_pending)
            .finish_non_exhaustive()
    }
}

/// How long sessions live.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub idle: chrono::Duration,
    pub lifetime: chrono::Duration,
}

impl Timeouts {
    fn expired(&self, session: &Session, now: NaiveDateTime) -> bool {
        now - session.last_seen_at > self.idle || now - session.created_at > self.lifetime
    }
}

/// Where a session was started from, shown on the profile's session list.
#[derive(Debug, Clone)]
pub struct Client {
    pub address: String,
    pub user_agent: String,
}

/// Starts a session and returns the id the browser keeps. A session that still awaits the
/// second factor grants nothing but the second-factor page.
pub fn start(
    conn: &mut Conn,
    now: NaiveDateTime,
    user_id: i64,
    second_factor_pending: bool,
    client: &Client,
) -> QueryResult<String> {
    let token = random_token();
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(hash_token(&token)),
            sessions::user_id.eq(user_id),
            sessions::csrf_token.eq(random_token()),
            sessions::second_factor_pending.eq(second_factor_pending),
            sessions::created_at.eq(now),
            sessions::last_seen_at.eq(now),
            sessions::client_address.eq(&client.address),
            sessions::user_agent.eq(truncate(&client.user_agent, 300)),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The live session for a browser's session id, with its (active) user. An expired session
/// is deleted on sight.
pub fn find_active(
    conn: &mut Conn,
    token: &str,
    now: NaiveDateTime,
    timeouts: Timeouts,
) -> QueryResult<Option<(Session, User)>> {
    let found = sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(hash_token(token)))
        .filter(users::active.eq(true))
        .select((Session::as_select(), User::as_select()))
        .first::<(Session, User)>(conn)
        .optional()?;
    let Some((session, user)) = found else {
        return Ok(None);
    };
    if timeouts.expired(&session, now) {
        end(conn, session.id)?;
        return Ok(None);
    }
    if (now - session.last_seen_at).num_seconds() > TOUCH_AFTER_SECONDS {
        diesel::update(sessions::table.find(session.id))
            .set(sessions::last_seen_at.eq(now))
            .execute(conn)?;
    }
    Ok(Some((session, user)))
}

pub fn end(conn: &mut Conn, session_id: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(session_id)).execute(conn)
}

/// Ends one of a user's sessions; `false` if it is not theirs or already gone.
pub fn end_own(conn: &mut Conn, user_id: i64, session_id: i64) -> QueryResult<bool> {
    diesel::delete(
        sessions::table
            .filter(sessions::id.eq(session_id))
            .filter(sessions::user_id.eq(user_id)),
    )
    .execute(conn)
    .map(|deleted| deleted > 0)
}

/// Ends every session of a user, except `keep` if given. Returns how many ended.
pub fn end_all_for_user(conn: &mut Conn, user_id: i64, keep: Option<i64>) -> QueryResult<usize> {
    let mine = sessions::table.filter(sessions::user_id.eq(user_id));
    match keep {
        Some(keep) => diesel::delete(mine.filter(sessions::id.ne(keep))).execute(conn),
        None => diesel::delete(mine).execute(conn),
    }
}

pub fn list_for_user(conn: &mut Conn, user_id: i64) -> QueryResult<Vec<Session>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::second_factor_pending.eq(false))
        .order(sessions::last_seen_at.desc())
        .select(Session::as_select())
        .load(conn)
}

pub fn set_enrolment_secret(
    conn: &mut Conn,
    session_id: i64,
    secret: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(sessions::table.find(session_id))
        .set(sessions::totp_enrolment_secret.eq(secret))
        .execute(conn)
}

fn truncate(value: &str, max_chars: usize) -> String {
    value.chars().take(max_chars).collect()
}
