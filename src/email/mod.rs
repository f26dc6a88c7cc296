//! Outgoing email: the outbox every feature writes to, the worker that delivers it, the
//! transports, the messages Rapport itself sends and the admin's outbox page.

pub mod outbox;
pub mod routes;
pub mod transport;
pub mod worker;

use askama::Template;
use chrono::NaiveDateTime;
use url::Url;

use crate::db::Conn;
use crate::error::AppError;
pub use outbox::NewEmail;

/// What services need to queue mail: where links point and the Message-ID domain.
#[derive(Debug, Clone)]
pub struct Mailer {
    pub base_url: Url,
    pub message_id_domain: String,
}

impl Mailer {
    pub fn new(base_url: Url, from: &lettre::message::Mailbox) -> Self {
        Self {
            base_url,
            message_id_domain: from.email.domain().to_owned(),
        }
    }

    /// An absolute link to a path of this Rapport.
    pub fn link(&self, path: &str) -> String {
        self.base_url
            .join(path.trim_start_matches('/'))
            .map(String::from)
            .unwrap_or_else(|_| format!("{}{}", self.base_url, path.trim_start_matches('/')))
    }

    /// Queues `email` in the caller's transaction.
    pub fn queue(
        &self,
        conn: &mut Conn,
        now: NaiveDateTime,
        email: &NewEmail,
    ) -> Result<(), AppError> {
        outbox::enqueue(conn, now, &self.message_id_domain, email)?;
        Ok(())
    }

    /// Renders one of Rapport's own messages and queues it.
    pub fn queue_message(
        &self,
        conn: &mut Conn,
        now: NaiveDateTime,
        to: &str,
        message: &impl SystemMessage,
    ) -> Result<(), AppError> {
        let body = message
            .render()
            .map_err(|err| AppError::internal(format!("email template failed: {err}")))?;
        self.queue(
            conn,
            now,
            &NewEmail {
                to: to.to_owned(),
                subject: message.subject(),
                body,
                idempotency_key: None,
            },
        )
    }
}

/// An email Rapport writes itself (not user-editable): a text template and a subject.
pub trait SystemMessage: Template {
    fn subject(&self) -> String;
}

#[derive(Template)]
#[template(path = "email/messages/invitation.txt")]
pub struct InvitationEmail<'a> {
    pub name: &'a str,
    pub invited_by: &'a str,
    pub link: &'a str,
    pub valid_days: i64,
}

impl SystemMessage for InvitationEmail<'_> {
    fn subject(&self) -> String {
        format!("{} invited you to Rapport", self.invited_by)
    }
}

#[derive(Template)]
#[template(path = "email/messages/password_reset.txt")]
pub struct PasswordResetEmail<'a> {
    pub name: &'a str,
    pub link: &'a str,
    pub valid_minutes: i64,
}

impl SystemMessage for PasswordResetEmail<'_> {
    fn subject(&self) -> String {
        "Reset your Rapport password".to_owned()
    }
}
