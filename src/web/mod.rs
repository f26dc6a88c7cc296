//! Shared web plumbing: application state, middleware, extractors, pages and errors, and
//! the one place where every feature's routes are registered.

pub mod csrf;
pub mod error_pages;
pub mod extract;
pub mod format;
pub mod headers;
pub mod list_params;
pub mod page;
pub mod request_span;
pub mod session;
pub mod static_files;
pub mod throttle;

use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use diesel::RunQueryDsl;

use crate::auth::policy::Administer;
use crate::auth::sessions::Timeouts;
use crate::clock::Clock;
use crate::db::{self, DbPool};
use crate::email::Mailer;
use crate::email::worker::WorkerHandle;
use crate::error::AppError;
use throttle::Throttles;

/// What handlers share. Built once in `Application::build`.
pub struct AppState {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub mailer: Mailer,
    pub session_timeouts: Timeouts,
    pub throttles: Throttles,
    /// Served over HTTPS (from `RAPPORT_BASE_URL`): secure cookies, `__Host-` prefix, HSTS.
    pub https: bool,
    pub trust_proxy: bool,
    pub email_worker: WorkerHandle,
    /// Stores the events API's requests by group commit.
    pub event_writer: Arc<crate::leads::tracking::writer::GroupWriter>,
}

impl AppState {
    pub fn now(&self) -> NaiveDateTime {
        self.clock.now()
    }

    pub fn session_cookie_name(&self) -> &'static str {
        if self.https {
            "__Host-rapport_session"
        } else {
            "rapport_session"
        }
    }
}

/// Every route of the app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/static/{path:.*}", web::get().to(static_files::serve));
    crate::home::configure(cfg);
    crate::auth::configure(cfg);
    crate::contacts::configure(cfg);
    crate::leads::configure(cfg);
    crate::leads::forms::configure(cfg);
    crate::leads::tracking::configure(cfg);
    crate::api::configure(cfg);
    crate::leads::conversion::configure(cfg);
    crate::pipeline::configure(cfg);
    crate::tasks::configure(cfg);
    crate::reports::configure(cfg);
    crate::search::routes::configure(cfg);
    // Everything under /admin is refused before any of its handlers' inputs are read, so a
    // non-admin learns nothing from how a malformed request would have failed.
    cfg.service(
        web::scope("/admin")
            .wrap(from_fn(extract::require::<Administer>))
            .configure(crate::auth::admin::configure)
            .configure(crate::pipeline::admin::configure)
            .configure(crate::leads::scoring::admin::configure)
            .configure(crate::leads::forms::configure_admin)
            .configure(crate::leads::tracking::admin::configure)
            .configure(crate::api::configure_admin)
            .configure(crate::leads::assignment::admin::configure)
            .configure(crate::email::routes::configure)
            .configure(crate::audit::routes::configure),
    );
}

async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let answer = db::run(&state.pool, |conn| {
        diesel::sql_query("SELECT 1").execute(conn)?;
        Ok(())
    })
    .await;
    match answer {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ok"),
        Err(err) => {
            tracing::error!(error = %err, "health check failed");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unavailable")
        }
    }
}

pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
