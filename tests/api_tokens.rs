//! Personal API tokens through HTTP: created on `/account/api-tokens` (the secret shown
//! once), used as `Authorization: Bearer` on `POST /api/v1/events`, refused once revoked,
//! expired or their user deactivated, limited by role; managed by admins on
//! `/admin/api-tokens`; and the OpenAPI document at `/api/v1/openapi.json`.

mod common;
use common::*;

use chrono::Duration;
use diesel::prelude::*;
use rapport::auth::model::Role;
use rapport::clock::Clock;
use rapport::db::schema::{api_tokens, audit_log, lead_events, leads, timeline_entries, users};
use reqwest::StatusCode;
use reqwest::header::{ACCESS_CONTROL_ALLOW_ORIGIN, AUTHORIZATION, CONTENT_TYPE, ORIGIN};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// Helpers

/// Creates a token on the page as the signed-in user; returns the secret as shown once.
async fn create_token(browser: &Browser, name: &str, days: &str) -> String {
    let response = browser
        .post_form(
            "/account/api-tokens",
            &[("name", name), ("expires_in_days", days)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK, "token created");
    let page = response.text().await.expect("a page");
    secret_on(&page).expect("the secret is shown")
}

fn secret_on(page: &str) -> Option<String> {
    let marker = "data-token=\"";
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find('"')? + start;
    Some(page[start..end].to_owned())
}

/// A user signed in in their own browser.
async fn signed_in(app: &TestApp, email: &str, role: Role) -> (TestUser, Browser) {
    let user = app.create_user(email, role);
    let browser = app.open_browser();
    browser.login_as(&user).await;
    (user, browser)
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

/// An admin's behaviour rule: +10 for each page view.
async fn page_view_rule(admin: &Browser) {
    let response = admin
        .post_form(
            "/admin/scoring/rules",
            &[
                ("kind", "behaviour"),
                ("event_name", "page_view"),
                ("counting", "each"),
                ("points", "10"),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "rule saved");
}

const SITE: &str = "https://www.example.com";

/// Posts one page view about `lead` with the token as a bearer credential.
async fn post_event(app: &TestApp, token: &str, lead: i64) -> (StatusCode, Value) {
    let (status, body, _) = post_with(app, Some(token), lead, None, false).await;
    (status, body)
}

/// Posts one page view about `lead`: the token in the header, or in the body as
/// `write_key` when `in_body`; from a browser `origin` if given.
async fn post_with(
    app: &TestApp,
    token: Option<&str>,
    lead: i64,
    origin: Option<&str>,
    in_body: bool,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut event =
        json!({"name": "page_view", "lead_id": lead, "properties": {"path": "/pricing"}});
    let mut request = http_client()
        .post(app.url("/api/v1/events"))
        .header(CONTENT_TYPE, "application/json");
    match (token, in_body) {
        (Some(token), true) => event["write_key"] = json!(token),
        (Some(token), false) => request = request.header(AUTHORIZATION, format!("Bearer {token}")),
        (None, _) => {}
    }
    if let Some(origin) = origin {
        request = request.header(ORIGIN, origin);
    }
    let response = request.body(event.to_string()).send().await.expect("POST");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        headers,
    )
}

fn events_of_lead(app: &TestApp, lead: i64) -> i64 {
    lead_events::table
        .filter(lead_events::lead_id.eq(lead))
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

fn score_of(app: &TestApp, lead: i64) -> i64 {
    leads::table
        .find(lead)
        .select(leads::score)
        .first(&mut app.conn())
        .expect("the lead")
}

fn token_count(app: &TestApp) -> i64 {
    api_tokens::table
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

fn token_id(app: &TestApp, name: &str) -> i64 {
    api_tokens::table
        .filter(api_tokens::name.eq(name))
        .select(api_tokens::id)
        .first(&mut app.conn())
        .expect("the token")
}

fn audit_details(app: &TestApp, action: &str) -> Vec<String> {
    audit_log::table
        .filter(audit_log::action.eq(action))
        .filter(audit_log::target.like("API token%"))
        .select(audit_log::details)
        .load::<Option<String>>(&mut app.conn())
        .expect("audit")
        .into_iter()
        .flatten()
        .collect()
}

// ---------------------------------------------------------------------------------------
// Creating and using a token

#[tokio::test]
async fn a_token_created_on_the_page_is_shown_once_and_posts_events_that_move_the_score() {
    let app = spawn_app().await;
    let (_, admin) = signed_in(&app, "admin@example.com", Role::Admin).await;
    page_view_rule(&admin).await;
    let (_, sam) = signed_in(&app, "sam@example.com", Role::Sales).await;
    let lead = create_lead(&app, "ada@example.com");

    let empty = sam.get_html("/account/api-tokens").await;
    assert!(empty.contains("You have no API tokens yet"));

    let secret = create_token(&sam, "Zapier", "").await;
    assert!(secret.starts_with("rpt_"), "{secret}");
    let prefix: String = secret.chars().take(12).collect();

    // Later the page shows only the prefix.
    let list = sam.get_html("/account/api-tokens").await;
    assert!(!list.contains(&secret), "the secret is never shown again");
    assert!(list.contains(&prefix));
    assert!(list.contains("Zapier"));
    assert!(list.contains("active"));
    let stored: (String, String) = api_tokens::table
        .select((api_tokens::token_hash, api_tokens::token_prefix))
        .first(&mut app.conn())
        .expect("stored");
    assert_ne!(stored.0, secret, "stored hashed");
    assert_eq!(stored.1, prefix);
    assert!(
        audit_details(&app, "record_created")
            .iter()
            .all(|details| !details.contains(&secret)),
        "the audit log never holds the secret"
    );
    assert_eq!(audit_details(&app, "record_created").len(), 1);

    let (status, body) = post_event(&app, &secret, lead).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], 1);
    assert_eq!(events_of_lead(&app, lead), 1);
    assert_eq!(score_of(&app, lead), 1000, "10 points, in hundredths");
    let timeline: Vec<String> = timeline_entries::table
        .filter(timeline_entries::lead_id.eq(lead))
        .filter(timeline_entries::kind.eq("event"))
        .select(timeline_entries::body)
        .load(&mut app.conn())
        .expect("timeline");
    assert_eq!(timeline, ["page_view /pricing"]);
}

#[tokio::test]
async fn the_last_use_is_noted_at_most_once_a_minute() {
    let app = spawn_app().await;
    let (_, sam) = signed_in(&app, "sam@example.com", Role::Sales).await;
    let lead = create_lead(&app, "ada@example.com");
    let secret = create_token(&sam, "CI", "30").await;
    let last_used = || -> Option<chrono::NaiveDateTime> {
        api_tokens::table
            .select(api_tokens::last_used_at)
            .first(&mut app.conn())
            .expect("token")
    };
    assert_eq!(last_used(), None);

    let first = app.clock.now();
    assert_eq!(post_event(&app, &secret, lead).await.0, StatusCode::OK);
    assert_eq!(last_used(), Some(first));

    app.clock.advance(Duration::seconds(30));
    assert_eq!(post_event(&app, &secret, lead).await.0, StatusCode::OK);
    assert_eq!(last_used(), Some(first), "not rewritten within the minute");

    app.clock.advance(Duration::seconds(31));
    assert_eq!(post_event(&app, &secret, lead).await.0, StatusCode::OK);
    assert_eq!(last_used(), Some(app.clock.now()));
}

// ---------------------------------------------------------------------------------------
// Tokens that stop working

#[tokio::test]
async fn a_revoked_token_gets_a_401_and_stores_nothing() {
    let app = spawn_app().await;
    let (_, sam) = signed_in(&app, "sam@example.com", Role::Sales).await;
    let lead = create_lead(&app, "ada@example.com");
    let secret = create_token(&sam, "Zapier", "").await;
    let id = token_id(&app, "Zapier");

    let confirm = sam
        .get_html(&format!("/account/api-tokens/{id}/revoke"))
        .await;
    assert!(confirm.contains("Revoke token"));
    let response = sam
        .post_form(&format!("/account/api-tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/account/api-tokens");
    let list = sam.get_html("/account/api-tokens").await;
    assert!(list.contains("is revoked"), "a flash message says so");
    assert!(list.contains("revoked"));
    assert_eq!(audit_details(&app, "record_updated").len(), 1);

    let (status, body) = post_event(&app, &secret, lead).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    assert!(body["error"]["message"].is_string());
    assert_eq!(events_of_lead(&app, lead), 0);
}

#[tokio::test]
async fn an_expired_token_gets_a_401() {
    let app = spawn_app().await;
    let (_, sam) = signed_in(&app, "sam@example.com", Role::Sales).await;
    let lead = create_lead(&app, "ada@example.com");
    let secret = create_token(&sam, "Short-lived", "1").await;
    assert_eq!(post_event(&app, &secret, lead).await.0, StatusCode::OK);
    let expires_at: Option<chrono::NaiveDateTime> = api_tokens::table
        .select(api_tokens::expires_at)
        .first(&mut app.conn())
        .expect("token");
    assert_eq!(expires_at, Some(app.clock.now() + Duration::days(1)));

    // The expiry is brought forward rather than the clock moved a day, which would also
    // end the browser's idle session.
    diesel::update(api_tokens::table)
        .set(api_tokens::expires_at.eq(app.clock.now() + Duration::seconds(30)))
        .execute(&mut app.conn())
        .expect("expiry brought forward");
    app.clock.advance(Duration::seconds(31));
    let (status, body) = post_event(&app, &secret, lead).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(events_of_lead(&app, lead), 1);
    assert!(
        sam.get_html("/account/api-tokens")
            .await
            .contains("expired")
    );
}

#[tokio::test]
async fn a_deactivated_users_tokens_get_a_401() {
    let app = spawn_app().await;
    let (_, admin) = signed_in(&app, "admin@example.com", Role::Admin).await;
    let (sam_user, sam) = signed_in(&app, "sam@example.com", Role::Sales).await;
    let lead = create_lead(&app, "ada@example.com");
    let secret = create_token(&sam, "Zapier", "").await;
    assert_eq!(post_event(&app, &secret, lead).await.0, StatusCode::OK);

    let response = admin
        .post_form(&format!("/admin/users/{}/deactivate", sam_user.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, body) = post_event(&app, &secret, lead).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(events_of_lead(&app, lead), 1);
    let all = admin.get_html("/admin/api-tokens").await;
    assert!(all.contains("owner deactivated"));

    diesel::update(users::table.find(sam_user.id))
        .set(users::active.eq(true))
        .execute(&mut app.conn())
        .expect("reactivate");
    assert_eq!(post_event(&app, &secret, lead).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_support_agents_token_gets_a_403_and_the_refusal_is_audited() {
    let app = spawn_app().await;
    let (_, agent) = signed_in(&app, "sue@example.com", Role::Support).await;
    let lead = create_lead(&app, "ada@example.com");
    let secret = create_token(&agent, "Helpdesk sync", "").await;

    let (status, body) = post_event(&app, &secret, lead).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(events_of_lead(&app, lead), 0);
    let denied: i64 = audit_log::table
        .filter(audit_log::action.eq("authorization_denied"))
        .filter(audit_log::target.eq("POST /api/v1/events"))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(denied, 1);
}

#[tokio::test]
async fn a_token_allows_no_browser_origin_and_cannot_ride_in_the_body() {
    let app = spawn_app().await;
    let (_, sam) = signed_in(&app, "sam@example.com", Role::Sales).await;
    let lead = create_lead(&app, "ada@example.com");
    let secret = create_token(&sam, "Zapier", "").await;

    let (status, body, headers) = post_with(&app, Some(&secret), lead, Some(SITE), false).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "origin_not_allowed");
    assert!(headers.get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());

    let (status, body, _) = post_with(&app, Some(&secret), lead, None, true).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(events_of_lead(&app, lead), 0);
}

// ---------------------------------------------------------------------------------------
// Who may revoke what

#[tokio::test]
async fn another_user_cannot_see_or_revoke_my_token() {
    let app = spawn_app().await;
    let (_, sam) = signed_in(&app, "sam@example.com", Role::Sales).await;
    let (_, rita) = signed_in(&app, "rita@example.com", Role::Sales).await;
    let lead = create_lead(&app, "ada@example.com");
    let secret = create_token(&sam, "Zapier", "").await;
    let id = token_id(&app, "Zapier");

    assert!(
        !rita
            .get_html("/account/api-tokens")
            .await
            .contains("Zapier")
    );
    assert_eq!(
        rita.get(&format!("/account/api-tokens/{id}/revoke"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let response = rita
        .post_form(&format!("/account/api-tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(post_event(&app, &secret, lead).await.0, StatusCode::OK);

    // Nor may a non-admin use the admin's pages.
    assert_eq!(
        rita.get("/admin/api-tokens").await.status(),
        StatusCode::FORBIDDEN
    );
    let response = rita
        .post_form(&format!("/admin/api-tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(post_event(&app, &secret, lead).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_admin_sees_and_revokes_anyones_token() {
    let app = spawn_app().await;
    let (_, admin) = signed_in(&app, "admin@example.com", Role::Admin).await;
    let (_, sam) = signed_in(&app, "sam@example.com", Role::Sales).await;
    let lead = create_lead(&app, "ada@example.com");

    let empty = admin.get_html("/admin/api-tokens").await;
    assert!(empty.contains("No one has created an API token yet"));
    assert!(
        empty.contains("href=\"/admin/api-tokens\""),
        "in the admin tabs"
    );

    let secret = create_token(&sam, "Zapier", "").await;
    let id = token_id(&app, "Zapier");
    let all = admin.get_html("/admin/api-tokens").await;
    assert!(all.contains("Zapier"));
    assert!(all.contains("sam@example.com"));
    assert!(!all.contains(&secret));

    assert!(
        admin
            .get_html(&format!("/admin/api-tokens/{id}/revoke"))
            .await
            .contains("Revoke token")
    );
    let response = admin
        .post_form(&format!("/admin/api-tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/api-tokens");
    assert!(
        admin
            .get_html("/admin/api-tokens")
            .await
            .contains("is revoked")
    );
    assert_eq!(
        post_event(&app, &secret, lead).await.0,
        StatusCode::UNAUTHORIZED
    );

    assert_eq!(
        admin
            .post_form("/admin/api-tokens/999999/revoke", &[])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

// ---------------------------------------------------------------------------------------
// Bad input and forged requests

#[tokio::test]
async fn a_bad_expiry_or_name_gets_a_field_error_and_nothing_is_written() {
    let app = spawn_app().await;
    let (_, sam) = signed_in(&app, "sam@example.com", Role::Sales).await;

    for days in ["0", "3651", "soon"] {
        let response = sam
            .post_form(
                "/account/api-tokens",
                &[("name", "Zapier"), ("expires_in_days", days)],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{days}"
        );
        let page = response.text().await.expect("a page");
        assert!(page.contains("expires_in_days-error"), "{days}");
        assert!(page.contains("value=\"Zapier\""), "the name is kept");
        assert_eq!(secret_on(&page), None);
    }
    let response = sam
        .post_form(
            "/account/api-tokens",
            &[("name", "  "), ("expires_in_days", "")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("a page")
            .contains("name-error")
    );
    assert_eq!(token_count(&app), 0);
}

#[tokio::test]
async fn a_form_without_the_csrf_token_is_refused() {
    let app = spawn_app().await;
    let (_, sam) = signed_in(&app, "sam@example.com", Role::Sales).await;

    let response = sam
        .post_form_raw(
            "/account/api-tokens",
            &[("name", "Zapier"), ("expires_in_days", "")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(token_count(&app), 0);

    create_token(&sam, "Zapier", "").await;
    let id = token_id(&app, "Zapier");
    let response = sam
        .post_form_raw(&format!("/account/api-tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let revoked: Option<chrono::NaiveDateTime> = api_tokens::table
        .find(id)
        .select(api_tokens::revoked_at)
        .first(&mut app.conn())
        .expect("token");
    assert_eq!(revoked, None);
}

#[tokio::test]
async fn the_token_pages_need_a_signed_in_user_and_the_profile_links_to_them() {
    let app = spawn_app().await;
    let anonymous = app.open_browser();
    let response = anonymous.get("/account/api-tokens").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login"));

    let (_, agent) = signed_in(&app, "sue@example.com", Role::Support).await;
    assert!(
        agent
            .get_html("/profile")
            .await
            .contains("href=\"/account/api-tokens\"")
    );
    assert_eq!(
        agent.get("/account/api-tokens").await.status(),
        StatusCode::OK
    );
}

// ---------------------------------------------------------------------------------------
// The OpenAPI document

#[tokio::test]
async fn the_openapi_document_describes_the_events_endpoint_and_the_bearer_scheme() {
    let app = spawn_app().await;
    let response = http_client()
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"))
    );
    for cookie in ["rapport_session", "rapport_csrf"] {
        assert_eq!(
            set_cookie(&response, cookie),
            None,
            "no {cookie} for the API"
        );
    }
    let document: Value =
        serde_json::from_str(&response.text().await.expect("a body")).expect("valid JSON");
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|version| version.starts_with("3."))
    );
    let events = &document["paths"]["/api/v1/events"]["post"];
    assert!(events.is_object(), "{document}");
    assert!(events["requestBody"]["content"]["application/json"].is_object());
    for status in ["200", "401", "403", "422"] {
        assert!(events["responses"][status].is_object(), "{status}");
    }
    assert_eq!(events["security"][0]["bearer"], json!([]));
    let scheme = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
}
