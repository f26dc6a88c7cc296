//! The admin's `/admin/forms` pages (list, create, edit, deactivate, the snippet to paste)
//! and the public endpoints a website's form posts to: `POST /f/{form_key}`, the double
//! opt-in link `GET /f/{form_key}/confirm/{token}` (a page with a button; opening it
//! changes nothing, so mail scanners that fetch links confirm nothing) and the button's
//! `POST /f/{form_key}/confirm`. The public ones need no session (the CSRF middleware
//! exempts `/f/`: they act on an unguessable key or token, never on a cookie) and answer
//! with plain pages a visitor can read.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{HttpRequest, HttpResponse};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use futures_util::StreamExt;

use super::model::{
    FormField, HONEYPOT, SettingsForm, VISITOR_FIELD, WebForm, parse_submission, visitor_id,
};
use super::queries;
use super::service::{self, LinkProblem, Outcome};
use crate::db;
use crate::error::{AppError, FieldErrors, OrNotFound};
use crate::web::AppState;
use crate::web::extract::{Admin, Visitor};
use crate::web::page::{Page, redirect, render_with_status};

/// The largest submission accepted: a form of short fields and a message fits easily.
pub const MAX_BODY: usize = 16 * 1024;

/// Public routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/f/{form_key}", web::post().to(submit))
        .route("/f/{form_key}/confirm", web::post().to(confirm))
        .route("/f/{form_key}/confirm/{token}", web::get().to(confirm_page));
}

/// Mounted under `/admin`.
pub fn configure_admin(cfg: &mut web::ServiceConfig) {
    cfg.route("/forms", web::get().to(index))
        .route("/forms", web::post().to(create))
        .route("/forms/new", web::get().to(new))
        .route("/forms/{id}", web::get().to(show))
        .route("/forms/{id}", web::post().to(update))
        .route("/forms/{id}/deactivate", web::post().to(deactivate))
        .route("/forms/{id}/activate", web::post().to(activate));
}

fn form_pairs(body: &Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Admin

struct FormRow {
    form: WebForm,
    fields: String,
}

#[derive(Template)]
#[template(path = "leads/forms/index.html")]
struct IndexPage {
    page: Page,
    rows: Vec<FormRow>,
}

async fn index(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, AppError> {
    let forms = db::run(&state.pool, |conn| Ok(queries::all(conn)?)).await?;
    let rows = forms
        .into_iter()
        .map(|form| FormRow {
            fields: form
                .shown()
                .iter()
                .map(|field| field.label())
                .collect::<Vec<_>>()
                .join(", "),
            form,
        })
        .collect();
    render_with_status(
        StatusCode::OK,
        &IndexPage {
            page: admin.page("Web forms"),
            rows,
        },
    )
}

struct FieldChoice {
    key: &'static str,
    label: &'static str,
    shown: bool,
    required: bool,
    always: bool,
}

#[derive(Template)]
#[template(path = "leads/forms/edit.html")]
struct EditPage {
    page: Page,
    form: Option<WebForm>,
    settings: SettingsForm,
    errors: FieldErrors,
    choices: Vec<FieldChoice>,
    action: String,
    snippet: String,
}

async fn edit_page(
    state: &AppState,
    admin: &Admin,
    form: Option<WebForm>,
    settings: SettingsForm,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let choices = FormField::ALL
        .into_iter()
        .map(|field| {
            let key = field.key();
            let always = field == FormField::Email;
            FieldChoice {
                key,
                label: field.label(),
                shown: always || settings.fields.iter().any(|k| k == key),
                required: always || settings.required.iter().any(|k| k == key),
                always,
            }
        })
        .collect();
    let (title, action, snippet) = match &form {
        Some(form) => {
            let action = state.mailer.link(&format!("/f/{}", form.form_key));
            let snippet = service::snippet(form, &action);
            (form.name.clone(), action, snippet)
        }
        None => ("New web form".to_owned(), String::new(), String::new()),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_with_status(
        status,
        &EditPage {
            page: admin.page(&title),
            form,
            settings,
            errors,
            choices,
            action,
            snippet,
        },
    )
}

async fn new(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, AppError> {
    edit_page(
        &state,
        &admin,
        None,
        SettingsForm::blank(),
        FieldErrors::new(),
    )
    .await
}

async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let settings = SettingsForm::from_pairs(&form_pairs(&body));
    let (now, actor, typed) = (state.now(), admin.actor(), settings.clone());
    let result = db::run(&state.pool, move |conn| {
        service::create(conn, &actor, &typed, now)
    })
    .await;
    match result {
        Ok(id) => {
            FlashMessage::success(
                "The form has been created. Paste the snippet below into your website.",
            )
            .send();
            Ok(redirect(&format!("/admin/forms/{id}")))
        }
        Err(AppError::Invalid(errors)) => edit_page(&state, &admin, None, settings, errors).await,
        Err(other) => Err(other),
    }
}

async fn find_form(state: &AppState, id: i64) -> Result<WebForm, AppError> {
    db::run(&state.pool, move |conn| {
        queries::find(conn, id)?.or_not_found()
    })
    .await
}

async fn show(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let form = find_form(&state, path.into_inner()).await?;
    let settings = SettingsForm::of(&form);
    edit_page(&state, &admin, Some(form), settings, FieldErrors::new()).await
}

async fn update(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = find_form(&state, id).await?;
    let settings = SettingsForm::from_pairs(&form_pairs(&body));
    let (now, actor, typed) = (state.now(), admin.actor(), settings.clone());
    let result = db::run(&state.pool, move |conn| {
        service::update(conn, &actor, id, &typed, now)
    })
    .await;
    match result {
        Ok(()) => {
            FlashMessage::success("The form has been saved.").send();
            Ok(redirect(&format!("/admin/forms/{id}")))
        }
        Err(AppError::Invalid(errors)) => {
            edit_page(&state, &admin, Some(form), settings, errors).await
        }
        Err(other) => Err(other),
    }
}

async fn set_active(
    state: web::Data<AppState>,
    admin: Admin,
    id: i64,
    active: bool,
) -> Result<HttpResponse, AppError> {
    let (now, actor) = (state.now(), admin.actor());
    let form = db::run(&state.pool, move |conn| {
        service::set_active(conn, &actor, id, active, now)
    })
    .await?;
    FlashMessage::success(if active {
        format!("The form {} accepts submissions again.", form.name)
    } else {
        format!(
            "The form {} is deactivated: websites posting it now get a \"form not found\" page.",
            form.name
        )
    })
    .send();
    Ok(redirect(&format!("/admin/forms/{id}")))
}

async fn deactivate(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    set_active(state, admin, path.into_inner(), false).await
}

async fn activate(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    set_active(state, admin, path.into_inner(), true).await
}

// ---------------------------------------------------------------------------------------
// Public

#[derive(Template)]
#[template(path = "leads/forms/public.html")]
struct PublicPage<'a> {
    title: &'a str,
    message: &'a str,
    problems: Vec<String>,
    go_back: bool,
}

fn public_page(
    status: StatusCode,
    title: &str,
    message: &str,
    problems: Vec<String>,
) -> Result<HttpResponse, AppError> {
    let go_back = status.is_client_error() && status != StatusCode::NOT_FOUND;
    render_with_status(
        status,
        &PublicPage {
            title,
            message,
            problems,
            go_back,
        },
    )
}

fn form_not_found() -> Result<HttpResponse, AppError> {
    public_page(
        StatusCode::NOT_FOUND,
        "Form not found",
        "This form does not exist or no longer accepts submissions.",
        Vec::new(),
    )
}

/// Reads the body up to `MAX_BODY`; None when it is larger.
async fn read_limited(mut payload: web::Payload) -> Result<Option<Bytes>, AppError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            AppError::BadRequest("The form could not be read. Go back and try again.".to_owned())
        })?;
        if body.len() + chunk.len() > MAX_BODY {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body.freeze()))
}

/// The site the request comes from: its `Origin`, or else the origin of its `Referer`.
fn request_origin(req: &HttpRequest) -> Option<String> {
    let header_text = |name| {
        req.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    header_text(header::ORIGIN)
        .filter(|origin| origin != "null")
        .or_else(|| header_text(header::REFERER))
}

/// What the visitor sees once a submission is accepted.
fn accepted(form: &WebForm, awaiting_confirmation: bool) -> Result<HttpResponse, AppError> {
    if awaiting_confirmation {
        return public_page(
            StatusCode::OK,
            "Check your email",
            "We have sent you an email with a link: follow it to confirm your address.",
            Vec::new(),
        );
    }
    match &form.redirect_url {
        Some(url) => Ok(redirect(url)),
        None => public_page(
            StatusCode::OK,
            "Thank you",
            &form.thank_you_message,
            Vec::new(),
        ),
    }
}

async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    visitor: Visitor,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let form_key = path.into_inner();
    let address = visitor.frame.client.address.clone();
    if state.throttles.lead_forms.check(None, &address).is_err() {
        return public_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many submissions",
            "Too many forms were sent from your address in a short time. Wait a minute, then try again.",
            Vec::new(),
        );
    }
    let Some(body) = read_limited(payload).await? else {
        return public_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too much text",
            &format!(
                "What you sent is larger than this form accepts ({} KB). Shorten your message and try again.",
                MAX_BODY / 1024
            ),
            Vec::new(),
        );
    };
    let key = form_key.clone();
    let form = db::run(&state.pool, move |conn| Ok(queries::by_key(conn, &key)?)).await?;
    let Some(form) = form.filter(|form| form.active) else {
        return form_not_found();
    };
    if !form.allows_origin(request_origin(&req).as_deref()) {
        return public_page(
            StatusCode::FORBIDDEN,
            "Not accepted from this site",
            "This form may only be sent from the website it belongs to.",
            Vec::new(),
        );
    }
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in form_pairs(&body) {
        values.insert(key, value);
    }
    if values
        .get(HONEYPOT)
        .is_some_and(|value| !value.trim().is_empty())
    {
        // A bot: it is told all went well, and nothing is kept.
        tracing::info!(
            form = form.id,
            "web form honeypot filled; submission dropped"
        );
        return accepted(&form, form.double_opt_in);
    }
    let shown = form.shown();
    let submission = match parse_submission(&shown, &form.required(), &values, true) {
        Ok(submission) => submission,
        Err(errors) => {
            let mut problems: Vec<String> = shown
                .iter()
                .filter_map(|field| {
                    errors
                        .get(field.key())
                        .map(|message| format!("{}: {message}", field.label()))
                })
                .collect();
            if let Some(message) = errors.get(FieldErrors::FORM) {
                problems.push(message.clone());
            }
            return public_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check the form",
                "Some of what you entered could not be accepted. Go back, correct it and send the form again.",
                problems,
            );
        }
    };
    let visitor = values.get(VISITOR_FIELD).and_then(|raw| visitor_id(raw));
    let now = state.now();
    let mailer = state.mailer.clone();
    let submitted = form.clone();
    let outcome = db::run(&state.pool, move |conn| {
        service::submit(
            conn,
            &mailer,
            &submitted,
            &submission,
            visitor.as_deref(),
            &address,
            now,
        )
    })
    .await?;
    let awaiting = outcome == Outcome::AwaitingConfirmation;
    if awaiting {
        state.email_worker.wake();
    }
    accepted(&form, awaiting)
}

#[derive(Template)]
#[template(path = "leads/forms/confirm.html")]
struct ConfirmPage<'a> {
    form_name: &'a str,
    action: String,
    token: &'a str,
}

/// What the visitor sees when a link cannot be confirmed (any more).
fn link_problem(problem: LinkProblem) -> Result<HttpResponse, AppError> {
    match problem {
        LinkProblem::Unknown => public_page(
            StatusCode::NOT_FOUND,
            "Link not found",
            "This confirmation link is not valid. Check that you copied all of it.",
            Vec::new(),
        ),
        LinkProblem::Used => public_page(
            StatusCode::GONE,
            "Already confirmed",
            "This confirmation link has already been used: your address is confirmed. There is nothing more to do.",
            Vec::new(),
        ),
        LinkProblem::Expired => public_page(
            StatusCode::GONE,
            "Link expired",
            "This confirmation link has expired. Send the form again to get a new one.",
            Vec::new(),
        ),
    }
}

/// The emailed link: a page with a button that confirms. Opening it changes nothing.
async fn confirm_page(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (form_key, token) = path.into_inner();
    let now = state.now();
    let (key, checked_token) = (form_key.clone(), token.clone());
    let checked = db::run(&state.pool, move |conn| {
        service::check_link(conn, &key, &checked_token, now)
    })
    .await?;
    match checked {
        Ok(form) => render_with_status(
            StatusCode::OK,
            &ConfirmPage {
                form_name: &form.name,
                action: format!("/f/{form_key}/confirm"),
                token: &token,
            },
        ),
        Err(problem) => link_problem(problem),
    }
}

/// The button of the confirmation page: the token comes in the form, not the address.
async fn confirm(
    state: web::Data<AppState>,
    path: web::Path<String>,
    visitor: Visitor,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let form_key = path.into_inner();
    let Some(body) = read_limited(payload).await? else {
        return link_problem(LinkProblem::Unknown);
    };
    let Some(token) = form_pairs(&body)
        .into_iter()
        .find_map(|(key, value)| (key == "token").then_some(value))
        .filter(|token| !token.is_empty())
    else {
        return link_problem(LinkProblem::Unknown);
    };
    let address = visitor.frame.client.address.clone();
    let now = state.now();
    let result = db::run(&state.pool, move |conn| {
        service::confirm(conn, &form_key, &token, &address, now)
    })
    .await?;
    match result {
        Ok((form, _)) => {
            let message = format!(
                "Your email address is confirmed. {}",
                form.thank_you_message
            );
            public_page(StatusCode::OK, "Confirmed", &message, Vec::new())
        }
        Err(problem) => link_problem(problem),
    }
}
