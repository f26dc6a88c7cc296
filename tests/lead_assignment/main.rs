//! Lead assignment and conversion: round-robin over the chosen reps (fair over many leads,
//! skipping deactivated reps, per source), the first-contact task and the one email to the
//! rep; converting a lead into a new or existing contact and company and an optional deal,
//! with its timeline carried over, the role checks and the refused inputs.

#[path = "../common/mod.rs"]
mod common;
use common::*;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rapport::auth::model::Role;
use rapport::clock::Clock;
use rapport::db::schema::{
    audit_log, companies, contact_emails, contacts, deal_contacts, deals, email_outbox,
    lead_assignments, leads, pipeline_stages, tasks, users,
};
use rapport::email::Mailer;
use reqwest::StatusCode;

// ---------------------------------------------------------------------------------------
// Helpers

fn rep(app: &TestApp, name: &str) -> TestUser {
    app.create_user(&format!("{name}@example.com"), Role::Sales)
}

/// Turns round-robin on with `reps` in the default rotation, as an admin does on the page.
async fn turn_on(app: &TestApp, browser: &Browser, reps: &[&TestUser], hours: &str) {
    let ids: Vec<String> = reps.iter().map(|rep| rep.id.to_string()).collect();
    let mut fields = vec![("enabled", "on"), ("first_contact_hours", hours)];
    fields.extend(ids.iter().map(|id| ("reps", id.as_str())));
    let response = browser.post_form("/admin/assignment", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "settings saved");
    let _ = app;
}

/// Creates a lead through the lead form; returns its id.
async fn create_lead(browser: &Browser, fields: &[(&str, &str)]) -> i64 {
    let response = browser.post_form("/leads", fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "lead created");
    location(&response)
        .trim_start_matches("/leads/")
        .parse()
        .expect("a lead id in the Location")
}

fn owner_of(app: &TestApp, lead_id: i64) -> Option<i64> {
    leads::table
        .find(lead_id)
        .select(leads::owner_id)
        .first(&mut app.conn())
        .expect("the lead")
}

fn count_contacts(app: &TestApp) -> i64 {
    contacts::table
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

fn count_companies(app: &TestApp) -> i64 {
    companies::table
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

fn stage_id(app: &TestApp, name: &str) -> i64 {
    pipeline_stages::table
        .filter(pipeline_stages::pipeline_id.eq(1))
        .filter(pipeline_stages::name.eq(name))
        .select(pipeline_stages::id)
        .first(&mut app.conn())
        .expect("a default stage")
}

fn lead_status(
    app: &TestApp,
    lead_id: i64,
) -> (String, Option<i64>, Option<i64>, Option<i64>, i32) {
    leads::table
        .find(lead_id)
        .select((
            leads::status,
            leads::converted_contact_id,
            leads::converted_company_id,
            leads::converted_deal_id,
            leads::version,
        ))
        .first(&mut app.conn())
        .expect("the lead")
}

/// A company straight into the table, with a web domain.
fn seed_company(app: &TestApp, name: &str, domain: &str) -> i64 {
    let now = app.clock.now();
    diesel::insert_into(companies::table)
        .values((
            companies::name.eq(name),
            companies::sort_name.eq(name.to_lowercase()),
            companies::domain.eq(domain),
            companies::created_at.eq(now),
            companies::updated_at.eq(now),
        ))
        .returning(companies::id)
        .get_result(&mut app.conn())
        .expect("company inserted")
}

fn seed_contact(app: &TestApp, first: &str, last: &str, email: &str) -> i64 {
    let now = app.clock.now();
    let conn = &mut app.conn();
    let id: i64 = diesel::insert_into(contacts::table)
        .values((
            contacts::first_name.eq(first),
            contacts::last_name.eq(last),
            contacts::sort_name.eq(format!("{last} {first}").to_lowercase()),
            contacts::created_at.eq(now),
            contacts::updated_at.eq(now),
        ))
        .returning(contacts::id)
        .get_result(conn)
        .expect("contact inserted");
    diesel::insert_into(contact_emails::table)
        .values((
            contact_emails::contact_id.eq(id),
            contact_emails::email.eq(email),
            contact_emails::is_primary.eq(true),
        ))
        .execute(conn)
        .expect("email inserted");
    id
}

/// A lead owned by `owner`, created by an admin.
async fn owned_lead(app: &TestApp, admin: &Browser, owner: &TestUser) -> i64 {
    let owner_id = owner.id.to_string();
    let _ = app;
    create_lead(
        admin,
        &[
            ("first_name", "Ada"),
            ("last_name", "Lovelace"),
            ("email", "ada@analytical.example"),
            ("phone", "+44 20 7946 0000"),
            ("company_name", "Analytical Engines"),
            ("job_title", "Countess"),
            ("website", "https://www.analytical.example/about"),
            ("source", "web_form"),
            ("owner_id", &owner_id),
            ("tags", "vip"),
        ],
    )
    .await
}

async fn signed_in(app: &TestApp, user: &TestUser) -> Browser {
    let browser = app.open_browser();
    browser.login_as(user).await;
    browser
}

// ---------------------------------------------------------------------------------------
// Assignment

#[tokio::test]
async fn thirty_unowned_leads_go_to_three_reps_ten_each_in_turn() {
    let app = spawn_app().await;
    let admin = app.admin();
    let reps = [rep(&app, "ann"), rep(&app, "bob"), rep(&app, "cat")];
    app.login_as(&admin).await;
    turn_on(&app, &app.browser, &[&reps[0], &reps[1], &reps[2]], "4").await;

    let mut owners = Vec::new();
    for n in 0..30 {
        let email = format!("lead{n}@example.org");
        let id = create_lead(&app.browser, &[("last_name", "Lead"), ("email", &email)]).await;
        owners.push(owner_of(&app, id).expect("assigned"));
    }
    for (n, owner) in owners.iter().enumerate() {
        assert_eq!(*owner, reps[n % 3].id, "lead {n} in rotation order");
    }
    for rep in &reps {
        assert_eq!(owners.iter().filter(|id| **id == rep.id).count(), 10);
    }
}

#[tokio::test]
async fn a_deactivated_rep_is_skipped_and_a_lead_with_an_owner_keeps_it() {
    let app = spawn_app().await;
    let admin = app.admin();
    let reps = [rep(&app, "ann"), rep(&app, "bob"), rep(&app, "cat")];
    app.login_as(&admin).await;
    turn_on(&app, &app.browser, &[&reps[0], &reps[1], &reps[2]], "4").await;
    diesel::update(users::table.find(reps[1].id))
        .set(users::active.eq(false))
        .execute(&mut app.conn())
        .expect("deactivated");

    let mut owners = Vec::new();
    for n in 0..4 {
        let email = format!("lead{n}@example.org");
        let id = create_lead(&app.browser, &[("last_name", "Lead"), ("email", &email)]).await;
        owners.push(owner_of(&app, id).expect("assigned"));
    }
    assert_eq!(owners, vec![reps[0].id, reps[2].id, reps[0].id, reps[2].id]);

    let owner_id = reps[2].id.to_string();
    let kept = create_lead(
        &app.browser,
        &[("last_name", "Owned"), ("owner_id", &owner_id)],
    )
    .await;
    assert_eq!(owner_of(&app, kept), Some(reps[2].id));
    let assigned: i64 = lead_assignments::table
        .filter(lead_assignments::lead_id.eq(kept))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(assigned, 0, "a lead with an owner is not reassigned");
    let next = create_lead(&app.browser, &[("last_name", "Next")]).await;
    assert_eq!(
        owner_of(&app, next),
        Some(reps[0].id),
        "the turn did not move"
    );
}

#[tokio::test]
async fn round_robin_off_leaves_new_leads_unowned() {
    let app = spawn_app().await;
    let admin = app.admin();
    let ann = rep(&app, "ann");
    app.login_as(&admin).await;
    let ann_id = ann.id.to_string();
    let response = app
        .post_form(
            "/admin/assignment",
            &[("first_contact_hours", "4"), ("reps", &ann_id)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let id = create_lead(&app.browser, &[("last_name", "Nobody")]).await;
    assert_eq!(owner_of(&app, id), None);
}

#[tokio::test]
async fn leads_of_a_source_with_its_own_rotation_go_to_its_reps() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (ann, bob, cat) = (rep(&app, "ann"), rep(&app, "bob"), rep(&app, "cat"));
    app.login_as(&admin).await;
    turn_on(&app, &app.browser, &[&ann, &bob], "4").await;
    let cat_id = cat.id.to_string();
    let response = app
        .post_form(
            "/admin/assignment/rules",
            &[("match", "source:web_form"), ("reps", &cat_id)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "rule added");
    let page = app.get_html("/admin/assignment").await;
    assert!(page.contains("Source is Web form"), "the rule is listed");

    let web = create_lead(
        &app.browser,
        &[("last_name", "Web"), ("source", "web_form")],
    )
    .await;
    let web2 = create_lead(
        &app.browser,
        &[("last_name", "Web2"), ("source", "web_form")],
    )
    .await;
    let manual = create_lead(
        &app.browser,
        &[("last_name", "Manual"), ("source", "manual")],
    )
    .await;
    let manual2 = create_lead(
        &app.browser,
        &[("last_name", "Manual2"), ("source", "manual")],
    )
    .await;
    assert_eq!(owner_of(&app, web), Some(cat.id));
    assert_eq!(owner_of(&app, web2), Some(cat.id));
    assert_eq!(owner_of(&app, manual), Some(ann.id));
    assert_eq!(owner_of(&app, manual2), Some(bob.id));
}

#[tokio::test]
async fn hot_leads_go_to_the_rotation_for_their_grade() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (ann, cat) = (rep(&app, "ann"), rep(&app, "cat"));
    app.login_as(&admin).await;
    let response = app
        .post_form(
            "/admin/scoring/rules",
            &[
                ("kind", "attribute"),
                ("field", "website"),
                ("operator", "is_set"),
                ("value", ""),
                ("points", "70"),
                ("group_id", ""),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "scoring rule saved"
    );
    turn_on(&app, &app.browser, &[&ann], "4").await;
    let cat_id = cat.id.to_string();
    let response = app
        .post_form(
            "/admin/assignment/rules",
            &[("match", "grade:hot"), ("reps", &cat_id)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "rule added");

    let hot = create_lead(
        &app.browser,
        &[("last_name", "Hot"), ("website", "hot.example")],
    )
    .await;
    let cold = create_lead(&app.browser, &[("last_name", "Cold")]).await;
    let grade: String = leads::table
        .find(hot)
        .select(leads::grade)
        .first(&mut app.conn())
        .expect("the lead");
    assert_eq!(grade, "hot");
    assert_eq!(owner_of(&app, hot), Some(cat.id));
    assert_eq!(owner_of(&app, cold), Some(ann.id));
}

#[tokio::test]
async fn the_assignment_page_is_for_admins_and_refuses_bad_input() {
    let app = spawn_app().await;
    let admin = app.admin();
    let ann = rep(&app, "ann");
    let sales = signed_in(&app, &ann).await;
    assert_eq!(
        sales.get("/admin/assignment").await.status(),
        StatusCode::FORBIDDEN
    );

    app.login_as(&admin).await;
    let page = app.get_html("/admin/assignment").await;
    assert!(page.contains("Round-robin"));
    assert!(page.contains("Sales Tester"), "the rep can be chosen");

    let response = app
        .post_form(
            "/admin/assignment",
            &[("enabled", "on"), ("first_contact_hours", "soon")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert!(body.contains("Enter a whole number of hours"));
    let response = app
        .post_form("/admin/assignment/rules", &[("match", "source:web_form")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("Choose at least one rep")
    );
    let enabled: bool = rapport::db::schema::lead_assignment_settings::table
        .select(rapport::db::schema::lead_assignment_settings::enabled)
        .first(&mut app.conn())
        .expect("settings");
    assert!(!enabled, "nothing saved");
}

#[tokio::test]
async fn the_first_contact_task_is_due_in_the_configured_hours_for_the_assigned_rep() {
    let app = spawn_app().await;
    let admin = app.admin();
    let ann = rep(&app, "ann");
    app.login_as(&admin).await;
    turn_on(&app, &app.browser, &[&ann], "6").await;
    let created_at = app.clock.now();
    let lead = create_lead(
        &app.browser,
        &[("first_name", "Grace"), ("last_name", "Hopper")],
    )
    .await;

    let (title, due_at, assignee): (String, NaiveDateTime, i64) = tasks::table
        .select((tasks::title, tasks::due_at, tasks::assignee_id))
        .first(&mut app.conn())
        .expect("a task");
    assert_eq!(title, "First contact: Grace Hopper");
    assert_eq!(assignee, ann.id);
    assert_eq!(due_at, created_at + Duration::hours(6));
    let linked: i64 = diesel::sql_query("SELECT lead_id AS value FROM tasks")
        .get_result::<LeadLink>(&mut app.conn())
        .expect("the task's lead")
        .value;
    assert_eq!(linked, lead, "the task names its lead");

    let rep_browser = signed_in(&app, &ann).await;
    let tasks_page = rep_browser.get_html("/tasks").await;
    assert!(tasks_page.contains("First contact: Grace Hopper"));
    let lead_page = rep_browser.get_html(&format!("/leads/{lead}")).await;
    assert!(lead_page.contains("Assigned to Sales Tester by round-robin"));
}

#[tokio::test]
async fn the_first_contact_task_shows_on_the_leads_page_and_links_to_the_lead_in_the_task_list() {
    let app = spawn_app().await;
    let admin = app.admin();
    let ann = rep(&app, "ann");
    app.login_as(&admin).await;
    turn_on(&app, &app.browser, &[&ann], "4").await;
    let lead = create_lead(
        &app.browser,
        &[("first_name", "Grace"), ("last_name", "Hopper")],
    )
    .await;
    let (task, task_lead): (i64, Option<i64>) = tasks::table
        .select((tasks::id, tasks::lead_id))
        .first(&mut app.conn())
        .expect("the first-contact task");
    assert_eq!(task_lead, Some(lead));

    let rep_browser = signed_in(&app, &ann).await;
    let lead_page = rep_browser.get_html(&format!("/leads/{lead}")).await;
    let start = lead_page.find("id=\"tasks\"").expect("a tasks panel");
    let panel = &lead_page[start..];
    let panel = &panel[..panel.find("</section>").unwrap_or(panel.len())];
    assert!(panel.contains("First contact: Grace Hopper"), "{panel}");
    assert!(panel.contains(&format!("href=\"/tasks/new?lead={lead}\"")));

    let tasks_page = rep_browser.get_html("/tasks").await;
    assert!(
        tasks_page.contains(&format!("<a href=\"/leads/{lead}\">Grace Hopper</a>")),
        "the task list links to the lead"
    );
    let edit = rep_browser.get_html(&format!("/tasks/{task}/edit")).await;
    assert!(
        edit.contains(&format!("name=\"lead\" value=\"{lead}\"")),
        "editing keeps the link"
    );

    let done = rep_browser
        .post_form(
            &format!("/tasks/{task}/complete"),
            &[("next", &format!("/leads/{lead}#tasks"))],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let lead_page = rep_browser.get_html(&format!("/leads/{lead}")).await;
    assert!(lead_page.contains("Task completed: First contact: Grace Hopper"));

    let unknown = rep_browser.get("/tasks/new?lead=999999").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND, "no such lead");
}

#[derive(QueryableByName)]
struct LeadLink {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    value: i64,
}

#[tokio::test]
async fn the_rep_gets_exactly_one_email_even_when_the_worker_runs_twice() {
    let app = spawn_app().await;
    let admin = app.admin();
    let ann = rep(&app, "ann");
    app.login_as(&admin).await;
    turn_on(&app, &app.browser, &[&ann], "4").await;
    let lead = create_lead(
        &app.browser,
        &[
            ("first_name", "Alan"),
            ("last_name", "Turing"),
            ("company_name", "Bletchley"),
        ],
    )
    .await;

    app.eventually("the rep has the email", || {
        !app.smtp.received_by(&ann.email).is_empty()
    })
    .await;
    let mailer = Mailer::new(
        url::Url::parse(&app.address).expect("url"),
        &rapport::config::default_mail_from(),
    );
    for _ in 0..2 {
        let queued =
            rapport::leads::assignment::queue_emails(&mut app.conn(), app.clock.now(), &mailer)
                .expect("the sweep runs");
        assert_eq!(queued, 0);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let received = app.smtp.received_by(&ann.email);
    assert_eq!(received.len(), 1, "one email");
    assert!(received[0].subject.contains("Alan Turing"));
    assert!(received[0].body.contains(&format!("/leads/{lead}")));
    let keyed: i64 = email_outbox::table
        .filter(email_outbox::idempotency_key.eq(format!("lead-assigned-{lead}")))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(keyed, 1);
}

// ---------------------------------------------------------------------------------------
// Conversion

#[tokio::test]
async fn converting_creates_a_new_contact_company_and_deal() {
    let app = spawn_app().await;
    let admin = app.admin();
    let ann = rep(&app, "ann");
    app.login_as(&admin).await;
    let lead = owned_lead(&app, &app.browser, &ann).await;
    let rep_browser = signed_in(&app, &ann).await;

    let form = rep_browser
        .get_html(&format!("/leads/{lead}/convert"))
        .await;
    assert!(form.contains("Create a new contact Ada Lovelace"));
    assert!(form.contains("analytical.example"), "the domain is shown");

    let stage = stage_id(&app, "Demo scheduled").to_string();
    let response = rep_browser
        .post_form(
            &format!("/leads/{lead}/convert"),
            &[
                ("contact", "new"),
                ("company", "new"),
                ("company_name", "Analytical Engines"),
                ("create_deal", "1"),
                ("deal_title", "Engines for Ada"),
                ("deal_value", "1200.50"),
                ("deal_currency", "EUR"),
                ("pipeline", "1"),
                ("stage", &stage),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, contact, company, deal, version) = lead_status(&app, lead);
    let (contact, company, deal) = (
        contact.expect("a contact"),
        company.expect("a company"),
        deal.expect("a deal"),
    );
    assert_eq!(status, "converted");
    assert_eq!(version, 2);
    assert_eq!(location(&response), format!("/contacts/{contact}"));

    let conn = &mut app.conn();
    let (first, owner, company_of): (String, Option<i64>, Option<i64>) = contacts::table
        .find(contact)
        .select((
            contacts::first_name,
            contacts::owner_id,
            contacts::company_id,
        ))
        .first(conn)
        .expect("contact");
    assert_eq!(
        (first.as_str(), owner, company_of),
        ("Ada", Some(ann.id), Some(company))
    );
    let email: String = contact_emails::table
        .filter(contact_emails::contact_id.eq(contact))
        .select(contact_emails::email)
        .first(conn)
        .expect("email");
    assert_eq!(email, "ada@analytical.example");
    let (name, domain): (String, Option<String>) = companies::table
        .find(company)
        .select((companies::name, companies::domain))
        .first(conn)
        .expect("company");
    assert_eq!(name, "Analytical Engines");
    assert_eq!(domain.as_deref(), Some("analytical.example"));
    let (title, value, deal_company, deal_stage): (String, i64, Option<i64>, i64) = deals::table
        .find(deal)
        .select((
            deals::title,
            deals::value_minor,
            deals::company_id,
            deals::stage_id,
        ))
        .first(conn)
        .expect("deal");
    assert_eq!(title, "Engines for Ada");
    assert_eq!(value, 120_050);
    assert_eq!(deal_company, Some(company));
    assert_eq!(deal_stage.to_string(), stage);
    let linked: Vec<i64> = deal_contacts::table
        .filter(deal_contacts::deal_id.eq(deal))
        .select(deal_contacts::contact_id)
        .load(conn)
        .expect("deal contacts");
    assert_eq!(linked, vec![contact]);
    let audited: i64 = audit_log::table
        .filter(audit_log::target.eq(format!("lead {lead}")))
        .filter(audit_log::action.eq("lead_converted"))
        .count()
        .get_result(conn)
        .expect("audit");
    assert_eq!(audited, 1);

    let contact_page = rep_browser.get_html(&format!("/contacts/{contact}")).await;
    assert!(contact_page.contains("is converted"), "the flash");
}

#[tokio::test]
async fn converting_links_the_company_with_the_leads_domain_and_the_contact_with_its_email() {
    let app = spawn_app().await;
    let admin = app.admin();
    let ann = rep(&app, "ann");
    let company = seed_company(&app, "Analytical Engines Ltd", "analytical.example");
    let contact = seed_contact(&app, "Augusta", "King", "ada@analytical.example");
    app.login_as(&admin).await;
    let lead = owned_lead(&app, &app.browser, &ann).await;
    let rep_browser = signed_in(&app, &ann).await;

    let form = rep_browser
        .get_html(&format!("/leads/{lead}/convert"))
        .await;
    assert!(form.contains("Link the existing company"));
    assert!(form.contains("Analytical Engines Ltd"));
    assert!(form.contains("web domain analytical.example"));
    assert!(form.contains("Link the existing contact"));
    assert!(form.contains("Augusta King"));

    let (contacts_before, companies_before) = (count_contacts(&app), count_companies(&app));
    let response = rep_browser
        .post_form(
            &format!("/leads/{lead}/convert"),
            &[("contact", "existing"), ("company", "existing")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("/contacts/{contact}"));
    assert_eq!(
        count_contacts(&app),
        contacts_before,
        "no duplicate contact"
    );
    assert_eq!(
        count_companies(&app),
        companies_before,
        "no duplicate company"
    );
    let (status, converted_contact, converted_company, deal, _) = lead_status(&app, lead);
    assert_eq!(status, "converted");
    assert_eq!(converted_contact, Some(contact));
    assert_eq!(converted_company, Some(company));
    assert_eq!(deal, None);
    let company_of: Option<i64> = contacts::table
        .find(contact)
        .select(contacts::company_id)
        .first(&mut app.conn())
        .expect("contact");
    assert_eq!(company_of, Some(company), "the contact joins the company");
}

#[tokio::test]
async fn the_leads_timeline_shows_on_the_contact_page_after_conversion() {
    let app = spawn_app().await;
    let admin = app.admin();
    let ann = rep(&app, "ann");
    app.login_as(&admin).await;
    turn_on(&app, &app.browser, &[&ann], "4").await;
    let lead = create_lead(
        &app.browser,
        &[
            ("first_name", "Hedy"),
            ("last_name", "Lamarr"),
            ("email", "hedy@example.org"),
        ],
    )
    .await;
    let rep_browser = signed_in(&app, &ann).await;
    let response = rep_browser
        .post_form(
            &format!("/leads/{lead}/convert"),
            &[("contact", "new"), ("company", "none")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let contact_page = rep_browser.get_html(&location(&response)).await;
    assert!(
        contact_page.contains("Lead created"),
        "the lead's history is there"
    );
    assert!(contact_page.contains("Assigned to Sales Tester by round-robin"));
    assert!(contact_page.contains("Converted from lead Hedy Lamarr"));

    let task_contact: Option<i64> = tasks::table
        .select(tasks::contact_id)
        .first(&mut app.conn())
        .expect("the first-contact task");
    assert!(
        task_contact.is_some(),
        "the first-contact task follows the contact"
    );
}

#[tokio::test]
async fn a_converted_lead_links_to_what_it_became_and_cannot_be_converted_twice() {
    let app = spawn_app().await;
    let admin = app.admin();
    let ann = rep(&app, "ann");
    app.login_as(&admin).await;
    let lead = owned_lead(&app, &app.browser, &ann).await;
    let response = app
        .post_form(
            &format!("/leads/{lead}/convert"),
            &[
                ("contact", "new"),
                ("company", "new"),
                ("company_name", "Analytical Engines"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, contact, company, _, version) = lead_status(&app, lead);
    let (contact, company) = (contact.expect("contact"), company.expect("company"));

    let lead_page = app.get_html(&format!("/leads/{lead}")).await;
    assert!(lead_page.contains(&format!("/contacts/{contact}")));
    assert!(lead_page.contains(&format!("/companies/{company}")));
    let again = app.get_html(&format!("/leads/{lead}/convert")).await;
    assert!(again.contains("already been converted"));
    assert!(again.contains(&format!("/contacts/{contact}")));

    let (contacts_before, companies_before) = (count_contacts(&app), count_companies(&app));
    let response = app
        .post_form(
            &format!("/leads/{lead}/convert"),
            &[
                ("contact", "new"),
                ("company", "new"),
                ("company_name", "Another"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(count_contacts(&app), contacts_before);
    assert_eq!(count_companies(&app), companies_before);
    assert_eq!(lead_status(&app, lead).4, version, "the lead is unchanged");
}

#[tokio::test]
async fn support_agents_and_other_reps_may_not_convert_and_unknown_leads_are_not_found() {
    let app = spawn_app().await;
    let admin = app.admin();
    let ann = rep(&app, "ann");
    let bob = rep(&app, "bob");
    let support = app.create_user("help@example.com", Role::Support);
    app.login_as(&admin).await;
    let lead = owned_lead(&app, &app.browser, &ann).await;
    let path = format!("/leads/{lead}/convert");

    for user in [&support, &bob] {
        let browser = signed_in(&app, user).await;
        assert_eq!(browser.get(&path).await.status(), StatusCode::FORBIDDEN);
        let response = browser
            .post_form(&path, &[("contact", "new"), ("company", "none")])
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(lead_status(&app, lead).0, "new");
    assert_eq!(count_contacts(&app), 0);

    assert_eq!(
        app.get("/leads/999999/convert").await.status(),
        StatusCode::NOT_FOUND
    );
    let response = app
        .post_form("/leads/999999/convert", &[("contact", "new")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_deal_input_is_refused_and_nothing_is_converted() {
    let app = spawn_app().await;
    let admin = app.admin();
    let ann = rep(&app, "ann");
    app.login_as(&admin).await;
    let lead = owned_lead(&app, &app.browser, &ann).await;
    let rep_browser = signed_in(&app, &ann).await;
    let path = format!("/leads/{lead}/convert");
    let stage = stage_id(&app, "Qualified").to_string();

    let response = rep_browser
        .post_form(
            &path,
            &[
                ("contact", "new"),
                ("company", "new"),
                ("company_name", "Analytical Engines"),
                ("create_deal", "1"),
                ("deal_title", "Engines"),
                ("deal_value", "100"),
                ("deal_currency", "EUR"),
                ("pipeline", "1"),
                ("stage", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("Choose a stage")
    );

    let response = rep_browser
        .post_form(
            &path,
            &[
                ("contact", "new"),
                ("company", "new"),
                ("company_name", "Analytical Engines"),
                ("create_deal", "1"),
                ("deal_title", "Engines"),
                ("deal_value", "-5"),
                ("deal_currency", "EUR"),
                ("pipeline", "1"),
                ("stage", &stage),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.expect("body");
    assert!(
        body.contains("deal_value-error"),
        "the error is next to the value"
    );

    assert_eq!(lead_status(&app, lead).0, "new");
    assert_eq!(count_contacts(&app), 0);
    assert_eq!(count_companies(&app), 0);
    let deals_made: i64 = deals::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(deals_made, 0);
}
