//! What a web-to-lead form is (the fields it shows and requires, where its visitors go
//! afterwards, which sites may post it), how an admin's settings are checked, and how a
//! visitor's submission becomes a lead's fields (or a list of what is wrong).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::lead_forms;
use crate::error::FieldErrors;
use crate::leads::model::{LeadForm, LeadInput, Source};

const MAX_NAME: usize = 100;
const MAX_THANK_YOU: usize = 1_000;
const MAX_URL: usize = 500;
const MAX_ORIGINS: usize = 20;
pub const MAX_MESSAGE: usize = 5_000;

/// The field a person fills in to prove they are a bot: hidden from people by CSS.
pub const HONEYPOT: &str = "nickname";
/// The hidden input the tracking script fills with the browser's anonymous visitor id.
pub const VISITOR_FIELD: &str = "rapport_visitor";
const MAX_VISITOR_ID: usize = 100;

pub const DEFAULT_THANK_YOU: &str =
    "Thank you! We have received your details and will be in touch soon.";

/// A field a form may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FormField {
    FirstName,
    LastName,
    Email,
    Phone,
    CompanyName,
    JobTitle,
    CompanySize,
    Industry,
    Country,
    Website,
    Message,
}

impl FormField {
    pub const ALL: [FormField; 11] = [
        FormField::FirstName,
        FormField::LastName,
        FormField::Email,
        FormField::Phone,
        FormField::CompanyName,
        FormField::JobTitle,
        FormField::CompanySize,
        FormField::Industry,
        FormField::Country,
        FormField::Website,
        FormField::Message,
    ];

    pub fn key(self) -> &'static str {
        match self {
            FormField::FirstName => "first_name",
            FormField::LastName => "last_name",
            FormField::Email => "email",
            FormField::Phone => "phone",
            FormField::CompanyName => "company_name",
            FormField::JobTitle => "job_title",
            FormField::CompanySize => "company_size",
            FormField::Industry => "industry",
            FormField::Country => "country",
            FormField::Website => "website",
            FormField::Message => "message",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FormField::FirstName => "First name",
            FormField::LastName => "Last name",
            FormField::Email => "Email",
            FormField::Phone => "Phone",
            FormField::CompanyName => "Company",
            FormField::JobTitle => "Job title",
            FormField::CompanySize => "Company size",
            FormField::Industry => "Industry",
            FormField::Country => "Country",
            FormField::Website => "Website",
            FormField::Message => "Message",
        }
    }

    /// The `type` of its input in the snippet (`textarea` for the message).
    pub fn input_type(self) -> &'static str {
        match self {
            FormField::Email => "email",
            FormField::Phone => "tel",
            FormField::CompanySize => "number",
            FormField::Website => "url",
            FormField::Message => "textarea",
            _ => "text",
        }
    }

    pub fn autocomplete(self) -> &'static str {
        match self {
            FormField::FirstName => "given-name",
            FormField::LastName => "family-name",
            FormField::Email => "email",
            FormField::Phone => "tel",
            FormField::CompanyName => "organization",
            FormField::JobTitle => "organization-title",
            FormField::Country => "country-name",
            FormField::Website => "url",
            _ => "off",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|field| field.key() == key.trim())
    }
}

/// Field keys as stored: comma-separated, unknown keys dropped.
pub fn parse_field_list(stored: &str) -> Vec<FormField> {
    stored.split(',').filter_map(FormField::parse).collect()
}

fn field_list(fields: &[FormField]) -> String {
    fields
        .iter()
        .map(|field| field.key())
        .collect::<Vec<_>>()
        .join(",")
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lead_forms, check_for_backend(diesel::sqlite::Sqlite))]
pub struct WebForm {
    pub id: i64,
    pub form_key: String,
    pub name: String,
    pub fields: String,
    pub required_fields: String,
    pub source_label: String,
    pub thank_you_message: String,
    pub redirect_url: Option<String>,
    pub allowed_origins: String,
    pub double_opt_in: bool,
    pub active: bool,
    pub submissions: i64,
    pub last_submission_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl WebForm {
    pub fn shown(&self) -> Vec<FormField> {
        parse_field_list(&self.fields)
    }

    pub fn required(&self) -> Vec<FormField> {
        let mut required = parse_field_list(&self.required_fields);
        if !required.contains(&FormField::Email) {
            required.push(FormField::Email);
        }
        required
    }

    pub fn origins(&self) -> Vec<String> {
        self.allowed_origins
            .lines()
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Whether a request from `origin` (an `Origin` header, or the origin of its
    /// `Referer`) may post this form. With no allowed origins, any site may.
    pub fn allows_origin(&self, origin: Option<&str>) -> bool {
        let allowed = self.origins();
        if allowed.is_empty() {
            return true;
        }
        let Some(origin) = origin.and_then(normalize_origin) else {
            return false;
        };
        allowed.contains(&origin)
    }
}

/// `https://Example.com:443/` → `https://example.com`; None for anything that is not an
/// http(s) origin.
pub fn normalize_origin(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

/// The admin's form as posted.
#[derive(Debug, Clone, Default)]
pub struct SettingsForm {
    pub name: String,
    pub fields: Vec<String>,
    pub required: Vec<String>,
    pub source_label: String,
    pub thank_you_message: String,
    pub redirect_url: String,
    pub allowed_origins: String,
    pub double_opt_in: bool,
}

/// Valid form settings, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub name: String,
    pub fields: Vec<FormField>,
    pub required: Vec<FormField>,
    pub source_label: String,
    pub thank_you_message: String,
    pub redirect_url: Option<String>,
    pub allowed_origins: Vec<String>,
    pub double_opt_in: bool,
}

impl Settings {
    pub fn fields_text(&self) -> String {
        field_list(&self.fields)
    }

    pub fn required_text(&self) -> String {
        field_list(&self.required)
    }

    pub fn origins_text(&self) -> String {
        self.allowed_origins.join("\n")
    }
}

fn one_line(raw: &str, what: &str, max: usize, required: bool) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() && required {
        return Err(format!("Enter the {}.", what.to_lowercase()));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{what} must be a single line of text."));
    }
    if value.chars().count() > max {
        return Err(format!("{what} must be at most {max} characters."));
    }
    Ok(value.to_owned())
}

/// A redirect target must be an absolute http(s) address.
pub fn parse_redirect_url(raw: &str) -> Result<Option<String>, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let problem = || {
        "Enter a full web address starting with https://, like https://example.com/thanks."
            .to_owned()
    };
    if value.chars().count() > MAX_URL || value.chars().any(char::is_control) {
        return Err(problem());
    }
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
            Ok(Some(url.to_string()))
        }
        _ => Err(problem()),
    }
}

/// One origin per line (or separated by commas or spaces), each `https://host[:port]`.
pub fn parse_origins(raw: &str) -> Result<Vec<String>, String> {
    let mut origins: Vec<String> = Vec::new();
    for item in raw
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|item| !item.is_empty())
    {
        let problem = || {
            format!(
                "\"{item}\" is not a site address: enter one per line as https://host or https://host:port, with no path."
            )
        };
        let url = url::Url::parse(item).map_err(|_| problem())?;
        if url.scheme() != "https"
            || url.host_str().is_none()
            || !matches!(url.path(), "" | "/")
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
        {
            return Err(problem());
        }
        let origin = url.origin().ascii_serialization();
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    if origins.len() > MAX_ORIGINS {
        return Err(format!("List at most {MAX_ORIGINS} sites."));
    }
    Ok(origins)
}

impl SettingsForm {
    pub fn parse(&self) -> Result<Settings, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.take("name", one_line(&self.name, "Name", MAX_NAME, true));
        let source_label = errors.take(
            "source_label",
            one_line(&self.source_label, "Source label", MAX_NAME, false),
        );
        let mut fields: Vec<FormField> = Vec::new();
        let mut required: Vec<FormField> = Vec::new();
        for (keys, into) in [(&self.fields, &mut fields), (&self.required, &mut required)] {
            for key in keys.iter() {
                match FormField::parse(key) {
                    Some(field) if !into.contains(&field) => into.push(field),
                    Some(_) => {}
                    None => errors.add("fields", "Choose the fields from the list."),
                }
            }
        }
        // Email is how a submission is matched to a lead or contact: always shown, always
        // required. A required field is shown even if its box was left unticked.
        required.push(FormField::Email);
        fields.extend(required.iter().copied());
        let shown: Vec<FormField> = FormField::ALL
            .into_iter()
            .filter(|field| fields.contains(field))
            .collect();
        let required: Vec<FormField> = FormField::ALL
            .into_iter()
            .filter(|field| required.contains(field))
            .collect();
        let thank_you = self.thank_you_message.trim();
        if thank_you.chars().count() > MAX_THANK_YOU {
            errors.add(
                "thank_you_message",
                format!("Keep the thank-you message to {MAX_THANK_YOU} characters."),
            );
        }
        let redirect_url = errors.take("redirect_url", parse_redirect_url(&self.redirect_url));
        let allowed_origins = errors.take("allowed_origins", parse_origins(&self.allowed_origins));
        if !errors.is_empty() {
            return Err(errors);
        }
        let name = name.unwrap_or_default();
        let source_label = source_label
            .filter(|label| !label.is_empty())
            .unwrap_or_else(|| name.clone());
        Ok(Settings {
            name,
            fields: shown,
            required,
            source_label,
            thank_you_message: if thank_you.is_empty() {
                DEFAULT_THANK_YOU.to_owned()
            } else {
                thank_you.to_owned()
            },
            redirect_url: redirect_url.flatten(),
            allowed_origins: allowed_origins.unwrap_or_default(),
            double_opt_in: self.double_opt_in,
        })
    }

    /// A new form's defaults.
    pub fn blank() -> Self {
        Self {
            fields: ["first_name", "last_name", "email", "company_name"]
                .map(str::to_owned)
                .to_vec(),
            required: vec!["email".to_owned()],
            thank_you_message: DEFAULT_THANK_YOU.to_owned(),
            ..Self::default()
        }
    }

    pub fn of(form: &WebForm) -> Self {
        Self {
            name: form.name.clone(),
            fields: form.shown().iter().map(|f| f.key().to_owned()).collect(),
            required: form.required().iter().map(|f| f.key().to_owned()).collect(),
            source_label: form.source_label.clone(),
            thank_you_message: form.thank_you_message.clone(),
            redirect_url: form.redirect_url.clone().unwrap_or_default(),
            allowed_origins: form.allowed_origins.clone(),
            double_opt_in: form.double_opt_in,
        }
    }

    /// The form from a posted body's (name, value) pairs; checkboxes repeat their name.
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let last = |name: &str| {
            pairs
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map_or(String::new(), |(_, value)| value.clone())
        };
        let all = |name: &str| {
            pairs
                .iter()
                .filter(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
                .collect()
        };
        Self {
            name: last("name"),
            fields: all("fields"),
            required: all("required"),
            source_label: last("source_label"),
            thank_you_message: last("thank_you_message"),
            redirect_url: last("redirect_url"),
            allowed_origins: last("allowed_origins"),
            double_opt_in: !last("double_opt_in").is_empty(),
        }
    }
}

/// A visitor's submission, checked: the lead's fields, the message, and the cleaned values
/// of the shown fields (what the event records and a pending confirmation keeps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub lead: LeadInput,
    pub message: Option<String>,
    pub values: BTreeMap<String, String>,
}

impl Submission {
    pub fn email(&self) -> &str {
        self.lead.email.as_deref().unwrap_or_default()
    }
}

/// Checks the values of the fields `form` shows (anything else posted is ignored).
/// `enforce_required` is off when a stored, already checked submission is replayed.
pub fn parse_submission(
    shown: &[FormField],
    required: &[FormField],
    values: &BTreeMap<String, String>,
    enforce_required: bool,
) -> Result<Submission, FieldErrors> {
    let value = |field: FormField| {
        if shown.contains(&field) {
            values
                .get(field.key())
                .map(|value| value.trim().to_owned())
                .unwrap_or_default()
        } else {
            String::new()
        }
    };
    let mut errors = FieldErrors::new();
    if enforce_required {
        for field in required {
            if value(*field).is_empty() {
                errors.add(field.key(), format!("{} is required.", field.label()));
            }
        }
    }
    let lead_form = LeadForm {
        first_name: value(FormField::FirstName),
        last_name: value(FormField::LastName),
        email: value(FormField::Email),
        phone: value(FormField::Phone),
        company_name: value(FormField::CompanyName),
        job_title: value(FormField::JobTitle),
        company_size: value(FormField::CompanySize),
        industry: value(FormField::Industry),
        country: value(FormField::Country),
        website: value(FormField::Website),
        ..LeadForm::default()
    };
    let lead = match lead_form.parse(Source::WebForm) {
        Ok(lead) => Some(lead),
        Err(lead_errors) => {
            // Only the shown fields: "enter a name or an email" lands on the last name,
            // which a form may not show, when the (required) email is already reported.
            for field in shown {
                if let Some(message) = lead_errors.get(field.key()) {
                    errors.add(field.key(), message.clone());
                }
            }
            None
        }
    };
    let message = value(FormField::Message);
    if message.chars().count() > MAX_MESSAGE {
        errors.add(
            "message",
            format!("Keep the message to {MAX_MESSAGE} characters."),
        );
    }
    if lead.as_ref().is_some_and(|lead| lead.email.is_none()) {
        errors.add("email", "Email is required.");
    }
    match lead {
        Some(lead) if errors.is_empty() => {
            let mut cleaned = BTreeMap::new();
            for field in shown {
                let text = match field {
                    FormField::Email => lead.email.clone().unwrap_or_default(),
                    FormField::CompanySize => lead
                        .company_size
                        .map(|size| size.to_string())
                        .unwrap_or_default(),
                    _ => value(*field),
                };
                if !text.is_empty() {
                    cleaned.insert(field.key().to_owned(), text);
                }
            }
            Ok(Submission {
                lead,
                message: (!message.is_empty()).then_some(message),
                values: cleaned,
            })
        }
        _ => {
            if errors.is_empty() {
                errors.add(FieldErrors::FORM, "The form could not be read.");
            }
            Err(errors)
        }
    }
}

/// The visitor id the tracking script put in the form, if it looks like one.
pub fn visitor_id(raw: &str) -> Option<String> {
    let value = raw.trim();
    (!value.is_empty()
        && value.len() <= MAX_VISITOR_ID
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)))
    .then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn email_is_always_shown_and_required() {
        let settings = SettingsForm {
            name: "Contact us".into(),
            fields: vec!["first_name".into()],
            ..SettingsForm::default()
        }
        .parse()
        .expect("valid");
        assert_eq!(
            settings.fields,
            vec![FormField::FirstName, FormField::Email]
        );
        assert_eq!(settings.required, vec![FormField::Email]);
        assert_eq!(settings.source_label, "Contact us");
    }

    #[test]
    fn origins_must_be_https_hosts_without_a_path() {
        assert_eq!(
            parse_origins("https://www.Example.com/\nhttps://shop.example.com:8443")
                .expect("valid"),
            vec!["https://www.example.com", "https://shop.example.com:8443"]
        );
        for bad in [
            "http://example.com",
            "https://example.com/page",
            "example.com",
        ] {
            assert!(parse_origins(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirects_must_be_http_addresses() {
        assert!(parse_redirect_url("javascript:alert(1)").is_err());
        assert!(parse_redirect_url("/thanks").is_err());
        assert_eq!(
            parse_redirect_url("https://example.com/thanks").expect("valid"),
            Some("https://example.com/thanks".to_owned())
        );
    }

    #[test]
    fn a_submission_reports_missing_and_invalid_fields() {
        let shown = [FormField::FirstName, FormField::Email, FormField::Phone];
        let errors = parse_submission(
            &shown,
            &[FormField::FirstName, FormField::Email],
            &values(&[("email", "nope"), ("phone", "call me")]),
            true,
        )
        .expect_err("invalid");
        for field in ["first_name", "email", "phone"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
    }

    #[test]
    fn fields_the_form_does_not_show_are_ignored() {
        let submission = parse_submission(
            &[FormField::Email],
            &[FormField::Email],
            &values(&[("email", "Ada@Example.com"), ("company_name", "Sneaky")]),
            true,
        )
        .expect("valid");
        assert_eq!(submission.email(), "ada@example.com");
        assert_eq!(submission.lead.company_name, None);
        assert_eq!(submission.values.len(), 1);
    }

    #[test]
    fn origins_are_compared_normalized() {
        let form = WebForm {
            id: 1,
            form_key: "k".into(),
            name: "n".into(),
            fields: "email".into(),
            required_fields: "email".into(),
            source_label: "l".into(),
            thank_you_message: "t".into(),
            redirect_url: None,
            allowed_origins: "https://www.example.com".into(),
            double_opt_in: false,
            active: true,
            submissions: 0,
            last_submission_at: None,
            created_at: NaiveDateTime::default(),
            updated_at: NaiveDateTime::default(),
        };
        assert!(form.allows_origin(Some("https://WWW.example.com:443")));
        assert!(!form.allows_origin(Some("https://evil.example")));
        assert!(!form.allows_origin(None));
    }
}
