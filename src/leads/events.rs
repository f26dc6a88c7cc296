//! Behavioural events (page views, form submissions, events sent to the API): stored,
//! put on the lead's (or contact's) timeline and counted by the scoring rules in the same
//! transaction.
//!
//! An event is about a lead, a contact, or nobody known yet: an anonymous website visitor,
//! whose events wait under the visitor id until a form submission tells whose it is
//! (`stitch` for a lead, `stitch_to_contact` for a contact). From then on the visitor's
//! events go straight to the lead or contact. When a lead is converted, its visitors become
//! the new contact's (`visitors_become_contact`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Map, Value};

use super::scoring;
use crate::contacts::timeline::{self, Kind, NewEntry};
use crate::db::Conn;
use crate::db::schema::{lead_events as events, lead_visitors, leads};

/// An event as it arrives; without a lead it waits, anonymous, for its visitor to be known.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub lead_id: Option<i64>,
    pub visitor_id: Option<&'a str>,
    pub name: &'a str,
    pub properties: &'a Map<String, Value>,
    pub occurred_at: NaiveDateTime,
}

/// Whose timeline an event lands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Lead(i64),
    Contact(i64),
    /// A visitor nobody knows yet (the event keeps its visitor id).
    Anonymous,
}

/// One event of a batch, its subject already resolved.
#[derive(Debug, Clone)]
pub struct BatchEvent {
    pub subject: Subject,
    pub visitor_id: Option<String>,
    pub name: String,
    pub properties: Map<String, Value>,
    pub occurred_at: NaiveDateTime,
}

/// What the timeline says of an event: its name and the page or label it is about.
pub fn describe(name: &str, properties: &Map<String, Value>) -> String {
    let detail = ["path", "url", "title", "form", "label"]
        .iter()
        .find_map(|key| properties.get(*key).and_then(Value::as_str));
    match detail {
        Some(detail) => format!("{name} {detail}"),
        None => name.to_owned(),
    }
}

/// Stores an event in the caller's transaction; an event of a known lead lands on its
/// timeline and rescores it.
pub fn record(conn: &mut Conn, event: &NewEvent<'_>, now: NaiveDateTime) -> QueryResult<i64> {
    let subject = event.lead_id.map_or(Subject::Anonymous, Subject::Lead);
    let batch = [BatchEvent {
        subject,
        visitor_id: event.visitor_id.map(str::to_owned),
        name: event.name.to_owned(),
        properties: event.properties.clone(),
        occurred_at: event.occurred_at,
    }];
    let ids = record_batch(conn, &batch, &[], now)?;
    Ok(ids.first().copied().unwrap_or_default())
}

/// Stores a batch of events in the caller's transaction: each lands on its subject's
/// timeline (an anonymous one of a visitor known to be a contact, on the contact's); then
/// each `(visitor, lead or contact)` of `stitches` gives that visitor's anonymous events
/// (the batch's included) to the lead or contact; finally every lead touched is rescored
/// once, however many of the events were its. Returns the new events' ids, in order.
pub fn record_batch(
    conn: &mut Conn,
    batch: &[BatchEvent],
    stitches: &[(String, Subject)],
    now: NaiveDateTime,
) -> QueryResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(batch.len());
    // The names of each touched lead's events, for the score history's reason.
    let mut touched: BTreeMap<i64, BTreeSet<&str>> = BTreeMap::new();
    let mut visitor_contacts: BTreeMap<&str, Option<i64>> = BTreeMap::new();
    for event in batch {
        let subject = match (event.subject, event.visitor_id.as_deref()) {
            // A visitor known to be a contact: the event goes on the contact's timeline.
            (Subject::Anonymous, Some(visitor_id)) => {
                let contact = match visitor_contacts.get(visitor_id) {
                    Some(contact) => *contact,
                    None => {
                        let contact = contact_of_visitor(conn, visitor_id)?;
                        *visitor_contacts.entry(visitor_id).or_insert(contact)
                    }
                };
                contact.map_or(Subject::Anonymous, Subject::Contact)
            }
            (subject, _) => subject,
        };
        let (lead_id, contact_id) = match subject {
            Subject::Lead(id) => (Some(id), None),
            Subject::Contact(id) => (None, Some(id)),
            Subject::Anonymous => (None, None),
        };
        let id = diesel::insert_into(events::table)
            .values((
                events::lead_id.eq(lead_id),
                events::contact_id.eq(contact_id),
                events::visitor_id.eq(event.visitor_id.as_deref()),
                events::name.eq(&event.name),
                events::properties.eq(Value::Object(event.properties.clone()).to_string()),
                events::occurred_at.eq(event.occurred_at),
                events::received_at.eq(now),
            ))
            .returning(events::id)
            .get_result(conn)?;
        ids.push(id);
        if lead_id.is_some() || contact_id.is_some() {
            on_timeline(
                conn,
                lead_id,
                contact_id,
                &event.name,
                &event.properties,
                event.occurred_at,
                now,
            )?;
        }
        if let Some(lead_id) = lead_id {
            touched.entry(lead_id).or_default().insert(&event.name);
        }
    }
    for (visitor_id, known) in stitches {
        match *known {
            Subject::Lead(lead_id) => {
                if attach_visitor(conn, visitor_id, lead_id, now)? > 0 {
                    touched.entry(lead_id).or_default();
                }
            }
            Subject::Contact(contact_id) => {
                stitch_to_contact(conn, visitor_id, contact_id, now)?;
            }
            Subject::Anonymous => {}
        }
    }
    let rescored: Vec<(i64, String)> = touched
        .into_iter()
        .map(|(lead_id, names)| {
            let reason = match names.len() {
                0 => "earlier visits joined to the lead".to_owned(),
                1 => format!("event {}", names.iter().copied().collect::<String>()),
                _ => format!(
                    "events {}",
                    names.into_iter().collect::<Vec<_>>().join(", ")
                ),
            };
            (lead_id, reason)
        })
        .collect();
    scoring::rescore_many(conn, &rescored, now)?;
    Ok(ids)
}

fn on_timeline(
    conn: &mut Conn,
    lead_id: Option<i64>,
    contact_id: Option<i64>,
    name: &str,
    properties: &Map<String, Value>,
    occurred_at: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    let body = describe(name, properties);
    timeline::add(
        conn,
        &NewEntry {
            lead_id,
            contact_id,
            recorded_at: now,
            ..NewEntry::system(Kind::Event, occurred_at, &body)
        },
    )
}

/// The lead a visitor was stitched to, if any, while the visitor is not known as a contact
/// (a contact's visitor's events go to the contact: see `contact_of_visitor`).
pub fn lead_of_visitor(conn: &mut Conn, visitor_id: &str) -> QueryResult<Option<i64>> {
    let row: Option<(Option<i64>, Option<i64>)> = lead_visitors::table
        .find(visitor_id)
        .select((lead_visitors::lead_id, lead_visitors::contact_id))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((lead_id, None)) => lead_id,
        _ => None,
    })
}

/// The contact a visitor turned out to be (a web form sent with the contact's email, or the
/// conversion of the visitor's lead), if any.
pub fn contact_of_visitor(conn: &mut Conn, visitor_id: &str) -> QueryResult<Option<i64>> {
    Ok(lead_visitors::table
        .find(visitor_id)
        .select(lead_visitors::contact_id)
        .first::<Option<i64>>(conn)
        .optional()?
        .flatten())
}

/// Gives a visitor's earlier anonymous events to the lead they turned out to be (after a
/// form submission), puts them on its timeline and rescores it; returns how many moved.
/// The visitor's later events go straight to the lead.
pub fn stitch(
    conn: &mut Conn,
    visitor_id: &str,
    lead_id: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let moved = attach_visitor(conn, visitor_id, lead_id, now)?;
    if moved > 0 {
        scoring::rescore(conn, lead_id, now, "earlier visits joined to the lead")?;
    }
    Ok(moved)
}

/// Gives a visitor's earlier anonymous events to the contact they turned out to be (a web
/// form sent with the contact's email) and puts them on its timeline; returns how many
/// moved. The visitor's later events go straight to the contact.
pub fn stitch_to_contact(
    conn: &mut Conn,
    visitor_id: &str,
    contact_id: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(lead_visitors::table)
        .values((
            lead_visitors::visitor_id.eq(visitor_id),
            lead_visitors::contact_id.eq(contact_id),
            lead_visitors::stitched_at.eq(now),
        ))
        .on_conflict(lead_visitors::visitor_id)
        .do_update()
        .set((
            lead_visitors::contact_id.eq(contact_id),
            lead_visitors::stitched_at.eq(now),
        ))
        .execute(conn)?;
    move_anonymous_events(conn, visitor_id, None, Some(contact_id), now)
}

/// After a lead's conversion: the visitors stitched to it are the new contact's from now
/// on, so their later events land on the contact. Returns how many visitors it moved.
pub fn visitors_become_contact(
    conn: &mut Conn,
    lead_id: i64,
    contact_id: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(lead_visitors::table.filter(lead_visitors::lead_id.eq(lead_id)))
        .set((
            lead_visitors::contact_id.eq(contact_id),
            lead_visitors::stitched_at.eq(now),
        ))
        .execute(conn)
}

/// When two contacts are merged: the visitors of the one that goes are the kept one's.
pub fn visitors_move_to_contact(conn: &mut Conn, from: i64, to: i64) -> QueryResult<usize> {
    diesel::update(lead_visitors::table.filter(lead_visitors::contact_id.eq(from)))
        .set(lead_visitors::contact_id.eq(to))
        .execute(conn)
}

/// Remembers whose the visitor is and moves its anonymous events to the lead's timeline,
/// without rescoring. A converted lead's visitor is its contact's too.
fn attach_visitor(
    conn: &mut Conn,
    visitor_id: &str,
    lead_id: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let converted_contact: Option<i64> = leads::table
        .find(lead_id)
        .select(leads::converted_contact_id)
        .first::<Option<i64>>(conn)
        .optional()?
        .flatten();
    diesel::insert_into(lead_visitors::table)
        .values((
            lead_visitors::visitor_id.eq(visitor_id),
            lead_visitors::lead_id.eq(lead_id),
            lead_visitors::contact_id.eq(converted_contact),
            lead_visitors::stitched_at.eq(now),
        ))
        .on_conflict(lead_visitors::visitor_id)
        .do_update()
        .set((
            lead_visitors::lead_id.eq(lead_id),
            lead_visitors::contact_id.eq(converted_contact),
            lead_visitors::stitched_at.eq(now),
        ))
        .execute(conn)?;
    move_anonymous_events(conn, visitor_id, Some(lead_id), converted_contact, now)
}

/// Hands a visitor's anonymous events to a lead and/or contact and puts them on their
/// timeline; returns how many moved.
fn move_anonymous_events(
    conn: &mut Conn,
    visitor_id: &str,
    lead_id: Option<i64>,
    contact_id: Option<i64>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let anonymous: Vec<(i64, String, String, NaiveDateTime)> = events::table
        .filter(events::visitor_id.eq(visitor_id))
        .filter(events::lead_id.is_null())
        .filter(events::contact_id.is_null())
        .order(events::id)
        .select((
            events::id,
            events::name,
            events::properties,
            events::occurred_at,
        ))
        .load(conn)?;
    if anonymous.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = anonymous.iter().map(|(id, ..)| *id).collect();
    diesel::update(events::table.filter(events::id.eq_any(&ids)))
        .set((
            events::lead_id.eq(lead_id),
            events::contact_id.eq(contact_id),
        ))
        .execute(conn)?;
    for (_, name, properties, occurred_at) in &anonymous {
        let properties: Map<String, Value> = serde_json::from_str(properties).unwrap_or_default();
        on_timeline(
            conn,
            lead_id,
            contact_id,
            name,
            &properties,
            *occurred_at,
            now,
        )?;
    }
    Ok(anonymous.len())
}
