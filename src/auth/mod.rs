//! Users, roles and everything about proving who one is: passwords, sessions, the second
//! factor, resets and invitations; and the policy that says what each role may do.

pub mod admin;
pub mod model;
pub mod password;
pub mod policy;
pub mod profile;
pub mod queries;
pub mod routes;
pub mod service;
pub mod sessions;
pub mod tokens;
pub mod totp;

/// Sign-in and profile routes; the admin pages are registered under `/admin` by `web`.
pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    routes::configure(cfg);
    profile::configure(cfg);
}
