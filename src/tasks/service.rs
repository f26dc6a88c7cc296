//! Task rules: create, edit (with optimistic locking), complete and reopen. Each change is
//! one transaction with its audit entry and, for a task linked to a customer, its timeline
//! entry.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{ASSIGNEE_ERROR, MISSING_LINK, Task, TaskInput};
use super::panel::Linked;
use super::queries;
use crate::audit::{self, Action, Actor};
use crate::auth::model::User;
use crate::auth::policy::{TaskRights, task_rights};
use crate::contacts::timeline::{self, Kind, NewEntry};
use crate::db::schema::{tasks, users};
use crate::db::{self, Conn};
use crate::error::{AppError, FieldErrors, OrNotFound};

pub const CONFLICT: &str = "Someone else changed this task while you were editing. \
    Nothing was saved. Their version is shown below; save again to keep yours.";

fn target(id: i64) -> String {
    format!("task {id}")
}

pub fn rights(user: &User, task: &Task) -> TaskRights {
    task_rights(
        user,
        task.assignee_id,
        task.created_by,
        task.linked().is_some(),
    )
}

/// The task, if `user` may work it: 404 when they may not even know it exists, 403 when they
/// may see it (on a record's page) but not change it.
pub fn workable(conn: &mut Conn, user: &User, id: i64) -> Result<Task, AppError> {
    let task = queries::find(conn, id)?.or_not_found()?;
    let rights = rights(user, &task);
    if !rights.see {
        return Err(AppError::NotFound);
    }
    if !rights.work {
        return Err(AppError::Forbidden);
    }
    Ok(task)
}

/// The assignee must be an active user and the linked record must exist.
fn check_references(conn: &mut Conn, input: &TaskInput) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    if !queries::is_active_user(conn, input.assignee_id)? {
        errors.add("assignee", ASSIGNEE_ERROR);
    }
    if let Some(record) = input.link
        && queries::record_name(conn, record)?.is_none()
    {
        errors.add("link", MISSING_LINK);
    }
    errors.into_result()
}

/// When the reminder of a task due at `due_at` counts as already sent, for a task saved at
/// `now`: a due time that has already passed is never reminded (whoever set it knows).
pub fn reminder_for_new(due_at: NaiveDateTime, now: NaiveDateTime) -> Option<NaiveDateTime> {
    (due_at <= now).then_some(now)
}

/// The reminder state after an edit moves a task's due time: a due time still to come is
/// reminded (again) when it arrives; one already passed is not.
pub fn reminder_after_edit(
    old_due_at: NaiveDateTime,
    old_reminder: Option<NaiveDateTime>,
    new_due_at: NaiveDateTime,
    now: NaiveDateTime,
) -> Option<NaiveDateTime> {
    if new_due_at == old_due_at {
        old_reminder
    } else if new_due_at > now {
        None
    } else {
        old_reminder.or(Some(now))
    }
}

pub fn create(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    input: &TaskInput,
) -> Result<i64, AppError> {
    db::write(conn, |conn| {
        check_references(conn, input)?;
        let columns = Linked::columns(input.link);
        let id: i64 = diesel::insert_into(tasks::table)
            .values((
                tasks::title.eq(&input.title),
                tasks::due_at.eq(input.due_at),
                tasks::assignee_id.eq(input.assignee_id),
                tasks::created_by.eq(Some(user.id)),
                tasks::contact_id.eq(columns.contact_id),
                tasks::company_id.eq(columns.company_id),
                tasks::deal_id.eq(columns.deal_id),
                tasks::lead_id.eq(columns.lead_id),
                tasks::reminder_queued_at.eq(reminder_for_new(input.due_at, now)),
                tasks::created_at.eq(now),
                tasks::updated_at.eq(now),
                tasks::version.eq(1),
            ))
            .returning(tasks::id)
            .get_result(conn)?;
        let details = describe(conn, None, input)?;
        audit::record(
            conn,
            now,
            actor,
            Action::RecordCreated,
            Some(&target(id)),
            Some(&details),
        )?;
        Ok(id)
    })
}

/// What an edit found.
#[derive(Debug)]
pub enum Saved {
    Done,
    /// The task changed since the form's version; nothing was saved. The task as it is now.
    Conflict(Box<Task>),
}

pub fn update(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    id: i64,
    version: i32,
    input: &TaskInput,
) -> Result<Saved, AppError> {
    db::write(conn, |conn| {
        let task = workable(conn, user, id)?;
        if task.version != version {
            return Ok(Saved::Conflict(Box::new(task)));
        }
        check_references(conn, input)?;
        let mut columns = Linked::columns(input.link);
        if input.link == task.linked() {
            // A converted lead's task keeps naming its lead while it stays with the contact.
            columns.lead_id = task.lead_id;
        }
        let reminder = reminder_after_edit(task.due_at, task.reminder_queued_at, input.due_at, now);
        let updated =
            diesel::update(tasks::table.filter(tasks::id.eq(id).and(tasks::version.eq(version))))
                .set((
                    tasks::title.eq(&input.title),
                    tasks::due_at.eq(input.due_at),
                    tasks::assignee_id.eq(input.assignee_id),
                    tasks::contact_id.eq(columns.contact_id),
                    tasks::company_id.eq(columns.company_id),
                    tasks::deal_id.eq(columns.deal_id),
                    tasks::lead_id.eq(columns.lead_id),
                    tasks::reminder_queued_at.eq(reminder),
                    tasks::updated_at.eq(now),
                    tasks::version.eq(version + 1),
                ))
                .execute(conn)?;
        if updated == 0 {
            let current = queries::find(conn, id)?.or_not_found()?;
            return Ok(Saved::Conflict(Box::new(current)));
        }
        let details = describe(conn, Some(&task), input)?;
        if !details.is_empty() {
            audit::record(
                conn,
                now,
                actor,
                Action::RecordUpdated,
                Some(&target(id)),
                Some(&details),
            )?;
        }
        Ok(Saved::Done)
    })
}

/// Completes (`true`) or reopens (`false`) a task; `false` when it already was. A task
/// linked to a customer gets a timeline entry there.
pub fn set_completed(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    id: i64,
    completed: bool,
) -> Result<(Task, bool), AppError> {
    db::write(conn, |conn| {
        let task = workable(conn, user, id)?;
        if task.completed_at.is_some() == completed {
            return Ok((task, false));
        }
        diesel::update(tasks::table.find(id))
            .set((
                tasks::completed_at.eq(completed.then_some(now)),
                tasks::updated_at.eq(now),
                tasks::version.eq(tasks::version + 1),
            ))
            .execute(conn)?;
        let what = if completed {
            "Task completed"
        } else {
            "Task reopened"
        };
        if let Some(record) = task.linked() {
            let contact_id = match record {
                Linked::Contact(id) => Some(id),
                _ => None,
            };
            let deal_id = match record {
                Linked::Deal(id) => Some(id),
                _ => None,
            };
            let lead_id = match record {
                Linked::Lead(id) => Some(id),
                _ => None,
            };
            let company_id = queries::company_of(conn, record)?;
            timeline::add(
                conn,
                &NewEntry {
                    contact_id,
                    company_id,
                    deal_id,
                    lead_id,
                    kind: Kind::Task,
                    author_id: Some(user.id),
                    occurred_at: now,
                    recorded_at: now,
                    body: &format!("{what}: {}", task.title),
                    outcome: None,
                    duration_minutes: None,
                },
            )?;
        }
        audit::record(
            conn,
            now,
            actor,
            Action::RecordUpdated,
            Some(&target(id)),
            Some(if completed { "completed" } else { "reopened" }),
        )?;
        Ok((task, true))
    })
}

fn user_name(conn: &mut Conn, id: i64) -> QueryResult<String> {
    Ok(users::table
        .find(id)
        .select(users::display_name)
        .first::<String>(conn)
        .optional()?
        .unwrap_or_else(|| format!("user {id}")))
}

fn link_text(link: Option<Linked>) -> String {
    link.map_or_else(
        || "none".to_owned(),
        |record| format!("{} {}", record.kind_label().to_lowercase(), record.id()),
    )
}

/// "title: A → B; due: … → …" for what changed (everything, for a new task).
fn describe(conn: &mut Conn, old: Option<&Task>, new: &TaskInput) -> QueryResult<String> {
    let mut parts = Vec::new();
    let due = |at: NaiveDateTime| format!("{} UTC", at.format("%Y-%m-%d %H:%M"));
    match old {
        None => {
            parts.push(format!("title: {}", new.title));
            parts.push(format!("due: {}", due(new.due_at)));
            parts.push(format!("assignee: {}", user_name(conn, new.assignee_id)?));
            if new.link.is_some() {
                parts.push(format!("linked to: {}", link_text(new.link)));
            }
        }
        Some(old) => {
            if old.title != new.title {
                parts.push(format!("title: {} → {}", old.title, new.title));
            }
            if old.due_at != new.due_at {
                parts.push(format!("due: {} → {}", due(old.due_at), due(new.due_at)));
            }
            if old.assignee_id != new.assignee_id {
                parts.push(format!(
                    "assignee: {} → {}",
                    user_name(conn, old.assignee_id)?,
                    user_name(conn, new.assignee_id)?
                ));
            }
            if old.linked() != new.link {
                parts.push(format!(
                    "linked to: {} → {}",
                    link_text(old.linked()),
                    link_text(new.link)
                ));
            }
        }
    }
    Ok(parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate};

    fn at(hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 3)
            .and_then(|date| date.and_hms_opt(hour, 0, 0))
            .expect("a valid time")
    }

    #[test]
    fn a_task_created_already_due_is_not_reminded() {
        assert_eq!(reminder_for_new(at(9), at(10)), Some(at(10)));
        assert_eq!(reminder_for_new(at(10), at(10)), Some(at(10)));
        assert_eq!(reminder_for_new(at(11), at(10)), None);
    }

    #[test]
    fn moving_the_due_time_later_reminds_again() {
        let reminded = Some(at(9));
        assert_eq!(reminder_after_edit(at(9), reminded, at(12), at(10)), None);
        assert_eq!(
            reminder_after_edit(at(9), reminded, at(9), at(10)),
            reminded,
            "an unchanged due time keeps its reminder"
        );
        assert_eq!(
            reminder_after_edit(at(8), reminded, at(9) + Duration::minutes(30), at(10)),
            reminded,
            "a due time still in the past is not reminded again"
        );
        assert_eq!(
            reminder_after_edit(at(12), None, at(9), at(10)),
            Some(at(10)),
            "moved into the past: the person moving it knows"
        );
        assert_eq!(reminder_after_edit(at(12), None, at(14), at(10)), None);
    }
}
