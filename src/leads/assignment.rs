//! Assignment of new leads: unowned new leads go round-robin to the chosen sales reps, per
//! source or grade when an admin set up such a rotation, else through the default one. Each
//! assignment creates a "first contact" task and emails the rep once.
//!
//! The rotation pointer (`lead_rotations.last_user_id`) lives in the database and moves in
//! the lead's own write transaction, so several instances and restarts share one turn.

use askama::Template;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::model::{Lead, Source};
use super::queries;
use crate::audit::{self, Action, Actor};
use crate::contacts::timeline::{self, Kind, NewEntry};
use crate::db::schema::{
    lead_assignment_settings, lead_assignments, lead_rotation_members, lead_rotations, leads,
    tasks, users,
};
use crate::db::{self, Conn};
use crate::email::{Mailer, NewEmail, SystemMessage};
use crate::error::AppError;
use crate::web::format;

pub mod admin;

/// Used when the settings row is missing.
pub const DEFAULT_FIRST_CONTACT_HOURS: i32 = 4;
pub const MAX_FIRST_CONTACT_HOURS: i32 = 720;
/// Assignments looked at per round of the email sweep.
const EMAIL_BATCH: i64 = 100;

/// Whether round-robin is on, and when the first-contact task falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub enabled: bool,
    pub first_contact_hours: i32,
}

pub fn settings(conn: &mut Conn) -> QueryResult<Settings> {
    let row: Option<(bool, i32)> = lead_assignment_settings::table
        .find(1)
        .select((
            lead_assignment_settings::enabled,
            lead_assignment_settings::first_contact_hours,
        ))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((enabled, first_contact_hours)) => Settings {
            enabled,
            first_contact_hours,
        },
        None => Settings {
            enabled: false,
            first_contact_hours: DEFAULT_FIRST_CONTACT_HOURS,
        },
    })
}

pub fn save_settings(conn: &mut Conn, settings: Settings, now: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(lead_assignment_settings::table)
        .values((
            lead_assignment_settings::id.eq(1),
            lead_assignment_settings::enabled.eq(settings.enabled),
            lead_assignment_settings::first_contact_hours.eq(settings.first_contact_hours),
            lead_assignment_settings::updated_at.eq(now),
        ))
        .on_conflict(lead_assignment_settings::id)
        .do_update()
        .set((
            lead_assignment_settings::enabled.eq(settings.enabled),
            lead_assignment_settings::first_contact_hours.eq(settings.first_contact_hours),
            lead_assignment_settings::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// What a rotation is for: every lead (the default), or the leads of one source or grade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Default,
    Source(Source),
    Grade(String),
}

impl Scope {
    fn of(field: Option<&str>, value: Option<&str>) -> Option<Self> {
        match (field, value) {
            (None, _) => Some(Scope::Default),
            (Some("source"), Some(value)) => Source::parse(value).ok().map(Scope::Source),
            (Some("grade"), Some(value)) => Some(Scope::Grade(value.to_owned())),
            _ => None,
        }
    }

    pub fn columns(&self) -> (Option<&'static str>, Option<String>) {
        match self {
            Scope::Default => (None, None),
            Scope::Source(source) => (Some("source"), Some(source.as_str().to_owned())),
            Scope::Grade(grade) => (Some("grade"), Some(grade.clone())),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Scope::Default => "Every other lead".to_owned(),
            Scope::Source(source) => format!("Source is {}", source.label()),
            Scope::Grade(grade) => format!("Grade is {grade}"),
        }
    }

    fn matches(&self, lead: &Lead) -> bool {
        match self {
            Scope::Default => true,
            Scope::Source(source) => lead.source == source.as_str(),
            Scope::Grade(grade) => lead.grade.eq_ignore_ascii_case(grade),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rotation {
    pub id: i64,
    pub scope: Scope,
    pub last_user_id: Option<i64>,
}

/// (id, match_field, match_value, last_user_id)
type RotationRow = (i64, Option<String>, Option<String>, Option<i64>);

/// Every rotation in the order they are tried: rules by position, the default last.
pub fn rotations(conn: &mut Conn) -> QueryResult<Vec<Rotation>> {
    let rows: Vec<RotationRow> = lead_rotations::table
        .order((
            lead_rotations::match_field.is_null().asc(),
            lead_rotations::position.asc(),
            lead_rotations::id.asc(),
        ))
        .select((
            lead_rotations::id,
            lead_rotations::match_field,
            lead_rotations::match_value,
            lead_rotations::last_user_id,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, field, value, last_user_id)| {
            Scope::of(field.as_deref(), value.as_deref()).map(|scope| Rotation {
                id,
                scope,
                last_user_id,
            })
        })
        .collect())
}

/// The default rotation's id, created if an admin's edits lost it.
pub fn default_rotation(conn: &mut Conn, now: NaiveDateTime) -> QueryResult<i64> {
    let found: Option<i64> = lead_rotations::table
        .filter(lead_rotations::match_field.is_null())
        .order(lead_rotations::id.asc())
        .select(lead_rotations::id)
        .first(conn)
        .optional()?;
    match found {
        Some(id) => Ok(id),
        None => diesel::insert_into(lead_rotations::table)
            .values((
                lead_rotations::position.eq(0),
                lead_rotations::created_at.eq(now),
                lead_rotations::updated_at.eq(now),
            ))
            .returning(lead_rotations::id)
            .get_result(conn),
    }
}

/// The roles that may be in a rotation.
pub const ELIGIBLE_ROLES: [&str; 2] = ["sales", "admin"];

/// The members of a rotation who can take leads now (active sales reps and admins), in turn
/// order.
pub fn active_members(conn: &mut Conn, rotation_id: i64) -> QueryResult<Vec<i64>> {
    lead_rotation_members::table
        .inner_join(users::table)
        .filter(lead_rotation_members::rotation_id.eq(rotation_id))
        .filter(users::active.eq(true))
        .filter(users::role.eq_any(ELIGIBLE_ROLES))
        .order(users::id.asc())
        .select(users::id)
        .load(conn)
}

/// Every member of a rotation, active or not.
pub fn members(conn: &mut Conn, rotation_id: i64) -> QueryResult<Vec<i64>> {
    lead_rotation_members::table
        .filter(lead_rotation_members::rotation_id.eq(rotation_id))
        .order(lead_rotation_members::user_id.asc())
        .select(lead_rotation_members::user_id)
        .load(conn)
}

pub fn set_members(conn: &mut Conn, rotation_id: i64, user_ids: &[i64]) -> QueryResult<()> {
    diesel::delete(
        lead_rotation_members::table.filter(lead_rotation_members::rotation_id.eq(rotation_id)),
    )
    .execute(conn)?;
    for user_id in user_ids {
        diesel::insert_into(lead_rotation_members::table)
            .values((
                lead_rotation_members::rotation_id.eq(rotation_id),
                lead_rotation_members::user_id.eq(user_id),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    Ok(())
}

/// The member whose turn it is after `last`: the next one by id, wrapping round. Members
/// who left (or were deactivated) simply drop out of the turn.
pub fn next_in_turn(members: &[i64], last: Option<i64>) -> Option<i64> {
    let after = last.unwrap_or(i64::MIN);
    members
        .iter()
        .copied()
        .find(|&id| id > after)
        .or_else(|| members.first().copied())
}

/// The rotation for `lead` with someone to take it, and that someone.
fn pick(conn: &mut Conn, lead: &Lead) -> QueryResult<Option<(Rotation, i64)>> {
    for rotation in rotations(conn)? {
        if !rotation.scope.matches(lead) {
            continue;
        }
        let members = active_members(conn, rotation.id)?;
        if let Some(user_id) = next_in_turn(&members, rotation.last_user_id) {
            return Ok(Some((rotation, user_id)));
        }
    }
    Ok(None)
}

fn assigner() -> Actor {
    Actor {
        user_id: None,
        label: "round-robin".to_owned(),
        address: None,
    }
}

pub fn first_contact_title(lead: &Lead) -> String {
    let title = format!("First contact: {}", lead.name());
    title
        .chars()
        .take(crate::tasks::model::MAX_TITLE_LENGTH)
        .collect()
}

/// Gives an unowned new lead to the next rep in the rotation, in the caller's transaction;
/// returns the new owner, or None when the lead has one or no rotation applies.
pub fn assign_if_unowned(
    conn: &mut Conn,
    lead_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    let settings = settings(conn)?;
    if !settings.enabled {
        return Ok(None);
    }
    let Some(lead) = queries::find(conn, lead_id)? else {
        return Ok(None);
    };
    if lead.owner_id.is_some() || lead.converted_at.is_some() {
        return Ok(None);
    }
    let Some((rotation, user_id)) = pick(conn, &lead)? else {
        return Ok(None);
    };
    let claimed = diesel::update(
        leads::table
            .filter(leads::id.eq(lead_id))
            .filter(leads::owner_id.is_null()),
    )
    .set((leads::owner_id.eq(user_id), leads::updated_at.eq(now)))
    .execute(conn)?;
    if claimed == 0 {
        return Ok(None);
    }
    diesel::update(lead_rotations::table.find(rotation.id))
        .set(lead_rotations::last_user_id.eq(user_id))
        .execute(conn)?;

    let due_at = now + Duration::hours(i64::from(settings.first_contact_hours));
    let task_id: i64 = diesel::insert_into(tasks::table)
        .values((
            tasks::title.eq(first_contact_title(&lead)),
            tasks::due_at.eq(due_at),
            tasks::assignee_id.eq(user_id),
            tasks::created_by.eq(None::<i64>),
            tasks::lead_id.eq(Some(lead_id)),
            tasks::reminder_queued_at.eq(crate::tasks::service::reminder_for_new(due_at, now)),
            tasks::created_at.eq(now),
            tasks::updated_at.eq(now),
            tasks::version.eq(1),
        ))
        .returning(tasks::id)
        .get_result(conn)?;
    diesel::insert_into(lead_assignments::table)
        .values((
            lead_assignments::lead_id.eq(lead_id),
            lead_assignments::user_id.eq(user_id),
            lead_assignments::rotation_id.eq(rotation.id),
            lead_assignments::task_id.eq(task_id),
            lead_assignments::assigned_at.eq(now),
        ))
        .on_conflict(lead_assignments::lead_id)
        .do_update()
        .set((
            lead_assignments::user_id.eq(user_id),
            lead_assignments::rotation_id.eq(rotation.id),
            lead_assignments::task_id.eq(task_id),
            lead_assignments::assigned_at.eq(now),
        ))
        .execute(conn)?;

    let rep: String = users::table
        .find(user_id)
        .select(users::display_name)
        .first(conn)?;
    let body = format!(
        "Assigned to {rep} by round-robin ({}); first contact due within {} hours.",
        rotation.scope.describe().to_lowercase(),
        settings.first_contact_hours
    );
    timeline::add(
        conn,
        &NewEntry {
            lead_id: Some(lead_id),
            ..NewEntry::system(Kind::Change, now, &body)
        },
    )?;
    audit::record(
        conn,
        now,
        &assigner(),
        Action::RecordUpdated,
        Some(&format!("lead {lead_id}")),
        Some(&format!(
            "owner: (empty) → {rep} (round-robin); task {task_id}"
        )),
    )?;
    Ok(Some(user_id))
}

#[derive(Template)]
#[template(path = "email/messages/lead_assigned.txt")]
pub struct LeadAssignedEmail<'a> {
    pub name: &'a str,
    pub lead_name: &'a str,
    pub company: Option<&'a str>,
    pub source: &'a str,
    pub grade: &'a str,
    pub due: &'a str,
    pub lead_link: &'a str,
}

impl SystemMessage for LeadAssignedEmail<'_> {
    fn subject(&self) -> String {
        format!("New lead for you: {}", self.lead_name)
    }
}

/// Queues the email of every assignment that has not had one; returns how many were queued.
/// Run by the email worker on every poll; each email is claimed with a conditional update in
/// the transaction that queues it, and keyed `lead-assigned-{lead_id}`, so it goes out once.
pub fn queue_emails(
    conn: &mut Conn,
    now: NaiveDateTime,
    mailer: &Mailer,
) -> Result<usize, AppError> {
    let mut queued = 0;
    loop {
        let pending: Vec<i64> = lead_assignments::table
            .filter(lead_assignments::email_queued_at.is_null())
            .order(lead_assignments::assigned_at.asc())
            .select(lead_assignments::lead_id)
            .limit(EMAIL_BATCH)
            .load(conn)?;
        for &lead_id in &pending {
            if db::write(conn, |conn| notify(conn, now, mailer, lead_id))? {
                queued += 1;
            }
        }
        if (pending.len() as i64) < EMAIL_BATCH {
            return Ok(queued);
        }
    }
}

fn notify(
    conn: &mut Conn,
    now: NaiveDateTime,
    mailer: &Mailer,
    lead_id: i64,
) -> Result<bool, AppError> {
    let claimed = diesel::update(
        lead_assignments::table
            .filter(lead_assignments::lead_id.eq(lead_id))
            .filter(lead_assignments::email_queued_at.is_null()),
    )
    .set(lead_assignments::email_queued_at.eq(now))
    .execute(conn)?;
    if claimed == 0 {
        return Ok(false);
    }
    let Some((user_id, task_id)) = lead_assignments::table
        .find(lead_id)
        .select((lead_assignments::user_id, lead_assignments::task_id))
        .first::<(i64, Option<i64>)>(conn)
        .optional()?
    else {
        return Ok(false);
    };
    let Some(lead) = queries::find(conn, lead_id)? else {
        return Ok(false);
    };
    let Some((email, name, active, time_zone)) = users::table
        .find(user_id)
        .select((
            users::email,
            users::display_name,
            users::active,
            users::time_zone,
        ))
        .first::<(String, String, bool, String)>(conn)
        .optional()?
    else {
        return Ok(false);
    };
    if !active {
        return Ok(false);
    }
    let tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    let due_at = match task_id {
        Some(task_id) => tasks::table
            .find(task_id)
            .select(tasks::due_at)
            .first::<NaiveDateTime>(conn)
            .optional()?,
        None => None,
    };
    let due = due_at.map_or_else(|| "soon".to_owned(), |at| format::datetime(at, tz));
    let lead_name = lead.name();
    let message = LeadAssignedEmail {
        name: &name,
        lead_name: &lead_name,
        company: lead.company_name.as_deref(),
        source: Source::label_of(&lead.source),
        grade: &lead.grade,
        due: &due,
        lead_link: &mailer.link(&format!("/leads/{lead_id}")),
    };
    let body = message
        .render()
        .map_err(|err| AppError::internal(format!("email template failed: {err}")))?;
    mailer.queue(
        conn,
        now,
        &NewEmail {
            to: email,
            subject: message.subject(),
            body,
            idempotency_key: Some(format!("lead-assigned-{lead_id}")),
        },
    )?;
    Ok(true)
}

/// The users an admin may put in a rotation: active sales reps and admins, by name.
pub fn eligible_users(conn: &mut Conn) -> QueryResult<Vec<(i64, String, String)>> {
    users::table
        .filter(users::active.eq(true))
        .filter(users::role.eq_any(ELIGIBLE_ROLES))
        .order((users::display_name.asc(), users::id.asc()))
        .select((users::id, users::display_name, users::role))
        .load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_turn_goes_to_the_next_member_and_wraps_round() {
        let members = [3, 5, 9];
        assert_eq!(next_in_turn(&members, None), Some(3));
        assert_eq!(next_in_turn(&members, Some(3)), Some(5));
        assert_eq!(next_in_turn(&members, Some(9)), Some(3));
        assert_eq!(
            next_in_turn(&members, Some(4)),
            Some(5),
            "a member who left"
        );
        assert_eq!(next_in_turn(&[], Some(4)), None);
    }
}
