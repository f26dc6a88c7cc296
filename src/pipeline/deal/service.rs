//! Deal rules: create, edit (optimistic locking), move between stages, win, lose, reopen
//! and delete. Each change is one transaction with its audit entry, its journey row and
//! the timeline entries on the deal's contacts and company.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Deal, DealForm, DealInput, FIELDS};
use super::queries;
use crate::audit::{self, Action, Actor};
use crate::auth::model::User;
use crate::auth::policy::record_rights;
use crate::contacts::contact::queries::{active_user_exists, company_exists};
use crate::contacts::timeline::{self, Kind, NewEntry};
use crate::db::schema::{deal_contacts, deal_stage_moves, deals};
use crate::db::{self, Conn};
use crate::error::{AppError, FieldErrors, OrNotFound};
use crate::pipeline::model::{self, Stage, Status};

pub const CONFLICT: &str = "Someone else changed this deal while you were editing. \
    Nothing was saved. Review their changes below, then save again to keep your values.";

pub const MOVE_CONFLICT: &str = "Someone else changed this deal in the meantime, so it \
    was not moved. Reload to see where it is now.";

pub fn target(id: i64) -> String {
    format!("deal {id}")
}

/// Checks what a valid form refers to: the pipeline, a stage of that pipeline, an active
/// owner (a deactivated one may stay if unchanged), the company and the contacts. Every
/// problem is reported next to its field.
pub fn check_references(
    conn: &mut Conn,
    input: &DealInput,
    existing: Option<&Deal>,
) -> Result<Stage, AppError> {
    let mut errors = FieldErrors::new();
    let pipeline = model::find_pipeline(conn, input.pipeline_id)?;
    let stage = model::find_stage(conn, input.stage_id)?;
    match (&pipeline, &stage) {
        (None, _) => errors.add("pipeline", "Choose a pipeline from the list."),
        (Some(pipeline), Some(stage)) if stage.pipeline_id != pipeline.id => errors.add(
            "stage",
            format!("Choose a stage of the {} pipeline.", pipeline.name),
        ),
        (Some(_), None) => errors.add("stage", "Choose a stage from the list."),
        _ => {}
    }
    let owner_unchanged = existing.is_some_and(|deal| deal.owner_id == Some(input.owner_id));
    if !owner_unchanged && !active_user_exists(conn, input.owner_id)? {
        errors.add("owner", "Choose an owner from the list.");
    }
    if let Some(company_id) = input.company_id
        && !company_exists(conn, company_id)?
    {
        errors.add("company", "That company does not exist (any more).");
    }
    if !input.contact_ids.is_empty()
        && queries::existing_contacts(conn, &input.contact_ids)? != input.contact_ids.len() as i64
    {
        errors.add(
            "contacts",
            "One of the chosen contacts does not exist (any more).",
        );
    }
    if let Some(deal) = existing
        && !deal.is_open()
        && deal.stage_id != input.stage_id
    {
        errors.add(
            "stage",
            "This deal is closed: reopen it before moving it to another stage.",
        );
    }
    errors.into_result()?;
    stage.or_not_found()
}

/// A row of the journey.
struct Step {
    from_stage_id: Option<i64>,
    to_stage_id: i64,
    from_status: Option<Status>,
    to_status: Status,
}

fn record_step(
    conn: &mut Conn,
    deal_id: i64,
    step: &Step,
    by: Option<i64>,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(deal_stage_moves::table)
        .values((
            deal_stage_moves::deal_id.eq(deal_id),
            deal_stage_moves::from_stage_id.eq(step.from_stage_id),
            deal_stage_moves::to_stage_id.eq(step.to_stage_id),
            deal_stage_moves::from_status.eq(step.from_status.map(Status::as_str)),
            deal_stage_moves::to_status.eq(step.to_status.as_str()),
            deal_stage_moves::moved_by.eq(by),
            deal_stage_moves::moved_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Writes `body` on the timelines of the deal's contacts and company. The company sees it
/// once: one entry names the company (and the first contact), the others only a contact.
fn tell_customers(
    conn: &mut Conn,
    deal_id: i64,
    company_id: Option<i64>,
    contact_ids: &[i64],
    author_id: Option<i64>,
    at: NaiveDateTime,
    body: &str,
) -> QueryResult<()> {
    let entry = |contact_id: Option<i64>, company_id: Option<i64>| NewEntry {
        contact_id,
        company_id,
        deal_id: Some(deal_id),
        lead_id: None,
        kind: Kind::Deal,
        author_id,
        occurred_at: at,
        recorded_at: at,
        body,
        outcome: None,
        duration_minutes: None,
    };
    let mut contacts = contact_ids.iter().copied();
    if company_id.is_some() || !contact_ids.is_empty() {
        timeline::add(conn, &entry(contacts.next(), company_id))?;
    }
    for contact_id in contacts {
        timeline::add(conn, &entry(Some(contact_id), None))?;
    }
    Ok(())
}

fn set_contacts(conn: &mut Conn, deal_id: i64, contact_ids: &[i64]) -> QueryResult<()> {
    diesel::delete(deal_contacts::table.filter(deal_contacts::deal_id.eq(deal_id)))
        .execute(conn)?;
    let rows: Vec<_> = contact_ids
        .iter()
        .map(|contact_id| {
            (
                deal_contacts::deal_id.eq(deal_id),
                deal_contacts::contact_id.eq(*contact_id),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(deal_contacts::table)
            .values(&rows)
            .execute(conn)?;
    }
    Ok(())
}

/// How a field's value reads in the audit log and on the conflict page.
pub fn shown(conn: &mut Conn, field: &str, value: &str) -> QueryResult<String> {
    if value.is_empty() {
        return Ok("(empty)".to_owned());
    }
    let id = value.parse::<i64>().ok();
    let name = match (field, id) {
        ("owner", Some(id)) => queries::user_names(conn, &[id])?.remove(&id),
        ("company", Some(id)) => queries::company_names(conn, &[id])?.remove(&id),
        ("stage", Some(id)) => model::stage_names(conn, &[id])?.remove(&id),
        ("pipeline", Some(id)) => model::find_pipeline(conn, id)?.map(|p| p.name),
        ("contacts", _) => {
            let ids: Vec<i64> = value.split(',').filter_map(|v| v.parse().ok()).collect();
            let names: Vec<String> = queries::contacts_by_id(conn, &ids)?
                .iter()
                .map(queries::ContactRow::name)
                .collect();
            Some(names.join(", "))
        }
        _ => None,
    };
    Ok(name.unwrap_or_else(|| value.replace(['\n', '\r'], " ")))
}

fn describe_changes(conn: &mut Conn, old: &DealForm, new: &DealForm) -> QueryResult<String> {
    let mut parts = Vec::new();
    for (field, _) in FIELDS {
        let (before, after) = (old.value_of(field), new.value_of(field));
        if before != after {
            parts.push(format!(
                "{field}: {} → {}",
                shown(conn, field, &before)?,
                shown(conn, field, &after)?
            ));
        }
    }
    Ok(parts.join("; "))
}

/// Creates a deal, open in its stage, with its first journey row, audit entry and timeline
/// entries, in a transaction of its own. Who may create deals is checked by the caller's
/// extractor.
pub fn create(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    input: &DealInput,
) -> Result<i64, AppError> {
    db::write(conn, |conn| create_in(conn, now, actor, input, None))
}

/// What `create` does, in the caller's transaction (a lead's conversion makes its deal
/// together with the contact and company). `origin`, when given, is added to the audit
/// entry, e.g. "converted from a lead". A reference that does not hold (pipeline, stage,
/// owner, company, contacts) is an `AppError::Invalid` naming the deal form's fields.
pub fn create_in(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    input: &DealInput,
    origin: Option<&str>,
) -> Result<i64, AppError> {
    let stage = check_references(conn, input, None)?;
    let id: i64 = diesel::insert_into(deals::table)
        .values((
            deals::title.eq(&input.title),
            deals::value_minor.eq(input.value_minor),
            deals::currency.eq(&input.currency),
            deals::expected_close_on.eq(input.expected_close_on),
            deals::owner_id.eq(input.owner_id),
            deals::company_id.eq(input.company_id),
            deals::pipeline_id.eq(input.pipeline_id),
            deals::stage_id.eq(input.stage_id),
            deals::status.eq(Status::Open.as_str()),
            deals::source.eq(&input.source),
            deals::stage_entered_at.eq(now),
            deals::created_at.eq(now),
            deals::updated_at.eq(now),
            deals::version.eq(1),
        ))
        .returning(deals::id)
        .get_result(conn)?;
    set_contacts(conn, id, &input.contact_ids)?;
    record_step(
        conn,
        id,
        &Step {
            from_stage_id: None,
            to_stage_id: input.stage_id,
            from_status: None,
            to_status: Status::Open,
        },
        actor.user_id,
        now,
    )?;
    let mut details = describe_changes(conn, &DealForm::default(), &input.as_form())?;
    if let Some(origin) = origin {
        details.push_str("; ");
        details.push_str(origin);
    }
    audit::record(
        conn,
        now,
        actor,
        Action::RecordCreated,
        Some(&target(id)),
        Some(&details),
    )?;
    tell_customers(
        conn,
        id,
        input.company_id,
        &input.contact_ids,
        actor.user_id,
        now,
        &format!("Deal created: {} (stage {}).", input.title, stage.name),
    )?;
    Ok(id)
}

/// What an edit found.
#[derive(Debug)]
pub enum Saved {
    Done,
    /// The deal changed since `version`; nothing was saved. The deal as it is now, and its
    /// form.
    Conflict(Box<(Deal, DealForm)>),
}

pub fn update(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    id: i64,
    version: i32,
    input: &DealInput,
) -> Result<Saved, AppError> {
    db::write(conn, |conn| {
        let deal = queries::find(conn, id)?.or_not_found()?;
        if !record_rights(user, deal.owner_id).edit {
            return Err(AppError::Forbidden);
        }
        let old = DealForm::of(&deal, &queries::contact_ids(conn, id)?);
        if deal.version != version {
            return Ok(Saved::Conflict(Box::new((deal, old))));
        }
        check_references(conn, input, Some(&deal))?;
        let new = input.as_form();
        if old == new {
            return Ok(Saved::Done);
        }
        let stage_changed = deal.stage_id != input.stage_id;
        let entered_at = if stage_changed {
            now
        } else {
            deal.stage_entered_at
        };
        let updated =
            diesel::update(deals::table.filter(deals::id.eq(id).and(deals::version.eq(version))))
                .set((
                    deals::title.eq(&input.title),
                    deals::value_minor.eq(input.value_minor),
                    deals::currency.eq(&input.currency),
                    deals::expected_close_on.eq(input.expected_close_on),
                    deals::owner_id.eq(input.owner_id),
                    deals::company_id.eq(input.company_id),
                    deals::pipeline_id.eq(input.pipeline_id),
                    deals::stage_id.eq(input.stage_id),
                    deals::source.eq(&input.source),
                    deals::stage_entered_at.eq(entered_at),
                    deals::updated_at.eq(now),
                    deals::version.eq(version + 1),
                ))
                .execute(conn)?;
        if updated == 0 {
            return Ok(Saved::Conflict(Box::new((deal, old))));
        }
        set_contacts(conn, id, &input.contact_ids)?;
        if stage_changed {
            record_step(
                conn,
                id,
                &Step {
                    from_stage_id: Some(deal.stage_id),
                    to_stage_id: input.stage_id,
                    from_status: Some(Status::Open),
                    to_status: Status::Open,
                },
                actor.user_id,
                now,
            )?;
        }
        let details = describe_changes(conn, &old, &new)?;
        audit::record(
            conn,
            now,
            actor,
            Action::RecordUpdated,
            Some(&target(id)),
            Some(&details),
        )?;
        Ok(Saved::Done)
    })
}

/// Where a deal is sent from the board or its page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// Another open stage of the same pipeline.
    Stage(i64),
    Won,
    /// Lost, for this (validated) reason.
    Lost(String),
    Reopen,
}

/// What a move did.
#[derive(Debug)]
pub struct Moved {
    /// The deal after the move.
    pub deal: Deal,
    /// The stage it was in before (the same for a win, a loss or a reopening).
    pub from_stage_id: i64,
    /// Whether anything changed (a drop on its own column changes nothing).
    pub changed: bool,
}

/// Moves a deal, if `user` may and nobody moved or edited it since `version`. Records the
/// journey row, the audit entry and, for wins, losses and reopenings, the timeline entries.
pub fn move_deal(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    id: i64,
    version: i32,
    to: &Move,
) -> Result<Moved, AppError> {
    db::write(conn, |conn| {
        let deal = queries::find(conn, id)?.or_not_found()?;
        if !record_rights(user, deal.owner_id).edit {
            return Err(AppError::Forbidden);
        }
        if deal.version != version {
            return Err(AppError::Conflict(MOVE_CONFLICT.to_owned()));
        }
        let status = deal.status();
        let refuse = |message: &str| Err(AppError::invalid(FieldErrors::FORM, message));
        let (step, action, details, timeline_body) = match to {
            Move::Stage(stage_id) => {
                if status != Status::Open {
                    return refuse("This deal is closed: reopen it before moving it.");
                }
                if *stage_id == deal.stage_id {
                    return Ok(Moved {
                        from_stage_id: deal.stage_id,
                        deal,
                        changed: false,
                    });
                }
                let stage = model::find_stage(conn, *stage_id)?;
                let Some(stage) = stage.filter(|stage| stage.pipeline_id == deal.pipeline_id)
                else {
                    return refuse("Choose a stage of this deal's pipeline.");
                };
                let from = model::stage_names(conn, &[deal.stage_id])?
                    .remove(&deal.stage_id)
                    .unwrap_or_default();
                (
                    Step {
                        from_stage_id: Some(deal.stage_id),
                        to_stage_id: stage.id,
                        from_status: Some(Status::Open),
                        to_status: Status::Open,
                    },
                    Action::DealMoved,
                    format!("stage: {from} → {}", stage.name),
                    None,
                )
            }
            Move::Won | Move::Lost(_) => {
                if status != Status::Open {
                    return refuse("This deal is already closed.");
                }
                let (to_status, action, details, body) = match to {
                    Move::Lost(reason) => (
                        Status::Lost,
                        Action::DealLost,
                        format!("lost: {reason}"),
                        format!("Deal lost: {}. Reason: {reason}", deal.title),
                    ),
                    _ => (
                        Status::Won,
                        Action::DealWon,
                        "won".to_owned(),
                        format!("Deal won: {}.", deal.title),
                    ),
                };
                (
                    Step {
                        from_stage_id: Some(deal.stage_id),
                        to_stage_id: deal.stage_id,
                        from_status: Some(Status::Open),
                        to_status,
                    },
                    action,
                    details,
                    Some(body),
                )
            }
            Move::Reopen => {
                if status == Status::Open {
                    return refuse("This deal is already open.");
                }
                (
                    Step {
                        from_stage_id: Some(deal.stage_id),
                        to_stage_id: deal.stage_id,
                        from_status: Some(status),
                        to_status: Status::Open,
                    },
                    Action::DealReopened,
                    format!("reopened (was {})", status.as_str()),
                    Some(format!("Deal reopened: {}.", deal.title)),
                )
            }
        };
        let entering = step.to_status == Status::Open;
        let lost_reason = match to {
            Move::Lost(reason) => Some(reason.as_str()),
            _ => None,
        };
        let closed_at = (!entering).then_some(now);
        let entered_at = if entering { now } else { deal.stage_entered_at };
        let updated =
            diesel::update(deals::table.filter(deals::id.eq(id).and(deals::version.eq(version))))
                .set((
                    deals::stage_id.eq(step.to_stage_id),
                    deals::status.eq(step.to_status.as_str()),
                    deals::lost_reason.eq(lost_reason),
                    deals::closed_at.eq(closed_at),
                    deals::stage_entered_at.eq(entered_at),
                    deals::updated_at.eq(now),
                    deals::version.eq(version + 1),
                ))
                .execute(conn)?;
        if updated == 0 {
            return Err(AppError::Conflict(MOVE_CONFLICT.to_owned()));
        }
        record_step(conn, id, &step, actor.user_id, now)?;
        audit::record(conn, now, actor, action, Some(&target(id)), Some(&details))?;
        if let Some(body) = timeline_body {
            let contact_ids = queries::contact_ids(conn, id)?;
            tell_customers(
                conn,
                id,
                deal.company_id,
                &contact_ids,
                actor.user_id,
                now,
                &body,
            )?;
        }
        let from_stage_id = deal.stage_id;
        let deal = queries::find(conn, id)?.or_not_found()?;
        Ok(Moved {
            deal,
            from_stage_id,
            changed: true,
        })
    })
}

/// Deletes a deal (admins only); its contacts links and journey go with it, timeline
/// entries stay without their link.
pub fn delete(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    user: &User,
    id: i64,
) -> Result<Deal, AppError> {
    db::write(conn, |conn| {
        let deal = queries::find(conn, id)?.or_not_found()?;
        if !record_rights(user, deal.owner_id).delete {
            return Err(AppError::Forbidden);
        }
        diesel::delete(deals::table.find(id)).execute(conn)?;
        audit::record(
            conn,
            now,
            actor,
            Action::RecordDeleted,
            Some(&target(id)),
            Some(&format!("title: {}", deal.title)),
        )?;
        Ok(deal)
    })
}
