//! Behavioural events (page views, form submissions, events sent to the API): stored,
//! put on the lead's timeline and counted by the scoring rules in the same transaction.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Map, Value};

use super::scoring;
use crate::contacts::timeline::{self, Kind, NewEntry};
use crate::db::Conn;
use crate::db::schema::lead_events;

/// An event as it arrives; without a lead it waits, anonymous, for its visitor to be known.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub lead_id: Option<i64>,
    pub visitor_id: Option<&'a str>,
    pub name: &'a str,
    pub properties: &'a Map<String, Value>,
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
    let id = diesel::insert_into(lead_events::table)
        .values((
            lead_events::lead_id.eq(event.lead_id),
            lead_events::visitor_id.eq(event.visitor_id),
            lead_events::name.eq(event.name),
            lead_events::properties.eq(Value::Object(event.properties.clone()).to_string()),
            lead_events::occurred_at.eq(event.occurred_at),
            lead_events::received_at.eq(now),
        ))
        .returning(lead_events::id)
        .get_result(conn)?;
    if let Some(lead_id) = event.lead_id {
        on_timeline(conn, lead_id, event.name, event.properties, event.occurred_at)?;
        scoring::rescore(conn, lead_id, now, &format!("event {}", event.name))?;
    }
    Ok(id)
}

fn on_timeline(
    conn: &mut Conn,
    lead_id: i64,
    name: &str,
    properties: &Map<String, Value>,
    occurred_at: NaiveDateTime,
) -> QueryResult<i64> {
    let body = describe(name, properties);
    timeline::add(
        conn,
        &NewEntry {
            lead_id: Some(lead_id),
            ..NewEntry::system(Kind::Event, occurred_at, &body)
        },
    )
}

/// Gives a visitor's earlier anonymous events to the lead they turned out to be (after a
/// form submission), puts them on its timeline and rescores it; returns how many moved.
pub fn stitch(
    conn: &mut Conn,
    visitor_id: &str,
    lead_id: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let anonymous: Vec<(i64, String, String, NaiveDateTime)> = lead_events::table
        .filter(lead_events::visitor_id.eq(visitor_id))
        .filter(lead_events::lead_id.is_null())
        .order(lead_events::id)
        .select((
            lead_events::id,
            lead_events::name,
            lead_events::properties,
            lead_events::occurred_at,
        ))
        .load(conn)?;
    if anonymous.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = anonymous.iter().map(|(id, ..)| *id).collect();
    diesel::update(lead_events::table.filter(lead_events::id.eq_any(&ids)))
        .set(lead_events::lead_id.eq(lead_id))
        .execute(conn)?;
    for (_, name, properties, occurred_at) in &anonymous {
        let properties: Map<String, Value> = serde_json::from_str(properties).unwrap_or_default();
        on_timeline(conn, lead_id, name, &properties, *occurred_at)?;
    }
    scoring::rescore(conn, lead_id, now, "earlier visits joined to the lead")?;
    Ok(anonymous.len())
}
