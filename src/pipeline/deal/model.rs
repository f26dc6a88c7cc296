//! A deal as stored, and the rules a deal form must pass before the service checks what
//! it refers to (pipeline, stage, owner, company, contacts).

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::deals;
use crate::error::FieldErrors;
use crate::pipeline::model::Status;
use crate::pipeline::money::{self, AmountError, Currency};

pub const MAX_TITLE: usize = 200;
pub const MAX_SOURCE: usize = 100;
pub const MAX_LOST_REASON: usize = 500;
pub const MAX_CONTACTS: usize = 20;
/// New deals are in this currency unless the form says otherwise.
pub const DEFAULT_CURRENCY: &str = "EUR";
/// Expected close dates outside these years are typos.
pub const FIRST_YEAR: i32 = 1900;
pub const LAST_YEAR: i32 = 2100;

/// Currencies offered first in the form (any ISO 4217 code is accepted).
pub const COMMON_CURRENCIES: [&str; 10] = [
    "EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "DKK",
];

/// Sources suggested in the form (free text is accepted).
pub const COMMON_SOURCES: [&str; 7] = [
    "Website",
    "Referral",
    "Inbound call",
    "Outbound",
    "Event",
    "Partner",
    "Existing customer",
];

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = deals, check_for_backend(diesel::sqlite::Sqlite))]
pub struct Deal {
    pub id: i64,
    pub title: String,
    pub value_minor: i64,
    pub currency: String,
    pub expected_close_on: Option<NaiveDate>,
    pub owner_id: Option<i64>,
    pub company_id: Option<i64>,
    pub pipeline_id: i64,
    pub stage_id: i64,
    pub status: String,
    pub source: Option<String>,
    pub lost_reason: Option<String>,
    pub stage_entered_at: NaiveDateTime,
    pub closed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Deal {
    pub fn status(&self) -> Status {
        Status::of(&self.status)
    }

    pub fn is_open(&self) -> bool {
        self.status() == Status::Open
    }
}

/// A deal form as typed. Also the canonical text of a stored deal, so two versions can be
/// compared field by field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DealForm {
    pub title: String,
    pub value: String,
    pub currency: String,
    pub expected_close_on: String,
    pub owner: String,
    pub company: String,
    /// Contact ids, as many as were ticked or picked.
    pub contacts: Vec<String>,
    pub pipeline: String,
    pub stage: String,
    pub source: String,
}

/// The fields of a deal, in form order: (form name, label).
pub const FIELDS: [(&str, &str); 10] = [
    ("title", "Title"),
    ("value", "Value"),
    ("currency", "Currency"),
    ("expected_close_on", "Expected close"),
    ("owner", "Owner"),
    ("company", "Company"),
    ("contacts", "Contacts"),
    ("pipeline", "Pipeline"),
    ("stage", "Stage"),
    ("source", "Source"),
];

impl DealForm {
    /// The stored deal (with its contacts) as its form would show it.
    pub fn of(deal: &Deal, contact_ids: &[i64]) -> Self {
        Self {
            title: deal.title.clone(),
            value: match Currency::parse(&deal.currency) {
                Some(currency) => money::plain_amount(deal.value_minor, currency),
                None => deal.value_minor.to_string(),
            },
            currency: deal.currency.clone(),
            expected_close_on: deal
                .expected_close_on
                .map(|date| date.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            owner: deal.owner_id.map(|id| id.to_string()).unwrap_or_default(),
            company: deal.company_id.map(|id| id.to_string()).unwrap_or_default(),
            contacts: contact_ids.iter().map(ToString::to_string).collect(),
            pipeline: deal.pipeline_id.to_string(),
            stage: deal.stage_id.to_string(),
            source: deal.source.clone().unwrap_or_default(),
        }
    }

    /// The value of the field named `name` (one of `FIELDS`), contacts joined by commas.
    pub fn value_of(&self, name: &str) -> String {
        match name {
            "title" => self.title.clone(),
            "value" => self.value.clone(),
            "currency" => self.currency.clone(),
            "expected_close_on" => self.expected_close_on.clone(),
            "owner" => self.owner.clone(),
            "company" => self.company.clone(),
            "contacts" => self.contacts.join(","),
            "pipeline" => self.pipeline.clone(),
            "stage" => self.stage.clone(),
            "source" => self.source.clone(),
            _ => String::new(),
        }
    }

    pub fn has_contact(&self, id: &i64) -> bool {
        let id = id.to_string();
        self.contacts.iter().any(|contact| contact.trim() == id)
    }

    /// Checks the shape of every field; all problems are reported at once, next to their
    /// fields. What the ids refer to is checked by the service.
    pub fn validate(&self) -> Result<DealInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = errors.take("title", parse_title(&self.title));
        let currency = errors.take("currency", parse_currency(&self.currency));
        let value_minor = errors.take("value", parse_value(&self.value, currency));
        let expected_close_on = errors.take(
            "expected_close_on",
            parse_close_date(&self.expected_close_on),
        );
        let owner_id = errors.take(
            "owner",
            parse_id(&self.owner)
                .and_then(|id| id.ok_or_else(|| "Choose an owner.".to_owned()))
                .map_err(|_| "Choose an owner from the list.".to_owned()),
        );
        let company_id = errors.take(
            "company",
            parse_id(&self.company).map_err(|_| "Choose a company from the list.".to_owned()),
        );
        let contact_ids = errors.take("contacts", parse_contacts(&self.contacts));
        let pipeline_id = errors.take(
            "pipeline",
            parse_id(&self.pipeline)
                .ok()
                .flatten()
                .ok_or_else(|| "Choose a pipeline.".to_owned()),
        );
        let stage_id = errors.take(
            "stage",
            parse_id(&self.stage)
                .ok()
                .flatten()
                .ok_or_else(|| "Choose a stage.".to_owned()),
        );
        let source = errors.take("source", parse_source(&self.source));
        match (
            title,
            currency,
            value_minor,
            expected_close_on,
            owner_id,
            company_id,
            contact_ids,
            pipeline_id,
            stage_id,
            source,
        ) {
            (
                Some(title),
                Some(currency),
                Some(value_minor),
                Some(expected_close_on),
                Some(owner_id),
                Some(company_id),
                Some(contact_ids),
                Some(pipeline_id),
                Some(stage_id),
                Some(source),
            ) if errors.is_empty() => Ok(DealInput {
                title,
                value_minor,
                currency: currency.code().to_owned(),
                expected_close_on,
                owner_id,
                company_id,
                contact_ids,
                pipeline_id,
                stage_id,
                source,
            }),
            _ => Err(errors),
        }
    }
}

/// A deal form that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealInput {
    pub title: String,
    pub value_minor: i64,
    pub currency: String,
    pub expected_close_on: Option<NaiveDate>,
    pub owner_id: i64,
    pub company_id: Option<i64>,
    pub contact_ids: Vec<i64>,
    pub pipeline_id: i64,
    pub stage_id: i64,
    pub source: Option<String>,
}

impl DealInput {
    /// How this input reads in a form (canonical: trimmed, normalised).
    pub fn as_form(&self) -> DealForm {
        DealForm {
            title: self.title.clone(),
            value: match Currency::parse(&self.currency) {
                Some(currency) => money::plain_amount(self.value_minor, currency),
                None => self.value_minor.to_string(),
            },
            currency: self.currency.clone(),
            expected_close_on: self
                .expected_close_on
                .map(|date| date.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
            owner: self.owner_id.to_string(),
            company: self.company_id.map(|id| id.to_string()).unwrap_or_default(),
            contacts: self.contact_ids.iter().map(ToString::to_string).collect(),
            pipeline: self.pipeline_id.to_string(),
            stage: self.stage_id.to_string(),
            source: self.source.clone().unwrap_or_default(),
        }
    }
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

pub fn parse_title(raw: &str) -> Result<String, String> {
    let title = raw.trim();
    if title.is_empty() {
        return Err("Give the deal a title.".to_owned());
    }
    if title.chars().count() > MAX_TITLE {
        return Err(format!(
            "The title is too long (at most {MAX_TITLE} characters)."
        ));
    }
    if has_control(title) {
        return Err("The title cannot contain control characters.".to_owned());
    }
    Ok(title.to_owned())
}

pub fn parse_currency(raw: &str) -> Result<Currency, String> {
    let code = raw.trim();
    if code.is_empty() {
        return Err("Choose a currency, e.g. EUR.".to_owned());
    }
    if code.len() != 3 {
        return Err("Enter a three-letter ISO 4217 currency code, e.g. EUR or USD.".to_owned());
    }
    Currency::parse(code).ok_or_else(|| format!("{} is not a currency code.", code.to_uppercase()))
}

/// The value in minor units of `currency`; empty means 0. Without a known currency only the
/// mistakes that do not depend on it are reported.
pub fn parse_value(raw: &str, currency: Option<Currency>) -> Result<i64, String> {
    if raw.trim().is_empty() {
        return Ok(0);
    }
    let Some(currency) = currency else {
        // Three decimals is the most any currency has: only currency-independent errors.
        let widest = Currency::parse("KWD");
        return match widest.map(|kwd| money::parse_amount(raw, kwd)) {
            Some(Err(err @ (AmountError::Negative | AmountError::NotANumber))) => {
                Err(err.to_string())
            }
            Some(Err(AmountError::TooLarge)) => Err(AmountError::TooLarge.to_string()),
            _ => Ok(0),
        };
    };
    money::parse_amount(raw, currency).map_err(|err| match err {
        AmountError::TooLarge => format!(
            "That value is too large (at most {} {}).",
            money::MAX_MAJOR_UNITS,
            currency.code()
        ),
        other => other.to_string(),
    })
}

pub fn parse_close_date(raw: &str) -> Result<Option<NaiveDate>, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| "Enter a real date as YYYY-MM-DD.".to_owned())?;
    if !(FIRST_YEAR..=LAST_YEAR).contains(&date.year()) {
        return Err(format!(
            "Enter a date between {FIRST_YEAR} and {LAST_YEAR}."
        ));
    }
    Ok(Some(date))
}

/// An optional id from a select: empty is none, anything else must be a number.
pub fn parse_id(raw: &str) -> Result<Option<i64>, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| "Choose from the list.".to_owned())
}

fn parse_contacts(raw: &[String]) -> Result<Vec<i64>, String> {
    let mut ids: Vec<i64> = Vec::new();
    for value in raw {
        match parse_id(value) {
            Ok(Some(id)) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(_) => return Err("Choose contacts from the list.".to_owned()),
        }
    }
    if ids.len() > MAX_CONTACTS {
        return Err(format!("A deal has at most {MAX_CONTACTS} contacts."));
    }
    Ok(ids)
}

fn parse_source(raw: &str) -> Result<Option<String>, String> {
    let source = raw.trim();
    if source.chars().count() > MAX_SOURCE {
        return Err(format!(
            "The source is too long (at most {MAX_SOURCE} characters)."
        ));
    }
    if has_control(source) {
        return Err("The source cannot contain control characters.".to_owned());
    }
    Ok((!source.is_empty()).then(|| source.to_owned()))
}

/// Why a deal was lost: required, one paragraph at most.
pub fn parse_lost_reason(raw: &str) -> Result<String, String> {
    let reason = raw.trim();
    if reason.is_empty() {
        return Err("Say why the deal was lost.".to_owned());
    }
    if reason.chars().count() > MAX_LOST_REASON {
        return Err(format!(
            "The reason is too long (at most {MAX_LOST_REASON} characters)."
        ));
    }
    if reason
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err("The reason cannot contain control characters.".to_owned());
    }
    Ok(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> DealForm {
        DealForm {
            title: "Renewal".to_owned(),
            value: "12,500".to_owned(),
            currency: "eur".to_owned(),
            expected_close_on: "2027-03-31".to_owned(),
            owner: "3".to_owned(),
            company: String::new(),
            contacts: vec!["4".to_owned(), "".to_owned(), "4".to_owned()],
            pipeline: "1".to_owned(),
            stage: "2".to_owned(),
            source: " Referral ".to_owned(),
        }
    }

    #[test]
    fn a_good_form_becomes_an_input_in_minor_units() {
        let input = form().validate().expect("valid");
        assert_eq!(input.value_minor, 1_250_000);
        assert_eq!(input.currency, "EUR");
        assert_eq!(input.contact_ids, vec![4]);
        assert_eq!(input.source.as_deref(), Some("Referral"));
        assert_eq!(input.company_id, None);
        assert_eq!(input.as_form().value, "12500.00");
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad = DealForm {
            title: "  ".to_owned(),
            value: "-5".to_owned(),
            currency: "XYZ".to_owned(),
            expected_close_on: "1850-01-01".to_owned(),
            owner: String::new(),
            stage: "x".to_owned(),
            ..form()
        };
        let errors = bad.validate().expect_err("invalid");
        for field in [
            "title",
            "value",
            "currency",
            "expected_close_on",
            "owner",
            "stage",
        ] {
            assert!(errors.get(field).is_some(), "{field}: {errors:?}");
        }
        assert_eq!(
            errors.get("value").map(String::as_str),
            Some("The amount cannot be negative.")
        );
        assert!(errors.get("pipeline").is_none());
    }

    #[test]
    fn values_are_refused_when_absurd_or_not_numbers() {
        let eur = Currency::parse("EUR");
        assert!(parse_value("1e6", eur).is_err());
        assert!(parse_value("12.345", eur).is_err());
        assert!(
            parse_value("5000000000000", eur)
                .expect_err("too large")
                .contains("too large")
        );
        assert_eq!(parse_value("", eur), Ok(0));
        assert!(parse_value("-1", None).is_err());
        assert_eq!(
            parse_value("12.345", None),
            Ok(0),
            "precision waits for a currency"
        );
    }

    #[test]
    fn close_dates_must_be_real_and_plausible() {
        assert!(parse_close_date("2027-02-30").is_err());
        assert!(parse_close_date("31/12/2027").is_err());
        assert!(parse_close_date("2101-01-01").is_err());
        assert!(parse_close_date("1899-12-31").is_err());
        assert_eq!(
            parse_close_date("2100-12-31"),
            Ok(NaiveDate::from_ymd_opt(2100, 12, 31))
        );
        assert_eq!(parse_close_date(" "), Ok(None));
    }

    #[test]
    fn currencies_must_be_iso_codes() {
        assert!(parse_currency("EURO").is_err());
        assert!(parse_currency("ABC").is_err());
        assert!(parse_currency("").is_err());
        assert_eq!(parse_currency("jpy").map(|c| c.code()), Ok("JPY"));
    }

    #[test]
    fn a_lost_reason_is_required() {
        assert!(parse_lost_reason("  ").is_err());
        assert_eq!(
            parse_lost_reason(" Too expensive "),
            Ok("Too expensive".to_owned())
        );
        assert!(parse_lost_reason(&"x".repeat(MAX_LOST_REASON + 1)).is_err());
    }
}
