//! Running an import: every row is checked first, then the good ones are written through
//! the contact and company services' own write paths (so the audit log, the timeline and
//! the search index stay in step) in batched transactions. Leads are written here with the
//! lead's own pieces (tags, timeline, audit, score, assignment, search index). The web
//! page, the background job and the command line all come here.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::file::Table;
use super::mapping::{Field, Kind};
use super::rows::{self, Lookups, Record, RowError};
use crate::audit::Actor;
use crate::audit::{self, Action};
use crate::auth::model::User;
use crate::auth::policy::{Permission, record_rights};
use crate::contacts::company::model::{Company, CompanyForm, CompanyInput, sort_name};
use crate::contacts::company::service as companies;
use crate::contacts::contact::queries as contact_queries;
use crate::contacts::contact::service as contacts;
use crate::contacts::tags;
use crate::contacts::timeline::{self, NewEntry};
use crate::db::schema::{companies as companies_table, leads, users};
use crate::db::{self, Conn};
use crate::error::{AppError, FieldErrors};
use crate::leads::model::{Lead, LeadInput, Source, Status};
use crate::leads::queries as lead_queries;
use crate::search;

/// Rows written per transaction when bad rows are skipped.
pub const BATCH_SIZE: usize = 1000;

/// What happens to a row whose email (contacts, leads) or web domain (companies) is already
/// known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDuplicate {
    Update,
    Skip,
}

impl OnDuplicate {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "update" => Some(Self::Update),
            "skip" => Some(Self::Skip),
            _ => None,
        }
    }
}

/// Whether one bad row stops the whole import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    AllOrNothing,
    SkipBadRows,
}

impl Mode {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "all-or-nothing" => Some(Self::AllOrNothing),
            "skip-bad-rows" => Some(Self::SkipBadRows),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub kind: Kind,
    pub on_duplicate: OnDuplicate,
    pub mode: Mode,
    /// The owner of rows without an Owner value.
    pub default_owner: Option<i64>,
}

/// How an import went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub total: usize,
    pub created: usize,
    pub updated: usize,
    /// Rows not written, and why (a duplicate the user chose to skip).
    pub skipped: Vec<RowError>,
    /// Bad rows, and why.
    pub failed: Vec<RowError>,
    /// True when nothing was written because of bad rows (all-or-nothing).
    pub rolled_back: bool,
}

impl Summary {
    /// One line per counted outcome, for the command line.
    pub fn headline(&self) -> String {
        if self.rolled_back {
            format!(
                "Nothing was imported: {} of {} rows have problems (all-or-nothing).",
                self.failed.len(),
                self.total
            )
        } else {
            format!(
                "{} rows: {} created, {} updated, {} skipped, {} failed.",
                self.total,
                self.created,
                self.updated,
                self.skipped.len(),
                self.failed.len()
            )
        }
    }
}

/// The active users by email, for the Owner column.
pub fn lookups(conn: &mut Conn, default_owner: Option<i64>) -> QueryResult<Lookups> {
    let owners: Vec<(String, i64)> = users::table
        .filter(users::active.eq(true))
        .select((users::email, users::id))
        .load(conn)?;
    Ok(Lookups {
        owners: owners
            .into_iter()
            .map(|(email, id)| (email.to_lowercase(), id))
            .collect(),
        default_owner,
    })
}

/// Checks every row: the valid records and the bad rows, in file order.
pub fn check_rows(
    kind: Kind,
    mapping: &[Option<Field>],
    table: &Table,
    lookups: &Lookups,
) -> (Vec<Record>, Vec<RowError>) {
    let mut records = Vec::with_capacity(table.rows.len());
    let mut failed = Vec::new();
    for row in &table.rows {
        match rows::validate(kind, mapping, row, lookups) {
            Ok(record) => records.push(record),
            Err(error) => failed.push(error),
        }
    }
    (records, failed)
}

enum Outcome {
    /// A new record; a new contact's id, to be indexed at the end of its batch.
    Created(Option<i64>),
    /// A new lead, to be indexed at the end of its batch.
    CreatedLead(i64),
    Updated,
    Skipped(String),
}

enum Stop {
    Row(RowError),
    App(AppError),
}

impl From<diesel::result::Error> for Stop {
    fn from(err: diesel::result::Error) -> Self {
        Stop::App(err.into())
    }
}

/// Why a row could not be written, when the reason is the row's (not the database's).
fn row_message(err: &AppError) -> Option<String> {
    match err {
        AppError::Invalid(errors) => Some(describe_invalid(errors)),
        AppError::Forbidden => {
            Some("The existing record belongs to someone else, and you may not edit it.".to_owned())
        }
        _ => None,
    }
}

fn describe_invalid(errors: &FieldErrors) -> String {
    let known = [
        ("company_id", "Company"),
        ("owner_id", "Owner"),
        ("owner", "Owner"),
        ("name", "Name"),
        ("domain", "Web domain"),
        (FieldErrors::FORM, "Row"),
    ];
    let parts: Vec<String> = known
        .iter()
        .filter_map(|(key, label)| errors.get(key).map(|message| format!("{label}: {message}")))
        .collect();
    if parts.is_empty() {
        "The row is not valid.".to_owned()
    } else {
        parts.join(" ")
    }
}

/// Imports `table`. `user` is the signed-in user on the web (whose rights apply), `None` on
/// the command line (which may do everything). `progress` hears how many rows are done
/// after each committed batch.
#[allow(clippy::too_many_arguments)]
pub fn run(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: Option<&User>,
    table: &Table,
    mapping: &[Option<Field>],
    options: &Options,
    progress: &mut dyn FnMut(&mut Conn, usize),
) -> Result<Summary, AppError> {
    if user.is_some_and(|user| !user.role.can(Permission::CreateCustomers)) {
        return Err(AppError::Forbidden);
    }
    super::mapping::check(options.kind, mapping).map_err(AppError::BadRequest)?;
    let lookups = lookups(conn, options.default_owner)?;
    let (records, failed) = check_rows(options.kind, mapping, table, &lookups);
    let mut summary = Summary {
        total: table.rows.len(),
        failed,
        ..Summary::default()
    };
    if options.mode == Mode::AllOrNothing && !summary.failed.is_empty() {
        summary.rolled_back = true;
        return Ok(summary);
    }
    let batch_size = match options.mode {
        Mode::AllOrNothing => records.len().max(1),
        Mode::SkipBadRows => BATCH_SIZE,
    };
    let mut done = summary.failed.len();
    db::with_bulk_settings(conn, |conn| {
        for batch in records.chunks(batch_size) {
            let result = db::write(conn, |conn| {
                let mut outcomes = Vec::with_capacity(batch.len());
                for record in batch {
                    // A bad row undoes only its own writes (a savepoint) when bad rows are
                    // skipped; in all-or-nothing mode it undoes the whole transaction anyway.
                    let written = match options.mode {
                        Mode::SkipBadRows => conn.transaction(|conn| {
                            write_record(conn, now, actor, user, record, options)
                        }),
                        Mode::AllOrNothing => write_record(conn, now, actor, user, record, options),
                    };
                    match written {
                        Ok(outcome) => outcomes.push(Ok(outcome)),
                        Err(err) => {
                            let Some(message) = row_message(&err) else {
                                return Err(Stop::App(err));
                            };
                            let error = RowError {
                                line: record.line(),
                                message,
                            };
                            if options.mode == Mode::AllOrNothing {
                                return Err(Stop::Row(error));
                            }
                            outcomes.push(Err(error));
                        }
                    }
                }
                let created: Vec<i64> = outcomes
                    .iter()
                    .filter_map(|outcome| match outcome {
                        Ok(Outcome::Created(id)) => *id,
                        _ => None,
                    })
                    .collect();
                search::index_new_contacts(conn, &created).map_err(|err| Stop::App(err.into()))?;
                let created_leads: Vec<i64> = outcomes
                    .iter()
                    .filter_map(|outcome| match outcome {
                        Ok(Outcome::CreatedLead(id)) => Some(*id),
                        _ => None,
                    })
                    .collect();
                search::index_new_leads(conn, &created_leads)
                    .map_err(|err| Stop::App(err.into()))?;
                Ok(outcomes)
            });
            match result {
                Ok(outcomes) => {
                    for (record, outcome) in batch.iter().zip(outcomes) {
                        match outcome {
                            Ok(Outcome::Created(_) | Outcome::CreatedLead(_)) => {
                                summary.created += 1
                            }
                            Ok(Outcome::Updated) => summary.updated += 1,
                            Ok(Outcome::Skipped(message)) => summary.skipped.push(RowError {
                                line: record.line(),
                                message,
                            }),
                            Err(error) => summary.failed.push(error),
                        }
                    }
                }
                Err(Stop::Row(error)) => {
                    summary.failed.push(error);
                    summary.failed.sort_by_key(|error| error.line);
                    summary.rolled_back = true;
                    summary.created = 0;
                    summary.updated = 0;
                    summary.skipped.clear();
                    return Ok(());
                }
                Err(Stop::App(err)) => return Err(err),
            }
            done += batch.len();
            progress(conn, done);
        }
        Ok(())
    })?;
    summary.failed.sort_by_key(|error| error.line);
    Ok(summary)
}

fn may_edit(user: Option<&User>, owner_id: Option<i64>) -> Result<(), AppError> {
    match user {
        Some(user) if !record_rights(user, owner_id).edit => Err(AppError::Forbidden),
        _ => Ok(()),
    }
}

fn write_record(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: Option<&User>,
    record: &Record,
    options: &Options,
) -> Result<Outcome, AppError> {
    match record {
        Record::Contact {
            input,
            company,
            present,
            ..
        } => {
            let existing = contact_queries::with_emails(conn, &input.emails, None)?;
            if let Some(duplicate) = existing.first() {
                if options.on_duplicate == OnDuplicate::Skip {
                    return Ok(Outcome::Skipped(format!(
                        "A contact with the email {} exists ({}).",
                        duplicate.email, duplicate.name
                    )));
                }
                let contact =
                    contact_queries::find(conn, duplicate.contact_id)?.ok_or(AppError::NotFound)?;
                may_edit(user, contact.owner_id)?;
                let stored = contacts::input_of(conn, &contact)?;
                let company_id = match company {
                    Some(name) => Some(company_for(conn, now, actor, name, input.owner_id)?),
                    None => contact.company_id,
                };
                let merged = merge_contact(stored, input, company_id, present);
                contacts::write_update(conn, now, actor, &contact, &merged)?;
                return Ok(Outcome::Updated);
            }
            let mut input = input.clone();
            if let Some(name) = company {
                input.company_id = Some(company_for(conn, now, actor, name, input.owner_id)?);
            }
            let id = contacts::insert_unindexed(conn, now, actor, &input)?;
            Ok(Outcome::Created(Some(id)))
        }
        Record::Company { input, present, .. } => {
            let existing = match &input.domain {
                Some(domain) => companies_table::table
                    .filter(companies_table::domain.eq(domain))
                    .order(companies_table::id.asc())
                    .select(Company::as_select())
                    .first(conn)
                    .optional()?,
                None => None,
            };
            let Some(company) = existing else {
                companies::insert(conn, now, actor, input)?;
                return Ok(Outcome::Created(None));
            };
            if options.on_duplicate == OnDuplicate::Skip {
                return Ok(Outcome::Skipped(format!(
                    "A company with the domain {} exists ({}).",
                    company.domain.as_deref().unwrap_or_default(),
                    company.name
                )));
            }
            may_edit(user, company.owner_id)?;
            let stored_tags = tags::for_companies(conn, &[company.id])?
                .remove(&company.id)
                .unwrap_or_default();
            let old = CompanyForm::of(&company, &stored_tags);
            let merged = merge_company(&company, stored_tags, input, present);
            if !companies::write_update(conn, now, actor, &company, &old, &merged)? {
                return Err(AppError::internal("the company changed during the import"));
            }
            Ok(Outcome::Updated)
        }
        Record::Lead { input, present, .. } => {
            let existing = match &input.email {
                Some(email) => leads::table
                    .filter(leads::email.eq(email))
                    .order(leads::id.asc())
                    .select(Lead::as_select())
                    .first(conn)
                    .optional()?,
                None => None,
            };
            let Some(lead) = existing else {
                let id = insert_lead(conn, now, actor, input)?;
                return Ok(Outcome::CreatedLead(id));
            };
            if options.on_duplicate == OnDuplicate::Skip {
                return Ok(Outcome::Skipped(format!(
                    "A lead with the email {} exists ({}).",
                    lead.email.as_deref().unwrap_or_default(),
                    lead.name()
                )));
            }
            may_edit(user, lead.owner_id)?;
            let stored_tags = lead_queries::tags_of(conn, &[lead.id])?
                .remove(&lead.id)
                .unwrap_or_default();
            let merged = merge_lead(&lead, stored_tags, input, present);
            update_lead(conn, now, actor, &lead, &merged)?;
            Ok(Outcome::Updated)
        }
    }
}

fn lead_target(id: i64) -> String {
    format!("lead {id}")
}

fn lead_entry(
    conn: &mut Conn,
    lead_id: i64,
    actor: &Actor,
    now: NaiveDateTime,
    body: &str,
) -> QueryResult<i64> {
    timeline::add(
        conn,
        &NewEntry {
            lead_id: Some(lead_id),
            author_id: actor.user_id,
            ..NewEntry::system(timeline::Kind::Change, now, body)
        },
    )
}

/// Creates an imported lead as the lead form would (the owner is one of the active users the
/// row was checked against), scores it and hands it to the assignment rotation when it has
/// no owner. It is indexed for search at the end of its batch.
fn insert_lead(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    input: &LeadInput,
) -> Result<i64, AppError> {
    let id: i64 = diesel::insert_into(leads::table)
        .values((
            leads::first_name.eq(&input.first_name),
            leads::last_name.eq(&input.last_name),
            leads::email.eq(&input.email),
            leads::phone.eq(&input.phone),
            leads::company_name.eq(&input.company_name),
            leads::job_title.eq(&input.job_title),
            leads::company_size.eq(input.company_size),
            leads::industry.eq(&input.industry),
            leads::country.eq(&input.country),
            leads::website.eq(&input.website),
            leads::source.eq(Source::Import.as_str()),
            leads::status.eq(input.status.as_str()),
            leads::owner_id.eq(input.owner_id),
            leads::created_at.eq(now),
            leads::updated_at.eq(now),
        ))
        .returning(leads::id)
        .get_result(conn)?;
    lead_queries::set_tags(conn, id, &input.tags)?;
    lead_entry(conn, id, actor, now, "Lead imported")?;
    audit::record(
        conn,
        now,
        actor,
        Action::RecordCreated,
        Some(&lead_target(id)),
        Some("imported from a CSV file"),
    )?;
    crate::leads::scoring::rescore(conn, id, now, "lead imported")?;
    crate::leads::assignment::assign_if_unowned(conn, id, now)?;
    Ok(id)
}

/// Writes the merged values over an existing lead, re-indexes and rescores it.
fn update_lead(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    lead: &Lead,
    merged: &LeadInput,
) -> Result<(), AppError> {
    diesel::update(leads::table.find(lead.id))
        .set((
            leads::first_name.eq(&merged.first_name),
            leads::last_name.eq(&merged.last_name),
            leads::phone.eq(&merged.phone),
            leads::company_name.eq(&merged.company_name),
            leads::job_title.eq(&merged.job_title),
            leads::company_size.eq(merged.company_size),
            leads::industry.eq(&merged.industry),
            leads::country.eq(&merged.country),
            leads::website.eq(&merged.website),
            leads::status.eq(merged.status.as_str()),
            leads::owner_id.eq(merged.owner_id),
            leads::updated_at.eq(now),
            leads::version.eq(lead.version + 1),
        ))
        .execute(conn)?;
    lead_queries::set_tags(conn, lead.id, &merged.tags)?;
    if lead.status != merged.status.as_str() {
        lead_entry(
            conn,
            lead.id,
            actor,
            now,
            &format!(
                "Status: {} → {}",
                Status::label_of(&lead.status),
                merged.status.label()
            ),
        )?;
    }
    lead_entry(
        conn,
        lead.id,
        actor,
        now,
        "Lead details changed by an import",
    )?;
    audit::record(
        conn,
        now,
        actor,
        Action::RecordUpdated,
        Some(&lead_target(lead.id)),
        Some("updated from a CSV file"),
    )?;
    search::index_lead(conn, lead.id)?;
    crate::leads::scoring::rescore(conn, lead.id, now, "lead updated by an import")?;
    Ok(())
}

/// The stored lead with the row's values laid over it: only fields the row has change; tags
/// are added to; a converted lead stays converted; the source stays where the lead came from.
fn merge_lead(
    lead: &Lead,
    stored_tags: Vec<String>,
    row: &LeadInput,
    present: &[Field],
) -> LeadInput {
    let has = |field| present.contains(&field);
    let pick = |field, new: &Option<String>, old: &Option<String>| {
        if has(field) { new.clone() } else { old.clone() }
    };
    let whole_name = has(Field::FullName) && !has(Field::FirstName) && !has(Field::LastName);
    let mut tags = union(stored_tags, &row.tags);
    tags.sort();
    let stored_status = Status::parse(&lead.status).unwrap_or(Status::New);
    LeadInput {
        first_name: if has(Field::FirstName) || whole_name {
            row.first_name.clone()
        } else {
            lead.first_name.clone()
        },
        last_name: if has(Field::LastName) || whole_name {
            row.last_name.clone()
        } else {
            lead.last_name.clone()
        },
        email: lead.email.clone(),
        phone: pick(Field::Phone, &row.phone, &lead.phone),
        company_name: pick(Field::Company, &row.company_name, &lead.company_name),
        job_title: pick(Field::JobTitle, &row.job_title, &lead.job_title),
        company_size: if has(Field::Employees) {
            row.company_size
        } else {
            lead.company_size
        },
        industry: pick(Field::Industry, &row.industry, &lead.industry),
        country: pick(Field::Country, &row.country, &lead.country),
        website: pick(Field::Website, &row.website, &lead.website),
        source: Source::parse(&lead.source).unwrap_or(Source::Import),
        status: if has(Field::Status) && stored_status != Status::Converted {
            row.status
        } else {
            stored_status
        },
        owner_id: if has(Field::Owner) {
            row.owner_id
        } else {
            lead.owner_id
        },
        tags,
    }
}

/// The company named `name` (case does not matter), created when there is none.
fn company_for(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    name: &str,
    owner_id: Option<i64>,
) -> Result<i64, AppError> {
    let found: Option<i64> = companies_table::table
        .filter(companies_table::sort_name.eq(sort_name(name)))
        .order(companies_table::id.asc())
        .select(companies_table::id)
        .first(conn)
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    let input = CompanyInput {
        name: name.to_owned(),
        domain: None,
        industry: None,
        employee_count: None,
        phone: None,
        address: None,
        owner_id,
        tags: Vec::new(),
    };
    companies::insert(conn, now, actor, &input)
}

fn union(mut stored: Vec<String>, new: &[String]) -> Vec<String> {
    for value in new {
        if !stored.contains(value) {
            stored.push(value.clone());
        }
    }
    stored
}

/// The stored contact with the row's values laid over it: only fields the row has change;
/// emails, phones and tags are added to.
fn merge_contact(
    stored: crate::contacts::contact::model::ContactInput,
    row: &crate::contacts::contact::model::ContactInput,
    company_id: Option<i64>,
    present: &[Field],
) -> crate::contacts::contact::model::ContactInput {
    let has = |field| present.contains(&field);
    let mut merged = stored;
    let whole_name = has(Field::FullName) && !has(Field::FirstName) && !has(Field::LastName);
    if has(Field::FirstName) || whole_name {
        merged.first_name = row.first_name.clone();
    }
    if has(Field::LastName) || whole_name {
        merged.last_name = row.last_name.clone();
    }
    merged.emails = union(merged.emails, &row.emails);
    merged.phones = union(merged.phones, &row.phones);
    let mut tags = union(merged.tags, &row.tags);
    tags.sort();
    merged.tags = tags;
    if has(Field::JobTitle) {
        merged.job_title = row.job_title.clone();
    }
    if has(Field::Owner) {
        merged.owner_id = row.owner_id;
    }
    if has(Field::Stage) {
        merged.stage = row.stage;
    }
    if has(Field::Address) {
        merged.address = row.address.clone();
    }
    if has(Field::Description) {
        merged.description = row.description.clone();
    }
    merged.company_id = company_id;
    merged
}

fn merge_company(
    company: &Company,
    stored_tags: Vec<String>,
    row: &CompanyInput,
    present: &[Field],
) -> CompanyInput {
    let has = |field| present.contains(&field);
    let pick = |field, new: &Option<String>, old: &Option<String>| {
        if has(field) { new.clone() } else { old.clone() }
    };
    let mut tags = union(stored_tags, &row.tags);
    tags.sort();
    CompanyInput {
        name: if has(Field::Name) {
            row.name.clone()
        } else {
            company.name.clone()
        },
        domain: company.domain.clone(),
        industry: pick(Field::Industry, &row.industry, &company.industry),
        employee_count: if has(Field::Employees) {
            row.employee_count
        } else {
            company.employee_count
        },
        phone: pick(Field::Phone, &row.phone, &company.phone),
        address: pick(Field::Address, &row.address, &company.address),
        owner_id: if has(Field::Owner) {
            row.owner_id
        } else {
            company.owner_id
        },
        tags,
    }
}

/// Every bad and skipped row as "line N: why", bad rows first.
pub fn report_lines(summary: &Summary) -> Vec<String> {
    summary
        .failed
        .iter()
        .map(|error| format!("line {}: {}", error.line, error.message))
        .chain(
            summary
                .skipped
                .iter()
                .map(|skip| format!("line {}: skipped: {}", skip.line, skip.message)),
        )
        .collect()
}

/// For storing a summary's rows in one text column: "F|S <tab> line <tab> message" lines.
pub fn encode_rows(summary: &Summary) -> String {
    let escape = |text: &str| text.replace(['\n', '\t', '\r'], " ");
    summary
        .failed
        .iter()
        .map(|error| format!("F\t{}\t{}", error.line, escape(&error.message)))
        .chain(
            summary
                .skipped
                .iter()
                .map(|skip| format!("S\t{}\t{}", skip.line, escape(&skip.message))),
        )
        .collect::<Vec<_>>()
        .join("\n")
}

/// The failed and skipped rows from `encode_rows`.
pub fn decode_rows(text: &str) -> (Vec<RowError>, Vec<RowError>) {
    let mut failed = Vec::new();
    let mut skipped = Vec::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, '\t');
        let (Some(kind), Some(number), Some(message)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let error = RowError {
            line: number.parse().unwrap_or(0),
            message: message.to_owned(),
        };
        if kind == "S" {
            skipped.push(error);
        } else {
            failed.push(error);
        }
    }
    (failed, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_survive_being_stored_as_text() {
        let summary = Summary {
            failed: vec![RowError {
                line: 3,
                message: "Email: bad\tthing".to_owned(),
            }],
            skipped: vec![RowError {
                line: 9,
                message: "exists".to_owned(),
            }],
            ..Summary::default()
        };
        let (failed, skipped) = decode_rows(&encode_rows(&summary));
        assert_eq!(failed[0].line, 3);
        assert_eq!(failed[0].message, "Email: bad thing");
        assert_eq!(skipped[0].line, 9);
    }
}
