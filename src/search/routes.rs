//! `/search?q=`: the search box in the navigation, across contacts, companies and leads,
//! best matches first.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use askama::Template;
use diesel::prelude::*;
use serde::Deserialize;

use crate::auth::policy::ViewCustomers;
use crate::db::id_list::one_of;
use crate::db::schema::{companies, contact_emails, contact_phones, contacts, leads};
use crate::db::{self, Conn};
use crate::error::AppError;
use crate::leads::scoring::engine::Points;
use crate::web::AppState;
use crate::web::extract::Authorized;
use crate::web::page::{Page, render};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/search", web::get().to(search));
}

/// How many hits of each kind the page shows.
const LIMIT: i64 = 25;
/// Longer input is cut: nobody types more into a search box, and it bounds the work.
const MAX_QUERY_CHARS: usize = 200;

struct ContactHit {
    id: i64,
    name: String,
    job_title: String,
    company: String,
    email: String,
    phone: String,
    archived: bool,
}

struct CompanyHit {
    id: i64,
    name: String,
    domain: String,
    industry: String,
    archived: bool,
}

struct LeadHit {
    id: i64,
    name: String,
    email: String,
    company: String,
    score: String,
    grade: String,
    converted: bool,
}

#[derive(Template)]
#[template(path = "search/index.html")]
struct SearchPage {
    page: Page,
    q: String,
    searched: bool,
    contacts: Vec<ContactHit>,
    companies: Vec<CompanyHit>,
    leads: Vec<LeadHit>,
    /// `/leads?q=…`: every matching lead, in the list's order.
    leads_link: String,
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn search(
    state: web::Data<AppState>,
    me: Authorized<ViewCustomers>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, AppError> {
    let q: String = query.q.trim().chars().take(MAX_QUERY_CHARS).collect();
    let searched = crate::search::fts_query(&q).is_some();
    let (contacts, companies, leads) = if searched {
        let typed = q.clone();
        db::run(&state.pool, move |conn| {
            Ok((
                contact_hits(conn, &typed)?,
                company_hits(conn, &typed)?,
                lead_hits(conn, &typed)?,
            ))
        })
        .await?
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    let leads_link = format!(
        "/leads?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &q)
            .finish()
    );
    let title = if q.is_empty() {
        "Search".to_owned()
    } else {
        format!("Search: {q}")
    };
    render(&SearchPage {
        page: me.page(&title),
        q,
        searched,
        contacts,
        companies,
        leads,
        leads_link,
    })
}

type ContactRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<chrono::NaiveDateTime>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The ranked contacts, with what the page shows of each in one query.
fn contact_hits(conn: &mut Conn, typed: &str) -> QueryResult<Vec<ContactHit>> {
    let hits = crate::search::search_contacts(conn, typed, LIMIT)?;
    if hits.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = hits.iter().map(|hit| hit.id).collect();
    let rows: Vec<ContactRow> = contacts::table
        .left_join(companies::table)
        .left_join(
            contact_emails::table.on(contact_emails::contact_id
                .eq(contacts::id)
                .and(contact_emails::is_primary)),
        )
        .left_join(
            contact_phones::table.on(contact_phones::contact_id
                .eq(contacts::id)
                .and(contact_phones::is_primary)),
        )
        .filter(one_of(contacts::id, &ids))
        .select((
            contacts::id,
            contacts::first_name,
            contacts::last_name,
            contacts::job_title,
            contacts::archived_at,
            companies::name.nullable(),
            contact_emails::email.nullable(),
            contact_phones::phone.nullable(),
        ))
        .load(conn)?;
    let mut by_id: HashMap<i64, ContactHit> = HashMap::with_capacity(rows.len());
    for (id, first, last, job_title, archived_at, company, email, phone) in rows {
        by_id.entry(id).or_insert_with(|| ContactHit {
            id,
            name: format!("{first} {last}").trim().to_owned(),
            job_title: job_title.unwrap_or_default(),
            company: company.unwrap_or_default(),
            email: email.unwrap_or_default(),
            phone: phone.unwrap_or_default(),
            archived: archived_at.is_some(),
        });
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

type CompanyRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<chrono::NaiveDateTime>,
);

/// The ranked companies, with what the page shows of each in one query.
fn company_hits(conn: &mut Conn, typed: &str) -> QueryResult<Vec<CompanyHit>> {
    let hits = crate::search::search_companies(conn, typed, LIMIT)?;
    if hits.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = hits.iter().map(|hit| hit.id).collect();
    let rows: Vec<CompanyRow> = companies::table
        .filter(one_of(companies::id, &ids))
        .select((
            companies::id,
            companies::name,
            companies::domain,
            companies::industry,
            companies::archived_at,
        ))
        .load(conn)?;
    let mut by_id: HashMap<i64, CompanyHit> = rows
        .into_iter()
        .map(|(id, name, domain, industry, archived_at)| {
            (
                id,
                CompanyHit {
                    id,
                    name,
                    domain: domain.unwrap_or_default(),
                    industry: industry.unwrap_or_default(),
                    archived: archived_at.is_some(),
                },
            )
        })
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

type LeadRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    String,
    String,
);

/// The ranked leads, with what the page shows of each in one query.
fn lead_hits(conn: &mut Conn, typed: &str) -> QueryResult<Vec<LeadHit>> {
    let hits = crate::search::search_leads(conn, typed, LIMIT)?;
    if hits.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = hits.iter().map(|hit| hit.id).collect();
    let rows: Vec<LeadRow> = leads::table
        .filter(one_of(leads::id, &ids))
        .select((
            leads::id,
            leads::first_name,
            leads::last_name,
            leads::email,
            leads::company_name,
            leads::score,
            leads::grade,
            leads::status,
        ))
        .load(conn)?;
    let mut by_id: HashMap<i64, LeadHit> = rows
        .into_iter()
        .map(|(id, first, last, email, company, score, grade, status)| {
            let name = crate::contacts::contact::model::full_name(&first, &last);
            let email = email.unwrap_or_default();
            let name = match (name.is_empty(), email.is_empty()) {
                (false, _) => name,
                (true, false) => email.clone(),
                (true, true) => format!("Lead #{id}"),
            };
            (
                id,
                LeadHit {
                    id,
                    name,
                    email,
                    company: company.unwrap_or_default(),
                    score: Points(score).unsigned_label(),
                    grade,
                    converted: status == "converted",
                },
            )
        })
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}
