//! `/deals/…`: the deal form (new and edit, with field errors and the conflict page), the
//! deal page (facts, contacts, journey, move / won / lost / reopen, tasks) and the move
//! endpoint the board's script and no-JS forms post to.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use serde::Deserialize;

use super::model::{COMMON_CURRENCIES, COMMON_SOURCES, DEFAULT_CURRENCY, Deal, DealForm, FIELDS};
use super::queries::{self, ContactRow};
use super::service::{self, Move, Saved};
use crate::audit::{self, Action};
use crate::auth::model::User;
use crate::auth::policy::{
    CreateCustomers, Permission, RecordRights, ViewCustomers, record_rights,
};
use crate::db::{self, Conn};
use crate::error::{AppError, FieldErrors, OrNotFound};
use crate::pipeline::board::{self, Filter};
use crate::pipeline::history::{self, StepKind};
use crate::pipeline::model::{self, Pipeline, Stage, Status};
use crate::pipeline::{rules, view};
use crate::tasks::panel::{Linked, TasksPanel};
use crate::web::AppState;
use crate::web::extract::{Authorized, CurrentUser};
use crate::web::format;
use crate::web::page::{Page, redirect, render, render_with_status, safe_next};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/deals", web::get().to(super::list::list))
        .route("/deals", web::post().to(create))
        // Before "/deals/{id}": "new" is not an id.
        .route("/deals/new", web::get().to(new_form))
        .route("/deals/{id}", web::get().to(show))
        .route("/deals/{id}", web::post().to(update))
        .route("/deals/{id}/edit", web::get().to(edit_form))
        .route("/deals/{id}/move", web::post().to(move_deal))
        .route("/deals/{id}/delete", web::post().to(delete));
}

type Viewer = Authorized<ViewCustomers>;
type Creator = Authorized<CreateCustomers>;

/// How many companies and contacts the form's pickers offer.
const PICKER_LIMIT: i64 = 500;

/// Refuses a record-level action, writing the refusal to the audit log like the role checks
/// do.
pub(crate) async fn refuse(state: &AppState, user: &CurrentUser, what: String) -> AppError {
    let (now, actor) = (state.now(), user.actor());
    let recorded = db::run(&state.pool, move |conn| {
        audit::record(
            conn,
            now,
            &actor,
            Action::AuthorizationDenied,
            Some(&what),
            None,
        )?;
        Ok(())
    })
    .await;
    match recorded {
        Ok(()) => AppError::Forbidden,
        Err(err) => err,
    }
}

/// The fields of a url-encoded form body; repeated names (contacts) are all kept.
pub(crate) fn form_pairs(body: &Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

pub(crate) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// The deal form in a body; `prefix` "original_" reads the values the form started from.
fn deal_form(pairs: &[(String, String)], prefix: &str) -> DealForm {
    let get = |name: &str| field(pairs, &format!("{prefix}{name}")).to_owned();
    let contacts_field = format!("{prefix}contacts");
    let contacts = if prefix.is_empty() {
        pairs
            .iter()
            .filter(|(key, _)| *key == contacts_field)
            .map(|(_, value)| value.clone())
            .collect()
    } else {
        field(pairs, &contacts_field)
            .split(',')
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
            .collect()
    };
    DealForm {
        title: get("title"),
        value: get("value"),
        currency: get("currency"),
        expected_close_on: get("expected_close_on"),
        owner: get("owner"),
        company: get("company"),
        contacts,
        pipeline: get("pipeline"),
        stage: get("stage"),
        source: get("source"),
    }
}

fn is_htmx(req: &HttpRequest) -> bool {
    req.headers()
        .get("hx-request")
        .is_some_and(|value| value.as_bytes() == b"true")
}

// ---------------------------------------------------------------------------------------
// The form

struct ConflictRow {
    label: &'static str,
    theirs: String,
    yours: String,
}

/// One pipeline's stages for the stage picker.
struct StageGroup {
    pipeline: Pipeline,
    stages: Vec<(i64, String)>,
}

#[derive(Template)]
#[template(path = "pipeline/deals/form.html")]
struct FormPage {
    page: Page,
    id: Option<i64>,
    version: i32,
    form: DealForm,
    original: DealForm,
    errors: FieldErrors,
    conflict: Vec<ConflictRow>,
    fields: [(&'static str, &'static str); 10],
    pipelines: Vec<Pipeline>,
    stage_groups: Vec<StageGroup>,
    owners: Vec<(i64, String)>,
    companies: Vec<(i64, String)>,
    linked_contacts: Vec<(i64, String)>,
    contact_options: Vec<(i64, String)>,
    currencies: [&'static str; 10],
    sources: [&'static str; 7],
    /// A closed deal keeps its stage until reopened.
    stage_locked: bool,
    next: String,
}

impl FormPage {
    fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/deals/{id}"),
            None => "/deals".to_owned(),
        }
    }

    fn cancel(&self) -> String {
        match self.id {
            Some(id) => format!("/deals/{id}"),
            None if !self.next.is_empty() => self.next.clone(),
            None => "/pipeline".to_owned(),
        }
    }

    fn is(&self, value: &str, id: &i64) -> bool {
        value.trim() == id.to_string()
    }
}

/// The pickers of the form, for the values `form` holds.
struct Pickers {
    pipelines: Vec<Pipeline>,
    stage_groups: Vec<StageGroup>,
    owners: Vec<(i64, String)>,
    companies: Vec<(i64, String)>,
    linked_contacts: Vec<(i64, String)>,
    contact_options: Vec<(i64, String)>,
}

fn pickers(conn: &mut Conn, form: &DealForm) -> Result<Pickers, AppError> {
    let pipelines = model::pipelines(conn)?;
    let mut stages_by_pipeline: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    for stage in model::all_stages(conn)? {
        stages_by_pipeline
            .entry(stage.pipeline_id)
            .or_default()
            .push((stage.id, stage.name));
    }
    let stage_groups = pipelines
        .iter()
        .map(|pipeline| StageGroup {
            pipeline: pipeline.clone(),
            stages: stages_by_pipeline.remove(&pipeline.id).unwrap_or_default(),
        })
        .collect();
    let owner = form.owner.trim().parse::<i64>().ok();
    let company = form.company.trim().parse::<i64>().ok();
    let linked_ids: Vec<i64> = form
        .contacts
        .iter()
        .filter_map(|id| id.trim().parse().ok())
        .collect();
    let linked_contacts = queries::contacts_by_id(conn, &linked_ids)?
        .iter()
        .map(|contact| (contact.id, contact.name()))
        .collect();
    Ok(Pickers {
        pipelines,
        stage_groups,
        owners: queries::owner_options(conn, owner)?,
        companies: queries::company_options(conn, PICKER_LIMIT, company)?,
        linked_contacts,
        contact_options: queries::contact_options(conn, company, &linked_ids, PICKER_LIMIT)?,
    })
}

/// What a form page shows besides its pickers.
struct FormState {
    id: Option<i64>,
    version: i32,
    form: DealForm,
    /// The values the form started from (sent back to detect the other person's changes).
    original: DealForm,
    errors: FieldErrors,
    conflict: Vec<ConflictRow>,
    /// A closed deal keeps its stage until reopened.
    stage_locked: bool,
    next: String,
}

fn form_page(page: Page, state: FormState, pickers: Pickers) -> FormPage {
    FormPage {
        page,
        id: state.id,
        version: state.version,
        form: state.form,
        original: state.original,
        errors: state.errors,
        conflict: state.conflict,
        fields: FIELDS,
        pipelines: pickers.pipelines,
        stage_groups: pickers.stage_groups,
        owners: pickers.owners,
        companies: pickers.companies,
        linked_contacts: pickers.linked_contacts,
        contact_options: pickers.contact_options,
        currencies: COMMON_CURRENCIES,
        sources: COMMON_SOURCES,
        stage_locked: state.stage_locked,
        next: state.next,
    }
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    #[serde(default)]
    contact: String,
    #[serde(default)]
    company: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    pipeline: String,
}

/// A new deal's form, prefilled from where "Add deal" was clicked: a contact (and its
/// company), a company, a board column or a pipeline.
fn prefilled(conn: &mut Conn, query: &NewQuery, user: &User) -> Result<DealForm, AppError> {
    let mut form = DealForm {
        currency: DEFAULT_CURRENCY.to_owned(),
        owner: user.id.to_string(),
        ..DealForm::default()
    };
    if let Ok(contact_id) = query.contact.trim().parse::<i64>()
        && let Some(contact) = queries::contacts_by_id(conn, &[contact_id])?.pop()
    {
        form.contacts = vec![contact.id.to_string()];
        if let Some(company_id) = contact.company_id {
            form.company = company_id.to_string();
        }
    }
    if let Ok(company_id) = query.company.trim().parse::<i64>()
        && crate::contacts::contact::queries::company_exists(conn, company_id)?
    {
        form.company = company_id.to_string();
    }
    let stage = match query.stage.trim().parse::<i64>() {
        Ok(stage_id) => model::find_stage(conn, stage_id)?,
        Err(_) => None,
    };
    let stage = match stage {
        Some(stage) => Some(stage),
        None => {
            let pipeline = model::pipeline_or_first(conn, query.pipeline.trim().parse().ok())?;
            match pipeline {
                Some(pipeline) => model::stages(conn, pipeline.id)?.into_iter().next(),
                None => None,
            }
        }
    };
    if let Some(stage) = stage {
        form.pipeline = stage.pipeline_id.to_string();
        form.stage = stage.id.to_string();
    }
    Ok(form)
}

#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Only local paths are returned to.
fn clean_next(raw: &str) -> String {
    let raw = raw.trim();
    if raw.is_empty() {
        return String::new();
    }
    safe_next(Some(raw)).to_owned()
}

async fn new_form(
    state: web::Data<AppState>,
    creator: Creator,
    query: web::Query<NewQuery>,
    next: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let user = creator.user.clone();
    let query = query.into_inner();
    let (form, pickers) = db::run(&state.pool, move |conn| {
        let form = prefilled(conn, &query, &user)?;
        let pickers = pickers(conn, &form)?;
        Ok((form, pickers))
    })
    .await?;
    render(&form_page(
        creator.page("New deal"),
        FormState {
            id: None,
            version: 0,
            form: form.clone(),
            original: form,
            errors: FieldErrors::new(),
            conflict: Vec::new(),
            stage_locked: false,
            next: clean_next(&next.next),
        },
        pickers,
    ))
}

async fn create(
    state: web::Data<AppState>,
    creator: Creator,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let pairs = form_pairs(&body);
    let form = deal_form(&pairs, "");
    let next = clean_next(field(&pairs, "next"));
    let result = match form.validate() {
        Ok(input) => {
            let (now, actor) = (state.now(), creator.actor());
            db::run(&state.pool, move |conn| {
                service::create(conn, now, &actor, &input)
            })
            .await
        }
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(id) => {
            FlashMessage::success(format!("The deal {} has been created.", form.title.trim()))
                .send();
            if next.is_empty() {
                Ok(redirect(&format!("/deals/{id}")))
            } else {
                Ok(redirect(&next))
            }
        }
        Err(AppError::Invalid(errors)) => {
            let shown = form.clone();
            let pickers = db::run(&state.pool, move |conn| pickers(conn, &shown)).await?;
            render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &form_page(
                    creator.page("New deal"),
                    FormState {
                        id: None,
                        version: 0,
                        form: form.clone(),
                        original: form,
                        errors,
                        conflict: Vec::new(),
                        stage_locked: false,
                        next,
                    },
                    pickers,
                ),
            )
        }
        Err(other) => Err(other),
    }
}

async fn edit_form(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (deal, form, pickers) = db::run(&state.pool, move |conn| {
        let deal = queries::find(conn, id)?.or_not_found()?;
        let form = DealForm::of(&deal, &queries::contact_ids(conn, id)?);
        let pickers = pickers(conn, &form)?;
        Ok((deal, form, pickers))
    })
    .await?;
    if !record_rights(&viewer.user, deal.owner_id).edit {
        return Err(refuse(&state, &viewer, format!("GET /deals/{id}/edit")).await);
    }
    render(&form_page(
        viewer.page(&format!("Edit {}", deal.title)),
        FormState {
            id: Some(id),
            version: deal.version,
            form: form.clone(),
            original: form,
            errors: FieldErrors::new(),
            conflict: Vec::new(),
            stage_locked: !deal.is_open(),
            next: String::new(),
        },
        pickers,
    ))
}

async fn update(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i64>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let deal = db::run(&state.pool, move |conn| {
        queries::find(conn, id)?.or_not_found()
    })
    .await?;
    if !record_rights(&viewer.user, deal.owner_id).edit {
        return Err(refuse(&state, &viewer, format!("POST /deals/{id}")).await);
    }
    let pairs = form_pairs(&body);
    let form = deal_form(&pairs, "");
    let original = deal_form(&pairs, "original_");
    let version: i32 = field(&pairs, "version").trim().parse().unwrap_or(0);
    let result = match form.validate() {
        Ok(input) => {
            let (now, actor, user) = (state.now(), viewer.actor(), viewer.user.clone());
            let form = input.as_form();
            let original = original.clone();
            let started_from_known = pairs.iter().any(|(k, _)| k.starts_with("original_"));
            db::run(&state.pool, move |conn| {
                match service::update(conn, now, &actor, &user, id, version, &input)? {
                    Saved::Done => Ok(None),
                    Saved::Conflict(conflict) => {
                        let (current, theirs) = *conflict;
                        // The fields the other person changed: where the stored value moved
                        // away from what this form started from.
                        let mut rows = Vec::new();
                        for (name, label) in FIELDS {
                            let changed = if started_from_known {
                                theirs.value_of(name) != original.value_of(name)
                            } else {
                                theirs.value_of(name) != form.value_of(name)
                            };
                            if changed {
                                rows.push(ConflictRow {
                                    label,
                                    theirs: service::shown(conn, name, &theirs.value_of(name))?,
                                    yours: service::shown(conn, name, &form.value_of(name))?,
                                });
                            }
                        }
                        let pickers = pickers(conn, &form)?;
                        Ok(Some((current, theirs, rows, pickers)))
                    }
                }
            })
            .await
        }
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(None) => {
            FlashMessage::success("Changes saved.").send();
            Ok(redirect(&format!("/deals/{id}")))
        }
        Ok(Some((current, theirs, conflict, pickers))) => render_with_status(
            StatusCode::CONFLICT,
            &form_page(
                viewer.page(&format!("Edit {}", current.title)),
                FormState {
                    id: Some(id),
                    // Saving again now is a deliberate choice to keep these values.
                    version: current.version,
                    form,
                    original: theirs,
                    errors: FieldErrors::single(FieldErrors::FORM, service::CONFLICT),
                    conflict,
                    stage_locked: !current.is_open(),
                    next: String::new(),
                },
                pickers,
            ),
        ),
        Err(AppError::Invalid(errors)) => {
            let shown = form.clone();
            let pickers = db::run(&state.pool, move |conn| pickers(conn, &shown)).await?;
            render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &form_page(
                    viewer.page(&format!("Edit {}", deal.title)),
                    FormState {
                        id: Some(id),
                        version,
                        form,
                        original,
                        errors,
                        conflict: Vec::new(),
                        stage_locked: !deal.is_open(),
                        next: String::new(),
                    },
                    pickers,
                ),
            )
        }
        Err(other) => Err(other),
    }
}

// ---------------------------------------------------------------------------------------
// The deal page

struct JourneyRow {
    kind: StepKind,
    from: String,
    to: String,
    who: String,
    when: String,
    when_iso: String,
    stayed: String,
    current: bool,
}

/// One stage of the pipeline in the deal page's stage bar.
struct StageCell {
    id: i64,
    name: String,
    win_probability: i32,
    time: String,
    current: bool,
    passed: bool,
}

#[derive(Template)]
#[template(path = "pipeline/deals/show.html")]
struct ShowPage {
    page: Page,
    deal: Deal,
    status: Status,
    value: Option<String>,
    weighted: Option<String>,
    pipeline: String,
    stage: String,
    stage_cells: Vec<StageCell>,
    days_in_stage: String,
    rotting: bool,
    owner: String,
    company: Option<(i64, String)>,
    contacts: Vec<ContactRow>,
    expected_close: String,
    created: String,
    closed: String,
    journey: Vec<JourneyRow>,
    rights: RecordRights,
    tasks: TasksPanel,
}

async fn show(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let page = viewer.page("");
    let user = viewer.user.clone();
    let csrf_token = page.csrf_token.clone();
    let now = state.now();
    let tz = viewer.user.tz();
    struct Loaded {
        deal: Deal,
        pipeline: Option<Pipeline>,
        stages: Vec<Stage>,
        moves: Vec<queries::MoveRow>,
        stage_names: HashMap<i64, String>,
        people: HashMap<i64, String>,
        company: Option<(i64, String)>,
        contacts: Vec<ContactRow>,
        tasks: TasksPanel,
    }
    let loaded = db::run(&state.pool, move |conn| {
        let deal = queries::find(conn, id)?.or_not_found()?;
        let pipeline = model::find_pipeline(conn, deal.pipeline_id)?;
        let stages = model::stages(conn, deal.pipeline_id)?;
        let moves = queries::moves(conn, id)?;
        let mut stage_ids: Vec<i64> = moves
            .iter()
            .flat_map(|row| [row.from_stage_id, row.to_stage_id])
            .flatten()
            .collect();
        stage_ids.push(deal.stage_id);
        let stage_names = model::stage_names(conn, &stage_ids)?;
        let mut people_ids: Vec<i64> = moves.iter().filter_map(|row| row.moved_by).collect();
        people_ids.extend(deal.owner_id);
        let people = queries::user_names(conn, &people_ids)?;
        let company = match deal.company_id {
            Some(company_id) => queries::company_names(conn, &[company_id])?
                .remove(&company_id)
                .map(|name| (company_id, name)),
            None => None,
        };
        let contact_ids = queries::contact_ids(conn, id)?;
        let contacts = queries::contacts_by_id(conn, &contact_ids)?;
        let tasks = crate::tasks::panel::load(conn, Linked::Deal(id), &user, &csrf_token, now)?;
        Ok(Loaded {
            deal,
            pipeline,
            stages,
            moves,
            stage_names,
            people,
            company,
            contacts,
            tasks,
        })
    })
    .await?;
    let Loaded {
        deal,
        pipeline,
        stages,
        moves,
        stage_names,
        people,
        company,
        contacts,
        tasks,
    } = loaded;
    let show_values = viewer.user.role.can(Permission::ViewDealValues);
    let stage = stages.iter().find(|stage| stage.id == deal.stage_id);
    let win_probability = match deal.status() {
        Status::Won => 100,
        Status::Lost => 0,
        Status::Open => stage.map_or(0, |stage| stage.win_probability),
    };
    let stage_name = |id: Option<i64>| {
        id.and_then(|id| stage_names.get(&id).cloned())
            .unwrap_or_else(|| "a deleted stage".to_owned())
    };
    let steps = history::steps(&moves, now);
    let journey: Vec<JourneyRow> = moves
        .iter()
        .zip(steps)
        .map(|(row, step)| JourneyRow {
            kind: step.kind,
            from: match step.kind {
                StepKind::Created => String::new(),
                StepKind::Reopened => row
                    .from_status
                    .as_deref()
                    .map(|status| Status::of(status).label().to_owned())
                    .unwrap_or_default(),
                _ => stage_name(row.from_stage_id),
            },
            to: match step.kind {
                StepKind::Won | StepKind::Lost => step.kind.label().to_owned(),
                _ => stage_name(row.to_stage_id),
            },
            who: row
                .moved_by
                .and_then(|id| people.get(&id).cloned())
                .unwrap_or_else(|| "Someone".to_owned()),
            when: format::datetime(row.moved_at, tz),
            when_iso: format::iso(row.moved_at),
            stayed: step.stayed.map(view::duration).unwrap_or_default(),
            current: step.current,
        })
        .rev()
        .collect();
    let per_stage = history::time_per_stage(&moves, now);
    let current_position = stage.map(|stage| stage.position);
    let stage_cells = stages
        .iter()
        .map(|cell| StageCell {
            id: cell.id,
            name: cell.name.clone(),
            win_probability: cell.win_probability,
            time: per_stage
                .get(&Some(cell.id))
                .map(|time| view::duration(*time))
                .unwrap_or_default(),
            current: cell.id == deal.stage_id,
            passed: current_position
                .is_some_and(|position| (cell.position, cell.id) < (position, deal.stage_id)),
        })
        .collect();
    let rights = record_rights(&viewer.user, deal.owner_id);
    render(&ShowPage {
        page: Page {
            title: deal.title.clone(),
            ..page
        },
        status: deal.status(),
        value: show_values.then(|| view::value(deal.value_minor, &deal.currency)),
        weighted: show_values.then(|| {
            view::value(
                rules::weighted_value(deal.value_minor, win_probability),
                &deal.currency,
            )
        }),
        pipeline: pipeline.map(|p| p.name).unwrap_or_default(),
        stage: stage_name(Some(deal.stage_id)),
        stage_cells,
        days_in_stage: view::days(rules::days_in_stage(deal.stage_entered_at, now)),
        rotting: deal.is_open()
            && rules::is_rotting(
                deal.stage_entered_at,
                stage.and_then(|stage| stage.rotting_days),
                now,
            ),
        owner: deal
            .owner_id
            .and_then(|id| people.get(&id).cloned())
            .unwrap_or_default(),
        company,
        contacts,
        expected_close: deal
            .expected_close_on
            .map(|date| date.format("%-d %b %Y").to_string())
            .unwrap_or_default(),
        created: format::datetime(deal.created_at, tz),
        closed: deal
            .closed_at
            .map(|at| format::datetime(at, tz))
            .unwrap_or_default(),
        journey,
        rights,
        tasks,
        deal,
    })
}

// ---------------------------------------------------------------------------------------
// Moving: stages, won, lost, reopen

/// A message fragment for the board's script.
fn fragment_error(status: StatusCode, message: &str) -> HttpResponse {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(format!("<p class=\"board-message\">{escaped}</p>"))
}

/// What the form asked for, or why it makes no sense.
fn parse_move(pairs: &[(String, String)]) -> Result<Move, String> {
    let stage = field(pairs, "stage_id").trim();
    if !stage.is_empty() {
        return stage
            .parse::<i64>()
            .map(Move::Stage)
            .map_err(|_| "Choose a stage from the list.".to_owned());
    }
    match field(pairs, "status").trim() {
        "won" => Ok(Move::Won),
        "lost" => super::model::parse_lost_reason(field(pairs, "lost_reason")).map(Move::Lost),
        "open" => Ok(Move::Reopen),
        _ => Err("Choose a stage, or won or lost.".to_owned()),
    }
}

async fn move_deal(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i64>,
    req: HttpRequest,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let htmx = is_htmx(&req);
    let pairs = form_pairs(&body);
    let deal = db::run(&state.pool, move |conn| Ok(queries::find(conn, id)?)).await?;
    let Some(deal) = deal else {
        return if htmx {
            Ok(fragment_error(
                StatusCode::NOT_FOUND,
                "This deal no longer exists.",
            ))
        } else {
            Err(AppError::NotFound)
        };
    };
    if !record_rights(&viewer.user, deal.owner_id).edit {
        let refusal = refuse(&state, &viewer, format!("POST /deals/{id}/move")).await;
        return if htmx && matches!(refusal, AppError::Forbidden) {
            Ok(fragment_error(
                StatusCode::FORBIDDEN,
                "You may only move your own deals.",
            ))
        } else {
            Err(refusal)
        };
    }
    let next = clean_next(field(&pairs, "next"));
    let back = if next.is_empty() {
        format!("/deals/{id}")
    } else {
        next
    };
    let to = match parse_move(&pairs) {
        Ok(to) => to,
        Err(message) => {
            if htmx {
                return Ok(fragment_error(StatusCode::UNPROCESSABLE_ENTITY, &message));
            }
            FlashMessage::error(message).send();
            return Ok(redirect(&back));
        }
    };
    let version: i32 = field(&pairs, "version").trim().parse().unwrap_or(0);
    let board_owner = field(&pairs, "board_owner").trim().parse::<i64>().ok();
    let (now, actor, user) = (state.now(), viewer.actor(), viewer.user.clone());
    let csrf_token = viewer.frame.csrf_token.clone();
    let result = db::run(&state.pool, move |conn| {
        let moved = service::move_deal(conn, now, &actor, &user, id, version, &to)?;
        let fragment = if htmx {
            let filter = Filter {
                pipeline_id: moved.deal.pipeline_id,
                owner_id: board_owner,
            };
            let stage_ids = [moved.from_stage_id, moved.deal.stage_id];
            Some(board::moved_fragment(
                conn,
                filter,
                &moved.deal,
                &stage_ids,
                &user,
                now,
                &csrf_token,
            )?)
        } else {
            None
        };
        Ok((moved, fragment))
    })
    .await;
    match result {
        Ok((_, Some(fragment))) => render(&fragment),
        Ok((moved, None)) => {
            if moved.changed {
                let message = match moved.deal.status() {
                    Status::Won => format!("{} is won. Well done!", moved.deal.title),
                    Status::Lost => format!("{} is marked as lost.", moved.deal.title),
                    Status::Open => format!("{} has been moved.", moved.deal.title),
                };
                FlashMessage::success(message).send();
            }
            Ok(redirect(&back))
        }
        Err(AppError::Conflict(message)) if htmx => {
            Ok(fragment_error(StatusCode::CONFLICT, &message))
        }
        Err(AppError::Invalid(errors)) => {
            let message = errors
                .get(FieldErrors::FORM)
                .cloned()
                .unwrap_or_else(|| "That move is not possible.".to_owned());
            if htmx {
                return Ok(fragment_error(StatusCode::UNPROCESSABLE_ENTITY, &message));
            }
            FlashMessage::error(message).send();
            Ok(redirect(&back))
        }
        Err(AppError::Forbidden) if htmx => Ok(fragment_error(
            StatusCode::FORBIDDEN,
            "You may only move your own deals.",
        )),
        Err(other) => Err(other),
    }
}

async fn delete(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let deal = db::run(&state.pool, move |conn| {
        queries::find(conn, id)?.or_not_found()
    })
    .await?;
    if !record_rights(&viewer.user, deal.owner_id).delete {
        return Err(refuse(&state, &viewer, format!("POST /deals/{id}/delete")).await);
    }
    let (now, actor, user) = (state.now(), viewer.actor(), viewer.user.clone());
    let deal = db::run(&state.pool, move |conn| {
        service::delete(conn, now, &actor, &user, id)
    })
    .await?;
    FlashMessage::success(format!("The deal {} has been deleted.", deal.title)).send();
    Ok(redirect(&format!(
        "/pipeline?pipeline={}",
        deal.pipeline_id
    )))
}
