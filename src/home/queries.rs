//! The home page's queries, one per section, each on an index:
//! - my overdue and today's tasks: `tasks_by_assignee`;
//! - my deals closing this month: `deals_by_owner` (owner, status, expected close);
//! - my rotting deals: `deals_by_owner_in_stage` (owner, status, entered the stage), longest
//!   in their stage first, read until enough of them rot;
//! - recent activity on my records: `contacts_by_owner` / `companies_by_owner` for my records,
//!   then `timeline_by_contact` / `timeline_by_company` from the cut-off on;
//! - the team's pipeline totals: `deal_board_totals`, kept by triggers on `deals`.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::Conn;
use crate::db::schema::{companies, contacts, deals, pipeline_stages, timeline_entries, users};
use crate::pipeline::rules;

/// An open deal of mine, with its stage and company.
#[derive(Debug, Clone, Queryable)]
pub struct MyDeal {
    pub id: i64,
    pub title: String,
    pub value_minor: i64,
    pub currency: String,
    pub expected_close_on: Option<NaiveDate>,
    pub stage_entered_at: NaiveDateTime,
    pub stage_name: String,
    pub rotting_days: Option<i32>,
    pub company_name: Option<String>,
}

macro_rules! my_open_deals {
    ($owner_id:expr) => {
        deals::table
            .inner_join(pipeline_stages::table.on(pipeline_stages::id.eq(deals::stage_id)))
            .left_join(companies::table.on(companies::id.nullable().eq(deals::company_id)))
            .filter(deals::owner_id.eq($owner_id))
            .filter(deals::status.eq("open"))
            .select((
                deals::id,
                deals::title,
                deals::value_minor,
                deals::currency,
                deals::expected_close_on,
                deals::stage_entered_at,
                pipeline_stages::name,
                pipeline_stages::rotting_days,
                companies::name.nullable(),
            ))
    };
}

/// My open deals expected to close in `[first, last]`, soonest first.
pub fn closing_between(
    conn: &mut Conn,
    owner_id: i64,
    first: NaiveDate,
    last: NaiveDate,
    limit: i64,
) -> QueryResult<Vec<MyDeal>> {
    my_open_deals!(owner_id)
        .filter(deals::expected_close_on.ge(first))
        .filter(deals::expected_close_on.le(last))
        .order((deals::expected_close_on.asc(), deals::id.asc()))
        .limit(limit)
        .load(conn)
}

/// My open deals that are rotting at `now` (longer in their stage than its threshold),
/// longest in their stage first.
pub fn rotting(
    conn: &mut Conn,
    owner_id: i64,
    now: NaiveDateTime,
    limit: usize,
) -> QueryResult<Vec<MyDeal>> {
    let shortest: Option<i32> = pipeline_stages::table
        .select(diesel::dsl::min(pipeline_stages::rotting_days))
        .first(conn)?;
    let Some(shortest) = shortest else {
        return Ok(Vec::new());
    };
    // No deal that entered its stage after this can rot anywhere yet.
    let cutoff = now - Duration::days(i64::from(shortest) + 1);
    // Longest in their stage first, read lazily from `deals_by_owner_in_stage` until
    // `limit` of them rot: deals in stages with longer thresholds are passed over.
    let candidates = my_open_deals!(owner_id)
        .filter(pipeline_stages::rotting_days.is_not_null())
        .filter(deals::stage_entered_at.le(cutoff))
        .order((deals::stage_entered_at.asc(), deals::id.asc()))
        .load_iter::<MyDeal, DefaultLoadingMode>(conn)?;
    let mut rotting = Vec::with_capacity(limit);
    for deal in candidates {
        let deal = deal?;
        if rules::is_rotting(deal.stage_entered_at, deal.rotting_days, now) {
            rotting.push(deal);
            if rotting.len() == limit {
                break;
            }
        }
    }
    Ok(rotting)
}

/// A timeline entry on one of my records.
#[derive(Debug, Clone, Queryable)]
pub struct Activity {
    pub id: i64,
    pub contact_id: Option<i64>,
    pub company_id: Option<i64>,
    pub deal_id: Option<i64>,
    pub kind: String,
    pub occurred_at: NaiveDateTime,
    pub body: String,
    pub author_name: Option<String>,
    pub contact_first_name: Option<String>,
    pub contact_last_name: Option<String>,
    pub company_name: Option<String>,
}

/// The latest timeline entries since `since` on the contacts and companies `owner_id` owns,
/// newest first.
pub fn recent_activity(
    conn: &mut Conn,
    owner_id: i64,
    since: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Activity>> {
    // The records' names are joined in; which records are mine is asked separately.
    let (owned_contacts, owned_companies) =
        diesel::alias!(contacts as owned_contacts, companies as owned_companies);
    let my_contacts = owned_contacts
        .filter(owned_contacts.field(contacts::owner_id).eq(owner_id))
        .select(owned_contacts.field(contacts::id).nullable());
    let my_companies = owned_companies
        .filter(owned_companies.field(companies::owner_id).eq(owner_id))
        .select(owned_companies.field(companies::id).nullable());
    timeline_entries::table
        .left_join(users::table.on(users::id.nullable().eq(timeline_entries::author_id)))
        .left_join(contacts::table.on(contacts::id.nullable().eq(timeline_entries::contact_id)))
        .left_join(companies::table.on(companies::id.nullable().eq(timeline_entries::company_id)))
        .filter(
            timeline_entries::contact_id
                .eq_any(my_contacts)
                .or(timeline_entries::company_id.eq_any(my_companies)),
        )
        .filter(timeline_entries::occurred_at.ge(since))
        .order((
            timeline_entries::occurred_at.desc(),
            timeline_entries::id.desc(),
        ))
        .select((
            timeline_entries::id,
            timeline_entries::contact_id,
            timeline_entries::company_id,
            timeline_entries::deal_id,
            timeline_entries::kind,
            timeline_entries::occurred_at,
            timeline_entries::body,
            users::display_name.nullable(),
            contacts::first_name.nullable(),
            contacts::last_name.nullable(),
            companies::name.nullable(),
        ))
        .limit(limit)
        .load(conn)
}

/// Open deals of one pipeline in one currency.
#[derive(Debug, Clone, QueryableByName)]
pub struct PipelineTotalsRow {
    #[diesel(sql_type = BigInt)]
    pub pipeline_id: i64,
    #[diesel(sql_type = Text)]
    pub pipeline_name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub currency: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub deals: i64,
    #[diesel(sql_type = BigInt)]
    pub total: i64,
    /// Each stage's total weighted by its probability, rounded half up per stage and
    /// currency, as the board's column headers are.
    #[diesel(sql_type = BigInt)]
    pub weighted: i64,
}

/// Every pipeline (in order) with its open deals' count, total and weighted total per
/// currency; a pipeline without open deals has one row with no currency.
pub fn pipeline_totals(conn: &mut Conn) -> QueryResult<Vec<PipelineTotalsRow>> {
    // From the board's trigger-kept figures (a few rows per stage), not the deals.
    diesel::sql_query(
        "SELECT p.id AS pipeline_id, p.name AS pipeline_name, t.currency AS currency,
                COALESCE(SUM(t.deals), 0) AS deals,
                COALESCE(SUM(t.total), 0) AS total,
                COALESCE(SUM((t.total * MAX(0, MIN(100, s.win_probability)) + 50) / 100), 0)
                    AS weighted
         FROM pipelines p
         LEFT JOIN (SELECT pipeline_id, stage_id, currency, SUM(deals) AS deals,
                           SUM(total_minor) AS total
                    FROM deal_board_totals
                    WHERE deals > 0
                    GROUP BY pipeline_id, stage_id, currency) t ON t.pipeline_id = p.id
         LEFT JOIN pipeline_stages s ON s.id = t.stage_id
         GROUP BY p.id, p.name, p.position, t.currency
         ORDER BY p.position, p.id, t.currency",
    )
    .load(conn)
}
