//! Tasks: to-dos with a due time and an assignee, optionally linked to a contact, a company
//! or a deal; the task list, and a reminder email when a task falls due.

pub mod panel;

pub fn configure(_cfg: &mut actix_web::web::ServiceConfig) {}
