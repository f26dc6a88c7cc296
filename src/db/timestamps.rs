//! Reading stored timestamps fast. Diesel reads a SQLite timestamp by trying chrono's
//! general parser with several formats; over hundreds of thousands of rows (a report's stage
//! moves, a rescoring's events) that parsing is a large share of the time. Selecting the
//! column as text and reading it here is several times quicker.

use chrono::{DateTime, NaiveDateTime};

/// Microseconds since the epoch of a stored UTC time: `YYYY-MM-DD HH:MM:SS[.ffffff]` (as
/// diesel and `CURRENT_TIMESTAMP` write it) read by hand, anything else by chrono.
pub fn stored_micros(text: &str) -> Option<i64> {
    fast_timestamp(text).or_else(|| {
        ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
            .map(micros)
    })
}

fn fast_timestamp(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 19
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b' '
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<i64> {
        bytes[from..to].iter().try_fold(0_i64, |total, &byte| {
            byte.is_ascii_digit()
                .then(|| total * 10 + i64::from(byte - b'0'))
        })
    };
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut fraction = 0;
    if bytes.len() > 19 {
        let digits = &bytes[20..];
        if bytes[19] != b'.' || digits.is_empty() || digits.len() > 9 {
            return None;
        }
        for (place, &byte) in digits.iter().enumerate() {
            if !byte.is_ascii_digit() {
                return None;
            }
            if place < 6 {
                fraction = fraction * 10 + i64::from(byte - b'0');
            }
        }
        for _ in digits.len()..6 {
            fraction *= 10;
        }
    }
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + hour * 3_600 + minute * 60 + second) * 1_000_000 + fraction)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`),
/// without building a date: this runs once per move.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A stored timestamp as a date and time, or `None` when it is not one.
pub fn stored_time(text: &str) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_micros(stored_micros(text)?).map(|at| at.naive_utc())
}

fn micros(at: NaiveDateTime) -> i64 {
    at.and_utc().timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono_micros(text: &str) -> i64 {
        micros(NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").expect("a time"))
    }

    #[test]
    fn stored_times_are_read_to_the_microsecond() {
        for text in [
            "2026-12-03 17:55:02",
            "2026-12-03 17:55:02.5",
            "2026-12-03 17:55:02.123456",
            "2026-12-03 17:55:02.123456789",
            "1969-12-31 23:59:59.999999",
            "2024-02-29 00:00:00",
            "2000-02-29 12:00:00",
            "1900-03-01 00:00:00",
            "2100-12-31 23:59:59",
            "0001-01-01 00:00:00",
        ] {
            assert_eq!(stored_micros(text), Some(chrono_micros(text)), "{text}");
        }
        assert_eq!(
            stored_micros("2026-12-03T17:55:02"),
            Some(chrono_micros("2026-12-03 17:55:02"))
        );
    }

    #[test]
    fn malformed_times_are_not_read() {
        for text in [
            "",
            "2026-02-30 10:00:00",
            "2023-02-29 10:00:00",
            "1900-02-29 10:00:00",
            "2026-04-31 10:00:00",
            "2026-00-10 10:00:00",
            "2026-12-03 25:00:00",
            "2026-12-03 17:55:02.",
            "2026-12-03 17:55:02x",
            "yesterday",
        ] {
            assert_eq!(stored_micros(text), None, "{text}");
        }
    }
    #[test]
    fn stored_times_read_back_as_the_same_moment() {
        let text = "2026-12-03 17:55:02.123456";
        assert_eq!(
            stored_time(text),
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").ok()
        );
        assert_eq!(stored_time("yesterday"), None);
    }
}
