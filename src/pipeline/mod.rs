//! Sales pipelines: pipelines and their stages (admin), deals, the board, and each deal's
//! journey through the stages.

pub mod admin;
pub mod board;
pub mod deal;
pub mod history;
pub mod model;
pub mod money;
pub mod panel;
pub mod rules;
pub mod seed;
pub mod view;

pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    board::configure(cfg);
    deal::configure(cfg);
}
