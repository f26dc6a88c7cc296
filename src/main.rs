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
    }
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
