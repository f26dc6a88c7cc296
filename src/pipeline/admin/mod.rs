//! `/admin/pipelines`: pipelines and their stages, for admins.

pub mod routes;
pub mod service;

pub use routes::configure;
