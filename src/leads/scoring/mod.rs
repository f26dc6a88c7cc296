//! Lead scoring: the pure engine (`engine`), the rules as admins store them (`rules`), and
//! here the glue that scores a lead from the database and keeps its score, grade, history
//! and timeline in step, in the caller's transaction.

pub mod admin;
pub mod engine;
pub mod rules;

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use self::engine::{Adjustment, Breakdown, Event, Field, LeadFacts, Points, RuleSet};
use crate::contacts::timeline::{self, Kind, NewEntry};
use crate::db::Conn;
use crate::db::schema::{
    lead_adjustments, lead_events, lead_score_changes, lead_tags, leads, tags,
};
use crate::leads::model::Lead;

diesel::define_sql_function! {
    /// SQL's `lower()`: event names match rules whatever their case.
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// How many leads the background rescoring handles per transaction.
pub const RESCORE_BATCH: i64 = 2000;

/// What a lead's facts look like to the rules.
pub fn facts_of(lead: &Lead, tag_names: &[String]) -> LeadFacts {
    let mut facts = LeadFacts::default();
    let mut set = |field: Field, value: Option<String>| {
        if let Some(value) = value {
            facts.set(field, value);
        }
    };
    let name = crate::contacts::contact::model::full_name(&lead.first_name, &lead.last_name);
    set(Field::Name, Some(name).filter(|name| !name.is_empty()));
    set(Field::Email, lead.email.clone());
    set(Field::Phone, lead.phone.clone());
    set(Field::CompanyName, lead.company_name.clone());
    set(Field::JobTitle, lead.job_title.clone());
    set(
        Field::CompanySize,
        lead.company_size.map(|size| size.to_string()),
    );
    set(Field::Industry, lead.industry.clone());
    set(Field::Country, lead.country.clone());
    set(Field::Website, lead.website.clone());
    set(Field::Source, Some(lead.source.clone()));
    set(Field::Status, Some(lead.status.clone()));
    set(
        Field::Tags,
        Some(tag_names.join(",")).filter(|tags| !tags.is_empty()),
    );
    facts
}

/// Everything the engine needs about a set of leads, loaded in one query per kind.
#[derive(Default)]
pub struct Inputs {
    tags: HashMap<i64, Vec<String>>,
    events: HashMap<i64, Vec<Event>>,
    adjustments: HashMap<i64, Vec<Adjustment>>,
}

impl Inputs {
    pub fn load(conn: &mut Conn, lead_ids: &[i64], rules: &RuleSet) -> QueryResult<Self> {
        let mut inputs = Inputs::default();
        if lead_ids.is_empty() {
            return Ok(inputs);
        }
        let tag_rows: Vec<(i64, String)> = lead_tags::table
            .inner_join(tags::table)
            .filter(lead_tags::lead_id.eq_any(lead_ids))
            .order((lead_tags::lead_id, tags::name))
            .select((lead_tags::lead_id, tags::name))
            .load(conn)?;
        for (lead_id, name) in tag_rows {
            inputs.tags.entry(lead_id).or_default().push(name);
        }
        let names = engine::event_names(rules);
        if !names.is_empty() {
            // Only the events some rule looks at: most events never reach the engine. SQL's
            // lower() folds ASCII only, as the engine's comparison of names does.
            let wanted: Vec<String> = rules
                .behaviour
                .iter()
                .map(|rule| rule.event_name.to_ascii_lowercase())
                .collect();
            let event_rows: Vec<(Option<i64>, String, String, NaiveDateTime)> = lead_events::table
                .filter(lead_events::lead_id.eq_any(lead_ids))
                .filter(lower(lead_events::name).eq_any(wanted))
                .select((
                    lead_events::lead_id,
                    lead_events::name,
                    lead_events::properties,
                    lead_events::occurred_at,
                ))
                .load(conn)?;
            for (lead_id, name, properties, occurred_at) in event_rows {
                let Some(lead_id) = lead_id else { continue };
                if !names.contains(&name.to_lowercase()) {
                    continue;
                }
                let properties = serde_json::from_str(&properties).unwrap_or_default();
                inputs.events.entry(lead_id).or_default().push(Event {
                    name,
                    properties,
                    occurred_at,
                });
            }
        }
        let adjustment_rows: Vec<(i64, i64, String)> = lead_adjustments::table
            .filter(lead_adjustments::lead_id.eq_any(lead_ids))
            .order(lead_adjustments::id)
            .select((
                lead_adjustments::lead_id,
                lead_adjustments::points,
                lead_adjustments::reason,
            ))
            .load(conn)?;
        for (lead_id, points, reason) in adjustment_rows {
            inputs
                .adjustments
                .entry(lead_id)
                .or_default()
                .push(Adjustment {
                    points: Points(points),
                    reason,
                });
        }
        Ok(inputs)
    }

    pub fn breakdown(&self, rules: &RuleSet, lead: &Lead, now: NaiveDateTime) -> Breakdown {
        let tags = self.tags.get(&lead.id).map(Vec::as_slice).unwrap_or(&[]);
        let events = self.events.get(&lead.id).map(Vec::as_slice).unwrap_or(&[]);
        let adjustments = self
            .adjustments
            .get(&lead.id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        engine::score(rules, &facts_of(lead, tags), events, adjustments, now)
    }
}

/// The explained score of one lead as the rules give it now.
pub fn explain(conn: &mut Conn, lead: &Lead, now: NaiveDateTime) -> QueryResult<Breakdown> {
    let rules = rules::load(conn)?;
    let inputs = Inputs::load(conn, &[lead.id], &rules)?;
    Ok(inputs.breakdown(&rules, lead, now))
}

/// Rescores one lead in the caller's transaction (after a change or an event that may move
/// its score) and records what moved.
pub fn rescore(
    conn: &mut Conn,
    lead_id: i64,
    now: NaiveDateTime,
    reason: &str,
) -> QueryResult<Option<Breakdown>> {
    Ok(rescore_many(conn, &[(lead_id, reason.to_owned())], now)?
        .into_iter()
        .next())
}

/// Rescores several leads in the caller's transaction, each with the reason its history
/// gives, reading the rules and the leads' inputs once; leads that do not exist are skipped.
pub fn rescore_many(
    conn: &mut Conn,
    leads_and_reasons: &[(i64, String)],
    now: NaiveDateTime,
) -> QueryResult<Vec<Breakdown>> {
    if leads_and_reasons.is_empty() {
        return Ok(Vec::new());
    }
    let rules = rules::load(conn)?;
    let version = rules::version(conn)?;
    let ids: Vec<i64> = leads_and_reasons.iter().map(|(id, _)| *id).collect();
    let found: HashMap<i64, Lead> = leads::table
        .filter(leads::id.eq_any(&ids))
        .select(Lead::as_select())
        .load(conn)?
        .into_iter()
        .map(|lead| (lead.id, lead))
        .collect();
    let inputs = Inputs::load(conn, &ids, &rules)?;
    let mut breakdowns = Vec::with_capacity(found.len());
    for (lead_id, reason) in leads_and_reasons {
        let Some(lead) = found.get(lead_id) else {
            continue;
        };
        let breakdown = inputs.breakdown(&rules, lead, now);
        store(conn, lead, &breakdown, version, now, reason)?;
        breakdowns.push(breakdown);
    }
    Ok(breakdowns)
}

/// Writes a new score: the lead's row, a history row when the score or grade moved, and a
/// timeline entry when the grade changed (automations trigger on it).
fn store(
    conn: &mut Conn,
    lead: &Lead,
    breakdown: &Breakdown,
    version: i64,
    now: NaiveDateTime,
    reason: &str,
) -> QueryResult<()> {
    let score = breakdown.total.0;
    let unchanged = score == lead.score && breakdown.grade == lead.grade;
    if unchanged && lead.scored_version == version {
        return Ok(());
    }
    diesel::update(leads::table.find(lead.id))
        .set((
            leads::score.eq(score),
            leads::grade.eq(&breakdown.grade),
            leads::scored_version.eq(version),
        ))
        .execute(conn)?;
    if unchanged {
        return Ok(());
    }
    diesel::insert_into(lead_score_changes::table)
        .values((
            lead_score_changes::lead_id.eq(lead.id),
            lead_score_changes::score.eq(score),
            lead_score_changes::grade.eq(&breakdown.grade),
            lead_score_changes::previous_score.eq(lead.score),
            lead_score_changes::previous_grade.eq(&lead.grade),
            lead_score_changes::reason.eq(reason),
            lead_score_changes::recorded_at.eq(now),
        ))
        .execute(conn)?;
    if breakdown.grade != lead.grade {
        let body = format!(
            "Grade changed from {} to {} (score {} → {}): {reason}",
            lead.grade,
            breakdown.grade,
            Points(lead.score).unsigned_label(),
            breakdown.total.unsigned_label(),
        );
        timeline::add(
            conn,
            &NewEntry {
                lead_id: Some(lead.id),
                ..NewEntry::system(Kind::Score, now, &body)
            },
        )?;
    }
    Ok(())
}

/// Rescores up to one batch of the leads the current rules have not scored yet; returns how
/// many it rescored (0 when every lead is up to date). Safe to run on several instances:
/// each batch is one write transaction.
pub fn rescore_pending(conn: &mut Conn, now: NaiveDateTime) -> QueryResult<usize> {
    crate::db::write(conn, |conn| {
        let version = rules::version(conn)?;
        // In the order of `leads_by_scored_version`, so a batch is read off the index
        // instead of sorting every lead still behind.
        let batch: Vec<Lead> = leads::table
            .filter(leads::scored_version.lt(version))
            .order((leads::scored_version, leads::id))
            .limit(RESCORE_BATCH)
            .select(Lead::as_select())
            .load(conn)?;
        if batch.is_empty() {
            return Ok(0);
        }
        let rules = rules::load(conn)?;
        let reason = rules::rescore_reason(conn)?;
        let ids: Vec<i64> = batch.iter().map(|lead| lead.id).collect();
        let inputs = Inputs::load(conn, &ids, &rules)?;
        // Most leads keep their score after a rule change: the batch is marked as scored in
        // one statement and only the leads whose score moved are written one by one.
        diesel::update(leads::table.filter(leads::id.eq_any(&ids)))
            .set(leads::scored_version.eq(version))
            .execute(conn)?;
        for lead in &batch {
            let breakdown = inputs.breakdown(&rules, lead, now);
            let marked = Lead {
                scored_version: version,
                ..lead.clone()
            };
            store(conn, &marked, &breakdown, version, now, &reason)?;
        }
        Ok(batch.len())
    })
}

/// (leads scored with the current rules, all leads): the rescoring's progress.
pub fn progress(conn: &mut Conn) -> QueryResult<(i64, i64)> {
    let version = rules::version(conn)?;
    let total: i64 = leads::table.count().get_result(conn)?;
    let behind: i64 = leads::table
        .filter(leads::scored_version.lt(version))
        .count()
        .get_result(conn)?;
    Ok((total - behind, total))
}

/// Whether a background rescoring is under way: one probe of `leads_by_scored_version`,
/// cheap enough for every list page.
pub fn rescoring(conn: &mut Conn) -> QueryResult<bool> {
    let version = rules::version(conn)?;
    diesel::select(diesel::dsl::exists(
        leads::table.filter(leads::scored_version.lt(version)),
    ))
    .get_result(conn)
}

/// The app setting holding the day (`YYYY-MM-DD`, UTC) the daily decay last ran.
const DECAY_DAY: &str = "scoring_decay_day";
pub const DAILY_DECAY: &str = "daily decay";

/// Once per day of `now`: when a behaviour rule decays, marks every lead for rescoring so
/// that the background rescoring lowers scores as their events age. Returns whether it did.
pub fn daily_decay(conn: &mut Conn, now: NaiveDateTime) -> QueryResult<bool> {
    let today = now.date().to_string();
    if crate::app_settings::get(conn, DECAY_DAY)?.as_deref() == Some(today.as_str()) {
        return Ok(false);
    }
    crate::db::write(conn, |conn| {
        // Checked again inside the write: another instance may have run it meanwhile.
        if crate::app_settings::get(conn, DECAY_DAY)?.as_deref() == Some(today.as_str()) {
            return Ok(false);
        }
        crate::app_settings::set(conn, DECAY_DAY, &today)?;
        if !rules::any_decaying(conn)? {
            return Ok(false);
        }
        rules::bump_version_because(conn, DAILY_DECAY)?;
        Ok(true)
    })
}

/// The daily decay step of the background worker: errors are logged, never fatal.
pub fn apply_daily_decay(pool: &crate::db::DbPool, now: NaiveDateTime) {
    let applied = pool
        .get()
        .map_err(crate::error::AppError::from)
        .and_then(|mut conn| Ok(daily_decay(&mut conn, now)?));
    match applied {
        Ok(true) => tracing::info!("daily score decay: every lead is being rescored"),
        Ok(false) => {}
        Err(err) => tracing::error!(error = %err, "could not apply the daily score decay"),
    }
}
