//! How times and counts read on a page.

use chrono::NaiveDateTime;
use chrono_tz::Tz;

/// A UTC time in the viewer's time zone, e.g. "3 Dec 2026, 16:05".
pub fn datetime(at: NaiveDateTime, tz: Tz) -> String {
    at.and_utc()
        .with_timezone(&tz)
        .format("%-d %b %Y, %H:%M")
        .to_string()
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
    }
}
