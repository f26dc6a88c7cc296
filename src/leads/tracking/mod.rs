//! Website behaviour: site write keys (`/admin/sites`), the first-party script websites
//! embed (`/t.js`) and the events endpoint (`POST /api/v1/events`) that puts page views and
//! other events on the lead's timeline and moves its score in the same request.

pub mod admin;
pub mod api;
pub mod keys;
pub mod payload;
pub mod writer;

use actix_web::http::Method;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, web};

/// The script, embedded in the binary like every static file.
const SCRIPT: &str = include_str!("../../../static/js/t.js");
/// Browsers re-check the script every few minutes, so a new version reaches sites soon.
const SCRIPT_CACHE: &str = "public, max-age=300";

/// The public routes: the script and the events endpoint.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/t.js", web::get().to(script))
        .route("/api/v1/events", web::post().to(api::ingest))
        .route(
            "/api/v1/events",
            web::method(Method::OPTIONS).to(api::preflight),
        );
}

async fn script(req: HttpRequest) -> HttpResponse {
    let etag = format!("\"{:016x}\"", fingerprint(SCRIPT));
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|value| value.as_bytes() == etag.as_bytes());
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, SCRIPT_CACHE))
        // Other sites load this script: let them.
        .insert_header(("cross-origin-resource-policy", "cross-origin"));
    if unchanged {
        return response.finish();
    }
    response
        .insert_header(ContentType(mime_guess::mime::APPLICATION_JAVASCRIPT_UTF_8))
        .body(SCRIPT)
}

/// FNV-1a: a stable tag for the script's content (not a security measure).
fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
