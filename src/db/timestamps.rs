//! Reading stored timestamps fast. Diesel reads a SQLite timestamp by trying chrono's
//! general parser with several formats; over hundreds of thousands of rows (a report's stage
//! moves, a rescoring's events) that parsing is a large share of the time, and on a list page
//! it was a tenth of the CPU. Reading the stored text here is several times quicker: hot
//! queries select the column as text, and hot models read their timestamp fields through
//! [`Stamp`] and [`MaybeStamp`].

use chrono::{NaiveDate, NaiveDateTime};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::sql_types::{Nullable, Timestamp};
use diesel::sqlite::{Sqlite, SqliteValue};

/// Microseconds since the epoch of a stored UTC time: `YYYY-MM-DD HH:MM:SS[.fffffffff]` (as
/// diesel and `CURRENT_TIMESTAMP` write it) read by hand, anything else by chrono.
pub fn stored_micros(text: &str) -> Option<i64> {
    match fast_fields(text) {
        Some(fields) => Some(fields.micros()),
        None => chrono_time(text).map(micros),
    }
}

/// A stored timestamp as a date and time (to the nanosecond), or `None` when it is not one.
fn stored_time(text: &str) -> Option<NaiveDateTime> {
    match fast_fields(text) {
        Some(fields) => fields.date_time(),
        None => chrono_time(text),
    }
}

fn chrono_time(text: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

/// A `NaiveDateTime` model field read by hand: `#[diesel(deserialize_as = Stamp)]`. Only
/// SQLite stores timestamps as text; another backend implements `FromSql` here by reading
/// its native value.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct Stamp(NaiveDateTime);

impl FromSql<Timestamp, Sqlite> for Stamp {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = value.read_text();
        stored_time(text)
            .map(Stamp)
            .ok_or_else(|| format!("not a stored time: {text}").into())
    }
}

impl From<Stamp> for NaiveDateTime {
    fn from(stamp: Stamp) -> Self {
        stamp.0
    }
}

/// An `Option<NaiveDateTime>` model field read by hand: `#[diesel(deserialize_as =
/// MaybeStamp)]`.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct MaybeStamp(Option<NaiveDateTime>);

impl FromSql<Nullable<Timestamp>, Sqlite> for MaybeStamp {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        Stamp::from_sql(value).map(|stamp| MaybeStamp(Some(stamp.0)))
    }

    fn from_nullable_sql(value: Option<SqliteValue<'_, '_, '_>>) -> deserialize::Result<Self> {
        match value {
            Some(value) => Self::from_sql(value),
            None => Ok(MaybeStamp(None)),
        }
    }
}

impl From<MaybeStamp> for Option<NaiveDateTime> {
    fn from(stamp: MaybeStamp) -> Self {
        stamp.0
    }
}

/// The parts of `YYYY-MM-DD HH:MM:SS[.fffffffff]`, checked.
struct Fields {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    nanos: i64,
}

impl Fields {
    fn micros(&self) -> i64 {
        let days = days_from_civil(self.year, self.month, self.day);
        let seconds = days * 86_400 + self.hour * 3_600 + self.minute * 60 + self.second;
        seconds * 1_000_000 + self.nanos / 1_000
    }

    fn date_time(&self) -> Option<NaiveDateTime> {
        let narrow = |value: i64| u32::try_from(value).ok();
        NaiveDate::from_ymd_opt(
            i32::try_from(self.year).ok()?,
            narrow(self.month)?,
            narrow(self.day)?,
        )?
        .and_hms_nano_opt(
            narrow(self.hour)?,
            narrow(self.minute)?,
            narrow(self.second)?,
            narrow(self.nanos)?,
        )
    }
}

fn fast_fields(text: &str) -> Option<Fields> {
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
    let mut nanos = 0;
    if bytes.len() > 19 {
        let digits = &bytes[20..];
        if bytes[19] != b'.' || digits.is_empty() || digits.len() > 9 {
            return None;
        }
        for &byte in digits {
            if !byte.is_ascii_digit() {
                return None;
            }
            nanos = nanos * 10 + i64::from(byte - b'0');
        }
        for _ in digits.len()..9 {
            nanos *= 10;
        }
    }
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(Fields {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
    })
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

fn micros(at: NaiveDateTime) -> i64 {
    at.and_utc().timestamp_micros()
}

#[cfg(test)]
mod tests {
    use chrono::Timelike;

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
        let precise = "2026-12-03 17:55:02.123456789";
        assert_eq!(
            stored_time(precise),
            NaiveDateTime::parse_from_str(precise, "%Y-%m-%d %H:%M:%S%.f").ok(),
            "nanoseconds are kept"
        );
    }

    diesel::table! {
        moments (id) {
            id -> BigInt,
            at -> Timestamp,
            maybe -> Nullable<Timestamp>,
        }
    }

    #[derive(Debug, PartialEq, diesel::Queryable)]
    struct Moment {
        #[diesel(deserialize_as = Stamp)]
        at: NaiveDateTime,
        #[diesel(deserialize_as = MaybeStamp)]
        maybe: Option<NaiveDateTime>,
    }

    #[test]
    fn model_fields_read_what_diesel_wrote() {
        use diesel::connection::SimpleConnection;
        use diesel::prelude::*;

        let mut conn = SqliteConnection::establish(":memory:").expect("a database");
        conn.batch_execute(
            "CREATE TABLE moments (id INTEGER PRIMARY KEY, at TIMESTAMP NOT NULL, \
             maybe TIMESTAMP)",
        )
        .expect("a table");
        let precise =
            NaiveDateTime::parse_from_str("2026-12-03 17:55:02.123456789", "%Y-%m-%d %H:%M:%S%.f")
                .expect("a time");
        let whole = precise.with_nanosecond(0).expect("a time");
        diesel::insert_into(moments::table)
            .values(&vec![
                (
                    moments::id.eq(1),
                    moments::at.eq(precise),
                    moments::maybe.eq(Some(whole)),
                ),
                (
                    moments::id.eq(2),
                    moments::at.eq(whole),
                    moments::maybe.eq(None),
                ),
            ])
            .execute(&mut conn)
            .expect("inserted");
        let read: Vec<Moment> = moments::table
            .order(moments::id)
            .select((moments::at, moments::maybe))
            .load(&mut conn)
            .expect("read");
        assert_eq!(
            read,
            vec![
                Moment {
                    at: precise,
                    maybe: Some(whole)
                },
                Moment {
                    at: whole,
                    maybe: None
                },
            ]
        );
    }

    #[test]
    fn a_stored_value_that_is_not_a_time_is_an_error_not_a_guess() {
        use diesel::connection::SimpleConnection;
        use diesel::prelude::*;

        let mut conn = SqliteConnection::establish(":memory:").expect("a database");
        conn.batch_execute(
            "CREATE TABLE moments (id INTEGER PRIMARY KEY, at TIMESTAMP NOT NULL, \
             maybe TIMESTAMP); \
             INSERT INTO moments VALUES (1, 'yesterday', NULL), \
             (2, '2026-12-03 17:55:02', '2026-02-30 10:00:00');",
        )
        .expect("rows");
        let read = |conn: &mut SqliteConnection, id: i64| {
            moments::table
                .find(id)
                .select((moments::at, moments::maybe))
                .first::<Moment>(conn)
        };
        assert!(matches!(
            read(&mut conn, 1),
            Err(diesel::result::Error::DeserializationError(_))
        ));
        assert!(matches!(
            read(&mut conn, 2),
            Err(diesel::result::Error::DeserializationError(_))
        ));
    }
}
