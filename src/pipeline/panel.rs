//! The "Deals" card on a contact's or a company's page.

use askama::Template;
use diesel::QueryResult;

use crate::auth::model::User;
use crate::contacts::timeline::Subject;
use crate::db::Conn;

#[derive(Template)]
#[template(path = "pipeline/_record_deals.html")]
pub struct DealsPanel {}

/// The deals of one contact or company, as `viewer` may see them; `csrf_token` is for the
/// panel's forms.
pub fn load(
    _conn: &mut Conn,
    _subject: Subject,
    _viewer: &User,
    _csrf_token: &str,
) -> QueryResult<DealsPanel> {
    Ok(DealsPanel {})
}
