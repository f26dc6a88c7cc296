//! Leads: people not yet qualified, scored by admin-defined rules, worked from a list
//! sorted by score.

pub mod assignment;
pub mod conversion;
pub mod events;
pub mod forms;
pub mod model;
pub mod queries;
pub mod routes;
pub mod scoring;
pub mod seed;
pub mod service;
pub mod tracking;

pub use routes::configure;
