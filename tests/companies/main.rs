//! Companies through the real stack: the list (filters, sorts, keyset pages, bulk actions),
//! create and edit with validation and conflicts, archive, restore, delete, the company
//! page, role rules and the search index.

#[path = "../common/mod.rs"]
mod common;

use common::*;
use diesel::prelude::*;
use rapport::audit::Actor;
use rapport::auth::model::Role;
use rapport::contacts::company::model::{Company, CompanyForm};
use rapport::contacts::company::queries::{self, Filter, Sort};
use rapport::contacts::company::service;
use rapport::contacts::timeline::{self, Kind, NewEntry};
use rapport::db::schema::{audit_log, companies, contacts, timeline_entries};
use rapport::search;
use reqwest::{Response, StatusCode};

// ---- helpers ----

/// Creates a company straight through the service, as `owner` (or the command line).
fn create_company(app: &TestApp, name: &str, owner: Option<&TestUser>) -> i64 {
    create_company_with(
        app,
        CompanyForm {
            name: name.to_owned(),
            owner: owner.map(|user| user.id.to_string()).unwrap_or_default(),
            ..CompanyForm::default()
        },
        owner,
    )
}

fn create_company_with(app: &TestApp, form: CompanyForm, by: Option<&TestUser>) -> i64 {
    let conn = &mut app.conn();
    let input = form.validate().expect("a valid company");
    let by_id = by.map_or_else(|| app.admin_id(), |user| user.id);
    let user = rapport::auth::queries::find(conn, by_id)
        .expect("query")
        .expect("the user exists");
    let now = rapport::clock::Clock::now(&app.clock);
    service::create(conn, now, &Actor::command_line(), &user, &input).expect("company created")
}

trait AdminId {
    fn admin_id(&self) -> i64;
}

impl AdminId for TestApp {
    /// The id of some admin, created on first use.
    fn admin_id(&self) -> i64 {
        use rapport::db::schema::users;
        let found: Option<i64> = users::table
            .filter(users::role.eq("admin"))
            .select(users::id)
            .first(&mut self.conn())
            .optional()
            .expect("query");
        found.unwrap_or_else(|| self.create_user("first-admin@example.com", Role::Admin).id)
    }
}

fn company(app: &TestApp, id: i64) -> Option<Company> {
    queries::find(&mut app.conn(), id).expect("query")
}

fn company_count(app: &TestApp) -> i64 {
    companies::table
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

fn tags_of(app: &TestApp, id: i64) -> Vec<String> {
    rapport::contacts::tags::for_companies(&mut app.conn(), &[id])
        .expect("tags")
        .remove(&id)
        .unwrap_or_default()
}

fn audit_rows(app: &TestApp, action: &str, target: &str) -> Vec<Option<String>> {
    audit_log::table
        .filter(audit_log::action.eq(action))
        .filter(audit_log::target.eq(target))
        .order(audit_log::id.asc())
        .select(audit_log::details)
        .load(&mut app.conn())
        .expect("audit rows")
}

fn found_by_search(app: &TestApp, typed: &str) -> Vec<i64> {
    search::search_companies(&mut app.conn(), typed, 50)
        .expect("search")
        .into_iter()
        .map(|hit| hit.id)
        .collect()
}

/// Undoes the HTML escaping of an attribute value or text.
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "quot" => Some('"'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The "Next page" link of a list page, if there is one.
fn next_link(body: &str) -> Option<String> {
    let end = body.find("\" rel=\"next\"")?;
    let start = body[..end].rfind("href=\"")? + "href=\"".len();
    Some(unescape(&body[start..end]))
}

/// The names of the companies a list page shows, in order.
fn listed(body: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find("<td><a href=\"/companies/") {
        rest = &rest[at..];
        let start = rest.find('>').expect("link") + 1;
        let start = rest[start..].find('>').expect("anchor") + start + 1;
        let end = rest[start..].find('<').expect("name ends") + start;
        names.push(unescape(&rest[start..end]));
        rest = &rest[end..];
    }
    names
}

fn value_of(body: &str, name: &str) -> String {
    let field = body.find(&format!(" name=\"{name}\"")).expect("the field");
    let marker = "value=\"";
    let start = body[field..].find(marker).expect("a value") + field + marker.len();
    let end = body[start..].find('"').expect("value ends") + start;
    unescape(&body[start..end])
}

/// The text of a form's textarea.
fn textarea(body: &str, name: &str) -> String {
    let field = body
        .find(&format!(" name=\"{name}\""))
        .expect("the textarea");
    let start = body[field..].find('>').expect("the tag ends") + field + 1;
    let end = body[start..].find("</textarea>").expect("the text ends") + start;
    unescape(&body[start..end])
}

/// The owner chosen in a company form's select.
fn selected_owner(body: &str) -> String {
    let select = body.find("<select id=\"owner\"").expect("the owner select");
    let end = body[select..].find("</select>").expect("select ends") + select;
    let options = &body[select..end];
    options
        .find("\" selected>")
        .map(|at| {
            let start = options[..at].rfind('"').expect("value starts") + 1;
            options[start..at].to_owned()
        })
        .unwrap_or_default()
}

/// Posts the edit form as the page gave it, with `changes` applied.
async fn save_edit(browser: &Browser, id: i64, page: &str, changes: &[(&str, &str)]) -> Response {
    let names = [
        "name",
        "domain",
        "industry",
        "employee_count",
        "phone",
        "address",
        "owner",
        "tags",
    ];
    let mut fields: Vec<(String, String)> = vec![("version".to_owned(), value_of(page, "version"))];
    for name in names {
        fields.push((
            format!("original_{name}"),
            value_of(page, &format!("original_{name}")),
        ));
        let shown = if name == "owner" {
            selected_owner(page)
        } else if name == "address" {
            textarea(page, name)
        } else {
            value_of(page, name)
        };
        let value = changes
            .iter()
            .find(|(key, _)| *key == name)
            .map_or(shown, |(_, value)| (*value).to_owned());
        fields.push((name.to_owned(), value));
    }
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    browser.post_form(&format!("/companies/{id}"), &pairs).await
}

async fn signed_in(app: &TestApp, email: &str, role: Role) -> (Browser, TestUser) {
    let user = app.create_user(email, role);
    let browser = app.open_browser();
    browser.login_as(&user).await;
    (browser, user)
}

// ---- the list ----

#[tokio::test]
async fn the_list_shows_fifty_companies_a_page_and_the_cursor_leads_to_the_rest() {
    let app = spawn_app().await;
    let admin = app.admin();
    for n in 0..60 {
        create_company(&app, &format!("Company {n:02}"), Some(&admin));
    }
    app.login_as(&admin).await;

    let first = app.get_html("/companies").await;
    let names = listed(&first);
    assert_eq!(names.len(), 50);
    assert_eq!(names[0], "Company 00");
    assert_eq!(names[49], "Company 49");
    let next = next_link(&first).expect("a next page");
    assert!(next.starts_with("/companies?after="), "{next}");

    let second = app.get_html(&next).await;
    let names = listed(&second);
    assert_eq!(names.len(), 10);
    assert_eq!(names[0], "Company 50");
    assert_eq!(names[9], "Company 59");
    assert_eq!(next_link(&second), None);
}

#[tokio::test]
async fn sorting_by_created_and_by_activity_pages_through_every_company_once() {
    let app = spawn_app().await;
    let admin = app.admin();
    let mut ids = Vec::new();
    for n in 0..60 {
        ids.push(create_company(&app, &format!("Firm {n:02}"), Some(&admin)));
        app.clock.advance(chrono::Duration::minutes(1));
    }
    // Three companies had an interaction, Firm 10 most recently.
    for (index, minutes_ago) in [(30, 30), (20, 20), (10, 10)] {
        let at = rapport::clock::Clock::now(&app.clock) - chrono::Duration::minutes(minutes_ago);
        timeline::add(
            &mut app.conn(),
            &NewEntry {
                deal_id: None,
                lead_id: None,
                contact_id: None,
                company_id: Some(ids[index]),
                kind: Kind::Call,
                author_id: Some(admin.id),
                occurred_at: at,
                recorded_at: at,
                body: "Called",
                outcome: None,
                duration_minutes: Some(5),
            },
        )
        .expect("an entry");
    }
    app.login_as(&admin).await;

    let first = app.get_html("/companies?sort=created").await;
    let mut names = listed(&first);
    assert_eq!(names[0], "Firm 59", "newest first");
    let second = app
        .get_html(&next_link(&first).expect("a second page"))
        .await;
    names.extend(listed(&second));
    assert_eq!(names.last().map(String::as_str), Some("Firm 00"));
    let expected: Vec<String> = (0..60).rev().map(|n| format!("Firm {n:02}")).collect();
    assert_eq!(names, expected);

    let first = app.get_html("/companies?sort=activity").await;
    let mut names = listed(&first);
    assert_eq!(&names[..3], &["Firm 10", "Firm 20", "Firm 30"]);
    let next = next_link(&first).expect("a second page");
    assert!(next.contains("sort=activity"), "{next}");
    names.extend(listed(&app.get_html(&next).await));
    assert_eq!(names.len(), 60);
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 60, "no company shown twice or skipped");
}

#[tokio::test]
async fn the_list_filters_by_owner_tag_archive_dates_and_inactivity() {
    let app = spawn_app().await;
    let admin = app.admin();
    let rep = app.create_user("rep@example.com", Role::Sales);
    let mine = create_company_with(
        &app,
        CompanyForm {
            name: "Mine Ltd".to_owned(),
            owner: rep.id.to_string(),
            tags: "vip, partner".to_owned(),
            ..CompanyForm::default()
        },
        Some(&rep),
    );
    app.clock.advance(chrono::Duration::days(10));
    let theirs = create_company(&app, "Theirs Inc", Some(&admin));
    let archived = create_company(&app, "Gone GmbH", Some(&rep));
    service::set_archived(
        &mut app.conn(),
        rapport::clock::Clock::now(&app.clock),
        &Actor::command_line(),
        &rapport::auth::queries::find(&mut app.conn(), rep.id)
            .expect("query")
            .expect("rep"),
        archived,
        true,
    )
    .expect("archived");
    timeline::add(
        &mut app.conn(),
        &NewEntry {
            deal_id: None,
            lead_id: None,
            contact_id: None,
            company_id: Some(theirs),
            kind: Kind::Note,
            author_id: Some(admin.id),
            occurred_at: rapport::clock::Clock::now(&app.clock),
            recorded_at: rapport::clock::Clock::now(&app.clock),
            body: "Met them",
            outcome: None,
            duration_minutes: None,
        },
    )
    .expect("entry");
    let _ = mine;
    let sales = app.open_browser();
    sales.login_as(&rep).await;

    let all = listed(&sales.get_html("/companies").await);
    assert_eq!(all, ["Mine Ltd", "Theirs Inc"], "archived ones are hidden");
    assert_eq!(
        listed(&sales.get_html("/companies?owner=mine").await),
        ["Mine Ltd"]
    );
    assert_eq!(
        listed(
            &sales
                .get_html(&format!("/companies?owner={}", admin.id))
                .await
        ),
        ["Theirs Inc"]
    );
    assert_eq!(
        listed(&sales.get_html("/companies?tag=vip").await),
        ["Mine Ltd"]
    );
    let none = sales.get_html("/companies?tag=unknown").await;
    assert!(listed(&none).is_empty());
    assert!(none.contains("No companies match"), "an empty state");
    assert_eq!(
        listed(&sales.get_html("/companies?archived=1").await),
        ["Gone GmbH"]
    );
    assert_eq!(
        listed(&sales.get_html("/companies?inactive_days=5").await),
        ["Mine Ltd"],
        "Theirs Inc had a note today"
    );
    let today = rapport::clock::Clock::now(&app.clock).date();
    let recent = format!(
        "/companies?created_from={}",
        today - chrono::Duration::days(1)
    );
    assert_eq!(listed(&sales.get_html(&recent).await), ["Theirs Inc"]);
    let old = format!(
        "/companies?created_to={}",
        today - chrono::Duration::days(5)
    );
    assert_eq!(listed(&sales.get_html(&old).await), ["Mine Ltd"]);
}

#[tokio::test]
async fn an_empty_list_invites_to_create_the_first_company_only_roles_that_can() {
    let app = spawn_app().await;
    let (sales, _) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let (support, _) = signed_in(&app, "help@example.com", Role::Support).await;

    let page = sales.get_html("/companies").await;
    assert!(page.contains("No companies yet"));
    assert!(page.contains("href=\"/companies/new\""));
    let page = support.get_html("/companies").await;
    assert!(page.contains("No companies yet"));
    assert!(!page.contains("/companies/new"), "support cannot create");
}

#[tokio::test]
async fn the_list_searches_by_prefix_with_case_and_accents_folded_and_by_domain() {
    let app = spawn_app().await;
    let admin = app.admin();
    create_company_with(
        &app,
        CompanyForm {
            name: "École Polytechnique".to_owned(),
            domain: "https://www.polytechnique.edu/en".to_owned(),
            ..CompanyForm::default()
        },
        Some(&admin),
    );
    create_company(&app, "Acme Corp", Some(&admin));
    app.login_as(&admin).await;

    for typed in ["Ecole", "ecol", "ÉCOLE poly", "polytechnique.edu"] {
        let path = format!("/companies?q={}", typed.replace(' ', "+"));
        assert_eq!(
            listed(&app.get_html(&path).await),
            ["École Polytechnique"],
            "{typed}"
        );
    }
    assert_eq!(
        listed(&app.get_html("/companies?q=acm").await),
        ["Acme Corp"]
    );
    assert!(listed(&app.get_html("/companies?q=zebra").await).is_empty());
}

#[tokio::test]
async fn the_default_list_and_the_owner_filter_read_an_index_not_the_whole_table() {
    let app = spawn_app().await;
    let admin = app.admin();
    create_company(&app, "Acme", Some(&admin));
    let conn = &mut app.conn();
    let plans = [
        queries::list_plan(conn, &Filter::default(), Sort::Name, None).expect("plan"),
        queries::list_plan(
            conn,
            &Filter {
                owner_id: Some(admin.id),
                ..Filter::default()
            },
            Sort::Name,
            None,
        )
        .expect("plan"),
        queries::list_plan(conn, &Filter::default(), Sort::Created, None).expect("plan"),
        queries::list_plan(conn, &Filter::default(), Sort::Activity, None).expect("plan"),
    ];
    for plan in &plans {
        assert!(!plan.is_empty());
        for step in plan {
            assert!(
                !step.contains("SCAN companies") || step.contains("INDEX"),
                "a full scan: {plan:?}"
            );
            assert!(
                !step.contains("TEMP B-TREE"),
                "a sort outside the index: {plan:?}"
            );
        }
    }
    assert!(
        plans[1]
            .iter()
            .any(|step| step.contains("companies_by_owner")),
        "{:?}",
        plans[1]
    );
}

// ---- create and edit ----

#[tokio::test]
async fn a_sales_rep_creates_a_company_with_a_normalised_domain_tags_audit_timeline_and_search() {
    let app = spawn_app().await;
    let (sales, rep) = signed_in(&app, "rep@example.com", Role::Sales).await;

    let form = sales.get_html("/companies/new").await;
    assert!(
        form.contains(&format!("<option value=\"{}\" selected>", rep.id)),
        "the creator owns it by default"
    );
    let response = sales
        .post_form(
            "/companies",
            &[
                ("name", "  Globex  "),
                ("domain", "https://www.Globex.com/about"),
                ("industry", "Energy"),
                ("employee_count", "1200"),
                ("phone", "+1 555 0100"),
                ("address", "1 Main St"),
                ("owner", &rep.id.to_string()),
                ("tags", "VIP, energy"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = location(&response);
    let id: i64 = location
        .strip_prefix("/companies/")
        .and_then(|id| id.parse().ok())
        .expect("the company's page");

    let stored = company(&app, id).expect("stored");
    assert_eq!(stored.name, "Globex");
    assert_eq!(stored.domain.as_deref(), Some("globex.com"));
    assert_eq!(stored.employee_count, Some(1200));
    assert_eq!(stored.owner_id, Some(rep.id));
    assert_eq!(tags_of(&app, id), ["energy", "vip"]);
    let audit = audit_rows(&app, "record_created", &format!("company {id}"));
    assert_eq!(audit.len(), 1);
    let details = audit[0].clone().unwrap_or_default();
    assert!(
        details.contains("domain: (empty) → globex.com"),
        "{details}"
    );
    assert_eq!(found_by_search(&app, "glob"), [id]);

    let page = sales.get_html(&location).await;
    assert!(page.contains("Globex has been created."));
    assert!(page.contains("globex.com"));
    assert!(
        page.contains("Created the company Globex."),
        "a timeline entry"
    );
    assert!(page.contains("created"), "the history section");
    assert!(page.contains(&format!("href=\"/companies/{id}/edit\"")));
}

#[tokio::test]
async fn an_invalid_company_is_refused_with_every_error_next_to_its_field_and_nothing_saved() {
    let app = spawn_app().await;
    let (sales, _) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let long_name = "x".repeat(201);

    for (fields, message) in [
        (vec![("name", "   ")], "Enter the company's name."),
        (vec![("name", long_name.as_str())], "The name is too long"),
        (
            vec![("name", "Acme"), ("domain", "not a domain")],
            "Enter a web domain like example.com.",
        ),
        (
            vec![("name", "Acme"), ("employee_count", "-4")],
            "Enter a whole number of employees, 0 or more.",
        ),
        (
            vec![("name", "Acme"), ("employee_count", "many")],
            "Enter a whole number of employees, 0 or more.",
        ),
        (
            vec![("name", "Acme"), ("owner", "99999")],
            "Choose an owner from the list.",
        ),
    ] {
        let response = sales.post_form("/companies", &fields).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{fields:?}"
        );
        let body = response.text().await.expect("body");
        assert!(unescape(&body).contains(message), "{message} in {body}");
        assert!(body.contains("class=\"field-error\""));
    }
    let response = sales
        .post_form(
            "/companies",
            &[("name", ""), ("domain", "x"), ("phone", "call me")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert_eq!(
        body.matches("class=\"field-error\"").count(),
        3,
        "all at once"
    );
    assert_eq!(company_count(&app), 0);
    assert_eq!(tags_of(&app, 1), Vec::<String>::new());
}

#[tokio::test]
async fn an_edit_saves_the_changes_with_an_audit_entry_naming_each_field() {
    let app = spawn_app().await;
    let (sales, rep) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let id = create_company(&app, "Initech", Some(&rep));

    let page = sales.get_html(&format!("/companies/{id}/edit")).await;
    let response = save_edit(
        &sales,
        id,
        &page,
        &[
            ("industry", "Software"),
            ("domain", "initech.example"),
            ("tags", "b2b"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/companies/{id}"));

    let stored = company(&app, id).expect("stored");
    assert_eq!(stored.industry.as_deref(), Some("Software"));
    assert_eq!(stored.domain.as_deref(), Some("initech.example"));
    assert_eq!(stored.version, 2);
    assert_eq!(tags_of(&app, id), ["b2b"]);
    let audit = audit_rows(&app, "record_updated", &format!("company {id}"));
    let details = audit[0].clone().unwrap_or_default();
    assert!(
        details.contains("industry: (empty) → Software"),
        "{details}"
    );
    assert!(details.contains("tags: (empty) → b2b"), "{details}");
    assert!(
        !details.contains("name:"),
        "unchanged fields are not listed: {details}"
    );
    assert_eq!(found_by_search(&app, "software"), [id]);
    let page = sales.get_html(&format!("/companies/{id}")).await;
    assert!(page.contains("Changes saved."));
    assert!(
        page.contains("industry: (empty) → Software"),
        "timeline and history"
    );

    let response = save_edit(
        &sales,
        id,
        &sales.get_html(&format!("/companies/{id}/edit")).await,
        &[("name", "")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(company(&app, id).expect("stored").name, "Initech");
}

#[tokio::test]
async fn a_stale_save_gets_a_conflict_page_showing_the_other_persons_change_and_keeps_it() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let (sales, rep) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let id = create_company(&app, "Umbrella", Some(&rep));

    let admins_form = app.get_html(&format!("/companies/{id}/edit")).await;
    let reps_form = sales.get_html(&format!("/companies/{id}/edit")).await;

    let first = save_edit(&app, id, &admins_form, &[("industry", "Pharma")]).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let second = save_edit(
        &sales,
        id,
        &reps_form,
        &[("industry", "Biotech"), ("phone", "555 0199")],
    )
    .await;
    assert_eq!(second.status(), StatusCode::CONFLICT);
    let body = second.text().await.expect("body");
    assert!(body.contains("Someone else changed this company while you were editing."));
    assert!(
        body.contains(
            "<td>Industry</td><td class=\"theirs\">Pharma</td><td class=\"yours\">Biotech</td>"
        ),
        "{body}"
    );
    assert!(
        !body.contains("<td>Phone</td>"),
        "only the other person's changes are listed"
    );

    let stored = company(&app, id).expect("stored");
    assert_eq!(stored.industry.as_deref(), Some("Pharma"));
    assert_eq!(stored.phone, None);
    assert_eq!(stored.version, 2);
    assert_eq!(
        audit_rows(&app, "record_updated", &format!("company {id}")).len(),
        1
    );

    // Saving the conflict page again is a deliberate choice and goes through.
    let again = save_edit(&sales, id, &body, &[]).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        company(&app, id).expect("stored").industry.as_deref(),
        Some("Biotech")
    );
}

// ---- archive, restore, delete ----

#[tokio::test]
async fn an_owner_archives_and_restores_a_company_and_both_are_audited() {
    let app = spawn_app().await;
    let (sales, rep) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let id = create_company(&app, "Hooli", Some(&rep));

    let response = sales
        .post_form(&format!("/companies/{id}/archive"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(company(&app, id).expect("stored").archived_at.is_some());
    let page = sales.get_html(&format!("/companies/{id}")).await;
    assert!(page.contains("Hooli has been archived."));
    assert!(page.contains(&format!("action=\"/companies/{id}/restore\"")));
    assert!(listed(&sales.get_html("/companies").await).is_empty());

    let response = sales
        .post_form(&format!("/companies/{id}/restore"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(company(&app, id).expect("stored").archived_at.is_none());
    assert_eq!(listed(&sales.get_html("/companies").await), ["Hooli"]);
    let target = format!("company {id}");
    assert_eq!(audit_rows(&app, "record_archived", &target).len(), 1);
    assert_eq!(audit_rows(&app, "record_restored", &target).len(), 1);
}

#[tokio::test]
async fn only_an_admin_deletes_a_company_and_its_contacts_stay_without_it() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let (sales, rep) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let id = create_company(&app, "Vandelay Industries", Some(&rep));
    let now = rapport::clock::Clock::now(&app.clock);
    let contact_id: i64 = diesel::insert_into(contacts::table)
        .values((
            contacts::first_name.eq("Art"),
            contacts::last_name.eq("Vandelay"),
            contacts::sort_name.eq("vandelay art"),
            contacts::company_id.eq(id),
            contacts::created_at.eq(now),
            contacts::updated_at.eq(now),
        ))
        .returning(contacts::id)
        .get_result(&mut app.conn())
        .expect("a contact");
    search::index_contact(&mut app.conn(), contact_id).expect("indexed");
    // A call with the contact, shown on both timelines, stays with the contact.
    timeline::add(
        &mut app.conn(),
        &NewEntry {
            deal_id: None,
            lead_id: None,
            contact_id: Some(contact_id),
            company_id: Some(id),
            kind: Kind::Call,
            author_id: Some(rep.id),
            occurred_at: now,
            recorded_at: now,
            body: "Called Art about latex",
            outcome: None,
            duration_minutes: Some(3),
        },
    )
    .expect("an entry");
    assert!(
        app.get_html(&format!("/companies/{id}"))
            .await
            .contains(&format!("href=\"/contacts/{contact_id}\""))
    );

    let refused = sales
        .post_form(&format!("/companies/{id}/delete"), &[])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(company(&app, id).is_some());
    assert!(
        !sales
            .get_html(&format!("/companies/{id}"))
            .await
            .contains("/delete\"")
    );

    let response = app.post_form(&format!("/companies/{id}/delete"), &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/companies");
    assert!(company(&app, id).is_none());
    let contact_company: Option<i64> = contacts::table
        .find(contact_id)
        .select(contacts::company_id)
        .first(&mut app.conn())
        .expect("the contact is still there");
    assert_eq!(contact_company, None);
    let entries: i64 = timeline_entries::table
        .filter(timeline_entries::company_id.eq(id))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(entries, 0);
    let contacts_entries: Vec<(String, Option<i64>)> = timeline_entries::table
        .filter(timeline_entries::contact_id.eq(contact_id))
        .select((timeline_entries::body, timeline_entries::company_id))
        .load(&mut app.conn())
        .expect("entries");
    assert_eq!(
        contacts_entries,
        [("Called Art about latex".to_owned(), None)],
        "the contact keeps its own timeline"
    );
    let company_only: i64 = timeline_entries::table
        .filter(timeline_entries::contact_id.is_null())
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(company_only, 0, "the company's own entries went with it");
    assert!(found_by_search(&app, "vandelay").is_empty());
    assert_eq!(
        search::search_contacts(&mut app.conn(), "vandelay", 10)
            .expect("search")
            .len(),
        1,
        "the contact is still found, by its own name"
    );
    assert_eq!(
        audit_rows(&app, "record_deleted", &format!("company {id}")).len(),
        1
    );
    assert_eq!(
        app.get(&format!("/companies/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
}

// ---- who may do what ----

#[tokio::test]
async fn support_views_companies_but_cannot_create_edit_archive_or_delete() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (support, _) = signed_in(&app, "help@example.com", Role::Support).await;
    let id = create_company(&app, "Stark", Some(&admin));

    assert_eq!(support.get("/companies").await.status(), StatusCode::OK);
    let page = support.get_html(&format!("/companies/{id}")).await;
    assert!(page.contains("Stark"));
    assert!(!page.contains("/edit\""));
    assert!(!page.contains("/archive\""));
    assert!(!page.contains("/delete\""));
    assert!(
        !support
            .get_html("/companies")
            .await
            .contains("name=\"ids\"")
    );

    for path in ["/companies/new".to_owned(), format!("/companies/{id}/edit")] {
        assert_eq!(
            support.get(&path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    for path in [
        "/companies".to_owned(),
        format!("/companies/{id}"),
        format!("/companies/{id}/archive"),
        format!("/companies/{id}/delete"),
        "/companies/bulk".to_owned(),
    ] {
        let response = support
            .post_form(
                &path,
                &[
                    ("name", "Hacked"),
                    ("ids", &id.to_string()),
                    ("action", "archive"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let stored = company(&app, id).expect("stored");
    assert_eq!(stored.name, "Stark");
    assert!(stored.archived_at.is_none());
    assert_eq!(company_count(&app), 1);
    let denied: i64 = audit_log::table
        .filter(audit_log::action.eq("authorization_denied"))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert!(denied >= 7, "refusals are audited");
}

#[tokio::test]
async fn a_sales_rep_edits_and_archives_only_the_companies_they_own() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let (sales, rep) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let own = create_company(&app, "Own Co", Some(&rep));
    let other = create_company(&app, "Other Co", Some(&admin));

    assert_eq!(
        sales.get(&format!("/companies/{own}/edit")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        sales
            .get(&format!("/companies/{other}/edit"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let page = sales.get_html(&format!("/companies/{other}")).await;
    assert!(page.contains("Other Co"), "everyone views");
    assert!(!page.contains("/edit\""));
    let response = sales
        .post_form(
            &format!("/companies/{other}"),
            &[("name", "Mine now"), ("version", "1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = sales
        .post_form(&format!("/companies/{other}/archive"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let stored = company(&app, other).expect("stored");
    assert_eq!(stored.name, "Other Co");
    assert!(stored.archived_at.is_none());

    // An admin edits and archives anyone's.
    let form = app.get_html(&format!("/companies/{own}/edit")).await;
    assert_eq!(
        save_edit(&app, own, &form, &[("industry", "Retail")])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.post_form(&format!("/companies/{own}/archive"), &[])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert!(company(&app, own).expect("stored").archived_at.is_some());
    assert!(
        app.get_html(&format!("/companies/{other}"))
            .await
            .contains("/delete\"")
    );
}

#[tokio::test]
async fn a_missing_company_is_not_found_on_every_route() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    for path in ["/companies/424242", "/companies/424242/edit"] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    for path in [
        "/companies/424242",
        "/companies/424242/archive",
        "/companies/424242/restore",
        "/companies/424242/delete",
    ] {
        let response = app
            .post_form(path, &[("name", "X"), ("version", "1")])
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        app.get("/companies/not-a-number").await.status(),
        StatusCode::NOT_FOUND
    );
}

// ---- bulk actions ----

#[tokio::test]
async fn bulk_actions_change_the_selected_companies_the_user_may_edit_and_count_the_others() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let (sales, rep) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let a = create_company(&app, "Alpha", Some(&rep));
    let b = create_company(&app, "Beta", Some(&rep));
    let c = create_company(&app, "Gamma", Some(&admin));
    let (a_s, b_s, c_s) = (a.to_string(), b.to_string(), c.to_string());

    let list = sales.get_html("/companies").await;
    assert!(list.contains(&format!("name=\"ids\" value=\"{a}\"")));
    assert!(
        !list.contains(&format!("name=\"ids\" value=\"{c}\"")),
        "no box for others' rows"
    );

    let response = sales
        .post_form(
            "/companies/bulk",
            &[
                ("ids", &a_s),
                ("ids", &b_s),
                ("ids", &c_s),
                ("action", "add_tag"),
                ("tag", "VIP"),
                ("back", "sort=name"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/companies?sort=name");
    let page = sales.get_html(&location(&response)).await;
    assert!(
        page.contains("2 companies changed. 1 skipped: you may not edit it."),
        "{page}"
    );
    assert_eq!(tags_of(&app, a), ["vip"]);
    assert_eq!(tags_of(&app, b), ["vip"]);
    assert!(tags_of(&app, c).is_empty());
    assert_eq!(
        audit_rows(&app, "record_updated", &format!("company {a}")).len(),
        1
    );
    assert!(audit_rows(&app, "record_updated", &format!("company {c}")).is_empty());

    let response = sales
        .post_form(
            "/companies/bulk",
            &[("ids", &a_s), ("action", "remove_tag"), ("tag", "vip")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(tags_of(&app, a).is_empty());
    assert_eq!(tags_of(&app, b), ["vip"]);

    let response = sales
        .post_form(
            "/companies/bulk",
            &[("ids", &b_s), ("ids", &c_s), ("action", "archive")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(company(&app, b).expect("b").archived_at.is_some());
    assert!(company(&app, c).expect("c").archived_at.is_none());
    assert_eq!(
        audit_rows(&app, "record_archived", &format!("company {b}")).len(),
        1
    );

    let admin_s = admin.id.to_string();
    let response = app
        .post_form(
            "/companies/bulk",
            &[
                ("ids", &a_s),
                ("ids", &c_s),
                ("action", "assign_owner"),
                ("owner", &admin_s),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.get_html(&location(&response)).await;
    assert!(
        page.contains("1 company changed."),
        "Gamma already belonged to the admin"
    );
    assert_eq!(company(&app, a).expect("a").owner_id, Some(admin.id));
    let details = audit_rows(&app, "record_updated", &format!("company {a}"));
    assert!(
        details
            .last()
            .cloned()
            .flatten()
            .unwrap_or_default()
            .contains("owner: Sales Tester → Admin Tester")
    );

    // Now Alpha belongs to the admin: the rep may no longer change it.
    let response = sales
        .post_form("/companies/bulk", &[("ids", &a_s), ("action", "archive")])
        .await;
    let page = sales.get_html(&location(&response)).await;
    assert!(page.contains("0 companies changed. 1 skipped"));
    assert!(company(&app, a).expect("a").archived_at.is_none());

    let response = sales
        .post_form("/companies/bulk", &[("action", "archive")])
        .await;
    let page = sales.get_html(&location(&response)).await;
    assert!(page.contains("Select at least one company first."));
}

#[tokio::test]
async fn the_company_page_shows_its_contacts_and_pages_its_timeline_with_the_before_cursor() {
    let app = spawn_app().await;
    let admin = app.admin();
    let id = create_company(&app, "Wayne Enterprises", Some(&admin));
    let now = rapport::clock::Clock::now(&app.clock);
    for n in 0..55 {
        timeline::add(
            &mut app.conn(),
            &NewEntry {
                deal_id: None,
                lead_id: None,
                contact_id: None,
                company_id: Some(id),
                kind: Kind::Note,
                author_id: Some(admin.id),
                occurred_at: now + chrono::Duration::seconds(n),
                recorded_at: now + chrono::Duration::seconds(n),
                body: &format!("Note number {n:02}"),
                outcome: None,
                duration_minutes: None,
            },
        )
        .expect("an entry");
    }
    let contact_id: i64 = diesel::insert_into(contacts::table)
        .values((
            contacts::first_name.eq("Lucius"),
            contacts::last_name.eq("Fox"),
            contacts::sort_name.eq("fox lucius"),
            contacts::job_title.eq("CEO"),
            contacts::company_id.eq(id),
            contacts::created_at.eq(now),
            contacts::updated_at.eq(now),
        ))
        .returning(contacts::id)
        .get_result(&mut app.conn())
        .expect("a contact");
    app.login_as(&admin).await;

    let page = app.get_html(&format!("/companies/{id}")).await;
    assert!(page.contains(&format!(
        "<a href=\"/contacts/{contact_id}\">Lucius Fox</a>"
    )));
    assert!(page.contains("Note number 54"), "newest first");
    assert!(!page.contains("Note number 04"));
    let marker = format!("/companies/{id}?before=");
    let start = page.find(&marker).expect("a link to older entries");
    let end = page[start..].find('"').expect("link ends") + start;
    let older = app.get_html(&unescape(&page[start..end])).await;
    assert!(older.contains("Note number 04"));
    assert!(older.contains("Created the company Wayne Enterprises."));
    assert!(!older.contains("Note number 54"));
}
