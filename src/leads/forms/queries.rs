//! Reading and writing web-to-lead forms and their pending confirmations.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Settings, WebForm};
use crate::db::Conn;
use crate::db::schema::{contact_emails, lead_form_confirmations, lead_forms, leads};

pub fn all(conn: &mut Conn) -> QueryResult<Vec<WebForm>> {
    lead_forms::table
        .order((
            lead_forms::active.desc(),
            lead_forms::name.asc(),
            lead_forms::id.asc(),
        ))
        .select(WebForm::as_select())
        .load(conn)
}

pub fn find(conn: &mut Conn, id: i64) -> QueryResult<Option<WebForm>> {
    lead_forms::table
        .find(id)
        .select(WebForm::as_select())
        .first(conn)
        .optional()
}

pub fn by_key(conn: &mut Conn, form_key: &str) -> QueryResult<Option<WebForm>> {
    lead_forms::table
        .filter(lead_forms::form_key.eq(form_key))
        .select(WebForm::as_select())
        .first(conn)
        .optional()
}

pub fn insert(
    conn: &mut Conn,
    form_key: &str,
    settings: &Settings,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(lead_forms::table)
        .values((
            lead_forms::form_key.eq(form_key),
            lead_forms::name.eq(&settings.name),
            lead_forms::fields.eq(settings.fields_text()),
            lead_forms::required_fields.eq(settings.required_text()),
            lead_forms::source_label.eq(&settings.source_label),
            lead_forms::thank_you_message.eq(&settings.thank_you_message),
            lead_forms::redirect_url.eq(&settings.redirect_url),
            lead_forms::allowed_origins.eq(settings.origins_text()),
            lead_forms::double_opt_in.eq(settings.double_opt_in),
            lead_forms::created_at.eq(now),
            lead_forms::updated_at.eq(now),
        ))
        .returning(lead_forms::id)
        .get_result(conn)
}

pub fn update(
    conn: &mut Conn,
    id: i64,
    settings: &Settings,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(lead_forms::table.find(id))
        .set((
            lead_forms::name.eq(&settings.name),
            lead_forms::fields.eq(settings.fields_text()),
            lead_forms::required_fields.eq(settings.required_text()),
            lead_forms::source_label.eq(&settings.source_label),
            lead_forms::thank_you_message.eq(&settings.thank_you_message),
            lead_forms::redirect_url.eq(&settings.redirect_url),
            lead_forms::allowed_origins.eq(settings.origins_text()),
            lead_forms::double_opt_in.eq(settings.double_opt_in),
            lead_forms::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn set_active(
    conn: &mut Conn,
    id: i64,
    active: bool,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(lead_forms::table.find(id))
        .set((
            lead_forms::active.eq(active),
            lead_forms::updated_at.eq(now),
        ))
        .execute(conn)
}

pub fn count_submission(conn: &mut Conn, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(lead_forms::table.find(id))
        .set((
            lead_forms::submissions.eq(lead_forms::submissions + 1),
            lead_forms::last_submission_at.eq(now),
        ))
        .execute(conn)
}

/// The newest lead with this email that is still being worked (not converted).
pub fn open_lead_with_email(conn: &mut Conn, email: &str) -> QueryResult<Option<i64>> {
    leads::table
        .filter(leads::email.eq(email))
        .filter(leads::status.ne("converted"))
        .order(leads::id.desc())
        .select(leads::id)
        .first(conn)
        .optional()
}

/// The contact with this email among its addresses (the oldest, if several share it).
pub fn contact_with_email(conn: &mut Conn, email: &str) -> QueryResult<Option<i64>> {
    contact_emails::table
        .filter(contact_emails::email.eq(email))
        .order(contact_emails::contact_id.asc())
        .select(contact_emails::contact_id)
        .first(conn)
        .optional()
}

/// A submission waiting for its confirmation link to be followed.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = lead_form_confirmations, check_for_backend(diesel::sqlite::Sqlite))]
pub struct Pending {
    pub id: i64,
    pub form_id: i64,
    pub email: String,
    pub submission: String,
    pub visitor_id: Option<String>,
    pub expires_at: NaiveDateTime,
    pub confirmed_at: Option<NaiveDateTime>,
}

pub struct NewPending<'a> {
    pub form_id: i64,
    pub token_hash: &'a str,
    pub email: &'a str,
    pub submission: &'a str,
    pub visitor_id: Option<&'a str>,
    pub expires_at: NaiveDateTime,
}

pub fn insert_pending(
    conn: &mut Conn,
    pending: &NewPending<'_>,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    diesel::insert_into(lead_form_confirmations::table)
        .values((
            lead_form_confirmations::form_id.eq(pending.form_id),
            lead_form_confirmations::token_hash.eq(pending.token_hash),
            lead_form_confirmations::email.eq(pending.email),
            lead_form_confirmations::submission.eq(pending.submission),
            lead_form_confirmations::visitor_id.eq(pending.visitor_id),
            lead_form_confirmations::created_at.eq(now),
            lead_form_confirmations::expires_at.eq(pending.expires_at),
        ))
        .returning(lead_form_confirmations::id)
        .get_result(conn)
}

pub fn pending_by_hash(conn: &mut Conn, token_hash: &str) -> QueryResult<Option<Pending>> {
    lead_form_confirmations::table
        .filter(lead_form_confirmations::token_hash.eq(token_hash))
        .select(Pending::as_select())
        .first(conn)
        .optional()
}

/// Marks a pending submission confirmed; 0 when it already was (the link is single use).
pub fn claim_pending(conn: &mut Conn, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        lead_form_confirmations::table
            .filter(lead_form_confirmations::id.eq(id))
            .filter(lead_form_confirmations::confirmed_at.is_null()),
    )
    .set(lead_form_confirmations::confirmed_at.eq(now))
    .execute(conn)
}

/// Whether this email already has an unconfirmed submission of this form since `since`.
pub fn pending_since(
    conn: &mut Conn,
    form_id: i64,
    email: &str,
    since: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        lead_form_confirmations::table
            .filter(lead_form_confirmations::form_id.eq(form_id))
            .filter(lead_form_confirmations::email.eq(email))
            .filter(lead_form_confirmations::confirmed_at.is_null())
            .filter(lead_form_confirmations::created_at.gt(since)),
    ))
    .get_result(conn)
}

/// Forgets submissions whose link expired before `before`, confirmed or not.
pub fn purge_expired(conn: &mut Conn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        lead_form_confirmations::table.filter(lead_form_confirmations::expires_at.lt(before)),
    )
    .execute(conn)
}
