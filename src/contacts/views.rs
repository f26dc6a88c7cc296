//! Saved views ("segments"): a named filter of the contacts or companies list, kept private
//! or shared with the team. A view stores the list's filter as a query string, checked on
//! save so that it only holds that list's filter parameters; opening it applies the filter.
//! The owner (or an admin) renames and deletes it; everyone else can only open shared ones.

use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;

use crate::auth::model::{Role, User};
use crate::auth::policy::ViewCustomers;
use crate::db::schema::{saved_views, users};
use crate::db::{self, Conn};
use crate::error::{AppError, FieldErrors, OrNotFound};
use crate::web::AppState;
use crate::web::extract::{Authorized, CurrentUser, denied};
use crate::web::page::{Page, redirect, render, render_with_status};

type Viewer = Authorized<ViewCustomers>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/views", web::post().to(create))
        .route("/views/{id}", web::get().to(open))
        .route("/views/{id}", web::post().to(update))
        .route("/views/{id}/edit", web::get().to(edit_form))
        .route("/views/{id}/delete", web::post().to(delete));
}

/// The list a view filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Contacts,
    Companies,
}

impl ListKind {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "contacts" => Some(ListKind::Contacts),
            "companies" => Some(ListKind::Companies),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Contacts => "contacts",
            ListKind::Companies => "companies",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            ListKind::Contacts => "/contacts",
            ListKind::Companies => "/companies",
        }
    }

    /// The filter (and sort) parameters of the list; the page cursor is not part of a view.
    fn parameters(self) -> &'static [&'static str] {
        match self {
            ListKind::Contacts => &[
                "q",
                "owner",
                "tag",
                "company",
                "stage",
                "archived",
                "created_from",
                "created_to",
                "updated_from",
                "updated_to",
                "inactive_days",
                "sort",
            ],
            ListKind::Companies => &[
                "q",
                "owner",
                "tag",
                "archived",
                "created_from",
                "created_to",
                "inactive_days",
                "sort",
            ],
        }
    }

    /// The list's URL with `query` applied.
    pub fn link(self, query: &str) -> String {
        if query.is_empty() {
            self.path().to_owned()
        } else {
            format!("{}?{query}", self.path())
        }
    }
}

const MAX_QUERY: usize = 2_000;
const MAX_NAME: usize = 80;

/// The filter in `raw` (a query string) as a view stores it: known parameters only, blanks
/// and the page cursor left out. An unknown parameter is an error.
pub fn normalize_query(list: ListKind, raw: &str) -> Result<String, String> {
    let raw = raw.trim().trim_start_matches('?');
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        if name == "after" || value.trim().is_empty() {
            continue;
        }
        if !list.parameters().contains(&name.as_ref()) {
            return Err(format!(
                "“{name}” is not a filter of the {} list.",
                list.as_str()
            ));
        }
        out.append_pair(&name, value.trim());
    }
    let query = out.finish();
    if query.len() > MAX_QUERY {
        return Err(format!(
            "This filter is too long to save (at most {MAX_QUERY} characters)."
        ));
    }
    Ok(query)
}

/// The known filter parameters of `raw`, anything else dropped (for the "save" form).
fn known_query(list: ListKind, raw: &str) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        if name != "after" && !value.trim().is_empty() && list.parameters().contains(&name.as_ref())
        {
            out.append_pair(&name, value.trim());
        }
    }
    out.finish()
}

fn parse_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        Err("Give the view a name.".to_owned())
    } else if name.chars().count() > MAX_NAME {
        Err(format!("At most {MAX_NAME} characters."))
    } else if name.chars().any(char::is_control) {
        Err("The name cannot contain control characters.".to_owned())
    } else {
        Ok(name.to_owned())
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = saved_views)]
pub struct SavedView {
    pub id: i64,
    pub owner_id: i64,
    pub list: String,
    pub name: String,
    pub query: String,
    pub shared: bool,
    pub created_at: NaiveDateTime,
}

impl SavedView {
    fn kind(&self) -> ListKind {
        ListKind::parse(&self.list).unwrap_or(ListKind::Contacts)
    }

    fn href(&self) -> String {
        self.kind().link(&self.query)
    }

    fn can_manage(&self, user: &User) -> bool {
        self.owner_id == user.id || user.role == Role::Admin
    }

    fn can_open(&self, user: &User) -> bool {
        self.shared || self.can_manage(user)
    }
}

fn find(conn: &mut Conn, id: i64) -> QueryResult<Option<SavedView>> {
    saved_views::table
        .find(id)
        .select(SavedView::as_select())
        .first(conn)
        .optional()
}

fn name_taken(
    conn: &mut Conn,
    owner_id: i64,
    list: ListKind,
    name: &str,
    except: i64,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        saved_views::table
            .filter(saved_views::list.eq(list.as_str()))
            .filter(saved_views::owner_id.eq(owner_id))
            .filter(saved_views::name.eq(name))
            .filter(saved_views::id.ne(except)),
    ))
    .get_result(conn)
}

// ---------------------------------------------------------------------------------------
// The sidebar on the list pages

pub struct ViewLink {
    pub id: i64,
    pub name: String,
    pub href: String,
    pub shared: bool,
    /// The list currently shows exactly this view's filter.
    pub current: bool,
    pub owner: String,
    pub can_manage: bool,
}

/// "My views" and "Team views" of a list, and the current filter for the "save" form.
pub struct Sidebar {
    pub list: &'static str,
    pub mine: Vec<ViewLink>,
    pub team: Vec<ViewLink>,
    /// The current filter (known parameters only), empty when the list is unfiltered.
    pub query: String,
}

/// Loads the sidebar of `list` for `user`, whose list currently shows `raw_query`.
pub fn sidebar(
    conn: &mut Conn,
    list: ListKind,
    user: &User,
    raw_query: &str,
) -> QueryResult<Sidebar> {
    let query = known_query(list, raw_query);
    let mine: Vec<SavedView> = saved_views::table
        .filter(saved_views::list.eq(list.as_str()))
        .filter(saved_views::owner_id.eq(user.id))
        .order((saved_views::name.asc(), saved_views::id.asc()))
        .select(SavedView::as_select())
        .load(conn)?;
    let team: Vec<(SavedView, String)> = saved_views::table
        .inner_join(users::table)
        .filter(saved_views::list.eq(list.as_str()))
        .filter(saved_views::shared.eq(true))
        .filter(saved_views::owner_id.ne(user.id))
        .order((saved_views::name.asc(), saved_views::id.asc()))
        .select((SavedView::as_select(), users::display_name))
        .load(conn)?;
    let link = |view: SavedView, owner: String| ViewLink {
        id: view.id,
        href: view.href(),
        current: view.query == query,
        can_manage: view.can_manage(user),
        shared: view.shared,
        name: view.name,
        owner,
    };
    Ok(Sidebar {
        list: list.as_str(),
        mine: mine
            .into_iter()
            .map(|view| link(view, user.display_name.clone()))
            .collect(),
        team: team
            .into_iter()
            .map(|(view, owner)| link(view, owner))
            .collect(),
        query,
    })
}

// ---------------------------------------------------------------------------------------
// Saving, opening, renaming, deleting

#[derive(Debug, Default, Deserialize)]
struct ViewForm {
    #[serde(default)]
    list: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    query: String,
    #[serde(default)]
    shared: Option<String>,
}

#[derive(Template)]
#[template(path = "contacts/views/form.html")]
struct FormPage {
    page: Page,
    /// `None` when saving a new view.
    id: Option<i64>,
    list: String,
    list_href: String,
    view_name: String,
    query: String,
    shared: bool,
    errors: FieldErrors,
}

fn form_page(
    current: &CurrentUser,
    id: Option<i64>,
    list: Option<ListKind>,
    form: ViewForm,
    errors: FieldErrors,
) -> FormPage {
    let title = if id.is_some() {
        "Rename view"
    } else {
        "Save view"
    };
    FormPage {
        page: current.page(title),
        id,
        list: form.list,
        list_href: list.map_or_else(|| "/contacts".to_owned(), |list| list.link(&form.query)),
        view_name: form.name,
        query: form.query,
        shared: form.shared.is_some(),
        errors,
    }
}

async fn create(
    state: web::Data<AppState>,
    viewer: Viewer,
    form: web::Form<ViewForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FieldErrors::new();
    let list = ListKind::parse(&form.list);
    if list.is_none() {
        errors.add(
            "_form",
            "Views can be saved for the contacts or companies list only.",
        );
    }
    let name = errors.take("name", parse_name(&form.name));
    let query = match list {
        Some(list) => errors.take("query", normalize_query(list, &form.query)),
        None => None,
    };
    let (Some(list), Some(name), Some(query)) = (list, name, query) else {
        let page = form_page(&viewer, None, list, form, errors);
        return render_with_status(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    let owner_id = viewer.user.id;
    let now = state.now();
    let shared = form.shared.is_some();
    let (view_name, view_query) = (name.clone(), query.clone());
    let saved = db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            if name_taken(conn, owner_id, list, &view_name, 0)? {
                return Ok(false);
            }
            diesel::insert_into(saved_views::table)
                .values((
                    saved_views::owner_id.eq(owner_id),
                    saved_views::list.eq(list.as_str()),
                    saved_views::name.eq(&view_name),
                    saved_views::query.eq(&view_query),
                    saved_views::shared.eq(shared),
                    saved_views::created_at.eq(now),
                ))
                .execute(conn)?;
            Ok::<_, AppError>(true)
        })
    })
    .await?;
    if !saved {
        let errors = FieldErrors::single("name", "You already have a view with this name.");
        let page = form_page(&viewer, None, Some(list), form, errors);
        return render_with_status(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    FlashMessage::success(format!("Saved the view “{name}”.")).send();
    Ok(redirect(&list.link(&query)))
}

/// Loads a view the user may see: others' private views are not found.
async fn visible(state: &AppState, user: &User, id: i64) -> Result<SavedView, AppError> {
    let view = db::run(&state.pool, move |conn| Ok(find(conn, id)?))
        .await?
        .or_not_found()?;
    if view.can_open(user) {
        Ok(view)
    } else {
        Err(AppError::NotFound)
    }
}

async fn open(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let view = visible(&state, &viewer.user, path.into_inner()).await?;
    Ok(redirect(&view.href()))
}

async fn edit_form(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let view = visible(&state, &viewer.user, path.into_inner()).await?;
    if !view.can_manage(&viewer.user) {
        return denied(&state, &viewer, &req).await;
    }
    let kind = view.kind();
    let form = ViewForm {
        list: view.list,
        name: view.name,
        query: view.query,
        shared: view.shared.then(String::new),
    };
    render(&form_page(
        &viewer,
        Some(view.id),
        Some(kind),
        form,
        FieldErrors::new(),
    ))
}

async fn update(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<i64>,
    form: web::Form<ViewForm>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let view = visible(&state, &viewer.user, path.into_inner()).await?;
    if !view.can_manage(&viewer.user) {
        return denied(&state, &viewer, &req).await;
    }
    let kind = view.kind();
    // The list and the filter stay; renaming changes the name and who sees it.
    let form = ViewForm {
        list: view.list.clone(),
        query: view.query.clone(),
        ..form.into_inner()
    };
    let name = match parse_name(&form.name) {
        Ok(name) => name,
        Err(message) => {
            let page = form_page(
                &viewer,
                Some(view.id),
                Some(kind),
                form,
                FieldErrors::single("name", message),
            );
            return render_with_status(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let shared = form.shared.is_some();
    let (id, owner_id, new_name) = (view.id, view.owner_id, name.clone());
    let renamed = db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            if name_taken(conn, owner_id, kind, &new_name, id)? {
                return Ok(false);
            }
            diesel::update(saved_views::table.find(id))
                .set((
                    saved_views::name.eq(&new_name),
                    saved_views::shared.eq(shared),
                ))
                .execute(conn)?;
            Ok::<_, AppError>(true)
        })
    })
    .await?;
    if !renamed {
        let errors = FieldErrors::single("name", "There is already a view with this name.");
        let page = form_page(&viewer, Some(view.id), Some(kind), form, errors);
        return render_with_status(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    FlashMessage::success(format!("Saved the view “{name}”.")).send();
    Ok(redirect(&view.href()))
}

async fn delete(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<i64>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let view = visible(&state, &viewer.user, path.into_inner()).await?;
    if !view.can_manage(&viewer.user) {
        return denied(&state, &viewer, &req).await;
    }
    let id = view.id;
    db::run(&state.pool, move |conn| {
        diesel::delete(saved_views::table.find(id)).execute(conn)?;
        Ok(())
    })
    .await?;
    FlashMessage::info(format!("Deleted the view “{}”.", view.name)).send();
    Ok(redirect(view.kind().path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_filter_keeps_known_parameters_and_drops_blanks_and_the_cursor() {
        assert_eq!(
            normalize_query(
                ListKind::Contacts,
                "?stage=customer&tag=&inactive_days=60&after=12~x"
            )
            .as_deref(),
            Ok("stage=customer&inactive_days=60")
        );
        assert!(normalize_query(ListKind::Companies, "stage=customer").is_err());
        assert!(normalize_query(ListKind::Contacts, "evil=1").is_err());
    }
}
