//! Deals: model and validation, queries, the service (every change with its journey row,
//! audit entry and timeline entries in one transaction), the pages and the list view.

pub mod list;
pub mod model;
pub mod queries;
pub mod routes;
pub mod service;

pub use routes::configure;
