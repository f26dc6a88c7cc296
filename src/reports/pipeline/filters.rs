//! The report's filters as the query string gives them: which pipeline, and which days.
//!
//! The range is a span of whole days in the viewer's time zone, both ends included:
//! `from=2026-09-01&to=2026-11-30` covers 1 September 00:00 to 30 November 24:00 local time,
//! turned into the half-open UTC interval `[start, end)` the queries compare with. Without
//! dates the range is the last 90 days, today included.

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::error::FieldErrors;

/// Days in the default range (today and the 89 before).
pub const DEFAULT_DAYS: i64 = 90;

/// A span of whole local days, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    /// The last `DEFAULT_DAYS` days up to `today`.
    pub fn default_for(today: NaiveDate) -> Self {
        Self {
            from: today - Duration::days(DEFAULT_DAYS - 1),
            to: today,
        }
    }

    /// Reads the `from` and `to` fields (`YYYY-MM-DD`, either may be empty or missing). A
    /// missing `to` is today; a missing `from` is `DEFAULT_DAYS` days before `to`.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let from = errors.take("from", read_date(from, "start")).flatten();
        let to = errors.take("to", read_date(to, "end")).flatten();
        if !errors.is_empty() {
            return Err(errors);
        }
        let to = to.unwrap_or(today);
        let from = from.unwrap_or_else(|| to - Duration::days(DEFAULT_DAYS - 1));
        if from > to {
            return Err(FieldErrors::single(
                "from",
                "The start date must be on or before the end date.",
            ));
        }
        Ok(Self { from, to })
    }

    /// The UTC instants `[start, end)` of the range's local days in `tz`.
    pub fn utc_bounds(&self, tz: Tz) -> (NaiveDateTime, NaiveDateTime) {
        let end_day = self.to.succ_opt().unwrap_or(self.to);
        (local_midnight(self.from, tz), local_midnight(end_day, tz))
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

fn date_message(which: &str) -> String {
    format!("Enter the {which} date as YYYY-MM-DD, for example 2026-09-01.")
}

/// `Ok(None)` when the field is empty; years outside 1900–9998 are refused as typos.
fn read_date(raw: Option<&str>, which: &str) -> Result<Option<NaiveDate>, String> {
    let raw = raw.map(str::trim).unwrap_or_default();
    if raw.is_empty() {
        return Ok(None);
    }
    match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(date) if (1900..=9998).contains(&chrono::Datelike::year(&date)) => Ok(Some(date)),
        _ => Err(date_message(which)),
    }
}

/// When `day` begins in `tz`, in UTC. Where midnight does not exist (a daylight-saving gap),
/// the day begins at the first instant after the gap; where it happens twice, at the first.
pub fn local_midnight(day: NaiveDate, tz: Tz) -> NaiveDateTime {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    for hour in 0..=3 {
        let local = midnight + Duration::hours(hour);
        if let Some(at) = tz.from_local_datetime(&local).earliest() {
            return at.naive_utc();
        }
    }
    midnight
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    #[test]
    fn without_dates_the_range_is_the_last_ninety_days() {
        let range = DateRange::parse(None, Some(""), date("2026-12-03")).expect("valid");
        assert_eq!(range.from, date("2026-09-05"));
        assert_eq!(range.to, date("2026-12-03"));
        assert_eq!(range.days(), 90);
    }

    #[test]
    fn a_lone_end_date_reaches_ninety_days_back() {
        let range = DateRange::parse(None, Some("2026-03-31"), date("2026-12-03")).expect("valid");
        assert_eq!(range.from, date("2026-01-01"));
    }

    #[test]
    fn bad_dates_are_refused_with_a_message_per_field() {
        let errors = DateRange::parse(Some("yesterday"), Some("2026-13-01"), date("2026-12-03"))
            .expect_err("refused");
        assert!(errors.get("from").is_some_and(|m| m.contains("YYYY-MM-DD")));
        assert!(errors.get("to").is_some_and(|m| m.contains("end date")));
        let errors =
            DateRange::parse(Some("0001-01-01"), None, date("2026-12-03")).expect_err("refused");
        assert!(errors.get("from").is_some());
    }

    #[test]
    fn a_start_after_the_end_is_refused() {
        let errors = DateRange::parse(Some("2026-12-02"), Some("2026-12-01"), date("2026-12-03"))
            .expect_err("refused");
        assert_eq!(
            errors.get("from").map(String::as_str),
            Some("The start date must be on or before the end date.")
        );
    }

    #[test]
    fn days_are_the_viewers_local_days() {
        let range = DateRange {
            from: date("2026-07-01"),
            to: date("2026-07-31"),
        };
        let (start, end) = range.utc_bounds(chrono_tz::Europe::Paris);
        assert_eq!(start.to_string(), "2026-06-30 22:00:00");
        assert_eq!(end.to_string(), "2026-07-31 22:00:00");
        let (start, _) = range.utc_bounds(chrono_tz::UTC);
        assert_eq!(start.to_string(), "2026-07-01 00:00:00");
    }

    #[test]
    fn a_day_that_begins_after_a_daylight_saving_gap_begins_after_it() {
        // Santiago skipped from 2022-09-11 00:00 to 01:00.
        let at = local_midnight(date("2022-09-11"), chrono_tz::America::Santiago);
        assert_eq!(at.to_string(), "2022-09-11 04:00:00");
    }
}
