//! Full-text search over contacts and companies (later: leads, deals, tickets, articles).
//!
//! This is the one module that knows the index is SQLite FTS5 (`contacts_fts`,
//! `companies_fts`, rowid = record id). Callers re-index a record in the same transaction
//! as every write to it, and use `contacts_matching`/`companies_matching` as a filter or
//! `search_*` for ranked hits. Another backend replaces this module only.

pub mod routes;

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Text};
use diesel::sqlite::Sqlite;

use crate::db::Conn;
use crate::db::schema::{companies, contact_emails, contact_phones, contacts};

/// Turns what a user typed into an FTS5 query: every word must match as a prefix. Words are
/// quoted, so FTS5 operators in the input are taken literally. `None` if nothing searchable.
pub fn fts_query(typed: &str) -> Option<String> {
    let words: Vec<String> = typed
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .take(8)
        .map(|word| format!("\"{word}\"*"))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
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
    diesel::sql_query("DELETE FROM contacts_fts WHERE rowid = ?")
        .bind::<BigInt, _>(contact_id)
        .execute(conn)
        .map(|_| ())
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
    diesel::sql_query("DELETE FROM companies_fts WHERE rowid = ?")
        .bind::<BigInt, _>(company_id)
        .execute(conn)
        .map(|_| ())
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

/// Indexes the contacts with ids in `first..=last` that are not indexed yet, in one
/// statement (bulk loads such as `seed-demo`; single writes use `index_contact`).
pub fn index_contacts_range(conn: &mut Conn, first: i64, last: i64) -> QueryResult<()> {
    register_phone_terms(conn)?;
    diesel::sql_query(
        "INSERT INTO contacts_fts (rowid, name, emails, phones, company, job_title) \
         SELECT c.id, c.first_name || ' ' || c.last_name, \
           COALESCE((SELECT group_concat(e.email, ' ') FROM contact_emails e \
                     WHERE e.contact_id = c.id), ''), \
           COALESCE((SELECT group_concat(rapport_phone_terms(p.phone), ' ') \
                     FROM contact_phones p WHERE p.contact_id = c.id), ''), \
           COALESCE(co.name, ''), COALESCE(c.job_title, '') \
         FROM contacts c LEFT JOIN companies co ON co.id = c.company_id \
         WHERE c.id BETWEEN ? AND ?",
    )
    .bind::<BigInt, _>(first)
    .bind::<BigInt, _>(last)
    .execute(conn)
    .map(|_| ())
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

#[derive(Debug, Clone, QueryableByName)]
pub struct Hit {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// Lower is better (bm25).
    #[diesel(sql_type = Double)]
    pub rank: f64,
}

/// The best-ranked contacts for what the user typed.
pub fn search_contacts(conn: &mut Conn, typed: &str, limit: i64) -> QueryResult<Vec<Hit>> {
    ranked(conn, "contacts_fts", typed, limit)
}

/// The best-ranked companies for what the user typed.
pub fn search_companies(conn: &mut Conn, typed: &str, limit: i64) -> QueryResult<Vec<Hit>> {
    ranked(conn, "companies_fts", typed, limit)
}

fn ranked(conn: &mut Conn, table: &'static str, typed: &str, limit: i64) -> QueryResult<Vec<Hit>> {
    let Some(query) = fts_query(typed) else {
        return Ok(Vec::new());
    };
    diesel::sql_query(format!(
        "SELECT rowid AS id, rank FROM {table} WHERE {table} MATCH ? ORDER BY rank LIMIT ?"
    ))
    .bind::<Text, _>(query)
    .bind::<BigInt, _>(limit)
    .load(conn)
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
    fn phones_are_indexed_as_typed_as_digits_and_nationally() {
        assert_eq!(
            phone_terms("+1 (555) 123-4567"),
            "+1 (555) 123-4567 15551234567 5551234567"
        );
    }
}
