//! Web-to-lead forms: the admin's changes, and what a visitor's submission does. A
//! submission (or the confirmation of a double opt-in one) runs in one transaction: it
//! updates the lead with that email, or notes it on the contact with that email, or
//! creates a lead; records the `form_submitted` event and joins the visitor's earlier
//! anonymous events to that lead or contact.

use std::num::NonZeroU32;
use std::time::Duration;

use askama::Template;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use governor::Quota;
use serde_json::{Map, Value};

use super::model::parse_submission;
use super::model::{FormField, HONEYPOT, SettingsForm, Submission, VISITOR_FIELD, WebForm};
use super::queries::{self, NewPending};
use crate::audit::{self, Action, Actor};
use crate::auth::tokens::{hash_token, random_token};
use crate::contacts::timeline::{self, Kind, NewEntry};
use crate::db::schema::leads;
use crate::db::{self, Conn};
use crate::email::{Mailer, NewEmail, SystemMessage};
use crate::error::{AppError, OrNotFound};
use crate::leads::events::{self, BatchEvent, NewEvent, Subject};
use crate::leads::model::{Lead, Source, Status};
use crate::web::throttle::Throttle;

/// How long a double opt-in confirmation link stays valid.
pub const CONFIRMATION_DAYS: i64 = 7;
/// While a confirmation link younger than this is unused, the same form and email get no
/// other one.
pub const RESEND_AFTER_MINUTES: i64 = 10;
/// Days after expiry when a pending submission is deleted.
const PURGE_AFTER_DAYS: i64 = 30;
/// Submissions per client address: a burst of ten, then one every six seconds.
pub const BURST_PER_ADDRESS: u32 = 10;
const FORM_KEY_LENGTH: usize = 24;

pub const EVENT_NAME: &str = "form_submitted";

/// The rate limit of public submissions, per client address.
pub fn throttle() -> Throttle {
    let per_address = Quota::with_period(Duration::from_secs(6))
        .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(BURST_PER_ADDRESS).unwrap_or(NonZeroU32::MIN));
    // Submissions are not tied to an account; the account limiter is never consulted.
    Throttle::new(per_address, per_address)
}

fn target(id: i64) -> String {
    format!("lead form {id}")
}

/// Creates a form with a fresh, unguessable key.
pub fn create(
    conn: &mut Conn,
    actor: &Actor,
    form: &SettingsForm,
    now: NaiveDateTime,
) -> Result<i64, AppError> {
    let settings = form.parse().map_err(AppError::Invalid)?;
    let key: String = random_token().chars().take(FORM_KEY_LENGTH).collect();
    db::write(conn, |conn| {
        let id = queries::insert(conn, &key, &settings, now)?;
        audit::record(
            conn,
            now,
            actor,
            Action::RecordCreated,
            Some(&target(id)),
            Some(&settings.name),
        )?;
        Ok(id)
    })
}

pub fn update(
    conn: &mut Conn,
    actor: &Actor,
    id: i64,
    form: &SettingsForm,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let settings = form.parse().map_err(AppError::Invalid)?;
    db::write(conn, |conn| {
        queries::find(conn, id)?.or_not_found()?;
        queries::update(conn, id, &settings, now)?;
        audit::record(
            conn,
            now,
            actor,
            Action::RecordUpdated,
            Some(&target(id)),
            Some(&settings.name),
        )?;
        Ok(())
    })
}

/// Deactivates (or reactivates) a form: an inactive form refuses submissions.
pub fn set_active(
    conn: &mut Conn,
    actor: &Actor,
    id: i64,
    active: bool,
    now: NaiveDateTime,
) -> Result<WebForm, AppError> {
    db::write(conn, |conn| {
        let form = queries::find(conn, id)?.or_not_found()?;
        queries::set_active(conn, id, active, now)?;
        audit::record(
            conn,
            now,
            actor,
            if active {
                Action::RecordRestored
            } else {
                Action::RecordArchived
            },
            Some(&target(id)),
            Some(&form.name),
        )?;
        Ok(form)
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML to paste into a website: the chosen inputs, the honeypot (off-screen, so
/// people never see it but naive bots fill it in) and the visitor id the tracking script
/// fills.
pub fn snippet(form: &WebForm, action: &str) -> String {
    let required = form.required();
    let mut html = format!(
        "<form method=\"post\" action=\"{}\" accept-charset=\"utf-8\" class=\"rapport-form\">\n",
        escape(action)
    );
    for field in form.shown() {
        let id = format!("rapport-{}", field.key());
        let is_required = required.contains(&field);
        let required_attr = if is_required { " required" } else { "" };
        let marker = if is_required { " *" } else { "" };
        html.push_str("  <p>\n");
        html.push_str(&format!(
            "    <label for=\"{id}\">{}{marker}</label>\n",
            field.label()
        ));
        if field == FormField::Message {
            html.push_str(&format!(
                "    <textarea id=\"{id}\" name=\"{}\" rows=\"4\" maxlength=\"{}\"{required_attr}></textarea>\n",
                field.key(),
                super::model::MAX_MESSAGE
            ));
        } else {
            html.push_str(&format!(
                "    <input id=\"{id}\" name=\"{}\" type=\"{}\" autocomplete=\"{}\"{required_attr}>\n",
                field.key(),
                field.input_type(),
                field.autocomplete()
            ));
        }
        html.push_str("  </p>\n");
    }
    html.push_str(&format!(
        "  <div style=\"position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden\" aria-hidden=\"true\">\n    <label for=\"rapport-{HONEYPOT}\">Leave this field empty</label>\n    <input id=\"rapport-{HONEYPOT}\" name=\"{HONEYPOT}\" type=\"text\" tabindex=\"-1\" autocomplete=\"off\">\n  </div>\n"
    ));
    html.push_str(&format!(
        "  <input type=\"hidden\" name=\"{VISITOR_FIELD}\" value=\"\">\n"
    ));
    html.push_str("  <button type=\"submit\">Send</button>\n</form>\n");
    html
}

#[derive(Template)]
#[template(path = "email/messages/lead_confirmation.txt")]
pub struct LeadConfirmationEmail<'a> {
    pub name: &'a str,
    pub form_name: &'a str,
    pub link: &'a str,
    pub valid_days: i64,
}

impl SystemMessage for LeadConfirmationEmail<'_> {
    fn subject(&self) -> String {
        "Please confirm your email address".to_owned()
    }
}

/// What became of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    LeadCreated(i64),
    LeadUpdated(i64),
    ContactNoted(i64),
    /// A double opt-in submission, waiting for its link to be followed.
    AwaitingConfirmation,
}

/// Accepts a checked submission of `form`: for a double opt-in form, keeps it pending and
/// queues the confirmation email; otherwise applies it at once.
pub fn submit(
    conn: &mut Conn,
    mailer: &Mailer,
    form: &WebForm,
    submission: &Submission,
    visitor_id: Option<&str>,
    address: &str,
    now: NaiveDateTime,
) -> Result<Outcome, AppError> {
    if !form.double_opt_in {
        return db::write(conn, |conn| {
            apply(conn, form, submission, visitor_id, address, now)
        });
    }
    let token = random_token();
    let stored = serde_json::to_string(&submission.values)
        .map_err(|err| AppError::internal(format!("submission not serializable: {err}")))?;
    db::write(conn, |conn| {
        // Sending the form again and again must not flood someone's inbox: while a recent
        // link is unused, no other is sent.
        let resend_after = now - chrono::Duration::minutes(RESEND_AFTER_MINUTES);
        if queries::pending_since(conn, form.id, submission.email(), resend_after)? {
            return Ok(Outcome::AwaitingConfirmation);
        }
        // Old links are forgotten a while after they expire (until then, following one
        // says "expired" rather than "not found").
        queries::purge_expired(conn, now - chrono::Duration::days(PURGE_AFTER_DAYS))?;
        let pending_id = queries::insert_pending(
            conn,
            &NewPending {
                form_id: form.id,
                token_hash: &hash_token(&token),
                email: submission.email(),
                submission: &stored,
                visitor_id,
                expires_at: now + chrono::Duration::days(CONFIRMATION_DAYS),
            },
            now,
        )?;
        let link = mailer.link(&format!("/f/{}/confirm/{token}", form.form_key));
        let message = LeadConfirmationEmail {
            name: if submission.lead.first_name.is_empty() {
                "there"
            } else {
                &submission.lead.first_name
            },
            form_name: &form.name,
            link: &link,
            valid_days: CONFIRMATION_DAYS,
        };
        let body = message
            .render()
            .map_err(|err| AppError::internal(format!("email template failed: {err}")))?;
        mailer.queue(
            conn,
            now,
            &NewEmail {
                to: submission.email().to_owned(),
                subject: message.subject(),
                body,
                idempotency_key: Some(format!("lead-form-confirmation:{pending_id}")),
            },
        )?;
        Ok(Outcome::AwaitingConfirmation)
    })
}

/// Why a confirmation link did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    Unknown,
    Used,
    Expired,
}

/// The pending submission a link stands for, if it may still be confirmed.
fn usable_link(
    conn: &mut Conn,
    form_key: &str,
    token: &str,
    now: NaiveDateTime,
) -> QueryResult<Result<(WebForm, queries::Pending), LinkProblem>> {
    let Some(pending) = queries::pending_by_hash(conn, &hash_token(token))? else {
        return Ok(Err(LinkProblem::Unknown));
    };
    let form = match queries::find(conn, pending.form_id)? {
        Some(form) if form.form_key == form_key && form.active => form,
        _ => return Ok(Err(LinkProblem::Unknown)),
    };
    if pending.confirmed_at.is_some() {
        return Ok(Err(LinkProblem::Used));
    }
    if pending.expires_at < now {
        return Ok(Err(LinkProblem::Expired));
    }
    Ok(Ok((form, pending)))
}

/// Looks at a double opt-in link without using it (opening the link only shows a button:
/// mail scanners that fetch links must not confirm anything). Returns the form it is for.
pub fn check_link(
    conn: &mut Conn,
    form_key: &str,
    token: &str,
    now: NaiveDateTime,
) -> Result<Result<WebForm, LinkProblem>, AppError> {
    Ok(usable_link(conn, form_key, token, now)?.map(|(form, _)| form))
}

/// Confirms a double opt-in link (the visitor pressed the button): applies the pending
/// submission once.
pub fn confirm(
    conn: &mut Conn,
    form_key: &str,
    token: &str,
    address: &str,
    now: NaiveDateTime,
) -> Result<Result<(WebForm, Outcome), LinkProblem>, AppError> {
    db::write(conn, |conn| {
        let (form, pending) = match usable_link(conn, form_key, token, now)? {
            Ok(found) => found,
            Err(problem) => return Ok(Err(problem)),
        };
        if queries::claim_pending(conn, pending.id, now)? == 0 {
            return Ok(Err(LinkProblem::Used));
        }
        let values = serde_json::from_str(&pending.submission).unwrap_or_default();
        // Replayed as stored: it was checked when it was sent, against the fields then shown.
        let submission =
            parse_submission(&FormField::ALL, &[], &values, false).map_err(AppError::Invalid)?;
        let outcome = apply(
            conn,
            &form,
            &submission,
            pending.visitor_id.as_deref(),
            address,
            now,
        )?;
        Ok(Ok((form, outcome)))
    })
}

fn event_properties(form: &WebForm, submission: &Submission) -> Map<String, Value> {
    let mut properties = Map::new();
    properties.insert("form".to_owned(), Value::String(form.name.clone()));
    properties.insert("form_id".to_owned(), Value::from(form.id));
    properties.insert(
        "source_label".to_owned(),
        Value::String(form.source_label.clone()),
    );
    for (key, value) in &submission.values {
        properties.insert(key.clone(), Value::String(value.clone()));
    }
    properties
}

/// What the visitor sent, for the record's timeline: on a contact (whose fields a form
/// never changes) every value; on a lead (whose empty fields it fills) only the message.
fn details_body(form: &WebForm, submission: &Submission, every_value: bool) -> Option<String> {
    let lines: Vec<String> = FormField::ALL
        .into_iter()
        .filter(|field| every_value || *field == FormField::Message)
        .filter_map(|field| {
            let value = submission.values.get(field.key())?;
            Some(if every_value {
                format!("{}: {value}", field.label())
            } else {
                value.clone()
            })
        })
        .collect();
    if lines.is_empty() {
        return None;
    }
    let heading = if every_value {
        "Sent with the web form"
    } else {
        "Message sent with the web form"
    };
    Some(format!("{heading} {}:\n{}", form.name, lines.join("\n")))
}

/// The submission's effect, in the caller's transaction.
fn apply(
    conn: &mut Conn,
    form: &WebForm,
    submission: &Submission,
    visitor_id: Option<&str>,
    address: &str,
    now: NaiveDateTime,
) -> Result<Outcome, AppError> {
    queries::count_submission(conn, form.id, now)?;
    let email = submission.email();
    let (lead_id, outcome) = if let Some(lead_id) = queries::open_lead_with_email(conn, email)? {
        fill_empty_fields(conn, lead_id, form, submission, now)?;
        (lead_id, Outcome::LeadUpdated(lead_id))
    } else if let Some(contact_id) = queries::contact_with_email(conn, email)? {
        // A customer already: the submission is noted on the contact, and no lead is made.
        // The visitor's earlier anonymous visits, and the later ones, are the contact's.
        events::record_batch(
            conn,
            &[BatchEvent {
                subject: Subject::Contact(contact_id),
                visitor_id: visitor_id.map(str::to_owned),
                name: EVENT_NAME.to_owned(),
                properties: event_properties(form, submission),
                occurred_at: now,
            }],
            &[],
            now,
        )?;
        if let Some(body) = details_body(form, submission, true) {
            timeline::add(
                conn,
                &NewEntry {
                    contact_id: Some(contact_id),
                    ..NewEntry::system(Kind::Event, now, &body)
                },
            )?;
        }
        if let Some(visitor_id) = visitor_id {
            events::stitch_to_contact(conn, visitor_id, contact_id, now)?;
        }
        return Ok(Outcome::ContactNoted(contact_id));
    } else {
        let lead_id = create_lead(conn, form, submission, now)?;
        let actor = Actor {
            user_id: None,
            label: format!("web form {}", form.name),
            address: Some(address.to_owned()),
        };
        audit::record(
            conn,
            now,
            &actor,
            Action::RecordCreated,
            Some(&format!("lead {lead_id}")),
            Some(&format!("from the web form {}", form.name)),
        )?;
        (lead_id, Outcome::LeadCreated(lead_id))
    };
    events::record(
        conn,
        &NewEvent {
            lead_id: Some(lead_id),
            visitor_id,
            name: EVENT_NAME,
            properties: &event_properties(form, submission),
            occurred_at: now,
        },
        now,
    )?;
    if let Some(body) = details_body(form, submission, false) {
        timeline::add(
            conn,
            &NewEntry {
                lead_id: Some(lead_id),
                ..NewEntry::system(Kind::Event, now, &body)
            },
        )?;
    }
    if let Some(visitor_id) = visitor_id {
        events::stitch(conn, visitor_id, lead_id, now)?;
    }
    Ok(outcome)
}

/// A new lead from a submission: source web form, status new, scored and assigned.
fn create_lead(
    conn: &mut Conn,
    form: &WebForm,
    submission: &Submission,
    now: NaiveDateTime,
) -> Result<i64, AppError> {
    let input = &submission.lead;
    let id: i64 = diesel::insert_into(leads::table)
        .values((
            leads::first_name.eq(&input.first_name),
            leads::last_name.eq(&input.last_name),
            leads::email.eq(&input.email),
            leads::phone.eq(&input.phone),
            leads::company_name.eq(&input.company_name),
            leads::job_title.eq(&input.job_title),
            leads::company_size.eq(input.company_size),
            leads::industry.eq(&input.industry),
            leads::country.eq(&input.country),
            leads::website.eq(&input.website),
            leads::source.eq(Source::WebForm.as_str()),
            leads::status.eq(Status::New.as_str()),
            leads::created_at.eq(now),
            leads::updated_at.eq(now),
        ))
        .returning(leads::id)
        .get_result(conn)?;
    crate::search::index_lead(conn, id)?;
    let body = format!(
        "Lead created from the web form {} ({})",
        form.name, form.source_label
    );
    timeline::add(
        conn,
        &NewEntry {
            lead_id: Some(id),
            ..NewEntry::system(Kind::Change, now, &body)
        },
    )?;
    crate::leads::scoring::rescore(conn, id, now, "lead created from a web form")?;
    crate::leads::assignment::assign_if_unowned(conn, id, now)?;
    Ok(id)
}

/// Fills the lead's empty fields from the submission; what the lead already has is kept.
fn fill_empty_fields(
    conn: &mut Conn,
    lead_id: i64,
    form: &WebForm,
    submission: &Submission,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let lead: Lead = leads::table
        .find(lead_id)
        .select(Lead::as_select())
        .first(conn)?;
    let input = &submission.lead;
    let mut filled: Vec<&'static str> = Vec::new();
    let mut text = |current: &String, new: &String, label: &'static str| {
        if current.is_empty() && !new.is_empty() {
            filled.push(label);
            new.clone()
        } else {
            current.clone()
        }
    };
    let first_name = text(&lead.first_name, &input.first_name, "first name");
    let last_name = text(&lead.last_name, &input.last_name, "last name");
    let mut option = |current: &Option<String>, new: &Option<String>, label: &'static str| match (
        current, new,
    ) {
        (None, Some(_)) => {
            filled.push(label);
            new.clone()
        }
        _ => current.clone(),
    };
    let phone = option(&lead.phone, &input.phone, "phone");
    let company_name = option(&lead.company_name, &input.company_name, "company");
    let job_title = option(&lead.job_title, &input.job_title, "job title");
    let industry = option(&lead.industry, &input.industry, "industry");
    let country = option(&lead.country, &input.country, "country");
    let website = option(&lead.website, &input.website, "website");
    let company_size = match (lead.company_size, input.company_size) {
        (None, Some(size)) => {
            filled.push("company size");
            Some(size)
        }
        (current, _) => current,
    };
    if filled.is_empty() {
        return Ok(());
    }
    diesel::update(leads::table.find(lead_id))
        .set((
            leads::first_name.eq(first_name),
            leads::last_name.eq(last_name),
            leads::phone.eq(phone),
            leads::company_name.eq(company_name),
            leads::job_title.eq(job_title),
            leads::company_size.eq(company_size),
            leads::industry.eq(industry),
            leads::country.eq(country),
            leads::website.eq(website),
            leads::updated_at.eq(now),
            leads::version.eq(lead.version + 1),
        ))
        .execute(conn)?;
    crate::search::index_lead(conn, lead_id)?;
    let body = format!(
        "Filled in from the web form {}: {}",
        form.name,
        filled.join(", ")
    );
    timeline::add(
        conn,
        &NewEntry {
            lead_id: Some(lead_id),
            ..NewEntry::system(Kind::Change, now, &body)
        },
    )?;
    Ok(())
}
