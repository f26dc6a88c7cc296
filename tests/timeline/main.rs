//! The 360° timeline through the real stack: notes, calls and meetings on contacts and
//! companies (with and without htmx), @mentions by email, and the global search page.

#[path = "../common/mod.rs"]
mod common;

use chrono::{NaiveDateTime, TimeZone};
use common::*;
use diesel::prelude::*;
use rapport::auth::model::Role;
use rapport::clock::Clock;
use rapport::db::schema::{
    companies, contact_emails, contact_phones, contacts, email_outbox, timeline_entries, users,
};
use reqwest::{Response, StatusCode};

fn now(app: &TestApp) -> NaiveDateTime {
    app.clock.now()
}

/// A company inserted straight into the database and indexed for search.
fn insert_company(app: &TestApp, name: &str, domain: Option<&str>) -> i64 {
    let conn = &mut app.conn();
    let at = now(app);
    let id = diesel::insert_into(companies::table)
        .values((
            companies::name.eq(name),
            companies::sort_name.eq(name.to_lowercase()),
            companies::domain.eq(domain),
            companies::created_at.eq(at),
            companies::updated_at.eq(at),
        ))
        .returning(companies::id)
        .get_result(conn)
        .expect("company inserted");
    rapport::search::index_company(conn, id).expect("company indexed");
    id
}

/// A contact inserted straight into the database (with an optional primary email and
/// phone) and indexed for search.
fn insert_contact(
    app: &TestApp,
    first: &str,
    last: &str,
    company_id: Option<i64>,
    email: Option<&str>,
    phone: Option<&str>,
) -> i64 {
    let conn = &mut app.conn();
    let at = now(app);
    let id = diesel::insert_into(contacts::table)
        .values((
            contacts::first_name.eq(first),
            contacts::last_name.eq(last),
            contacts::sort_name.eq(format!("{last} {first}").to_lowercase()),
            contacts::company_id.eq(company_id),
            contacts::created_at.eq(at),
            contacts::updated_at.eq(at),
        ))
        .returning(contacts::id)
        .get_result(conn)
        .expect("contact inserted");
    if let Some(email) = email {
        diesel::insert_into(contact_emails::table)
            .values((
                contact_emails::contact_id.eq(id),
                contact_emails::email.eq(email),
                contact_emails::is_primary.eq(true),
            ))
            .execute(conn)
            .expect("email inserted");
    }
    if let Some(phone) = phone {
        diesel::insert_into(contact_phones::table)
            .values((
                contact_phones::contact_id.eq(id),
                contact_phones::phone.eq(phone),
                contact_phones::is_primary.eq(true),
            ))
            .execute(conn)
            .expect("phone inserted");
    }
    rapport::search::index_contact(conn, id).expect("contact indexed");
    id
}

#[derive(Debug, Queryable)]
struct StoredEntry {
    contact_id: Option<i64>,
    company_id: Option<i64>,
    kind: String,
    author_id: Option<i64>,
    occurred_at: NaiveDateTime,
    body: String,
    outcome: Option<String>,
    duration_minutes: Option<i32>,
}

/// Every timeline entry, oldest first.
fn entries(app: &TestApp) -> Vec<StoredEntry> {
    timeline_entries::table
        .order(timeline_entries::id.asc())
        .select((
            timeline_entries::contact_id,
            timeline_entries::company_id,
            timeline_entries::kind,
            timeline_entries::author_id,
            timeline_entries::occurred_at,
            timeline_entries::body,
            timeline_entries::outcome,
            timeline_entries::duration_minutes,
        ))
        .load(&mut app.conn())
        .expect("timeline entries")
}

/// Posts a form as htmx does: the form's fields (with its CSRF token) and `HX-Request`.
async fn post_htmx(browser: &Browser, path: &str, fields: &[(&str, &str)]) -> Response {
    let token = browser.csrf_token().await;
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("csrf_token", &token));
    browser
        .client
        .post(browser.url(path))
        .header("HX-Request", "true")
        .form(&all)
        .send()
        .await
        .expect("htmx POST")
}

async fn signed_in(app: &TestApp, role: Role) -> TestUser {
    let email = format!("{}@example.com", role.as_str());
    let user = app.create_user(&email, role);
    app.login_as(&user).await;
    user
}

/// Where `needle` first appears in `haystack`, for order assertions.
fn position(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not in the page"))
}

// --- Notes -------------------------------------------------------------------------------

#[tokio::test]
async fn a_note_is_stored_and_the_timeline_shows_notes_newest_first() {
    let app = spawn_app().await;
    let rep = signed_in(&app, Role::Sales).await;
    let ada = insert_contact(&app, "Ada", "Lovelace", None, None, None);

    let response = app
        .post_form(
            &format!("/contacts/{ada}/notes"),
            &[("body", "First call went well")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/contacts/{ada}#timeline"));
    app.clock.advance(chrono::Duration::minutes(5));
    let response = post_htmx(
        &app,
        &format!("/contacts/{ada}/notes"),
        &[("body", "Sent the proposal")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let partial = response.text().await.expect("a body");

    let stored = entries(&app);
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].kind, "note");
    assert_eq!(stored[0].body, "First call went well");
    assert_eq!(stored[0].contact_id, Some(ada));
    assert_eq!(stored[0].author_id, Some(rep.id));
    assert!(
        position(&partial, "Sent the proposal") < position(&partial, "First call went well"),
        "newest first"
    );
    assert!(partial.contains("Sales Tester"), "the author is shown");
}

#[tokio::test]
async fn a_note_sent_by_htmx_answers_with_the_timeline_section_alone() {
    let app = spawn_app().await;
    signed_in(&app, Role::Sales).await;
    let ada = insert_contact(&app, "Ada", "Lovelace", None, None, None);

    let response = post_htmx(
        &app,
        &format!("/contacts/{ada}/notes"),
        &[("body", "Asked about pricing")],
    )
    .await;

    assert_eq!(response.status(), StatusCode::OK);
    let partial = response.text().await.expect("a body");
    assert!(
        partial
            .trim_start()
            .starts_with("<section class=\"card timeline\" id=\"timeline\">")
    );
    assert!(!partial.contains("<html"), "no page around it");
    assert!(partial.contains("Asked about pricing"));
    assert!(
        partial.contains(&format!("hx-post=\"/contacts/{ada}/notes\"")),
        "the fresh form is back, ready for the next note"
    );
    assert!(partial.contains("name=\"csrf_token\""));
    assert_eq!(entries(&app).len(), 1);
}

#[tokio::test]
async fn an_empty_note_is_refused_next_to_the_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    signed_in(&app, Role::Sales).await;
    let ada = insert_contact(&app, "Ada", "Lovelace", None, None, None);

    let response = app
        .post_form(&format!("/contacts/{ada}/notes"), &[("body", "  \r\n ")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("a body");
    assert!(
        page.contains("<p class=\"field-error\" id=\"note-body-error\">Write the note first.</p>")
    );
    assert!(
        page.contains(&format!("href=\"/contacts/{ada}\">Ada Lovelace</a>")),
        "a way back"
    );

    let response = post_htmx(&app, &format!("/contacts/{ada}/notes"), &[("body", "")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let partial = response.text().await.expect("a body");
    assert!(partial.contains("Write the note first."));
    assert!(!partial.contains("<html"));

    let too_long = "x".repeat(10_001);
    let response = app
        .post_form(&format!("/contacts/{ada}/notes"), &[("body", &too_long)])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("a body");
    assert!(page.contains("at most 10,000 characters"));
    assert!(page.contains(&too_long), "what was typed is kept");

    assert!(entries(&app).is_empty());
}

#[tokio::test]
async fn the_contact_and_company_pages_show_the_timeline_with_its_forms_newest_first() {
    let app = spawn_app().await;
    signed_in(&app, Role::Support).await;
    let acme = insert_company(&app, "Acme", None);
    let ada = insert_contact(&app, "Ada", "Lovelace", Some(acme), None, None);
    let response = app
        .post_form(&format!("/contacts/{ada}/notes"), &[("body", "Older note")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.clock.advance(chrono::Duration::minutes(1));
    let response = app
        .post_form(
            &format!("/contacts/{ada}/activities"),
            &[
                ("kind", "call"),
                ("outcome", "connected"),
                ("duration_minutes", "12"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let page = app.get_html(&format!("/contacts/{ada}")).await;
    assert!(page.contains("Call logged."), "the flash confirms it");
    assert!(page.contains(&format!("action=\"/contacts/{ada}/notes#timeline\"")));
    assert!(page.contains(&format!("action=\"/contacts/{ada}/activities#timeline\"")));
    assert!(position(&page, "12 min") < position(&page, "Older note"));

    let page = app.get_html(&format!("/companies/{acme}")).await;
    assert!(page.contains(&format!("action=\"/companies/{acme}/notes#timeline\"")));
    assert!(position(&page, "12 min") < position(&page, "Older note"));
}

#[tokio::test]
async fn a_long_timeline_is_paged_with_a_link_to_older_entries() {
    let app = spawn_app().await;
    let rep = signed_in(&app, Role::Sales).await;
    let ada = insert_contact(&app, "Ada", "Lovelace", None, None, None);
    let start = now(&app) - chrono::Duration::days(1);
    {
        let conn = &mut app.conn();
        for n in 0..51 {
            let body = format!("Entry number {n:02}.");
            rapport::contacts::timeline::add(
                conn,
                &rapport::contacts::timeline::NewEntry {
                    deal_id: None,
                    lead_id: None,
                    contact_id: Some(ada),
                    company_id: None,
                    kind: rapport::contacts::timeline::Kind::Note,
                    author_id: Some(rep.id),
                    occurred_at: start + chrono::Duration::minutes(n),
                    recorded_at: start + chrono::Duration::minutes(n),
                    body: &body,
                    outcome: None,
                    duration_minutes: None,
                },
            )
            .expect("entry added");
        }
    }

    let page = app.get_html(&format!("/contacts/{ada}")).await;
    assert!(page.contains("Entry number 50."));
    assert!(page.contains("Entry number 01."));
    assert!(!page.contains("Entry number 00."));
    let older = link_in(&page, &format!("/contacts/{ada}?before="));
    let older = older
        .trim_end_matches("\">Older")
        .split('"')
        .next()
        .expect("a link");
    let page = app.get_html(older).await;
    assert!(page.contains("Entry number 00."));
    assert!(!page.contains("Entry number 01."));
}

#[tokio::test]
async fn a_note_of_ten_thousand_characters_in_any_script_is_accepted_and_one_more_is_refused() {
    let app = spawn_app().await;
    signed_in(&app, Role::Sales).await;
    let ada = insert_contact(&app, "Ada", "Lovelace", None, None, None);
    let path = format!("/contacts/{ada}/notes");

    let longest = "😀".repeat(10_000);
    let response = app.post_form(&path, &[("body", &longest)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = app
        .post_form(&path, &[("body", &format!("{longest}😀"))])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("a body")
            .contains("this one has 10001")
    );

    let stored = entries(&app);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].body, longest);
}

// --- Calls and meetings ----------------------------------------------------------------

#[tokio::test]
async fn a_call_is_logged_with_its_outcome_duration_and_summary() {
    let app = spawn_app().await;
    let rep = signed_in(&app, Role::Sales).await;
    let acme = insert_company(&app, "Acme", Some("acme.example"));
    let ada = insert_contact(&app, "Ada", "Lovelace", Some(acme), None, None);

    let response = post_htmx(
        &app,
        &format!("/contacts/{ada}/activities"),
        &[
            ("kind", "call"),
            ("outcome", "left voicemail"),
            ("duration_minutes", "3"),
            ("occurred_at", ""),
            ("body", "Will try again Monday"),
        ],
    )
    .await;

    assert_eq!(response.status(), StatusCode::OK);
    let partial = response.text().await.expect("a body");
    assert!(partial.contains("3 min"));
    assert!(partial.contains("left voicemail"));
    assert!(partial.contains("Will try again Monday"));
    let stored = entries(&app);
    assert_eq!(stored.len(), 1);
    let call = &stored[0];
    assert_eq!(call.kind, "call");
    assert_eq!(call.outcome.as_deref(), Some("left voicemail"));
    assert_eq!(call.duration_minutes, Some(3));
    assert_eq!(call.occurred_at, now(&app), "no time given means now");
    assert_eq!((call.contact_id, call.company_id), (Some(ada), Some(acme)));
    assert_eq!(call.author_id, Some(rep.id));
}

#[tokio::test]
async fn a_call_with_bad_fields_is_refused_field_by_field_and_nothing_is_stored() {
    let app = spawn_app().await;
    signed_in(&app, Role::Sales).await;
    let ada = insert_contact(&app, "Ada", "Lovelace", None, None, None);

    let response = app
        .post_form(
            &format!("/contacts/{ada}/activities"),
            &[
                ("kind", "lunch"),
                ("outcome", &"o".repeat(201)),
                ("duration_minutes", "1441"),
                ("occurred_at", "soon"),
                ("body", "Kept"),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("a body");
    assert!(page.contains("id=\"activity-kind-error\">Choose a call or a meeting.</p>"));
    assert!(
        page.contains(
            "id=\"activity-outcome-error\">The outcome can be at most 200 characters.</p>"
        )
    );
    assert!(page.contains(
        "id=\"activity-duration-error\">Enter the duration in whole minutes, from 0 to 1440.</p>"
    ));
    assert!(page.contains("id=\"activity-when-error\">Enter a date and time"));
    assert!(page.contains(">Kept</textarea>"), "the summary is kept");
    assert!(page.contains("<details class=\"timeline-form activity-form\" open>"));
    assert!(entries(&app).is_empty());
}

#[tokio::test]
async fn a_meeting_time_is_read_in_the_users_time_zone_and_stored_in_utc() {
    let app = spawn_app().await;
    let rep = signed_in(&app, Role::Sales).await;
    diesel::update(users::table.find(rep.id))
        .set(users::time_zone.eq("Asia/Tokyo"))
        .execute(&mut app.conn())
        .expect("time zone set");
    let acme = insert_company(&app, "Acme", None);
    let tokyo = chrono_tz::Asia::Tokyo;
    let two_days_ago = (now(&app) - chrono::Duration::days(2))
        .and_utc()
        .with_timezone(&tokyo)
        .date_naive()
        .and_hms_opt(9, 30, 0)
        .expect("a time");
    let typed = two_days_ago.format("%Y-%m-%dT%H:%M").to_string();

    let response = app
        .post_form(
            &format!("/companies/{acme}/activities"),
            &[
                ("kind", "meeting"),
                ("outcome", "meeting held"),
                ("duration_minutes", "60"),
                ("occurred_at", &typed),
                ("body", "Quarterly review"),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/companies/{acme}#timeline"));
    let stored = entries(&app);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].kind, "meeting");
    let expected = tokyo
        .from_local_datetime(&two_days_ago)
        .single()
        .expect("Tokyo has no DST")
        .naive_utc();
    assert_eq!(
        stored[0].occurred_at, expected,
        "09:30 in Tokyo is 00:30 UTC"
    );
    let recorded: NaiveDateTime = timeline_entries::table
        .select(timeline_entries::created_at)
        .first(&mut app.conn())
        .expect("the entry");
    assert_eq!(recorded, now(&app), "written down now, about two days ago");
    assert_eq!(
        (stored[0].contact_id, stored[0].company_id),
        (None, Some(acme))
    );

    let tomorrow = (now(&app) + chrono::Duration::days(1))
        .and_utc()
        .with_timezone(&tokyo)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let response = post_htmx(
        &app,
        &format!("/companies/{acme}/activities"),
        &[("kind", "call"), ("occurred_at", &tomorrow)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let partial = response.text().await.expect("a body");
    assert!(partial.contains("That time is in the future"));
    // The refused meeting is listed with the time the user typed, not in UTC.
    assert!(partial.contains(&format!("value=\"{tomorrow}\"")));
    let shown = two_days_ago.format("%-d %b %Y, 09:30").to_string();
    assert!(
        partial.contains(&shown),
        "the logged meeting shows in Tokyo time: {shown}"
    );
    assert_eq!(entries(&app).len(), 1);
}

// --- Companies, rendering, mentions, last activity --------------------------------------

#[tokio::test]
async fn a_note_on_a_contact_shows_on_its_company_timeline() {
    let app = spawn_app().await;
    signed_in(&app, Role::Sales).await;
    let acme = insert_company(&app, "Acme", None);
    let ada = insert_contact(&app, "Ada", "Lovelace", Some(acme), None, None);
    let other = insert_company(&app, "Globex", None);

    let response = app
        .post_form(
            &format!("/contacts/{ada}/notes"),
            &[("body", "Ada wants a demo")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let stored = entries(&app);
    assert_eq!(
        (stored[0].contact_id, stored[0].company_id),
        (Some(ada), Some(acme))
    );

    app.clock.advance(chrono::Duration::minutes(1));
    let response = post_htmx(
        &app,
        &format!("/companies/{acme}/notes"),
        &[("body", "Company-wide budget approved")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let partial = response.text().await.expect("a body");
    assert!(partial.contains("Ada wants a demo"));
    assert!(
        position(&partial, "Company-wide budget approved") < position(&partial, "Ada wants a demo")
    );

    let response = post_htmx(
        &app,
        &format!("/companies/{other}/notes"),
        &[("body", "Hello")],
    )
    .await;
    let partial = response.text().await.expect("a body");
    assert!(
        !partial.contains("Ada wants a demo"),
        "other companies do not see it"
    );
}

#[tokio::test]
async fn links_in_a_note_are_clickable_and_everything_else_is_escaped() {
    let app = spawn_app().await;
    signed_in(&app, Role::Sales).await;
    let ada = insert_contact(&app, "Ada", "Lovelace", None, None, None);
    let body = "Deck: https://example.com/deck?a=1&b=2. <script>alert(1)</script> \
                javascript:alert(2) <a href=\"http://evil.example\">x</a>";

    let response = post_htmx(&app, &format!("/contacts/{ada}/notes"), &[("body", body)]).await;

    assert_eq!(response.status(), StatusCode::OK);
    let partial = response.text().await.expect("a body");
    assert!(partial.contains(
        "<a href=\"https://example.com/deck?a=1&#38;b=2\" rel=\"noopener nofollow\" target=\"_blank\">https://example.com/deck?a=1&#38;b=2</a>."
    ), "{partial}");
    assert!(partial.contains("&#60;script&#62;alert(1)&#60;/script&#62;"));
    assert!(!partial.contains("<script>"));
    assert!(!partial.contains("href=\"javascript"));
    assert!(!partial.contains("<a href=\"http://evil.example\">"));
    assert_eq!(entries(&app)[0].body, body, "stored as typed");
}

#[tokio::test]
async fn a_mention_emails_the_mentioned_teammate_once_with_a_link_to_the_record() {
    let app = spawn_app().await;
    let rep = signed_in(&app, Role::Sales).await;
    let ada = app.create_user("ada@example.com", Role::Support);
    let gone = app.create_user("gone@example.com", Role::Sales);
    diesel::update(users::table.find(gone.id))
        .set(users::active.eq(false))
        .execute(&mut app.conn())
        .expect("deactivated");
    let acme = insert_company(&app, "Acme", None);
    let body = "@ada can you check this? cc @ADA@example.com, @sales, @gone and @nobody. \
                Mail bob@example.com";

    let response = app
        .post_form(&format!("/companies/{acme}/notes"), &[("body", body)])
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.eventually("the mention is delivered", || {
        !app.smtp.received_by(&ada.email).is_empty()
    })
    .await;
    let queued: Vec<String> = email_outbox::table
        .select(email_outbox::recipient)
        .load(&mut app.conn())
        .expect("outbox");
    assert_eq!(queued, vec![ada.email.clone()], "one email, to Ada only");
    let received = app.smtp.received_by(&ada.email);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].subject, "Sales Tester mentioned you on Acme");
    assert!(received[0].body.contains("@ada can you check this?"));
    let link = link_in(&received[0].body, "http");
    assert_eq!(link, format!("{}/companies/{acme}#timeline", app.address));
    assert!(app.smtp.received_by(&rep.email).is_empty());
    assert!(app.smtp.received_by(&gone.email).is_empty());
}

#[tokio::test]
async fn a_note_or_call_moves_last_activity_but_an_older_call_does_not_move_it_back() {
    let app = spawn_app().await;
    signed_in(&app, Role::Sales).await;
    let acme = insert_company(&app, "Acme", None);
    let ada = insert_contact(&app, "Ada", "Lovelace", Some(acme), None, None);
    app.clock.advance(chrono::Duration::hours(1));
    let noted_at = now(&app);

    let response = app
        .post_form(
            &format!("/contacts/{ada}/notes"),
            &[("body", "Met at the fair")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let last_activity = |app: &TestApp| -> (Option<NaiveDateTime>, Option<NaiveDateTime>) {
        let conn = &mut app.conn();
        (
            contacts::table
                .find(ada)
                .select(contacts::last_activity_at)
                .first(conn)
                .expect("contact"),
            companies::table
                .find(acme)
                .select(companies::last_activity_at)
                .first(conn)
                .expect("company"),
        )
    };
    assert_eq!(last_activity(&app), (Some(noted_at), Some(noted_at)));

    let last_week = (noted_at - chrono::Duration::days(7))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let response = app
        .post_form(
            &format!("/contacts/{ada}/activities"),
            &[("kind", "call"), ("occurred_at", &last_week)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(entries(&app).len(), 2);
    assert_eq!(last_activity(&app), (Some(noted_at), Some(noted_at)));
}

// --- Who may add ------------------------------------------------------------------------

#[tokio::test]
async fn a_support_agent_may_add_notes_and_calls() {
    let app = spawn_app().await;
    let agent = signed_in(&app, Role::Support).await;
    let ada = insert_contact(&app, "Ada", "Lovelace", None, None, None);

    let response = app
        .post_form(
            &format!("/contacts/{ada}/notes"),
            &[("body", "Opened a ticket")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = app
        .post_form(
            &format!("/contacts/{ada}/activities"),
            &[("kind", "call"), ("outcome", "connected")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let stored = entries(&app);
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|entry| entry.author_id == Some(agent.id)));
}

#[tokio::test]
async fn adding_to_a_missing_record_is_not_found_and_stores_nothing() {
    let app = spawn_app().await;
    signed_in(&app, Role::Admin).await;

    for path in [
        "/contacts/999/notes",
        "/companies/999/notes",
        "/contacts/999/activities",
        "/companies/999/activities",
        "/contacts/abc/notes",
    ] {
        let response = app
            .post_form(path, &[("body", "Hello"), ("kind", "call")])
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert!(entries(&app).is_empty());
}

#[tokio::test]
async fn a_note_needs_the_csrf_token_and_a_signed_in_user() {
    let app = spawn_app().await;
    let ada = insert_contact(&app, "Ada", "Lovelace", None, None, None);
    let path = format!("/contacts/{ada}/notes");

    let response = app.post_form(&path, &[("body", "Anonymous")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login"));

    signed_in(&app, Role::Sales).await;
    let response = app.post_form_raw(&path, &[("body", "Forged")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .client
        .post(app.url(&path))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", "wrong")
        .form(&[("body", "Forged")])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(entries(&app).is_empty());

    let token = app.csrf_token().await;
    let response = app
        .client
        .post(app.url(&path))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", token)
        .form(&[("body", "With the header")])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(entries(&app).len(), 1);
}

// --- Search ------------------------------------------------------------------------------

async fn search(app: &TestApp, q: &str) -> String {
    let path = format!(
        "/search?q={}",
        url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
    );
    app.get_html(&path).await
}

#[tokio::test]
async fn search_finds_contacts_and_companies_by_the_start_of_a_word() {
    let app = spawn_app().await;
    signed_in(&app, Role::Support).await;
    let engines = insert_company(&app, "Analytical Engines", Some("engines.example"));
    let ada = insert_contact(&app, "Ada", "Lovelace", Some(engines), None, None);
    insert_contact(&app, "Grace", "Hopper", None, None, None);

    let page = search(&app, "lov").await;
    assert!(page.contains(&format!(
        "<a class=\"search-hit-name\" href=\"/contacts/{ada}\">Ada Lovelace</a>"
    )));
    assert!(
        page.contains("Analytical Engines"),
        "the contact's company is shown"
    );
    assert!(!page.contains("Grace Hopper"));

    let page = search(&app, "ANALYT").await;
    assert!(page.contains(&format!(
        "href=\"/companies/{engines}\">Analytical Engines</a>"
    )));
    assert!(page.contains("engines.example"));
    assert!(
        page.contains("Ada Lovelace"),
        "contacts are found by their company"
    );

    let page = search(&app, "engines.example").await;
    assert!(
        page.contains(&format!("href=\"/companies/{engines}\"")),
        "found by domain"
    );
}

#[tokio::test]
async fn search_folds_accents_and_case() {
    let app = spawn_app().await;
    signed_in(&app, Role::Sales).await;
    let zoe = insert_contact(&app, "Zoë", "Ångström", None, None, None);

    for typed in ["zoe", "ZOË", "angstrom", "Zoe Ang"] {
        let page = search(&app, typed).await;
        assert!(
            page.contains(&format!("href=\"/contacts/{zoe}\">Zoë Ångström</a>")),
            "{typed}"
        );
    }
}

#[tokio::test]
async fn search_finds_contacts_by_email_and_by_phone_digits() {
    let app = spawn_app().await;
    signed_in(&app, Role::Sales).await;
    let ada = insert_contact(
        &app,
        "Ada",
        "Lovelace",
        None,
        Some("ada.king@analytical.example"),
        Some("+1 (555) 123-4567"),
    );
    insert_contact(
        &app,
        "Grace",
        "Hopper",
        None,
        Some("grace@navy.example"),
        Some("+1 (555) 999-0000"),
    );
    let link = format!("href=\"/contacts/{ada}\"");

    let page = search(&app, "ada.king@analytical.example").await;
    assert!(page.contains(&link));
    assert!(
        page.contains("ada.king@analytical.example"),
        "the email is shown"
    );
    assert!(!page.contains("Grace Hopper"));

    for typed in ["5551234567", "15551234567", "555 123", "(555) 123-4567"] {
        let page = search(&app, typed).await;
        assert!(page.contains(&link), "{typed}");
        assert!(!page.contains("Grace Hopper"), "{typed}");
    }
}

#[tokio::test]
async fn search_ranks_a_full_name_match_first() {
    let app = spawn_app().await;
    signed_in(&app, Role::Sales).await;
    let lovelace_labs = insert_company(&app, "Lovelace Laboratories and Partners", None);
    let smith = insert_contact(
        &app,
        "Ada",
        "Smith",
        Some(lovelace_labs),
        Some("ada.smith@lovelace.example"),
        None,
    );
    let ada = insert_contact(&app, "Ada", "Lovelace", None, None, None);

    let page = search(&app, "ada lovelace").await;

    let best = position(&page, &format!("href=\"/contacts/{ada}\""));
    let other = position(&page, &format!("href=\"/contacts/{smith}\""));
    assert!(
        best < other,
        "Ada Lovelace comes before Ada Smith of Lovelace Laboratories"
    );
}

#[tokio::test]
async fn search_shows_just_the_box_for_an_empty_query_and_says_when_nothing_matches() {
    let app = spawn_app().await;
    signed_in(&app, Role::Sales).await;
    insert_contact(&app, "Ada", "Lovelace", None, None, None);

    let page = app.get_html("/search").await;
    assert!(page.contains("id=\"search-q\""));
    assert!(!page.contains("search-results"));
    assert!(!page.contains("No matches"));
    let page = search(&app, "  -- ").await;
    assert!(!page.contains("No matches"));

    let page = search(&app, "zzyzx").await;
    assert!(page.contains("No matches for “zzyzx”"));
    assert!(!page.contains("Ada Lovelace"));

    let page = search(&app, "<b>bold</b>").await;
    assert!(
        page.contains("&#60;b&#62;bold&#60;/b&#62;"),
        "the query is escaped"
    );
}

#[tokio::test]
async fn the_search_box_is_in_the_navigation_for_signed_in_users_only() {
    let app = spawn_app().await;
    app.admin();
    let page = app.get_html("/login").await;
    assert!(!page.contains("class=\"navsearch\""));
    let response = app.get("/search?q=ada").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login"));

    signed_in(&app, Role::Support).await;
    let page = app.get_html("/").await;
    assert!(page.contains("<form class=\"navsearch\" action=\"/search\" method=\"get\""));
    assert!(page.contains("<script src=\"/static/js/htmx.min.js\" defer></script>"));
    let response = app.get("/static/js/htmx.min.js").await;
    assert_eq!(response.status(), StatusCode::OK);
}
