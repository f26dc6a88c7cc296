//! Signing in and out: the first-admin page, login with an optional second factor, and the
//! password reset and invitation links.

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use serde::Deserialize;

use super::model::{DisplayName, EmailAddress, Role};
use super::password::NewPassword;
use super::queries::TokenPurpose;
use super::service::{self, LoginOutcome, NewUser};
use super::sessions;
use crate::db;
use crate::error::{AppError, FieldErrors};
use crate::web::AppState;
use crate::web::extract::{PendingSecondFactor, Visitor};
use crate::web::page::{Page, redirect, render, render_with_status, safe_next};
use crate::web::session::{SignedIn, session_cookie, session_removal_cookie};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/setup", web::get().to(setup_form))
        .route("/setup", web::post().to(setup))
        .route("/login", web::get().to(login_form))
        .route("/login", web::post().to(login))
        .route("/login/second-factor", web::get().to(second_factor_form))
        .route("/login/second-factor", web::post().to(second_factor))
        .route("/logout", web::post().to(logout))
        .route("/forgot-password", web::get().to(forgot_password_form))
        .route("/forgot-password", web::post().to(forgot_password))
        .route(
            "/reset-password/{token}",
            web::get().to(reset_password_form),
        )
        .route("/reset-password/{token}", web::post().to(reset_password))
        .route("/invitation/{token}", web::get().to(invitation_form))
        .route("/invitation/{token}", web::post().to(accept_invitation));
}

// ---- the first admin ----

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    page: Page,
    email: String,
    display_name: String,
    errors: FieldErrors,
}

#[derive(Deserialize)]
struct SetupForm {
    email: String,
    display_name: String,
    password: String,
    password_confirmation: String,
}

async fn needs_first_admin(state: &AppState) -> Result<bool, AppError> {
    db::run(&state.pool, service::needs_first_admin).await
}

async fn setup_form(
    state: web::Data<AppState>,
    visitor: Visitor,
) -> Result<HttpResponse, AppError> {
    if !needs_first_admin(&state).await? {
        return Err(AppError::NotFound);
    }
    render(&SetupPage {
        page: visitor.page("Welcome to Rapport"),
        email: String::new(),
        display_name: String::new(),
        errors: FieldErrors::new(),
    })
}

async fn setup(
    state: web::Data<AppState>,
    visitor: Visitor,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let mut errors = FieldErrors::new();
    let email = errors.take("email", EmailAddress::parse(&form.email));
    let display_name = errors.take("display_name", DisplayName::parse(&form.display_name));
    let password = errors.take(
        "password",
        NewPassword::parse_confirmed(&form.password, &form.password_confirmation),
    );
    let result = match (email, display_name, password) {
        (Some(email), Some(display_name), Some(password)) if errors.is_empty() => {
            let new = NewUser {
                email,
                display_name,
                role: Role::Admin,
                password: Some(password),
            };
            let (now, actor, client) = (state.now(), visitor.actor(), visitor.frame.client.clone());
            db::run(&state.pool, move |conn| {
                let user = service::create_first_admin(conn, now, &actor, &new)?;
                Ok(sessions::start(conn, now, user.id, false, &client)?)
            })
            .await
        }
        _ => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(token) => {
            FlashMessage::success("Your admin account is ready. Welcome to Rapport!").send();
            let mut response = redirect("/");
            response
                .add_cookie(&session_cookie(&state, token))
                .map_err(|err| AppError::internal(err.to_string()))?;
            Ok(response)
        }
        Err(AppError::Invalid(errors)) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetupPage {
                page: visitor.page("Welcome to Rapport"),
                email: form.email,
                display_name: form.display_name,
                errors,
            },
        ),
        Err(other) => Err(other),
    }
}

// ---- login ----

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    page: Page,
    email: String,
    next: String,
    errors: FieldErrors,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

async fn login_form(
    state: web::Data<AppState>,
    visitor: Visitor,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(query.next.as_deref()).to_owned();
    if visitor.user.is_some() {
        return Ok(redirect(&next));
    }
    if needs_first_admin(&state).await? {
        return Ok(redirect("/setup"));
    }
    render(&LoginPage {
        page: visitor.page("Sign in"),
        email: String::new(),
        next,
        errors: FieldErrors::new(),
    })
}

async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    visitor: Visitor,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref()).to_owned();
    state
        .throttles
        .login
        .check(Some(&form.email), &visitor.frame.client.address)?;

    // Whatever session the browser had before is ended: a new sign-in gets a new id.
    let previous_session = req.extensions().get::<SignedIn>().map(|s| s.session.id);
    let (now, client) = (state.now(), visitor.frame.client.clone());
    let (email, password) = (form.email.clone(), form.password);
    let outcome = db::run(&state.pool, move |conn| {
        if let Some(previous) = previous_session {
            sessions::end(conn, previous)?;
        }
        service::log_in(conn, now, &email, &password, &client)
    })
    .await;

    let (token, location) = match outcome {
        Ok(LoginOutcome::SignedIn(token)) => (token, next),
        Ok(LoginOutcome::SecondFactorRequired(token)) => {
            let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
            (token, format!("/login/second-factor?next={next}"))
        }
        Err(AppError::Invalid(errors)) => {
            return render_with_status(
                StatusCode::UNAUTHORIZED,
                &LoginPage {
                    page: visitor.page("Sign in"),
                    email: form.email,
                    next,
                    errors,
                },
            );
        }
        Err(other) => return Err(other),
    };
    let mut response = redirect(&location);
    response
        .add_cookie(&session_cookie(&state, token))
        .map_err(|err| AppError::internal(err.to_string()))?;
    Ok(response)
}

#[derive(Template)]
#[template(path = "auth/second_factor.html")]
struct SecondFactorPage {
    page: Page,
    next: String,
    errors: FieldErrors,
}

#[derive(Deserialize)]
struct SecondFactorForm {
    code: String,
    next: Option<String>,
}

async fn second_factor_form(
    pending: PendingSecondFactor,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    render(&SecondFactorPage {
        page: pending_page(&pending),
        next: safe_next(query.next.as_deref()).to_owned(),
        errors: FieldErrors::new(),
    })
}

fn pending_page(pending: &PendingSecondFactor) -> Page {
    let frame = &pending.frame;
    Page::new(
        "Two-step verification",
        None,
        &frame.path,
        frame.csrf_token.clone(),
        frame.flashes.clone(),
    )
}

async fn second_factor(
    state: web::Data<AppState>,
    pending: PendingSecondFactor,
    form: web::Form<SecondFactorForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let next = safe_next(form.next.as_deref()).to_owned();
    state
        .throttles
        .login
        .check(Some(&pending.user.email), &pending.frame.client.address)?;
    let (now, client) = (state.now(), pending.frame.client.clone());
    let (session, user, code) = (pending.session.clone(), pending.user.clone(), form.code);
    let result = db::run(&state.pool, move |conn| {
        service::complete_second_factor(conn, now, &session, &user, &code, &client)
    })
    .await;
    match result {
        Ok(token) => {
            let mut response = redirect(&next);
            response
                .add_cookie(&session_cookie(&state, token))
                .map_err(|err| AppError::internal(err.to_string()))?;
            Ok(response)
        }
        Err(AppError::Invalid(errors)) => render_with_status(
            StatusCode::UNAUTHORIZED,
            &SecondFactorPage {
                page: pending_page(&pending),
                next,
                errors,
            },
        ),
        Err(other) => Err(other),
    }
}

async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    visitor: Visitor,
) -> Result<HttpResponse, AppError> {
    let signed_in = req.extensions().get::<SignedIn>().cloned();
    if let Some(signed_in) = signed_in {
        let now = state.now();
        let actor = crate::audit::Actor::user(&signed_in.user, &visitor.frame.client.address);
        db::run(&state.pool, move |conn| {
            service::log_out(conn, now, signed_in.session.id, &actor)
        })
        .await?;
        FlashMessage::info("You have signed out.").send();
    }
    let mut response = redirect("/login");
    response
        .add_removal_cookie(&session_removal_cookie(&state))
        .map_err(|err| AppError::internal(err.to_string()))?;
    Ok(response)
}

// ---- password reset ----

#[derive(Template)]
#[template(path = "auth/forgot_password.html")]
struct ForgotPasswordPage {
    page: Page,
    email: String,
    errors: FieldErrors,
    sent: bool,
}

#[derive(Deserialize)]
struct ForgotPasswordForm {
    email: String,
}

async fn forgot_password_form(visitor: Visitor) -> Result<HttpResponse, AppError> {
    render(&ForgotPasswordPage {
        page: visitor.page("Reset your password"),
        email: String::new(),
        errors: FieldErrors::new(),
        sent: false,
    })
}

/// Answers the same, at once, whether or not the address has an account: the lookup and
/// the email are queued after the response is decided.
async fn forgot_password(
    state: web::Data<AppState>,
    visitor: Visitor,
    form: web::Form<ForgotPasswordForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let email = match EmailAddress::parse(&form.email) {
        Ok(email) => email,
        Err(message) => {
            return render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ForgotPasswordPage {
                    page: visitor.page("Reset your password"),
                    email: form.email,
                    errors: FieldErrors::single("email", message),
                    sent: false,
                },
            );
        }
    };
    state
        .throttles
        .password_reset
        .check(Some(email.as_str()), &visitor.frame.client.address)?;

    let background = state.clone();
    let actor = visitor.actor();
    actix_web::rt::spawn(async move {
        let now = background.now();
        let mailer = background.mailer.clone();
        let requested = db::run(&background.pool, move |conn| {
            service::request_password_reset(conn, now, &mailer, email.as_str(), &actor)
        })
        .await;
        match requested {
            Ok(()) => background.email_worker.wake(),
            Err(err) => tracing::error!(error = %err, "password reset request failed"),
        }
    });

    render(&ForgotPasswordPage {
        page: visitor.page("Check your email"),
        email: String::new(),
        errors: FieldErrors::new(),
        sent: true,
    })
}

#[derive(Template)]
#[template(path = "auth/set_password.html")]
struct SetPasswordPage {
    page: Page,
    heading: &'static str,
    intro: String,
    button: &'static str,
    errors: FieldErrors,
}

#[derive(Deserialize)]
struct SetPasswordForm {
    password: String,
    password_confirmation: String,
}

fn link_page(
    purpose: TokenPurpose,
    visitor: &Visitor,
    name: &str,
    errors: FieldErrors,
) -> SetPasswordPage {
    match purpose {
        TokenPurpose::PasswordReset => SetPasswordPage {
            page: visitor.page("Choose a new password"),
            heading: "Choose a new password",
            intro: format!(
                "Hello {name}, choose a new password for your account. You will be signed out everywhere else."
            ),
            button: "Save new password",
            errors,
        },
        TokenPurpose::Invitation => SetPasswordPage {
            page: visitor.page("Join Rapport"),
            heading: "Join your team on Rapport",
            intro: format!("Welcome, {name}! Choose a password to finish setting up your account."),
            button: "Create my account",
            errors,
        },
    }
}

async fn show_link(
    state: &AppState,
    visitor: Visitor,
    token: String,
    purpose: TokenPurpose,
) -> Result<HttpResponse, AppError> {
    state
        .throttles
        .invitation
        .check(None, &visitor.frame.client.address)?;
    let now = state.now();
    let user = db::run(&state.pool, move |conn| {
        service::user_for_link(conn, now, &token, purpose)
    })
    .await?;
    render(&link_page(
        purpose,
        &visitor,
        &user.display_name,
        FieldErrors::new(),
    ))
}

async fn use_link(
    state: &AppState,
    visitor: Visitor,
    token: String,
    purpose: TokenPurpose,
    form: SetPasswordForm,
) -> Result<HttpResponse, AppError> {
    state
        .throttles
        .invitation
        .check(Some(&token), &visitor.frame.client.address)?;
    let now = state.now();
    let password = match NewPassword::parse_confirmed(&form.password, &form.password_confirmation) {
        Ok(password) => password,
        Err(message) => {
            let user = db::run(&state.pool, move |conn| {
                service::user_for_link(conn, now, &token, purpose)
            })
            .await?;
            return render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &link_page(
                    purpose,
                    &visitor,
                    &user.display_name,
                    FieldErrors::single("password", message),
                ),
            );
        }
    };
    let address = visitor.frame.client.address.clone();
    db::run(&state.pool, move |conn| {
        service::set_password_with_link(conn, now, &token, purpose, &password, &address)
    })
    .await?;
    FlashMessage::success(match purpose {
        TokenPurpose::PasswordReset => {
            "Your password has been changed. Sign in with your new password."
        }
        TokenPurpose::Invitation => "Your account is ready. Sign in with your new password.",
    })
    .send();
    Ok(redirect("/login"))
}

async fn reset_password_form(
    state: web::Data<AppState>,
    visitor: Visitor,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    show_link(
        &state,
        visitor,
        token.into_inner(),
        TokenPurpose::PasswordReset,
    )
    .await
}

async fn reset_password(
    state: web::Data<AppState>,
    visitor: Visitor,
    token: web::Path<String>,
    form: web::Form<SetPasswordForm>,
) -> Result<HttpResponse, AppError> {
    use_link(
        &state,
        visitor,
        token.into_inner(),
        TokenPurpose::PasswordReset,
        form.into_inner(),
    )
    .await
}

async fn invitation_form(
    state: web::Data<AppState>,
    visitor: Visitor,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    show_link(
        &state,
        visitor,
        token.into_inner(),
        TokenPurpose::Invitation,
    )
    .await
}

async fn accept_invitation(
    state: web::Data<AppState>,
    visitor: Visitor,
    token: web::Path<String>,
    form: web::Form<SetPasswordForm>,
) -> Result<HttpResponse, AppError> {
    use_link(
        &state,
        visitor,
        token.into_inner(),
        TokenPurpose::Invitation,
        form.into_inner(),
    )
    .await
}
