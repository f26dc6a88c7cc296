//! What a lead is, and how a submitted lead form becomes one (or a list of errors).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;

use crate::auth::model::EmailAddress;
use crate::contacts::contact::model::{full_name, parse_phone};
use crate::contacts::tags;
use crate::db::schema::leads;
use crate::error::FieldErrors;

pub const MAX_TEXT: usize = 150;
pub const MAX_COMPANY_SIZE: i32 = 10_000_000;

/// Where a lead came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    WebForm,
    Import,
    Api,
    Manual,
    Referral,
    Event,
    Other,
}

impl Source {
    pub const ALL: [Source; 7] = [
        Source::WebForm,
        Source::Import,
        Source::Api,
        Source::Manual,
        Source::Referral,
        Source::Event,
        Source::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::WebForm => "web_form",
            Source::Import => "import",
            Source::Api => "api",
            Source::Manual => "manual",
            Source::Referral => "referral",
            Source::Event => "event",
            Source::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Source::WebForm => "Web form",
            Source::Import => "Import",
            Source::Api => "API",
            Source::Manual => "Manual",
            Source::Referral => "Referral",
            Source::Event => "Event",
            Source::Other => "Other",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|source| source.as_str() == value.trim())
            .ok_or_else(|| "Choose a source from the list.".to_owned())
    }

    pub fn label_of(value: &str) -> &'static str {
        Self::parse(value).map_or("Unknown", Source::label)
    }
}

/// Where a lead is in qualification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    New,
    Contacted,
    Qualified,
    Unqualified,
    Converted,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::New,
        Status::Contacted,
        Status::Qualified,
        Status::Unqualified,
        Status::Converted,
    ];

    /// The statuses a person may set by hand: "converted" comes only from converting.
    pub const SETTABLE: [Status; 4] = [
        Status::New,
        Status::Contacted,
        Status::Qualified,
        Status::Unqualified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Contacted => "contacted",
            Status::Qualified => "qualified",
            Status::Unqualified => "unqualified",
            Status::Converted => "converted",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::New => "New",
            Status::Contacted => "Contacted",
            Status::Qualified => "Qualified",
            Status::Unqualified => "Unqualified",
            Status::Converted => "Converted",
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value.trim())
            .ok_or_else(|| "Choose a status from the list.".to_owned())
    }

    /// A status a person may choose in a form or a bulk action.
    pub fn parse_settable(value: &str) -> Result<Self, String> {
        match Self::parse(value)? {
            Status::Converted => Err("A lead becomes converted only by converting it.".to_owned()),
            status => Ok(status),
        }
    }

    pub fn label_of(value: &str) -> &'static str {
        Self::parse(value).map_or("Unknown", Status::label)
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = leads, check_for_backend(diesel::sqlite::Sqlite))]
pub struct Lead {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_name: Option<String>,
    pub job_title: Option<String>,
    pub company_size: Option<i32>,
    pub industry: Option<String>,
    pub country: Option<String>,
    pub website: Option<String>,
    pub source: String,
    pub status: String,
    pub owner_id: Option<i64>,
    pub score: i64,
    pub grade: String,
    pub scored_version: i64,
    pub converted_contact_id: Option<i64>,
    pub converted_company_id: Option<i64>,
    pub converted_deal_id: Option<i64>,
    pub converted_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl Lead {
    pub fn name(&self) -> String {
        let name = full_name(&self.first_name, &self.last_name);
        if name.is_empty() {
            self.email
                .clone()
                .unwrap_or_else(|| format!("Lead #{}", self.id))
        } else {
            name
        }
    }
}

/// The lead form as posted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LeadForm {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub company_name: String,
    #[serde(default)]
    pub job_title: String,
    #[serde(default)]
    pub company_size: String,
    #[serde(default)]
    pub industry: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub website: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub owner_id: String,
    #[serde(default)]
    pub tags: String,
    pub version: Option<i32>,
}

/// A valid lead, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadInput {
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_name: Option<String>,
    pub job_title: Option<String>,
    pub company_size: Option<i32>,
    pub industry: Option<String>,
    pub country: Option<String>,
    pub website: Option<String>,
    pub source: Source,
    pub status: Status,
    pub owner_id: Option<i64>,
    pub tags: Vec<String>,
}

fn single_line(raw: &str, what: &str) -> Result<Option<String>, String> {
    let value = raw.trim();
    if value.chars().any(char::is_control) {
        return Err(format!("{what} must be a single line of text."));
    }
    if value.chars().count() > MAX_TEXT {
        return Err(format!("{what} must be at most {MAX_TEXT} characters."));
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

fn company_size(raw: &str) -> Result<Option<i32>, String> {
    let value = raw.trim().replace([',', '_', ' '], "");
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<i32>() {
        Ok(size) if (0..=MAX_COMPANY_SIZE).contains(&size) => Ok(Some(size)),
        _ => Err("Enter the number of employees as a whole number, like 50.".to_owned()),
    }
}

/// A web address typed any way ("example.com", "https://www.example.com/about"), kept as
/// typed after a check that it names a host.
fn website(raw: &str) -> Result<Option<String>, String> {
    let Some(value) = single_line(raw, "Website")? else {
        return Ok(None);
    };
    let with_scheme = if value.contains("://") {
        value.clone()
    } else {
        format!("https://{value}")
    };
    match url::Url::parse(&with_scheme) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some_and(|host| host.contains('.')) =>
        {
            Ok(Some(value))
        }
        _ => Err("Enter a web address, like example.com.".to_owned()),
    }
}

fn owner(raw: &str) -> Result<Option<i64>, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse::<i64>()
        .map(Some)
        .map_err(|_| "Choose an owner from the list.".to_owned())
}

impl LeadForm {
    /// `default_source` applies when the form has no source field (a lead created by hand).
    pub fn parse(&self, default_source: Source) -> Result<LeadInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let first_name = errors.take("first_name", single_line(&self.first_name, "First name"));
        let last_name = errors.take("last_name", single_line(&self.last_name, "Last name"));
        let email = errors.take(
            "email",
            match self.email.trim() {
                "" => Ok(None),
                raw => EmailAddress::parse(raw)
                    .map(|email| Some(email.as_str().to_owned()))
                    .map_err(|_| {
                        format!("\"{raw}\" is not a valid email address, like name@example.com.")
                    }),
            },
        );
        let phone = errors.take(
            "phone",
            match self.phone.trim() {
                "" => Ok(None),
                raw => parse_phone(raw).map(Some),
            },
        );
        let company_name = errors.take("company_name", single_line(&self.company_name, "Company"));
        let job_title = errors.take("job_title", single_line(&self.job_title, "Job title"));
        let size = errors.take("company_size", company_size(&self.company_size));
        let industry = errors.take("industry", single_line(&self.industry, "Industry"));
        let country = errors.take("country", single_line(&self.country, "Country"));
        let website = errors.take("website", website(&self.website));
        let source = errors.take(
            "source",
            match self.source.trim() {
                "" => Ok(default_source),
                raw => Source::parse(raw),
            },
        );
        let status = errors.take(
            "status",
            match self.status.trim() {
                "" => Ok(Status::New),
                raw => Status::parse_settable(raw),
            },
        );
        let owner_id = errors.take("owner_id", owner(&self.owner_id));
        let tags = errors.take("tags", tags::parse(&self.tags));

        let first_name = first_name.flatten().unwrap_or_default();
        let last_name = last_name.flatten().unwrap_or_default();
        let email = email.flatten();
        if first_name.is_empty()
            && last_name.is_empty()
            && email.is_none()
            && errors.get("email").is_none()
        {
            errors.add("last_name", "Enter a name or an email address.");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(LeadInput {
            first_name,
            last_name,
            email,
            phone: phone.flatten(),
            company_name: company_name.flatten(),
            job_title: job_title.flatten(),
            company_size: size.flatten(),
            industry: industry.flatten(),
            country: country.flatten(),
            website: website.flatten(),
            source: source.unwrap_or(default_source),
            status: status.unwrap_or(Status::New),
            owner_id: owner_id.flatten(),
            tags: tags.unwrap_or_default(),
        })
    }

    /// The stored lead as its edit form shows it.
    pub fn of(lead: &Lead, tags: &[String]) -> Self {
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        Self {
            first_name: lead.first_name.clone(),
            last_name: lead.last_name.clone(),
            email: text(&lead.email),
            phone: text(&lead.phone),
            company_name: text(&lead.company_name),
            job_title: text(&lead.job_title),
            company_size: lead
                .company_size
                .map(|size| size.to_string())
                .unwrap_or_default(),
            industry: text(&lead.industry),
            country: text(&lead.country),
            website: text(&lead.website),
            source: lead.source.clone(),
            status: lead.status.clone(),
            owner_id: lead.owner_id.map(|id| id.to_string()).unwrap_or_default(),
            tags: tags.join(", "),
            version: Some(lead.version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> LeadForm {
        LeadForm {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: "ADA@Example.com".into(),
            ..LeadForm::default()
        }
    }

    #[test]
    fn a_valid_form_becomes_a_lead_with_a_lowercased_email() {
        let input = form().parse(Source::Manual).expect("valid");
        assert_eq!(input.email.as_deref(), Some("ada@example.com"));
        assert_eq!(input.source, Source::Manual);
        assert_eq!(input.status, Status::New);
    }

    #[test]
    fn a_lead_needs_a_name_or_an_email() {
        let errors = LeadForm::default()
            .parse(Source::Manual)
            .expect_err("empty");
        assert!(errors.get("last_name").is_some());
    }

    #[test]
    fn bad_fields_are_each_reported() {
        let errors = LeadForm {
            email: "not an email".into(),
            company_size: "many".into(),
            website: "nowhere".into(),
            status: "converted".into(),
            source: "telepathy".into(),
            ..form()
        }
        .parse(Source::Manual)
        .expect_err("invalid");
        for field in ["email", "company_size", "website", "status", "source"] {
            assert!(errors.get(field).is_some(), "{field} reported");
        }
    }

    #[test]
    fn company_sizes_may_be_typed_with_separators() {
        let input = LeadForm {
            company_size: "1,200".into(),
            website: "www.example.com".into(),
            ..form()
        }
        .parse(Source::Manual)
        .expect("valid");
        assert_eq!(input.company_size, Some(1200));
        assert_eq!(input.website.as_deref(), Some("www.example.com"));
    }
}
