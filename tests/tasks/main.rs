//! Tasks and a rep's day: adding, editing (with conflicts), completing and reopening tasks;
//! the task list's sections in the viewer's time zone; who may see and work a task; the
//! panel on a record's page and the timeline entry a completed task leaves there; the
//! overdue count in the navigation; the reminder email (sent once); and the home page.

#[path = "../common/mod.rs"]
mod common;
use common::*;

use std::sync::{Arc, Mutex};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use rapport::auth::model::Role;
use rapport::clock::Clock;
use rapport::contacts::timeline::{self, Kind, NewEntry};
use rapport::db::schema::{
    audit_log, companies, contacts, deals, email_outbox, pipeline_stages, pipelines, tasks,
    timeline_entries, users,
};
use rapport::pipeline::money::{self, Currency};
use rapport::pipeline::rules;
use reqwest::StatusCode;

// ---------------------------------------------------------------------------------------
// Helpers

/// The app with sessions that outlive the clock jumps these tests make.
async fn spawn() -> TestApp {
    spawn_app_with(|settings| {
        settings.session_idle_timeout = Duration::days(30);
        settings.session_lifetime = Duration::days(30);
    })
    .await
}

/// Moves the clock on to 10:00 UTC tomorrow, so "today" has hours left in it.
fn ten_tomorrow(app: &TestApp) -> NaiveDateTime {
    let now = app.clock.now();
    let target = (now.date() + Duration::days(1))
        .and_hms_opt(10, 0, 0)
        .expect("a valid time");
    app.clock.advance(target - now);
    target
}

fn date_of(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d").to_string()
}

fn time_of(at: NaiveDateTime) -> String {
    at.format("%H:%M").to_string()
}

fn seed_contact(app: &TestApp, first: &str, last: &str, owner: Option<i64>) -> i64 {
    let now = app.clock.now();
    diesel::insert_into(contacts::table)
        .values((
            contacts::first_name.eq(first),
            contacts::last_name.eq(last),
            contacts::sort_name.eq(format!("{last} {first}").to_lowercase()),
            contacts::owner_id.eq(owner),
            contacts::created_at.eq(now),
            contacts::updated_at.eq(now),
        ))
        .returning(contacts::id)
        .get_result(&mut app.conn())
        .expect("contact inserted")
}

fn seed_company(app: &TestApp, name: &str, owner: Option<i64>) -> i64 {
    let now = app.clock.now();
    diesel::insert_into(companies::table)
        .values((
            companies::name.eq(name),
            companies::sort_name.eq(name.to_lowercase()),
            companies::owner_id.eq(owner),
            companies::created_at.eq(now),
            companies::updated_at.eq(now),
        ))
        .returning(companies::id)
        .get_result(&mut app.conn())
        .expect("company inserted")
}

fn stage_id(app: &TestApp, name: &str) -> i64 {
    pipeline_stages::table
        .filter(pipeline_stages::pipeline_id.eq(1))
        .filter(pipeline_stages::name.eq(name))
        .select(pipeline_stages::id)
        .first(&mut app.conn())
        .expect("a default stage")
}

/// A deal straight into the table (the deal pages are another part's work).
struct NewDeal<'a> {
    title: &'a str,
    value_minor: i64,
    currency: &'a str,
    owner: Option<i64>,
    company: Option<i64>,
    stage: &'a str,
    status: &'a str,
    expected_close_on: Option<NaiveDate>,
    stage_entered_at: NaiveDateTime,
}

fn seed_deal(app: &TestApp, deal: &NewDeal<'_>) -> i64 {
    let stage = stage_id(app, deal.stage);
    let now = app.clock.now();
    diesel::insert_into(deals::table)
        .values((
            deals::title.eq(deal.title),
            deals::value_minor.eq(deal.value_minor),
            deals::currency.eq(deal.currency),
            deals::expected_close_on.eq(deal.expected_close_on),
            deals::owner_id.eq(deal.owner),
            deals::company_id.eq(deal.company),
            deals::pipeline_id.eq(1),
            deals::stage_id.eq(stage),
            deals::status.eq(deal.status),
            deals::stage_entered_at.eq(deal.stage_entered_at),
            deals::closed_at.eq((deal.status != "open").then_some(now)),
            deals::created_at.eq(now),
            deals::updated_at.eq(now),
        ))
        .returning(deals::id)
        .get_result(&mut app.conn())
        .expect("deal inserted")
}

fn open_deal<'a>(title: &'a str, owner: i64, stage: &'a str, now: NaiveDateTime) -> NewDeal<'a> {
    NewDeal {
        title,
        value_minor: 100_000,
        currency: "EUR",
        owner: Some(owner),
        company: None,
        stage,
        status: "open",
        expected_close_on: None,
        stage_entered_at: now - Duration::days(1),
    }
}

/// Adds a task through the form as the signed-in user of the app's main browser; its id.
async fn add_task(
    app: &TestApp,
    title: &str,
    due: NaiveDateTime,
    assignee: i64,
    link: Option<(&str, i64)>,
) -> i64 {
    add_task_as(app, &app.browser, title, due, assignee, link).await
}

/// Adds a task through the form as the signed-in user of `browser`; its id.
async fn add_task_as(
    app: &TestApp,
    browser: &Browser,
    title: &str,
    due: NaiveDateTime,
    assignee: i64,
    link: Option<(&str, i64)>,
) -> i64 {
    let mut fields = vec![
        ("title", title.to_owned()),
        ("due_date", date_of(due)),
        ("due_time", time_of(due)),
        ("assignee", assignee.to_string()),
    ];
    if let Some((kind, id)) = link {
        fields.push((kind, id.to_string()));
    }
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = browser.post_form("/tasks", &fields).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "task {title} added"
    );
    tasks::table
        .filter(tasks::title.eq(title))
        .order(tasks::id.desc())
        .select(tasks::id)
        .first(&mut app.conn())
        .expect("the task exists")
}

fn task_row(
    app: &TestApp,
    id: i64,
) -> (
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    i32,
) {
    tasks::table
        .find(id)
        .select((
            tasks::title,
            tasks::due_at,
            tasks::completed_at,
            tasks::reminder_queued_at,
            tasks::version,
        ))
        .first(&mut app.conn())
        .expect("the task")
}

fn task_count(app: &TestApp) -> i64 {
    tasks::table
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

/// A timeline entry's kind, body, contact, company and author.
type TimelineRow = (String, String, Option<i64>, Option<i64>, Option<i64>);

/// The HTML of the element with `id` up to the end of its `<section>`.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let marker = format!("id=\"{id}\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("the page has a section #{id}"));
    let end = page[start..]
        .find("</section>")
        .map_or(page.len(), |end| start + end);
    &page[start..end]
}

fn set_time_zone(app: &TestApp, user: &TestUser, zone: &str) {
    diesel::update(users::table.find(user.id))
        .set(users::time_zone.eq(zone))
        .execute(&mut app.conn())
        .expect("time zone set");
}

/// The number in the navigation's overdue badge, if it shows.
fn nav_count(page: &str) -> Option<i64> {
    let marker = "class=\"nav-count\" title=\"Overdue tasks\">";
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find('<')? + start;
    page[start..end].trim().parse().ok()
}

fn version_in(page: &str) -> String {
    let marker = "name=\"version\" value=\"";
    let start = page.find(marker).expect("the form has a version") + marker.len();
    let end = page[start..].find('"').expect("the value ends") + start;
    page[start..end].to_owned()
}

fn edit_fields<'a>(
    title: &'a str,
    due: &'a NaiveDateTime,
    assignee: &'a str,
) -> Vec<(&'static str, String)> {
    vec![
        ("title", title.to_owned()),
        ("due_date", date_of(*due)),
        ("due_time", time_of(*due)),
        ("assignee", assignee.to_owned()),
    ]
}

fn as_refs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn reminders_to(app: &TestApp, email: &str, title: &str) -> usize {
    app.smtp
        .received_by(email)
        .into_iter()
        .filter(|mail| mail.subject == format!("Task due: {title}"))
        .count()
}

// ---------------------------------------------------------------------------------------
// Adding, validation and the record panel

#[tokio::test]
async fn a_task_added_from_a_contact_is_due_in_the_users_zone_and_shows_on_the_contact() {
    let app = spawn().await;
    let rep = app.create_user("rep@example.com", Role::Sales);
    set_time_zone(&app, &rep, "Europe/Paris");
    app.login_as(&rep).await;
    let ada = seed_contact(&app, "Ada", "Lovelace", Some(rep.id));

    let form = app.get_html(&format!("/tasks/new?contact={ada}")).await;
    assert!(
        form.contains("Ada Lovelace"),
        "the form names the linked contact"
    );
    assert!(form.contains(&format!("name=\"contact\" value=\"{ada}\"")));
    assert!(
        form.contains(&format!("<option value=\"{}\" selected>", rep.id)),
        "the task is mine unless I choose someone else"
    );

    let response = app
        .post_form(
            "/tasks",
            &[
                ("title", "Call back about pricing"),
                ("due_date", "2030-07-01"),
                ("due_time", "09:30"),
                ("assignee", &rep.id.to_string()),
                ("contact", &ada.to_string()),
                ("next", &format!("/contacts/{ada}#tasks")),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/contacts/{ada}#tasks"));

    let (id, due_at, assignee, created_by, contact_id, reminder): (
        i64,
        NaiveDateTime,
        i64,
        Option<i64>,
        Option<i64>,
        Option<NaiveDateTime>,
    ) = tasks::table
        .select((
            tasks::id,
            tasks::due_at,
            tasks::assignee_id,
            tasks::created_by,
            tasks::contact_id,
            tasks::reminder_queued_at,
        ))
        .first(&mut app.conn())
        .expect("the task was saved");
    assert_eq!(
        due_at.to_string(),
        "2030-07-01 07:30:00",
        "09:30 in Paris in summer is 07:30 UTC"
    );
    assert_eq!(
        (assignee, created_by, contact_id),
        (rep.id, Some(rep.id), Some(ada))
    );
    assert_eq!(
        reminder, None,
        "a task due later is reminded when it falls due"
    );

    let contact_page = app.get_html(&format!("/contacts/{ada}")).await;
    let panel = section(&contact_page, "tasks");
    assert!(panel.contains("Call back about pricing"));
    assert!(panel.contains("09:30"), "shown in the viewer's zone");
    assert!(panel.contains(&format!("action=\"/tasks/{id}/complete\"")));
    assert!(panel.contains(&format!("href=\"/tasks/new?contact={ada}\"")));

    let company = seed_company(&app, "Analytical Engines", None);
    let company_page = app.get_html(&format!("/companies/{company}")).await;
    assert!(section(&company_page, "tasks").contains("No open tasks"));
}

#[tokio::test]
async fn bad_task_forms_are_refused_next_to_their_fields_and_save_nothing() {
    let app = spawn().await;
    let rep = app.create_user("rep@example.com", Role::Sales);
    app.login_as(&rep).await;
    let me = rep.id.to_string();

    let response = app
        .post_form(
            "/tasks",
            &[
                ("title", "   "),
                ("due_date", "2026-13-45"),
                ("due_time", "25:61"),
                ("assignee", &me),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("a body");
    assert!(page.contains("Enter what needs doing"));
    assert!(page.contains("Enter a date like 2026-12-31."));
    assert!(page.contains("Enter a time like 14:30."));

    let long = "x".repeat(201);
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[("title", "x"), ("due_date", ""), ("due_time", "10:00")],
            "Enter the due date.",
        ),
        (
            &[
                ("title", "x"),
                ("due_date", "1850-01-01"),
                ("due_time", "10:00"),
            ],
            "Enter a date between 2000 and 2100.",
        ),
        (
            &[("title", "x"), ("due_date", "2030-01-01"), ("due_time", "")],
            "Enter the due time, like 14:30.",
        ),
        (
            &[
                ("title", "x"),
                ("due_date", "2030-01-01"),
                ("due_time", "10:00"),
                ("contact", "999999"),
            ],
            "The record this task was linked to no longer exists.",
        ),
        (
            &[
                ("title", &long),
                ("due_date", "2030-01-01"),
                ("due_time", "10:00"),
            ],
            "The title is too long",
        ),
    ];
    for (fields, message) in cases {
        let mut fields = fields.to_vec();
        fields.push(("assignee", &me));
        let response = app.post_form("/tasks", &fields).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{message}"
        );
        let page = response.text().await.expect("a body");
        assert!(page.contains(message), "{message}");
    }

    let nobody = app
        .post_form(
            "/tasks",
            &[
                ("title", "x"),
                ("due_date", "2030-01-01"),
                ("due_time", "10:00"),
                ("assignee", "424242"),
            ],
        )
        .await;
    assert_eq!(nobody.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        nobody
            .text()
            .await
            .expect("body")
            .contains("Choose who does this task.")
    );

    assert_eq!(task_count(&app), 0, "nothing was saved");

    for missing in [
        "contact=999999",
        "company=999999",
        "deal=999999",
        "contact=abc",
    ] {
        let response = app.get(&format!("/tasks/new?{missing}")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
    }
}

// ---------------------------------------------------------------------------------------
// The list

#[tokio::test]
async fn tasks_fall_into_overdue_today_upcoming_and_done_in_the_viewers_zone() {
    let app = spawn().await;
    let now = ten_tomorrow(&app);
    let rep = app.create_user("rep@example.com", Role::Sales);
    app.login_as(&rep).await;

    let at = |hours: i64| now + Duration::hours(hours);
    add_task(&app, "Overdue call", at(-1), rep.id, None).await;
    add_task(&app, "Call this afternoon", at(5), rep.id, None).await;
    add_task(&app, "Call tomorrow", at(23), rep.id, None).await;
    // 03:00 UTC tomorrow: still today (22:00) in New York.
    add_task(&app, "Late evening call", at(17), rep.id, None).await;
    let done = add_task(&app, "Finished call", at(2), rep.id, None).await;
    let response = app
        .post_form(&format!("/tasks/{done}/complete"), &[("next", "/tasks")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/tasks");

    let page = app.get_html("/tasks").await;
    assert!(section(&page, "overdue").contains("Overdue call"));
    let today = section(&page, "today");
    assert!(today.contains("Call this afternoon"));
    assert!(!today.contains("Overdue call"), "overdue is not also today");
    let upcoming = section(&page, "upcoming");
    assert!(upcoming.contains("Call tomorrow"));
    assert!(
        upcoming.contains("Late evening call"),
        "03:00 UTC is tomorrow in UTC"
    );
    let done_section = section(&page, "done");
    assert!(done_section.contains("Finished call"));
    assert!(done_section.contains(&format!("action=\"/tasks/{done}/reopen\"")));
    assert!(!today.contains("Finished call"));

    set_time_zone(&app, &rep, "America/New_York");
    let page = app.get_html("/tasks").await;
    assert!(
        section(&page, "today").contains("Late evening call"),
        "22:00 in New York is still today there"
    );
    assert!(!section(&page, "upcoming").contains("Late evening call"));

    // A minute past its due time, a task of today is overdue.
    app.clock.advance(Duration::hours(5) + Duration::minutes(1));
    let page = app.get_html("/tasks").await;
    assert!(section(&page, "overdue").contains("Call this afternoon"));
}

#[tokio::test]
async fn upcoming_and_done_page_by_cursor() {
    let app = spawn().await;
    let now = ten_tomorrow(&app);
    let rep = app.create_user("rep@example.com", Role::Sales);
    app.login_as(&rep).await;
    let rows: Vec<_> = (0..53)
        .map(|n| {
            (
                tasks::title.eq(format!("Later {n:02}")),
                tasks::due_at.eq(now + Duration::days(2) + Duration::minutes(n)),
                tasks::assignee_id.eq(rep.id),
                tasks::completed_at.eq((n >= 25).then(|| now - Duration::minutes(n))),
                tasks::created_at.eq(now),
                tasks::updated_at.eq(now),
            )
        })
        .collect();
    diesel::insert_into(tasks::table)
        .values(&rows)
        .execute(&mut app.conn())
        .expect("tasks inserted");

    // 25 open (Later 00–24) fit on one page; 28 done (Later 25–52) take two.
    let page = app.get_html("/tasks").await;
    let upcoming = section(&page, "upcoming");
    assert!(upcoming.contains("Later 00") && upcoming.contains("Later 24"));
    assert!(
        !upcoming.contains(">Later</a>"),
        "one page of upcoming tasks"
    );
    let done = section(&page, "done");
    assert!(
        done.contains("Later 25"),
        "the most recently completed first"
    );
    assert!(done.contains("Later 49"));
    assert!(!done.contains("Later 50"));
    let marker = "<p class=\"pager\"><a class=\"button\" href=\"";
    let start = done.find(marker).expect("a link to older done tasks") + marker.len();
    let end = done[start..].find('"').expect("link ends") + start;
    let older = done[start..end].replace("&amp;", "&").replace("&#38;", "&");
    let older = older.split('#').next().unwrap_or_default().to_owned();
    let page = app.get_html(&older).await;
    let done = section(&page, "done");
    for n in 50..53 {
        assert!(
            done.contains(&format!("Later {n}")),
            "Later {n} on page two"
        );
    }
    assert!(!done.contains("Later 49"));
    assert!(done.contains("Back to the start"));
}

// ---------------------------------------------------------------------------------------
// Completing, reopening and the timeline

#[tokio::test]
async fn completing_a_linked_task_writes_the_records_timeline_and_reopening_brings_it_back() {
    let app = spawn().await;
    let rep = app.create_user("rep@example.com", Role::Sales);
    app.login_as(&rep).await;
    let acme = seed_company(&app, "Acme", Some(rep.id));
    let ada = seed_contact(&app, "Ada", "Lovelace", Some(rep.id));
    diesel::update(contacts::table.find(ada))
        .set(contacts::company_id.eq(acme))
        .execute(&mut app.conn())
        .expect("ada works at acme");
    let due = app.clock.now() + Duration::days(1);
    let id = add_task(
        &app,
        "Call back about pricing",
        due,
        rep.id,
        Some(("contact", ada)),
    )
    .await;

    let back = format!("/contacts/{ada}#tasks");
    let response = app
        .post_form(&format!("/tasks/{id}/complete"), &[("next", &back)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), back);
    assert!(task_row(&app, id).2.is_some(), "completed");

    let entries: Vec<TimelineRow> = timeline_entries::table
        .filter(timeline_entries::kind.eq("task"))
        .order(timeline_entries::id.asc())
        .select((
            timeline_entries::kind,
            timeline_entries::body,
            timeline_entries::contact_id,
            timeline_entries::company_id,
            timeline_entries::author_id,
        ))
        .load(&mut app.conn())
        .expect("entries");
    assert_eq!(
        entries,
        [(
            "task".to_owned(),
            "Task completed: Call back about pricing".to_owned(),
            Some(ada),
            Some(acme),
            Some(rep.id)
        )]
    );
    let contact_page = app.get_html(&format!("/contacts/{ada}")).await;
    assert!(contact_page.contains("Task completed: Call back about pricing"));
    let panel = section(&contact_page, "tasks");
    assert!(panel.contains("Recently done"));
    assert!(panel.contains(&format!("action=\"/tasks/{id}/reopen\"")));
    let company_page = app.get_html(&format!("/companies/{acme}")).await;
    assert!(company_page.contains("Task completed: Call back about pricing"));

    // Completing twice changes nothing.
    let again = app
        .post_form(&format!("/tasks/{id}/complete"), &[("next", &back)])
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let reopen = app
        .post_form(&format!("/tasks/{id}/reopen"), &[("next", &back)])
        .await;
    assert_eq!(reopen.status(), StatusCode::SEE_OTHER);
    assert!(task_row(&app, id).2.is_none(), "open again");
    let bodies: Vec<String> = timeline_entries::table
        .filter(timeline_entries::kind.eq("task"))
        .order(timeline_entries::id.asc())
        .select(timeline_entries::body)
        .load(&mut app.conn())
        .expect("entries");
    assert_eq!(
        bodies,
        [
            "Task completed: Call back about pricing",
            "Task reopened: Call back about pricing"
        ]
    );
}

#[tokio::test]
async fn a_task_on_a_deal_is_prefilled_from_the_deal_and_lands_on_the_deals_company_timeline() {
    let app = spawn().await;
    let rep = app.create_user("rep@example.com", Role::Sales);
    app.login_as(&rep).await;
    let acme = seed_company(&app, "Acme", Some(rep.id));
    let now = app.clock.now();
    let deal = seed_deal(
        &app,
        &NewDeal {
            company: Some(acme),
            ..open_deal("Acme renewal", rep.id, "Proposal made", now)
        },
    );
    let form = app.get_html(&format!("/tasks/new?deal={deal}")).await;
    assert!(form.contains("Acme renewal"));
    let id = add_task(
        &app,
        "Send the contract",
        now + Duration::hours(3),
        rep.id,
        Some(("deal", deal)),
    )
    .await;
    let response = app
        .post_form(&format!("/tasks/{id}/complete"), &[("next", "/tasks")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let entry: (Option<i64>, Option<i64>, Option<i64>, String) = timeline_entries::table
        .filter(timeline_entries::kind.eq("task"))
        .select((
            timeline_entries::contact_id,
            timeline_entries::company_id,
            timeline_entries::deal_id,
            timeline_entries::body,
        ))
        .first(&mut app.conn())
        .expect("an entry");
    assert_eq!(
        entry,
        (
            None,
            Some(acme),
            Some(deal),
            "Task completed: Send the contract".to_owned()
        )
    );
}

// ---------------------------------------------------------------------------------------
// Permissions

#[tokio::test]
async fn only_the_assignee_the_creator_and_admins_work_a_task() {
    let app = spawn().await;
    let admin_user = app.admin();
    let alice = app.create_user("alice@example.com", Role::Sales);
    let bob = app.create_user("bob@example.com", Role::Sales);
    let sam = app.create_user("sam@example.com", Role::Support);
    let due = app.clock.now() + Duration::days(1);
    let ada = seed_contact(&app, "Ada", "Lovelace", Some(alice.id));

    app.login_as(&alice).await;
    let private = add_task(&app, "Private to-do", due, alice.id, None).await;
    let linked = add_task(&app, "Call Ada", due, alice.id, Some(("contact", ada))).await;
    let for_bob = add_task(&app, "Bob, send the brochure", due, bob.id, None).await;

    let bob_browser = app.open_browser();
    bob_browser.login_as(&bob).await;
    // A private task of someone else does not exist for Bob.
    for response in [
        bob_browser.get(&format!("/tasks/{private}/edit")).await,
        bob_browser
            .post_form(&format!("/tasks/{private}/complete"), &[])
            .await,
    ] {
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    // A task on a contact he can see is visible there, but not his to change.
    let contact_page = bob_browser.get_html(&format!("/contacts/{ada}")).await;
    let panel = section(&contact_page, "tasks");
    assert!(panel.contains("Call Ada"));
    assert!(!panel.contains(&format!("action=\"/tasks/{linked}/complete\"")));
    for response in [
        bob_browser.get(&format!("/tasks/{linked}/edit")).await,
        bob_browser
            .post_form(&format!("/tasks/{linked}/complete"), &[])
            .await,
        bob_browser
            .post_form(
                &format!("/tasks/{linked}/edit"),
                &as_refs(&edit_fields("Mine now", &due, &bob.id.to_string())),
            )
            .await,
    ] {
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert!(task_row(&app, linked).2.is_none());
    assert_eq!(task_row(&app, linked).0, "Call Ada");
    let refusals: i64 = audit_log::table
        .filter(audit_log::action.eq("authorization_denied"))
        .filter(audit_log::target.eq(format!("POST /tasks/{linked}/complete")))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(refusals, 1, "the refusal is audited");

    // Bob sees only his own tasks, even when asking for everyone's.
    let list = bob_browser.get_html("/tasks?who=everyone").await;
    assert!(list.contains("Bob, send the brochure"));
    assert!(!list.contains("Private to-do") && !list.contains("Call Ada"));
    assert!(
        !list.contains("?who=everyone\""),
        "no Everyone tab for reps"
    );
    // The assignee completes; the creator may reopen and sees it under "created by me".
    let response = bob_browser
        .post_form(&format!("/tasks/{for_bob}/complete"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let created = app.get_html("/tasks?who=created").await;
    assert!(created.contains("Bob, send the brochure"));
    assert!(
        !created.contains("Private to-do"),
        "only tasks handed to others"
    );
    let response = app
        .post_form(&format!("/tasks/{for_bob}/reopen"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // Admins see and work everyone's tasks.
    let admin = app.open_browser();
    admin.login_as(&admin_user).await;
    let everyone = admin.get_html("/tasks?who=everyone").await;
    for title in ["Private to-do", "Call Ada", "Bob, send the brochure"] {
        assert!(everyone.contains(title), "{title}");
    }
    assert!(
        !admin.get_html("/tasks").await.contains("Private to-do"),
        "mine is mine"
    );
    let response = admin
        .post_form(&format!("/tasks/{private}/complete"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(task_row(&app, private).2.is_some());

    // Support agents keep tasks too.
    let support = app.open_browser();
    support.login_as(&sam).await;
    let own = add_task_as(
        &app,
        &support,
        "Check the ticket backlog",
        due,
        sam.id,
        None,
    )
    .await;
    let response = support
        .post_form(&format!("/tasks/{own}/complete"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = support.get(&format!("/tasks/{linked}/edit")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let response = app.get("/tasks/424242/edit").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn two_people_editing_one_task_get_a_conflict_instead_of_an_overwrite() {
    let app = spawn().await;
    let admin_user = app.admin();
    let rep = app.create_user("rep@example.com", Role::Sales);
    app.login_as(&rep).await;
    let due = app.clock.now() + Duration::days(2);
    let id = add_task(&app, "Prepare the demo", due, rep.id, None).await;

    let admin = app.open_browser();
    admin.login_as(&admin_user).await;
    let rep_form = app.get_html(&format!("/tasks/{id}/edit")).await;
    let admin_form = admin.get_html(&format!("/tasks/{id}/edit")).await;
    assert_eq!(version_in(&rep_form), "1");
    assert_eq!(version_in(&admin_form), "1");

    let mut theirs = edit_fields("Prepare the demo for Acme", &due, &rep.id.to_string());
    theirs.push(("version", "1".to_owned()));
    let response = admin
        .post_form(&format!("/tasks/{id}/edit"), &as_refs(&theirs))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let mut mine = edit_fields("Prepare the demo and slides", &due, &rep.id.to_string());
    mine.push(("version", "1".to_owned()));
    let response = app
        .post_form(&format!("/tasks/{id}/edit"), &as_refs(&mine))
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let page = response.text().await.expect("a body");
    assert!(page.contains("Someone else changed this task while you were editing"));
    assert!(
        page.contains("Prepare the demo for Acme"),
        "their value is shown"
    );
    assert!(
        page.contains("Prepare the demo and slides"),
        "what I typed is kept"
    );
    assert_eq!(version_in(&page), "2");
    assert_eq!(
        task_row(&app, id).0,
        "Prepare the demo for Acme",
        "nothing overwritten"
    );

    // Saving again is a deliberate choice.
    let mut again = edit_fields("Prepare the demo and slides", &due, &rep.id.to_string());
    again.push(("version", "2".to_owned()));
    let response = app
        .post_form(&format!("/tasks/{id}/edit"), &as_refs(&again))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (title, _, _, _, version) = task_row(&app, id);
    assert_eq!(
        (title.as_str(), version),
        ("Prepare the demo and slides", 3)
    );

    // A bad edit saves nothing either.
    let mut bad = edit_fields("", &due, &rep.id.to_string());
    bad[1].1 = "tomorrow".to_owned();
    bad.push(("version", "3".to_owned()));
    let response = app
        .post_form(&format!("/tasks/{id}/edit"), &as_refs(&bad))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(task_row(&app, id).4, 3);
}

// ---------------------------------------------------------------------------------------
// The overdue count and the reminder

#[tokio::test]
async fn the_navigation_counts_my_overdue_tasks() {
    let app = spawn().await;
    let rep = app.create_user("rep@example.com", Role::Sales);
    let other = app.create_user("other@example.com", Role::Sales);
    app.login_as(&rep).await;
    let soon = app.clock.now() + Duration::minutes(30);
    let first = add_task(&app, "First", soon, rep.id, None).await;
    add_task(&app, "Second", soon, rep.id, None).await;
    add_task(&app, "Someone else's", soon, other.id, None).await;
    assert_eq!(
        nav_count(&app.get_html("/").await),
        None,
        "nothing overdue yet"
    );

    app.clock.advance(Duration::hours(1));
    let page = app.get_html("/tasks").await;
    assert_eq!(nav_count(&page), Some(2));
    assert!(page.contains("2<span class=\"visually-hidden\"> overdue</span>"));

    app.post_form(&format!("/tasks/{first}/complete"), &[])
        .await;
    assert_eq!(nav_count(&app.get_html("/").await), Some(1));
}

#[tokio::test]
async fn a_task_falling_due_emails_its_assignee_once() {
    let app = spawn().await;
    let admin_user = app.admin();
    let rep = app.create_user("rep@example.com", Role::Sales);
    app.login_as(&admin_user).await;
    let ada = seed_contact(&app, "Ada", "Lovelace", Some(rep.id));
    let now = app.clock.now();
    let id = add_task(
        &app,
        "Send the proposal",
        now + Duration::minutes(10),
        rep.id,
        Some(("contact", ada)),
    )
    .await;
    let completed = add_task(
        &app,
        "Already handled",
        now + Duration::minutes(5),
        rep.id,
        None,
    )
    .await;
    app.post_form(&format!("/tasks/{completed}/complete"), &[])
        .await;
    add_task(
        &app,
        "Logged after the fact",
        now - Duration::hours(1),
        rep.id,
        None,
    )
    .await;

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        reminders_to(&app, &rep.email, "Send the proposal"),
        0,
        "not due yet"
    );

    app.clock.advance(Duration::minutes(11));
    app.eventually("the reminder is delivered", || {
        reminders_to(&app, &rep.email, "Send the proposal") == 1
    })
    .await;
    // Many more polls of the worker: still one.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(reminders_to(&app, &rep.email, "Send the proposal"), 1);
    assert_eq!(reminders_to(&app, &rep.email, "Already handled"), 0);
    assert_eq!(reminders_to(&app, &rep.email, "Logged after the fact"), 0);
    assert!(task_row(&app, id).3.is_some(), "the reminder is recorded");
    let queued: i64 = email_outbox::table
        .filter(email_outbox::recipient.eq(&rep.email))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(queued, 1);

    let email = app
        .smtp
        .received_by(&rep.email)
        .into_iter()
        .find(|mail| mail.subject == "Task due: Send the proposal")
        .expect("the reminder");
    assert!(email.body.contains("Contact Ada Lovelace"));
    assert!(
        email
            .body
            .contains(&format!("{}/contacts/{ada}", app.address))
    );
    assert!(email.body.contains(&format!("{}/tasks", app.address)));

    // Moving the due time later arms the reminder again.
    let later = app.clock.now() + Duration::days(1);
    let form = app.get_html(&format!("/tasks/{id}/edit")).await;
    let mut fields = edit_fields("Send the proposal", &later, &rep.id.to_string());
    fields.push(("contact", ada.to_string()));
    fields.push(("version", version_in(&form)));
    let response = app
        .post_form(&format!("/tasks/{id}/edit"), &as_refs(&fields))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(task_row(&app, id).3, None);
    app.clock.advance(Duration::days(1) + Duration::minutes(1));
    app.eventually("the second reminder is delivered", || {
        reminders_to(&app, &rep.email, "Send the proposal") == 2
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(reminders_to(&app, &rep.email, "Send the proposal"), 2);
}

// ---------------------------------------------------------------------------------------
// The home page

#[tokio::test]
async fn a_reps_home_page_shows_their_day() {
    let app = spawn().await;
    let now = ten_tomorrow(&app);
    let rep = app.create_user("rep@example.com", Role::Sales);
    let other = app.create_user("other@example.com", Role::Sales);
    app.login_as(&rep).await;
    let today = now.date();

    let overdue = add_task(&app, "Overdue call", now - Duration::hours(2), rep.id, None).await;
    add_task(
        &app,
        "Afternoon call",
        now + Duration::hours(4),
        rep.id,
        None,
    )
    .await;
    add_task(
        &app,
        "Next week's call",
        now + Duration::days(7),
        rep.id,
        None,
    )
    .await;
    add_task(
        &app,
        "Other's call",
        now + Duration::hours(1),
        other.id,
        None,
    )
    .await;

    seed_deal(
        &app,
        &NewDeal {
            value_minor: 1_250_000,
            expected_close_on: Some(today),
            ..open_deal("Closing soon", rep.id, "Proposal made", now)
        },
    );
    seed_deal(
        &app,
        &NewDeal {
            stage_entered_at: now - Duration::days(20),
            expected_close_on: Some(today + Duration::days(100)),
            ..open_deal("Stuck deal", rep.id, "Qualified", now)
        },
    );
    seed_deal(
        &app,
        &NewDeal {
            stage_entered_at: now - Duration::days(14),
            ..open_deal("Fresh deal", rep.id, "Qualified", now)
        },
    );
    seed_deal(
        &app,
        &NewDeal {
            expected_close_on: Some(today),
            stage_entered_at: now - Duration::days(60),
            ..open_deal("Someone else's deal", other.id, "Qualified", now)
        },
    );
    seed_deal(
        &app,
        &NewDeal {
            status: "won",
            expected_close_on: Some(today),
            ..open_deal("Won already", rep.id, "Negotiation", now)
        },
    );

    let mine = seed_contact(&app, "Ada", "Lovelace", Some(rep.id));
    let theirs = seed_contact(&app, "Grace", "Hopper", Some(other.id));
    let my_company = seed_company(&app, "Acme", Some(rep.id));
    let note = |contact_id: Option<i64>, company_id: Option<i64>, body: &str, at: NaiveDateTime| {
        timeline::add(
            &mut app.conn(),
            &NewEntry {
                contact_id,
                company_id,
                deal_id: None,
                lead_id: None,
                kind: Kind::Note,
                author_id: Some(other.id),
                occurred_at: at,
                recorded_at: at,
                body,
                outcome: None,
                duration_minutes: None,
            },
        )
        .expect("entry added");
    };
    note(
        Some(mine),
        None,
        "Discussed the renewal",
        now - Duration::hours(1),
    );
    note(
        None,
        Some(my_company),
        "Budget approved",
        now - Duration::hours(3),
    );
    note(
        Some(theirs),
        None,
        "Not your business",
        now - Duration::minutes(5),
    );
    note(
        Some(mine),
        None,
        "Ancient history",
        now - Duration::days(40),
    );

    let page = app.get_html("/").await;
    let tasks_card = section(&page, "my-tasks");
    assert!(tasks_card.contains("Overdue call") && tasks_card.contains("Afternoon call"));
    assert!(!tasks_card.contains("Next week's call") && !tasks_card.contains("Other's call"));
    assert!(tasks_card.contains(&format!("action=\"/tasks/{overdue}/complete\"")));

    let closing = section(&page, "closing");
    assert!(closing.contains("Closing soon"));
    assert!(closing.contains("€12,500.00"));
    assert!(!closing.contains("Someone else's deal") && !closing.contains("Won already"));
    assert!(!closing.contains("Stuck deal"), "closes in another month");

    let rotting = section(&page, "rotting");
    assert!(rotting.contains("Stuck deal"));
    assert!(rotting.contains("20 days in Qualified"));
    assert!(
        !rotting.contains("Fresh deal"),
        "14 days is the limit, not past it"
    );
    assert!(!rotting.contains("Someone else's deal"));

    let activity = section(&page, "activity");
    assert!(activity.contains("Discussed the renewal") && activity.contains("Budget approved"));
    assert!(
        activity.find("Discussed the renewal") < activity.find("Budget approved"),
        "newest first"
    );
    assert!(!activity.contains("Not your business") && !activity.contains("Ancient history"));
    assert!(!page.contains("id=\"team\""), "team totals are for admins");

    // Completing from home comes back home.
    let response = app
        .post_form(&format!("/tasks/{overdue}/complete"), &[("next", "/")])
        .await;
    assert_eq!(location(&response), "/");
    assert!(!section(&app.get_html("/").await, "my-tasks").contains("Overdue call"));
}

#[tokio::test]
async fn an_empty_home_page_says_what_to_do() {
    let app = spawn().await;
    let rep = app.create_user("rep@example.com", Role::Sales);
    app.login_as(&rep).await;
    let page = app.get_html("/").await;
    assert!(section(&page, "my-tasks").contains("Nothing due today."));
    assert!(section(&page, "my-tasks").contains("href=\"/tasks/new\""));
    assert!(section(&page, "closing").contains("None of your open deals is expected to close"));
    assert!(section(&page, "rotting").contains("None of your deals has stayed"));
    assert!(section(&page, "activity").contains("href=\"/contacts?owner=mine\""));
    let tasks = app.get_html("/tasks").await;
    assert!(tasks.contains("No tasks yet"));
}

#[tokio::test]
async fn admins_see_the_teams_pipeline_totals_by_currency() {
    let app = spawn().await;
    let admin_user = app.admin();
    let rep = app.create_user("rep@example.com", Role::Sales);
    let now = app.clock.now();
    let deals_in = [
        ("Big", 1_000_000, "EUR", "Proposal made", "open"),
        ("Small", 3_333, "EUR", "Qualified", "open"),
        ("Dollar", 50_000, "USD", "Negotiation", "open"),
        ("Lost", 9_999_999, "EUR", "Negotiation", "lost"),
    ];
    for (title, value_minor, currency, stage, status) in deals_in {
        seed_deal(
            &app,
            &NewDeal {
                value_minor,
                currency,
                status,
                ..open_deal(title, rep.id, stage, now)
            },
        );
    }
    diesel::insert_into(pipelines::table)
        .values((
            pipelines::name.eq("Renewals"),
            pipelines::position.eq(1),
            pipelines::created_at.eq(now),
            pipelines::updated_at.eq(now),
        ))
        .execute(&mut app.conn())
        .expect("a second pipeline");

    app.login_as(&admin_user).await;
    let page = app.get_html("/").await;
    let team = section(&page, "team");
    let eur = Currency::parse("EUR").expect("EUR");
    let usd = Currency::parse("USD").expect("USD");
    let weighted_eur = rules::weighted_value(1_000_000, 60) + rules::weighted_value(3_333, 10);
    assert!(team.contains("3 open deals"));
    assert!(team.contains(&money::format(1_003_333, eur)), "{team}");
    assert!(team.contains(&format!("weighted {}", money::format(weighted_eur, eur))));
    assert!(team.contains(&money::format(50_000, usd)));
    assert!(team.contains(&format!("weighted {}", money::format(40_000, usd))));
    assert!(
        !team.contains(&money::format(9_999_999, eur)),
        "lost deals are not open"
    );
    assert!(team.contains("Renewals") && team.contains("No open deals."));
}

#[tokio::test]
async fn support_agents_never_see_deal_values_on_the_home_page() {
    let app = spawn().await;
    let sam = app.create_user("sam@example.com", Role::Support);
    let now = app.clock.now();
    seed_deal(
        &app,
        &NewDeal {
            value_minor: 777_700,
            expected_close_on: Some(now.date()),
            ..open_deal("Handed to support", sam.id, "Negotiation", now)
        },
    );
    app.login_as(&sam).await;
    let page = app.get_html("/").await;
    assert!(section(&page, "closing").contains("Handed to support"));
    assert!(
        !page.contains("7,777") && !page.contains('€'),
        "no value anywhere"
    );
    assert!(!page.contains("id=\"team\""));

    let rep_less = app.create_user("sue@example.com", Role::Support);
    let other = app.open_browser();
    other.login_as(&rep_less).await;
    let page = other.get_html("/").await;
    assert!(
        !page.contains("id=\"closing\""),
        "no deal sections for agents without deals"
    );
}

// ---------------------------------------------------------------------------------------
// Query plans

/// Records the SQL of every query a connection runs.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl Instrumentation for Recorder {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let sql = query.to_string();
            let sql = sql
                .split(" -- binds:")
                .next()
                .unwrap_or_default()
                .to_owned();
            self.0.lock().expect("the recorder").push(sql);
        }
    }
}

#[tokio::test]
async fn the_task_and_home_queries_walk_indexes() {
    use rapport::tasks::panel::Linked;
    use rapport::tasks::queries::{self as task_queries, Scope};

    let app = spawn().await;
    let rep = app.create_user("rep@example.com", Role::Sales);
    let now = app.clock.now();
    let recorder = Recorder::default();
    let mut conn = app.conn();
    conn.set_instrumentation(recorder.clone());
    for scope in [
        Scope::AssignedTo(rep.id),
        Scope::CreatedBy(rep.id),
        Scope::Everyone,
    ] {
        task_queries::open(&mut conn, scope, None, Some(now), None, 10).expect("overdue");
        task_queries::open(&mut conn, scope, Some(now), None, Some((now, 1)), 10)
            .expect("upcoming");
        task_queries::done(&mut conn, scope, None, 10).expect("done");
        task_queries::done(&mut conn, scope, Some((now, 1)), 10).expect("done");
    }
    task_queries::overdue_count(&mut conn, rep.id, now).expect("count");
    for record in [Linked::Contact(1), Linked::Company(1), Linked::Deal(1)] {
        task_queries::linked_to(&mut conn, record, false, 10).expect("panel");
        task_queries::linked_to(&mut conn, record, true, 10).expect("panel");
    }
    let month = now.date();
    rapport::home::queries::closing_between(&mut conn, rep.id, month, month, 10).expect("closing");
    rapport::home::queries::rotting(&mut conn, rep.id, now, 10).expect("rotting");
    rapport::home::queries::recent_activity(&mut conn, rep.id, now, 10).expect("activity");
    rapport::home::queries::pipeline_totals(&mut conn).expect("totals");
    rapport::tasks::reminders::queue_due(
        &mut conn,
        now,
        &rapport::email::Mailer::new(
            url::Url::parse(&app.address).expect("url"),
            &rapport::config::default_mail_from(),
        ),
    )
    .expect("sweep");
    conn.set_instrumentation(Recorder::default());

    let statements = recorder.0.lock().expect("the recorder").clone();
    let selects: Vec<&String> = statements
        .iter()
        .filter(|sql| sql.trim_start().starts_with("SELECT"))
        .collect();
    assert!(
        selects.len() >= 20,
        "the queries were recorded: {statements:?}"
    );
    for sql in selects {
        // Any value does for planning; SQLite only needs every parameter bound.
        let mut explain =
            diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}")).into_boxed::<Sqlite>();
        for _ in 0..sql.matches('?').count() {
            explain = explain.bind::<diesel::sql_types::BigInt, _>(0_i64);
        }
        let plan: Vec<PlanRow> = explain
            .load(&mut conn)
            .unwrap_or_else(|err| panic!("explain {sql}: {err}"));
        let steps: Vec<&str> = plan.iter().map(|row| row.detail.as_str()).collect();
        for (filter, index) in [
            ("`tasks`.`contact_id` = ?", "tasks_by_contact"),
            ("`tasks`.`company_id` = ?", "tasks_by_company"),
            ("`tasks`.`deal_id` = ?", "tasks_by_deal"),
            ("`tasks`.`assignee_id` = ?", "by_assignee"),
            ("`tasks`.`created_by` = ?", "tasks_by_creator"),
        ] {
            if sql.contains(filter) {
                assert!(
                    steps.iter().any(|step| step.contains(index)),
                    "{sql}\nshould use {index}: {steps:?}"
                );
            }
        }
        for row in &plan {
            let step = &row.detail;
            // `SHOW_PLANS=1 cargo test --test tasks walk_indexes -- --nocapture` prints them.
            if std::env::var("SHOW_PLANS").is_ok() {
                eprintln!("PLAN {step}");
            }
            let full_scan = step.starts_with("SCAN ")
                && !step.contains("USING")
                && ![
                    "SCAN p",
                    "SCAN pipelines",
                    "SCAN pipeline_stages",
                    // A few rows per pipeline, stage, owner and currency: the team's totals
                    // read all of it.
                    "SCAN deal_board_totals",
                    "SCAN t",
                    "SCAN CONSTANT",
                ]
                .iter()
                .any(|small| step.starts_with(small));
            assert!(!full_scan, "{sql}\nscans a table: {step}");
        }
    }
}

#[derive(QueryableByName)]
struct PlanRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}
