//! Leads in search and import: the /search page's Leads section and the lead list's search
//! filter (name prefixes, emails, accent-folded names, kept in step with edits), and the
//! CSV importer's `leads` kind on the web (mapping, preview, bad rows, duplicates,
//! all-or-nothing, source "import" and scores) and on the command line.

#[path = "../common/mod.rs"]
mod common;
use common::*;

use diesel::prelude::*;
use rapport::auth::model::Role;
use rapport::db::schema::{audit_log, import_jobs, leads, timeline_entries};
use rapport::leads::model::Lead;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

// ---------------------------------------------------------------------------------------
// Helpers

fn with<'a>(
    mut fields: Vec<(&'a str, &'a str)>,
    name: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    fields.retain(|(field, _)| *field != name);
    fields.push((name, value));
    fields
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

/// Creates a lead through the lead form; returns its id.
async fn create_lead(browser: &Browser, fields: &[(&str, &str)]) -> i64 {
    let response = browser.post_form("/leads", fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "lead created");
    location(&response)
        .strip_prefix("/leads/")
        .and_then(|rest| rest.parse().ok())
        .expect("a redirect to the new lead")
}

fn lead(app: &TestApp, id: i64) -> Lead {
    leads::table
        .find(id)
        .select(Lead::as_select())
        .first(&mut app.conn())
        .expect("the lead exists")
}

fn all_leads(app: &TestApp) -> Vec<Lead> {
    leads::table
        .order(leads::id)
        .select(Lead::as_select())
        .load(&mut app.conn())
        .expect("leads")
}

fn lead_count(app: &TestApp) -> i64 {
    leads::table
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

fn version_in(page: &str) -> String {
    let marker = "name=\"version\" value=\"";
    let start = page.find(marker).expect("the form has a version") + marker.len();
    let end = page[start..].find('"').expect("the value ends") + start;
    page[start..end].to_owned()
}

/// The part of the search page under the Leads heading.
fn lead_section(page: &str) -> &str {
    let start = page
        .find("id=\"lead-hits\"")
        .expect("the page has a Leads section");
    let rest = &page[start..];
    &rest[..rest.find("</section>").expect("the section ends")]
}

fn links_to(page: &str, id: i64) -> bool {
    page.contains(&format!("href=\"/leads/{id}\""))
}

/// Saves a scoring rule as the signed-in admin.
async fn save_rule(browser: &Browser, fields: &[(&str, &str)]) {
    let all = with(fields.to_vec(), "intent", "save");
    let response = browser.post_form("/admin/scoring/rules", &all).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "rule saved");
}

/// Uploads a file as the lead import page does; returns the response.
async fn upload(browser: &Browser, bytes: &[u8]) -> reqwest::Response {
    let token = browser.csrf_token().await;
    let part = Part::bytes(bytes.to_vec())
        .file_name("leads.csv")
        .mime_str("text/csv")
        .expect("a mime type");
    browser
        .client
        .post(browser.url(&format!("/leads/import?csrf_token={token}")))
        .multipart(Form::new().part("file", part))
        .send()
        .await
        .expect("POST multipart")
}

/// Uploads a file that must be accepted; returns the mapping page's path.
async fn uploaded(browser: &Browser, bytes: &[u8]) -> String {
    let response = upload(browser, bytes).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "upload accepted");
    let path = location(&response);
    assert!(path.starts_with("/leads/import/"), "{path}");
    path
}

/// The value of the selected option of the select `id` in `page`.
fn selected_in(page: &str, id: &str) -> String {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("the page has the select {id}"));
    let select = &page[start..start + page[start..].find("</select>").expect("select ends")];
    let option = select
        .split("<option")
        .find(|option| option.contains(" selected"))
        .expect("an option is selected");
    let value_start = option.find("value=\"").expect("a value") + 7;
    option[value_start..value_start + option[value_start..].find('"').expect("quote")].to_owned()
}

fn count_in(page: &str, class: &str) -> String {
    let marker = format!("class=\"{class}\">");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("the page shows {class}"))
        + marker.len();
    page[start..start + page[start..].find('<').expect("ends")].to_owned()
}

/// Submits the mapping page with these choices; follows to the result page.
async fn import(browser: &Browser, path: &str, fields: &[(&str, &str)]) -> String {
    let response = browser.post_form(path, fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "import started");
    assert_eq!(location(&response), path);
    browser.get_html(path).await
}

const LEADS_CSV: &str = "First Name,Last Name,Email,Company,Company size,Industry,Country,Website,Tags,Status,Phone\n\
Chloé,Brontë,chloe@acme.example,Acme Analytics,\"1,200\",software,Germany,acme.example,trial; VIP,Contacted,+49 30 1234567\n\
Ravi,Patel,ravi@globex.example,Globex,40,retail,India,,,,\n\
Bad,Row,not-an-email,Initech,many,software,,,,converted,\n";

/// The mapping the page guesses for `LEADS_CSV`.
const LEADS_MAPPING: [(&str, &str); 11] = [
    ("column_0", "first_name"),
    ("column_1", "last_name"),
    ("column_2", "email"),
    ("column_3", "company"),
    ("column_4", "employee_count"),
    ("column_5", "industry"),
    ("column_6", "country"),
    ("column_7", "website"),
    ("column_8", "tags"),
    ("column_9", "status"),
    ("column_10", "phone"),
];

fn with_options<'a>(
    mapping: &[(&'a str, &'a str)],
    on_duplicate: &'a str,
    mode: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut fields = mapping.to_vec();
    fields.push(("on_duplicate", on_duplicate));
    fields.push(("mode", mode));
    fields.push(("default_owner", ""));
    fields
}

/// An admin signed in, with one rule: software companies are worth 35 points.
async fn admin_with_a_rule(app: &TestApp) -> TestUser {
    let admin = app.admin();
    app.login_as(&admin).await;
    save_rule(
        app,
        &[
            ("kind", "attribute"),
            ("field", "industry"),
            ("operator", "one_of"),
            ("value", "software, fintech"),
            ("points", "35"),
        ],
    )
    .await;
    admin
}

// ---------------------------------------------------------------------------------------
// Search

#[tokio::test]
async fn a_lead_is_found_by_name_prefix_email_and_accent_folded_name_on_search_and_the_lead_list() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;
    let fields = lead_fields("Chloé", "Brontë", "chloe@acme.example");
    let fields = with(fields, "company_name", "Acme Analytics");
    let chloe = create_lead(&app, &fields).await;
    let bob = create_lead(&app, &lead_fields("Bob", "Smith", "bob@initech.example")).await;

    for typed in [
        "Chlo",
        "chloe@acme.example",
        "chloe bronte",
        "BRONT",
        "acme anal",
    ] {
        let page = app
            .get_html(&format!("/search?q={}", urlencoding(typed)))
            .await;
        let section = lead_section(&page);
        assert!(links_to(section, chloe), "{typed} finds Chloé: {section}");
        assert!(!links_to(section, bob), "{typed} does not find Bob");
        assert!(section.contains("Chloé Brontë"));
        assert!(section.contains("chloe@acme.example · Acme Analytics"));
        assert!(section.contains("grade-cold"), "the grade is shown");
        assert!(
            section.contains("lead-hit-score\">0<"),
            "the score is shown"
        );
        let list = app
            .get_html(&format!("/leads?q={}", urlencoding(typed)))
            .await;
        assert!(links_to(&list, chloe), "/leads?q={typed} lists Chloé");
        assert!(!links_to(&list, bob), "/leads?q={typed} leaves Bob out");
    }
    let page = app.get_html("/search?q=bob").await;
    assert!(links_to(lead_section(&page), bob));
    assert!(page.contains("href=\"/leads?q=bob\""), "a link to the list");

    let page = app.get_html("/search?q=nobody").await;
    assert!(page.contains("No matches for “nobody”"));
    let list = app.get_html("/leads?q=nobody").await;
    assert!(!links_to(&list, chloe) && !links_to(&list, bob));
    let list = app.get_html("/leads?q=").await;
    assert!(links_to(&list, chloe) && links_to(&list, bob), "no filter");
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn an_edit_updates_the_index_so_the_new_name_is_found_and_the_old_one_is_not() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;
    let id = create_lead(&app, &lead_fields("Ada", "Byron", "ada@example.com")).await;
    assert!(links_to(
        lead_section(&app.get_html("/search?q=byron").await),
        id
    ));

    let version = version_in(&app.get_html(&format!("/leads/{id}/edit")).await);
    let fields = lead_fields("Ada", "Lovelace", "countess@example.org");
    let fields = with(fields, "job_title", "Analyst");
    let fields = with(fields, "version", &version);
    let response = app.post_form(&format!("/leads/{id}"), &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let old = app.get_html("/search?q=byron").await;
    assert!(
        old.contains("No matches for “byron”"),
        "the old name is gone"
    );
    assert!(!links_to(&app.get_html("/leads?q=byron").await, id));
    for typed in ["lovel", "countess", "analyst"] {
        let page = app.get_html(&format!("/search?q={typed}")).await;
        assert!(links_to(lead_section(&page), id), "{typed} finds the edit");
    }
}

#[tokio::test]
async fn support_agents_find_leads_and_anonymous_visitors_are_sent_to_sign_in() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;
    let id = create_lead(&app, &lead_fields("Grace", "Hopper", "grace@navy.example")).await;
    app.logout().await;

    let response = app.get("/search?q=grace").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login"));

    let agent = app.create_user("agent@example.com", Role::Support);
    app.login_as(&agent).await;
    assert!(links_to(
        lead_section(&app.get_html("/search?q=hopper").await),
        id
    ));
}

// ---------------------------------------------------------------------------------------
// Import on the web

#[tokio::test]
async fn leads_are_imported_with_source_import_and_scores_and_bad_rows_are_reported() {
    let app = spawn_app().await;
    admin_with_a_rule(&app).await;

    let form = app.get_html("/leads/import").await;
    assert!(form.contains("action=\"/leads/import?csrf_token="));
    let path = uploaded(&app, LEADS_CSV.as_bytes()).await;
    let page = app.get_html(&path).await;
    assert!(page.contains("Import leads"));
    assert!(page.contains("leads.csv: 3 rows."));
    for (column, key) in LEADS_MAPPING {
        assert_eq!(selected_in(&page, column), key, "{column} guessed");
    }
    assert!(page.contains(">Company name</option>"));
    assert!(page.contains("A lead whose email is already known"));
    assert_eq!(
        selected_in(&page, "default_owner"),
        "",
        "the rotation decides"
    );
    assert!(page.contains("<td>Chloé</td>"), "the preview");
    assert!(page.contains("<td>not-an-email</td>"));
    assert_eq!(lead_count(&app), 0, "nothing imported before the choice");

    let summary = import(
        &app,
        &path,
        &with_options(&LEADS_MAPPING, "skip", "skip-bad-rows"),
    )
    .await;
    assert!(summary.contains("Import finished"));
    assert_eq!(count_in(&summary, "import-created"), "2");
    assert_eq!(count_in(&summary, "import-failed"), "1");
    assert!(summary.contains("<td>4</td>"), "the bad row's line");
    for problem in ["Email:", "Company size:", "Status:"] {
        assert!(summary.contains(problem), "{problem} reported");
    }
    assert!(summary.contains("href=\"/leads\""));

    let stored = all_leads(&app);
    assert_eq!(stored.len(), 2);
    let (chloe, ravi) = (&stored[0], &stored[1]);
    assert_eq!(chloe.first_name, "Chloé");
    assert_eq!(chloe.email.as_deref(), Some("chloe@acme.example"));
    assert_eq!(chloe.company_name.as_deref(), Some("Acme Analytics"));
    assert_eq!(chloe.company_size, Some(1200));
    assert_eq!(chloe.country.as_deref(), Some("Germany"));
    assert_eq!(chloe.status, "contacted");
    assert!(stored.iter().all(|lead| lead.source == "import"));
    assert_eq!((chloe.score, chloe.grade.as_str()), (3500, "warm"));
    assert_eq!((ravi.score, ravi.grade.as_str()), (0, "cold"));
    assert_eq!(ravi.status, "new");

    let page = app.get_html(&format!("/leads/{}", chloe.id)).await;
    assert!(page.contains("Lead imported"), "on the timeline");
    assert!(page.contains("href=\"/leads?tag=vip\""), "tags");
    let search = app.get_html("/search?q=bront").await;
    assert!(links_to(lead_section(&search), chloe.id), "indexed");
    let list = app.get_html("/leads?q=globex").await;
    assert!(links_to(&list, ravi.id) && !links_to(&list, chloe.id));
    let audited: i64 = audit_log::table
        .filter(audit_log::action.eq("record_created"))
        .filter(audit_log::target.like("lead %"))
        .count()
        .get_result(&mut app.conn())
        .expect("audit");
    assert_eq!(audited, 2);
}

#[tokio::test]
async fn duplicate_emails_are_skipped_or_update_the_lead_which_is_rescored_and_reindexed() {
    let app = spawn_app().await;
    admin_with_a_rule(&app).await;
    let fields = lead_fields("Chloe", "Old", "chloe@acme.example");
    let fields = with(fields, "industry", "retail");
    let fields = with(fields, "tags", "existing");
    let fields = with(fields, "source", "referral");
    let id = create_lead(&app, &fields).await;
    assert_eq!(lead(&app, id).score, 0);

    let path = uploaded(&app, LEADS_CSV.as_bytes()).await;
    let summary = import(
        &app,
        &path,
        &with_options(&LEADS_MAPPING, "skip", "skip-bad-rows"),
    )
    .await;
    assert_eq!(count_in(&summary, "import-created"), "1");
    assert_eq!(count_in(&summary, "import-skipped"), "1");
    assert!(summary.contains("A lead with the email chloe@acme.example exists (Chloe Old)."));
    assert_eq!(
        lead(&app, id).last_name,
        "Old",
        "a skipped row changes nothing"
    );

    let path = uploaded(&app, LEADS_CSV.as_bytes()).await;
    let summary = import(
        &app,
        &path,
        &with_options(&LEADS_MAPPING, "update", "skip-bad-rows"),
    )
    .await;
    assert_eq!(count_in(&summary, "import-created"), "0");
    assert_eq!(
        count_in(&summary, "import-updated"),
        "2",
        "both rows known now"
    );
    let updated = lead(&app, id);
    assert_eq!(updated.last_name, "Brontë");
    assert_eq!(updated.industry.as_deref(), Some("software"));
    assert_eq!(updated.status, "contacted");
    assert_eq!(
        updated.source, "referral",
        "the lead keeps where it came from"
    );
    assert_eq!((updated.score, updated.grade.as_str()), (3500, "warm"));
    assert_eq!(updated.version, 2);
    let page = app.get_html(&format!("/leads/{id}")).await;
    assert!(page.contains("Lead details changed by an import"));
    assert!(page.contains("href=\"/leads?tag=existing\"") && page.contains("?tag=trial\""));
    let old = app.get_html("/search?q=old").await;
    assert!(!links_to(&old, id), "re-indexed: the old name is gone");
    assert!(links_to(
        lead_section(&app.get_html("/search?q=acme").await),
        id
    ));
    assert_eq!(lead_count(&app), 2);
}

#[tokio::test]
async fn all_or_nothing_imports_no_lead_when_any_row_is_bad() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;
    let path = uploaded(&app, LEADS_CSV.as_bytes()).await;
    let summary = import(
        &app,
        &path,
        &with_options(&LEADS_MAPPING, "skip", "all-or-nothing"),
    )
    .await;
    assert!(summary.contains("Nothing was imported: 1 of 3 rows have problems."));
    assert_eq!(count_in(&summary, "import-created"), "0");
    assert_eq!(lead_count(&app), 0);
    let entries: i64 = timeline_entries::table
        .filter(timeline_entries::lead_id.is_not_null())
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(entries, 0);
    assert!(
        !app.get_html("/search?q=chloe").await.contains("/leads/"),
        "nothing indexed"
    );
}

#[tokio::test]
async fn a_mapping_without_a_name_or_an_email_is_refused_and_nothing_is_imported() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;
    let path = uploaded(&app, LEADS_CSV.as_bytes()).await;
    let mapping = [("column_3", "company"), ("column_5", "industry")];
    let response = app
        .post_form(&path, &with_options(&mapping, "skip", "skip-bad-rows"))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.expect("body");
    assert!(page.contains("Choose a column for First name, Last name, Full name or Email."));
    let contact_field = [("column_0", "lifecycle_stage")];
    let response = app
        .post_form(
            &path,
            &with_options(&contact_field, "skip", "skip-bad-rows"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("Choose a field from the list for every column.")
    );
    assert_eq!(lead_count(&app), 0);
    let waiting: String = import_jobs::table
        .select(import_jobs::status)
        .first(&mut app.conn())
        .expect("the job");
    assert_eq!(
        waiting, "uploaded",
        "the file still waits for a good mapping"
    );
}

#[tokio::test]
async fn support_agents_may_not_import_leads_and_a_contacts_upload_is_not_a_lead_import() {
    let app = spawn_app().await;
    let agent = app.create_user("agent@example.com", Role::Support);
    app.login_as(&agent).await;
    assert_eq!(
        app.get("/leads/import").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        upload(&app, LEADS_CSV.as_bytes()).await.status(),
        StatusCode::FORBIDDEN
    );
    app.logout().await;

    app.login_as(&app.admin()).await;
    let path = uploaded(&app, LEADS_CSV.as_bytes()).await;
    let token = path.trim_start_matches("/leads/import/");
    assert_eq!(
        app.get(&format!("/contacts/import/{token}")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/leads/import/no-such-token").await.status(),
        StatusCode::NOT_FOUND
    );
}

// ---------------------------------------------------------------------------------------
// Import on the command line

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn rapport_import(app: &TestApp, args: &[&str]) -> Run {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    rapport(app, &all)
}

#[tokio::test]
async fn the_command_line_imports_leads_with_the_same_rules_and_reports_bad_rows() {
    let app = spawn_app().await;
    let admin = admin_with_a_rule(&app).await;
    let file = app.data_dir.path().join("leads.csv");
    std::fs::write(&file, LEADS_CSV).expect("file written");
    let path = file.display().to_string();

    let run = rapport_import(&app, &["leads", &path]);
    assert_ne!(run.code, Some(0), "all-or-nothing with a bad row");
    assert!(run.stdout.contains("line 4: Email:"), "{}", run.stdout);
    assert!(run.stdout.contains("Nothing was imported"));
    assert_eq!(lead_count(&app), 0);

    let run = rapport_import(
        &app,
        &[
            "leads",
            &path,
            "--mode",
            "skip-bad-rows",
            "--owner",
            "admin@example.com",
        ],
    );
    assert_eq!(run.code, Some(0), "{} {}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("3 rows: 2 created, 0 updated, 0 skipped, 1 failed."),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("column \"Company size\" → employee_count"),
        "{}",
        run.stderr
    );
    let stored = all_leads(&app);
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|lead| lead.source == "import"));
    assert!(stored.iter().all(|lead| lead.owner_id == Some(admin.id)));
    assert_eq!(stored[0].score, 3500, "scored with the rules of the moment");
    assert!(links_to(
        lead_section(&app.get_html("/search?q=globex").await),
        stored[1].id
    ));

    let run = rapport_import(
        &app,
        &[
            "leads",
            &path,
            "--mode",
            "skip-bad-rows",
            "--on-duplicate",
            "skip",
        ],
    );
    assert_ne!(run.code, Some(0), "only duplicates: nothing imported");
    assert!(run.stdout.contains("2 skipped"), "{}", run.stdout);
}

// ---------------------------------------------------------------------------------------
// Demo data

fn rapport(app: &TestApp, args: &[&str]) -> Run {
    let database = app.data_dir.path().join("rapport.db");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rapport"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("RAPPORT_")) {
        command.env_remove(name);
    }
    let output = command
        .args(args)
        .current_dir(app.data_dir.path())
        .env(
            "RAPPORT_DATABASE_URL",
            format!("sqlite://{}", database.display()),
        )
        .env("RAPPORT_MAIL_DIR", app.data_dir.path().join("mail"))
        .env("RAPPORT_LOG", "warn")
        .output()
        .expect("rapport runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test]
async fn seed_demo_adds_scored_searchable_leads_with_events_over_the_sales_reps_and_rules_once() {
    use rapport::db::schema::{lead_events, scoring_rules, users};
    let app = spawn_app().await;
    let admin = app.admin();
    let rep = app.create_user("rep@example.com", Role::Sales);
    let other = app.create_user("other.rep@example.com", Role::Sales);
    let args = [
        "seed-demo",
        "--contacts",
        "0",
        "--open-deals",
        "0",
        "--closed-deals",
        "0",
        "--leads",
        "400",
        "--lead-events",
        "4000",
    ];
    let run = rapport(&app, &args);
    assert_eq!(run.code, Some(0), "{} {}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("seeded 400 leads with 4000 events and 22 new scoring rules"),
        "{}",
        run.stdout
    );
    let stored = all_leads(&app);
    assert_eq!(stored.len(), 400);
    let events: i64 = lead_events::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(events, 4000);
    let rules: i64 = scoring_rules::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(rules, 22);
    let version = rapport::leads::scoring::rules::version(&mut app.conn()).expect("version");
    assert!(stored.iter().all(|lead| lead.scored_version == version));
    for grade in ["hot", "warm", "cold"] {
        assert!(
            stored.iter().any(|lead| lead.grade == grade),
            "some leads are {grade}"
        );
    }
    let owners: std::collections::HashSet<Option<i64>> =
        stored.iter().map(|lead| lead.owner_id).collect();
    assert!(owners.contains(&Some(rep.id)) && owners.contains(&Some(other.id)));
    assert!(
        !owners.contains(&Some(admin.id)),
        "leads go to the sales reps"
    );
    let sources: std::collections::HashSet<&str> =
        stored.iter().map(|lead| lead.source.as_str()).collect();
    assert!(sources.len() >= 5, "{sources:?}");

    app.login_as(&admin).await;
    let hot = stored
        .iter()
        .max_by_key(|lead| (lead.score, lead.id))
        .expect("a lead");
    let list = app.get_html("/leads").await;
    assert!(
        links_to(&list, hot.id),
        "the best lead is on the first page"
    );
    let page = app
        .get_html(&format!("/search?q={}", urlencoding(&hot.last_name)))
        .await;
    assert!(
        page.contains("id=\"lead-hits\""),
        "seeded leads are indexed"
    );
    let lead_page = app.get_html(&format!("/leads/{}", hot.id)).await;
    assert!(lead_page.contains("page_view /"), "events on the timeline");

    let run = rapport(&app, &args);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains("and 0 new scoring rules"),
        "{}",
        run.stdout
    );
    assert_eq!(lead_count(&app), 800);
    let active: i64 = users::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(active, 3, "no demo users where users exist");
}
