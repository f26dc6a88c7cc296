//! The pipeline report (`/reports/pipeline`): for one pipeline and a range of days, the
//! conversion funnel of the deals created in the range with the time they spent in each
//! stage and the bottleneck, the win rate, deal size and sales cycle of the deals closed in
//! the range, and the weighted forecast of the open deals. The same figures as a page (with
//! SVG charts drawn on the server) and as CSV.

pub mod export;
pub mod figures;
pub mod filters;
pub mod queries;
pub mod routes;
pub mod svg;
pub mod view;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use futures_util::future::try_join3;

use crate::db::{self, DbPool};
use crate::error::AppError;
use figures::{Bucket, Closed, CurrencyForecast, Funnel, FunnelBuilder};
use filters::DateRange;
use queries::{PipelineRow, StageRow};

/// Every figure of the report, as computed; the page and the CSV are two views of it.
#[derive(Debug, Clone)]
pub struct Report {
    pub pipeline: PipelineRow,
    pub range: DateRange,
    pub stages: Vec<StageRow>,
    /// Deals created in the range.
    pub funnel: Funnel,
    /// Deals won or lost in the range.
    pub closed: Closed,
    /// Open deals now, whenever they were created.
    pub forecast: Vec<CurrencyForecast>,
    /// The first day of the viewer's current month.
    pub this_month: NaiveDate,
    owner_names: HashMap<i64, String>,
}

/// Deals in a range from which the moves are read by two threads at once (each on its own
/// connection); below it, one read is quicker than two.
const PARALLEL_FROM: usize = 20_000;

/// Reports computed at once by this process. A report over a large history holds every
/// move of its range while it runs; more requests queue here instead of each adding its
/// working set (with two cores, more at once would not finish any sooner).
static COMPUTING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// What the closed deals and the open ones give, read together.
struct Rest {
    closed: Closed,
    forecast: Vec<CurrencyForecast>,
    owner_names: HashMap<i64, String>,
}

impl Report {
    /// Computes the report of `pipeline` over `range` (local days in `tz`) at `now`. The
    /// moves of a large range are read in two halves at once, each on its own connection,
    /// while a third reads the closed and open deals.
    pub async fn compute(
        pool: &DbPool,
        pipeline: PipelineRow,
        range: DateRange,
        tz: Tz,
        now: NaiveDateTime,
    ) -> Result<Self, AppError> {
        Self::compute_in(pool, pipeline, range, tz, now, None).await
    }

    /// `compute`, with the moves read in one or two `parts` (`None`: by the range's size).
    pub async fn compute_in(
        pool: &DbPool,
        pipeline: PipelineRow,
        range: DateRange,
        tz: Tz,
        now: NaiveDateTime,
        parts: Option<usize>,
    ) -> Result<Self, AppError> {
        let _turn = COMPUTING
            .acquire()
            .await
            .map_err(|_| AppError::internal("the report queue is closed"))?;
        let started = std::time::Instant::now();
        let bounds = range.utc_bounds(tz);
        let pipeline_id = pipeline.id;
        let (stages, cohort) = db::run(pool, move |conn| {
            Ok((
                queries::stages(conn, pipeline_id)?,
                queries::cohort(conn, pipeline_id, bounds)?,
            ))
        })
        .await?;
        let stage_ids: Arc<[i64]> = stages.iter().map(|stage| stage.id).collect();
        let cohort = cohort.map(Arc::new);
        let parts = match &cohort {
            Some(cohort) => {
                cohort.split(parts.unwrap_or(if cohort.len() >= PARALLEL_FROM { 2 } else { 1 }))
            }
            None => Vec::new(),
        };
        let scan = |index: usize| {
            let cohort = cohort.clone();
            let part = parts.get(index).copied();
            let stage_ids = Arc::clone(&stage_ids);
            db::run(pool, move |conn| match (cohort, part) {
                (Some(cohort), Some(part)) => {
                    Ok(queries::journeys(conn, &cohort, part, &stage_ids, now)?)
                }
                _ => Ok(FunnelBuilder::new(stage_ids.len())),
            })
        };
        let rest = db::run(pool, move |conn| {
            let closed = queries::closed(conn, pipeline_id, bounds)?;
            let this_month = figures::first_of_month(today(now, tz));
            let forecast = figures::forecast(&queries::open_deals(conn, pipeline_id)?, this_month);
            let mut owner_ids: Vec<i64> = forecast
                .iter()
                .flat_map(|currency| currency.owners.iter().flatten().copied())
                .collect();
            owner_ids.sort_unstable();
            owner_ids.dedup();
            let owner_names = queries::user_names(conn, &owner_ids)?;
            Ok(Rest {
                closed,
                forecast,
                owner_names,
            })
        });
        let (mut funnel, second_half, rest) = try_join3(scan(0), scan(1), rest).await?;
        funnel.merge(second_half);
        let funnel = funnel.finish();
        tracing::debug!(
            deals = funnel.deals,
            parts = parts.len(),
            elapsed_ms = started.elapsed().as_millis(),
            "pipeline report computed"
        );
        Ok(Self {
            pipeline,
            range,
            stages,
            funnel,
            closed: rest.closed,
            forecast: rest.forecast,
            this_month: figures::first_of_month(today(now, tz)),
            owner_names: rest.owner_names,
        })
    }

    /// An owner as people know them ("No owner" for deals without one).
    pub fn owner_name(&self, owner: Option<i64>) -> String {
        match owner {
            Some(id) => self
                .owner_names
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("User {id}")),
            None => "No owner".to_owned(),
        }
    }

    /// A currency's owners, by name ("No owner" last).
    pub fn owners_by_name(&self, forecast: &CurrencyForecast) -> Vec<(Option<i64>, String)> {
        let mut owners: Vec<(Option<i64>, String)> = forecast
            .owners
            .iter()
            .map(|owner| (*owner, self.owner_name(*owner)))
            .collect();
        owners.sort_by(|a, b| {
            (a.0.is_none(), a.1.to_lowercase(), a.0).cmp(&(b.0.is_none(), b.1.to_lowercase(), b.0))
        });
        owners
    }
}

/// The viewer's date at `now`.
pub fn today(now: NaiveDateTime, tz: Tz) -> NaiveDate {
    now.and_utc().with_timezone(&tz).date_naive()
}

/// A forecast column for people: "Overdue", "Jan 2027", "Later", "No date".
pub fn bucket_label(bucket: Bucket) -> String {
    match bucket {
        Bucket::Overdue => "Overdue".to_owned(),
        Bucket::Month(month) => month.format("%b %Y").to_string(),
        Bucket::Later => "Later".to_owned(),
        Bucket::NoDate => "No date".to_owned(),
    }
}

/// A forecast column for the CSV: "overdue", "2027-01", "later", "no date".
pub fn bucket_key(bucket: Bucket) -> String {
    match bucket {
        Bucket::Overdue => "overdue".to_owned(),
        Bucket::Month(month) => month.format("%Y-%m").to_string(),
        Bucket::Later => "later".to_owned(),
        Bucket::NoDate => "no date".to_owned(),
    }
}
