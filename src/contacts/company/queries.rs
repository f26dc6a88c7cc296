//! Reading companies: one by id, and the filtered, keyset-paged list.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Integer, Text};
use diesel::sqlite::Sqlite;

use super::model::Company;
use crate::db::Conn;
use crate::db::schema::{companies, company_tags, contacts, users};
use crate::search;

pub const PAGE_SIZE: i64 = 50;

pub fn find(conn: &mut Conn, id: i64) -> QueryResult<Option<Company>> {
    companies::table
        .find(id)
        .select(Company::as_select())
        .first(conn)
        .optional()
}

pub use crate::contacts::list::{Cursor, Sort};

/// Which companies the list shows. Every filter is served by an index or by the
/// order's index.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub owner_id: Option<i64>,
    /// The tag's id; `Some(None)` for a tag that does not exist (nothing matches).
    pub tag_id: Option<Option<i64>>,
    /// An FTS5 query from `search::fts_query`.
    pub fts: Option<String>,
    /// Archived companies instead of active ones.
    pub archived: bool,
    pub created_from: Option<NaiveDateTime>,
    pub created_before: Option<NaiveDateTime>,
    /// No activity since this time (or never).
    pub inactive_since: Option<NaiveDateTime>,
}

type Boxed<'a> = companies::BoxedQuery<'a, Sqlite>;

fn filtered<'a>(filter: &Filter) -> Boxed<'a> {
    let mut query = companies::table.into_boxed();
    query = if filter.archived {
        query.filter(companies::archived_at.is_not_null())
    } else {
        query.filter(companies::archived_at.is_null())
    };
    if let Some(owner_id) = filter.owner_id {
        query = query.filter(companies::owner_id.eq(owner_id));
    }
    match filter.tag_id {
        Some(Some(tag_id)) => {
            // A primary-key probe per candidate row: the list keeps walking its sort index.
            query = query.filter(diesel::dsl::exists(
                company_tags::table.filter(
                    company_tags::company_id
                        .eq(companies::id)
                        .and(company_tags::tag_id.eq(tag_id)),
                ),
            ));
        }
        Some(None) => query = query.filter(sql::<Bool>("0")),
        None => {}
    }
    if let Some(fts) = &filter.fts {
        query = query.filter(search::companies_matching(fts.clone()));
    }
    if let Some(from) = filter.created_from {
        query = query.filter(companies::created_at.ge(from));
    }
    if let Some(before) = filter.created_before {
        query = query.filter(companies::created_at.lt(before));
    }
    if let Some(since) = filter.inactive_since {
        query = query.filter(
            companies::last_activity_at
                .is_null()
                .or(companies::last_activity_at.lt(since)),
        );
    }
    query
}

fn ordered<'a>(mut query: Boxed<'a>, sort: Sort, after: Option<&Cursor>) -> Boxed<'a> {
    match (sort, after) {
        (Sort::Name, Some(Cursor::Name(name, id))) => {
            query = query.filter(
                companies::sort_name
                    .gt(name.clone())
                    .or(companies::sort_name
                        .eq(name.clone())
                        .and(companies::id.gt(*id))),
            );
        }
        (Sort::Created, Some(Cursor::Created(at, id))) => {
            query = query.filter(
                companies::created_at
                    .lt(*at)
                    .or(companies::created_at.eq(*at).and(companies::id.lt(*id))),
            );
        }
        (Sort::Activity, Some(Cursor::Activity(Some(at), id))) => {
            query = query.filter(
                companies::last_activity_at
                    .lt(*at)
                    .or(companies::last_activity_at
                        .eq(*at)
                        .and(companies::id.lt(*id)))
                    .or(companies::last_activity_at.is_null()),
            );
        }
        (Sort::Activity, Some(Cursor::Activity(None, id))) => {
            query = query.filter(
                companies::last_activity_at
                    .is_null()
                    .and(companies::id.lt(*id)),
            );
        }
        _ => {}
    }
    match sort {
        Sort::Name => query.order((companies::sort_name.asc(), companies::id.asc())),
        Sort::Created => query.order((companies::created_at.desc(), companies::id.desc())),
        Sort::Activity => query.order((companies::last_activity_at.desc(), companies::id.desc())),
    }
}

/// One page of the list: up to `limit` companies after `after`, in the order `sort`.
pub fn list(
    conn: &mut Conn,
    filter: &Filter,
    sort: Sort,
    after: Option<&Cursor>,
    limit: i64,
) -> QueryResult<Vec<Company>> {
    ordered(filtered(filter), sort, after)
        .select(Company::as_select())
        .limit(limit)
        .load(conn)
}

/// `EXPLAIN QUERY PLAN` in front of a query, its binds kept.
struct Explain<Q>(Q);

impl<Q: QueryFragment<Sqlite>> QueryFragment<Sqlite> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql("EXPLAIN QUERY PLAN ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = (Integer, Integer, Integer, Text);
}

impl<Q> RunQueryDsl<Conn> for Explain<Q> {}

/// The query plan SQLite chooses for a list query, one line per step (for tests and the
/// benchmark notes).
pub fn list_plan(
    conn: &mut Conn,
    filter: &Filter,
    sort: Sort,
    after: Option<&Cursor>,
) -> QueryResult<Vec<String>> {
    let query = ordered(filtered(filter), sort, after)
        .select(Company::as_select())
        .limit(PAGE_SIZE);
    let steps: Vec<(i32, i32, i32, String)> = Explain(query).load(conn)?;
    Ok(steps.into_iter().map(|(_, _, _, detail)| detail).collect())
}

pub use crate::auth::queries::user_names;

/// Active users who can own a company, for the owner select: (id, name).
pub fn possible_owners(conn: &mut Conn) -> QueryResult<Vec<(i64, String)>> {
    users::table
        .filter(users::active.eq(true))
        .order((users::display_name.asc(), users::id.asc()))
        .select((users::id, users::display_name))
        .load(conn)
}

#[derive(Debug, Clone, Queryable)]
pub struct MemberRow {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub job_title: Option<String>,
    pub archived: bool,
}

/// A company's contacts, by name, on the contacts_by_company index.
pub fn members(conn: &mut Conn, company_id: i64, limit: i64) -> QueryResult<Vec<MemberRow>> {
    contacts::table
        .filter(contacts::company_id.eq(company_id))
        .order((contacts::sort_name.asc(), contacts::id.asc()))
        .select((
            contacts::id,
            contacts::first_name,
            contacts::last_name,
            contacts::job_title,
            contacts::archived_at.is_not_null(),
        ))
        .limit(limit)
        .load(conn)
}

pub fn member_count(conn: &mut Conn, company_id: i64) -> QueryResult<i64> {
    contacts::table
        .filter(contacts::company_id.eq(company_id))
        .count()
        .get_result(conn)
}
