//! User journeys in a real headless Chromium, driven through chromedriver (WebDriver).
//!
//! Needs Debian's `chromium` and `chromium-driver` (or `CHROMEDRIVER=/path`). Where they are
//! missing the journeys are skipped with a note, except under CI (`CI=true`), where a missing
//! browser is an error.

#[path = "../common/mod.rs"]
mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use rapport::auth::model::Role;

/// A chromedriver process on a free port, killed when dropped.
struct Driver {
    process: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn chromedriver_path() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("CHROMEDRIVER") {
        return Some(PathBuf::from(path));
    }
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

async fn start_driver() -> Option<Driver> {
    let Some(path) = chromedriver_path() else {
        assert!(
            std::env::var("CI").is_err(),
            "chromedriver is missing: install chromium and chromium-driver"
        );
        eprintln!("skipping browser journey: chromedriver not found");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let process = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver { process, port };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(driver);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("chromedriver did not start listening");
}

async fn open_browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    let mut options = serde_json::json!({
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--window-size=1280,900"
        ]
    });
    if let Ok(binary) = std::env::var("CHROMIUM") {
        options["binary"] = serde_json::Value::String(binary);
    }
    capabilities.insert("goog:chromeOptions".to_owned(), options);
    ClientBuilder::native()
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a browser session")
}

/// Waits (up to 10 s) for the page that a click led to, recognised by `css`.
async fn wait_for(browser: &Client, css: &str) {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|err| panic!("{css} never appeared: {err}"));
}

async fn body_text(browser: &Client) -> String {
    browser
        .find(Locator::Css("body"))
        .await
        .expect("a body")
        .text()
        .await
        .expect("its text")
}

#[tokio::test]
async fn a_user_signs_in_sees_the_home_page_and_signs_out_in_a_real_browser() {
    let Some(driver) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    let rep = app.create_user("rep@example.com", Role::Sales);
    let browser = open_browser(&driver).await;

    browser.goto(&app.url("/")).await.expect("open the app");
    let url = browser.current_url().await.expect("a url");
    assert_eq!(
        url.path(),
        "/login",
        "anonymous visitors are sent to sign in"
    );

    browser
        .find(Locator::Css("input[name=email]"))
        .await
        .expect("email field")
        .send_keys(&rep.email)
        .await
        .expect("typed");
    browser
        .find(Locator::Css("input[name=password]"))
        .await
        .expect("password field")
        .send_keys(&rep.password)
        .await
        .expect("typed");
    browser
        .find(Locator::Css("form[action='/login'] button[type=submit]"))
        .await
        .expect("sign-in button")
        .click()
        .await
        .expect("clicked");
    wait_for(&browser, "a.userchip").await;

    let url = browser.current_url().await.expect("a url");
    assert_eq!(url.path(), "/");
    let text = body_text(&browser).await;
    assert!(
        text.contains("Sales Tester"),
        "the navigation shows the user's name: {text}"
    );
    assert!(
        text.contains("Your profile"),
        "the home page links to the profile"
    );
    assert!(
        !text.contains("Audit log"),
        "a sales rep is not offered admin pages"
    );

    browser
        .find(Locator::Css("form[action='/logout'] button"))
        .await
        .expect("sign-out button")
        .click()
        .await
        .expect("clicked");
    wait_for(&browser, "form[action='/login']").await;
    let url = browser.current_url().await.expect("a url");
    assert_eq!(url.path(), "/login");
    assert!(body_text(&browser).await.contains("You have signed out."));

    browser.goto(&app.url("/")).await.expect("open home again");
    let url = browser.current_url().await.expect("a url");
    assert_eq!(url.path(), "/login", "the session really ended");

    browser.close().await.expect("browser closes");
}
