//! Deal values: integer minor units of an ISO 4217 currency, read from and written for
//! people without ever passing through a float.

use rusty_money::iso;

/// The largest value a deal may carry, in major units: anything above is a typo.
pub const MAX_MAJOR_UNITS: i64 = 1_000_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency(&'static iso::Currency);

impl Currency {
    /// An ISO 4217 code, any case: "eur", "JPY".
    pub fn parse(code: &str) -> Option<Self> {
        let code = code.trim().to_ascii_uppercase();
        iso::find(&code).map(Currency)
    }

    pub fn code(self) -> &'static str {
        self.0.iso_alpha_code
    }

    /// Digits after the decimal point: 2 for EUR, 0 for JPY, 3 for KWD.
    pub fn exponent(self) -> u32 {
        self.0.exponent
    }

    fn minor_per_major(self) -> i64 {
        10_i64.pow(self.exponent())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("Enter an amount such as 1,250.00.")]
    NotANumber,
    #[error("The amount cannot be negative.")]
    Negative,
    #[error("{0} has {1} digits after the decimal point at most.")]
    TooPrecise(&'static str, u32),
    #[error("That amount is too large.")]
    TooLarge,
}

/// Reads what a person typed ("12,500", "12500.5", "1 250,00" is refused) as minor units of
/// `currency`. Commas, spaces and underscores group thousands; one dot starts the decimals.
pub fn parse_amount(input: &str, currency: Currency) -> Result<i64, AmountError> {
    let input = input.trim();
    if input.starts_with('-') {
        return Err(AmountError::Negative);
    }
    let input = input.strip_prefix('+').unwrap_or(input);
    let (whole, fraction) = match input.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (input, ""),
    };
    let whole: String = whole
        .chars()
        .filter(|c| !matches!(c, ',' | ' ' | '_' | '\u{a0}'))
        .collect();
    if whole.is_empty() && fraction.is_empty() {
        return Err(AmountError::NotANumber);
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Err(AmountError::NotANumber);
    }
    let exponent = currency.exponent();
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > exponent as usize {
        return Err(AmountError::TooPrecise(currency.code(), exponent));
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() > 13 {
        return Err(AmountError::TooLarge);
    }
    let major: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| AmountError::TooLarge)?
    };
    if major > MAX_MAJOR_UNITS {
        return Err(AmountError::TooLarge);
    }
    let padded = format!("{fraction:0<width$}", width = exponent as usize);
    let minor: i64 = if padded.is_empty() {
        0
    } else {
        padded.parse().map_err(|_| AmountError::NotANumber)?
    };
    major
        .checked_mul(currency.minor_per_major())
        .and_then(|value| value.checked_add(minor))
        .ok_or(AmountError::TooLarge)
}

/// For an input field: "12500.50" (no grouping, no symbol), as `parse_amount` reads it back.
pub fn plain_amount(minor: i64, currency: Currency) -> String {
    let (major, fraction) = split(minor, currency);
    if currency.exponent() == 0 {
        major.to_string()
    } else {
        format!(
            "{major}.{fraction:0width$}",
            width = currency.exponent() as usize
        )
    }
}

/// For people: "€12,500.50", "¥1,200", "12,500.50 CHF" when the symbol is not a sign.
pub fn format(minor: i64, currency: Currency) -> String {
    let (major, fraction) = split(minor, currency);
    let mut number = group_thousands(major);
    if currency.exponent() > 0 {
        number.push_str(&format!(
            ".{fraction:0width$}",
            width = currency.exponent() as usize
        ));
    }
    with_symbol(&number, minor < 0, currency)
}

/// A compact figure for column headers and charts: "€12.5k", "€3.2M"; exact below 10,000.
pub fn format_short(minor: i64, currency: Currency) -> String {
    let major = minor.unsigned_abs() / currency.minor_per_major().unsigned_abs();
    if major < 10_000 {
        let (major, _) = split(minor, currency);
        return format_whole(major, currency);
    }
    let (scaled_tenths, suffix) = if major >= 1_000_000_000 {
        (major / 100_000_000, "B")
    } else if major >= 1_000_000 {
        (major / 100_000, "M")
    } else {
        (major / 100, "k")
    };
    let text = if scaled_tenths.is_multiple_of(10) || scaled_tenths >= 1000 {
        format!("{}{suffix}", scaled_tenths / 10)
    } else {
        format!("{}.{}{suffix}", scaled_tenths / 10, scaled_tenths % 10)
    };
    with_symbol(&text, minor < 0, currency)
}

fn format_whole(major: u64, currency: Currency) -> String {
    with_symbol(&group_thousands(major), false, currency)
}

fn with_symbol(number: &str, negative: bool, currency: Currency) -> String {
    let sign = if negative { "-" } else { "" };
    let symbol = currency.0.symbol;
    if symbol.is_empty() || symbol.chars().all(|c| c.is_ascii_alphabetic()) {
        format!("{sign}{number} {}", currency.code())
    } else if currency.0.symbol_first {
        format!("{sign}{symbol}{number}")
    } else {
        format!("{sign}{number} {symbol}")
    }
}

fn split(minor: i64, currency: Currency) -> (u64, u64) {
    let per_major = currency.minor_per_major().unsigned_abs();
    let magnitude = minor.unsigned_abs();
    (magnitude / per_major, magnitude % per_major)
}

fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).expect("a known currency")
    }

    #[test]
    fn amounts_are_read_into_minor_units_of_their_currency() {
        let eur = currency("eur");
        assert_eq!(parse_amount("12,500", eur), Ok(1_250_000));
        assert_eq!(parse_amount("12500.5", eur), Ok(1_250_050));
        assert_eq!(parse_amount(" 0.07 ", eur), Ok(7));
        assert_eq!(parse_amount(".5", eur), Ok(50));
        assert_eq!(parse_amount("1_000", currency("JPY")), Ok(1_000));
        assert_eq!(parse_amount("1.234", currency("KWD")), Ok(1_234));
    }

    #[test]
    fn bad_amounts_are_refused_with_a_reason() {
        let eur = currency("EUR");
        assert_eq!(parse_amount("-5", eur), Err(AmountError::Negative));
        assert_eq!(parse_amount("abc", eur), Err(AmountError::NotANumber));
        assert_eq!(parse_amount("", eur), Err(AmountError::NotANumber));
        assert_eq!(parse_amount("1.2.3", eur), Err(AmountError::NotANumber));
        assert_eq!(parse_amount("1e9", eur), Err(AmountError::NotANumber));
        assert_eq!(
            parse_amount("1.005", eur),
            Err(AmountError::TooPrecise("EUR", 2))
        );
        assert_eq!(
            parse_amount("10.5", currency("JPY")),
            Err(AmountError::TooPrecise("JPY", 0))
        );
        assert_eq!(
            parse_amount("99999999999999999999", eur),
            Err(AmountError::TooLarge)
        );
        assert_eq!(
            parse_amount("1000000000001", eur),
            Err(AmountError::TooLarge)
        );
    }

    #[test]
    fn unknown_currencies_are_not_currencies() {
        assert!(Currency::parse("XYZ").is_none());
        assert!(Currency::parse("").is_none());
        assert!(Currency::parse("EURO").is_none());
    }

    #[test]
    fn values_are_formatted_for_people() {
        assert_eq!(format(1_250_050, currency("EUR")), "€12,500.50");
        assert_eq!(format(120_000, currency("JPY")), "¥120,000");
        assert_eq!(format(5, currency("USD")), "$0.05");
        assert_eq!(format(0, currency("GBP")), "£0.00");
        assert_eq!(plain_amount(1_250_050, currency("EUR")), "12500.50");
        assert_eq!(plain_amount(1_200, currency("JPY")), "1200");
    }

    #[test]
    fn short_figures_round_down_to_one_decimal() {
        let eur = currency("EUR");
        assert_eq!(format_short(999_900, eur), "€9,999");
        assert_eq!(format_short(1_250_000, eur), "€12.5k");
        assert_eq!(format_short(320_000_000, eur), "€3.2M");
        assert_eq!(format_short(100_000_000_000, eur), "€1B");
    }
}
