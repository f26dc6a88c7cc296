//! Leads: people not yet qualified, scored by admin-defined rules, worked from a list
//! sorted by score.

pub mod assignment;
pub mod events;
pub mod model;
pub mod queries;
pub mod routes;
pub mod scoring;
pub mod service;

pub use routes::configure;
