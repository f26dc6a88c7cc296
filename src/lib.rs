//! Rapport: a lightweight, multi-user CRM and helpdesk. `Application` builds the whole app;
//! `main.rs` is a thin command line around it, and the tests start the same app.

pub mod api;
pub mod app_settings;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod config;
pub mod contacts;
pub mod db;
pub mod email;
pub mod error;
pub mod home;
pub mod leads;
pub mod pipeline;
pub mod reports;
pub mod search;
pub mod tasks;
pub mod web;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::cookie::Key;
use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web as aw};
use actix_web_flash_messages::FlashMessagesFramework;
use actix_web_flash_messages::storage::CookieMessageStore;
use tracing_actix_web::TracingLogger;

use crate::auth::sessions::Timeouts;
use crate::clock::Clock;
use crate::config::Settings;
use crate::email::Mailer;
use crate::email::transport::Transport;
use crate::email::worker::{Worker, WorkerHandle};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::throttle::Throttles;

/// A built, bound, not yet running Rapport: the web server and the email worker.
pub struct Application {
    port: u16,
    server: Server,
    worker: WorkerHandle,
}

impl Application {
    /// Opens and migrates the database, binds the listener (port 0 picks a free one),
    /// starts the email worker and prepares the server.
    pub fn build(settings: Settings, clock: Arc<dyn Clock>) -> Result<Self, AppError> {
        let pool_size = settings.db_pool_size;
        let pool = db::connect(&settings.database_path, pool_size)?;
        let secret_key = {
            let mut conn = pool.get()?;
            db::migrate(&mut conn)?;
            let now = clock.now();
            let interrupted = contacts::import::jobs::interrupt(&mut conn, now, now)?;
            if interrupted > 0 {
                tracing::warn!(
                    interrupted,
                    "imports stopped by the last shutdown are marked as interrupted"
                );
            }
            app_settings::secret_key(&mut conn, settings.secret_key.as_deref())?
        };

        let listener = TcpListener::bind(settings.bind).map_err(|err| {
            AppError::internal(format!("cannot listen on {}: {err}", settings.bind))
        })?;
        let bound = listener
            .local_addr()
            .map_err(|err| AppError::internal(format!("no local address: {err}")))?;
        let base_url = settings.public_url(bound);

        let transport =
            Transport::from_settings(settings.smtp_url.as_ref(), settings.mail_dir.clone())
                .map_err(AppError::internal)?;
        let worker = Worker {
            pool: pool.clone(),
            clock: Arc::clone(&clock),
            transport,
            from: settings.mail_from.clone(),
            poll_interval: settings.email_poll_interval,
            mailer: Mailer::new(base_url.clone(), &settings.mail_from),
        }
        .spawn()
        .map_err(|err| AppError::internal(format!("cannot start the email worker: {err}")))?;

        let state = aw::Data::new(AppState {
            pool,
            clock,
            mailer: Mailer::new(base_url.clone(), &settings.mail_from),
            session_timeouts: Timeouts {
                idle: settings.session_idle_timeout,
                lifetime: settings.session_lifetime,
            },
            throttles: Throttles::default(),
            https: base_url.scheme() == "https",
            trust_proxy: settings.trust_proxy,
            email_worker: worker.clone(),
            event_writer: Default::default(),
        });
        let cookie_key = Key::derive_from(secret_key.as_bytes());

        let server = HttpServer::new(move || {
            let flash_store = CookieMessageStore::builder(cookie_key.clone()).build();
            App::new()
                .app_data(state.clone())
                .app_data(aw::PayloadConfig::new(1024 * 1024))
                .app_data(
                    aw::FormConfig::default()
                        .limit(64 * 1024)
                        .error_handler(|err, _| {
                            tracing::info!(error = %err, "unreadable form");
                            AppError::BadRequest(
                                "The form could not be read. Go back and try again.".to_owned(),
                            )
                            .into()
                        }),
                )
                .app_data(aw::QueryConfig::default().error_handler(|err, _| {
                    tracing::info!(error = %err, "unreadable query");
                    AppError::BadRequest(
                        "The address has a parameter that could not be read.".to_owned(),
                    )
                    .into()
                }))
                .app_data(aw::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
                .wrap(from_fn(web::csrf::protect))
                .wrap(from_fn(web::session::load_session))
                .wrap(FlashMessagesFramework::builder(flash_store).build())
                .wrap(Compress::default())
                .wrap(from_fn(web::headers::add_security_headers))
                .wrap(TracingLogger::<web::request_span::RequestSpan>::new())
                .configure(web::configure)
                .default_service(aw::to(web::not_found))
        })
        .listen(listener)
        .map_err(|err| AppError::internal(format!("cannot serve: {err}")))?
        .shutdown_timeout(30)
        // Each blocking task holds a pooled connection: more threads than connections would
        // only queue on the pool and cost context switches.
        .worker_max_blocking_threads(blocking_threads_per_worker(pool_size))
        .run();

        tracing::info!(address = %bound, public_url = %base_url, "Rapport is listening");
        Ok(Self {
            port: bound.port(),
            server,
            worker,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or Ctrl-C: in-flight requests finish, then the email worker
    /// stops between two emails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        let worker = self.worker;
        let _ = actix_web::rt::task::spawn_blocking(move || worker.stop()).await;
        result
    }
}

/// The pool's connections shared out among actix's workers (one per core).
fn blocking_threads_per_worker(pool_size: u32) -> usize {
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    (pool_size as usize / workers).max(2)
}
