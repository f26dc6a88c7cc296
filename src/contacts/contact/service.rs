//! Changing contacts. Every write checks the user's rights on the record, runs in one
//! transaction, and in that transaction writes the audit log, a `change` entry on the
//! contact's timeline (also shown on its company's) and the search index.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Contact, ContactInput, Stage, full_name, sort_name};
use super::queries::{self, Duplicate};
use crate::audit::{self, Action, Actor};
use crate::auth::model::User;
use crate::auth::policy::{Permission, record_rights};
use crate::contacts::tags;
use crate::contacts::timeline::{self, Kind, NewEntry};
use crate::db::schema::{contact_emails, contact_phones, contact_tags, contacts};
use crate::db::{self, Conn};
use crate::error::{AppError, FieldErrors, OrNotFound};
use crate::search;

/// A contact's fields as people read them, in form order, for audit details and conflicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot(Vec<(&'static str, String)>);

/// One field two versions disagree on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: String,
    pub after: String,
}

impl Snapshot {
    /// The fields where `self` and `other` differ: `before` from `self`, `after` from `other`.
    pub fn diff(&self, other: &Snapshot) -> Vec<FieldChange> {
        self.0
            .iter()
            .zip(other.0.iter())
            .filter(|(mine, theirs)| mine.1 != theirs.1)
            .map(|(mine, theirs)| FieldChange {
                field: mine.0,
                before: mine.1.clone(),
                after: theirs.1.clone(),
            })
            .collect()
    }

    fn describe(&self) -> String {
        self.0
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(field, value)| format!("{field}: {value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn shown(value: &str) -> &str {
    if value.is_empty() { "(empty)" } else { value }
}

/// "Job title: (empty) → CTO; Tags: vip → vip, partner".
pub fn describe_changes(changes: &[FieldChange]) -> String {
    changes
        .iter()
        .map(|change| {
            format!(
                "{}: {} → {}",
                change.field,
                shown(&change.before),
                shown(&change.after)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn name_of(conn: &mut Conn, id: Option<i64>, company: bool) -> QueryResult<String> {
    let Some(id) = id else {
        return Ok(String::new());
    };
    let names = if company {
        queries::company_names(conn, &[id])?
    } else {
        queries::user_names(conn, &[id])?
    };
    Ok(names.get(&id).cloned().unwrap_or_else(|| format!("#{id}")))
}

fn snapshot_of(conn: &mut Conn, input: &ContactInput) -> QueryResult<Snapshot> {
    Ok(Snapshot(vec![
        ("Name", full_name(&input.first_name, &input.last_name)),
        ("Emails", input.emails.join(", ")),
        ("Phones", input.phones.join(", ")),
        ("Job title", input.job_title.clone().unwrap_or_default()),
        ("Company", name_of(conn, input.company_id, true)?),
        ("Owner", name_of(conn, input.owner_id, false)?),
        ("Tags", input.tags.join(", ")),
        ("Lifecycle stage", input.stage.label().to_owned()),
        ("Address", input.address.clone().unwrap_or_default()),
        ("Description", input.description.clone().unwrap_or_default()),
    ]))
}

/// The stored contact as a form would submit it.
pub fn input_of(conn: &mut Conn, contact: &Contact) -> QueryResult<ContactInput> {
    let emails = queries::emails(conn, contact.id)?;
    let phones = queries::phones(conn, contact.id)?;
    let mut tag_names = tags::for_contacts(conn, &[contact.id])?;
    Ok(ContactInput {
        first_name: contact.first_name.clone(),
        last_name: contact.last_name.clone(),
        emails: emails.into_iter().map(|(email, _)| email).collect(),
        phones: phones.into_iter().map(|(phone, _)| phone).collect(),
        job_title: contact.job_title.clone(),
        company_id: contact.company_id,
        owner_id: contact.owner_id,
        tags: tag_names.remove(&contact.id).unwrap_or_default(),
        stage: Stage::parse(&contact.lifecycle_stage).unwrap_or(Stage::Lead),
        address: contact.address.clone(),
        description: contact.description.clone(),
    })
}

/// The company and owner must exist (an archived company already linked may stay).
fn check_references(
    conn: &mut Conn,
    input: &ContactInput,
    current: Option<&Contact>,
) -> Result<(), AppError> {
    let mut errors = FieldErrors::new();
    if let Some(company_id) = input.company_id
        && !queries::company_exists(conn, company_id)?
    {
        errors.add("company_id", "Choose a company from the list.");
    }
    if let Some(owner_id) = input.owner_id
        && current.and_then(|contact| contact.owner_id) != Some(owner_id)
        && !queries::active_user_exists(conn, owner_id)?
    {
        errors.add("owner_id", "Choose an active user as the owner.");
    }
    errors.into_result()
}

/// Replaces a stored contact's emails, phones and tags with the submitted ones.
fn replace_details(conn: &mut Conn, contact_id: i64, input: &ContactInput) -> QueryResult<()> {
    diesel::delete(contact_emails::table.filter(contact_emails::contact_id.eq(contact_id)))
        .execute(conn)?;
    diesel::delete(contact_phones::table.filter(contact_phones::contact_id.eq(contact_id)))
        .execute(conn)?;
    insert_emails_and_phones(conn, contact_id, input)?;
    tags::set_for_contact(conn, contact_id, &input.tags)
}

/// Writes the emails, phones and tags of a contact that has none yet.
fn add_details(conn: &mut Conn, contact_id: i64, input: &ContactInput) -> QueryResult<()> {
    insert_emails_and_phones(conn, contact_id, input)?;
    tags::add_to_contact(conn, contact_id, &input.tags)
}

fn insert_emails_and_phones(
    conn: &mut Conn,
    contact_id: i64,
    input: &ContactInput,
) -> QueryResult<()> {
    // One single-row statement each: diesel caches their prepared form, where a multi-row
    // insert is prepared anew for every length.
    for (position, email) in input.emails.iter().enumerate() {
        diesel::insert_into(contact_emails::table)
            .values((
                contact_emails::contact_id.eq(contact_id),
                contact_emails::email.eq(email),
                contact_emails::is_primary.eq(position == 0),
            ))
            .execute(conn)?;
    }
    for (position, phone) in input.phones.iter().enumerate() {
        diesel::insert_into(contact_phones::table)
            .values((
                contact_phones::contact_id.eq(contact_id),
                contact_phones::phone.eq(phone),
                contact_phones::is_primary.eq(position == 0),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn change_entry(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    contact_id: i64,
    company_id: Option<i64>,
    body: &str,
) -> QueryResult<i64> {
    timeline::add(
        conn,
        &NewEntry {
            deal_id: None,
            lead_id: None,
            contact_id: Some(contact_id),
            company_id,
            kind: Kind::Change,
            author_id: actor.user_id,
            occurred_at: now,
            recorded_at: now,
            body,
            outcome: None,
            duration_minutes: None,
        },
    )
}

fn target(contact_id: i64) -> String {
    format!("contact {contact_id}")
}

#[derive(Debug)]
pub enum Created {
    Saved(i64),
    /// Not saved: other contacts have these emails and the user did not confirm.
    Duplicates(Vec<Duplicate>),
}

pub fn create(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    input: &ContactInput,
    confirm_duplicate: bool,
) -> Result<Created, AppError> {
    if !user.role.can(Permission::CreateCustomers) {
        return Err(AppError::Forbidden);
    }
    db::write(conn, |conn| {
        if !confirm_duplicate {
            let duplicates = queries::with_emails(conn, &input.emails, None)?;
            if !duplicates.is_empty() {
                check_references(conn, input, None)?;
                return Ok(Created::Duplicates(duplicates));
            }
        }
        insert(conn, now, actor, input).map(Created::Saved)
    })
}

/// Stores a new contact with its audit entry, timeline entry and search index row, inside
/// the caller's transaction. The caller checks the user's permission and duplicates.
pub fn insert(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    input: &ContactInput,
) -> Result<i64, AppError> {
    let id = insert_unindexed(conn, now, actor, input)?;
    search::index_contact(conn, id)?;
    Ok(id)
}

/// `insert` without the search index row, for bulk writes that index all their new
/// contacts at the end of the transaction (`search::index_new_contacts`).
pub fn insert_unindexed(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    input: &ContactInput,
) -> Result<i64, AppError> {
    check_references(conn, input, None)?;
    let id: i64 = diesel::insert_into(contacts::table)
        .values((
            contacts::first_name.eq(&input.first_name),
            contacts::last_name.eq(&input.last_name),
            contacts::sort_name.eq(sort_name(&input.first_name, &input.last_name)),
            contacts::job_title.eq(&input.job_title),
            contacts::company_id.eq(input.company_id),
            contacts::owner_id.eq(input.owner_id),
            contacts::lifecycle_stage.eq(input.stage.as_str()),
            contacts::address.eq(&input.address),
            contacts::description.eq(&input.description),
            contacts::created_at.eq(now),
            contacts::updated_at.eq(now),
        ))
        .returning(contacts::id)
        .get_result(conn)?;
    add_details(conn, id, input)?;
    let details = snapshot_of(conn, input)?.describe();
    change_entry(
        conn,
        now,
        actor,
        id,
        input.company_id,
        "Created this contact.",
    )?;
    audit::record(
        conn,
        now,
        actor,
        Action::RecordCreated,
        Some(&target(id)),
        Some(&details),
    )?;
    Ok(id)
}

#[derive(Debug)]
pub enum Updated {
    Saved,
    /// Not saved: someone else saved first. `changes` lists the fields where the stored
    /// values (`before`, theirs) differ from the submitted ones (`after`, yours).
    Conflict {
        changes: Vec<FieldChange>,
        current_version: i32,
    },
}

fn editable(conn: &mut Conn, user: &User, contact_id: i64) -> Result<Contact, AppError> {
    let contact = queries::find(conn, contact_id)?.or_not_found()?;
    if !record_rights(user, contact.owner_id).edit {
        return Err(AppError::Forbidden);
    }
    Ok(contact)
}

pub fn update(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    contact_id: i64,
    input: &ContactInput,
    version: i32,
) -> Result<Updated, AppError> {
    db::write(conn, |conn| {
        let contact = editable(conn, user, contact_id)?;
        let stored = input_of(conn, &contact)?;
        let before = snapshot_of(conn, &stored)?;
        let after = snapshot_of(conn, input)?;
        if contact.version != version {
            return Ok(Updated::Conflict {
                changes: before.diff(&after),
                current_version: contact.version,
            });
        }
        write_update(conn, now, actor, &contact, input)?;
        Ok(Updated::Saved)
    })
}

/// Writes `input` over the stored `contact` with its audit entry, timeline entry and search
/// index row, inside the caller's transaction. The caller checks rights and the version.
/// `false` when nothing changed.
pub fn write_update(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    contact: &Contact,
    input: &ContactInput,
) -> Result<bool, AppError> {
    check_references(conn, input, Some(contact))?;
    let stored = input_of(conn, contact)?;
    let before = snapshot_of(conn, &stored)?;
    let after = snapshot_of(conn, input)?;
    let changes = before.diff(&after);
    if changes.is_empty() {
        return Ok(false);
    }
    diesel::update(contacts::table.find(contact.id))
        .set((
            contacts::first_name.eq(&input.first_name),
            contacts::last_name.eq(&input.last_name),
            contacts::sort_name.eq(sort_name(&input.first_name, &input.last_name)),
            contacts::job_title.eq(&input.job_title),
            contacts::company_id.eq(input.company_id),
            contacts::owner_id.eq(input.owner_id),
            contacts::lifecycle_stage.eq(input.stage.as_str()),
            contacts::address.eq(&input.address),
            contacts::description.eq(&input.description),
            contacts::updated_at.eq(now),
            contacts::version.eq(contacts::version + 1),
        ))
        .execute(conn)?;
    replace_details(conn, contact.id, input)?;
    let details = describe_changes(&changes);
    change_entry(
        conn,
        now,
        actor,
        contact.id,
        input.company_id,
        &format!("Changed {details}"),
    )?;
    audit::record(
        conn,
        now,
        actor,
        Action::RecordUpdated,
        Some(&target(contact.id)),
        Some(&details),
    )?;
    search::index_contact(conn, contact.id)?;
    Ok(true)
}

/// Archives (`true`) or restores (`false`) a contact. Doing it twice changes nothing.
pub fn set_archived(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    contact_id: i64,
    archive: bool,
) -> Result<Contact, AppError> {
    db::write(conn, |conn| {
        let contact = editable(conn, user, contact_id)?;
        if contact.archived_at.is_some() == archive {
            return Ok(contact);
        }
        archive_one(conn, now, actor, &contact, archive)?;
        Ok(contact)
    })
}

fn archive_one(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    contact: &Contact,
    archive: bool,
) -> QueryResult<()> {
    diesel::update(contacts::table.find(contact.id))
        .set((
            contacts::archived_at.eq(archive.then_some(now)),
            contacts::updated_at.eq(now),
        ))
        .execute(conn)?;
    let (action, body) = if archive {
        (Action::RecordArchived, "Archived this contact.")
    } else {
        (Action::RecordRestored, "Restored this contact.")
    };
    change_entry(conn, now, actor, contact.id, contact.company_id, body)?;
    audit::record(
        conn,
        now,
        actor,
        action,
        Some(&target(contact.id)),
        Some(&contact.name()),
    )?;
    search::index_contact(conn, contact.id)
}

/// Deletes a contact, its emails, phones, tags and timeline (admins only).
pub fn delete(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    contact_id: i64,
) -> Result<Contact, AppError> {
    db::write(conn, |conn| {
        let contact = queries::find(conn, contact_id)?.or_not_found()?;
        if !record_rights(user, contact.owner_id).delete {
            return Err(AppError::Forbidden);
        }
        let stored = input_of(conn, &contact)?;
        let details = snapshot_of(conn, &stored)?.describe();
        diesel::delete(contacts::table.find(contact_id)).execute(conn)?;
        search::remove_contact(conn, contact_id)?;
        audit::record(
            conn,
            now,
            actor,
            Action::RecordDeleted,
            Some(&target(contact_id)),
            Some(&details),
        )?;
        Ok(contact)
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkAction {
    AssignOwner(i64),
    AddTag(String),
    RemoveTag(String),
    Archive,
}

/// How a bulk action went: rows changed, and rows skipped (missing, or not the user's to
/// edit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkOutcome {
    pub changed: usize,
    pub skipped: usize,
}

pub fn bulk(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    ids: &[i64],
    action: &BulkAction,
) -> Result<BulkOutcome, AppError> {
    db::write(conn, |conn| {
        if let BulkAction::AssignOwner(owner_id) = action
            && !queries::active_user_exists(conn, *owner_id)?
        {
            return Err(AppError::invalid(
                "owner",
                "Choose an active user as the owner.",
            ));
        }
        let found: Vec<Contact> = contacts::table
            .filter(contacts::id.eq_any(ids))
            .select(Contact::as_select())
            .load(conn)?;
        let mut tag_names: HashMap<i64, Vec<String>> = tags::for_contacts(conn, ids)?;
        let mut outcome = BulkOutcome {
            changed: 0,
            skipped: ids.len().saturating_sub(found.len()),
        };
        for contact in &found {
            if !record_rights(user, contact.owner_id).edit {
                outcome.skipped += 1;
                continue;
            }
            outcome.changed += 1;
            let old_tags = tag_names.remove(&contact.id).unwrap_or_default();
            let change = match action {
                BulkAction::Archive => {
                    if contact.archived_at.is_none() {
                        archive_one(conn, now, actor, contact, true)?;
                    }
                    continue;
                }
                BulkAction::AssignOwner(owner_id) => {
                    if contact.owner_id == Some(*owner_id) {
                        continue;
                    }
                    diesel::update(contacts::table.find(contact.id))
                        .set(contacts::owner_id.eq(owner_id))
                        .execute(conn)?;
                    FieldChange {
                        field: "Owner",
                        before: name_of(conn, contact.owner_id, false)?,
                        after: name_of(conn, Some(*owner_id), false)?,
                    }
                }
                BulkAction::AddTag(name) | BulkAction::RemoveTag(name) => {
                    let adding = matches!(action, BulkAction::AddTag(_));
                    let mut new_tags = old_tags.clone();
                    new_tags.retain(|tag| tag != name);
                    if adding {
                        new_tags.push(name.clone());
                        new_tags.sort();
                    }
                    if new_tags == old_tags {
                        continue;
                    }
                    if adding {
                        tags::add_to_contact(conn, contact.id, std::slice::from_ref(name))?;
                    } else if let Some(tag_id) = tags::find_id(conn, name)? {
                        diesel::delete(
                            contact_tags::table
                                .filter(contact_tags::contact_id.eq(contact.id))
                                .filter(contact_tags::tag_id.eq(tag_id)),
                        )
                        .execute(conn)?;
                    }
                    FieldChange {
                        field: "Tags",
                        before: old_tags.join(", "),
                        after: new_tags.join(", "),
                    }
                }
            };
            diesel::update(contacts::table.find(contact.id))
                .set((
                    contacts::updated_at.eq(now),
                    contacts::version.eq(contacts::version + 1),
                ))
                .execute(conn)?;
            let details = describe_changes(std::slice::from_ref(&change));
            change_entry(
                conn,
                now,
                actor,
                contact.id,
                contact.company_id,
                &format!("Changed {details}"),
            )?;
            audit::record(
                conn,
                now,
                actor,
                Action::RecordUpdated,
                Some(&target(contact.id)),
                Some(&details),
            )?;
        }
        Ok(outcome)
    })
}
