//! `/admin/audit`: the audit log, newest first, filterable by action.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Action, page};
use crate::db;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::extract::Admin;
use crate::web::format;
use crate::web::page::{Page, render};

const PAGE_SIZE: i64 = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(list));
}

struct EntryRow {
    when: String,
    when_iso: String,
    actor: String,
    action: String,
    target: String,
    details: String,
    address: String,
}

#[derive(Template)]
#[template(path = "audit/index.html")]
struct AuditPage {
    page: Page,
    /// (value, label) of every action, for the filter.
    actions: Vec<(&'static str, String)>,
    selected_action: String,
    /// A filter is applied, so an empty list means "no match", not "nothing yet".
    filtered: bool,
    entries: Vec<EntryRow>,
    next_page: Option<String>,
}

#[derive(Deserialize)]
struct AuditQuery {
    action: Option<String>,
    before: Option<i64>,
}

async fn list(
    state: web::Data<AppState>,
    admin: Admin,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let action = query.action.as_deref().and_then(Action::parse);
    let before = query.before;
    let entries = db::run(&state.pool, move |conn| {
        Ok(page(conn, action, before, PAGE_SIZE + 1)?)
    })
    .await?;
    let has_more = entries.len() > PAGE_SIZE as usize;
    let last_id = entries.get(PAGE_SIZE as usize - 1).map(|entry| entry.id);
    let tz = admin.user.tz();
    let action_param = action
        .map(|a| format!("action={}&", a.as_str()))
        .unwrap_or_default();
    render(&AuditPage {
        page: admin.page("Audit log"),
        actions: Action::ALL
            .iter()
            .map(|a| (a.as_str(), a.as_str().replace('_', " ")))
            .collect(),
        filtered: action.is_some(),
        selected_action: action.map(|a| a.as_str().to_owned()).unwrap_or_default(),
        next_page: has_more
            .then(|| last_id.map(|id| format!("/admin/audit?{action_param}before={id}")))
            .flatten(),
        entries: entries
            .into_iter()
            .take(PAGE_SIZE as usize)
            .map(|entry| EntryRow {
                when: format::datetime(entry.occurred_at, tz),
                when_iso: format::iso(entry.occurred_at),
                actor: entry.actor_label,
                action: entry.action.replace('_', " "),
                target: entry.target.unwrap_or_default(),
                details: entry.details.unwrap_or_default(),
                address: entry.client_address.unwrap_or_default(),
            })
            .collect(),
    })
}
