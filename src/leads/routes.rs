//! `/leads`: the prioritised list (highest score first) with filters and bulk actions, the
//! lead page with its score explained line by line, and the forms to create and edit leads.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use serde::Deserialize;

use super::model::{Lead, LeadForm, Source, Status};
use super::queries::{self, Cursor, ListFilter};
use super::scoring::{self, engine::LineKind, engine::Points};
use super::service::{self, BulkAction};

use crate::auth::policy::{CreateCustomers, ViewCustomers, record_rights};
use crate::contacts::contact::queries::{owner_options, user_names};
use crate::contacts::tags;
use crate::contacts::timeline::view::{self, TimelineView};
use crate::contacts::timeline::{self, Subject};
use crate::db;
use crate::error::{AppError, FieldErrors, OrNotFound};
use crate::tasks::panel::{self as tasks_panel, Linked, TasksPanel};
use crate::web::AppState;
use crate::web::extract::{Authorized, CurrentUser, denied};
use crate::web::format;
use crate::web::list_params;
use crate::web::page::{Page, redirect, render, render_with_status};

type Viewer = Authorized<ViewCustomers>;
type Creator = Authorized<CreateCustomers>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/leads", web::get().to(list))
        .route("/leads", web::post().to(create))
        .route("/leads/new", web::get().to(new_form))
        .route("/leads/bulk", web::post().to(bulk))
        .route("/leads/{id}", web::get().to(show))
        .route("/leads/{id}", web::post().to(update))
        .route("/leads/{id}/edit", web::get().to(edit_form))
        .route("/leads/{id}/adjustments", web::post().to(adjust));
}

pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn options<'a>(
    items: impl IntoIterator<Item = (String, String)> + 'a,
    selected: &str,
) -> Vec<SelectOption> {
    items
        .into_iter()
        .map(|(value, label)| SelectOption {
            selected: value == selected,
            value,
            label,
        })
        .collect()
}

fn source_options(selected: &str) -> Vec<SelectOption> {
    options(
        Source::ALL
            .iter()
            .map(|source| (source.as_str().to_owned(), source.label().to_owned())),
        selected,
    )
}

fn status_options(statuses: &[Status], selected: &str) -> Vec<SelectOption> {
    options(
        statuses
            .iter()
            .map(|status| (status.as_str().to_owned(), status.label().to_owned())),
        selected,
    )
}

fn user_options(users: &[(i64, String)], selected: &str) -> Vec<SelectOption> {
    options(
        users
            .iter()
            .map(|(id, name)| (id.to_string(), name.clone())),
        selected,
    )
}

// ---------------------------------------------------------------------------------------
// The list

#[derive(Debug, Clone, Default, Deserialize)]
struct ListQuery {
    status: Option<String>,
    source: Option<String>,
    owner: Option<String>,
    grade: Option<String>,
    tag: Option<String>,
    q: Option<String>,
    after: Option<String>,
}

fn value(field: &Option<String>) -> &str {
    field.as_deref().map(str::trim).unwrap_or("")
}

impl ListQuery {
    fn link(&self, after: &str) -> String {
        let query = list_params::query_string([
            ("status", value(&self.status)),
            ("source", value(&self.source)),
            ("owner", value(&self.owner)),
            ("grade", value(&self.grade)),
            ("tag", value(&self.tag)),
            ("q", value(&self.q)),
            ("after", after),
        ]);
        list_params::link("/leads", &query)
    }

    fn filter(&self, me: &CurrentUser) -> ListFilter {
        let text = |field: &Option<String>| Some(value(field).to_owned()).filter(|v| !v.is_empty());
        ListFilter {
            status: text(&self.status).filter(|status| Status::parse(status).is_ok()),
            source: text(&self.source).filter(|source| Source::parse(source).is_ok()),
            owner_id: list_params::owner(value(&self.owner), me.user.id),
            grade: text(&self.grade).map(|grade| grade.to_lowercase()),
            tag: text(&self.tag).map(|tag| tag.to_lowercase()),
            fts: crate::search::fts_query(value(&self.q)),
            after: Cursor::parse(value(&self.after)),
        }
    }
}

struct Row {
    id: i64,
    name: String,
    email: String,
    company: String,
    source: &'static str,
    status: &'static str,
    owner: String,
    score: String,
    grade: String,
    tags: Vec<String>,
}

#[derive(Template)]
#[template(path = "leads/list.html")]
struct ListPage {
    page: Page,
    rows: Vec<Row>,
    q: String,
    statuses: Vec<SelectOption>,
    sources: Vec<SelectOption>,
    owners: Vec<SelectOption>,
    mine: bool,
    grades: Vec<SelectOption>,
    tags: Vec<SelectOption>,
    filtered: bool,
    next_page: Option<String>,
    can_create: bool,
    bulk_owners: Vec<SelectOption>,
    bulk_statuses: Vec<SelectOption>,
    rescoring: Option<(i64, i64)>,
}

async fn list(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let filter = query.filter(&viewer);
    let (leads, next, owners, lead_tags, owner_list, tag_list, grade_names, progress) =
        db::run(&state.pool, move |conn| {
            let (leads, next) = queries::list(conn, &filter)?;
            let ids: Vec<i64> = leads.iter().map(|lead| lead.id).collect();
            let owner_ids: Vec<i64> = leads.iter().filter_map(|lead| lead.owner_id).collect();
            let scale = scoring::rules::grades(conn)?;
            let mut grade_names: Vec<String> = scale
                .grades()
                .iter()
                .map(|grade| grade.name.clone())
                .collect();
            grade_names.push(scale.lowest().to_owned());
            Ok((
                leads,
                next,
                user_names(conn, &owner_ids)?,
                queries::tags_of(conn, &ids)?,
                owner_options(conn, None)?,
                tags::all(conn)?,
                grade_names,
                if scoring::rescoring(conn)? {
                    Some(scoring::progress(conn)?)
                } else {
                    None
                },
            ))
        })
        .await?;
    let mut lead_tags = lead_tags;
    let rows = leads
        .iter()
        .map(|lead: &Lead| Row {
            id: lead.id,
            name: lead.name(),
            email: lead.email.clone().unwrap_or_default(),
            company: lead.company_name.clone().unwrap_or_default(),
            source: Source::label_of(&lead.source),
            status: Status::label_of(&lead.status),
            owner: lead
                .owner_id
                .and_then(|id| owners.get(&id).cloned())
                .unwrap_or_default(),
            score: Points(lead.score).unsigned_label(),
            grade: lead.grade.clone(),
            tags: lead_tags.remove(&lead.id).unwrap_or_default(),
        })
        .collect();
    let filtered = [
        &query.status,
        &query.source,
        &query.owner,
        &query.grade,
        &query.tag,
        &query.q,
    ]
    .iter()
    .any(|field| !value(field).is_empty());
    let owner = value(&query.owner);
    render(&ListPage {
        page: viewer.page("Leads"),
        rows,
        q: value(&query.q).to_owned(),
        statuses: status_options(&Status::ALL, value(&query.status)),
        sources: source_options(value(&query.source)),
        owners: user_options(&owner_list, owner),
        mine: owner == "mine",
        grades: options(
            grade_names.into_iter().map(|name| (name.clone(), name)),
            &value(&query.grade).to_lowercase(),
        ),
        tags: options(
            tag_list.into_iter().map(|name| (name.clone(), name)),
            &value(&query.tag).to_lowercase(),
        ),
        filtered,
        next_page: next.map(|cursor| query.link(&cursor.encode())),
        can_create: viewer
            .user
            .role
            .can(crate::auth::policy::Permission::CreateCustomers),
        bulk_owners: user_options(&owner_list, ""),
        bulk_statuses: status_options(&Status::SETTABLE, ""),
        rescoring: progress.filter(|(done, total)| done < total),
    })
}

/// The bulk form posts `ids` as repeated fields, which is why it is read by hand.
fn bulk_action(body: &[u8]) -> Result<(Vec<i64>, BulkAction), AppError> {
    let mut ids = Vec::new();
    let (mut action, mut owner, mut status) = (String::new(), String::new(), String::new());
    for (name, value) in url::form_urlencoded::parse(body) {
        match name.as_ref() {
            "ids" => ids.extend(value.parse::<i64>().ok()),
            "action" => action = value.into_owned(),
            "owner_id" => owner = value.into_owned(),
            "status" => status = value.into_owned(),
            _ => {}
        }
    }
    if ids.is_empty() {
        return Err(AppError::BadRequest(
            "Select at least one lead first.".to_owned(),
        ));
    }
    let action = match action.as_str() {
        "assign" => BulkAction::Assign(match owner.trim() {
            "" => None,
            raw => Some(
                raw.parse()
                    .map_err(|_| AppError::BadRequest("Choose an owner.".to_owned()))?,
            ),
        }),
        "status" => {
            BulkAction::SetStatus(Status::parse_settable(&status).map_err(AppError::BadRequest)?)
        }
        _ => return Err(AppError::BadRequest("Choose an action.".to_owned())),
    };
    ids.sort_unstable();
    ids.dedup();
    Ok((ids, action))
}

async fn bulk(
    state: web::Data<AppState>,
    me: Creator,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (ids, action) = bulk_action(&body)?;
    let (user, actor, now) = (me.user.clone(), me.actor(), state.now());
    let outcome = db::run(&state.pool, move |conn| {
        service::bulk(conn, &user, &actor, &ids, &action, now)
    })
    .await;
    let (changed, skipped) = match outcome {
        Err(AppError::Invalid(errors)) => {
            let message = errors.get("owner_id").cloned().unwrap_or_default();
            return Err(AppError::BadRequest(message));
        }
        other => other?,
    };
    let changed = match changed {
        1 => "Updated 1 lead.".to_owned(),
        n => format!("Updated {n} leads."),
    };
    if skipped > 0 {
        FlashMessage::warning(format!(
            "{changed} Skipped {skipped} you may not change, converted or unchanged."
        ))
        .send();
    } else {
        FlashMessage::success(changed).send();
    }
    Ok(redirect("/leads"))
}

// ---------------------------------------------------------------------------------------
// The form

#[derive(Template)]
#[template(path = "leads/form.html")]
struct FormPage {
    page: Page,
    lead_id: Option<i64>,
    form: LeadForm,
    errors: FieldErrors,
    sources: Vec<SelectOption>,
    statuses: Vec<SelectOption>,
    owners: Vec<SelectOption>,
    conflict: Vec<ConflictRow>,
}

async fn form_page(
    state: &AppState,
    me: &CurrentUser,
    lead_id: Option<i64>,
    form: LeadForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    form_page_with(state, me, lead_id, form, errors, status, None).await
}

/// One row of the conflict table: a field the other person saved differently.
struct ConflictRow {
    label: &'static str,
    theirs: String,
    yours: String,
}

fn conflict_rows(
    theirs: &LeadForm,
    yours: &LeadForm,
    owners: &[(i64, String)],
) -> Vec<ConflictRow> {
    let owner = |raw: &str| {
        owners
            .iter()
            .find(|(id, _)| id.to_string() == raw.trim())
            .map(|(_, name)| name.clone())
            .unwrap_or_default()
    };
    let source = |raw: &str| Source::parse(raw).map_or(String::new(), |s| s.label().to_owned());
    let status = |raw: &str| Status::parse(raw).map_or(String::new(), |s| s.label().to_owned());
    let pairs: [(&'static str, String, String); 14] = [
        (
            "First name",
            theirs.first_name.clone(),
            yours.first_name.clone(),
        ),
        (
            "Last name",
            theirs.last_name.clone(),
            yours.last_name.clone(),
        ),
        ("Email", theirs.email.clone(), yours.email.clone()),
        ("Phone", theirs.phone.clone(), yours.phone.clone()),
        (
            "Company",
            theirs.company_name.clone(),
            yours.company_name.clone(),
        ),
        (
            "Job title",
            theirs.job_title.clone(),
            yours.job_title.clone(),
        ),
        (
            "Company size",
            theirs.company_size.clone(),
            yours.company_size.clone(),
        ),
        ("Industry", theirs.industry.clone(), yours.industry.clone()),
        ("Country", theirs.country.clone(), yours.country.clone()),
        ("Website", theirs.website.clone(), yours.website.clone()),
        ("Source", source(&theirs.source), source(&yours.source)),
        ("Status", status(&theirs.status), status(&yours.status)),
        ("Owner", owner(&theirs.owner_id), owner(&yours.owner_id)),
        ("Tags", theirs.tags.clone(), yours.tags.clone()),
    ];
    pairs
        .into_iter()
        .filter(|(_, theirs, yours)| theirs.trim() != yours.trim())
        .map(|(label, theirs, yours)| ConflictRow {
            label,
            theirs: theirs.trim().to_owned(),
            yours: yours.trim().to_owned(),
        })
        .collect()
}

/// The form page; `theirs` is the stored lead when the user's save met a newer version.
async fn form_page_with(
    state: &AppState,
    me: &CurrentUser,
    lead_id: Option<i64>,
    form: LeadForm,
    errors: FieldErrors,
    status: StatusCode,
    theirs: Option<LeadForm>,
) -> Result<HttpResponse, AppError> {
    let owners = db::run(&state.pool, |conn| Ok(owner_options(conn, None)?)).await?;
    let conflict = theirs
        .map(|theirs| conflict_rows(&theirs, &form, &owners))
        .unwrap_or_default();
    let title = if lead_id.is_some() {
        "Edit lead"
    } else {
        "New lead"
    };
    render_with_status(
        status,
        &FormPage {
            page: me.page(title),
            lead_id,
            sources: source_options(if form.source.is_empty() {
                "manual"
            } else {
                &form.source
            }),
            statuses: status_options(&Status::SETTABLE, &form.status),
            owners: user_options(&owners, &form.owner_id),
            form,
            errors,
            conflict,
        },
    )
}

async fn new_form(state: web::Data<AppState>, me: Creator) -> Result<HttpResponse, AppError> {
    let form = LeadForm {
        owner_id: me.user.id.to_string(),
        ..LeadForm::default()
    };
    form_page(&state, &me, None, form, FieldErrors::new(), StatusCode::OK).await
}

async fn create(
    state: web::Data<AppState>,
    me: Creator,
    form: web::Form<LeadForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = match form.parse(Source::Manual) {
        Ok(input) => input,
        Err(errors) => {
            return form_page(
                &state,
                &me,
                None,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let (user, actor, now) = (me.user.clone(), me.actor(), state.now());
    let created = db::run(&state.pool, move |conn| {
        service::create(conn, &user, &actor, &input, now)
    })
    .await;
    match created {
        Ok(id) => {
            FlashMessage::success("Lead created.").send();
            Ok(redirect(&format!("/leads/{id}")))
        }
        Err(AppError::Invalid(errors)) => {
            form_page(
                &state,
                &me,
                None,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(err) => Err(err),
    }
}

async fn edit_form(
    state: web::Data<AppState>,
    me: Viewer,
    path: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (lead, tag_names) = db::run(&state.pool, move |conn| {
        let lead = queries::find(conn, id)?.or_not_found()?;
        let tags = queries::tags_of(conn, &[id])?
            .remove(&id)
            .unwrap_or_default();
        Ok((lead, tags))
    })
    .await?;
    if !record_rights(&me.user, lead.owner_id).edit {
        return denied(&state, &me, &req).await;
    }
    let form = LeadForm::of(&lead, &tag_names);
    form_page(
        &state,
        &me,
        Some(id),
        form,
        FieldErrors::new(),
        StatusCode::OK,
    )
    .await
}

async fn update(
    state: web::Data<AppState>,
    me: Viewer,
    path: web::Path<i64>,
    form: web::Form<LeadForm>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = form.into_inner();
    // Who may edit comes before what they typed: a missing lead is a 404 and someone who
    // may not edit it gets a 403 whatever the form holds.
    let owner_id = db::run(&state.pool, move |conn| {
        Ok(queries::find(conn, id)?.or_not_found()?.owner_id)
    })
    .await?;
    if !record_rights(&me.user, owner_id).edit {
        return denied(&state, &me, &req).await;
    }
    let input = match form.parse(Source::Manual) {
        Ok(input) => input,
        Err(errors) => {
            return form_page(
                &state,
                &me,
                Some(id),
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let Some(version) = form.version else {
        return Err(AppError::BadRequest(
            "The form is missing its version.".to_owned(),
        ));
    };
    let (user, actor, now) = (me.user.clone(), me.actor(), state.now());
    let updated = db::run(&state.pool, move |conn| {
        service::update(conn, &user, &actor, id, version, &input, now)
    })
    .await;
    match updated {
        Ok(()) => {
            FlashMessage::success("Lead saved.").send();
            Ok(redirect(&format!("/leads/{id}")))
        }
        Err(AppError::Forbidden) => denied(&state, &me, &req).await,
        Err(AppError::Invalid(errors)) => {
            form_page(
                &state,
                &me,
                Some(id),
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Conflict(message)) => {
            // The form reloads with the stored values and version; the user's own values are
            // lost only if they choose to leave the page.
            let (lead, tag_names) = db::run(&state.pool, move |conn| {
                let lead = queries::find(conn, id)?.or_not_found()?;
                let tags = queries::tags_of(conn, &[id])?
                    .remove(&id)
                    .unwrap_or_default();
                Ok((lead, tags))
            })
            .await?;
            let stored = LeadForm::of(&lead, &tag_names);
            let mut errors = FieldErrors::new();
            errors.add(FieldErrors::FORM, message);
            let mine = LeadForm {
                version: stored.version,
                ..form
            };
            form_page_with(
                &state,
                &me,
                Some(id),
                mine,
                errors,
                StatusCode::CONFLICT,
                Some(stored),
            )
            .await
        }
        Err(err) => Err(err),
    }
}

// ---------------------------------------------------------------------------------------
// The lead page

struct BreakdownLine {
    points: String,
    label: String,
    group: String,
    negative: bool,
    kind: &'static str,
}

struct HistoryRow {
    at: String,
    score: String,
    change: String,
    grade: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "leads/show.html")]
struct ShowPage {
    page: Page,
    lead: Lead,
    name: String,
    source: &'static str,
    status: &'static str,
    owner: String,
    tags: Vec<String>,
    score: String,
    grade: String,
    /// When the stored score was computed: the breakdown is as of then.
    scored_at: Option<String>,
    /// The score predates the latest change of the rules or the lead: no breakdown yet.
    rescoring: bool,
    lines: Vec<BreakdownLine>,
    history: Vec<HistoryRow>,
    can_edit: bool,
    /// Shown while the user may edit the lead and it is not converted yet.
    can_convert: bool,
    /// (kind, path, name) of what a converted lead became.
    converted_into: Vec<(&'static str, String, String)>,
    converted_at: Option<String>,
    /// The points of an SVG polyline of the score over its recent changes.
    sparkline: Option<String>,
    timeline: TimelineView,
    tasks: TasksPanel,
    adjust: AdjustForm,
    adjust_errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
struct ShowQuery {
    before: Option<String>,
}

async fn show(
    state: web::Data<AppState>,
    me: Viewer,
    path: web::Path<i64>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, AppError> {
    show_page(
        &state,
        &me,
        path.into_inner(),
        query.before.as_deref(),
        AdjustForm::default(),
        FieldErrors::new(),
    )
    .await
}

async fn show_page(
    state: &AppState,
    me: &CurrentUser,
    id: i64,
    before: Option<&str>,
    adjust: AdjustForm,
    adjust_errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let before = before.and_then(view::parse_cursor);
    let now = state.now();
    let user = me.user.clone();
    let csrf_token = me.page("").csrf_token;
    let (lead, breakdown, tag_names, owner, history, entries, converted_into, tasks) =
        db::run(&state.pool, move |conn| {
            // One snapshot: the lead's stored score and the inputs that explain it.
            let (lead, breakdown) =
                diesel::Connection::transaction::<_, AppError, _>(conn, |conn| {
                    let lead = queries::find(conn, id)?.or_not_found()?;
                    let breakdown = scoring::explain_stored(conn, &lead)?;
                    Ok((lead, breakdown))
                })?;
            let tags = queries::tags_of(conn, &[id])?
                .remove(&id)
                .unwrap_or_default();
            let owner = match lead.owner_id {
                Some(owner_id) => user_names(conn, &[owner_id])?.remove(&owner_id),
                None => None,
            };
            let history = queries::score_history(conn, id, 20)?;
            let entries = timeline::page(conn, Subject::Lead(id), before, view::PAGE_SIZE + 1)?;
            let converted_into = queries::converted_into(conn, &lead)?;
            let tasks = tasks_panel::load(conn, Linked::Lead(id), &user, &csrf_token, now)?;
            Ok((
                lead,
                breakdown,
                tags,
                owner,
                history,
                entries,
                converted_into,
                tasks,
            ))
        })
        .await?;
    let tz = me.user.tz();
    let rights = record_rights(&me.user, lead.owner_id);
    let status = if adjust_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let (breakdown, scored_at) = match breakdown {
        scoring::StoredExplanation::AsOf {
            breakdown,
            scored_at,
        } => (Some(breakdown), Some(format::datetime(scored_at, tz))),
        scoring::StoredExplanation::Rescoring => (None, None),
    };
    let rescoring = breakdown.is_none();
    let lines = breakdown
        .iter()
        .flat_map(|breakdown| breakdown.lines.iter())
        .map(|line| BreakdownLine {
            points: line.points.to_string(),
            label: line.label.clone(),
            group: line.group.clone().unwrap_or_default(),
            negative: line.points.0 < 0,
            kind: match line.kind {
                LineKind::Attribute => "attribute",
                LineKind::Behaviour => "behaviour",
                LineKind::RuleCap | LineKind::GroupCap | LineKind::TotalCap => "cap",
                LineKind::Adjustment => "adjustment",
            },
        })
        .collect();
    let sparkline = sparkline(&history);
    let history = history
        .into_iter()
        .map(|change| HistoryRow {
            at: format::datetime(change.recorded_at, tz),
            score: Points(change.score).unsigned_label(),
            change: Points(change.score - change.previous_score).to_string(),
            grade: change.grade,
            reason: change.reason,
        })
        .collect();
    render_with_status(
        status,
        &ShowPage {
            page: me.page(&lead.name()),
            name: lead.name(),
            source: Source::label_of(&lead.source),
            status: Status::label_of(&lead.status),
            owner: owner.unwrap_or_default(),
            tags: tag_names,
            // The stored score, as the list shows it; the lines add up to it.
            score: Points(lead.score).unsigned_label(),
            grade: lead.grade.clone(),
            scored_at,
            rescoring,
            lines,
            history,
            can_edit: rights.edit,
            can_convert: rights.edit && lead.status != Status::Converted.as_str(),
            converted_into,
            sparkline,
            converted_at: lead.converted_at.map(|at| format::datetime(at, tz)),
            timeline: TimelineView::new(Subject::Lead(id), entries, tz, rights.add_notes),
            tasks,
            adjust,
            adjust_errors,
            lead,
        },
    )
}

/// The score before the oldest change shown, then after each change, as the points of a
/// 200×40 polyline (higher scores higher up); None when there is nothing to draw.
fn sparkline(history: &[queries::ScoreChange]) -> Option<String> {
    let oldest = history.last()?;
    let scores: Vec<i64> = std::iter::once(oldest.previous_score)
        .chain(history.iter().rev().map(|change| change.score))
        .collect();
    let (low, high) = (
        scores.iter().copied().min().unwrap_or(0),
        scores.iter().copied().max().unwrap_or(0),
    );
    let step = 200.0 / (scores.len() - 1) as f64;
    let points = scores
        .iter()
        .enumerate()
        .map(|(index, score)| {
            let height = if high == low {
                0.5
            } else {
                (score - low) as f64 / (high - low) as f64
            };
            format!("{:.1},{:.1}", index as f64 * step, 38.0 - height * 36.0)
        })
        .collect::<Vec<_>>()
        .join(" ");
    Some(points)
}

#[derive(Debug, Clone, Default, Deserialize)]
struct AdjustForm {
    #[serde(default)]
    points: String,
    #[serde(default)]
    reason: String,
}

async fn adjust(
    state: web::Data<AppState>,
    me: Viewer,
    path: web::Path<i64>,
    form: web::Form<AdjustForm>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = form.into_inner();
    let (user, actor, now) = (me.user.clone(), me.actor(), state.now());
    let typed = form.clone();
    let adjusted = db::run(&state.pool, move |conn| {
        service::adjust_score(conn, &user, &actor, id, &form.points, &form.reason, now)
    })
    .await;
    match adjusted {
        Ok(()) => {
            FlashMessage::success("Score adjusted.").send();
            Ok(redirect(&format!("/leads/{id}#score")))
        }
        Err(AppError::Forbidden) => denied(&state, &me, &req).await,
        Err(AppError::Invalid(errors)) => show_page(&state, &me, id, None, typed, errors).await,
        Err(err) => Err(err),
    }
}
