//! A company as stored, and the rules a company form must pass.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;

use crate::contacts::tags;
use crate::db::schema::companies;
use crate::error::FieldErrors;

pub const MAX_NAME_LENGTH: usize = 200;
const MAX_TEXT_LENGTH: usize = 200;
const MAX_ADDRESS_LENGTH: usize = 1000;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = companies, check_for_backend(diesel::sqlite::Sqlite))]
pub struct Company {
    pub id: i64,
    pub name: String,
    pub sort_name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub employee_count: Option<i32>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub owner_id: Option<i64>,
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

/// A company form as typed. Also the canonical text of a stored company, so two versions
/// can be compared field by field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CompanyForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub employee_count: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub tags: String,
}

/// The fields of a company, in form order: (form name, label).
pub const FIELDS: [(&str, &str); 8] = [
    ("name", "Name"),
    ("domain", "Web domain"),
    ("industry", "Industry"),
    ("employee_count", "Employees"),
    ("phone", "Phone"),
    ("address", "Address"),
    ("owner", "Owner"),
    ("tags", "Tags"),
];

impl CompanyForm {
    /// The stored company as its form would show it.
    pub fn of(company: &Company, tags: &[String]) -> Self {
        Self {
            name: company.name.clone(),
            domain: company.domain.clone().unwrap_or_default(),
            industry: company.industry.clone().unwrap_or_default(),
            employee_count: company
                .employee_count
                .map(|count| count.to_string())
                .unwrap_or_default(),
            phone: company.phone.clone().unwrap_or_default(),
            address: company.address.clone().unwrap_or_default(),
            owner: company
                .owner_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            tags: tags.join(", "),
        }
    }

    /// The value of the field named `name` (one of `FIELDS`).
    pub fn value(&self, name: &str) -> &str {
        match name {
            "name" => &self.name,
            "domain" => &self.domain,
            "industry" => &self.industry,
            "employee_count" => &self.employee_count,
            "phone" => &self.phone,
            "address" => &self.address,
            "owner" => &self.owner,
            "tags" => &self.tags,
            _ => "",
        }
    }

    /// Checks every field; all problems are reported at once, next to their fields.
    pub fn validate(&self) -> Result<CompanyInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.take("name", parse_name(&self.name));
        let domain = errors.take("domain", normalise_domain(&self.domain));
        let industry = errors.take("industry", optional_text(&self.industry, MAX_TEXT_LENGTH));
        let employee_count = errors.take("employee_count", parse_count(&self.employee_count));
        let phone = errors.take("phone", parse_phone(&self.phone));
        let address = errors.take("address", optional_text(&self.address, MAX_ADDRESS_LENGTH));
        let owner_id = errors.take("owner", parse_owner(&self.owner));
        let tags = errors.take("tags", tags::parse(&self.tags));
        match (
            name,
            domain,
            industry,
            employee_count,
            phone,
            address,
            owner_id,
            tags,
        ) {
            (
                Some(name),
                Some(domain),
                Some(industry),
                Some(employee_count),
                Some(phone),
                Some(address),
                Some(owner_id),
                Some(tags),
            ) if errors.is_empty() => Ok(CompanyInput {
                name,
                domain,
                industry,
                employee_count,
                phone,
                address,
                owner_id,
                tags,
            }),
            _ => Err(errors),
        }
    }
}

/// A company form that passed validation. The owner's existence is checked when saving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyInput {
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub employee_count: Option<i32>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub owner_id: Option<i64>,
    pub tags: Vec<String>,
}

impl CompanyInput {
    /// How this input reads in a form (canonical: trimmed, normalised).
    pub fn as_form(&self) -> CompanyForm {
        CompanyForm {
            name: self.name.clone(),
            domain: self.domain.clone().unwrap_or_default(),
            industry: self.industry.clone().unwrap_or_default(),
            employee_count: self
                .employee_count
                .map(|count| count.to_string())
                .unwrap_or_default(),
            phone: self.phone.clone().unwrap_or_default(),
            address: self.address.clone().unwrap_or_default(),
            owner: self.owner_id.map(|id| id.to_string()).unwrap_or_default(),
            tags: self.tags.join(", "),
        }
    }
}

/// The key companies are listed by: the lowercased name.
pub fn sort_name(name: &str) -> String {
    name.trim().to_lowercase()
}

fn parse_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("Enter the company's name.".to_owned());
    }
    if name.chars().count() > MAX_NAME_LENGTH {
        return Err(format!(
            "The name is too long (at most {MAX_NAME_LENGTH} characters)."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("The name cannot contain control characters.".to_owned());
    }
    Ok(name.to_owned())
}

fn optional_text(raw: &str, max: usize) -> Result<Option<String>, String> {
    let text = raw.trim();
    if text.chars().count() > max {
        return Err(format!("This is too long (at most {max} characters)."));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err("This cannot contain control characters.".to_owned());
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

fn parse_count(raw: &str) -> Result<Option<i32>, String> {
    let text = raw.trim().replace([',', '_', ' '], "");
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i32>() {
        Ok(count) if count >= 0 => Ok(Some(count)),
        _ => Err("Enter a whole number of employees, 0 or more.".to_owned()),
    }
}

fn parse_phone(raw: &str) -> Result<Option<String>, String> {
    let phone = optional_text(raw, 40)?;
    if let Some(phone) = &phone {
        let allowed = |c: char| c.is_ascii_digit() || " +-().x/".contains(c);
        if !phone.chars().all(allowed) || !phone.chars().any(|c| c.is_ascii_digit()) {
            return Err("Enter a phone number: digits, spaces and + - ( ) only.".to_owned());
        }
    }
    Ok(phone)
}

fn parse_owner(raw: &str) -> Result<Option<i64>, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| "Choose an owner from the list.".to_owned())
}

/// "https://www.Example.com/about" → "example.com". `None` when left empty.
pub fn normalise_domain(raw: &str) -> Result<Option<String>, String> {
    let mut text = raw.trim().to_lowercase();
    if text.is_empty() {
        return Ok(None);
    }
    for scheme in ["https://", "http://", "//"] {
        if let Some(rest) = text.strip_prefix(scheme) {
            text = rest.to_owned();
            break;
        }
    }
    let host = text
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default()
        .rsplit('@')
        .next()
        .unwrap_or_default();
    let host = host
        .split(':')
        .next()
        .unwrap_or_default()
        .trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host);
    let invalid = || Err("Enter a web domain like example.com.".to_owned());
    if host.len() > 253 || !host.contains('.') {
        return invalid();
    }
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    });
    let top_ok = host
        .rsplit('.')
        .next()
        .is_some_and(|top| top.chars().count() >= 2 && !top.chars().all(|c| c.is_ascii_digit()));
    if !labels_ok || !top_ok {
        return invalid();
    }
    Ok(Some(host.to_owned()))
}

impl crate::contacts::list::SortKeys for Company {
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
    fn domains_are_reduced_to_the_bare_lowercased_host() {
        for (typed, expected) in [
            ("https://www.Example.com/x", "example.com"),
            ("example.com", "example.com"),
            (
                "HTTP://shop.example.co.uk:8080/path?q=1",
                "shop.example.co.uk",
            ),
            ("www.example.org.", "example.org"),
        ] {
            assert_eq!(
                normalise_domain(typed).expect("valid").as_deref(),
                Some(expected)
            );
        }
        assert_eq!(normalise_domain("  ").expect("empty is fine"), None);
    }

    #[test]
    fn things_that_are_not_domains_are_refused() {
        for typed in [
            "example",
            "exa mple.com",
            "-x.com",
            "1.2.3.4",
            "a..com",
            "x.c",
        ] {
            assert!(normalise_domain(typed).is_err(), "{typed}");
        }
    }

    #[test]
    fn a_form_reports_every_bad_field_at_once() {
        let form = CompanyForm {
            name: " ".to_owned(),
            domain: "nope".to_owned(),
            employee_count: "-3".to_owned(),
            ..CompanyForm::default()
        };
        let errors = form.validate().expect_err("invalid");
        assert!(errors.get("name").is_some());
        assert!(errors.get("domain").is_some());
        assert!(errors.get("employee_count").is_some());
        assert!(errors.get("industry").is_none());
    }
}
