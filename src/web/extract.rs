//! Extractors through which every handler states who may call it: `Visitor` (anyone),
//! `CurrentUser` (signed in), `Authorized<R>` (signed in with permission `R`), plus the two
//! in-between states of signing in with a second factor.

use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use actix_web_flash_messages::IncomingFlashMessages;

use super::AppState;
use super::csrf::CsrfToken;
use super::page::{Flash, Page};
use super::session::SignedIn;
use crate::audit::{self, Action, Actor};
use crate::auth::model::User;
use crate::auth::policy::{Administer, Requirement};
use crate::auth::sessions::{Client, Session};
use crate::db;
use crate::error::AppError;

type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

/// The request-scoped pieces a page needs, whoever is asking.
#[derive(Debug, Clone)]
pub struct Frame {
    pub path: String,
    pub csrf_token: String,
    pub flashes: Vec<Flash>,
    pub client: Client,
}

impl Frame {
    async fn of(req: &HttpRequest) -> Result<Self, AppError> {
        let flashes = IncomingFlashMessages::from_request(req, &mut Payload::None)
            .await
            .map(|messages| Flash::from_incoming(&messages))
            .unwrap_or_default();
        let csrf_token = req
            .extensions()
            .get::<CsrfToken>()
            .map(|token| token.0.clone())
            .unwrap_or_default();
        let trust_proxy = state(req)?.trust_proxy;
        Ok(Self {
            path: req.path().to_owned(),
            csrf_token,
            flashes,
            client: client(req, trust_proxy),
        })
    }
}

fn state(req: &HttpRequest) -> Result<Data<AppState>, AppError> {
    req.app_data::<Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal("application state missing"))
}

/// The client's address (from a forwarded header only when told to trust the proxy) and
/// user agent.
fn client(req: &HttpRequest, trust_proxy: bool) -> Client {
    let address = if trust_proxy {
        req.connection_info().realip_remote_addr().map(|addr| {
            addr.parse::<SocketAddr>()
                .map(|socket| socket.ip().to_string())
                .unwrap_or_else(|_| addr.to_owned())
        })
    } else {
        req.peer_addr().map(|socket| socket.ip().to_string())
    };
    Client {
        address: address.unwrap_or_else(|| "unknown".to_owned()),
        user_agent: req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned(),
    }
}

/// Anyone, signed in or not (sign-in pages, the first-admin page, reset links).
pub struct Visitor {
    pub user: Option<User>,
    pub frame: Frame,
}

impl Visitor {
    pub fn page(&self, title: &str) -> Page {
        let frame = &self.frame;
        Page::new(
            title,
            None,
            &frame.path,
            frame.csrf_token.clone(),
            frame.flashes.clone(),
        )
    }

    pub fn actor(&self) -> Actor {
        Actor::anonymous(&self.frame.client.address)
    }
}

impl FromRequest for Visitor {
    type Error = AppError;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = req
                .extensions()
                .get::<SignedIn>()
                .filter(|signed_in| !signed_in.session.second_factor_pending)
                .map(|signed_in| signed_in.user.clone());
            Ok(Visitor {
                user,
                frame: Frame::of(&req).await?,
            })
        })
    }
}

/// A signed-in user who has passed every check (second factor given, and enrolled if
/// required).
pub struct CurrentUser {
    pub user: User,
    pub session: Session,
    pub frame: Frame,
    /// The user's open tasks past their due time, counted with the session lookup.
    pub overdue_tasks: i64,
}

impl CurrentUser {
    pub fn page(&self, title: &str) -> Page {
        let frame = &self.frame;
        Page {
            overdue_tasks: self.overdue_tasks,
            ..Page::new(
                title,
                Some(&self.user),
                &frame.path,
                frame.csrf_token.clone(),
                frame.flashes.clone(),
            )
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::user(&self.user, &self.frame.client.address)
    }
}

fn signed_in(req: &HttpRequest) -> Result<SignedIn, AppError> {
    req.extensions()
        .get::<SignedIn>()
        .cloned()
        .ok_or_else(|| AppError::LoginRequired {
            next: req
                .uri()
                .path_and_query()
                .map_or_else(|| "/".to_owned(), ToString::to_string),
        })
}

async fn current_user(req: &HttpRequest, allow_unenrolled: bool) -> Result<CurrentUser, AppError> {
    let signed_in = signed_in(req)?;
    if signed_in.session.second_factor_pending {
        return Err(AppError::SecondFactorPending);
    }
    if signed_in.second_factor_required
        && !signed_in.user.second_factor_enabled
        && !allow_unenrolled
    {
        return Err(AppError::EnrolmentRequired);
    }
    Ok(CurrentUser {
        user: signed_in.user,
        session: signed_in.session,
        frame: Frame::of(req).await?,
        overdue_tasks: signed_in.overdue_tasks,
    })
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { current_user(&req, false).await })
    }
}

/// A signed-in user who may not yet have the second factor an admin requires: only the
/// enrolment pages and sign-out accept this.
pub struct EnrollingUser(pub CurrentUser);

impl FromRequest for EnrollingUser {
    type Error = AppError;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { current_user(&req, true).await.map(EnrollingUser) })
    }
}

/// A user who gave the right password but not yet the second factor.
pub struct PendingSecondFactor {
    pub user: User,
    pub session: Session,
    pub frame: Frame,
}

impl FromRequest for PendingSecondFactor {
    type Error = AppError;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let signed_in = signed_in(&req)?;
            if !signed_in.session.second_factor_pending {
                return Err(AppError::LoginRequired {
                    next: "/".to_owned(),
                });
            }
            Ok(PendingSecondFactor {
                user: signed_in.user,
                session: signed_in.session,
                frame: Frame::of(&req).await?,
            })
        })
    }
}

/// A signed-in user whose role grants `R::PERMISSION`. Anyone else gets 403, and the
/// refusal is written to the audit log.
pub struct Authorized<R: Requirement>(pub CurrentUser, PhantomData<R>);

pub type Admin = Authorized<Administer>;

impl<R: Requirement> Deref for Authorized<R> {
    type Target = CurrentUser;

    fn deref(&self) -> &CurrentUser {
        &self.0
    }
}

impl<R: Requirement + 'static> FromRequest for Authorized<R> {
    type Error = AppError;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let current = current_user(&req, false).await?;
            if current.user.role.can(R::PERMISSION) {
                return Ok(Authorized(current, PhantomData));
            }
            let state = state(&req)?;
            Err(refusal(&state, &current, &req).await)
        })
    }
}

/// Logs that `current` was refused `req` and gives the error that answers it (403).
async fn refusal(state: &AppState, current: &CurrentUser, req: &HttpRequest) -> AppError {
    let (now, actor) = (state.now(), current.actor());
    let target = format!("{} {}", req.method(), req.path());
    let logged = db::run(&state.pool, move |conn| {
        audit::record(
            conn,
            now,
            &actor,
            Action::AuthorizationDenied,
            Some(&target),
            None,
        )?;
        Ok(())
    })
    .await;
    logged.err().unwrap_or(AppError::Forbidden)
}

/// Refuses a request the user's rights on a record do not allow, and logs the refusal.
pub async fn denied(
    state: &AppState,
    current: &CurrentUser,
    req: &HttpRequest,
) -> Result<HttpResponse, AppError> {
    Err(refusal(state, current, req).await)
}

/// Middleware for a scope whose every route requires `R`: refuses (and audits) before the
/// handler's own inputs are read.
pub async fn require<R: Requirement + 'static>(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let refusal = Authorized::<R>::extract(req.request()).await.err();
    if let Some(error) = refusal {
        let (request, _) = req.into_parts();
        return Ok(ServiceResponse::new(request, error.error_response()));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}
