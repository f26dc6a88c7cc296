//! `rapport import contacts|companies|leads FILE.csv`: the same import as the web page,
//! with the header row mapped automatically and the command line's full rights.

use std::path::Path;

use chrono::NaiveDateTime;

use super::file::{self, CLI_LIMIT};
use super::mapping::{self, Field, Kind};
use super::service::{self, Mode, OnDuplicate, Options, Summary};
use crate::audit::Actor;
use crate::auth::model::EmailAddress;
use crate::db::Conn;

/// What the command was asked to do.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub kind: Kind,
    pub path: &'a Path,
    pub on_duplicate: OnDuplicate,
    pub mode: Mode,
    /// The email of the owner of rows without one.
    pub owner: Option<&'a str>,
}

/// "Email ← E-mail" for each mapped column, and the ignored ones.
pub fn describe_mapping(headers: &[String], mapping: &[Option<Field>]) -> Vec<String> {
    headers
        .iter()
        .zip(mapping)
        .map(|(header, field)| match field {
            Some(field) => format!("column \"{header}\" → {}", field.key()),
            None => format!("column \"{header}\" is ignored"),
        })
        .collect()
}

/// Imports the file; `say` hears the mapping and the progress. `Err` when the file or the
/// request cannot be used at all (nothing was written).
pub fn import_file(
    conn: &mut Conn,
    now: NaiveDateTime,
    request: &Request<'_>,
    say: &mut dyn FnMut(&str),
) -> Result<Summary, String> {
    let display = request.path.display();
    let size = std::fs::metadata(request.path)
        .map_err(|err| format!("cannot read {display}: {err}"))?
        .len();
    if usize::try_from(size).map_or(true, |size| size > CLI_LIMIT) {
        return Err(file::FileError::TooLarge { limit: CLI_LIMIT }.to_string());
    }
    let bytes =
        std::fs::read(request.path).map_err(|err| format!("cannot read {display}: {err}"))?;
    let table = file::parse(&bytes, CLI_LIMIT).map_err(|err| err.to_string())?;
    let mapping = mapping::auto_map(request.kind, &table.headers);
    for line in describe_mapping(&table.headers, &mapping) {
        say(&line);
    }
    mapping::check(request.kind, &mapping).map_err(|message| {
        format!("{message} (the header row is mapped by its names; rename the columns)")
    })?;
    let default_owner = match request.owner {
        None => None,
        Some(email) => {
            let email = EmailAddress::parse(email).map_err(|m| format!("--owner: {m}"))?;
            let lookups = service::lookups(conn, None).map_err(|err| err.to_string())?;
            Some(*lookups.owners.get(email.as_str()).ok_or_else(|| {
                format!("--owner: no active user has the email {}", email.as_str())
            })?)
        }
    };
    let options = Options {
        kind: request.kind,
        on_duplicate: request.on_duplicate,
        mode: request.mode,
        default_owner,
    };
    let total = table.rows.len();
    service::run(
        conn,
        now,
        &Actor::command_line(),
        None,
        &table,
        &mapping,
        &options,
        &mut |_, done| say(&format!("{done} of {total} rows done")),
    )
    .map_err(|err| format!("the import stopped: {err}"))
}
