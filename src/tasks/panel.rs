//! The "Tasks" card on the page of the record a task is linked to.

use askama::Template;
use diesel::QueryResult;

use crate::auth::model::User;
use crate::db::Conn;

/// The record a task may be linked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    Contact(i64),
    Company(i64),
    Deal(i64),
}

#[derive(Template)]
#[template(path = "tasks/_record_tasks.html")]
pub struct TasksPanel {}

/// The open and recently done tasks linked to `record`; `csrf_token` is for the panel's forms.
pub fn load(
    _conn: &mut Conn,
    _record: Linked,
    _viewer: &User,
    _csrf_token: &str,
) -> QueryResult<TasksPanel> {
    Ok(TasksPanel {})
}
