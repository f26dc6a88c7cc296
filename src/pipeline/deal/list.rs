//! `/deals`: the list view of a pipeline's deals, filtered by stage, status and owner,
//! sorted by title, value, expected close, time entered in the stage or creation, and paged
//! by keyset (the sort key and the id of the last row shown) on the `deals_list_by_*`
//! indexes.

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use serde::Deserialize;

use super::model::Deal;
use super::queries;
use crate::auth::policy::{Permission, ViewCustomers};
use crate::db::schema::deals;
use crate::db::{self, Conn};
use crate::error::AppError;
use crate::pipeline::board::owner_filter;
use crate::pipeline::model::{self, Pipeline, Stage, Status};
use crate::pipeline::{rules, view};
use crate::web::AppState;
use crate::web::extract::Authorized;
use crate::web::page::{Page, render};

pub const PAGE_SIZE: i64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Newest first.
    Created,
    /// A to Z.
    Title,
    /// Largest first.
    Value,
    /// Soonest first; deals without a date last.
    Close,
    /// Longest in their stage first.
    Entered,
}

impl Sort {
    pub const ALL: [Sort; 5] = [
        Sort::Created,
        Sort::Title,
        Sort::Value,
        Sort::Close,
        Sort::Entered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Created => "created",
            Sort::Title => "title",
            Sort::Value => "value",
            Sort::Close => "close",
            Sort::Entered => "entered",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Created => "Newest",
            Sort::Title => "Title",
            Sort::Value => "Value",
            Sort::Close => "Expected close",
            Sort::Entered => "Longest in stage",
        }
    }

    pub fn parse(value: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|sort| sort.as_str() == value.trim())
            .unwrap_or(Sort::Created)
    }
}

/// Where the previous page ended: the last row's sort key and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    Created(NaiveDateTime, i64),
    Title(String, i64),
    Value(i64, i64),
    Close(Option<NaiveDate>, i64),
    Entered(NaiveDateTime, i64),
}

const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";

impl Cursor {
    pub fn after(sort: Sort, deal: &Deal) -> Self {
        match sort {
            Sort::Created => Cursor::Created(deal.created_at, deal.id),
            Sort::Title => Cursor::Title(deal.title.clone(), deal.id),
            Sort::Value => Cursor::Value(deal.value_minor, deal.id),
            Sort::Close => Cursor::Close(deal.expected_close_on, deal.id),
            Sort::Entered => Cursor::Entered(deal.stage_entered_at, deal.id),
        }
    }

    /// "id~key", the key in a form that sorts the same way it reads back.
    pub fn encode(&self) -> String {
        match self {
            Cursor::Created(at, id) | Cursor::Entered(at, id) => {
                format!("{id}~{}", at.format(TIME_FORMAT))
            }
            Cursor::Title(title, id) => format!("{id}~{title}"),
            Cursor::Value(value, id) => format!("{id}~{value}"),
            Cursor::Close(Some(date), id) => format!("{id}~{}", date.format("%Y-%m-%d")),
            Cursor::Close(None, id) => format!("{id}~"),
        }
    }

    pub fn parse(raw: &str, sort: Sort) -> Option<Self> {
        let (id, key) = raw.split_once('~')?;
        let id: i64 = id.parse().ok()?;
        let time = || NaiveDateTime::parse_from_str(key, TIME_FORMAT).ok();
        Some(match sort {
            Sort::Created => Cursor::Created(time()?, id),
            Sort::Entered => Cursor::Entered(time()?, id),
            Sort::Title => Cursor::Title(key.to_owned(), id),
            Sort::Value => Cursor::Value(key.parse().ok()?, id),
            Sort::Close if key.is_empty() => Cursor::Close(None, id),
            Sort::Close => {
                Cursor::Close(Some(NaiveDate::parse_from_str(key, "%Y-%m-%d").ok()?), id)
            }
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub pipeline_id: i64,
    pub stage_id: Option<i64>,
    pub status: Option<Status>,
    pub owner_id: Option<i64>,
}

type Boxed<'a> = deals::BoxedQuery<'a, Sqlite, diesel::dsl::AsSelect<Deal, Sqlite>>;

fn filtered<'a>(filter: &Filter) -> Boxed<'a> {
    let mut query = deals::table
        .select(Deal::as_select())
        .filter(deals::pipeline_id.eq(filter.pipeline_id))
        .into_boxed();
    if let Some(stage_id) = filter.stage_id {
        query = query.filter(deals::stage_id.eq(stage_id));
    }
    if let Some(status) = filter.status {
        query = query.filter(deals::status.eq(status.as_str()));
    }
    if let Some(owner_id) = filter.owner_id {
        query = query.filter(deals::owner_id.eq(owner_id));
    }
    query
}

/// One page: up to `limit` deals after `after` in the order `sort`.
pub fn page(
    conn: &mut Conn,
    filter: &Filter,
    sort: Sort,
    after: Option<&Cursor>,
    limit: i64,
) -> QueryResult<Vec<Deal>> {
    let query = filtered(filter);
    match sort {
        Sort::Created => {
            let mut query = query.order((deals::created_at.desc(), deals::id.desc()));
            if let Some(Cursor::Created(at, id)) = after {
                query = query.filter(
                    deals::created_at
                        .lt(*at)
                        .or(deals::created_at.eq(*at).and(deals::id.lt(*id))),
                );
            }
            query.limit(limit).load(conn)
        }
        Sort::Entered => {
            let mut query = query.order((deals::stage_entered_at.asc(), deals::id.asc()));
            if let Some(Cursor::Entered(at, id)) = after {
                query = query.filter(
                    deals::stage_entered_at
                        .gt(*at)
                        .or(deals::stage_entered_at.eq(*at).and(deals::id.gt(*id))),
                );
            }
            query.limit(limit).load(conn)
        }
        Sort::Title => {
            let mut query = query.order((deals::title.asc(), deals::id.asc()));
            if let Some(Cursor::Title(title, id)) = after {
                query = query.filter(
                    deals::title
                        .gt(title.clone())
                        .or(deals::title.eq(title.clone()).and(deals::id.gt(*id))),
                );
            }
            query.limit(limit).load(conn)
        }
        Sort::Value => {
            let mut query = query.order((deals::value_minor.desc(), deals::id.desc()));
            if let Some(Cursor::Value(value, id)) = after {
                query = query.filter(
                    deals::value_minor
                        .lt(*value)
                        .or(deals::value_minor.eq(*value).and(deals::id.lt(*id))),
                );
            }
            query.limit(limit).load(conn)
        }
        Sort::Close => {
            // Dated deals first, then undated ones by id: two index walks rather than an
            // ORDER BY on `IS NULL`, and the same order on every database.
            let mut found = Vec::new();
            if !matches!(after, Some(Cursor::Close(None, _))) {
                let mut dated = query
                    .filter(deals::expected_close_on.is_not_null())
                    .order((deals::expected_close_on.asc(), deals::id.asc()));
                if let Some(Cursor::Close(Some(date), id)) = after {
                    dated = dated.filter(
                        deals::expected_close_on
                            .gt(*date)
                            .or(deals::expected_close_on.eq(*date).and(deals::id.gt(*id))),
                    );
                }
                found = dated.limit(limit).load(conn)?;
            }
            if (found.len() as i64) < limit {
                let mut undated = filtered(filter)
                    .filter(deals::expected_close_on.is_null())
                    .order(deals::id.asc());
                if let Some(Cursor::Close(None, id)) = after {
                    undated = undated.filter(deals::id.gt(*id));
                }
                found.extend(undated.limit(limit - found.len() as i64).load(conn)?);
            }
            Ok(found)
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pipeline: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    after: String,
}

struct Row {
    id: i64,
    title: String,
    company: Option<(i64, String)>,
    value: Option<String>,
    stage: String,
    status: Status,
    owner: String,
    owner_initials: String,
    expected_close: String,
    in_stage: String,
    rotting: bool,
}

#[derive(Template)]
#[template(path = "pipeline/deals/list.html")]
struct ListPage {
    page: Page,
    pipelines: Vec<Pipeline>,
    pipeline: Pipeline,
    stages: Vec<Stage>,
    owners: Vec<(i64, String)>,
    rows: Vec<Row>,
    stage: String,
    status: String,
    owner: String,
    sort: Sort,
    sorts: Vec<Sort>,
    show_values: bool,
    can_create: bool,
    filtered: bool,
    paged: bool,
    first_page: String,
    next_page: Option<String>,
}

impl ListPage {
    fn stage_is(&self, id: &i64) -> bool {
        self.stage == id.to_string()
    }

    fn owner_is(&self, id: &i64) -> bool {
        self.owner == id.to_string()
    }
}

pub async fn list(
    state: web::Data<AppState>,
    viewer: Authorized<ViewCustomers>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let user = viewer.user.clone();
    let show_values = user.role.can(Permission::ViewDealValues);
    let mut sort = Sort::parse(&query.sort);
    if sort == Sort::Value && !show_values {
        // The order alone would tell what deals are worth.
        sort = Sort::Created;
    }
    let after = Cursor::parse(query.after.trim(), sort);
    let paged = after.is_some();
    let status = match query.status.trim() {
        "all" => None,
        "" => Some(Status::Open),
        other => Some(Status::parse(other).unwrap_or(Status::Open)),
    };
    let owner_id = owner_filter(&query.owner, &user);
    let pipeline_id = query.pipeline.trim().parse::<i64>().ok();
    let stage_id = query.stage.trim().parse::<i64>().ok();
    let now = state.now();
    let loaded = db::run(&state.pool, move |conn| {
        let pipelines = model::pipelines(conn)?;
        let Some(pipeline) = model::pipeline_or_first(conn, pipeline_id)? else {
            return Ok(None);
        };
        let stages = model::stages(conn, pipeline.id)?;
        let stage_id = stage_id.filter(|id| stages.iter().any(|stage| stage.id == *id));
        let filter = Filter {
            pipeline_id: pipeline.id,
            stage_id,
            status,
            owner_id,
        };
        let deals = page(conn, &filter, sort, after.as_ref(), PAGE_SIZE + 1)?;
        let company_ids: Vec<i64> = deals.iter().filter_map(|deal| deal.company_id).collect();
        let owner_ids: Vec<i64> = deals.iter().filter_map(|deal| deal.owner_id).collect();
        let companies = queries::company_names(conn, &company_ids)?;
        let names = queries::user_names(conn, &owner_ids)?;
        let owners = queries::owner_options(conn, owner_id)?;
        Ok(Some((
            pipelines, pipeline, stages, stage_id, deals, companies, names, owners,
        )))
    })
    .await?;
    let Some((pipelines, pipeline, stages, stage_id, mut deals, companies, names, owners)) = loaded
    else {
        return Err(AppError::NotFound);
    };
    let more = deals.len() as i64 > PAGE_SIZE;
    deals.truncate(PAGE_SIZE as usize);
    let owner = if owner_id == Some(viewer.user.id) {
        "me".to_owned()
    } else {
        owner_id.map(|id| id.to_string()).unwrap_or_default()
    };
    let status_text = match status {
        None => "all".to_owned(),
        Some(status) => status.as_str().to_owned(),
    };
    let mut link = url::form_urlencoded::Serializer::new(String::new());
    link.append_pair("pipeline", &pipeline.id.to_string());
    if let Some(stage_id) = stage_id {
        link.append_pair("stage", &stage_id.to_string());
    }
    link.append_pair("status", &status_text);
    if !owner.is_empty() {
        link.append_pair("owner", &owner);
    }
    link.append_pair("sort", sort.as_str());
    let first_page = format!("/deals?{}", link.finish());
    let next_page = more.then(|| deals.last()).flatten().map(|last| {
        let cursor = Cursor::after(sort, last).encode();
        let mut next = url::form_urlencoded::Serializer::new(String::new());
        next.append_pair("after", &cursor);
        format!("{first_page}&{}", next.finish())
    });
    let stage_by_id: std::collections::HashMap<i64, &Stage> =
        stages.iter().map(|stage| (stage.id, stage)).collect();
    let rows = deals
        .into_iter()
        .map(|deal| {
            let stage = stage_by_id.get(&deal.stage_id);
            let owner = deal
                .owner_id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_default();
            let open = deal.is_open();
            Row {
                id: deal.id,
                company: deal
                    .company_id
                    .and_then(|id| companies.get(&id).map(|name| (id, name.clone()))),
                value: show_values.then(|| view::value(deal.value_minor, &deal.currency)),
                stage: stage.map(|stage| stage.name.clone()).unwrap_or_default(),
                status: deal.status(),
                owner_initials: view::initials(&owner),
                owner,
                expected_close: deal
                    .expected_close_on
                    .map(|date| date.format("%-d %b %Y").to_string())
                    .unwrap_or_default(),
                in_stage: if open {
                    view::days(rules::days_in_stage(deal.stage_entered_at, now))
                } else {
                    String::new()
                },
                rotting: open
                    && rules::is_rotting(
                        deal.stage_entered_at,
                        stage.and_then(|stage| stage.rotting_days),
                        now,
                    ),
                title: deal.title,
            }
        })
        .collect();
    let filtered = stage_id.is_some() || status != Some(Status::Open) || owner_id.is_some();
    render(&ListPage {
        page: viewer.page("Deals"),
        pipelines,
        pipeline,
        stages,
        owners,
        rows,
        stage: stage_id.map(|id| id.to_string()).unwrap_or_default(),
        status: status_text,
        owner,
        sort,
        sorts: Sort::ALL
            .into_iter()
            .filter(|sort| show_values || *sort != Sort::Value)
            .collect(),
        show_values,
        can_create: viewer.user.role.can(Permission::CreateCustomers),
        filtered,
        paged,
        first_page,
        next_page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_what_they_wrote() {
        let at = NaiveDate::from_ymd_opt(2026, 12, 3)
            .and_then(|date| date.and_hms_micro_opt(9, 30, 0, 250))
            .expect("a time");
        for cursor in [
            Cursor::Created(at, 7),
            Cursor::Entered(at, 8),
            Cursor::Title("Big ~ deal".to_owned(), 9),
            Cursor::Value(1_250_000, 10),
            Cursor::Close(NaiveDate::from_ymd_opt(2027, 1, 31), 11),
            Cursor::Close(None, 12),
        ] {
            let sort = match cursor {
                Cursor::Created(..) => Sort::Created,
                Cursor::Entered(..) => Sort::Entered,
                Cursor::Title(..) => Sort::Title,
                Cursor::Value(..) => Sort::Value,
                Cursor::Close(..) => Sort::Close,
            };
            assert_eq!(Cursor::parse(&cursor.encode(), sort), Some(cursor));
        }
        assert_eq!(Cursor::parse("x~y", Sort::Title), None);
    }
}
