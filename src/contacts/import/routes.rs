//! `/contacts/import`, `/companies/import` and `/leads/import`: upload a CSV file, check the column mapping
//! and a preview, choose what happens to duplicates and bad rows, then import (in the
//! background for large files, with a progress page) and read the summary.

use std::sync::Arc;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use futures_util::StreamExt;

use super::file::{self, Table, WEB_LIMIT};
use super::jobs::{self, JobRow, Status};
use super::mapping::{self, Field, Kind};
use super::rows::RowError;
use super::service::{self, Mode, OnDuplicate, Options, Summary};
use crate::audit::Actor;
use crate::auth::model::User;
use crate::auth::policy::CreateCustomers;
use crate::clock::Clock;
use crate::contacts::company::queries::possible_owners;
use crate::db::{self, Conn, DbPool};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::extract::Authorized;
use crate::web::page::{Page, redirect, render, render_with_status};

/// Files with more rows than this are imported in the background.
pub const BACKGROUND_ROWS: usize = 5000;
const PREVIEW_ROWS: usize = 5;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/contacts/import", web::get().to(contacts_upload_form))
        .route("/contacts/import", web::post().to(contacts_upload))
        .route("/companies/import", web::get().to(companies_upload_form))
        .route("/companies/import", web::post().to(companies_upload))
        .route("/contacts/import/{token}", web::get().to(contacts_job))
        .route("/contacts/import/{token}", web::post().to(contacts_start))
        .route("/companies/import/{token}", web::get().to(companies_job))
        .route("/companies/import/{token}", web::post().to(companies_start))
        .route("/leads/import", web::get().to(leads_upload_form))
        .route("/leads/import", web::post().to(leads_upload))
        .route("/leads/import/{token}", web::get().to(leads_job))
        .route("/leads/import/{token}", web::post().to(leads_start));
}

type Creator = Authorized<CreateCustomers>;

fn title(kind: Kind) -> &'static str {
    match kind {
        Kind::Contacts => "Import contacts",
        Kind::Companies => "Import companies",
        Kind::Leads => "Import leads",
    }
}

fn list_path(kind: Kind) -> &'static str {
    match kind {
        Kind::Contacts => "/contacts",
        Kind::Companies => "/companies",
        Kind::Leads => "/leads",
    }
}

#[derive(Template)]
#[template(path = "contacts/import/upload.html")]
struct UploadPage {
    page: Page,
    kind: &'static str,
    list_path: &'static str,
    limit_mb: usize,
    error: Option<String>,
}

fn upload_page(creator: &Creator, kind: Kind, error: Option<String>) -> UploadPage {
    UploadPage {
        page: creator.page(title(kind)),
        kind: kind.as_str(),
        list_path: list_path(kind),
        limit_mb: WEB_LIMIT / (1024 * 1024),
        error,
    }
}

async fn contacts_upload_form(creator: Creator) -> Result<HttpResponse, AppError> {
    render(&upload_page(&creator, Kind::Contacts, None))
}

async fn companies_upload_form(creator: Creator) -> Result<HttpResponse, AppError> {
    render(&upload_page(&creator, Kind::Companies, None))
}

async fn leads_upload_form(creator: Creator) -> Result<HttpResponse, AppError> {
    render(&upload_page(&creator, Kind::Leads, None))
}

async fn leads_upload(
    state: web::Data<AppState>,
    creator: Creator,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    upload(state, creator, payload, Kind::Leads).await
}

async fn contacts_upload(
    state: web::Data<AppState>,
    creator: Creator,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    upload(state, creator, payload, Kind::Contacts).await
}

async fn companies_upload(
    state: web::Data<AppState>,
    creator: Creator,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    upload(state, creator, payload, Kind::Companies).await
}

/// The uploaded file: its name and bytes, or why it cannot be taken.
async fn read_file(mut payload: Multipart) -> Result<(String, Vec<u8>), String> {
    let mut found = None;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|err| format!("The upload could not be read ({err})."))?;
        if field.name() != Some("file") {
            while let Some(chunk) = field.next().await {
                chunk.map_err(|err| format!("The upload could not be read ({err})."))?;
            }
            continue;
        }
        let name = field
            .content_disposition()
            .and_then(|disposition| disposition.get_filename())
            .unwrap_or("upload.csv")
            .to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|err| format!("The upload could not be read ({err})."))?;
            if bytes.len() + chunk.len() > WEB_LIMIT {
                return Err(file::FileError::TooLarge { limit: WEB_LIMIT }.to_string());
            }
            bytes.extend_from_slice(&chunk);
        }
        found = Some((name, bytes));
    }
    found.ok_or_else(|| "Choose a CSV file to upload.".to_owned())
}

async fn upload(
    state: web::Data<AppState>,
    creator: Creator,
    payload: Multipart,
    kind: Kind,
) -> Result<HttpResponse, AppError> {
    let refused = |message: String| {
        render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &upload_page(&creator, kind, Some(message)),
        )
    };
    let (name, bytes) = match read_file(payload).await {
        Ok(upload) => upload,
        Err(message) => return refused(message),
    };
    let table = match file::parse(&bytes, WEB_LIMIT) {
        Ok(table) => table,
        Err(error) => return refused(error.to_string()),
    };
    let (now, user_id) = (state.now(), creator.user.id);
    let rows = table.rows.len();
    let token = db::run(&state.pool, move |conn| {
        Ok(jobs::store(conn, now, user_id, kind, &name, &bytes, rows)?)
    })
    .await?;
    Ok(redirect(&format!("{}/import/{token}", list_path(kind))))
}

struct ColumnView {
    index: usize,
    header: String,
    selected: &'static str,
}

#[derive(Template)]
#[template(path = "contacts/import/mapping.html")]
struct MappingPage {
    page: Page,
    kind: &'static str,
    list_path: &'static str,
    token: String,
    file_name: String,
    rows: usize,
    background: bool,
    columns: Vec<ColumnView>,
    fields: Vec<(&'static str, &'static str)>,
    preview: Vec<(usize, Vec<String>)>,
    owners: Vec<(i64, String)>,
    default_owner: String,
    on_duplicate: String,
    mode: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "contacts/import/progress.html")]
struct ProgressPage {
    page: Page,
    file_name: String,
    processed: i32,
    total: i32,
    percent: i32,
}

#[derive(Template)]
#[template(path = "contacts/import/summary.html")]
struct SummaryPage {
    page: Page,
    kind: &'static str,
    list_path: &'static str,
    file_name: String,
    total: i32,
    created: i32,
    updated: i32,
    skipped: Vec<RowError>,
    failed: Vec<RowError>,
    rolled_back: bool,
    /// Stopped by an error that is not a row's (reported as line 0).
    stopped: bool,
}

struct Loaded {
    job: JobRow,
    table: Option<Table>,
    owners: Vec<(i64, String)>,
}

async fn load(state: &AppState, creator: &Creator, token: String) -> Result<Loaded, AppError> {
    let (now, user_id) = (state.now(), creator.user.id);
    db::run(&state.pool, move |conn| {
        let mut job = jobs::find(conn, now, &token, user_id)?.ok_or(AppError::NotFound)?;
        if job.is_stalled(now) {
            db::write(conn, |conn| {
                jobs::interrupt(conn, now, now - jobs::STALLED_AFTER)
            })?;
            job = jobs::find(conn, now, &token, user_id)?.ok_or(AppError::NotFound)?;
        }
        let mut table = None;
        let mut owners = Vec::new();
        if job.status() == Status::Uploaded {
            let content = jobs::content(conn, job.id)?.ok_or(AppError::NotFound)?;
            table = Some(
                file::parse(&content, usize::MAX)
                    .map_err(|err| AppError::internal(err.to_string()))?,
            );
            owners = possible_owners(conn)?;
        }
        Ok(Loaded { job, table, owners })
    })
    .await
}

struct Choices {
    mapping: Vec<Option<Field>>,
    default_owner: String,
    on_duplicate: String,
    mode: String,
}

fn mapping_page(
    creator: &Creator,
    kind: Kind,
    loaded: Loaded,
    choices: Choices,
    error: Option<String>,
) -> MappingPage {
    let table = loaded.table.unwrap_or(Table {
        headers: Vec::new(),
        rows: Vec::new(),
    });
    MappingPage {
        page: creator.page(title(kind)),
        kind: kind.as_str(),
        list_path: list_path(kind),
        token: loaded.job.token,
        file_name: loaded.job.file_name,
        rows: table.rows.len(),
        background: table.rows.len() > BACKGROUND_ROWS,
        columns: table
            .headers
            .iter()
            .enumerate()
            .map(|(index, header)| ColumnView {
                index,
                header: if header.is_empty() {
                    format!("Column {}", index + 1)
                } else {
                    header.clone()
                },
                selected: choices
                    .mapping
                    .get(index)
                    .copied()
                    .flatten()
                    .map_or("", Field::key),
            })
            .collect(),
        fields: kind
            .fields()
            .iter()
            .map(|field| (field.key(), field.label_in(kind)))
            .collect(),
        preview: table
            .rows
            .iter()
            .take(PREVIEW_ROWS)
            .map(|row| (row.line, row.cells.clone()))
            .collect(),
        owners: loaded.owners,
        default_owner: choices.default_owner,
        on_duplicate: choices.on_duplicate,
        mode: choices.mode,
        error,
    }
}

async fn contacts_job(
    state: web::Data<AppState>,
    creator: Creator,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    show(state, creator, token.into_inner(), Kind::Contacts).await
}

async fn companies_job(
    state: web::Data<AppState>,
    creator: Creator,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    show(state, creator, token.into_inner(), Kind::Companies).await
}

async fn leads_job(
    state: web::Data<AppState>,
    creator: Creator,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    show(state, creator, token.into_inner(), Kind::Leads).await
}

async fn show(
    state: web::Data<AppState>,
    creator: Creator,
    token: String,
    kind: Kind,
) -> Result<HttpResponse, AppError> {
    let loaded = load(&state, &creator, token).await?;
    if loaded.job.kind() != kind {
        return Err(AppError::NotFound);
    }
    let job = &loaded.job;
    match job.status() {
        Status::Uploaded => {
            let mapping = loaded
                .table
                .as_ref()
                .map(|table| mapping::auto_map(kind, &table.headers))
                .unwrap_or_default();
            let choices = Choices {
                mapping,
                // Leads without an owner go to the assignment rotation.
                default_owner: if kind == Kind::Leads {
                    String::new()
                } else {
                    creator.user.id.to_string()
                },
                on_duplicate: "skip".to_owned(),
                mode: "skip-bad-rows".to_owned(),
            };
            render(&mapping_page(&creator, kind, loaded, choices, None))
        }
        Status::Running => {
            let total = job.total_rows.max(1);
            let mut response = render(&ProgressPage {
                page: creator.page(title(kind)),
                file_name: job.file_name.clone(),
                processed: job.processed_rows,
                total: job.total_rows,
                percent: (i64::from(job.processed_rows) * 100 / i64::from(total)) as i32,
            })?;
            response.headers_mut().insert(
                actix_web::http::header::CACHE_CONTROL,
                actix_web::http::header::HeaderValue::from_static("no-store"),
            );
            Ok(response)
        }
        Status::Done | Status::Failed => {
            let (failed, skipped) = service::decode_rows(&job.report);
            render(&SummaryPage {
                page: creator.page(title(kind)),
                kind: kind.as_str(),
                list_path: list_path(kind),
                file_name: job.file_name.clone(),
                total: job.total_rows,
                created: job.created_count,
                updated: job.updated_count,
                rolled_back: job.status() == Status::Failed,
                stopped: failed.iter().any(|error| error.line == 0),
                skipped,
                failed,
            })
        }
    }
}

async fn leads_start(
    state: web::Data<AppState>,
    creator: Creator,
    token: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    start(state, creator, token.into_inner(), body, Kind::Leads).await
}

async fn contacts_start(
    state: web::Data<AppState>,
    creator: Creator,
    token: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    start(state, creator, token.into_inner(), body, Kind::Contacts).await
}

async fn companies_start(
    state: web::Data<AppState>,
    creator: Creator,
    token: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    start(state, creator, token.into_inner(), body, Kind::Companies).await
}

fn form_value(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
        .unwrap_or_default()
}

async fn start(
    state: web::Data<AppState>,
    creator: Creator,
    token: String,
    body: Bytes,
    kind: Kind,
) -> Result<HttpResponse, AppError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let loaded = load(&state, &creator, token.clone()).await?;
    let page_path = format!("{}/import/{token}", list_path(kind));
    if loaded.job.kind() != kind {
        return Err(AppError::NotFound);
    }
    let Some(table) = loaded.table.clone() else {
        // Already started or finished: show where it is.
        return Ok(redirect(&page_path));
    };
    let mut unknown = false;
    let mapping: Vec<Option<Field>> = (0..table.headers.len())
        .map(|index| {
            let key = form_value(&pairs, &format!("column_{index}"));
            if key.is_empty() {
                return None;
            }
            let field = Field::parse(kind, &key);
            unknown |= field.is_none();
            field
        })
        .collect();
    let choices = Choices {
        mapping: mapping.clone(),
        default_owner: form_value(&pairs, "default_owner"),
        on_duplicate: form_value(&pairs, "on_duplicate"),
        mode: form_value(&pairs, "mode"),
    };
    let on_duplicate = OnDuplicate::parse(&choices.on_duplicate);
    let mode = Mode::parse(&choices.mode);
    let default_owner = match choices.default_owner.as_str() {
        "" => Ok(None),
        value => value
            .parse::<i64>()
            .ok()
            .filter(|id| loaded.owners.iter().any(|(owner, _)| owner == id))
            .map(Some)
            .ok_or(()),
    };
    let problem = if unknown {
        Some("Choose a field from the list for every column.".to_owned())
    } else if let Err(message) = mapping::check(kind, &mapping) {
        Some(message)
    } else if on_duplicate.is_none() {
        Some("Choose what happens to duplicates.".to_owned())
    } else if mode.is_none() {
        Some("Choose what happens to bad rows.".to_owned())
    } else if default_owner.is_err() {
        Some("Choose an active user as the owner, or no owner.".to_owned())
    } else {
        None
    };
    let (Some(on_duplicate), Some(mode), Ok(default_owner), None) =
        (on_duplicate, mode, default_owner, &problem)
    else {
        return render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &mapping_page(&creator, kind, loaded, choices, problem),
        );
    };
    let options = Options {
        kind,
        on_duplicate,
        mode,
        default_owner,
    };
    let job_id = loaded.job.id;
    let now = state.now();
    let started = db::run(&state.pool, move |conn| Ok(jobs::start(conn, now, job_id)?)).await?;
    if !started {
        return Ok(redirect(&page_path));
    }
    let work = Work {
        pool: state.pool.clone(),
        clock: state.clock.clone(),
        actor: creator.actor(),
        user: creator.user.clone(),
        job_id,
        table,
        mapping,
        options,
    };
    if work.table.rows.len() > BACKGROUND_ROWS {
        std::thread::Builder::new()
            .name("rapport-import".to_owned())
            .spawn(move || work.run())
            .map_err(|err| AppError::internal(format!("cannot start the import: {err}")))?;
    } else {
        web::block(move || work.run())
            .await
            .map_err(|err| AppError::internal(format!("the import failed: {err}")))?;
    }
    Ok(redirect(&page_path))
}

/// An import to run, with what it needs to record its progress and summary on its job.
struct Work {
    pool: DbPool,
    clock: Arc<dyn Clock>,
    actor: Actor,
    user: User,
    job_id: i64,
    table: Table,
    mapping: Vec<Option<Field>>,
    options: Options,
}

impl Work {
    fn run(self) {
        let conn = self.pool.get();
        let mut conn = match conn {
            Ok(conn) => conn,
            Err(err) => {
                tracing::error!(error = %err, "the import found no database connection");
                return;
            }
        };
        if let Err(err) = self.run_on(&mut conn) {
            tracing::error!(error = %err, job = self.job_id, "the import failed");
            let message = format!(
                "The import stopped on an error ({}); rows of batches already written stay.",
                err.status_code()
            );
            if let Err(err) = jobs::fail(&mut conn, self.clock.now(), self.job_id, &message) {
                tracing::error!(error = %err, "cannot record the failed import");
            }
        }
    }

    fn run_on(&self, conn: &mut Conn) -> Result<Summary, AppError> {
        let job_id = self.job_id;
        let summary = service::run(
            conn,
            self.clock.now(),
            &self.actor,
            Some(&self.user),
            &self.table,
            &self.mapping,
            &self.options,
            &mut |conn, done| {
                if let Err(err) = jobs::progress(conn, self.clock.now(), job_id, done) {
                    tracing::warn!(error = %err, "cannot record import progress");
                }
            },
        )?;
        jobs::finish(conn, self.clock.now(), job_id, &summary)?;
        Ok(summary)
    }
}
