//! What a contact is, and how a submitted contact form becomes one (or a list of errors).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;

use crate::auth::model::EmailAddress;
use crate::contacts::tags;
use crate::db::schema::contacts;
use crate::error::FieldErrors;

pub const MAX_NAME: usize = 100;
pub const MAX_JOB_TITLE: usize = 150;
pub const MAX_ADDRESS: usize = 500;
pub const MAX_DESCRIPTION: usize = 5000;
pub const MAX_EMAILS: usize = 10;
pub const MAX_PHONES: usize = 10;

/// Where a contact is in the customer lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Subscriber,
    Lead,
    Customer,
    Churned,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::Subscriber,
        Stage::Lead,
        Stage::Customer,
        Stage::Churned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Subscriber => "subscriber",
            Stage::Lead => "lead",
            Stage::Customer => "customer",
            Stage::Churned => "churned",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Stage::Subscriber => "Subscriber",
            Stage::Lead => "Lead",
            Stage::Customer => "Customer",
            Stage::Churned => "Churned",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|stage| stage.as_str() == value.trim())
            .ok_or_else(|| "Choose a lifecycle stage from the list.".to_owned())
    }

    /// The label of a stored value (stored values are checked by the database).
    pub fn label_of(value: &str) -> &'static str {
        Self::parse(value).map_or("Unknown", Stage::label)
    }
}

/// A contact row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contacts, check_for_backend(diesel::sqlite::Sqlite))]
pub struct Contact {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub sort_name: String,
    pub job_title: Option<String>,
    pub company_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub lifecycle_stage: String,
    pub address: Option<String>,
    pub description: Option<String>,
    #[diesel(deserialize_as = crate::db::timestamps::MaybeStamp)]
    pub archived_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = crate::db::timestamps::MaybeStamp)]
    pub last_activity_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = crate::db::timestamps::Stamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = crate::db::timestamps::Stamp)]
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Contact {
    pub fn name(&self) -> String {
        full_name(&self.first_name, &self.last_name)
    }
}

pub fn full_name(first: &str, last: &str) -> String {
    format!("{first} {last}").trim().to_owned()
}

/// The key contacts are listed by: lowercased "last first".
pub fn sort_name(first: &str, last: &str) -> String {
    format!("{last} {first}").trim().to_lowercase()
}

/// The contact form as posted. Emails and phone numbers are typed one per line; the first
/// line is the primary one.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub emails: String,
    #[serde(default)]
    pub phones: String,
    #[serde(default)]
    pub job_title: String,
    /// A company id, or empty for none.
    #[serde(default)]
    pub company_id: String,
    /// A user id, or empty for none.
    #[serde(default)]
    pub owner_id: String,
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub lifecycle_stage: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub description: String,
    /// The version the form was loaded at (edits only).
    pub version: Option<i32>,
    /// "1" when the user confirmed creating a contact whose email another contact has.
    pub confirm_duplicate: Option<String>,
}

/// A valid contact, ready to store. Emails are lowercased; the first of each list is primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactInput {
    pub first_name: String,
    pub last_name: String,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub job_title: Option<String>,
    pub company_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub tags: Vec<String>,
    pub stage: Stage,
    pub address: Option<String>,
    pub description: Option<String>,
}

fn optional_text(raw: &str, max: usize, what: &str) -> Result<Option<String>, String> {
    let value = raw.trim();
    if value.chars().count() > max {
        return Err(format!("{what} must be at most {max} characters."));
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

fn single_line(raw: &str, max: usize, what: &str) -> Result<Option<String>, String> {
    if raw.chars().any(char::is_control) {
        return Err(format!("{what} must be a single line of text."));
    }
    optional_text(raw, max, what)
}

fn name_part(raw: &str, what: &str) -> Result<String, String> {
    Ok(single_line(raw, MAX_NAME, what)?.unwrap_or_default())
}

/// Lines of a textarea, trimmed, without blank ones.
fn lines(raw: &str) -> impl Iterator<Item = &str> {
    raw.lines().map(str::trim).filter(|line| !line.is_empty())
}

pub fn parse_emails(raw: &str) -> Result<Vec<String>, String> {
    let mut emails: Vec<String> = Vec::new();
    for line in lines(raw) {
        let email = EmailAddress::parse(line).map_err(|_| {
            format!("\"{line}\" is not a valid email address, like name@example.com.")
        })?;
        if !emails.iter().any(|known| known == email.as_str()) {
            emails.push(email.as_str().to_owned());
        }
    }
    if emails.len() > MAX_EMAILS {
        return Err(format!("Enter at most {MAX_EMAILS} email addresses."));
    }
    Ok(emails)
}

/// A phone number as typed: digits, spaces, + ( ) - . only, 5 to 25 characters, at least
/// one digit.
pub fn parse_phone(raw: &str) -> Result<String, String> {
    let phone = raw.trim();
    let allowed = |c: char| c.is_ascii_digit() || " +()-.".contains(c);
    let length = phone.chars().count();
    if !phone.chars().all(allowed)
        || !(5..=25).contains(&length)
        || !phone.chars().any(|c| c.is_ascii_digit())
    {
        return Err(format!(
            "\"{phone}\" is not a valid phone number: use 5 to 25 digits, spaces and + ( ) - . only."
        ));
    }
    Ok(phone.to_owned())
}

pub fn parse_phones(raw: &str) -> Result<Vec<String>, String> {
    let mut phones: Vec<String> = Vec::new();
    for line in lines(raw) {
        let phone = parse_phone(line)?;
        if !phones.contains(&phone) {
            phones.push(phone);
        }
    }
    if phones.len() > MAX_PHONES {
        return Err(format!("Enter at most {MAX_PHONES} phone numbers."));
    }
    Ok(phones)
}

fn optional_id(raw: &str, what: &str) -> Result<Option<i64>, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(Some)
        .ok_or_else(|| format!("Choose a {what} from the list."))
}

impl ContactForm {
    /// Checks every field; `Err` holds one message per wrong field. Whether the company and
    /// owner exist is checked by the service, against the database.
    pub fn validate(&self) -> Result<ContactInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let first_name = errors.take("first_name", name_part(&self.first_name, "First name"));
        let last_name = errors.take("last_name", name_part(&self.last_name, "Last name"));
        if let (Some(first), Some(last)) = (&first_name, &last_name)
            && first.is_empty()
            && last.is_empty()
        {
            errors.add("first_name", "Enter a first or a last name.");
        }
        let emails = errors.take("emails", parse_emails(&self.emails));
        let phones = errors.take("phones", parse_phones(&self.phones));
        let job_title = errors.take(
            "job_title",
            single_line(&self.job_title, MAX_JOB_TITLE, "Job title"),
        );
        let company_id = errors.take("company_id", optional_id(&self.company_id, "company"));
        let owner_id = errors.take("owner_id", optional_id(&self.owner_id, "owner"));
        let tags = errors.take("tags", tags::parse(&self.tags));
        let stage = errors.take("lifecycle_stage", Stage::parse(&self.lifecycle_stage));
        let address = errors.take(
            "address",
            optional_text(&self.address, MAX_ADDRESS, "Address"),
        );
        let description = errors.take(
            "description",
            optional_text(&self.description, MAX_DESCRIPTION, "Description"),
        );
        match (
            first_name,
            last_name,
            emails,
            phones,
            job_title,
            company_id,
            owner_id,
            tags,
            stage,
            address,
            description,
        ) {
            (
                Some(first_name),
                Some(last_name),
                Some(emails),
                Some(phones),
                Some(job_title),
                Some(company_id),
                Some(owner_id),
                Some(tags),
                Some(stage),
                Some(address),
                Some(description),
            ) if errors.is_empty() => Ok(ContactInput {
                first_name,
                last_name,
                emails,
                phones,
                job_title,
                company_id,
                owner_id,
                tags,
                stage,
                address,
                description,
            }),
            _ => Err(errors),
        }
    }

    pub fn confirmed_duplicate(&self) -> bool {
        self.confirm_duplicate.as_deref() == Some("1")
    }
}

impl crate::contacts::list::SortKeys for Contact {
    fn id(&self) -> i64 {
        self.id
    }

    fn sort_name(&self) -> &str {
        &self.sort_name
    }

    fn created_at(&self) -> NaiveDateTime {
        self.created_at
    }

    fn last_activity_at(&self) -> Option<NaiveDateTime> {
        self.last_activity_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_allow_digits_spaces_and_punctuation_only() {
        assert!(parse_phone("+1 (555) 123-4567").is_ok());
        assert!(parse_phone("12.3").is_err());
        assert!(parse_phone("(+) -").is_err(), "needs a digit");
        assert!(parse_phone("555-CALL-NOW").is_err());
        assert!(parse_phone(&"1".repeat(26)).is_err());
    }

    #[test]
    fn the_first_email_line_is_kept_first_and_duplicates_are_dropped() {
        assert_eq!(
            parse_emails(" B@example.com\n\na@example.com\nb@example.com").expect("valid"),
            vec!["b@example.com".to_owned(), "a@example.com".to_owned()]
        );
        assert!(parse_emails("not an email").is_err());
    }
}
