//! `/admin/users` and `/admin/settings`: the admin's view of accounts and security settings.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use serde::Deserialize;

use super::model::{DisplayName, EmailAddress, Role, User};
use super::password::NewPassword;
use super::service::{self, AdminChange, NewUser};
use super::{queries, sessions};
use crate::app_settings;
use crate::db;
use crate::error::{AppError, FieldErrors, OrNotFound};
use crate::web::AppState;
use crate::web::extract::Admin;
use crate::web::format;
use crate::web::page::{Page, redirect, render, render_with_status};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list))
        .route("/users", web::post().to(create))
        .route("/users/new", web::get().to(new_form))
        .route("/users/{id}", web::get().to(show))
        .route("/users/{id}/role", web::post().to(change_role))
        // deactivate, activate, reset-second-factor, end-sessions
        .route("/users/{id}/{action}", web::post().to(change_account))
        .route("/settings", web::get().to(settings))
        .route("/settings", web::post().to(save_settings));
}

struct UserRow {
    id: i64,
    display_name: String,
    email: String,
    role: &'static str,
    active: bool,
    invited: bool,
    second_factor: bool,
    created: String,
}

impl UserRow {
    fn new(user: &User, viewer: &User) -> Self {
        Self {
            id: user.id,
            display_name: user.display_name.clone(),
            email: user.email.clone(),
            role: user.role.label(),
            active: user.active,
            invited: !user.has_password,
            second_factor: user.second_factor_enabled,
            created: format::datetime(user.created_at, viewer.tz()),
        }
    }
}

#[derive(Template)]
#[template(path = "auth/admin_users.html")]
struct UsersPage {
    page: Page,
    users: Vec<UserRow>,
}

async fn list(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, AppError> {
    let users = db::run(&state.pool, |conn| Ok(queries::list(conn)?)).await?;
    render(&UsersPage {
        page: admin.page("Users"),
        users: users
            .iter()
            .map(|user| UserRow::new(user, &admin.user))
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "auth/admin_user_new.html")]
struct NewUserPage {
    page: Page,
    email: String,
    display_name: String,
    role: String,
    invite: bool,
    roles: [Role; 3],
    errors: FieldErrors,
}

async fn new_form(admin: Admin) -> Result<HttpResponse, AppError> {
    render(&NewUserPage {
        page: admin.page("Add a user"),
        email: String::new(),
        display_name: String::new(),
        role: Role::Sales.as_str().to_owned(),
        invite: true,
        roles: Role::ALL,
        errors: FieldErrors::new(),
    })
}

#[derive(Deserialize)]
struct NewUserForm {
    email: String,
    display_name: String,
    role: String,
    /// "invite" to email a link, "password" to set one now.
    method: String,
    #[serde(default)]
    password: String,
}

async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    form: web::Form<NewUserForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let invite = form.method != "password";
    let mut errors = FieldErrors::new();
    let email = errors.take("email", EmailAddress::parse(&form.email));
    let display_name = errors.take("display_name", DisplayName::parse(&form.display_name));
    let role = errors.take("role", Role::parse(&form.role));
    let password = if invite {
        None
    } else {
        errors.take("password", NewPassword::parse(&form.password))
    };
    let result = match (email, display_name, role) {
        (Some(email), Some(display_name), Some(role)) if errors.is_empty() => {
            if invite {
                state
                    .throttles
                    .invitation
                    .check(Some(&admin.user.email), &admin.frame.client.address)?;
            }
            let new = NewUser {
                email,
                display_name,
                role,
                password,
            };
            let (now, actor, mailer) = (state.now(), admin.actor(), state.mailer.clone());
            db::run(&state.pool, move |conn| {
                service::create_user(conn, now, &actor, &mailer, &new)
            })
            .await
        }
        _ => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(user) => {
            if invite {
                state.email_worker.wake();
                FlashMessage::success(format!("{} has been invited by email.", user.email)).send();
            } else {
                FlashMessage::success(format!("{} can now sign in.", user.email)).send();
            }
            Ok(redirect(&format!("/admin/users/{}", user.id)))
        }
        Err(AppError::Invalid(errors)) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &NewUserPage {
                page: admin.page("Add a user"),
                email: form.email,
                display_name: form.display_name,
                role: form.role,
                invite,
                roles: Role::ALL,
                errors,
            },
        ),
        Err(other) => Err(other),
    }
}

#[derive(Template)]
#[template(path = "auth/admin_user.html")]
struct UserPage {
    page: Page,
    user: UserRow,
    role: Role,
    version: i32,
    session_count: usize,
    is_self: bool,
    roles: [Role; 3],
    errors: FieldErrors,
}

async fn user_page(
    state: &AppState,
    admin: &Admin,
    user_id: i64,
    errors: FieldErrors,
) -> Result<UserPage, AppError> {
    let (user, session_count) = db::run(&state.pool, move |conn| {
        let user = queries::find(conn, user_id)?.or_not_found()?;
        let count = sessions::list_for_user(conn, user_id)?.len();
        Ok((user, count))
    })
    .await?;
    Ok(UserPage {
        page: admin.page(&user.display_name),
        role: user.role,
        version: user.version,
        is_self: user.id == admin.user.id,
        user: UserRow::new(&user, &admin.user),
        session_count,
        roles: Role::ALL,
        errors,
    })
}

async fn show(
    state: web::Data<AppState>,
    admin: Admin,
    user_id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    render(&user_page(&state, &admin, user_id.into_inner(), FieldErrors::new()).await?)
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
    version: i32,
}

async fn apply(
    state: &AppState,
    admin: &Admin,
    user_id: i64,
    change: AdminChange,
    done: &str,
) -> Result<HttpResponse, AppError> {
    let (now, actor) = (state.now(), admin.actor());
    let result = db::run(&state.pool, move |conn| {
        service::administer_user(conn, now, &actor, user_id, change)
    })
    .await;
    match result {
        Ok(user) => {
            FlashMessage::success(format!("{}: {done}", user.display_name)).send();
            Ok(redirect(&format!("/admin/users/{user_id}")))
        }
        Err(AppError::Invalid(errors)) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &user_page(state, admin, user_id, errors).await?,
        ),
        Err(AppError::Conflict(message)) => {
            let errors = FieldErrors::single(FieldErrors::FORM, message);
            render_with_status(
                StatusCode::CONFLICT,
                &user_page(state, admin, user_id, errors).await?,
            )
        }
        Err(other) => Err(other),
    }
}

async fn change_role(
    state: web::Data<AppState>,
    admin: Admin,
    user_id: web::Path<i64>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, AppError> {
    let user_id = user_id.into_inner();
    let role = match Role::parse(&form.role) {
        Ok(role) => role,
        Err(message) => {
            let page = user_page(
                &state,
                &admin,
                user_id,
                FieldErrors::single("role", message),
            )
            .await?;
            return render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let change = AdminChange::Role {
        role,
        version: form.version,
    };
    apply(&state, &admin, user_id, change, "role changed.").await
}

/// One of the account actions on the user page, named by the last part of its path.
fn account_action(name: &str) -> Option<(AdminChange, &'static str)> {
    match name {
        "deactivate" => Some((
            AdminChange::Deactivate,
            "deactivated and signed out everywhere.",
        )),
        "activate" => Some((AdminChange::Activate, "reactivated.")),
        "reset-second-factor" => Some((AdminChange::ResetSecondFactor, "second factor reset.")),
        "end-sessions" => Some((AdminChange::EndSessions, "signed out everywhere.")),
        _ => None,
    }
}

async fn change_account(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, AppError> {
    let (user_id, action) = path.into_inner();
    let (change, done) = account_action(&action).ok_or(AppError::NotFound)?;
    apply(&state, &admin, user_id, change, done).await
}

#[derive(Template)]
#[template(path = "auth/admin_settings.html")]
struct SettingsPage {
    page: Page,
    require_second_factor: bool,
}

async fn settings(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, AppError> {
    let require_second_factor = db::run(&state.pool, |conn| {
        Ok(app_settings::require_second_factor(conn)?)
    })
    .await?;
    render(&SettingsPage {
        page: admin.page("Settings"),
        require_second_factor,
    })
}

#[derive(Deserialize)]
struct SettingsForm {
    require_second_factor: Option<String>,
}

async fn save_settings(
    state: web::Data<AppState>,
    admin: Admin,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    let required = form.require_second_factor.is_some();
    let (now, actor) = (state.now(), admin.actor());
    db::run(&state.pool, move |conn| {
        service::set_require_second_factor(conn, now, &actor, required)
    })
    .await?;
    FlashMessage::success("Settings saved.").send();
    Ok(redirect("/admin/settings"))
}
