//! Accounts through the real stack: first admin, sign-in, sessions, CSRF, roles, throttling.

#[path = "../common/mod.rs"]
mod common;

use common::*;
use diesel::prelude::*;
use rapport::auth::model::Role;
use rapport::db::schema::{audit_log, sessions, users};
use reqwest::header::{COOKIE, HeaderMap};
use reqwest::{Response, StatusCode};

const SESSION_COOKIE: &str = "rapport_session";
const WRONG_CREDENTIALS: &str = "Email or password is incorrect.";

/// Asks for `/` with nothing but the given session cookie, from a browser that never signed in.
async fn replay_session(app: &TestApp, session: &str) -> Response {
    http_client()
        .get(app.url("/"))
        .header(COOKIE, format!("{SESSION_COOKIE}={session}"))
        .send()
        .await
        .expect("GET with a replayed cookie")
}

fn is_sent_to_login(response: &Response) -> bool {
    response.status() == StatusCode::SEE_OTHER && location(response).starts_with("/login")
}

fn user_count(app: &TestApp) -> i64 {
    users::table
        .count()
        .get_result(&mut app.conn())
        .expect("count users")
}

fn audit_count(app: &TestApp, action: &str) -> i64 {
    audit_log::table
        .filter(audit_log::action.eq(action))
        .count()
        .get_result(&mut app.conn())
        .expect("count audit entries")
}

/// (target, details) of every audit entry with `action`, oldest first.
fn audit_entries(app: &TestApp, action: &str) -> Vec<(Option<String>, Option<String>)> {
    audit_log::table
        .filter(audit_log::action.eq(action))
        .order(audit_log::id.asc())
        .select((audit_log::target, audit_log::details))
        .load(&mut app.conn())
        .expect("audit entries")
}

fn session_count(app: &TestApp, user_id: i64) -> i64 {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .count()
        .get_result(&mut app.conn())
        .expect("count sessions")
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
struct StoredUser {
    email: String,
    display_name: String,
    role: String,
    active: bool,
    time_zone: String,
    version: i32,
}

fn stored_user(app: &TestApp, id: i64) -> StoredUser {
    users::table
        .find(id)
        .select((
            users::email,
            users::display_name,
            users::role,
            users::active,
            users::time_zone,
            users::version,
        ))
        .first(&mut app.conn())
        .expect("the user is stored")
}

/// The error message shown next to a form field.
fn field_error(page: &str, field: &str) -> Option<String> {
    let marker = format!("id=\"{field}-error\">");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find("</p>")? + start;
    Some(page[start..end].to_owned())
}

/// The value of the hidden `version` field of the first form that has one.
fn version_in(page: &str) -> String {
    let marker = "name=\"version\" value=\"";
    let start = page.find(marker).expect("the page has a version field") + marker.len();
    let end = page[start..].find('"').expect("the value ends") + start;
    page[start..end].to_owned()
}

async fn body(response: Response) -> String {
    response.text().await.expect("a body")
}

// ---- the first admin ----

#[tokio::test]
async fn the_first_visit_with_no_users_leads_to_the_create_admin_page() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login?next=%2F");
    let response = app.get("/login").await;
    assert_eq!(location(&response), "/setup");
    let page = app.get_html("/setup").await;
    assert!(page.contains("Create the first admin account"));
}

// ---- signing in ----

#[tokio::test]
async fn a_user_signs_in_with_the_right_password_and_sees_the_home_page() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let page = app.get_html("/").await;
    assert!(page.contains("Admin Tester"));
    assert!(page.contains("Administration"));
}

#[tokio::test]
async fn the_right_password_redirects_home_with_a_session_cookie_and_a_greeting() {
    let app = spawn_app().await;
    let sales = app.create_user("sam@example.com", Role::Sales);
    let response = app.login(&sales.email, &sales.password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    let session = set_cookie(&response, SESSION_COOKIE).expect("a session cookie");
    assert!(!session.is_empty());
    assert_eq!(session_count(&app, sales.id), 1);
    assert_eq!(audit_count(&app, "login"), 1);

    let page = app.get_html("/").await;
    assert!(
        page.contains("Sales Tester"),
        "the home page greets the user"
    );
    assert!(
        page.contains(", Sales</h1>"),
        "greeting by first name: {page}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_refused_with_the_same_message_as_an_unknown_email() {
    let app = spawn_app().await;
    let sales = app.create_user("sam@example.com", Role::Sales);

    let wrong_password = app.login(&sales.email, "not the password at all").await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(set_cookie(&wrong_password, SESSION_COOKIE), None);
    let wrong_password_page = body(wrong_password).await;
    assert!(wrong_password_page.contains(WRONG_CREDENTIALS));

    let unknown = app.login("nobody@example.com", PASSWORD).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(set_cookie(&unknown, SESSION_COOKIE), None);
    let unknown_page = body(unknown).await;
    assert!(unknown_page.contains(WRONG_CREDENTIALS));

    assert_eq!(session_count(&app, sales.id), 0);
    let failures = audit_entries(&app, "login_failed");
    assert_eq!(
        failures,
        vec![
            (
                Some("sam@example.com".to_owned()),
                Some("wrong password".to_owned())
            ),
            (
                Some("nobody@example.com".to_owned()),
                Some("unknown email".to_owned())
            ),
        ]
    );
    let response = app.get("/").await;
    assert!(is_sent_to_login(&response), "still signed out");
}

#[tokio::test]
async fn a_deactivated_user_cannot_sign_in_and_gets_the_same_message() {
    let app = spawn_app().await;
    let sales = app.create_user("sam@example.com", Role::Sales);
    diesel::update(users::table.find(sales.id))
        .set(users::active.eq(false))
        .execute(&mut app.conn())
        .expect("deactivate");

    let response = app.login(&sales.email, &sales.password).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(set_cookie(&response, SESSION_COOKIE), None);
    assert!(body(response).await.contains(WRONG_CREDENTIALS));
    assert_eq!(session_count(&app, sales.id), 0);
    assert_eq!(audit_count(&app, "login_failed"), 1);
}

// ---- cross-site request forgery ----

/// A form field list.
type Form = Vec<(&'static str, &'static str)>;

fn new_sales_user_form() -> Form {
    vec![
        ("email", "new@example.com"),
        ("display_name", "New Person"),
        ("role", "sales"),
        ("method", "password"),
        ("password", "a perfectly fine password"),
    ]
}

#[tokio::test]
async fn a_form_post_without_a_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let before = user_count(&app);

    let response = app
        .post_form_raw("/admin/users", &new_sales_user_form())
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(body(response).await.contains("Request refused"));
    assert_eq!(user_count(&app), before);
}

#[tokio::test]
async fn a_form_post_with_a_wrong_csrf_token_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let before = user_count(&app);

    let mut fields = new_sales_user_form();
    fields.push(("csrf_token", "x3JzX5n2b4Qx9Jm2kqL0tYQn8Jr1Pw6cVd7Ea0Hs5Fg"));
    let response = app.post_form_raw("/admin/users", &fields).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(user_count(&app), before);
}

async fn post_with_headers(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, String)],
) -> Response {
    let token = app.csrf_token().await;
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("csrf_token", &token));
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            reqwest::header::HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            value.parse().expect("a header value"),
        );
    }
    app.client
        .post(app.url(path))
        .headers(map)
        .form(&all)
        .send()
        .await
        .expect("POST")
}

#[tokio::test]
async fn a_right_token_from_a_foreign_origin_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let before = user_count(&app);

    let fields = new_sales_user_form();
    let foreign = post_with_headers(
        &app,
        "/admin/users",
        &fields,
        &[("origin", "https://evil.example".to_owned())],
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert_eq!(user_count(&app), before);

    let cross_site = post_with_headers(
        &app,
        "/admin/users",
        &fields,
        &[("sec-fetch-site", "cross-site".to_owned())],
    )
    .await;
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(user_count(&app), before);

    // The same request from the app's own origin goes through.
    let own = post_with_headers(
        &app,
        "/admin/users",
        &fields,
        &[
            ("origin", app.address.clone()),
            ("sec-fetch-site", "same-origin".to_owned()),
        ],
    )
    .await;
    assert_eq!(own.status(), StatusCode::SEE_OTHER);
    assert_eq!(user_count(&app), before + 1);
}

#[tokio::test]
async fn the_login_form_without_a_csrf_token_is_refused() {
    let app = spawn_app().await;
    let sales = app.create_user("sam@example.com", Role::Sales);
    let response = app
        .post_form_raw(
            "/login",
            &[("email", &sales.email), ("password", &sales.password)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(set_cookie(&response, SESSION_COOKIE), None);
    assert_eq!(session_count(&app, sales.id), 0);
}

// ---- sessions ----

#[tokio::test]
async fn signing_in_again_renews_the_session_id_and_ends_the_old_one() {
    let app = spawn_app().await;
    let sales = app.create_user("sam@example.com", Role::Sales);

    let first = app.login(&sales.email, &sales.password).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let first = set_cookie(&first, SESSION_COOKIE).expect("a first session cookie");
    let second = app.login(&sales.email, &sales.password).await;
    assert_eq!(second.status(), StatusCode::SEE_OTHER);
    let second = set_cookie(&second, SESSION_COOKIE).expect("a second session cookie");

    assert_ne!(first, second, "a new sign-in gets a new session id");
    assert_eq!(session_count(&app, sales.id), 1);
    let replayed = replay_session(&app, &first).await;
    assert!(
        is_sent_to_login(&replayed),
        "the first session no longer works"
    );
    let current = replay_session(&app, &second).await;
    assert_eq!(current.status(), StatusCode::OK, "the new session works");
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server_and_clears_the_cookie() {
    let app = spawn_app().await;
    let sales = app.create_user("sam@example.com", Role::Sales);
    let response = app.login(&sales.email, &sales.password).await;
    let session = set_cookie(&response, SESSION_COOKIE).expect("a session cookie");
    assert_eq!(
        replay_session(&app, &session).await.status(),
        StatusCode::OK
    );

    let response = app.logout().await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");
    assert_eq!(
        set_cookie(&response, SESSION_COOKIE).as_deref(),
        Some(""),
        "the cookie is cleared"
    );
    assert_eq!(session_count(&app, sales.id), 0);
    assert_eq!(audit_count(&app, "logout"), 1);
    assert!(is_sent_to_login(&replay_session(&app, &session).await));
    assert!(is_sent_to_login(&app.get("/").await));
}

// ---- deactivation ----

#[tokio::test]
async fn a_deactivated_user_is_signed_out_at_once_and_can_sign_in_again_once_reactivated() {
    let app = spawn_app().await;
    let admin = app.admin();
    let sales = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&admin).await;
    let sam = app.open_browser();
    sam.login_as(&sales).await;
    assert_eq!(sam.get("/").await.status(), StatusCode::OK);

    let response = app
        .post_form(&format!("/admin/users/{}/deactivate", sales.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/admin/users/{}", sales.id));
    assert!(!stored_user(&app, sales.id).active);
    assert_eq!(session_count(&app, sales.id), 0);

    let response = sam.get("/").await;
    assert!(is_sent_to_login(&response), "the open session has ended");
    let response = sam.login(&sales.email, &sales.password).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(body(response).await.contains(WRONG_CREDENTIALS));

    let response = app
        .post_form(&format!("/admin/users/{}/activate", sales.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(stored_user(&app, sales.id).active);
    sam.login_as(&sales).await;
    assert_eq!(sam.get("/").await.status(), StatusCode::OK);
    assert_eq!(audit_count(&app, "user_deactivated"), 1);
    assert_eq!(audit_count(&app, "user_activated"), 1);
}

#[tokio::test]
async fn an_admin_cannot_deactivate_the_last_admin_or_themselves() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;

    let response = app
        .post_form(&format!("/admin/users/{}/deactivate", admin.id), &[])
        .await;
    assert!(response.status().is_client_error(), "{}", response.status());
    assert!(
        body(response)
            .await
            .contains("Rapport needs at least one active admin.")
    );
    assert!(stored_user(&app, admin.id).active);
    assert_eq!(session_count(&app, admin.id), 1);

    // With a second admin, the last-admin rule no longer applies, but one's own account
    // still cannot be deactivated.
    app.create_user("second-admin@example.com", Role::Admin);
    let response = app
        .post_form(&format!("/admin/users/{}/deactivate", admin.id), &[])
        .await;
    assert!(response.status().is_client_error(), "{}", response.status());
    assert!(
        body(response)
            .await
            .contains("You cannot deactivate your own account.")
    );
    assert!(stored_user(&app, admin.id).active);
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
    assert_eq!(audit_count(&app, "user_deactivated"), 0);
}

// ---- roles ----

/// Every admin route (method, path), with a form its handler would accept from an admin.
fn admin_routes(user_id: i64) -> Vec<(&'static str, String, Form)> {
    let user = |action: &str| format!("/admin/users/{user_id}/{action}");
    vec![
        ("GET", "/admin/users".to_owned(), vec![]),
        ("GET", "/admin/users/new".to_owned(), vec![]),
        ("GET", format!("/admin/users/{user_id}"), vec![]),
        ("POST", "/admin/users".to_owned(), new_sales_user_form()),
        (
            "POST",
            user("role"),
            vec![("role", "admin"), ("version", "1")],
        ),
        ("POST", user("deactivate"), vec![]),
        ("POST", user("activate"), vec![]),
        ("POST", user("reset-second-factor"), vec![]),
        ("POST", user("end-sessions"), vec![]),
        ("GET", "/admin/settings".to_owned(), vec![]),
        (
            "POST",
            "/admin/settings".to_owned(),
            vec![("require_second_factor", "on")],
        ),
        ("GET", "/admin/outbox".to_owned(), vec![]),
        ("POST", "/admin/outbox/1/retry".to_owned(), vec![]),
        ("GET", "/admin/audit".to_owned(), vec![]),
    ]
}

async fn every_admin_route_is_refused_for(role: Role, email: &str) {
    let app = spawn_app().await;
    let admin = app.admin();
    let user = app.create_user(email, role);
    app.login_as(&user).await;
    let users_before = user_count(&app);
    let admin_before = stored_user(&app, admin.id);
    let mut denied = 0;

    for (method, path, fields) in admin_routes(user.id) {
        let response = if method == "GET" {
            app.get(&path).await
        } else {
            app.post_form(&path, &fields).await
        };
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{method} {path} as {role}"
        );
        assert!(body(response).await.contains("Access denied"));
        denied += 1;
        assert_eq!(
            audit_count(&app, "authorization_denied"),
            denied,
            "{method} {path} is audited"
        );
        let (target, _) = audit_entries(&app, "authorization_denied")
            .pop()
            .expect("an entry");
        assert_eq!(target.as_deref(), Some(format!("{method} {path}").as_str()));
    }

    assert_eq!(user_count(&app), users_before);
    assert_eq!(stored_user(&app, admin.id), admin_before);
    assert_eq!(stored_user(&app, user.id).role, role.as_str());
    assert_eq!(audit_count(&app, "settings_changed"), 0);
    assert_eq!(
        session_count(&app, user.id),
        1,
        "the user is still signed in"
    );
}

#[tokio::test]
async fn every_admin_route_is_refused_to_a_sales_user_and_audited() {
    every_admin_route_is_refused_for(Role::Sales, "sam@example.com").await;
}

#[tokio::test]
async fn every_admin_route_is_refused_to_a_support_user_and_audited() {
    every_admin_route_is_refused_for(Role::Support, "sue@example.com").await;
}

#[tokio::test]
async fn a_malformed_admin_request_from_a_non_admin_is_refused_before_its_input_is_read() {
    let app = spawn_app().await;
    let admin = app.admin();
    let rep = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&rep).await;
    let malformed = [
        (
            format!("/admin/users/{}/role", admin.id),
            vec![("version", "abc")],
        ),
        ("/admin/users/abc/deactivate".to_owned(), vec![]),
        ("/admin/outbox/not-a-number/retry".to_owned(), vec![]),
        ("/admin/no-such-page".to_owned(), vec![]),
    ];
    for (path, fields) in &malformed {
        let response = app.post_form(path, fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "POST {path}");
    }
    assert_eq!(
        audit_count(&app, "authorization_denied"),
        malformed.len() as i64
    );
    assert_eq!(stored_user(&app, admin.id).role, "admin");
}

#[tokio::test]
async fn an_anonymous_visitor_is_sent_to_sign_in_from_every_admin_page() {
    let app = spawn_app().await;
    let admin = app.admin();
    for (method, path, _) in admin_routes(admin.id) {
        if method != "GET" {
            continue;
        }
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "GET {path}");
        let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        assert_eq!(location(&response), format!("/login?next={next}"));
    }
    assert_eq!(audit_count(&app, "authorization_denied"), 0);
}

#[tokio::test]
async fn only_admins_see_the_admin_link_in_the_navigation() {
    let app = spawn_app().await;
    let admin = app.admin();
    let sales = app.create_user("sam@example.com", Role::Sales);
    let support = app.create_user("sue@example.com", Role::Support);
    let admin_link = "<a href=\"/admin/users\">Admin</a>";

    app.login_as(&admin).await;
    assert!(app.get_html("/profile").await.contains(admin_link));
    for user in [&sales, &support] {
        let browser = app.open_browser();
        browser.login_as(user).await;
        for path in ["/", "/profile"] {
            let page = browser.get_html(path).await;
            assert!(page.contains("Sign out"), "{path} is a signed-in page");
            assert!(
                !page.contains("/admin/"),
                "{} sees an admin link on {path}",
                user.email
            );
        }
    }
}

// ---- throttling ----

#[tokio::test]
async fn repeated_failed_logins_for_one_account_are_throttled_after_five() {
    let app = spawn_app().await;
    let sales = app.create_user("sam@example.com", Role::Sales);
    for attempt in 1..=5 {
        let response = app.login(&sales.email, "wrong password, again").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    assert_eq!(audit_count(&app, "login_failed"), 5);

    let response = app.login(&sales.email, "wrong password, again").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let page = body(response).await;
    assert!(page.contains("Too many attempts"));
    assert!(page.contains("Wait a minute"));
    // The right password is throttled too: the limit is on attempts, not failures.
    let response = app.login(&sales.email, &sales.password).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(set_cookie(&response, SESSION_COOKIE), None);
    assert_eq!(audit_count(&app, "login_failed"), 5);
    assert_eq!(session_count(&app, sales.id), 0);
}

// ---- the first admin ----

fn setup_form<'a>(
    email: &'a str,
    password: &'a str,
    confirmation: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("email", email),
        ("display_name", "Ada Lovelace"),
        ("password", password),
        ("password_confirmation", confirmation),
    ]
}

#[tokio::test]
async fn the_setup_page_creates_the_first_admin_and_signs_them_in() {
    let app = spawn_app().await;
    let response = app
        .post_form("/setup", &setup_form("ada@example.com", PASSWORD, PASSWORD))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    assert!(set_cookie(&response, SESSION_COOKIE).is_some());

    let page = app.get_html("/").await;
    assert!(page.contains("Ada Lovelace"));
    assert!(page.contains("Your admin account is ready."));
    let role: String = users::table
        .filter(users::email.eq("ada@example.com"))
        .select(users::role)
        .first(&mut app.conn())
        .expect("the admin is stored");
    assert_eq!(role, "admin");
    assert_eq!(audit_count(&app, "first_admin_created"), 1);
}

#[tokio::test]
async fn the_setup_page_is_gone_once_a_user_exists() {
    let app = spawn_app().await;
    app.create_user("sam@example.com", Role::Sales);

    let response = app.get("/setup").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .post_form(
            "/setup",
            &setup_form("mallory@example.com", PASSWORD, PASSWORD),
        )
        .await;
    assert!(
        [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&response.status()),
        "{}",
        response.status()
    );
    assert_eq!(set_cookie(&response, SESSION_COOKIE), None);
    assert_eq!(user_count(&app), 1);
    assert_eq!(audit_count(&app, "first_admin_created"), 0);
}

#[tokio::test]
async fn two_people_racing_for_the_setup_page_make_exactly_one_admin() {
    let app = spawn_app().await;
    let ada = app.open_browser();
    let bob = app.open_browser();
    let ada_form = setup_form("ada@example.com", PASSWORD, PASSWORD);
    let bob_form = setup_form("bob@example.com", PASSWORD, PASSWORD);
    let (first, second) = tokio::join!(
        ada.post_form("/setup", &ada_form),
        bob.post_form("/setup", &bob_form)
    );
    let statuses = [first.status(), second.status()];
    assert_eq!(
        statuses
            .iter()
            .filter(|status| **status == StatusCode::SEE_OTHER)
            .count(),
        1,
        "exactly one wins: {statuses:?}"
    );
    let admins: i64 = users::table
        .filter(users::role.eq("admin"))
        .count()
        .get_result(&mut app.conn())
        .expect("count admins");
    assert_eq!(admins, 1);
    assert_eq!(user_count(&app), 1);
}

#[tokio::test]
async fn bad_setup_input_is_shown_next_to_its_field_and_creates_no_user() {
    let app = spawn_app().await;
    let cases = [
        (
            setup_form("ada@example.com", "short", "short"),
            "password",
            "Use at least 8 characters.",
        ),
        (
            setup_form("ada@example.com", PASSWORD, "correct horse battery stapler"),
            "password",
            "The two passwords do not match.",
        ),
        (
            setup_form("not-an-email", PASSWORD, PASSWORD),
            "email",
            "Enter a valid email address, like name@example.com.",
        ),
    ];
    for (form, field, message) in cases {
        let response = app.post_form("/setup", &form).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{message}"
        );
        assert_eq!(set_cookie(&response, SESSION_COOKIE), None);
        let page = body(response).await;
        assert_eq!(field_error(&page, field).as_deref(), Some(message));
        assert_eq!(user_count(&app), 0);
    }
    // The page is still there for a corrected attempt.
    assert_eq!(app.get("/setup").await.status(), StatusCode::OK);
}

// ---- the profile ----

fn profile_form<'a>(name: &'a str, zone: &'a str, version: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("display_name", name),
        ("time_zone", zone),
        ("version", version),
    ]
}

#[tokio::test]
async fn a_user_updates_their_name_and_time_zone() {
    let app = spawn_app().await;
    let sales = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&sales).await;
    let version = version_in(&app.get_html("/profile").await);

    let response = app
        .post_form(
            "/profile",
            &profile_form("Samantha Seller", "Europe/Berlin", &version),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/profile");
    let stored = stored_user(&app, sales.id);
    assert_eq!(stored.display_name, "Samantha Seller");
    assert_eq!(stored.time_zone, "Europe/Berlin");
    let page = app.get_html("/profile").await;
    assert!(page.contains("Your profile has been saved."));
    assert!(page.contains("value=\"Samantha Seller\""));
    assert!(page.contains("<option value=\"Europe/Berlin\" selected>"));
    assert_eq!(audit_count(&app, "profile_updated"), 1);
}

#[tokio::test]
async fn an_unknown_time_zone_is_refused_next_to_its_field() {
    let app = spawn_app().await;
    let sales = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&sales).await;
    let before = stored_user(&app, sales.id);
    let version = version_in(&app.get_html("/profile").await);

    let response = app
        .post_form(
            "/profile",
            &profile_form("Samantha Seller", "Mars/Olympus_Mons", &version),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body(response).await;
    assert!(page.contains("<p class=\"field-error\">Choose a time zone from the list.</p>"));
    assert!(
        page.contains("value=\"Samantha Seller\""),
        "the typed name is kept"
    );
    assert_eq!(stored_user(&app, sales.id), before);
}

#[tokio::test]
async fn a_profile_form_saved_from_a_stale_version_is_refused_as_a_conflict() {
    let app = spawn_app().await;
    let sales = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&sales).await;
    let stale = version_in(&app.get_html("/profile").await);

    let response = app
        .post_form(
            "/profile",
            &profile_form("First Window", "Europe/Paris", &stale),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let saved = stored_user(&app, sales.id);

    let response = app
        .post_form(
            "/profile",
            &profile_form("Second Window", "Asia/Tokyo", &stale),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let page = body(response).await;
    assert!(page.contains("Your profile was changed in another window."));
    assert!(
        page.contains("value=\"First Window\""),
        "the form shows the saved values"
    );
    assert_eq!(stored_user(&app, sales.id), saved);
    assert_eq!(saved.display_name, "First Window");
}

fn password_form<'a>(current: &'a str, new: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("current_password", current),
        ("new_password", new),
        ("new_password_confirmation", new),
    ]
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let app = spawn_app().await;
    let sales = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&sales).await;
    let other = app.open_browser();
    other.login_as(&sales).await;

    let response = app
        .post_form(
            "/profile/password",
            &password_form("not my password", "a brand new secret phrase"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body(response).await;
    assert_eq!(
        field_error(&page, "current_password").as_deref(),
        Some("Your current password is not right.")
    );
    assert_eq!(
        other.get("/").await.status(),
        StatusCode::OK,
        "nothing ended"
    );
    assert_eq!(audit_count(&app, "password_changed"), 0);
    let fresh = app.open_browser();
    fresh.login_as(&sales).await;
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_but_keeps_this_one() {
    let app = spawn_app().await;
    let sales = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&sales).await;
    let other = app.open_browser();
    other.login_as(&sales).await;
    let new_password = "a brand new secret phrase";

    let response = app
        .post_form("/profile/password", &password_form(PASSWORD, new_password))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/profile");

    assert!(
        is_sent_to_login(&other.get("/").await),
        "the other session ended"
    );
    let page = app.get_html("/profile").await;
    assert!(page.contains("Your other sessions were signed out."));
    assert_eq!(session_count(&app, sales.id), 1);

    let fresh = app.open_browser();
    let response = fresh.login(&sales.email, PASSWORD).await;
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "the old password is gone"
    );
    fresh
        .login_as(&TestUser {
            password: new_password.to_owned(),
            ..sales.clone()
        })
        .await;
    assert_eq!(audit_count(&app, "password_changed"), 1);
}

/// The session ids a profile page offers to sign out.
fn sign_out_targets(page: &str) -> Vec<i64> {
    page.split("action=\"/profile/sessions/")
        .skip(1)
        .map(|rest| {
            rest.split('/')
                .next()
                .and_then(|id| id.parse().ok())
                .expect("a session id")
        })
        .collect()
}

#[tokio::test]
async fn the_session_list_shows_both_sessions_and_can_end_the_other_one() {
    let app = spawn_app().await;
    let sales = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&sales).await;
    let other = app.open_browser();
    other.login_as(&sales).await;
    let other_session: i64 = sessions::table
        .filter(sessions::user_id.eq(sales.id))
        .select(diesel::dsl::max(sessions::id))
        .first::<Option<i64>>(&mut app.conn())
        .expect("sessions")
        .expect("a session");

    let page = app.get_html("/profile").await;
    assert_eq!(page.matches("This browser").count(), 1);
    assert_eq!(sign_out_targets(&page), vec![other_session]);

    let response = app
        .post_form(&format!("/profile/sessions/{other_session}/end"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/profile");
    assert!(is_sent_to_login(&other.get("/").await));
    let page = app.get_html("/profile").await;
    assert!(page.contains("That session has been signed out."));
    assert!(sign_out_targets(&page).is_empty());
    assert_eq!(session_count(&app, sales.id), 1);
}

#[tokio::test]
async fn ending_someone_elses_session_is_not_found() {
    let app = spawn_app().await;
    let sales = app.create_user("sam@example.com", Role::Sales);
    let support = app.create_user("sue@example.com", Role::Support);
    app.login_as(&sales).await;
    let sue = app.open_browser();
    sue.login_as(&support).await;
    let sues_session: i64 = sessions::table
        .filter(sessions::user_id.eq(support.id))
        .select(sessions::id)
        .first(&mut app.conn())
        .expect("Sue's session");

    let response = app
        .post_form(&format!("/profile/sessions/{sues_session}/end"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(session_count(&app, support.id), 1);
    assert_eq!(sue.get("/").await.status(), StatusCode::OK);
}

// ---- user management ----

#[tokio::test]
async fn an_admin_creates_a_user_with_a_password_who_can_then_sign_in() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;

    let response = app.post_form("/admin/users", &new_sales_user_form()).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (id, role): (i64, String) = users::table
        .filter(users::email.eq("new@example.com"))
        .select((users::id, users::role))
        .first(&mut app.conn())
        .expect("the user is stored");
    assert_eq!(location(&response), format!("/admin/users/{id}"));
    assert_eq!(role, "sales");
    let page = app.get_html(&location(&response)).await;
    assert!(page.contains("new@example.com can now sign in."));
    let created = audit_entries(&app, "user_created");
    assert_eq!(
        created.last(),
        Some(&(
            Some("new@example.com".to_owned()),
            Some("role sales".to_owned())
        ))
    );

    let newcomer = app.open_browser();
    newcomer
        .login_as(&TestUser {
            id,
            email: "new@example.com".to_owned(),
            password: "a perfectly fine password".to_owned(),
        })
        .await;
    assert!(newcomer.get_html("/").await.contains("New Person"));
}

#[tokio::test]
async fn an_admin_invites_a_user_by_email() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;

    let response = app
        .post_form(
            "/admin/users",
            &[
                ("email", "ivy@example.com"),
                ("display_name", "Ivy Invitee"),
                ("role", "support"),
                ("method", "invite"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        app.get_html(&location(&response))
            .await
            .contains("ivy@example.com has been invited by email.")
    );
    app.eventually("the invitation arrives", || {
        !app.smtp.received_by("ivy@example.com").is_empty()
    })
    .await;
    let email = app
        .smtp
        .received_by("ivy@example.com")
        .pop()
        .expect("the invitation");
    let link = link_in(&email.body, &app.url("/invitation/"));
    let invitee = app.open_browser();
    let page = invitee
        .get_html(link.trim_start_matches(&app.address))
        .await;
    assert!(page.contains("Ivy Invitee"));
    assert_eq!(audit_count(&app, "user_invited"), 1);
}

#[tokio::test]
async fn a_second_user_with_the_same_email_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.create_user("sam@example.com", Role::Sales);
    app.login_as(&admin).await;
    let before = user_count(&app);

    let mut form = new_sales_user_form();
    form[0] = ("email", "Sam@Example.com");
    let response = app.post_form("/admin/users", &form).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body(response).await;
    assert_eq!(
        field_error(&page, "email").as_deref(),
        Some("A user with this email already exists.")
    );
    assert_eq!(user_count(&app), before);
}

#[tokio::test]
async fn a_role_change_needs_the_current_version() {
    let app = spawn_app().await;
    let admin = app.admin();
    let sales = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&admin).await;
    let path = format!("/admin/users/{}", sales.id);
    let version = version_in(&app.get_html(&path).await);

    let response = app
        .post_form(
            &format!("{path}/role"),
            &[("role", "support"), ("version", &version)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), path);
    assert_eq!(stored_user(&app, sales.id).role, "support");

    let response = app
        .post_form(
            &format!("{path}/role"),
            &[("role", "admin"), ("version", &version)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        body(response)
            .await
            .contains("Someone else changed this user while you were editing.")
    );
    assert_eq!(stored_user(&app, sales.id).role, "support");
    assert_eq!(audit_count(&app, "role_changed"), 1);
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let path = format!("/admin/users/{}", admin.id);
    let before = stored_user(&app, admin.id);

    let response = app
        .post_form(
            &format!("{path}/role"),
            &[("role", "sales"), ("version", &before.version.to_string())],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = body(response).await;
    assert!(page.contains("Rapport needs at least one active admin."));
    assert_eq!(stored_user(&app, admin.id), before);
    assert_eq!(app.get("/admin/users").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn ending_a_users_sessions_signs_them_out_everywhere() {
    let app = spawn_app().await;
    let admin = app.admin();
    let sales = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&admin).await;
    let laptop = app.open_browser();
    laptop.login_as(&sales).await;
    let phone = app.open_browser();
    phone.login_as(&sales).await;

    let response = app
        .post_form(&format!("/admin/users/{}/end-sessions", sales.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(is_sent_to_login(&laptop.get("/").await));
    assert!(is_sent_to_login(&phone.get("/").await));
    assert_eq!(session_count(&app, sales.id), 0);
    assert_eq!(
        audit_entries(&app, "sessions_ended"),
        vec![(
            Some("sam@example.com".to_owned()),
            Some("2 sessions ended".to_owned())
        )]
    );
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::OK,
        "the admin stays in"
    );
}

#[tokio::test]
async fn an_unknown_user_page_is_not_found() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let response = app.get("/admin/users/999999").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(body(response).await.contains("Page not found"));
}

// ---- requiring a second factor ----

#[tokio::test]
async fn when_admins_require_a_second_factor_users_without_one_are_sent_to_set_it_up() {
    let app = spawn_app().await;
    let admin = app.admin();
    let sales = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&admin).await;
    let sam = app.open_browser();
    sam.login_as(&sales).await;
    assert_eq!(sam.get("/").await.status(), StatusCode::OK);

    let response = app
        .post_form("/admin/settings", &[("require_second_factor", "on")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/settings");
    assert_eq!(
        audit_entries(&app, "settings_changed"),
        vec![(None, Some("require second factor: on".to_owned()))]
    );

    let response = sam.get("/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/profile/two-factor");
    let page = sam.get_html("/profile/two-factor").await;
    assert!(
        page.contains("class=\"secret\""),
        "the enrolment page is open"
    );

    // A fresh sign-in lands on the same requirement.
    let fresh = app.open_browser();
    fresh.login_as(&sales).await;
    let response = fresh.get("/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/profile/two-factor");
}

// ---- headers and plumbing ----

fn assert_security_headers(response: &Response, what: &str) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let csp = header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'self'"), "CSP on {what}: {csp:?}");
    assert!(
        csp.contains("frame-ancestors 'none'"),
        "CSP on {what}: {csp:?}"
    );
    assert_eq!(
        header("x-content-type-options").as_deref(),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        header("referrer-policy").as_deref(),
        Some("same-origin"),
        "{what}"
    );
    assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{what}");
}

fn cache_control(response: &Response) -> String {
    response
        .headers()
        .get("cache-control")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = spawn_app().await;
    let admin = app.admin();

    let page = app.get("/login").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_security_headers(&page, "a page");

    let redirect = app.get("/").await;
    assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
    assert_security_headers(&redirect, "a redirect");

    let missing = app.get("/no-such-page/secret-internals").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_security_headers(&missing, "a 404");
    let missing = body(missing).await;
    assert!(missing.contains("Page not found"));
    assert!(
        !missing.contains("secret-internals"),
        "the 404 page is generic"
    );

    let refused = app
        .post_form_raw(
            "/login",
            &[("email", &admin.email), ("password", &admin.password)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_security_headers(&refused, "a CSRF refusal");

    let css = app.get("/static/app.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    assert_security_headers(&css, "a static file");
}

#[tokio::test]
async fn signed_in_pages_are_not_stored_by_the_browser() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    for path in ["/", "/profile", "/admin/users", "/admin/audit"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_security_headers(&response, path);
        assert_eq!(cache_control(&response), "no-store", "{path}");
    }
}

#[tokio::test]
async fn the_health_check_answers_ok() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, "ok");
}

#[tokio::test]
async fn a_session_ends_after_an_hour_without_requests() {
    let app = spawn_app().await;
    let rep = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&rep).await;

    app.clock.advance(chrono::Duration::minutes(59));
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::OK,
        "still active after 59 minutes"
    );

    app.clock.advance(chrono::Duration::minutes(61));
    assert!(is_sent_to_login(&app.get("/").await), "idle for 61 minutes");
    assert_eq!(
        session_count(&app, rep.id),
        0,
        "the expired session is deleted"
    );
}

#[tokio::test]
async fn a_session_ends_twelve_hours_after_sign_in_even_when_in_use() {
    let app = spawn_app().await;
    let rep = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&rep).await;

    for _ in 0..14 {
        app.clock.advance(chrono::Duration::minutes(50));
        assert_eq!(app.get("/").await.status(), StatusCode::OK);
    }
    app.clock.advance(chrono::Duration::minutes(50));
    assert!(
        is_sent_to_login(&app.get("/").await),
        "12 h 30 min after sign-in the session is over"
    );
}
