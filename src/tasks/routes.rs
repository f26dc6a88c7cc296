//! `/tasks`: the task list (Overdue, Today, Upcoming, Done), the forms to add and edit a
//! task, and the buttons that complete and reopen one.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use chrono::{Duration, NaiveDateTime, Timelike};
use chrono_tz::Tz;
use serde::Deserialize;

use super::model::{Task, TaskForm};
use super::queries::{self, Scope};
use super::service::{self, Saved};
use super::view::{self, RecordLink, TaskItem};
use crate::audit::{self, Action};
use crate::auth::model::User;
use crate::auth::policy::sees_everyones_tasks;
use crate::db::{self, Conn};
use crate::error::{AppError, FieldErrors};
use crate::web::AppState;
use crate::web::extract::CurrentUser;
use crate::web::page::{Page, redirect, render, render_with_status, safe_next};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/tasks", web::get().to(list))
        .route("/tasks", web::post().to(create))
        .route("/tasks/new", web::get().to(new_form))
        .route("/tasks/{id}/edit", web::get().to(edit_form))
        .route("/tasks/{id}/edit", web::post().to(update))
        .route("/tasks/{id}/complete", web::post().to(complete))
        .route("/tasks/{id}/reopen", web::post().to(reopen));
}

/// Refuses an action on a task the user may see but not work, writing the refusal to the
/// audit log like the role checks do.
async fn refuse(state: &AppState, user: &CurrentUser, what: String) -> AppError {
    let (now, actor) = (state.now(), user.actor());
    let recorded = db::run(&state.pool, move |conn| {
        audit::record(
            conn,
            now,
            &actor,
            Action::AuthorizationDenied,
            Some(&what),
            None,
        )?;
        Ok(())
    })
    .await;
    match recorded {
        Ok(()) => AppError::Forbidden,
        Err(err) => err,
    }
}

/// The task `id` if `me` works it; 404 if they may not know it exists, 403 (audited) if
/// they may see it but not change it.
async fn guard(
    state: &AppState,
    me: &CurrentUser,
    id: i64,
    what: String,
) -> Result<Task, AppError> {
    let user = me.user.clone();
    let found = db::run(&state.pool, move |conn| service::workable(conn, &user, id)).await;
    match found {
        Err(AppError::Forbidden) => Err(refuse(state, me, what).await),
        other => other,
    }
}

/// Where a form post goes back to: a local path, or the task list.
fn back_to(next: &str) -> String {
    if next.trim().is_empty() {
        "/tasks".to_owned()
    } else {
        safe_next(Some(next.trim())).to_owned()
    }
}

// ---------------------------------------------------------------------------------------
// The list

/// Open tasks shown in Overdue and in Today; the rest are reached by finishing some.
const OPEN_SECTION_CAP: i64 = 200;
const UPCOMING_PAGE: i64 = 50;
const DONE_PAGE: i64 = 25;

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    who: String,
    #[serde(default)]
    upcoming_after: String,
    #[serde(default)]
    done_before: String,
}

/// Whose tasks the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Mine,
    Created,
    Everyone,
}

impl Who {
    /// What the query asks for, as far as `user` may see: only admins see everyone's.
    fn parse(raw: &str, user: &User) -> Self {
        match raw.trim() {
            "created" => Who::Created,
            "everyone" if sees_everyones_tasks(user) => Who::Everyone,
            _ => Who::Mine,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Who::Mine => "mine",
            Who::Created => "created",
            Who::Everyone => "everyone",
        }
    }

    fn scope(self, user: &User) -> Scope {
        match self {
            Who::Mine => Scope::AssignedTo(user.id),
            Who::Created => Scope::CreatedBy(user.id),
            Who::Everyone => Scope::Everyone,
        }
    }
}

struct Section {
    id: &'static str,
    title: &'static str,
    tasks: Vec<TaskItem>,
    empty: &'static str,
    /// Said under the section when it does not show everything.
    note: String,
    /// The next page of this section.
    more: Option<String>,
    /// The section's first page, when showing a later one.
    first: Option<String>,
}

#[derive(Template)]
#[template(path = "tasks/index.html")]
struct ListPage {
    page: Page,
    who: &'static str,
    can_see_everyone: bool,
    sections: Vec<Section>,
    nothing_at_all: bool,
    show_assignee: bool,
    back: String,
}

fn list_link(who: Who, upcoming_after: Option<&str>, done_before: Option<&str>) -> String {
    let mut link = url::form_urlencoded::Serializer::new(String::new());
    if who != Who::Mine {
        link.append_pair("who", who.as_str());
    }
    if let Some(cursor) = upcoming_after {
        link.append_pair("upcoming_after", cursor);
    }
    if let Some(cursor) = done_before {
        link.append_pair("done_before", cursor);
    }
    let query = link.finish();
    if query.is_empty() {
        "/tasks".to_owned()
    } else {
        format!("/tasks?{query}")
    }
}

async fn list(
    state: web::Data<AppState>,
    me: CurrentUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let who = Who::parse(&query.who, &me.user);
    let scope = who.scope(&me.user);
    let upcoming_after = view::decode_cursor(&query.upcoming_after);
    let done_before = view::decode_cursor(&query.done_before);
    let now = state.now();
    let tz = me.user.tz();
    let tomorrow = view::start_of_tomorrow(now, tz);
    let (overdue, today, upcoming, done) = db::run(&state.pool, move |conn| {
        let overdue = queries::open(conn, scope, None, Some(now), None, OPEN_SECTION_CAP + 1)?;
        let today = queries::open(
            conn,
            scope,
            Some(now),
            Some(tomorrow),
            None,
            OPEN_SECTION_CAP + 1,
        )?;
        let upcoming = queries::open(
            conn,
            scope,
            Some(tomorrow),
            None,
            upcoming_after,
            UPCOMING_PAGE + 1,
        )?;
        let done = queries::done(conn, scope, done_before, DONE_PAGE + 1)?;
        Ok((overdue, today, upcoming, done))
    })
    .await?;

    let user = &me.user;
    let items = |mut rows: Vec<queries::Listed>, shown: i64| {
        let more = rows.len() > shown as usize;
        rows.truncate(shown as usize);
        let cursor = rows
            .last()
            .map(|last| (last.task.due_at, last.task.completed_at, last.task.id));
        let items: Vec<TaskItem> = rows
            .into_iter()
            .map(|row| TaskItem::of(row, user, now, tz))
            .collect();
        (items, more, cursor)
    };
    let (overdue, overdue_capped, _) = items(overdue, OPEN_SECTION_CAP);
    let (today, today_capped, _) = items(today, OPEN_SECTION_CAP);
    let (upcoming, upcoming_more, upcoming_last) = items(upcoming, UPCOMING_PAGE);
    let (done, done_more, done_last) = items(done, DONE_PAGE);
    let capped = |capped: bool| {
        if capped {
            format!("Showing the first {OPEN_SECTION_CAP}.")
        } else {
            String::new()
        }
    };
    let this_done = (!query.done_before.is_empty()).then_some(query.done_before.as_str());
    let this_upcoming = (!query.upcoming_after.is_empty()).then_some(query.upcoming_after.as_str());
    let upcoming_next = upcoming_more
        .then_some(upcoming_last)
        .flatten()
        .map(|(due_at, _, id)| list_link(who, Some(&view::encode_cursor((due_at, id))), this_done));
    let done_next = done_more
        .then_some(done_last)
        .flatten()
        .and_then(|(_, completed_at, id)| {
            completed_at
                .map(|at| list_link(who, this_upcoming, Some(&view::encode_cursor((at, id)))))
        });
    let nothing_at_all = overdue.is_empty()
        && today.is_empty()
        && upcoming.is_empty()
        && done.is_empty()
        && upcoming_after.is_none()
        && done_before.is_none();
    let sections = vec![
        Section {
            id: "overdue",
            title: "Overdue",
            tasks: overdue,
            empty: "Nothing overdue.",
            note: capped(overdue_capped),
            more: None,
            first: None,
        },
        Section {
            id: "today",
            title: "Today",
            tasks: today,
            empty: "Nothing else due today.",
            note: capped(today_capped),
            more: None,
            first: None,
        },
        Section {
            id: "upcoming",
            title: "Upcoming",
            tasks: upcoming,
            empty: "Nothing planned after today. Add a task for your next step.",
            note: String::new(),
            more: upcoming_next,
            first: upcoming_after.map(|_| list_link(who, None, this_done)),
        },
        Section {
            id: "done",
            title: "Done",
            tasks: done,
            empty: "Completed tasks will appear here.",
            note: String::new(),
            more: done_next,
            first: done_before.map(|_| list_link(who, this_upcoming, None)),
        },
    ];
    let back = list_link(who, this_upcoming, this_done);
    render(&ListPage {
        page: me.page("Tasks"),
        who: who.as_str(),
        can_see_everyone: sees_everyones_tasks(&me.user),
        sections,
        nothing_at_all,
        show_assignee: who != Who::Mine,
        back,
    })
}

// ---------------------------------------------------------------------------------------
// Add and edit

struct ConflictRow {
    label: &'static str,
    theirs: String,
    yours: String,
}

#[derive(Template)]
#[template(path = "tasks/form.html")]
struct FormPage {
    page: Page,
    id: Option<i64>,
    version: i32,
    form: TaskForm,
    link: Option<RecordLink>,
    assignees: Vec<(i64, String)>,
    errors: FieldErrors,
    conflict: Vec<ConflictRow>,
    completed: bool,
    next: String,
}

impl FormPage {
    fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/tasks/{id}/edit"),
            None => "/tasks".to_owned(),
        }
    }

    fn cancel(&self) -> String {
        back_to(&self.next)
    }
}

/// The fields of a url-encoded body; the last value of a repeated name wins.
fn form_pairs(body: &Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

fn task_form(pairs: &[(String, String)]) -> TaskForm {
    let get = |name: &str| field(pairs, name).to_owned();
    TaskForm {
        title: get("title"),
        due_date: get("due_date"),
        due_time: get("due_time"),
        assignee: get("assignee"),
        contact: get("contact"),
        company: get("company"),
        deal: get("deal"),
        lead: get("lead"),
        unlink: get("unlink"),
    }
}

/// The record a form links to, for showing it; `None` when there is none or it is gone.
fn link_of(conn: &mut Conn, form: &TaskForm) -> Result<Option<RecordLink>, AppError> {
    let Ok(Some(record)) = form.link() else {
        return Ok(None);
    };
    Ok(queries::record_name(conn, record)?.map(|name| RecordLink {
        href: record.path(),
        kind: record.kind_label(),
        name,
    }))
}

/// The assignees to choose from and the linked record's name.
async fn form_data(
    state: &AppState,
    form: &TaskForm,
) -> Result<(Vec<(i64, String)>, Option<RecordLink>), AppError> {
    let form = form.clone();
    db::run(&state.pool, move |conn| {
        Ok((queries::possible_assignees(conn)?, link_of(conn, &form)?))
    })
    .await
}

/// The next full hour in `tz`: the due time a new task starts with.
fn next_full_hour(now: NaiveDateTime, tz: Tz) -> (String, String) {
    let local = now.and_utc().with_timezone(&tz).naive_local() + Duration::hours(1);
    let local = local
        .with_minute(0)
        .and_then(|at| at.with_second(0))
        .unwrap_or(local);
    (
        local.format("%Y-%m-%d").to_string(),
        local.format("%H:%M").to_string(),
    )
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    #[serde(default)]
    contact: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    deal: String,
    #[serde(default)]
    lead: String,
    #[serde(default)]
    next: String,
}

async fn new_form(
    state: web::Data<AppState>,
    me: CurrentUser,
    query: web::Query<NewQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let (due_date, due_time) = next_full_hour(state.now(), me.user.tz());
    let form = TaskForm {
        due_date,
        due_time,
        assignee: me.user.id.to_string(),
        contact: query.contact.trim().to_owned(),
        company: query.company.trim().to_owned(),
        deal: query.deal.trim().to_owned(),
        lead: query.lead.trim().to_owned(),
        ..TaskForm::default()
    };
    // A link to a record that does not exist is a broken link: 404.
    let record = form.link().map_err(|_| AppError::NotFound)?;
    let (assignees, link) = form_data(&state, &form).await?;
    if record.is_some() && link.is_none() {
        return Err(AppError::NotFound);
    }
    let next = if query.next.trim().is_empty() {
        record.map_or_else(
            || "/tasks".to_owned(),
            |record| format!("{}#tasks", record.path()),
        )
    } else {
        back_to(&query.next)
    };
    render(&FormPage {
        page: me.page("New task"),
        id: None,
        version: 0,
        form,
        link,
        assignees,
        errors: FieldErrors::new(),
        conflict: Vec::new(),
        completed: false,
        next,
    })
}

async fn create(
    state: web::Data<AppState>,
    me: CurrentUser,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let pairs = form_pairs(&body);
    let form = task_form(&pairs);
    let next = back_to(field(&pairs, "next"));
    let result = match form.validate(me.user.tz()) {
        Ok(input) => {
            let (now, actor, user) = (state.now(), me.actor(), me.user.clone());
            db::run(&state.pool, move |conn| {
                service::create(conn, now, &actor, &user, &input)
            })
            .await
        }
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(_) => {
            FlashMessage::success(format!("Task added: {}.", form.title.trim())).send();
            Ok(redirect(&next))
        }
        Err(AppError::Invalid(errors)) => {
            let (assignees, link) = form_data(&state, &form).await?;
            render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &FormPage {
                    page: me.page("New task"),
                    id: None,
                    version: 0,
                    form,
                    link,
                    assignees,
                    errors,
                    conflict: Vec::new(),
                    completed: false,
                    next,
                },
            )
        }
        Err(other) => Err(other),
    }
}

async fn edit_form(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let task = guard(&state, &me, id, format!("GET /tasks/{id}/edit")).await?;
    let form = TaskForm::of(&task, me.user.tz());
    let (assignees, link) = form_data(&state, &form).await?;
    render(&FormPage {
        page: me.page(&format!("Edit task: {}", task.title)),
        id: Some(id),
        version: task.version,
        form,
        link,
        assignees,
        errors: FieldErrors::new(),
        conflict: Vec::new(),
        completed: task.completed_at.is_some(),
        next: "/tasks".to_owned(),
    })
}

/// The fields where the saved task differs from what the form sent, as people read them.
fn conflict_rows(
    conn: &mut Conn,
    theirs: &TaskForm,
    yours: &TaskForm,
) -> Result<Vec<ConflictRow>, AppError> {
    let assignee_name = |conn: &mut Conn, raw: &str| -> Result<String, AppError> {
        let names = queries::possible_assignees(conn)?;
        Ok(raw
            .parse::<i64>()
            .ok()
            .and_then(|id| names.into_iter().find(|(user_id, _)| *user_id == id))
            .map_or_else(|| "(nobody)".to_owned(), |(_, name)| name))
    };
    let link_name = |conn: &mut Conn, form: &TaskForm| -> Result<String, AppError> {
        Ok(link_of(conn, form)?.map_or_else(
            || "(nothing)".to_owned(),
            |link| format!("{} {}", link.kind, link.name),
        ))
    };
    let mut rows = Vec::new();
    if theirs.title != yours.title.trim() {
        rows.push(ConflictRow {
            label: "Title",
            theirs: theirs.title.clone(),
            yours: yours.title.trim().to_owned(),
        });
    }
    let due = |form: &TaskForm| format!("{} {}", form.due_date.trim(), form.due_time.trim());
    if due(theirs) != due(yours) {
        rows.push(ConflictRow {
            label: "Due",
            theirs: due(theirs),
            yours: due(yours),
        });
    }
    if theirs.assignee != yours.assignee.trim() {
        rows.push(ConflictRow {
            label: "Assigned to",
            theirs: assignee_name(conn, &theirs.assignee)?,
            yours: assignee_name(conn, yours.assignee.trim())?,
        });
    }
    if theirs.link() != yours.link() {
        rows.push(ConflictRow {
            label: "Linked to",
            theirs: link_name(conn, theirs)?,
            yours: link_name(conn, yours)?,
        });
    }
    Ok(rows)
}

async fn update(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<i64>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let task = guard(&state, &me, id, format!("POST /tasks/{id}/edit")).await?;
    let pairs = form_pairs(&body);
    let form = task_form(&pairs);
    let next = back_to(field(&pairs, "next"));
    let version: i32 = field(&pairs, "version").trim().parse().unwrap_or(0);
    let tz = me.user.tz();
    let result = match form.validate(tz) {
        Ok(input) => {
            let (now, actor, user) = (state.now(), me.actor(), me.user.clone());
            let yours = form.clone();
            db::run(&state.pool, move |conn| {
                match service::update(conn, now, &actor, &user, id, version, &input)? {
                    Saved::Done => Ok(None),
                    Saved::Conflict(current) => {
                        let theirs = TaskForm::of(&current, tz);
                        let rows = conflict_rows(conn, &theirs, &yours)?;
                        Ok(Some((current, rows)))
                    }
                }
            })
            .await
        }
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    let (status, version, errors, conflict, completed) = match result {
        Ok(None) => {
            FlashMessage::success(format!("Task saved: {}.", form.title.trim())).send();
            return Ok(redirect(&next));
        }
        Ok(Some((current, conflict))) => (
            StatusCode::CONFLICT,
            // Saving again now is a deliberate choice to keep these values.
            current.version,
            FieldErrors::single(FieldErrors::FORM, service::CONFLICT),
            conflict,
            current.completed_at.is_some(),
        ),
        Err(AppError::Invalid(errors)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            version,
            errors,
            Vec::new(),
            task.completed_at.is_some(),
        ),
        Err(other) => return Err(other),
    };
    let (assignees, link) = form_data(&state, &form).await?;
    render_with_status(
        status,
        &FormPage {
            page: me.page(&format!("Edit task: {}", task.title)),
            id: Some(id),
            version,
            form,
            link,
            assignees,
            errors,
            conflict,
            completed,
            next,
        },
    )
}

// ---------------------------------------------------------------------------------------
// Complete and reopen

#[derive(Debug, Default, Deserialize)]
struct ToggleForm {
    #[serde(default)]
    next: String,
}

async fn toggle(
    state: &AppState,
    me: &CurrentUser,
    id: i64,
    next: &str,
    completed: bool,
) -> Result<HttpResponse, AppError> {
    let verb = if completed { "complete" } else { "reopen" };
    guard(state, me, id, format!("POST /tasks/{id}/{verb}")).await?;
    let (now, actor, user) = (state.now(), me.actor(), me.user.clone());
    let (task, changed) = db::run(&state.pool, move |conn| {
        service::set_completed(conn, now, &actor, &user, id, completed)
    })
    .await?;
    let message = match (changed, completed) {
        (true, true) => format!("Task completed: {}.", task.title),
        (true, false) => format!("Task reopened: {}.", task.title),
        (false, true) => format!("“{}” was already completed.", task.title),
        (false, false) => format!("“{}” was already open.", task.title),
    };
    if changed {
        FlashMessage::success(message).send();
    } else {
        FlashMessage::info(message).send();
    }
    Ok(redirect(&back_to(next)))
}

async fn complete(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<i64>,
    form: web::Form<ToggleForm>,
) -> Result<HttpResponse, AppError> {
    toggle(&state, &me, id.into_inner(), &form.next, true).await
}

async fn reopen(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<i64>,
    form: web::Form<ToggleForm>,
) -> Result<HttpResponse, AppError> {
    toggle(&state, &me, id.into_inner(), &form.next, false).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::panel::Linked;

    #[test]
    fn new_tasks_start_at_the_next_full_hour_in_the_users_zone() {
        let now = chrono::NaiveDate::from_ymd_opt(2026, 12, 3)
            .and_then(|date| date.and_hms_opt(23, 20, 0))
            .expect("valid");
        assert_eq!(
            next_full_hour(now, chrono_tz::UTC),
            ("2026-12-04".to_owned(), "00:00".to_owned())
        );
        assert_eq!(
            next_full_hour(now, chrono_tz::America::New_York),
            ("2026-12-03".to_owned(), "19:00".to_owned())
        );
    }

    #[test]
    fn form_posts_only_go_back_to_local_paths() {
        assert_eq!(back_to(""), "/tasks");
        assert_eq!(back_to("/contacts/4#tasks"), "/contacts/4#tasks");
        assert_eq!(back_to("https://evil.example"), "/");
    }

    #[test]
    fn linked_records_have_their_pages() {
        assert_eq!(Linked::Deal(3).path(), "/deals/3");
        assert_eq!(Linked::Contact(3).query(), "contact=3");
        assert_eq!(Linked::Lead(3).path(), "/leads/3");
    }
}
