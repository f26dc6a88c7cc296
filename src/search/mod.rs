//! Full-text search over contacts, companies and leads (later: deals, tickets, articles).
//!
//! This is the one module that knows the index is SQLite FTS5 (`contacts_fts`,
//! `companies_fts`, `leads_fts`, rowid = record id). Callers re-index a record in the same
//! transaction as every write to it (`index_contact`, `index_company`, `index_lead`), and
//! use `contacts_matching`/`companies_matching`/`leads_matching` as a filter or `search_*`
//! for ranked hits. Another backend replaces this module only.

pub mod routes;

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::sqlite::Sqlite;

use crate::db::Conn;
use crate::db::schema::{companies, contact_emails, contact_phones, contacts, leads};

/// The words of what a user typed, as FTS5 sees them (at most eight).
fn words(typed: &str) -> Vec<&str> {
    typed
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .take(8)
        .collect()
}

/// One word as an FTS5 term: quoted, so FTS5 operators in the input are taken literally;
/// a prefix term when `prefix` is set.
fn term(word: &str, prefix: bool) -> String {
    if prefix {
        format!("\"{word}\"*")
    } else {
        format!("\"{word}\"")
    }
}

/// Turns what a user typed into an FTS5 query: every word must match as a prefix.
/// `None` if nothing searchable.
pub fn fts_query(typed: &str) -> Option<String> {
    let terms: Vec<String> = words(typed)
        .into_iter()
        .map(|word| term(word, true))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// The queries of a ranked search, best matches first: every word a whole word of the name,
/// then every word a prefix of a word of the name, then a prefix of any indexed field
/// (emails, phones, company, job title…). Each runs with a limit and no scoring, so a
/// common word costs no more than a rare one.
fn tiered_queries(typed: &str) -> Vec<String> {
    let words = words(typed);
    if words.is_empty() {
        return Vec::new();
    }
    let joined = |prefix: bool| {
        words
            .iter()
            .map(|word| term(word, prefix))
            .collect::<Vec<_>>()
            .join(" ")
    };
    vec![
        format!("name : ({})", joined(false)),
        format!("name : ({})", joined(true)),
        joined(true),
    ]
}

/// Phone numbers are findable as typed, as bare digits, and by their last ten digits.
fn phone_terms(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    let national = digits
        .len()
        .checked_sub(10)
        .map(|start| &digits[start..])
        .unwrap_or("");
    format!("{phone} {digits} {national}")
}

/// Rewrites a contact's index row from the database (or removes it if the contact is gone).
pub fn index_contact(conn: &mut Conn, contact_id: i64) -> QueryResult<()> {
    remove_contact(conn, contact_id)?;
    let found = contacts::table
        .left_join(companies::table)
        .filter(contacts::id.eq(contact_id))
        .select((
            contacts::first_name,
            contacts::last_name,
            contacts::job_title,
            companies::name.nullable(),
        ))
        .first::<(String, String, Option<String>, Option<String>)>(conn)
        .optional()?;
    let Some((first_name, last_name, job_title, company)) = found else {
        return Ok(());
    };
    let emails: Vec<String> = contact_emails::table
        .filter(contact_emails::contact_id.eq(contact_id))
        .select(contact_emails::email)
        .load(conn)?;
    let phones: Vec<String> = contact_phones::table
        .filter(contact_phones::contact_id.eq(contact_id))
        .select(contact_phones::phone)
        .load(conn)?;
    let phones: Vec<String> = phones.iter().map(|phone| phone_terms(phone)).collect();
    diesel::sql_query(
        "INSERT INTO contacts_fts (rowid, name, emails, phones, company, job_title) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind::<BigInt, _>(contact_id)
    .bind::<Text, _>(format!("{first_name} {last_name}"))
    .bind::<Text, _>(emails.join(" "))
    .bind::<Text, _>(phones.join(" "))
    .bind::<Text, _>(company.unwrap_or_default())
    .bind::<Text, _>(job_title.unwrap_or_default())
    .execute(conn)
    .map(|_| ())
}

pub fn remove_contact(conn: &mut Conn, contact_id: i64) -> QueryResult<()> {
    remove(conn, "contacts_fts", contact_id)
}

/// Rewrites a company's index row, and those of its contacts (they carry its name).
pub fn index_company(conn: &mut Conn, company_id: i64) -> QueryResult<()> {
    remove_company(conn, company_id)?;
    let found = companies::table
        .filter(companies::id.eq(company_id))
        .select((
            companies::name,
            companies::domain,
            companies::phone,
            companies::industry,
        ))
        .first::<(String, Option<String>, Option<String>, Option<String>)>(conn)
        .optional()?;
    let Some((name, domain, phone, industry)) = found else {
        return Ok(());
    };
    diesel::sql_query(
        "INSERT INTO companies_fts (rowid, name, domain, phone, industry) VALUES (?, ?, ?, ?, ?)",
    )
    .bind::<BigInt, _>(company_id)
    .bind::<Text, _>(name)
    .bind::<Text, _>(domain.unwrap_or_default())
    .bind::<Text, _>(phone.as_deref().map(phone_terms).unwrap_or_default())
    .bind::<Text, _>(industry.unwrap_or_default())
    .execute(conn)?;
    let members: Vec<i64> = contacts::table
        .filter(contacts::company_id.eq(company_id))
        .select(contacts::id)
        .load(conn)?;
    for contact_id in members {
        index_contact(conn, contact_id)?;
    }
    Ok(())
}

pub fn remove_company(conn: &mut Conn, company_id: i64) -> QueryResult<()> {
    remove(conn, "companies_fts", company_id)
}

/// Deletes a record's index row if it has one. A delete makes FTS5 flush the terms it holds
/// in memory for the transaction, so a new record (nothing to delete) must not issue one:
/// an import of 100,000 rows in one transaction would otherwise write 100,000 segments.
fn remove(conn: &mut Conn, table: &'static str, id: i64) -> QueryResult<()> {
    #[derive(QueryableByName)]
    struct Indexed {
        #[diesel(sql_type = Bool)]
        indexed: bool,
    }
    let found: Indexed = diesel::sql_query(format!(
        "SELECT EXISTS (SELECT 1 FROM {table} WHERE rowid = ?) AS indexed"
    ))
    .bind::<BigInt, _>(id)
    .get_result(conn)?;
    if found.indexed {
        diesel::sql_query(format!("DELETE FROM {table} WHERE rowid = ?"))
            .bind::<BigInt, _>(id)
            .execute(conn)?;
    }
    Ok(())
}

/// Rewrites a lead's index row from the database (or removes it if the lead is gone). Call it
/// in the transaction of every write to a lead's name, email, phone, company or job title.
pub fn index_lead(conn: &mut Conn, lead_id: i64) -> QueryResult<()> {
    remove_lead(conn, lead_id)?;
    type Indexed = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let found: Option<Indexed> = leads::table
        .find(lead_id)
        .select((
            leads::first_name,
            leads::last_name,
            leads::email,
            leads::phone,
            leads::company_name,
            leads::job_title,
        ))
        .first(conn)
        .optional()?;
    let Some((first_name, last_name, email, phone, company, job_title)) = found else {
        return Ok(());
    };
    diesel::sql_query(
        "INSERT INTO leads_fts (rowid, name, email, phone, company, job_title) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind::<BigInt, _>(lead_id)
    .bind::<Text, _>(format!("{first_name} {last_name}"))
    .bind::<Text, _>(email.unwrap_or_default())
    .bind::<Text, _>(phone.as_deref().map(phone_terms).unwrap_or_default())
    .bind::<Text, _>(company.unwrap_or_default())
    .bind::<Text, _>(job_title.unwrap_or_default())
    .execute(conn)
    .map(|_| ())
}

/// Takes a lead out of the index (a deleted lead).
pub fn remove_lead(conn: &mut Conn, lead_id: i64) -> QueryResult<()> {
    remove(conn, "leads_fts", lead_id)
}

#[diesel::declare_sql_function]
extern "SQL" {
    /// `phone_terms` as an SQL function, so bulk indexing stays in SQL.
    fn rapport_phone_terms(phone: diesel::sql_types::Nullable<Text>) -> Text;
}

fn register_phone_terms(conn: &mut Conn) -> QueryResult<()> {
    rapport_phone_terms_utils::register_impl(conn, |phone: Option<String>| {
        phone.as_deref().map(phone_terms).unwrap_or_default()
    })
}

/// The statement that indexes many contacts at once; `{where}` picks them.
const INDEX_CONTACTS_WHERE: &str = "INSERT INTO contacts_fts (rowid, name, emails, phones, company, job_title) \
     SELECT c.id, c.first_name || ' ' || c.last_name, \
       COALESCE((SELECT group_concat(e.email, ' ') FROM contact_emails e \
                 WHERE e.contact_id = c.id), ''), \
       COALESCE((SELECT group_concat(rapport_phone_terms(p.phone), ' ') \
                 FROM contact_phones p WHERE p.contact_id = c.id), ''), \
       COALESCE(co.name, ''), COALESCE(c.job_title, '') \
     FROM contacts c LEFT JOIN companies co ON co.id = c.company_id \
     WHERE ";

/// Indexes the contacts with ids in `first..=last` that are not indexed yet, in one
/// statement (bulk loads such as `seed-demo`; single writes use `index_contact`).
pub fn index_contacts_range(conn: &mut Conn, first: i64, last: i64) -> QueryResult<()> {
    register_phone_terms(conn)?;
    diesel::sql_query(format!("{INDEX_CONTACTS_WHERE} c.id BETWEEN ? AND ?"))
        .bind::<BigInt, _>(first)
        .bind::<BigInt, _>(last)
        .execute(conn)
        .map(|_| ())
}

/// Indexes new contacts (those not indexed yet) in a few statements, for bulk writes such as an
/// import: they call this last in their transaction, after every other write. FTS5 writes
/// the terms it holds in memory to disk whenever a later statement opens a savepoint, so
/// indexing row by row amid other writes would store one index segment per row.
pub fn index_new_contacts(conn: &mut Conn, ids: &[i64]) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    register_phone_terms(conn)?;
    for chunk in ids.chunks(500) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        let mut query = diesel::sql_query(format!(
            "{INDEX_CONTACTS_WHERE} c.id IN ({placeholders}) \
             AND NOT EXISTS (SELECT 1 FROM contacts_fts f WHERE f.rowid = c.id)"
        ))
        .into_boxed();
        for id in chunk {
            query = query.bind::<BigInt, _>(*id);
        }
        query.execute(conn)?;
    }
    Ok(())
}

/// Indexes the companies with ids in `first..=last`, in one statement (bulk loads).
pub fn index_companies_range(conn: &mut Conn, first: i64, last: i64) -> QueryResult<()> {
    register_phone_terms(conn)?;
    diesel::sql_query(
        "INSERT INTO companies_fts (rowid, name, domain, phone, industry) \
         SELECT id, name, COALESCE(domain, ''), \
           rapport_phone_terms(phone), COALESCE(industry, '') \
         FROM companies WHERE id BETWEEN ? AND ?",
    )
    .bind::<BigInt, _>(first)
    .bind::<BigInt, _>(last)
    .execute(conn)
    .map(|_| ())
}

/// The statement that indexes many leads at once; `{where}` picks them.
const INDEX_LEADS_WHERE: &str = "INSERT INTO leads_fts (rowid, name, email, phone, company, job_title) \
     SELECT l.id, l.first_name || ' ' || l.last_name, COALESCE(l.email, ''), \
       rapport_phone_terms(l.phone), COALESCE(l.company_name, ''), COALESCE(l.job_title, '') \
     FROM leads l WHERE ";

/// Indexes the leads with ids in `first..=last`, in one statement (bulk loads such as
/// `seed-demo`, whose leads are new).
pub fn index_leads_range(conn: &mut Conn, first: i64, last: i64) -> QueryResult<()> {
    register_phone_terms(conn)?;
    diesel::sql_query(format!("{INDEX_LEADS_WHERE} l.id BETWEEN ? AND ?"))
        .bind::<BigInt, _>(first)
        .bind::<BigInt, _>(last)
        .execute(conn)
        .map(|_| ())
}

/// Indexes new leads (those not indexed yet) in a few statements, last in a bulk write's
/// transaction (see `index_new_contacts` for why not row by row).
pub fn index_new_leads(conn: &mut Conn, ids: &[i64]) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    register_phone_terms(conn)?;
    for chunk in ids.chunks(500) {
        let placeholders = vec!["?"; chunk.len()].join(", ");
        let mut query = diesel::sql_query(format!(
            "{INDEX_LEADS_WHERE} l.id IN ({placeholders}) \
             AND NOT EXISTS (SELECT 1 FROM leads_fts f WHERE f.rowid = l.id)"
        ))
        .into_boxed();
        for id in chunk {
            query = query.bind::<BigInt, _>(*id);
        }
        query.execute(conn)?;
    }
    Ok(())
}

/// A filter for contact queries: the contact matches `fts_query` (from `fts_query`).
pub fn contacts_matching(
    fts_query: String,
) -> Box<dyn BoxableExpression<contacts::table, Sqlite, SqlType = Bool>> {
    Box::new(
        sql::<Bool>("contacts.id IN (SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH ")
            .bind::<Text, _>(fts_query)
            .sql(")"),
    )
}

/// A filter for company queries: the company matches `fts_query`.
pub fn companies_matching(
    fts_query: String,
) -> Box<dyn BoxableExpression<companies::table, Sqlite, SqlType = Bool>> {
    Box::new(
        sql::<Bool>("companies.id IN (SELECT rowid FROM companies_fts WHERE companies_fts MATCH ")
            .bind::<Text, _>(fts_query)
            .sql(")"),
    )
}

/// A filter for lead queries: the lead matches `fts_query` (from `fts_query`).
pub fn leads_matching(
    fts_query: String,
) -> Box<dyn BoxableExpression<leads::table, Sqlite, SqlType = Bool>> {
    Box::new(
        sql::<Bool>("leads.id IN (SELECT rowid FROM leads_fts WHERE leads_fts MATCH ")
            .bind::<Text, _>(fts_query)
            .sql(")"),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Hit {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
}

/// The best contacts for what the user typed, best first.
pub fn search_contacts(conn: &mut Conn, typed: &str, limit: i64) -> QueryResult<Vec<Hit>> {
    tiered(conn, "contacts_fts", typed, limit)
}

/// The best companies for what the user typed, best first.
pub fn search_companies(conn: &mut Conn, typed: &str, limit: i64) -> QueryResult<Vec<Hit>> {
    tiered(conn, "companies_fts", typed, limit)
}

/// The best leads for what the user typed, best first.
pub fn search_leads(conn: &mut Conn, typed: &str, limit: i64) -> QueryResult<Vec<Hit>> {
    tiered(conn, "leads_fts", typed, limit)
}

/// Runs `tiered_queries` in turn until `limit` distinct records are found; within a tier the
/// newest records come first.
fn tiered(conn: &mut Conn, table: &'static str, typed: &str, limit: i64) -> QueryResult<Vec<Hit>> {
    let wanted = usize::try_from(limit).unwrap_or(0);
    let mut hits: Vec<Hit> = Vec::with_capacity(wanted);
    for query in tiered_queries(typed) {
        if hits.len() >= wanted {
            break;
        }
        let found: Vec<Hit> = diesel::sql_query(format!(
            "SELECT rowid AS id FROM {table} WHERE {table} MATCH ? ORDER BY rowid DESC LIMIT ?"
        ))
        .bind::<Text, _>(query)
        .bind::<BigInt, _>(limit)
        .load(conn)?;
        for hit in found {
            if hits.len() < wanted && !hits.contains(&hit) {
                hits.push(hit);
            }
        }
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_words_become_quoted_prefix_terms() {
        assert_eq!(fts_query("Ada Lov").as_deref(), Some("\"Ada\"* \"Lov\"*"));
        assert_eq!(
            fts_query("ada@example.com").as_deref(),
            Some("\"ada\"* \"example\"* \"com\"*")
        );
        assert_eq!(
            fts_query(" \"* OR NEAR( ").as_deref(),
            Some("\"OR\"* \"NEAR\"*")
        );
        assert_eq!(fts_query("  -- "), None);
    }

    #[test]
    fn ranked_search_tries_whole_names_then_name_prefixes_then_any_field() {
        assert_eq!(
            tiered_queries("Ada lov"),
            vec![
                "name : (\"Ada\" \"lov\")".to_owned(),
                "name : (\"Ada\"* \"lov\"*)".to_owned(),
                "\"Ada\"* \"lov\"*".to_owned(),
            ]
        );
        assert!(tiered_queries(" ; ").is_empty());
    }

    #[test]
    fn phones_are_indexed_as_typed_as_digits_and_nationally() {
        assert_eq!(
            phone_terms("+1 (555) 123-4567"),
            "+1 (555) 123-4567 15551234567 5551234567"
        );
    }
}
