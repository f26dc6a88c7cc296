//! The "Deals" card on a contact's or a company's page: the record's deals with their stage
//! and status, values only for those who may see them, and a link to add one.

use askama::Template;
use diesel::QueryResult;

use super::deal::queries;
use super::model::{self, Status};
use super::view;
use crate::auth::model::User;
use crate::auth::policy::Permission;
use crate::contacts::timeline::Subject;
use crate::db::Conn;

/// Deals listed on a record page; the rest are counted.
const SHOWN: i64 = 20;

pub struct PanelDeal {
    pub id: i64,
    pub title: String,
    pub stage: String,
    pub status: Status,
    /// `None` for those who may not see values.
    pub value: Option<String>,
}

#[derive(Template)]
#[template(path = "pipeline/_record_deals.html")]
pub struct DealsPanel {
    pub deals: Vec<PanelDeal>,
    pub count: i64,
    /// "Add deal" for those who may create deals.
    pub add_link: Option<String>,
}

/// The deals of one contact or company, as `viewer` may see them; `csrf_token` is for the
/// panel's forms.
pub fn load(
    conn: &mut Conn,
    subject: Subject,
    viewer: &User,
    _csrf_token: &str,
) -> QueryResult<DealsPanel> {
    let (deals, count, add_link) = match subject {
        Subject::Contact(id) => (
            queries::of_contact(conn, id, SHOWN)?,
            queries::count_of_contact(conn, id)?,
            format!("/deals/new?contact={id}"),
        ),
        Subject::Company(id) => (
            queries::of_company(conn, id, SHOWN)?,
            queries::count_of_company(conn, id)?,
            format!("/deals/new?company={id}"),
        ),
        // A lead has no deals until it is converted.
        Subject::Lead(_) => (Vec::new(), 0, String::new()),
    };
    let stage_ids: Vec<i64> = deals.iter().map(|deal| deal.stage_id).collect();
    let stages = model::stage_names(conn, &stage_ids)?;
    let show_values = viewer.role.can(Permission::ViewDealValues);
    Ok(DealsPanel {
        deals: deals
            .into_iter()
            .map(|deal| PanelDeal {
                id: deal.id,
                stage: stages.get(&deal.stage_id).cloned().unwrap_or_default(),
                status: deal.status(),
                value: show_values.then(|| view::value(deal.value_minor, &deal.currency)),
                title: deal.title,
            })
            .collect(),
        count,
        add_link: viewer
            .role
            .can(Permission::CreateCustomers)
            .then_some(add_link),
    })
}
