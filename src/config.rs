//! Settings from `RAPPORT_*` environment variables. Every variable is optional; the defaults
//! give a working app in the current folder. A bad value is reported by name.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::Mailbox;
use url::Url;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Path of the SQLite file.
    pub database_path: String,
    pub bind: SocketAddr,
    /// Public address used in links inside emails; derived from the bound address if unset.
    pub base_url: Option<Url>,
    pub smtp_url: Option<Url>,
    pub mail_dir: PathBuf,
    pub mail_from: Mailbox,
    pub secret_key: Option<String>,
    pub log_filter: String,
    /// Take the client address from `X-Forwarded-For`/`Forwarded` (only behind a proxy).
    pub trust_proxy: bool,
    pub session_idle_timeout: chrono::Duration,
    pub session_lifetime: chrono::Duration,
    pub email_poll_interval: Duration,
    pub db_pool_size: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
    }

    /// Reads settings through `lookup`, so the parsing can be tested without touching the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| lookup(name).map(|value| (name, value));

        let database_path = match get("RAPPORT_DATABASE_URL") {
            Some((name, url)) => parse_database_url(&url).map_err(|problem| ConfigError {
                variable: name,
                problem,
            })?,
            None => "rapport.db".to_owned(),
        };
        let bind = match get("RAPPORT_BIND") {
            Some((name, value)) => value.parse().map_err(|_| ConfigError {
                variable: name,
                problem: format!("'{value}' is not an address like 127.0.0.1:8080"),
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let base_url = get("RAPPORT_BASE_URL")
            .map(|(name, value)| parse_http_url(name, &value))
            .transpose()?;
        let smtp_url = get("RAPPORT_SMTP_URL")
            .map(|(name, value)| parse_smtp_url(name, &value))
            .transpose()?;
        let mail_dir = lookup("RAPPORT_MAIL_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("mail-outbox"));
        let mail_from = match get("RAPPORT_MAIL_FROM") {
            Some((name, value)) => value.parse().map_err(|_| ConfigError {
                variable: name,
                problem: format!("'{value}' is not an address like \"Rapport <crm@example.com>\""),
            })?,
            None => default_mail_from(),
        };
        let secret_key = match get("RAPPORT_SECRET_KEY") {
            Some((name, value)) if value.len() < 32 => {
                return Err(ConfigError {
                    variable: name,
                    problem: "must be at least 32 characters long".to_owned(),
                });
            }
            other => other.map(|(_, value)| value),
        };
        let log_filter = lookup("RAPPORT_LOG").unwrap_or_else(|| "info".to_owned());
        let trust_proxy = match get("RAPPORT_TRUST_PROXY") {
            Some((name, value)) => parse_bool(name, &value)?,
            None => false,
        };
        let session_idle_minutes =
            parse_number(get("RAPPORT_SESSION_IDLE_MINUTES"), 60, 1..=10_080)?;
        let session_lifetime_hours = parse_number(get("RAPPORT_SESSION_MAX_HOURS"), 12, 1..=720)?;

        Ok(Self {
            database_path,
            bind,
            base_url,
            smtp_url,
            mail_dir,
            mail_from,
            secret_key,
            log_filter,
            trust_proxy,
            session_idle_timeout: chrono::Duration::minutes(session_idle_minutes),
            session_lifetime: chrono::Duration::hours(session_lifetime_hours),
            email_poll_interval: Duration::from_secs(5),
            db_pool_size: 8,
        })
    }

    /// The address links in emails point to.
    pub fn public_url(&self, bound: SocketAddr) -> Url {
        self.base_url.clone().unwrap_or_else(|| {
            let fallback = Url::parse("http://127.0.0.1:8080/").expect("a valid literal URL");
            Url::parse(&format!("http://{bound}/")).unwrap_or(fallback)
        })
    }
}

pub fn default_mail_from() -> Mailbox {
    Mailbox::new(
        Some("Rapport".to_owned()),
        lettre::Address::new("rapport", "localhost").expect("a valid literal address"),
    )
}

fn parse_database_url(url: &str) -> Result<String, String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err("PostgreSQL is not supported yet; use sqlite://FILE".to_owned());
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| format!("'{url}' should look like sqlite://rapport.db"))?;
    if path.is_empty() {
        return Err("the SQLite file name is missing, as in sqlite://rapport.db".to_owned());
    }
    Ok(path.to_owned())
}

fn parse_http_url(variable: &'static str, value: &str) -> Result<Url, ConfigError> {
    match Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(ConfigError {
            variable,
            problem: format!("'{value}' is not an http(s) address like https://crm.example.com"),
        }),
    }
}

fn parse_smtp_url(variable: &'static str, value: &str) -> Result<Url, ConfigError> {
    let problem = || {
        ConfigError {
        variable,
        problem: "expected smtp://user:pass@host:587?tls=required (or tls=opportunistic), smtps://host:465, or smtp://host:25 for plain SMTP".to_owned(),
    }
    };
    let url = Url::parse(value).map_err(|_| problem())?;
    if !matches!(url.scheme(), "smtp" | "smtps") || url.host().is_none() {
        return Err(problem());
    }
    lettre::SmtpTransport::from_url(value).map_err(|_| problem())?;
    Ok(url)
}

fn parse_bool(variable: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError {
            variable,
            problem: format!("'{value}' is not true or false"),
        }),
    }
}

fn parse_number(
    entry: Option<(&'static str, String)>,
    default: i64,
    allowed: std::ops::RangeInclusive<i64>,
) -> Result<i64, ConfigError> {
    let Some((variable, value)) = entry else {
        return Ok(default);
    };
    match value.parse::<i64>() {
        Ok(number) if allowed.contains(&number) => Ok(number),
        _ => Err(ConfigError {
            variable,
            problem: format!(
                "'{value}' is not a whole number from {} to {}",
                allowed.start(),
                allowed.end()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn defaults_give_a_working_app_in_the_current_folder() {
        let settings = settings(&[]).expect("defaults are valid");
        assert_eq!(settings.database_path, "rapport.db");
        assert_eq!(settings.bind.to_string(), "127.0.0.1:8080");
        assert!(settings.smtp_url.is_none());
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let error = settings(&[("RAPPORT_BIND", "nowhere")]).expect_err("must be refused");
        assert_eq!(error.variable, "RAPPORT_BIND");
        let error = settings(&[("RAPPORT_SMTP_URL", "http://x")]).expect_err("must be refused");
        assert_eq!(error.variable, "RAPPORT_SMTP_URL");
        let error = settings(&[("RAPPORT_DATABASE_URL", "mysql://x")]).expect_err("refused");
        assert_eq!(error.variable, "RAPPORT_DATABASE_URL");
        let error = settings(&[("RAPPORT_SECRET_KEY", "short")]).expect_err("refused");
        assert_eq!(error.variable, "RAPPORT_SECRET_KEY");
        let error = settings(&[("RAPPORT_SESSION_IDLE_MINUTES", "0")]).expect_err("refused");
        assert_eq!(error.variable, "RAPPORT_SESSION_IDLE_MINUTES");
    }

    #[test]
    fn smtp_urls_with_tls_options_are_accepted() {
        let settings = settings(&[(
            "RAPPORT_SMTP_URL",
            "smtp://u:p@mail.example.com:587?tls=required",
        )])
        .expect("valid");
        assert_eq!(settings.smtp_url.map(|url| url.port()), Some(Some(587)));
    }
}
