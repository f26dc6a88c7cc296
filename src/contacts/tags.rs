//! Tags shared by contacts and companies: typed as "vip, partner", stored once each,
//! lowercased.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::Conn;
use crate::db::id_list::one_of;
use crate::db::schema::{company_tags, contact_tags, contacts, tags};

pub const MAX_TAG_LENGTH: usize = 40;

/// Splits "VIP, partner ,vip" into ["partner", "vip"]: trimmed, lowercased, unique, sorted.
pub fn parse(raw: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = raw
        .split(',')
        .map(|name| name.trim().to_lowercase())
        .filter(|name| !name.is_empty())
        .collect();
    if let Some(long) = names
        .iter()
        .find(|name| name.chars().count() > MAX_TAG_LENGTH)
    {
        return Err(format!(
            "Tag \"{long}\" is longer than {MAX_TAG_LENGTH} characters."
        ));
    }
    if names.iter().any(|name| name.chars().any(char::is_control)) {
        return Err("Tags cannot contain control characters.".to_owned());
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// The ids of these tags, creating the ones that do not exist yet.
pub fn ensure(conn: &mut Conn, names: &[String]) -> QueryResult<Vec<i64>> {
    // Single-row statements, which diesel keeps prepared: a record has a few tags, and bulk
    // writes such as an import call this once per row.
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        diesel::insert_into(tags::table)
            .values(tags::name.eq(name))
            .on_conflict_do_nothing()
            .execute(conn)?;
        let id: i64 = tags::table
            .filter(tags::name.eq(name))
            .select(tags::id)
            .first(conn)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

pub fn find_id(conn: &mut Conn, name: &str) -> QueryResult<Option<i64>> {
    tags::table
        .filter(tags::name.eq(name.trim().to_lowercase()))
        .select(tags::id)
        .first(conn)
        .optional()
}

/// Every tag name, for filters and suggestions.
pub fn all(conn: &mut Conn) -> QueryResult<Vec<String>> {
    tags::table
        .order(tags::name.asc())
        .select(tags::name)
        .load(conn)
}

/// Replaces a contact's tags with `names`.
pub fn set_for_contact(conn: &mut Conn, contact_id: i64, names: &[String]) -> QueryResult<()> {
    diesel::delete(contact_tags::table.filter(contact_tags::contact_id.eq(contact_id)))
        .execute(conn)?;
    add_to_contact(conn, contact_id, names)
}

/// Links the tags to the contact. Each link copies the contact's owner, archive time and
/// sort name (the tag lists' index; a trigger on `contacts` keeps the copies current).
pub fn add_to_contact(conn: &mut Conn, contact_id: i64, names: &[String]) -> QueryResult<()> {
    let tag_ids = ensure(conn, names)?;
    if tag_ids.is_empty() {
        return Ok(());
    }
    let (owner_id, archived_at, sort_name) = contacts::table
        .find(contact_id)
        .select((
            contacts::owner_id,
            contacts::archived_at,
            contacts::sort_name,
        ))
        .first::<(Option<i64>, Option<NaiveDateTime>, String)>(conn)?;
    for tag_id in tag_ids {
        diesel::insert_into(contact_tags::table)
            .values((
                contact_tags::contact_id.eq(contact_id),
                contact_tags::tag_id.eq(tag_id),
                contact_tags::owner_id.eq(owner_id),
                contact_tags::archived_at.eq(archived_at),
                contact_tags::sort_name.eq(&sort_name),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    Ok(())
}

/// Replaces a company's tags with `names`.
pub fn set_for_company(conn: &mut Conn, company_id: i64, names: &[String]) -> QueryResult<()> {
    diesel::delete(company_tags::table.filter(company_tags::company_id.eq(company_id)))
        .execute(conn)?;
    let rows: Vec<_> = ensure(conn, names)?
        .into_iter()
        .map(|tag_id| {
            (
                company_tags::company_id.eq(company_id),
                company_tags::tag_id.eq(tag_id),
            )
        })
        .collect();
    diesel::insert_into(company_tags::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|_| ())
}

/// The tags of many contacts in one query (no N+1), keyed by contact id.
pub fn for_contacts(conn: &mut Conn, ids: &[i64]) -> QueryResult<HashMap<i64, Vec<String>>> {
    let pairs: Vec<(i64, String)> = contact_tags::table
        .inner_join(tags::table)
        .filter(one_of(contact_tags::contact_id, ids))
        .order(tags::name.asc())
        .select((contact_tags::contact_id, tags::name))
        .load(conn)?;
    Ok(group(pairs))
}

/// The tags of many companies in one query, keyed by company id.
pub fn for_companies(conn: &mut Conn, ids: &[i64]) -> QueryResult<HashMap<i64, Vec<String>>> {
    let pairs: Vec<(i64, String)> = company_tags::table
        .inner_join(tags::table)
        .filter(one_of(company_tags::company_id, ids))
        .order(tags::name.asc())
        .select((company_tags::company_id, tags::name))
        .load(conn)?;
    Ok(group(pairs))
}

fn group(pairs: Vec<(i64, String)>) -> HashMap<i64, Vec<String>> {
    let mut grouped: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, name) in pairs {
        grouped.entry(id).or_default().push(name);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn tags_are_trimmed_lowercased_and_unique() {
        assert_eq!(
            parse(" VIP, partner ,vip,, ").expect("valid"),
            vec!["partner".to_owned(), "vip".to_owned()]
        );
        assert!(parse(&"x".repeat(41)).is_err());
        assert_eq!(parse("").expect("valid"), Vec::<String>::new());
    }
}
