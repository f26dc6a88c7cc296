//! How times and counts read on a page.

use chrono::{Datelike, NaiveDateTime, Timelike};
use chrono_tz::Tz;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A UTC time in the viewer's time zone, e.g. "3 Dec 2026, 16:05". Written field by field:
/// a list page shows fifty of them, and chrono's `format` parses its pattern every time.
pub fn datetime(at: NaiveDateTime, tz: Tz) -> String {
    let local = at.and_utc().with_timezone(&tz);
    let month = MONTHS.get(local.month0() as usize).copied().unwrap_or("");
    format!(
        "{} {month} {}, {:02}:{:02}",
        local.day(),
        local.year(),
        local.hour(),
        local.minute()
    )
}

/// An ISO 8601 timestamp for `<time datetime=…>`.
pub fn iso(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_the_viewers_zone() {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 3)
            .and_then(|d| d.and_hms_opt(16, 5, 0))
            .expect("valid date");
        assert_eq!(datetime(at, chrono_tz::UTC), "3 Dec 2026, 16:05");
        assert_eq!(datetime(at, chrono_tz::Europe::Paris), "3 Dec 2026, 17:05");
        let new_year = chrono::NaiveDate::from_ymd_opt(2026, 12, 31)
            .and_then(|d| d.and_hms_opt(23, 7, 0))
            .expect("valid date");
        assert_eq!(
            datetime(new_year, chrono_tz::Asia::Tokyo),
            "1 Jan 2027, 08:07"
        );
    }
}
