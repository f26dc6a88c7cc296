//! How an email leaves: SMTP through lettre, or `.eml` files in a folder when no SMTP server
//! is configured.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{Message, SmtpTransport, Transport as _};
use url::Url;

use super::outbox::OutboxEmail;

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Worth trying again later: the server said 4xx, or could not be reached.
    #[error("{0}")]
    Transient(String),
    /// Will never succeed as it is: a 5xx answer or an address that cannot be used.
    #[error("{0}")]
    Permanent(String),
}

pub enum Transport {
    Smtp(SmtpTransport),
    Files(PathBuf),
}

impl Transport {
    /// SMTP when a URL is configured (its `tls=` option and credentials are honoured),
    /// otherwise files under `mail_dir`.
    pub fn from_settings(smtp_url: Option<&Url>, mail_dir: PathBuf) -> Result<Self, String> {
        match smtp_url {
            Some(url) => SmtpTransport::from_url(url.as_str())
                .map(|builder| {
                    Transport::Smtp(builder.timeout(Some(Duration::from_secs(30))).build())
                })
                .map_err(|err| format!("RAPPORT_SMTP_URL: {err}")),
            None => Ok(Transport::Files(mail_dir)),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp(_) => "SMTP".to_owned(),
            Transport::Files(dir) => format!(".eml files in {}", dir.display()),
        }
    }

    pub fn deliver(&self, email: &OutboxEmail, from: &Mailbox) -> Result<(), DeliveryError> {
        let message = build_message(email, from)?;
        match self {
            Transport::Smtp(smtp) => smtp.send(&message).map(|_| ()).map_err(|err| {
                if err.is_permanent() {
                    DeliveryError::Permanent(smtp_error_text(&err))
                } else {
                    DeliveryError::Transient(smtp_error_text(&err))
                }
            }),
            Transport::Files(dir) => write_eml(dir, email, &message.formatted())
                .map_err(|err| DeliveryError::Transient(format!("cannot write email file: {err}"))),
        }
    }
}

fn build_message(email: &OutboxEmail, from: &Mailbox) -> Result<Message, DeliveryError> {
    let to: Mailbox = email.recipient.parse().map_err(|_| {
        DeliveryError::Permanent(format!(
            "'{}' is not a valid recipient address",
            email.recipient
        ))
    })?;
    Message::builder()
        .message_id(Some(email.message_id.clone()))
        .from(from.clone())
        .to(to)
        .subject(email.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(email.body_text.clone())
        .map_err(|err| DeliveryError::Permanent(format!("cannot build the message: {err}")))
}

/// lettre's error text plus the server's own words, which say why it refused.
fn smtp_error_text(err: &lettre::transport::smtp::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The file is named after the Message-ID, so writing the same email twice leaves one file.
fn write_eml(dir: &PathBuf, email: &OutboxEmail, contents: &[u8]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let name: String = email
        .message_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let final_path = dir.join(format!("{name}.eml"));
    let partial_path = dir.join(format!(".{name}.partial"));
    fs::write(&partial_path, contents)?;
    fs::rename(partial_path, final_path)
}
