//! The people and organisations a team works with, and the timeline where every interaction
//! with them lands.

pub mod company;
pub mod contact;
pub mod tags;
pub mod timeline;

pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    timeline::routes::configure(cfg);
    company::configure(cfg);
    contact::configure(cfg);
}
