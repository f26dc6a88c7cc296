//! One row of a file becomes a valid contact, company or lead input, or a reason it cannot.
//! The rules are the contact, company and lead forms' own: a row is turned into the form a
//! person would have typed, and that form is validated.

use std::collections::HashMap;

use super::file::Row;
use super::mapping::{Field, Kind};
use crate::auth::model::EmailAddress;
use crate::contacts::company::model::{CompanyForm, CompanyInput};
use crate::contacts::contact::model::{ContactForm, ContactInput};
use crate::error::FieldErrors;
use crate::leads::model::{LeadForm, LeadInput, Source};

/// What rows are checked against: the active users by email (for the Owner column) and
/// the owner of rows that name none.
#[derive(Debug, Clone, Default)]
pub struct Lookups {
    pub owners: HashMap<String, i64>,
    pub default_owner: Option<i64>,
}

/// A bad row and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: usize,
    pub message: String,
}

/// A valid row. `present` lists the fields with a value in the row: when a row updates an
/// existing record, only those change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Contact {
        line: usize,
        input: ContactInput,
        /// The company's name, matched (or created) when the row is written.
        company: Option<String>,
        present: Vec<Field>,
    },
    Company {
        line: usize,
        input: CompanyInput,
        present: Vec<Field>,
    },
    /// A lead; its source is always "import".
    Lead {
        line: usize,
        input: LeadInput,
        present: Vec<Field>,
    },
}

impl Record {
    pub fn line(&self) -> usize {
        match self {
            Record::Contact { line, .. }
            | Record::Company { line, .. }
            | Record::Lead { line, .. } => *line,
        }
    }
}

const CONTACT_FIELDS: [(&str, &str); 11] = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("emails", "Email"),
    ("phones", "Phone"),
    ("job_title", "Job title"),
    ("company_id", "Company"),
    ("owner_id", "Owner"),
    ("tags", "Tags"),
    ("lifecycle_stage", "Lifecycle stage"),
    ("address", "Address"),
    ("description", "Description"),
];

const COMPANY_FIELDS: [(&str, &str); 8] = [
    ("name", "Name"),
    ("domain", "Web domain"),
    ("industry", "Industry"),
    ("employee_count", "Employees"),
    ("phone", "Phone"),
    ("address", "Address"),
    ("owner", "Owner"),
    ("tags", "Tags"),
];

const LEAD_FIELDS: [(&str, &str); 13] = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("company_name", "Company name"),
    ("job_title", "Job title"),
    ("company_size", "Company size"),
    ("industry", "Industry"),
    ("country", "Country"),
    ("website", "Website"),
    ("tags", "Tags"),
    ("status", "Status"),
    ("owner_id", "Owner"),
];

fn describe(errors: &FieldErrors, fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .filter_map(|(key, label)| errors.get(key).map(|message| format!("{label}: {message}")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// "a; b, c" as the lines a form's textarea would hold.
fn as_lines(value: &str) -> String {
    value
        .split([';', ',', '\n'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn owner_id(value: &str, lookups: &Lookups) -> Result<Option<i64>, String> {
    if value.is_empty() {
        return Ok(lookups.default_owner);
    }
    let email = EmailAddress::parse(value)
        .map_err(|_| format!("Owner: \"{value}\" is not an email address."))?;
    lookups
        .owners
        .get(email.as_str())
        .copied()
        .map(Some)
        .ok_or_else(|| format!("Owner: no active user has the email {}.", email.as_str()))
}

/// Splits "Ada King Lovelace" into ("Ada King", "Lovelace").
fn split_name(full: &str) -> (String, String) {
    match full.trim().rsplit_once(char::is_whitespace) {
        Some((first, last)) => (first.trim().to_owned(), last.trim().to_owned()),
        None => (full.trim().to_owned(), String::new()),
    }
}

/// Checks one row against `mapping` (one entry per header column).
pub fn validate(
    kind: Kind,
    mapping: &[Option<Field>],
    row: &Row,
    lookups: &Lookups,
) -> Result<Record, RowError> {
    let fail = |message: String| RowError {
        line: row.line,
        message,
    };
    if row.cells.len() != mapping.len() {
        return Err(fail(format!(
            "The row has {} columns but the header has {}.",
            row.cells.len(),
            mapping.len()
        )));
    }
    let mut values: HashMap<Field, &str> = HashMap::new();
    for (field, cell) in mapping.iter().zip(&row.cells) {
        if let Some(field) = field
            && !cell.is_empty()
        {
            values.insert(*field, cell);
        }
    }
    let value = |field| values.get(&field).copied().unwrap_or_default();
    let present: Vec<Field> = kind
        .fields()
        .iter()
        .copied()
        .filter(|field| values.contains_key(field))
        .collect();
    let owner = owner_id(value(Field::Owner), lookups).map_err(fail)?;
    let owner = owner.map(|id| id.to_string()).unwrap_or_default();
    match kind {
        Kind::Contacts => {
            let (mut first_name, mut last_name) = (
                value(Field::FirstName).to_owned(),
                value(Field::LastName).to_owned(),
            );
            if first_name.is_empty() && last_name.is_empty() {
                (first_name, last_name) = split_name(value(Field::FullName));
            }
            let stage = value(Field::Stage).trim().to_lowercase();
            let form = ContactForm {
                first_name,
                last_name,
                emails: as_lines(value(Field::Email)),
                phones: as_lines(value(Field::Phone)),
                job_title: value(Field::JobTitle).to_owned(),
                company_id: String::new(),
                owner_id: owner,
                tags: value(Field::Tags).replace(';', ","),
                lifecycle_stage: if stage.is_empty() {
                    "lead".to_owned()
                } else {
                    stage
                },
                address: value(Field::Address).to_owned(),
                description: value(Field::Description).to_owned(),
                version: None,
                confirm_duplicate: None,
            };
            let mut message = match form.validate() {
                Ok(input) => {
                    let company = value(Field::Company);
                    if company.is_empty() {
                        return Ok(Record::Contact {
                            line: row.line,
                            input,
                            company: None,
                            present,
                        });
                    }
                    let company_form = CompanyForm {
                        name: company.to_owned(),
                        ..CompanyForm::default()
                    };
                    match company_form.validate() {
                        Ok(valid) => {
                            return Ok(Record::Contact {
                                line: row.line,
                                input,
                                company: Some(valid.name),
                                present,
                            });
                        }
                        Err(errors) => describe(&errors, &[("name", "Company")]),
                    }
                }
                Err(errors) => describe(&errors, &CONTACT_FIELDS),
            };
            if message.is_empty() {
                message = "The row is not valid.".to_owned();
            }
            Err(fail(message))
        }
        Kind::Companies => {
            let form = CompanyForm {
                name: value(Field::Name).to_owned(),
                domain: value(Field::Domain).to_owned(),
                industry: value(Field::Industry).to_owned(),
                employee_count: value(Field::Employees).to_owned(),
                phone: value(Field::Phone).to_owned(),
                address: value(Field::Address).to_owned(),
                owner,
                tags: value(Field::Tags).replace(';', ","),
            };
            form.validate()
                .map(|input| Record::Company {
                    line: row.line,
                    input,
                    present,
                })
                .map_err(|errors| fail(describe(&errors, &COMPANY_FIELDS)))
        }
        Kind::Leads => {
            let (mut first_name, mut last_name) = (
                value(Field::FirstName).to_owned(),
                value(Field::LastName).to_owned(),
            );
            if first_name.is_empty() && last_name.is_empty() {
                (first_name, last_name) = split_name(value(Field::FullName));
            }
            let form = LeadForm {
                first_name,
                last_name,
                email: value(Field::Email).to_owned(),
                phone: value(Field::Phone).to_owned(),
                company_name: value(Field::Company).to_owned(),
                job_title: value(Field::JobTitle).to_owned(),
                company_size: value(Field::Employees).to_owned(),
                industry: value(Field::Industry).to_owned(),
                country: value(Field::Country).to_owned(),
                website: value(Field::Website).to_owned(),
                source: Source::Import.as_str().to_owned(),
                status: value(Field::Status).trim().to_lowercase(),
                owner_id: owner,
                tags: value(Field::Tags).replace(';', ","),
                version: None,
            };
            form.parse(Source::Import)
                .map(|input| Record::Lead {
                    line: row.line,
                    input,
                    present,
                })
                .map_err(|errors| {
                    let message = describe(&errors, &LEAD_FIELDS);
                    fail(if message.is_empty() {
                        "The row is not valid.".to_owned()
                    } else {
                        message
                    })
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::contact::model::Stage;

    fn row(line: usize, cells: &[&str]) -> Row {
        Row {
            line,
            cells: cells.iter().map(|cell| (*cell).to_owned()).collect(),
        }
    }

    fn lookups() -> Lookups {
        Lookups {
            owners: HashMap::from([("rep@example.com".to_owned(), 7)]),
            default_owner: Some(3),
        }
    }

    const CONTACT_MAPPING: [Option<Field>; 6] = [
        Some(Field::FullName),
        Some(Field::Email),
        Some(Field::Owner),
        Some(Field::Tags),
        Some(Field::Stage),
        Some(Field::Company),
    ];

    #[test]
    fn a_good_contact_row_becomes_the_input_the_form_would_give() {
        let record = validate(
            Kind::Contacts,
            &CONTACT_MAPPING,
            &row(
                2,
                &[
                    "Ada King Lovelace",
                    "ADA@example.com; ada@work.example",
                    "rep@example.com",
                    "VIP; partner",
                    "Customer",
                    "Analytical Engines",
                ],
            ),
            &lookups(),
        )
        .expect("valid");
        let Record::Contact {
            input,
            company,
            present,
            ..
        } = record
        else {
            panic!("a contact");
        };
        assert_eq!(input.first_name, "Ada King");
        assert_eq!(input.last_name, "Lovelace");
        assert_eq!(input.emails, vec!["ada@example.com", "ada@work.example"]);
        assert_eq!(input.owner_id, Some(7));
        assert_eq!(input.tags, vec!["partner", "vip"]);
        assert_eq!(input.stage, Stage::Customer);
        assert_eq!(company.as_deref(), Some("Analytical Engines"));
        assert!(present.contains(&Field::Email));
    }

    #[test]
    fn empty_cells_take_the_defaults() {
        let Ok(Record::Contact { input, present, .. }) = validate(
            Kind::Contacts,
            &CONTACT_MAPPING,
            &row(2, &["Grace", "", "", "", "", ""]),
            &lookups(),
        ) else {
            panic!("valid");
        };
        assert_eq!(input.owner_id, Some(3));
        assert_eq!(input.stage, Stage::Lead);
        assert_eq!(present, vec![Field::FullName]);
    }

    #[test]
    fn bad_rows_say_which_line_and_why() {
        let error = validate(
            Kind::Contacts,
            &CONTACT_MAPPING,
            &row(4, &["Ada", "not-an-email", "", "", "someday", ""]),
            &lookups(),
        )
        .expect_err("invalid");
        assert_eq!(error.line, 4);
        assert!(error.message.contains("Email:"), "{}", error.message);
        assert!(
            error.message.contains("Lifecycle stage:"),
            "{}",
            error.message
        );

        let error = validate(
            Kind::Contacts,
            &CONTACT_MAPPING,
            &row(5, &["Ada", "", "nobody@example.com", "", "", ""]),
            &lookups(),
        )
        .expect_err("unknown owner");
        assert!(
            error.message.contains("no active user"),
            "{}",
            error.message
        );

        let error = validate(
            Kind::Contacts,
            &CONTACT_MAPPING,
            &row(6, &["Ada", "a@example.com"]),
            &lookups(),
        )
        .expect_err("short row");
        assert_eq!(error.message, "The row has 2 columns but the header has 6.");
    }

    #[test]
    fn lead_rows_use_the_lead_form_rules_and_come_from_an_import() {
        let mapping = [
            Some(Field::FullName),
            Some(Field::Email),
            Some(Field::Employees),
            Some(Field::Status),
            Some(Field::Website),
        ];
        let Ok(Record::Lead { input, present, .. }) = validate(
            Kind::Leads,
            &mapping,
            &row(
                2,
                &["Zoë Brontë", "ZOE@Example.com", "1,200", "Contacted", ""],
            ),
            &lookups(),
        ) else {
            panic!("valid");
        };
        assert_eq!(input.first_name, "Zoë");
        assert_eq!(input.email.as_deref(), Some("zoe@example.com"));
        assert_eq!(input.company_size, Some(1200));
        assert_eq!(input.source, Source::Import);
        assert_eq!(input.status, crate::leads::model::Status::Contacted);
        assert_eq!(input.owner_id, Some(3));
        assert!(!present.contains(&Field::Website));
        let error = validate(
            Kind::Leads,
            &mapping,
            &row(3, &["Ada", "nope", "many", "converted", "nowhere"]),
            &lookups(),
        )
        .expect_err("invalid");
        for label in ["Email:", "Company size:", "Status:", "Website:"] {
            assert!(error.message.contains(label), "{}", error.message);
        }
    }

    #[test]
    fn company_rows_use_the_company_rules() {
        let mapping = [
            Some(Field::Name),
            Some(Field::Domain),
            Some(Field::Employees),
        ];
        let Ok(Record::Company { input, .. }) = validate(
            Kind::Companies,
            &mapping,
            &row(2, &["Acme", "https://www.Acme.com/", "1,200"]),
            &lookups(),
        ) else {
            panic!("valid");
        };
        assert_eq!(input.domain.as_deref(), Some("acme.com"));
        assert_eq!(input.employee_count, Some(1200));
        let error = validate(
            Kind::Companies,
            &mapping,
            &row(3, &["", "nope", "-1"]),
            &lookups(),
        )
        .expect_err("invalid");
        assert!(error.message.contains("Name:"));
        assert!(error.message.contains("Web domain:"));
        assert!(error.message.contains("Employees:"));
    }
}
