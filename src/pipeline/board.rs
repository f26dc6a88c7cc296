//! `/pipeline`: the board. One column per open stage with its count, total and weighted
//! total, and the newest cards of each column; Won and Lost drop zones; filters by pipeline
//! and owner. The column figures come from `deal_board_totals`, which triggers on `deals`
//! keep current, so a board reads a few dozen rows however many deals are open; each
//! column's cards are one bounded range of the index `deals_on_board`, read by the same
//! prepared statement with the company and owner joined in.

use std::collections::{BTreeMap, HashMap};

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use serde::Deserialize;

use super::model::{self, Pipeline, Stage};
use super::rules;
use super::view::{self, Totals};
use crate::auth::model::User;
use crate::auth::policy::{Permission, ViewCustomers, record_rights};
use crate::db::schema::{companies, deal_board_totals, deals, users};
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

/// A card as stored: the deal's board fields with its company's and owner's names.
#[derive(Debug, Clone, Queryable)]
pub struct CardRow {
    pub id: i64,
    pub title: String,
    pub value_minor: i64,
    pub currency: String,
    pub owner_id: Option<i64>,
    pub company_id: Option<i64>,
    pub stage_id: i64,
    pub stage_entered_at: NaiveDateTime,
    pub version: i32,
    pub company_name: Option<String>,
    pub owner_name: Option<String>,
}

type CardColumns = (
    deals::id,
    deals::title,
    deals::value_minor,
    deals::currency,
    deals::owner_id,
    deals::company_id,
    deals::stage_id,
    deals::stage_entered_at,
    deals::version,
    diesel::dsl::Nullable<companies::name>,
    diesel::dsl::Nullable<users::display_name>,
);

fn card_columns() -> CardColumns {
    (
        deals::id,
        deals::title,
        deals::value_minor,
        deals::currency,
        deals::owner_id,
        deals::company_id,
        deals::stage_id,
        deals::stage_entered_at,
        deals::version,
        companies::name.nullable(),
        users::display_name.nullable(),
    )
}

type CardsQuery<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::Select<
        diesel::dsl::LeftJoin<diesel::dsl::LeftJoin<deals::table, companies::table>, users::table>,
        CardColumns,
    >,
    Sqlite,
>;

fn cards_base<'a>() -> CardsQuery<'a> {
    deals::table
        .left_join(companies::table)
        .left_join(users::table)
        .select(card_columns())
        .into_boxed()
}

/// The newest open deals of one column: a range of `deals_on_board`, read backwards. The
/// SQL is the same for every column, so each is a run of one cached prepared statement.
fn column_query<'a>(filter: Filter, stage_id: i64, per_column: i64) -> CardsQuery<'a> {
    let mut query = cards_base()
        .filter(deals::pipeline_id.eq(filter.pipeline_id))
        .filter(deals::status.eq(model::Status::Open.as_str()))
        .filter(deals::stage_id.eq(stage_id));
    if let Some(owner_id) = filter.owner_id {
        query = query.filter(deals::owner_id.eq(owner_id));
    }
    query
        .order((deals::stage_entered_at.desc(), deals::id.desc()))
        .limit(per_column)
}

/// The newest `per_column` open deals of each of `stage_ids`.
pub fn cards(
    conn: &mut Conn,
    filter: Filter,
    stage_ids: &[i64],
    per_column: i64,
) -> QueryResult<Vec<CardRow>> {
    let mut rows = Vec::with_capacity(stage_ids.len() * per_column as usize);
    for stage_id in stage_ids {
        rows.extend(column_query(filter, *stage_id, per_column).load::<CardRow>(conn)?);
    }
    Ok(rows)
}

/// One deal as a card, whatever its status.
pub fn card_row(conn: &mut Conn, deal_id: i64) -> QueryResult<Option<CardRow>> {
    cards_base()
        .filter(deals::id.eq(deal_id))
        .load::<CardRow>(conn)
        .map(|rows| rows.into_iter().next())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalsRow {
    pub stage_id: i64,
    pub currency: String,
    pub deals: i64,
    pub total: i64,
}

type TotalsQuery<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::Select<
        deal_board_totals::table,
        (
            deal_board_totals::stage_id,
            deal_board_totals::currency,
            deal_board_totals::deals,
            deal_board_totals::total_minor,
        ),
    >,
    Sqlite,
>;

fn totals_query<'a>(filter: Filter) -> TotalsQuery<'a> {
    let mut query = deal_board_totals::table
        .select((
            deal_board_totals::stage_id,
            deal_board_totals::currency,
            deal_board_totals::deals,
            deal_board_totals::total_minor,
        ))
        .into_boxed()
        .filter(deal_board_totals::pipeline_id.eq(filter.pipeline_id))
        .filter(deal_board_totals::deals.gt(0));
    if let Some(owner_id) = filter.owner_id {
        query = query.filter(deal_board_totals::owner_key.eq(owner_id));
    }
    query
}

/// Count and total of the open deals per stage and currency, summed over the owners'
/// rows of `deal_board_totals`, ordered by stage and currency.
pub fn column_totals(conn: &mut Conn, filter: Filter) -> QueryResult<Vec<TotalsRow>> {
    let mut sums: BTreeMap<(i64, String), (i64, i64)> = BTreeMap::new();
    for (stage_id, currency, deals, total) in
        totals_query(filter).load::<(i64, String, i64, i64)>(conn)?
    {
        let entry = sums.entry((stage_id, currency)).or_default();
        entry.0 += deals;
        entry.1 += total;
    }
    Ok(sums
        .into_iter()
        .map(|((stage_id, currency), (deals, total))| TotalsRow {
            stage_id,
            currency,
            deals,
            total,
        })
        .collect())
}

/// The same figures counted from the deals themselves: what the triggers must agree with.
pub fn column_totals_counted(conn: &mut Conn, filter: Filter) -> QueryResult<Vec<TotalsRow>> {
    let mut query = deals::table
        .filter(deals::pipeline_id.eq(filter.pipeline_id))
        .filter(deals::status.eq(model::Status::Open.as_str()))
        .select((deals::stage_id, deals::currency, deals::value_minor))
        .into_boxed();
    if let Some(owner_id) = filter.owner_id {
        query = query.filter(deals::owner_id.eq(owner_id));
    }
    let mut sums: BTreeMap<(i64, String), (i64, i64)> = BTreeMap::new();
    for (stage_id, currency, value) in query.load::<(i64, String, i64)>(conn)? {
        let entry = sums.entry((stage_id, currency)).or_default();
        entry.0 += 1;
        entry.1 += value;
    }
    Ok(sums
        .into_iter()
        .map(|((stage_id, currency), (deals, total))| TotalsRow {
            stage_id,
            currency,
            deals,
            total,
        })
        .collect())
}

#[derive(QueryableByName)]
struct PlanStep {
    #[diesel(sql_type = Text)]
    detail: String,
}

fn plan_of(conn: &mut Conn, sql: &str) -> QueryResult<Vec<String>> {
    // The statement's text with a literal in place of each value: the plan's choice of
    // index does not depend on them.
    let text = sql
        .split(" -- binds:")
        .next()
        .unwrap_or(sql)
        .replace('?', "1");
    let steps: Vec<PlanStep> =
        diesel::sql_query(format!("EXPLAIN QUERY PLAN {text}")).load(conn)?;
    Ok(steps.into_iter().map(|step| step.detail).collect())
}

/// The query plans SQLite chooses for the board's two queries (for tests and benchmark
/// notes): the column figures, then one column's cards, one line per step.
pub fn plans(
    conn: &mut Conn,
    filter: Filter,
    stage_id: i64,
) -> QueryResult<(Vec<String>, Vec<String>)> {
    let totals = diesel::debug_query::<Sqlite, _>(&totals_query(filter)).to_string();
    let cards = diesel::debug_query::<Sqlite, _>(&column_query(filter, stage_id, CARDS_PER_COLUMN))
        .to_string();
    Ok((plan_of(conn, &totals)?, plan_of(conn, &cards)?))
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

/// Turns the stored rows of some cards into what the viewer sees.
pub fn present_cards(
    rows: Vec<CardRow>,
    stages: &[Stage],
    viewer: &User,
    now: NaiveDateTime,
) -> Vec<Card> {
    let rotting_days: HashMap<i64, Option<i32>> = stages
        .iter()
        .map(|stage| (stage.id, stage.rotting_days))
        .collect();
    let show_values = viewer.role.can(Permission::ViewDealValues);
    rows.into_iter()
        .map(|row| {
            let owner_name = row.owner_name.unwrap_or_default();
            let days = rules::days_in_stage(row.stage_entered_at, now);
            Card {
                id: row.id,
                value: show_values.then(|| view::value(row.value_minor, &row.currency)),
                company: row.company_id.zip(row.company_name),
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
        .collect()
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
    for card in present_cards(rows, stages, viewer, now) {
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
        card_row(conn, deal.id)?
            .map(|row| present_cards(vec![row], &stages, viewer, now))
            .and_then(|mut cards| cards.pop())
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
