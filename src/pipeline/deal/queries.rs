//! Reading deals: one by id with its contacts and journey, names for a page's worth of
//! deals in one query each, and the deals of a contact or a company.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::Deal;
use crate::db::Conn;
use crate::db::schema::{companies, contacts, deal_contacts, deal_stage_moves, deals};

pub fn find(conn: &mut Conn, id: i64) -> QueryResult<Option<Deal>> {
    deals::table
        .find(id)
        .select(Deal::as_select())
        .first(conn)
        .optional()
}

/// The deal's contact ids, in the order they were linked.
pub fn contact_ids(conn: &mut Conn, deal_id: i64) -> QueryResult<Vec<i64>> {
    deal_contacts::table
        .filter(deal_contacts::deal_id.eq(deal_id))
        .order(deal_contacts::contact_id.asc())
        .select(deal_contacts::contact_id)
        .load(conn)
}

#[derive(Debug, Clone, Queryable)]
pub struct ContactRow {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub job_title: Option<String>,
    pub company_id: Option<i64>,
}

impl ContactRow {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_owned()
    }
}

/// The contacts with these ids, by name.
pub fn contacts_by_id(conn: &mut Conn, ids: &[i64]) -> QueryResult<Vec<ContactRow>> {
    contacts::table
        .filter(contacts::id.eq_any(ids))
        .order((contacts::sort_name.asc(), contacts::id.asc()))
        .select((
            contacts::id,
            contacts::first_name,
            contacts::last_name,
            contacts::job_title,
            contacts::company_id,
        ))
        .load(conn)
}

/// How many of `ids` are contacts.
pub fn existing_contacts(conn: &mut Conn, ids: &[i64]) -> QueryResult<i64> {
    contacts::table
        .filter(contacts::id.eq_any(ids))
        .count()
        .get_result(conn)
}

/// Contacts to offer in the form's "Add a contact" picker: the company's people first, then
/// others by name, `limit` in all, leaving out those already linked.
pub fn contact_options(
    conn: &mut Conn,
    company_id: Option<i64>,
    linked: &[i64],
    limit: i64,
) -> QueryResult<Vec<(i64, String)>> {
    let mut found: Vec<(i64, String)> = Vec::new();
    let columns = (contacts::id, contacts::first_name, contacts::last_name);
    if let Some(company_id) = company_id {
        let rows: Vec<(i64, String, String)> = contacts::table
            .filter(contacts::company_id.eq(company_id))
            .filter(contacts::archived_at.is_null())
            .order((contacts::sort_name.asc(), contacts::id.asc()))
            .select(columns)
            .limit(limit)
            .load(conn)?;
        found.extend(
            rows.into_iter()
                .map(|(id, first, last)| (id, format!("{first} {last}"))),
        );
    }
    let rows: Vec<(i64, String, String)> = contacts::table
        .filter(contacts::archived_at.is_null())
        .order((contacts::sort_name.asc(), contacts::id.asc()))
        .select(columns)
        .limit(limit)
        .load(conn)?;
    for (id, first, last) in rows {
        if found.len() as i64 >= limit {
            break;
        }
        if !found.iter().any(|(known, _)| *known == id) {
            found.push((id, format!("{first} {last}")));
        }
    }
    found.retain(|(id, _)| !linked.contains(id));
    Ok(found)
}

/// Company names by id, in one query.
pub fn company_names(conn: &mut Conn, ids: &[i64]) -> QueryResult<HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(companies::table
        .filter(companies::id.eq_any(ids))
        .select((companies::id, companies::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

pub use crate::auth::queries::user_names;

/// One row of a deal's journey.
#[derive(Debug, Clone, Queryable)]
pub struct MoveRow {
    pub id: i64,
    pub from_stage_id: Option<i64>,
    pub to_stage_id: Option<i64>,
    pub from_status: Option<String>,
    pub to_status: String,
    pub moved_by: Option<i64>,
    pub moved_at: NaiveDateTime,
}

/// The deal's journey, oldest first.
pub fn moves(conn: &mut Conn, deal_id: i64) -> QueryResult<Vec<MoveRow>> {
    deal_stage_moves::table
        .filter(deal_stage_moves::deal_id.eq(deal_id))
        .order((deal_stage_moves::moved_at.asc(), deal_stage_moves::id.asc()))
        .select((
            deal_stage_moves::id,
            deal_stage_moves::from_stage_id,
            deal_stage_moves::to_stage_id,
            deal_stage_moves::from_status,
            deal_stage_moves::to_status,
            deal_stage_moves::moved_by,
            deal_stage_moves::moved_at,
        ))
        .load(conn)
}

/// The deals of a company (on `deals_by_company`), open ones first, newest first, at most
/// `limit`.
pub fn of_company(conn: &mut Conn, company_id: i64, limit: i64) -> QueryResult<Vec<Deal>> {
    let mut found: Vec<Deal> = deals::table
        .filter(deals::company_id.eq(company_id))
        .order(deals::id.desc())
        .select(Deal::as_select())
        .limit(limit)
        .load(conn)?;
    found.sort_by_key(|deal| !deal.is_open());
    Ok(found)
}

/// The deals a contact takes part in (on `deal_contacts_by_contact`), open ones first.
pub fn of_contact(conn: &mut Conn, contact_id: i64, limit: i64) -> QueryResult<Vec<Deal>> {
    let mut found: Vec<Deal> = deals::table
        .filter(
            deals::id.eq_any(
                deal_contacts::table
                    .filter(deal_contacts::contact_id.eq(contact_id))
                    .select(deal_contacts::deal_id),
            ),
        )
        .order(deals::id.desc())
        .select(Deal::as_select())
        .limit(limit)
        .load(conn)?;
    found.sort_by_key(|deal| !deal.is_open());
    Ok(found)
}

pub fn count_of_company(conn: &mut Conn, company_id: i64) -> QueryResult<i64> {
    deals::table
        .filter(deals::company_id.eq(company_id))
        .count()
        .get_result(conn)
}

pub fn count_of_contact(conn: &mut Conn, contact_id: i64) -> QueryResult<i64> {
    deal_contacts::table
        .filter(deal_contacts::contact_id.eq(contact_id))
        .count()
        .get_result(conn)
}

/// Active users who can own a deal, plus `selected` (a deactivated owner stays on the deals
/// they own until someone changes it): (id, name).
pub fn owner_options(conn: &mut Conn, selected: Option<i64>) -> QueryResult<Vec<(i64, String)>> {
    crate::contacts::contact::queries::owner_options(conn, selected)
}

/// Companies a deal can be linked to (the first `limit` by name, plus `selected`).
pub fn company_options(
    conn: &mut Conn,
    limit: i64,
    selected: Option<i64>,
) -> QueryResult<Vec<(i64, String)>> {
    crate::contacts::contact::queries::company_options(conn, limit, selected)
}
