//! The one place where an `AppError` becomes what the user sees. Pages say what happened in
//! plain words and never show internal causes; those go to the log.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use super::page::{Page, redirect};
use crate::error::AppError;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Page,
    status: u16,
    heading: &'static str,
    message: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden | AppError::CsrfRejected => StatusCode::FORBIDDEN,
            AppError::LoginRequired { .. }
            | AppError::SecondFactorPending
            | AppError::EnrolmentRequired => StatusCode::SEE_OTHER,
            AppError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Database(_) | AppError::Pool(_) | AppError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (heading, message) = match self {
            AppError::LoginRequired { next } => {
                let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                return redirect(&format!("/login?next={next}"));
            }
            AppError::SecondFactorPending => return redirect("/login/second-factor"),
            AppError::EnrolmentRequired => return redirect("/profile/two-factor"),
            AppError::NotFound => ("Page not found", "We could not find that page. It may have been moved or deleted, or the link may have expired.".to_owned()),
            AppError::Forbidden => ("Access denied", "Your account does not have access to this page.".to_owned()),
            AppError::CsrfRejected => ("Request refused", "This form has expired or was sent from another site. Go back, reload the page and try again.".to_owned()),
            AppError::TooManyRequests => ("Too many attempts", "Too many attempts in a short time. Wait a minute, then try again.".to_owned()),
            AppError::Invalid(errors) => {
                let problems = errors.messages().collect::<Vec<_>>().join(" ");
                ("Check your input", format!("Some of what was sent is not valid. {problems} Go back and check the form."))
            }
            AppError::BadRequest(message) => ("That did not work", message.clone()),
            AppError::Conflict(message) => ("Changed by someone else", message.clone()),
            AppError::Database(_) | AppError::Pool(_) | AppError::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                ("Something went wrong", "Something went wrong on our side. It has been logged; please try again in a moment.".to_owned())
            }
        };
        let status = self.status_code();
        let page = ErrorPage {
            page: Page::new(heading, None, "", String::new(), Vec::new()),
            status: status.as_u16(),
            heading,
            message,
        };
        match page.render() {
            Ok(body) => HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(body),
            Err(_) => HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(heading),
        }
    }
}
