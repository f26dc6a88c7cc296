//! Adding to a timeline: a note, or a logged call or meeting, on a contact, a company or a
//! lead.
//! Plain form posts answer 303 back to the record's timeline; htmx requests
//! (`HX-Request: true`) get the re-rendered timeline section instead. Refused input is shown
//! next to its field with status 422, and nothing is saved.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::Deserialize;

use super::view::{PAGE_SIZE, TimelineForm, TimelineView};
use super::{Kind, NewEntry, Subject, mentions};
use crate::auth::policy::{ViewCustomers, record_rights};
use crate::db::schema::{companies, contacts, leads};
use crate::db::{self, Conn};
use crate::error::{AppError, FieldErrors, OrNotFound};
use crate::web::AppState;
use crate::web::extract::Authorized;
use crate::web::page::{Page, redirect, render_with_status};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/{kind:contacts|companies|leads}/{id}/notes")
            .app_data(form_config())
            .route(web::post().to(add_note)),
    )
    .service(
        web::resource("/{kind:contacts|companies|leads}/{id}/activities")
            .app_data(form_config())
            .route(web::post().to(add_activity)),
    );
}

/// `/contacts/{id}/…` or `/companies/{id}/…`: whose timeline a form adds to.
#[derive(Deserialize)]
struct SubjectPath {
    kind: String,
    id: i64,
}

impl SubjectPath {
    fn subject(&self) -> Subject {
        match self.kind.as_str() {
            "contacts" => Subject::Contact(self.id),
            "leads" => Subject::Lead(self.id),
            _ => Subject::Company(self.id),
        }
    }
}

/// A note of 10,000 characters outside ASCII takes up to 12 bytes a character once
/// URL-encoded, more than the app-wide form limit allows.
fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(160 * 1024)
        .error_handler(|err, _| {
            tracing::info!(error = %err, "unreadable form");
            AppError::BadRequest("The form could not be read. Go back and try again.".to_owned())
                .into()
        })
}

/// The longest note (or call summary) accepted, in characters.
pub const MAX_BODY_CHARS: usize = 10_000;
const MAX_OUTCOME_CHARS: usize = 200;
const MAX_DURATION_MINUTES: i32 = 1440;

/// What the handlers need to know about the record a timeline belongs to.
#[derive(Debug, Clone)]
struct Record {
    name: String,
    owner_id: Option<i64>,
    /// A contact's company: its notes and calls show on the company's timeline too.
    company_id: Option<i64>,
}

fn find_record(conn: &mut Conn, subject: Subject) -> QueryResult<Option<Record>> {
    match subject {
        Subject::Contact(id) => contacts::table
            .find(id)
            .select((
                contacts::first_name,
                contacts::last_name,
                contacts::owner_id,
                contacts::company_id,
            ))
            .first::<(String, String, Option<i64>, Option<i64>)>(conn)
            .optional()
            .map(|found| {
                found.map(|(first, last, owner_id, company_id)| Record {
                    name: format!("{first} {last}").trim().to_owned(),
                    owner_id,
                    company_id,
                })
            }),
        Subject::Company(id) => companies::table
            .find(id)
            .select((companies::name, companies::owner_id))
            .first::<(String, Option<i64>)>(conn)
            .optional()
            .map(|found| {
                found.map(|(name, owner_id)| Record {
                    name,
                    owner_id,
                    company_id: Some(id),
                })
            }),
        Subject::Lead(id) => leads::table
            .find(id)
            .select((leads::first_name, leads::last_name, leads::owner_id))
            .first::<(String, String, Option<i64>)>(conn)
            .optional()
            .map(|found| {
                found.map(|(first, last, owner_id)| Record {
                    name: format!("{first} {last}").trim().to_owned(),
                    owner_id,
                    company_id: None,
                })
            }),
    }
}

fn base_path(subject: Subject) -> String {
    subject.path()
}

/// The record, if it exists and the user may add to its timeline.
async fn writable_record(
    state: &AppState,
    me: &Authorized<ViewCustomers>,
    subject: Subject,
) -> Result<Record, AppError> {
    let record = db::run(&state.pool, move |conn| Ok(find_record(conn, subject)?))
        .await?
        .or_not_found()?;
    if !record_rights(&me.user, record.owner_id).add_notes {
        return Err(AppError::Forbidden);
    }
    Ok(record)
}

fn is_htmx(req: &HttpRequest) -> bool {
    req.headers()
        .get("hx-request")
        .is_some_and(|value| value.as_bytes() == b"true")
}

/// The timeline section alone, for htmx to swap in.
#[derive(Template)]
#[template(source = "{% include \"contacts/_timeline.html\" %}", ext = "html")]
struct TimelinePartial {
    page: Page,
    timeline: TimelineView,
}

/// Without JavaScript, refused input comes back on a page of its own: the record's timeline
/// with the form as it was sent and the reason next to the field.
#[derive(Template)]
#[template(
    source = "{% extends \"base.html\" %}{% block content %}\
<section class=\"page-header\"><p class=\"breadcrumb\"><a href=\"{{ timeline.base_path }}\">{{ record }}</a></p>\
<h1>{{ page.title }}</h1></section>\
{% include \"contacts/_timeline.html\" %}{% endblock %}",
    ext = "html"
)]
struct TimelineFormPage {
    page: Page,
    record: String,
    timeline: TimelineView,
}

/// The record's first timeline page, with the forms in `form`.
async fn timeline_view(
    state: &AppState,
    me: &Authorized<ViewCustomers>,
    subject: Subject,
    record: &Record,
    form: TimelineForm,
) -> Result<TimelineView, AppError> {
    let entries = db::run(&state.pool, move |conn| {
        Ok(super::page(conn, subject, None, PAGE_SIZE + 1)?)
    })
    .await?;
    let can_add = record_rights(&me.user, record.owner_id).add_notes;
    Ok(TimelineView::new(subject, entries, me.user.tz(), can_add).with_form(form))
}

/// Answers a refused form: 422 with the errors next to the fields.
async fn refused(
    state: &AppState,
    me: &Authorized<ViewCustomers>,
    req: &HttpRequest,
    subject: Subject,
    record: Record,
    form: TimelineForm,
) -> Result<HttpResponse, AppError> {
    let timeline = timeline_view(state, me, subject, &record, form).await?;
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    if is_htmx(req) {
        return render_with_status(
            status,
            &TimelinePartial {
                page: me.page(&record.name),
                timeline,
            },
        );
    }
    render_with_status(
        status,
        &TimelineFormPage {
            page: me.page(&format!("Add to the timeline of {}", record.name)),
            record: record.name,
            timeline,
        },
    )
}

/// Answers a saved entry: the fresh timeline for htmx, else 303 back to the record.
async fn added(
    state: &AppState,
    me: &Authorized<ViewCustomers>,
    req: &HttpRequest,
    subject: Subject,
    record: Record,
    done: &str,
) -> Result<HttpResponse, AppError> {
    if is_htmx(req) {
        let timeline = timeline_view(state, me, subject, &record, TimelineForm::default()).await?;
        return render_with_status(
            StatusCode::OK,
            &TimelinePartial {
                page: me.page(&record.name),
                timeline,
            },
        );
    }
    FlashMessage::success(done).send();
    Ok(redirect(&format!("{}#timeline", base_path(subject))))
}

/// Line endings as the browser sends them become `\n`; surrounding blank space goes.
fn clean_text(raw: &str) -> String {
    raw.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .to_owned()
}

fn parse_note_body(raw: &str) -> Result<String, String> {
    let body = clean_text(raw);
    let length = body.chars().count();
    if length == 0 {
        return Err("Write the note first.".to_owned());
    }
    if length > MAX_BODY_CHARS {
        return Err(format!(
            "A note can be at most 10,000 characters; this one has {length}."
        ));
    }
    Ok(body)
}

#[derive(Deserialize)]
struct NoteForm {
    #[serde(default)]
    body: String,
}

async fn add_note(
    state: web::Data<AppState>,
    me: Authorized<ViewCustomers>,
    req: HttpRequest,
    path: web::Path<SubjectPath>,
    form: web::Form<NoteForm>,
) -> Result<HttpResponse, AppError> {
    let (state, me, req, subject, form) = (&state, &me, &req, path.subject(), form.into_inner());
    let record = writable_record(state, me, subject).await?;
    let body = match parse_note_body(&form.body) {
        Ok(body) => body,
        Err(message) => {
            let form = TimelineForm {
                note_body: form.body,
                note_errors: FieldErrors::single("body", message),
                ..TimelineForm::default()
            };
            return refused(state, me, req, subject, record, form).await;
        }
    };
    let (now, mailer) = (state.now(), state.mailer.clone());
    let (author_id, author_name) = (me.user.id, me.user.display_name.clone());
    let (record_name, path, company_id) =
        (record.name.clone(), base_path(subject), record.company_id);
    let queued = db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            super::add(
                conn,
                &NewEntry {
                    deal_id: None,
                    lead_id: match subject {
                        Subject::Lead(id) => Some(id),
                        Subject::Contact(_) | Subject::Company(_) => None,
                    },
                    contact_id: match subject {
                        Subject::Contact(id) => Some(id),
                        Subject::Company(_) | Subject::Lead(_) => None,
                    },
                    company_id,
                    kind: Kind::Note,
                    author_id: Some(author_id),
                    occurred_at: now,
                    recorded_at: now,
                    body: &body,
                    outcome: None,
                    duration_minutes: None,
                },
            )?;
            mentions::notify(
                conn,
                now,
                &mailer,
                (author_id, &author_name),
                &record_name,
                &path,
                &body,
            )
        })
    })
    .await?;
    if queued > 0 {
        state.email_worker.wake();
    }
    added(state, me, req, subject, record, "Note added.").await
}

#[derive(Deserialize)]
struct ActivityForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    duration_minutes: String,
    #[serde(default)]
    occurred_at: String,
    #[serde(default)]
    body: String,
}

/// A call or meeting as validated from the form.
struct Activity {
    kind: Kind,
    outcome: Option<String>,
    duration_minutes: Option<i32>,
    occurred_at: NaiveDateTime,
    body: String,
}

fn parse_kind(raw: &str) -> Result<Kind, String> {
    match raw.trim() {
        "call" => Ok(Kind::Call),
        "meeting" => Ok(Kind::Meeting),
        _ => Err("Choose a call or a meeting.".to_owned()),
    }
}

fn parse_outcome(raw: &str) -> Result<Option<String>, String> {
    let outcome = raw.trim();
    if outcome.chars().any(char::is_control) {
        return Err("The outcome must be on one line.".to_owned());
    }
    if outcome.chars().count() > MAX_OUTCOME_CHARS {
        return Err("The outcome can be at most 200 characters.".to_owned());
    }
    Ok((!outcome.is_empty()).then(|| outcome.to_owned()))
}

fn parse_duration(raw: &str) -> Result<Option<i32>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<i32>() {
        Ok(minutes) if (0..=MAX_DURATION_MINUTES).contains(&minutes) => Ok(Some(minutes)),
        _ => Err("Enter the duration in whole minutes, from 0 to 1440.".to_owned()),
    }
}

/// A `datetime-local` value in the user's time zone → UTC. Empty means now. A call or
/// meeting being logged has already happened, so a time in the future is refused.
fn parse_occurred_at(raw: &str, tz: Tz, now: NaiveDateTime) -> Result<NaiveDateTime, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(now);
    }
    let local = [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
    ]
    .into_iter()
    .find_map(|format| NaiveDateTime::parse_from_str(raw, format).ok())
    .ok_or_else(|| "Enter a date and time, like 2026-12-03T14:30.".to_owned())?;
    let at = tz
        .from_local_datetime(&local)
        .earliest()
        .ok_or_else(|| {
            format!("That time does not exist in {tz}: the clocks changed. Pick another time.")
        })?
        .naive_utc();
    if at > now + chrono::Duration::minutes(5) {
        return Err(
            "That time is in the future; log calls and meetings once they happened.".to_owned(),
        );
    }
    if at.and_utc().timestamp() < 0 {
        return Err("Enter a date after 1970.".to_owned());
    }
    Ok(at)
}

fn parse_summary(raw: &str) -> Result<String, String> {
    let body = clean_text(raw);
    let length = body.chars().count();
    if length > MAX_BODY_CHARS {
        return Err(format!(
            "A summary can be at most 10,000 characters; this one has {length}."
        ));
    }
    Ok(body)
}

fn parse_activity(
    form: &ActivityForm,
    tz: Tz,
    now: NaiveDateTime,
) -> Result<Activity, FieldErrors> {
    let mut errors = FieldErrors::new();
    let kind = errors.take("kind", parse_kind(&form.kind));
    let outcome = errors.take("outcome", parse_outcome(&form.outcome));
    let duration_minutes = errors.take("duration_minutes", parse_duration(&form.duration_minutes));
    let occurred_at = errors.take("occurred_at", parse_occurred_at(&form.occurred_at, tz, now));
    let body = errors.take("body", parse_summary(&form.body));
    match (kind, outcome, duration_minutes, occurred_at, body) {
        (Some(kind), Some(outcome), Some(duration_minutes), Some(occurred_at), Some(body)) => {
            Ok(Activity {
                kind,
                outcome,
                duration_minutes,
                occurred_at,
                body,
            })
        }
        _ => Err(errors),
    }
}

async fn add_activity(
    state: web::Data<AppState>,
    me: Authorized<ViewCustomers>,
    req: HttpRequest,
    path: web::Path<SubjectPath>,
    form: web::Form<ActivityForm>,
) -> Result<HttpResponse, AppError> {
    let (state, me, req, subject, form) = (&state, &me, &req, path.subject(), form.into_inner());
    let record = writable_record(state, me, subject).await?;
    let activity = match parse_activity(&form, me.user.tz(), state.now()) {
        Ok(activity) => activity,
        Err(errors) => {
            let form = TimelineForm {
                activity_kind: form.kind,
                outcome: form.outcome,
                duration_minutes: form.duration_minutes,
                occurred_at: form.occurred_at,
                activity_body: form.body,
                activity_errors: errors,
                ..TimelineForm::default()
            };
            return refused(state, me, req, subject, record, form).await;
        }
    };
    let (author_id, company_id, now) = (me.user.id, record.company_id, state.now());
    db::run(&state.pool, move |conn| {
        db::write(conn, |conn| {
            super::add(
                conn,
                &NewEntry {
                    deal_id: None,
                    lead_id: match subject {
                        Subject::Lead(id) => Some(id),
                        Subject::Contact(_) | Subject::Company(_) => None,
                    },
                    contact_id: match subject {
                        Subject::Contact(id) => Some(id),
                        Subject::Company(_) | Subject::Lead(_) => None,
                    },
                    company_id,
                    kind: activity.kind,
                    author_id: Some(author_id),
                    occurred_at: activity.occurred_at,
                    recorded_at: now,
                    body: &activity.body,
                    outcome: activity.outcome.as_deref(),
                    duration_minutes: activity.duration_minutes,
                },
            )?;
            Ok::<_, AppError>(())
        })
    })
    .await?;
    let done = match activity.kind {
        Kind::Meeting => "Meeting logged.",
        _ => "Call logged.",
    };
    added(state, me, req, subject, record, done).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("a time")
    }

    #[test]
    fn a_local_time_is_read_in_the_users_zone_and_stored_as_utc() {
        let now = at("2026-12-03 18:00");
        let paris = chrono_tz::Europe::Paris;
        assert_eq!(
            parse_occurred_at("2026-12-03T09:30", paris, now),
            Ok(at("2026-12-03 08:30"))
        );
        assert_eq!(parse_occurred_at("", paris, now), Ok(now));
        assert!(parse_occurred_at("2026-12-04T09:30", paris, now).is_err());
        assert!(parse_occurred_at("yesterday", paris, now).is_err());
        // 02:30 on the last Sunday of March does not exist in Paris.
        assert!(parse_occurred_at("2026-03-29T02:30", paris, now).is_err());
    }

    #[test]
    fn durations_are_whole_minutes_up_to_a_day() {
        assert_eq!(parse_duration(""), Ok(None));
        assert_eq!(parse_duration(" 45 "), Ok(Some(45)));
        assert_eq!(parse_duration("1440"), Ok(Some(1440)));
        assert!(parse_duration("1441").is_err());
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("1.5").is_err());
    }

    #[test]
    fn a_note_needs_text_and_at_most_ten_thousand_characters() {
        assert!(parse_note_body(" \r\n ").is_err());
        assert_eq!(parse_note_body(" a\r\nb "), Ok("a\nb".to_owned()));
        assert!(parse_note_body(&"é".repeat(10_000)).is_ok());
        assert!(parse_note_body(&"é".repeat(10_001)).is_err());
    }
}
