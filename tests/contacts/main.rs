//! Contacts (people): the list with filters, sorting, cursor pages and bulk actions; create,
//! edit, validation, duplicates and edit conflicts; archive, restore, delete; permissions;
//! search; the contact page with its timeline and history.

#[path = "../common/mod.rs"]
mod common;
use common::*;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rapport::audit::Actor;
use rapport::auth::model::{Role, User};
use rapport::clock::Clock;
use rapport::contacts::contact::model::{ContactInput, Stage};
use rapport::contacts::contact::queries::{self, ListFilter};
use rapport::contacts::contact::service::{self, Created};
use rapport::contacts::timeline::{self, Kind, NewEntry};
use rapport::db::schema::{
    audit_log, companies, contact_emails, contact_phones, contact_tags, contacts, tags,
    timeline_entries,
};
use reqwest::StatusCode;

// ---------------------------------------------------------------------------------------
// Helpers

fn user_record(app: &TestApp, user: &TestUser) -> User {
    rapport::auth::queries::find(&mut app.conn(), user.id)
        .expect("query")
        .expect("the user exists")
}

fn person(first: &str, last: &str) -> ContactInput {
    ContactInput {
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        emails: Vec::new(),
        phones: Vec::new(),
        job_title: None,
        company_id: None,
        owner_id: None,
        tags: Vec::new(),
        stage: Stage::Lead,
        address: None,
        description: None,
    }
}

/// Creates a contact through the service layer, as `by`, at `at`.
fn seed_at(app: &TestApp, by: &TestUser, input: &ContactInput, at: NaiveDateTime) -> i64 {
    let user = user_record(app, by);
    let actor = Actor::user(&user, "127.0.0.1");
    match service::create(&mut app.conn(), at, &actor, &user, input, true).expect("created") {
        Created::Saved(id) => id,
        Created::Duplicates(_) => panic!("confirmed duplicates are saved"),
    }
}

fn seed(app: &TestApp, by: &TestUser, input: &ContactInput) -> i64 {
    seed_at(app, by, input, app.clock.now())
}

fn seed_company(app: &TestApp, name: &str) -> i64 {
    let now = app.clock.now();
    diesel::insert_into(companies::table)
        .values((
            companies::name.eq(name),
            companies::sort_name.eq(name.to_lowercase()),
            companies::created_at.eq(now),
            companies::updated_at.eq(now),
        ))
        .returning(companies::id)
        .get_result(&mut app.conn())
        .expect("company inserted")
}

fn unescape(html: &str) -> String {
    html.replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&#43;", "+")
        .replace("&#x2b;", "+")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#x3d;", "=")
        .replace("&#61;", "=")
}

/// The ids of the contacts a list page shows, in order.
fn listed(page: &str) -> Vec<i64> {
    let marker = "<td><a href=\"/contacts/";
    page.match_indices(marker)
        .filter_map(|(at, _)| {
            let rest = &page[at + marker.len()..];
            let end = rest.find('"')?;
            rest[..end].parse().ok()
        })
        .collect()
}

/// The "Next page" link of a list page, if any.
fn next_link(page: &str) -> Option<String> {
    let end = page.find("\" rel=\"next\"")?;
    let start = page[..end].rfind("href=\"")? + "href=\"".len();
    Some(unescape(&page[start..end]))
}

fn version_in(page: &str) -> String {
    let marker = "name=\"version\" value=\"";
    let start = page.find(marker).expect("the form has a version") + marker.len();
    let end = page[start..].find('"').expect("the value ends") + start;
    page[start..end].to_owned()
}

fn contact_count(app: &TestApp) -> i64 {
    contacts::table
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

fn contact_id_from(response: &reqwest::Response) -> i64 {
    location(response)
        .strip_prefix("/contacts/")
        .and_then(|id| id.parse().ok())
        .expect("redirected to the new contact")
}

fn audit_rows(app: &TestApp, target: &str) -> Vec<(String, Option<String>)> {
    audit_log::table
        .filter(audit_log::target.eq(target))
        .order(audit_log::id.asc())
        .select((audit_log::action, audit_log::details))
        .load(&mut app.conn())
        .expect("audit rows")
}

fn tag_names(app: &TestApp, contact_id: i64) -> Vec<String> {
    contact_tags::table
        .inner_join(tags::table)
        .filter(contact_tags::contact_id.eq(contact_id))
        .order(tags::name.asc())
        .select(tags::name)
        .load(&mut app.conn())
        .expect("tags")
}

fn owner_of(app: &TestApp, contact_id: i64) -> Option<i64> {
    contacts::table
        .find(contact_id)
        .select(contacts::owner_id)
        .first(&mut app.conn())
        .expect("the contact")
}

fn day(y: i32, m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|date| date.and_hms_opt(12, 0, 0))
        .expect("a date")
}

async fn search_ids(browser: &Browser, typed: &str) -> Vec<i64> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", typed)
        .finish();
    listed(&browser.get_html(&format!("/contacts?{query}")).await)
}

/// A full, valid contact form.
fn form<'a>(first: &'a str, last: &'a str, emails: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("first_name", first),
        ("last_name", last),
        ("emails", emails),
        ("phones", ""),
        ("job_title", ""),
        ("company_id", ""),
        ("owner_id", ""),
        ("tags", ""),
        ("lifecycle_stage", "lead"),
        ("address", ""),
        ("description", ""),
    ]
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

// ---------------------------------------------------------------------------------------
// The list

#[tokio::test]
async fn the_list_pages_fifty_by_name_then_follows_the_cursor_to_the_rest() {
    let app = spawn_app().await;
    let admin = app.admin();
    let ids: Vec<i64> = (0..60)
        .map(|i| seed(&app, &admin, &person("Ada", &format!("Person {i:02}"))))
        .collect();
    app.login_as(&admin).await;

    let first = app.get_html("/contacts").await;
    assert_eq!(listed(&first), ids[..50].to_vec());
    assert!(first.contains("Person 00"));
    let next = next_link(&first).expect("a next page");
    assert!(next.starts_with("/contacts?after="), "{next}");

    let second = app.get_html(&next).await;
    assert_eq!(listed(&second), ids[50..].to_vec());
    assert!(next_link(&second).is_none());
    assert!(second.contains("First page"));
}

#[tokio::test]
async fn sorting_by_created_or_activity_pages_newest_first_and_keeps_the_filters() {
    let app = spawn_app().await;
    let admin = app.admin();
    let sales = app.create_user("sales@example.com", Role::Sales);
    let start = day(2026, 1, 1);
    let mut mine = Vec::new();
    for i in 0..60 {
        let mut input = person("Bo", &format!("Created {i:02}"));
        input.owner_id = Some(sales.id);
        mine.push(seed_at(&app, &admin, &input, start + Duration::minutes(i)));
    }
    let mut someone_elses = person("Not", "Mine");
    someone_elses.owner_id = Some(admin.id);
    let other = seed_at(&app, &admin, &someone_elses, start + Duration::hours(5));
    app.login_as(&sales).await;

    let first = app.get_html("/contacts?sort=created&owner=mine").await;
    let newest_first: Vec<i64> = mine.iter().rev().copied().collect();
    assert_eq!(listed(&first), newest_first[..50].to_vec());
    let next = next_link(&first).expect("a next page");
    assert!(
        next.contains("sort=created") && next.contains("owner=mine"),
        "{next}"
    );
    assert_eq!(
        listed(&app.get_html(&next).await),
        newest_first[50..].to_vec()
    );
    assert!(!listed(&first).contains(&other));

    // Activity: the most recently active first, never-active ones last by id.
    {
        let conn = &mut app.conn();
        for (minutes, contact_id) in [(10, mine[3]), (20, mine[7])] {
            timeline::add(
                conn,
                &NewEntry {
                    deal_id: None,
                    lead_id: None,
                    contact_id: Some(contact_id),
                    company_id: None,
                    kind: Kind::Note,
                    author_id: Some(admin.id),
                    occurred_at: start + Duration::days(1) + Duration::minutes(minutes),
                    recorded_at: start + Duration::days(1) + Duration::minutes(minutes),
                    body: "Spoke on the phone",
                    outcome: None,
                    duration_minutes: None,
                },
            )
            .expect("activity added");
        }
    }
    let by_activity = app.get_html("/contacts?sort=activity&owner=mine").await;
    let shown = listed(&by_activity);
    assert_eq!(shown[..3], [mine[7], mine[3], mine[59]]);
    let next = next_link(&by_activity).expect("a next page");
    let rest = listed(&app.get_html(&next).await);
    assert_eq!(rest.len(), 10);
    assert!(!shown.iter().any(|id| rest.contains(id)));
    assert_eq!(*rest.last().expect("a row"), mine[0]);
}

#[tokio::test]
async fn the_list_filters_by_owner_tag_stage_company_and_archived() {
    let app = spawn_app().await;
    let admin = app.admin();
    let sales = app.create_user("sales@example.com", Role::Sales);
    let acme = seed_company(&app, "Acme");
    let mut vip = person("Vera", "Important");
    vip.tags = vec!["vip".to_owned()];
    vip.owner_id = Some(sales.id);
    let vip = seed(&app, &admin, &vip);
    let mut customer = person("Carl", "Customer");
    customer.stage = Stage::Customer;
    customer.company_id = Some(acme);
    let customer = seed(&app, &admin, &customer);
    let plain = seed(&app, &admin, &person("Paul", "Plain"));
    let archived = seed(&app, &admin, &person("Archie", "Archived"));
    app.login_as(&admin).await;
    let response = app
        .post_form(&format!("/contacts/{archived}/archive"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    assert_eq!(
        listed(&app.get_html("/contacts").await),
        vec![customer, vip, plain]
    );
    assert_eq!(
        listed(&app.get_html(&format!("/contacts?owner={}", sales.id)).await),
        vec![vip]
    );
    assert_eq!(listed(&app.get_html("/contacts?tag=VIP").await), vec![vip]);
    assert!(listed(&app.get_html("/contacts?tag=unknown").await).is_empty());
    assert_eq!(
        listed(&app.get_html("/contacts?stage=customer").await),
        vec![customer]
    );
    let by_company = app.get_html(&format!("/contacts?company={acme}")).await;
    assert_eq!(listed(&by_company), vec![customer]);
    assert!(by_company.contains(&format!("<a href=\"/companies/{acme}\">Acme</a>")));
    assert!(
        by_company.contains(r#"name="company" type="search" value="Acme""#),
        "the filter shows the company's name, not its id"
    );
    // The filter takes a typed name too (any case), offered by the type-ahead.
    assert_eq!(
        listed(&app.get_html("/contacts?company=acme").await),
        vec![customer]
    );
    assert!(listed(&app.get_html("/contacts?company=Nobody+Inc").await).is_empty());
    rapport::search::index_company(&mut app.conn(), acme).expect("indexed");
    let suggestions = app.get_html("/companies/suggest?company=ac").await;
    assert_eq!(suggestions, r#"<option value="Acme"></option>"#);
    assert_eq!(
        listed(&app.get_html("/contacts?archived=1").await),
        vec![archived]
    );
    let nothing = app.get_html("/contacts?stage=churned").await;
    assert!(nothing.contains("No contacts match these filters"));
}

#[tokio::test]
async fn the_list_filters_by_created_and_updated_dates_and_by_inactivity() {
    let app = spawn_app().await;
    let admin = app.admin();
    let january = seed_at(&app, &admin, &person("Jan", "Uary"), day(2026, 1, 10));
    let february = seed_at(&app, &admin, &person("Feb", "Ruary"), day(2026, 2, 10));
    {
        let user = user_record(&app, &admin);
        let actor = Actor::user(&user, "127.0.0.1");
        let mut changed = person("Jan", "Uary");
        changed.job_title = Some("Buyer".to_owned());
        service::update(
            &mut app.conn(),
            day(2026, 3, 5),
            &actor,
            &user,
            january,
            &changed,
            1,
        )
        .expect("updated");
    }
    app.login_as(&admin).await;
    assert_eq!(
        listed(&app.get_html("/contacts?created_from=2026-02-01").await),
        vec![february]
    );
    assert_eq!(
        listed(&app.get_html("/contacts?created_to=2026-01-10").await),
        vec![january]
    );
    assert_eq!(
        listed(
            &app.get_html("/contacts?updated_from=2026-03-01&updated_to=2026-03-31")
                .await
        ),
        vec![january]
    );

    // Activity: recent for one, 90 days ago for the other; a third never had any.
    let never = seed(&app, &admin, &person("Nev", "Er"));
    let now = app.clock.now();
    {
        let conn = &mut app.conn();
        for (contact_id, days_ago) in [(january, 1), (february, 90)] {
            timeline::add(
                conn,
                &NewEntry {
                    deal_id: None,
                    lead_id: None,
                    contact_id: Some(contact_id),
                    company_id: None,
                    kind: Kind::Call,
                    author_id: Some(admin.id),
                    occurred_at: now - Duration::days(days_ago),
                    recorded_at: now - Duration::days(days_ago),
                    body: "Called",
                    outcome: None,
                    duration_minutes: Some(5),
                },
            )
            .expect("activity added");
        }
    }
    assert_eq!(
        listed(&app.get_html("/contacts?inactive_days=60").await),
        vec![never, february]
    );
}

#[tokio::test]
async fn the_default_list_and_the_owner_filter_stay_on_an_index() {
    let app = spawn_app().await;
    let admin = app.admin();
    for i in 0..5 {
        seed(&app, &admin, &person("Ix", &format!("Dex {i}")));
    }
    let conn = &mut app.conn();
    let plans = [
        ListFilter::default(),
        ListFilter {
            owner_id: Some(admin.id),
            ..ListFilter::default()
        },
        ListFilter {
            owner_id: Some(admin.id),
            after: queries::Cursor::parse("3~dex 2 ix", queries::Sort::Name),
            ..ListFilter::default()
        },
        ListFilter {
            sort: queries::Sort::Created,
            ..ListFilter::default()
        },
        ListFilter {
            sort: queries::Sort::Activity,
            ..ListFilter::default()
        },
    ]
    .map(|filter| queries::explain_list(conn, &filter).expect("a plan"));
    for plan in &plans {
        assert!(
            plan.iter()
                .all(|step| step.trim() != "SCAN contacts" && !step.contains("TEMP B-TREE")),
            "{plan:?}"
        );
        assert!(
            plan.iter()
                .any(|step| step.contains("USING INDEX contacts_by_")),
            "{plan:?}"
        );
    }
    assert_eq!(
        plans[1],
        vec!["SEARCH contacts USING INDEX contacts_by_owner (owner_id=? AND archived_at=?)"]
    );
    assert_eq!(
        plans[2],
        vec![
            "SEARCH contacts USING INDEX contacts_by_owner \
             (owner_id=? AND archived_at=? AND sort_name>?)"
        ],
        "a later page seeks to the cursor"
    );
    assert_eq!(
        queries::explain_primary_emails(conn, &[1, 2, 3]).expect("a plan")[0],
        "SEARCH contact_emails USING COVERING INDEX contact_emails_primary (contact_id=?)",
        "a row's primary email is read from the index alone"
    );
}

#[tokio::test]
async fn a_tag_list_follows_each_contacts_owner_name_and_archiving() {
    let app = spawn_app().await;
    let admin = app.admin();
    let sales = app.create_user("sales@example.com", Role::Sales);
    let tagged = |first: &str, last: &str, owner: i64| {
        let mut input = person(first, last);
        input.tags = vec!["vip".to_owned()];
        input.owner_id = Some(owner);
        input
    };
    let ann = seed(&app, &admin, &tagged("Ann", "Baker", sales.id));
    let bob = seed(&app, &admin, &tagged("Bob", "Carter", admin.id));
    let mut untagged = person("Cid", "Able");
    untagged.owner_id = Some(sales.id);
    seed(&app, &admin, &untagged);
    let sales_vips = format!("/contacts?tag=vip&owner={}", sales.id);
    app.login_as(&admin).await;
    assert_eq!(listed(&app.get_html(&sales_vips).await), vec![ann]);
    assert_eq!(
        listed(&app.get_html("/contacts?tag=vip").await),
        vec![ann, bob]
    );

    let bob_id = bob.to_string();
    let sales_id = sales.id.to_string();
    let fields = [
        ("ids", bob_id.as_str()),
        ("action", "assign_owner"),
        ("owner", sales_id.as_str()),
    ];
    let response = app.post_form("/contacts/bulk", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(listed(&app.get_html(&sales_vips).await), vec![ann, bob]);

    let version = version_in(&app.get_html(&format!("/contacts/{ann}/edit")).await);
    let renamed = with(
        with(
            with(form("Ann", "Zimmer", ""), "owner_id", &sales_id),
            "tags",
            "vip",
        ),
        "version",
        &version,
    );
    let response = app.post_form(&format!("/contacts/{ann}"), &renamed).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        listed(&app.get_html(&sales_vips).await),
        vec![bob, ann],
        "the tag list sorts by the new name"
    );

    let response = app
        .post_form(&format!("/contacts/{bob}/archive"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(listed(&app.get_html(&sales_vips).await), vec![ann]);
    assert_eq!(
        listed(&app.get_html(&format!("{sales_vips}&archived=1")).await),
        vec![bob]
    );
    let response = app
        .post_form(&format!("/contacts/{bob}/restore"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(listed(&app.get_html(&sales_vips).await), vec![bob, ann]);

    let conn = &mut app.conn();
    let plans = [
        ListFilter {
            tag: Some("vip".to_owned()),
            ..ListFilter::default()
        },
        ListFilter {
            tag: Some("vip".to_owned()),
            owner_id: Some(sales.id),
            after: queries::Cursor::parse(&format!("{bob}~carter bob"), queries::Sort::Name),
            ..ListFilter::default()
        },
    ]
    .map(|filter| queries::explain_list(conn, &filter).expect("a plan"));
    assert_eq!(
        plans[0],
        vec![
            "SEARCH contact_tags USING COVERING INDEX contact_tags_by_name \
             (tag_id=? AND archived_at=?)",
            "SEARCH contacts USING INTEGER PRIMARY KEY (rowid=?)"
        ]
    );
    assert_eq!(
        plans[1],
        vec![
            "SEARCH contact_tags USING COVERING INDEX contact_tags_by_owner \
             (tag_id=? AND owner_id=? AND archived_at=? AND (sort_name,contact_id)>(?,?))",
            "SEARCH contacts USING INTEGER PRIMARY KEY (rowid=?)"
        ],
        "a later page seeks to the cursor"
    );
}

#[tokio::test]
async fn an_empty_list_says_so_and_only_roles_that_can_create_see_new_contact() {
    let app = spawn_app().await;
    let admin = app.admin();
    let support = app.create_user("support@example.com", Role::Support);
    app.login_as(&admin).await;
    let page = app.get_html("/contacts").await;
    assert!(page.contains("No contacts yet"));
    assert!(page.contains("href=\"/contacts/new\""));

    let browser = app.open_browser();
    browser.login_as(&support).await;
    let page = browser.get_html("/contacts").await;
    assert!(page.contains("No contacts yet"));
    assert!(!page.contains("/contacts/new"));
}

// ---------------------------------------------------------------------------------------
// Create and edit

#[tokio::test]
async fn a_contact_with_several_emails_and_phones_keeps_the_first_of_each_as_primary() {
    let app = spawn_app().await;
    let sales = app.create_user("sales@example.com", Role::Sales);
    let acme = seed_company(&app, "Acme");
    app.login_as(&sales).await;
    let new_form = app.get_html("/contacts/new").await;
    assert!(new_form.contains(&format!("<option value=\"{}\" selected>", sales.id)));

    let company = acme.to_string();
    let owner = sales.id.to_string();
    let fields = form(
        "Ada",
        "Lovelace",
        "Ada@Example.com\n\nada.l@analytical.org\n",
    );
    let fields = with(fields, "phones", "+44 20 7946 0958\n020 7946 0000");
    let fields = with(fields, "company_id", &company);
    let fields = with(fields, "owner_id", &owner);
    let fields = with(fields, "tags", "VIP, partner");
    let fields = with(fields, "lifecycle_stage", "customer");
    let fields = with(fields, "job_title", "Analyst");
    let response = app.post_form("/contacts", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = contact_id_from(&response);

    let emails: Vec<(String, bool)> = contact_emails::table
        .filter(contact_emails::contact_id.eq(id))
        .order(contact_emails::id.asc())
        .select((contact_emails::email, contact_emails::is_primary))
        .load(&mut app.conn())
        .expect("emails");
    assert_eq!(
        emails,
        vec![
            ("ada@example.com".to_owned(), true),
            ("ada.l@analytical.org".to_owned(), false)
        ]
    );
    let phones: Vec<(String, bool)> = contact_phones::table
        .filter(contact_phones::contact_id.eq(id))
        .order(contact_phones::id.asc())
        .select((contact_phones::phone, contact_phones::is_primary))
        .load(&mut app.conn())
        .expect("phones");
    assert_eq!(
        phones,
        vec![
            ("+44 20 7946 0958".to_owned(), true),
            ("020 7946 0000".to_owned(), false)
        ]
    );
    assert_eq!(tag_names(&app, id), vec!["partner", "vip"]);

    let page = app.get_html(&format!("/contacts/{id}")).await;
    assert!(page.contains("<a href=\"mailto:ada@example.com\">ada@example.com</a> <span class=\"badge\">Primary</span>"));
    assert!(page.contains("<a href=\"tel:+442079460958\">+44 20 7946 0958</a>"));
    assert!(page.contains(&format!("<a href=\"/companies/{acme}\">Acme</a>")));
    assert!(page.contains("Customer"));
    assert!(page.contains("Created this contact."));

    let list = app.get_html("/contacts").await;
    assert!(list.contains("ada@example.com") && !list.contains("ada.l@analytical.org"));

    // Audit, timeline (also on the company) and search in step.
    let audit = audit_rows(&app, &format!("contact {id}"));
    assert_eq!(audit[0].0, "record_created");
    assert!(
        audit[0]
            .1
            .as_deref()
            .unwrap_or("")
            .contains("Emails: ada@example.com, ada.l@analytical.org")
    );
    let entries: Vec<(String, Option<i64>)> = timeline_entries::table
        .filter(timeline_entries::contact_id.eq(id))
        .select((timeline_entries::kind, timeline_entries::company_id))
        .load(&mut app.conn())
        .expect("entries");
    assert_eq!(entries, vec![("change".to_owned(), Some(acme))]);
    assert_eq!(search_ids(&app, "analytical").await, vec![id]);
}

#[tokio::test]
async fn an_invalid_contact_is_refused_with_each_message_next_to_its_field_and_nothing_saved() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let long = "x".repeat(101);
    let fields = form("", "", "ada@example.com\nnot-an-email");
    let fields = with(fields, "phones", "call me maybe");
    let fields = with(fields, "lifecycle_stage", "prospect");
    let fields = with(fields, "company_id", "999");
    let response = app.post_form("/contacts", &fields).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("a body");
    assert!(page.contains("Enter a first or a last name."));
    assert!(page.contains("is not a valid email address"));
    assert!(page.contains("is not a valid phone number"));
    assert!(page.contains("Choose a lifecycle stage from the list."));
    assert!(
        page.contains("ada@example.com\nnot-an-email"),
        "what was typed is kept"
    );

    let response = app
        .post_form("/contacts", &with(form("Ada", "", ""), "first_name", &long))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("a body")
            .contains("First name must be at most 100 characters.")
    );

    let response = app
        .post_form("/contacts", &with(form("Ada", "", ""), "phones", "12"))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A company that does not exist is refused by the service, also with 422.
    let response = app
        .post_form("/contacts", &with(form("Ada", "", ""), "company_id", "999"))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("a body")
            .contains("Choose a company from the list.")
    );
    assert_eq!(contact_count(&app), 0);

    // The same rules on edit: nothing changes.
    let id = seed(&app, &admin, &person("Grace", "Hopper"));
    let page = app.get_html(&format!("/contacts/{id}/edit")).await;
    let version = version_in(&page);
    let fields = with(form("Grace", "Hopper", "bad@"), "version", &version);
    let response = app.post_form(&format!("/contacts/{id}"), &fields).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let emails: i64 = contact_emails::table
        .filter(contact_emails::contact_id.eq(id))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(emails, 0);
    assert_eq!(audit_rows(&app, &format!("contact {id}")).len(), 1);
}

#[tokio::test]
async fn a_duplicate_email_warns_with_a_link_and_saves_only_when_the_user_confirms() {
    let app = spawn_app().await;
    let admin = app.admin();
    let mut ada = person("Ada", "Lovelace");
    ada.emails = vec!["ada@example.com".to_owned()];
    let existing = seed(&app, &admin, &ada);
    app.login_as(&admin).await;

    let fields = form("Ada", "King", "ADA@example.com");
    let response = app.post_form("/contacts", &fields).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("a body");
    assert!(page.contains("A contact with this email address already exists"));
    assert!(page.contains(&format!(
        "<a href=\"/contacts/{existing}\">Ada Lovelace</a>"
    )));
    assert!(page.contains("name=\"confirm_duplicate\" value=\"1\""));
    assert_eq!(contact_count(&app), 1);

    let response = app
        .post_form("/contacts", &with(fields, "confirm_duplicate", "1"))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_ne!(contact_id_from(&response), existing);
    assert_eq!(contact_count(&app), 2);
}

#[tokio::test]
async fn the_second_of_two_people_saving_the_same_version_gets_a_conflict_and_the_first_save_stays()
{
    let app = spawn_app().await;
    let admin = app.admin();
    let sales = app.create_user("sales@example.com", Role::Sales);
    let mut input = person("Alan", "Turing");
    input.owner_id = Some(sales.id);
    let id = seed(&app, &admin, &input);
    let owner = sales.id.to_string();
    app.login_as(&admin).await;
    let other = app.open_browser();
    other.login_as(&sales).await;

    let first_version = version_in(&app.get_html(&format!("/contacts/{id}/edit")).await);
    let second_version = version_in(&other.get_html(&format!("/contacts/{id}/edit")).await);
    assert_eq!(first_version, second_version);

    let mine = with(form("Alan", "Turing", ""), "owner_id", &owner);
    let first = with(
        with(mine.clone(), "job_title", "Cryptanalyst"),
        "version",
        &first_version,
    );
    let response = app.post_form(&format!("/contacts/{id}"), &first).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/contacts/{id}"));

    let second = with(
        with(mine, "job_title", "Mathematician"),
        "version",
        &second_version,
    );
    let response = other.post_form(&format!("/contacts/{id}"), &second).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let page = response.text().await.expect("a body");
    assert!(page.contains("Someone else saved this contact while you were editing it."));
    assert!(page.contains("<td>Job title</td><td class=\"theirs\">Cryptanalyst</td><td class=\"yours\">Mathematician</td>"));
    assert_eq!(version_in(&page), "2");

    let job_title: Option<String> = contacts::table
        .find(id)
        .select(contacts::job_title)
        .first(&mut app.conn())
        .expect("the contact");
    assert_eq!(job_title.as_deref(), Some("Cryptanalyst"));

    // Saving again from the conflict page (now at the current version) keeps theirs.
    let again = with(
        with(form("Alan", "Turing", ""), "job_title", "Mathematician"),
        "version",
        "2",
    );
    let again = with(again, "owner_id", &owner);
    let response = other.post_form(&format!("/contacts/{id}"), &again).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let audit = audit_rows(&app, &format!("contact {id}"));
    let details: Vec<&str> = audit.iter().filter_map(|(_, d)| d.as_deref()).collect();
    assert!(
        details.contains(&"Job title: (empty) → Cryptanalyst"),
        "{details:?}"
    );
    assert!(
        details.contains(&"Job title: Cryptanalyst → Mathematician"),
        "{details:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Archive, restore, delete

#[tokio::test]
async fn archiving_hides_a_contact_from_the_list_and_restoring_brings_it_back() {
    let app = spawn_app().await;
    let admin = app.admin();
    let id = seed(&app, &admin, &person("Ed", "Archive"));
    app.login_as(&admin).await;

    let response = app.post_form(&format!("/contacts/{id}/archive"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(listed(&app.get_html("/contacts").await).is_empty());
    let page = app.get_html(&format!("/contacts/{id}")).await;
    assert!(page.contains("Archived"));
    assert!(page.contains(&format!("action=\"/contacts/{id}/restore\"")));

    let response = app.post_form(&format!("/contacts/{id}/restore"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(listed(&app.get_html("/contacts").await), vec![id]);
    let actions: Vec<String> = audit_rows(&app, &format!("contact {id}"))
        .into_iter()
        .map(|(action, _)| action)
        .collect();
    assert_eq!(
        actions,
        vec!["record_created", "record_archived", "record_restored"]
    );
    let page = app.get_html(&format!("/contacts/{id}")).await;
    assert!(page.contains("Archived this contact.") && page.contains("Restored this contact."));
}

#[tokio::test]
async fn only_admins_delete_and_the_search_index_forgets_deleted_contacts() {
    let app = spawn_app().await;
    let admin = app.admin();
    let sales = app.create_user("sales@example.com", Role::Sales);
    let mut input = person("Del", "Eted");
    input.owner_id = Some(sales.id);
    input.emails = vec!["del@example.com".to_owned()];
    let id = seed(&app, &admin, &input);

    app.login_as(&sales).await;
    let page = app.get_html(&format!("/contacts/{id}")).await;
    assert!(!page.contains("/delete"));
    let response = app.post_form(&format!("/contacts/{id}/delete"), &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(contact_count(&app), 1);
    app.logout().await;

    app.login_as(&admin).await;
    assert_eq!(search_ids(&app, "del@example").await, vec![id]);
    let response = app.post_form(&format!("/contacts/{id}/delete"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/contacts");
    assert_eq!(contact_count(&app), 0);
    let indexed: i64 =
        diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT count(*) FROM contacts_fts")
            .get_result(&mut app.conn())
            .expect("count");
    assert_eq!(indexed, 0);
    assert!(search_ids(&app, "del").await.is_empty());
    let audit = audit_rows(&app, &format!("contact {id}"));
    assert_eq!(
        audit.last().map(|(action, _)| action.as_str()),
        Some("record_deleted")
    );
    let response = app.get(&format!("/contacts/{id}")).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------------
// Permissions

#[tokio::test]
async fn support_agents_see_contacts_but_cannot_create_edit_archive_or_delete_them() {
    let app = spawn_app().await;
    let admin = app.admin();
    let support = app.create_user("support@example.com", Role::Support);
    let id = seed(&app, &admin, &person("Sue", "Port"));
    app.login_as(&support).await;

    let page = app.get_html(&format!("/contacts/{id}")).await;
    assert!(page.contains("Sue Port"));
    assert!(
        !page.contains("/edit\"") && !page.contains("/archive\"") && !page.contains("/delete\"")
    );
    assert_eq!(listed(&app.get_html("/contacts").await), vec![id]);

    let version = "1";
    let fields = with(form("Sue", "Changed", ""), "version", version);
    for (method, path) in [
        ("GET", "/contacts/new".to_owned()),
        ("GET", format!("/contacts/{id}/edit")),
        ("POST", "/contacts".to_owned()),
        ("POST", format!("/contacts/{id}")),
        ("POST", format!("/contacts/{id}/archive")),
        ("POST", format!("/contacts/{id}/delete")),
        ("POST", "/contacts/bulk".to_owned()),
    ] {
        let response = if method == "GET" {
            app.get(&path).await
        } else {
            let mut fields = fields.clone();
            let id = id.to_string();
            fields.push(("ids", &id));
            fields.push(("action", "archive"));
            app.post_form(&path, &fields).await
        };
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
    assert_eq!(contact_count(&app), 1);
    let (last_name, archived): (String, Option<NaiveDateTime>) = contacts::table
        .find(id)
        .select((contacts::last_name, contacts::archived_at))
        .first(&mut app.conn())
        .expect("the contact");
    assert_eq!((last_name.as_str(), archived), ("Port", None));
    let denials: i64 = audit_log::table
        .filter(audit_log::action.eq("authorization_denied"))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(denials, 7);
}

#[tokio::test]
async fn sales_reps_edit_and_archive_their_own_contacts_only_and_admins_edit_all() {
    let app = spawn_app().await;
    let admin = app.admin();
    let rep = app.create_user("rep@example.com", Role::Sales);
    let colleague = app.create_user("colleague@example.com", Role::Sales);
    let mut own = person("Own", "Contact");
    own.owner_id = Some(rep.id);
    let own = seed(&app, &admin, &own);
    let mut theirs = person("Their", "Contact");
    theirs.owner_id = Some(colleague.id);
    let theirs = seed(&app, &admin, &theirs);
    let rep_id = rep.id.to_string();
    let colleague_id = colleague.id.to_string();

    app.login_as(&rep).await;
    assert_eq!(app.get("/contacts/new").await.status(), StatusCode::OK);
    let page = app.get_html(&format!("/contacts/{own}")).await;
    assert!(page.contains(&format!("href=\"/contacts/{own}/edit\"")));
    assert!(!page.contains("/delete\""));
    assert_eq!(
        app.get(&format!("/contacts/{own}/edit")).await.status(),
        StatusCode::OK
    );
    let fields = with(
        with(form("Own", "Renamed", ""), "owner_id", &rep_id),
        "version",
        "1",
    );
    let response = app.post_form(&format!("/contacts/{own}"), &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = app
        .post_form(&format!("/contacts/{own}/archive"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let page = app.get_html(&format!("/contacts/{theirs}")).await;
    assert!(!page.contains("/edit\"") && !page.contains("/archive\""));
    assert_eq!(
        app.get(&format!("/contacts/{theirs}/edit")).await.status(),
        StatusCode::FORBIDDEN
    );
    let fields = with(
        with(form("Their", "Hijacked", ""), "owner_id", &rep_id),
        "version",
        "1",
    );
    let response = app.post_form(&format!("/contacts/{theirs}"), &fields).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = app
        .post_form(&format!("/contacts/{theirs}/archive"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(owner_of(&app, theirs), Some(colleague.id));
    app.logout().await;

    app.login_as(&admin).await;
    let fields = with(
        with(form("Their", "Fixed", ""), "owner_id", &colleague_id),
        "version",
        "1",
    );
    let response = app.post_form(&format!("/contacts/{theirs}"), &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let last_names: Vec<String> = contacts::table
        .order(contacts::id.asc())
        .select(contacts::last_name)
        .load(&mut app.conn())
        .expect("names");
    assert_eq!(last_names, vec!["Renamed", "Fixed"]);
}

#[tokio::test]
async fn missing_contacts_are_not_found_on_every_route() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    for path in ["/contacts/4242", "/contacts/4242/edit", "/contacts/nope"] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let fields = with(form("No", "Body", ""), "version", "1");
    for path in [
        "/contacts/4242",
        "/contacts/4242/archive",
        "/contacts/4242/restore",
        "/contacts/4242/delete",
    ] {
        let response = app.post_form(path, &fields).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

// ---------------------------------------------------------------------------------------
// Search

#[tokio::test]
async fn the_list_search_folds_case_and_accents_matches_prefixes_emails_and_phone_digits() {
    let app = spawn_app().await;
    let admin = app.admin();
    let mut zoe = person("Zoë", "Ångström");
    zoe.emails = vec!["z.angstrom@example.org".to_owned()];
    zoe.phones = vec!["+44 (20) 7946-0958".to_owned()];
    let zoe = seed(&app, &admin, &zoe);
    let other = seed(&app, &admin, &person("Zack", "Other"));
    app.login_as(&admin).await;

    for typed in [
        "zoe",
        "ZOË",
        "zo",
        "angstrom",
        "ångs",
        "z.angstrom@example",
        "2079460958",
        "+44 20 7946",
    ] {
        assert_eq!(search_ids(&app, typed).await, vec![zoe], "{typed}");
    }
    assert_eq!(search_ids(&app, "z").await.len(), 2);
    assert!(search_ids(&app, "nobody").await.is_empty());

    // After a rename through the form, the index follows.
    let page = app.get_html(&format!("/contacts/{zoe}/edit")).await;
    let version = version_in(&page);
    let fields = with(
        with(
            form("Zelda", "Ångström", "zelda@example.org"),
            "phones",
            "555 0100",
        ),
        "version",
        &version,
    );
    let response = app.post_form(&format!("/contacts/{zoe}"), &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(search_ids(&app, "zoe").await.is_empty());
    assert!(search_ids(&app, "2079460958").await.is_empty());
    assert_eq!(search_ids(&app, "zelda").await, vec![zoe]);
    assert_eq!(search_ids(&app, "5550100").await, vec![zoe]);
    assert_eq!(search_ids(&app, "zack").await, vec![other]);
}

// ---------------------------------------------------------------------------------------
// Bulk actions

#[tokio::test]
async fn bulk_actions_change_the_rows_the_user_may_edit_and_count_the_skipped_ones() {
    let app = spawn_app().await;
    let admin = app.admin();
    let rep = app.create_user("rep@example.com", Role::Sales);
    let colleague = app.create_user("colleague@example.com", Role::Sales);
    let ids: Vec<i64> = [rep.id, rep.id, colleague.id]
        .iter()
        .enumerate()
        .map(|(i, owner)| {
            let mut input = person("Bulk", &format!("Row {i}"));
            input.owner_id = Some(*owner);
            seed(&app, &admin, &input)
        })
        .collect();
    let id_values: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let selected = |action: &'static str| -> Vec<(&str, &str)> {
        let mut fields: Vec<(&str, &str)> =
            id_values.iter().map(|id| ("ids", id.as_str())).collect();
        fields.push(("action", action));
        fields
    };

    app.login_as(&rep).await;
    let mut fields = selected("add_tag");
    fields.push(("tag", "VIP"));
    let response = app.post_form("/contacts/bulk", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.get_html("/contacts").await;
    assert!(
        page.contains("Updated 2 contacts. Skipped 1 you may not edit."),
        "flash"
    );
    assert_eq!(tag_names(&app, ids[0]), vec!["vip"]);
    assert_eq!(tag_names(&app, ids[1]), vec!["vip"]);
    assert!(tag_names(&app, ids[2]).is_empty());
    let audit = audit_rows(&app, &format!("contact {}", ids[0]));
    assert_eq!(
        audit.last(),
        Some(&(
            "record_updated".to_owned(),
            Some("Tags: (empty) → vip".to_owned())
        ))
    );
    assert_eq!(audit_rows(&app, &format!("contact {}", ids[2])).len(), 1);
    app.logout().await;

    app.login_as(&admin).await;
    let colleague_id = colleague.id.to_string();
    let mut fields = selected("assign_owner");
    fields.push(("owner", &colleague_id));
    let response = app.post_form("/contacts/bulk", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        app.get_html("/contacts")
            .await
            .contains("Updated 3 contacts.")
    );
    for id in &ids {
        assert_eq!(owner_of(&app, *id), Some(colleague.id));
    }

    let mut fields = selected("remove_tag");
    fields.push(("tag", "vip"));
    app.post_form("/contacts/bulk", &fields).await;
    assert!(ids.iter().all(|id| tag_names(&app, *id).is_empty()));

    let response = app.post_form("/contacts/bulk", &selected("archive")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(listed(&app.get_html("/contacts").await).is_empty());
    assert_eq!(listed(&app.get_html("/contacts?archived=1").await).len(), 3);
    let archived = audit_log::table
        .filter(audit_log::action.eq("record_archived"))
        .count()
        .get_result::<i64>(&mut app.conn())
        .expect("count");
    assert_eq!(archived, 3);

    let response = app
        .post_form("/contacts/bulk", &[("action", "archive")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

// ---------------------------------------------------------------------------------------
// The contact page

#[tokio::test]
async fn the_contact_page_shows_changes_on_the_timeline_and_in_the_history() {
    let app = spawn_app().await;
    let admin = app.admin();
    let acme = seed_company(&app, "Acme");
    let mut input = person("Tim", "Line");
    input.company_id = Some(acme);
    let id = seed(&app, &admin, &input);
    app.login_as(&admin).await;

    let company = acme.to_string();
    let fields = with(
        with(
            with(form("Tim", "Line", ""), "job_title", "CTO"),
            "company_id",
            &company,
        ),
        "version",
        "1",
    );
    app.clock.advance(Duration::minutes(5));
    let response = app.post_form(&format!("/contacts/{id}"), &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let page = app.get_html(&format!("/contacts/{id}")).await;
    let timeline = &page[page.find("id=\"timeline\"").expect("a timeline")..];
    let changed = timeline
        .find("Changed Job title: (empty) → CTO")
        .expect("the change");
    let created = timeline
        .find("Created this contact.")
        .expect("the creation");
    assert!(changed < created, "newest first");
    let history = &page[page.find("id=\"history\"").expect("a history")..];
    assert!(history.contains("record updated"));
    assert!(history.contains("Job title: (empty) → CTO"));
    assert!(history.contains("admin@example.com"));

    let on_company: i64 = timeline_entries::table
        .filter(timeline_entries::company_id.eq(acme))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(on_company, 2);
}

#[tokio::test]
async fn editing_a_contact_keeps_its_link_to_an_archived_company() {
    let app = spawn_app().await;
    let admin = app.admin();
    let old = seed_company(&app, "Old Industries");
    let mut input = person("Kept", "Link");
    input.company_id = Some(old);
    let id = seed(&app, &admin, &input);
    diesel::update(companies::table.find(old))
        .set(companies::archived_at.eq(Some(app.clock.now())))
        .execute(&mut app.conn())
        .expect("archived");
    app.login_as(&admin).await;

    let page = app.get_html(&format!("/contacts/{id}/edit")).await;
    assert!(page.contains(&format!(
        "<option value=\"{old}\" selected>Old Industries</option>"
    )));
    let new_page = app.get_html("/contacts/new").await;
    assert!(!new_page.contains("Old Industries"));

    let company = old.to_string();
    let fields = with(
        with(
            with(form("Kept", "Link", ""), "company_id", &company),
            "job_title",
            "Owner",
        ),
        "version",
        "1",
    );
    let response = app.post_form(&format!("/contacts/{id}"), &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let company_id: Option<i64> = contacts::table
        .find(id)
        .select(contacts::company_id)
        .first(&mut app.conn())
        .expect("the contact");
    assert_eq!(company_id, Some(old));
}

#[tokio::test]
async fn the_contact_timeline_pages_back_through_older_entries() {
    let app = spawn_app().await;
    let admin = app.admin();
    let id = seed_at(&app, &admin, &person("Page", "Turner"), day(2026, 1, 1));
    {
        let conn = &mut app.conn();
        for i in 0..55 {
            let body = format!("Note number {i:02}");
            timeline::add(
                conn,
                &NewEntry {
                    deal_id: None,
                    lead_id: None,
                    contact_id: Some(id),
                    company_id: None,
                    kind: Kind::Note,
                    author_id: Some(admin.id),
                    occurred_at: day(2026, 1, 2) + Duration::minutes(i),
                    recorded_at: day(2026, 1, 2) + Duration::minutes(i),
                    body: &body,
                    outcome: None,
                    duration_minutes: None,
                },
            )
            .expect("note added");
        }
    }
    app.login_as(&admin).await;
    let page = app.get_html(&format!("/contacts/{id}")).await;
    assert!(page.contains("Note number 54") && page.contains("Note number 05"));
    assert!(!page.contains("Note number 04"));
    let marker = format!("href=\"/contacts/{id}?before=");
    let start = page.find(&marker).expect("a link to older entries") + "href=\"".len();
    let end = page[start..].find('"').expect("the link ends") + start;
    let older = app.get_html(&unescape(&page[start..end])).await;
    assert!(older.contains("Note number 04") && older.contains("Created this contact."));
    assert!(!older.contains("Note number 05"));
}
