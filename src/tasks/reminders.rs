//! The reminder email: when a task falls due (and is still open), its assignee gets one
//! email. The email worker runs the sweep on every poll; each reminder is claimed with a
//! conditional update in the transaction that queues the email, so it goes out once even
//! with several instances sweeping at the same time.

use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::Task;
use super::queries;
use crate::db::schema::{tasks, users};
use crate::db::{self, Conn};
use crate::email::{Mailer, NewEmail, SystemMessage};
use crate::error::AppError;
use crate::web::format;

/// Tasks looked at per round; the sweep goes on while rounds come back full.
const BATCH_SIZE: i64 = 100;

#[derive(Template)]
#[template(path = "email/messages/task_reminder.txt")]
pub struct TaskReminderEmail<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub due: &'a str,
    /// "Contact Ada Lovelace", when the task is linked to a record.
    pub record: Option<String>,
    pub record_link: Option<String>,
    pub tasks_link: &'a str,
}

impl SystemMessage for TaskReminderEmail<'_> {
    fn subject(&self) -> String {
        format!("Task due: {}", self.title)
    }
}

/// Queues the reminder of every open task due at `now` or earlier that has not had one;
/// returns how many emails were queued. Tasks of deactivated users are marked as reminded
/// without an email.
pub fn queue_due(conn: &mut Conn, now: NaiveDateTime, mailer: &Mailer) -> Result<usize, AppError> {
    let mut queued = crate::leads::assignment::queue_emails(conn, now, mailer)?;
    loop {
        let due: Vec<i64> = tasks::table
            .filter(tasks::reminder_queued_at.is_null())
            .filter(tasks::completed_at.is_null())
            .filter(tasks::due_at.le(now))
            .order(tasks::due_at.asc())
            .select(tasks::id)
            .limit(BATCH_SIZE)
            .load(conn)?;
        for &id in &due {
            if db::write(conn, |conn| remind(conn, now, mailer, id))? {
                queued += 1;
            }
        }
        if (due.len() as i64) < BATCH_SIZE {
            return Ok(queued);
        }
    }
}

/// Claims task `id`'s reminder and queues its email, in the caller's transaction. `false`
/// when someone else claimed it first, the task moved or was completed meanwhile, or its
/// assignee is deactivated.
fn remind(conn: &mut Conn, now: NaiveDateTime, mailer: &Mailer, id: i64) -> Result<bool, AppError> {
    let claimed = diesel::update(
        tasks::table
            .filter(tasks::id.eq(id))
            .filter(tasks::reminder_queued_at.is_null())
            .filter(tasks::completed_at.is_null())
            .filter(tasks::due_at.le(now)),
    )
    .set(tasks::reminder_queued_at.eq(now))
    .execute(conn)?;
    if claimed == 0 {
        return Ok(false);
    }
    let Some((task, email, name, active, time_zone)) = tasks::table
        .inner_join(users::table.on(users::id.eq(tasks::assignee_id)))
        .filter(tasks::id.eq(id))
        .select((
            Task::as_select(),
            users::email,
            users::display_name,
            users::active,
            users::time_zone,
        ))
        .first::<(Task, String, String, bool, String)>(conn)
        .optional()?
    else {
        return Ok(false);
    };
    if !active {
        return Ok(false);
    }
    let tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    let (record, record_link) = match task.linked() {
        Some(linked) => match queries::record_name(conn, linked)? {
            Some(record_name) => (
                Some(format!("{} {record_name}", linked.kind_label())),
                Some(mailer.link(&linked.path())),
            ),
            None => (None, None),
        },
        None => (None, None),
    };
    let message = TaskReminderEmail {
        name: &name,
        title: &task.title,
        due: &format::datetime(task.due_at, tz),
        record,
        record_link,
        tasks_link: &mailer.link("/tasks"),
    };
    let body = message
        .render()
        .map_err(|err| AppError::internal(format!("email template failed: {err}")))?;
    mailer.queue(
        conn,
        now,
        &NewEmail {
            to: email,
            subject: message.subject(),
            body,
            // One reminder per task and due time, whatever happens to the claim.
            idempotency_key: Some(format!(
                "task-reminder:{}:{}",
                task.id,
                task.due_at.and_utc().timestamp()
            )),
        },
    )?;
    Ok(true)
}
