//! The body of `POST /api/v1/events` checked without the database: its shape, and each
//! event's name, properties, time and subject fields. Every problem is reported by field
//! (`events[2].name`, or `name` for a single event).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDateTime};
use serde_json::{Map, Value};

use crate::auth::model::EmailAddress;

pub const MAX_EVENTS: usize = 100;
pub const MAX_PROPERTIES_BYTES: usize = 8 * 1024;
pub const MAX_NAME_CHARS: usize = 80;
const MAX_VISITOR_ID_CHARS: usize = 64;
/// Clocks disagree a little; an event further ahead than this is refused.
const FUTURE_TOLERANCE_MINUTES: i64 = 10;

/// Per-field problems, keyed like `events[2].name` (or `name` for a single event).
pub type Fields = BTreeMap<String, String>;

/// An event that passed the checks that need no database.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The key prefix of its field errors: `events[2].` in a batch, empty for one event.
    pub prefix: String,
    pub name: String,
    pub properties: Map<String, Value>,
    pub occurred_at: NaiveDateTime,
    pub lead_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub email: Option<String>,
    pub visitor_id: Option<String>,
}

/// Checks the body's shape and every event's fields.
pub fn parse(document: &Value, now: NaiveDateTime) -> Result<Vec<Incoming>, Fields> {
    let mut fields = Fields::new();
    let events: Vec<(String, &Value)> = match document.get("events") {
        None => vec![(String::new(), document)],
        Some(Value::Array(list)) if list.is_empty() => {
            fields.insert("events".into(), "Send at least one event.".into());
            return Err(fields);
        }
        Some(Value::Array(list)) if list.len() > MAX_EVENTS => {
            fields.insert(
                "events".into(),
                format!(
                    "Send at most {MAX_EVENTS} events per request ({} were sent).",
                    list.len()
                ),
            );
            return Err(fields);
        }
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(index, event)| (format!("events[{index}]."), event))
            .collect(),
        Some(_) => {
            fields.insert("events".into(), "Send the events as a JSON array.".into());
            return Err(fields);
        }
    };
    let mut incoming = Vec::with_capacity(events.len());
    for (prefix, event) in events {
        if let Some(event) = parse_event(&prefix, event, now, &mut fields) {
            incoming.push(event);
        }
    }
    if fields.is_empty() {
        Ok(incoming)
    } else {
        Err(fields)
    }
}

fn parse_event(
    prefix: &str,
    event: &Value,
    now: NaiveDateTime,
    fields: &mut Fields,
) -> Option<Incoming> {
    let Some(event) = event.as_object() else {
        let whole = prefix.trim_end_matches('.');
        fields.insert(
            if whole.is_empty() { "event" } else { whole }.to_owned(),
            "Send each event as a JSON object.".into(),
        );
        return None;
    };
    let errors_before = fields.len();
    let mut refuse = |field: &str, message: String| {
        fields.insert(format!("{prefix}{field}"), message);
    };
    let name = match event.get("name") {
        None | Some(Value::Null) => {
            refuse("name", "Name the event, e.g. \"page_view\".".into());
            None
        }
        Some(Value::String(name)) => match check_name(name) {
            Ok(()) => Some(name.clone()),
            Err(message) => {
                refuse("name", message);
                None
            }
        },
        Some(_) => {
            refuse("name", "The name must be a string.".into());
            None
        }
    };
    let properties = match event.get("properties") {
        None | Some(Value::Null) => Some(Map::new()),
        Some(Value::Object(properties)) => {
            if Value::Object(properties.clone()).to_string().len() > MAX_PROPERTIES_BYTES {
                refuse(
                    "properties",
                    format!(
                        "Keep the properties under {} KB.",
                        MAX_PROPERTIES_BYTES / 1024
                    ),
                );
                None
            } else {
                Some(properties.clone())
            }
        }
        Some(_) => {
            refuse(
                "properties",
                "The properties must be a JSON object, like {\"path\": \"/pricing\"}.".into(),
            );
            None
        }
    };
    let occurred_at = match event.get("occurred_at") {
        None | Some(Value::Null) => Some(now),
        Some(Value::String(raw)) => match DateTime::parse_from_rfc3339(raw) {
            Ok(at) if at.naive_utc() > now + Duration::minutes(FUTURE_TOLERANCE_MINUTES) => {
                refuse(
                    "occurred_at",
                    "The time is in the future; send when the event happened.".into(),
                );
                None
            }
            Ok(at) => Some(at.naive_utc()),
            Err(_) => {
                refuse(
                    "occurred_at",
                    format!("\"{raw}\" is not an RFC 3339 time, like 2026-12-04T09:30:00Z."),
                );
                None
            }
        },
        Some(_) => {
            refuse(
                "occurred_at",
                "The time must be an RFC 3339 string, like 2026-12-04T09:30:00Z.".into(),
            );
            None
        }
    };
    let mut id = |field: &str| match event.get(field) {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_i64().filter(|id| *id > 0) {
            Some(id) => Some(id),
            None => {
                refuse(field, "Give the id as a positive whole number.".into());
                None
            }
        },
    };
    let lead_id = id("lead_id");
    let contact_id = id("contact_id");
    let email = match event.get("email") {
        None | Some(Value::Null) => None,
        Some(Value::String(raw)) => match EmailAddress::parse(raw) {
            Ok(email) => Some(email.as_str().to_owned()),
            Err(message) => {
                refuse("email", message);
                None
            }
        },
        Some(_) => {
            refuse("email", "The email must be a string.".into());
            None
        }
    };
    let visitor_id = match event.get("visitor_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(raw)) => match check_visitor_id(raw) {
            Ok(()) => Some(raw.clone()),
            Err(message) => {
                refuse("visitor_id", message);
                None
            }
        },
        Some(_) => {
            refuse("visitor_id", "The visitor id must be a string.".into());
            None
        }
    };
    let subject_fields = ["lead_id", "contact_id", "email", "visitor_id"];
    if subject_fields
        .iter()
        .all(|field| matches!(event.get(*field), None | Some(Value::Null)))
    {
        refuse(
            "lead_id",
            "Say whom the event is about: lead_id, contact_id, email or visitor_id.".into(),
        );
    }
    if fields.len() > errors_before {
        return None;
    }
    Some(Incoming {
        prefix: prefix.to_owned(),
        name: name?,
        properties: properties?,
        occurred_at: occurred_at?,
        lead_id,
        contact_id,
        email,
        visitor_id,
    })
}

/// Event names are short machine words, like `page_view` or `webinar:attended`, so that
/// scoring rules can name them exactly.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Name the event, e.g. \"page_view\".".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "Keep the name to {MAX_NAME_CHARS} characters or fewer."
        ));
    }
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.:-".contains(c);
    if !name.chars().all(allowed) {
        return Err("Use lowercase letters, digits and _ . : - only, like \"page_view\".".into());
    }
    Ok(())
}

fn check_visitor_id(raw: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if raw.is_empty() || raw.len() > MAX_VISITOR_ID_CHARS || !raw.chars().all(allowed) {
        return Err(format!(
            "A visitor id is 1 to {MAX_VISITOR_ID_CHARS} letters, digits, - or _."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use serde_json::json;

    use super::*;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 4)
            .and_then(|day| day.and_hms_opt(9, 0, 0))
            .unwrap_or_default()
    }

    #[test]
    fn a_single_event_reports_fields_without_a_prefix() {
        let errors = parse(&json!({"visitor_id": "abc"}), now()).expect_err("no name");
        assert!(errors.contains_key("name"), "{errors:?}");
    }

    #[test]
    fn a_batch_reports_each_event_by_its_index() {
        let body = json!({"events": [
            {"name": "page_view", "visitor_id": "abc"},
            {"name": "Page View", "visitor_id": "abc"},
            {"name": "x", "lead_id": 1, "occurred_at": "yesterday"},
            {"name": "x", "lead_id": 1, "properties": [1]},
            {"name": "x"},
        ]});
        let errors = parse(&body, now()).expect_err("invalid");
        assert!(errors.contains_key("events[1].name"));
        assert!(errors.contains_key("events[2].occurred_at"));
        assert!(errors.contains_key("events[3].properties"));
        assert!(errors.contains_key("events[4].lead_id"));
        assert!(!errors.keys().any(|key| key.starts_with("events[0]")));
    }

    #[test]
    fn times_are_read_as_utc_and_far_future_ones_refused() {
        let ok = parse(
            &json!({"name": "x", "lead_id": 1, "occurred_at": "2026-12-04T10:00:00+02:00"}),
            now(),
        )
        .expect("valid");
        assert_eq!(ok[0].occurred_at, now() - Duration::hours(1));
        let errors = parse(
            &json!({"name": "x", "lead_id": 1, "occurred_at": "2026-12-05T09:00:00Z"}),
            now(),
        )
        .expect_err("future");
        assert!(errors.contains_key("occurred_at"));
    }

    #[test]
    fn event_names_are_machine_words() {
        assert!(check_name("page_view").is_ok());
        assert!(check_name("webinar:attended.v2").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("Page View").is_err());
        assert!(check_name(&"a".repeat(81)).is_err());
    }

    #[test]
    fn batches_are_limited() {
        let many: Vec<Value> = (0..=MAX_EVENTS)
            .map(|_| json!({"name": "x", "visitor_id": "v"}))
            .collect();
        let errors = parse(&json!({ "events": many }), now()).expect_err("too many");
        assert!(errors.contains_key("events"));
        let errors = parse(&json!({ "events": [] }), now()).expect_err("empty");
        assert!(errors.contains_key("events"));
    }
}
