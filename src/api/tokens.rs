//! Personal API tokens: a secret a user creates for scripts and integrations, acting with
//! that user's role. Shown once, stored as a hash like every other token; it stops working
//! when revoked, when it expires, or when its user is deactivated.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::audit::{self, Action, Actor};
use crate::auth::model::Role;
use crate::auth::tokens::{hash_token, random_token};
use crate::db::Conn;
use crate::db::schema::{api_tokens, users};
use crate::error::FieldErrors;

/// Every token starts with this, so a leaked one is recognisable in logs and code.
pub const TOKEN_PREFIX: &str = "rpt_";
/// How much of the secret is kept in clear to recognise a token: the prefix and 8 more.
const SHOWN_CHARS: usize = TOKEN_PREFIX.len() + 8;
const MAX_NAME_CHARS: usize = 80;
pub const MAX_EXPIRY_DAYS: i64 = 3650;
/// `last_used_at` is written at most this often per token, not on every request.
const LAST_USED_RESOLUTION_SECONDS: i64 = 60;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens, check_for_backend(diesel::sqlite::Sqlite))]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub token_prefix: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

/// Whether a token works right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Expired,
    Revoked,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Expired => "expired",
            Status::Revoked => "revoked",
        }
    }
}

impl ApiToken {
    pub fn status(&self, now: NaiveDateTime) -> Status {
        if self.revoked_at.is_some() {
            Status::Revoked
        } else if self.expires_at.is_some_and(|at| at <= now) {
            Status::Expired
        } else {
            Status::Active
        }
    }
}

/// The form for a new token.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub name: String,
    /// Empty for a token that never expires.
    #[serde(default)]
    pub expires_in_days: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInput {
    pub name: String,
    pub expires_in_days: Option<i64>,
}

impl TokenForm {
    pub fn parse(&self) -> Result<TokenInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = self.name.trim();
        if name.is_empty() {
            errors.add(
                "name",
                "Name the token after what uses it, e.g. \"Zapier\".",
            );
        } else if name.chars().count() > MAX_NAME_CHARS {
            errors.add(
                "name",
                format!("Keep the name to {MAX_NAME_CHARS} characters or fewer."),
            );
        } else if name.chars().any(char::is_control) {
            errors.add("name", "The name cannot contain control characters.");
        }
        let days = self.expires_in_days.trim();
        let expires_in_days = if days.is_empty() {
            None
        } else {
            match days.parse::<i64>() {
                Ok(days) if (1..=MAX_EXPIRY_DAYS).contains(&days) => Some(days),
                _ => {
                    errors.add(
                        "expires_in_days",
                        format!(
                            "Give a whole number of days from 1 to {MAX_EXPIRY_DAYS}, or leave it empty for a token that does not expire."
                        ),
                    );
                    None
                }
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TokenInput {
            name: name.to_owned(),
            expires_in_days,
        })
    }
}

/// Creates a token for `user_id`; returns it with the secret, which is never shown again.
pub fn create(
    conn: &mut Conn,
    user_id: i64,
    input: &TokenInput,
    actor: &Actor,
    now: NaiveDateTime,
) -> QueryResult<(ApiToken, String)> {
    let secret = format!("{TOKEN_PREFIX}{}", random_token());
    let shown: String = secret.chars().take(SHOWN_CHARS).collect();
    let expires_at = input.expires_in_days.map(|days| now + Duration::days(days));
    crate::db::write(conn, |conn| {
        let token: ApiToken = diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::user_id.eq(user_id),
                api_tokens::name.eq(&input.name),
                api_tokens::token_hash.eq(hash_token(&secret)),
                api_tokens::token_prefix.eq(&shown),
                api_tokens::created_at.eq(now),
                api_tokens::expires_at.eq(expires_at),
                api_tokens::created_by.eq(actor.user_id),
            ))
            .returning(ApiToken::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            now,
            actor,
            Action::RecordCreated,
            Some(&format!("API token {}", token.id)),
            Some(&format!(
                "API token \"{}\" ({}…) for user {}, {}",
                token.name,
                token.token_prefix,
                user_id,
                match input.expires_in_days {
                    Some(days) => format!("expires in {days} days"),
                    None => "no expiry".to_owned(),
                }
            )),
        )?;
        Ok((token, secret))
    })
}

/// Revokes a token at once. With `owner`, only that user's token is found: another's is
/// `None`, as if it did not exist. Revoking a revoked token changes nothing.
pub fn revoke(
    conn: &mut Conn,
    id: i64,
    owner: Option<i64>,
    actor: &Actor,
    now: NaiveDateTime,
) -> QueryResult<Option<ApiToken>> {
    crate::db::write(conn, |conn| {
        let Some(token) = find(conn, id, owner)? else {
            return Ok(None);
        };
        if token.revoked_at.is_none() {
            diesel::update(api_tokens::table.find(id))
                .set(api_tokens::revoked_at.eq(now))
                .execute(conn)?;
            audit::record(
                conn,
                now,
                actor,
                Action::RecordUpdated,
                Some(&format!("API token {id}")),
                Some(&format!(
                    "API token \"{}\" ({}…) of user {} revoked",
                    token.name, token.token_prefix, token.user_id
                )),
            )?;
        }
        Ok(Some(token))
    })
}

/// A token by id; with `owner`, only if it is that user's.
pub fn find(conn: &mut Conn, id: i64, owner: Option<i64>) -> QueryResult<Option<ApiToken>> {
    let mut query = api_tokens::table
        .filter(api_tokens::id.eq(id))
        .select(ApiToken::as_select())
        .into_boxed();
    if let Some(owner) = owner {
        query = query.filter(api_tokens::user_id.eq(owner));
    }
    query.first(conn).optional()
}

/// A user's tokens: not yet revoked first, newest first.
pub fn list_own(conn: &mut Conn, user_id: i64) -> QueryResult<Vec<ApiToken>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .order((api_tokens::revoked_at.is_not_null(), api_tokens::id.desc()))
        .select(ApiToken::as_select())
        .load(conn)
}

/// A token with its owner, for the admin's list.
#[derive(Debug, Clone)]
pub struct OwnedToken {
    pub token: ApiToken,
    pub owner_email: String,
    pub owner_name: String,
    pub owner_active: bool,
}

/// Everyone's tokens: not yet revoked first, newest first.
pub fn list_all(conn: &mut Conn) -> QueryResult<Vec<OwnedToken>> {
    let rows: Vec<(ApiToken, String, String, bool)> = api_tokens::table
        .inner_join(users::table)
        .order((api_tokens::revoked_at.is_not_null(), api_tokens::id.desc()))
        .select((
            ApiToken::as_select(),
            users::email,
            users::display_name,
            users::active,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(token, owner_email, owner_name, owner_active)| OwnedToken {
                token,
                owner_email,
                owner_name,
                owner_active,
            },
        )
        .collect())
}

/// Who a working token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUser {
    pub token_id: i64,
    pub user_id: i64,
    pub email: String,
    pub role: Role,
}

/// The user a presented secret acts for: the token must be unrevoked and unexpired, its
/// user active. Notes the use (at most once a minute per token).
pub fn authenticate(
    conn: &mut Conn,
    secret: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<TokenUser>> {
    if !secret.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let found: Option<(i64, Option<NaiveDateTime>, i64, String, Role)> = api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(hash_token(secret)))
        .filter(api_tokens::revoked_at.is_null())
        .filter(
            api_tokens::expires_at
                .is_null()
                .or(api_tokens::expires_at.gt(now)),
        )
        .filter(users::active.eq(true))
        .select((
            api_tokens::id,
            api_tokens::last_used_at,
            users::id,
            users::email,
            users::role,
        ))
        .first(conn)
        .optional()?;
    let Some((token_id, last_used_at, user_id, email, role)) = found else {
        return Ok(None);
    };
    if use_is_worth_noting(last_used_at, now) {
        let stale = now - Duration::seconds(LAST_USED_RESOLUTION_SECONDS);
        // The filter keeps concurrent requests of one token from each writing.
        diesel::update(
            api_tokens::table
                .filter(api_tokens::id.eq(token_id))
                .filter(
                    api_tokens::last_used_at
                        .is_null()
                        .or(api_tokens::last_used_at.le(stale)),
                ),
        )
        .set(api_tokens::last_used_at.eq(now))
        .execute(conn)?;
    }
    Ok(Some(TokenUser {
        token_id,
        user_id,
        email,
        role,
    }))
}

fn use_is_worth_noting(last_used_at: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    last_used_at.is_none_or(|at| now - at >= Duration::seconds(LAST_USED_RESOLUTION_SECONDS))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 4)
            .and_then(|day| day.and_hms_opt(9, 0, 0))
            .unwrap_or_default()
    }

    fn form(name: &str, days: &str) -> TokenForm {
        TokenForm {
            name: name.into(),
            expires_in_days: days.into(),
        }
    }

    #[test]
    fn expiry_is_optional_and_bounded() {
        assert_eq!(
            form(" Zapier ", "").parse(),
            Ok(TokenInput {
                name: "Zapier".into(),
                expires_in_days: None
            })
        );
        assert_eq!(
            form("CI", "3650")
                .parse()
                .map(|input| input.expires_in_days),
            Ok(Some(3650))
        );
        for bad in ["0", "3651", "-1", "1.5", "soon"] {
            let errors = form("CI", bad).parse().expect_err(bad);
            assert!(errors.get("expires_in_days").is_some(), "{bad}");
        }
        assert!(
            form("", "")
                .parse()
                .expect_err("no name")
                .get("name")
                .is_some()
        );
    }

    #[test]
    fn status_follows_revocation_then_expiry() {
        let token = ApiToken {
            id: 1,
            user_id: 1,
            name: "CI".into(),
            token_prefix: "rpt_abcdefgh".into(),
            created_at: now(),
            last_used_at: None,
            expires_at: Some(now() + Duration::days(1)),
            revoked_at: None,
        };
        assert_eq!(token.status(now()), Status::Active);
        assert_eq!(token.status(now() + Duration::days(1)), Status::Expired);
        let revoked = ApiToken {
            revoked_at: Some(now()),
            ..token
        };
        assert_eq!(revoked.status(now()), Status::Revoked);
    }

    #[test]
    fn use_is_noted_at_most_once_a_minute() {
        assert!(use_is_worth_noting(None, now()));
        assert!(!use_is_worth_noting(
            Some(now() - Duration::seconds(59)),
            now()
        ));
        assert!(use_is_worth_noting(
            Some(now() - Duration::seconds(60)),
            now()
        ));
    }
}
