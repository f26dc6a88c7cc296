//! `/admin/sites`: the write keys websites send events with. A new key is shown once, with
//! the snippet to paste into the website; revoking one refuses its events at once.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;

use super::keys::{self, KeyForm, SiteKey};
use crate::auth::policy::Administer;
use crate::db;
use crate::error::{AppError, FieldErrors, OrNotFound};
use crate::web::AppState;
use crate::web::extract::Authorized;
use crate::web::format;
use crate::web::page::{Page, redirect, render_with_status};

type Admin = Authorized<Administer>;

/// Mounted under `/admin`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sites", web::get().to(index))
        .route("/sites", web::post().to(create))
        .route("/sites/{id}/revoke", web::post().to(revoke));
}

struct KeyRow {
    id: i64,
    name: String,
    hint: String,
    origins: Vec<String>,
    created: String,
    revoked: Option<String>,
}

/// The key just created, shown this once.
struct Created {
    name: String,
    secret: String,
    snippet: String,
}

#[derive(Template)]
#[template(path = "leads/tracking/sites.html")]
struct SitesPage {
    page: Page,
    keys: Vec<KeyRow>,
    form: KeyForm,
    errors: FieldErrors,
    created: Option<Created>,
    script_url: String,
}

async fn render_page(
    state: &AppState,
    admin: &Admin,
    status: StatusCode,
    form: KeyForm,
    errors: FieldErrors,
    created: Option<Created>,
) -> Result<HttpResponse, AppError> {
    let keys = db::run(&state.pool, |conn| Ok(keys::list(conn)?)).await?;
    let tz = admin.user.tz();
    let rows = keys
        .iter()
        .map(|key: &SiteKey| KeyRow {
            id: key.id,
            name: key.name.clone(),
            hint: key.key_hint.clone(),
            origins: key.origins().map(str::to_owned).collect(),
            created: format::datetime(key.created_at, tz),
            revoked: key.revoked_at.map(|at| format::datetime(at, tz)),
        })
        .collect();
    render_with_status(
        status,
        &SitesPage {
            page: admin.page("Website tracking"),
            keys: rows,
            form,
            errors,
            created,
            script_url: script_url(state),
        },
    )
}

fn script_url(state: &AppState) -> String {
    state
        .mailer
        .base_url
        .join("t.js")
        .map_or_else(|_| "/t.js".to_owned(), String::from)
}

async fn index(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, AppError> {
    render_page(
        &state,
        &admin,
        StatusCode::OK,
        KeyForm::default(),
        FieldErrors::new(),
        None,
    )
    .await
}

/// The answer is the page itself, not a redirect: the key must not travel in a flash
/// cookie, and it is shown only this once.
async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    form: web::Form<KeyForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = match form.parse() {
        Ok(input) => input,
        Err(errors) => {
            return render_page(
                &state,
                &admin,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
                None,
            )
            .await;
        }
    };
    let (now, actor) = (state.now(), admin.actor());
    let (key, secret) = db::run(&state.pool, move |conn| {
        Ok(keys::create(conn, &input, &actor, now)?)
    })
    .await?;
    let snippet = format!(
        "<script src=\"{}\" data-key=\"{secret}\" defer></script>",
        script_url(&state)
    );
    let created = Created {
        name: key.name,
        secret,
        snippet,
    };
    render_page(
        &state,
        &admin,
        StatusCode::OK,
        KeyForm::default(),
        FieldErrors::new(),
        Some(created),
    )
    .await
}

async fn revoke(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (now, actor) = (state.now(), admin.actor());
    let key = db::run(&state.pool, move |conn| {
        Ok(keys::revoke(conn, id, &actor, now)?)
    })
    .await?
    .or_not_found()?;
    FlashMessage::success(format!(
        "The key of \"{}\" is revoked: events sent with it are refused.",
        key.name
    ))
    .send();
    Ok(redirect("/admin/sites"))
}
