//! The `rapport` command: serve the app, migrate the database, manage users.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use rapport::Application;
use rapport::audit::Actor;
use rapport::auth::model::{DisplayName, EmailAddress, Role};
use rapport::auth::password::NewPassword;
use rapport::auth::queries;
use rapport::auth::service::{self, AdminChange, NewUser};
use rapport::clock::{Clock, SystemClock};
use rapport::config::Settings;
use rapport::db;
use rapport::email::Mailer;
use rapport::error::AppError;

/// Each request allocates and frees many small strings on several threads; with glibc's
/// allocator that was about a sixth of a list page's CPU time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "rapport",
    version,
    about = "Rapport: the CRM and helpdesk in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server and the background workers (migrates first)
    Serve,
    /// Apply pending database migrations and exit
    Migrate,
    /// Manage user accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Fill the database with realistic demo companies, contacts, timelines and deals
    SeedDemo {
        /// How many contacts (about a tenth as many companies)
        #[arg(long, default_value_t = 1_000)]
        contacts: usize,
        /// How many open deals, spread over the stages of a new eight-stage demo pipeline
        #[arg(long, default_value_t = 200)]
        open_deals: usize,
        /// How many won and lost deals, each with its stage history (in the same pipeline)
        #[arg(long, default_value_t = 1_000)]
        closed_deals: usize,
        /// How many leads, spread over the sales reps (scoring rules are added when there
        /// are none, and every lead is scored)
        #[arg(long, default_value_t = 500)]
        leads: usize,
        /// How many website events (page views, form submissions) over those leads
        #[arg(long, default_value_t = 5_000)]
        lead_events: usize,
    },
    /// Import contacts, companies or leads from a CSV file; the header row is mapped by its
    /// names
    Import {
        #[arg(value_parser = ["contacts", "companies", "leads"])]
        kind: String,
        file: std::path::PathBuf,
        /// What a row whose email (contacts, leads) or domain (companies) is known does
        #[arg(long, default_value = "skip", value_parser = ["update", "skip"])]
        on_duplicate: String,
        /// Whether one bad row stops the whole import
        #[arg(long, default_value = "all-or-nothing", value_parser = ["all-or-nothing", "skip-bad-rows"])]
        mode: String,
        /// The owner (a user's email) of rows without an Owner column value
        #[arg(long)]
        owner: Option<String>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user (the password is read from --password, standard input or a prompt)
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["admin", "sales", "support"])]
        role: String,
        /// Visible to other local users in the process list; prefer the prompt or stdin
        #[arg(long)]
        password: Option<String>,
    },
    /// List all users
    List,
    /// Set a user's password and end their sessions
    SetPassword {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: Option<String>,
    },
    /// Deactivate a user and end their sessions
    Deactivate {
        #[arg(long)]
        email: String,
    },
    /// Reactivate a deactivated user
    Activate {
        #[arg(long)]
        email: String,
    },
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Config(#[from] rapport::config::ConfigError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    App(#[from] AppError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", describe(&err));
            ExitCode::from(2)
        }
    }
}

/// Errors as a user of the command line should read them.
fn describe(err: &CliError) -> String {
    match err {
        CliError::App(AppError::Invalid(errors)) => {
            ["email", "display_name", "password", "role", "_form"]
                .iter()
                .filter_map(|field| {
                    errors
                        .get(field)
                        .map(|message| format!("{}: {message}", field.replace('_', " ")))
                })
                .collect::<Vec<_>>()
                .join("; ")
        }
        CliError::App(AppError::NotFound) => "no such user".to_owned(),
        CliError::App(AppError::BadRequest(message)) => message.clone(),
        other => other.to_string(),
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let settings = Settings::from_env()?;
    init_tracing(&settings.log_filter)?;
    match cli.command {
        Command::Serve => serve(settings),
        Command::Migrate => {
            let pool = db::connect(&settings.database_path, 1)?;
            let mut conn = pool.get().map_err(AppError::from)?;
            let applied = db::migrate(&mut conn)?;
            println!(
                "{applied} migration(s) applied to {}",
                settings.database_path
            );
            Ok(())
        }
        Command::User(command) => user_command(&settings, command),
        Command::SeedDemo {
            contacts,
            open_deals,
            closed_deals,
            leads,
            lead_events,
        } => seed_demo(
            &settings,
            contacts,
            rapport::pipeline::seed::DealCounts {
                open: open_deals,
                closed: closed_deals,
            },
            (leads, lead_events),
        ),
        Command::Import {
            kind,
            file,
            on_duplicate,
            mode,
            owner,
        } => import_command(
            &settings,
            &kind,
            &file,
            &on_duplicate,
            &mode,
            owner.as_deref(),
        ),
    }
}

/// Prints the mapping, the report and the summary; fails when nothing could be imported.
fn import_command(
    settings: &Settings,
    kind: &str,
    file: &std::path::Path,
    on_duplicate: &str,
    mode: &str,
    owner: Option<&str>,
) -> Result<(), CliError> {
    use rapport::contacts::import::{cli, mapping::Kind, service};
    let usage = |what: &str| CliError::Usage(format!("unknown {what}"));
    let request = cli::Request {
        kind: Kind::parse(kind).ok_or_else(|| usage("kind"))?,
        path: file,
        on_duplicate: service::OnDuplicate::parse(on_duplicate)
            .ok_or_else(|| usage("--on-duplicate"))?,
        mode: service::Mode::parse(mode).ok_or_else(|| usage("--mode"))?,
        owner,
    };
    let pool = db::connect(&settings.database_path, 1)?;
    let conn = &mut pool.get().map_err(AppError::from)?;
    db::migrate(conn)?;
    let summary = cli::import_file(conn, SystemClock.now(), &request, &mut |line| {
        eprintln!("{line}");
    })
    .map_err(CliError::Usage)?;
    for line in service::report_lines(&summary) {
        println!("{line}");
    }
    println!("{}", summary.headline());
    if summary.created + summary.updated == 0 {
        return Err(CliError::Usage("nothing was imported".to_owned()));
    }
    Ok(())
}

fn init_tracing(filter: &str) -> Result<(), CliError> {
    let filter = EnvFilter::try_new(filter).map_err(|err| {
        CliError::Usage(format!(
            "RAPPORT_LOG: '{filter}' is not a valid log filter ({err})"
        ))
    })?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    Ok(())
}

fn serve(settings: Settings) -> Result<(), CliError> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings, Arc::new(SystemClock))?;
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn user_command(settings: &Settings, command: UserCommand) -> Result<(), CliError> {
    let pool = db::connect(&settings.database_path, 1)?;
    let conn = &mut pool.get().map_err(AppError::from)?;
    db::migrate(conn)?;
    let now = SystemClock.now();
    let actor = Actor::command_line();
    match command {
        UserCommand::Create {
            email,
            name,
            role,
            password,
        } => {
            let email = EmailAddress::parse(&email)
                .map_err(|m| CliError::Usage(format!("--email: {m}")))?;
            let display_name =
                DisplayName::parse(&name).map_err(|m| CliError::Usage(format!("--name: {m}")))?;
            let role = Role::parse(&role).map_err(|m| CliError::Usage(format!("--role: {m}")))?;
            let password = read_password(password)?;
            let new = NewUser {
                email,
                display_name,
                role,
                password: Some(password),
            };
            let mailer = Mailer::new(settings.public_url(settings.bind), &settings.mail_from);
            let user = service::create_user(conn, now, &actor, &mailer, &new)?;
            println!(
                "created {} ({}) with role {}",
                user.email, user.display_name, user.role
            );
        }
        UserCommand::List => {
            println!(
                "{:<6} {:<32} {:<24} {:<8} {:<9} 2FA",
                "ID", "EMAIL", "NAME", "ROLE", "STATUS"
            );
            for user in queries::list(conn).map_err(AppError::from)? {
                println!(
                    "{:<6} {:<32} {:<24} {:<8} {:<9} {}",
                    user.id,
                    user.email,
                    user.display_name,
                    user.role,
                    if user.active { "active" } else { "inactive" },
                    if user.second_factor_enabled {
                        "on"
                    } else {
                        "off"
                    },
                );
            }
        }
        UserCommand::SetPassword { email, password } => {
            let email = EmailAddress::parse(&email)
                .map_err(|m| CliError::Usage(format!("--email: {m}")))?;
            let password = read_password(password)?;
            let user = service::set_password(conn, now, &actor, &email, &password)?;
            println!("password set for {}; their sessions were ended", user.email);
        }
        UserCommand::Deactivate { email } => {
            let user = find_user(conn, &email)?;
            service::administer_user(conn, now, &actor, user.id, AdminChange::Deactivate)?;
            println!("{} deactivated; their sessions were ended", user.email);
        }
        UserCommand::Activate { email } => {
            let user = find_user(conn, &email)?;
            service::administer_user(conn, now, &actor, user.id, AdminChange::Activate)?;
            println!("{} activated", user.email);
        }
    }
    Ok(())
}

fn find_user(conn: &mut db::Conn, email: &str) -> Result<rapport::auth::model::User, CliError> {
    let email = EmailAddress::parse(email).map_err(|m| CliError::Usage(format!("--email: {m}")))?;
    queries::find_by_email(conn, email.as_str())
        .map_err(AppError::from)?
        .ok_or_else(|| CliError::Usage(format!("no user has the email {}", email.as_str())))
}

/// The password from the flag, else a prompt (twice) on a terminal, else one line of stdin.
fn read_password(flag: Option<String>) -> Result<NewPassword, CliError> {
    let password = match flag {
        Some(password) => password,
        None if std::io::stdin().is_terminal() => {
            let first = rpassword::prompt_password("Password: ")?;
            let second = rpassword::prompt_password("Password again: ")?;
            if first != second {
                return Err(CliError::Usage("the two passwords do not match".to_owned()));
            }
            first
        }
        None => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    NewPassword::parse(&password).map_err(|message| CliError::Usage(format!("password: {message}")))
}

/// `rapport seed-demo`: demo users when there are none, then companies, contacts and their
/// timelines spread over the users who can own records, then a demo pipeline with open and
/// closed deals, then scored leads with their website events.
fn seed_demo(
    settings: &Settings,
    contacts: usize,
    deals: rapport::pipeline::seed::DealCounts,
    (leads, lead_events): (usize, usize),
) -> Result<(), CliError> {
    let pool = db::connect(&settings.database_path, 1)?;
    let conn = &mut pool.get().map_err(AppError::from)?;
    db::migrate(conn)?;
    let now = SystemClock.now();
    if queries::list(conn).map_err(AppError::from)?.is_empty() {
        let actor = Actor::command_line();
        let mailer = Mailer::new(settings.public_url(settings.bind), &settings.mail_from);
        let password = rapport::auth::tokens::random_token();
        for (email, name, role) in [
            ("admin@demo.example", "Demo Admin", Role::Admin),
            ("sam.sales@demo.example", "Sam Sales", Role::Sales),
            ("riley.sales@demo.example", "Riley Sales", Role::Sales),
            ("sky.support@demo.example", "Sky Support", Role::Support),
        ] {
            let new = NewUser {
                email: EmailAddress::parse(email).map_err(CliError::Usage)?,
                display_name: DisplayName::parse(name).map_err(CliError::Usage)?,
                role,
                password: Some(NewPassword::parse(&password).map_err(CliError::Usage)?),
            };
            service::create_user(conn, now, &actor, &mailer, &new)?;
            println!("created demo user {email} ({role})");
        }
        println!("password of the demo users: {password}");
    }
    let owners = rapport::contacts::seed::owners(conn).map_err(AppError::from)?;
    if owners.is_empty() {
        return Err(CliError::Usage(
            "there is no active user to own the demo records".to_owned(),
        ));
    }
    let started = std::time::Instant::now();
    let seeded = rapport::contacts::seed::seed(conn, now, &owners, contacts, |done| {
        if done % 100_000 == 0 {
            eprintln!(
                "{done} contacts… ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
        }
    })
    .map_err(AppError::from)?;
    println!(
        "seeded {} companies, {} contacts and {} timeline entries in {:.1} s",
        seeded.companies,
        seeded.contacts,
        seeded.timeline_entries,
        started.elapsed().as_secs_f64()
    );
    if let Some(id) = seeded.busy_contact {
        println!(
            "contact {id} has {} timeline entries",
            rapport::contacts::seed::BUSY_ENTRIES
        );
    }
    if deals.open + deals.closed > 0 {
        let started = std::time::Instant::now();
        let seeded = rapport::pipeline::seed::seed_deals(conn, now, &owners, deals, |done| {
            if done % 50_000 == 0 {
                eprintln!("{done} deals… ({:.1} s)", started.elapsed().as_secs_f64());
            }
        })
        .map_err(AppError::from)?;
        println!(
            "seeded pipeline {} ({}): {} open, {} won and {} lost deals, {} stage moves in {:.1} s",
            seeded.pipeline_id,
            seeded.pipeline_name,
            seeded.open,
            seeded.won,
            seeded.lost,
            seeded.moves,
            started.elapsed().as_secs_f64()
        );
    }
    if leads > 0 {
        let started = std::time::Instant::now();
        let seeded = rapport::leads::seed::seed(conn, now, &owners, leads, lead_events, |done| {
            if done % 50_000 == 0 {
                eprintln!("{done} leads… ({:.1} s)", started.elapsed().as_secs_f64());
            }
        })?;
        println!(
            "seeded {} leads with {} events and {} new scoring rules in {:.1} s \
             (scoring {} leads took {:.1} s)",
            seeded.leads,
            seeded.events,
            seeded.rules,
            started.elapsed().as_secs_f64(),
            seeded.scored,
            seeded.scoring_seconds
        );
    }
    Ok(())
}
