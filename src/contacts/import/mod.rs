//! CSV import of contacts and companies: one code path for the web pages and the
//! `rapport import` command. `file` reads the CSV, `mapping` maps its columns to fields,
//! `rows` validates each row with the contact and company forms' rules, `service` writes
//! the good rows through the contact and company services, `jobs` keeps uploads and
//! progress, `routes` are the pages.

pub mod cli;
pub mod file;
pub mod jobs;
pub mod mapping;
pub mod routes;
pub mod rows;
pub mod service;

pub use routes::configure;
