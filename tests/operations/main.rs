//! Operations through the real stack: email delivery and its retries, the admin's outbox,
//! the database migrations and the `rapport` command line.

#[path = "../common/mod.rs"]
mod common;

use common::*;
use diesel::prelude::*;
use rapport::db::schema::{audit_log, email_outbox};
use rapport::email::outbox::OutboxEmail;
use reqwest::StatusCode;

// ---- helpers ----

/// Every outbox row, oldest first.
fn outbox(app: &TestApp) -> Vec<OutboxEmail> {
    email_outbox::table
        .select(OutboxEmail::as_select())
        .order(email_outbox::id.asc())
        .load(&mut app.conn())
        .expect("the outbox")
}

/// The one outbox row addressed to `recipient`, if it was queued.
fn outbox_row(app: &TestApp, recipient: &str) -> Option<OutboxEmail> {
    let mut rows: Vec<OutboxEmail> = outbox(app)
        .into_iter()
        .filter(|email| email.recipient == recipient)
        .collect();
    assert!(
        rows.len() <= 1,
        "one email to {recipient}, not {}",
        rows.len()
    );
    rows.pop()
}

fn status_of(app: &TestApp, recipient: &str) -> Option<String> {
    outbox_row(app, recipient).map(|email| email.status)
}

fn now(app: &TestApp) -> chrono::NaiveDateTime {
    rapport::clock::Clock::now(&app.clock)
}

/// As the signed-in admin, invites `email` to Rapport: that queues an invitation email.
async fn invite(app: &TestApp, email: &str) {
    let response = app
        .post_form(
            "/admin/users",
            &[
                ("email", email),
                ("display_name", "Invited Person"),
                ("role", "sales"),
                ("method", "invite"),
            ],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "invitation of {email}"
    );
    assert!(location(&response).starts_with("/admin/users/"));
}

/// A Message-ID as stored (`<id@domain>`) and as the SMTP side parses it (`id@domain`).
fn bare_message_id(message_id: &str) -> &str {
    message_id.trim_start_matches('<').trim_end_matches('>')
}

/// Text as the templates escape it, to find a stored value in a page.
fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

fn audit_targets(app: &TestApp, action: &str) -> Vec<Option<String>> {
    audit_log::table
        .filter(audit_log::action.eq(action))
        .select(audit_log::target)
        .load(&mut app.conn())
        .expect("the audit log")
}

// ---- email delivery ----

#[tokio::test]
async fn an_email_is_retried_while_the_server_answers_4xx_and_delivered_once_when_it_recovers() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    app.smtp.set_mode(SmtpMode::TemporaryFailure);

    invite(&app, "ivy@example.com").await;
    app.eventually("the first attempt is recorded", || {
        outbox_row(&app, "ivy@example.com").is_some_and(|email| email.attempts == 1)
    })
    .await;
    let first = outbox_row(&app, "ivy@example.com").expect("the invitation is queued");
    assert_eq!(first.status, "queued");
    let error = first.last_error.clone().expect("the error is recorded");
    assert!(
        error.contains("451"),
        "the error names the server's answer: {error}"
    );
    assert!(first.next_attempt_at > now(&app), "the retry waits");
    assert!(first.sent_at.is_none());
    assert!(app.smtp.received().is_empty());

    app.smtp.set_mode(SmtpMode::Accept);
    app.clock.advance(chrono::Duration::seconds(31));
    app.eventually("the invitation is sent", || {
        status_of(&app, "ivy@example.com").as_deref() == Some("sent")
    })
    .await;

    let sent = outbox_row(&app, "ivy@example.com").expect("the invitation");
    assert_eq!(
        sent.message_id, first.message_id,
        "the Message-ID is stable across attempts"
    );
    assert_eq!(sent.attempts, 2);
    assert!(sent.sent_at.is_some());
    let received = app.smtp.received_by("ivy@example.com");
    assert_eq!(received.len(), 1, "delivered exactly once");
    assert_eq!(received[0].message_id, bare_message_id(&sent.message_id));
    assert!(received[0].subject.contains("invited you to Rapport"));
    assert_eq!(app.smtp.attempts(), 2);
}

#[tokio::test]
async fn a_5xx_marks_the_email_failed_and_an_admin_can_retry_it_from_the_outbox_page() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    app.smtp.set_mode(SmtpMode::PermanentFailure);

    invite(&app, "perm@example.com").await;
    app.eventually("the invitation fails", || {
        status_of(&app, "perm@example.com").as_deref() == Some("failed")
    })
    .await;
    let failed = outbox_row(&app, "perm@example.com").expect("the invitation");
    assert_eq!(failed.attempts, 1, "a permanent failure is not retried");
    let error = failed.last_error.clone().expect("the error is recorded");
    assert!(
        error.contains("554"),
        "the error names the server's answer: {error}"
    );
    assert_eq!(app.smtp.attempts(), 1);

    let page = app.get_html("/admin/outbox?status=failed").await;
    assert!(page.contains("perm@example.com"));
    assert!(
        page.contains(&html_escaped(&error)),
        "the page shows the error text"
    );
    assert!(page.contains(&format!("action=\"/admin/outbox/{}/retry\"", failed.id)));
    assert!(page.contains("Retry now"));

    app.smtp.set_mode(SmtpMode::Accept);
    let response = app
        .post_form(&format!("/admin/outbox/{}/retry", failed.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/admin/outbox");
    let page = app.get_html("/admin/outbox").await;
    assert!(page.contains("The email to perm@example.com will be sent again now."));
    app.eventually("the retried invitation is sent", || {
        status_of(&app, "perm@example.com").as_deref() == Some("sent")
    })
    .await;
    let received = app.smtp.received_by("perm@example.com");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].message_id, bare_message_id(&failed.message_id));
    let retried = audit_targets(&app, "email_retried");
    assert_eq!(retried.len(), 1);
    assert!(
        retried[0]
            .as_deref()
            .is_some_and(|target| target.contains("perm@example.com")),
        "the audit row names the email: {retried:?}"
    );

    // Retrying a sent email sends nothing again.
    let response = app
        .post_form(&format!("/admin/outbox/{}/retry", failed.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.get_html("/admin/outbox").await;
    assert!(page.contains("That email was already sent."));
    let row = outbox_row(&app, "perm@example.com").expect("the invitation");
    assert_eq!(row.status, "sent");
    assert_eq!(row.attempts, 1);
    // Another email goes through the worker after the refused retry: had the sent one been
    // queued again, it would have gone out first.
    invite(&app, "later@example.com").await;
    app.eventually("the later invitation is sent", || {
        status_of(&app, "later@example.com").as_deref() == Some("sent")
    })
    .await;
    assert_eq!(
        app.smtp.received_by("perm@example.com").len(),
        1,
        "nothing resent"
    );
    assert_eq!(audit_targets(&app, "email_retried").len(), 1);
}

#[tokio::test]
async fn one_refused_recipient_never_blocks_the_emails_to_others() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    app.smtp.refuse_recipient("bad@example.com");

    invite(&app, "bad@example.com").await;
    invite(&app, "good@example.com").await;
    app.eventually("both emails are settled", || {
        status_of(&app, "bad@example.com").as_deref() == Some("failed")
            && status_of(&app, "good@example.com").as_deref() == Some("sent")
    })
    .await;

    let bad = outbox_row(&app, "bad@example.com").expect("the bad invitation");
    let error = bad.last_error.expect("the error is recorded");
    assert!(
        error.contains("550"),
        "the error names the server's answer: {error}"
    );
    assert!(app.smtp.received_by("bad@example.com").is_empty());
    assert_eq!(app.smtp.received_by("good@example.com").len(), 1);
}

#[tokio::test]
async fn without_an_smtp_server_emails_are_written_as_eml_files_in_the_mail_folder() {
    let app = spawn_app_with(|settings| settings.smtp_url = None).await;
    let admin = app.admin();
    app.login_as(&admin).await;

    invite(&app, "file@example.com").await;
    app.eventually("the invitation is written", || {
        status_of(&app, "file@example.com").as_deref() == Some("sent")
    })
    .await;

    let mail_dir = app.data_dir.path().join("mail");
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(&mail_dir)
        .expect("the mail folder exists")
        .map(|entry| entry.expect("a folder entry").path())
        .collect();
    assert_eq!(files.len(), 1, "one file, no leftovers: {files:?}");
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    let raw = std::fs::read(&files[0]).expect("the email file");
    let message = mail_parser::MessageParser::default()
        .parse(&raw)
        .expect("a parsable email");
    let stored = outbox_row(&app, "file@example.com").expect("the invitation");
    assert!(stored.subject.contains("invited you to Rapport"));
    assert_eq!(message.subject(), Some(stored.subject.as_str()));
    assert_eq!(
        message.message_id(),
        Some(bare_message_id(&stored.message_id))
    );
    let body = message.body_text(0).expect("a text body").into_owned();
    let link = link_in(&body, &app.url("/invitation/"));

    // The link in the file is a working invitation.
    let response = http_client().get(&link).send().await.expect("GET");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        app.smtp.received().is_empty(),
        "nothing went to an SMTP server"
    );
}

// ---- the outbox page ----

#[tokio::test]
async fn the_outbox_page_has_an_empty_state_and_status_tabs_with_counts() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;

    let page = app.get_html("/admin/outbox").await;
    assert!(page.contains("No emails here"));
    for label in ["Queued", "Sent", "Failed"] {
        assert!(
            page.contains(&format!("{label} <span class=\"count\">0</span>")),
            "the {label} tab counts 0"
        );
    }

    app.smtp.refuse_recipient("bad@example.com");
    invite(&app, "good@example.com").await;
    invite(&app, "bad@example.com").await;
    app.eventually("both emails are settled", || {
        status_of(&app, "bad@example.com").as_deref() == Some("failed")
            && status_of(&app, "good@example.com").as_deref() == Some("sent")
    })
    .await;

    let page = app.get_html("/admin/outbox").await;
    assert!(!page.contains("No emails here"));
    assert!(page.contains("good@example.com") && page.contains("bad@example.com"));
    assert!(page.contains("Queued <span class=\"count\">0</span>"));
    assert!(page.contains("Sent <span class=\"count\">1</span>"));
    assert!(page.contains("Failed <span class=\"count\">1</span>"));
    assert!(page.contains("class=\"active\" aria-current=\"page\">All<"));

    let sent = app.get_html("/admin/outbox?status=sent").await;
    assert!(sent.contains("good@example.com"));
    assert!(!sent.contains("bad@example.com"));
    assert!(
        !sent.contains("Retry now"),
        "a sent email cannot be retried"
    );
    assert!(sent.contains("class=\"active\" aria-current=\"page\">Sent <span"));

    let failed = app.get_html("/admin/outbox?status=failed").await;
    assert!(failed.contains("bad@example.com"));
    assert!(!failed.contains("good@example.com"));

    let queued = app.get_html("/admin/outbox?status=queued").await;
    assert!(queued.contains("No emails here"));
    assert!(
        queued.contains("Sent <span class=\"count\">1</span>"),
        "counts on every tab"
    );
}

#[tokio::test]
async fn the_outbox_is_for_admins_only() {
    let app = spawn_app().await;
    let sales = app.create_user("sales@example.com", rapport::auth::model::Role::Sales);
    let response = app.get("/admin/outbox").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login?next="));
    app.login_as(&sales).await;
    assert_eq!(
        app.get("/admin/outbox").await.status(),
        StatusCode::FORBIDDEN
    );
}

// ---- start-up ----

#[tokio::test]
async fn the_health_check_answers_ok() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("a body"), "ok");
}

// ---- migrations ----

/// One schema object as SQLite records it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
struct SchemaObject {
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    sql: Option<String>,
}

/// The application's tables, indexes, views and triggers with their definitions: everything
/// in `sqlite_master` except SQLite's own objects and diesel's migration bookkeeping.
fn schema(conn: &mut rapport::db::Conn) -> Vec<SchemaObject> {
    diesel::sql_query(
        "SELECT type AS kind, name, sql FROM sqlite_master
         WHERE substr(name, 1, 7) <> 'sqlite_' AND name <> '__diesel_schema_migrations'
         ORDER BY type, name",
    )
    .load(conn)
    .expect("the schema")
}

fn table_names(conn: &mut rapport::db::Conn) -> Vec<String> {
    schema(conn)
        .into_iter()
        .filter(|object| object.kind == "table")
        .map(|object| object.name)
        .collect()
}

/// The tables each known migration creates, by the end of its version.
const KNOWN_MIGRATIONS: [(&str, &[&str]); 3] = [
    (
        "000001",
        &[
            "users",
            "recovery_codes",
            "sessions",
            "user_tokens",
            "app_settings",
        ],
    ),
    ("000002", &["email_outbox"]),
    ("000003", &["audit_log"]),
];

fn fresh_database(dir: &tempfile::TempDir) -> rapport::db::PooledConn {
    let path = dir.path().join("fresh.db").display().to_string();
    rapport::db::connect(&path, 1)
        .expect("a pool")
        .get()
        .expect("a connection")
}

fn migration_count() -> usize {
    diesel::migration::MigrationSource::<diesel::sqlite::Sqlite>::migrations(
        &rapport::db::MIGRATIONS,
    )
    .expect("the embedded migrations")
    .len()
}

#[test]
fn all_migrations_run_revert_and_run_again_on_a_fresh_database() {
    use diesel_migrations::MigrationHarness;

    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut conn = fresh_database(&dir);
    assert!(schema(&mut conn).is_empty(), "a fresh file has no tables");
    let total = migration_count();
    assert!(total >= KNOWN_MIGRATIONS.len());

    assert_eq!(
        rapport::db::migrate(&mut conn).expect("migrations run"),
        total
    );
    let tables = table_names(&mut conn);
    for (_, created) in KNOWN_MIGRATIONS {
        for table in created {
            assert!(
                tables.iter().any(|t| t == table),
                "{table} exists: {tables:?}"
            );
        }
    }
    let migrated = schema(&mut conn);
    assert_eq!(rapport::db::migrate(&mut conn).expect("nothing to run"), 0);

    let reverted = conn
        .revert_all_migrations(rapport::db::MIGRATIONS)
        .expect("migrations revert");
    assert_eq!(reverted.len(), total);
    assert_eq!(
        schema(&mut conn),
        Vec::new(),
        "no application table or index is left"
    );

    assert_eq!(
        rapport::db::migrate(&mut conn).expect("migrations run again"),
        total
    );
    assert_eq!(
        schema(&mut conn),
        migrated,
        "the second run builds the same schema"
    );
}

#[test]
fn each_migration_down_undoes_exactly_its_up() {
    use diesel_migrations::MigrationHarness;

    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut conn = fresh_database(&dir);
    let mut before_each = Vec::new();
    let mut versions = Vec::new();
    while conn
        .has_pending_migration(rapport::db::MIGRATIONS)
        .expect("pending migrations")
    {
        before_each.push(schema(&mut conn));
        let version = conn
            .run_next_migration(rapport::db::MIGRATIONS)
            .expect("the next migration runs");
        versions.push(version.to_string());
    }
    assert_eq!(versions.len(), migration_count());
    for (suffix, created) in KNOWN_MIGRATIONS {
        let index = versions
            .iter()
            .position(|version| version.ends_with(suffix))
            .expect("the known migration ran");
        let tables_before: Vec<String> = before_each[index]
            .iter()
            .filter(|object| object.kind == "table")
            .map(|object| object.name.clone())
            .collect();
        for table in created {
            assert!(
                !tables_before.iter().any(|t| t == table),
                "{table} is new in {suffix}"
            );
        }
    }

    // Revert one at a time, newest first: each leaves the schema as it was before its up.
    for (index, version) in versions.iter().enumerate().rev() {
        let tables_before = table_names(&mut conn);
        let reverted = conn
            .revert_last_migration(rapport::db::MIGRATIONS)
            .expect("the last migration reverts");
        assert_eq!(
            &reverted.to_string(),
            version,
            "migrations revert newest first"
        );
        assert_eq!(
            schema(&mut conn),
            before_each[index],
            "reverting {version} restores the schema before it"
        );
        if let Some((_, created)) = KNOWN_MIGRATIONS
            .iter()
            .find(|(suffix, _)| version.ends_with(suffix))
        {
            let tables_after = table_names(&mut conn);
            for table in *created {
                assert!(
                    tables_before.iter().any(|t| t == table),
                    "{table} was there"
                );
                assert!(
                    !tables_after.iter().any(|t| t == table),
                    "{table} is dropped by {version}"
                );
            }
        }
    }
    assert!(schema(&mut conn).is_empty());
}

// ---- the command line ----

/// A folder with its own database for the `rapport` binary.
struct Cli {
    dir: tempfile::TempDir,
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn succeeded(&self) -> bool {
        self.code == Some(0)
    }
}

impl Cli {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    fn database_path(&self) -> String {
        self.dir.path().join("rapport.db").display().to_string()
    }

    /// Runs `rapport args…` in the folder with `stdin` as its input and `env` added.
    fn run_with(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
        use std::io::Write;
        use std::process::{Command, Stdio};

        let mut command = Command::new(env!("CARGO_BIN_EXE_rapport"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("RAPPORT_")) {
            command.env_remove(name);
        }
        command
            .env(
                "RAPPORT_DATABASE_URL",
                format!("sqlite://{}", self.database_path()),
            )
            .env("RAPPORT_LOG", "warn")
            .envs(env.iter().copied());
        let mut child = command.spawn().expect("rapport starts");
        let mut input = child.stdin.take().expect("a stdin");
        // The command may exit before reading: a closed pipe is not this test's concern.
        let _ = input.write_all(stdin.as_bytes());
        drop(input);
        let output = child.wait_with_output().expect("rapport finishes");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, "", &[])
    }

    /// Runs a command that must succeed.
    fn ok(&self, args: &[&str], stdin: &str) -> Run {
        let run = self.run_with(args, stdin, &[]);
        assert!(
            run.succeeded(),
            "rapport {args:?} failed ({:?}): {}",
            run.code,
            run.stderr
        );
        run
    }

    /// The `user list` line of `email`, split into its columns.
    fn listed(&self, email: &str) -> Option<Vec<String>> {
        let list = self.ok(&["user", "list"], "");
        list.stdout
            .lines()
            .map(|line| {
                line.split_whitespace()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .find(|columns| columns.get(1).is_some_and(|column| column == email))
    }

    fn user(&self, email: &str) -> Option<rapport::auth::model::User> {
        let pool = rapport::db::connect(&self.database_path(), 1).expect("a pool");
        rapport::auth::queries::find_by_email(&mut pool.get().expect("a connection"), email)
            .expect("a query")
    }

    fn create_ada(&self) {
        self.ok(
            &[
                "user",
                "create",
                "--email",
                "a@example.com",
                "--name",
                "Ada",
                "--role",
                "admin",
            ],
            &format!("{PASSWORD}\n"),
        );
    }
}

#[test]
fn every_command_has_help() {
    let cli = Cli::new();
    let commands: [&[&str]; 9] = [
        &[],
        &["serve"],
        &["migrate"],
        &["user"],
        &["user", "create"],
        &["user", "list"],
        &["user", "set-password"],
        &["user", "deactivate"],
        &["user", "activate"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let run = cli.run(&args);
        assert!(run.succeeded(), "{args:?} --help exits 0: {}", run.stderr);
        let usage = format!(
            "Usage: {}",
            ["rapport"]
                .iter()
                .chain(command)
                .copied()
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert!(
            run.stdout.contains(&usage),
            "{args:?} prints {usage}: {}",
            run.stdout
        );
    }
    let create = cli.run(&["user", "create", "--help"]);
    for flag in ["--email", "--name", "--role", "--password"] {
        assert!(
            create.stdout.contains(flag),
            "user create --help names {flag}"
        );
    }
    assert!(
        !std::path::Path::new(&cli.database_path()).exists(),
        "help touches no database"
    );
}

#[test]
fn migrate_creates_the_database_and_a_second_run_applies_nothing() {
    let cli = Cli::new();
    let run = cli.ok(&["migrate"], "");
    assert!(
        run.stdout
            .contains(&format!("{} migration(s) applied", migration_count())),
        "{}",
        run.stdout
    );
    let pool = rapport::db::connect(&cli.database_path(), 1).expect("a pool");
    let tables = table_names(&mut pool.get().expect("a connection"));
    assert!(tables.iter().any(|table| table == "users"), "{tables:?}");
    let again = cli.ok(&["migrate"], "");
    assert!(
        again.stdout.contains("0 migration(s) applied"),
        "{}",
        again.stdout
    );
}

#[test]
fn user_create_reads_the_password_from_stdin_and_user_list_shows_the_user() {
    let cli = Cli::new();
    let run = cli.ok(
        &[
            "user",
            "create",
            "--email",
            "a@example.com",
            "--name",
            "Ada",
            "--role",
            "admin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(
        run.stdout.contains("created a@example.com"),
        "{}",
        run.stdout
    );

    let user = cli.user("a@example.com").expect("the user exists");
    assert_eq!(user.display_name, "Ada");
    assert_eq!(user.role, rapport::auth::model::Role::Admin);
    assert!(user.active);
    let credentials = {
        let pool = rapport::db::connect(&cli.database_path(), 1).expect("a pool");
        rapport::auth::queries::credentials(&mut pool.get().expect("a connection"), user.id)
            .expect("credentials")
    };
    assert!(rapport::auth::password::verify(
        credentials.password_hash.as_deref(),
        PASSWORD
    ));

    let listed = cli
        .listed("a@example.com")
        .expect("user list shows the user");
    assert_eq!(listed[2..], ["Ada", "admin", "active", "off"]);
}

#[test]
fn user_create_also_takes_the_password_as_a_flag() {
    let cli = Cli::new();
    cli.ok(
        &[
            "user",
            "create",
            "--email",
            "b@example.com",
            "--name",
            "Bob",
            "--role",
            "sales",
            "--password",
            PASSWORD,
        ],
        "",
    );
    let listed = cli
        .listed("b@example.com")
        .expect("user list shows the user");
    assert_eq!(listed[2..], ["Bob", "sales", "active", "off"]);
}

#[test]
fn a_too_short_password_is_refused_and_no_user_is_created() {
    let cli = Cli::new();
    let run = cli.run_with(
        &[
            "user",
            "create",
            "--email",
            "a@example.com",
            "--name",
            "Ada",
            "--role",
            "admin",
        ],
        "short\n",
        &[],
    );
    assert!(!run.succeeded());
    assert!(run.stderr.contains("password"), "{}", run.stderr);
    assert!(
        run.stderr.contains("at least 8 characters"),
        "{}",
        run.stderr
    );
    assert!(cli.user("a@example.com").is_none());
    assert!(cli.listed("a@example.com").is_none());
}

#[test]
fn an_unknown_role_is_refused_and_no_user_is_created() {
    let cli = Cli::new();
    cli.ok(&["migrate"], "");
    let run = cli.run_with(
        &[
            "user",
            "create",
            "--email",
            "a@example.com",
            "--name",
            "Ada",
            "--role",
            "owner",
        ],
        &format!("{PASSWORD}\n"),
        &[],
    );
    assert!(!run.succeeded());
    assert!(
        run.stderr.contains("--role") && run.stderr.contains("owner"),
        "{}",
        run.stderr
    );
    assert!(cli.user("a@example.com").is_none());
}

#[test]
fn set_password_replaces_the_password() {
    let cli = Cli::new();
    cli.create_ada();
    let new_password = "a brand new passphrase";
    let run = cli.ok(
        &["user", "set-password", "--email", "a@example.com"],
        &format!("{new_password}\n"),
    );
    assert!(
        run.stdout.contains("password set for a@example.com"),
        "{}",
        run.stdout
    );
    let user = cli.user("a@example.com").expect("the user");
    let pool = rapport::db::connect(&cli.database_path(), 1).expect("a pool");
    let credentials =
        rapport::auth::queries::credentials(&mut pool.get().expect("a connection"), user.id)
            .expect("credentials");
    let hash = credentials.password_hash.as_deref();
    assert!(rapport::auth::password::verify(hash, new_password));
    assert!(!rapport::auth::password::verify(hash, PASSWORD));

    let short = cli.run_with(
        &[
            "user",
            "set-password",
            "--email",
            "a@example.com",
            "--password",
            "short",
        ],
        "",
        &[],
    );
    assert!(!short.succeeded());
    assert!(
        short.stderr.contains("at least 8 characters"),
        "{}",
        short.stderr
    );
}

#[test]
fn deactivate_and_activate_change_the_status_user_list_shows() {
    let cli = Cli::new();
    cli.create_ada();
    cli.ok(
        &[
            "user",
            "create",
            "--email",
            "b@example.com",
            "--name",
            "Bob",
            "--role",
            "support",
            "--password",
            PASSWORD,
        ],
        "",
    );
    let run = cli.ok(&["user", "deactivate", "--email", "b@example.com"], "");
    assert!(
        run.stdout.contains("b@example.com deactivated"),
        "{}",
        run.stdout
    );
    assert_eq!(cli.listed("b@example.com").expect("listed")[4], "inactive");
    assert_eq!(cli.listed("a@example.com").expect("listed")[4], "active");
    assert!(!cli.user("b@example.com").expect("the user").active);

    cli.ok(&["user", "activate", "--email", "b@example.com"], "");
    assert_eq!(cli.listed("b@example.com").expect("listed")[4], "active");
    assert!(cli.user("b@example.com").expect("the user").active);

    // The last active admin stays.
    let run = cli.run(&["user", "deactivate", "--email", "a@example.com"]);
    assert!(!run.succeeded());
    assert!(
        run.stderr.contains("at least one active admin"),
        "{}",
        run.stderr
    );
    assert!(cli.user("a@example.com").expect("the user").active);
}

#[test]
fn an_unknown_email_is_an_error_for_every_user_command() {
    let cli = Cli::new();
    cli.create_ada();
    for command in ["deactivate", "activate"] {
        let run = cli.run(&["user", command, "--email", "nobody@example.com"]);
        assert!(!run.succeeded(), "user {command}");
        assert!(run.stderr.contains("nobody@example.com"), "{}", run.stderr);
    }
    let run = cli.run_with(
        &["user", "set-password", "--email", "nobody@example.com"],
        &format!("{PASSWORD}\n"),
        &[],
    );
    assert!(!run.succeeded());
    assert!(run.stderr.contains("no such user"), "{}", run.stderr);
    assert!(cli.user("nobody@example.com").is_none());
}

#[test]
fn an_invalid_setting_stops_the_command_and_names_the_variable() {
    let cli = Cli::new();
    for (variable, value) in [
        ("RAPPORT_BIND", "nowhere"),
        ("RAPPORT_SMTP_URL", "http://x"),
    ] {
        for args in [&["migrate"][..], &["serve"][..]] {
            let run = cli.run_with(args, "", &[(variable, value)]);
            assert!(!run.succeeded(), "{variable}={value} rapport {args:?}");
            assert!(
                run.stderr.contains(variable),
                "stderr names {variable}: {}",
                run.stderr
            );
        }
    }
    assert!(
        !std::path::Path::new(&cli.database_path()).exists(),
        "nothing was done with a bad setting"
    );
}

#[tokio::test]
async fn a_user_created_on_the_command_line_can_sign_in_and_setup_is_then_closed() {
    let cli = Cli::new();
    cli.create_ada();
    let user = cli.user("a@example.com").expect("the user");
    let database_path = cli.database_path();
    let app = spawn_app_with(|settings| settings.database_path = database_path).await;
    assert_eq!(app.get("/setup").await.status(), StatusCode::NOT_FOUND);
    app.login_as(&TestUser {
        id: user.id,
        email: user.email,
        password: PASSWORD.to_owned(),
    })
    .await;
    let page = app.get_html("/").await;
    assert!(page.contains("Ada"));
}

/// Asks `GET /healthz` over a plain socket; `true` on a 200.
fn healthy(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let mut answer = String::new();
    stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .and_then(|()| stream.read_to_string(&mut answer))
        .is_ok()
        && answer.starts_with("HTTP/1.0 200") | answer.starts_with("HTTP/1.1 200")
}

#[test]
fn serve_stops_cleanly_on_sigterm_and_the_email_worker_stops_with_it() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let cli = Cli::new();
    cli.create_ada();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .arg("serve")
        .current_dir(cli.dir.path())
        .env(
            "RAPPORT_DATABASE_URL",
            format!("sqlite://{}", cli.database_path()),
        )
        .env("RAPPORT_BIND", format!("127.0.0.1:{port}"))
        .env("RAPPORT_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rapport serve starts");

    let started = Instant::now();
    while !healthy(port) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server never answered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let signalled = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(signalled.success());

    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = server.try_wait().expect("the server's status") {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(30),
            "the server did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = server.wait_with_output().expect("the server's output");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        status.success(),
        "serve exits with success after SIGTERM: {log}"
    );
    assert!(
        log.contains("email worker stopped"),
        "the worker stopped: {log}"
    );
    assert!(!healthy(port), "nothing listens any more");
}
