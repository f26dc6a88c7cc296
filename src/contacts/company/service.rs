//! Company rules: create, update (with optimistic locking), archive, restore, delete and
//! bulk changes. Each change is one transaction with its audit entry, its timeline entry
//! and the search index update.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Company, CompanyForm, CompanyInput, FIELDS, sort_name};
use super::queries;
use crate::audit::{self, Action, Actor};
use crate::auth::model::User;
use crate::auth::policy::record_rights;
use crate::contacts::tags;
use crate::contacts::timeline::{self, Kind, NewEntry};
use crate::db::schema::{companies, contacts, timeline_entries, users};
use crate::db::{self, Conn};
use crate::error::{AppError, OrNotFound};
use crate::search;

pub const CONFLICT: &str = "Someone else changed this company while you were editing. \
    Nothing was saved. Review their changes below, then save again to keep your values.";

fn target(id: i64) -> String {
    format!("company {id}")
}

fn company_tags_of(conn: &mut Conn, id: i64) -> QueryResult<Vec<String>> {
    Ok(tags::for_companies(conn, &[id])?
        .remove(&id)
        .unwrap_or_default())
}

/// The owner must be an active user.
fn check_owner(conn: &mut Conn, owner_id: Option<i64>) -> Result<(), AppError> {
    if let Some(owner_id) = owner_id {
        let exists: i64 = users::table
            .filter(users::id.eq(owner_id).and(users::active.eq(true)))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            return Err(AppError::invalid("owner", "Choose an owner from the list."));
        }
    }
    Ok(())
}

/// How a field's value reads in the audit log and on the conflict page.
pub fn shown(conn: &mut Conn, field: &str, value: &str) -> QueryResult<String> {
    if value.is_empty() {
        return Ok("(empty)".to_owned());
    }
    if field == "owner"
        && let Ok(id) = value.parse::<i64>()
    {
        return Ok(queries::user_names(conn, &[id])?
            .remove(&id)
            .unwrap_or_else(|| format!("user {id}")));
    }
    Ok(value.replace(['\n', '\r'], " "))
}

/// "name: A → B; industry: (empty) → Retail" for the fields that differ.
fn describe_changes(conn: &mut Conn, old: &CompanyForm, new: &CompanyForm) -> QueryResult<String> {
    let mut parts = Vec::new();
    for (field, _) in FIELDS {
        let (before, after) = (old.value(field), new.value(field));
        if before != after {
            parts.push(format!(
                "{field}: {} → {}",
                shown(conn, field, before)?,
                shown(conn, field, after)?
            ));
        }
    }
    Ok(parts.join("; "))
}

fn change_entry(
    conn: &mut Conn,
    now: NaiveDateTime,
    user: &User,
    id: i64,
    body: &str,
) -> QueryResult<()> {
    change_entry_by(conn, now, Some(user.id), id, body)
}

fn change_entry_by(
    conn: &mut Conn,
    now: NaiveDateTime,
    author_id: Option<i64>,
    id: i64,
    body: &str,
) -> QueryResult<()> {
    timeline::add(
        conn,
        &NewEntry {
            deal_id: None,
            lead_id: None,
            contact_id: None,
            company_id: Some(id),
            kind: Kind::Change,
            author_id,
            occurred_at: now,
            recorded_at: now,
            body,
            outcome: None,
            duration_minutes: None,
        },
    )
    .map(|_| ())
}

pub fn create(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    _user: &User,
    input: &CompanyInput,
) -> Result<i64, AppError> {
    db::write(conn, |conn| insert(conn, now, actor, input))
}

/// Stores a new company with its audit entry, timeline entry and search index row, inside
/// the caller's transaction.
pub fn insert(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    input: &CompanyInput,
) -> Result<i64, AppError> {
    check_owner(conn, input.owner_id)?;
    let id: i64 = diesel::insert_into(companies::table)
        .values((
            companies::name.eq(&input.name),
            companies::sort_name.eq(sort_name(&input.name)),
            companies::domain.eq(&input.domain),
            companies::industry.eq(&input.industry),
            companies::employee_count.eq(input.employee_count),
            companies::phone.eq(&input.phone),
            companies::address.eq(&input.address),
            companies::owner_id.eq(input.owner_id),
            companies::created_at.eq(now),
            companies::updated_at.eq(now),
            companies::version.eq(1),
        ))
        .returning(companies::id)
        .get_result(conn)?;
    tags::set_for_company(conn, id, &input.tags)?;
    let details = describe_changes(conn, &CompanyForm::default(), &input.as_form())?;
    audit::record(
        conn,
        now,
        actor,
        Action::RecordCreated,
        Some(&target(id)),
        Some(&details),
    )?;
    change_entry_by(
        conn,
        now,
        actor.user_id,
        id,
        &format!("Created the company {}.", input.name),
    )?;
    search::index_company(conn, id)?;
    Ok(id)
}

/// What an update found.
#[derive(Debug)]
pub enum Saved {
    Done,
    /// The company changed since `version`; nothing was saved. The company as it is now.
    Conflict(Box<Company>, CompanyForm),
}

pub fn update(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    id: i64,
    version: i32,
    input: &CompanyInput,
) -> Result<Saved, AppError> {
    db::write(conn, |conn| {
        let company = queries::find(conn, id)?.or_not_found()?;
        if !record_rights(user, company.owner_id).edit {
            return Err(AppError::Forbidden);
        }
        let old = CompanyForm::of(&company, &company_tags_of(conn, id)?);
        if company.version != version {
            return Ok(Saved::Conflict(Box::new(company), old));
        }
        if !write_update(conn, now, actor, &company, &old, input)? {
            return Ok(Saved::Conflict(Box::new(company), old));
        }
        Ok(Saved::Done)
    })
}

/// Writes `input` over the stored `company` (whose form values are `old`) with its audit
/// entry, timeline entry and search index row, inside the caller's transaction. The caller
/// checks rights and the version. `false` when the stored version moved on meanwhile.
pub fn write_update(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    company: &Company,
    old: &CompanyForm,
    input: &CompanyInput,
) -> Result<bool, AppError> {
    let (id, version) = (company.id, company.version);
    if input.owner_id != company.owner_id {
        check_owner(conn, input.owner_id)?;
    }
    let new = input.as_form();
    if *old == new {
        return Ok(true);
    }
    let updated = diesel::update(
        companies::table.filter(companies::id.eq(id).and(companies::version.eq(version))),
    )
    .set((
        companies::name.eq(&input.name),
        companies::sort_name.eq(sort_name(&input.name)),
        companies::domain.eq(&input.domain),
        companies::industry.eq(&input.industry),
        companies::employee_count.eq(input.employee_count),
        companies::phone.eq(&input.phone),
        companies::address.eq(&input.address),
        companies::owner_id.eq(input.owner_id),
        companies::updated_at.eq(now),
        companies::version.eq(version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Ok(false);
    }
    tags::set_for_company(conn, id, &input.tags)?;
    let details = describe_changes(conn, old, &new)?;
    audit::record(
        conn,
        now,
        actor,
        Action::RecordUpdated,
        Some(&target(id)),
        Some(&details),
    )?;
    change_entry_by(conn, now, actor.user_id, id, &format!("Changed {details}."))?;
    search::index_company(conn, id)?;
    Ok(true)
}

/// Archives (`true`) or restores (`false`) a company the user may edit.
fn set_archived_in(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    company: &Company,
    archive: bool,
) -> Result<bool, AppError> {
    if !record_rights(user, company.owner_id).edit {
        return Err(AppError::Forbidden);
    }
    if company.archived_at.is_some() == archive {
        return Ok(false);
    }
    diesel::update(companies::table.find(company.id))
        .set((
            companies::archived_at.eq(archive.then_some(now)),
            companies::updated_at.eq(now),
            companies::version.eq(companies::version + 1),
        ))
        .execute(conn)?;
    let (action, body) = if archive {
        (Action::RecordArchived, "Archived the company.")
    } else {
        (Action::RecordRestored, "Restored the company.")
    };
    audit::record(conn, now, actor, action, Some(&target(company.id)), None)?;
    change_entry(conn, now, user, company.id, body)?;
    search::index_company(conn, company.id)?;
    Ok(true)
}

pub fn set_archived(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    id: i64,
    archive: bool,
) -> Result<Company, AppError> {
    db::write(conn, |conn| {
        let company = queries::find(conn, id)?.or_not_found()?;
        set_archived_in(conn, now, actor, user, &company, archive)?;
        Ok(company)
    })
}

/// Deletes a company (admins only). Its contacts stay, without a company; entries that
/// belong to the company alone go with it, while a contact's entries stay on the contact.
pub fn delete(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    id: i64,
) -> Result<Company, AppError> {
    db::write(conn, |conn| {
        let company = queries::find(conn, id)?.or_not_found()?;
        if !record_rights(user, company.owner_id).delete {
            return Err(AppError::Forbidden);
        }
        let members: Vec<i64> = contacts::table
            .filter(contacts::company_id.eq(id))
            .select(contacts::id)
            .load(conn)?;
        diesel::update(
            timeline_entries::table.filter(
                timeline_entries::company_id
                    .eq(id)
                    .and(timeline_entries::contact_id.is_not_null()),
            ),
        )
        .set(timeline_entries::company_id.eq(None::<i64>))
        .execute(conn)?;
        diesel::delete(companies::table.find(id)).execute(conn)?;
        search::remove_company(conn, id)?;
        for contact_id in members {
            search::index_contact(conn, contact_id)?;
        }
        audit::record(
            conn,
            now,
            actor,
            Action::RecordDeleted,
            Some(&target(id)),
            Some(&format!("name: {}", company.name)),
        )?;
        Ok(company)
    })
}

/// A change applied to every selected company the user may edit.
#[derive(Debug, Clone)]
pub enum BulkAction {
    AssignOwner(Option<i64>),
    AddTag(String),
    RemoveTag(String),
    Archive,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkOutcome {
    pub changed: usize,
    /// Selected companies the user may not edit (or that no longer exist).
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
        if let BulkAction::AssignOwner(owner_id) = action {
            check_owner(conn, *owner_id)?;
        }
        let mut outcome = BulkOutcome::default();
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let Some(company) = queries::find(conn, id)? else {
                outcome.skipped += 1;
                continue;
            };
            if !record_rights(user, company.owner_id).edit {
                outcome.skipped += 1;
                continue;
            }
            let changed = match action {
                BulkAction::Archive => set_archived_in(conn, now, actor, user, &company, true)?,
                BulkAction::AssignOwner(owner_id) => {
                    bulk_edit(conn, now, actor, user, &company, |form| {
                        form.owner = owner_id.map(|id| id.to_string()).unwrap_or_default();
                    })?
                }
                BulkAction::AddTag(tag) => bulk_edit(conn, now, actor, user, &company, |form| {
                    let mut names: Vec<&str> =
                        form.tags.split(", ").filter(|t| !t.is_empty()).collect();
                    names.push(tag);
                    names.sort_unstable();
                    names.dedup();
                    form.tags = names.join(", ");
                })?,
                BulkAction::RemoveTag(tag) => {
                    bulk_edit(conn, now, actor, user, &company, |form| {
                        form.tags = form
                            .tags
                            .split(", ")
                            .filter(|t| !t.is_empty() && t != tag)
                            .collect::<Vec<_>>()
                            .join(", ");
                    })?
                }
            };
            if changed {
                outcome.changed += 1;
            }
        }
        Ok(outcome)
    })
}

/// Applies `change` to the company's form values and saves the result like an edit.
fn bulk_edit(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    company: &Company,
    change: impl FnOnce(&mut CompanyForm),
) -> Result<bool, AppError> {
    let old = CompanyForm::of(company, &company_tags_of(conn, company.id)?);
    let mut new = old.clone();
    change(&mut new);
    if new == old {
        return Ok(false);
    }
    let input = new.validate().map_err(AppError::Invalid)?;
    diesel::update(companies::table.find(company.id))
        .set((
            companies::owner_id.eq(input.owner_id),
            companies::updated_at.eq(now),
            companies::version.eq(companies::version + 1),
        ))
        .execute(conn)?;
    if new.tags != old.tags {
        tags::set_for_company(conn, company.id, &input.tags)?;
    }
    let details = describe_changes(conn, &old, &input.as_form())?;
    audit::record(
        conn,
        now,
        actor,
        Action::RecordUpdated,
        Some(&target(company.id)),
        Some(&details),
    )?;
    change_entry(conn, now, user, company.id, &format!("Changed {details}."))?;
    search::index_company(conn, company.id)?;
    Ok(true)
}
