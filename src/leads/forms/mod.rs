//! Web-to-lead forms: an admin designs a form, pastes the snippet Rapport gives into a
//! website, and every submission becomes (or updates) a lead with a `form_submitted`
//! event, optionally after a double opt-in email.

pub mod model;
pub mod queries;
pub mod routes;
pub mod service;

pub use routes::{configure, configure_admin};
