//! `/admin/outbox`: queued, sent and failed emails, with the last error and "retry now".

use actix_web::{HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use serde::Deserialize;

use super::outbox::{self, Status};
use crate::audit::{self, Action};
use crate::db;
use crate::error::{AppError, OrNotFound};
use crate::web::AppState;
use crate::web::extract::Admin;
use crate::web::format;
use crate::web::page::{Page, redirect, render};

const PAGE_SIZE: i64 = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/outbox", web::get().to(list))
        .route("/outbox/{id}/retry", web::post().to(retry));
}

struct EmailRow {
    id: i64,
    recipient: String,
    subject: String,
    status: String,
    attempts: i32,
    created: String,
    /// When it was sent, or when the next attempt is due.
    when: String,
    last_error: String,
    retryable: bool,
}

struct StatusTab {
    label: &'static str,
    href: String,
    count: Option<i64>,
    active: bool,
}

#[derive(Template)]
#[template(path = "email/outbox.html")]
struct OutboxPage {
    page: Page,
    tabs: Vec<StatusTab>,
    emails: Vec<EmailRow>,
    next_page: Option<String>,
}

#[derive(Deserialize)]
struct OutboxQuery {
    status: Option<String>,
    before: Option<i64>,
}

async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse, AppError> {
    let status = query.status.as_deref().and_then(Status::parse);
    let before = query.before;
    let (emails, counts) = db::run(&state.pool, move |conn| {
        let emails = outbox::page(conn, status, before, PAGE_SIZE + 1)?;
        let counts = Status::ALL
            .into_iter()
            .map(|status| outbox::count_by_status(conn, status))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((emails, counts))
    })
    .await?;

    let tz = admin.user.tz();
    let has_more = emails.len() > PAGE_SIZE as usize;
    let emails: Vec<EmailRow> = emails
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(|email| EmailRow {
            when: match (email.status.as_str(), email.sent_at) {
                ("sent", Some(sent_at)) => format!("sent {}", format::datetime(sent_at, tz)),
                ("queued", _) => {
                    format!("next try {}", format::datetime(email.next_attempt_at, tz))
                }
                _ => String::new(),
            },
            retryable: email.status != Status::Sent.as_str(),
            id: email.id,
            recipient: email.recipient,
            subject: email.subject,
            status: email.status,
            attempts: email.attempts,
            created: format::datetime(email.created_at, tz),
            last_error: email.last_error.unwrap_or_default(),
        })
        .collect();
    let status_param = status
        .map(|s| format!("status={}&", s.as_str()))
        .unwrap_or_default();
    let next_page = has_more
        .then(|| {
            emails
                .last()
                .map(|last| format!("/admin/outbox?{status_param}before={}", last.id))
        })
        .flatten();

    let mut tabs = vec![StatusTab {
        label: "All",
        href: "/admin/outbox".to_owned(),
        count: None,
        active: status.is_none(),
    }];
    tabs.extend(
        Status::ALL
            .into_iter()
            .zip(counts)
            .map(|(tab, count)| StatusTab {
                label: match tab {
                    Status::Queued => "Queued",
                    Status::Sent => "Sent",
                    Status::Failed => "Failed",
                },
                href: format!("/admin/outbox?status={}", tab.as_str()),
                count: Some(count),
                active: status == Some(tab),
            }),
    );

    render(&OutboxPage {
        page: admin.page("Outbox"),
        tabs,
        emails,
        next_page,
    })
}

async fn retry(
    state: web::Data<AppState>,
    admin: Admin,
    email_id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (now, actor, id) = (state.now(), admin.actor(), email_id.into_inner());
    let retried = db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            let email = outbox::find(conn, id)?.or_not_found()?;
            if !outbox::retry_now(conn, id, now)? {
                return Ok(None);
            }
            let target = format!("email {} to {}", email.id, email.recipient);
            audit::record(conn, now, &actor, Action::EmailRetried, Some(&target), None)?;
            Ok(Some(email.recipient))
        })
    })
    .await?;
    match retried {
        Some(recipient) => {
            state.email_worker.wake();
            FlashMessage::success(format!("The email to {recipient} will be sent again now."))
                .send();
        }
        None => FlashMessage::info("That email was already sent.").send(),
    }
    Ok(redirect("/admin/outbox"))
}
