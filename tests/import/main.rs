//! CSV import of contacts and companies: the upload, mapping and preview pages, the options
//! for duplicates and bad rows, every kind of malformed file, permissions, CSRF, the
//! background job for large files, and the `rapport import` command.

#[path = "../common/mod.rs"]
mod common;
use common::*;

use diesel::prelude::*;
use rapport::auth::model::Role;
use rapport::clock::Clock;
use rapport::db::schema::{audit_log, companies, contact_emails, contacts, import_jobs};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

const PEOPLE: &str = "Given name,Surname,E-mail,Mobile,Organization,Tags,Stage\n\
Ada,Lovelace,ada@example.com,+44 20 1234 5678,Analytical Engines,vip; math,Customer\n\
Grace,Hopper,grace@example.com,,Navy,,lead\n\
Alan,Turing,alan@example.com,,Analytical Engines,,\n";

async fn upload_with(
    browser: &Browser,
    kind: &str,
    bytes: Vec<u8>,
    token: Option<&str>,
) -> reqwest::Response {
    let part = Part::bytes(bytes)
        .file_name("people.csv")
        .mime_str("text/csv")
        .expect("a mime type");
    let form = Form::new().part("file", part);
    let path = match token {
        Some(token) => format!("/{kind}/import?csrf_token={token}"),
        None => format!("/{kind}/import"),
    };
    browser
        .client
        .post(browser.url(&path))
        .multipart(form)
        .send()
        .await
        .expect("POST multipart")
}

/// Uploads a file as the page's form does; returns the response.
async fn upload(browser: &Browser, kind: &str, bytes: &[u8]) -> reqwest::Response {
    let token = browser.csrf_token().await;
    upload_with(browser, kind, bytes.to_vec(), Some(&token)).await
}

/// Uploads a file that must be accepted; returns the mapping page's path.
async fn uploaded(browser: &Browser, kind: &str, bytes: &[u8]) -> String {
    let response = upload(browser, kind, bytes).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "upload accepted");
    let path = location(&response);
    assert!(path.starts_with(&format!("/{kind}/import/")), "{path}");
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

/// Submits the mapping page with these choices; follows to the result page.
async fn import(browser: &Browser, path: &str, fields: &[(&str, &str)]) -> String {
    let response = browser.post_form(path, fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "import started");
    assert_eq!(location(&response), path);
    browser.get_html(path).await
}

fn contact_count(app: &TestApp) -> i64 {
    contacts::table
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

fn job_count(app: &TestApp) -> i64 {
    import_jobs::table
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

fn count_in(page: &str, class: &str) -> String {
    let marker = format!("class=\"{class}\">");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("the page shows {class}"))
        + marker.len();
    page[start..start + page[start..].find('<').expect("ends")].to_owned()
}

const PEOPLE_MAPPING: [(&str, &str); 7] = [
    ("column_0", "first_name"),
    ("column_1", "last_name"),
    ("column_2", "email"),
    ("column_3", "phone"),
    ("column_4", "company"),
    ("column_5", "tags"),
    ("column_6", "lifecycle_stage"),
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

#[tokio::test]
async fn contacts_are_imported_with_their_columns_mapped_automatically() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let list = app.get_html("/contacts").await;
    assert!(
        list.contains("href=\"/contacts/import\""),
        "the list links to the import"
    );

    let path = uploaded(&app, "contacts", PEOPLE.as_bytes()).await;
    let page = app.get_html(&path).await;
    for (column, field) in PEOPLE_MAPPING {
        assert_eq!(selected_in(&page, column), field, "{column}");
    }
    assert_eq!(selected_in(&page, "default_owner"), admin.id.to_string());
    assert!(page.contains("Lovelace") && page.contains("Hopper"));

    let admin_id = admin.id.to_string();
    let mut fields = with_options(&PEOPLE_MAPPING, "skip", "skip-bad-rows");
    fields.retain(|(name, _)| *name != "default_owner");
    fields.push(("default_owner", &admin_id));
    let result = import(&app, &path, &fields).await;
    assert!(result.contains("Import finished"), "{result}");
    assert_eq!(count_in(&result, "import-created"), "3");
    assert_eq!(count_in(&result, "import-failed"), "0");

    let mut conn = app.conn();
    let (first, stage, company_id, owner): (String, String, Option<i64>, Option<i64>) =
        contacts::table
            .filter(contacts::last_name.eq("Lovelace"))
            .select((
                contacts::first_name,
                contacts::lifecycle_stage,
                contacts::company_id,
                contacts::owner_id,
            ))
            .first(&mut conn)
            .expect("Ada was imported");
    assert_eq!(first, "Ada");
    assert_eq!(stage, "customer");
    assert_eq!(
        owner,
        Some(admin.id),
        "rows without an owner get the default"
    );
    let engines: Vec<i64> = companies::table
        .filter(companies::name.eq("Analytical Engines"))
        .select(companies::id)
        .load(&mut conn)
        .expect("companies");
    assert_eq!(
        engines.len(),
        1,
        "the company is created once and matched after"
    );
    assert_eq!(company_id, Some(engines[0]));
    let created: i64 = audit_log::table
        .filter(audit_log::action.eq("record_created"))
        .filter(audit_log::target.like("contact %"))
        .count()
        .get_result(&mut conn)
        .expect("audit");
    assert_eq!(created, 3, "every imported contact has its audit row");
    drop(conn);

    let found = app.get_html("/search?q=lovela").await;
    assert!(
        found.contains("Ada Lovelace"),
        "imported contacts are searchable"
    );
    let found = app.get_html("/search?q=grace%40example.com").await;
    assert!(found.contains("Grace Hopper"));
    let page = app.get_html(&path).await;
    assert!(page.contains("Import finished"), "the summary stays");
    let content: Option<Vec<u8>> = import_jobs::table
        .select(import_jobs::content)
        .first(&mut app.conn())
        .expect("the job");
    assert_eq!(
        content, None,
        "the uploaded file is dropped after the import"
    );
}

#[tokio::test]
async fn a_corrected_mapping_is_used_and_ignored_columns_are_not_imported() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;
    let csv = "Nom,E-mail,Secret\nCurie,marie@example.com,hunter2\n";
    let path = uploaded(&app, "contacts", csv.as_bytes()).await;
    let page = app.get_html(&path).await;
    assert_eq!(
        selected_in(&page, "column_0"),
        "",
        "an unknown header is ignored"
    );
    assert_eq!(selected_in(&page, "column_2"), "");

    let refused = app
        .post_form(
            &path,
            &with_options(&[("column_1", "email")], "skip", "skip-bad-rows"),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .expect("body")
            .contains("Choose a column for First name, Last name or Full name.")
    );
    assert_eq!(contact_count(&app), 0);

    let result = import(
        &app,
        &path,
        &with_options(
            &[("column_0", "last_name"), ("column_1", "email")],
            "skip",
            "skip-bad-rows",
        ),
    )
    .await;
    assert_eq!(count_in(&result, "import-created"), "1");
    let (last, description): (String, Option<String>) = contacts::table
        .select((contacts::last_name, contacts::description))
        .first(&mut app.conn())
        .expect("imported");
    assert_eq!(last, "Curie");
    assert_eq!(description, None);
}

#[tokio::test]
async fn the_preview_shows_the_first_five_rows() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;
    let mut csv = "First name\n".to_owned();
    for n in 1..=7 {
        csv.push_str(&format!("Person{n}\n"));
    }
    let path = uploaded(&app, "contacts", csv.as_bytes()).await;
    let page = app.get_html(&path).await;
    assert!(page.contains("7 rows"));
    for n in 1..=5 {
        assert!(page.contains(&format!("<td>Person{n}</td>")), "row {n}");
    }
    assert!(!page.contains("Person6"));
    assert_eq!(contact_count(&app), 0, "nothing is imported by the preview");
}

#[tokio::test]
async fn duplicates_by_email_are_skipped_or_updated_as_chosen() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;
    let path = uploaded(&app, "contacts", PEOPLE.as_bytes()).await;
    import(
        &app,
        &path,
        &with_options(&PEOPLE_MAPPING, "skip", "skip-bad-rows"),
    )
    .await;

    let again = "First name,Email,Job title\nAda,ADA@example.com,Countess\nNew,new@example.com,\n";
    let mapping = [
        ("column_0", "first_name"),
        ("column_1", "email"),
        ("column_2", "job_title"),
    ];
    let path = uploaded(&app, "contacts", again.as_bytes()).await;
    let result = import(
        &app,
        &path,
        &with_options(&mapping, "skip", "skip-bad-rows"),
    )
    .await;
    assert_eq!(count_in(&result, "import-created"), "1");
    assert_eq!(count_in(&result, "import-skipped"), "1");
    assert!(result.contains("A contact with the email ada@example.com exists"));
    let title = |app: &TestApp| -> Option<String> {
        contacts::table
            .filter(contacts::last_name.eq("Lovelace"))
            .select(contacts::job_title)
            .first(&mut app.conn())
            .expect("Ada")
    };
    assert_eq!(title(&app), None, "a skipped duplicate changes nothing");

    let path = uploaded(&app, "contacts", again.as_bytes()).await;
    let result = import(
        &app,
        &path,
        &with_options(&mapping, "update", "skip-bad-rows"),
    )
    .await;
    assert_eq!(count_in(&result, "import-updated"), "2");
    assert_eq!(count_in(&result, "import-created"), "0");
    assert_eq!(title(&app).as_deref(), Some("Countess"));
    let last: String = contacts::table
        .filter(contacts::first_name.eq("Ada"))
        .select(contacts::last_name)
        .first(&mut app.conn())
        .expect("Ada");
    assert_eq!(last, "Lovelace", "fields the file does not fill are kept");
    let updated: i64 = audit_log::table
        .filter(audit_log::action.eq("record_updated"))
        .filter(audit_log::details.like("%Countess%"))
        .count()
        .get_result(&mut app.conn())
        .expect("audit");
    assert_eq!(updated, 1);
    assert_eq!(contact_count(&app), 4);
}

const WITH_BAD_ROWS: &str = "First name,Email\n\
Good,good@example.com\n\
Bad,not-an-email\n\
Also good,also@example.com\n\
Short\n\
,nobody@example.com\n";

#[tokio::test]
async fn all_or_nothing_writes_nothing_and_lists_every_bad_row() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;
    let path = uploaded(&app, "contacts", WITH_BAD_ROWS.as_bytes()).await;
    let mapping = [("column_0", "first_name"), ("column_1", "email")];
    let result = import(
        &app,
        &path,
        &with_options(&mapping, "skip", "all-or-nothing"),
    )
    .await;
    assert!(result.contains("Nothing was imported: 3 of 5 rows have problems"));
    assert!(result.contains("<td>3</td><td>Email: &#34;not-an-email&#34; is not a valid email"));
    assert!(result.contains("<td>5</td><td>The row has 1 columns but the header has 2."));
    assert!(result.contains("<td>6</td><td>First name: Enter a first or a last name."));
    assert_eq!(contact_count(&app), 0);
}

#[tokio::test]
async fn skip_bad_rows_imports_the_good_rows_and_reports_the_bad_ones() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;
    let path = uploaded(&app, "contacts", WITH_BAD_ROWS.as_bytes()).await;
    let mapping = [("column_0", "first_name"), ("column_1", "email")];
    let result = import(
        &app,
        &path,
        &with_options(&mapping, "skip", "skip-bad-rows"),
    )
    .await;
    assert_eq!(count_in(&result, "import-created"), "2");
    assert_eq!(count_in(&result, "import-failed"), "3");
    assert!(result.contains("<td>3</td>"));
    assert!(result.contains("<td>5</td>"));
    assert!(result.contains("<td>6</td>"));
    assert_eq!(contact_count(&app), 2);
    let emails: Vec<String> = contact_emails::table
        .select(contact_emails::email)
        .order(contact_emails::email.asc())
        .load(&mut app.conn())
        .expect("emails");
    assert_eq!(emails, vec!["also@example.com", "good@example.com"]);
}

#[tokio::test]
async fn malformed_files_are_refused_with_a_clear_reason_and_nothing_is_kept() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;
    let mut too_large = b"First name\n".to_vec();
    too_large.resize(10 * 1024 * 1024 + 1, b'a');
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "The file is empty."),
        (
            "header only",
            b"First name,Email\n".to_vec(),
            "The file has a header row but no data rows",
        ),
        (
            "not UTF-8",
            b"First name\nJos\xe9\n".to_vec(),
            "The file is not UTF-8 text (the first invalid byte is on line 2)",
        ),
        (
            "unclosed quote",
            b"First name,Notes\nAda,\"never closed\nGrace,x\n".to_vec(),
            "broken quoting on line 2: a quoted field is never closed",
        ),
        (
            "stray quote",
            b"First name,Notes\nAda,x\nGrace,a\"b\n".to_vec(),
            "broken quoting on line 3",
        ),
        (
            "too large",
            too_large,
            "The file is larger than the 10 MB limit",
        ),
    ];
    for (what, bytes, message) in cases {
        let response = upload(&app, "contacts", &bytes).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}"
        );
        let page = response.text().await.expect("body");
        assert!(page.contains(message), "{what}: {page}");
    }
    assert_eq!(job_count(&app), 0, "no refused file is kept");
    assert_eq!(contact_count(&app), 0);
}

#[tokio::test]
async fn support_agents_may_not_import_and_anonymous_visitors_are_sent_to_sign_in() {
    let app = spawn_app().await;
    let response = app.get("/contacts/import").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login?next="));

    let support = app.create_user("support@example.com", Role::Support);
    app.login_as(&support).await;
    assert_eq!(
        app.get("/contacts/import").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get("/companies/import").await.status(),
        StatusCode::FORBIDDEN
    );
    let list = app.get_html("/contacts").await;
    assert!(
        !list.contains("/contacts/import"),
        "no Import link for support"
    );
    let response = upload(&app, "contacts", PEOPLE.as_bytes()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(contact_count(&app), 0);
    assert_eq!(job_count(&app), 0);
}

#[tokio::test]
async fn another_users_upload_cannot_be_seen_or_imported() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;
    let path = uploaded(&app, "contacts", PEOPLE.as_bytes()).await;

    let other = app.open_browser();
    other
        .login_as(&app.create_user("sales@example.com", Role::Sales))
        .await;
    assert_eq!(other.get(&path).await.status(), StatusCode::NOT_FOUND);
    let response = other
        .post_form(
            &path,
            &with_options(&PEOPLE_MAPPING, "skip", "skip-bad-rows"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(contact_count(&app), 0);
}

#[tokio::test]
async fn a_multipart_upload_without_the_right_csrf_token_is_refused() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;
    let response = upload_with(&app, "contacts", PEOPLE.as_bytes().to_vec(), None).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = upload_with(
        &app,
        "contacts",
        PEOPLE.as_bytes().to_vec(),
        Some("wrong-token-wrong-token-wrong-token-wrong-t"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(job_count(&app), 0);
}

#[tokio::test]
async fn companies_are_imported_and_matched_by_domain() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;
    let csv = "Company name,Website,Industry,Size\n\
Acme,https://www.acme.com/,Rockets,\"1,200\"\n\
Globex,globex.example,,\n";
    let path = uploaded(&app, "companies", csv.as_bytes()).await;
    let page = app.get_html(&path).await;
    assert_eq!(selected_in(&page, "column_0"), "name");
    assert_eq!(selected_in(&page, "column_1"), "domain");
    assert_eq!(selected_in(&page, "column_3"), "employee_count");
    let mapping = [
        ("column_0", "name"),
        ("column_1", "domain"),
        ("column_2", "industry"),
        ("column_3", "employee_count"),
    ];
    let result = import(
        &app,
        &path,
        &with_options(&mapping, "skip", "all-or-nothing"),
    )
    .await;
    assert_eq!(count_in(&result, "import-created"), "2");

    let update = "Name,Domain,Industry\nACME Corp,acme.com,Anvils\n";
    let path = uploaded(&app, "companies", update.as_bytes()).await;
    let result = import(
        &app,
        &path,
        &with_options(
            &[
                ("column_0", "name"),
                ("column_1", "domain"),
                ("column_2", "industry"),
            ],
            "update",
            "all-or-nothing",
        ),
    )
    .await;
    assert_eq!(count_in(&result, "import-updated"), "1");
    let rows: Vec<(String, Option<String>, Option<i32>)> = companies::table
        .filter(companies::domain.eq("acme.com"))
        .select((
            companies::name,
            companies::industry,
            companies::employee_count,
        ))
        .load(&mut app.conn())
        .expect("acme");
    assert_eq!(
        rows,
        vec![(
            "ACME Corp".to_owned(),
            Some("Anvils".to_owned()),
            Some(1200)
        )]
    );
    let found = app.get_html("/search?q=globex").await;
    assert!(found.contains("Globex"));
}

#[tokio::test]
async fn a_large_file_is_imported_in_the_background_with_progress_and_a_summary() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;
    let mut csv = "Name,Domain\n".to_owned();
    for n in 0..5_001 {
        csv.push_str(&format!("Company {n},c{n}.example\n"));
    }
    csv.push_str("Bad,not a domain\n");
    let path = uploaded(&app, "companies", csv.as_bytes()).await;
    let page = app.get_html(&path).await;
    assert!(page.contains("imported in the background"));
    let response = app
        .post_form(
            &path,
            &with_options(
                &[("column_0", "name"), ("column_1", "domain")],
                "skip",
                "skip-bad-rows",
            ),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let status = |app: &TestApp| -> String {
        import_jobs::table
            .select(import_jobs::status)
            .first(&mut app.conn())
            .expect("the job")
    };
    app.eventually("the import finishes", || status(&app) == "done")
        .await;
    let result = app.get_html(&path).await;
    assert_eq!(count_in(&result, "import-created"), "5001");
    assert_eq!(count_in(&result, "import-failed"), "1");
    assert!(
        result.contains("<td>5003</td><td>Web domain: Enter a web domain like example.com.</td>")
    );
    let stored: i64 = companies::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(stored, 5001);
    let (processed, total): (i32, i32) = import_jobs::table
        .select((import_jobs::processed_rows, import_jobs::total_rows))
        .first(&mut app.conn())
        .expect("the job");
    assert_eq!((processed, total), (5002, 5002));

    // While a job runs, its page is a progress bar that refreshes itself.
    let token = path.rsplit('/').next().expect("a token");
    diesel::update(import_jobs::table.filter(import_jobs::token.eq(token)))
        .set((
            import_jobs::status.eq("running"),
            import_jobs::processed_rows.eq(2000),
        ))
        .execute(&mut app.conn())
        .expect("marked running");
    let progress = app.get_html(&path).await;
    assert!(progress.contains("<meta http-equiv=\"refresh\" content=\"2\">"));
    assert!(progress.contains("<progress max=\"5002\" value=\"2000\">"));
    assert!(progress.contains("2000 of 5002 rows done"));

    // Nothing heard of it for longer than an import's longest transaction: the page says
    // it was interrupted and how far it got, instead of a progress bar forever.
    app.clock.advance(chrono::Duration::minutes(16));
    let interrupted = app.get_html(&path).await;
    assert!(!interrupted.contains("http-equiv=\"refresh\""));
    assert!(
        interrupted.contains("interrupted (the server stopped) after 2000 of 5002 rows"),
        "{interrupted}"
    );
    assert_eq!(status(&app), "failed");
}

#[tokio::test]
async fn an_import_cut_off_by_a_restart_is_marked_interrupted_when_the_server_starts_again() {
    let app = spawn_app().await;
    app.login_as(&app.admin()).await;
    let path = uploaded(&app, "contacts", b"Email\nada@example.com\n").await;
    let token = path.rsplit('/').next().expect("a token").to_owned();
    diesel::update(import_jobs::table.filter(import_jobs::token.eq(&token)))
        .set((
            import_jobs::status.eq("running"),
            import_jobs::processed_rows.eq(0),
            import_jobs::heartbeat_at.eq(app.clock.now()),
        ))
        .execute(&mut app.conn())
        .expect("marked running");

    let database = app.data_dir.path().join("rapport.db").display().to_string();
    let _restarted = spawn_app_with(|settings| settings.database_path = database).await;

    let (status, report): (String, String) = import_jobs::table
        .filter(import_jobs::token.eq(&token))
        .select((import_jobs::status, import_jobs::report))
        .first(&mut app.conn())
        .expect("the job");
    assert_eq!(status, "failed");
    assert!(report.contains("interrupted"), "{report}");
    let page = app.get_html(&path).await;
    assert!(page.contains("after 0 of 1 rows"), "{page}");
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn rapport_import(app: &TestApp, args: &[&str]) -> Run {
    let database = app.data_dir.path().join("rapport.db");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rapport"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("RAPPORT_")) {
        command.env_remove(name);
    }
    let output = command
        .arg("import")
        .args(args)
        .current_dir(app.data_dir.path())
        .env(
            "RAPPORT_DATABASE_URL",
            format!("sqlite://{}", database.display()),
        )
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
async fn the_command_line_imports_with_the_same_rules_and_reports_bad_rows() {
    let app = spawn_app().await;
    let admin = app.admin();
    let file = app.data_dir.path().join("people.csv");
    std::fs::write(&file, WITH_BAD_ROWS).expect("file written");
    let path = file.display().to_string();

    let run = rapport_import(&app, &["contacts", &path]);
    assert_ne!(
        run.code,
        Some(0),
        "all-or-nothing with bad rows imports nothing"
    );
    assert!(run.stdout.contains("line 3: Email:"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Nothing was imported"),
        "{}",
        run.stdout
    );
    assert_eq!(contact_count(&app), 0);

    let run = rapport_import(
        &app,
        &[
            "contacts",
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
            .contains("5 rows: 2 created, 0 updated, 0 skipped, 3 failed."),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("line 5: The row has 1 columns"));
    assert!(
        run.stderr.contains("column \"Email\" → email"),
        "{}",
        run.stderr
    );
    let owners: Vec<Option<i64>> = contacts::table
        .select(contacts::owner_id)
        .load(&mut app.conn())
        .expect("owners");
    assert_eq!(owners, vec![Some(admin.id), Some(admin.id)]);
    let created: i64 = audit_log::table
        .filter(audit_log::action.eq("record_created"))
        .count()
        .get_result(&mut app.conn())
        .expect("audit");
    assert_eq!(created, 2);

    let run = rapport_import(
        &app,
        &[
            "contacts",
            &path,
            "--on-duplicate",
            "skip",
            "--mode",
            "skip-bad-rows",
        ],
    );
    assert_ne!(run.code, Some(0), "only duplicates: nothing imported");
    assert!(run.stdout.contains("2 skipped"), "{}", run.stdout);

    std::fs::write(&file, b"First name\nJos\xe9\n").expect("file written");
    let run = rapport_import(&app, &["contacts", &path]);
    assert_ne!(run.code, Some(0));
    assert!(run.stderr.contains("not UTF-8"), "{}", run.stderr);
}

#[tokio::test]
async fn a_sales_rep_cannot_update_a_contact_owned_by_someone_else_through_an_import() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let admin_id = admin.id.to_string();
    let path = uploaded(&app, "contacts", PEOPLE.as_bytes()).await;
    let mut fields = with_options(&PEOPLE_MAPPING, "skip", "skip-bad-rows");
    fields.retain(|(name, _)| *name != "default_owner");
    fields.push(("default_owner", &admin_id));
    import(&app, &path, &fields).await;

    let rep = app.create_user("rep@example.com", Role::Sales);
    let browser = app.open_browser();
    browser.login_as(&rep).await;
    let csv = "First name,Email,Title\nAda,ada@example.com,Hacked\nRita,rita@example.com,Rep\n";
    let path = uploaded(&browser, "contacts", csv.as_bytes()).await;
    let page = browser.get_html(&path).await;
    assert_eq!(selected_in(&page, "default_owner"), rep.id.to_string());
    let rep_id = rep.id.to_string();
    let mut fields = with_options(
        &[
            ("column_0", "first_name"),
            ("column_1", "email"),
            ("column_2", "job_title"),
        ],
        "update",
        "skip-bad-rows",
    );
    fields.retain(|(name, _)| *name != "default_owner");
    fields.push(("default_owner", &rep_id));
    let result = import(&browser, &path, &fields).await;
    assert_eq!(count_in(&result, "import-created"), "1");
    assert_eq!(count_in(&result, "import-failed"), "1");
    assert!(result.contains("<td>2</td><td>The existing record belongs to someone else"));
    let title: Option<String> = contacts::table
        .filter(contacts::last_name.eq("Lovelace"))
        .select(contacts::job_title)
        .first(&mut app.conn())
        .expect("Ada");
    assert_eq!(title, None);
    let owner: Option<i64> = contacts::table
        .filter(contacts::first_name.eq("Rita"))
        .select(contacts::owner_id)
        .first(&mut app.conn())
        .expect("Rita");
    assert_eq!(owner, Some(rep.id));
}
