//! Changing leads. Every write checks the user's rights on the lead, runs in one
//! transaction, and in that transaction writes the audit log, the lead's timeline and its
//! new score: a change that moves the score is scored in the same request.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Lead, LeadInput, Status};
use super::queries;
use super::scoring::{self, engine::Points};
use crate::audit::{self, Action, Actor};
use crate::auth::model::User;
use crate::auth::policy::{Permission, record_rights};
use crate::contacts::timeline::{self, Kind, NewEntry};
use crate::db::schema::{lead_adjustments, leads, users};
use crate::db::{self, Conn};
use crate::error::{AppError, FieldErrors, OrNotFound};

const MAX_REASON: usize = 200;

fn target(id: i64) -> String {
    format!("lead {id}")
}

fn check_owner(
    conn: &mut Conn,
    owner_id: Option<i64>,
    current: Option<i64>,
) -> Result<(), AppError> {
    if let Some(owner_id) = owner_id
        && current != Some(owner_id)
    {
        let active: i64 = users::table
            .filter(users::id.eq(owner_id))
            .filter(users::active.eq(true))
            .count()
            .get_result(conn)?;
        if active == 0 {
            return Err(AppError::invalid(
                "owner_id",
                "Choose an active user as the owner.",
            ));
        }
    }
    Ok(())
}

fn write_fields(
    conn: &mut Conn,
    id: i64,
    input: &LeadInput,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(leads::table.find(id))
        .set((
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
            leads::source.eq(input.source.as_str()),
            leads::owner_id.eq(input.owner_id),
            leads::updated_at.eq(now),
        ))
        .execute(conn)?;
    queries::set_tags(conn, id, &input.tags)
}

fn change_entry(
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
            ..NewEntry::system(Kind::Change, now, body)
        },
    )
}

/// Creates a lead (sales reps and admins) and scores it.
pub fn create(
    conn: &mut Conn,
    user: &User,
    actor: &Actor,
    input: &LeadInput,
    now: NaiveDateTime,
) -> Result<i64, AppError> {
    if !user.role.can(Permission::CreateCustomers) {
        return Err(AppError::Forbidden);
    }
    db::write(conn, |conn| {
        check_owner(conn, input.owner_id, None)?;
        // A new lead starts in the lowest grade, so that a first score above it is recorded
        // as crossing into its grade.
        let lowest = scoring::rules::grades(conn)?.lowest().to_owned();
        let id: i64 = diesel::insert_into(leads::table)
            .values((
                leads::grade.eq(lowest),
                leads::first_name.eq(&input.first_name),
                leads::last_name.eq(&input.last_name),
                leads::source.eq(input.source.as_str()),
                leads::status.eq(input.status.as_str()),
                leads::created_at.eq(now),
                leads::updated_at.eq(now),
            ))
            .returning(leads::id)
            .get_result(conn)?;
        write_fields(conn, id, input, now)?;
        crate::search::index_lead(conn, id)?;
        change_entry(conn, id, actor, now, "Lead created")?;
        audit::record(
            conn,
            now,
            actor,
            Action::RecordCreated,
            Some(&target(id)),
            None,
        )?;
        scoring::rescore(conn, id, now, "lead created")?;
        super::assignment::assign_if_unowned(conn, id, now)?;
        Ok(id)
    })
}

/// Saves an edit made on `version`; a lead changed meanwhile is a conflict.
pub fn update(
    conn: &mut Conn,
    user: &User,
    actor: &Actor,
    id: i64,
    version: i32,
    input: &LeadInput,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    db::write(conn, |conn| {
        let lead = queries::find(conn, id)?.or_not_found()?;
        if !record_rights(user, lead.owner_id).edit {
            return Err(AppError::Forbidden);
        }
        if lead.version != version {
            return Err(AppError::Conflict(
                "Someone else changed this lead while you were editing it. Their changes are shown below; review them and save again.".to_owned(),
            ));
        }
        check_owner(conn, input.owner_id, lead.owner_id)?;
        write_fields(conn, id, input, now)?;
        crate::search::index_lead(conn, id)?;
        let status_changed = lead.status != input.status.as_str() && lead.status != "converted";
        diesel::update(leads::table.find(id))
            .set(leads::version.eq(version + 1))
            .execute(conn)?;
        if status_changed {
            set_status_row(conn, id, input.status, now)?;
            change_entry(
                conn,
                id,
                actor,
                now,
                &format!(
                    "Status: {} → {}",
                    Status::label_of(&lead.status),
                    input.status.label()
                ),
            )?;
        }
        change_entry(conn, id, actor, now, "Lead details changed")?;
        audit::record(
            conn,
            now,
            actor,
            Action::RecordUpdated,
            Some(&target(id)),
            None,
        )?;
        scoring::rescore(conn, id, now, "lead details changed")?;
        Ok(())
    })
}

fn set_status_row(
    conn: &mut Conn,
    id: i64,
    status: Status,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(leads::table.find(id))
        .set((leads::status.eq(status.as_str()), leads::updated_at.eq(now)))
        .execute(conn)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkAction {
    Assign(Option<i64>),
    SetStatus(Status),
}

/// Applies `action` to the selected leads the user may edit; returns (changed, skipped).
pub fn bulk(
    conn: &mut Conn,
    user: &User,
    actor: &Actor,
    ids: &[i64],
    action: &BulkAction,
    now: NaiveDateTime,
) -> Result<(usize, usize), AppError> {
    db::write(conn, |conn| {
        if let BulkAction::Assign(owner_id) = action {
            check_owner(conn, *owner_id, None)?;
        }
        let selected: Vec<Lead> = leads::table
            .filter(leads::id.eq_any(ids))
            .select(Lead::as_select())
            .load(conn)?;
        let mut changed = 0;
        for lead in &selected {
            if !record_rights(user, lead.owner_id).edit || lead.status == "converted" {
                continue;
            }
            let body = match action {
                BulkAction::Assign(owner_id) => {
                    diesel::update(leads::table.find(lead.id))
                        .set((
                            leads::owner_id.eq(owner_id),
                            leads::updated_at.eq(now),
                            leads::version.eq(lead.version + 1),
                        ))
                        .execute(conn)?;
                    "Owner changed".to_owned()
                }
                BulkAction::SetStatus(status) => {
                    if lead.status == status.as_str() {
                        continue;
                    }
                    set_status_row(conn, lead.id, *status, now)?;
                    diesel::update(leads::table.find(lead.id))
                        .set(leads::version.eq(lead.version + 1))
                        .execute(conn)?;
                    format!(
                        "Status: {} → {}",
                        Status::label_of(&lead.status),
                        status.label()
                    )
                }
            };
            change_entry(conn, lead.id, actor, now, &body)?;
            audit::record(
                conn,
                now,
                actor,
                Action::RecordUpdated,
                Some(&target(lead.id)),
                Some(&body),
            )?;
            scoring::rescore(conn, lead.id, now, &body.to_lowercase())?;
            changed += 1;
        }
        Ok((changed, ids.len() - changed))
    })
}

/// A rep's manual adjustment of a lead's score, with the reason shown in the breakdown.
/// Rights come first: someone who may not edit the lead gets a 403 whatever they typed.
pub fn adjust_score(
    conn: &mut Conn,
    user: &User,
    actor: &Actor,
    id: i64,
    points_raw: &str,
    reason_raw: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    db::write(conn, |conn| {
        let lead = queries::find(conn, id)?.or_not_found()?;
        if !record_rights(user, lead.owner_id).edit {
            return Err(AppError::Forbidden);
        }
        let (points, reason) = adjustment(points_raw, reason_raw)?;
        diesel::insert_into(lead_adjustments::table)
            .values((
                lead_adjustments::lead_id.eq(id),
                lead_adjustments::points.eq(points.0),
                lead_adjustments::reason.eq(&reason),
                lead_adjustments::author_id.eq(user.id),
                lead_adjustments::created_at.eq(now),
            ))
            .execute(conn)?;
        let body = format!("Score adjusted by {points}: {reason}");
        change_entry(conn, id, actor, now, &body)?;
        audit::record(
            conn,
            now,
            actor,
            Action::RecordUpdated,
            Some(&target(id)),
            Some(&body),
        )?;
        scoring::rescore(conn, id, now, "manual adjustment")?;
        Ok(())
    })
}

/// The points (not zero) and the one-line reason of an adjustment, or what is wrong.
fn adjustment(points_raw: &str, reason_raw: &str) -> Result<(Points, String), AppError> {
    let mut errors = FieldErrors::new();
    let points = errors.take(
        "adjust_points",
        Points::parse(points_raw).and_then(|points| {
            if points.0 == 0 {
                Err("Enter the points to add or take away, like 10 or -5.".to_owned())
            } else {
                Ok(points)
            }
        }),
    );
    let reason = reason_raw.trim();
    if reason.is_empty() {
        errors.add("adjust_reason", "Say why the score is adjusted.");
    } else if reason.chars().count() > MAX_REASON || reason.chars().any(char::is_control) {
        errors.add(
            "adjust_reason",
            format!("Keep the reason to one line of at most {MAX_REASON} characters."),
        );
    }
    errors.into_result()?;
    let Some(points) = points else {
        return Err(AppError::invalid("adjust_points", "Enter the points."));
    };
    Ok((points, reason.to_owned()))
}
