//! Leads and lead scoring through HTTP: creating, editing (with validation and conflicts)
//! and listing leads highest score first with filters, pages and bulk actions; who may do
//! what; the scoring admin's preview, the background rescoring a saved rule starts, the
//! breakdown and history on the lead page, manual adjustments, grade changes on the
//! timeline, the daily decay, and the links of a converted lead.

#[path = "../common/mod.rs"]
mod common;
use common::*;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rapport::audit::Actor;
use rapport::auth::model::{Role, User};
use rapport::clock::Clock;
use rapport::db::schema::{
    app_settings, companies, contacts, lead_adjustments, lead_events, lead_score_changes, leads,
    scoring_rules, timeline_entries,
};
use rapport::leads::model::{Lead, LeadForm, Source};
use reqwest::StatusCode;

// ---------------------------------------------------------------------------------------
// Helpers

/// The app with sessions that outlive the clock jumps the decay test makes.
async fn spawn() -> TestApp {
    spawn_app_with(|settings| {
        settings.session_idle_timeout = Duration::days(30);
        settings.session_lifetime = Duration::days(30);
    })
    .await
}

fn user_record(app: &TestApp, user: &TestUser) -> User {
    rapport::auth::queries::find(&mut app.conn(), user.id)
        .expect("query")
        .expect("the user exists")
}

/// A lead as its form would describe it.
#[derive(Default)]
struct Seed<'a> {
    first: &'a str,
    last: &'a str,
    email: &'a str,
    industry: &'a str,
    website: &'a str,
    company_size: &'a str,
    source: &'a str,
    status: &'a str,
    owner: Option<i64>,
    tags: &'a str,
}

/// Creates a lead through the service layer, as `by` (scored with the rules of the moment).
fn seed(app: &TestApp, by: &TestUser, lead: &Seed<'_>) -> i64 {
    let form = LeadForm {
        first_name: lead.first.to_owned(),
        last_name: lead.last.to_owned(),
        email: lead.email.to_owned(),
        industry: lead.industry.to_owned(),
        website: lead.website.to_owned(),
        company_size: lead.company_size.to_owned(),
        source: lead.source.to_owned(),
        status: lead.status.to_owned(),
        owner_id: lead.owner.map(|id| id.to_string()).unwrap_or_default(),
        tags: lead.tags.to_owned(),
        ..LeadForm::default()
    };
    let input = form.parse(Source::Manual).expect("a valid lead");
    let user = user_record(app, by);
    let actor = Actor::user(&user, "127.0.0.1");
    rapport::leads::service::create(&mut app.conn(), &user, &actor, &input, app.clock.now())
        .expect("lead created")
}

fn named(first: &str, last: &str) -> Seed<'static> {
    // Leaked once per test lead: keeps `Seed` free of owned strings.
    Seed {
        first: Box::leak(first.to_owned().into_boxed_str()),
        last: Box::leak(last.to_owned().into_boxed_str()),
        ..Seed::default()
    }
}

fn lead(app: &TestApp, id: i64) -> Lead {
    rapport::leads::queries::find(&mut app.conn(), id)
        .expect("query")
        .expect("the lead exists")
}

fn lead_count(app: &TestApp) -> i64 {
    leads::table
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

fn rules_version(app: &TestApp) -> i64 {
    rapport::leads::scoring::rules::version(&mut app.conn()).expect("the version")
}

fn lead_id_from(response: &reqwest::Response) -> i64 {
    location(response)
        .strip_prefix("/leads/")
        .and_then(|rest| rest.parse().ok())
        .expect("a redirect to the new lead")
}

fn version_in(page: &str) -> String {
    let marker = "name=\"version\" value=\"";
    let start = page.find(marker).expect("the form has a version") + marker.len();
    let end = page[start..].find('"').expect("the value ends") + start;
    page[start..end].to_owned()
}

fn with<'a>(
    mut fields: Vec<(&'a str, &'a str)>,
    name: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    fields.retain(|(field, _)| *field != name);
    fields.push((name, value));
    fields
}

/// Saves a scoring rule as the signed-in admin.
async fn save_rule(browser: &Browser, fields: &[(&str, &str)]) {
    let all = with(fields.to_vec(), "intent", "save");
    let response = browser.post_form("/admin/scoring/rules", &all).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "rule {fields:?} saved"
    );
    assert_eq!(location(&response), "/admin/scoring");
}

/// Waits until the background rescoring has caught up with the current rules.
async fn rescored(app: &TestApp) {
    app.eventually("every lead is rescored", || {
        let (done, total) = rapport::leads::scoring::progress(&mut app.conn()).expect("progress");
        done == total
    })
    .await;
}

fn record_event(app: &TestApp, lead_id: i64, name: &str, path: &str, at: NaiveDateTime) {
    diesel::insert_into(lead_events::table)
        .values((
            lead_events::lead_id.eq(lead_id),
            lead_events::name.eq(name),
            lead_events::properties.eq(serde_json::json!({ "path": path }).to_string()),
            lead_events::occurred_at.eq(at),
            lead_events::received_at.eq(at),
        ))
        .execute(&mut app.conn())
        .expect("event stored");
}

/// The leads among `ids` a list page shows, in the order it shows them.
async fn shown(browser: &Browser, path: &str, ids: &[i64]) -> Vec<i64> {
    ids_in_order(&browser.get_html(path).await, ids)
}

/// The day the daily decay last ran, as the app keeps it.
fn decay_day(app: &TestApp) -> Option<String> {
    app_settings::table
        .find("scoring_decay_day")
        .select(app_settings::value)
        .first(&mut app.conn())
        .optional()
        .expect("query")
}

/// Where each lead appears on a list page (None when it is not there).
fn position(page: &str, id: i64) -> Option<usize> {
    page.find(&format!("<a href=\"/leads/{id}\">"))
}

fn ids_in_order(page: &str, ids: &[i64]) -> Vec<i64> {
    let mut shown: Vec<(usize, i64)> = ids
        .iter()
        .filter_map(|id| position(page, *id).map(|at| (at, *id)))
        .collect();
    shown.sort_unstable();
    shown.into_iter().map(|(_, id)| id).collect()
}

fn lead_fields<'a>(first: &'a str, last: &'a str, email: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("first_name", first),
        ("last_name", last),
        ("email", email),
        ("source", "manual"),
        ("status", "new"),
    ]
}

// ---------------------------------------------------------------------------------------
// Create, edit, validation, conflicts

#[tokio::test]
async fn a_lead_is_created_shown_edited_and_its_changes_land_on_its_timeline() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;

    let form = app.get_html("/leads/new").await;
    assert!(form.contains("name=\"first_name\""));
    let fields = lead_fields("Ada", "Lovelace", "ADA@Example.com");
    let fields = with(fields, "company_name", "Analytical Engines");
    let fields = with(fields, "company_size", "1,200");
    let fields = with(fields, "website", "analytical.example");
    let fields = with(fields, "source", "referral");
    let fields = with(fields, "tags", "VIP, conference");
    let response = app.post_form("/leads", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = lead_id_from(&response);

    let stored = lead(&app, id);
    assert_eq!(stored.email.as_deref(), Some("ada@example.com"));
    assert_eq!(stored.company_size, Some(1200));
    assert_eq!(stored.source, "referral");
    assert_eq!(stored.status, "new");

    let page = app.get_html(&format!("/leads/{id}")).await;
    assert!(page.contains("Ada Lovelace"));
    assert!(page.contains("Analytical Engines"));
    assert!(page.contains("Referral"));
    assert!(page.contains("<a class=\"tag\" href=\"/leads?tag=vip\">vip</a>"));
    assert!(page.contains("Lead created"));

    let edit = app.get_html(&format!("/leads/{id}/edit")).await;
    assert!(edit.contains("value=\"Analytical Engines\""));
    let version = version_in(&edit);
    let fields = lead_fields("Ada", "King", "ada@example.com");
    let fields = with(fields, "status", "contacted");
    let fields = with(fields, "version", &version);
    let response = app.post_form(&format!("/leads/{id}"), &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/leads/{id}"));

    let stored = lead(&app, id);
    assert_eq!(stored.last_name, "King");
    assert_eq!(stored.status, "contacted");
    assert_eq!(stored.company_name, None, "an emptied field is cleared");
    assert_eq!(stored.version, 2);
    let page = app.get_html(&format!("/leads/{id}")).await;
    assert!(page.contains("Status: New → Contacted"));
    assert!(page.contains("Lead details changed"));
}

#[tokio::test]
async fn an_invalid_lead_is_refused_with_each_message_next_to_its_field_and_nothing_saved() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;

    let fields = lead_fields("", "", "not an email");
    let fields = with(fields, "company_size", "many");
    let fields = with(fields, "website", "nowhere");
    let fields = with(fields, "source", "telepathy");
    let fields = with(fields, "status", "converted");
    let response = app.post_form("/leads", &fields).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("a body");
    assert!(page.contains("&#34;not an email&#34; is not a valid email address"));
    assert!(page.contains("Enter the number of employees as a whole number, like 50."));
    assert!(page.contains("Enter a web address, like example.com."));
    assert!(page.contains("Choose a source from the list."));
    assert!(page.contains("A lead becomes converted only by converting it."));
    assert!(page.contains("value=\"nowhere\""), "what was typed is kept");

    let response = app.post_form("/leads", &lead_fields("", "", "")).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("a body")
            .contains("Enter a name or an email address.")
    );

    // An owner who is not an active user is refused by the service, also with 422.
    let response = app
        .post_form(
            "/leads",
            &with(lead_fields("Ada", "", ""), "owner_id", "999"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("a body")
            .contains("Choose an active user as the owner.")
    );
    assert_eq!(lead_count(&app), 0);

    // The same rules on edit: nothing changes.
    let id = seed(&app, &admin, &named("Grace", "Hopper"));
    let version = version_in(&app.get_html(&format!("/leads/{id}/edit")).await);
    let fields = with(lead_fields("Grace", "Hopper", "bad@"), "version", &version);
    let response = app.post_form(&format!("/leads/{id}"), &fields).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let stored = lead(&app, id);
    assert_eq!(stored.email, None);
    assert_eq!(stored.version, 1);
}

#[tokio::test]
async fn the_second_of_two_people_saving_the_same_version_gets_a_conflict_and_the_first_save_stays()
{
    let app = spawn_app().await;
    let admin = app.admin();
    let sales = app.create_user("sales@example.com", Role::Sales);
    let id = seed(
        &app,
        &admin,
        &Seed {
            owner: Some(sales.id),
            ..named("Alan", "Turing")
        },
    );
    app.login_as(&admin).await;
    let other = app.open_browser();
    other.login_as(&sales).await;

    let first_version = version_in(&app.get_html(&format!("/leads/{id}/edit")).await);
    let second_version = version_in(&other.get_html(&format!("/leads/{id}/edit")).await);
    assert_eq!(first_version, second_version);
    let owner = sales.id.to_string();

    let first = with(lead_fields("Alan", "Turing", ""), "owner_id", &owner);
    let first = with(
        with(first, "job_title", "Cryptanalyst"),
        "version",
        &first_version,
    );
    let response = app.post_form(&format!("/leads/{id}"), &first).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let second = with(lead_fields("Alan", "Turing", ""), "owner_id", &owner);
    let second = with(
        with(second, "job_title", "Mathematician"),
        "version",
        &second_version,
    );
    let response = other.post_form(&format!("/leads/{id}"), &second).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let page = response.text().await.expect("a body");
    assert!(page.contains("Someone else changed this lead while you were editing it."));
    assert!(
        page.contains("value=\"Mathematician\""),
        "the user's values stay in the form"
    );
    assert!(page.contains(
        "<td>Job title</td><td class=\"theirs\">Cryptanalyst</td><td class=\"yours\">Mathematician</td>"
    ));
    assert!(!page.contains("<td>Last name</td>"), "only what differs");
    assert_eq!(version_in(&page), "2");
    assert_eq!(lead(&app, id).job_title.as_deref(), Some("Cryptanalyst"));

    // Saving again from the conflict page (now at the current version) works.
    let again = with(lead_fields("Alan", "Turing", ""), "owner_id", &owner);
    let again = with(with(again, "job_title", "Mathematician"), "version", "2");
    let response = other.post_form(&format!("/leads/{id}"), &again).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(lead(&app, id).job_title.as_deref(), Some("Mathematician"));
}

// ---------------------------------------------------------------------------------------
// Permissions and missing leads

#[tokio::test]
async fn support_agents_see_leads_and_add_notes_but_get_403_on_every_change() {
    let app = spawn_app().await;
    let admin = app.admin();
    let support = app.create_user("support@example.com", Role::Support);
    let id = seed(&app, &admin, &named("Ada", "Lovelace"));
    app.login_as(&support).await;

    let list = app.get_html("/leads").await;
    assert!(position(&list, id).is_some());
    assert!(!list.contains("New lead"));
    assert!(
        !list.contains("name=\"ids\""),
        "no bulk actions for support"
    );
    let page = app.get_html(&format!("/leads/{id}")).await;
    assert!(!page.contains(&format!("/leads/{id}/edit")));
    assert!(!page.contains(&format!("/leads/{id}/convert")));
    assert!(!page.contains("Adjust the score"));
    assert!(page.contains("Add a note"));

    assert_eq!(app.get("/leads/new").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(&format!("/leads/{id}/edit")).await.status(),
        StatusCode::FORBIDDEN
    );
    let response = app.post_form("/leads", &lead_fields("Eve", "", "")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let edit = with(lead_fields("Eve", "", ""), "version", "1");
    let response = app.post_form(&format!("/leads/{id}"), &edit).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Even an invalid form is refused for who sends it, not for what it holds.
    let invalid = with(lead_fields("", "", "bad"), "version", "1");
    let response = app.post_form(&format!("/leads/{id}"), &invalid).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .post_form(
            &format!("/leads/{id}/adjustments"),
            &[("points", "10"), ("reason", "I like them")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .post_form(
            "/leads/bulk",
            &[
                ("ids", &id.to_string()),
                ("action", "status"),
                ("status", "qualified"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let stored = lead(&app, id);
    assert_eq!(
        (stored.first_name.as_str(), stored.status.as_str()),
        ("Ada", "new")
    );
    assert_eq!(stored.score, 0);

    // Notes are for everyone, on a lead as on a contact.
    let response = app
        .post_form(
            &format!("/leads/{id}/notes"),
            &[("body", "Asked about pricing")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/leads/{id}#timeline"));
    let page = app.get_html(&format!("/leads/{id}")).await;
    assert!(page.contains("Asked about pricing"));
}

#[tokio::test]
async fn sales_reps_edit_their_own_leads_only_and_admins_edit_all() {
    let app = spawn_app().await;
    let admin = app.admin();
    let rep = app.create_user("rep@example.com", Role::Sales);
    let other_rep = app.create_user("other@example.com", Role::Sales);
    let mine = seed(
        &app,
        &admin,
        &Seed {
            owner: Some(rep.id),
            ..named("Mine", "Lead")
        },
    );
    let theirs = seed(
        &app,
        &admin,
        &Seed {
            owner: Some(other_rep.id),
            ..named("Their", "Lead")
        },
    );
    app.login_as(&rep).await;

    let owner = rep.id.to_string();
    let page = app.get_html(&format!("/leads/{mine}")).await;
    assert!(page.contains(&format!("href=\"/leads/{mine}/edit\"")));
    assert!(page.contains(&format!("href=\"/leads/{mine}/convert\"")));
    let fields = with(lead_fields("Mine", "Changed", ""), "owner_id", &owner);
    let response = app
        .post_form(&format!("/leads/{mine}"), &with(fields, "version", "1"))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(lead(&app, mine).last_name, "Changed");

    let page = app.get_html(&format!("/leads/{theirs}")).await;
    assert!(!page.contains(&format!("href=\"/leads/{theirs}/edit\"")));
    assert!(!page.contains(&format!("href=\"/leads/{theirs}/convert\"")));
    assert_eq!(
        app.get(&format!("/leads/{theirs}/edit")).await.status(),
        StatusCode::FORBIDDEN
    );
    let fields = with(lead_fields("Their", "Changed", ""), "version", "1");
    let response = app.post_form(&format!("/leads/{theirs}"), &fields).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .post_form(
            &format!("/leads/{theirs}/adjustments"),
            &[("points", "10"), ("reason", "Mine now")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(lead(&app, theirs).last_name, "Lead");

    // A rep creates leads (their own by default) and admins edit anyone's.
    let response = app
        .post_form(
            "/leads",
            &with(lead_fields("New", "One", ""), "owner_id", &owner),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(lead(&app, lead_id_from(&response)).owner_id, Some(rep.id));
    app.logout().await;
    app.login_as(&admin).await;
    let other_owner = other_rep.id.to_string();
    let fields = with(lead_fields("Their", "Edited", ""), "owner_id", &other_owner);
    let response = app
        .post_form(&format!("/leads/{theirs}"), &with(fields, "version", "1"))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(lead(&app, theirs).last_name, "Edited");
}

#[tokio::test]
async fn sales_and_support_get_403_on_the_scoring_admin_and_its_posts() {
    let app = spawn_app().await;
    let admin = app.admin();
    let id = seed(&app, &admin, &named("Ada", "Lovelace"));
    let version = rules_version(&app);
    for (email, role) in [
        ("rep@example.com", Role::Sales),
        ("support@example.com", Role::Support),
    ] {
        let user = app.create_user(email, role);
        let browser = app.open_browser();
        browser.login_as(&user).await;
        for path in [
            "/admin/scoring",
            "/admin/scoring/progress",
            "/admin/scoring/rules/1/edit",
        ] {
            assert_eq!(
                browser.get(path).await.status(),
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }
        let rule = [
            ("kind", "attribute"),
            ("field", "name"),
            ("operator", "is_set"),
            ("points", "50"),
            ("intent", "save"),
        ];
        for (path, fields) in [
            ("/admin/scoring/rules", &rule[..]),
            ("/admin/scoring/rules/1", &rule[..]),
            ("/admin/scoring/rules/1/delete", &[][..]),
            ("/admin/scoring/groups", &[("group_name", "fit")][..]),
            ("/admin/scoring/groups/1/delete", &[][..]),
            (
                "/admin/scoring/grades",
                &[
                    ("grade1_name", "hot"),
                    ("grade1_min", "1"),
                    ("lowest_name", "cold"),
                ][..],
            ),
        ] {
            let response = browser.post_form(path, fields).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role:?} {path}");
        }
        // They still see the score and its breakdown.
        let page = browser.get_html(&format!("/leads/{id}")).await;
        assert!(page.contains("id=\"score\""));
    }
    let rules: i64 = scoring_rules::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(rules, 0);
    assert_eq!(rules_version(&app), version);
}

#[tokio::test]
async fn missing_leads_are_not_found_on_every_route() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    for path in ["/leads/999", "/leads/999/edit"] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let fields = with(lead_fields("Ada", "", ""), "version", "1");
    let response = app.post_form("/leads/999", &fields).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .post_form(
            "/leads/999/adjustments",
            &[("points", "5"), ("reason", "why")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .post_form("/leads/999/notes", &[("body", "hello")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app.post_form("/admin/scoring/rules/999/delete", &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------------
// The list

#[tokio::test]
async fn the_list_shows_the_highest_score_first_and_filters_by_status_source_owner_grade_and_tag() {
    let app = spawn_app().await;
    let admin = app.admin();
    let rep = app.create_user("rep@example.com", Role::Sales);
    app.login_as(&admin).await;
    save_rule(
        &app,
        &[
            ("kind", "attribute"),
            ("field", "industry"),
            ("operator", "equals"),
            ("value", "software"),
            ("points", "40"),
        ],
    )
    .await;
    save_rule(
        &app,
        &[
            ("kind", "attribute"),
            ("field", "website"),
            ("operator", "is_set"),
            ("points", "30"),
        ],
    )
    .await;
    // hot ≥ 60, warm ≥ 30 (the default grades)
    let hot = seed(
        &app,
        &admin,
        &Seed {
            industry: "Software",
            website: "hot.example",
            source: "referral",
            tags: "vip",
            ..named("Hannah", "Hot")
        },
    );
    let warm = seed(
        &app,
        &admin,
        &Seed {
            industry: "software",
            owner: Some(rep.id),
            status: "contacted",
            ..named("Walter", "Warm")
        },
    );
    let lukewarm = seed(
        &app,
        &admin,
        &Seed {
            website: "luke.example",
            owner: Some(rep.id),
            tags: "vip",
            ..named("Luke", "Lukewarm")
        },
    );
    let cold = seed(&app, &admin, &named("Colin", "Cold"));
    let all = [hot, warm, lukewarm, cold];
    assert_eq!(lead(&app, hot).score, 7000);
    assert_eq!(lead(&app, hot).grade, "hot");
    assert_eq!(lead(&app, lukewarm).grade, "warm");

    let page = app.get_html("/leads").await;
    assert_eq!(ids_in_order(&page, &all), vec![hot, warm, lukewarm, cold]);
    assert!(page.contains("<td class=\"numeric\"><strong>70</strong></td>"));

    assert_eq!(
        shown(&app, "/leads?grade=warm", &all).await,
        vec![warm, lukewarm]
    );
    assert_eq!(shown(&app, "/leads?grade=HOT", &all).await, vec![hot]);
    assert_eq!(
        shown(&app, "/leads?status=contacted", &all).await,
        vec![warm]
    );
    assert_eq!(shown(&app, "/leads?source=referral", &all).await, vec![hot]);
    assert_eq!(
        shown(&app, &format!("/leads?owner={}", rep.id), &all).await,
        vec![warm, lukewarm]
    );
    assert_eq!(
        shown(&app, "/leads?tag=vip", &all).await,
        vec![hot, lukewarm]
    );
    assert_eq!(
        shown(&app, "/leads?tag=vip&grade=warm", &all).await,
        vec![lukewarm]
    );
    let none = app.get_html("/leads?tag=vip&status=unqualified").await;
    assert!(none.contains("No leads match these filters"));

    // Converted leads leave the working list but stay behind the status filter.
    diesel::update(leads::table.find(cold))
        .set(leads::status.eq("converted"))
        .execute(&mut app.conn())
        .expect("converted");
    assert_eq!(shown(&app, "/leads", &all).await, vec![hot, warm, lukewarm]);
    assert_eq!(
        shown(&app, "/leads?status=converted", &all).await,
        vec![cold]
    );

    // A rep's "mine" is the leads they own.
    app.logout().await;
    app.login_as(&rep).await;
    assert_eq!(
        shown(&app, "/leads?owner=mine", &all).await,
        vec![warm, lukewarm]
    );
}

#[tokio::test]
async fn the_list_pages_fifty_leads_at_a_time_by_score_and_follows_the_cursor_with_the_filters() {
    let app = spawn_app().await;
    let admin = app.admin();
    let mut ids = Vec::new();
    for n in 0..53 {
        let id = seed(
            &app,
            &admin,
            &Seed {
                tags: "batch",
                ..named("Lead", &format!("N{n:02}"))
            },
        );
        // Scores 0, 1, …: the highest comes first.
        diesel::update(leads::table.find(id))
            .set(leads::score.eq(n * 100))
            .execute(&mut app.conn())
            .expect("score set");
        ids.push(id);
    }
    app.login_as(&admin).await;
    let first = app.get_html("/leads?tag=batch").await;
    let expected: Vec<i64> = ids.iter().rev().copied().collect();
    assert_eq!(ids_in_order(&first, &ids), expected[..50].to_vec());
    let marker = "href=\"";
    let next_at = first.find("rel=\"next\"").expect("a next page link");
    let start = first[..next_at].rfind(marker).expect("its href") + marker.len();
    let next = first[start..]
        .split('"')
        .next()
        .expect("a link")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(next.contains("tag=batch"), "{next}");
    let second = app.get_html(&next).await;
    assert_eq!(ids_in_order(&second, &ids), expected[50..].to_vec());
    assert!(!second.contains("rel=\"next\""));
}

#[tokio::test]
async fn bulk_actions_change_the_leads_the_user_may_edit_and_count_the_skipped_ones() {
    let app = spawn_app().await;
    let admin = app.admin();
    let rep = app.create_user("rep@example.com", Role::Sales);
    let other_rep = app.create_user("other@example.com", Role::Sales);
    let mine = seed(
        &app,
        &admin,
        &Seed {
            owner: Some(rep.id),
            ..named("Mine", "A")
        },
    );
    let theirs = seed(
        &app,
        &admin,
        &Seed {
            owner: Some(other_rep.id),
            ..named("Theirs", "B")
        },
    );
    app.login_as(&rep).await;
    let (mine_id, theirs_id) = (mine.to_string(), theirs.to_string());

    let response = app
        .post_form(
            "/leads/bulk",
            &[
                ("ids", &mine_id),
                ("ids", &theirs_id),
                ("action", "status"),
                ("status", "qualified"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.get_html("/leads").await;
    assert!(
        page.contains("Updated 1 lead. Skipped 1 you may not change"),
        "{page}"
    );
    assert_eq!(lead(&app, mine).status, "qualified");
    assert_eq!(lead(&app, theirs).status, "new");
    let lead_page = app.get_html(&format!("/leads/{mine}")).await;
    assert!(lead_page.contains("Status: New → Qualified"));

    // Refused input changes nothing.
    let response = app
        .post_form(
            "/leads/bulk",
            &[
                ("ids", &mine_id),
                ("action", "status"),
                ("status", "converted"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = app
        .post_form("/leads/bulk", &[("action", "status"), ("status", "new")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(lead(&app, mine).status, "qualified");

    app.logout().await;
    app.login_as(&admin).await;
    let owner = other_rep.id.to_string();
    let response = app
        .post_form(
            "/leads/bulk",
            &[
                ("ids", &mine_id),
                ("ids", &theirs_id),
                ("action", "assign"),
                ("owner_id", &owner),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(app.get_html("/leads").await.contains("Updated 2 leads."));
    assert_eq!(lead(&app, mine).owner_id, Some(other_rep.id));
    assert_eq!(
        lead(&app, theirs).owner_id,
        Some(other_rep.id),
        "unchanged owner still counts"
    );
    assert_eq!(lead(&app, mine).version, 3);
}

// ---------------------------------------------------------------------------------------
// Scoring admin: preview, save, background rescoring

/// Five leads and one rule (website is set → +40): A, C and D are warm, B and E cold.
async fn known_data_set(app: &TestApp, admin: &TestUser) -> Vec<i64> {
    app.login_as(admin).await;
    save_rule(
        app,
        &[
            ("kind", "attribute"),
            ("field", "website"),
            ("operator", "is_set"),
            ("points", "40"),
        ],
    )
    .await;
    let a = seed(
        app,
        admin,
        &Seed {
            industry: "software",
            website: "a.example",
            ..named("A", "Lead")
        },
    );
    let b = seed(
        app,
        admin,
        &Seed {
            industry: "software",
            ..named("B", "Lead")
        },
    );
    let c = seed(
        app,
        admin,
        &Seed {
            industry: "Software",
            website: "c.example",
            ..named("C", "Lead")
        },
    );
    let d = seed(
        app,
        admin,
        &Seed {
            industry: "fintech",
            website: "d.example",
            ..named("D", "Lead")
        },
    );
    let e = seed(app, admin, &named("E", "Lead"));
    rescored(app).await;
    vec![a, b, c, d, e]
}

fn scores(app: &TestApp, ids: &[i64]) -> Vec<(i64, String)> {
    ids.iter()
        .map(|id| {
            let lead = lead(app, *id);
            (lead.score, lead.grade)
        })
        .collect()
}

fn grade_row(grade: &str, before: usize, after: usize) -> String {
    format!(
        "<tr class=\"preview-grade\" data-grade=\"{grade}\"><td>{grade}</td><td class=\"numeric\">{before}</td><td class=\"numeric\">{after}</td></tr>"
    )
}

#[tokio::test]
async fn previewing_a_rule_counts_the_leads_it_matches_and_the_grade_changes_and_saves_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    let ids = known_data_set(&app, &admin).await;
    let before = scores(&app, &ids);
    let version = rules_version(&app);

    let response = app
        .post_form(
            "/admin/scoring/rules",
            &[
                ("kind", "attribute"),
                ("field", "industry"),
                ("operator", "one_of"),
                ("value", "software, fintech"),
                ("points", "25"),
                ("intent", "preview"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("a body");
    assert!(
        page.contains(
            "This rule matches <strong class=\"preview-matching\">4</strong> of 5 leads."
        ),
        "{page}"
    );
    assert!(page.contains(&grade_row("hot", 0, 3)), "{page}");
    assert!(page.contains(&grade_row("warm", 3, 0)));
    assert!(page.contains(&grade_row("cold", 2, 2)));
    assert!(
        page.contains("value=\"software, fintech\""),
        "the form keeps the rule"
    );

    // A behaviour rule is previewed over the leads' events.
    record_event(&app, ids[1], "page_view", "/pricing/teams", app.clock.now());
    record_event(&app, ids[1], "page_view", "/blog", app.clock.now());
    let page = app
        .post_form(
            "/admin/scoring/rules",
            &[
                ("kind", "behaviour"),
                ("event_name", "page_view"),
                ("filter_key", "path"),
                ("filter_operator", "starts_with"),
                ("filter_value", "/pricing"),
                ("counting", "each"),
                ("points", "30"),
                ("intent", "preview"),
            ],
        )
        .await
        .text()
        .await
        .expect("a body");
    assert!(page.contains("<strong class=\"preview-matching\">1</strong> of 5 leads."));
    assert!(page.contains(&grade_row("warm", 3, 4)));
    assert!(page.contains(&grade_row("cold", 2, 1)));

    // The grades and the total cap are previewed too.
    let page = app
        .post_form(
            "/admin/scoring/grades",
            &[
                ("grade1_name", "hot"),
                ("grade1_min", "40"),
                ("grade2_name", "warm"),
                ("grade2_min", "20"),
                ("lowest_name", "cold"),
                ("total_cap", "35"),
                ("intent", "preview"),
            ],
        )
        .await
        .text()
        .await
        .expect("a body");
    assert!(
        page.contains(
            "The total cap would limit <strong class=\"preview-matching\">3</strong> of 5 leads."
        ),
        "{page}"
    );
    assert!(page.contains(&grade_row("hot", 0, 0)));
    assert!(page.contains(&grade_row("warm", 3, 3)));

    // Nothing was saved.
    let rules: i64 = scoring_rules::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(rules, 1);
    assert_eq!(rules_version(&app), version);
    assert_eq!(scores(&app, &ids), before);
    let page = app.get_html("/admin/scoring").await;
    assert!(
        page.contains("value=\"60\""),
        "the stored grades are unchanged"
    );
}

#[tokio::test]
async fn every_operator_of_an_attribute_rule_previews_the_leads_it_matches() {
    let app = spawn_app().await;
    let admin = app.admin();
    seed(
        &app,
        &admin,
        &Seed {
            industry: "Software",
            email: "a@gmail.com",
            company_size: "10",
            website: "a.example",
            ..named("Ann", "One")
        },
    );
    seed(
        &app,
        &admin,
        &Seed {
            industry: "fintech",
            email: "b@acme.example",
            company_size: "500",
            ..named("Bob", "Two")
        },
    );
    seed(&app, &admin, &named("Cy", "Three"));
    app.login_as(&admin).await;
    for (field, operator, value, matching) in [
        ("industry", "equals", "software", 1),
        ("industry", "not_equals", "software", 2),
        ("industry", "contains", "TECH", 1),
        ("industry", "starts_with", "soft", 1),
        ("email", "ends_with", "@gmail.com", 1),
        ("industry", "one_of", "software, fintech", 2),
        ("company_size", "at_least", "100", 1),
        ("company_size", "at_most", "100", 1),
        ("website", "is_set", "", 1),
        ("website", "is_empty", "", 2),
    ] {
        let response = app
            .post_form(
                "/admin/scoring/rules",
                &[
                    ("kind", "attribute"),
                    ("field", field),
                    ("operator", operator),
                    ("value", value),
                    ("points", "10"),
                    ("intent", "preview"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{field} {operator}");
        let page = response.text().await.expect("a body");
        let expected = format!(
            "This rule matches <strong class=\"preview-matching\">{matching}</strong> of 3 leads."
        );
        assert!(
            page.contains(&expected),
            "{field} {operator} {value}: {matching}"
        );
    }
    let rules: i64 = scoring_rules::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(rules, 0, "previews save nothing");
}

#[tokio::test]
async fn while_leads_wait_to_be_rescored_the_admin_page_and_the_list_show_the_progress() {
    // A worker that only wakes when told, so the leads stay behind until a rule is saved.
    let app = spawn_app_with(|settings| {
        settings.email_poll_interval = std::time::Duration::from_secs(3600);
    })
    .await;
    let admin = app.admin();
    for name in ["One", "Two", "Three"] {
        seed(&app, &admin, &named("Lead", name));
    }
    app.login_as(&admin).await;
    rapport::leads::scoring::rules::bump_version(&mut app.conn()).expect("bumped");

    let fragment = app.get_html("/admin/scoring/progress").await;
    assert!(fragment.contains("Rescoring: 0 of 3 leads"), "{fragment}");
    assert!(fragment.contains("<progress id=\"rescore-bar\" max=\"3\" value=\"0\">"));
    assert!(fragment.contains("hx-get=\"/admin/scoring/progress\" hx-trigger=\"every 2s\""));
    let page = app.get_html("/admin/scoring").await;
    assert!(page.contains("Rescoring: 0 of 3 leads"));
    let list = app.get_html("/leads").await;
    assert!(list.contains("Rescoring after a rule change: 0 of 3 leads done."));

    // Saving a rule wakes the worker, which rescores every lead.
    save_rule(
        &app,
        &[
            ("kind", "attribute"),
            ("field", "name"),
            ("operator", "is_set"),
            ("points", "35"),
        ],
    )
    .await;
    rescored(&app).await;
    let fragment = app.get_html("/admin/scoring/progress").await;
    assert!(fragment.contains("All 3 leads are scored with the current rules."));
    assert!(!fragment.contains("hx-get"), "no more polling once done");
    let list = app.get_html("/leads").await;
    assert!(!list.contains("Rescoring after a rule change"));
    assert!(list.contains("<td class=\"numeric\"><strong>35</strong></td>"));
}

#[tokio::test]
async fn an_invalid_rule_is_refused_with_its_message_and_nothing_saved() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    for (fields, message) in [
        (
            vec![
                ("kind", "attribute"),
                ("field", "company_size"),
                ("operator", "at_least"),
                ("value", "many"),
                ("points", "5"),
            ],
            "compare with a number",
        ),
        (
            vec![
                ("kind", "attribute"),
                ("field", "shoe_size"),
                ("operator", "equals"),
                ("value", "9"),
                ("points", "5"),
            ],
            "Choose a lead field from the list.",
        ),
        (
            vec![
                ("kind", "attribute"),
                ("field", "industry"),
                ("operator", "equals"),
                ("value", "x"),
                ("points", "lots"),
            ],
            "Enter points as a number such as 10, -5 or 7.5.",
        ),
        (
            vec![("kind", "behaviour"), ("event_name", ""), ("points", "5")],
            "Enter an event name.",
        ),
        (
            vec![
                ("kind", "behaviour"),
                ("event_name", "page_view"),
                ("points", "5"),
                ("half_life_days", "0"),
            ],
            "Enter a half-life of 1 to 3650 days",
        ),
        (
            vec![
                ("kind", "behaviour"),
                ("event_name", "page_view"),
                ("points", "5"),
                ("cap", "-3"),
            ],
            "A cap must be more than 0 points.",
        ),
    ] {
        let response = app
            .post_form(
                "/admin/scoring/rules",
                &with(fields.clone(), "intent", "save"),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}"
        );
        let page = response.text().await.expect("a body");
        assert!(page.contains(message), "{message}");
    }
    let response = app
        .post_form(
            "/admin/scoring/grades",
            &[
                ("grade1_name", "hot"),
                ("grade1_min", "30"),
                ("grade2_name", "warm"),
                ("grade2_min", "30"),
                ("lowest_name", "cold"),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("a body")
            .contains("Give every grade a different lower limit.")
    );
    let rules: i64 = scoring_rules::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(rules, 0);
    assert_eq!(rules_version(&app), 1);
}

#[tokio::test]
async fn saving_a_rule_rescores_every_lead_in_the_background_and_shows_the_progress() {
    let app = spawn_app().await;
    let admin = app.admin();
    let ids = known_data_set(&app, &admin).await;
    let version = rules_version(&app);

    save_rule(
        &app,
        &[
            ("kind", "attribute"),
            ("field", "industry"),
            ("operator", "one_of"),
            ("value", "software, fintech"),
            ("points", "25"),
        ],
    )
    .await;
    assert_eq!(rules_version(&app), version + 1);
    let admin_page = app.get_html("/admin/scoring").await;
    assert!(
        admin_page.contains("Rule added. Every lead is being rescored."),
        "the flash"
    );
    assert!(admin_page.contains("industry is one of [software, fintech]"));
    rescored(&app).await;
    assert_eq!(
        scores(&app, &ids),
        vec![
            (6500, "hot".to_owned()),
            (2500, "cold".to_owned()),
            (6500, "hot".to_owned()),
            (6500, "hot".to_owned()),
            (0, "cold".to_owned()),
        ]
    );
    let list = app.get_html("/leads").await;
    assert!(list.contains("<td class=\"numeric\"><strong>65</strong></td>"));
    assert_eq!(
        ids_in_order(&list, &ids),
        vec![ids[3], ids[2], ids[0], ids[1], ids[4]]
    );
    let page = app.get_html(&format!("/leads/{}", ids[0])).await;
    assert!(page.contains("<span class=\"score-total\">65</span>"));
    assert!(
        page.contains("scoring rules changed"),
        "the history says why"
    );

    let fragment = app.get_html("/admin/scoring/progress").await;
    assert!(fragment.contains("All 5 leads are scored with the current rules."));
    assert!(!fragment.contains("hx-get"), "no more polling once done");

    // Deleting the rule rescores them back.
    let rule_id: i64 = scoring_rules::table
        .filter(scoring_rules::field.eq("industry"))
        .select(scoring_rules::id)
        .first(&mut app.conn())
        .expect("the rule");
    let response = app
        .post_form(&format!("/admin/scoring/rules/{rule_id}/delete"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    rescored(&app).await;
    assert_eq!(lead(&app, ids[0]).score, 4000);
    assert_eq!(lead(&app, ids[0]).grade, "warm");
}

#[tokio::test]
async fn editing_a_rule_previews_it_in_place_of_the_stored_one_and_saving_rescores_every_lead() {
    let app = spawn_app().await;
    let admin = app.admin();
    let ids = known_data_set(&app, &admin).await;
    let rule_id: i64 = scoring_rules::table
        .select(scoring_rules::id)
        .first(&mut app.conn())
        .expect("the rule");
    let version = rules_version(&app);

    let page = app
        .get_html(&format!("/admin/scoring/rules/{rule_id}/edit"))
        .await;
    assert!(page.contains("Edit the attribute rule"));
    assert!(page.contains(&format!(
        "action=\"/admin/scoring/rules/{rule_id}#preview\""
    )));
    assert!(page.contains("<option value=\"website\" selected>"));
    assert!(page.contains("value=\"40\""), "the stored points");

    // 40 → 70 points: the three leads with a website become hot; the rule still matches 3.
    let edited = [
        ("kind", "attribute"),
        ("field", "website"),
        ("operator", "is_set"),
        ("value", ""),
        ("points", "70"),
    ];
    let response = app
        .post_form(
            &format!("/admin/scoring/rules/{rule_id}"),
            &with(edited.to_vec(), "intent", "preview"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("a body");
    assert!(page.contains("<strong class=\"preview-matching\">3</strong> of 5 leads."));
    assert!(page.contains(&grade_row("hot", 0, 3)));
    assert!(page.contains(&grade_row("warm", 3, 0)));
    assert_eq!(rules_version(&app), version, "a preview saves nothing");

    let response = app
        .post_form(
            &format!("/admin/scoring/rules/{rule_id}"),
            &with(edited.to_vec(), "intent", "save"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(rules_version(&app), version + 1);
    rescored(&app).await;
    assert_eq!(lead(&app, ids[0]).score, 7000);
    assert_eq!(lead(&app, ids[0]).grade, "hot");
    let rules: i64 = scoring_rules::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(rules, 1, "edited in place");

    // Refused input keeps the rule as it was; a missing rule is a 404.
    let response = app
        .post_form(
            &format!("/admin/scoring/rules/{rule_id}"),
            &with(edited.to_vec(), "points", "lots"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(lead(&app, ids[0]).score, 7000);
    assert_eq!(
        app.get("/admin/scoring/rules/999/edit").await.status(),
        StatusCode::NOT_FOUND
    );
    let response = app
        .post_form(
            "/admin/scoring/rules/999",
            &with(edited.to_vec(), "intent", "save"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn groups_and_the_total_cap_limit_scores_and_edited_grades_regrade_every_lead() {
    let app = spawn_app().await;
    let admin = app.admin();
    let ids = known_data_set(&app, &admin).await;

    let response = app
        .post_form(
            "/admin/scoring/groups",
            &[("group_name", "fit"), ("group_cap", "50")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let group_id: i64 = rapport::db::schema::scoring_groups::table
        .select(rapport::db::schema::scoring_groups::id)
        .first(&mut app.conn())
        .expect("the group");
    let group = group_id.to_string();
    save_rule(
        &app,
        &[
            ("kind", "attribute"),
            ("field", "industry"),
            ("operator", "equals"),
            ("value", "software"),
            ("points", "30"),
            ("group_id", &group),
        ],
    )
    .await;
    save_rule(
        &app,
        &[
            ("kind", "attribute"),
            ("field", "name"),
            ("operator", "contains"),
            ("value", "lead"),
            ("points", "30"),
            ("group_id", &group),
        ],
    )
    .await;
    rescored(&app).await;
    // A: website 40 + fit min(30 + 30, 50) = 90; B: fit 50; E: fit 30.
    assert_eq!(lead(&app, ids[0]).score, 9000);
    assert_eq!(lead(&app, ids[1]).score, 5000);
    assert_eq!(lead(&app, ids[4]).score, 3000);
    let page = app.get_html(&format!("/leads/{}", ids[0])).await;
    assert!(page.contains("group fit capped at 50"), "{page}");

    let response = app
        .post_form(
            "/admin/scoring/grades",
            &[
                ("grade1_name", "Blazing"),
                ("grade1_min", "80"),
                ("grade2_name", "hot"),
                ("grade2_min", "50"),
                ("grade3_name", "warm"),
                ("grade3_min", "30"),
                ("lowest_name", "frozen"),
                ("total_cap", "85"),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    rescored(&app).await;
    assert_eq!(
        scores(&app, &ids)
            .into_iter()
            .map(|(score, grade)| format!("{score} {grade}"))
            .collect::<Vec<_>>(),
        vec![
            "8500 blazing",
            "5000 hot",
            "8500 blazing",
            "7000 hot",
            "3000 warm"
        ]
    );
    let page = app.get_html("/admin/scoring").await;
    assert!(page.contains("value=\"blazing\""));
    assert!(page.contains("value=\"frozen\""));
    let list = app.get_html("/leads?grade=blazing").await;
    assert_eq!(ids_in_order(&list, &ids), vec![ids[2], ids[0]]);
    let page = app.get_html(&format!("/leads/{}", ids[0])).await;
    assert!(page.contains("total capped at 85"));
}

// ---------------------------------------------------------------------------------------
// The lead page: breakdown, history, adjustments, grade changes, conversion links

#[tokio::test]
async fn the_lead_page_explains_the_score_line_by_line_with_its_history() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let id = seed(
        &app,
        &admin,
        &Seed {
            industry: "Software",
            email: "dev@gmail.com",
            ..named("Ada", "Lovelace")
        },
    );
    let now = app.clock.now();
    // Event names match rules whatever their case.
    for (name, path) in [
        ("page_view", "/pricing"),
        ("Page_View", "/pricing/teams"),
        ("page_view", "/pricing"),
    ] {
        record_event(&app, id, name, path, now - Duration::hours(1));
    }
    record_event(&app, id, "page_view", "/blog", now);
    save_rule(
        &app,
        &[
            ("kind", "attribute"),
            ("field", "industry"),
            ("operator", "one_of"),
            ("value", "software, fintech"),
            ("points", "20"),
        ],
    )
    .await;
    save_rule(
        &app,
        &[
            ("kind", "attribute"),
            ("field", "email"),
            ("operator", "ends_with"),
            ("value", "@gmail.com"),
            ("points", "-5"),
        ],
    )
    .await;
    save_rule(
        &app,
        &[
            ("kind", "behaviour"),
            ("event_name", "page_view"),
            ("filter_key", "path"),
            ("filter_operator", "starts_with"),
            ("filter_value", "/pricing"),
            ("counting", "each"),
            ("points", "2.5"),
            ("cap", "5"),
        ],
    )
    .await;
    save_rule(
        &app,
        &[
            ("kind", "behaviour"),
            ("event_name", "form_submitted"),
            ("points", "50"),
        ],
    )
    .await;
    rescored(&app).await;
    assert_eq!(lead(&app, id).score, 2000);

    let page = app.get_html(&format!("/leads/{id}")).await;
    assert!(
        page.contains("<span class=\"score-total\">20</span>"),
        "{page}"
    );
    assert!(
        page.contains(
            "<td class=\"numeric\">+20</td><td>industry is one of [software, fintech]</td>"
        )
    );
    assert!(
        page.contains("<td class=\"numeric negative\">−5</td><td>email ends with @gmail.com</td>")
    );
    assert!(
        page.contains(
            "<td class=\"numeric\">+7.5</td><td>page_view path starts with /pricing ×3</td>"
        ),
        "{page}"
    );
    assert!(page.contains(
        "<tr class=\"score-line score-cap\"><td class=\"numeric negative\">−2.5</td><td>page_view capped at 5</td>"
    ));
    assert!(
        !page.contains("form_submitted"),
        "rules that do not apply add no line"
    );
    // The history shows each move with its reason.
    assert!(page.contains("<td>scoring rules changed</td>"));
    let history: i64 = lead_score_changes::table
        .filter(lead_score_changes::lead_id.eq(id))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert!(history >= 1);
}

#[tokio::test]
async fn a_manual_adjustment_with_a_reason_shows_in_the_breakdown_and_moves_the_grade_on_the_timeline()
 {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let id = seed(&app, &admin, &named("Ada", "Lovelace"));

    // Refused input is shown next to its field, kept, and saves nothing.
    let response = app
        .post_form(
            &format!("/leads/{id}/adjustments"),
            &[("points", "0"), ("reason", "")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("a body");
    assert!(page.contains("Enter the points to add or take away, like 10 or -5."));
    assert!(page.contains("Say why the score is adjusted."));
    let response = app
        .post_form(
            &format!("/leads/{id}/adjustments"),
            &[("points", "ten"), ("reason", "Met at the fair")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("a body")
            .contains("value=\"Met at the fair\"")
    );
    let adjustments: i64 = lead_adjustments::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(adjustments, 0);

    let response = app
        .post_form(
            &format!("/leads/{id}/adjustments"),
            &[("points", "65"), ("reason", "Met at the trade fair")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/leads/{id}#score"));
    let stored = lead(&app, id);
    assert_eq!((stored.score, stored.grade.as_str()), (6500, "hot"));

    let page = app.get_html(&format!("/leads/{id}")).await;
    assert!(
        page.contains("<td class=\"numeric\">+65</td><td>adjusted: Met at the trade fair</td>"),
        "{page}"
    );
    assert!(page.contains("<td>manual adjustment</td>"), "the history");
    assert!(page.contains("Grade changed from cold to hot (score 0 → 65): manual adjustment"));
    let score_entries: i64 = timeline_entries::table
        .filter(timeline_entries::lead_id.eq(id))
        .filter(timeline_entries::kind.eq("score"))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(score_entries, 1);

    // Back down across two thresholds: one more entry, no entry when the grade stays.
    let response = app
        .post_form(
            &format!("/leads/{id}/adjustments"),
            &[("points", "-1"), ("reason", "Small doubt")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = app
        .post_form(
            &format!("/leads/{id}/adjustments"),
            &[("points", "-50"), ("reason", "No budget")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.get_html(&format!("/leads/{id}")).await;
    assert!(page.contains("Grade changed from hot to cold (score 64 → 14): manual adjustment"));
    // 0 → 65 → 64 → 14, drawn left to right with the highest score at the top.
    assert!(page.contains("<polyline points=\"0.0,38.0 66.7,2.0 133.3,2.6 200.0,30.2\""));
    assert!(page.contains("<td class=\"numeric negative\">−50</td><td>adjusted: No budget</td>"));
    let score_entries: i64 = timeline_entries::table
        .filter(timeline_entries::lead_id.eq(id))
        .filter(timeline_entries::kind.eq("score"))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(score_entries, 2);
}

#[tokio::test]
async fn a_converted_lead_links_to_what_it_became_and_offers_no_convert_button() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let id = seed(&app, &admin, &named("Ada", "Lovelace"));
    let page = app.get_html(&format!("/leads/{id}")).await;
    assert!(page.contains(&format!("href=\"/leads/{id}/convert\">Convert</a>")));

    let now = app.clock.now();
    let contact_id: i64 = diesel::insert_into(contacts::table)
        .values((
            contacts::first_name.eq("Ada"),
            contacts::last_name.eq("Lovelace"),
            contacts::sort_name.eq("lovelace ada"),
            contacts::created_at.eq(now),
            contacts::updated_at.eq(now),
        ))
        .returning(contacts::id)
        .get_result(&mut app.conn())
        .expect("contact");
    let company_id: i64 = diesel::insert_into(companies::table)
        .values((
            companies::name.eq("Analytical Engines"),
            companies::sort_name.eq("analytical engines"),
            companies::created_at.eq(now),
            companies::updated_at.eq(now),
        ))
        .returning(companies::id)
        .get_result(&mut app.conn())
        .expect("company");
    diesel::update(leads::table.find(id))
        .set((
            leads::status.eq("converted"),
            leads::converted_contact_id.eq(contact_id),
            leads::converted_company_id.eq(company_id),
            leads::converted_at.eq(now),
        ))
        .execute(&mut app.conn())
        .expect("converted");

    let page = app.get_html(&format!("/leads/{id}")).await;
    assert!(!page.contains(&format!("/leads/{id}/convert")));
    assert!(page.contains(&format!(
        "Contact <a href=\"/contacts/{contact_id}\">Ada Lovelace</a>"
    )));
    assert!(page.contains(&format!(
        "Company <a href=\"/companies/{company_id}\">Analytical Engines</a>"
    )));

    // Editing a converted lead keeps it converted.
    let edit = app.get_html(&format!("/leads/{id}/edit")).await;
    assert!(!edit.contains("<select id=\"status\""));
    let fields = vec![
        ("first_name", "Ada"),
        ("last_name", "King"),
        ("version", "1"),
    ];
    let response = app.post_form(&format!("/leads/{id}"), &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let stored = lead(&app, id);
    assert_eq!(
        (stored.last_name.as_str(), stored.status.as_str()),
        ("King", "converted")
    );
}

// ---------------------------------------------------------------------------------------
// Decay

#[tokio::test]
async fn decay_is_applied_daily_so_an_aging_visit_counts_less_each_day() {
    let app = spawn().await;
    // Noon tomorrow, so that a minute later is still the same day; the worker notes the day.
    let now = app.clock.now();
    let noon = (now.date() + Duration::days(1))
        .and_hms_opt(12, 0, 0)
        .expect("a valid time");
    app.clock.advance(noon - now);
    app.eventually("the worker notes the new day", || {
        decay_day(&app).as_deref() == Some(noon.date().to_string().as_str())
    })
    .await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let id = seed(&app, &admin, &named("Ada", "Lovelace"));
    let steady = seed(&app, &admin, &named("Steady", "Lead"));
    record_event(&app, id, "demo_requested", "/demo", app.clock.now());
    record_event(&app, steady, "webinar", "/webinar", app.clock.now());
    save_rule(
        &app,
        &[
            ("kind", "behaviour"),
            ("event_name", "demo_requested"),
            ("points", "40"),
            ("half_life_days", "1"),
        ],
    )
    .await;
    save_rule(
        &app,
        &[
            ("kind", "behaviour"),
            ("event_name", "webinar"),
            ("points", "10"),
        ],
    )
    .await;
    rescored(&app).await;
    assert_eq!(
        (lead(&app, id).score, lead(&app, id).grade),
        (4000, "warm".to_owned())
    );
    let version = rules_version(&app);

    // Within the same day nothing is rescored.
    app.clock.advance(Duration::minutes(1));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(rules_version(&app), version);
    assert_eq!(lead(&app, id).score, 4000);

    // A day after the visit: one half-life, half the points.
    let day = app.clock.now().date();
    app.clock.advance(Duration::days(1) - Duration::minutes(1));
    app.eventually("the daily decay lowers the score", || {
        lead(&app, id).score < 4000
    })
    .await;
    rescored(&app).await;
    let decayed = lead(&app, id);
    assert_eq!((decayed.score, decayed.grade.as_str()), (2000, "cold"));
    assert_eq!(
        lead(&app, steady).score,
        1000,
        "rules without a half-life do not decay"
    );
    assert_eq!(rules_version(&app), version + 1, "once a day");
    let stored_day = decay_day(&app).expect("the day is kept");
    assert_eq!(stored_day, app.clock.now().date().to_string());
    assert_ne!(stored_day, day.to_string());

    let page = app.get_html(&format!("/leads/{id}")).await;
    assert!(
        page.contains("<td>daily decay</td>"),
        "the history says why"
    );
    assert!(page.contains("demo_requested, decayed"));
    assert!(page.contains("Grade changed from warm to cold"));
}

/// The score the list shows in the row of lead `id`.
fn listed_score(list: &str, id: i64) -> String {
    let link = position(list, id).expect("the lead is listed");
    let row = list[..link].rfind("<tr>").expect("the lead's row");
    let marker = "<strong>";
    let start = list[row..].find(marker).expect("the score cell") + row + marker.len();
    let end = list[start..].find("</strong>").expect("the score ends") + start;
    list[start..end].to_owned()
}

/// The points of every line of the lead page's breakdown, added up (in hundredths).
fn sum_of_lines(page: &str) -> i64 {
    page.split("<tr class=\"score-line")
        .skip(1)
        .map(|line| {
            let start = line.find('>').expect("the row opens") + 1;
            let cell = &line[start..];
            let start = cell.find('>').expect("the cell opens") + 1;
            let end = cell.find("</td>").expect("the cell ends");
            let text = cell[start..end].replace('−', "-").replace('+', "");
            let points: f64 = text.parse().expect("points");
            (points * 100.0).round() as i64
        })
        .sum()
}

#[tokio::test]
async fn between_daily_decays_the_lead_page_explains_the_stored_score_the_list_shows() {
    let app = spawn().await;
    // Noon tomorrow, so that six hours later is still the same day: no daily decay runs.
    let now = app.clock.now();
    let noon = (now.date() + Duration::days(1))
        .and_hms_opt(12, 0, 0)
        .expect("a valid time");
    app.clock.advance(noon - now);
    app.eventually("the worker notes the new day", || {
        decay_day(&app).as_deref() == Some(noon.date().to_string().as_str())
    })
    .await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let id = seed(
        &app,
        &admin,
        &Seed {
            industry: "Software",
            ..named("Ada", "Lovelace")
        },
    );
    record_event(&app, id, "demo_requested", "/demo", app.clock.now());
    save_rule(
        &app,
        &[
            ("kind", "behaviour"),
            ("event_name", "demo_requested"),
            ("points", "40"),
            ("half_life_days", "1"),
        ],
    )
    .await;
    save_rule(
        &app,
        &[
            ("kind", "attribute"),
            ("field", "industry"),
            ("operator", "equals"),
            ("value", "software"),
            ("points", "15"),
        ],
    )
    .await;
    rescored(&app).await;
    assert_eq!(lead(&app, id).score, 5500);

    // Six hours later the visit counts less than when the score was stored, but no decay
    // has run yet: the list still shows the stored score.
    app.clock.advance(Duration::hours(6));
    let aged = rapport::leads::scoring::explain(&mut app.conn(), &lead(&app, id), app.clock.now())
        .expect("explained");
    assert!(aged.total.0 < 5500, "the event has aged: {}", aged.total.0);
    assert_eq!(lead(&app, id).score, 5500, "no rescoring in between");

    let list = app.get_html("/leads").await;
    assert_eq!(listed_score(&list, id), "55");
    let page = app.get_html(&format!("/leads/{id}")).await;
    assert!(
        page.contains("<span class=\"score-total\">55</span>"),
        "{page}"
    );
    assert!(page.contains("<tfoot><tr><th class=\"numeric\">55</th>"));
    assert_eq!(sum_of_lines(&page), 5500, "the lines add up to the score");
    assert!(page.contains("<td class=\"numeric\">+40</td>"));
    assert!(page.contains("<td class=\"numeric\">+15</td>"));
    assert!(
        page.contains("As of "),
        "the page says when the score was computed"
    );

    // Once the lead is rescored (here by an adjustment), page and list move together.
    let adjusted = app
        .post_form(
            &format!("/leads/{id}/adjustments"),
            &[("points", "5"), ("reason", "Called back")],
        )
        .await;
    assert_eq!(adjusted.status(), StatusCode::SEE_OTHER);
    let stored = lead(&app, id).score;
    assert!(stored < 6000, "rescored as of now: {stored}");
    let page = app.get_html(&format!("/leads/{id}")).await;
    assert_eq!(sum_of_lines(&page), stored);
    let list = app.get_html("/leads").await;
    assert_eq!(
        listed_score(&list, id),
        rapport::leads::scoring::engine::Points(stored).unsigned_label()
    );
    assert!(page.contains(&format!(
        "<span class=\"score-total\">{}</span>",
        listed_score(&list, id)
    )));
}

#[tokio::test]
async fn while_a_lead_waits_for_the_rescoring_its_page_shows_the_stored_score_without_lines() {
    // A worker that only wakes when told, so the lead stays behind the rules.
    let app = spawn_app_with(|settings| {
        settings.email_poll_interval = std::time::Duration::from_secs(3600);
    })
    .await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let id = seed(
        &app,
        &admin,
        &Seed {
            industry: "Software",
            ..named("Ada", "Lovelace")
        },
    );
    rapport::leads::scoring::rules::bump_version(&mut app.conn()).expect("bumped");
    diesel::insert_into(scoring_rules::table)
        .values((
            scoring_rules::kind.eq("attribute"),
            scoring_rules::field.eq("industry"),
            scoring_rules::operator.eq("equals"),
            scoring_rules::value.eq("software"),
            scoring_rules::points.eq(2000),
            scoring_rules::position.eq(1),
            scoring_rules::created_at.eq(app.clock.now()),
            scoring_rules::updated_at.eq(app.clock.now()),
        ))
        .execute(&mut app.conn())
        .expect("a rule the lead is not scored with yet");

    let page = app.get_html(&format!("/leads/{id}")).await;
    assert!(
        page.contains("<span class=\"score-total\">0</span>"),
        "{page}"
    );
    assert!(page.contains("Its breakdown shows once the lead has been rescored"));
    assert_eq!(
        sum_of_lines(&page),
        0,
        "no lines that add up to another total"
    );
}

#[tokio::test]
async fn a_converted_leads_deal_is_made_as_the_pipeline_makes_deals_with_its_journey_audit_and_timeline()
 {
    use rapport::db::schema::{audit_log, deal_stage_moves, deals, pipeline_stages};
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let id = seed(
        &app,
        &admin,
        &Seed {
            email: "ada@analytical.example",
            ..named("Ada", "Lovelace")
        },
    );
    let stage: i64 = pipeline_stages::table
        .filter(pipeline_stages::pipeline_id.eq(1))
        .order(pipeline_stages::position)
        .select(pipeline_stages::id)
        .first(&mut app.conn())
        .expect("a default stage");
    let stage_name: String = pipeline_stages::table
        .find(stage)
        .select(pipeline_stages::name)
        .first(&mut app.conn())
        .expect("its name");
    let response = app
        .post_form(
            &format!("/leads/{id}/convert"),
            &[
                ("contact", "new"),
                ("company", "new"),
                ("company_name", "Analytical Engines"),
                ("create_deal", "1"),
                ("deal_title", "Engines for Ada"),
                ("deal_value", "1200"),
                ("deal_currency", "EUR"),
                ("pipeline", "1"),
                ("stage", &stage.to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let converted = lead(&app, id);
    let deal = converted.converted_deal_id.expect("a deal");
    let contact = converted.converted_contact_id.expect("a contact");

    let conn = &mut app.conn();
    let (status, version): (String, i32) = deals::table
        .find(deal)
        .select((deals::status, deals::version))
        .first(conn)
        .expect("the deal");
    assert_eq!((status.as_str(), version), ("open", 1));
    type JourneyRow = (Option<i64>, Option<i64>, String, Option<i64>);
    let journey: Vec<JourneyRow> = deal_stage_moves::table
        .filter(deal_stage_moves::deal_id.eq(deal))
        .select((
            deal_stage_moves::from_stage_id,
            deal_stage_moves::to_stage_id,
            deal_stage_moves::to_status,
            deal_stage_moves::moved_by,
        ))
        .load(conn)
        .expect("journey");
    assert_eq!(
        journey,
        vec![(None, Some(stage), "open".to_owned(), Some(admin.id))]
    );
    let details: Vec<Option<String>> = audit_log::table
        .filter(audit_log::target.eq(format!("deal {deal}")))
        .filter(audit_log::action.eq("record_created"))
        .select(audit_log::details)
        .load(conn)
        .expect("audit");
    assert_eq!(details.len(), 1, "one audit entry for the deal");
    let details = details[0].clone().unwrap_or_default();
    // The pipeline's own description of a new deal's fields, then where it came from.
    assert!(
        details.contains("title: (empty) → Engines for Ada"),
        "{details}"
    );
    assert!(
        details.contains(&format!("stage: (empty) → {stage_name}")),
        "{details}"
    );
    assert!(details.ends_with("; converted from a lead"), "{details}");
    let on_contact: Vec<String> = timeline_entries::table
        .filter(timeline_entries::deal_id.eq(deal))
        .filter(timeline_entries::contact_id.eq(contact))
        .filter(timeline_entries::kind.eq("deal"))
        .select(timeline_entries::body)
        .load(conn)
        .expect("timeline");
    assert_eq!(
        on_contact,
        vec![format!(
            "Deal created: Engines for Ada (stage {stage_name})."
        )]
    );
    let deal_page = app.get_html(&format!("/deals/{deal}")).await;
    assert!(deal_page.contains("Engines for Ada"));
}
