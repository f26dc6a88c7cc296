//! Sales pipelines: pipelines and their stages (admin), deals, the board, and each deal's
//! journey through the stages.

pub mod money;
pub mod panel;

pub fn configure(_cfg: &mut actix_web::web::ServiceConfig) {}
