//! People: contacts, their emails, phones and tags, the list, and the contact page.

pub mod model;
pub mod queries;
pub mod routes;
pub mod service;

pub use routes::configure;
