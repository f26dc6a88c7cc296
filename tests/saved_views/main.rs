//! Saved views ("segments") on the contacts and companies lists: save a filter, keep it
//! private or share it, open it, rename and delete it (owner or admin only); and
//! `rapport seed-demo`, whose data the lists and the search are built to serve.

#[path = "../common/mod.rs"]
mod common;
use common::*;

use chrono::Duration;
use diesel::prelude::*;
use rapport::audit::Actor;
use rapport::auth::model::{Role, User};
use rapport::clock::Clock;
use rapport::contacts::contact::model::{ContactInput, Stage};
use rapport::contacts::contact::service::{self, Created};
use rapport::contacts::timeline::{self, Kind, NewEntry};
use rapport::db::schema::{audit_log, contact_emails, contacts, saved_views};
use reqwest::StatusCode;

fn user_record(app: &TestApp, user: &TestUser) -> User {
    rapport::auth::queries::find(&mut app.conn(), user.id)
        .expect("query")
        .expect("the user exists")
}

fn contact(app: &TestApp, by: &TestUser, first: &str, last: &str, stage: Stage) -> i64 {
    let input = ContactInput {
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        emails: Vec::new(),
        phones: Vec::new(),
        job_title: None,
        company_id: None,
        owner_id: None,
        tags: Vec::new(),
        stage,
        address: None,
        description: None,
    };
    let user = user_record(app, by);
    let actor = Actor::user(&user, "127.0.0.1");
    match service::create(
        &mut app.conn(),
        app.clock.now(),
        &actor,
        &user,
        &input,
        true,
    )
    .expect("created")
    {
        Created::Saved(id) => id,
        Created::Duplicates(_) => panic!("confirmed duplicates are saved"),
    }
}

fn log_call(app: &TestApp, contact_id: i64, by: &TestUser) {
    timeline::add(
        &mut app.conn(),
        &NewEntry {
            deal_id: None,
            lead_id: None,
            contact_id: Some(contact_id),
            company_id: None,
            kind: Kind::Call,
            author_id: Some(by.id),
            occurred_at: app.clock.now(),
            recorded_at: app.clock.now(),
            body: "Checked in",
            outcome: Some("connected"),
            duration_minutes: Some(5),
        },
    )
    .expect("call logged");
}

/// (id, owner, name, query, shared) of every saved view, oldest first.
fn views(app: &TestApp) -> Vec<(i64, i64, String, String, bool)> {
    saved_views::table
        .order(saved_views::id.asc())
        .select((
            saved_views::id,
            saved_views::owner_id,
            saved_views::name,
            saved_views::query,
            saved_views::shared,
        ))
        .load(&mut app.conn())
        .expect("views")
}

const INACTIVE_CUSTOMERS: &str = "stage=customer&inactive_days=60";
/// The same, as the page's HTML writes it in an attribute.
const INACTIVE_CUSTOMERS_HTML: &str = "stage=customer&#38;inactive_days=60";

/// The part of a list page between "Team views" and the save form.
fn team_section(page: &str) -> &str {
    let start = page
        .find("<h3>Team views</h3>")
        .expect("a Team views section");
    let end = page[start..]
        .find("class=\"save-view\"")
        .expect("the save form");
    &page[start..start + end]
}

fn my_section(page: &str) -> &str {
    let start = page.find("<h3>My views</h3>").expect("a My views section");
    let end = page[start..]
        .find("<h3>Team views</h3>")
        .expect("the team section");
    &page[start..start + end]
}

#[tokio::test]
async fn a_shared_view_applies_for_another_rep_who_cannot_delete_it_but_its_owner_can() {
    let app = spawn_app().await;
    let alice = app.create_user("alice@example.com", Role::Sales);
    let bob = app.create_user("bob@example.com", Role::Sales);
    let quiet = contact(&app, &alice, "Quinn", "Quiet", Stage::Customer);
    let busy = contact(&app, &alice, "Bea", "Busy", Stage::Customer);
    contact(&app, &alice, "Lee", "Lead", Stage::Lead);
    app.clock.advance(Duration::days(90));
    log_call(&app, busy, &alice);

    // Alice filters the list and saves it, shared with the team.
    app.login_as(&alice).await;
    let list = app
        .get_html(&format!("/contacts?{INACTIVE_CUSTOMERS}"))
        .await;
    assert!(list.contains(&format!(
        "name=\"query\" value=\"{INACTIVE_CUSTOMERS_HTML}\""
    )));
    let saved = app
        .post_form(
            "/views",
            &[
                ("list", "contacts"),
                ("name", "Customers with no activity for 60 days"),
                ("query", INACTIVE_CUSTOMERS),
                ("shared", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), format!("/contacts?{INACTIVE_CUSTOMERS}"));
    let stored = views(&app);
    assert_eq!(stored.len(), 1);
    let (id, owner, _, query, shared) = stored[0].clone();
    assert_eq!(
        (owner, query.as_str(), shared),
        (alice.id, INACTIVE_CUSTOMERS, true)
    );
    let mine = app.get_html("/contacts").await;
    assert!(my_section(&mine).contains("Customers with no activity for 60 days"));

    // Bob sees it under "Team views" and opening it applies the filter.
    let bob_browser = app.open_browser();
    bob_browser.login_as(&bob).await;
    let page = bob_browser.get_html("/contacts").await;
    let team = team_section(&page);
    assert!(team.contains("Customers with no activity for 60 days"));
    assert!(team.contains(&format!("href=\"/contacts?{INACTIVE_CUSTOMERS_HTML}\"")));
    assert!(!team.contains("Delete"), "bob cannot manage alice's view");
    let opened = bob_browser.get(&format!("/views/{id}")).await;
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    let target = location(&opened);
    assert_eq!(target, format!("/contacts?{INACTIVE_CUSTOMERS}"));
    let filtered = bob_browser.get_html(&target).await;
    assert!(filtered.contains(&format!("/contacts/{quiet}\"")));
    assert!(!filtered.contains(&format!("/contacts/{busy}\"")));
    assert!(!filtered.contains("Lead</a>") && !filtered.contains(">Lee Lead<"));
    assert!(filtered.contains("aria-current=\"true\">Customers with no activity"));

    // Bob can neither delete nor rename it.
    let refused = bob_browser
        .post_form(&format!("/views/{id}/delete"), &[])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = bob_browser
        .post_form(&format!("/views/{id}"), &[("name", "Mine now")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        bob_browser.get(&format!("/views/{id}/edit")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(views(&app).len(), 1);
    assert_eq!(views(&app)[0].2, "Customers with no activity for 60 days");
    let denials: i64 = audit_log::table
        .filter(audit_log::action.eq("authorization_denied"))
        .filter(audit_log::actor_user_id.eq(bob.id))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(denials, 3);

    // Alice deletes it; it is gone for both.
    let deleted = app.post_form(&format!("/views/{id}/delete"), &[]).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&deleted), "/contacts");
    assert!(views(&app).is_empty());
    let page = bob_browser.get_html("/contacts").await;
    assert!(!page.contains("Customers with no activity for 60 days"));
    assert_eq!(
        bob_browser.get(&format!("/views/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_private_view_is_listed_for_its_owner_only_and_cannot_be_opened_by_others() {
    let app = spawn_app().await;
    let alice = app.create_user("alice@example.com", Role::Sales);
    let bob = app.create_user("bob@example.com", Role::Support);
    app.login_as(&alice).await;
    let saved = app
        .post_form(
            "/views",
            &[
                ("list", "contacts"),
                ("name", "My leads"),
                ("query", "owner=mine&stage=lead"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (id, _, _, _, shared) = views(&app)[0].clone();
    assert!(!shared);
    assert!(my_section(&app.get_html("/contacts").await).contains("My leads"));

    let other = app.open_browser();
    other.login_as(&bob).await;
    let page = other.get_html("/contacts").await;
    assert!(!page.contains("My leads"));
    assert_eq!(
        other.get(&format!("/views/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other
            .post_form(&format!("/views/{id}/delete"), &[])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(views(&app).len(), 1);
}

#[tokio::test]
async fn a_view_with_an_unknown_parameter_or_no_name_is_refused_and_nothing_is_saved() {
    let app = spawn_app().await;
    let alice = app.create_user("alice@example.com", Role::Sales);
    app.login_as(&alice).await;

    let refused = app
        .post_form(
            "/views",
            &[
                ("list", "contacts"),
                ("name", "Sneaky"),
                ("query", "stage=customer&redirect=https://evil.example"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = refused.text().await.expect("body");
    assert!(body.contains("“redirect” is not a filter of the contacts list."));

    let refused = app
        .post_form(
            "/views",
            &[
                ("list", "contacts"),
                ("name", "   "),
                ("query", "stage=lead"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .expect("body")
            .contains("Give the view a name.")
    );

    // A contacts-only filter is not a companies filter.
    let refused = app
        .post_form(
            "/views",
            &[
                ("list", "companies"),
                ("name", "Odd"),
                ("query", "stage=lead"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let refused = app
        .post_form(
            "/views",
            &[("list", "deals"), ("name", "Later"), ("query", "")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(views(&app).is_empty());

    // The page cursor and blank fields are dropped rather than refused.
    let saved = app
        .post_form(
            "/views",
            &[
                ("list", "contacts"),
                ("name", "Leads"),
                ("query", "stage=lead&tag=&after=12~smith"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(views(&app)[0].3, "stage=lead");

    // The same name twice for the same list is refused.
    let refused = app
        .post_form(
            "/views",
            &[
                ("list", "contacts"),
                ("name", "Leads"),
                ("query", "stage=customer"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .expect("body")
            .contains("You already have a view with this name.")
    );
    assert_eq!(views(&app).len(), 1);
}

#[tokio::test]
async fn the_owner_renames_and_shares_a_view_and_an_admin_may_delete_anyones_shared_view() {
    let app = spawn_app().await;
    let alice = app.create_user("alice@example.com", Role::Sales);
    let admin = app.admin();
    app.login_as(&alice).await;
    app.post_form(
        "/views",
        &[
            ("list", "companies"),
            ("name", "Big ones"),
            ("query", "tag=enterprise&sort=activity"),
        ],
    )
    .await;
    let (id, ..) = views(&app)[0].clone();
    let form = app.get_html(&format!("/views/{id}/edit")).await;
    assert!(form.contains("value=\"Big ones\""));

    let renamed = app
        .post_form(
            &format!("/views/{id}"),
            &[("name", "Enterprise accounts"), ("shared", "on")],
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&renamed),
        "/companies?tag=enterprise&sort=activity"
    );
    let (_, _, name, query, shared) = views(&app)[0].clone();
    assert_eq!(
        (name.as_str(), query.as_str(), shared),
        ("Enterprise accounts", "tag=enterprise&sort=activity", true)
    );
    let refused = app
        .post_form(&format!("/views/{id}"), &[("name", "")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(views(&app)[0].2, "Enterprise accounts");

    // Company views show on the companies list only.
    assert!(my_section(&app.get_html("/companies").await).contains("Enterprise accounts"));
    assert!(
        !app.get_html("/contacts")
            .await
            .contains("Enterprise accounts")
    );

    let admin_browser = app.open_browser();
    admin_browser.login_as(&admin).await;
    let page = admin_browser.get_html("/companies").await;
    assert!(team_section(&page).contains(&format!("/views/{id}/delete")));
    let deleted = admin_browser
        .post_form(&format!("/views/{id}/delete"), &[])
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&deleted), "/companies");
    assert!(views(&app).is_empty());
}

#[tokio::test]
async fn views_need_a_signed_in_user_and_a_csrf_token() {
    let app = spawn_app().await;
    let anonymous = app.get("/views/1").await;
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert!(location(&anonymous).starts_with("/login"));
    let alice = app.create_user("alice@example.com", Role::Sales);
    app.login_as(&alice).await;
    let forged = app
        .post_form_raw(
            "/views",
            &[("list", "contacts"), ("name", "Forged"), ("query", "")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(views(&app).is_empty());
}

// ---------------------------------------------------------------------------------------
// rapport seed-demo

fn count(conn: &mut rapport::db::Conn, table: &str) -> i64 {
    diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!("SELECT COUNT(*) FROM {table}"))
        .get_result(conn)
        .expect("count")
}

#[tokio::test]
async fn seed_demo_creates_demo_users_and_searchable_contacts_with_timelines() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let database = dir.path().join("demo.db");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rapport"))
        .args(["seed-demo", "--contacts", "500"])
        .env(
            "RAPPORT_DATABASE_URL",
            format!("sqlite://{}", database.display()),
        )
        .env("RAPPORT_MAIL_DIR", dir.path().join("mail"))
        .env("RAPPORT_LOG", "warn")
        .current_dir(dir.path())
        .output()
        .expect("rapport runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "seed-demo failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("created demo user admin@demo.example (admin)"));
    assert!(stdout.contains("seeded 50 companies, 500 contacts"));
    let password = stdout
        .lines()
        .find_map(|line| line.strip_prefix("password of the demo users: "))
        .expect("the demo password is printed")
        .trim()
        .to_owned();

    let pool = rapport::db::connect(&database.display().to_string(), 1).expect("pool");
    let conn = &mut pool.get().expect("conn");
    assert_eq!(count(conn, "contacts"), 500);
    assert_eq!(count(conn, "companies"), 50);
    let emails = count(conn, "contact_emails");
    assert!(emails >= 500, "every contact has an email, got {emails}");
    assert!(count(conn, "contact_phones") > 250);
    assert!(count(conn, "contact_tags") > 100);
    let entries = count(conn, "timeline_entries");
    assert!(entries > 500, "{entries} timeline entries");
    let owners: Vec<Option<i64>> = contacts::table
        .select(contacts::owner_id)
        .distinct()
        .load(conn)
        .expect("owners");
    assert_eq!(owners.len(), 3, "spread over the admin and two sales reps");
    let mut tagged = |name: &str| -> i64 {
        diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "SELECT COUNT(*) FROM contact_tags JOIN tags ON tags.id = contact_tags.tag_id \
             WHERE tags.name = ",
        )
        .bind::<diesel::sql_types::Text, _>(name.to_owned())
        .get_result(conn)
        .expect("count")
    };
    // About 30 % of the contacts get the newsletter, about 5 % are VIPs.
    let (newsletter, vip) = (tagged("newsletter"), tagged("vip"));
    assert!(newsletter > 3 * vip, "newsletter {newsletter}, vip {vip}");
    assert_eq!(count(conn, "contacts_fts"), 500);
    assert_eq!(count(conn, "companies_fts"), 50);
    let (id, first, last, email): (i64, String, String, String) = contacts::table
        .inner_join(contact_emails::table)
        .filter(contacts::id.eq(250))
        .filter(contact_emails::is_primary.eq(true))
        .select((
            contacts::id,
            contacts::first_name,
            contacts::last_name,
            contact_emails::email,
        ))
        .first(conn)
        .expect("contact 250");
    drop(pool);

    // The web app on the seeded database finds the contact by name and by email.
    let app = spawn_app_with(|settings| {
        settings.database_path = database.display().to_string();
    })
    .await;
    let login = app.login("admin@demo.example", &password).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", &format!("{first} {last}"))
        .finish();
    let found = app.get_html(&format!("/search?{query}")).await;
    assert!(
        found.contains(&format!("/contacts/{id}\"")),
        "{first} {last}"
    );
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", &email)
        .finish();
    let found = app.get_html(&format!("/search?{query}")).await;
    assert!(found.contains(&format!("/contacts/{id}\"")), "{email}");
    let page = app.get_html(&format!("/contacts/{id}")).await;
    assert!(page.contains(&last));
}
