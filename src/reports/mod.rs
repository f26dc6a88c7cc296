//! Reports: where deals get stuck, and what the pipeline will bring in.

pub fn configure(_cfg: &mut actix_web::web::ServiceConfig) {}
