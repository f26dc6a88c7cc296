//! The OpenAPI document of `/api/v1`, served at `GET /api/v1/openapi.json`. The types here
//! only describe requests and answers; the handlers parse their bodies themselves (see
//! `leads::tracking::payload`), so a test checks the two agree on the field names.

#![allow(dead_code)] // The types and the operation function exist only to be described.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::header;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The name the document gives the bearer scheme.
pub const BEARER_SCHEME: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rapport API",
        version = "1",
        description = "Rapport's JSON API. Authenticate with `Authorization: Bearer <token>`: a personal API token (`rpt_…`, created under Account → API tokens) or, for `POST /api/v1/events` only, a site write key (`rsk_…`). Errors are `{\"error\":{\"code\",\"message\",\"fields\"}}`."
    ),
    paths(post_events),
    components(schemas(EventsRequest, Event, EventBatch, Accepted, ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth),
    tags((name = "events", description = "Behavioural events on the timelines of leads and contacts"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                BEARER_SCHEME,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("rpt_… (API token) or rsk_… (site write key)")
                        .description(Some(
                            "A personal API token acts with its owner's role (admins and sales reps may post events; support agents may not) and allows no browser origin. A site write key may only post events, from the origins it lists.",
                        ))
                        .build(),
                ),
            );
    }
}

/// One behavioural event. Say whom it is about with at least one of `lead_id`,
/// `contact_id`, `email` or `visitor_id`.
#[derive(ToSchema)]
struct Event {
    /// A short machine word: lowercase letters, digits and `_ . : -`, at most 80 characters.
    #[schema(example = "page_view", pattern = "^[a-z0-9_.:-]{1,80}$")]
    name: String,
    /// The lead the event is about.
    #[schema(minimum = 1)]
    lead_id: Option<i64>,
    /// The contact the event is about.
    #[schema(minimum = 1)]
    contact_id: Option<i64>,
    /// A lead's or contact's email: an open lead first, then a contact, then a converted lead.
    #[schema(format = Email, example = "ada@example.com")]
    email: Option<String>,
    /// The website script's visitor id: events of a visitor not yet known are kept and
    /// joined to the lead once the visitor is known.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    visitor_id: Option<String>,
    /// Any JSON object, at most 8 KB (scoring rules may filter on its keys).
    #[schema(value_type = Option<Object>, example = json!({"path": "/pricing"}))]
    properties: Option<serde_json::Value>,
    /// When it happened (RFC 3339); now when left out. At most 10 minutes ahead.
    #[schema(format = DateTime, example = "2026-12-04T09:30:00Z")]
    occurred_at: Option<String>,
    /// A site write key, for `navigator.sendBeacon`, which cannot send headers.
    write_key: Option<String>,
}

/// Up to 100 events, stored together or not at all.
#[derive(ToSchema)]
struct EventBatch {
    #[schema(min_items = 1, max_items = 100)]
    events: Vec<Event>,
    /// A site write key, for `navigator.sendBeacon`, which cannot send headers.
    write_key: Option<String>,
}

/// One event, or a batch of them.
#[derive(ToSchema)]
#[serde(untagged)]
enum EventsRequest {
    One(Event),
    Batch(EventBatch),
}

/// The events were stored (each lead they touch is rescored).
#[derive(ToSchema)]
struct Accepted {
    /// How many events were stored.
    accepted: usize,
    /// The stored events' ids, in the order sent.
    ids: Vec<i64>,
}

#[derive(ToSchema)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(ToSchema)]
struct ErrorDetail {
    /// A stable, machine-readable code, e.g. `unauthorized`, `forbidden`, `invalid`.
    #[schema(example = "invalid")]
    code: String,
    /// What went wrong, for a person.
    message: String,
    /// Per-field problems, keyed by the field's path (`events[2].name`, or `name` for a
    /// single event). Present only when there are some.
    fields: Option<BTreeMap<String, String>>,
}

/// Record behavioural events on the timelines of leads and contacts; a lead's score moves
/// in the same request.
#[utoipa::path(
    post,
    path = "/api/v1/events",
    tag = "events",
    request_body(
        content = EventsRequest,
        content_type = "application/json",
        description = "One event, or `{\"events\": [...]}`. At most 256 KB."
    ),
    responses(
        (status = 200, description = "Stored", body = Accepted),
        (status = 400, description = "The body is not a JSON object", body = ErrorBody),
        (status = 401, description = "Missing, unknown, revoked or expired token or key; or its user is deactivated", body = ErrorBody),
        (status = 403, description = "The token's role may not post events, or the browser origin is not allowed", body = ErrorBody),
        (status = 413, description = "The body is larger than 256 KB", body = ErrorBody),
        (status = 422, description = "Some events are not valid (see `fields`); nothing was stored", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
fn post_events() {}

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        ApiDoc::openapi().to_json().unwrap_or_else(|err| {
            tracing::error!(error = %err, "the OpenAPI document does not serialise");
            "{}".to_owned()
        })
    })
}

/// `GET /api/v1/openapi.json`: public, like the API's documentation.
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(document())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn the_document_names_the_events_endpoint_and_the_bearer_scheme() {
        let document: Value = serde_json::from_str(document()).expect("JSON");
        let post = &document["paths"]["/api/v1/events"]["post"];
        assert!(post.is_object(), "{document}");
        for status in ["200", "400", "401", "403", "413", "422"] {
            assert!(post["responses"][status].is_object(), "{status}");
        }
        assert_eq!(
            document["components"]["securitySchemes"][BEARER_SCHEME]["scheme"],
            "bearer"
        );
    }

    #[test]
    fn the_described_event_fields_are_the_accepted_ones() {
        let document: Value = serde_json::from_str(document()).expect("JSON");
        let described: Vec<&str> = document["components"]["schemas"]["Event"]["properties"]
            .as_object()
            .expect("Event properties")
            .keys()
            .map(String::as_str)
            .collect();
        for field in [
            "name",
            "lead_id",
            "contact_id",
            "email",
            "visitor_id",
            "properties",
            "occurred_at",
            "write_key",
        ] {
            assert!(described.contains(&field), "{field} in {described:?}");
        }
        // Every described field is one the parser reads: an event made of all of them is
        // accepted.
        let now = chrono::NaiveDate::from_ymd_opt(2026, 12, 4)
            .and_then(|day| day.and_hms_opt(9, 0, 0))
            .unwrap_or_default();
        let event = serde_json::json!({
            "name": "page_view", "lead_id": 1, "contact_id": 2, "email": "a@example.com",
            "visitor_id": "v-1", "properties": {"path": "/"}, "occurred_at": "2026-12-04T08:00:00Z",
        });
        assert!(crate::leads::tracking::payload::parse(&event, now).is_ok());
    }
}
