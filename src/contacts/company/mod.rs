//! Companies: the organisations a team works with. Model and validation, queries (the
//! keyset-paged list), the service (every change with its audit, timeline and search
//! update in one transaction) and the pages.

pub mod model;
pub mod queries;
pub mod routes;
pub mod service;

pub use routes::configure;
