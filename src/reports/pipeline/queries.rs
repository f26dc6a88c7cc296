//! What the report reads. Each query walks an index of its own (see the migration
//! `2026-12-03-000013_pipeline_report`) and the deals' journeys are streamed once, deal by
//! deal, straight into the figures: no row is kept and no query runs per deal. Times are
//! compared in SQL but subtracted in Rust, so the SQL stays portable.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::query_builder::QueryFragment;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::Sqlite;

use super::figures::{Closed, ClosedBuilder, FunnelBuilder, OpenDeal, Status, Step};
use crate::db::Conn;
use crate::db::schema::{deal_stage_moves, deals, pipeline_stages, pipelines};
use crate::db::timestamps::stored_micros;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineRow {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageRow {
    pub id: i64,
    pub name: String,
    pub win_probability: i32,
}

/// Every pipeline, in the order admins gave them.
pub fn pipelines(conn: &mut Conn) -> QueryResult<Vec<PipelineRow>> {
    let rows: Vec<(i64, String)> = pipelines::table
        .order((pipelines::position.asc(), pipelines::id.asc()))
        .select((pipelines::id, pipelines::name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| PipelineRow { id, name })
        .collect())
}

/// A pipeline's open stages, in order.
pub fn stages(conn: &mut Conn, pipeline_id: i64) -> QueryResult<Vec<StageRow>> {
    let rows: Vec<(i64, String, i32)> = pipeline_stages::table
        .filter(pipeline_stages::pipeline_id.eq(pipeline_id))
        .order((pipeline_stages::position.asc(), pipeline_stages::id.asc()))
        .select((
            pipeline_stages::id,
            pipeline_stages::name,
            pipeline_stages::win_probability,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, win_probability)| StageRow {
            id,
            name,
            win_probability,
        })
        .collect())
}

fn status_of(code: i64) -> Status {
    match code {
        0 => Status::Open,
        1 => Status::Won,
        _ => Status::Lost,
    }
}

/// A timestamp column as its stored text, parsed by `stored_micros` (much faster than
/// the general parser, which matters over hundreds of thousands of rows).
fn timestamp_text(column: &str) -> diesel::expression::SqlLiteral<Text> {
    sql::<Text>(column)
}

fn micros(at: NaiveDateTime) -> i64 {
    at.and_utc().timestamp_micros()
}

fn unreadable(text: &str) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("unreadable time {text:?}").into())
}

/// The deals created in a range, as a set of ids: a bit per id between the smallest and
/// the largest.
#[derive(Debug)]
pub struct Cohort {
    first: i64,
    last: i64,
    bits: Vec<u64>,
    count: usize,
}

impl Cohort {
    fn new(ids: &[i64]) -> Option<Self> {
        let first = *ids.iter().min()?;
        let last = *ids.iter().max()?;
        let mut bits = vec![0_u64; ((last - first) / 64 + 1) as usize];
        for id in ids {
            let offset = (id - first) as usize;
            bits[offset / 64] |= 1 << (offset % 64);
        }
        Some(Self {
            first,
            last,
            bits,
            count: ids.len(),
        })
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn contains(&self, id: i64) -> bool {
        if id < self.first || id > self.last {
            return false;
        }
        let offset = (id - self.first) as usize;
        self.bits[offset / 64] & (1 << (offset % 64)) != 0
    }

    /// The id range cut into `parts` consecutive ranges holding about as many deals each.
    pub fn split(&self, parts: usize) -> Vec<(i64, i64)> {
        let parts = parts.clamp(1, self.count.max(1));
        let mut ranges = Vec::with_capacity(parts);
        let mut start = self.first;
        let mut seen = 0;
        let mut part = 1;
        for (word_index, word) in self.bits.iter().enumerate() {
            if part == parts {
                break;
            }
            let ones = word.count_ones() as usize;
            if seen + ones < self.count * part / parts {
                seen += ones;
                continue;
            }
            for bit in 0..64 {
                if word & (1 << bit) == 0 {
                    continue;
                }
                seen += 1;
                if seen == self.count * part / parts && part < parts {
                    let id = self.first + (word_index * 64 + bit) as i64;
                    ranges.push((start, id));
                    start = id + 1;
                    part += 1;
                }
            }
        }
        ranges.push((start, self.last));
        ranges
    }
}

/// The ids of the deals of `pipeline_id` created in `[start, end)`, from the index on
/// creation time; `None` when there are none.
pub fn cohort(
    conn: &mut Conn,
    pipeline_id: i64,
    (start, end): (NaiveDateTime, NaiveDateTime),
) -> QueryResult<Option<Cohort>> {
    let ids: Vec<i64> = deals::table
        .filter(deals::pipeline_id.eq(pipeline_id))
        .filter(deals::created_at.ge(start))
        .filter(deals::created_at.lt(end))
        .select(deals::id)
        .load(conn)?;
    Ok(Cohort::new(&ids))
}

/// The journeys of the cohort's deals whose ids are in `ids` (inclusive), added to a
/// funnel of `stage_ids` (the pipeline's stages in order).
///
/// The moves of every deal in the id range are read in journey order from the covering
/// index `deal_stage_moves_journey`: one range scan rather than a look-up per deal. Ids
/// grow with creation time, so the moves of deals outside the cohort (other pipelines,
/// mostly) are few; they are skipped here. A move's stage and status come packed in one
/// number (`stage id × 4 + status`), which saves a column read on every row.
pub fn journeys(
    conn: &mut Conn,
    cohort: &Cohort,
    (first, last): (i64, i64),
    stage_ids: &[i64],
    now: NaiveDateTime,
) -> QueryResult<FunnelBuilder> {
    let mut builder = FunnelBuilder::new(stage_ids.len());
    let stage_index = |id: i64| stage_ids.iter().position(|&known| known == id);
    let now = micros(now);
    let query = deal_stage_moves::table
        .filter(deal_stage_moves::deal_id.between(first, last))
        .order((
            deal_stage_moves::deal_id.asc(),
            deal_stage_moves::moved_at.asc(),
            deal_stage_moves::id.asc(),
        ))
        .select((
            deal_stage_moves::deal_id,
            sql::<BigInt>(
                "COALESCE(deal_stage_moves.to_stage_id, 0) * 4 + CASE deal_stage_moves.to_status \
                 WHEN 'open' THEN 0 WHEN 'won' THEN 1 ELSE 2 END",
            ),
            timestamp_text("deal_stage_moves.moved_at"),
        ));
    debug_plan(&query);
    let rows =
        query.load_iter::<(i64, i64, String), diesel::connection::DefaultLoadingMode>(conn)?;
    let mut current: Option<i64> = None;
    let mut steps: Vec<Step> = Vec::with_capacity(16);
    for row in rows {
        let (deal_id, stage_and_status, moved_at) = row?;
        if current != Some(deal_id) {
            builder.add_deal(&steps, now);
            steps.clear();
            current = Some(deal_id);
        }
        if !cohort.contains(deal_id) {
            continue;
        }
        steps.push(Step {
            stage: stage_index(stage_and_status.div_euclid(4)),
            status: status_of(stage_and_status.rem_euclid(4)),
            at: stored_micros(&moved_at).ok_or_else(|| unreadable(&moved_at))?,
        });
    }
    builder.add_deal(&steps, now);
    Ok(builder)
}

/// Win rate, won value and sales cycle of the deals of `pipeline_id` won or lost in
/// `[start, end)` (by `closed_at`), whenever they were created.
pub fn closed(
    conn: &mut Conn,
    pipeline_id: i64,
    (start, end): (NaiveDateTime, NaiveDateTime),
) -> QueryResult<Closed> {
    let mut builder = ClosedBuilder::default();
    let lost: i64 = deals::table
        .filter(deals::pipeline_id.eq(pipeline_id))
        .filter(deals::closed_at.ge(start))
        .filter(deals::closed_at.lt(end))
        .filter(deals::status.eq("lost"))
        .count()
        .get_result(conn)?;
    for _ in 0..lost {
        builder.add_lost();
    }
    let query = deals::table
        .filter(deals::pipeline_id.eq(pipeline_id))
        .filter(deals::closed_at.ge(start))
        .filter(deals::closed_at.lt(end))
        .filter(deals::status.eq("won"))
        .select((
            deals::currency,
            deals::value_minor,
            timestamp_text("deals.created_at"),
            timestamp_text("deals.closed_at"),
        ));
    debug_plan(&query);
    let rows = query
        .load_iter::<(String, i64, String, String), diesel::connection::DefaultLoadingMode>(conn)?;
    for row in rows {
        let (currency, value_minor, created_at, closed_at) = row?;
        let created_at = stored_micros(&created_at).ok_or_else(|| unreadable(&created_at))?;
        let closed_at = stored_micros(&closed_at).ok_or_else(|| unreadable(&closed_at))?;
        builder.add_won(&currency, value_minor, closed_at - created_at);
    }
    Ok(builder.finish())
}

/// The open deals of `pipeline_id` with their stage's win probability.
pub fn open_deals(conn: &mut Conn, pipeline_id: i64) -> QueryResult<Vec<OpenDeal>> {
    type Row = (Option<i64>, String, i64, i32, Option<NaiveDate>);
    let rows: Vec<Row> = deals::table
        .inner_join(pipeline_stages::table.on(pipeline_stages::id.eq(deals::stage_id)))
        .filter(deals::pipeline_id.eq(pipeline_id))
        .filter(deals::status.eq("open"))
        .select((
            deals::owner_id,
            deals::currency,
            deals::value_minor,
            pipeline_stages::win_probability,
            deals::expected_close_on,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(owner_id, currency, value_minor, win_probability, expected_close_on)| OpenDeal {
                owner_id,
                currency,
                value_minor,
                win_probability,
                expected_close_on,
            },
        )
        .collect())
}

pub use crate::auth::queries::user_names;

/// The query plan of a report query, at debug level (`RAPPORT_LOG=rapport=debug`).
fn debug_plan<Q: QueryFragment<Sqlite>>(query: &Q) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        tracing::debug!(sql = %diesel::debug_query::<Sqlite, _>(query), "report query");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cohort_holds_exactly_its_ids() {
        let cohort = Cohort::new(&[70, 5, 133, 6]).expect("ids");
        assert!([5, 6, 70, 133].iter().all(|&id| cohort.contains(id)));
        assert!(
            [4, 7, 69, 71, 132, 134, -1]
                .iter()
                .all(|&id| !cohort.contains(id))
        );
        assert_eq!(cohort.len(), 4);
        assert!(Cohort::new(&[]).is_none());
    }

    #[test]
    fn a_cohort_splits_into_ranges_of_about_as_many_deals() {
        let ids: Vec<i64> = (0..1_000).map(|n| 10 + n * 3).collect();
        let cohort = Cohort::new(&ids).expect("ids");
        let ranges = cohort.split(2);
        assert_eq!(ranges.len(), 2);
        assert_eq!(ranges[0].0, 10);
        assert_eq!(ranges[1].1, 10 + 999 * 3);
        assert_eq!(ranges[0].1 + 1, ranges[1].0, "no gap, no overlap");
        let in_first = ids.iter().filter(|&&id| id <= ranges[0].1).count();
        assert_eq!(in_first, 500);
        assert_eq!(Cohort::new(&[7]).expect("one id").split(2), [(7, 7)]);
        assert_eq!(cohort.split(1), [(10, 10 + 999 * 3)]);
    }
}
