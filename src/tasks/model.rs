//! A task as stored, and the rules a task form must pass. Due times are typed in the user's
//! time zone and stored in UTC.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Deserialize;

use super::panel::Linked;
use crate::db::schema::tasks;
use crate::error::FieldErrors;

pub const MAX_TITLE_LENGTH: usize = 200;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tasks, check_for_backend(diesel::sqlite::Sqlite))]
pub struct Task {
    pub id: i64,
    pub title: String,
    /// UTC.
    pub due_at: NaiveDateTime,
    pub assignee_id: i64,
    pub created_by: Option<i64>,
    pub contact_id: Option<i64>,
    pub company_id: Option<i64>,
    pub deal_id: Option<i64>,
    pub lead_id: Option<i64>,
    pub completed_at: Option<NaiveDateTime>,
    pub reminder_queued_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Task {
    /// The record the task is linked to, if any.
    pub fn linked(&self) -> Option<Linked> {
        linked_from(LinkColumns {
            contact_id: self.contact_id,
            company_id: self.company_id,
            deal_id: self.deal_id,
            lead_id: self.lead_id,
        })
    }
}

/// The link columns of a task row. A converted lead's task keeps its `lead_id` next to the
/// contact it moved to; the contact wins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkColumns {
    pub contact_id: Option<i64>,
    pub company_id: Option<i64>,
    pub deal_id: Option<i64>,
    pub lead_id: Option<i64>,
}

pub fn linked_from(columns: LinkColumns) -> Option<Linked> {
    columns
        .contact_id
        .map(Linked::Contact)
        .or(columns.company_id.map(Linked::Company))
        .or(columns.deal_id.map(Linked::Deal))
        .or(columns.lead_id.map(Linked::Lead))
}

impl Linked {
    /// The query string of `/tasks/new` that links a new task to this record.
    pub fn query(self) -> String {
        match self {
            Linked::Contact(id) => format!("contact={id}"),
            Linked::Company(id) => format!("company={id}"),
            Linked::Deal(id) => format!("deal={id}"),
            Linked::Lead(id) => format!("lead={id}"),
        }
    }

    /// The record's page.
    pub fn path(self) -> String {
        match self {
            Linked::Contact(id) => format!("/contacts/{id}"),
            Linked::Company(id) => format!("/companies/{id}"),
            Linked::Deal(id) => format!("/deals/{id}"),
            Linked::Lead(id) => format!("/leads/{id}"),
        }
    }

    pub fn kind_label(self) -> &'static str {
        match self {
            Linked::Contact(_) => "Contact",
            Linked::Company(_) => "Company",
            Linked::Deal(_) => "Deal",
            Linked::Lead(_) => "Lead",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Linked::Contact(id) | Linked::Company(id) | Linked::Deal(id) | Linked::Lead(id) => id,
        }
    }

    /// The link columns as the row stores them.
    pub fn columns(link: Option<Linked>) -> LinkColumns {
        let none = LinkColumns::default();
        match link {
            Some(Linked::Contact(id)) => LinkColumns {
                contact_id: Some(id),
                ..none
            },
            Some(Linked::Company(id)) => LinkColumns {
                company_id: Some(id),
                ..none
            },
            Some(Linked::Deal(id)) => LinkColumns {
                deal_id: Some(id),
                ..none
            },
            Some(Linked::Lead(id)) => LinkColumns {
                lead_id: Some(id),
                ..none
            },
            None => none,
        }
    }
}

/// A task form as typed. The link travels as one of `contact`, `company`, `deal` or `lead`
/// (set from `/tasks/new?contact=…`); `unlink` drops it when editing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TaskForm {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub due_date: String,
    #[serde(default)]
    pub due_time: String,
    #[serde(default)]
    pub assignee: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub company: String,
    #[serde(default)]
    pub deal: String,
    #[serde(default)]
    pub lead: String,
    #[serde(default)]
    pub unlink: String,
}

/// A form that passed validation. Whether the assignee and the linked record exist is
/// checked when saving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInput {
    pub title: String,
    /// UTC.
    pub due_at: NaiveDateTime,
    pub assignee_id: i64,
    pub link: Option<Linked>,
}

impl TaskForm {
    /// A stored task as its form shows it, in the viewer's time zone.
    pub fn of(task: &Task, tz: Tz) -> Self {
        let local = task.due_at.and_utc().with_timezone(&tz).naive_local();
        // Only the record the task shows as linked: a converted lead's task is the contact's.
        let columns = Linked::columns(task.linked());
        let text = |id: Option<i64>| id.map(|id| id.to_string()).unwrap_or_default();
        Self {
            title: task.title.clone(),
            due_date: local.date().format("%Y-%m-%d").to_string(),
            due_time: local.time().format("%H:%M").to_string(),
            assignee: task.assignee_id.to_string(),
            contact: text(columns.contact_id),
            company: text(columns.company_id),
            deal: text(columns.deal_id),
            lead: text(columns.lead_id),
            unlink: String::new(),
        }
    }

    /// The link the form carries, or why it cannot be read.
    pub fn link(&self) -> Result<Option<Linked>, String> {
        if !self.unlink.trim().is_empty() {
            return Ok(None);
        }
        let mut found = Vec::new();
        for (raw, make) in [
            (&self.contact, Linked::Contact as fn(i64) -> Linked),
            (&self.company, Linked::Company),
            (&self.deal, Linked::Deal),
            (&self.lead, Linked::Lead),
        ] {
            let raw = raw.trim();
            if raw.is_empty() {
                continue;
            }
            match raw.parse::<i64>() {
                Ok(id) if id > 0 => found.push(make(id)),
                _ => return Err(MISSING_LINK.to_owned()),
            }
        }
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err("A task is linked to one record at most.".to_owned()),
        }
    }

    /// Checks every field; all problems are reported at once, next to their fields.
    pub fn validate(&self, tz: Tz) -> Result<TaskInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = errors.take("title", parse_title(&self.title));
        let date = errors.take("due_date", parse_date(&self.due_date));
        let time = errors.take("due_time", parse_time(&self.due_time));
        let due_at = match (date, time) {
            (Some(date), Some(time)) => errors.take("due_time", to_utc(date, time, tz)),
            _ => None,
        };
        let assignee_id = errors.take("assignee", parse_assignee(&self.assignee));
        let link = errors.take("link", self.link());
        match (title, due_at, assignee_id, link) {
            (Some(title), Some(due_at), Some(assignee_id), Some(link)) if errors.is_empty() => {
                Ok(TaskInput {
                    title,
                    due_at,
                    assignee_id,
                    link,
                })
            }
            _ => Err(errors),
        }
    }
}

pub const MISSING_LINK: &str = "The record this task was linked to no longer exists.";

fn parse_title(raw: &str) -> Result<String, String> {
    let title = raw.trim();
    if title.is_empty() {
        return Err("Enter what needs doing, like “Call back about pricing”.".to_owned());
    }
    if title.chars().count() > MAX_TITLE_LENGTH {
        return Err(format!(
            "The title is too long (at most {MAX_TITLE_LENGTH} characters)."
        ));
    }
    if title.chars().any(char::is_control) {
        return Err("The title cannot contain control characters.".to_owned());
    }
    Ok(title.to_owned())
}

/// Dates a person could mean: anything else is a typo.
const FIRST_YEAR: i32 = 2000;
const LAST_YEAR: i32 = 2100;

fn parse_date(raw: &str) -> Result<NaiveDate, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("Enter the due date.".to_owned());
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| "Enter a date like 2026-12-31.".to_owned())?;
    if !(FIRST_YEAR..=LAST_YEAR).contains(&chrono::Datelike::year(&date)) {
        return Err(format!(
            "Enter a date between {FIRST_YEAR} and {LAST_YEAR}."
        ));
    }
    Ok(date)
}

fn parse_time(raw: &str) -> Result<NaiveTime, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("Enter the due time, like 14:30.".to_owned());
    }
    NaiveTime::parse_from_str(raw, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M:%S"))
        .map_err(|_| "Enter a time like 14:30.".to_owned())
}

/// A wall-clock time in `tz` as UTC. When the clocks go back, the earlier of the two times is
/// meant; a time the clocks skip does not exist.
pub fn to_utc(date: NaiveDate, time: NaiveTime, tz: Tz) -> Result<NaiveDateTime, String> {
    tz.from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|at| at.naive_utc())
        .ok_or_else(|| {
            "That time does not exist in your time zone (the clocks change then).".to_owned()
        })
}

fn parse_assignee(raw: &str) -> Result<i64, String> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| ASSIGNEE_ERROR.to_owned())
}

pub const ASSIGNEE_ERROR: &str = "Choose who does this task.";

#[cfg(test)]
mod tests {
    use super::*;

    fn form(title: &str, date: &str, time: &str) -> TaskForm {
        TaskForm {
            title: title.to_owned(),
            due_date: date.to_owned(),
            due_time: time.to_owned(),
            assignee: "7".to_owned(),
            ..TaskForm::default()
        }
    }

    #[test]
    fn due_times_are_typed_in_the_users_zone_and_stored_in_utc() {
        let input = form("Call Ada", "2026-07-01", "09:30")
            .validate(chrono_tz::Europe::Paris)
            .expect("valid");
        assert_eq!(input.due_at.to_string(), "2026-07-01 07:30:00");
        assert_eq!(input.assignee_id, 7);
        assert_eq!(input.link, None);
    }

    #[test]
    fn a_time_the_clocks_skip_is_refused_and_a_repeated_one_is_the_earlier() {
        let paris = chrono_tz::Europe::Paris;
        let errors = form("x", "2026-03-29", "02:30")
            .validate(paris)
            .expect_err("02:30 does not exist that night");
        assert!(errors.get("due_time").is_some());
        let input = form("x", "2026-10-25", "02:30")
            .validate(paris)
            .expect("valid");
        assert_eq!(input.due_at.to_string(), "2026-10-25 00:30:00");
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut bad = form("  ", "31/12/2026", "25:00");
        bad.assignee = "someone".to_owned();
        bad.contact = "x".to_owned();
        let errors = bad.validate(chrono_tz::UTC).expect_err("invalid");
        for field in ["title", "due_date", "due_time", "assignee", "link"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        let errors = form("x", "1999-12-31", "10:00")
            .validate(chrono_tz::UTC)
            .expect_err("too early");
        assert!(errors.get("due_date").is_some());
    }

    #[test]
    fn a_task_links_to_one_record_at_most() {
        let mut two = form("x", "2026-12-01", "10:00");
        two.contact = "1".to_owned();
        two.deal = "2".to_owned();
        assert!(two.link().is_err());
        two.unlink = "1".to_owned();
        assert_eq!(two.link(), Ok(None));
        let mut one = form("x", "2026-12-01", "10:00");
        one.company = "3".to_owned();
        assert_eq!(one.link(), Ok(Some(Linked::Company(3))));
        let mut lead = form("x", "2026-12-01", "10:00");
        lead.lead = "4".to_owned();
        assert_eq!(lead.link(), Ok(Some(Linked::Lead(4))));
        lead.contact = "5".to_owned();
        assert!(lead.link().is_err());
    }

    #[test]
    fn a_converted_leads_task_shows_as_the_contacts() {
        let converted = LinkColumns {
            contact_id: Some(5),
            lead_id: Some(4),
            ..LinkColumns::default()
        };
        assert_eq!(linked_from(converted), Some(Linked::Contact(5)));
        let for_lead = Linked::columns(Some(Linked::Lead(4)));
        assert_eq!(linked_from(for_lead), Some(Linked::Lead(4)));
        assert_eq!(Linked::Lead(4).path(), "/leads/4");
        assert_eq!(Linked::Lead(4).query(), "lead=4");
    }
}
