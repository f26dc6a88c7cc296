//! Queries on users, their one-time tokens and recovery codes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Role, User};
use super::tokens::{hash_token, normalize_recovery_code, random_token, recovery_code};
use crate::db::Conn;
use crate::db::schema::{recovery_codes, user_tokens, users};

/// The secrets of an account, kept apart from `User` so they are loaded only to be checked.
#[derive(Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::sqlite::Sqlite))]
pub struct Credentials {
    pub password_hash: Option<String>,
    pub totp_secret: Option<String>,
    pub totp_last_step: Option<i64>,
}

pub fn find(conn: &mut Conn, id: i64) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_email(conn: &mut Conn, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn credentials(conn: &mut Conn, user_id: i64) -> QueryResult<Credentials> {
    users::table
        .find(user_id)
        .select(Credentials::as_select())
        .first(conn)
}

pub fn list(conn: &mut Conn) -> QueryResult<Vec<User>> {
    users::table
        .order((users::active.desc(), users::display_name.asc()))
        .select(User::as_select())
        .load(conn)
}

pub fn count(conn: &mut Conn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn count_active_admins(conn: &mut Conn) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq(Role::Admin))
        .filter(users::active.eq(true))
        .count()
        .get_result(conn)
}

pub struct NewUserRow<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: Option<&'a str>,
}

/// Inserts a user; a taken email is a unique violation for the caller to report.
pub fn insert(conn: &mut Conn, now: NaiveDateTime, row: &NewUserRow<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values((
            users::email.eq(row.email),
            users::display_name.eq(row.display_name),
            users::role.eq(row.role),
            users::password_hash.eq(row.password_hash),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .returning(User::as_returning())
        .get_result(conn)
}

/// Sets a new password. Every reset or invitation link still open for the account stops
/// working: a link mailed before the change must not set another password afterwards.
pub fn set_password_hash(
    conn: &mut Conn,
    user_id: i64,
    hash: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        user_tokens::table
            .filter(user_tokens::user_id.eq(user_id))
            .filter(user_tokens::used_at.is_null()),
    )
    .set(user_tokens::used_at.eq(now))
    .execute(conn)?;
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(hash),
            users::updated_at.eq(now),
            users::version.eq(users::version + 1),
        ))
        .execute(conn)
}

/// Changes a role only if the record is still at `version`; 0 rows means someone else
/// changed it first.
pub fn set_role(
    conn: &mut Conn,
    user_id: i64,
    role: Role,
    version: i32,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        users::table
            .filter(users::id.eq(user_id))
            .filter(users::version.eq(version)),
    )
    .set((
        users::role.eq(role),
        users::updated_at.eq(now),
        users::version.eq(users::version + 1),
    ))
    .execute(conn)
}

pub fn set_active(
    conn: &mut Conn,
    user_id: i64,
    active: bool,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(user_id))
        .set((
            users::active.eq(active),
            users::updated_at.eq(now),
            users::version.eq(users::version + 1),
        ))
        .execute(conn)
}

pub fn update_profile(
    conn: &mut Conn,
    user_id: i64,
    display_name: &str,
    time_zone: &str,
    version: i32,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        users::table
            .filter(users::id.eq(user_id))
            .filter(users::version.eq(version)),
    )
    .set((
        users::display_name.eq(display_name),
        users::time_zone.eq(time_zone),
        users::updated_at.eq(now),
        users::version.eq(users::version + 1),
    ))
    .execute(conn)
}

/// Turns the second factor on (with its secret and the step of the code that confirmed it)
/// or off (`None`, which also drops the recovery codes).
pub fn set_totp(
    conn: &mut Conn,
    user_id: i64,
    secret: Option<(&str, i64)>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::totp_secret.eq(secret.map(|(secret, _)| secret)),
            users::totp_last_step.eq(secret.map(|(_, step)| step)),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    if secret.is_none() {
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
            .execute(conn)?;
    }
    Ok(())
}

/// Records the time step of an accepted code, so that the same code cannot be replayed.
/// Returns `false` if a code of this step or later was already used.
pub fn claim_totp_step(conn: &mut Conn, user_id: i64, step: i64) -> QueryResult<bool> {
    diesel::update(
        users::table.filter(users::id.eq(user_id)).filter(
            users::totp_last_step
                .is_null()
                .or(users::totp_last_step.lt(step)),
        ),
    )
    .set(users::totp_last_step.eq(step))
    .execute(conn)
    .map(|updated| updated == 1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    PasswordReset,
    Invitation,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::PasswordReset => "password_reset",
            TokenPurpose::Invitation => "invitation",
        }
    }
}

/// Issues a single-use link token; earlier unused tokens of the same purpose stop working.
pub fn issue_token(
    conn: &mut Conn,
    user_id: i64,
    purpose: TokenPurpose,
    now: NaiveDateTime,
    valid_for: chrono::Duration,
) -> QueryResult<String> {
    diesel::delete(
        user_tokens::table
            .filter(user_tokens::user_id.eq(user_id))
            .filter(user_tokens::purpose.eq(purpose.as_str()))
            .filter(user_tokens::used_at.is_null()),
    )
    .execute(conn)?;
    let token = random_token();
    diesel::insert_into(user_tokens::table)
        .values((
            user_tokens::user_id.eq(user_id),
            user_tokens::purpose.eq(purpose.as_str()),
            user_tokens::token_hash.eq(hash_token(&token)),
            user_tokens::created_at.eq(now),
            user_tokens::expires_at.eq(now + valid_for),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The user a link token belongs to, if the token is unused and unexpired.
pub fn find_token_user(
    conn: &mut Conn,
    token: &str,
    purpose: TokenPurpose,
    now: NaiveDateTime,
) -> QueryResult<Option<(i64, User)>> {
    user_tokens::table
        .inner_join(users::table)
        .filter(user_tokens::token_hash.eq(hash_token(token)))
        .filter(user_tokens::purpose.eq(purpose.as_str()))
        .filter(user_tokens::used_at.is_null())
        .filter(user_tokens::expires_at.gt(now))
        .filter(users::active.eq(true))
        .select((user_tokens::id, User::as_select()))
        .first(conn)
        .optional()
}

/// Marks a token used; `false` if another request used it first.
pub fn use_token(conn: &mut Conn, token_id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        user_tokens::table
            .filter(user_tokens::id.eq(token_id))
            .filter(user_tokens::used_at.is_null()),
    )
    .set(user_tokens::used_at.eq(now))
    .execute(conn)
    .map(|updated| updated == 1)
}

pub const RECOVERY_CODE_COUNT: usize = 10;

/// Replaces a user's recovery codes with ten new ones and returns them (shown once).
pub fn replace_recovery_codes(conn: &mut Conn, user_id: i64) -> QueryResult<Vec<String>> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    let codes: Vec<String> = (0..RECOVERY_CODE_COUNT).map(|_| recovery_code()).collect();
    let rows: Vec<_> = codes
        .iter()
        .map(|code| {
            (
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(hash_token(&normalize_recovery_code(code))),
            )
        })
        .collect();
    diesel::insert_into(recovery_codes::table)
        .values(&rows)
        .execute(conn)?;
    Ok(codes)
}

/// Uses up a recovery code; `false` if it is wrong or was used before.
pub fn use_recovery_code(
    conn: &mut Conn,
    user_id: i64,
    code: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq(hash_token(&normalize_recovery_code(code))))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)
    .map(|updated| updated == 1)
}

pub fn count_unused_recovery_codes(conn: &mut Conn, user_id: i64) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}

/// Display names of users by id, for the owner and author columns of lists (one cached
/// query whatever the number of ids).
pub fn user_names(
    conn: &mut Conn,
    ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    Ok(users::table
        .filter(crate::db::id_list::one_of(users::id, ids))
        .select((users::id, users::display_name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}
