//! Reading contacts: one record, its emails and phones, and the filtered, keyset-paged list
//! with everything a page of it shows loaded in a fixed number of queries.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::{AsSelect, InnerJoin, IntoBoxed, Select, sql};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp};
use diesel::sqlite::Sqlite;

use super::model::{Contact, Stage};
use crate::contacts::tags;
use crate::db::Conn;
use crate::db::id_list::one_of;
use crate::db::schema::{companies, contact_emails, contact_phones, contact_tags, contacts, users};
use crate::search;

pub const PAGE_SIZE: i64 = 50;

pub fn find(conn: &mut Conn, id: i64) -> QueryResult<Option<Contact>> {
    contacts::table
        .find(id)
        .select(Contact::as_select())
        .first(conn)
        .optional()
}

/// (address, primary), primary first.
pub fn emails(conn: &mut Conn, contact_id: i64) -> QueryResult<Vec<(String, bool)>> {
    contact_emails::table
        .filter(contact_emails::contact_id.eq(contact_id))
        .order((contact_emails::is_primary.desc(), contact_emails::id.asc()))
        .select((contact_emails::email, contact_emails::is_primary))
        .load(conn)
}

/// (number, primary), primary first.
pub fn phones(conn: &mut Conn, contact_id: i64) -> QueryResult<Vec<(String, bool)>> {
    contact_phones::table
        .filter(contact_phones::contact_id.eq(contact_id))
        .order((contact_phones::is_primary.desc(), contact_phones::id.asc()))
        .select((contact_phones::phone, contact_phones::is_primary))
        .load(conn)
}

/// Another contact that already has one of these email addresses.
#[derive(Debug, Clone)]
pub struct Duplicate {
    pub contact_id: i64,
    pub name: String,
    pub email: String,
}

pub fn with_emails(
    conn: &mut Conn,
    emails: &[String],
    except: Option<i64>,
) -> QueryResult<Vec<Duplicate>> {
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    // One cached single-email query per address (a contact has one or two), rather than an
    // `IN` list that is prepared anew for every length.
    let mut rows: Vec<(i64, String, String, String)> = Vec::new();
    for email in emails {
        rows.extend(
            contact_emails::table
                .inner_join(contacts::table)
                .filter(contact_emails::email.eq(email))
                .filter(contact_emails::contact_id.ne(except.unwrap_or(0)))
                .select((
                    contact_emails::contact_id,
                    contacts::first_name,
                    contacts::last_name,
                    contact_emails::email,
                ))
                .load::<(i64, String, String, String)>(conn)?,
        );
    }
    rows.sort_by_key(|row| row.0);
    Ok(rows
        .into_iter()
        .map(|(contact_id, first, last, email)| Duplicate {
            contact_id,
            name: super::model::full_name(&first, &last),
            email,
        })
        .collect())
}

pub use crate::contacts::list::{Cursor, Sort};

/// What the list shows. Times are UTC bounds: `*_from` inclusive, `*_to` exclusive.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub owner_id: Option<i64>,
    pub tag: Option<String>,
    pub company: Option<CompanyFilter>,
    pub stage: Option<Stage>,
    /// An FTS5 query from `search::fts_query`.
    pub fts: Option<String>,
    /// Archived contacts only (otherwise active ones only).
    pub archived: bool,
    pub created_from: Option<NaiveDateTime>,
    pub created_to: Option<NaiveDateTime>,
    pub updated_from: Option<NaiveDateTime>,
    pub updated_to: Option<NaiveDateTime>,
    /// No activity since this time (or never).
    pub inactive_since: Option<NaiveDateTime>,
    pub sort: Sort,
    pub after: Option<Cursor>,
}

/// The company a list is filtered by: an id from a link, or a name typed in the filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompanyFilter {
    Id(i64),
    Named(String),
}

impl CompanyFilter {
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if raw.is_empty() {
            None
        } else if let Ok(id) = raw.parse() {
            Some(CompanyFilter::Id(id))
        } else {
            Some(CompanyFilter::Named(raw.to_owned()))
        }
    }
}

/// The company whose name is `name` (ignoring case), on the name index; the oldest when
/// several share it.
pub fn company_named(conn: &mut Conn, name: &str) -> QueryResult<Option<i64>> {
    companies::table
        .filter(companies::sort_name.eq(crate::contacts::company::model::sort_name(name)))
        .order(companies::id.asc())
        .select(companies::id)
        .first(conn)
        .optional()
}

type ContactWalk = contacts::BoxedQuery<'static, Sqlite, AsSelect<Contact, Sqlite>>;
type TagWalk = IntoBoxed<
    'static,
    Select<InnerJoin<contact_tags::table, contacts::table>, AsSelect<Contact, Sqlite>>,
    Sqlite,
>;

/// The list query, in one of two shapes.
enum Listing {
    /// Contacts walked on one of their own indexes.
    Contacts(ContactWalk),
    /// A tag's links walked in name order on their copies of each contact's owner, archive
    /// time and sort name: a page reads its rows and stops, where probing every contact of
    /// an owner for a tag that one contact in twenty has would read twenty times as many.
    TagByName(TagWalk),
}

impl Listing {
    fn load(self, conn: &mut Conn) -> QueryResult<Vec<Contact>> {
        match self {
            Listing::Contacts(query) => query.load(conn),
            Listing::TagByName(query) => query.load(conn),
        }
    }

    fn explain(self, conn: &mut Conn) -> QueryResult<Vec<String>> {
        let rows: Vec<(i32, i32, i32, String)> = match self {
            Listing::Contacts(query) => Explain(query).load(conn)?,
            Listing::TagByName(query) => Explain(query).load(conn)?,
        };
        Ok(rows.into_iter().map(|row| row.3).collect())
    }
}

/// The tag of a list that the tag links' own index can serve: filtered by a tag and
/// nothing else but the owner and archived state, in name order.
fn tag_only(filter: &ListFilter) -> Option<&str> {
    match filter {
        ListFilter {
            tag: Some(tag),
            sort: Sort::Name,
            company: None,
            stage: None,
            fts: None,
            created_from: None,
            created_to: None,
            updated_from: None,
            updated_to: None,
            inactive_since: None,
            ..
        } => Some(tag),
        _ => None,
    }
}

fn tag_by_name(tag_id: i64, filter: &ListFilter, limit: i64) -> TagWalk {
    let mut query = contact_tags::table
        .inner_join(contacts::table)
        .select(Contact::as_select())
        .into_boxed()
        .filter(contact_tags::tag_id.eq(tag_id))
        .order((
            contact_tags::sort_name.asc(),
            contact_tags::contact_id.asc(),
        ))
        .limit(limit);
    query = if filter.archived {
        query.filter(contact_tags::archived_at.is_not_null())
    } else {
        query.filter(contact_tags::archived_at.is_null())
    };
    if let Some(owner_id) = filter.owner_id {
        query = query.filter(contact_tags::owner_id.eq(owner_id));
    }
    if let Some(Cursor::Name(key, id)) = filter.after.clone() {
        query = query.filter(
            sql::<Bool>("(contact_tags.sort_name, contact_tags.contact_id) > (")
                .bind::<Text, _>(key)
                .sql(", ")
                .bind::<BigInt, _>(id)
                .sql(")"),
        );
    }
    query
}

/// The list query: `None` when the filter names a tag that does not exist (nothing matches).
fn listing(conn: &mut Conn, filter: &ListFilter, limit: i64) -> QueryResult<Option<Listing>> {
    if let Some(name) = tag_only(filter) {
        return Ok(tags::find_id(conn, name)?
            .map(|tag_id| Listing::TagByName(tag_by_name(tag_id, filter, limit))));
    }
    let mut query = contacts::table
        .select(Contact::as_select())
        .limit(limit)
        .into_boxed();
    query = if filter.archived {
        query.filter(contacts::archived_at.is_not_null())
    } else {
        query.filter(contacts::archived_at.is_null())
    };
    if let Some(owner_id) = filter.owner_id {
        query = query.filter(contacts::owner_id.eq(owner_id));
    }
    match &filter.company {
        None => {}
        Some(CompanyFilter::Id(company_id)) => {
            query = query.filter(contacts::company_id.eq(*company_id));
        }
        Some(CompanyFilter::Named(name)) => {
            let Some(company_id) = company_named(conn, name)? else {
                return Ok(None);
            };
            query = query.filter(contacts::company_id.eq(company_id));
        }
    }
    if let Some(stage) = filter.stage {
        query = query.filter(contacts::lifecycle_stage.eq(stage.as_str()));
    }
    if let Some(name) = &filter.tag {
        let Some(tag_id) = tags::find_id(conn, name)? else {
            return Ok(None);
        };
        // A probe of the tag link's primary key per candidate row, so the list still walks
        // its sort index and stops at the page size (`IN (SELECT …)` would first collect
        // every contact with the tag).
        query = query.filter(diesel::dsl::exists(
            contact_tags::table.filter(
                contact_tags::contact_id
                    .eq(contacts::id)
                    .and(contact_tags::tag_id.eq(tag_id)),
            ),
        ));
    }
    if let Some(fts) = &filter.fts {
        query = query.filter(search::contacts_matching(fts.clone()));
    }
    if let Some(from) = filter.created_from {
        query = query.filter(contacts::created_at.ge(from));
    }
    if let Some(to) = filter.created_to {
        query = query.filter(contacts::created_at.lt(to));
    }
    if let Some(from) = filter.updated_from {
        query = query.filter(contacts::updated_at.ge(from));
    }
    if let Some(to) = filter.updated_to {
        query = query.filter(contacts::updated_at.lt(to));
    }
    if let Some(since) = filter.inactive_since {
        query = query.filter(
            contacts::last_activity_at
                .is_null()
                .or(contacts::last_activity_at.lt(since)),
        );
    }
    query = match filter.sort {
        Sort::Name => query.order((contacts::sort_name.asc(), contacts::id.asc())),
        Sort::Created => query.order((contacts::created_at.desc(), contacts::id.desc())),
        Sort::Activity => query.order((contacts::last_activity_at.desc(), contacts::id.desc())),
    };
    // Row-value comparisons, so that SQLite seeks the index to the cursor.
    query = match filter.after.clone() {
        None => query,
        Some(Cursor::Name(key, id)) => query.filter(
            sql::<Bool>("(contacts.sort_name, contacts.id) > (")
                .bind::<Text, _>(key)
                .sql(", ")
                .bind::<BigInt, _>(id)
                .sql(")"),
        ),
        Some(Cursor::Created(at, id)) => query.filter(
            sql::<Bool>("(contacts.created_at, contacts.id) < (")
                .bind::<Timestamp, _>(at)
                .sql(", ")
                .bind::<BigInt, _>(id)
                .sql(")"),
        ),
        Some(Cursor::Activity(Some(at), id)) => query.filter(
            sql::<Bool>("((contacts.last_activity_at, contacts.id) < (")
                .bind::<Nullable<Timestamp>, _>(Some(at))
                .sql(", ")
                .bind::<BigInt, _>(id)
                .sql(") OR contacts.last_activity_at IS NULL)"),
        ),
        Some(Cursor::Activity(None, id)) => query.filter(
            contacts::last_activity_at
                .is_null()
                .and(contacts::id.lt(id)),
        ),
    };
    Ok(Some(Listing::Contacts(query)))
}

/// One page of the list: up to `PAGE_SIZE + 1` contacts (the extra one says there is a next
/// page).
pub fn list(conn: &mut Conn, filter: &ListFilter) -> QueryResult<Vec<Contact>> {
    match listing(conn, filter, PAGE_SIZE + 1)? {
        Some(listing) => listing.load(conn),
        None => Ok(Vec::new()),
    }
}

/// Up to `limit` contacts of the list from `filter.after` on, for exports that walk the whole
/// filtered list batch by batch.
pub fn batch(conn: &mut Conn, filter: &ListFilter, limit: i64) -> QueryResult<Vec<Contact>> {
    match listing(conn, filter, limit)? {
        Some(listing) => listing.load(conn),
        None => Ok(Vec::new()),
    }
}

/// `EXPLAIN QUERY PLAN` in front of a query, keeping its bound parameters.
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId)]
struct Explain<Q>(Q);

impl<Q> diesel::query_builder::QueryFragment<Sqlite> for Explain<Q>
where
    Q: diesel::query_builder::QueryFragment<Sqlite>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, Sqlite>,
    ) -> QueryResult<()> {
        out.push_sql("EXPLAIN QUERY PLAN ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> diesel::query_builder::Query for Explain<Q> {
    type SqlType = (
        diesel::sql_types::Integer,
        diesel::sql_types::Integer,
        diesel::sql_types::Integer,
        Text,
    );
}

impl<Q> RunQueryDsl<Conn> for Explain<Q> {}

/// The query plan SQLite picks for this list (`EXPLAIN QUERY PLAN`), one line per step.
pub fn explain_list(conn: &mut Conn, filter: &ListFilter) -> QueryResult<Vec<String>> {
    match listing(conn, filter, PAGE_SIZE + 1)? {
        Some(listing) => listing.explain(conn),
        None => Ok(Vec::new()),
    }
}

/// The primary emails of the contacts `ids`. The flag is named bare (`WHERE is_primary`) so
/// that SQLite reads them from the partial index `contact_emails_primary` alone.
macro_rules! primary_emails_of {
    ($ids:expr) => {
        contact_emails::table
            .filter(one_of(contact_emails::contact_id, $ids))
            .filter(contact_emails::is_primary)
            .select((contact_emails::contact_id, contact_emails::email))
    };
}

/// Primary email of each contact, in one (cached) query.
pub fn primary_emails(conn: &mut Conn, ids: &[i64]) -> QueryResult<HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = primary_emails_of!(ids).load(conn)?;
    Ok(rows.into_iter().collect())
}

/// The query plan of [`primary_emails`], one line per step.
pub fn explain_primary_emails(conn: &mut Conn, ids: &[i64]) -> QueryResult<Vec<String>> {
    let rows: Vec<(i32, i32, i32, String)> = Explain(primary_emails_of!(ids)).load(conn)?;
    Ok(rows.into_iter().map(|row| row.3).collect())
}

/// Company names by id, in one query.
pub fn company_names(conn: &mut Conn, ids: &[i64]) -> QueryResult<HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = companies::table
        .filter(one_of(companies::id, ids))
        .select((companies::id, companies::name))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

pub use crate::auth::queries::user_names;

/// Companies a contact can be linked to: up to `limit` non-archived ones by name, plus
/// `selected` (even if archived or beyond the limit) so a form never drops a stored link.
pub fn company_options(
    conn: &mut Conn,
    limit: i64,
    selected: Option<i64>,
) -> QueryResult<Vec<(i64, String)>> {
    let mut found: Vec<(i64, String)> = companies::table
        .filter(companies::archived_at.is_null())
        .order((companies::sort_name.asc(), companies::id.asc()))
        .select((companies::id, companies::name))
        .limit(limit)
        .load(conn)?;
    if let Some(id) = selected
        && !found.iter().any(|(known, _)| *known == id)
        && let Some(name) = company_names(conn, &[id])?.remove(&id)
    {
        found.insert(0, (id, name));
    }
    Ok(found)
}

pub fn company_exists(conn: &mut Conn, id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(companies::table.find(id))).get_result(conn)
}

/// Users who can own records: the active ones by name, plus `selected` (a deactivated
/// owner stays on the records they own until someone changes it).
pub fn owner_options(conn: &mut Conn, selected: Option<i64>) -> QueryResult<Vec<(i64, String)>> {
    let mut found: Vec<(i64, String)> = users::table
        .filter(users::active.eq(true))
        .order((users::display_name.asc(), users::id.asc()))
        .select((users::id, users::display_name))
        .load(conn)?;
    if let Some(id) = selected
        && !found.iter().any(|(known, _)| *known == id)
        && let Some(name) = user_names(conn, &[id])?.remove(&id)
    {
        found.insert(0, (id, name));
    }
    Ok(found)
}

pub fn active_user_exists(conn: &mut Conn, id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.find(id).filter(users::active.eq(true)),
    ))
    .get_result(conn)
}
