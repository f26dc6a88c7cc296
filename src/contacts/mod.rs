//! The people and organisations a team works with, and the timeline where every interaction
//! with them lands.

pub mod company;
pub mod contact;
pub mod export;
pub mod import;
pub mod list;
pub mod merge;
pub mod seed;
pub mod tags;
pub mod timeline;
pub mod views;

pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    timeline::routes::configure(cfg);
    // Before the record routes: "/contacts/export.csv" is not "/contacts/{id}".
    export::configure(cfg);
    import::configure(cfg);
    merge::configure(cfg);
    company::configure(cfg);
    contact::configure(cfg);
    views::configure(cfg);
}
