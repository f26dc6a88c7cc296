//! Site write keys: what a website sends its events with. A key is shown once, when it is
//! created, and stored hashed like every other token; it names the origins browsers may
//! send events from.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use url::Url;

use crate::audit::{self, Action, Actor};
use crate::auth::tokens::{hash_token, random_token};
use crate::db::Conn;
use crate::db::schema::site_keys;
use crate::error::FieldErrors;

/// Every key starts with this, so a leaked one is recognisable in logs and code.
pub const KEY_PREFIX: &str = "rsk_";
const MAX_ORIGINS: usize = 20;
const MAX_NAME: usize = 80;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = site_keys, check_for_backend(diesel::sqlite::Sqlite))]
pub struct SiteKey {
    pub id: i64,
    pub name: String,
    pub key_hint: String,
    pub allowed_origins: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

impl SiteKey {
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.allowed_origins.lines().filter(|line| !line.is_empty())
    }

    pub fn allows(&self, origin: &str) -> bool {
        self.origins().any(|allowed| allowed == origin)
    }

    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// The admin's form for a new key.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    pub name: String,
    /// One origin per line (commas and spaces separate too).
    #[serde(default)]
    pub origins: String,
}

/// A valid new key: its name and normalised origins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInput {
    pub name: String,
    pub origins: Vec<String>,
}

impl KeyForm {
    pub fn parse(&self) -> Result<KeyInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = self.name.trim();
        if name.is_empty() {
            errors.add("name", "Name the website, e.g. \"Marketing site\".");
        } else if name.chars().count() > MAX_NAME {
            errors.add(
                "name",
                format!("Keep the name to {MAX_NAME} characters or fewer."),
            );
        }
        let mut origins: Vec<String> = Vec::new();
        for raw in self
            .origins
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|raw| !raw.is_empty())
        {
            match parse_origin(raw) {
                Ok(origin) if !origins.contains(&origin) => origins.push(origin),
                Ok(_) => {}
                Err(message) => {
                    errors.add("origins", message);
                    break;
                }
            }
        }
        if origins.len() > MAX_ORIGINS {
            errors.add(
                "origins",
                format!("List at most {MAX_ORIGINS} origins per key."),
            );
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(KeyInput {
            name: name.to_owned(),
            origins,
        })
    }
}

/// An origin as browsers send it: `https://host[:port]`, nothing after it. Plain http is
/// accepted only for localhost, for trying the script out.
pub fn parse_origin(raw: &str) -> Result<String, String> {
    let refuse = || {
        format!(
            "\"{raw}\" is not an origin: write https://host or https://host:port, without a path."
        )
    };
    let url = Url::parse(raw).map_err(|_| refuse())?;
    let host = url.host_str().ok_or_else(refuse)?;
    let local = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && local);
    if !scheme_ok {
        return Err(format!(
            "\"{raw}\" must start with https:// (http:// only for localhost)."
        ));
    }
    let bare = url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !bare {
        return Err(refuse());
    }
    Ok(url.origin().ascii_serialization())
}

/// Creates a key; returns it with the secret, which is never shown again.
pub fn create(
    conn: &mut Conn,
    input: &KeyInput,
    actor: &Actor,
    now: NaiveDateTime,
) -> QueryResult<(SiteKey, String)> {
    let secret = format!("{KEY_PREFIX}{}", random_token());
    let hint: String = secret.chars().take(KEY_PREFIX.len() + 6).collect();
    crate::db::write(conn, |conn| {
        let key: SiteKey = diesel::insert_into(site_keys::table)
            .values((
                site_keys::name.eq(&input.name),
                site_keys::key_hash.eq(hash_token(&secret)),
                site_keys::key_hint.eq(&hint),
                site_keys::allowed_origins.eq(input.origins.join("\n")),
                site_keys::created_by.eq(actor.user_id),
                site_keys::created_at.eq(now),
            ))
            .returning(SiteKey::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            now,
            actor,
            Action::RecordCreated,
            Some(&format!("site key {}", key.id)),
            Some(&format!(
                "site key \"{}\" for {}",
                key.name,
                if input.origins.is_empty() {
                    "no browser origin".to_owned()
                } else {
                    input.origins.join(", ")
                }
            )),
        )?;
        Ok((key, secret))
    })
}

/// Revokes a key at once: events sent with it are refused from now on. `None` when there
/// is no such key.
pub fn revoke(
    conn: &mut Conn,
    id: i64,
    actor: &Actor,
    now: NaiveDateTime,
) -> QueryResult<Option<SiteKey>> {
    crate::db::write(conn, |conn| {
        let Some(key) = find(conn, id)? else {
            return Ok(None);
        };
        if key.is_active() {
            diesel::update(site_keys::table.find(id))
                .set(site_keys::revoked_at.eq(now))
                .execute(conn)?;
            audit::record(
                conn,
                now,
                actor,
                Action::RecordUpdated,
                Some(&format!("site key {id}")),
                Some(&format!("site key \"{}\" revoked", key.name)),
            )?;
        }
        Ok(Some(key))
    })
}

pub fn find(conn: &mut Conn, id: i64) -> QueryResult<Option<SiteKey>> {
    site_keys::table
        .find(id)
        .select(SiteKey::as_select())
        .first(conn)
        .optional()
}

/// Active keys first, newest first.
pub fn list(conn: &mut Conn) -> QueryResult<Vec<SiteKey>> {
    site_keys::table
        .select(SiteKey::as_select())
        .order((site_keys::revoked_at.is_not_null(), site_keys::id.desc()))
        .load(conn)
}

/// The active key whose secret this is.
pub fn authenticate(conn: &mut Conn, secret: &str) -> QueryResult<Option<SiteKey>> {
    if !secret.starts_with(KEY_PREFIX) {
        return Ok(None);
    }
    site_keys::table
        .filter(site_keys::key_hash.eq(hash_token(secret)))
        .filter(site_keys::revoked_at.is_null())
        .select(SiteKey::as_select())
        .first(conn)
        .optional()
}

/// Whether any active key lets browsers on `origin` send events (a CORS preflight names
/// no key yet).
pub fn any_allows(conn: &mut Conn, origin: &str) -> QueryResult<bool> {
    let lists: Vec<String> = site_keys::table
        .filter(site_keys::revoked_at.is_null())
        .select(site_keys::allowed_origins)
        .load(conn)?;
    Ok(lists
        .iter()
        .any(|list| list.lines().any(|allowed| allowed == origin)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised() {
        assert_eq!(
            parse_origin("https://Example.COM/").as_deref(),
            Ok("https://example.com")
        );
        assert_eq!(
            parse_origin("https://shop.example.com:8443").as_deref(),
            Ok("https://shop.example.com:8443")
        );
        assert_eq!(
            parse_origin("https://example.com:443").as_deref(),
            Ok("https://example.com")
        );
        assert_eq!(
            parse_origin("http://localhost:3000").as_deref(),
            Ok("http://localhost:3000")
        );
    }

    #[test]
    fn anything_but_a_bare_https_origin_is_refused() {
        for raw in [
            "http://example.com",
            "example.com",
            "https://example.com/pricing",
            "https://example.com?x=1",
            "https://user@example.com",
            "ftp://example.com",
            "*",
        ] {
            assert!(parse_origin(raw).is_err(), "{raw} should be refused");
        }
    }

    #[test]
    fn a_key_form_needs_a_name_and_takes_origins_on_any_separator() {
        let form = KeyForm {
            name: " Marketing site ".into(),
            origins: "https://example.com\nhttps://www.example.com, https://example.com".into(),
        };
        let input = form.parse().expect("valid");
        assert_eq!(input.name, "Marketing site");
        assert_eq!(
            input.origins,
            vec!["https://example.com", "https://www.example.com"]
        );
        let errors = KeyForm::default().parse().expect_err("no name");
        assert!(errors.get("name").is_some());
    }
}
