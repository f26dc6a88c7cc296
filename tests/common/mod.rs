//! The test harness: the real app on a random port with its own database, a real SMTP
//! server on loopback, and a cookie-keeping HTTP client that does not follow redirects.
#![allow(dead_code, unused_imports)]

pub mod smtp;

use std::sync::Arc;
use std::time::Duration;

use rapport::Application;
use rapport::auth::model::{DisplayName, EmailAddress, Role};
use rapport::auth::password::NewPassword;
use rapport::auth::service::{self, NewUser};
use rapport::clock::ManualClock;
use rapport::config::Settings;
use rapport::db::{self, DbPool};
use rapport::email::Mailer;
use reqwest::{Response, StatusCode};
use tempfile::TempDir;

pub use smtp::{SmtpMode, TestSmtp};

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub browser: Browser,
    pub clock: ManualClock,
    pub smtp: TestSmtp,
    pub pool: DbPool,
    pub data_dir: TempDir,
}

/// A user created directly in the database for a test.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i64,
    pub email: String,
    pub password: String,
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app; `adjust` may change its settings first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    init_test_logging();
    let data_dir = tempfile::tempdir().expect("a temporary folder");
    let smtp = TestSmtp::start();
    let mut settings = Settings::from_lookup(|_| None).expect("default settings");
    settings.database_path = data_dir.path().join("rapport.db").display().to_string();
    settings.bind = "127.0.0.1:0".parse().expect("an address");
    settings.smtp_url = Some(smtp.url());
    settings.mail_dir = data_dir.path().join("mail");
    settings.email_poll_interval = Duration::from_millis(50);
    settings.db_pool_size = 4;
    adjust(&mut settings);
    let clock = ManualClock::starting_now();
    let database_path = settings.database_path.clone();
    let app = Application::build(settings, Arc::new(clock.clone())).expect("the app builds");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let pool = db::connect(&database_path, 2).expect("a second pool for assertions");
    let address = format!("http://127.0.0.1:{port}");
    TestApp {
        browser: Browser {
            client: http_client(),
            address: address.clone(),
        },
        address,
        port,
        clock,
        smtp,
        pool,
        data_dir,
    }
}

/// Logs are opt-in (`TEST_LOG=1`) so that test output stays readable.
fn init_test_logging() {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_test_writer()
            .try_init();
    }
}

/// One browser: a cookie jar on the app, with the forms a person would fill in.
#[derive(Clone)]
pub struct Browser {
    pub client: reqwest::Client,
    pub address: String,
}

impl Browser {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_html(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.expect("a body")
    }

    /// The CSRF token the app gives this browser right now (signed in or not).
    pub async fn csrf_token(&self) -> String {
        extract_csrf(&self.get_html("/forgot-password").await)
    }

    /// Posts a form with the browser's CSRF token added, as a real browser would.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf_token().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_form_raw(path, &all).await
    }

    /// Posts a form exactly as given: no token is added.
    pub async fn post_form_raw(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("POST")
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }

    /// Signs `user` in and checks it worked.
    pub async fn login_as(&self, user: &TestUser) {
        let response = self.login(&user.email, &user.password).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "login of {}",
            user.email
        );
        assert_eq!(location(&response), "/");
    }

    pub async fn logout(&self) -> Response {
        self.post_form("/logout", &[]).await
    }
}

impl std::ops::Deref for TestApp {
    type Target = Browser;

    /// The test's main browser.
    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl TestApp {
    /// Another browser: its own cookie jar, the same app.
    pub fn open_browser(&self) -> Browser {
        Browser {
            client: http_client(),
            address: self.address.clone(),
        }
    }

    /// Creates a user with a password, straight through the service layer.
    pub fn create_user(&self, email: &str, role: Role) -> TestUser {
        let new = NewUser {
            email: EmailAddress::parse(email).expect("valid email"),
            display_name: DisplayName::parse(&format!("{} Tester", role.label())).expect("valid"),
            role,
            password: Some(NewPassword::parse(PASSWORD).expect("valid password")),
        };
        let mailer = Mailer::new(
            url::Url::parse(&self.address).expect("url"),
            &rapport::config::default_mail_from(),
        );
        let conn = &mut self.pool.get().expect("a connection");
        let user = service::create_user(
            conn,
            rapport::clock::Clock::now(&self.clock),
            &rapport::audit::Actor::command_line(),
            &mailer,
            &new,
        )
        .expect("user created");
        TestUser {
            id: user.id,
            email: user.email,
            password: PASSWORD.to_owned(),
        }
    }

    pub fn admin(&self) -> TestUser {
        self.create_user("admin@example.com", Role::Admin)
    }

    pub fn conn(&self) -> db::PooledConn {
        self.pool.get().expect("a connection")
    }

    /// Waits (up to 10 s) until `check` holds, polling every 25 ms.
    pub async fn eventually(&self, what: &str, mut check: impl FnMut() -> bool) {
        for _ in 0..400 {
            if check() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting until {what}");
    }
}

pub fn extract_csrf(page: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).expect("the page has a CSRF token") + marker.len();
    let end = page[start..].find('"').expect("the token ends") + start;
    page[start..end].to_owned()
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The value of a cookie the response sets, if it sets it.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookie| {
            let (pair, _) = cookie.split_once(';').unwrap_or((cookie, ""));
            let (key, value) = pair.split_once('=')?;
            (key.trim() == name).then(|| value.trim().to_owned())
        })
}

/// The first link in an email body that starts with `prefix`.
pub fn link_in(body: &str, prefix: &str) -> String {
    let start = body.find(prefix).expect("the email has the link");
    body[start..]
        .split_whitespace()
        .next()
        .expect("a link")
        .to_owned()
}
