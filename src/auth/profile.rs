//! The profile every user has: name, time zone, password, own sessions and the second factor.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use serde::Deserialize;

use super::model::{DisplayName, TimeZone, time_zone_names};
use super::password::NewPassword;
use super::{queries, service, sessions};
use crate::app_settings;
use crate::db;
use crate::error::{AppError, FieldErrors};
use crate::web::AppState;
use crate::web::extract::{CurrentUser, EnrollingUser};
use crate::web::format;
use crate::web::page::{Page, redirect, render, render_with_status};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/profile", web::get().to(show))
        .route("/profile", web::post().to(update))
        .route("/profile/password", web::post().to(change_password))
        .route("/profile/sessions/{id}/end", web::post().to(end_session))
        .route("/profile/two-factor", web::get().to(two_factor))
        .route("/profile/two-factor", web::post().to(confirm_two_factor))
        .route(
            "/profile/two-factor/disable",
            web::post().to(disable_two_factor),
        )
        .route(
            "/profile/two-factor/recovery-codes",
            web::post().to(regenerate_codes),
        );
}

struct SessionRow {
    id: i64,
    started: String,
    last_seen: String,
    address: String,
    user_agent: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "auth/profile.html")]
struct ProfilePage {
    page: Page,
    email: String,
    display_name: String,
    time_zone: String,
    version: i32,
    time_zones: Vec<&'static str>,
    errors: FieldErrors,
    password_errors: FieldErrors,
    sessions: Vec<SessionRow>,
    second_factor_enabled: bool,
}

struct ProfileForms {
    display_name: Option<String>,
    time_zone: Option<String>,
    errors: FieldErrors,
    password_errors: FieldErrors,
}

impl ProfileForms {
    fn clean() -> Self {
        Self {
            display_name: None,
            time_zone: None,
            errors: FieldErrors::new(),
            password_errors: FieldErrors::new(),
        }
    }
}

async fn profile_page(
    state: &AppState,
    me: &CurrentUser,
    forms: ProfileForms,
) -> Result<ProfilePage, AppError> {
    let user_id = me.user.id;
    let (user, own_sessions) = db::run(&state.pool, move |conn| {
        let user = queries::find(conn, user_id)?.ok_or(AppError::NotFound)?;
        Ok((user, sessions::list_for_user(conn, user_id)?))
    })
    .await?;
    let tz = user.tz();
    Ok(ProfilePage {
        page: me.page("Your profile"),
        email: user.email.clone(),
        display_name: forms
            .display_name
            .unwrap_or_else(|| user.display_name.clone()),
        time_zone: forms.time_zone.unwrap_or_else(|| user.time_zone.clone()),
        version: user.version,
        time_zones: time_zone_names().collect(),
        errors: forms.errors,
        password_errors: forms.password_errors,
        sessions: own_sessions
            .into_iter()
            .map(|session| SessionRow {
                id: session.id,
                started: format::datetime(session.created_at, tz),
                last_seen: format::datetime(session.last_seen_at, tz),
                address: session.client_address,
                user_agent: session.user_agent,
                current: session.id == me.session.id,
            })
            .collect(),
        second_factor_enabled: user.second_factor_enabled,
    })
}

async fn show(state: web::Data<AppState>, me: CurrentUser) -> Result<HttpResponse, AppError> {
    render(&profile_page(&state, &me, ProfileForms::clean()).await?)
}

#[derive(Deserialize)]
struct ProfileForm {
    display_name: String,
    time_zone: String,
    version: i32,
}

async fn update(
    state: web::Data<AppState>,
    me: CurrentUser,
    form: web::Form<ProfileForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FieldErrors::new();
    let display_name = errors.take("display_name", DisplayName::parse(&form.display_name));
    let time_zone = errors.take("time_zone", TimeZone::parse(&form.time_zone));
    let result = match (display_name, time_zone) {
        (Some(display_name), Some(time_zone)) => {
            let (now, user, actor) = (state.now(), me.user.clone(), me.actor());
            db::run(&state.pool, move |conn| {
                service::update_profile(
                    conn,
                    now,
                    &user,
                    &display_name,
                    &time_zone,
                    form.version,
                    &actor,
                )
            })
            .await
        }
        _ => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(()) => {
            FlashMessage::success("Your profile has been saved.").send();
            Ok(redirect("/profile"))
        }
        Err(AppError::Invalid(errors)) => {
            let forms = ProfileForms {
                display_name: Some(form.display_name),
                time_zone: Some(form.time_zone),
                errors,
                ..ProfileForms::clean()
            };
            render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &profile_page(&state, &me, forms).await?,
            )
        }
        Err(AppError::Conflict(message)) => {
            let forms = ProfileForms {
                errors: FieldErrors::single(FieldErrors::FORM, message),
                ..ProfileForms::clean()
            };
            render_with_status(
                StatusCode::CONFLICT,
                &profile_page(&state, &me, forms).await?,
            )
        }
        Err(other) => Err(other),
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    new_password_confirmation: String,
}

async fn change_password(
    state: web::Data<AppState>,
    me: CurrentUser,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let result =
        match NewPassword::parse_confirmed(&form.new_password, &form.new_password_confirmation) {
            Ok(password) => {
                let (now, user, session, actor) =
                    (state.now(), me.user.clone(), me.session.id, me.actor());
                db::run(&state.pool, move |conn| {
                    service::change_password(
                        conn,
                        now,
                        &user,
                        session,
                        &form.current_password,
                        &password,
                        &actor,
                    )
                })
                .await
            }
            Err(message) => Err(AppError::invalid("new_password", message)),
        };
    match result {
        Ok(()) => {
            FlashMessage::success(
                "Your password has been changed. Your other sessions were signed out.",
            )
            .send();
            Ok(redirect("/profile"))
        }
        Err(AppError::Invalid(password_errors)) => {
            let forms = ProfileForms {
                password_errors,
                ..ProfileForms::clean()
            };
            render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &profile_page(&state, &me, forms).await?,
            )
        }
        Err(other) => Err(other),
    }
}

async fn end_session(
    state: web::Data<AppState>,
    me: CurrentUser,
    session_id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (user_id, session_id) = (me.user.id, session_id.into_inner());
    let ended = db::run(&state.pool, move |conn| {
        Ok(sessions::end_own(conn, user_id, session_id)?)
    })
    .await?;
    if !ended {
        return Err(AppError::NotFound);
    }
    if session_id == me.session.id {
        return Ok(redirect("/login"));
    }
    FlashMessage::success("That session has been signed out.").send();
    Ok(redirect("/profile"))
}

#[derive(Template)]
#[template(path = "auth/two_factor.html")]
struct TwoFactorPage {
    page: Page,
    enabled: bool,
    required: bool,
    qr_code_png: String,
    secret: String,
    recovery_codes_left: i64,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "auth/recovery_codes.html")]
struct RecoveryCodesPage {
    page: Page,
    codes: Vec<String>,
}

async fn two_factor_page(
    state: &AppState,
    me: &CurrentUser,
    errors: FieldErrors,
) -> Result<TwoFactorPage, AppError> {
    let (session, user) = (me.session.clone(), me.user.clone());
    let (required, enrolment, codes_left) = db::run(&state.pool, move |conn| {
        let required = app_settings::require_second_factor(conn)?;
        if user.second_factor_enabled {
            let left = queries::count_unused_recovery_codes(conn, user.id)?;
            return Ok((required, None, left));
        }
        let secret = service::begin_enrolment(conn, &session)?;
        let qr = super::totp::qr_code_png_base64(&secret, &user.email)?;
        Ok((required, Some((secret, qr)), 0))
    })
    .await?;
    let (secret, qr_code_png) = enrolment.unwrap_or_default();
    Ok(TwoFactorPage {
        page: me.page("Two-step verification"),
        enabled: me.user.second_factor_enabled,
        required,
        qr_code_png,
        secret,
        recovery_codes_left: codes_left,
        errors,
    })
}

async fn two_factor(
    state: web::Data<AppState>,
    me: EnrollingUser,
) -> Result<HttpResponse, AppError> {
    render(&two_factor_page(&state, &me.0, FieldErrors::new()).await?)
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
}

async fn confirm_two_factor(
    state: web::Data<AppState>,
    me: EnrollingUser,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let me = me.0;
    let (now, session, user, actor) =
        (state.now(), me.session.clone(), me.user.clone(), me.actor());
    let code = form.into_inner().code;
    let result = db::run(&state.pool, move |conn| {
        service::confirm_enrolment(conn, now, &session, &user, &code, &actor)
    })
    .await;
    match result {
        Ok(codes) => render(&RecoveryCodesPage {
            page: me.page("Your recovery codes"),
            codes,
        }),
        Err(AppError::Invalid(errors)) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &two_factor_page(&state, &me, errors).await?,
        ),
        Err(other) => Err(other),
    }
}

#[derive(Deserialize)]
struct PasswordConfirmation {
    current_password: String,
}

async fn disable_two_factor(
    state: web::Data<AppState>,
    me: CurrentUser,
    form: web::Form<PasswordConfirmation>,
) -> Result<HttpResponse, AppError> {
    let (now, user, actor) = (state.now(), me.user.clone(), me.actor());
    let password = form.into_inner().current_password;
    let result = db::run(&state.pool, move |conn| {
        service::disable_second_factor(conn, now, &user, &password, &actor)
    })
    .await;
    match result {
        Ok(()) => {
            FlashMessage::success("Two-step verification is off.").send();
            Ok(redirect("/profile/two-factor"))
        }
        Err(AppError::Invalid(errors)) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &two_factor_page(&state, &me, errors).await?,
        ),
        Err(other) => Err(other),
    }
}

async fn regenerate_codes(
    state: web::Data<AppState>,
    me: CurrentUser,
    form: web::Form<PasswordConfirmation>,
) -> Result<HttpResponse, AppError> {
    let (now, user, actor) = (state.now(), me.user.clone(), me.actor());
    let password = form.into_inner().current_password;
    let result = db::run(&state.pool, move |conn| {
        service::regenerate_recovery_codes(conn, now, &user, &password, &actor)
    })
    .await;
    match result {
        Ok(codes) => render(&RecoveryCodesPage {
            page: me.page("Your recovery codes"),
            codes,
        }),
        Err(AppError::Invalid(errors)) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &two_factor_page(&state, &me, errors).await?,
        ),
        Err(other) => Err(other),
    }
}
