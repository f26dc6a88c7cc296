//! `POST /api/v1/events`: one event or a batch (`{"events": [...]}`), authenticated by a
//! site write key (`Authorization: Bearer <key>`, or `"write_key"` in the body for
//! `navigator.sendBeacon`, which cannot set headers) or by a personal API token (only in
//! the header, and never from a browser origin). A batch is validated whole, then
//! stored in one write transaction (shared with concurrent requests, see `writer`): a single
//! bad event refuses the batch and nothing of it is stored. Every lead the batch touches is
//! rescored once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::keys::{self, SiteKey};
use super::payload::{Fields, Incoming, parse};
use super::writer::{GroupWriter, Outcome};
use crate::api::error::ApiError;
use crate::api::tokens::{self, TokenUser};
use crate::audit::{self, Action, Actor};
use crate::auth::policy::Permission;
use crate::db::schema::{contact_emails, contacts, leads};
use crate::db::{self, Conn};
use crate::error::AppError;
use crate::leads::events::{self, BatchEvent, Subject};
use crate::web::AppState;

/// Larger bodies get a 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
const PREFLIGHT_MAX_AGE_SECONDS: &str = "600";

/// Events-specific refusals, in the API's one error shape.
fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Send a valid API token or site write key: Authorization: Bearer <token>, or a write key as \"write_key\" in the body.",
    )
}

fn origin_refused(origin: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "origin_not_allowed",
        format!("This key does not allow events from {origin}."),
    )
}

fn invalid(fields: Fields) -> ApiError {
    ApiError::invalid("Some events are not valid; nothing was stored.", fields)
}

/// The error as JSON, with the CORS headers of an allowed origin.
fn respond(err: &ApiError, cors_origin: Option<&str>) -> HttpResponse {
    let mut response = HttpResponse::build(err.status());
    add_cors(&mut response, cors_origin);
    err.respond(response)
}

/// Who is sending events: a website by its write key, or a user by a personal API token.
#[derive(Debug, Clone)]
pub enum Caller {
    Site(SiteKey),
    User(TokenUser),
}

impl Caller {
    /// A personal token is for servers and scripts: no browser origin may use it.
    pub fn allows_origin(&self, origin: &str) -> bool {
        match self {
            Caller::Site(key) => key.allows(origin),
            Caller::User(_) => false,
        }
    }

    /// Whether this caller may post events at all (a site key may; a user as policy says).
    pub fn may_post_events(&self) -> bool {
        match self {
            Caller::Site(_) => true,
            Caller::User(user) => user.role.can(Permission::PostEvents),
        }
    }
}

/// The caller a presented credential belongs to, if any.
pub fn authenticate(
    conn: &mut Conn,
    credential: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<Caller>> {
    if credential.starts_with(tokens::TOKEN_PREFIX) {
        return Ok(tokens::authenticate(conn, credential, now)?.map(Caller::User));
    }
    Ok(keys::authenticate(conn, credential)?.map(Caller::Site))
}

fn add_cors(response: &mut actix_web::HttpResponseBuilder, origin: Option<&str>) {
    response.insert_header((header::VARY, "Origin"));
    if let Some(value) = origin.and_then(|origin| HeaderValue::from_str(origin).ok()) {
        response.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, value));
    }
}

fn origin_of(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// `OPTIONS /api/v1/events`: the key is not known yet, so any origin an active key allows
/// gets the CORS headers; others get a 403 without them.
pub async fn preflight(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let Some(origin) = origin_of(&req) else {
        return HttpResponse::NoContent()
            .insert_header((header::ALLOW, "POST, OPTIONS"))
            .finish();
    };
    let lookup = origin.clone();
    let allowed = db::run(&state.pool, move |conn| {
        Ok(keys::any_allows(conn, &lookup)?)
    })
    .await;
    match allowed {
        Ok(true) => {
            let mut response = HttpResponse::NoContent();
            add_cors(&mut response, Some(&origin));
            response
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, Method::POST.as_str()))
                .insert_header((
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    "authorization, content-type",
                ))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE_SECONDS))
                .finish()
        }
        Ok(false) => respond(&origin_refused(&origin), None),
        Err(err) => respond(&ApiError::internal(&err), None),
    }
}

/// `POST /api/v1/events`.
pub async fn ingest(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let origin = origin_of(&req);
    let body = match read_body(&req, payload).await {
        Ok(body) => body,
        Err(err) => return respond(&err, None),
    };
    let document: Value = match serde_json::from_slice(&body) {
        Ok(Value::Object(document)) => Value::Object(document),
        Ok(_) => {
            return respond(
                &ApiError::bad_request("Send a JSON object: one event, or {\"events\": [...]}."),
                None,
            );
        }
        Err(_) => return respond(&ApiError::bad_request("The body is not valid JSON."), None),
    };
    // A personal token in the body would be one a web page holds: only write keys go there.
    let credential = bearer(&req).or_else(|| {
        document
            .get("write_key")
            .and_then(Value::as_str)
            .filter(|key| !key.starts_with(tokens::TOKEN_PREFIX))
            .map(str::to_owned)
    });
    let address = client_address(&req, state.trust_proxy);
    let now = state.now();
    let parsed = parse(&document, now);
    let group_writer = Arc::clone(&state.event_writer);
    let answer = db::run(&state.pool, move |conn| {
        Ok(store(
            conn,
            &group_writer,
            Request {
                credential: credential.as_deref(),
                origin,
                address: &address,
            },
            parsed,
            now,
        ))
    })
    .await;
    match answer {
        Ok((Ok(stored), cors)) => {
            let mut response = HttpResponse::Ok();
            add_cors(&mut response, cors.as_deref());
            response.json(json!({ "accepted": stored.len(), "ids": stored }))
        }
        Ok((Err(err), cors)) => respond(&err, cors.as_deref()),
        Err(err) => respond(&ApiError::internal(&err), None),
    }
}

/// The client's address for the audit log: from a forwarded header only behind a proxy.
fn client_address(req: &HttpRequest, trust_proxy: bool) -> String {
    if trust_proxy {
        req.connection_info()
            .realip_remote_addr()
            .map(str::to_owned)
            .unwrap_or_else(|| "unknown".to_owned())
    } else {
        req.peer_addr()
            .map_or_else(|| "unknown".to_owned(), |addr| addr.ip().to_string())
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<Vec<u8>, ApiError> {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if announced.is_some_and(|length| length > MAX_BODY_BYTES) {
        return Err(ApiError::too_large(MAX_BODY_BYTES));
    }
    let mut body = Vec::with_capacity(announced.unwrap_or(4096).min(MAX_BODY_BYTES));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("The body could not be read."))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::too_large(MAX_BODY_BYTES));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Authenticates, checks the origin, then resolves and stores the events in one write
/// transaction. Returns the CORS origin to answer with alongside the outcome.
fn store(
    conn: &mut Conn,
    group_writer: &GroupWriter,
    request: Request<'_>,
    parsed: Result<Vec<Incoming>, Fields>,
    now: NaiveDateTime,
) -> (Result<Vec<i64>, ApiError>, Option<String>) {
    let Request {
        credential,
        origin,
        address,
    } = request;
    let caller = match credential.map(|credential| authenticate(conn, credential, now)) {
        Some(Ok(Some(caller))) => caller,
        Some(Err(err)) => return (Err(ApiError::internal(&err.into())), None),
        _ => {
            tracing::warn!(
                origin = origin.as_deref(),
                with_credential = credential.is_some(),
                "events refused: missing, unknown, revoked or expired key or token"
            );
            return (Err(unauthorized()), None);
        }
    };
    let cors = match origin {
        Some(origin) if caller.allows_origin(&origin) => Some(origin),
        Some(origin) => {
            tracing::warn!(origin, "events refused: origin not allowed by the key");
            let refusal = match caller {
                Caller::Site(_) => origin_refused(&origin),
                Caller::User(_) => ApiError::new(
                    StatusCode::FORBIDDEN,
                    "origin_not_allowed",
                    "API tokens are for servers and scripts: browsers may not send them. Use a site write key on web pages.",
                ),
            };
            return (Err(refusal), None);
        }
        None => None,
    };
    if !caller.may_post_events() {
        if let Caller::User(user) = &caller
            && let Err(err) = audit_refusal(conn, user, address, now)
        {
            return (Err(ApiError::internal(&err.into())), None);
        }
        return (
            Err(ApiError::forbidden(
                "Your role may not post events: ask an admin or a sales rep for a token.",
            )),
            cors,
        );
    }
    let incoming = match parsed {
        Ok(incoming) => incoming,
        Err(fields) => return (Err(invalid(fields)), cors),
    };
    let outcome = match group_writer.submit(conn, incoming, now) {
        Outcome::Stored(ids) => Ok(ids),
        Outcome::Invalid(fields) => Err(invalid(fields)),
        Outcome::Failed(cause) => Err(ApiError::internal(&AppError::Internal(cause))),
    };
    (outcome, cors)
}

/// What identifies one request to `store`.
struct Request<'a> {
    credential: Option<&'a str>,
    origin: Option<String>,
    address: &'a str,
}

fn audit_refusal(
    conn: &mut Conn,
    user: &TokenUser,
    address: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    tracing::warn!(
        user_id = user.user_id,
        "events refused: the token's role may not post them"
    );
    let actor = Actor {
        user_id: Some(user.user_id),
        label: user.email.clone(),
        address: Some(address.to_owned()),
    };
    audit::record(
        conn,
        now,
        &actor,
        Action::AuthorizationDenied,
        Some("POST /api/v1/events"),
        Some(&format!("API token {}", user.token_id)),
    )?;
    Ok(())
}

/// Why a request's events were not stored.
pub(super) enum Refusal {
    Invalid(Fields),
    Database(diesel::result::Error),
}

impl From<diesel::result::Error> for Refusal {
    fn from(err: diesel::result::Error) -> Self {
        Refusal::Database(err)
    }
}

/// The events ready to store, and the visitors found to be a lead or a contact.
pub(super) struct Resolved {
    pub batch: Vec<BatchEvent>,
    pub stitches: Vec<(String, Subject)>,
}

/// Whose timeline each event lands on, and which visitors turn out to be which lead. An
/// unknown lead, contact or email refuses the whole batch.
pub(super) fn resolve(conn: &mut Conn, incoming: &[Incoming]) -> Result<Resolved, Refusal> {
    let mut fields = Fields::new();
    let mut lead_exists: HashMap<i64, bool> = HashMap::new();
    let mut contact_exists: HashMap<i64, bool> = HashMap::new();
    let mut by_email: HashMap<String, Option<Subject>> = HashMap::new();
    let mut visitor_lead: HashMap<String, Option<i64>> = HashMap::new();
    let mut stitches: Vec<(String, Subject)> = Vec::new();
    let mut stitched: HashSet<String> = HashSet::new();
    let mut batch = Vec::with_capacity(incoming.len());
    for event in incoming {
        let field = |name: &str| format!("{}{name}", event.prefix);
        let subject = if let Some(id) = event.lead_id {
            let known = match lead_exists.get(&id) {
                Some(known) => *known,
                None => {
                    let known = leads::table
                        .find(id)
                        .select(leads::id)
                        .first::<i64>(conn)
                        .optional()?
                        .is_some();
                    *lead_exists.entry(id).or_insert(known)
                }
            };
            if !known {
                fields.insert(field("lead_id"), format!("There is no lead {id}."));
                continue;
            }
            Subject::Lead(id)
        } else if let Some(id) = event.contact_id {
            let known = match contact_exists.get(&id) {
                Some(known) => *known,
                None => {
                    let known = contacts::table
                        .find(id)
                        .select(contacts::id)
                        .first::<i64>(conn)
                        .optional()?
                        .is_some();
                    *contact_exists.entry(id).or_insert(known)
                }
            };
            if !known {
                fields.insert(field("contact_id"), format!("There is no contact {id}."));
                continue;
            }
            Subject::Contact(id)
        } else if let Some(email) = &event.email {
            let found = match by_email.get(email) {
                Some(found) => *found,
                None => {
                    let found = subject_by_email(conn, email)?;
                    *by_email.entry(email.clone()).or_insert(found)
                }
            };
            match (found, &event.visitor_id) {
                (Some(subject), _) => subject,
                (None, Some(_)) => Subject::Anonymous,
                (None, None) => {
                    fields.insert(
                        field("email"),
                        format!(
                            "No lead or contact has the email {email}; create the lead first, or send a visitor_id to keep the event until the visitor is known."
                        ),
                    );
                    continue;
                }
            }
        } else {
            Subject::Anonymous
        };
        let subject = match (&event.visitor_id, subject) {
            (Some(visitor_id), Subject::Anonymous) => {
                let lead = match visitor_lead.get(visitor_id) {
                    Some(lead) => *lead,
                    None => {
                        let lead = events::lead_of_visitor(conn, visitor_id)?;
                        *visitor_lead.entry(visitor_id.clone()).or_insert(lead)
                    }
                };
                lead.map_or(Subject::Anonymous, Subject::Lead)
            }
            (Some(visitor_id), Subject::Lead(lead_id)) => {
                if stitched.insert(visitor_id.clone()) {
                    stitches.push((visitor_id.clone(), subject));
                }
                visitor_lead.insert(visitor_id.clone(), Some(lead_id));
                subject
            }
            // The visitor's anonymous events, this batch's included, follow it to the
            // contact once the batch is stored.
            (Some(visitor_id), Subject::Contact(_)) => {
                if stitched.insert(visitor_id.clone()) {
                    stitches.push((visitor_id.clone(), subject));
                }
                visitor_lead.insert(visitor_id.clone(), None);
                subject
            }
            _ => subject,
        };
        batch.push(BatchEvent {
            subject,
            visitor_id: event.visitor_id.clone(),
            name: event.name.clone(),
            properties: event.properties.clone(),
            occurred_at: event.occurred_at,
        });
    }
    if fields.is_empty() {
        Ok(Resolved { batch, stitches })
    } else {
        Err(Refusal::Invalid(fields))
    }
}

/// An open lead with this email first, then a contact, then a converted lead.
fn subject_by_email(conn: &mut Conn, email: &str) -> QueryResult<Option<Subject>> {
    let matching: Vec<(i64, String)> = leads::table
        .filter(leads::email.eq(email))
        .order(leads::id.desc())
        .select((leads::id, leads::status))
        .load(conn)?;
    if let Some((id, _)) = matching.iter().find(|(_, status)| status != "converted") {
        return Ok(Some(Subject::Lead(*id)));
    }
    let contact: Option<i64> = contact_emails::table
        .inner_join(contacts::table)
        .filter(contact_emails::email.eq(email))
        .filter(contacts::archived_at.is_null())
        .order((contact_emails::is_primary.desc(), contacts::id))
        .select(contacts::id)
        .first(conn)
        .optional()?;
    if let Some(id) = contact {
        return Ok(Some(Subject::Contact(id)));
    }
    Ok(matching.first().map(|(id, _)| Subject::Lead(*id)))
}
