//! What the list pages (contacts, companies, leads) read from their query strings the same
//! way: the owner filter, dates typed in the viewer's zone, "no activity for N days", and
//! the link to the same list (for the next page, or back after a bulk action).

use chrono::{NaiveDate, NaiveDateTime, TimeZone};

/// The longest "no activity for N days" a list accepts (a hundred years).
const MAX_INACTIVE_DAYS: i64 = 36_500;

/// The owner a list is filtered by: `mine` is the viewer, a number a user id, anything else
/// no owner filter.
pub fn owner(raw: &str, viewer_id: i64) -> Option<i64> {
    match raw.trim() {
        "mine" => Some(viewer_id),
        other => other.parse().ok(),
    }
}

/// The UTC time at which a day typed as YYYY-MM-DD starts in the viewer's zone; with
/// `following`, the day after it starts (the exclusive end of a range "to" that day).
pub fn day_start(raw: &str, tz: chrono_tz::Tz, following: bool) -> Option<NaiveDateTime> {
    let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok()?;
    let date = if following { date.succ_opt()? } else { date };
    let local = date.and_hms_opt(0, 0, 0)?;
    Some(tz.from_local_datetime(&local).earliest()?.naive_utc())
}

/// "No activity for N days": the time before which the last activity must lie.
pub fn inactive_since(raw: &str, now: NaiveDateTime) -> Option<NaiveDateTime> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|days| (0..=MAX_INACTIVE_DAYS).contains(days))
        .map(|days| now - chrono::Duration::days(days))
}

/// A query string of the pairs whose value is not blank, values trimmed.
pub fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        let value = value.trim();
        if !value.is_empty() {
            serializer.append_pair(name, value);
        }
    }
    serializer.finish()
}

/// `path`, with `query` when there is one.
pub fn link(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("a time")
    }

    #[test]
    fn mine_is_the_viewer_and_other_owners_are_ids() {
        assert_eq!(owner(" mine ", 7), Some(7));
        assert_eq!(owner("12", 7), Some(12));
        assert_eq!(owner("", 7), None);
        assert_eq!(owner("someone", 7), None);
    }

    #[test]
    fn days_start_at_local_midnight() {
        let paris = chrono_tz::Europe::Paris;
        assert_eq!(
            day_start("2026-07-01", paris, false),
            Some(at("2026-06-30 22:00"))
        );
        assert_eq!(
            day_start("2026-07-01", paris, true),
            Some(at("2026-07-01 22:00"))
        );
        assert_eq!(day_start("2026-13-01", paris, false), None);
        assert_eq!(day_start("", paris, false), None);
    }

    #[test]
    fn inactivity_is_counted_back_from_now_within_bounds() {
        let now = at("2026-12-04 12:00");
        assert_eq!(inactive_since("60", now), Some(at("2026-10-05 12:00")));
        assert_eq!(inactive_since("-1", now), None);
        assert_eq!(inactive_since("36501", now), None);
        assert_eq!(inactive_since("soon", now), None);
    }

    #[test]
    fn blank_values_are_left_out_of_links() {
        let query = query_string([("q", " ada "), ("owner", ""), ("tag", "vip & co")]);
        assert_eq!(query, "q=ada&tag=vip+%26+co");
        assert_eq!(link("/contacts", &query), "/contacts?q=ada&tag=vip+%26+co");
        assert_eq!(link("/contacts", ""), "/contacts");
    }
}
