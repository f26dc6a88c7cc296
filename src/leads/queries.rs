//! Reading leads: one lead, and the prioritised list (highest score first) with its
//! filters, paged by a (score, id) cursor on the `leads_by_*` indexes.

use std::collections::HashMap;

use diesel::prelude::*;

use super::model::Lead;
use crate::db::Conn;
use crate::db::id_list::one_of;
use crate::db::schema::{lead_score_changes, lead_tags, leads, tags};

pub const PAGE_SIZE: i64 = 50;

pub fn find(conn: &mut Conn, id: i64) -> QueryResult<Option<Lead>> {
    leads::table
        .find(id)
        .select(Lead::as_select())
        .first(conn)
        .optional()
}

/// The (score, id) of the last row shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub score: i64,
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}~{}", self.score, self.id)
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let (score, id) = raw.split_once('~')?;
        Some(Self {
            score: score.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<String>,
    pub source: Option<String>,
    pub owner_id: Option<i64>,
    pub grade: Option<String>,
    pub tag: Option<String>,
    /// An FTS5 query from `search::fts_query` (what the user typed in the search box).
    pub fts: Option<String>,
    pub after: Option<Cursor>,
}

/// A page of leads, highest score first (ties newest first), and the cursor of the next
/// page if there is one.
pub fn list(conn: &mut Conn, filter: &ListFilter) -> QueryResult<(Vec<Lead>, Option<Cursor>)> {
    let mut query = leads::table
        .select(Lead::as_select())
        .order((leads::score.desc(), leads::id.desc()))
        .limit(PAGE_SIZE + 1)
        .into_boxed();
    if let Some(status) = &filter.status {
        query = query.filter(leads::status.eq(status.clone()));
    } else {
        // Converted leads live on as contacts: the working list leaves them out.
        query = query.filter(leads::status.ne("converted"));
    }
    if let Some(source) = &filter.source {
        query = query.filter(leads::source.eq(source.clone()));
    }
    if let Some(owner_id) = filter.owner_id {
        query = query.filter(leads::owner_id.eq(owner_id));
    }
    if let Some(grade) = &filter.grade {
        query = query.filter(leads::grade.eq(grade.clone()));
    }
    if let Some(tag) = &filter.tag {
        // An EXISTS probe of the tag link's primary key per candidate row, which stops at a
        // page's worth of matches instead of collecting every tagged lead first.
        let tagged = lead_tags::table
            .inner_join(tags::table)
            .filter(lead_tags::lead_id.eq(leads::id))
            .filter(tags::name.eq(tag.clone()));
        query = query.filter(diesel::dsl::exists(tagged));
    }
    if let Some(fts) = &filter.fts {
        query = query.filter(crate::search::leads_matching(fts.clone()));
    }
    if let Some(after) = filter.after {
        query = query.filter(
            leads::score
                .lt(after.score)
                .or(leads::score.eq(after.score).and(leads::id.lt(after.id))),
        );
    }
    let mut rows = query.load(conn)?;
    let next = if rows.len() > PAGE_SIZE as usize {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|last| Cursor {
            score: last.score,
            id: last.id,
        })
    } else {
        None
    };
    Ok((rows, next))
}

pub fn tags_of(conn: &mut Conn, ids: &[i64]) -> QueryResult<HashMap<i64, Vec<String>>> {
    let rows: Vec<(i64, String)> = lead_tags::table
        .inner_join(tags::table)
        .filter(one_of(lead_tags::lead_id, ids))
        .order((lead_tags::lead_id, tags::name))
        .select((lead_tags::lead_id, tags::name))
        .load(conn)?;
    let mut by_lead: HashMap<i64, Vec<String>> = HashMap::new();
    for (lead_id, name) in rows {
        by_lead.entry(lead_id).or_default().push(name);
    }
    Ok(by_lead)
}

pub fn set_tags(conn: &mut Conn, lead_id: i64, names: &[String]) -> QueryResult<()> {
    diesel::delete(lead_tags::table.filter(lead_tags::lead_id.eq(lead_id))).execute(conn)?;
    for tag_id in crate::contacts::tags::ensure(conn, names)? {
        diesel::insert_into(lead_tags::table)
            .values((lead_tags::lead_id.eq(lead_id), lead_tags::tag_id.eq(tag_id)))
            .execute(conn)?;
    }
    Ok(())
}

/// One row of a lead's score history.
#[derive(Debug, Clone, Queryable)]
pub struct ScoreChange {
    pub score: i64,
    pub grade: String,
    pub previous_score: i64,
    pub reason: String,
    pub recorded_at: chrono::NaiveDateTime,
}

pub fn score_history(conn: &mut Conn, lead_id: i64, limit: i64) -> QueryResult<Vec<ScoreChange>> {
    lead_score_changes::table
        .filter(lead_score_changes::lead_id.eq(lead_id))
        .order((
            lead_score_changes::recorded_at.desc(),
            lead_score_changes::id.desc(),
        ))
        .limit(limit)
        .select((
            lead_score_changes::score,
            lead_score_changes::grade,
            lead_score_changes::previous_score,
            lead_score_changes::reason,
            lead_score_changes::recorded_at,
        ))
        .load(conn)
}

/// What a converted lead became: ("Contact" | "Company" | "Deal", its path, its name), for
/// the records that still exist.
pub fn converted_into(
    conn: &mut Conn,
    lead: &Lead,
) -> QueryResult<Vec<(&'static str, String, String)>> {
    use crate::db::schema::{companies, contacts, deals};
    let mut links = Vec::new();
    if let Some(id) = lead.converted_contact_id
        && let Some((first, last)) = contacts::table
            .find(id)
            .select((contacts::first_name, contacts::last_name))
            .first::<(String, String)>(conn)
            .optional()?
    {
        let name = crate::contacts::contact::model::full_name(&first, &last);
        links.push(("Contact", format!("/contacts/{id}"), name));
    }
    if let Some(id) = lead.converted_company_id
        && let Some(name) = companies::table
            .find(id)
            .select(companies::name)
            .first::<String>(conn)
            .optional()?
    {
        links.push(("Company", format!("/companies/{id}"), name));
    }
    if let Some(id) = lead.converted_deal_id
        && let Some(title) = deals::table
            .find(id)
            .select(deals::title)
            .first::<String>(conn)
            .optional()?
    {
        links.push(("Deal", format!("/deals/{id}"), title));
    }
    Ok(links)
}
