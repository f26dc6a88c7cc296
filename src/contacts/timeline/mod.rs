//! The 360° timeline: one append-only stream per customer. Every entry names the contact
//! and/or the company it belongs to; a contact's entries also show on its company.

pub mod mentions;
pub mod routes;
pub mod view;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::Conn;
use crate::db::schema::{companies, contacts, timeline_entries, users};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Note,
    Call,
    Meeting,
    Email,
    /// A record was created, changed, archived or merged.
    Change,
    /// A deal of this customer was created, won or lost.
    Deal,
    /// A task linked to this customer was completed.
    Task,
    /// A behavioural event (a page view, a form submission, an event sent to the API).
    Event,
    /// A lead's grade changed.
    Score,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Note => "note",
            Kind::Call => "call",
            Kind::Meeting => "meeting",
            Kind::Email => "email",
            Kind::Change => "change",
            Kind::Deal => "deal",
            Kind::Task => "task",
            Kind::Event => "event",
            Kind::Score => "score",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Kind::Note,
            Kind::Call,
            Kind::Meeting,
            Kind::Email,
            Kind::Change,
            Kind::Deal,
            Kind::Task,
            Kind::Event,
            Kind::Score,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == value)
    }

    /// Whether this kind is an interaction with the customer (it moves "last activity").
    pub fn is_activity(self) -> bool {
        !matches!(
            self,
            Kind::Change | Kind::Deal | Kind::Task | Kind::Event | Kind::Score
        )
    }
}

/// Whose timeline a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Contact(i64),
    Company(i64),
    Lead(i64),
}

impl Subject {
    /// The record's page.
    pub fn path(self) -> String {
        match self {
            Subject::Contact(id) => format!("/contacts/{id}"),
            Subject::Company(id) => format!("/companies/{id}"),
            Subject::Lead(id) => format!("/leads/{id}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub contact_id: Option<i64>,
    pub company_id: Option<i64>,
    /// The deal the entry is about; the page links to it.
    pub deal_id: Option<i64>,
    /// The lead whose timeline the entry is on (kept when the lead is converted).
    pub lead_id: Option<i64>,
    pub kind: Kind,
    pub author_id: Option<i64>,
    /// When it happened: what the timeline is ordered by.
    pub occurred_at: NaiveDateTime,
    /// When it was written down (a call logged afterwards, an event sent later).
    pub recorded_at: NaiveDateTime,
    pub body: &'a str,
    pub outcome: Option<&'a str>,
    pub duration_minutes: Option<i32>,
}

#[derive(Debug, Clone, Queryable)]
pub struct Entry {
    pub id: i64,
    pub contact_id: Option<i64>,
    pub company_id: Option<i64>,
    pub deal_id: Option<i64>,
    pub kind: String,
    #[diesel(deserialize_as = crate::db::timestamps::Stamp)]
    pub occurred_at: NaiveDateTime,
    pub body: String,
    pub outcome: Option<String>,
    pub duration_minutes: Option<i32>,
    pub author_name: Option<String>,
}

impl<'a> NewEntry<'a> {
    /// An entry written by Rapport itself rather than a person, about something that
    /// happened as it was written; the caller names its subject
    /// (`lead_id: Some(..), ..NewEntry::system(..)`).
    pub fn system(kind: Kind, occurred_at: NaiveDateTime, body: &'a str) -> Self {
        Self {
            contact_id: None,
            company_id: None,
            deal_id: None,
            lead_id: None,
            kind,
            author_id: None,
            occurred_at,
            recorded_at: occurred_at,
            body,
            outcome: None,
            duration_minutes: None,
        }
    }
}

/// Appends an entry in the caller's transaction; an interaction also becomes the record's
/// (and its company's) last activity.
pub fn add(conn: &mut Conn, entry: &NewEntry<'_>) -> QueryResult<i64> {
    let id = diesel::insert_into(timeline_entries::table)
        .values((
            timeline_entries::contact_id.eq(entry.contact_id),
            timeline_entries::company_id.eq(entry.company_id),
            timeline_entries::deal_id.eq(entry.deal_id),
            timeline_entries::lead_id.eq(entry.lead_id),
            timeline_entries::kind.eq(entry.kind.as_str()),
            timeline_entries::author_id.eq(entry.author_id),
            timeline_entries::occurred_at.eq(entry.occurred_at),
            timeline_entries::body.eq(entry.body),
            timeline_entries::outcome.eq(entry.outcome),
            timeline_entries::duration_minutes.eq(entry.duration_minutes),
            timeline_entries::created_at.eq(entry.recorded_at),
        ))
        .returning(timeline_entries::id)
        .get_result(conn)?;
    if entry.kind.is_activity() {
        if let Some(contact_id) = entry.contact_id {
            // Logging an older call must not move "last activity" back in time.
            diesel::update(contacts::table.find(contact_id))
                .filter(
                    contacts::last_activity_at
                        .is_null()
                        .or(contacts::last_activity_at.lt(entry.occurred_at)),
                )
                .set(contacts::last_activity_at.eq(entry.occurred_at))
                .execute(conn)?;
        }
        if let Some(company_id) = entry.company_id {
            diesel::update(companies::table.find(company_id))
                .filter(
                    companies::last_activity_at
                        .is_null()
                        .or(companies::last_activity_at.lt(entry.occurred_at)),
                )
                .set(companies::last_activity_at.eq(entry.occurred_at))
                .execute(conn)?;
        }
    }
    Ok(id)
}

/// A cursor into a timeline: the (time, id) of the last entry shown.
pub type Cursor = (NaiveDateTime, i64);

/// Newest first, `limit` entries older than `before`, on the subject's index.
pub fn page(
    conn: &mut Conn,
    subject: Subject,
    before: Option<Cursor>,
    limit: i64,
) -> QueryResult<Vec<Entry>> {
    let mut query = timeline_entries::table
        .left_join(users::table.on(users::id.nullable().eq(timeline_entries::author_id)))
        .select((
            timeline_entries::id,
            timeline_entries::contact_id,
            timeline_entries::company_id,
            timeline_entries::deal_id,
            timeline_entries::kind,
            timeline_entries::occurred_at,
            timeline_entries::body,
            timeline_entries::outcome,
            timeline_entries::duration_minutes,
            users::display_name.nullable(),
        ))
        .order((
            timeline_entries::occurred_at.desc(),
            timeline_entries::id.desc(),
        ))
        .limit(limit)
        .into_boxed();
    query = match subject {
        Subject::Contact(id) => query.filter(timeline_entries::contact_id.eq(id)),
        Subject::Company(id) => query.filter(timeline_entries::company_id.eq(id)),
        Subject::Lead(id) => query.filter(timeline_entries::lead_id.eq(id)),
    };
    if let Some((at, id)) = before {
        query = query.filter(
            timeline_entries::occurred_at
                .lt(at)
                .or(timeline_entries::occurred_at
                    .eq(at)
                    .and(timeline_entries::id.lt(id))),
        );
    }
    query.load(conn)
}
