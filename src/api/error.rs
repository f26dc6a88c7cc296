//! The JSON API's one error type, with the shape DESIGN.md fixes:
//! `{"error":{"code","message","fields"}}` (`fields` only when there are some).

use std::collections::BTreeMap;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use serde_json::{Value, json};

use crate::error::AppError;

/// Per-field problems, keyed by the field's path in the request (`events[2].name`).
pub type Fields = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    fields: Fields,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: Fields::new(),
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Send a valid, unrevoked and unexpired token: Authorization: Bearer <token>.",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is no such record.",
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// A 422 naming each field that was refused.
    pub fn invalid(message: impl Into<String>, fields: Fields) -> Self {
        Self {
            fields,
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
        }
    }

    pub fn too_large(max_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "The body is larger than {} KB; send less per request.",
                max_bytes / 1024
            ),
        )
    }

    /// Logs the cause; the caller learns only that nothing was done.
    pub fn internal(err: &AppError) -> Self {
        tracing::error!(error = %err, "API request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side; nothing was stored. Try again.",
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    pub fn body(&self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if !self.fields.is_empty() {
            error["fields"] = json!(self.fields);
        }
        json!({ "error": error })
    }

    /// The response, built on `response` so a caller can add headers (CORS) first.
    pub fn respond(&self, mut response: HttpResponseBuilder) -> HttpResponse {
        response.json(self.body())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        self.respond(HttpResponse::build(self.status))
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::NotFound => Self::not_found(),
            AppError::Forbidden => Self::forbidden("Your role does not allow this."),
            AppError::BadRequest(message) => Self::bad_request(message),
            AppError::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            AppError::TooManyRequests => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "Too many requests; wait a little and try again.",
            ),
            AppError::Invalid(_) => Self::invalid("Some fields are not valid.", Fields::new()),
            other => Self::internal(&other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_appear_only_when_there_are_some() {
        let plain = ApiError::unauthorized().body();
        assert_eq!(plain["error"]["code"], "unauthorized");
        assert!(plain["error"].get("fields").is_none());

        let mut fields = Fields::new();
        fields.insert("events[0].name".into(), "Name the event.".into());
        let invalid = ApiError::invalid("Not valid.", fields).body();
        assert_eq!(invalid["error"]["code"], "invalid");
        assert_eq!(
            invalid["error"]["fields"]["events[0].name"],
            "Name the event."
        );
    }

    #[test]
    fn service_errors_keep_their_meaning() {
        assert_eq!(
            ApiError::from(AppError::NotFound).status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(ApiError::from(AppError::Forbidden).code(), "forbidden");
    }
}
