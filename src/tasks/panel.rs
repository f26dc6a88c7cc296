//! The "Tasks" card on the page of the record a task is linked to: its open tasks (with a
//! button to complete each one the viewer works), the recently done ones, and "Add task".

use askama::Template;
use chrono::NaiveDateTime;
use diesel::QueryResult;

use super::queries;
use super::view::TaskItem;
use crate::auth::model::User;
use crate::db::Conn;

/// The record a task may be linked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    Contact(i64),
    Company(i64),
    Deal(i64),
    Lead(i64),
}

/// Open tasks shown on a record; more are on the task list.
const OPEN_SHOWN: i64 = 20;
const DONE_SHOWN: i64 = 5;

#[derive(Template)]
#[template(path = "tasks/_record_tasks.html")]
pub struct TasksPanel {
    pub open: Vec<TaskItem>,
    pub done: Vec<TaskItem>,
    /// More open tasks than are shown.
    pub more_open: bool,
    pub add_link: String,
    /// Where the complete and reopen buttons come back to.
    pub back: String,
    pub csrf_token: String,
}

/// The open and recently done tasks linked to `record`, overdue ones marked as of `now`;
/// `csrf_token` is for the panel's forms.
pub fn load(
    conn: &mut Conn,
    record: Linked,
    viewer: &User,
    csrf_token: &str,
    now: NaiveDateTime,
) -> QueryResult<TasksPanel> {
    let tz = viewer.tz();
    let mut open = queries::linked_to(conn, record, false, OPEN_SHOWN + 1)?;
    let more_open = open.len() > OPEN_SHOWN as usize;
    open.truncate(OPEN_SHOWN as usize);
    let done = queries::linked_to(conn, record, true, DONE_SHOWN)?;
    let item = |listed| TaskItem::of(listed, viewer, now, tz);
    Ok(TasksPanel {
        open: open.into_iter().map(item).collect(),
        done: done.into_iter().map(item).collect(),
        more_open,
        add_link: format!("/tasks/new?{}", record.query()),
        back: format!("{}#tasks", record.path()),
        csrf_token: csrf_token.to_owned(),
    })
}
