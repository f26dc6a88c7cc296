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

/// The visible text of the page, read in one step (no element can go stale in between).
async fn body_text(browser: &Client) -> String {
    let text = browser
        .execute(
            "return document.body ? document.body.innerText : '';",
            Vec::new(),
        )
        .await
        .expect("the page's text");
    text.as_str().unwrap_or_default().to_owned()
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

/// Types `text` into the field matching `css`.
async fn fill(browser: &Client, css: &str, text: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|err| panic!("no field {css}: {err}"))
        .send_keys(text)
        .await
        .expect("typed");
}

async fn click(browser: &Client, css: &str) {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|err| panic!("nothing to click at {css}: {err}"))
        .click()
        .await
        .expect("clicked");
}

/// Waits (up to 10 s) until the page's text contains `text`.
async fn wait_for_text(browser: &Client, text: &str) {
    for _ in 0..200 {
        if body_text(browser).await.contains(text) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the page never showed {text:?}: {}",
        body_text(browser).await
    );
}

/// Waits (up to 10 s) until the browser's path satisfies `wanted` and returns it: text alone
/// cannot tell two pages apart when both show it.
async fn wait_for_path_where(
    browser: &Client,
    what: &str,
    wanted: impl Fn(&str) -> bool,
) -> String {
    let mut now = String::new();
    for _ in 0..200 {
        if let Ok(url) = browser.current_url().await {
            now = url.path().to_owned();
            if wanted(&now) {
                return now;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the browser never reached {what}; it is on {now:?}");
}

async fn wait_for_path(browser: &Client, path: &str) {
    wait_for_path_where(browser, path, |now| now == path).await;
}

/// Waits for the record page a create form redirects to, e.g. `/contacts/7` after
/// `/contacts/new`, and returns its path.
async fn wait_for_record_page(browser: &Client, prefix: &str) -> String {
    wait_for_path_where(browser, &format!("{prefix}<id>"), |now| {
        now.strip_prefix(prefix)
            .is_some_and(|id| id.parse::<i64>().is_ok())
    })
    .await
}

async fn sign_in(browser: &Client, app: &TestApp, user: &TestUser) {
    browser.goto(&app.url("/login")).await.expect("open login");
    fill(browser, "input[name=email]", &user.email).await;
    fill(browser, "input[name=password]", &user.password).await;
    click(browser, "form[action='/login'] button[type=submit]").await;
    wait_for(browser, "a.userchip").await;
}

#[tokio::test]
async fn a_rep_creates_a_company_and_a_contact_adds_a_note_finds_the_contact_and_exports_the_list()
{
    let Some(driver) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    let rep = app.create_user("rep@example.com", Role::Sales);
    let browser = open_browser(&driver).await;
    sign_in(&browser, &app, &rep).await;

    browser
        .goto(&app.url("/companies/new"))
        .await
        .expect("open the company form");
    fill(&browser, "input[name=name]", "Acme Widgets").await;
    fill(
        &browser,
        "input[name=domain]",
        "https://www.acme.example/about",
    )
    .await;
    click(&browser, "form button[type=submit].primary").await;
    wait_for_record_page(&browser, "/companies/").await;
    wait_for_text(&browser, "acme.example").await;

    browser
        .goto(&app.url("/contacts/new"))
        .await
        .expect("open the contact form");
    fill(&browser, "input[name=first_name]", "Zoë").await;
    fill(&browser, "input[name=last_name]", "Lovelace").await;
    fill(&browser, "textarea[name=emails]", "zoe@acme.example").await;
    browser
        .find(Locator::XPath(
            "//select[@name='company_id']/option[contains(., 'Acme Widgets')]",
        ))
        .await
        .expect("the new company is offered")
        .click()
        .await
        .expect("chosen");
    click(&browser, "form.contact-form button[type=submit].primary").await;
    let contact_path = wait_for_record_page(&browser, "/contacts/").await;
    wait_for_text(&browser, "zoe@acme.example").await;

    fill(
        &browser,
        "textarea#note-body",
        "Called about the renewal, very keen.",
    )
    .await;
    click(&browser, "form.note-form button[type=submit]").await;
    wait_for_text(&browser, "Called about the renewal, very keen.").await;
    assert_eq!(
        browser.current_url().await.expect("a url").path(),
        contact_path,
        "the note was added in place"
    );

    fill(&browser, "form.navsearch input[name=q]", "lovel").await;
    browser
        .find(Locator::Css("form.navsearch input[name=q]"))
        .await
        .expect("the search box")
        .send_keys("\u{E007}")
        .await
        .expect("enter pressed");
    wait_for_path(&browser, "/search").await;
    wait_for_text(&browser, "Zoë Lovelace").await;
    browser
        .find(Locator::LinkText("Zoë Lovelace"))
        .await
        .expect("a link to the contact")
        .click()
        .await
        .expect("clicked");
    wait_for_path(&browser, &contact_path).await;
    wait_for_text(&browser, "Called about the renewal, very keen.").await;

    // Export the list: the link carries the list's filters; the browser would download the
    // file, so fetch it with the browser's own session cookie and read it.
    browser
        .goto(&app.url("/contacts?q=lovelace"))
        .await
        .expect("open the filtered list");
    let export = browser
        .find(Locator::LinkText("Export CSV"))
        .await
        .expect("an export link")
        .attr("href")
        .await
        .expect("its address")
        .expect("an href");
    assert!(
        export.contains("q=lovelace"),
        "the export keeps the filter: {export}"
    );
    let session = browser
        .get_named_cookie("rapport_session")
        .await
        .expect("the session cookie");
    let csv = reqwest::Client::new()
        .get(app.url(&export))
        .header(
            reqwest::header::COOKIE,
            format!("rapport_session={}", session.value()),
        )
        .send()
        .await
        .expect("the export downloads");
    assert_eq!(csv.status(), reqwest::StatusCode::OK);
    let csv = csv.text().await.expect("a CSV body");
    assert!(csv.lines().count() == 2, "a header and Zoë: {csv}");
    assert!(
        csv.contains("Lovelace") && csv.contains("zoe@acme.example"),
        "{csv}"
    );

    browser.close().await.expect("browser closes");
}

#[tokio::test]
async fn a_rep_drags_a_deal_card_to_another_column_and_it_stays_there_after_a_reload() {
    use diesel::prelude::*;
    use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
    use rapport::db::schema::{deals, pipeline_stages};

    let Some(driver) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    let rep = app.create_user("rep@example.com", Role::Sales);
    let stage_named = |name: &str| -> i64 {
        pipeline_stages::table
            .filter(pipeline_stages::pipeline_id.eq(1))
            .filter(pipeline_stages::name.eq(name))
            .select(pipeline_stages::id)
            .first(&mut app.conn())
            .expect("a default stage")
    };
    let (qualified, demo) = (stage_named("Qualified"), stage_named("Demo scheduled"));
    let user = rapport::auth::queries::find(&mut app.conn(), rep.id)
        .expect("query")
        .expect("the rep");
    let input = rapport::pipeline::deal::model::DealInput {
        title: "Globex expansion".to_owned(),
        value_minor: 2_500_000,
        currency: "EUR".to_owned(),
        expected_close_on: None,
        owner_id: rep.id,
        company_id: None,
        contact_ids: Vec::new(),
        pipeline_id: 1,
        stage_id: qualified,
        source: None,
    };
    let id = rapport::pipeline::deal::service::create(
        &mut app.conn(),
        rapport::clock::Clock::now(&app.clock),
        &rapport::audit::Actor::user(&user, "127.0.0.1"),
        &input,
    )
    .expect("a deal");
    let card_css = format!("#deal-card-{id}");
    let in_column = |stage: i64| format!("[data-drop-stage='{stage}'] {card_css}");

    let browser = open_browser(&driver).await;
    sign_in(&browser, &app, &rep).await;
    browser
        .goto(&app.url("/pipeline"))
        .await
        .expect("open the board");
    wait_for(&browser, &in_column(qualified)).await;

    // A real drag: press on the card, move in steps to the Demo column, release.
    let card = browser
        .find(Locator::Css(&card_css))
        .await
        .expect("the card");
    let target = browser
        .find(Locator::Css(&format!("[data-drop-stage='{demo}']")))
        .await
        .expect("the Demo column");
    let drag = MouseActions::new("mouse".to_owned())
        .then(PointerAction::MoveToElement {
            element: card,
            duration: None,
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveBy {
            duration: None,
            x: 12.0,
            y: 4.0,
        })
        .then(PointerAction::MoveToElement {
            element: target,
            duration: Some(Duration::from_millis(300)),
            x: 0.0,
            y: 0.0,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    browser.perform_actions(drag).await.expect("the drag");
    browser.release_actions().await.expect("released");

    app.eventually("the move is saved", || {
        deals::table
            .find(id)
            .select(deals::stage_id)
            .first::<i64>(&mut app.conn())
            .is_ok_and(|stage| stage == demo)
    })
    .await;
    wait_for(&browser, &in_column(demo)).await;

    browser.refresh().await.expect("reload");
    wait_for(&browser, &in_column(demo)).await;
    assert!(
        browser
            .find(Locator::Css(&in_column(qualified)))
            .await
            .is_err(),
        "the card left its old column"
    );
    let header = browser
        .find(Locator::Css(&format!("#column-head-{demo} .board-count")))
        .await
        .expect("the Demo column's count")
        .text()
        .await
        .expect("its text");
    assert_eq!(header, "1");

    browser.close().await.expect("browser closes");
}

/// A stand-in for a customer's website on its own origin: every request to `listener` gets
/// `html`.
fn serve_website(listener: TcpListener, html: String) {
    use std::io::{BufRead, BufReader, Write};
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|read| read > 2) {
                line.clear();
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
                html.len()
            );
            let _ = (&stream).write_all(response.as_bytes());
        }
    });
}

/// The value of a form field or the text of an element, read by script.
async fn text_of(browser: &Client, css: &str) -> String {
    let value = browser
        .execute(
            "const el = document.querySelector(arguments[0]); return el ? (el.value ?? el.textContent) : '';",
            vec![serde_json::Value::String(css.to_owned())],
        )
        .await
        .expect("read by script");
    value.as_str().unwrap_or_default().trim().to_owned()
}

/// Ticks a checkbox, whatever its state was.
async fn check(browser: &Client, css: &str) {
    browser
        .execute(
            "document.querySelector(arguments[0]).checked = true;",
            vec![serde_json::Value::String(css.to_owned())],
        )
        .await
        .unwrap_or_else(|err| panic!("could not tick {css}: {err}"));
}

async fn choose(browser: &Client, css: &str, value: &str) {
    browser
        .execute(
            "const el = document.querySelector(arguments[0]); el.value = arguments[1];",
            vec![
                serde_json::Value::String(css.to_owned()),
                serde_json::Value::String(value.to_owned()),
            ],
        )
        .await
        .unwrap_or_else(|err| panic!("could not choose {value} in {css}: {err}"));
}

#[tokio::test]
async fn an_admin_scores_pricing_visits_a_visitor_fills_in_the_form_and_the_rep_converts_the_hot_lead()
 {
    use diesel::prelude::*;
    use rapport::db::schema::{deals, lead_events, leads};

    let Some(driver) = start_driver().await else {
        return;
    };
    let app = spawn_app().await;
    let admin = app.create_user("admin@example.com", Role::Admin);
    let rep = app.create_user("rep@example.com", Role::Sales);
    let browser = open_browser(&driver).await;
    sign_in(&browser, &app, &admin).await;

    // The admin adds a rule: a visit to the pricing pages is worth 60 points (hot).
    browser
        .goto(&app.url("/admin/scoring"))
        .await
        .expect("open scoring");
    fill(&browser, "#beh-event", "page_view").await;
    fill(&browser, "#beh-key", "path").await;
    choose(&browser, "#beh-operator", "starts_with").await;
    fill(&browser, "#beh-value", "/pricing").await;
    fill(&browser, "#beh-points", "60").await;
    click(
        &browser,
        "form:has(#beh-event) button[name=intent][value=save]",
    )
    .await;
    wait_for_text(&browser, "page_view where path starts with /pricing").await;

    // New leads go round-robin to the rep.
    browser
        .goto(&app.url("/admin/assignment"))
        .await
        .expect("open assignment");
    check(
        &browser,
        "form[action='/admin/assignment'] input[name=enabled]",
    )
    .await;
    check(
        &browser,
        &format!(
            "form[action='/admin/assignment'] input[name=reps][value='{}']",
            rep.id
        ),
    )
    .await;
    click(
        &browser,
        "form[action='/admin/assignment'] button[type=submit]",
    )
    .await;
    wait_for(&browser, ".flash").await;

    // A site key for the website, and a lead form to paste into it.
    let website_listener = TcpListener::bind("127.0.0.1:0").expect("a port for the website");
    let website_port = website_listener.local_addr().expect("its address").port();
    let website = format!("http://localhost:{website_port}");
    browser
        .goto(&app.url("/admin/sites"))
        .await
        .expect("open sites");
    fill(&browser, "input[name=name]", "Marketing site").await;
    fill(&browser, "textarea[name=origins]", &website).await;
    click(&browser, "form[action='/admin/sites'] button[type=submit]").await;
    wait_for(&browser, ".site-key-snippet").await;
    let script_snippet = text_of(&browser, ".site-key-snippet code").await;
    assert!(script_snippet.contains("/t.js"), "{script_snippet}");

    browser
        .goto(&app.url("/admin/forms/new"))
        .await
        .expect("open the new form page");
    fill(&browser, "input[name=name]", "Pricing page").await;
    for field in ["first_name", "last_name"] {
        check(&browser, &format!("input[name=fields][value={field}]")).await;
    }
    click(&browser, "button.primary[type=submit]").await;
    wait_for(&browser, "#snippet").await;
    let form_snippet = text_of(&browser, "#snippet").await;
    assert!(form_snippet.contains("/f/"), "{form_snippet}");

    // The visitor reads the pricing page of the website, then fills in the form there.
    let page = format!(
        "<!doctype html><html><head><title>Pricing</title></head><body><h1>Pricing</h1>{form_snippet}{script_snippet}</body></html>"
    );
    serve_website(website_listener, page);
    browser
        .goto(&format!("{website}/pricing"))
        .await
        .expect("open the website");
    app.eventually("the anonymous page view arrives", || {
        lead_events::table
            .filter(lead_events::name.eq("page_view"))
            .count()
            .get_result::<i64>(&mut app.conn())
            .is_ok_and(|count| count == 1)
    })
    .await;
    wait_for_path(&browser, "/pricing").await;
    fill(&browser, "input[name=first_name]", "Grace").await;
    fill(&browser, "input[name=last_name]", "Hopper").await;
    fill(&browser, "input[name=email]", "grace@navy.example").await;
    click(
        &browser,
        "form button[type=submit], form input[type=submit]",
    )
    .await;
    wait_for_text(&browser, "Thank you!").await;

    // The rep sees the lead hot at the top of the list, with the visit in its breakdown.
    browser.goto(&app.url("/")).await.expect("back to Rapport");
    click(&browser, "form[action='/logout'] button").await;
    wait_for_path(&browser, "/login").await;
    sign_in(&browser, &app, &rep).await;
    browser.goto(&app.url("/leads")).await.expect("open leads");
    wait_for(&browser, "table tbody tr").await;
    let first_row = text_of(&browser, "table tbody tr:first-child").await;
    assert!(first_row.contains("Grace Hopper"), "{first_row}");
    assert!(first_row.contains("hot"), "{first_row}");
    click(&browser, "table tbody tr:first-child a[href^='/leads/']").await;
    let lead_page = wait_for_record_page(&browser, "/leads/").await;
    wait_for_text(&browser, "page_view path starts with /pricing").await;
    wait_for_text(&browser, "Assigned to").await;

    // …and converts it into a contact with a deal.
    click(&browser, &format!("a[href='{lead_page}/convert']")).await;
    wait_for(&browser, "input[name=create_deal]").await;
    check(&browser, "input[name=create_deal]").await;
    browser
        .find(Locator::Css("input[name=deal_title]"))
        .await
        .expect("the deal's title")
        .clear()
        .await
        .expect("cleared");
    fill(&browser, "input[name=deal_title]", "Hopper: team plan").await;
    fill(&browser, "input[name=deal_value]", "4800").await;
    let first_stage = browser
        .execute(
            "return document.querySelector('#stage optgroup option').value;",
            Vec::new(),
        )
        .await
        .expect("a stage");
    let first_stage = first_stage.as_str().unwrap_or_default().to_owned();
    choose(&browser, "#pipeline", "1").await;
    choose(&browser, "#stage", &first_stage).await;
    click(&browser, "form[action$='/convert'] button[type=submit]").await;
    wait_for_record_page(&browser, "/contacts/").await;
    wait_for_text(&browser, "Grace Hopper").await;

    let lead_id: i64 = lead_page
        .trim_start_matches("/leads/")
        .parse()
        .expect("a lead id");
    let (status, deal_id) = leads::table
        .find(lead_id)
        .select((leads::status, leads::converted_deal_id))
        .first::<(String, Option<i64>)>(&mut app.conn())
        .expect("the lead");
    assert_eq!(status, "converted");
    let title = deals::table
        .find(deal_id.expect("a deal"))
        .select(deals::title)
        .first::<String>(&mut app.conn())
        .expect("the deal");
    assert_eq!(title, "Hopper: team plan");

    browser.close().await.expect("browser closes");
}
