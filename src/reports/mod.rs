//! Reports: where deals get stuck, and what the pipeline will bring in.

pub mod pipeline;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    pipeline::routes::configure(cfg);
}
