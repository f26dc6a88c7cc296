//! How a task reads on a page (the task list, a record's panel, the home page), and the
//! day boundaries of the viewer's time zone that split the list into sections.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use chrono_tz::Tz;

use super::queries::{Cursor, Listed};
use super::service;
use crate::auth::model::User;
use crate::web::format;

/// The linked record, as a link.
#[derive(Debug, Clone)]
pub struct RecordLink {
    pub href: String,
    pub kind: &'static str,
    pub name: String,
}

/// One task as a row or a list item.
#[derive(Debug, Clone)]
pub struct TaskItem {
    pub id: i64,
    pub title: String,
    /// "Today, 14:00", "Tomorrow, 09:00", "Mon 7 Dec, 09:00", "7 Dec 2027, 09:00".
    pub due: String,
    pub due_iso: String,
    pub overdue: bool,
    /// When it was completed, or empty.
    pub completed: String,
    pub assignee: String,
    pub record: Option<RecordLink>,
    /// The viewer may edit, complete and reopen it.
    pub can_work: bool,
}

impl TaskItem {
    pub fn of(listed: Listed, viewer: &User, now: NaiveDateTime, tz: Tz) -> Self {
        let can_work = service::rights(viewer, &listed.task).work;
        let task = listed.task;
        let record = task.linked().map(|record| RecordLink {
            href: record.path(),
            kind: record.kind_label(),
            name: listed
                .record_name
                .unwrap_or_else(|| format!("{} {}", record.kind_label(), record.id())),
        });
        Self {
            id: task.id,
            due: due_label(task.due_at, now, tz),
            due_iso: format::iso(task.due_at),
            overdue: task.completed_at.is_none() && task.due_at < now,
            completed: task
                .completed_at
                .map(|at| format::datetime(at, tz))
                .unwrap_or_default(),
            assignee: listed.assignee_name,
            record,
            can_work,
            title: task.title,
        }
    }
}

/// A due time as people say it, relative to today in `tz`.
pub fn due_label(due_at: NaiveDateTime, now: NaiveDateTime, tz: Tz) -> String {
    let local = due_at.and_utc().with_timezone(&tz);
    let today = now.and_utc().with_timezone(&tz).date_naive();
    let date = local.date_naive();
    let time = format!("{:02}:{:02}", local.hour(), local.minute());
    let days = (date - today).num_days();
    match days {
        0 => format!("Today, {time}"),
        1 => format!("Tomorrow, {time}"),
        -1 => format!("Yesterday, {time}"),
        2..=6 => format!("{}, {time}", local.format("%a %-d %b")),
        _ if date.year() == today.year() => format!("{}, {time}", local.format("%a %-d %b")),
        _ => format::datetime(due_at, tz),
    }
}

/// The UTC time at which `date` starts in `tz` (the first existing minute, for the rare
/// zones whose clocks skip midnight).
pub fn start_of_day(date: NaiveDate, tz: Tz) -> NaiveDateTime {
    (0..=180)
        .step_by(15)
        .find_map(|minutes| {
            let local = date.and_hms_opt(0, 0, 0)? + Duration::minutes(minutes);
            tz.from_local_datetime(&local).earliest()
        })
        .map_or_else(
            || date.and_hms_opt(0, 0, 0).unwrap_or_default(),
            |at| at.naive_utc(),
        )
}

/// Today's date in `tz`.
pub fn local_today(now: NaiveDateTime, tz: Tz) -> NaiveDate {
    now.and_utc().with_timezone(&tz).date_naive()
}

/// When tomorrow starts in `tz`, in UTC: the end of the "Today" section.
pub fn start_of_tomorrow(now: NaiveDateTime, tz: Tz) -> NaiveDateTime {
    let today = local_today(now, tz);
    start_of_day(today.succ_opt().unwrap_or(today), tz)
}

/// A list position as it travels in a link: "<microseconds since 1970>.<id>".
pub fn encode_cursor((at, id): Cursor) -> String {
    format!("{}.{id}", at.and_utc().timestamp_micros())
}

pub fn decode_cursor(raw: &str) -> Option<Cursor> {
    let (micros, id) = raw.trim().split_once('.')?;
    let at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
    Some((at, id.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(day: u32, hour: u32, minute: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, day)
            .and_then(|date| date.and_hms_opt(hour, minute, 0))
            .expect("a valid time")
    }

    #[test]
    fn the_day_ends_at_midnight_in_the_viewers_zone() {
        // 23:30 UTC on 3 Dec is already 4 Dec in Paris.
        let now = utc(3, 23, 30);
        assert_eq!(start_of_tomorrow(now, chrono_tz::UTC), utc(4, 0, 0));
        assert_eq!(
            start_of_tomorrow(now, chrono_tz::Europe::Paris),
            utc(4, 23, 0)
        );
        assert_eq!(
            start_of_tomorrow(now, chrono_tz::America::New_York),
            utc(4, 5, 0)
        );
    }

    #[test]
    fn due_times_read_relative_to_today() {
        let now = utc(3, 10, 0);
        let tz = chrono_tz::UTC;
        assert_eq!(due_label(utc(3, 14, 0), now, tz), "Today, 14:00");
        assert_eq!(due_label(utc(4, 9, 5), now, tz), "Tomorrow, 09:05");
        assert_eq!(due_label(utc(2, 9, 0), now, tz), "Yesterday, 09:00");
        assert_eq!(due_label(utc(7, 9, 0), now, tz), "Mon 7 Dec, 09:00");
        let next_year = NaiveDate::from_ymd_opt(2027, 1, 20)
            .and_then(|date| date.and_hms_opt(9, 0, 0))
            .expect("valid");
        assert_eq!(due_label(next_year, now, tz), "20 Jan 2027, 09:00");
    }

    #[test]
    fn cursors_survive_a_link() {
        let cursor = (utc(3, 10, 0) + Duration::microseconds(1234), 42);
        assert_eq!(decode_cursor(&encode_cursor(cursor)), Some(cursor));
        assert_eq!(decode_cursor("nonsense"), None);
        assert_eq!(decode_cursor("12.x"), None);
    }
}
