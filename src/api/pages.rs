//! The pages where tokens are managed: `/account/api-tokens` for one's own (every signed-in
//! user), `/admin/api-tokens` for everyone's. A new token's secret is shown once, in the
//! answer to the form, never in a flash cookie or a later page.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use chrono::NaiveDateTime;
use chrono_tz::Tz;

use super::tokens::{self, ApiToken, MAX_EXPIRY_DAYS, OwnedToken, Status, TokenForm};
use crate::db;
use crate::error::{AppError, FieldErrors, OrNotFound};
use crate::web::AppState;
use crate::web::extract::{Admin, CurrentUser};
use crate::web::format;
use crate::web::page::{Page, redirect, render, render_with_status};

const ACCOUNT_PATH: &str = "/account/api-tokens";
const ADMIN_PATH: &str = "/admin/api-tokens";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(ACCOUNT_PATH, web::get().to(own_tokens))
        .route(ACCOUNT_PATH, web::post().to(create))
        .route(
            "/account/api-tokens/{id}/revoke",
            web::get().to(confirm_own_revoke),
        )
        .route(
            "/account/api-tokens/{id}/revoke",
            web::post().to(revoke_own),
        );
}

/// Mounted under `/admin`.
pub fn configure_admin(cfg: &mut web::ServiceConfig) {
    cfg.route("/api-tokens", web::get().to(all_tokens))
        .route("/api-tokens/{id}/revoke", web::get().to(confirm_any_revoke))
        .route("/api-tokens/{id}/revoke", web::post().to(revoke_any));
}

struct TokenRow {
    id: i64,
    name: String,
    prefix: String,
    created: String,
    last_used: Option<String>,
    expires: Option<String>,
    status: &'static str,
    /// The badge's style: success for a working token.
    badge: &'static str,
    revocable: bool,
    /// Only in the admin's list.
    owner: Option<String>,
}

impl TokenRow {
    fn of(token: &ApiToken, now: NaiveDateTime, tz: Tz) -> Self {
        let status = token.status(now);
        Self {
            id: token.id,
            name: token.name.clone(),
            prefix: token.token_prefix.clone(),
            created: format::datetime(token.created_at, tz),
            last_used: token.last_used_at.map(|at| format::datetime(at, tz)),
            expires: token.expires_at.map(|at| format::datetime(at, tz)),
            status: status.label(),
            badge: if status == Status::Active {
                "success"
            } else {
                ""
            },
            revocable: token.revoked_at.is_none(),
            owner: None,
        }
    }

    fn of_owned(owned: &OwnedToken, now: NaiveDateTime, tz: Tz) -> Self {
        let mut row = Self::of(&owned.token, now, tz);
        row.owner = Some(format!("{} <{}>", owned.owner_name, owned.owner_email));
        if !owned.owner_active && row.status == Status::Active.label() {
            row.status = "owner deactivated";
            row.badge = "warning";
        }
        row
    }
}

/// The token just created, shown this once.
struct Created {
    name: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "api/tokens.html")]
struct OwnTokensPage {
    page: Page,
    tokens: Vec<TokenRow>,
    form: TokenForm,
    errors: FieldErrors,
    created: Option<Created>,
    max_expiry_days: i64,
    openapi_url: String,
}

#[derive(Template)]
#[template(path = "api/admin_tokens.html")]
struct AllTokensPage {
    page: Page,
    tokens: Vec<TokenRow>,
}

#[derive(Template)]
#[template(path = "api/revoke.html")]
struct RevokePage {
    page: Page,
    token: TokenRow,
    action: String,
    back: &'static str,
}

fn openapi_url(state: &AppState) -> String {
    state
        .mailer
        .base_url
        .join("api/v1/openapi.json")
        .map_or_else(|_| "/api/v1/openapi.json".to_owned(), String::from)
}

async fn render_own(
    state: &AppState,
    current: &CurrentUser,
    status: StatusCode,
    form: TokenForm,
    errors: FieldErrors,
    created: Option<Created>,
) -> Result<HttpResponse, AppError> {
    let user_id = current.user.id;
    let tokens = db::run(&state.pool, move |conn| {
        Ok(tokens::list_own(conn, user_id)?)
    })
    .await?;
    let (now, tz) = (state.now(), current.user.tz());
    render_with_status(
        status,
        &OwnTokensPage {
            page: current.page("API tokens"),
            tokens: tokens
                .iter()
                .map(|token| TokenRow::of(token, now, tz))
                .collect(),
            form,
            errors,
            created,
            max_expiry_days: MAX_EXPIRY_DAYS,
            openapi_url: openapi_url(state),
        },
    )
}

async fn own_tokens(
    state: web::Data<AppState>,
    current: CurrentUser,
) -> Result<HttpResponse, AppError> {
    render_own(
        &state,
        &current,
        StatusCode::OK,
        TokenForm::default(),
        FieldErrors::new(),
        None,
    )
    .await
}

/// The answer is the page itself, not a redirect: the secret must not travel in a flash
/// cookie, and it is shown only this once.
async fn create(
    state: web::Data<AppState>,
    current: CurrentUser,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let input = match form.parse() {
        Ok(input) => input,
        Err(errors) => {
            return render_own(
                &state,
                &current,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
                None,
            )
            .await;
        }
    };
    let (now, actor, user_id) = (state.now(), current.actor(), current.user.id);
    let (token, secret) = db::run(&state.pool, move |conn| {
        Ok(tokens::create(conn, user_id, &input, &actor, now)?)
    })
    .await?;
    render_own(
        &state,
        &current,
        StatusCode::OK,
        TokenForm::default(),
        FieldErrors::new(),
        Some(Created {
            name: token.name,
            secret,
        }),
    )
    .await
}

async fn confirm_own_revoke(
    state: web::Data<AppState>,
    current: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (id, owner) = (path.into_inner(), current.user.id);
    let token = db::run(&state.pool, move |conn| {
        Ok(tokens::find(conn, id, Some(owner))?)
    })
    .await?
    .or_not_found()?;
    render(&RevokePage {
        page: current.page("Revoke API token"),
        token: TokenRow::of(&token, state.now(), current.user.tz()),
        action: format!("{ACCOUNT_PATH}/{id}/revoke"),
        back: ACCOUNT_PATH,
    })
}

/// Someone else's token is a 404, as if it did not exist.
async fn revoke_own(
    state: web::Data<AppState>,
    current: CurrentUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    revoke(&state, &current, path.into_inner(), Some(current.user.id)).await?;
    Ok(redirect(ACCOUNT_PATH))
}

async fn all_tokens(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, AppError> {
    let tokens = db::run(&state.pool, |conn| Ok(tokens::list_all(conn)?)).await?;
    let (now, tz) = (state.now(), admin.user.tz());
    render(&AllTokensPage {
        page: admin.page("API tokens"),
        tokens: tokens
            .iter()
            .map(|owned| TokenRow::of_owned(owned, now, tz))
            .collect(),
    })
}

async fn confirm_any_revoke(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let token = db::run(&state.pool, move |conn| Ok(tokens::find(conn, id, None)?))
        .await?
        .or_not_found()?;
    render(&RevokePage {
        page: admin.page("Revoke API token"),
        token: TokenRow::of(&token, state.now(), admin.user.tz()),
        action: format!("{ADMIN_PATH}/{id}/revoke"),
        back: ADMIN_PATH,
    })
}

async fn revoke_any(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    revoke(&state, &admin, path.into_inner(), None).await?;
    Ok(redirect(ADMIN_PATH))
}

async fn revoke(
    state: &AppState,
    current: &CurrentUser,
    id: i64,
    owner: Option<i64>,
) -> Result<(), AppError> {
    let (now, actor) = (state.now(), current.actor());
    let token = db::run(&state.pool, move |conn| {
        Ok(tokens::revoke(conn, id, owner, &actor, now)?)
    })
    .await?
    .or_not_found()?;
    FlashMessage::success(format!(
        "The token \"{}\" is revoked: requests made with it are refused.",
        token.name
    ))
    .send();
    Ok(())
}
