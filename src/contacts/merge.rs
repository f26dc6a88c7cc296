//! Merging duplicates: two contacts (or two companies) become one. The user picks the other
//! record, compares the two field by field and chooses which value wins; lists (emails,
//! phones, tags) are combined. In one transaction the survivor gets the chosen values, the
//! other record's timeline, emails, phones, tags (and, for companies, contacts) move to the
//! survivor, the other record is deleted, the search index is updated and the audit log
//! and the survivor's timeline record the merge.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;

use crate::audit::{self, Action, Actor};
use crate::auth::model::User;
use crate::auth::policy::{ViewCustomers, record_rights};
use crate::contacts::company::model::{Company, CompanyForm, sort_name as company_sort_name};
use crate::contacts::company::queries as company_queries;
use crate::contacts::contact::model::{
    Contact, MAX_EMAILS, MAX_PHONES, Stage, sort_name as contact_sort_name,
};
use crate::contacts::contact::queries as contact_queries;
use crate::contacts::tags;
use crate::contacts::timeline::{self, Kind, NewEntry};
use crate::db::schema::{
    companies, contact_emails, contact_phones, contacts, lead_events, timeline_entries,
};
use crate::db::{self, Conn};
use crate::error::{AppError, OrNotFound};
use crate::search;
use crate::web::AppState;
use crate::web::extract::{Authorized, CurrentUser};
use crate::web::page::{Page, redirect, render, render_with_status};

type Viewer = Authorized<ViewCustomers>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/contacts/{id}/merge", web::get().to(contact_page))
        .route("/contacts/{id}/merge", web::post().to(contact_merge))
        .route("/companies/{id}/merge", web::get().to(company_page))
        .route("/companies/{id}/merge", web::post().to(company_merge));
}

/// The contact fields the user chooses between: (form name, label).
pub const CONTACT_FIELDS: [(&str, &str); 8] = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("job_title", "Job title"),
    ("company", "Company"),
    ("owner", "Owner"),
    ("lifecycle_stage", "Lifecycle stage"),
    ("address", "Address"),
    ("description", "Description"),
];

/// The company fields the user chooses between: (form name, label).
pub const COMPANY_FIELDS: [(&str, &str); 7] = [
    ("name", "Name"),
    ("domain", "Web domain"),
    ("industry", "Industry"),
    ("employee_count", "Employees"),
    ("phone", "Phone"),
    ("address", "Address"),
    ("owner", "Owner"),
];

/// Which record's value wins for each field: the fields named here take the other record's
/// value; every other field keeps the survivor's.
#[derive(Debug, Clone, Default)]
pub struct Choices(Vec<String>);

impl Choices {
    /// Reads `field=other` pairs from a submitted comparison form.
    pub fn from_form(form: &HashMap<String, String>) -> Self {
        Self(
            form.iter()
                .filter(|(_, side)| side.as_str() == "other")
                .map(|(field, _)| field.clone())
                .collect(),
        )
    }

    pub fn take_other(fields: &[&str]) -> Self {
        Self(fields.iter().map(|field| (*field).to_owned()).collect())
    }

    fn takes_other(&self, field: &str) -> bool {
        self.0.iter().any(|chosen| chosen == field)
    }
}

/// What the merge needs from the comparison form: the two records and their versions.
#[derive(Debug, Clone, Copy)]
pub struct Pair {
    pub survivor: i64,
    pub survivor_version: i32,
    pub other: i64,
    pub other_version: i32,
}

fn same_record(noun: &str) -> AppError {
    AppError::invalid(
        "other",
        format!("Choose another {noun}: a {noun} cannot be merged with itself."),
    )
}

fn stale(noun: &str) -> AppError {
    AppError::Conflict(format!(
        "One of the two {noun} records was changed by someone else after you opened the \
         comparison. Nothing was merged. Open the comparison again to see the current values."
    ))
}

fn shown(value: &str) -> &str {
    if value.is_empty() { "(empty)" } else { value }
}

/// "Job title: CTO (from contact 12)" for each field whose values differ.
fn describe_choices(
    fields: &[(&str, &str)],
    mine: &HashMap<&str, String>,
    theirs: &HashMap<&str, String>,
    choices: &Choices,
    other_target: &str,
) -> String {
    let chosen: Vec<String> = fields
        .iter()
        .filter(|(field, _)| mine.get(field) != theirs.get(field))
        .map(|(field, label)| {
            if choices.takes_other(field) {
                let value = theirs.get(field).map(String::as_str).unwrap_or_default();
                format!("{label}: {} (from {other_target})", shown(value))
            } else {
                let value = mine.get(field).map(String::as_str).unwrap_or_default();
                format!("{label}: {} (kept)", shown(value))
            }
        })
        .collect();
    if chosen.is_empty() {
        "no field differed".to_owned()
    } else {
        chosen.join("; ")
    }
}

fn later(a: Option<NaiveDateTime>, b: Option<NaiveDateTime>) -> Option<NaiveDateTime> {
    a.max(b)
}

// ---------------------------------------------------------------------------------------
// Contacts

fn name_or_empty(names: &HashMap<i64, String>, id: Option<i64>) -> String {
    id.map(|id| names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")))
        .unwrap_or_default()
}

/// A contact's choosable fields as people read them.
fn contact_values(
    conn: &mut Conn,
    contact: &Contact,
) -> QueryResult<HashMap<&'static str, String>> {
    let companies =
        contact_queries::company_names(conn, &contact.company_id.into_iter().collect::<Vec<_>>())?;
    let owners =
        contact_queries::user_names(conn, &contact.owner_id.into_iter().collect::<Vec<_>>())?;
    Ok(HashMap::from([
        ("first_name", contact.first_name.clone()),
        ("last_name", contact.last_name.clone()),
        ("job_title", contact.job_title.clone().unwrap_or_default()),
        ("company", name_or_empty(&companies, contact.company_id)),
        ("owner", name_or_empty(&owners, contact.owner_id)),
        (
            "lifecycle_stage",
            Stage::label_of(&contact.lifecycle_stage).to_owned(),
        ),
        ("address", contact.address.clone().unwrap_or_default()),
        (
            "description",
            contact.description.clone().unwrap_or_default(),
        ),
    ]))
}

fn union(first: Vec<String>, second: Vec<String>) -> Vec<String> {
    let mut all = first;
    for value in second {
        if !all.contains(&value) {
            all.push(value);
        }
    }
    all
}

/// How many different values two lists hold together.
fn combined_count(first: &[String], second: &[String]) -> usize {
    first.len() + second.iter().filter(|value| !first.contains(value)).count()
}

fn contact_lists(conn: &mut Conn, id: i64) -> QueryResult<(Vec<String>, Vec<String>, Vec<String>)> {
    let emails = contact_queries::emails(conn, id)?
        .into_iter()
        .map(|(email, _)| email)
        .collect();
    let phones = contact_queries::phones(conn, id)?
        .into_iter()
        .map(|(phone, _)| phone)
        .collect();
    let tag_names = tags::for_contacts(conn, &[id])?
        .remove(&id)
        .unwrap_or_default();
    Ok((emails, phones, tag_names))
}

/// Merges contact `pair.other` into `pair.survivor`.
pub fn merge_contacts(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    pair: Pair,
    choices: &Choices,
) -> Result<(), AppError> {
    if pair.survivor == pair.other {
        return Err(same_record("contact"));
    }
    db::write(conn, |conn| {
        let keep = contact_queries::find(conn, pair.survivor)?.or_not_found()?;
        let gone = contact_queries::find(conn, pair.other)?.or_not_found()?;
        if !record_rights(user, keep.owner_id).edit || !record_rights(user, gone.owner_id).edit {
            return Err(AppError::Forbidden);
        }
        if keep.version != pair.survivor_version || gone.version != pair.other_version {
            return Err(stale("contact"));
        }
        let take = |field: &str| choices.takes_other(field);
        let pick = |field: &str, mine: &Option<String>, theirs: &Option<String>| {
            if take(field) {
                theirs.clone()
            } else {
                mine.clone()
            }
        };
        let first_name = if take("first_name") {
            &gone.first_name
        } else {
            &keep.first_name
        };
        let last_name = if take("last_name") {
            &gone.last_name
        } else {
            &keep.last_name
        };
        let mine = contact_values(conn, &keep)?;
        let theirs = contact_values(conn, &gone)?;
        let (keep_emails, keep_phones, keep_tags) = contact_lists(conn, keep.id)?;
        let (gone_emails, gone_phones, gone_tags) = contact_lists(conn, gone.id)?;
        let emails = combined_count(&keep_emails, &gone_emails);
        let phones = combined_count(&keep_phones, &gone_phones);
        if emails > MAX_EMAILS || phones > MAX_PHONES {
            return Err(AppError::invalid(
                "other",
                format!(
                    "The merged contact would have {emails} email addresses and {phones} phone \
                     numbers; a contact holds at most {MAX_EMAILS} of each. Remove some from \
                     either contact, then merge. Nothing was merged."
                ),
            ));
        }

        // Emails and phones: the other's move over (the ones the survivor has are dropped);
        // the survivor's primary stays primary.
        diesel::delete(
            contact_emails::table
                .filter(contact_emails::contact_id.eq(gone.id))
                .filter(contact_emails::email.eq_any(&keep_emails)),
        )
        .execute(conn)?;
        if keep_emails.is_empty() {
            diesel::update(contact_emails::table.filter(contact_emails::contact_id.eq(gone.id)))
                .set(contact_emails::contact_id.eq(keep.id))
                .execute(conn)?;
        } else {
            diesel::update(contact_emails::table.filter(contact_emails::contact_id.eq(gone.id)))
                .set((
                    contact_emails::contact_id.eq(keep.id),
                    contact_emails::is_primary.eq(false),
                ))
                .execute(conn)?;
        }
        diesel::delete(
            contact_phones::table
                .filter(contact_phones::contact_id.eq(gone.id))
                .filter(contact_phones::phone.eq_any(&keep_phones)),
        )
        .execute(conn)?;
        if keep_phones.is_empty() {
            diesel::update(contact_phones::table.filter(contact_phones::contact_id.eq(gone.id)))
                .set(contact_phones::contact_id.eq(keep.id))
                .execute(conn)?;
        } else {
            diesel::update(contact_phones::table.filter(contact_phones::contact_id.eq(gone.id)))
                .set((
                    contact_phones::contact_id.eq(keep.id),
                    contact_phones::is_primary.eq(false),
                ))
                .execute(conn)?;
        }
        tags::add_to_contact(conn, keep.id, &gone_tags)?;
        diesel::update(timeline_entries::table.filter(timeline_entries::contact_id.eq(gone.id)))
            .set(timeline_entries::contact_id.eq(keep.id))
            .execute(conn)?;
        diesel::update(lead_events::table.filter(lead_events::contact_id.eq(gone.id)))
            .set(lead_events::contact_id.eq(keep.id))
            .execute(conn)?;
        crate::leads::events::visitors_move_to_contact(conn, gone.id, keep.id)?;

        let company_id = if take("company") {
            gone.company_id
        } else {
            keep.company_id
        };
        let stage = if take("lifecycle_stage") {
            &gone.lifecycle_stage
        } else {
            &keep.lifecycle_stage
        };
        diesel::update(contacts::table.find(keep.id))
            .set((
                contacts::first_name.eq(first_name),
                contacts::last_name.eq(last_name),
                contacts::sort_name.eq(contact_sort_name(first_name, last_name)),
                contacts::job_title.eq(pick("job_title", &keep.job_title, &gone.job_title)),
                contacts::company_id.eq(company_id),
                contacts::owner_id.eq(if take("owner") {
                    gone.owner_id
                } else {
                    keep.owner_id
                }),
                contacts::lifecycle_stage.eq(stage),
                contacts::address.eq(pick("address", &keep.address, &gone.address)),
                contacts::description.eq(pick("description", &keep.description, &gone.description)),
                contacts::last_activity_at.eq(later(keep.last_activity_at, gone.last_activity_at)),
                contacts::created_at.eq(keep.created_at.min(gone.created_at)),
                contacts::updated_at.eq(now),
                contacts::version.eq(contacts::version + 1),
            ))
            .execute(conn)?;
        diesel::delete(contacts::table.find(gone.id)).execute(conn)?;
        search::remove_contact(conn, gone.id)?;
        search::index_contact(conn, keep.id)?;

        let other_target = format!("contact {}", gone.id);
        let chosen = describe_choices(&CONTACT_FIELDS, &mine, &theirs, choices, &other_target);
        let emails = union(keep_emails, gone_emails).join(", ");
        let phones = union(keep_phones, gone_phones).join(", ");
        let mut all_tags = union(keep_tags, gone_tags);
        all_tags.sort();
        let details = format!(
            "merged contact {} ({}) into {}; chosen: {chosen}; combined: emails {}; phones {}; tags {}",
            gone.id,
            gone.name(),
            keep.id,
            shown(&emails),
            shown(&phones),
            shown(&all_tags.join(", ")),
        );
        audit::record(
            conn,
            now,
            actor,
            Action::RecordMerged,
            Some(&format!("contact {}", keep.id)),
            Some(&details),
        )?;
        timeline::add(
            conn,
            &NewEntry {
                deal_id: None,
                lead_id: None,
                contact_id: Some(keep.id),
                company_id,
                kind: Kind::Change,
                author_id: actor.user_id,
                occurred_at: now,
                recorded_at: now,
                body: &format!(
                    "Merged {} (contact {}) into this contact. Chosen: {chosen}.",
                    gone.name(),
                    gone.id
                ),
                outcome: None,
                duration_minutes: None,
            },
        )?;
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Companies

fn company_values(
    conn: &mut Conn,
    company: &Company,
) -> QueryResult<HashMap<&'static str, String>> {
    let form = CompanyForm::of(company, &[]);
    let owners =
        company_queries::user_names(conn, &company.owner_id.into_iter().collect::<Vec<_>>())?;
    let mut values: HashMap<&'static str, String> = COMPANY_FIELDS
        .iter()
        .map(|(field, _)| (*field, form.value(field).to_owned()))
        .collect();
    values.insert("owner", name_or_empty(&owners, company.owner_id));
    Ok(values)
}

/// Merges company `pair.other` into `pair.survivor`; its contacts move to the survivor.
pub fn merge_companies(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    pair: Pair,
    choices: &Choices,
) -> Result<(), AppError> {
    if pair.survivor == pair.other {
        return Err(same_record("company"));
    }
    db::write(conn, |conn| {
        let keep = company_queries::find(conn, pair.survivor)?.or_not_found()?;
        let gone = company_queries::find(conn, pair.other)?.or_not_found()?;
        if !record_rights(user, keep.owner_id).edit || !record_rights(user, gone.owner_id).edit {
            return Err(AppError::Forbidden);
        }
        if keep.version != pair.survivor_version || gone.version != pair.other_version {
            return Err(stale("company"));
        }
        let take = |field: &str| choices.takes_other(field);
        let pick = |field: &str, mine: &Option<String>, theirs: &Option<String>| {
            if take(field) {
                theirs.clone()
            } else {
                mine.clone()
            }
        };
        let mine = company_values(conn, &keep)?;
        let theirs = company_values(conn, &gone)?;
        let keep_tags = tags::for_companies(conn, &[keep.id])?
            .remove(&keep.id)
            .unwrap_or_default();
        let gone_tags = tags::for_companies(conn, &[gone.id])?
            .remove(&gone.id)
            .unwrap_or_default();
        let mut all_tags = union(keep_tags, gone_tags);
        all_tags.sort();
        tags::set_for_company(conn, keep.id, &all_tags)?;
        let moved = diesel::update(contacts::table.filter(contacts::company_id.eq(gone.id)))
            .set(contacts::company_id.eq(keep.id))
            .execute(conn)?;
        diesel::update(timeline_entries::table.filter(timeline_entries::company_id.eq(gone.id)))
            .set(timeline_entries::company_id.eq(keep.id))
            .execute(conn)?;
        let name = if take("name") { &gone.name } else { &keep.name };
        diesel::update(companies::table.find(keep.id))
            .set((
                companies::name.eq(name),
                companies::sort_name.eq(company_sort_name(name)),
                companies::domain.eq(pick("domain", &keep.domain, &gone.domain)),
                companies::industry.eq(pick("industry", &keep.industry, &gone.industry)),
                companies::employee_count.eq(if take("employee_count") {
                    gone.employee_count
                } else {
                    keep.employee_count
                }),
                companies::phone.eq(pick("phone", &keep.phone, &gone.phone)),
                companies::address.eq(pick("address", &keep.address, &gone.address)),
                companies::owner_id.eq(if take("owner") {
                    gone.owner_id
                } else {
                    keep.owner_id
                }),
                companies::last_activity_at.eq(later(keep.last_activity_at, gone.last_activity_at)),
                companies::created_at.eq(keep.created_at.min(gone.created_at)),
                companies::updated_at.eq(now),
                companies::version.eq(companies::version + 1),
            ))
            .execute(conn)?;
        diesel::delete(companies::table.find(gone.id)).execute(conn)?;
        search::remove_company(conn, gone.id)?;
        search::index_company(conn, keep.id)?;

        let other_target = format!("company {}", gone.id);
        let chosen = describe_choices(&COMPANY_FIELDS, &mine, &theirs, choices, &other_target);
        let details = format!(
            "merged company {} ({}) into {}; chosen: {chosen}; combined: tags {}; contacts moved: {moved}",
            gone.id,
            gone.name,
            keep.id,
            shown(&all_tags.join(", ")),
        );
        audit::record(
            conn,
            now,
            actor,
            Action::RecordMerged,
            Some(&format!("company {}", keep.id)),
            Some(&details),
        )?;
        timeline::add(
            conn,
            &NewEntry {
                deal_id: None,
                lead_id: None,
                contact_id: None,
                company_id: Some(keep.id),
                kind: Kind::Change,
                author_id: actor.user_id,
                occurred_at: now,
                recorded_at: now,
                body: &format!(
                    "Merged {} (company {}) into this company; {moved} contacts moved. Chosen: {chosen}.",
                    gone.name, gone.id
                ),
                outcome: None,
                duration_minutes: None,
            },
        )?;
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// Pages

/// Which kind of record a merge page is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordKind {
    Contact,
    Company,
}

impl RecordKind {
    fn base(self) -> &'static str {
        match self {
            RecordKind::Contact => "/contacts",
            RecordKind::Company => "/companies",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            RecordKind::Contact => "contact",
            RecordKind::Company => "company",
        }
    }
}

/// A record the user may pick as the other one.
struct Candidate {
    id: i64,
    label: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "contacts/merge/pick.html")]
struct PickPage {
    page: Page,
    base: &'static str,
    noun: &'static str,
    id: i64,
    name: String,
    q: String,
    other: String,
    searched: bool,
    candidates: Vec<Candidate>,
    suggestions: Vec<Candidate>,
    error: Option<String>,
}

struct FieldRow {
    name: &'static str,
    label: &'static str,
    mine: String,
    theirs: String,
    take_theirs: bool,
}

struct CombinedRow {
    label: &'static str,
    value: String,
}

#[derive(Template)]
#[template(path = "contacts/merge/compare.html")]
struct ComparePage {
    page: Page,
    base: &'static str,
    noun: &'static str,
    id: i64,
    name: String,
    version: i32,
    other_id: i64,
    other_name: String,
    other_version: i32,
    fields: Vec<FieldRow>,
    combined: Vec<CombinedRow>,
    moves: String,
}

#[derive(Debug, Default, Deserialize)]
struct MergeQuery {
    #[serde(default)]
    other: String,
    #[serde(default)]
    q: String,
}

/// Refuses a merge the user's rights do not allow, and logs the refusal.
async fn refuse(state: &AppState, user: &CurrentUser, what: String) -> AppError {
    let (now, actor) = (state.now(), user.actor());
    let recorded = db::run(&state.pool, move |conn| {
        audit::record(
            conn,
            now,
            &actor,
            Action::AuthorizationDenied,
            Some(&what),
            None,
        )?;
        Ok(())
    })
    .await;
    match recorded {
        Ok(()) => AppError::Forbidden,
        Err(err) => err,
    }
}

/// One side of a comparison: (name, owner, version, field values, list rows).
struct Side {
    name: String,
    owner_id: Option<i64>,
    version: i32,
    values: HashMap<&'static str, String>,
    lists: Vec<(&'static str, Vec<String>)>,
    members: i64,
}

fn load_side(conn: &mut Conn, kind: RecordKind, id: i64) -> Result<Side, AppError> {
    match kind {
        RecordKind::Contact => {
            let contact = contact_queries::find(conn, id)?.or_not_found()?;
            let values = contact_values(conn, &contact)?;
            let (emails, phones, tag_names) = contact_lists(conn, id)?;
            Ok(Side {
                name: contact.name(),
                owner_id: contact.owner_id,
                version: contact.version,
                values,
                lists: vec![("Emails", emails), ("Phones", phones), ("Tags", tag_names)],
                members: 0,
            })
        }
        RecordKind::Company => {
            let company = company_queries::find(conn, id)?.or_not_found()?;
            let values = company_values(conn, &company)?;
            let tag_names = tags::for_companies(conn, &[id])?
                .remove(&id)
                .unwrap_or_default();
            Ok(Side {
                name: company.name.clone(),
                owner_id: company.owner_id,
                version: company.version,
                values,
                lists: vec![("Tags", tag_names)],
                members: company_queries::member_count(conn, id)?,
            })
        }
    }
}

fn candidates(
    conn: &mut Conn,
    kind: RecordKind,
    ids: &[i64],
    except: i64,
) -> QueryResult<Vec<Candidate>> {
    let ids: Vec<i64> = ids.iter().copied().filter(|id| *id != except).collect();
    match kind {
        RecordKind::Contact => {
            let found: Vec<Contact> = contacts::table
                .filter(contacts::id.eq_any(&ids))
                .select(Contact::as_select())
                .load(conn)?;
            let emails = contact_queries::primary_emails(conn, &ids)?;
            let mut by_id: HashMap<i64, Contact> = found
                .into_iter()
                .map(|contact| (contact.id, contact))
                .collect();
            Ok(ids
                .iter()
                .filter_map(|id| by_id.remove(id))
                .map(|contact| Candidate {
                    id: contact.id,
                    label: contact.name(),
                    detail: emails.get(&contact.id).cloned().unwrap_or_default(),
                })
                .collect())
        }
        RecordKind::Company => {
            let found: Vec<Company> = companies::table
                .filter(companies::id.eq_any(&ids))
                .select(Company::as_select())
                .load(conn)?;
            let mut by_id: HashMap<i64, Company> = found
                .into_iter()
                .map(|company| (company.id, company))
                .collect();
            Ok(ids
                .iter()
                .filter_map(|id| by_id.remove(id))
                .map(|company| Candidate {
                    id: company.id,
                    label: company.name,
                    detail: company.domain.unwrap_or_default(),
                })
                .collect())
        }
    }
}

/// Records that share an email (contacts) or a web domain (companies) with this one.
fn suggestions(conn: &mut Conn, kind: RecordKind, id: i64) -> QueryResult<Vec<Candidate>> {
    let ids: Vec<i64> = match kind {
        RecordKind::Contact => {
            let (emails, _, _) = contact_lists(conn, id)?;
            let mut ids: Vec<i64> = contact_queries::with_emails(conn, &emails, Some(id))?
                .into_iter()
                .map(|duplicate| duplicate.contact_id)
                .collect();
            ids.dedup();
            ids.truncate(10);
            ids
        }
        RecordKind::Company => {
            let domain: Option<String> = companies::table
                .find(id)
                .select(companies::domain)
                .first(conn)?;
            match domain {
                Some(domain) => companies::table
                    .filter(companies::domain.eq(domain))
                    .filter(companies::id.ne(id))
                    .select(companies::id)
                    .limit(10)
                    .load(conn)?,
                None => Vec::new(),
            }
        }
    };
    candidates(conn, kind, &ids, id)
}

async fn show_page(
    state: web::Data<AppState>,
    viewer: Viewer,
    kind: RecordKind,
    id: i64,
    query: MergeQuery,
) -> Result<HttpResponse, AppError> {
    let other: Option<i64> = query.other.trim().parse().ok();
    let typed = query.q.trim().to_owned();
    let user = viewer.user.clone();
    let loaded = db::run(&state.pool, move |conn| {
        let me = load_side(conn, kind, id)?;
        if !record_rights(&user, me.owner_id).edit {
            return Ok(Err(()));
        }
        let them = match other {
            Some(other) if other != id => Some(load_side(conn, kind, other)?),
            _ => None,
        };
        if let Some(them) = &them
            && !record_rights(&user, them.owner_id).edit
        {
            return Ok(Err(()));
        }
        let hits = match kind {
            RecordKind::Contact => search::search_contacts(conn, &typed, 20)?,
            RecordKind::Company => search::search_companies(conn, &typed, 20)?,
        };
        let hit_ids: Vec<i64> = hits.into_iter().map(|hit| hit.id).collect();
        let found = candidates(conn, kind, &hit_ids, id)?;
        let suggested = suggestions(conn, kind, id)?;
        Ok(Ok((me, them, found, suggested)))
    })
    .await?;
    let Ok((me, them, found, suggested)) = loaded else {
        return Err(refuse(&state, &viewer, format!("GET {}/{id}/merge", kind.base())).await);
    };
    let Some(them) = them else {
        let error = (other == Some(id)).then(|| {
            format!(
                "Choose another {0}: a {0} cannot be merged with itself.",
                kind.noun()
            )
        });
        let status = if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        let page = PickPage {
            page: viewer.page(&format!("Merge {}", me.name)),
            base: kind.base(),
            noun: kind.noun(),
            id,
            name: me.name,
            q: query.q.trim().to_owned(),
            other: query.other.trim().to_owned(),
            searched: !query.q.trim().is_empty(),
            candidates: found,
            suggestions: suggested,
            error,
        };
        return render_with_status(status, &page);
    };
    let fields_list: &[(&str, &str)] = match kind {
        RecordKind::Contact => &CONTACT_FIELDS,
        RecordKind::Company => &COMPANY_FIELDS,
    };
    let fields = fields_list
        .iter()
        .map(|(name, label)| {
            let mine = me.values.get(name).cloned().unwrap_or_default();
            let theirs = them.values.get(name).cloned().unwrap_or_default();
            FieldRow {
                name,
                label,
                take_theirs: mine.is_empty() && !theirs.is_empty(),
                mine,
                theirs,
            }
        })
        .collect();
    let combined = me
        .lists
        .iter()
        .zip(them.lists.iter())
        .map(|((label, mine), (_, theirs))| {
            let mut all = union(mine.clone(), theirs.clone());
            if *label == "Tags" {
                all.sort();
            }
            CombinedRow {
                label,
                value: all.join(", "),
            }
        })
        .collect();
    let other_id = other.unwrap_or_default();
    let moves = match kind {
        RecordKind::Contact => format!(
            "The timeline of {} moves to {}, then {} is deleted.",
            them.name, me.name, them.name
        ),
        RecordKind::Company => format!(
            "The timeline and the {} contacts of {} move to {}, then {} is deleted.",
            them.members, them.name, me.name, them.name
        ),
    };
    render(&ComparePage {
        page: viewer.page(&format!("Merge {}", me.name)),
        base: kind.base(),
        noun: kind.noun(),
        id,
        name: me.name,
        version: me.version,
        other_id,
        other_name: them.name,
        other_version: them.version,
        fields,
        combined,
        moves,
    })
}

async fn contact_page(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<i64>,
    query: web::Query<MergeQuery>,
) -> Result<HttpResponse, AppError> {
    show_page(
        state,
        viewer,
        RecordKind::Contact,
        path.into_inner(),
        query.into_inner(),
    )
    .await
}

async fn company_page(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<i64>,
    query: web::Query<MergeQuery>,
) -> Result<HttpResponse, AppError> {
    show_page(
        state,
        viewer,
        RecordKind::Company,
        path.into_inner(),
        query.into_inner(),
    )
    .await
}

fn pair_of(id: i64, form: &HashMap<String, String>) -> Result<Pair, AppError> {
    fn number<T: std::str::FromStr>(form: &HashMap<String, String>, name: &str) -> Option<T> {
        form.get(name).and_then(|value| value.trim().parse().ok())
    }
    let bad = || {
        AppError::BadRequest(
            "The merge form is incomplete; open the comparison again and retry.".to_owned(),
        )
    };
    Ok(Pair {
        survivor: id,
        survivor_version: number(form, "version").ok_or_else(bad)?,
        other: number(form, "other").ok_or_else(bad)?,
        other_version: number(form, "other_version").ok_or_else(bad)?,
    })
}

async fn merge(
    state: web::Data<AppState>,
    viewer: Viewer,
    kind: RecordKind,
    id: i64,
    form: HashMap<String, String>,
) -> Result<HttpResponse, AppError> {
    let pair = pair_of(id, &form)?;
    let choices = Choices::from_form(&form);
    let (now, actor, user) = (state.now(), viewer.actor(), viewer.user.clone());
    let result = db::run(&state.pool, move |conn| match kind {
        RecordKind::Contact => merge_contacts(conn, now, &actor, &user, pair, &choices),
        RecordKind::Company => merge_companies(conn, now, &actor, &user, pair, &choices),
    })
    .await;
    match result {
        Ok(()) => {
            FlashMessage::success(format!(
                "Merged. This {} now holds both records.",
                kind.noun()
            ))
            .send();
            Ok(redirect(&format!("{}/{id}", kind.base())))
        }
        Err(AppError::Forbidden) => {
            Err(refuse(&state, &viewer, format!("POST {}/{id}/merge", kind.base())).await)
        }
        Err(other) => Err(other),
    }
}

async fn contact_merge(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<i64>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    merge(
        state,
        viewer,
        RecordKind::Contact,
        path.into_inner(),
        form.into_inner(),
    )
    .await
}

async fn company_merge(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<i64>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    merge(
        state,
        viewer,
        RecordKind::Company,
        path.into_inner(),
        form.into_inner(),
    )
    .await
}
