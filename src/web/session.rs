//! Loads the browser's server-side session once per request and keeps it in the request's
//! extensions for the extractors in `web::extract`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{HttpMessage, ResponseError};

use super::AppState;
use crate::app_settings;
use crate::auth::model::User;
use crate::auth::sessions::{self, Session};
use crate::db;
use crate::tasks;

/// A request's live session and its user.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: Session,
    pub user: User,
    /// Admins require a second factor of everyone.
    pub second_factor_required: bool,
    /// The user's open tasks past their due time (the navigation's badge).
    pub overdue_tasks: i64,
}

/// Paths that never need a session: static files, the health check, the tracking script,
/// and the JSON API (bearer tokens only, never cookies).
pub fn sessionless(path: &str) -> bool {
    path.starts_with("/static/")
        || path.starts_with("/api/")
        || matches!(path, "/healthz" | "/t.js")
}

pub fn session_cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build(state.session_cookie_name(), token)
        .path("/")
        .http_only(true)
        .secure(state.https)
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(
            state.session_timeouts.lifetime.num_seconds(),
        ))
        .finish()
}

pub fn session_removal_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = session_cookie(state, String::new());
    cookie.make_removal();
    cookie
}

pub async fn load_session(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<Data<AppState>>().cloned();
    let (Some(state), false) = (state, sessionless(req.path())) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let Some(token) = req
        .cookie(state.session_cookie_name())
        .map(|cookie| cookie.value().to_owned())
    else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };

    let now = state.now();
    let timeouts = state.session_timeouts;
    let found = db::run(&state.pool, move |conn| {
        let Some((session, user)) = sessions::find_active(conn, &token, now, timeouts)? else {
            return Ok(None);
        };
        let second_factor_required = app_settings::require_second_factor(conn)?;
        let overdue_tasks = tasks::queries::overdue_count(conn, user.id, now)?;
        Ok(Some(SignedIn {
            session,
            user,
            second_factor_required,
            overdue_tasks,
        }))
    })
    .await;

    let stale_cookie = match found {
        Ok(Some(signed_in)) => {
            req.extensions_mut().insert(signed_in);
            false
        }
        Ok(None) => true,
        Err(err) => {
            let (request, _) = req.into_parts();
            return Ok(ServiceResponse::new(request, err.error_response()));
        }
    };
    let mut response = next.call(req).await?.map_into_boxed_body();
    let name = state.session_cookie_name();
    if stale_cookie
        && !response
            .response()
            .cookies()
            .any(|cookie| cookie.name() == name)
    {
        response
            .response_mut()
            .add_cookie(&session_removal_cookie(&state))
            .map_err(actix_web::error::ErrorInternalServerError)?;
    }
    Ok(response)
}
