//! Task queries. Every list walks an index: `tasks_by_assignee` and `tasks_done_by_assignee`
//! (mine), `tasks_by_creator` (created by me), `tasks_by_due` and `tasks_done` (everyone's),
//! `tasks_by_contact|company|deal` and `tasks_by_lead` (panels) and `tasks_due_for_reminder`
//! (the sweep). Linked records' names and the assignee's name come in the same query.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::Task;
use super::panel::Linked;
use crate::db::Conn;
use crate::db::schema::{companies, contacts, deals, leads, tasks, users};

/// Whose tasks a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Assigned to this user.
    AssignedTo(i64),
    /// Created by this user for someone else.
    CreatedBy(i64),
    Everyone,
}

/// A task with what a list shows beside it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub task: Task,
    pub assignee_name: String,
    /// The linked contact's, company's, deal's or lead's name.
    pub record_name: Option<String>,
}

type Row = (
    Task,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn person(first: Option<String>, last: Option<String>) -> Option<String> {
    match (first, last) {
        (Some(first), Some(last)) => Some(format!("{first} {last}").trim().to_owned()),
        _ => None,
    }
}

fn listed(row: Row) -> Listed {
    let (task, assignee_name, first, last, company, deal, lead_first, lead_last) = row;
    // The same order as `Task::linked`: a converted lead's task shows its contact.
    let record_name = person(first, last)
        .or(company)
        .or(deal)
        // A lead known only by its email has no name: the list says "Lead 12".
        .or_else(|| person(lead_first, lead_last).filter(|name| !name.is_empty()));
    Listed {
        task,
        assignee_name,
        record_name,
    }
}

/// Tasks joined to their assignee and linked record, boxed so filters can be added.
macro_rules! listed_query {
    () => {
        tasks::table
            .inner_join(users::table.on(users::id.eq(tasks::assignee_id)))
            .left_join(contacts::table.on(contacts::id.nullable().eq(tasks::contact_id)))
            .left_join(companies::table.on(companies::id.nullable().eq(tasks::company_id)))
            .left_join(deals::table.on(deals::id.nullable().eq(tasks::deal_id)))
            .left_join(leads::table.on(leads::id.nullable().eq(tasks::lead_id)))
            .select((
                Task::as_select(),
                users::display_name,
                contacts::first_name.nullable(),
                contacts::last_name.nullable(),
                companies::name.nullable(),
                deals::title.nullable(),
                leads::first_name.nullable(),
                leads::last_name.nullable(),
            ))
            .into_boxed()
    };
}

macro_rules! in_scope {
    ($query:expr, $scope:expr) => {
        match $scope {
            Scope::AssignedTo(user_id) => $query.filter(tasks::assignee_id.eq(user_id)),
            Scope::CreatedBy(user_id) => $query
                .filter(tasks::created_by.eq(user_id))
                .filter(tasks::assignee_id.ne(user_id)),
            Scope::Everyone => $query,
        }
    };
}

/// A keyset position in a list: (the time the list is ordered by, id).
pub type Cursor = (NaiveDateTime, i64);

/// Open tasks due in `[from, before)` (either end open), soonest first, after `after`.
pub fn open(
    conn: &mut Conn,
    scope: Scope,
    from: Option<NaiveDateTime>,
    before: Option<NaiveDateTime>,
    after: Option<Cursor>,
    limit: i64,
) -> QueryResult<Vec<Listed>> {
    let mut query = in_scope!(listed_query!(), scope).filter(tasks::completed_at.is_null());
    if let Some(from) = from {
        query = query.filter(tasks::due_at.ge(from));
    }
    if let Some(before) = before {
        query = query.filter(tasks::due_at.lt(before));
    }
    if let Some((due_at, id)) = after {
        // The plain bound keeps this a range on the index; the rest settles ties.
        query = query
            .filter(tasks::due_at.ge(due_at))
            .filter(tasks::due_at.gt(due_at).or(tasks::id.gt(id)));
    }
    query
        .order((tasks::due_at.asc(), tasks::id.asc()))
        .limit(limit)
        .load::<Row>(conn)
        .map(|rows| rows.into_iter().map(listed).collect())
}

/// Completed tasks, most recently completed first, before `before`.
pub fn done(
    conn: &mut Conn,
    scope: Scope,
    before: Option<Cursor>,
    limit: i64,
) -> QueryResult<Vec<Listed>> {
    let mut query = in_scope!(listed_query!(), scope).filter(tasks::completed_at.is_not_null());
    if let Some((completed_at, id)) = before {
        query = query
            .filter(tasks::completed_at.le(completed_at))
            .filter(tasks::completed_at.lt(completed_at).or(tasks::id.lt(id)));
    }
    query
        .order((tasks::completed_at.desc(), tasks::id.desc()))
        .limit(limit)
        .load::<Row>(conn)
        .map(|rows| rows.into_iter().map(listed).collect())
}

/// The tasks linked to one record: open ones soonest first, or done ones latest first.
pub fn linked_to(
    conn: &mut Conn,
    record: Linked,
    completed: bool,
    limit: i64,
) -> QueryResult<Vec<Listed>> {
    let mut query = listed_query!();
    query = match record {
        Linked::Contact(id) => query.filter(tasks::contact_id.eq(id)),
        Linked::Company(id) => query.filter(tasks::company_id.eq(id)),
        Linked::Deal(id) => query.filter(tasks::deal_id.eq(id)),
        Linked::Lead(id) => query.filter(tasks::lead_id.eq(id)),
    };
    query = if completed {
        query
            .filter(tasks::completed_at.is_not_null())
            .order((tasks::completed_at.desc(), tasks::id.desc()))
    } else {
        query
            .filter(tasks::completed_at.is_null())
            .order((tasks::due_at.asc(), tasks::id.asc()))
    };
    query
        .limit(limit)
        .load::<Row>(conn)
        .map(|rows| rows.into_iter().map(listed).collect())
}

/// How many open tasks assigned to `user_id` are past due at `now` (on `tasks_by_assignee`).
pub fn overdue_count(conn: &mut Conn, user_id: i64, now: NaiveDateTime) -> QueryResult<i64> {
    tasks::table
        .filter(tasks::assignee_id.eq(user_id))
        .filter(tasks::completed_at.is_null())
        .filter(tasks::due_at.lt(now))
        .count()
        .get_result(conn)
}

pub fn find(conn: &mut Conn, id: i64) -> QueryResult<Option<Task>> {
    tasks::table
        .find(id)
        .select(Task::as_select())
        .first(conn)
        .optional()
}

/// The people a task can be assigned to: every active user, by name.
pub fn possible_assignees(conn: &mut Conn) -> QueryResult<Vec<(i64, String)>> {
    users::table
        .filter(users::active.eq(true))
        .order((users::display_name.asc(), users::id.asc()))
        .select((users::id, users::display_name))
        .load(conn)
}

pub fn is_active_user(conn: &mut Conn, id: i64) -> QueryResult<bool> {
    let found: i64 = users::table
        .filter(users::id.eq(id).and(users::active.eq(true)))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// The name of a record a task may link to, or `None` when it does not exist.
pub fn record_name(conn: &mut Conn, record: Linked) -> QueryResult<Option<String>> {
    match record {
        Linked::Contact(id) => contacts::table
            .find(id)
            .select((contacts::first_name, contacts::last_name))
            .first::<(String, String)>(conn)
            .optional()
            .map(|found| found.map(|(first, last)| format!("{first} {last}").trim().to_owned())),
        Linked::Company(id) => companies::table
            .find(id)
            .select(companies::name)
            .first(conn)
            .optional(),
        Linked::Deal(id) => deals::table
            .find(id)
            .select(deals::title)
            .first(conn)
            .optional(),
        Linked::Lead(id) => leads::table
            .find(id)
            .select((leads::first_name, leads::last_name))
            .first::<(String, String)>(conn)
            .optional()
            .map(|found| {
                found.map(|(first, last)| {
                    let name = format!("{first} {last}").trim().to_owned();
                    if name.is_empty() {
                        format!("Lead {id}")
                    } else {
                        name
                    }
                })
            }),
    }
}

/// The company a linked record belongs to (a contact's company, a deal's company), so a
/// task's timeline entry also shows there. A lead has none yet (only a company name).
pub fn company_of(conn: &mut Conn, record: Linked) -> QueryResult<Option<i64>> {
    match record {
        Linked::Contact(id) => contacts::table
            .find(id)
            .select(contacts::company_id)
            .first::<Option<i64>>(conn)
            .optional()
            .map(Option::flatten),
        Linked::Company(id) => Ok(Some(id)),
        Linked::Deal(id) => deals::table
            .find(id)
            .select(deals::company_id)
            .first::<Option<i64>>(conn)
            .optional()
            .map(Option::flatten),
        Linked::Lead(_) => Ok(None),
    }
}
