//! Tasks: to-dos with a due time and an assignee, optionally linked to a contact, a company
//! or a deal; the task list, the panel on a record's page, and a reminder email when a task
//! falls due.
//!
//! The list's sections, in the viewer's time zone: **Overdue** — open and due before now;
//! **Today** — open and due from now until midnight; **Upcoming** — open and due from
//! midnight on; **Done** — completed, most recently completed first.

pub mod model;
pub mod panel;
pub mod queries;
pub mod reminders;
pub mod routes;
pub mod service;
pub mod view;

pub use routes::configure;
