//! What a record page needs to show its timeline: the entries, the link to older ones, and
//! the note and call forms (with what the user typed and why it was refused, after a 422).

use super::{Cursor, Entry, Subject};
use crate::error::FieldErrors;
use crate::web::format;

/// A piece of a note as the page shows it: plain text, or a link (http/https only). The
/// template escapes both; nothing a user wrote is ever marked safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    /// The link target when this piece is a URL.
    pub href: Option<String>,
}

impl Segment {
    fn text(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            href: None,
        }
    }

    fn link(url: &str) -> Self {
        Self {
            text: url.to_owned(),
            href: Some(url.to_owned()),
        }
    }
}

/// Splits plain text into text and link segments: every `http://` or `https://` URL that
/// starts a word becomes a link; trailing punctuation (and an unbalanced closing bracket)
/// stays text, so "see https://example.com/a." links to `https://example.com/a`.
pub fn linkify(body: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut text_start = 0;
    let mut at = 0;
    while at < body.len() {
        let rest = &body[at..];
        let starts_word = body[..at]
            .chars()
            .next_back()
            .is_none_or(|before| !before.is_alphanumeric());
        let scheme = ["https://", "http://"].into_iter().find(|scheme| {
            rest.get(..scheme.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
        });
        if let (true, Some(scheme)) = (starts_word, scheme) {
            let len = url_length(rest);
            if len > scheme.len() && url::Url::parse(&rest[..len]).is_ok() {
                if text_start < at {
                    segments.push(Segment::text(&body[text_start..at]));
                }
                segments.push(Segment::link(&rest[..len]));
                at += len;
                text_start = at;
                continue;
            }
        }
        at += rest.chars().next().map_or(1, char::len_utf8);
    }
    if text_start < body.len() {
        segments.push(Segment::text(&body[text_start..]));
    }
    segments
}

/// How many bytes of `text` (which starts with a scheme) belong to the URL.
fn url_length(text: &str) -> usize {
    let mut end = text
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '`'))
        .map_or(text.len(), |(index, _)| index);
    loop {
        let Some(last) = text[..end].chars().next_back() else {
            return end;
        };
        let trailing = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '*' => true,
            ')' => unbalanced(&text[..end], '(', ')'),
            ']' => unbalanced(&text[..end], '[', ']'),
            '}' => unbalanced(&text[..end], '{', '}'),
            _ => false,
        };
        if !trailing {
            return end;
        }
        end -= last.len_utf8();
    }
}

fn unbalanced(text: &str, open: char, close: char) -> bool {
    text.matches(close).count() > text.matches(open).count()
}

/// One entry as the page shows it.
#[derive(Debug, Clone)]
pub struct EntryView {
    pub id: i64,
    pub kind: String,
    pub when: String,
    pub when_iso: String,
    pub author: String,
    pub body: String,
    /// The body as text and link pieces, for the template to iterate.
    pub segments: Vec<Segment>,
    pub outcome: String,
    pub duration_minutes: Option<i32>,
    pub deal_id: Option<i64>,
}

/// What the note and call forms show: empty, or what the user typed when it was refused.
#[derive(Debug, Clone)]
pub struct TimelineForm {
    pub note_body: String,
    pub note_errors: FieldErrors,
    /// "call" or "meeting".
    pub activity_kind: String,
    pub outcome: String,
    pub duration_minutes: String,
    /// As typed in the `datetime-local` field, in the user's time zone.
    pub occurred_at: String,
    pub activity_body: String,
    pub activity_errors: FieldErrors,
}

impl Default for TimelineForm {
    fn default() -> Self {
        Self {
            note_body: String::new(),
            note_errors: FieldErrors::new(),
            activity_kind: "call".to_owned(),
            outcome: String::new(),
            duration_minutes: String::new(),
            occurred_at: String::new(),
            activity_body: String::new(),
            activity_errors: FieldErrors::new(),
        }
    }
}

impl TimelineForm {
    /// Which form to show open: the one that was refused, else the note form.
    pub fn activity_open(&self) -> bool {
        !self.activity_errors.is_empty()
    }
}

/// A page of a record's timeline, newest first, with the link to older entries.
#[derive(Debug, Clone)]
pub struct TimelineView {
    /// Where the note and call forms post: `/contacts/12` or `/companies/3`.
    pub base_path: String,
    pub entries: Vec<EntryView>,
    pub older: Option<String>,
    pub can_add: bool,
    pub form: TimelineForm,
    /// Suggestions for the "outcome" field.
    pub outcomes: [&'static str; 5],
}

pub const PAGE_SIZE: i64 = 50;

/// Outcomes offered for a call or meeting; the field takes any text.
pub const OUTCOMES: [&str; 5] = [
    "connected",
    "left voicemail",
    "no answer",
    "meeting held",
    "rescheduled",
];

impl TimelineView {
    /// Builds the view from a page loaded with `PAGE_SIZE + 1` entries.
    pub fn new(
        subject: Subject,
        mut entries: Vec<Entry>,
        tz: chrono_tz::Tz,
        can_add: bool,
    ) -> Self {
        let base_path = subject.path();
        let older = if entries.len() > PAGE_SIZE as usize {
            entries.truncate(PAGE_SIZE as usize);
            entries.last().map(|last| {
                let cursor: Cursor = (last.occurred_at, last.id);
                format!(
                    "{base_path}?before={}_{}#timeline",
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
                    segments: linkify(&entry.body),
                    body: entry.body,
                    outcome: entry.outcome.unwrap_or_default(),
                    duration_minutes: entry.duration_minutes,
                    deal_id: entry.deal_id,
                })
                .collect(),
            base_path,
            older,
            can_add,
            form: TimelineForm::default(),
            outcomes: OUTCOMES,
        }
    }

    /// The same view with the forms showing what the user typed and why it was refused.
    pub fn with_form(mut self, form: TimelineForm) -> Self {
        self.form = form;
        self
    }
}

/// Reads the `before=<micros>_<id>` cursor of an "older entries" link.
pub fn parse_cursor(raw: &str) -> Option<Cursor> {
    let (micros, id) = raw.split_once('_')?;
    let at = chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
    Some((at, id.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(body: &str) -> Vec<String> {
        linkify(body)
            .into_iter()
            .filter_map(|segment| segment.href)
            .collect()
    }

    #[test]
    fn urls_become_links_and_the_rest_stays_text() {
        let segments = linkify("See https://example.com/a?b=1 and http://x.org.");
        assert_eq!(
            segments,
            vec![
                Segment::text("See "),
                Segment::link("https://example.com/a?b=1"),
                Segment::text(" and "),
                Segment::link("http://x.org"),
                Segment::text("."),
            ]
        );
    }

    #[test]
    fn only_http_and_https_urls_that_start_a_word_are_links() {
        assert!(links("javascript:alert(1) ftp://x.org data:text/html,hi").is_empty());
        assert!(links("xhttps://example.com https:// http://").is_empty());
        assert_eq!(
            links("(https://en.wikipedia.org/wiki/Rust_(language))"),
            ["https://en.wikipedia.org/wiki/Rust_(language)"]
        );
        assert_eq!(links("<https://example.com>\"x"), ["https://example.com"]);
    }

    #[test]
    fn text_without_links_is_one_segment_and_unicode_is_kept() {
        assert_eq!(linkify("Zoë é <b>"), vec![Segment::text("Zoë é <b>")]);
        assert!(linkify("").is_empty());
    }
}
