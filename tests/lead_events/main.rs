//! Website behaviour through HTTP: site write keys in `/admin/sites`, the `/t.js` script,
//! and `POST /api/v1/events`: batches landing on the timeline and moving the score,
//! authentication by key, bad payloads refused whole, visitor stitching, contacts by email,
//! and CORS only for the key's origins.

#[path = "../common/mod.rs"]
mod common;
use common::*;

use diesel::prelude::*;
use rapport::auth::model::Role;
use rapport::clock::Clock;
use rapport::db::schema::{
    contact_emails, contacts, lead_events, leads, site_keys, timeline_entries,
};
use reqwest::header::{ACCESS_CONTROL_ALLOW_ORIGIN, AUTHORIZATION, CONTENT_TYPE, ORIGIN};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SITE: &str = "https://www.example.com";

// ---------------------------------------------------------------------------------------
// Helpers

/// Signs an admin in and creates a site key for `origins`; returns the key as shown once.
async fn site_key(app: &TestApp, origins: &str) -> String {
    if app.get("/admin/sites").await.status() != StatusCode::OK {
        app.login_as(&app.admin()).await;
    }
    let response = app
        .post_form(
            "/admin/sites",
            &[("name", "Marketing site"), ("origins", origins)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("a page");
    let marker = "data-key=\"";
    let start = page.find(marker).expect("the key is shown") + marker.len();
    let end = page[start..].find('"').expect("the key ends") + start;
    page[start..end].to_owned()
}

/// A behaviour rule: +10 for each page view under /pricing.
async fn pricing_rule(app: &TestApp) {
    let response = app
        .post_form(
            "/admin/scoring/rules",
            &[
                ("kind", "behaviour"),
                ("event_name", "page_view"),
                ("filter_key", "path"),
                ("filter_operator", "starts_with"),
                ("filter_value", "/pricing"),
                ("counting", "each"),
                ("points", "10"),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "rule saved");
}

fn create_lead(app: &TestApp, email: &str) -> i64 {
    let now = app.clock.now();
    diesel::insert_into(leads::table)
        .values((
            leads::first_name.eq("Ada"),
            leads::last_name.eq("Lovelace"),
            leads::email.eq(email),
            leads::source.eq("manual"),
            leads::created_at.eq(now),
            leads::updated_at.eq(now),
        ))
        .returning(leads::id)
        .get_result(&mut app.conn())
        .expect("a lead")
}

fn create_contact(app: &TestApp, email: &str) -> i64 {
    let now = app.clock.now();
    let conn = &mut app.conn();
    let id: i64 = diesel::insert_into(contacts::table)
        .values((
            contacts::first_name.eq("Grace"),
            contacts::last_name.eq("Hopper"),
            contacts::sort_name.eq("hopper grace"),
            contacts::created_at.eq(now),
            contacts::updated_at.eq(now),
        ))
        .returning(contacts::id)
        .get_result(conn)
        .expect("a contact");
    diesel::insert_into(contact_emails::table)
        .values((
            contact_emails::contact_id.eq(id),
            contact_emails::email.eq(email),
            contact_emails::is_primary.eq(true),
        ))
        .execute(conn)
        .expect("an email");
    id
}

fn score_of(app: &TestApp, lead_id: i64) -> i64 {
    leads::table
        .find(lead_id)
        .select(leads::score)
        .first(&mut app.conn())
        .expect("the lead")
}

fn event_count(app: &TestApp) -> i64 {
    lead_events::table
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

fn events_of_lead(app: &TestApp, lead_id: i64) -> i64 {
    lead_events::table
        .filter(lead_events::lead_id.eq(lead_id))
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

fn timeline_of_lead(app: &TestApp, lead_id: i64) -> Vec<String> {
    timeline_entries::table
        .filter(timeline_entries::lead_id.eq(lead_id))
        .filter(timeline_entries::kind.eq("event"))
        .order(timeline_entries::id)
        .select(timeline_entries::body)
        .load(&mut app.conn())
        .expect("timeline")
}

/// Posts `body` to the events endpoint with the key as a bearer token (if any).
async fn post_events(app: &TestApp, key: Option<&str>, body: &Value) -> (StatusCode, Value) {
    let mut request = http_client()
        .post(app.url("/api/v1/events"))
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string());
    if let Some(key) = key {
        request = request.header(AUTHORIZATION, format!("Bearer {key}"));
    }
    answer(request.send().await.expect("POST")).await
}

async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn page_view(path: &str) -> Value {
    json!({"path": path, "title": "Pricing", "url": format!("{SITE}{path}")})
}

// ---------------------------------------------------------------------------------------
// Events on the timeline and the score

#[tokio::test]
async fn a_batch_with_a_valid_key_lands_on_the_leads_timeline_and_moves_its_score_once() {
    let app = spawn_app().await;
    let key = site_key(&app, SITE).await;
    pricing_rule(&app).await;
    let lead = create_lead(&app, "ada@example.com");

    let (status, body) = post_events(
        &app,
        Some(&key),
        &json!({"events": [
            {"name": "page_view", "lead_id": lead, "properties": page_view("/pricing")},
            {"name": "page_view", "email": "ADA@example.com", "properties": page_view("/pricing/teams")},
            {"name": "page_view", "lead_id": lead, "properties": page_view("/blog")},
        ]}),
    )
    .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], 3);
    assert_eq!(events_of_lead(&app, lead), 3);
    assert_eq!(
        timeline_of_lead(&app, lead),
        [
            "page_view /pricing",
            "page_view /pricing/teams",
            "page_view /blog"
        ]
    );
    assert_eq!(score_of(&app, lead), 2000, "two pricing views at 10 points");
    let history: i64 = rapport::db::schema::lead_score_changes::table
        .filter(rapport::db::schema::lead_score_changes::lead_id.eq(lead))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(history, 1, "one rescoring for the whole batch");
    let html = app.get_html(&format!("/leads/{lead}")).await;
    assert!(
        html.contains("page_view /pricing/teams"),
        "on the lead page"
    );
}

#[tokio::test]
async fn a_single_event_may_carry_the_key_in_its_body_and_its_own_time() {
    let app = spawn_app().await;
    let key = site_key(&app, SITE).await;
    let lead = create_lead(&app, "ada@example.com");

    let response = http_client()
        .post(app.url("/api/v1/events"))
        .header(CONTENT_TYPE, "text/plain")
        .body(
            json!({
                "write_key": key,
                "name": "webinar:attended",
                "lead_id": lead,
                "occurred_at": "2026-01-02T10:00:00+01:00",
                "properties": {"label": "Scoring 101"},
            })
            .to_string(),
        )
        .send()
        .await
        .expect("POST");
    let (status, body) = answer(response).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    let (name, at): (String, chrono::NaiveDateTime) = lead_events::table
        .filter(lead_events::lead_id.eq(lead))
        .select((lead_events::name, lead_events::occurred_at))
        .first(&mut app.conn())
        .expect("the event");
    assert_eq!(name, "webinar:attended");
    assert_eq!(at.to_string(), "2026-01-02 09:00:00");
}

#[tokio::test]
async fn an_event_about_a_contacts_email_lands_on_the_contacts_timeline() {
    let app = spawn_app().await;
    let key = site_key(&app, SITE).await;
    let contact = create_contact(&app, "grace@example.com");

    let (status, body) = post_events(
        &app,
        Some(&key),
        &json!({"name": "page_view", "email": "grace@example.com", "properties": page_view("/docs")}),
    )
    .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    let stored: Vec<(Option<i64>, Option<i64>)> = lead_events::table
        .select((lead_events::lead_id, lead_events::contact_id))
        .load(&mut app.conn())
        .expect("events");
    assert_eq!(stored, [(None, Some(contact))]);
    let html = app.get_html(&format!("/contacts/{contact}")).await;
    assert!(
        html.contains("page_view /docs"),
        "on the contact's timeline"
    );
}

// ---------------------------------------------------------------------------------------
// Authentication

#[tokio::test]
async fn a_missing_wrong_or_revoked_key_gets_a_401_and_nothing_is_stored() {
    let app = spawn_app().await;
    let key = site_key(&app, SITE).await;
    let lead = create_lead(&app, "ada@example.com");
    let event = json!({"name": "page_view", "lead_id": lead});

    let (status, body) = post_events(&app, None, &event).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");

    let (status, _) = post_events(&app, Some("rsk_not-a-key"), &event).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let key_id: i64 = site_keys::table
        .select(site_keys::id)
        .first(&mut app.conn())
        .expect("the key");
    let response = app
        .post_form(&format!("/admin/sites/{key_id}/revoke"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(app.get_html("/admin/sites").await.contains("revoked"));
    let (status, _) = post_events(&app, Some(&key), &event).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    assert_eq!(event_count(&app), 0);
}

#[tokio::test]
async fn a_key_is_stored_hashed_and_shown_only_once() {
    let app = spawn_app().await;
    let key = site_key(&app, SITE).await;

    let stored: String = site_keys::table
        .select(site_keys::key_hash)
        .first(&mut app.conn())
        .expect("the key");
    assert_ne!(stored, key);
    assert!(!stored.contains(&key));
    let list = app.get_html("/admin/sites").await;
    assert!(list.contains("Marketing site"));
    assert!(!list.contains(&key), "the list never shows the key again");
}

#[tokio::test]
async fn sales_and_support_get_403_on_the_site_keys() {
    let app = spawn_app().await;
    for (email, role) in [
        ("rep@example.com", Role::Sales),
        ("agent@example.com", Role::Support),
    ] {
        let user = app.create_user(email, role);
        let browser = app.open_browser();
        browser.login_as(&user).await;
        assert_eq!(
            browser.get("/admin/sites").await.status(),
            StatusCode::FORBIDDEN
        );
        let response = browser
            .post_form("/admin/sites", &[("name", "Mine"), ("origins", SITE)])
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    let keys: i64 = site_keys::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(keys, 0);
}

#[tokio::test]
async fn a_key_with_a_bad_origin_is_refused_with_a_message() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;

    let response = app
        .post_form(
            "/admin/sites",
            &[
                ("name", "Shop"),
                ("origins", "http://shop.example.com/cart"),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("a page");
    assert!(html.contains("must start with https://"), "{html}");
    let keys: i64 = site_keys::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(keys, 0);
}

// ---------------------------------------------------------------------------------------
// Bad payloads

#[tokio::test]
async fn bad_events_get_a_422_with_field_errors_and_nothing_is_stored() {
    let app = spawn_app().await;
    let key = site_key(&app, SITE).await;
    let lead = create_lead(&app, "ada@example.com");
    let good = json!({"name": "page_view", "lead_id": lead});

    let (status, body) = post_events(
        &app,
        Some(&key),
        &json!({"events": [
            good,
            {"lead_id": lead},
            {"name": "page_view", "lead_id": lead, "occurred_at": "last tuesday"},
            {"name": "page_view", "lead_id": lead, "properties": ["not", "an", "object"]},
            {"name": "page_view", "lead_id": lead, "occurred_at": "2999-01-01T00:00:00Z"},
            {"name": "Page View!", "visitor_id": "v1234567"},
            {"name": "page_view"},
        ]}),
    )
    .await;

    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields = &body["error"]["fields"];
    for field in [
        "events[1].name",
        "events[2].occurred_at",
        "events[3].properties",
        "events[4].occurred_at",
        "events[5].name",
        "events[6].lead_id",
    ] {
        assert!(fields[field].is_string(), "{field} in {body}");
    }
    assert!(fields.get("events[0].name").is_none());
    assert_eq!(event_count(&app), 0);
}

#[tokio::test]
async fn an_unknown_lead_or_email_refuses_the_whole_batch() {
    let app = spawn_app().await;
    let key = site_key(&app, SITE).await;
    let lead = create_lead(&app, "ada@example.com");

    let (status, body) = post_events(
        &app,
        Some(&key),
        &json!({"events": [
            {"name": "page_view", "lead_id": lead},
            {"name": "page_view", "lead_id": lead + 100},
            {"name": "page_view", "email": "nobody@example.com"},
        ]}),
    )
    .await;

    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"]["fields"]["events[1].lead_id"].is_string());
    assert!(body["error"]["fields"]["events[2].email"].is_string());
    assert_eq!(event_count(&app), 0);
    assert_eq!(score_of(&app, lead), 0);
    assert!(timeline_of_lead(&app, lead).is_empty());
}

#[tokio::test]
async fn too_many_events_get_a_422_and_an_oversized_body_a_413() {
    let app = spawn_app().await;
    let key = site_key(&app, SITE).await;
    let lead = create_lead(&app, "ada@example.com");

    let many: Vec<Value> = (0..101)
        .map(|_| json!({"name": "page_view", "lead_id": lead}))
        .collect();
    let (status, body) = post_events(&app, Some(&key), &json!({ "events": many })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["events"].is_string(), "{body}");

    let padding = "x".repeat(300 * 1024);
    let (status, body) = post_events(
        &app,
        Some(&key),
        &json!({"name": "page_view", "lead_id": lead, "properties": {"padding": padding}}),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"]["code"], "payload_too_large");

    let padding = "x".repeat(20 * 1024);
    let (status, body) = post_events(
        &app,
        Some(&key),
        &json!({"name": "page_view", "lead_id": lead, "properties": {"padding": padding}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["error"]["fields"]["properties"].is_string(), "{body}");

    let response = http_client()
        .post(app.url("/api/v1/events"))
        .header(AUTHORIZATION, format!("Bearer {key}"))
        .body("{not json")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(event_count(&app), 0);
}

#[tokio::test]
async fn concurrent_requests_are_each_answered_for_their_own_events() {
    let app = spawn_app().await;
    let key = site_key(&app, SITE).await;
    pricing_rule(&app).await;
    let leads: Vec<i64> = (0..4)
        .map(|index| create_lead(&app, &format!("lead{index}@example.com")))
        .collect();

    let requests = (0..40).map(|index| {
        let lead = leads[index % leads.len()];
        // Every fifth request names a lead that does not exist.
        let lead = if index % 5 == 4 { lead + 1000 } else { lead };
        let key = key.clone();
        let app = &app;
        async move {
            let body = json!({"events": [
                {"name": "page_view", "lead_id": lead, "properties": page_view("/pricing")},
                {"name": "page_view", "lead_id": lead, "properties": page_view("/blog")},
            ]});
            post_events(app, Some(&key), &body).await
        }
    });
    let answers = futures_util::future::join_all(requests).await;

    let accepted = answers
        .iter()
        .filter(|(status, body)| {
            *status == StatusCode::OK && body["ids"].as_array().map(Vec::len) == Some(2)
        })
        .count();
    let refused = answers
        .iter()
        .filter(|(status, body)| {
            *status == StatusCode::UNPROCESSABLE_ENTITY
                && body["error"]["fields"]["events[0].lead_id"].is_string()
        })
        .count();
    assert_eq!((accepted, refused), (32, 8));
    assert_eq!(event_count(&app), 64);
    for lead in leads {
        assert_eq!(events_of_lead(&app, lead), 16);
        assert_eq!(
            score_of(&app, lead),
            8000,
            "eight pricing views at 10 points"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Visitors

#[tokio::test]
async fn anonymous_visits_are_stitched_to_the_lead_when_the_visitor_becomes_known() {
    let app = spawn_app().await;
    let key = site_key(&app, SITE).await;
    pricing_rule(&app).await;
    let visitor = "3f9c1d2e4b5a69788796a5b4c3d2e1f0";

    let (status, _) = post_events(
        &app,
        Some(&key),
        &json!({"events": [
            {"name": "page_view", "visitor_id": visitor, "properties": page_view("/pricing")},
            {"name": "page_view", "visitor_id": visitor, "properties": page_view("/features")},
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let anonymous: i64 = lead_events::table
        .filter(lead_events::lead_id.is_null())
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(anonymous, 2, "kept anonymous until the visitor is known");

    // The visitor fills in a form: the form handler stitches its earlier visits.
    let lead = create_lead(&app, "ada@example.com");
    let moved = rapport::leads::events::stitch(&mut app.conn(), visitor, lead, app.clock.now())
        .expect("stitched");
    assert_eq!(moved, 2);
    assert_eq!(events_of_lead(&app, lead), 2);
    assert_eq!(score_of(&app, lead), 1000);
    assert_eq!(
        timeline_of_lead(&app, lead),
        ["page_view /pricing", "page_view /features"]
    );

    // Later visits of that visitor go straight to the lead.
    let (status, _) = post_events(
        &app,
        Some(&key),
        &json!({"name": "page_view", "visitor_id": visitor, "properties": page_view("/pricing")}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events_of_lead(&app, lead), 3);
    assert_eq!(score_of(&app, lead), 2000);
}

#[tokio::test]
async fn an_event_with_both_email_and_visitor_id_joins_the_earlier_visits() {
    let app = spawn_app().await;
    let key = site_key(&app, SITE).await;
    let lead = create_lead(&app, "ada@example.com");
    let visitor = "visitor-1234";

    let (status, _) = post_events(
        &app,
        Some(&key),
        &json!({"name": "page_view", "visitor_id": visitor, "properties": page_view("/")}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events_of_lead(&app, lead), 0);

    let (status, body) = post_events(
        &app,
        Some(&key),
        &json!({"events": [
            {"name": "signed_up", "visitor_id": visitor, "email": "ada@example.com"},
            {"name": "page_view", "visitor_id": visitor, "properties": page_view("/welcome")},
        ]}),
    )
    .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        events_of_lead(&app, lead),
        3,
        "the earlier visit joined the lead"
    );
    assert_eq!(event_count(&app), 3);
}

#[tokio::test]
async fn an_event_naming_a_contact_and_a_visitor_joins_the_visitors_visits_to_the_contact() {
    let app = spawn_app().await;
    let key = site_key(&app, SITE).await;
    let contact = create_contact(&app, "grace@example.com");
    let visitor = "visitor-of-grace";
    let (status, _) = post_events(
        &app,
        Some(&key),
        &json!({"name": "page_view", "visitor_id": visitor, "properties": page_view("/pricing")}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = post_events(
        &app,
        Some(&key),
        &json!({"events": [
            {"name": "signed_in", "visitor_id": visitor, "email": "grace@example.com"},
            {"name": "page_view", "visitor_id": visitor, "properties": page_view("/docs")},
        ]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = post_events(
        &app,
        Some(&key),
        &json!({"name": "page_view", "visitor_id": visitor, "properties": page_view("/blog")}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let of_contact: i64 = lead_events::table
        .filter(lead_events::contact_id.eq(contact))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(
        of_contact, 4,
        "earlier, same-batch and later visits all the contact's"
    );
    let html = app.get_html(&format!("/contacts/{contact}")).await;
    for page in ["page_view /pricing", "page_view /docs", "page_view /blog"] {
        assert!(html.contains(page), "{page} on the contact's timeline");
    }
}

#[tokio::test]
async fn an_unknown_email_with_a_visitor_id_is_kept_anonymous() {
    let app = spawn_app().await;
    let key = site_key(&app, SITE).await;

    let (status, body) = post_events(
        &app,
        Some(&key),
        &json!({"name": "newsletter_signup", "visitor_id": "visitor-9876", "email": "new@example.com"}),
    )
    .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    let stored: Vec<(Option<i64>, Option<String>)> = lead_events::table
        .select((lead_events::lead_id, lead_events::visitor_id))
        .load(&mut app.conn())
        .expect("events");
    assert_eq!(stored, [(None, Some("visitor-9876".to_owned()))]);
}

// ---------------------------------------------------------------------------------------
// CORS and the script

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_gets_the_cors_headers() {
    let app = spawn_app().await;
    let key = site_key(&app, SITE).await;
    let lead = create_lead(&app, "ada@example.com");

    let response = http_client()
        .request(Method::OPTIONS, app.url("/api/v1/events"))
        .header(ORIGIN, SITE)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .expect("OPTIONS");
    assert!(response.status().is_success(), "{}", response.status());
    let headers = response.headers();
    assert_eq!(headers[ACCESS_CONTROL_ALLOW_ORIGIN], SITE);
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .expect("text")
            .contains("authorization")
    );

    let response = http_client()
        .post(app.url("/api/v1/events"))
        .header(ORIGIN, SITE)
        .header(CONTENT_TYPE, "text/plain")
        .body(json!({"write_key": key, "name": "page_view", "lead_id": lead}).to_string())
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], SITE);
    assert_eq!(events_of_lead(&app, lead), 1);
}

#[tokio::test]
async fn a_disallowed_origin_gets_no_cors_headers_and_its_events_are_refused() {
    let app = spawn_app().await;
    let key = site_key(&app, SITE).await;
    let lead = create_lead(&app, "ada@example.com");
    let stranger = "https://evil.example.net";

    let response = http_client()
        .request(Method::OPTIONS, app.url("/api/v1/events"))
        .header(ORIGIN, stranger)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("OPTIONS");
    assert!(
        response
            .headers()
            .get(ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );

    let response = http_client()
        .post(app.url("/api/v1/events"))
        .header(ORIGIN, stranger)
        .header(CONTENT_TYPE, "text/plain")
        .body(json!({"write_key": key, "name": "page_view", "lead_id": lead}).to_string())
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .headers()
            .get(ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none()
    );
    assert_eq!(event_count(&app), 0);
}

#[tokio::test]
async fn the_script_is_served_as_javascript_with_a_short_cache() {
    let app = spawn_app().await;

    let response = http_client()
        .get(app.url("/t.js"))
        .send()
        .await
        .expect("GET");

    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert!(
        headers[CONTENT_TYPE]
            .to_str()
            .expect("text")
            .starts_with("application/javascript")
    );
    assert_eq!(headers["cache-control"], "public, max-age=300");
    let script = response.text().await.expect("the script");
    assert!(script.contains("api/v1/events"));
    assert!(script.contains("rapport_visitor"));
}

#[tokio::test]
async fn after_a_lead_is_converted_its_visitors_later_events_land_on_the_new_contact() {
    let app = spawn_app().await;
    let key = site_key(&app, SITE).await;
    let lead = create_lead(&app, "ada@example.com");
    let visitor = "c0ffee00c0ffee00c0ffee00c0ffee00";
    let (status, body) = post_events(
        &app,
        Some(&key),
        &json!({"name": "page_view", "visitor_id": visitor, "email": "ada@example.com",
                "properties": page_view("/pricing")}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(events_of_lead(&app, lead), 1);

    let converted = app
        .post_form(
            &format!("/leads/{lead}/convert"),
            &[("contact", "new"), ("company", "none")],
        )
        .await;
    assert_eq!(converted.status(), StatusCode::SEE_OTHER);
    let contact_id: i64 = location(&converted)
        .trim_start_matches("/contacts/")
        .parse()
        .expect("the new contact in the redirect");

    let (status, body) = post_events(
        &app,
        Some(&key),
        &json!({"name": "page_view", "visitor_id": visitor, "properties": page_view("/docs")}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (lead_id, contact): (Option<i64>, Option<i64>) = lead_events::table
        .order(lead_events::id.desc())
        .select((lead_events::lead_id, lead_events::contact_id))
        .first(&mut app.conn())
        .expect("the later event");
    assert_eq!((lead_id, contact), (None, Some(contact_id)));
    assert_eq!(
        events_of_lead(&app, lead),
        1,
        "the converted lead gets no more"
    );
    let contact_page = app.get_html(&format!("/contacts/{contact_id}")).await;
    assert!(contact_page.contains("page_view /docs"), "{contact_page}");
    assert!(
        contact_page.contains("page_view /pricing"),
        "the lead's earlier visit moved with its history"
    );
}
