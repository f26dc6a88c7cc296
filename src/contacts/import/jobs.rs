//! The `import_jobs` table: an uploaded file waits there (tied to the user who sent it, under
//! a random token) while the user checks the mapping; then the import's progress and its
//! summary are kept there. The file itself is dropped when the import ends, and files never
//! imported are deleted after an hour. A running import notes a heartbeat after every batch;
//! one whose process stopped is marked as interrupted (`interrupt`).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::mapping::Kind;
use super::service::{Summary, encode_rows};
use crate::auth::tokens::random_token;
use crate::db::Conn;
use crate::db::schema::import_jobs;

/// How long an uploaded file waits for its import.
pub const KEEP_UPLOADS: Duration = Duration::hours(1);

/// A running import without a heartbeat for this long has stopped without a word. It is
/// longer than the longest single transaction an import holds (an all-or-nothing import of
/// the largest upload), during which no heartbeat can be written.
pub const STALLED_AFTER: Duration = Duration::minutes(15);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Uploaded,
    Running,
    Done,
    Failed,
}

impl Status {
    fn as_str(&self) -> &'static str {
        match self {
            Status::Uploaded => "uploaded",
            Status::Running => "running",
            Status::Done => "done",
            Status::Failed => "failed",
        }
    }

    fn parse(value: &str) -> Self {
        match value {
            "uploaded" => Status::Uploaded,
            "running" => Status::Running,
            "done" => Status::Done,
            _ => Status::Failed,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = import_jobs, check_for_backend(diesel::sqlite::Sqlite))]
pub struct JobRow {
    pub id: i64,
    pub token: String,
    pub user_id: i64,
    pub kind: String,
    pub file_name: String,
    pub status: String,
    pub total_rows: i32,
    pub processed_rows: i32,
    pub created_count: i32,
    pub updated_count: i32,
    pub skipped_count: i32,
    pub failed_count: i32,
    pub report: String,
    pub created_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub heartbeat_at: Option<NaiveDateTime>,
}

impl JobRow {
    pub fn status(&self) -> Status {
        Status::parse(&self.status)
    }

    pub fn kind(&self) -> Kind {
        Kind::parse(&self.kind).unwrap_or(Kind::Contacts)
    }

    /// Running, but nothing has been heard of it for `STALLED_AFTER` (as `interrupt` sees it).
    pub fn is_stalled(&self, now: NaiveDateTime) -> bool {
        self.status() == Status::Running
            && self.heartbeat_at.is_none_or(|at| at < now - STALLED_AFTER)
    }
}

/// Deletes uploads nobody imported within `KEEP_UPLOADS` and marks stalled imports as
/// interrupted.
pub fn sweep(conn: &mut Conn, now: NaiveDateTime) -> QueryResult<usize> {
    interrupt(conn, now, now - STALLED_AFTER)?;
    diesel::delete(
        import_jobs::table
            .filter(import_jobs::status.eq(Status::Uploaded.as_str()))
            .filter(import_jobs::created_at.lt(now - KEEP_UPLOADS)),
    )
    .execute(conn)
}

/// Marks as failed every running import whose last heartbeat is older than
/// `heartbeat_before`, saying how far it got: the batches it wrote stay, the rest of the file
/// was not imported. The server calls it at start-up with `now`: an import runs in the
/// process that started it, and one server serves a SQLite database, so no import of an
/// earlier process is still running. Returns how many.
pub fn interrupt(
    conn: &mut Conn,
    now: NaiveDateTime,
    heartbeat_before: NaiveDateTime,
) -> QueryResult<usize> {
    let stopped: Vec<(i64, i32, i32)> = import_jobs::table
        .filter(import_jobs::status.eq(Status::Running.as_str()))
        .filter(
            import_jobs::heartbeat_at
                .lt(heartbeat_before)
                .or(import_jobs::heartbeat_at.is_null()),
        )
        .select((
            import_jobs::id,
            import_jobs::processed_rows,
            import_jobs::total_rows,
        ))
        .load(conn)?;
    for (id, processed, total) in &stopped {
        let message = format!(
            "The import was interrupted (the server stopped) after {processed} of {total} rows; \
             those rows were handled and stay, the rest of the file was not imported. Import the \
             file again with duplicates skipped to add the rest."
        );
        fail(conn, now, *id, &message)?;
    }
    Ok(stopped.len())
}

/// Keeps an uploaded file for `user_id`; returns its token.
pub fn store(
    conn: &mut Conn,
    now: NaiveDateTime,
    user_id: i64,
    kind: Kind,
    file_name: &str,
    content: &[u8],
    rows: usize,
) -> QueryResult<String> {
    sweep(conn, now)?;
    let token = random_token();
    diesel::insert_into(import_jobs::table)
        .values((
            import_jobs::token.eq(&token),
            import_jobs::user_id.eq(user_id),
            import_jobs::kind.eq(kind.as_str()),
            import_jobs::file_name.eq(file_name),
            import_jobs::content.eq(content),
            import_jobs::status.eq(Status::Uploaded.as_str()),
            import_jobs::total_rows.eq(i32::try_from(rows).unwrap_or(i32::MAX)),
            import_jobs::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The user's job with this token (another user's is not found), unless it expired.
pub fn find(
    conn: &mut Conn,
    now: NaiveDateTime,
    token: &str,
    user_id: i64,
) -> QueryResult<Option<JobRow>> {
    let job = import_jobs::table
        .filter(import_jobs::token.eq(token))
        .filter(import_jobs::user_id.eq(user_id))
        .select(JobRow::as_select())
        .first(conn)
        .optional()?;
    Ok(job.filter(|job| job.status() != Status::Uploaded || job.created_at >= now - KEEP_UPLOADS))
}

/// The uploaded file of a job still waiting for its import.
pub fn content(conn: &mut Conn, id: i64) -> QueryResult<Option<Vec<u8>>> {
    import_jobs::table
        .find(id)
        .filter(import_jobs::status.eq(Status::Uploaded.as_str()))
        .select(import_jobs::content)
        .first::<Option<Vec<u8>>>(conn)
        .optional()
        .map(Option::flatten)
}

/// Marks the job as running; `false` when it was not waiting (already started).
pub fn start(conn: &mut Conn, now: NaiveDateTime, id: i64) -> QueryResult<bool> {
    let changed = diesel::update(
        import_jobs::table
            .find(id)
            .filter(import_jobs::status.eq(Status::Uploaded.as_str())),
    )
    .set((
        import_jobs::status.eq(Status::Running.as_str()),
        import_jobs::heartbeat_at.eq(now),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Records how many rows are done, and that the import is alive.
pub fn progress(conn: &mut Conn, now: NaiveDateTime, id: i64, processed: usize) -> QueryResult<()> {
    diesel::update(import_jobs::table.find(id))
        .set((
            import_jobs::processed_rows.eq(count(processed)),
            import_jobs::heartbeat_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

fn count(value: usize) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// Stores the summary and drops the file.
pub fn finish(conn: &mut Conn, now: NaiveDateTime, id: i64, summary: &Summary) -> QueryResult<()> {
    let status = if summary.rolled_back {
        Status::Failed
    } else {
        Status::Done
    };
    diesel::update(import_jobs::table.find(id))
        .set((
            import_jobs::status.eq(status.as_str()),
            import_jobs::content.eq(None::<Vec<u8>>),
            import_jobs::total_rows.eq(count(summary.total)),
            import_jobs::processed_rows.eq(count(summary.total)),
            import_jobs::created_count.eq(count(summary.created)),
            import_jobs::updated_count.eq(count(summary.updated)),
            import_jobs::skipped_count.eq(count(summary.skipped.len())),
            import_jobs::failed_count.eq(count(summary.failed.len())),
            import_jobs::report.eq(encode_rows(summary)),
            import_jobs::finished_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Records that the import stopped on an error that is not a row's; nothing was written by
/// the batch that hit it.
pub fn fail(conn: &mut Conn, now: NaiveDateTime, id: i64, message: &str) -> QueryResult<()> {
    diesel::update(import_jobs::table.find(id))
        .set((
            import_jobs::status.eq(Status::Failed.as_str()),
            import_jobs::content.eq(None::<Vec<u8>>),
            import_jobs::report.eq(format!("F\t0\t{}", message.replace(['\n', '\t'], " "))),
            import_jobs::finished_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}
