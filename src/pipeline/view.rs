//! How pipeline figures read on a page: values (only for those who may see them), totals
//! per currency, owners' initials and lengths of time.

use std::collections::BTreeMap;

use chrono::Duration;

use super::money::{self, Currency};

/// A value for people, e.g. "€12,500.00"; a stored code that is not a currency shows the
/// bare minor units with the code rather than failing the page.
pub fn value(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Some(currency) => money::format(minor, currency),
        None => format!("{minor} {currency}"),
    }
}

/// A compact value for cards and column headers, e.g. "€12.5k".
pub fn short_value(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Some(currency) => money::format_short(minor, currency),
        None => format!("{minor} {currency}"),
    }
}

/// Sums of deal values kept apart per currency: adding euros to yen means nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// currency code → (total, weighted total) in minor units.
    by_currency: BTreeMap<String, (i64, i64)>,
}

impl Totals {
    /// Adds `total` (and its `weighted` share) in `currency`.
    pub fn add_sum(&mut self, currency: &str, total: i64, weighted: i64) {
        let entry = self
            .by_currency
            .entry(currency.to_owned())
            .or_insert((0, 0));
        entry.0 = entry.0.saturating_add(total);
        entry.1 = entry.1.saturating_add(weighted);
    }

    pub fn merge(&mut self, other: &Totals) {
        for (currency, (total, weighted)) in &other.by_currency {
            self.add_sum(currency, *total, *weighted);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_currency.is_empty()
    }

    /// (currency, total, weighted) with the largest total first, so the main currency leads.
    pub fn rows(&self) -> Vec<(&str, i64, i64)> {
        let mut rows: Vec<(&str, i64, i64)> = self
            .by_currency
            .iter()
            .map(|(currency, (total, weighted))| (currency.as_str(), *total, *weighted))
            .collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        rows
    }

    /// "€120k · $30k" (compact), or exact with `exact`.
    pub fn total_text(&self, exact: bool) -> String {
        self.text(exact, |(_, total, _)| total)
    }

    pub fn weighted_text(&self, exact: bool) -> String {
        self.text(exact, |(_, _, weighted)| weighted)
    }

    fn text(&self, exact: bool, pick: impl Fn((&str, i64, i64)) -> i64) -> String {
        let rows = self.rows();
        if rows.is_empty() {
            return if exact { "0" } else { "–" }.to_owned();
        }
        rows.into_iter()
            .map(|row| {
                let amount = pick(row);
                if exact {
                    value(amount, row.0)
                } else {
                    short_value(amount, row.0)
                }
            })
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// "AL" for "Ada Lovelace": the same rule as the navigation's avatar.
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|word| word.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect()
}

/// A length of time in the largest two units that matter: "3 d 4 h", "2 h 5 min", "45 min".
pub fn duration(length: Duration) -> String {
    let minutes = length.num_minutes().max(0);
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    if days > 0 {
        if hours > 0 && days < 10 {
            format!("{days} d {hours} h")
        } else {
            format!("{days} d")
        }
    } else if hours > 0 {
        if minutes > 0 {
            format!("{hours} h {minutes} min")
        } else {
            format!("{hours} h")
        }
    } else {
        format!("{minutes} min")
    }
}

/// "today", "1 day", "12 days".
pub fn days(count: i64) -> String {
    match count {
        0 => "today".to_owned(),
        1 => "1 day".to_owned(),
        n => format!("{n} days"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_stay_apart_per_currency_and_the_largest_leads() {
        let mut totals = Totals::default();
        totals.add_sum("EUR", 100_000, 50_000);
        totals.add_sum("EUR", 50_001, 25_001);
        totals.add_sum("JPY", 1_000_000, 100_000);
        assert_eq!(
            totals.rows(),
            vec![("JPY", 1_000_000, 100_000), ("EUR", 150_001, 75_001)]
        );
        assert_eq!(totals.total_text(true), "¥1,000,000 · €1,500.01");
        assert_eq!(totals.weighted_text(false), "¥100k · €750");
        assert_eq!(Totals::default().total_text(false), "–");
    }

    #[test]
    fn lengths_of_time_read_in_two_units_at_most() {
        assert_eq!(duration(Duration::minutes(45)), "45 min");
        assert_eq!(duration(Duration::minutes(125)), "2 h 5 min");
        assert_eq!(duration(Duration::hours(3)), "3 h");
        assert_eq!(duration(Duration::hours(76)), "3 d 4 h");
        assert_eq!(duration(Duration::days(12) + Duration::hours(5)), "12 d");
        assert_eq!(duration(Duration::minutes(-5)), "0 min");
    }

    #[test]
    fn initials_take_the_first_two_words() {
        assert_eq!(initials("Ada Lovelace"), "AL");
        assert_eq!(initials("grace brewster hopper"), "GB");
        assert_eq!(initials(""), "");
    }
}
