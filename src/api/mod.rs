//! The JSON API (`/api/v1`): its error type, personal API tokens and the pages that manage
//! them, and the OpenAPI document. The events endpoint lives with website tracking
//! (`leads::tracking::api`) and authenticates through `tokens` too.

pub mod error;
pub mod openapi;
pub mod pages;
pub mod tokens;

use actix_web::web;

/// `/account/api-tokens` and the OpenAPI document.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/openapi.json", web::get().to(openapi::serve));
    pages::configure(cfg);
}

/// `/admin/api-tokens`; mounted under `/admin`.
pub fn configure_admin(cfg: &mut web::ServiceConfig) {
    pages::configure_admin(cfg);
}
