//! `/companies`: the list with filters, keyset pages and bulk actions; the company page
//! (facts, contacts, timeline, history); create, edit, archive, restore and delete.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::model::{Company, CompanyForm, FIELDS};
use super::queries::{self, Cursor, Filter, MemberRow, Sort};
use super::service::{self, BulkAction, Saved};
use crate::audit::{self, Action};
use crate::auth::model::{Role, User};
use crate::auth::policy::{CreateCustomers, RecordRights, ViewCustomers, record_rights};
use crate::contacts::tags;
use crate::contacts::timeline::view::{PAGE_SIZE as TIMELINE_PAGE, TimelineView, parse_cursor};
use crate::contacts::timeline::{self, Subject};
use crate::db;
use crate::error::{AppError, FieldErrors, OrNotFound};
use crate::pipeline::{self, panel::DealsPanel};
use crate::search;
use crate::tasks::{self, panel::Linked, panel::TasksPanel};
use crate::web::AppState;
use crate::web::extract::{Authorized, CurrentUser};
use crate::web::format;
use crate::web::list_params;
use crate::web::page::{Page, redirect, render, render_with_status};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/companies", web::get().to(list))
        .route("/companies", web::post().to(create))
        .route("/companies/new", web::get().to(new_form))
        .route("/companies/bulk", web::post().to(bulk))
        .route("/companies/suggest", web::get().to(suggest))
        .route("/companies/{id}", web::get().to(show))
        .route("/companies/{id}", web::post().to(update))
        .route("/companies/{id}/edit", web::get().to(edit_form))
        .route("/companies/{id}/archive", web::post().to(archive))
        .route("/companies/{id}/restore", web::post().to(restore))
        .route("/companies/{id}/delete", web::post().to(delete));
}

type Viewer = Authorized<ViewCustomers>;
type Creator = Authorized<CreateCustomers>;

#[derive(Deserialize)]
struct SuggestQuery {
    #[serde(default)]
    company: String,
}

#[derive(Template)]
#[template(
    source = "{% for name in names %}<option value=\"{{ name }}\"></option>{% endfor %}",
    ext = "html"
)]
struct Suggestions {
    names: Vec<String>,
}

/// Company names for a filter's type-ahead (`<datalist>` options), best matches first.
async fn suggest(
    state: web::Data<AppState>,
    _viewer: Viewer,
    query: web::Query<SuggestQuery>,
) -> Result<HttpResponse, AppError> {
    let typed = query.into_inner().company;
    let names = db::run(&state.pool, move |conn| {
        let hits = search::search_companies(conn, &typed, 8)?;
        let ids: Vec<i64> = hits.iter().map(|hit| hit.id).collect();
        let mut by_id = crate::contacts::contact::queries::company_names(conn, &ids)?;
        Ok(ids
            .iter()
            .filter_map(|id| by_id.remove(id))
            .collect::<Vec<String>>())
    })
    .await?;
    render(&Suggestions { names })
}

/// Refuses a record-level action, writing the refusal to the audit log like the role checks do.
async fn refuse(state: &AppState, user: &CurrentUser, what: String) -> AppError {
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

/// The fields of a url-encoded form body; repeated names (checkboxes) are all kept.
fn form_pairs(body: &Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// The company form in a body; `prefix` "original_" reads the values the form started from.
fn company_form(pairs: &[(String, String)], prefix: &str) -> CompanyForm {
    let get = |name: &str| field(pairs, &format!("{prefix}{name}")).to_owned();
    CompanyForm {
        name: get("name"),
        domain: get("domain"),
        industry: get("industry"),
        employee_count: get("employee_count"),
        phone: get("phone"),
        address: get("address"),
        owner: get("owner"),
        tags: get("tags"),
    }
}

// ---------------------------------------------------------------------------------------
// The list

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    owner: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    archived: String,
    #[serde(default)]
    created_from: String,
    #[serde(default)]
    created_to: String,
    #[serde(default)]
    inactive_days: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    after: String,
}

impl ListQuery {
    /// The query's filters (not the cursor) as `(name, value)` pairs.
    fn filters(&self) -> [(&'static str, &str); 7] {
        [
            ("q", &self.q),
            ("owner", &self.owner),
            ("tag", &self.tag),
            ("archived", &self.archived),
            ("created_from", &self.created_from),
            ("created_to", &self.created_to),
            ("inactive_days", &self.inactive_days),
        ]
        .map(|(name, value)| (name, value.as_str()))
    }

    /// The query string of this list without the cursor (for the next page and bulk returns).
    pub(crate) fn without_cursor(&self) -> String {
        list_params::query_string(
            self.filters()
                .into_iter()
                .chain([("sort", self.sort.as_str())]),
        )
    }

    fn is_filtered(&self) -> bool {
        self.filters()
            .iter()
            .any(|(_, value)| !value.trim().is_empty())
    }
}

pub(crate) fn build_filter(
    conn: &mut db::Conn,
    query: &ListQuery,
    user: &User,
    now: NaiveDateTime,
) -> Result<Filter, AppError> {
    let tz = user.tz();
    let tag = query.tag.trim();
    let tag_id = if tag.is_empty() {
        None
    } else {
        Some(tags::find_id(conn, tag)?)
    };
    Ok(Filter {
        owner_id: list_params::owner(&query.owner, user.id),
        tag_id,
        fts: search::fts_query(&query.q),
        archived: !query.archived.trim().is_empty() && query.archived != "0",
        created_from: list_params::day_start(&query.created_from, tz, false),
        created_before: list_params::day_start(&query.created_to, tz, true),
        inactive_since: list_params::inactive_since(&query.inactive_days, now),
    })
}

struct Row {
    id: i64,
    name: String,
    domain: String,
    industry: String,
    owner: String,
    tags: Vec<String>,
    last_activity: String,
    archived: bool,
    can_edit: bool,
}

#[derive(Template)]
#[template(path = "contacts/companies/index.html")]
struct ListPage {
    page: Page,
    views: crate::contacts::views::Sidebar,
    rows: Vec<Row>,
    query: ListQuery,
    owners: Vec<(i64, String)>,
    all_tags: Vec<String>,
    can_create: bool,
    can_bulk: bool,
    filtered: bool,
    paged: bool,
    next_page: Option<String>,
    back: String,
}

impl ListPage {
    fn owner_selected(&self, value: &str) -> bool {
        self.query.owner.trim() == value
    }
}

async fn list(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<ListQuery>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let raw_query = req.query_string().to_owned();
    let user = viewer.user.clone();
    let now = state.now();
    let sort = Sort::parse(query.sort.trim());
    let after = Cursor::parse(&query.after, sort);
    let (query, views, companies, names, tag_map, owners, all_tags) =
        db::run(&state.pool, move |conn| {
            let views = crate::contacts::views::sidebar(
                conn,
                crate::contacts::views::ListKind::Companies,
                &user,
                &raw_query,
            )?;
            let filter = build_filter(conn, &query, &user, now)?;
            let companies =
                queries::list(conn, &filter, sort, after.as_ref(), queries::PAGE_SIZE + 1)?;
            let ids: Vec<i64> = companies.iter().map(|company| company.id).collect();
            let owner_ids: Vec<i64> = companies.iter().filter_map(|c| c.owner_id).collect();
            let names = queries::user_names(conn, &owner_ids)?;
            let tag_map = tags::for_companies(conn, &ids)?;
            let owners = queries::possible_owners(conn)?;
            let all_tags = tags::all(conn)?;
            Ok((query, views, companies, names, tag_map, owners, all_tags))
        })
        .await?;
    let mut companies = companies;
    let more = companies.len() > queries::PAGE_SIZE as usize;
    companies.truncate(queries::PAGE_SIZE as usize);
    let back = query.without_cursor();
    let next_page = more.then(|| companies.last()).flatten().map(|last| {
        let cursor = Cursor::after(sort, last).encode();
        let mut link = url::form_urlencoded::Serializer::new(back.clone());
        link.append_pair("after", &cursor);
        format!("/companies?{}", link.finish())
    });
    let tz = viewer.user.tz();
    let mut tag_map = tag_map;
    let rows = companies
        .into_iter()
        .map(|company| Row {
            id: company.id,
            owner: company
                .owner_id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_default(),
            tags: tag_map.remove(&company.id).unwrap_or_default(),
            last_activity: company
                .last_activity_at
                .map(|at| format::datetime(at, tz))
                .unwrap_or_default(),
            archived: company.archived_at.is_some(),
            can_edit: record_rights(&viewer.user, company.owner_id).edit,
            name: company.name,
            domain: company.domain.unwrap_or_default(),
            industry: company.industry.unwrap_or_default(),
        })
        .collect();
    render(&ListPage {
        page: viewer.page("Companies"),
        views,
        rows,
        filtered: query.is_filtered(),
        paged: !query.after.is_empty(),
        can_create: viewer
            .user
            .role
            .can(crate::auth::policy::Permission::CreateCustomers),
        can_bulk: viewer.user.role != Role::Support,
        query,
        owners,
        all_tags,
        next_page,
        back,
    })
}

// ---------------------------------------------------------------------------------------
// Create and edit

struct ConflictRow {
    label: &'static str,
    theirs: String,
    yours: String,
}

#[derive(Template)]
#[template(path = "contacts/companies/form.html")]
struct FormPage {
    page: Page,
    id: Option<i64>,
    version: i32,
    form: CompanyForm,
    original: CompanyForm,
    owners: Vec<(i64, String)>,
    errors: FieldErrors,
    conflict: Vec<ConflictRow>,
    fields: [(&'static str, &'static str); 8],
}

impl FormPage {
    fn action(&self) -> String {
        match self.id {
            Some(id) => format!("/companies/{id}"),
            None => "/companies".to_owned(),
        }
    }
}

async fn owners_of(state: &AppState) -> Result<Vec<(i64, String)>, AppError> {
    db::run(&state.pool, |conn| Ok(queries::possible_owners(conn)?)).await
}

async fn new_form(state: web::Data<AppState>, creator: Creator) -> Result<HttpResponse, AppError> {
    let form = CompanyForm {
        owner: creator.user.id.to_string(),
        ..CompanyForm::default()
    };
    render(&FormPage {
        page: creator.page("New company"),
        id: None,
        version: 0,
        original: form.clone(),
        form,
        owners: owners_of(&state).await?,
        errors: FieldErrors::new(),
        conflict: Vec::new(),
        fields: FIELDS,
    })
}

async fn create(
    state: web::Data<AppState>,
    creator: Creator,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let pairs = form_pairs(&body);
    let form = company_form(&pairs, "");
    let result = match form.validate() {
        Ok(input) => {
            let (now, actor, user) = (state.now(), creator.actor(), creator.user.clone());
            db::run(&state.pool, move |conn| {
                service::create(conn, now, &actor, &user, &input)
            })
            .await
        }
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(id) => {
            FlashMessage::success(format!("{} has been created.", form.name.trim())).send();
            Ok(redirect(&format!("/companies/{id}")))
        }
        Err(AppError::Invalid(errors)) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &FormPage {
                page: creator.page("New company"),
                id: None,
                version: 0,
                original: form.clone(),
                form,
                owners: owners_of(&state).await?,
                errors,
                conflict: Vec::new(),
                fields: FIELDS,
            },
        ),
        Err(other) => Err(other),
    }
}

/// The company and its tags, or 404.
async fn load(state: &AppState, id: i64) -> Result<(Company, Vec<String>), AppError> {
    db::run(&state.pool, move |conn| {
        let company = queries::find(conn, id)?.or_not_found()?;
        let tags = tags::for_companies(conn, &[id])?
            .remove(&id)
            .unwrap_or_default();
        Ok((company, tags))
    })
    .await
}

async fn edit_form(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (company, tags) = load(&state, id).await?;
    if !record_rights(&viewer.user, company.owner_id).edit {
        return Err(refuse(&state, &viewer, format!("GET /companies/{id}/edit")).await);
    }
    let form = CompanyForm::of(&company, &tags);
    render(&FormPage {
        page: viewer.page(&format!("Edit {}", company.name)),
        id: Some(id),
        version: company.version,
        original: form.clone(),
        form,
        owners: owners_of(&state).await?,
        errors: FieldErrors::new(),
        conflict: Vec::new(),
        fields: FIELDS,
    })
}

async fn update(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i64>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (company, _) = load(&state, id).await?;
    if !record_rights(&viewer.user, company.owner_id).edit {
        return Err(refuse(&state, &viewer, format!("POST /companies/{id}")).await);
    }
    let pairs = form_pairs(&body);
    let form = company_form(&pairs, "");
    let original = company_form(&pairs, "original_");
    let version: i32 = field(&pairs, "version").trim().parse().unwrap_or(0);
    let result = match form.validate() {
        Ok(input) => {
            let (now, actor, user) = (state.now(), viewer.actor(), viewer.user.clone());
            let form = input.as_form();
            let original = original.clone();
            db::run(&state.pool, move |conn| {
                match service::update(conn, now, &actor, &user, id, version, &input)? {
                    Saved::Done => Ok(None),
                    Saved::Conflict(current, theirs) => {
                        // Fields the other person changed: where the stored value moved away
                        // from what this form started from. Without those values (an old
                        // form), every field that differs from what was sent.
                        let started_from_known =
                            pairs.iter().any(|(k, _)| k.starts_with("original_"));
                        let mut rows = Vec::new();
                        for (name, label) in FIELDS {
                            let changed = if started_from_known {
                                theirs.value(name) != original.value(name)
                            } else {
                                theirs.value(name) != form.value(name)
                            };
                            if changed {
                                rows.push(ConflictRow {
                                    label,
                                    theirs: service::shown(conn, name, theirs.value(name))?,
                                    yours: service::shown(conn, name, form.value(name))?,
                                });
                            }
                        }
                        Ok(Some((current, theirs, rows)))
                    }
                }
            })
            .await
        }
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    let owners = owners_of(&state).await?;
    match result {
        Ok(None) => {
            FlashMessage::success("Changes saved.").send();
            Ok(redirect(&format!("/companies/{id}")))
        }
        Ok(Some((current, theirs, conflict))) => render_with_status(
            StatusCode::CONFLICT,
            &FormPage {
                page: viewer.page(&format!("Edit {}", current.name)),
                id: Some(id),
                // Saving again now is a deliberate choice to keep these values.
                version: current.version,
                original: theirs,
                form,
                owners,
                errors: FieldErrors::single(FieldErrors::FORM, service::CONFLICT),
                conflict,
                fields: FIELDS,
            },
        ),
        Err(AppError::Invalid(errors)) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &FormPage {
                page: viewer.page(&format!("Edit {}", company.name)),
                id: Some(id),
                version,
                original,
                form,
                owners,
                errors,
                conflict: Vec::new(),
                fields: FIELDS,
            },
        ),
        Err(other) => Err(other),
    }
}

// ---------------------------------------------------------------------------------------
// The company page

struct HistoryRow {
    when: String,
    when_iso: String,
    actor: String,
    action: String,
    details: String,
}

#[derive(Template)]
#[template(path = "contacts/companies/show.html")]
struct ShowPage {
    page: Page,
    company: Company,
    tags: Vec<String>,
    owner: String,
    employees: String,
    created: String,
    last_activity: String,
    members: Vec<MemberRow>,
    member_count: i64,
    timeline: TimelineView,
    history: Vec<HistoryRow>,
    rights: RecordRights,
    deals: DealsPanel,
    tasks: TasksPanel,
}

#[derive(Debug, Default, Deserialize)]
struct ShowQuery {
    before: Option<String>,
}

const MEMBERS_SHOWN: i64 = 100;

async fn show(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i64>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let before = query.before.as_deref().and_then(parse_cursor);
    let page = viewer.page("");
    let user = viewer.user.clone();
    let csrf_token = page.csrf_token.clone();
    let now = state.now();
    let (company, tags, owner, members, member_count, entries, history, deals, tasks) =
        db::run(&state.pool, move |conn| {
            let company = queries::find(conn, id)?.or_not_found()?;
            let tags = tags::for_companies(conn, &[id])?
                .remove(&id)
                .unwrap_or_default();
            let owner = match company.owner_id {
                Some(owner_id) => queries::user_names(conn, &[owner_id])?.remove(&owner_id),
                None => None,
            };
            let members = queries::members(conn, id, MEMBERS_SHOWN)?;
            let member_count = queries::member_count(conn, id)?;
            let entries = timeline::page(conn, Subject::Company(id), before, TIMELINE_PAGE + 1)?;
            let history = audit::history(conn, &format!("company {id}"), 50)?;
            let deals = pipeline::panel::load(conn, Subject::Company(id), &user, &csrf_token)?;
            let tasks = tasks::panel::load(conn, Linked::Company(id), &user, &csrf_token, now)?;
            Ok((
                company,
                tags,
                owner,
                members,
                member_count,
                entries,
                history,
                deals,
                tasks,
            ))
        })
        .await?;
    let tz = viewer.user.tz();
    let rights = record_rights(&viewer.user, company.owner_id);
    render(&ShowPage {
        page: Page {
            title: company.name.clone(),
            ..page
        },
        tags,
        owner: owner.unwrap_or_default(),
        employees: company
            .employee_count
            .map(|count| count.to_string())
            .unwrap_or_default(),
        created: format::datetime(company.created_at, tz),
        last_activity: company
            .last_activity_at
            .map(|at| format::datetime(at, tz))
            .unwrap_or_default(),
        members,
        member_count,
        timeline: TimelineView::new(Subject::Company(id), entries, tz, rights.add_notes),
        history: history
            .into_iter()
            .map(|entry| HistoryRow {
                when: format::datetime(entry.occurred_at, tz),
                when_iso: format::iso(entry.occurred_at),
                actor: entry.actor_label,
                action: entry.action.replace("record_", "").replace('_', " "),
                details: entry.details.unwrap_or_default(),
            })
            .collect(),
        rights,
        deals,
        tasks,
        company,
    })
}

// ---------------------------------------------------------------------------------------
// Archive, restore, delete

async fn set_archived(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    archive: bool,
) -> Result<HttpResponse, AppError> {
    let (company, _) = load(state, id).await?;
    let verb = if archive { "archive" } else { "restore" };
    if !record_rights(&viewer.user, company.owner_id).edit {
        return Err(refuse(state, viewer, format!("POST /companies/{id}/{verb}")).await);
    }
    let (now, actor, user) = (state.now(), viewer.actor(), viewer.user.clone());
    let company = db::run(&state.pool, move |conn| {
        service::set_archived(conn, now, &actor, &user, id, archive)
    })
    .await?;
    let done = if archive { "archived" } else { "restored" };
    FlashMessage::success(format!("{} has been {done}.", company.name)).send();
    Ok(redirect(&format!("/companies/{id}")))
}

async fn archive(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    set_archived(&state, &viewer, id.into_inner(), true).await
}

async fn restore(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    set_archived(&state, &viewer, id.into_inner(), false).await
}

async fn delete(
    state: web::Data<AppState>,
    viewer: Viewer,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (company, _) = load(&state, id).await?;
    if !record_rights(&viewer.user, company.owner_id).delete {
        return Err(refuse(&state, &viewer, format!("POST /companies/{id}/delete")).await);
    }
    let (now, actor, user) = (state.now(), viewer.actor(), viewer.user.clone());
    let company = db::run(&state.pool, move |conn| {
        service::delete(conn, now, &actor, &user, id)
    })
    .await?;
    FlashMessage::success(format!("{} has been deleted.", company.name)).send();
    Ok(redirect("/companies"))
}

// ---------------------------------------------------------------------------------------
// Bulk actions

async fn bulk(
    state: web::Data<AppState>,
    creator: Creator,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let pairs = form_pairs(&body);
    let back = field(&pairs, "back");
    let back_to = if back.is_empty() || back.chars().any(char::is_control) || back.contains('#') {
        "/companies".to_owned()
    } else {
        let clean: String = url::form_urlencoded::parse(back.as_bytes())
            .fold(
                url::form_urlencoded::Serializer::new(String::new()),
                |mut out, (key, value)| {
                    out.append_pair(&key, &value);
                    out
                },
            )
            .finish();
        format!("/companies?{clean}")
    };
    let ids: Vec<i64> = pairs
        .iter()
        .filter(|(key, _)| key == "ids")
        .filter_map(|(_, value)| value.trim().parse().ok())
        .collect();
    if ids.is_empty() {
        FlashMessage::error("Select at least one company first.").send();
        return Ok(redirect(&back_to));
    }
    let action = match field(&pairs, "action") {
        "assign_owner" => {
            let owner = field(&pairs, "owner").trim();
            if owner.is_empty() {
                BulkAction::AssignOwner(None)
            } else {
                match owner.parse::<i64>() {
                    Ok(id) => BulkAction::AssignOwner(Some(id)),
                    Err(_) => {
                        FlashMessage::error("Choose an owner from the list.").send();
                        return Ok(redirect(&back_to));
                    }
                }
            }
        }
        name @ ("add_tag" | "remove_tag") => {
            let tag = match tags::parse(field(&pairs, "tag")) {
                Ok(mut names) if names.len() == 1 => names.remove(0),
                Ok(_) => {
                    FlashMessage::error("Type one tag.").send();
                    return Ok(redirect(&back_to));
                }
                Err(message) => {
                    FlashMessage::error(message).send();
                    return Ok(redirect(&back_to));
                }
            };
            if name == "add_tag" {
                BulkAction::AddTag(tag)
            } else {
                BulkAction::RemoveTag(tag)
            }
        }
        "archive" => BulkAction::Archive,
        _ => {
            FlashMessage::error("Choose what to do with the selected companies.").send();
            return Ok(redirect(&back_to));
        }
    };
    let (now, actor, user) = (state.now(), creator.actor(), creator.user.clone());
    let result = db::run(&state.pool, move |conn| {
        service::bulk(conn, now, &actor, &user, &ids, &action)
    })
    .await;
    match result {
        Ok(outcome) => {
            let plural = |n: usize| if n == 1 { "company" } else { "companies" };
            let mut message = format!("{} {} changed.", outcome.changed, plural(outcome.changed));
            if outcome.skipped > 0 {
                message.push_str(&format!(
                    " {} skipped: you may not edit {}.",
                    outcome.skipped,
                    if outcome.skipped == 1 { "it" } else { "them" }
                ));
                FlashMessage::warning(message).send();
            } else {
                FlashMessage::success(message).send();
            }
            Ok(redirect(&back_to))
        }
        Err(AppError::Invalid(errors)) => {
            let message = errors
                .get("owner")
                .or_else(|| errors.get("tags"))
                .cloned()
                .unwrap_or_else(|| "That change is not valid.".to_owned());
            FlashMessage::error(message).send();
            Ok(redirect(&back_to))
        }
        Err(other) => Err(other),
    }
}
