//! Lead scoring: the pure engine (`engine`), the rules as admins store them (`rules`), and
//! here the glue that scores a lead from the database and keeps its score, grade, history
//! and timeline in step, in the caller's transaction.

pub mod admin;
pub mod engine;
pub mod rules;

use std::collections::{HashMap, HashSet};
use std::sync::mpsc;

use chrono::NaiveDateTime;
use diesel::connection::DefaultLoadingMode;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use self::engine::{Adjustment, Breakdown, Event, Field, LeadFacts, Points, RuleSet};
use crate::contacts::timeline::{self, Kind, NewEntry};
use crate::db::id_list::one_of;
use crate::db::schema::{
    lead_adjustments, lead_events, lead_score_changes, lead_tags, leads, tags,
};
use crate::db::timestamps::Stamp;
use crate::db::{Conn, DbPool};
use crate::error::AppError;
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

/// The properties of a stored event that some rule filters on; the others are skipped
/// without being built (a page view carries a title, a referrer and more that no rule
/// reads). Unreadable JSON reads as no properties.
fn properties_filtered_on(json: &str, keys: &HashSet<&str>) -> Map<String, Value> {
    if keys.is_empty() {
        return Map::new();
    }
    let mut deserializer = serde_json::Deserializer::from_str(json);
    PropertiesFilteredOn(keys)
        .deserialize(&mut deserializer)
        .unwrap_or_default()
}

struct PropertiesFilteredOn<'k, 's>(&'k HashSet<&'s str>);

impl<'de> DeserializeSeed<'de> for PropertiesFilteredOn<'_, '_> {
    type Value = Map<String, Value>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PropertiesFilteredOn<'_, '_> {
    type Value = Map<String, Value>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("an object of event properties")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut kept = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if self.0.contains(key.as_str()) {
                kept.insert(key, map.next_value::<Value>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(kept)
    }
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
            let filter_keys: HashSet<&str> = rules
                .behaviour
                .iter()
                .filter_map(|rule| rule.filter.as_ref())
                .map(|filter| filter.key.as_str())
                .collect();
            let event_rows = lead_events::table
                .filter(lead_events::lead_id.eq_any(lead_ids))
                .filter(lower(lead_events::name).eq_any(wanted))
                .select((
                    lead_events::lead_id,
                    lead_events::name,
                    lead_events::properties,
                    lead_events::occurred_at,
                ))
                .load_iter::<(Option<i64>, String, String, Stamp), DefaultLoadingMode>(conn)?;
            for row in event_rows {
                let (lead_id, name, properties, occurred_at) = row?;
                let Some(lead_id) = lead_id else { continue };
                if !names.contains(&name.to_lowercase()) {
                    continue;
                }
                inputs.events.entry(lead_id).or_default().push(Event {
                    name,
                    properties: properties_filtered_on(&properties, &filter_keys),
                    occurred_at: occurred_at.into(),
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
        let (tags, events, adjustments) = self.of(lead.id);
        engine::score(rules, &facts_of(lead, tags), events, adjustments, now)
    }

    /// The lead's total without its explanation (what background rescoring stores).
    pub fn total(&self, rules: &RuleSet, lead: &Lead, now: NaiveDateTime) -> engine::Points {
        let (tags, events, adjustments) = self.of(lead.id);
        engine::total(rules, &facts_of(lead, tags), events, adjustments, now)
    }

    fn of(&self, lead_id: i64) -> (&[String], &[Event], &[Adjustment]) {
        (
            self.tags.get(&lead_id).map(Vec::as_slice).unwrap_or(&[]),
            self.events.get(&lead_id).map(Vec::as_slice).unwrap_or(&[]),
            self.adjustments
                .get(&lead_id)
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        )
    }
}

/// The explained score of one lead as the rules give it now.
pub fn explain(conn: &mut Conn, lead: &Lead, now: NaiveDateTime) -> QueryResult<Breakdown> {
    let rules = rules::load(conn)?;
    let inputs = Inputs::load(conn, &[lead.id], &rules)?;
    Ok(inputs.breakdown(&rules, lead, now))
}

/// The explanation of a lead's stored score.
#[derive(Debug, Clone)]
pub enum StoredExplanation {
    /// The breakdown as of `scored_at`, the moment the stored score was computed: its lines
    /// add up to the stored score (events count as old as they were then).
    AsOf {
        breakdown: Breakdown,
        scored_at: NaiveDateTime,
    },
    /// The score was stored before the latest change of the rules (the background
    /// rescoring has not reached the lead yet) or of the lead: no breakdown matches it.
    Rescoring,
}

/// Explains the score stored on `lead` (the one the list shows), never a score computed
/// at another moment.
pub fn explain_stored(conn: &mut Conn, lead: &Lead) -> QueryResult<StoredExplanation> {
    let scored_at: Option<NaiveDateTime> = leads::table
        .find(lead.id)
        .select(leads::scored_at)
        .first(conn)?;
    let Some(scored_at) = scored_at else {
        return Ok(StoredExplanation::Rescoring);
    };
    if lead.scored_version < rules::version(conn)? {
        return Ok(StoredExplanation::Rescoring);
    }
    let breakdown = explain(conn, lead, scored_at)?;
    if breakdown.total.0 != lead.score {
        // Something changed the lead's inputs without rescoring it: better say so than
        // show lines that add up to another total.
        return Ok(StoredExplanation::Rescoring);
    }
    Ok(StoredExplanation::AsOf {
        breakdown,
        scored_at,
    })
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
        let scored = Scored {
            total: breakdown.total,
            grade: &breakdown.grade,
        };
        store(conn, lead, scored, version, now, reason, false)?;
        breakdowns.push(breakdown);
    }
    Ok(breakdowns)
}

/// A lead's new score and grade, explained or not.
#[derive(Clone, Copy)]
struct Scored<'a> {
    total: engine::Points,
    grade: &'a str,
}

/// Writes a new score: the lead's row (with the version and time it was scored, unless
/// `marked` says the caller already set them), a history row when the score or grade
/// moved, and a timeline entry when the grade changed (automations trigger on it).
fn store(
    conn: &mut Conn,
    lead: &Lead,
    scored: Scored<'_>,
    version: i64,
    now: NaiveDateTime,
    reason: &str,
    marked: bool,
) -> QueryResult<()> {
    let score = scored.total.0;
    let unchanged = score == lead.score && scored.grade == lead.grade;
    if unchanged && marked {
        return Ok(());
    }
    // The moment the score stands for is kept even when the score did not move: the lead
    // page explains the score as of then, with the inputs as they are now.
    diesel::update(leads::table.find(lead.id))
        .set((
            leads::score.eq(score),
            leads::grade.eq(scored.grade),
            leads::scored_version.eq(version),
            leads::scored_at.eq(Some(now)),
        ))
        .execute(conn)?;
    if unchanged {
        return Ok(());
    }
    diesel::insert_into(lead_score_changes::table)
        .values((
            lead_score_changes::lead_id.eq(lead.id),
            lead_score_changes::score.eq(score),
            lead_score_changes::grade.eq(scored.grade),
            lead_score_changes::previous_score.eq(lead.score),
            lead_score_changes::previous_grade.eq(&lead.grade),
            lead_score_changes::reason.eq(reason),
            lead_score_changes::recorded_at.eq(now),
        ))
        .execute(conn)?;
    if scored.grade != lead.grade {
        let body = format!(
            "Grade changed from {} to {} (score {} → {}): {reason}",
            lead.grade,
            scored.grade,
            Points(lead.score).unsigned_label(),
            scored.total.unsigned_label(),
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
/// many it rescored (0 when every lead is up to date). Reads and writes in one write
/// transaction, so the rules cannot change in between. Safe to run on several instances.
pub fn rescore_pending(conn: &mut Conn, now: NaiveDateTime) -> QueryResult<usize> {
    crate::db::write(conn, |conn| {
        let Some(batch) = score_pending(conn, now, None)? else {
            return Ok(0);
        };
        Ok(write_scored_in(conn, &batch, now)?.unwrap_or(0))
    })
}

/// Rescores up to `max_batches` batches of the leads behind the current rules, on two of
/// the pool's connections at once: while one batch is written, the next is read and
/// scored (reading never waits for SQLite's writer). Returns how many leads it rescored.
pub fn rescore_pending_pipelined(
    pool: &DbPool,
    now: NaiveDateTime,
    max_batches: usize,
) -> Result<usize, AppError> {
    std::thread::scope(|scope| {
        // One scored batch waits while another is written: enough to keep both busy.
        let (sender, receiver) = mpsc::sync_channel::<ScoredBatch>(1);
        let reader = scope.spawn(move || -> Result<(), AppError> {
            let mut conn = pool.get()?;
            let mut after = None;
            for _ in 0..max_batches {
                // One read transaction per batch: its leads and their inputs from one
                // snapshot of the database.
                let scored = conn.transaction(|conn| score_pending(conn, now, after))?;
                let Some(batch) = scored else { break };
                after = Some(batch.last);
                if sender.send(batch).is_err() {
                    break;
                }
            }
            Ok(())
        });
        let mut conn = pool.get()?;
        let mut rescored = 0;
        for batch in &receiver {
            match write_scored(&mut conn, &batch, now)? {
                Some(count) => rescored += count,
                // The rules changed: batches scored with the old ones are worthless.
                None => break,
            }
        }
        drop(receiver);
        reader
            .join()
            .map_err(|_| AppError::internal("the rescoring reader panicked"))??;
        Ok(rescored)
    })
}

/// Leads of one rescoring batch and their new scores and grades, computed with the rules of
/// `version`.
pub struct ScoredBatch {
    version: i64,
    reason: String,
    scores: Vec<(i64, Points, String)>,
    /// Where the next batch starts: the last lead's (scored_version, id).
    last: (i64, i64),
}

/// Reads and scores the next batch of leads behind the current rules, after `after` in the
/// order of `leads_by_scored_version`; writes nothing. `None` when no lead is behind.
fn score_pending(
    conn: &mut Conn,
    now: NaiveDateTime,
    after: Option<(i64, i64)>,
) -> QueryResult<Option<ScoredBatch>> {
    let version = rules::version(conn)?;
    // In the order of `leads_by_scored_version`, so a batch is read off the index instead
    // of sorting every lead still behind.
    let mut query = leads::table
        .filter(leads::scored_version.lt(version))
        .order((leads::scored_version, leads::id))
        .limit(RESCORE_BATCH)
        .select(Lead::as_select())
        .into_boxed();
    if let Some((scored_version, id)) = after {
        // A row-value comparison, so that SQLite seeks the index to the cursor.
        query = query.filter(
            sql::<Bool>("(leads.scored_version, leads.id) > (")
                .bind::<BigInt, _>(scored_version)
                .sql(", ")
                .bind::<BigInt, _>(id)
                .sql(")"),
        );
    }
    let batch: Vec<Lead> = query.load(conn)?;
    let Some(last) = batch.last().map(|lead| (lead.scored_version, lead.id)) else {
        return Ok(None);
    };
    let rules = rules::load(conn)?;
    let reason = rules::rescore_reason(conn)?;
    let ids: Vec<i64> = batch.iter().map(|lead| lead.id).collect();
    let inputs = Inputs::load(conn, &ids, &rules)?;
    let scores = batch
        .iter()
        .map(|lead| {
            let total = inputs.total(&rules, lead, now);
            (lead.id, total, rules.grades.grade_for(total).to_owned())
        })
        .collect();
    Ok(Some(ScoredBatch {
        version,
        reason,
        scores,
        last,
    }))
}

/// Writes a scored batch in one write transaction: the leads still behind are marked as
/// scored in one statement, and only those whose score moved are written one by one. A lead
/// rescored meanwhile (an event, an edit) keeps its newer score. `None`, writing nothing,
/// when the rules changed after the batch was scored.
fn write_scored(
    conn: &mut Conn,
    batch: &ScoredBatch,
    now: NaiveDateTime,
) -> QueryResult<Option<usize>> {
    crate::db::write(conn, |conn| write_scored_in(conn, batch, now))
}

/// `write_scored` in the caller's write transaction.
fn write_scored_in(
    conn: &mut Conn,
    batch: &ScoredBatch,
    now: NaiveDateTime,
) -> QueryResult<Option<usize>> {
    if rules::version(conn)? != batch.version {
        return Ok(None);
    }
    let ids: Vec<i64> = batch.scores.iter().map(|(id, ..)| *id).collect();
    let behind: HashMap<i64, Lead> = leads::table
        .filter(one_of(leads::id, &ids))
        .filter(leads::scored_version.lt(batch.version))
        .select(Lead::as_select())
        .load(conn)?
        .into_iter()
        .map(|lead| (lead.id, lead))
        .collect();
    if behind.is_empty() {
        return Ok(Some(0));
    }
    let behind_ids: Vec<i64> = behind.keys().copied().collect();
    diesel::update(leads::table.filter(one_of(leads::id, &behind_ids)))
        .set((
            leads::scored_version.eq(batch.version),
            leads::scored_at.eq(Some(now)),
        ))
        .execute(conn)?;
    for (id, total, grade) in &batch.scores {
        let Some(lead) = behind.get(id) else { continue };
        let scored = Scored {
            total: *total,
            grade,
        };
        let marked = Lead {
            scored_version: batch.version,
            ..lead.clone()
        };
        store(
            conn,
            &marked,
            scored,
            batch.version,
            now,
            &batch.reason,
            true,
        )?;
    }
    Ok(Some(behind.len()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_properties_rules_filter_on_are_kept() {
        let keys: HashSet<&str> = ["path", "plan"].into_iter().collect();
        let kept = properties_filtered_on(
            r#"{"path":"/pricing","title":"Pricing \"Pro\"","referrer":{"host":"x"},"plan":3}"#,
            &keys,
        );
        assert_eq!(kept.len(), 2);
        assert_eq!(kept.get("path"), Some(&Value::from("/pricing")));
        assert_eq!(kept.get("plan"), Some(&Value::from(3)));
    }

    #[test]
    fn unreadable_or_unwanted_properties_read_as_none() {
        let keys: HashSet<&str> = ["path"].into_iter().collect();
        assert!(properties_filtered_on("not json", &keys).is_empty());
        assert!(properties_filtered_on("[1, 2]", &keys).is_empty());
        assert!(properties_filtered_on(r#"{"path":"/a"}"#, &HashSet::new()).is_empty());
    }

    /// A migrated in-memory database with leads behind the rules, each owed `points` by a
    /// manual adjustment (which needs no rule to count).
    fn leads_behind(points: &[i64]) -> (Conn, Vec<i64>, NaiveDateTime) {
        use diesel::Connection;
        let mut conn = Conn::establish(":memory:").expect("a database");
        crate::db::migrate(&mut conn).expect("migrations");
        let (ids, now) = insert_leads_behind(&mut conn, points);
        (conn, ids, now)
    }

    fn insert_leads_behind(conn: &mut Conn, points: &[i64]) -> (Vec<i64>, NaiveDateTime) {
        let now = chrono::DateTime::from_timestamp(1_796_000_000, 0)
            .expect("a time")
            .naive_utc();
        let ids = points
            .iter()
            .map(|points| {
                let id: i64 = diesel::insert_into(leads::table)
                    .values((
                        leads::first_name.eq("Ada"),
                        leads::last_name.eq("Lovelace"),
                        leads::source.eq("manual"),
                        leads::status.eq("new"),
                        leads::score.eq(0),
                        leads::grade.eq("cold"),
                        leads::scored_version.eq(0),
                        leads::created_at.eq(now),
                        leads::updated_at.eq(now),
                        leads::version.eq(1),
                    ))
                    .returning(leads::id)
                    .get_result(conn)
                    .expect("a lead");
                diesel::insert_into(lead_adjustments::table)
                    .values((
                        lead_adjustments::lead_id.eq(id),
                        lead_adjustments::points.eq(points),
                        lead_adjustments::reason.eq("met at a fair"),
                        lead_adjustments::created_at.eq(now),
                    ))
                    .execute(conn)
                    .expect("an adjustment");
                id
            })
            .collect();
        (ids, now)
    }

    fn score_of(conn: &mut Conn, id: i64) -> i64 {
        leads::table
            .find(id)
            .select(leads::score)
            .first(conn)
            .expect("a lead")
    }

    #[test]
    fn a_scored_batch_is_written_except_for_leads_rescored_meanwhile() {
        let (mut conn, ids, now) = leads_behind(&[10, 20]);
        let batch = score_pending(&mut conn, now, None)
            .expect("scored")
            .expect("leads are behind");
        // An event rescores the second lead before the batch is written.
        let current = rules::version(&mut conn).expect("a version");
        diesel::update(leads::table.find(ids[1]))
            .set((leads::score.eq(99), leads::scored_version.eq(current)))
            .execute(&mut conn)
            .expect("rescored");

        assert_eq!(
            write_scored(&mut conn, &batch, now).expect("written"),
            Some(1)
        );
        assert_eq!(score_of(&mut conn, ids[0]), 10);
        assert_eq!(score_of(&mut conn, ids[1]), 99, "the newer score stays");
        assert!(score_pending(&mut conn, now, None).expect("read").is_none());
    }

    #[test]
    fn a_batch_scored_before_the_rules_changed_is_dropped() {
        let (mut conn, ids, now) = leads_behind(&[10]);
        let batch = score_pending(&mut conn, now, None)
            .expect("scored")
            .expect("leads are behind");
        rules::bump_version(&mut conn).expect("rules changed");

        assert_eq!(write_scored(&mut conn, &batch, now).expect("written"), None);
        assert_eq!(score_of(&mut conn, ids[0]), 0);
        assert_eq!(rescore_pending(&mut conn, now).expect("rescored"), 1);
        assert_eq!(score_of(&mut conn, ids[0]), 10);
    }

    #[test]
    fn the_pipelined_rescoring_scores_every_lead_over_several_batches() {
        let folder = tempfile::tempdir().expect("a folder");
        let path = folder.path().join("rapport.db");
        let pool = crate::db::connect(&path.display().to_string(), 2).expect("a pool");
        let mut conn = pool.get().expect("a connection");
        crate::db::migrate(&mut conn).expect("migrations");
        let count = usize::try_from(RESCORE_BATCH * 2 + 7).expect("a count");
        let points: Vec<i64> = (0..count)
            .map(|n| i64::try_from(n % 50).unwrap_or(0))
            .collect();
        let (ids, now) = insert_leads_behind(&mut conn, &points);
        drop(conn);

        assert_eq!(
            rescore_pending_pipelined(&pool, now, 8).expect("rescored"),
            count
        );
        let mut conn = pool.get().expect("a connection");
        for (id, points) in ids.iter().zip(&points).step_by(97) {
            assert_eq!(score_of(&mut conn, *id), *points);
        }
        assert_eq!(progress(&mut conn).expect("progress").0, count as i64);
        drop(conn);
        assert_eq!(
            rescore_pending_pipelined(&pool, now, 8).expect("rescored"),
            0
        );
    }

    #[test]
    fn batches_follow_each_other_by_cursor() {
        let (mut conn, ids, now) = leads_behind(&[1, 2, 3]);
        let first = score_pending(&mut conn, now, None)
            .expect("scored")
            .expect("leads are behind");
        assert_eq!(first.scores.len(), 3);
        assert_eq!(first.last, (0, ids[2]));
        let after_first = score_pending(&mut conn, now, Some((0, ids[0]))).expect("scored");
        let rest: Vec<i64> = after_first
            .expect("two left")
            .scores
            .iter()
            .map(|(id, ..)| *id)
            .collect();
        assert_eq!(rest, ids[1..]);
    }
}
