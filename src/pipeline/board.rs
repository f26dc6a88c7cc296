//! `/pipeline`: the board. One column per open stage with its count, total and weighted
//! total, and the newest cards of each column; Won and Lost drop zones; filters by pipeline
//! and owner. The column figures come from one query on the covering index
//! `deals_board_cover`, the cards from one query reading a bounded range of `deals_on_board`
//! per column; companies and owners are loaded in one query each.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text, Timestamp};
use diesel::sqlite::Sqlite;
use serde::Deserialize;

use super::deal::queries::{company_names, user_names};
use super::model::{self, Pipeline, Stage};
use super::rules;
use super::view::{self, Totals};
use crate::auth::model::User;
use crate::auth::policy::{Permission, ViewCustomers, record_rights};
use crate::db::{self, Conn};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::extract::Authorized;
use crate::web::page::{Page, render};

/// Cards shown per column; the header counts all of them and links to the full list.
pub const CARDS_PER_COLUMN: i64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filter {
    pub pipeline_id: i64,
    /// Only this owner's deals.
    pub owner_id: Option<i64>,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct CardRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = BigInt)]
    pub value_minor: i64,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    pub owner_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    pub company_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub stage_id: i64,
    #[diesel(sql_type = Timestamp)]
    pub stage_entered_at: NaiveDateTime,
    #[diesel(sql_type = Integer)]
    pub version: i32,
}

type Boxed<'a> = diesel::query_builder::BoxedSqlQuery<'a, Sqlite, diesel::query_builder::SqlQuery>;

/// The cards query: one index range per column (`deals_on_board`, read backwards), joined
/// with UNION ALL, with its values bound.
fn cards_query<'a>(prefix: &str, filter: Filter, stage_ids: &[i64], per_column: i64) -> Boxed<'a> {
    let owner_clause = if filter.owner_id.is_some() {
        " AND owner_id = ?"
    } else {
        ""
    };
    let columns: Vec<String> = (0..stage_ids.len())
        .map(|index| {
            format!(
                "SELECT * FROM (SELECT id, title, value_minor, currency, owner_id, company_id,
                                       stage_id, stage_entered_at, version
                                FROM deals
                                WHERE pipeline_id = ? AND status = 'open' AND stage_id = ?{owner_clause}
                                ORDER BY stage_entered_at DESC, id DESC
                                LIMIT ?) AS column_{index}"
            )
        })
        .collect();
    let mut query =
        diesel::sql_query(format!("{prefix}{}", columns.join(" UNION ALL "))).into_boxed();
    for stage_id in stage_ids {
        query = query
            .bind::<BigInt, _>(filter.pipeline_id)
            .bind::<BigInt, _>(*stage_id);
        if let Some(owner_id) = filter.owner_id {
            query = query.bind::<BigInt, _>(owner_id);
        }
        query = query.bind::<BigInt, _>(per_column);
    }
    query
}

/// The newest `per_column` open deals of each of `stage_ids`, in one query.
pub fn cards(
    conn: &mut Conn,
    filter: Filter,
    stage_ids: &[i64],
    per_column: i64,
) -> QueryResult<Vec<CardRow>> {
    if stage_ids.is_empty() {
        return Ok(Vec::new());
    }
    cards_query("", filter, stage_ids, per_column).load(conn)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct TotalsRow {
    #[diesel(sql_type = BigInt)]
    pub stage_id: i64,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = BigInt)]
    pub deals: i64,
    #[diesel(sql_type = BigInt)]
    pub total: i64,
}

fn totals_query<'a>(prefix: &str, filter: Filter) -> Boxed<'a> {
    let owner_clause = if filter.owner_id.is_some() {
        " AND owner_id = ?"
    } else {
        ""
    };
    let sql = format!(
        "{prefix}SELECT stage_id, currency, COUNT(*) AS deals, SUM(value_minor) AS total
         FROM deals
         WHERE pipeline_id = ? AND status = 'open'{owner_clause}
         GROUP BY stage_id, currency"
    );
    let mut query = diesel::sql_query(sql)
        .into_boxed()
        .bind::<BigInt, _>(filter.pipeline_id);
    if let Some(owner_id) = filter.owner_id {
        query = query.bind::<BigInt, _>(owner_id);
    }
    query
}

/// Count and total of the open deals per stage and currency, read from the covering index
/// `deals_board_cover` in its order (no table reads, no sorting).
pub fn column_totals(conn: &mut Conn, filter: Filter) -> QueryResult<Vec<TotalsRow>> {
    totals_query("", filter).load(conn)
}

#[derive(QueryableByName)]
struct PlanStep {
    #[diesel(sql_type = Text)]
    detail: String,
}

/// The query plans SQLite chooses for the board's two queries (for tests and benchmark
/// notes): the column figures, then the cards, one line per step.
pub fn plans(
    conn: &mut Conn,
    filter: Filter,
    stage_ids: &[i64],
) -> QueryResult<(Vec<String>, Vec<String>)> {
    let details = |steps: Vec<PlanStep>| steps.into_iter().map(|step| step.detail).collect();
    let totals = totals_query("EXPLAIN QUERY PLAN ", filter).load(conn)?;
    let cards =
        cards_query("EXPLAIN QUERY PLAN ", filter, stage_ids, CARDS_PER_COLUMN).load(conn)?;
    Ok((details(totals), details(cards)))
}

/// A deal card as the viewer may see it.
#[derive(Debug, Clone)]
pub struct Card {
    pub id: i64,
    pub title: String,
    /// `None` for those who may not see values.
    pub value: Option<String>,
    pub company: Option<(i64, String)>,
    pub owner_name: String,
    pub owner_initials: String,
    pub stage_id: i64,
    pub days_in_stage: i64,
    pub days_text: String,
    pub rotting: bool,
    pub version: i32,
    pub can_move: bool,
}

/// A column header's figures.
#[derive(Debug, Clone)]
pub struct ColumnHead {
    pub stage_id: i64,
    pub name: String,
    pub win_probability: i32,
    pub rotting_days: Option<i32>,
    pub count: i64,
    /// Compact totals, e.g. "€120k · $30k"; `None` when values are hidden.
    pub total: Option<String>,
    pub weighted: Option<String>,
    /// Exact totals for the tooltip.
    pub total_exact: Option<String>,
    pub weighted_exact: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub head: ColumnHead,
    pub cards: Vec<Card>,
    /// Open deals in this column beyond the cards shown.
    pub more: i64,
}

/// Everything the board shows for one pipeline.
#[derive(Debug, Clone)]
pub struct Board {
    pub columns: Vec<Column>,
    pub count: i64,
    pub totals: Totals,
}

/// Turns the stored rows of some cards into what the viewer sees, with company and owner
/// names loaded in one query each.
pub fn present_cards(
    conn: &mut Conn,
    rows: Vec<CardRow>,
    stages: &[Stage],
    viewer: &User,
    now: NaiveDateTime,
) -> QueryResult<Vec<Card>> {
    let mut company_ids: Vec<i64> = rows.iter().filter_map(|row| row.company_id).collect();
    company_ids.sort_unstable();
    company_ids.dedup();
    let mut owner_ids: Vec<i64> = rows.iter().filter_map(|row| row.owner_id).collect();
    owner_ids.sort_unstable();
    owner_ids.dedup();
    let companies = company_names(conn, &company_ids)?;
    let owners = user_names(conn, &owner_ids)?;
    let rotting_days: HashMap<i64, Option<i32>> = stages
        .iter()
        .map(|stage| (stage.id, stage.rotting_days))
        .collect();
    let show_values = viewer.role.can(Permission::ViewDealValues);
    Ok(rows
        .into_iter()
        .map(|row| {
            let owner_name = row
                .owner_id
                .and_then(|id| owners.get(&id).cloned())
                .unwrap_or_default();
            let days = rules::days_in_stage(row.stage_entered_at, now);
            Card {
                id: row.id,
                value: show_values.then(|| view::value(row.value_minor, &row.currency)),
                company: row
                    .company_id
                    .and_then(|id| companies.get(&id).map(|name| (id, name.clone()))),
                owner_initials: view::initials(&owner_name),
                owner_name,
                stage_id: row.stage_id,
                days_in_stage: days,
                days_text: view::days(days),
                rotting: rules::is_rotting(
                    row.stage_entered_at,
                    rotting_days.get(&row.stage_id).copied().flatten(),
                    now,
                ),
                version: row.version,
                can_move: record_rights(viewer, row.owner_id).edit,
                title: row.title,
            }
        })
        .collect())
}

/// The column headers of the pipeline's stages, from the totals query.
pub fn heads(
    conn: &mut Conn,
    filter: Filter,
    stages: &[Stage],
    viewer: &User,
) -> QueryResult<(Vec<ColumnHead>, Totals)> {
    let show_values = viewer.role.can(Permission::ViewDealValues);
    let probabilities: HashMap<i64, i32> = stages
        .iter()
        .map(|stage| (stage.id, stage.win_probability))
        .collect();
    let mut per_stage: HashMap<i64, (i64, Totals)> = HashMap::new();
    for row in column_totals(conn, filter)? {
        let probability = probabilities.get(&row.stage_id).copied().unwrap_or(0);
        let entry = per_stage.entry(row.stage_id).or_default();
        entry.0 += row.deals;
        entry.1.add_sum(
            &row.currency,
            row.total,
            rules::weighted_value(row.total, probability),
        );
    }
    let mut all = Totals::default();
    let heads = stages
        .iter()
        .map(|stage| {
            let (count, totals) = per_stage.remove(&stage.id).unwrap_or_default();
            all.merge(&totals);
            ColumnHead {
                stage_id: stage.id,
                name: stage.name.clone(),
                win_probability: stage.win_probability,
                rotting_days: stage.rotting_days,
                count,
                total: show_values.then(|| totals.total_text(false)),
                weighted: show_values.then(|| totals.weighted_text(false)),
                total_exact: show_values.then(|| totals.total_text(true)),
                weighted_exact: show_values.then(|| totals.weighted_text(true)),
            }
        })
        .collect();
    Ok((heads, all))
}

pub fn load(
    conn: &mut Conn,
    filter: Filter,
    stages: &[Stage],
    viewer: &User,
    now: NaiveDateTime,
) -> QueryResult<Board> {
    let (heads, totals) = heads(conn, filter, stages, viewer)?;
    let stage_ids: Vec<i64> = stages.iter().map(|stage| stage.id).collect();
    let rows = cards(conn, filter, &stage_ids, CARDS_PER_COLUMN)?;
    let mut by_stage: HashMap<i64, Vec<Card>> = HashMap::new();
    for card in present_cards(conn, rows, stages, viewer, now)? {
        by_stage.entry(card.stage_id).or_default().push(card);
    }
    let count = heads.iter().map(|head| head.count).sum();
    let columns = heads
        .into_iter()
        .map(|head| {
            let cards = by_stage.remove(&head.stage_id).unwrap_or_default();
            Column {
                more: (head.count - cards.len() as i64).max(0),
                head,
                cards,
            }
        })
        .collect();
    Ok(Board {
        columns,
        count,
        totals,
    })
}

/// `?owner=me` or `?owner=<id>`: the owner whose deals to show.
pub fn owner_filter(raw: &str, viewer: &User) -> Option<i64> {
    match raw.trim() {
        "me" | "mine" => Some(viewer.id),
        other => other.parse().ok(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct BoardQuery {
    #[serde(default)]
    pipeline: String,
    #[serde(default)]
    owner: String,
}

#[derive(Template)]
#[template(path = "pipeline/board.html")]
struct BoardPage {
    page: Page,
    pipelines: Vec<Pipeline>,
    pipeline: Pipeline,
    board: Board,
    stage_options: Vec<(i64, String)>,
    owners: Vec<(i64, String)>,
    owner: String,
    owner_id: Option<i64>,
    can_create: bool,
    board_url: String,
    csrf_token: String,
    total: Option<String>,
    weighted: Option<String>,
}

impl BoardPage {
    fn owner_is(&self, id: &i64) -> bool {
        self.owner_id == Some(*id) && self.owner != "me"
    }

    fn list_url(&self, stage_id: &i64) -> String {
        let mut url = format!(
            "/deals?pipeline={}&stage={stage_id}&status=open",
            self.pipeline.id
        );
        if let Some(owner_id) = self.owner_id {
            url.push_str(&format!("&owner={owner_id}"));
        }
        url
    }
}

async fn board(
    state: web::Data<AppState>,
    viewer: Authorized<ViewCustomers>,
    query: web::Query<BoardQuery>,
) -> Result<HttpResponse, AppError> {
    let user = viewer.user.clone();
    let now = state.now();
    let pipeline_id = query.pipeline.trim().parse::<i64>().ok();
    let owner = query.owner.trim().to_owned();
    let owner_id = owner_filter(&owner, &user);
    let loaded = db::run(&state.pool, move |conn| {
        let pipelines = model::pipelines(conn)?;
        let Some(pipeline) = model::pipeline_or_first(conn, pipeline_id)? else {
            return Ok(None);
        };
        let stages = model::stages(conn, pipeline.id)?;
        let filter = Filter {
            pipeline_id: pipeline.id,
            owner_id,
        };
        let board = load(conn, filter, &stages, &user, now)?;
        let owners = super::deal::queries::owner_options(conn, owner_id)?;
        Ok(Some((pipelines, pipeline, stages, board, owners)))
    })
    .await?;
    let Some((pipelines, pipeline, stages, board, owners)) = loaded else {
        return Err(AppError::NotFound);
    };
    let show_values = viewer.user.role.can(Permission::ViewDealValues);
    let owner = if owner_id == Some(viewer.user.id) {
        "me".to_owned()
    } else {
        owner_id.map(|id| id.to_string()).unwrap_or_default()
    };
    let mut board_url = format!("/pipeline?pipeline={}", pipeline.id);
    if !owner.is_empty() {
        board_url.push_str(&format!("&owner={owner}"));
    }
    let page = viewer.page("Pipeline");
    render(&BoardPage {
        csrf_token: page.csrf_token.clone(),
        page,
        total: show_values.then(|| board.totals.total_text(false)),
        weighted: show_values.then(|| board.totals.weighted_text(false)),
        stage_options: stages.iter().map(|s| (s.id, s.name.clone())).collect(),
        pipelines,
        pipeline,
        board,
        owners,
        owner,
        owner_id,
        can_create: viewer.user.role.can(Permission::CreateCustomers),
        board_url,
    })
}

/// What the board's script gets back after a move: the card (while still open) and the
/// headers of the columns it left and entered, each replacing the element with its id.
#[derive(Template)]
#[template(path = "pipeline/_moved.html")]
pub struct MovedFragment {
    pub card: Option<Card>,
    pub heads: Vec<ColumnHead>,
    /// The board's summary line: open deals, total and weighted total.
    pub count: i64,
    pub total: Option<String>,
    pub weighted: Option<String>,
    pub stage_options: Vec<(i64, String)>,
    pub board_url: String,
    pub csrf_token: String,
}

/// The fragment for a move of `deal_id` between `stage_ids`, as the board filtered by
/// `filter` shows them.
pub fn moved_fragment(
    conn: &mut Conn,
    filter: Filter,
    deal: &super::deal::model::Deal,
    stage_ids: &[i64],
    viewer: &User,
    now: NaiveDateTime,
    csrf_token: &str,
) -> QueryResult<MovedFragment> {
    let stages = model::stages(conn, filter.pipeline_id)?;
    let (heads, totals) = heads(conn, filter, &stages, viewer)?;
    let show_values = viewer.role.can(Permission::ViewDealValues);
    let card = if deal.is_open() {
        let row = CardRow {
            id: deal.id,
            title: deal.title.clone(),
            value_minor: deal.value_minor,
            currency: deal.currency.clone(),
            owner_id: deal.owner_id,
            company_id: deal.company_id,
            stage_id: deal.stage_id,
            stage_entered_at: deal.stage_entered_at,
            version: deal.version,
        };
        present_cards(conn, vec![row], &stages, viewer, now)?.pop()
    } else {
        None
    };
    let mut board_url = format!("/pipeline?pipeline={}", filter.pipeline_id);
    if let Some(owner_id) = filter.owner_id {
        board_url.push_str(&format!("&owner={owner_id}"));
    }
    Ok(MovedFragment {
        card,
        count: heads.iter().map(|head| head.count).sum(),
        total: show_values.then(|| totals.total_text(false)),
        weighted: show_values.then(|| totals.weighted_text(false)),
        heads: heads
            .into_iter()
            .filter(|head| stage_ids.contains(&head.stage_id))
            .collect(),
        stage_options: stages.iter().map(|s| (s.id, s.name.clone())).collect(),
        board_url,
        csrf_token: csrf_token.to_owned(),
    })
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/pipeline", web::get().to(board));
}
