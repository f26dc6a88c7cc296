//! CSV export of the contact and company lists (filters, every row across batches, formula
//! escaping, the download headers, the audit row) and merging duplicate contacts and
//! companies (chosen values win, everything moves to the survivor, search and audit follow,
//! permissions, self-merge, stale versions).

#[path = "../common/mod.rs"]
mod common;
use common::*;

use diesel::prelude::*;
use rapport::audit::Actor;
use rapport::auth::model::{Role, User};
use rapport::clock::Clock;
use rapport::contacts::contact::model::{ContactInput, Stage};
use rapport::contacts::contact::service::{self, Created};
use rapport::contacts::export::{BATCH_SIZE, COMPANY_COLUMNS, CONTACT_COLUMNS};
use rapport::contacts::tags;
use rapport::contacts::timeline::{self, Kind, NewEntry};
use rapport::db::schema::{
    audit_log, companies, contact_emails, contacts, tags as tag_table, timeline_entries,
};
use reqwest::StatusCode;

// ---------------------------------------------------------------------------------------
// Helpers

fn user_record(app: &TestApp, user: &TestUser) -> User {
    rapport::auth::queries::find(&mut app.conn(), user.id)
        .expect("query")
        .expect("the user exists")
}

fn person(first: &str, last: &str, owner: &TestUser) -> ContactInput {
    ContactInput {
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        emails: Vec::new(),
        phones: Vec::new(),
        job_title: None,
        company_id: None,
        owner_id: Some(owner.id),
        tags: Vec::new(),
        stage: Stage::Lead,
        address: None,
        description: None,
    }
}

/// Creates a contact through the service layer (audit, timeline and search included).
fn seed(app: &TestApp, by: &TestUser, input: &ContactInput) -> i64 {
    let user = user_record(app, by);
    let actor = Actor::user(&user, "127.0.0.1");
    match service::create(&mut app.conn(), app.clock.now(), &actor, &user, input, true)
        .expect("created")
    {
        Created::Saved(id) => id,
        Created::Duplicates(_) => panic!("confirmed duplicates are saved"),
    }
}

/// Inserts `count` bare contacts owned by `owner`, straight into the table (fast).
fn insert_many(app: &TestApp, count: usize, owner: &TestUser, last_name: &str) {
    let now = app.clock.now();
    let rows: Vec<_> = (0..count)
        .map(|n| {
            let first = format!("Person{n:05}");
            (
                contacts::first_name.eq(first.clone()),
                contacts::last_name.eq(last_name.to_owned()),
                contacts::sort_name.eq(format!("{} {}", last_name, first).to_lowercase()),
                contacts::owner_id.eq(Some(owner.id)),
                contacts::created_at.eq(now),
                contacts::updated_at.eq(now),
            )
        })
        .collect();
    let conn = &mut app.conn();
    for chunk in rows.chunks(500) {
        diesel::insert_into(contacts::table)
            .values(chunk)
            .execute(conn)
            .expect("contacts inserted");
    }
}

fn seed_company(app: &TestApp, name: &str, domain: Option<&str>, owner: &TestUser) -> i64 {
    let now = app.clock.now();
    let conn = &mut app.conn();
    let id = diesel::insert_into(companies::table)
        .values((
            companies::name.eq(name),
            companies::sort_name.eq(name.to_lowercase()),
            companies::domain.eq(domain),
            companies::owner_id.eq(Some(owner.id)),
            companies::created_at.eq(now),
            companies::updated_at.eq(now),
        ))
        .returning(companies::id)
        .get_result(conn)
        .expect("company inserted");
    rapport::search::index_company(conn, id).expect("indexed");
    id
}

fn note(app: &TestApp, contact_id: Option<i64>, company_id: Option<i64>, body: &str) -> i64 {
    timeline::add(
        &mut app.conn(),
        &NewEntry {
            deal_id: None,
            lead_id: None,
            contact_id,
            company_id,
            kind: Kind::Note,
            author_id: None,
            occurred_at: app.clock.now(),
            recorded_at: app.clock.now(),
            body,
            outcome: None,
            duration_minutes: None,
        },
    )
    .expect("note added")
}

async fn signed_in(app: &TestApp, email: &str, role: Role) -> (Browser, TestUser) {
    let user = app.create_user(email, role);
    let browser = app.open_browser();
    browser.login_as(&user).await;
    (browser, user)
}

/// GETs a CSV export and parses it: (response headers, header row, data rows).
async fn export(
    browser: &Browser,
    path: &str,
) -> (reqwest::header::HeaderMap, Vec<String>, Vec<Vec<String>>) {
    let response = browser.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    let headers = response.headers().clone();
    let body = response.text().await.expect("a body");
    let mut reader = csv::ReaderBuilder::new().from_reader(body.as_bytes());
    let header = reader
        .headers()
        .expect("a header row")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|record| {
            record
                .expect("a well-formed row")
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    (headers, header, rows)
}

fn header_value(headers: &reqwest::header::HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn audit_details(app: &TestApp, action: &str, target: &str) -> Vec<String> {
    audit_log::table
        .filter(audit_log::action.eq(action))
        .filter(audit_log::target.eq(target))
        .select(audit_log::details)
        .load::<Option<String>>(&mut app.conn())
        .expect("audit rows")
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect()
}

fn contact_exists(app: &TestApp, id: i64) -> bool {
    contacts::table
        .find(id)
        .count()
        .get_result::<i64>(&mut app.conn())
        .expect("count")
        == 1
}

fn value_of(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).expect("the field is on the page") + marker.len();
    let end = body[start..].find('"').expect("the value ends") + start;
    body[start..end].to_owned()
}

fn today(app: &TestApp) -> String {
    app.clock.now().date().format("%Y-%m-%d").to_string()
}

fn version_of(app: &TestApp, id: i64) -> i32 {
    contacts::table
        .find(id)
        .select(contacts::version)
        .first(&mut app.conn())
        .expect("the contact exists")
}

// ---------------------------------------------------------------------------------------
// Export

#[tokio::test]
async fn the_contact_export_streams_every_filtered_row_across_batches_with_a_header() {
    let app = spawn_app().await;
    let (browser, sales) = signed_in(&app, "sales@example.com", Role::Sales).await;
    let other = app.create_user("other@example.com", Role::Sales);
    let count = BATCH_SIZE as usize * 2 + 37;
    insert_many(&app, count, &sales, "Mine");
    insert_many(&app, 25, &other, "Theirs");

    let (headers, header, rows) = export(
        &browser,
        &format!("/contacts/export.csv?owner={}", sales.id),
    )
    .await;

    assert_eq!(header, CONTACT_COLUMNS);
    assert_eq!(rows.len(), count, "every row of the filter, not one page");
    let mut ids: Vec<&str> = rows.iter().map(|row| row[0].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "no row twice across batch boundaries");
    assert!(rows.iter().all(|row| row[2] == "Mine"));
    assert!(rows.iter().all(|row| row[7] == "sales@example.com"));
    assert!(
        rows.windows(2).all(|pair| pair[0][1] < pair[1][1]),
        "in the list's order (by name)"
    );
    assert!(header_value(&headers, "content-type").starts_with("text/csv"));
    assert_eq!(
        header_value(&headers, "content-disposition"),
        format!("attachment; filename=\"contacts-{}.csv\"", today(&app))
    );
    let audited = audit_details(&app, "records_exported", "contacts");
    assert_eq!(audited.len(), 1);
    assert!(
        audited[0].contains(&format!("owner={}", sales.id)),
        "{audited:?}"
    );

    let (_, _, everything) = export(&browser, "/contacts/export.csv").await;
    assert_eq!(everything.len(), count + 25);
}

#[tokio::test]
async fn the_list_page_links_to_an_export_of_its_current_filters() {
    let app = spawn_app().await;
    let (browser, _sales) = signed_in(&app, "sales@example.com", Role::Sales).await;
    let page = browser.get_html("/contacts?tag=vip&stage=customer").await;
    let page = page.replace("&#38;", "&").replace("&amp;", "&");
    assert!(
        page.contains("href=\"/contacts/export.csv?tag=vip&stage=customer\""),
        "the export link carries the filters"
    );
    let page = browser.get_html("/companies?tag=vip").await;
    assert!(page.contains("href=\"/companies/export.csv?tag=vip\""));
}

#[tokio::test]
async fn exported_cells_are_escaped_against_formulas_and_related_data_is_filled_in() {
    let app = spawn_app().await;
    let (browser, sales) = signed_in(&app, "sales@example.com", Role::Sales).await;
    let company = seed_company(&app, "Analytical Engines", Some("engines.example"), &sales);
    let evil = seed(
        &app,
        &sales,
        &ContactInput {
            job_title: Some("@SUM(A1:A9)".to_owned()),
            emails: vec!["ada@example.com".to_owned(), "ada@home.example".to_owned()],
            phones: vec!["+44 20 7946 0000".to_owned()],
            company_id: Some(company),
            tags: vec!["partner".to_owned(), "vip".to_owned()],
            stage: Stage::Customer,
            ..person("=cmd|' /C calc'!A0", "-Lovelace", &sales)
        },
    );
    seed(&app, &sales, &person("Charles", "Babbage", &sales));

    let (_, _, rows) = export(&browser, "/contacts/export.csv?tag=vip").await;

    assert_eq!(rows.len(), 1, "the tag filter applies: {rows:?}");
    let row = &rows[0];
    assert_eq!(row[0], evil.to_string());
    assert_eq!(row[1], "'=cmd|' /C calc'!A0");
    assert_eq!(row[2], "'-Lovelace");
    assert_eq!(row[3], "ada@example.com;ada@home.example", "primary first");
    assert_eq!(row[4], "'+44 20 7946 0000");
    assert_eq!(row[5], "'@SUM(A1:A9)");
    assert_eq!(row[6], "Analytical Engines");
    assert_eq!(row[7], "sales@example.com");
    assert_eq!(row[8], "Customer");
    assert_eq!(row[9], "partner;vip");
    assert_eq!(
        row[10],
        app.clock
            .now()
            .and_utc()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        "created, in UTC"
    );
    assert_eq!(row[11], "", "no activity yet");

    let (_, _, searched) = export(&browser, "/contacts/export.csv?q=babbage").await;
    assert_eq!(searched.len(), 1);
    assert_eq!(searched[0][1], "Charles");
}

#[tokio::test]
async fn the_company_export_applies_the_filters_and_support_may_export_too() {
    let app = spawn_app().await;
    let sales = app.create_user("sales@example.com", Role::Sales);
    let (support, _) = signed_in(&app, "support@example.com", Role::Support).await;
    let tagged = seed_company(&app, "=HYPERLINK(\"x\")", Some("evil.example"), &sales);
    tags::set_for_company(&mut app.conn(), tagged, &["vip".to_owned()]).expect("tagged");
    seed_company(&app, "Plain Ltd", None, &sales);

    let (headers, header, rows) = export(&support, "/companies/export.csv?tag=vip").await;

    assert_eq!(header, COMPANY_COLUMNS);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], tagged.to_string());
    assert_eq!(rows[0][1], "'=HYPERLINK(\"x\")");
    assert_eq!(rows[0][2], "evil.example");
    assert_eq!(rows[0][6], "sales@example.com");
    assert_eq!(rows[0][7], "vip");
    assert_eq!(
        header_value(&headers, "content-disposition"),
        format!("attachment; filename=\"companies-{}.csv\"", today(&app))
    );
    let (_, _, all) = export(&support, "/companies/export.csv").await;
    assert_eq!(all.len(), 2);
    assert_eq!(
        audit_details(&app, "records_exported", "companies").len(),
        2
    );
}

#[tokio::test]
async fn an_anonymous_visitor_cannot_export() {
    let app = spawn_app().await;
    let response = app.get("/contacts/export.csv").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login"));
}

// ---------------------------------------------------------------------------------------
// Merge contacts

struct Pair {
    keep: i64,
    gone: i64,
    gone_note: i64,
}

fn duplicate_pair(app: &TestApp, owner: &TestUser, gone_owner: &TestUser) -> Pair {
    let keep = seed(
        app,
        owner,
        &ContactInput {
            emails: vec!["ada@example.com".to_owned()],
            phones: vec!["555 0100".to_owned()],
            tags: vec!["vip".to_owned()],
            job_title: Some("Analyst".to_owned()),
            ..person("Ada", "Lovelace", owner)
        },
    );
    let gone = seed(
        app,
        gone_owner,
        &ContactInput {
            emails: vec![
                "countess@example.com".to_owned(),
                "ada@example.com".to_owned(),
            ],
            phones: vec!["555 0199".to_owned()],
            tags: vec!["partner".to_owned()],
            job_title: Some("Countess of Lovelace".to_owned()),
            stage: Stage::Customer,
            ..person("Augusta", "Byronic", gone_owner)
        },
    );
    let gone_note = note(app, Some(gone), None, "Met at the Difference Engine demo.");
    Pair {
        keep,
        gone,
        gone_note,
    }
}

async fn merge_form(browser: &Browser, keep: i64, gone: i64) -> (String, String) {
    let page = browser
        .get_html(&format!("/contacts/{keep}/merge?other={gone}"))
        .await;
    (value_of(&page, "version"), value_of(&page, "other_version"))
}

#[tokio::test]
async fn merging_contacts_keeps_the_chosen_values_and_moves_everything_to_the_survivor() {
    let app = spawn_app().await;
    let (browser, sales) = signed_in(&app, "sales@example.com", Role::Sales).await;
    let pair = duplicate_pair(&app, &sales, &sales);
    let before = version_of(&app, pair.keep);

    let page = browser
        .get_html(&format!(
            "/contacts/{}/merge?other={}",
            pair.keep, pair.gone
        ))
        .await;
    assert!(page.contains("Merge Augusta Byronic into Ada Lovelace"));
    assert!(page.contains("Countess of Lovelace") && page.contains("Analyst"));
    let (version, other_version) = (value_of(&page, "version"), value_of(&page, "other_version"));
    let other = pair.gone.to_string();
    let response = browser
        .post_form(
            &format!("/contacts/{}/merge", pair.keep),
            &[
                ("other", &other),
                ("version", &version),
                ("other_version", &other_version),
                ("first_name", "survivor"),
                ("last_name", "survivor"),
                ("job_title", "other"),
                ("lifecycle_stage", "other"),
                ("owner", "survivor"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/contacts/{}", pair.keep));

    assert!(
        !contact_exists(&app, pair.gone),
        "the other contact is deleted"
    );
    let (first, job, stage, version_after): (String, Option<String>, String, i32) = contacts::table
        .find(pair.keep)
        .select((
            contacts::first_name,
            contacts::job_title,
            contacts::lifecycle_stage,
            contacts::version,
        ))
        .first(&mut app.conn())
        .expect("the survivor");
    assert_eq!(first, "Ada");
    assert_eq!(job.as_deref(), Some("Countess of Lovelace"));
    assert_eq!(stage, "customer");
    assert_eq!(version_after, before + 1);
    let emails: Vec<(String, bool)> = contact_emails::table
        .filter(contact_emails::contact_id.eq(pair.keep))
        .order((contact_emails::is_primary.desc(), contact_emails::id.asc()))
        .select((contact_emails::email, contact_emails::is_primary))
        .load(&mut app.conn())
        .expect("emails");
    assert_eq!(
        emails,
        vec![
            ("ada@example.com".to_owned(), true),
            ("countess@example.com".to_owned(), false)
        ]
    );
    let tag_names = tags::for_contacts(&mut app.conn(), &[pair.keep])
        .expect("tags")
        .remove(&pair.keep)
        .unwrap_or_default();
    assert_eq!(tag_names, vec!["partner".to_owned(), "vip".to_owned()]);
    let moved: Option<i64> = timeline_entries::table
        .find(pair.gone_note)
        .select(timeline_entries::contact_id)
        .first(&mut app.conn())
        .expect("the note still exists");
    assert_eq!(moved, Some(pair.keep));

    let shown = browser.get_html(&format!("/contacts/{}", pair.keep)).await;
    assert!(shown.contains("Met at the Difference Engine demo."));
    assert!(shown.contains("countess@example.com"));
    assert!(shown.contains(&format!("Merged Augusta Byronic (contact {})", pair.gone)));

    let conn = &mut app.conn();
    let by_email: Vec<i64> = rapport::search::search_contacts(conn, "countess", 10)
        .expect("search")
        .into_iter()
        .map(|hit| hit.id)
        .collect();
    assert_eq!(by_email, vec![pair.keep]);
    let by_old_name = rapport::search::search_contacts(conn, "Byronic", 10).expect("search");
    assert!(by_old_name.is_empty(), "the removed contact is not found");

    let audited = audit_details(&app, "record_merged", &format!("contact {}", pair.keep));
    assert_eq!(audited.len(), 1);
    assert!(
        audited[0].starts_with(&format!(
            "merged contact {} (Augusta Byronic) into {}",
            pair.gone, pair.keep
        )),
        "{audited:?}"
    );
    assert!(audited[0].contains("Job title: Countess of Lovelace (from contact"));
}

#[tokio::test]
async fn the_merge_page_finds_the_other_contact_by_search_and_suggests_email_duplicates() {
    let app = spawn_app().await;
    let (browser, sales) = signed_in(&app, "sales@example.com", Role::Sales).await;
    let pair = duplicate_pair(&app, &sales, &sales);

    let contact_page = browser.get_html(&format!("/contacts/{}", pair.keep)).await;
    assert!(contact_page.contains(&format!("href=\"/contacts/{}/merge\"", pair.keep)));
    let picker = browser
        .get_html(&format!("/contacts/{}/merge", pair.keep))
        .await;
    assert!(picker.contains("Possible duplicates"));
    assert!(picker.contains(&format!("merge?other={}", pair.gone)));
    let searched = browser
        .get_html(&format!("/contacts/{}/merge?q=byron", pair.keep))
        .await;
    assert!(searched.contains("Augusta Byronic"));
    assert!(searched.contains(&format!("merge?other={}", pair.gone)));
}

#[tokio::test]
async fn support_and_sales_without_both_records_may_not_merge() {
    let app = spawn_app().await;
    let (sales_browser, sales) = signed_in(&app, "sales@example.com", Role::Sales).await;
    let (support_browser, _) = signed_in(&app, "support@example.com", Role::Support).await;
    let colleague = app.create_user("colleague@example.com", Role::Sales);
    let pair = duplicate_pair(&app, &sales, &colleague);
    let version = version_of(&app, pair.keep).to_string();
    let other_version = version_of(&app, pair.gone).to_string();
    let other = pair.gone.to_string();
    let fields = [
        ("other", other.as_str()),
        ("version", version.as_str()),
        ("other_version", other_version.as_str()),
    ];
    let path = format!("/contacts/{}/merge", pair.keep);

    let contact_page = support_browser
        .get_html(&format!("/contacts/{}", pair.keep))
        .await;
    assert!(
        !contact_page.contains("Merge…"),
        "support is not offered a merge"
    );
    assert_eq!(
        support_browser.get(&path).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        support_browser.post_form(&path, &fields).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        sales_browser
            .get(&format!("{path}?other={}", pair.gone))
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "the other contact belongs to a colleague"
    );
    assert_eq!(
        sales_browser.post_form(&path, &fields).await.status(),
        StatusCode::FORBIDDEN
    );
    assert!(contact_exists(&app, pair.gone), "nothing was merged");
    assert!(audit_details(&app, "record_merged", &format!("contact {}", pair.keep)).is_empty());
    let denied: i64 = audit_log::table
        .filter(audit_log::action.eq("authorization_denied"))
        .filter(audit_log::target.eq(format!("POST {path}")))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(denied, 2);
}

#[tokio::test]
async fn merging_a_contact_with_itself_is_refused() {
    let app = spawn_app().await;
    let (browser, sales) = signed_in(&app, "sales@example.com", Role::Sales).await;
    let pair = duplicate_pair(&app, &sales, &sales);
    let response = browser
        .get(&format!("/contacts/{0}/merge?other={0}", pair.keep))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("cannot be merged with itself")
    );
    let version = version_of(&app, pair.keep).to_string();
    let me = pair.keep.to_string();
    let response = browser
        .post_form(
            &format!("/contacts/{}/merge", pair.keep),
            &[
                ("other", &me),
                ("version", &version),
                ("other_version", &version),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(contact_exists(&app, pair.keep));
    assert_eq!(version_of(&app, pair.keep).to_string(), version);
}

#[tokio::test]
async fn a_merge_that_would_hold_more_than_ten_email_addresses_is_refused() {
    let app = spawn_app().await;
    let (browser, sales) = signed_in(&app, "sales@example.com", Role::Sales).await;
    let mut first = person("Ada", "Lovelace", &sales);
    first.emails = (0..6).map(|n| format!("ada{n}@example.com")).collect();
    let mut second = person("Ada", "Lovelace", &sales);
    // One address in common: 6 + 5 = 11 different addresses.
    second.emails = (5..11).map(|n| format!("ada{n}@example.com")).collect();
    let keep = seed(&app, &sales, &first);
    let gone = seed(&app, &sales, &second);
    let (version, other_version) = merge_form(&browser, keep, gone).await;

    let other = gone.to_string();
    let response = browser
        .post_form(
            &format!("/contacts/{keep}/merge"),
            &[
                ("other", &other),
                ("version", &version),
                ("other_version", &other_version),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("body");
    assert!(page.contains("would have 11 email addresses"), "{page}");
    assert!(contact_exists(&app, gone), "nothing was merged");
    let kept: i64 = contact_emails::table
        .filter(contact_emails::contact_id.eq(keep))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(kept, 6);
}

#[tokio::test]
async fn a_merge_from_a_stale_comparison_is_refused_with_a_conflict() {
    let app = spawn_app().await;
    let (browser, sales) = signed_in(&app, "sales@example.com", Role::Sales).await;
    let pair = duplicate_pair(&app, &sales, &sales);
    let (version, other_version) = merge_form(&browser, pair.keep, pair.gone).await;
    // Someone edits the other contact in the meantime.
    diesel::update(contacts::table.find(pair.gone))
        .set(contacts::version.eq(contacts::version + 1))
        .execute(&mut app.conn())
        .expect("bumped");
    let other = pair.gone.to_string();
    let response = browser
        .post_form(
            &format!("/contacts/{}/merge", pair.keep),
            &[
                ("other", &other),
                ("version", &version),
                ("other_version", &other_version),
                ("job_title", "other"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("Nothing was merged")
    );
    assert!(contact_exists(&app, pair.gone));
    let job: Option<String> = contacts::table
        .find(pair.keep)
        .select(contacts::job_title)
        .first(&mut app.conn())
        .expect("survivor");
    assert_eq!(job.as_deref(), Some("Analyst"));
}

// ---------------------------------------------------------------------------------------
// Merge companies

#[tokio::test]
async fn merging_companies_moves_contacts_timeline_and_tags_to_the_survivor() {
    let app = spawn_app().await;
    let (browser, sales) = signed_in(&app, "sales@example.com", Role::Sales).await;
    let keep = seed_company(&app, "Engines Ltd", Some("engines.example"), &sales);
    let gone = seed_company(&app, "Engines Limited", Some("engines.example"), &sales);
    tags::set_for_company(&mut app.conn(), keep, &["vip".to_owned()]).expect("tagged");
    tags::set_for_company(&mut app.conn(), gone, &["partner".to_owned()]).expect("tagged");
    diesel::update(companies::table.find(gone))
        .set(companies::industry.eq("Computing"))
        .execute(&mut app.conn())
        .expect("industry set");
    let member = seed(
        &app,
        &sales,
        &ContactInput {
            company_id: Some(gone),
            ..person("Charles", "Babbage", &sales)
        },
    );
    let gone_note = note(&app, None, Some(gone), "Signed the framework agreement.");

    let page = browser
        .get_html(&format!("/companies/{keep}/merge?other={gone}"))
        .await;
    assert!(page.contains("Merge Engines Limited into Engines Ltd"));
    let version = value_of(&page, "version");
    let other_version = value_of(&page, "other_version");
    let response = browser
        .post_form(
            &format!("/companies/{keep}/merge"),
            &[
                ("other", &gone.to_string()),
                ("version", &version),
                ("other_version", &other_version),
                ("name", "survivor"),
                ("industry", "other"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/companies/{keep}"));

    let conn = &mut app.conn();
    let gone_left: i64 = companies::table
        .find(gone)
        .count()
        .get_result(conn)
        .expect("count");
    assert_eq!(gone_left, 0);
    let (name, industry, version_after): (String, Option<String>, i32) = companies::table
        .find(keep)
        .select((companies::name, companies::industry, companies::version))
        .first(conn)
        .expect("survivor");
    assert_eq!(name, "Engines Ltd");
    assert_eq!(industry.as_deref(), Some("Computing"));
    assert_eq!(
        version_after.to_string(),
        (version.parse::<i32>().expect("n") + 1).to_string()
    );
    let member_company: Option<i64> = contacts::table
        .find(member)
        .select(contacts::company_id)
        .first(conn)
        .expect("member");
    assert_eq!(member_company, Some(keep));
    let note_company: Option<i64> = timeline_entries::table
        .find(gone_note)
        .select(timeline_entries::company_id)
        .first(conn)
        .expect("note");
    assert_eq!(note_company, Some(keep));
    let names: Vec<String> = tags::for_companies(conn, &[keep])
        .expect("tags")
        .remove(&keep)
        .unwrap_or_default();
    assert_eq!(names, vec!["partner".to_owned(), "vip".to_owned()]);
    let tag_rows: i64 = tag_table::table.count().get_result(conn).expect("count");
    assert_eq!(tag_rows, 2);
    assert!(
        rapport::search::search_companies(conn, "Limited", 10)
            .expect("search")
            .is_empty()
    );
    let by_company: Vec<i64> = rapport::search::search_contacts(conn, "Engines Babbage", 10)
        .expect("search")
        .into_iter()
        .map(|hit| hit.id)
        .collect();
    assert_eq!(
        by_company,
        vec![member],
        "the moved contact carries the new company"
    );
    let audited = audit_details(&app, "record_merged", &format!("company {keep}"));
    assert_eq!(audited.len(), 1);
    assert!(audited[0].contains("contacts moved: 1"), "{audited:?}");

    let shown = browser.get_html(&format!("/companies/{keep}")).await;
    assert!(shown.contains("Charles"));
    assert!(shown.contains("Signed the framework agreement."));
}

#[tokio::test]
async fn a_sales_rep_may_not_merge_a_company_owned_by_someone_else() {
    let app = spawn_app().await;
    let (browser, sales) = signed_in(&app, "sales@example.com", Role::Sales).await;
    let colleague = app.create_user("colleague@example.com", Role::Sales);
    let keep = seed_company(&app, "Mine Ltd", None, &sales);
    let gone = seed_company(&app, "Theirs Ltd", None, &colleague);
    let response = browser
        .post_form(
            &format!("/companies/{keep}/merge"),
            &[
                ("other", &gone.to_string()),
                ("version", "1"),
                ("other_version", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let left: i64 = companies::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(left, 2);
}

#[tokio::test]
async fn an_admin_merges_contacts_owned_by_two_different_reps() {
    let app = spawn_app().await;
    let (browser, _admin) = signed_in(&app, "boss@example.com", Role::Admin).await;
    let ada_rep = app.create_user("rep1@example.com", Role::Sales);
    let byron_rep = app.create_user("rep2@example.com", Role::Sales);
    let pair = duplicate_pair(&app, &ada_rep, &byron_rep);
    let (version, other_version) = merge_form(&browser, pair.keep, pair.gone).await;
    let response = browser
        .post_form(
            &format!("/contacts/{}/merge", pair.keep),
            &[
                ("other", &pair.gone.to_string()),
                ("version", &version),
                ("other_version", &other_version),
                ("owner", "other"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(!contact_exists(&app, pair.gone));
    let owner: Option<i64> = contacts::table
        .find(pair.keep)
        .select(contacts::owner_id)
        .first(&mut app.conn())
        .expect("survivor");
    assert_eq!(owner, Some(byron_rep.id), "the chosen owner wins");
}
