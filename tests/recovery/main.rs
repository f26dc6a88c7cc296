//! Getting back into an account and guarding it: password reset links, invitations, and the
//! second factor (enrolment, sign-in with a code or a recovery code, and its management).

#[path = "../common/mod.rs"]
mod common;

use common::*;
use diesel::prelude::*;
use rapport::auth::model::Role;
use rapport::db::schema::{audit_log, email_outbox, user_tokens, users};
use reqwest::{Response, StatusCode};

const NEW_PASSWORD: &str = "a brand new passphrase";

// ---- helpers ----

fn now(app: &TestApp) -> chrono::NaiveDateTime {
    rapport::clock::Clock::now(&app.clock)
}

fn code_now(app: &TestApp, secret: &str) -> String {
    rapport::auth::totp::code_at(secret, now(app)).expect("a TOTP code")
}

/// A six-digit code that matches none of the steps the app accepts right now.
fn wrong_code(app: &TestApp, secret: &str) -> String {
    let accepted: Vec<String> = [-30, 0, 30]
        .into_iter()
        .map(|offset| {
            let at = now(app) + chrono::Duration::seconds(offset);
            rapport::auth::totp::code_at(secret, at).expect("a TOTP code")
        })
        .collect();
    (0..10)
        .map(|digit| digit.to_string().repeat(6))
        .find(|candidate| !accepted.contains(candidate))
        .expect("a wrong code")
}

/// The text between `start` and the next `end` after it.
fn between<'p>(page: &'p str, start: &str, end: &str) -> &'p str {
    let from = page.find(start).expect("the start marker") + start.len();
    let to = page[from..].find(end).expect("the end marker") + from;
    &page[from..to]
}

fn secret_on(page: &str) -> String {
    between(page, "<code class=\"secret\">", "</code>").to_owned()
}

fn recovery_codes_on(page: &str) -> Vec<String> {
    let list = between(page, "<ul class=\"recovery-codes\">", "</ul>");
    list.split("<code>")
        .skip(1)
        .map(|item| item.split("</code>").next().expect("a code").to_owned())
        .collect()
}

fn unused_codes_on(page: &str) -> String {
    between(page, "You have <strong>", "</strong> unused recovery codes").to_owned()
}

/// The table row of the admin's user list that mentions `email`.
fn user_row<'p>(page: &'p str, email: &str) -> &'p str {
    let at = page
        .find(&format!("<td>{email}</td>"))
        .expect("the user is listed");
    let start = page[..at].rfind("<tr").expect("a row start");
    let end = page[at..].find("</tr>").expect("a row end") + at;
    &page[start..end]
}

/// The path of the first link in `email_body` to `prefix` on this app.
fn link_path(app: &TestApp, email_body: &str, prefix: &str) -> String {
    let link = link_in(email_body, &app.url(prefix));
    link.strip_prefix(&app.address)
        .expect("a link to this app")
        .to_owned()
}

async fn wait_for_email(app: &TestApp, to: &str, count: usize) -> String {
    app.eventually(&format!("{count} email(s) reach {to}"), || {
        app.smtp.received_by(to).len() >= count
    })
    .await;
    app.smtp.received_by(to)[count - 1].body.clone()
}

/// Asks for a reset link for `email` and returns its path once the email has arrived.
async fn reset_link(app: &TestApp, email: &str) -> String {
    let already = app.smtp.received_by(email).len();
    let response = app.post_form("/forgot-password", &[("email", email)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = wait_for_email(app, email, already + 1).await;
    link_path(app, &body, "/reset-password/")
}

fn set_password_fields(password: &str) -> [(&'static str, &str); 2] {
    [("password", password), ("password_confirmation", password)]
}

/// (target, details) of the audit entries with this action, oldest first.
fn audit_entries(app: &TestApp, action: &str) -> Vec<(Option<String>, Option<String>)> {
    audit_log::table
        .filter(audit_log::action.eq(action))
        .order(audit_log::id.asc())
        .select((audit_log::target, audit_log::details))
        .load(&mut app.conn())
        .expect("audit entries")
}

fn totp_secret_of(app: &TestApp, user_id: i64) -> Option<String> {
    users::table
        .find(user_id)
        .select(users::totp_secret)
        .first(&mut app.conn())
        .expect("the user")
}

fn outbox_rows_for(app: &TestApp, recipient: &str) -> i64 {
    email_outbox::table
        .filter(email_outbox::recipient.eq(recipient))
        .count()
        .get_result(&mut app.conn())
        .expect("outbox count")
}

fn user_id_by_email(app: &TestApp, email: &str) -> i64 {
    users::table
        .filter(users::email.eq(email))
        .select(users::id)
        .first(&mut app.conn())
        .expect("the user exists")
}

/// Invites `email` as the (signed-in) admin of `browser`; returns the invitation path.
async fn invite(app: &TestApp, browser: &Browser, email: &str) -> String {
    let response = browser
        .post_form(
            "/admin/users",
            &[
                ("email", email),
                ("display_name", "Ivy Invitee"),
                ("role", "support"),
                ("method", "invite"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = user_id_by_email(app, email);
    assert_eq!(location(&response), format!("/admin/users/{id}"));
    let body = wait_for_email(app, email, 1).await;
    assert!(body.contains("Hello Ivy Invitee"));
    assert!(body.contains("expires in 7 days"));
    link_path(app, &body, "/invitation/")
}

/// Turns the second factor on for the user signed in on `app.client`; returns the secret
/// and the recovery codes.
async fn enrol(app: &TestApp) -> (String, Vec<String>) {
    let page = app.get_html("/profile/two-factor").await;
    let secret = secret_on(&page);
    let code = code_now(app, &secret);
    let response = app
        .post_form("/profile/two-factor", &[("code", &code)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let codes = recovery_codes_on(&response.text().await.expect("a body"));
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

/// Signs `user` in with the password on `app.client` and expects the second-factor step.
async fn login_pending(app: &TestApp, user: &TestUser) -> Response {
    let response = app.login(&user.email, &user.password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&response).starts_with("/login/second-factor"),
        "went to {}",
        location(&response)
    );
    response
}

async fn give_code(app: &TestApp, code: &str) -> Response {
    app.post_form("/login/second-factor", &[("code", code), ("next", "/")])
        .await
}

// ---- password reset ----

#[tokio::test]
async fn the_login_page_links_to_the_password_reset_page() {
    let app = spawn_app().await;
    app.admin();
    let page = app.get_html("/login").await;
    assert!(page.contains("<a href=\"/forgot-password\">Forgot password?</a>"));
    let page = app.get_html("/forgot-password").await;
    assert!(page.contains("Reset your password"));
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_once_and_the_old_one_stops_working() {
    let app = spawn_app().await;
    let user = app.create_user("sam@example.com", Role::Sales);

    let response = app
        .post_form("/forgot-password", &[("email", "sam@example.com")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("a body");
    assert!(page.contains("Check your email"));

    let body = wait_for_email(&app, "sam@example.com", 1).await;
    assert!(body.contains("expires in 60 minutes"));
    let link = link_in(&body, &app.url("/reset-password/"));
    assert!(link.starts_with(&format!("http://127.0.0.1:{}/reset-password/", app.port)));
    let path = link_path(&app, &body, "/reset-password/");

    let page = app.get_html(&path).await;
    assert!(page.contains("Choose a new password"));

    let response = app
        .post_form(&path, &set_password_fields(NEW_PASSWORD))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");
    let page = app.get_html("/login").await;
    assert!(page.contains("Your password has been changed."));

    let response = app.login(&user.email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app.login(&user.email, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    assert_eq!(audit_entries(&app, "password_reset").len(), 1);

    let response = app.open_browser().get(&path).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .post_form(&path, &set_password_fields("yet another passphrase"))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_reset_link_refuses_a_confirmation_that_does_not_match() {
    let app = spawn_app().await;
    let user = app.create_user("sam@example.com", Role::Sales);
    let path = reset_link(&app, &user.email).await;

    let response = app
        .post_form(
            &path,
            &[
                ("password", NEW_PASSWORD),
                ("password_confirmation", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("a body");
    assert!(page.contains("The two passwords do not match."));
    // The link was not used up, and the old password still works.
    let page = app.get_html(&path).await;
    assert!(page.contains("Choose a new password"));
    app.login_as(&user).await;
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_and_no_email() {
    let app = spawn_app().await;
    app.create_user("sam@example.com", Role::Sales);

    let unknown = app
        .post_form("/forgot-password", &[("email", "nobody@example.com")])
        .await;
    let unknown_status = unknown.status();
    let unknown_page = unknown.text().await.expect("a body");
    let known = app
        .post_form("/forgot-password", &[("email", "sam@example.com")])
        .await;
    let known_status = known.status();
    let known_page = known.text().await.expect("a body");

    assert_eq!(unknown_status, StatusCode::OK);
    assert_eq!(unknown_status, known_status);
    assert_eq!(unknown_page, known_page);
    assert!(unknown_page.contains("If an account uses that address"));

    // The known address's email arrives; by then the unknown one's request was handled too.
    wait_for_email(&app, "sam@example.com", 1).await;
    app.eventually("both reset requests are recorded", || {
        audit_entries(&app, "password_reset_requested").len() == 2
    })
    .await;
    let entries = audit_entries(&app, "password_reset_requested");
    assert!(entries.contains(&(
        Some("nobody@example.com".to_owned()),
        Some("no such active account".to_owned())
    )));
    assert_eq!(outbox_rows_for(&app, "nobody@example.com"), 0);
    assert!(app.smtp.received_by("nobody@example.com").is_empty());
    assert_eq!(app.smtp.received().len(), 1);
}

#[tokio::test]
async fn a_malformed_address_is_refused_with_a_message() {
    let app = spawn_app().await;
    let response = app
        .post_form("/forgot-password", &[("email", "not an email")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("a body");
    assert!(page.contains("field-error"));
    assert!(page.contains("Reset your password"));
    assert!(!page.contains("Check your email"));
    assert_eq!(
        email_outbox::table
            .count()
            .get_result::<i64>(&mut app.conn())
            .expect("count"),
        0
    );
}

#[tokio::test]
async fn a_password_reset_ends_the_sessions_the_user_already_had() {
    let app = spawn_app().await;
    let user = app.create_user("sam@example.com", Role::Sales);
    let laptop = app.open_browser();
    laptop.login_as(&user).await;
    assert_eq!(laptop.get("/").await.status(), StatusCode::OK);

    let path = reset_link(&app, &user.email).await;
    let response = app
        .post_form(&path, &set_password_fields(NEW_PASSWORD))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let response = laptop.get("/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login?next=%2F");
}

#[tokio::test]
async fn a_newer_reset_link_replaces_the_older_one() {
    let app = spawn_app().await;
    let user = app.create_user("sam@example.com", Role::Sales);
    let first = reset_link(&app, &user.email).await;
    let second = reset_link(&app, &user.email).await;
    assert_ne!(first, second);

    assert_eq!(app.get(&first).await.status(), StatusCode::NOT_FOUND);
    let response = app
        .post_form(&second, &set_password_fields(NEW_PASSWORD))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = app.login(&user.email, NEW_PASSWORD).await;
    assert_eq!(location(&response), "/");
}

#[tokio::test]
async fn a_password_reset_keeps_the_second_factor() {
    let app = spawn_app().await;
    let user = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&user).await;
    let (secret, _) = enrol(&app).await;
    app.logout().await;

    let path = reset_link(&app, &user.email).await;
    let response = app
        .post_form(&path, &set_password_fields(NEW_PASSWORD))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let response = app.login(&user.email, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login/second-factor"));
    assert_eq!(totp_secret_of(&app, user.id), Some(secret));
}

#[tokio::test]
async fn a_reset_link_expires_after_an_hour() {
    let app = spawn_app().await;
    let user = app.create_user("sam@example.com", Role::Sales);
    let path = reset_link(&app, &user.email).await;

    app.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(app.get(&path).await.status(), StatusCode::NOT_FOUND);
    let response = app
        .post_form(&path, &set_password_fields(NEW_PASSWORD))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    app.login_as(&user).await;
}

#[tokio::test]
async fn a_reset_link_still_works_after_fifty_nine_minutes() {
    let app = spawn_app().await;
    let user = app.create_user("sam@example.com", Role::Sales);
    let path = reset_link(&app, &user.email).await;

    app.clock.advance(chrono::Duration::minutes(59));
    let page = app.get_html(&path).await;
    assert!(page.contains("Choose a new password"));
    let response = app
        .post_form(&path, &set_password_fields(NEW_PASSWORD))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");
    let response = app.login(&user.email, NEW_PASSWORD).await;
    assert_eq!(location(&response), "/");
}

#[tokio::test]
async fn a_fourth_reset_request_for_one_account_in_a_row_is_throttled() {
    let app = spawn_app().await;
    app.create_user("sam@example.com", Role::Sales);
    for attempt in 1..=3 {
        let response = app
            .post_form("/forgot-password", &[("email", "sam@example.com")])
            .await;
        assert_eq!(response.status(), StatusCode::OK, "request {attempt}");
    }
    let response = app
        .post_form("/forgot-password", &[("email", "Sam@Example.com")])
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let page = response.text().await.expect("a body");
    assert!(page.contains("Too many attempts"));
    // Another account is not affected.
    let response = app
        .post_form("/forgot-password", &[("email", "other@example.com")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

// ---- invitations ----

#[tokio::test]
async fn an_invited_user_chooses_a_password_once_and_can_then_sign_in() {
    let app = spawn_app().await;
    let admin = app.admin();
    let admin_browser = app.open_browser();
    admin_browser.login_as(&admin).await;
    let path = invite(&app, &admin_browser, "ivy@example.com").await;
    assert!(path.starts_with("/invitation/"));

    let list = admin_browser.get_html("/admin/users").await;
    assert!(user_row(&list, "ivy@example.com").contains("Invited"));

    let page = app.get_html(&path).await;
    assert!(page.contains("Join your team"));
    assert!(page.contains("Ivy Invitee"));
    let as_reset = path.replace("/invitation/", "/reset-password/");
    assert_eq!(app.get(&as_reset).await.status(), StatusCode::NOT_FOUND);

    let response = app.post_form(&path, &set_password_fields("short")).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("a body");
    assert!(page.contains("Use at least 8 characters."));
    let unused: i64 = user_tokens::table
        .filter(user_tokens::purpose.eq("invitation"))
        .filter(user_tokens::used_at.is_null())
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(unused, 1, "a refused password uses nothing up");
    assert!(app.get_html(&path).await.contains("Join your team"));

    let response = app
        .post_form(&path, &set_password_fields(NEW_PASSWORD))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");
    assert!(
        app.get_html("/login")
            .await
            .contains("Your account is ready.")
    );

    let response = app.login("ivy@example.com", NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    assert_eq!(audit_entries(&app, "invitation_accepted").len(), 1);

    assert_eq!(app.get(&path).await.status(), StatusCode::NOT_FOUND);
    let list = admin_browser.get_html("/admin/users").await;
    let row = user_row(&list, "ivy@example.com");
    assert!(row.contains("Active"));
    assert!(!row.contains("Invited"));
}

#[tokio::test]
async fn an_invitation_older_than_seven_days_no_longer_works() {
    let app = spawn_app().await;
    let admin = app.admin();
    let admin_browser = app.open_browser();
    admin_browser.login_as(&admin).await;
    let path = invite(&app, &admin_browser, "ivy@example.com").await;

    app.clock
        .advance(chrono::Duration::days(7) + chrono::Duration::minutes(1));
    assert_eq!(app.get(&path).await.status(), StatusCode::NOT_FOUND);
    let response = app
        .post_form(&path, &set_password_fields(NEW_PASSWORD))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app.login("ivy@example.com", NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

// ---- the second factor ----

#[tokio::test]
async fn a_user_turns_on_the_second_factor_by_scanning_the_code_and_gets_ten_recovery_codes() {
    let app = spawn_app().await;
    let user = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&user).await;

    let page = app.get_html("/profile/two-factor").await;
    assert!(page.contains("data:image/png;base64,iVBOR"));
    let secret = secret_on(&page);
    assert!(secret.len() >= 16, "secret {secret:?}");
    assert_eq!(totp_secret_of(&app, user.id), None);

    let wrong = wrong_code(&app, &secret);
    let response = app
        .post_form("/profile/two-factor", &[("code", &wrong)])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("a body");
    assert!(page.contains("That code is not right."));
    assert_eq!(secret_on(&page), secret, "the same secret is offered again");
    assert_eq!(totp_secret_of(&app, user.id), None);

    let code = code_now(&app, &secret);
    let response = app
        .post_form("/profile/two-factor", &[("code", &code)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("a body");
    let codes = recovery_codes_on(&page);
    assert_eq!(codes.len(), 10);
    let mut distinct = codes.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 10);

    assert_eq!(totp_secret_of(&app, user.id), Some(secret));
    let page = app.get_html("/profile/two-factor").await;
    assert_eq!(unused_codes_on(&page), "10");
    assert_eq!(audit_entries(&app, "second_factor_enabled").len(), 1);
}

#[tokio::test]
async fn signing_in_with_a_second_factor_needs_the_code_before_anything_else() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let (secret, _) = enrol(&app).await;
    app.logout().await;
    app.clock.advance(chrono::Duration::seconds(30));

    let response = login_pending(&app, &admin).await;
    let pending_cookie = set_cookie(&response, "rapport_session").expect("a pending session");

    for path in ["/", "/admin/users", "/profile"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "GET {path}");
        assert_eq!(location(&response), "/login/second-factor", "GET {path}");
    }
    let response = app
        .post_form(
            "/profile/two-factor/disable",
            &[("current_password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login/second-factor");
    assert_eq!(totp_secret_of(&app, admin.id), Some(secret.clone()));
    let page = app.get_html("/login/second-factor").await;
    assert!(page.contains("Enter the 6-digit code"));

    let wrong = wrong_code(&app, &secret);
    let response = give_code(&app, &wrong).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let page = response.text().await.expect("a body");
    assert!(page.contains("That code is not right."));
    assert!(audit_entries(&app, "login_failed").contains(&(
        Some(admin.email.clone()),
        Some("wrong second-factor code".to_owned())
    )));
    assert_eq!(location(&app.get("/").await), "/login/second-factor");

    let response = give_code(&app, &code_now(&app, &secret)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    let signed_in_cookie = set_cookie(&response, "rapport_session").expect("a new session");
    assert_ne!(signed_in_cookie, pending_cookie);
    assert_eq!(app.get("/").await.status(), StatusCode::OK);
    assert_eq!(app.get("/admin/users").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn guessing_second_factor_codes_is_throttled() {
    let app = spawn_app().await;
    let user = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&user).await;
    let (secret, _) = enrol(&app).await;
    app.logout().await;
    app.clock.advance(chrono::Duration::seconds(30));

    login_pending(&app, &user).await;
    let wrong = wrong_code(&app, &secret);
    for attempt in 1..=3 {
        let response = give_code(&app, &wrong).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "guess {attempt}"
        );
    }
    let response = give_code(&app, &wrong).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // Even the right code waits until the limit lifts.
    let response = give_code(&app, &code_now(&app, &secret)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(location(&app.get("/").await), "/login/second-factor");
}

#[tokio::test]
async fn the_same_authenticator_code_cannot_be_used_twice() {
    let app = spawn_app().await;
    let user = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&user).await;
    let (secret, _) = enrol(&app).await;
    app.logout().await;

    app.clock.advance(chrono::Duration::seconds(30));

    login_pending(&app, &user).await;
    let code = code_now(&app, &secret);
    let response = give_code(&app, &code).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    app.logout().await;

    login_pending(&app, &user).await;
    let response = give_code(&app, &code).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(location(&app.get("/").await), "/login/second-factor");
}

#[tokio::test]
async fn the_code_that_confirmed_the_enrolment_cannot_be_used_to_sign_in() {
    let app = spawn_app().await;
    let user = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&user).await;
    let (secret, _) = enrol(&app).await;
    app.logout().await;

    login_pending(&app, &user).await;
    let response = give_code(&app, &code_now(&app, &secret)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(location(&app.get("/").await), "/login/second-factor");
}

#[tokio::test]
async fn a_recovery_code_signs_in_once_and_is_then_used_up() {
    let app = spawn_app().await;
    let user = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&user).await;
    let (_, codes) = enrol(&app).await;
    app.logout().await;

    login_pending(&app, &user).await;
    let response = give_code(&app, &codes[3].to_uppercase()).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    let page = app.get_html("/profile/two-factor").await;
    assert_eq!(unused_codes_on(&page), "9");
    app.logout().await;

    login_pending(&app, &user).await;
    let response = give_code(&app, &codes[3]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(location(&app.get("/").await), "/login/second-factor");
}

#[tokio::test]
async fn new_recovery_codes_need_the_current_password_and_replace_the_old_ones() {
    let app = spawn_app().await;
    let user = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&user).await;
    let (_, old_codes) = enrol(&app).await;

    let response = app
        .post_form(
            "/profile/two-factor/recovery-codes",
            &[("current_password", "not my password")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("a body");
    assert!(page.contains("Your current password is not right."));
    assert!(audit_entries(&app, "recovery_codes_regenerated").is_empty());

    let response = app
        .post_form(
            "/profile/two-factor/recovery-codes",
            &[("current_password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let new_codes = recovery_codes_on(&response.text().await.expect("a body"));
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|code| !old_codes.contains(code)));
    assert_eq!(audit_entries(&app, "recovery_codes_regenerated").len(), 1);
    app.logout().await;

    login_pending(&app, &user).await;
    let response = give_code(&app, &old_codes[0]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = give_code(&app, &new_codes[0]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
}

#[tokio::test]
async fn turning_the_second_factor_off_needs_the_current_password() {
    let app = spawn_app().await;
    let user = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&user).await;
    let (secret, _) = enrol(&app).await;

    let response = app
        .post_form(
            "/profile/two-factor/disable",
            &[("current_password", "not my password")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("a body");
    assert!(page.contains("Your current password is not right."));
    assert_eq!(totp_secret_of(&app, user.id), Some(secret));

    let response = app
        .post_form(
            "/profile/two-factor/disable",
            &[("current_password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/profile/two-factor");
    assert_eq!(totp_secret_of(&app, user.id), None);
    assert_eq!(audit_entries(&app, "second_factor_disabled").len(), 1);

    app.logout().await;
    app.login_as(&user).await;
}

#[tokio::test]
async fn the_second_factor_cannot_be_turned_off_while_an_admin_requires_it() {
    let app = spawn_app().await;
    let admin = app.admin();
    let user = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&user).await;
    let (secret, _) = enrol(&app).await;

    let admin_browser = app.open_browser();
    admin_browser.login_as(&admin).await;
    let response = admin_browser
        .post_form("/admin/settings", &[("require_second_factor", "on")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/settings");

    let page = app.get_html("/profile/two-factor").await;
    assert!(page.contains("so it cannot be turned off"));
    assert!(!page.contains("action=\"/profile/two-factor/disable\""));

    let response = app
        .post_form(
            "/profile/two-factor/disable",
            &[("current_password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.expect("a body");
    assert!(page.contains("requires a second factor, so it cannot be turned off"));
    assert_eq!(totp_secret_of(&app, user.id), Some(secret));
    assert!(audit_entries(&app, "second_factor_disabled").is_empty());
}

#[tokio::test]
async fn an_admin_resets_a_second_factor_so_the_user_signs_in_with_the_password_alone() {
    let app = spawn_app().await;
    let admin = app.admin();
    let user = app.create_user("sam@example.com", Role::Sales);
    app.login_as(&user).await;
    enrol(&app).await;
    app.logout().await;

    let admin_browser = app.open_browser();
    admin_browser.login_as(&admin).await;
    let path = format!("/admin/users/{}/reset-second-factor", user.id);
    let response = admin_browser.post_form(&path, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/admin/users/{}", user.id));
    assert_eq!(totp_secret_of(&app, user.id), None);
    assert_eq!(
        audit_entries(&app, "second_factor_reset"),
        vec![(Some(user.email.clone()), None)]
    );

    app.login_as(&user).await;
    let page = app.get_html("/profile/two-factor").await;
    assert!(
        page.contains("<code class=\"secret\">"),
        "enrolment is offered again"
    );
}

#[tokio::test]
async fn an_invitation_link_stops_working_once_the_user_has_set_a_password_another_way() {
    let app = spawn_app().await;
    let admin = app.admin();
    let admin_browser = app.open_browser();
    admin_browser.login_as(&admin).await;
    let invitation = invite(&app, &admin_browser, "ivy@example.com").await;

    let reset = reset_link(&app, "ivy@example.com").await;
    let response = app
        .post_form(&reset, &set_password_fields(NEW_PASSWORD))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    assert_eq!(app.get(&invitation).await.status(), StatusCode::NOT_FOUND);
    let response = app
        .post_form(&invitation, &set_password_fields("someone else's choice"))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app.login("ivy@example.com", NEW_PASSWORD).await;
    assert_eq!(location(&response), "/");
}

#[tokio::test]
async fn a_reset_link_stops_working_once_the_password_is_changed_on_the_profile() {
    let app = spawn_app().await;
    let user = app.create_user("sam@example.com", Role::Sales);
    let reset = reset_link(&app, &user.email).await;

    app.login_as(&user).await;
    let response = app
        .post_form(
            "/profile/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirmation", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.logout().await;

    assert_eq!(app.get(&reset).await.status(), StatusCode::NOT_FOUND);
}
