//! CSV export of the contact and company lists: the same filters as the list pages, the
//! whole filtered list (not one page), streamed batch by batch so memory stays flat however
//! many rows there are. Each batch is its own `db::run` on the blocking pool, so no pooled
//! connection is held while the response waits for the client.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;

use crate::audit::{self, Action};
use crate::auth::policy::ViewCustomers;
use crate::contacts::company::queries as company_queries;
use crate::contacts::company::routes::{ListQuery as CompanyListQuery, build_filter};
use crate::contacts::contact::model::Stage;
use crate::contacts::contact::queries::{self as contact_queries, Cursor as ContactCursor};
use crate::contacts::contact::routes::ListQuery as ContactListQuery;
use crate::contacts::tags;
use crate::db::schema::{contact_emails, contact_phones, users};
use crate::db::{self, Conn, DbPool};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::extract::{Authorized, CurrentUser};

type Viewer = Authorized<ViewCustomers>;

/// Rows fetched per query (and per `db::run`) while streaming an export.
pub const BATCH_SIZE: i64 = 1000;

pub const CONTACT_COLUMNS: [&str; 12] = [
    "id",
    "first name",
    "last name",
    "emails",
    "phones",
    "job title",
    "company",
    "owner email",
    "lifecycle stage",
    "tags",
    "created",
    "last activity",
];

pub const COMPANY_COLUMNS: [&str; 10] = [
    "id",
    "name",
    "domain",
    "industry",
    "employees",
    "phone",
    "owner email",
    "tags",
    "created",
    "last activity",
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/contacts/export.csv", web::get().to(contacts_csv))
        .route("/companies/export.csv", web::get().to(companies_csv));
}

/// A cell as a spreadsheet may safely open it: text that a spreadsheet would read as a
/// formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading
/// single quote, so it stays text.
pub fn safe_cell(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// A UTC time to the second, e.g. "2026-12-03T17:55:02Z".
fn time(at: Option<NaiveDateTime>) -> String {
    at.map(|at| at.and_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

type Writer = csv::Writer<Vec<u8>>;

fn writer() -> Writer {
    csv::WriterBuilder::new().from_writer(Vec::new())
}

fn csv_error(err: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("writing CSV: {err}"))
}

/// Writes one CSV record, every cell escaped.
fn record<S: AsRef<str>>(out: &mut Writer, cells: &[S]) -> Result<(), AppError> {
    out.write_record(
        cells
            .iter()
            .map(|cell| safe_cell(cell.as_ref()).into_owned()),
    )
    .map_err(csv_error)
}

fn finish(out: Writer) -> Result<Vec<u8>, AppError> {
    out.into_inner().map_err(csv_error)
}

fn header(columns: &[&str]) -> Result<Bytes, AppError> {
    let mut out = writer();
    record(&mut out, columns)?;
    Ok(Bytes::from(finish(out)?))
}

/// One batch of CSV rows, and where the next batch starts (`None`: this was the last).
pub struct Batch<C> {
    bytes: Vec<u8>,
    next: Option<C>,
}

type FetchBatch<C> = Arc<dyn Fn(&mut Conn, Option<C>) -> Result<Batch<C>, AppError> + Send + Sync>;
type Pending<C> = Pin<Box<dyn Future<Output = Result<Batch<C>, AppError>>>>;

enum State<C> {
    /// Fetch the batch starting after this cursor (`None`: from the start).
    Next(Option<C>),
    Fetching(Pending<C>),
    Done,
}

/// A response body that fetches the next batch only when the previous one has been sent.
pub struct CsvBody<C> {
    pool: DbPool,
    fetch: FetchBatch<C>,
    header: Option<Bytes>,
    state: State<C>,
}

impl<C: Send + Unpin + 'static> MessageBody for CsvBody<C> {
    type Error = AppError;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if let Some(header) = this.header.take() {
            return Poll::Ready(Some(Ok(header)));
        }
        loop {
            match std::mem::replace(&mut this.state, State::Done) {
                State::Done => return Poll::Ready(None),
                State::Next(cursor) => {
                    let pool = this.pool.clone();
                    let fetch = Arc::clone(&this.fetch);
                    this.state = State::Fetching(Box::pin(async move {
                        db::run(&pool, move |conn| fetch(conn, cursor)).await
                    }));
                }
                State::Fetching(mut pending) => match pending.as_mut().poll(cx) {
                    Poll::Pending => {
                        this.state = State::Fetching(pending);
                        return Poll::Pending;
                    }
                    Poll::Ready(Err(err)) => {
                        tracing::error!(error = %err, "CSV export failed");
                        return Poll::Ready(Some(Err(err)));
                    }
                    Poll::Ready(Ok(batch)) => {
                        if let Some(next) = batch.next {
                            this.state = State::Next(Some(next));
                        }
                        if !batch.bytes.is_empty() {
                            return Poll::Ready(Some(Ok(Bytes::from(batch.bytes))));
                        }
                    }
                },
            }
        }
    }
}

/// Records the export in the audit log, then answers with the streamed CSV file.
async fn respond<C: Send + Unpin + 'static>(
    state: &AppState,
    viewer: &CurrentUser,
    what: &'static str,
    filters: String,
    columns: &[&str],
    fetch: FetchBatch<C>,
) -> Result<HttpResponse, AppError> {
    let (now, actor) = (state.now(), viewer.actor());
    let details = if filters.is_empty() {
        format!("exported {what} as CSV (no filters)")
    } else {
        format!("exported {what} as CSV; filters: {filters}")
    };
    db::run(&state.pool, move |conn| {
        audit::record(
            conn,
            now,
            &actor,
            Action::RecordsExported,
            Some(what),
            Some(&details),
        )?;
        Ok(())
    })
    .await?;
    let today = now
        .and_utc()
        .with_timezone(&viewer.user.tz())
        .date_naive()
        .format("%Y-%m-%d");
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{what}-{today}.csv\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .body(CsvBody {
            pool: state.pool.clone(),
            fetch,
            header: Some(header(columns)?),
            state: State::Next(None),
        }))
}

/// Email addresses of users by id, in one query.
fn user_emails(conn: &mut Conn, ids: &[i64]) -> QueryResult<HashMap<i64, String>> {
    let rows: Vec<(i64, String)> = users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::email))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Values of many contacts, primary first, in one query per table.
fn grouped(rows: Vec<(i64, String)>) -> HashMap<i64, Vec<String>> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for (id, value) in rows {
        out.entry(id).or_default().push(value);
    }
    out
}

fn contact_batch(
    conn: &mut Conn,
    filter: &contact_queries::ListFilter,
    after: Option<ContactCursor>,
) -> Result<Batch<ContactCursor>, AppError> {
    let mut filter = filter.clone();
    filter.after = after;
    let contacts = contact_queries::batch(conn, &filter, BATCH_SIZE)?;
    let ids: Vec<i64> = contacts.iter().map(|contact| contact.id).collect();
    let company_ids: Vec<i64> = contacts.iter().filter_map(|c| c.company_id).collect();
    let owner_ids: Vec<i64> = contacts.iter().filter_map(|c| c.owner_id).collect();
    let mut emails = grouped(
        contact_emails::table
            .filter(contact_emails::contact_id.eq_any(&ids))
            .order((
                contact_emails::contact_id.asc(),
                contact_emails::is_primary.desc(),
                contact_emails::id.asc(),
            ))
            .select((contact_emails::contact_id, contact_emails::email))
            .load(conn)?,
    );
    let mut phones = grouped(
        contact_phones::table
            .filter(contact_phones::contact_id.eq_any(&ids))
            .order((
                contact_phones::contact_id.asc(),
                contact_phones::is_primary.desc(),
                contact_phones::id.asc(),
            ))
            .select((contact_phones::contact_id, contact_phones::phone))
            .load(conn)?,
    );
    let companies = contact_queries::company_names(conn, &company_ids)?;
    let owners = user_emails(conn, &owner_ids)?;
    let mut tag_names = tags::for_contacts(conn, &ids)?;
    let mut bytes = writer();
    for contact in &contacts {
        record(
            &mut bytes,
            &[
                contact.id.to_string(),
                contact.first_name.clone(),
                contact.last_name.clone(),
                emails.remove(&contact.id).unwrap_or_default().join(";"),
                phones.remove(&contact.id).unwrap_or_default().join(";"),
                contact.job_title.clone().unwrap_or_default(),
                contact
                    .company_id
                    .and_then(|id| companies.get(&id).cloned())
                    .unwrap_or_default(),
                contact
                    .owner_id
                    .and_then(|id| owners.get(&id).cloned())
                    .unwrap_or_default(),
                Stage::label_of(&contact.lifecycle_stage).to_owned(),
                tag_names.remove(&contact.id).unwrap_or_default().join(";"),
                time(Some(contact.created_at)),
                time(contact.last_activity_at),
            ],
        )?;
    }
    let next = if contacts.len() as i64 == BATCH_SIZE {
        contacts
            .last()
            .map(|last| ContactCursor::after(filter.sort, last))
    } else {
        None
    };
    Ok(Batch {
        bytes: finish(bytes)?,
        next,
    })
}

async fn contacts_csv(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<ContactListQuery>,
) -> Result<HttpResponse, AppError> {
    let mut filter = query.filter(&viewer, state.now());
    filter.after = None;
    let link = query.link(None);
    let filters = link
        .split_once('?')
        .map(|(_, filters)| filters.to_owned())
        .unwrap_or_default();
    let fetch: FetchBatch<ContactCursor> =
        Arc::new(move |conn, after| contact_batch(conn, &filter, after));
    respond(
        &state,
        &viewer,
        "contacts",
        filters,
        &CONTACT_COLUMNS,
        fetch,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
struct SortOnly {
    #[serde(default)]
    sort: String,
}

fn company_batch(
    conn: &mut Conn,
    filter: &company_queries::Filter,
    sort: company_queries::Sort,
    after: Option<company_queries::Cursor>,
) -> Result<Batch<company_queries::Cursor>, AppError> {
    let companies = company_queries::list(conn, filter, sort, after.as_ref(), BATCH_SIZE)?;
    let ids: Vec<i64> = companies.iter().map(|company| company.id).collect();
    let owner_ids: Vec<i64> = companies.iter().filter_map(|c| c.owner_id).collect();
    let owners = user_emails(conn, &owner_ids)?;
    let mut tag_names = tags::for_companies(conn, &ids)?;
    let mut bytes = writer();
    for company in &companies {
        record(
            &mut bytes,
            &[
                company.id.to_string(),
                company.name.clone(),
                company.domain.clone().unwrap_or_default(),
                company.industry.clone().unwrap_or_default(),
                company
                    .employee_count
                    .map(|count| count.to_string())
                    .unwrap_or_default(),
                company.phone.clone().unwrap_or_default(),
                company
                    .owner_id
                    .and_then(|id| owners.get(&id).cloned())
                    .unwrap_or_default(),
                tag_names.remove(&company.id).unwrap_or_default().join(";"),
                time(Some(company.created_at)),
                time(company.last_activity_at),
            ],
        )?;
    }
    let next = if companies.len() as i64 == BATCH_SIZE {
        companies
            .last()
            .map(|last| company_queries::Cursor::after(sort, last))
    } else {
        None
    };
    Ok(Batch {
        bytes: finish(bytes)?,
        next,
    })
}

async fn companies_csv(
    state: web::Data<AppState>,
    viewer: Viewer,
    query: web::Query<CompanyListQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let sort = web::Query::<SortOnly>::from_query(req.query_string())
        .map(|only| company_queries::Sort::parse(only.sort.trim()))
        .unwrap_or_default();
    let (user, now) = (viewer.user.clone(), state.now());
    let filters = query.without_cursor();
    let filter = db::run(&state.pool, move |conn| {
        build_filter(conn, &query, &user, now)
    })
    .await?;
    let fetch: FetchBatch<company_queries::Cursor> =
        Arc::new(move |conn, after| company_batch(conn, &filter, sort, after));
    respond(
        &state,
        &viewer,
        "companies",
        filters,
        &COMPANY_COLUMNS,
        fetch,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::safe_cell;

    #[test]
    fn cells_a_spreadsheet_would_run_as_formulas_are_quoted() {
        assert_eq!(safe_cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(safe_cell("+1 555"), "'+1 555");
        assert_eq!(safe_cell("-2"), "'-2");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("\tx"), "'\tx");
        assert_eq!(safe_cell("Ada"), "Ada");
        assert_eq!(safe_cell(""), "");
    }
}
