//! What every page's template gets from the layout: title, navigation, the signed-in user,
//! flash messages and the CSRF token for its forms; and the one way a template becomes a
//! response.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web_flash_messages::{IncomingFlashMessages, Level};
use askama::Template;

use crate::auth::model::User;
use crate::auth::policy::Permission;
use crate::error::AppError;

#[derive(Debug, Clone)]
pub struct Flash {
    pub level: &'static str,
    pub text: String,
}

impl Flash {
    pub fn from_incoming(messages: &IncomingFlashMessages) -> Vec<Flash> {
        messages
            .iter()
            .map(|message| Flash {
                level: match message.level() {
                    Level::Error => "error",
                    Level::Warning => "warning",
                    Level::Success => "success",
                    _ => "info",
                },
                text: message.content().to_owned(),
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct NavLink {
    pub label: &'static str,
    pub href: &'static str,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct NavUser {
    pub name: String,
    pub initials: String,
    pub role: &'static str,
}

/// The frame of a page, shared by the base layout.
#[derive(Debug, Clone)]
pub struct Page {
    pub title: String,
    pub user: Option<NavUser>,
    pub nav: Vec<NavLink>,
    pub csrf_token: String,
    pub flashes: Vec<Flash>,
    /// The signed-in user's open tasks past their due time: the badge next to "Tasks".
    pub overdue_tasks: i64,
}

impl Page {
    pub fn new(
        title: impl Into<String>,
        user: Option<&User>,
        path: &str,
        csrf_token: String,
        flashes: Vec<Flash>,
    ) -> Self {
        Self {
            title: title.into(),
            nav: user.map(|user| navigation(user, path)).unwrap_or_default(),
            user: user.map(|user| NavUser {
                name: user.display_name.clone(),
                initials: user.initials(),
                role: user.role.label(),
            }),
            csrf_token,
            flashes,
            overdue_tasks: 0,
        }
    }
}

/// The sections a user's role may use, in the order the navigation bar shows them.
fn navigation(user: &User, path: &str) -> Vec<NavLink> {
    // (label, link, the path prefix that marks the section as the current one)
    let mut links = vec![("Home", "/", None)];
    if user.role.can(Permission::ViewCustomers) {
        links.push(("Leads", "/leads", Some("/leads")));
        links.push(("Contacts", "/contacts", Some("/contacts")));
        links.push(("Companies", "/companies", Some("/companies")));
        links.push(("Pipeline", "/pipeline", Some("/pipeline")));
        links.push(("Deals", "/deals", Some("/deals")));
    }
    links.push(("Tasks", "/tasks", Some("/tasks")));
    if user.role.can(Permission::ViewDealValues) {
        links.push(("Reports", "/reports/pipeline", Some("/reports/")));
    }
    if user.role.can(Permission::Administer) {
        links.push(("Admin", "/admin/users", Some("/admin/")));
    }
    links
        .into_iter()
        .map(|(label, href, section)| NavLink {
            label,
            href,
            active: match section {
                Some(prefix) => path.starts_with(prefix),
                None => path == href,
            },
        })
        .collect()
}

pub fn render(template: &impl Template) -> Result<HttpResponse, AppError> {
    render_with_status(StatusCode::OK, template)
}

pub fn render_with_status(
    status: StatusCode,
    template: &impl Template,
) -> Result<HttpResponse, AppError> {
    let body = template
        .render()
        .map_err(|err| AppError::internal(format!("template failed: {err}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// A 303 to `location`, the answer to a successful form post.
pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location))
        .finish()
}

/// Only local paths are followed after sign-in, so a link cannot send users elsewhere.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(char::is_control) =>
        {
            path
        }
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/admin/users?x=1")), "/admin/users?x=1");
        for hostile in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "evil",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/");
        }
        assert_eq!(safe_next(None), "/");
    }
}
