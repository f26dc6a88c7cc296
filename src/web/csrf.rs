//! Cross-site request forgery protection for every state-changing request: the `Origin`
//! (or `Sec-Fetch-Site`) must be this site, and the request must carry the synchronizer
//! token of the session (or, before sign-in, of the browser's CSRF cookie).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpMessage, ResponseError};

use super::AppState;
use super::session::{SignedIn, sessionless};
use crate::auth::tokens::{constant_time_eq, random_token};
use crate::error::AppError;

pub const FORM_FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";
const ANONYMOUS_COOKIE: &str = "rapport_csrf";

/// Paths that take no cookies and so cannot be forged against: the bearer-token API and
/// public form targets.
const EXEMPT_PREFIXES: [&str; 2] = ["/api/", "/f/"];

/// The token a page puts in its forms.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub async fn protect(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if sessionless(req.path()) && !changes_state(req.method()) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let session_token = req
        .extensions()
        .get::<SignedIn>()
        .map(|signed_in| signed_in.session.csrf_token.clone());
    let cookie_token = req
        .cookie(ANONYMOUS_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .filter(|value| value.len() == 43);
    let (expected, new_cookie) = match (session_token, cookie_token) {
        (Some(token), _) => (token, None),
        (None, Some(token)) => (token, None),
        (None, None) => {
            let token = random_token();
            (token.clone(), Some(token))
        }
    };
    req.extensions_mut().insert(CsrfToken(expected.clone()));

    let guarded =
        changes_state(req.method()) && !EXEMPT_PREFIXES.iter().any(|p| req.path().starts_with(p));
    if guarded && let Err(refusal) = check(&mut req, &expected).await {
        tracing::warn!(
            path = req.path(),
            reason = refusal,
            "CSRF check refused a request"
        );
        let (request, _) = req.into_parts();
        return Ok(ServiceResponse::new(
            request,
            AppError::CsrfRejected.error_response(),
        ));
    }

    let mut response = next.call(req).await?.map_into_boxed_body();
    if let Some(token) = new_cookie {
        let secure = response
            .request()
            .app_data::<Data<AppState>>()
            .is_some_and(|state| state.https);
        let cookie = Cookie::build(ANONYMOUS_COOKIE, token)
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Strict)
            .finish();
        response
            .response_mut()
            .add_cookie(&cookie)
            .map_err(actix_web::error::ErrorInternalServerError)?;
    }
    Ok(response)
}

async fn check(req: &mut ServiceRequest, expected: &str) -> Result<(), &'static str> {
    check_origin(req)?;
    let from_header = req
        .headers()
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let presented = match from_header {
        Some(token) => token,
        None if is_multipart(req) => token_from_query(req)?,
        None => token_from_form(req).await?,
    };
    if constant_time_eq(&presented, expected) {
        Ok(())
    } else {
        Err("wrong token")
    }
}

/// Browsers send `Origin` on every POST; older ones at least `Sec-Fetch-Site`.
fn check_origin(req: &ServiceRequest) -> Result<(), &'static str> {
    let headers = req.headers();
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().map_err(|_| "unreadable Origin")?;
        let info = req.connection_info();
        let own_origin = format!("{}://{}", info.scheme(), info.host());
        let public_origin = req
            .app_data::<Data<AppState>>()
            .map(|state| state.mailer.base_url.origin().ascii_serialization());
        if origin == own_origin || public_origin.as_deref() == Some(origin) {
            return Ok(());
        }
        return Err("foreign Origin");
    }
    match headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
    {
        None | Some("same-origin") | Some("none") => Ok(()),
        Some(_) => Err("cross-site Sec-Fetch-Site"),
    }
}

/// File uploads are `multipart/form-data`, which is not read here (it may be large and is
/// streamed to the handler); their forms carry the token in the action URL instead.
fn is_multipart(req: &ServiceRequest) -> bool {
    req.content_type()
        .eq_ignore_ascii_case("multipart/form-data")
}

fn token_from_query(req: &ServiceRequest) -> Result<String, &'static str> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(name, _)| name == FORM_FIELD)
        .map(|(_, value)| value.into_owned())
        .ok_or("no token in the query of a multipart form")
}

/// Reads the token from a urlencoded body, then puts the body back for the handler.
async fn token_from_form(req: &mut ServiceRequest) -> Result<String, &'static str> {
    let is_form = req
        .content_type()
        .eq_ignore_ascii_case("application/x-www-form-urlencoded");
    if !is_form {
        return Err("no token header and not a form");
    }
    let body = req
        .extract::<Bytes>()
        .await
        .map_err(|_| "unreadable body")?;
    let token = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == FORM_FIELD)
        .map(|(_, value)| value.into_owned());
    req.set_payload(Payload::from(body));
    token.ok_or("no token in the form")
}
