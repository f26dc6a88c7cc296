//! What a record page needs to show its timeline.

use super::{Cursor, Entry, Subject};
use crate::web::format;

/// One entry as the page shows it.
#[derive(Debug, Clone)]
pub struct EntryView {
    pub id: i64,
    pub kind: String,
    pub when: String,
    pub when_iso: String,
    pub author: String,
    pub body: String,
    pub outcome: String,
    pub duration_minutes: Option<i32>,
}

/// A page of a record's timeline, newest first, with the link to older entries.
#[derive(Debug, Clone)]
pub struct TimelineView {
    /// Where the note and call forms post: `/contacts/12` or `/companies/3`.
    pub base_path: String,
    pub entries: Vec<EntryView>,
    pub older: Option<String>,
    pub can_add: bool,
}

pub const PAGE_SIZE: i64 = 50;

impl TimelineView {
    /// Builds the view from a page loaded with `PAGE_SIZE + 1` entries.
    pub fn new(subject: Subject, mut entries: Vec<Entry>, tz: chrono_tz::Tz, can_add: bool) -> Self {
        let base_path = match subject {
            Subject::Contact(id) => format!("/contacts/{id}"),
            Subject::Company(id) => format!("/companies/{id}"),
        };
        let older = if entries.len() > PAGE_SIZE as usize {
            entries.truncate(PAGE_SIZE as usize);
            entries.last().map(|last| {
                let cursor: Cursor = (last.occurred_at, last.id);
                format!(
                    "{base_path}?before={}_{}",
                    cursor.0.and_utc().timestamp_micros(),
                    cursor.1
                )
            })
        } else {
            None
        };
        Self {
            entries: entries
                .into_iter()
                .map(|entry| EntryView {
                    id: entry.id,
                    when: format::datetime(entry.occurred_at, tz),
                    when_iso: format::iso(entry.occurred_at),
                    author: entry.author_name.unwrap_or_else(|| "Rapport".to_owned()),
                    kind: entry.kind,
                    body: entry.body,
                    outcome: entry.outcome.unwrap_or_default(),
                    duration_minutes: entry.duration_minutes,
                })
                .collect(),
            base_path,
            older,
            can_add,
        }
    }
}

/// Reads the `before=<micros>_<id>` cursor of an "older entries" link.
pub fn parse_cursor(raw: &str) -> Option<Cursor> {
    let (micros, id) = raw.split_once('_')?;
    let at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
    Some((at, id.parse().ok()?))
}
