//! `/contacts`: the list with filters and bulk actions, the contact page (360° view), and
//! the forms to create, edit, archive, restore and delete contacts.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::model::{Contact, ContactForm, Stage};
use super::queries::{self, CompanyFilter, Cursor, Duplicate, ListFilter, Sort};
use super::service::{self, BulkAction, Created, FieldChange, Updated};
use crate::audit::{self, Action};
use crate::auth::policy::{
    CreateCustomers, Permission, RecordRights, ViewCustomers, record_rights,
};
use crate::contacts::tags;
use crate::contacts::timeline::view::{self, TimelineView};
use crate::contacts::timeline::{self, Subject};
use crate::db;
use crate::error::{AppError, FieldErrors, OrNotFound};
use crate::pipeline::{self, panel::DealsPanel};
use crate::search;
use crate::tasks::{self, panel::Linked, panel::TasksPanel};
use crate::web::AppState;
use crate::web::extract::{Authorized, CurrentUser, denied};
use crate::web::format;
use crate::web::list_params;
use crate::web::page::{Page, redirect, render, render_with_status};

type Viewer = Authorized<ViewCustomers>;
type Creator = Authorized<CreateCustomers>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/contacts", web::get().to(list))
        .route("/contacts", web::post().to(create))
        .route("/contacts/new", web::get().to(new_form))
        .route("/contacts/bulk", web::post().to(bulk))
        .route("/contacts/{id}", web::get().to(show))
        .route("/contacts/{id}", web::post().to(update))
        .route("/contacts/{id}/edit", web::get().to(edit_form))
        .route("/contacts/{id}/archive", web::post().to(archive))
        .route("/contacts/{id}/restore", web::post().to(restore))
        .route("/contacts/{id}/delete", web::post().to(delete));
}

// ---------------------------------------------------------------------------------------
// The list

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ListQuery {
    owner: Option<String>,
    tag: Option<String>,
    company: Option<String>,
    stage: Option<String>,
    q: Option<String>,
    archived: Option<String>,
    created_from: Option<String>,
    created_to: Option<String>,
    updated_from: Option<String>,
    updated_to: Option<String>,
    inactive_days: Option<String>,
    sort: Option<String>,
    after: Option<String>,
}

fn value(field: &Option<String>) -> &str {
    field.as_deref().map(str::trim).unwrap_or("")
}

impl ListQuery {
    /// The query's filters (not the cursor) as `(name, value)` pairs.
    fn pairs(&self) -> [(&'static str, &str); 12] {
        [
            ("q", value(&self.q)),
            ("owner", value(&self.owner)),
            ("tag", value(&self.tag)),
            ("company", value(&self.company)),
            ("stage", value(&self.stage)),
            ("archived", value(&self.archived)),
            ("created_from", value(&self.created_from)),
            ("created_to", value(&self.created_to)),
            ("updated_from", value(&self.updated_from)),
            ("updated_to", value(&self.updated_to)),
            ("inactive_days", value(&self.inactive_days)),
            ("sort", value(&self.sort)),
        ]
    }

    pub(crate) fn link(&self, after: Option<&str>) -> String {
        let query = list_params::query_string(
            self.pairs()
                .into_iter()
                .chain(after.map(|after| ("after", after))),
        );
        list_params::link("/contacts", &query)
    }

    pub(crate) fn filter(&self, current: &CurrentUser, now: NaiveDateTime) -> ListFilter {
        let tz = current.user.tz();
        let sort = Sort::parse(value(&self.sort));
        ListFilter {
            owner_id: list_params::owner(value(&self.owner), current.user.id),
            tag: Some(value(&self.tag).to_lowercase()).filter(|tag| !tag.is_empty()),
            company: CompanyFilter::parse(value(&self.company)),
            stage: Stage::parse(value(&self.stage)).ok(),
            fts: search::fts_query(value(&self.q)),
            archived: value(&self.archived) == "1",
            created_from: list_params::day_start(value(&self.created_from), tz, false),
            created_to: list_params::day_start(value(&self.created_to), tz, true),
            updated_from: list_params::day_start(value(&self.updated_from), tz, false),
            updated_to: list_params::day_start(value(&self.updated_to), tz, true),
            inactive_since: list_params::inactive_since(value(&self.inactive_days), now),
            sort,
            after: Cursor::parse(value(&self.after), sort),
        }
    }
}

struct Row {
    id: i64,
    name: String,
    email: String,
    company: Option<(i64, String)>,
    owner: String,
    stage: &'static str,
    tags: Vec<String>,
    last_activity: String,
    archived: bool,
}

struct SelectOption {
    value: String,
    label: String,
    selected: bool,
}

fn options(items: &[(i64, String)], selected: &str) -> Vec<SelectOption> {
    items
        .iter()
        .map(|(id, label)| SelectOption {
            value: id.to_string(),
            label: label.clone(),
            selected: id.to_string() == selected,
        })
        .collect()
}

fn stage_options(selected: &str) -> Vec<SelectOption> {
    Stage::ALL
        .iter()
        .map(|stage| SelectOption {
            value: stage.as_str().to_owned(),
            label: stage.label().to_owned(),
            selected: stage.as_str() == selected,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "contacts/people/list.html")]
struct ListPage {
    page: Page,
    views: crate::contacts::views::Sidebar,
    rows: Vec<Row>,
    q: String,
    owners: Vec<SelectOption>,
    mine: bool,
    stages: Vec<SelectOption>,
    tags: Vec<SelectOption>,
    company: String,
    archived: bool,
    created_from: String,
    created_to: String,
    updated_from: String,
    updated_to: String,
    inactive_days: String,
    sort: &'static str,
    filtered: bool,
    next_page: Option<String>,
    first_page: Option<String>,
    can_create: bool,
    can_bulk: bool,
    bulk_owners: Vec<SelectOption>,
    export_link: String,
}

struct Listed {
    views: crate::contacts::views::Sidebar,
    contacts: Vec<Contact>,
    emails: std::collections::HashMap<i64, String>,
    companies: std::collections::HashMap<i64, String>,
    owners: std::collections::HashMap<i64, String>,
    tags: std::collections::HashMap<i64, Vec<String>>,
    owner_options: Vec<(i64, String)>,
    /// The name of the company the list is filtered by, for the filter's input.
    company_name: Option<String>,
    tag_options: Vec<String>,
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
    let filter = query.filter(&viewer, state.now());
    let sort = filter.sort;
    let selected_company = filter.company.clone();
    let loaded = db::run(&state.pool, move |conn| {
        let contacts = queries::list(conn, &filter)?;
        let ids: Vec<i64> = contacts.iter().map(|contact| contact.id).collect();
        let company_ids: Vec<i64> = contacts.iter().filter_map(|c| c.company_id).collect();
        let owner_ids: Vec<i64> = contacts.iter().filter_map(|c| c.owner_id).collect();
        Ok(Listed {
            views: crate::contacts::views::sidebar(
                conn,
                crate::contacts::views::ListKind::Contacts,
                &user,
                &raw_query,
            )?,
            emails: queries::primary_emails(conn, &ids)?,
            companies: queries::company_names(conn, &company_ids)?,
            owners: queries::user_names(conn, &owner_ids)?,
            tags: tags::for_contacts(conn, &ids)?,
            owner_options: queries::owner_options(conn, None)?,
            company_name: match selected_company {
                Some(CompanyFilter::Id(id)) => queries::company_names(conn, &[id])?.remove(&id),
                Some(CompanyFilter::Named(name)) => Some(name),
                None => None,
            },
            tag_options: tags::all(conn)?,
            contacts,
        })
    })
    .await?;
    let Listed {
        views,
        mut contacts,
        emails,
        companies,
        owners,
        mut tags,
        owner_options,
        company_name,
        tag_options,
    } = loaded;
    let next_page = if contacts.len() > queries::PAGE_SIZE as usize {
        contacts.truncate(queries::PAGE_SIZE as usize);
        contacts
            .last()
            .map(|last| query.link(Some(&Cursor::after(sort, last).encode())))
    } else {
        None
    };
    let tz = viewer.user.tz();
    let rows = contacts
        .iter()
        .map(|contact| Row {
            id: contact.id,
            name: contact.name(),
            email: emails.get(&contact.id).cloned().unwrap_or_default(),
            company: contact
                .company_id
                .and_then(|id| companies.get(&id).map(|name| (id, name.clone()))),
            owner: contact
                .owner_id
                .and_then(|id| owners.get(&id).cloned())
                .unwrap_or_default(),
            stage: Stage::label_of(&contact.lifecycle_stage),
            tags: tags.remove(&contact.id).unwrap_or_default(),
            last_activity: contact
                .last_activity_at
                .map(|at| format::datetime(at, tz))
                .unwrap_or_default(),
            archived: contact.archived_at.is_some(),
        })
        .collect();
    let tag = value(&query.tag).to_lowercase();
    let role = viewer.user.role;
    render(&ListPage {
        page: viewer.page("Contacts"),
        views,
        rows,
        q: value(&query.q).to_owned(),
        owners: options(&owner_options, value(&query.owner)),
        mine: value(&query.owner) == "mine",
        stages: stage_options(value(&query.stage)),
        tags: tag_options
            .into_iter()
            .map(|name| SelectOption {
                selected: name == tag,
                value: name.clone(),
                label: name,
            })
            .collect(),
        company: company_name.unwrap_or_default(),
        archived: value(&query.archived) == "1",
        created_from: value(&query.created_from).to_owned(),
        created_to: value(&query.created_to).to_owned(),
        updated_from: value(&query.updated_from).to_owned(),
        updated_to: value(&query.updated_to).to_owned(),
        inactive_days: value(&query.inactive_days).to_owned(),
        sort: sort.as_str(),
        filtered: query
            .pairs()
            .iter()
            .any(|(name, value)| *name != "sort" && !value.is_empty()),
        first_page: query.after.is_some().then(|| query.link(None)),
        next_page,
        can_create: role.can(Permission::CreateCustomers),
        can_bulk: role.can(Permission::CreateCustomers),
        bulk_owners: options(&owner_options, ""),
        export_link: query
            .link(None)
            .replacen("/contacts", "/contacts/export.csv", 1),
    })
}

// ---------------------------------------------------------------------------------------
// Bulk actions

/// Reads the bulk form by hand: `ids` repeats, which `web::Form` does not collect.
fn bulk_action(body: &[u8]) -> Result<(Vec<i64>, BulkAction), AppError> {
    let mut ids = Vec::new();
    let (mut action, mut owner, mut tag) = (String::new(), String::new(), String::new());
    for (name, value) in url::form_urlencoded::parse(body) {
        match name.as_ref() {
            "ids" => ids.extend(value.parse::<i64>().ok()),
            "action" => action = value.into_owned(),
            "owner" => owner = value.into_owned(),
            "tag" => tag = value.into_owned(),
            _ => {}
        }
    }
    if ids.is_empty() {
        return Err(AppError::BadRequest(
            "Select at least one contact first.".to_owned(),
        ));
    }
    let tag_name = || -> Result<String, AppError> {
        tags::parse(&tag)
            .map_err(AppError::BadRequest)?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::BadRequest("Enter a tag.".to_owned()))
    };
    let action = match action.as_str() {
        "assign_owner" => BulkAction::AssignOwner(
            owner
                .trim()
                .parse()
                .map_err(|_| AppError::BadRequest("Choose an owner.".to_owned()))?,
        ),
        "add_tag" => BulkAction::AddTag(tag_name()?),
        "remove_tag" => BulkAction::RemoveTag(tag_name()?),
        "archive" => BulkAction::Archive,
        _ => return Err(AppError::BadRequest("Choose an action.".to_owned())),
    };
    ids.sort_unstable();
    ids.dedup();
    Ok((ids, action))
}

async fn bulk(
    state: web::Data<AppState>,
    creator: Creator,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let (ids, action) = bulk_action(&body)?;
    let (now, actor, user) = (state.now(), creator.actor(), creator.user.clone());
    let outcome = db::run(&state.pool, move |conn| {
        service::bulk(conn, now, &actor, &user, &ids, &action)
    })
    .await;
    let outcome = match outcome {
        Err(AppError::Invalid(errors)) => {
            let message = errors.get("owner").cloned().unwrap_or_default();
            return Err(AppError::BadRequest(message));
        }
        other => other?,
    };
    let changed = match outcome.changed {
        1 => "Updated 1 contact.".to_owned(),
        n => format!("Updated {n} contacts."),
    };
    if outcome.skipped > 0 {
        FlashMessage::warning(format!(
            "{changed} Skipped {} you may not edit.",
            outcome.skipped
        ))
        .send();
    } else {
        FlashMessage::success(changed).send();
    }
    Ok(redirect("/contacts"))
}

// ---------------------------------------------------------------------------------------
// The contact page

struct HistoryRow {
    when: String,
    when_iso: String,
    actor: String,
    action: String,
    details: String,
}

#[derive(Template)]
#[template(path = "contacts/people/show.html")]
struct ShowPage {
    page: Page,
    contact: Contact,
    name: String,
    stage: &'static str,
    emails: Vec<(String, bool)>,
    phones: Vec<(String, bool)>,
    company: Option<(i64, String)>,
    owner: String,
    tags: Vec<String>,
    created: String,
    archived: Option<String>,
    rights: RecordRights,
    timeline: TimelineView,
    history: Vec<HistoryRow>,
    deals: DealsPanel,
    tasks: TasksPanel,
}

#[derive(Deserialize)]
struct ShowQuery {
    before: Option<String>,
}

fn tel(phone: &str) -> String {
    phone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

async fn show(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<i64>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let before = query.before.as_deref().and_then(view::parse_cursor);
    let page = viewer.page("");
    let user = viewer.user.clone();
    let csrf_token = page.csrf_token.clone();
    let now = state.now();
    let loaded = db::run(&state.pool, move |conn| {
        let contact = queries::find(conn, id)?.or_not_found()?;
        let emails = queries::emails(conn, id)?;
        let phones = queries::phones(conn, id)?;
        let company = match contact.company_id {
            Some(company_id) => queries::company_names(conn, &[company_id])?
                .remove(&company_id)
                .map(|name| (company_id, name)),
            None => None,
        };
        let owner = match contact.owner_id {
            Some(owner_id) => queries::user_names(conn, &[owner_id])?.remove(&owner_id),
            None => None,
        };
        let tags = tags::for_contacts(conn, &[id])?
            .remove(&id)
            .unwrap_or_default();
        let entries = timeline::page(conn, Subject::Contact(id), before, view::PAGE_SIZE + 1)?;
        let history = audit::history(conn, &format!("contact {id}"), 50)?;
        let deals = pipeline::panel::load(conn, Subject::Contact(id), &user, &csrf_token)?;
        let tasks = tasks::panel::load(conn, Linked::Contact(id), &user, &csrf_token, now)?;
        Ok((
            (contact, emails, phones, company, owner, tags),
            (entries, history, deals, tasks),
        ))
    })
    .await?;
    let ((contact, emails, phones, company, owner, tags), (entries, history, deals, tasks)) =
        loaded;
    let tz = viewer.user.tz();
    let rights = record_rights(&viewer.user, contact.owner_id);
    render(&ShowPage {
        page: Page {
            title: contact.name(),
            ..page
        },
        name: contact.name(),
        stage: Stage::label_of(&contact.lifecycle_stage),
        emails,
        phones,
        company,
        owner: owner.unwrap_or_default(),
        tags,
        created: format::datetime(contact.created_at, tz),
        archived: contact.archived_at.map(|at| format::datetime(at, tz)),
        rights,
        timeline: TimelineView::new(Subject::Contact(contact.id), entries, tz, rights.add_notes),
        history: history
            .into_iter()
            .map(|entry| HistoryRow {
                when: format::datetime(entry.occurred_at, tz),
                when_iso: format::iso(entry.occurred_at),
                actor: entry.actor_label,
                action: Action::parse(&entry.action).map_or(entry.action.clone(), |action| {
                    action.as_str().replace('_', " ")
                }),
                details: entry.details.unwrap_or_default(),
            })
            .collect(),
        deals,
        tasks,
        contact,
    })
}

// ---------------------------------------------------------------------------------------
// Create and edit

#[derive(Template)]
#[template(path = "contacts/people/form.html")]
struct FormPage {
    page: Page,
    /// `None` for a new contact.
    contact_id: Option<i64>,
    form: ContactForm,
    errors: FieldErrors,
    companies: Vec<SelectOption>,
    owners: Vec<SelectOption>,
    stages: Vec<SelectOption>,
    duplicates: Vec<Duplicate>,
    conflict: Vec<FieldChange>,
}

async fn form_page(
    state: &AppState,
    current: &CurrentUser,
    contact_id: Option<i64>,
    form: ContactForm,
    errors: FieldErrors,
) -> Result<FormPage, AppError> {
    let company = form.company_id.trim().parse().ok();
    let owner = form.owner_id.trim().parse().ok();
    let (companies, owners) = db::run(&state.pool, move |conn| {
        Ok((
            queries::company_options(conn, 1000, company)?,
            queries::owner_options(conn, owner)?,
        ))
    })
    .await?;
    let title = if contact_id.is_some() {
        "Edit contact"
    } else {
        "New contact"
    };
    Ok(FormPage {
        page: current.page(title),
        contact_id,
        companies: options(&companies, form.company_id.trim()),
        owners: options(&owners, form.owner_id.trim()),
        stages: stage_options(form.lifecycle_stage.trim()),
        form,
        errors,
        duplicates: Vec::new(),
        conflict: Vec::new(),
    })
}

async fn new_form(
    state: web::Data<AppState>,
    creator: Creator,
    query: web::Query<NewQuery>,
) -> Result<HttpResponse, AppError> {
    let form = ContactForm {
        owner_id: creator.user.id.to_string(),
        lifecycle_stage: Stage::Lead.as_str().to_owned(),
        company_id: query.company.map(|id| id.to_string()).unwrap_or_default(),
        ..ContactForm::default()
    };
    render(&form_page(&state, &creator, None, form, FieldErrors::new()).await?)
}

#[derive(Deserialize)]
struct NewQuery {
    /// Pre-selects a company (the "add contact" link of a company page).
    company: Option<i64>,
}

async fn create(
    state: web::Data<AppState>,
    creator: Creator,
    form: web::Form<ContactForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = match form.validate() {
        Ok(input) => input,
        Err(errors) => {
            let page = form_page(&state, &creator, None, form, errors).await?;
            return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let (now, actor, user) = (state.now(), creator.actor(), creator.user.clone());
    let confirmed = form.confirmed_duplicate();
    let result = db::run(&state.pool, move |conn| {
        service::create(conn, now, &actor, &user, &input, confirmed)
    })
    .await;
    match result {
        Ok(Created::Saved(id)) => {
            FlashMessage::success("Contact created.").send();
            Ok(redirect(&format!("/contacts/{id}")))
        }
        Ok(Created::Duplicates(duplicates)) => {
            let mut page = form_page(&state, &creator, None, form, FieldErrors::new()).await?;
            page.duplicates = duplicates;
            render_with_status(StatusCode::OK, &page)
        }
        Err(AppError::Invalid(errors)) => {
            let page = form_page(&state, &creator, None, form, errors).await?;
            render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(other) => Err(other),
    }
}

/// The stored contact as the form shows it.
fn form_of(input: &super::model::ContactInput, version: i32) -> ContactForm {
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let id = |value: Option<i64>| value.map(|id| id.to_string()).unwrap_or_default();
    ContactForm {
        first_name: input.first_name.clone(),
        last_name: input.last_name.clone(),
        emails: input.emails.join("\n"),
        phones: input.phones.join("\n"),
        job_title: text(&input.job_title),
        company_id: id(input.company_id),
        owner_id: id(input.owner_id),
        tags: input.tags.join(", "),
        lifecycle_stage: input.stage.as_str().to_owned(),
        address: text(&input.address),
        description: text(&input.description),
        version: Some(version),
        confirm_duplicate: None,
    }
}

async fn edit_form(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (contact, input) = db::run(&state.pool, move |conn| {
        let contact = queries::find(conn, id)?.or_not_found()?;
        let input = service::input_of(conn, &contact)?;
        Ok((contact, input))
    })
    .await?;
    if !record_rights(&viewer.user, contact.owner_id).edit {
        return denied(&state, &viewer, &req).await;
    }
    let form = form_of(&input, contact.version);
    render(&form_page(&state, &viewer, Some(id), form, FieldErrors::new()).await?)
}

async fn update(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<i64>,
    form: web::Form<ContactForm>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let mut form = form.into_inner();
    let owner = db::run(&state.pool, move |conn| {
        Ok(queries::find(conn, id)?.or_not_found()?.owner_id)
    })
    .await?;
    if !record_rights(&viewer.user, owner).edit {
        return denied(&state, &viewer, &req).await;
    }
    let input = match form.validate() {
        Ok(input) => input,
        Err(errors) => {
            let page = form_page(&state, &viewer, Some(id), form, errors).await?;
            return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let Some(version) = form.version else {
        return Err(AppError::BadRequest(
            "The form is missing its version; reload the page and try again.".to_owned(),
        ));
    };
    let (now, actor, user) = (state.now(), viewer.actor(), viewer.user.clone());
    let result = db::run(&state.pool, move |conn| {
        service::update(conn, now, &actor, &user, id, &input, version)
    })
    .await;
    match result {
        Ok(Updated::Saved) => {
            FlashMessage::success("Contact saved.").send();
            Ok(redirect(&format!("/contacts/{id}")))
        }
        Ok(Updated::Conflict {
            changes,
            current_version,
        }) => {
            form.version = Some(current_version);
            let errors = FieldErrors::single(
                FieldErrors::FORM,
                "Someone else saved this contact while you were editing it. Your changes \
                 were not saved. Compare the values below, then save again to keep yours.",
            );
            let mut page = form_page(&state, &viewer, Some(id), form, errors).await?;
            page.conflict = changes;
            render_with_status(StatusCode::CONFLICT, &page)
        }
        Err(AppError::Invalid(errors)) => {
            let page = form_page(&state, &viewer, Some(id), form, errors).await?;
            render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(AppError::Forbidden) => denied(&state, &viewer, &req).await,
        Err(other) => Err(other),
    }
}

// ---------------------------------------------------------------------------------------
// Archive, restore, delete

async fn set_archived(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    archive: bool,
    req: &HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (now, actor, user) = (state.now(), viewer.actor(), viewer.user.clone());
    let result = db::run(&state.pool, move |conn| {
        service::set_archived(conn, now, &actor, &user, id, archive)
    })
    .await;
    match result {
        Ok(contact) => {
            let done = if archive { "archived" } else { "restored" };
            FlashMessage::success(format!("{} {done}.", contact.name())).send();
            Ok(redirect(&format!("/contacts/{id}")))
        }
        Err(AppError::Forbidden) => denied(state, viewer, req).await,
        Err(other) => Err(other),
    }
}

async fn archive(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    set_archived(&state, &viewer, path.into_inner(), true, &req).await
}

async fn restore(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    set_archived(&state, &viewer, path.into_inner(), false, &req).await
}

async fn delete(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (now, actor, user) = (state.now(), viewer.actor(), viewer.user.clone());
    let result = db::run(&state.pool, move |conn| {
        service::delete(conn, now, &actor, &user, id)
    })
    .await;
    match result {
        Ok(contact) => {
            FlashMessage::success(format!("{} deleted.", contact.name())).send();
            Ok(redirect("/contacts"))
        }
        Err(AppError::Forbidden) => denied(&state, &viewer, &req).await,
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::bulk_action;

    #[test]
    fn the_bulk_form_collects_every_selected_id() {
        let (ids, _) = bulk_action(b"ids=3&ids=1&ids=3&action=archive").expect("valid");
        assert_eq!(ids, vec![1, 3]);
        assert!(bulk_action(b"action=archive").is_err());
        assert!(bulk_action(b"ids=1&action=explode").is_err());
    }
}
