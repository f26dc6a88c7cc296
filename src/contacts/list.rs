//! What the contact and company lists share: their orders and the keyset cursor that pages
//! through them. The queries that apply a cursor stay with each table.

use chrono::NaiveDateTime;

/// How a list is ordered. Each order has its own cursor and its own index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// A → Z on (sort_name, id).
    #[default]
    Name,
    /// Newest first on (created_at, id).
    Created,
    /// Most recent activity first on (last_activity_at, id); never-active records last.
    Activity,
}

impl Sort {
    pub fn parse(value: &str) -> Self {
        match value {
            "created" => Sort::Created,
            "activity" => Sort::Activity,
            _ => Sort::Name,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::Created => "created",
            Sort::Activity => "activity",
        }
    }
}

/// A listed record's keys in every order.
pub trait SortKeys {
    fn id(&self) -> i64;
    fn sort_name(&self) -> &str;
    fn created_at(&self) -> NaiveDateTime;
    fn last_activity_at(&self) -> Option<NaiveDateTime>;
}

/// Where the next page starts: just after the last row shown.
///
/// In a URL it is `after=<id>~<key>`, where `<key>` is that row's sort key: its `sort_name`
/// when sorting by name, its `created_at` in microseconds since the epoch when sorting by
/// created, and its `last_activity_at` in microseconds (empty when it has none) when sorting
/// by activity. The page continues strictly after `(key, id)` in the sort order, so it stays
/// on the index however deep it goes. A cursor only means something with its own `sort`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    Name(String, i64),
    Created(NaiveDateTime, i64),
    Activity(Option<NaiveDateTime>, i64),
}

fn micros(at: NaiveDateTime) -> String {
    at.and_utc().timestamp_micros().to_string()
}

fn from_micros(raw: &str) -> Option<NaiveDateTime> {
    chrono::DateTime::from_timestamp_micros(raw.parse().ok()?).map(|at| at.naive_utc())
}

impl Cursor {
    /// The cursor after `record` in `sort` order.
    pub fn after(sort: Sort, record: &impl SortKeys) -> Self {
        match sort {
            Sort::Name => Cursor::Name(record.sort_name().to_owned(), record.id()),
            Sort::Created => Cursor::Created(record.created_at(), record.id()),
            Sort::Activity => Cursor::Activity(record.last_activity_at(), record.id()),
        }
    }

    pub fn encode(&self) -> String {
        match self {
            Cursor::Name(key, id) => format!("{id}~{key}"),
            Cursor::Created(at, id) => format!("{id}~{}", micros(*at)),
            Cursor::Activity(at, id) => format!("{id}~{}", at.map(micros).unwrap_or_default()),
        }
    }

    /// Reads a cursor for `sort`; `None` if it is malformed.
    pub fn parse(raw: &str, sort: Sort) -> Option<Self> {
        let (id, key) = raw.split_once('~')?;
        let id: i64 = id.parse().ok()?;
        match sort {
            Sort::Name => Some(Cursor::Name(key.to_owned(), id)),
            Sort::Created => Some(Cursor::Created(from_micros(key)?, id)),
            Sort::Activity if key.is_empty() => Some(Cursor::Activity(None, id)),
            Sort::Activity => Some(Cursor::Activity(Some(from_micros(key)?), id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_in_every_order() {
        let at = chrono::DateTime::from_timestamp_micros(1_796_000_010_123_456)
            .expect("a valid time")
            .naive_utc();
        for (sort, cursor) in [
            (Sort::Name, Cursor::Name("lovelace ada~x".to_owned(), 7)),
            (Sort::Created, Cursor::Created(at, 8)),
            (Sort::Activity, Cursor::Activity(Some(at), 9)),
            (Sort::Activity, Cursor::Activity(None, 10)),
        ] {
            assert_eq!(Cursor::parse(&cursor.encode(), sort), Some(cursor));
        }
        assert_eq!(Cursor::parse("x~y", Sort::Name), None);
        assert_eq!(Cursor::parse("12~not-a-time", Sort::Created), None);
    }
}
