//! Web-to-lead forms: an admin designs a form and gets the snippet; a website's visitors
//! post it to `/f/{form_key}` without a session. Bots filling the honeypot, floods from one
//! address, oversized and invalid submissions and posts from other sites are refused (and
//! store nothing); a known email updates its lead or notes the contact instead of creating
//! a duplicate; double opt-in waits for the emailed link; earlier anonymous visits join the
//! new lead.

#[path = "../common/mod.rs"]
mod common;
use common::*;

use diesel::prelude::*;
use rapport::auth::model::Role;
use rapport::clock::Clock;
use rapport::db::schema::{
    contact_emails, contacts, email_outbox, lead_events, lead_form_confirmations, lead_forms,
    leads, timeline_entries,
};
use rapport::leads::events::{self, NewEvent};
use reqwest::StatusCode;
use serde_json::{Map, Value};

// ---------------------------------------------------------------------------------------
// Helpers

/// Creates a form through the admin page (signed in as `admin` in the app's browser) and
/// returns its id and key.
async fn create_form(app: &TestApp, extra: &[(&str, &str)]) -> (i64, String) {
    let mut fields: Vec<(&str, &str)> = vec![
        ("name", "Contact us"),
        ("fields", "first_name"),
        ("fields", "last_name"),
        ("fields", "company_name"),
        ("fields", "phone"),
        ("fields", "message"),
        ("required", "first_name"),
        ("source_label", "Pricing page"),
        ("thank_you_message", "Thanks, we will call you."),
    ];
    fields.extend_from_slice(extra);
    let response = app.post_form("/admin/forms", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "form created");
    let id: i64 = location(&response)
        .trim_start_matches("/admin/forms/")
        .parse()
        .expect("the form's id in the redirect");
    let key: String = lead_forms::table
        .find(id)
        .select(lead_forms::form_key)
        .first(&mut app.conn())
        .expect("the form");
    (id, key)
}

async fn signed_in_admin() -> TestApp {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    app
}

/// Posts the public form as a website visitor would: no session, no CSRF token.
async fn submit(app: &TestApp, key: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    http_client()
        .post(format!("{}/f/{key}", app.address))
        .form(fields)
        .send()
        .await
        .expect("POST")
}

async fn submit_from(
    app: &TestApp,
    key: &str,
    origin: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    http_client()
        .post(format!("{}/f/{key}", app.address))
        .header("Origin", origin)
        .form(fields)
        .send()
        .await
        .expect("POST")
}

fn lead_count(app: &TestApp) -> i64 {
    leads::table
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

fn event_count(app: &TestApp) -> i64 {
    lead_events::table
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

fn form_events(app: &TestApp, lead_id: i64) -> Vec<Map<String, Value>> {
    lead_events::table
        .filter(lead_events::lead_id.eq(lead_id))
        .filter(lead_events::name.eq("form_submitted"))
        .order(lead_events::id)
        .select(lead_events::properties)
        .load::<String>(&mut app.conn())
        .expect("events")
        .iter()
        .map(|text| serde_json::from_str(text).expect("JSON properties"))
        .collect()
}

/// The one lead there should be, with the fields the tests look at.
#[derive(Debug, Queryable)]
struct LeadRow {
    id: i64,
    first_name: String,
    source: String,
    email: Option<String>,
    phone: Option<String>,
    status: String,
}

fn only_lead(app: &TestApp) -> LeadRow {
    let mut rows: Vec<LeadRow> = leads::table
        .select((
            leads::id,
            leads::first_name,
            leads::source,
            leads::email,
            leads::phone,
            leads::status,
        ))
        .load(&mut app.conn())
        .expect("leads");
    assert_eq!(rows.len(), 1, "exactly one lead");
    rows.remove(0)
}

// ---------------------------------------------------------------------------------------
// Admin

#[tokio::test]
async fn an_admin_creates_a_form_and_sees_the_snippet_to_paste() {
    let app = signed_in_admin().await;
    let empty = app.get_html("/admin/forms").await;
    assert!(empty.contains("No forms yet"));
    let new = app.get_html("/admin/forms/new").await;
    assert!(new.contains("Double opt-in"));

    let (id, key) = create_form(&app, &[("allowed_origins", "https://www.example.com")]).await;
    assert!(key.len() >= 20, "the key is long enough not to be guessed");
    let page = app.get_html(&format!("/admin/forms/{id}")).await;
    assert!(
        page.contains(&format!("{}/f/{key}", app.address)),
        "the snippet posts to the form"
    );
    for name in [
        "first_name",
        "last_name",
        "company_name",
        "message",
        "nickname",
        "rapport_visitor",
    ] {
        assert!(page.contains(name), "the snippet has {name}");
    }
    assert!(
        page.contains("position:absolute;left:-10000px"),
        "the honeypot is hidden"
    );
    assert!(
        !page.contains("name=&#34;job_title&#34;") && !page.contains("name=&quot;job_title&quot;")
    );

    let list = app.get_html("/admin/forms").await;
    assert!(list.contains("Contact us") && list.contains("Pricing page"));

    let edited = app
        .post_form(
            &format!("/admin/forms/{id}"),
            &[
                ("name", "Demo request"),
                ("fields", "job_title"),
                ("redirect_url", "https://www.example.com/thanks"),
            ],
        )
        .await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);
    let (name, fields, redirect): (String, String, Option<String>) = lead_forms::table
        .find(id)
        .select((
            lead_forms::name,
            lead_forms::fields,
            lead_forms::redirect_url,
        ))
        .first(&mut app.conn())
        .expect("the form");
    assert_eq!(name, "Demo request");
    assert_eq!(fields, "email,job_title");
    assert_eq!(redirect.as_deref(), Some("https://www.example.com/thanks"));
}

#[tokio::test]
async fn invalid_form_settings_are_refused_with_their_messages_and_nothing_is_saved() {
    let app = signed_in_admin().await;
    let response = app
        .post_form(
            "/admin/forms",
            &[
                ("name", ""),
                ("redirect_url", "javascript:alert(1)"),
                ("allowed_origins", "http://insecure.example/page"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("a body");
    assert!(page.contains("Enter the name."));
    assert!(page.contains("Enter a full web address"));
    assert!(page.contains("is not a site address"));
    let forms: i64 = lead_forms::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(forms, 0);
}

#[tokio::test]
async fn sales_and_support_get_403_on_the_forms_admin() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let (id, _) = create_form(&app, &[]).await;
    for (email, role) in [
        ("rep@example.com", Role::Sales),
        ("help@example.com", Role::Support),
    ] {
        let user = app.create_user(email, role);
        let browser = app.open_browser();
        browser.login_as(&user).await;
        assert_eq!(
            browser.get("/admin/forms").await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            browser.get(&format!("/admin/forms/{id}")).await.status(),
            StatusCode::FORBIDDEN
        );
        let post = browser
            .post_form(&format!("/admin/forms/{id}/deactivate"), &[])
            .await;
        assert_eq!(post.status(), StatusCode::FORBIDDEN);
    }
    let active: bool = lead_forms::table
        .find(id)
        .select(lead_forms::active)
        .first(&mut app.conn())
        .expect("the form");
    assert!(active);
}

// ---------------------------------------------------------------------------------------
// Public submissions

#[tokio::test]
async fn a_public_submission_creates_a_web_form_lead_with_a_form_submitted_event_on_its_timeline() {
    let app = signed_in_admin().await;
    let (id, key) = create_form(&app, &[]).await;
    let response = submit(
        &app,
        &key,
        &[
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("email", "Ada@Example.com"),
            ("company_name", "Analytical Engines"),
            ("message", "Call me about pricing"),
            ("nickname", ""),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("a body");
    assert!(page.contains("Thanks, we will call you."));

    let lead = only_lead(&app);
    let lead_id = lead.id;
    assert_eq!(lead.first_name, "Ada");
    assert_eq!(lead.source, "web_form");
    assert_eq!(lead.email.as_deref(), Some("ada@example.com"));
    assert_eq!(lead.status, "new");
    let events = form_events(&app, lead_id);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["form"], "Contact us");
    assert_eq!(events[0]["source_label"], "Pricing page");
    assert_eq!(events[0]["message"], "Call me about pricing");

    let lead_page = app.get_html(&format!("/leads/{lead_id}")).await;
    assert!(lead_page.contains("form_submitted Contact us"));
    assert!(lead_page.contains("Pricing page"));
    assert!(
        lead_page.contains("Call me about pricing"),
        "the message is on the timeline"
    );
    let found = app.get_html("/search?q=lovel").await;
    assert!(
        found.contains(&format!("/leads/{lead_id}")),
        "the new lead is searchable"
    );
    let submissions: i64 = lead_forms::table
        .find(id)
        .select(lead_forms::submissions)
        .first(&mut app.conn())
        .expect("the form");
    assert_eq!(submissions, 1);
}

#[tokio::test]
async fn a_form_with_a_redirect_sends_the_visitor_there_with_a_303() {
    let app = signed_in_admin().await;
    let (_, key) = create_form(&app, &[("redirect_url", "https://www.example.com/thanks")]).await;
    let response = submit(
        &app,
        &key,
        &[("first_name", "Ada"), ("email", "ada@example.com")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "https://www.example.com/thanks");
    assert_eq!(lead_count(&app), 1);
}

#[tokio::test]
async fn a_filled_honeypot_is_answered_as_accepted_and_nothing_is_stored() {
    let app = signed_in_admin().await;
    let (id, key) = create_form(&app, &[]).await;
    let response = submit(
        &app,
        &key,
        &[
            ("first_name", "Bot"),
            ("email", "bot@example.com"),
            ("nickname", "spammy"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .text()
            .await
            .expect("a body")
            .contains("Thanks, we will call you.")
    );
    assert_eq!(lead_count(&app), 0);
    assert_eq!(event_count(&app), 0);
    let submissions: i64 = lead_forms::table
        .find(id)
        .select(lead_forms::submissions)
        .first(&mut app.conn())
        .expect("the form");
    assert_eq!(submissions, 0);
}

#[tokio::test]
async fn one_address_sending_too_many_submissions_gets_429() {
    let app = signed_in_admin().await;
    let (_, key) = create_form(&app, &[]).await;
    for n in 0..rapport::leads::forms::service::BURST_PER_ADDRESS {
        let email = format!("person{n}@example.com");
        let response = submit(&app, &key, &[("first_name", "Ada"), ("email", &email)]).await;
        assert_eq!(response.status(), StatusCode::OK, "submission {n}");
    }
    let response = submit(
        &app,
        &key,
        &[("first_name", "Ada"), ("email", "late@example.com")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        response
            .text()
            .await
            .expect("a body")
            .contains("Too many submissions")
    );
    assert_eq!(
        lead_count(&app),
        i64::from(rapport::leads::forms::service::BURST_PER_ADDRESS)
    );
}

#[tokio::test]
async fn an_oversized_submission_gets_413_and_nothing_is_stored() {
    let app = signed_in_admin().await;
    let (_, key) = create_form(&app, &[]).await;
    let message = "x".repeat(20 * 1024);
    let response = submit(
        &app,
        &key,
        &[
            ("first_name", "Ada"),
            ("email", "ada@example.com"),
            ("message", &message),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        response
            .text()
            .await
            .expect("a body")
            .contains("Too much text")
    );
    assert_eq!(lead_count(&app), 0);
    assert_eq!(event_count(&app), 0);
}

#[tokio::test]
async fn an_invalid_submission_gets_a_422_page_listing_what_is_wrong_and_nothing_is_stored() {
    let app = signed_in_admin().await;
    let (_, key) = create_form(&app, &[]).await;
    let response = submit(
        &app,
        &key,
        &[
            ("first_name", ""),
            ("email", "not an email"),
            ("phone", "call me maybe"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("a body");
    assert!(page.contains("Please check the form"));
    assert!(page.contains("First name: First name is required."));
    assert!(page.contains("Email:"));
    assert!(page.contains("Phone:"));
    assert_eq!(lead_count(&app), 0);
    assert_eq!(event_count(&app), 0);
}

#[tokio::test]
async fn unknown_and_deactivated_forms_get_a_404_page() {
    let app = signed_in_admin().await;
    let (id, key) = create_form(&app, &[]).await;
    let unknown = submit(&app, "no-such-form", &[("email", "ada@example.com")]).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let deactivated = app
        .post_form(&format!("/admin/forms/{id}/deactivate"), &[])
        .await;
    assert_eq!(deactivated.status(), StatusCode::SEE_OTHER);
    let response = submit(
        &app,
        &key,
        &[("first_name", "Ada"), ("email", "ada@example.com")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response
            .text()
            .await
            .expect("a body")
            .contains("no longer accepts submissions")
    );
    assert_eq!(lead_count(&app), 0);
}

#[tokio::test]
async fn the_email_of_an_existing_lead_updates_its_empty_fields_instead_of_creating_a_duplicate() {
    let app = signed_in_admin().await;
    let (_, key) = create_form(&app, &[]).await;
    submit(
        &app,
        &key,
        &[("first_name", "Ada"), ("email", "ada@example.com")],
    )
    .await;
    let response = submit(
        &app,
        &key,
        &[
            ("first_name", "Augusta"),
            ("email", "ADA@example.com"),
            ("phone", "+44 20 7946 0000"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let lead = only_lead(&app);
    let lead_id = lead.id;
    assert_eq!(lead.first_name, "Ada", "what the lead has is kept");
    assert_eq!(
        lead.phone.as_deref(),
        Some("+44 20 7946 0000"),
        "an empty field is filled"
    );
    assert_eq!(form_events(&app, lead_id).len(), 2);
    let lead_page = app.get_html(&format!("/leads/{lead_id}")).await;
    assert!(lead_page.contains("Filled in from the web form Contact us: phone"));
}

#[tokio::test]
async fn the_email_of_a_contact_notes_the_submission_on_its_timeline_and_creates_no_lead() {
    let app = signed_in_admin().await;
    let (_, key) = create_form(&app, &[]).await;
    let now = app.clock.now();
    let contact_id: i64 = diesel::insert_into(contacts::table)
        .values((
            contacts::first_name.eq("Grace"),
            contacts::last_name.eq("Hopper"),
            contacts::sort_name.eq("hopper grace"),
            contacts::created_at.eq(now),
            contacts::updated_at.eq(now),
        ))
        .returning(contacts::id)
        .get_result(&mut app.conn())
        .expect("contact");
    diesel::insert_into(contact_emails::table)
        .values(&vec![
            (
                contact_emails::contact_id.eq(contact_id),
                contact_emails::email.eq("grace@navy.example"),
                contact_emails::is_primary.eq(true),
            ),
            (
                contact_emails::contact_id.eq(contact_id),
                contact_emails::email.eq("grace@home.example"),
                contact_emails::is_primary.eq(false),
            ),
        ])
        .execute(&mut app.conn())
        .expect("emails");

    let response = submit(
        &app,
        &key,
        &[("first_name", "Grace"), ("email", "Grace@Home.example")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(lead_count(&app), 0);
    let bodies: Vec<String> = timeline_entries::table
        .filter(timeline_entries::contact_id.eq(contact_id))
        .filter(timeline_entries::kind.eq("event"))
        .select(timeline_entries::body)
        .load(&mut app.conn())
        .expect("entries");
    assert_eq!(bodies.len(), 2, "the submission and what was sent");
    assert_eq!(bodies[0], "form_submitted Contact us");
    assert!(bodies[1].contains("Email: grace@home.example"));
    assert!(bodies[1].contains("First name: Grace"));
}

#[tokio::test]
async fn a_form_limited_to_some_sites_refuses_others_with_403() {
    let app = signed_in_admin().await;
    let (_, key) = create_form(&app, &[("allowed_origins", "https://www.example.com")]).await;
    let fields = [("first_name", "Ada"), ("email", "ada@example.com")];
    let elsewhere = submit_from(&app, &key, "https://evil.example", &fields).await;
    assert_eq!(elsewhere.status(), StatusCode::FORBIDDEN);
    assert!(
        elsewhere
            .text()
            .await
            .expect("a body")
            .contains("Not accepted from this site")
    );
    let unnamed = submit(&app, &key, &fields).await;
    assert_eq!(unnamed.status(), StatusCode::FORBIDDEN);
    assert_eq!(lead_count(&app), 0);
    let allowed = submit_from(&app, &key, "https://www.example.com", &fields).await;
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(lead_count(&app), 1);
}

#[tokio::test]
async fn double_opt_in_creates_the_lead_only_when_the_emailed_links_button_is_pressed_once() {
    let app = signed_in_admin().await;
    let (_, key) = create_form(&app, &[("double_opt_in", "on")]).await;
    let response = submit(
        &app,
        &key,
        &[("first_name", "Ada"), ("email", "ada@example.com")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .text()
            .await
            .expect("a body")
            .contains("Check your email")
    );
    assert_eq!(lead_count(&app), 0);

    app.eventually("the confirmation email arrives", || {
        !app.smtp.received_by("ada@example.com").is_empty()
    })
    .await;
    let email = app.smtp.received_by("ada@example.com").remove(0);
    assert_eq!(email.subject, "Please confirm your email address");
    assert!(email.body.contains("Contact us"));
    let link = link_in(&email.body, &format!("{}/f/", app.address));
    let token_hash: String = lead_form_confirmations::table
        .select(lead_form_confirmations::token_hash)
        .first(&mut app.conn())
        .expect("pending");
    assert!(
        !link.contains(&token_hash),
        "only the token's hash is stored"
    );
    assert_eq!(lead_count(&app), 0, "no lead until the link is followed");

    let again = submit(
        &app,
        &key,
        &[("first_name", "Ada"), ("email", "ada@example.com")],
    )
    .await;
    assert!(
        again
            .text()
            .await
            .expect("a body")
            .contains("Check your email")
    );
    let queued: i64 = email_outbox::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(
        queued, 1,
        "a second submission soon after sends no second email"
    );

    // Opening the link (as a mail scanner fetching it would) only shows a button.
    let path = link.trim_start_matches(&app.address);
    let visitor = app.open_browser();
    let opened = visitor.get(path).await;
    assert_eq!(opened.status(), StatusCode::OK);
    let page = opened.text().await.expect("a body");
    assert!(page.contains("Confirm your subscription"), "{page}");
    assert!(page.contains(&format!("action=\"/f/{key}/confirm\"")));
    let token = hidden_token(&page);
    assert!(path.ends_with(&token), "the page posts the link's token");
    let opened_again = visitor.get(path).await;
    assert_eq!(opened_again.status(), StatusCode::OK);
    assert_eq!(lead_count(&app), 0, "opening the link confirms nothing");
    assert_eq!(confirmed_at(&app), None);
    assert_eq!(event_count(&app), 0);

    let confirmed = confirm(&app, &key, &token).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert!(
        confirmed
            .text()
            .await
            .expect("a body")
            .contains("Confirmed")
    );
    assert!(confirmed_at(&app).is_some());
    let lead = only_lead(&app);
    let lead_id = lead.id;
    assert_eq!(
        (lead.first_name.as_str(), lead.source.as_str()),
        ("Ada", "web_form")
    );
    assert_eq!(form_events(&app, lead_id).len(), 1);

    let again = confirm(&app, &key, &token).await;
    assert_eq!(again.status(), StatusCode::GONE);
    assert!(
        again
            .text()
            .await
            .expect("a body")
            .contains("Already confirmed")
    );
    assert_eq!(lead_count(&app), 1);
    assert_eq!(form_events(&app, lead_id).len(), 1, "nothing changed");
    let reopened = visitor.get(path).await;
    assert_eq!(reopened.status(), StatusCode::GONE);
    assert!(
        reopened
            .text()
            .await
            .expect("a body")
            .contains("Already confirmed")
    );
}

/// The token in the confirmation page's form.
fn hidden_token(page: &str) -> String {
    let marker = "name=\"token\" value=\"";
    let start = page.find(marker).expect("the page has the token") + marker.len();
    let end = page[start..].find('"').expect("the value ends") + start;
    page[start..end].to_owned()
}

fn confirmed_at(app: &TestApp) -> Option<chrono::NaiveDateTime> {
    lead_form_confirmations::table
        .select(lead_form_confirmations::confirmed_at)
        .first(&mut app.conn())
        .expect("pending")
}

/// Presses the confirmation page's button: a sessionless POST carrying the token.
async fn confirm(app: &TestApp, key: &str, token: &str) -> reqwest::Response {
    http_client()
        .post(format!("{}/f/{key}/confirm", app.address))
        .form(&[("token", token)])
        .send()
        .await
        .expect("POST")
}

#[tokio::test]
async fn an_expired_confirmation_link_creates_nothing() {
    let app = signed_in_admin().await;
    let (_, key) = create_form(&app, &[("double_opt_in", "on")]).await;
    submit(
        &app,
        &key,
        &[("first_name", "Ada"), ("email", "ada@example.com")],
    )
    .await;
    app.eventually("the confirmation email arrives", || {
        !app.smtp.received_by("ada@example.com").is_empty()
    })
    .await;
    let email = app.smtp.received_by("ada@example.com").remove(0);
    let link = link_in(&email.body, &format!("{}/f/", app.address));
    app.clock.advance(chrono::Duration::days(8));
    let response = app
        .open_browser()
        .get(link.trim_start_matches(&app.address))
        .await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert!(response.text().await.expect("a body").contains("expired"));
    let token = link.rsplit('/').next().expect("the token ends the link");
    let pressed = confirm(&app, &key, token).await;
    assert_eq!(pressed.status(), StatusCode::GONE);
    assert!(pressed.text().await.expect("a body").contains("expired"));
    assert_eq!(lead_count(&app), 0);
    assert_eq!(confirmed_at(&app), None);

    let unknown = app
        .open_browser()
        .get(&format!("/f/{key}/confirm/not-a-token"))
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(
        unknown
            .text()
            .await
            .expect("a body")
            .contains("Link not found")
    );
    let unknown = confirm(&app, &key, "not-a-token").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let without_token = http_client()
        .post(format!("{}/f/{key}/confirm", app.address))
        .form(&[("nothing", "")])
        .send()
        .await
        .expect("POST");
    assert_eq!(without_token.status(), StatusCode::NOT_FOUND);
    let other_form = confirm(&app, "not-the-form", token).await;
    assert_eq!(other_form.status(), StatusCode::NOT_FOUND);
    assert_eq!(lead_count(&app), 0);
}

#[tokio::test]
async fn a_visitors_earlier_anonymous_events_join_the_lead_their_submission_creates() {
    let app = signed_in_admin().await;
    let (_, key) = create_form(&app, &[]).await;
    let now = app.clock.now();
    let mut properties = Map::new();
    properties.insert("path".to_owned(), Value::String("/pricing".to_owned()));
    let event_id = events::record(
        &mut app.conn(),
        &NewEvent {
            lead_id: None,
            visitor_id: Some("v-123"),
            name: "page_view",
            properties: &properties,
            occurred_at: now,
        },
        now,
    )
    .expect("event stored");

    let response = submit(
        &app,
        &key,
        &[
            ("first_name", "Ada"),
            ("email", "ada@example.com"),
            ("rapport_visitor", "v-123"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let lead_id = only_lead(&app).id;
    let owner: Option<i64> = lead_events::table
        .find(event_id)
        .select(lead_events::lead_id)
        .first(&mut app.conn())
        .expect("the event");
    assert_eq!(owner, Some(lead_id));
    let lead_page = app.get_html(&format!("/leads/{lead_id}")).await;
    assert!(lead_page.contains("page_view /pricing"));
}

/// Creates a site key for events from `https://www.example.com` (as the signed-in admin)
/// and returns it as shown once.
async fn site_key(app: &TestApp) -> String {
    let response = app
        .post_form(
            "/admin/sites",
            &[
                ("name", "Marketing site"),
                ("origins", "https://www.example.com"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("a page");
    let marker = "data-key=\"";
    let start = page.find(marker).expect("the key is shown") + marker.len();
    let end = page[start..].find('"').expect("the key ends") + start;
    page[start..end].to_owned()
}

/// Sends one page view of `visitor` to the events API, as the tracking script does.
async fn page_view(app: &TestApp, key: &str, visitor: &str, path: &str) {
    let response = http_client()
        .post(format!("{}/api/v1/events", app.address))
        .header("Authorization", format!("Bearer {key}"))
        .header("Content-Type", "application/json")
        .body(
            serde_json::json!({
                "name": "page_view",
                "visitor_id": visitor,
                "properties": {"path": path},
            })
            .to_string(),
        )
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::OK);
}

/// (lead id, contact id) of every event of `visitor`.
fn owners_of_visits(app: &TestApp, visitor: &str) -> Vec<(Option<i64>, Option<i64>)> {
    lead_events::table
        .filter(lead_events::visitor_id.eq(visitor))
        .order(lead_events::id)
        .select((lead_events::lead_id, lead_events::contact_id))
        .load(&mut app.conn())
        .expect("events")
}

#[tokio::test]
async fn a_contacts_submission_joins_the_visitors_earlier_and_later_visits_to_the_contact() {
    let app = signed_in_admin().await;
    let (_, key) = create_form(&app, &[]).await;
    let site = site_key(&app).await;
    let now = app.clock.now();
    let contact_id: i64 = diesel::insert_into(contacts::table)
        .values((
            contacts::first_name.eq("Grace"),
            contacts::last_name.eq("Hopper"),
            contacts::sort_name.eq("hopper grace"),
            contacts::created_at.eq(now),
            contacts::updated_at.eq(now),
        ))
        .returning(contacts::id)
        .get_result(&mut app.conn())
        .expect("contact");
    diesel::insert_into(contact_emails::table)
        .values((
            contact_emails::contact_id.eq(contact_id),
            contact_emails::email.eq("grace@navy.example"),
            contact_emails::is_primary.eq(true),
        ))
        .execute(&mut app.conn())
        .expect("email");
    let visitor = "7b1e0c55d2a34f9e8c6a1b2c3d4e5f60";
    page_view(&app, &site, visitor, "/pricing").await;
    page_view(&app, &site, visitor, "/pricing/teams").await;
    let contact_page = app.get_html(&format!("/contacts/{contact_id}")).await;
    assert!(
        !contact_page.contains("page_view /pricing"),
        "anonymous visits belong to nobody yet"
    );

    let response = submit(
        &app,
        &key,
        &[
            ("first_name", "Grace"),
            ("email", "grace@navy.example"),
            ("rapport_visitor", visitor),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(lead_count(&app), 0, "a contact's submission makes no lead");
    let contact_page = app.get_html(&format!("/contacts/{contact_id}")).await;
    assert!(
        contact_page.contains("page_view /pricing"),
        "{contact_page}"
    );
    assert!(contact_page.contains("page_view /pricing/teams"));
    assert!(contact_page.contains("form_submitted Contact us"));
    assert_eq!(
        owners_of_visits(&app, visitor),
        vec![(None, Some(contact_id)); 3],
        "the two visits and the submission are the contact's"
    );

    // A later visit of the same visitor goes straight to the contact.
    page_view(&app, &site, visitor, "/docs/api").await;
    let contact_page = app.get_html(&format!("/contacts/{contact_id}")).await;
    assert!(
        contact_page.contains("page_view /docs/api"),
        "{contact_page}"
    );
    assert_eq!(
        owners_of_visits(&app, visitor).last(),
        Some(&(None, Some(contact_id)))
    );
    // Another visitor's visits stay anonymous.
    page_view(&app, &site, "someone-else-0001", "/pricing").await;
    assert_eq!(
        owners_of_visits(&app, "someone-else-0001"),
        vec![(None, None)]
    );
}
