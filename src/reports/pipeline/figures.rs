//! The report's figures, computed from what the queries stream: pure arithmetic on integers
//! (counts, microseconds, minor units), no database and no floats. Every average, median
//! and rate of an empty set is `None`, which pages show as "—".
//!
//! Definitions (the README repeats them for users):
//! - A deal *reached* a stage when it was created in it or moved into it, or reached a later
//!   stage (deals created or moved straight past a stage count as having passed it), or was
//!   won (a won deal has passed every stage).
//! - Its *time in a stage* is the sum of its stays there (a deal moved back and forth has
//!   several); a stay ends when the deal moves, is won or is lost; an open deal's current
//!   stay counts up to now.
//! - *Conversion* of a stage: the deals that reached the next stage (or, for the last stage,
//!   were won) out of those that reached it.
//! - The *bottleneck*: the stage with the lowest conversion, among stages at least
//!   `MIN_DEALS_FOR_BOTTLENECK` deals reached and that some of them did not get past; ties
//!   go to the stage that lost more deals, then to the earlier stage.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};

use crate::pipeline::rules::weighted_value;

/// A stage needs this many deals before it can be called the bottleneck: below it, one
/// unlucky deal would decide.
pub const MIN_DEALS_FOR_BOTTLENECK: u64 = 5;

pub const MICROS_PER_DAY: i64 = 86_400_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Won,
    Lost,
}

impl Status {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(Status::Open),
            "won" => Some(Status::Won),
            "lost" => Some(Status::Lost),
            _ => None,
        }
    }
}

/// One row of a deal's journey: from `at` (microseconds since the epoch, UTC) the deal is in
/// `stage` (an index into the pipeline's stages in order; `None` for a stage that is not one
/// of them, e.g. deleted) with `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub stage: Option<usize>,
    pub status: Status,
    pub at: i64,
}

/// `part` out of `whole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ratio {
    pub part: u64,
    pub whole: u64,
}

impl Ratio {
    pub fn new(part: u64, whole: u64) -> Self {
        Self { part, whole }
    }

    /// Tenths of a percent, rounded half up; `None` when nothing was counted.
    pub fn per_mille(self) -> Option<u64> {
        if self.whole == 0 {
            return None;
        }
        let scaled = u128::from(self.part) * 1000 + u128::from(self.whole) / 2;
        Some((scaled / u128::from(self.whole)) as u64)
    }

    /// "62.5" (no sign), or `None`.
    pub fn percent_number(self) -> Option<String> {
        self.per_mille()
            .map(|tenths| format!("{}.{}", tenths / 10, tenths % 10))
    }

    /// "62.5%", or "—" when nothing was counted.
    pub fn percent_text(self) -> String {
        self.percent_number()
            .map_or_else(|| DASH.to_owned(), |number| format!("{number}%"))
    }

    /// Whether `self` is a strictly lower rate than `other` (both counted).
    fn lower_than(self, other: Ratio) -> bool {
        u128::from(self.part) * u128::from(other.whole)
            < u128::from(other.part) * u128::from(self.whole)
    }

    fn same_as(self, other: Ratio) -> bool {
        u128::from(self.part) * u128::from(other.whole)
            == u128::from(other.part) * u128::from(self.whole)
    }
}

pub const DASH: &str = "—";

/// The mean of `values`, rounded half up (towards +∞ on a half); `None` for none.
pub fn mean(values: &[i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let sum: i128 = values.iter().map(|&value| i128::from(value)).sum();
    Some(divide_rounding(sum, values.len() as i128))
}

/// `numerator / denominator` (denominator > 0), rounded half up.
fn divide_rounding(numerator: i128, denominator: i128) -> i64 {
    let doubled = numerator * 2 + denominator;
    doubled.div_euclid(denominator * 2) as i64
}

/// The middle value (the mean of the two middle ones for an even count), rounded half up;
/// `None` for none. Reorders `values`.
pub fn median(values: &mut [i64]) -> Option<i64> {
    let count = values.len();
    if count == 0 {
        return None;
    }
    let (_, &mut upper, _) = values.select_nth_unstable(count / 2);
    if count % 2 == 1 {
        return Some(upper);
    }
    let lower = values[..count / 2].iter().copied().max().unwrap_or(upper);
    Some(divide_rounding(i128::from(lower) + i128::from(upper), 2))
}

/// Days with one decimal, rounded half up: "4.2". `None` stays `None`.
pub fn days_number(micros: Option<i64>) -> Option<String> {
    micros.map(|micros| {
        let tenths = divide_rounding(i128::from(micros) * 10, i128::from(MICROS_PER_DAY));
        let sign = if tenths < 0 { "-" } else { "" };
        let tenths = tenths.unsigned_abs();
        format!("{sign}{}.{}", tenths / 10, tenths % 10)
    })
}

/// "4.2 days", "1.0 day", or "—".
pub fn days_text(micros: Option<i64>) -> String {
    match days_number(micros) {
        Some(number) if number == "1.0" => "1.0 day".to_owned(),
        Some(number) => format!("{number} days"),
        None => DASH.to_owned(),
    }
}

/// How long deals spent in one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeInStage {
    /// Deals that spent time in the stage.
    pub deals: u64,
    pub average: Option<i64>,
    pub median: Option<i64>,
}

/// The figures of one stage, in microseconds where they are times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StageFigures {
    pub reached: u64,
    /// Reached the next stage (or were won, after the last stage).
    pub advanced: u64,
    /// Lost while in this stage.
    pub lost: u64,
    /// Open in this stage now.
    pub open: u64,
    pub conversion: Ratio,
    pub time: TimeInStage,
}

impl StageFigures {
    /// Deals that reached the stage and got no further (lost in it, still open in it, or
    /// lost or open in an earlier stage after moving back).
    pub fn dropped(&self) -> u64 {
        self.reached.saturating_sub(self.advanced)
    }
}

/// The funnel of the deals created in the range.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Funnel {
    /// Deals created in the range (with a journey).
    pub deals: u64,
    /// Of those, won.
    pub won: u64,
    pub lost: u64,
    pub open: u64,
    /// In the pipeline's stage order.
    pub stages: Vec<StageFigures>,
    /// The index of the bottleneck stage, if one stands out.
    pub bottleneck: Option<usize>,
}

/// Collects deals' journeys one at a time (in any order), then computes the funnel.
#[derive(Debug)]
pub struct FunnelBuilder {
    deals: u64,
    won: u64,
    lost: u64,
    open: u64,
    /// Not-won deals whose furthest stage is each stage.
    furthest: Vec<u64>,
    lost_in: Vec<u64>,
    open_in: Vec<u64>,
    /// Each deal's total time in each stage, microseconds.
    times: Vec<Vec<i64>>,
    /// The deal being added: its time per stage.
    scratch: Vec<Option<i64>>,
}

impl FunnelBuilder {
    pub fn new(stage_count: usize) -> Self {
        Self {
            deals: 0,
            won: 0,
            lost: 0,
            open: 0,
            furthest: vec![0; stage_count],
            lost_in: vec![0; stage_count],
            open_in: vec![0; stage_count],
            times: vec![Vec::new(); stage_count],
            scratch: vec![None; stage_count],
        }
    }

    /// Adds one deal's journey, its steps in order; an open deal's current stay lasts until
    /// `now` (microseconds). A deal without steps is ignored.
    pub fn add_deal(&mut self, steps: &[Step], now: i64) {
        let Some(last) = steps.last() else {
            return;
        };
        let stage_count = self.scratch.len();
        let known = |stage: Option<usize>| stage.filter(|&index| index < stage_count);
        self.deals += 1;
        self.scratch.fill(None);
        let mut furthest: Option<usize> = None;
        for (index, step) in steps.iter().enumerate() {
            let Some(stage) = known(step.stage) else {
                continue;
            };
            furthest = furthest.max(Some(stage));
            if step.status == Status::Open {
                let until = steps.get(index + 1).map_or(now, |next| next.at);
                let stay = until.saturating_sub(step.at).max(0);
                let total = self.scratch[stage].get_or_insert(0);
                *total = total.saturating_add(stay);
            }
        }
        match last.status {
            Status::Won => self.won += 1,
            Status::Lost => {
                self.lost += 1;
                if let Some(stage) = known(last.stage) {
                    self.lost_in[stage] += 1;
                }
            }
            Status::Open => {
                self.open += 1;
                if let Some(stage) = known(last.stage) {
                    self.open_in[stage] += 1;
                }
            }
        }
        if last.status != Status::Won
            && let Some(stage) = furthest
        {
            self.furthest[stage] += 1;
        }
        for (stage, time) in self.scratch.iter().enumerate() {
            if let Some(time) = time {
                self.times[stage].push(*time);
            }
        }
    }

    /// Adds the deals `other` collected (over the same stages).
    pub fn merge(&mut self, other: FunnelBuilder) {
        self.deals += other.deals;
        self.won += other.won;
        self.lost += other.lost;
        self.open += other.open;
        let add = |into: &mut Vec<u64>, from: Vec<u64>| {
            for (total, count) in into.iter_mut().zip(from) {
                *total += count;
            }
        };
        add(&mut self.furthest, other.furthest);
        add(&mut self.lost_in, other.lost_in);
        add(&mut self.open_in, other.open_in);
        for (times, more) in self.times.iter_mut().zip(other.times) {
            times.extend(more);
        }
    }

    pub fn finish(mut self) -> Funnel {
        let stage_count = self.furthest.len();
        // Reached stage i: won deals, and deals whose furthest stage is i or later.
        let mut reached = vec![0_u64; stage_count];
        let mut running = self.won;
        for stage in (0..stage_count).rev() {
            running += self.furthest[stage];
            reached[stage] = running;
        }
        let stages: Vec<StageFigures> = (0..stage_count)
            .map(|stage| {
                let advanced = reached.get(stage + 1).copied().unwrap_or(self.won);
                let times = &mut self.times[stage];
                StageFigures {
                    reached: reached[stage],
                    advanced,
                    lost: self.lost_in[stage],
                    open: self.open_in[stage],
                    conversion: Ratio::new(advanced, reached[stage]),
                    time: TimeInStage {
                        deals: times.len() as u64,
                        average: mean(times),
                        median: median(times),
                    },
                }
            })
            .collect();
        let bottleneck = bottleneck(&stages);
        Funnel {
            deals: self.deals,
            won: self.won,
            lost: self.lost,
            open: self.open,
            stages,
            bottleneck,
        }
    }
}

/// The stage with the lowest conversion among those enough deals reached and some dropped
/// out of; ties go to the stage that lost more deals, then to the earlier one.
pub fn bottleneck(stages: &[StageFigures]) -> Option<usize> {
    let mut found: Option<usize> = None;
    for (index, stage) in stages.iter().enumerate() {
        if stage.reached < MIN_DEALS_FOR_BOTTLENECK || stage.dropped() == 0 {
            continue;
        }
        let better = match found {
            None => true,
            Some(best) => {
                let best = &stages[best];
                stage.conversion.lower_than(best.conversion)
                    || (stage.conversion.same_as(best.conversion)
                        && stage.dropped() > best.dropped())
            }
        };
        if better {
            found = Some(index);
        }
    }
    found
}

/// What deals closed in the range tell: win rate, deal size, sales cycle.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Closed {
    pub won: u64,
    pub lost: u64,
    /// Won out of won and lost.
    pub win_rate: Ratio,
    /// Per currency, the one with most deals first: won deals, their total and average
    /// value (minor units).
    pub won_value: Vec<CurrencyTotal>,
    /// The average time from creation to won, microseconds.
    pub cycle: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyTotal {
    pub currency: String,
    pub deals: u64,
    pub total: i64,
    pub average: i64,
}

#[derive(Debug, Default)]
pub struct ClosedBuilder {
    won: u64,
    lost: u64,
    won_value: BTreeMap<String, (u64, i128)>,
    cycle_total: i128,
}

impl ClosedBuilder {
    /// A won deal: its value and how long it took (microseconds from creation to won).
    pub fn add_won(&mut self, currency: &str, value_minor: i64, cycle: i64) {
        self.won += 1;
        let entry = match self.won_value.get_mut(currency) {
            Some(entry) => entry,
            None => self.won_value.entry(currency.to_owned()).or_default(),
        };
        entry.0 += 1;
        entry.1 += i128::from(value_minor);
        self.cycle_total += i128::from(cycle.max(0));
    }

    pub fn add_lost(&mut self) {
        self.lost += 1;
    }

    pub fn finish(self) -> Closed {
        let mut won_value: Vec<CurrencyTotal> = self
            .won_value
            .into_iter()
            .map(|(currency, (deals, total))| CurrencyTotal {
                currency,
                deals,
                total: total.clamp(0, i128::from(i64::MAX)) as i64,
                average: divide_rounding(total, i128::from(deals)),
            })
            .collect();
        // The main currency (most deals) first.
        won_value.sort_by(|a, b| {
            b.deals
                .cmp(&a.deals)
                .then_with(|| a.currency.cmp(&b.currency))
        });
        Closed {
            won: self.won,
            lost: self.lost,
            win_rate: Ratio::new(self.won, self.won + self.lost),
            won_value,
            cycle: (self.won > 0).then(|| divide_rounding(self.cycle_total, i128::from(self.won))),
        }
    }
}

/// Where an open deal's expected close date falls in the forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bucket {
    /// Expected before the current month: the date has slipped.
    Overdue,
    /// The month starting on this day (the current month and the next eleven).
    Month(NaiveDate),
    /// A year or more ahead.
    Later,
    NoDate,
}

/// Months the forecast shows one by one, the current month included.
pub const FORECAST_MONTHS: u32 = 12;

pub fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// `this_month` is the first day of the viewer's current month.
pub fn bucket(expected_close_on: Option<NaiveDate>, this_month: NaiveDate) -> Bucket {
    let Some(day) = expected_close_on else {
        return Bucket::NoDate;
    };
    let month = first_of_month(day);
    if month < this_month {
        return Bucket::Overdue;
    }
    match this_month.checked_add_months(Months::new(FORECAST_MONTHS)) {
        Some(horizon) if month >= horizon => Bucket::Later,
        _ => Bucket::Month(month),
    }
}

/// An open deal as the forecast sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenDeal {
    pub owner_id: Option<i64>,
    pub currency: String,
    pub value_minor: i64,
    pub win_probability: i32,
    pub expected_close_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cell {
    pub deals: u64,
    pub value: i64,
    pub weighted: i64,
}

impl Cell {
    fn add(&mut self, other: Cell) {
        self.deals += other.deals;
        self.value = self.value.saturating_add(other.value);
        self.weighted = self.weighted.saturating_add(other.weighted);
    }
}

/// The weighted forecast of one currency: owners × buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyForecast {
    pub currency: String,
    /// The columns, in order: overdue (if any), the months from the current one to the last
    /// with deals, later (if any), no date (if any).
    pub buckets: Vec<Bucket>,
    /// Owners with open deals in this currency (`None`: no owner), in id order.
    pub owners: Vec<Option<i64>>,
    pub cells: BTreeMap<(Option<i64>, Bucket), Cell>,
}

impl CurrencyForecast {
    pub fn cell(&self, owner: Option<i64>, bucket: Bucket) -> Cell {
        self.cells
            .get(&(owner, bucket))
            .copied()
            .unwrap_or_default()
    }

    pub fn bucket_total(&self, bucket: Bucket) -> Cell {
        let mut total = Cell::default();
        for owner in &self.owners {
            total.add(self.cell(*owner, bucket));
        }
        total
    }

    pub fn owner_total(&self, owner: Option<i64>) -> Cell {
        let mut total = Cell::default();
        for bucket in &self.buckets {
            total.add(self.cell(owner, *bucket));
        }
        total
    }

    pub fn total(&self) -> Cell {
        let mut total = Cell::default();
        for cell in self.cells.values() {
            total.add(*cell);
        }
        total
    }
}

/// Groups open deals by currency (the one with most deals first), owner and bucket, each
/// weighted by its stage's win probability (`rules::weighted_value`, rounded per deal).
pub fn forecast(deals: &[OpenDeal], this_month: NaiveDate) -> Vec<CurrencyForecast> {
    let mut by_currency: BTreeMap<&str, BTreeMap<(Option<i64>, Bucket), Cell>> = BTreeMap::new();
    for deal in deals {
        let cells = by_currency.entry(deal.currency.as_str()).or_default();
        let key = (deal.owner_id, bucket(deal.expected_close_on, this_month));
        cells.entry(key).or_default().add(Cell {
            deals: 1,
            value: deal.value_minor,
            weighted: weighted_value(deal.value_minor, deal.win_probability),
        });
    }
    let mut forecasts: Vec<CurrencyForecast> = by_currency
        .into_iter()
        .map(|(currency, cells)| {
            let mut owners: Vec<Option<i64>> = cells.keys().map(|(owner, _)| *owner).collect();
            owners.sort_unstable_by_key(|owner| (owner.is_none(), *owner));
            owners.dedup();
            let present: Vec<Bucket> = cells.keys().map(|(_, bucket)| *bucket).collect();
            CurrencyForecast {
                currency: currency.to_owned(),
                buckets: columns(&present, this_month),
                owners,
                cells,
            }
        })
        .collect();
    forecasts.sort_by_cached_key(|forecast| {
        (
            std::cmp::Reverse(forecast.total().deals),
            forecast.currency.clone(),
        )
    });
    forecasts
}

/// Overdue if present, every month from the current one to the last present, then later
/// and no date if present.
fn columns(present: &[Bucket], this_month: NaiveDate) -> Vec<Bucket> {
    let mut columns = Vec::new();
    if present.contains(&Bucket::Overdue) {
        columns.push(Bucket::Overdue);
    }
    let last_month = present
        .iter()
        .filter_map(|bucket| match bucket {
            Bucket::Month(month) => Some(*month),
            _ => None,
        })
        .max();
    if let Some(last_month) = last_month {
        let mut month = this_month;
        while month <= last_month {
            columns.push(Bucket::Month(month));
            match month.checked_add_months(Months::new(1)) {
                Some(next) => month = next,
                None => break,
            }
        }
    }
    for tail in [Bucket::Later, Bucket::NoDate] {
        if present.contains(&tail) {
            columns.push(tail);
        }
    }
    columns
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = MICROS_PER_DAY;

    fn open(stage: usize, at: i64) -> Step {
        Step {
            stage: Some(stage),
            status: Status::Open,
            at,
        }
    }

    fn closed(stage: usize, status: Status, at: i64) -> Step {
        Step {
            stage: Some(stage),
            status,
            at,
        }
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    #[test]
    fn the_median_of_an_odd_count_is_the_middle_value() {
        assert_eq!(median(&mut [5, 1, 3]), Some(3));
        assert_eq!(median(&mut [7]), Some(7));
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(3), "2.5 rounds half up");
        assert_eq!(median(&mut [DAY, 2 * DAY]), Some(DAY + DAY / 2));
        assert_eq!(median(&mut [10, 10, 0, 0]), Some(5));
    }

    #[test]
    fn empty_sets_have_no_average_median_or_rate() {
        assert_eq!(mean(&[]), None);
        assert_eq!(median(&mut []), None);
        assert_eq!(Ratio::new(0, 0).per_mille(), None);
        assert_eq!(Ratio::new(0, 0).percent_text(), "—");
        assert_eq!(days_text(None), "—");
        let funnel = FunnelBuilder::new(3).finish();
        assert_eq!(funnel.deals, 0);
        assert!(
            funnel
                .stages
                .iter()
                .all(|stage| stage.time.average.is_none()
                    && stage.time.median.is_none()
                    && stage.conversion.percent_text() == "—")
        );
        assert_eq!(funnel.bottleneck, None);
        let closed = ClosedBuilder::default().finish();
        assert_eq!(closed.win_rate.percent_text(), "—");
        assert_eq!(closed.cycle, None);
        assert!(closed.won_value.is_empty());
    }

    #[test]
    fn rates_and_days_round_half_up_to_one_decimal() {
        assert_eq!(Ratio::new(1, 3).percent_text(), "33.3%");
        assert_eq!(Ratio::new(2, 3).percent_text(), "66.7%");
        assert_eq!(Ratio::new(1, 8).percent_text(), "12.5%");
        assert_eq!(Ratio::new(3, 3).percent_text(), "100.0%");
        assert_eq!(days_text(Some(DAY * 3 / 2)), "1.5 days");
        assert_eq!(days_text(Some(DAY)), "1.0 day");
        assert_eq!(days_text(Some(DAY / 20)), "0.1 days", "0.05 rounds up");
        assert_eq!(days_number(Some(0)).as_deref(), Some("0.0"));
        assert_eq!(mean(&[1, 2]), Some(2));
    }

    #[test]
    fn deals_count_as_reaching_the_stages_they_skipped_and_won_deals_all_of_them() {
        let mut builder = FunnelBuilder::new(3);
        // Created in stage 0, lost there.
        builder.add_deal(&[open(0, 0), closed(0, Status::Lost, DAY)], 10 * DAY);
        // Created straight into stage 2, still open.
        builder.add_deal(&[open(2, 0)], 10 * DAY);
        // Created in 0, won from 1 (never in 2).
        builder.add_deal(
            &[open(0, 0), open(1, DAY), closed(1, Status::Won, 3 * DAY)],
            10 * DAY,
        );
        let funnel = builder.finish();
        let reached: Vec<u64> = funnel.stages.iter().map(|stage| stage.reached).collect();
        assert_eq!(reached, [3, 2, 2]);
        let advanced: Vec<u64> = funnel.stages.iter().map(|stage| stage.advanced).collect();
        assert_eq!(advanced, [2, 2, 1]);
        assert_eq!(funnel.stages[0].lost, 1);
        assert_eq!(funnel.stages[2].open, 1);
        assert_eq!((funnel.won, funnel.lost, funnel.open), (1, 1, 1));
    }

    #[test]
    fn time_in_stage_sums_stays_and_counts_open_stays_up_to_now() {
        let mut builder = FunnelBuilder::new(2);
        // 1 day in 0, 2 days in 1, back to 0 for 3 days, then 1 again until now (4 days).
        builder.add_deal(
            &[open(0, 0), open(1, DAY), open(0, 3 * DAY), open(1, 6 * DAY)],
            10 * DAY,
        );
        let funnel = builder.finish();
        assert_eq!(funnel.stages[0].time.average, Some(4 * DAY));
        assert_eq!(funnel.stages[1].time.average, Some(6 * DAY));
        assert_eq!(funnel.stages[1].time.deals, 1);
    }

    #[test]
    fn builders_merge_into_the_funnel_of_all_their_deals() {
        let deals = [
            vec![open(0, 0), open(1, DAY), closed(1, Status::Won, 3 * DAY)],
            vec![open(0, 0), closed(0, Status::Lost, 2 * DAY)],
            vec![open(1, 0)],
        ];
        let mut whole = FunnelBuilder::new(2);
        for deal in &deals {
            whole.add_deal(deal, 10 * DAY);
        }
        let mut first = FunnelBuilder::new(2);
        first.add_deal(&deals[0], 10 * DAY);
        let mut second = FunnelBuilder::new(2);
        second.add_deal(&deals[1], 10 * DAY);
        second.add_deal(&deals[2], 10 * DAY);
        first.merge(second);
        assert_eq!(first.finish(), whole.finish());
    }

    #[test]
    fn time_after_a_deal_is_closed_does_not_count() {
        let mut builder = FunnelBuilder::new(1);
        builder.add_deal(&[open(0, 0), closed(0, Status::Lost, 2 * DAY)], 100 * DAY);
        assert_eq!(builder.finish().stages[0].time.average, Some(2 * DAY));
    }

    #[test]
    fn the_bottleneck_is_the_lowest_conversion_with_enough_deals() {
        let stage = |reached: u64, advanced: u64| StageFigures {
            reached,
            advanced,
            conversion: Ratio::new(advanced, reached),
            ..StageFigures::default()
        };
        // 80%, 50%, 0% of only 4 deals (too few), 100%.
        let stages = [stage(10, 8), stage(8, 4), stage(4, 0), stage(6, 6)];
        assert_eq!(bottleneck(&stages), Some(1));
        // Equal rates: the stage that lost more deals.
        let stages = [stage(10, 5), stage(20, 10)];
        assert_eq!(bottleneck(&stages), Some(1));
        // Nothing dropped anywhere: no bottleneck.
        assert_eq!(bottleneck(&[stage(10, 10)]), None);
    }

    #[test]
    fn closed_deals_give_win_rate_average_size_and_cycle() {
        let mut builder = ClosedBuilder::default();
        builder.add_won("EUR", 1_000, 10 * DAY);
        builder.add_won("EUR", 2_001, 20 * DAY);
        builder.add_won("AUD", 500, 30 * DAY);
        builder.add_lost();
        let closed = builder.finish();
        assert_eq!(closed.win_rate.percent_text(), "75.0%");
        assert_eq!(
            closed.won_value[0].currency, "EUR",
            "the currency of most deals first"
        );
        assert_eq!(closed.won_value[0].average, 1_501, "1500.5 rounds half up");
        assert_eq!(closed.won_value[1].total, 500);
        assert_eq!(closed.cycle, Some(20 * DAY));
    }

    #[test]
    fn open_deals_fall_in_their_month_or_overdue_later_or_undated() {
        let this_month = date("2026-12-01");
        assert_eq!(
            bucket(Some(date("2026-11-30")), this_month),
            Bucket::Overdue
        );
        assert_eq!(
            bucket(Some(date("2026-12-31")), this_month),
            Bucket::Month(this_month)
        );
        assert_eq!(
            bucket(Some(date("2027-11-30")), this_month),
            Bucket::Month(date("2027-11-01"))
        );
        assert_eq!(bucket(Some(date("2027-12-01")), this_month), Bucket::Later);
        assert_eq!(bucket(None, this_month), Bucket::NoDate);
    }

    #[test]
    fn the_forecast_weights_each_deal_and_fills_the_months_between() {
        let deal = |owner: Option<i64>, value: i64, probability: i32, day: Option<&str>| OpenDeal {
            owner_id: owner,
            currency: "EUR".to_owned(),
            value_minor: value,
            win_probability: probability,
            expected_close_on: day.map(date),
        };
        let deals = [
            deal(Some(2), 1_000, 50, Some("2027-02-10")),
            deal(Some(2), 5, 50, Some("2027-02-11")),
            deal(Some(1), 1_000, 10, Some("2026-10-01")),
            deal(None, 1_000, 100, None),
        ];
        let forecasts = forecast(&deals, date("2026-12-01"));
        assert_eq!(forecasts.len(), 1);
        let euros = &forecasts[0];
        assert_eq!(
            euros.buckets,
            [
                Bucket::Overdue,
                Bucket::Month(date("2026-12-01")),
                Bucket::Month(date("2027-01-01")),
                Bucket::Month(date("2027-02-01")),
                Bucket::NoDate,
            ]
        );
        assert_eq!(euros.owners, [Some(1), Some(2), None]);
        let february = euros.cell(Some(2), Bucket::Month(date("2027-02-01")));
        assert_eq!(
            (february.deals, february.value, february.weighted),
            (2, 1_005, 503)
        );
        assert_eq!(euros.total().weighted, 503 + 100 + 1_000);
        assert_eq!(euros.bucket_total(Bucket::Overdue).weighted, 100);
        assert_eq!(euros.owner_total(None).deals, 1);
    }
}
