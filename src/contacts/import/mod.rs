//! CSV import of contacts, companies and leads: one code path for the web pages and the
//! `rapport import` command. `file` reads the CSV, `mapping` maps its columns to fields,
//! `rows` validates each row with the contact, company and lead forms' rules, `service`
//! writes the good rows (contacts and companies through their services; leads with source
//! "import", scored and offered to the assignment rotation), `jobs` keeps uploads and
//! progress, `routes` are the pages.

pub mod cli;
pub mod file;
pub mod jobs;
pub mod mapping;
pub mod routes;
pub mod rows;
pub mod service;

pub use routes::configure;
