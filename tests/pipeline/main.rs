//! The sales pipeline through HTTP: pipeline and stage admin (incl. deleting a stage that
//! holds deals), deal validation, permissions (support agents never see values; a rep
//! cannot move or edit another rep's deal), concurrent moves, the journey with time in each
//! stage, rotting counted from entering a stage, deals on the customer timelines, the list
//! view, and exact board totals on a known data set.

#[path = "../common/mod.rs"]
mod common;
use common::*;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rapport::audit::Actor;
use rapport::auth::model::{Role, User};
use rapport::clock::Clock;
use rapport::db::schema::{
    audit_log, companies, contacts, deal_contacts, deal_stage_moves, deals, pipeline_stages,
    pipelines, timeline_entries, users,
};
use rapport::pipeline::deal::model::{Deal, DealInput};
use rapport::pipeline::deal::service;
use reqwest::StatusCode;

// ---------------------------------------------------------------------------------------
// Helpers

/// An app whose sessions outlive the days a test moves its clock by.
async fn spawn_long_lived_app() -> TestApp {
    spawn_app_with(|settings| {
        settings.session_idle_timeout = Duration::days(3650);
        settings.session_lifetime = Duration::days(3650);
    })
    .await
}

fn user_record(app: &TestApp, user: &TestUser) -> User {
    rapport::auth::queries::find(&mut app.conn(), user.id)
        .expect("query")
        .expect("the user exists")
}

/// The stages of a pipeline in board order: (id, name).
fn stages_of(app: &TestApp, pipeline_id: i64) -> Vec<(i64, String)> {
    pipeline_stages::table
        .filter(pipeline_stages::pipeline_id.eq(pipeline_id))
        .order((pipeline_stages::position.asc(), pipeline_stages::id.asc()))
        .select((pipeline_stages::id, pipeline_stages::name))
        .load(&mut app.conn())
        .expect("stages")
}

/// The default pipeline's stage called `name`.
fn stage(app: &TestApp, name: &str) -> i64 {
    stages_of(app, 1)
        .into_iter()
        .find(|(_, stage)| stage == name)
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("no stage {name}"))
}

fn seed_company(app: &TestApp, name: &str) -> i64 {
    let now = app.clock.now();
    diesel::insert_into(companies::table)
        .values((
            companies::name.eq(name),
            companies::sort_name.eq(name.to_lowercase()),
            companies::created_at.eq(now),
            companies::updated_at.eq(now),
        ))
        .returning(companies::id)
        .get_result(&mut app.conn())
        .expect("company inserted")
}

fn seed_contact(app: &TestApp, first: &str, last: &str, company_id: Option<i64>) -> i64 {
    let now = app.clock.now();
    diesel::insert_into(contacts::table)
        .values((
            contacts::first_name.eq(first),
            contacts::last_name.eq(last),
            contacts::sort_name.eq(format!("{last} {first}").to_lowercase()),
            contacts::company_id.eq(company_id),
            contacts::lifecycle_stage.eq("lead"),
            contacts::created_at.eq(now),
            contacts::updated_at.eq(now),
        ))
        .returning(contacts::id)
        .get_result(&mut app.conn())
        .expect("contact inserted")
}

struct Spec<'a> {
    title: &'a str,
    value_minor: i64,
    currency: &'a str,
    stage_id: i64,
    company_id: Option<i64>,
    contact_ids: Vec<i64>,
}

impl<'a> Spec<'a> {
    fn new(title: &'a str, value_minor: i64, stage_id: i64) -> Self {
        Self {
            title,
            value_minor,
            currency: "EUR",
            stage_id,
            company_id: None,
            contact_ids: Vec::new(),
        }
    }
}

/// Creates a deal through the service, owned by and created as `owner`, now.
fn seed_deal(app: &TestApp, owner: &TestUser, spec: Spec<'_>) -> i64 {
    let user = user_record(app, owner);
    let pipeline_id: i64 = pipeline_stages::table
        .find(spec.stage_id)
        .select(pipeline_stages::pipeline_id)
        .first(&mut app.conn())
        .expect("the stage");
    let input = DealInput {
        title: spec.title.to_owned(),
        value_minor: spec.value_minor,
        currency: spec.currency.to_owned(),
        expected_close_on: None,
        owner_id: owner.id,
        company_id: spec.company_id,
        contact_ids: spec.contact_ids,
        pipeline_id,
        stage_id: spec.stage_id,
        source: None,
    };
    service::create(
        &mut app.conn(),
        app.clock.now(),
        &Actor::user(&user, "127.0.0.1"),
        &input,
    )
    .expect("deal created")
}

fn deal(app: &TestApp, id: i64) -> Deal {
    deals::table
        .find(id)
        .select(Deal::as_select())
        .first(&mut app.conn())
        .expect("the deal")
}

fn deal_count(app: &TestApp) -> i64 {
    deals::table
        .count()
        .get_result(&mut app.conn())
        .expect("count")
}

/// The journey: (from stage, to stage, from status, to status, moved by, moved at).
type MoveRow = (
    Option<i64>,
    Option<i64>,
    Option<String>,
    String,
    Option<i64>,
    NaiveDateTime,
);

fn moves(app: &TestApp, deal_id: i64) -> Vec<MoveRow> {
    deal_stage_moves::table
        .filter(deal_stage_moves::deal_id.eq(deal_id))
        .order((deal_stage_moves::moved_at.asc(), deal_stage_moves::id.asc()))
        .select((
            deal_stage_moves::from_stage_id,
            deal_stage_moves::to_stage_id,
            deal_stage_moves::from_status,
            deal_stage_moves::to_status,
            deal_stage_moves::moved_by,
            deal_stage_moves::moved_at,
        ))
        .load(&mut app.conn())
        .expect("moves")
}

fn audit_actions(app: &TestApp, target: &str) -> Vec<String> {
    audit_log::table
        .filter(audit_log::target.eq(target))
        .order(audit_log::id.asc())
        .select(audit_log::action)
        .load(&mut app.conn())
        .expect("audit rows")
}

/// Deal entries on a timeline: (contact, company, body).
fn deal_entries(app: &TestApp, deal_id: i64) -> Vec<(Option<i64>, Option<i64>, String)> {
    timeline_entries::table
        .filter(timeline_entries::deal_id.eq(deal_id))
        .filter(timeline_entries::kind.eq("deal"))
        .order(timeline_entries::id.asc())
        .select((
            timeline_entries::contact_id,
            timeline_entries::company_id,
            timeline_entries::body,
        ))
        .load(&mut app.conn())
        .expect("timeline entries")
}

async fn signed_in(app: &TestApp, email: &str, role: Role) -> (Browser, TestUser) {
    let user = app.create_user(email, role);
    let browser = app.open_browser();
    browser.login_as(&user).await;
    (browser, user)
}

/// Posts as the board's script does: the token in a header, `HX-Request: true`.
async fn script_post(browser: &Browser, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let token = browser.csrf_token().await;
    browser
        .client
        .post(browser.url(path))
        .header("X-CSRF-Token", token)
        .header("HX-Request", "true")
        .form(fields)
        .send()
        .await
        .expect("POST")
}

/// A full deal form for the default pipeline.
fn deal_form(title: &str, value: &str, stage_id: i64, owner: &TestUser) -> Vec<(String, String)> {
    vec![
        ("title".to_owned(), title.to_owned()),
        ("value".to_owned(), value.to_owned()),
        ("currency".to_owned(), "EUR".to_owned()),
        ("expected_close_on".to_owned(), "2027-03-31".to_owned()),
        ("owner".to_owned(), owner.id.to_string()),
        ("company".to_owned(), String::new()),
        ("pipeline".to_owned(), "1".to_owned()),
        ("stage".to_owned(), stage_id.to_string()),
        ("source".to_owned(), "Referral".to_owned()),
    ]
}

fn with(mut fields: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    fields.retain(|(field, _)| field != name);
    fields.push((name.to_owned(), value.to_owned()));
    fields
}

async fn post_deal_form(
    browser: &Browser,
    path: &str,
    fields: &[(String, String)],
) -> reqwest::Response {
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    browser.post_form(path, &fields).await
}

fn id_after(response: &reqwest::Response, prefix: &str) -> i64 {
    location(response)
        .strip_prefix(prefix)
        .and_then(|rest| rest.split(['?', '#']).next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("redirected under {prefix}: {}", location(response)))
}

fn version_in(page: &str) -> String {
    let marker = "name=\"version\" value=\"";
    let start = page.find(marker).expect("the form has a version") + marker.len();
    let end = page[start..].find('"').expect("the value ends") + start;
    page[start..end].to_owned()
}

/// The text of the element with `id`, tags stripped, roughly as a reader sees it.
fn section(page: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no element {id}"));
    let start = page[..start].rfind('<').unwrap_or(start);
    let tag: String = page[start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let end = page[start..]
        .find(&format!("</{tag}>"))
        .map_or(page.len(), |end| start + end);
    page[start..end].to_owned()
}

fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------------------------------
// Pipelines and stages (admin)

#[tokio::test]
async fn an_admin_creates_a_pipeline_and_adds_renames_reorders_and_tunes_its_stages() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;

    let page = app.get_html("/admin/pipelines").await;
    assert!(
        page.contains(">Sales</a>"),
        "the default pipeline is listed"
    );

    let refused = app.post_form("/admin/pipelines", &[("name", "  ")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .expect("body")
            .contains("Give the pipeline a name.")
    );
    let taken = app
        .post_form("/admin/pipelines", &[("name", "sales")])
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        taken
            .text()
            .await
            .expect("body")
            .contains("already a pipeline")
    );

    let created = app
        .post_form("/admin/pipelines", &[("name", "Partners")])
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let id = id_after(&created, "/admin/pipelines/");
    let stages = stages_of(&app, id);
    assert_eq!(
        stages.len(),
        5,
        "a new pipeline starts with the usual stages"
    );

    let added = app
        .post_form(
            &format!("/admin/pipelines/{id}/stages"),
            &[
                ("name", "Signed"),
                ("win_probability", "95"),
                ("rotting_days", ""),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let stages = stages_of(&app, id);
    assert_eq!(stages.last().map(|(_, name)| name.as_str()), Some("Signed"));

    let bad = app
        .post_form(
            &format!("/admin/pipelines/{id}/stages"),
            &[
                ("name", "Pilot"),
                ("win_probability", "101"),
                ("rotting_days", "0"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = bad.text().await.expect("body");
    assert!(body.contains("Enter a whole percentage from 0 to 100."));
    assert!(body.contains("Enter a number of days from 1 to 3650"));
    assert_eq!(stages_of(&app, id).len(), 6, "nothing was added");

    let (first_id, _) = stages[0].clone();
    let changed = app
        .post_form(
            &format!("/admin/pipelines/{id}/stages/{first_id}"),
            &[
                ("name", "Introduced"),
                ("win_probability", "15"),
                ("rotting_days", "7"),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    let (name, probability, rotting): (String, i32, Option<i32>) = pipeline_stages::table
        .find(first_id)
        .select((
            pipeline_stages::name,
            pipeline_stages::win_probability,
            pipeline_stages::rotting_days,
        ))
        .first(&mut app.conn())
        .expect("the stage");
    assert_eq!(
        (name.as_str(), probability, rotting),
        ("Introduced", 15, Some(7))
    );

    let moved = app
        .post_form(
            &format!("/admin/pipelines/{id}/stages/{first_id}/move"),
            &[("direction", "down")],
        )
        .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    let order: Vec<i64> = stages_of(&app, id).into_iter().map(|(id, _)| id).collect();
    assert_eq!(order[1], first_id, "moved one place later");
    app.post_form(
        &format!("/admin/pipelines/{id}/stages/{first_id}/move"),
        &[("direction", "up")],
    )
    .await;
    app.post_form(
        &format!("/admin/pipelines/{id}/stages/{first_id}/move"),
        &[("direction", "up")],
    )
    .await;
    let order: Vec<i64> = stages_of(&app, id).into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        order[0], first_id,
        "back first; moving up from first changes nothing"
    );
    let positions: Vec<i32> = pipeline_stages::table
        .filter(pipeline_stages::pipeline_id.eq(id))
        .order(pipeline_stages::position.asc())
        .select(pipeline_stages::position)
        .load(&mut app.conn())
        .expect("positions");
    assert_eq!(positions, (0..6).collect::<Vec<i32>>());

    let page = app.get_html(&format!("/admin/pipelines/{id}")).await;
    let version = version_in(&page);
    let renamed = app
        .post_form(
            &format!("/admin/pipelines/{id}"),
            &[("name", "Channel partners"), ("version", &version)],
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    let stale = app
        .post_form(
            &format!("/admin/pipelines/{id}"),
            &[("name", "Resellers"), ("version", &version)],
        )
        .await;
    assert_eq!(
        stale.status(),
        StatusCode::CONFLICT,
        "a stale rename is refused"
    );
    let name: String = pipelines::table
        .find(id)
        .select(pipelines::name)
        .first(&mut app.conn())
        .expect("the pipeline");
    assert_eq!(name, "Channel partners");

    let actions: Vec<String> = audit_log::table
        .filter(
            audit_log::action
                .like("pipeline_%")
                .or(audit_log::action.like("stage_%")),
        )
        .order(audit_log::id.asc())
        .select(audit_log::action)
        .load(&mut app.conn())
        .expect("audit");
    assert_eq!(
        actions,
        [
            "pipeline_created",
            "stage_added",
            "stage_changed",
            "stage_reordered",
            "stage_reordered",
            "pipeline_renamed"
        ]
    );

    let (sales, _) = signed_in(&app, "rep@example.com", Role::Sales).await;
    assert_eq!(
        sales.get("/admin/pipelines").await.status(),
        StatusCode::FORBIDDEN
    );
    let refused = sales
        .post_form("/admin/pipelines", &[("name", "Mine")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn deleting_a_stage_first_asks_where_its_deals_go_then_moves_open_and_closed_ones() {
    let app = spawn_long_lived_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let demo = stage(&app, "Demo scheduled");
    let proposal = stage(&app, "Proposal made");
    let open_deal = seed_deal(&app, &admin, Spec::new("Open one", 10_000, demo));
    let won_deal = seed_deal(&app, &admin, Spec::new("Won one", 20_000, demo));
    let version = deal(&app, won_deal).version.to_string();
    let won = app
        .post_form(
            &format!("/deals/{won_deal}/move"),
            &[("status", "won"), ("version", &version)],
        )
        .await;
    assert_eq!(won.status(), StatusCode::SEE_OTHER);

    let confirm = app
        .get_html(&format!("/admin/pipelines/1/stages/{demo}/delete"))
        .await;
    assert!(confirm.contains("<strong>1 open</strong>"), "{confirm}");
    assert!(confirm.contains("<strong>1 won or lost</strong>"));
    assert!(
        !confirm.contains(&format!("<option value=\"{demo}\"")),
        "the stage is not offered as its own target"
    );

    let without_target = app
        .post_form(
            &format!("/admin/pipelines/1/stages/{demo}/delete"),
            &[("target", "")],
        )
        .await;
    assert_eq!(without_target.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        without_target
            .text()
            .await
            .expect("body")
            .contains("Choose the stage this stage")
    );
    let other_pipeline = app
        .post_form("/admin/pipelines", &[("name", "Other")])
        .await;
    let other_id = id_after(&other_pipeline, "/admin/pipelines/");
    let foreign = stages_of(&app, other_id)[0].0.to_string();
    let wrong_target = app
        .post_form(
            &format!("/admin/pipelines/1/stages/{demo}/delete"),
            &[("target", &foreign)],
        )
        .await;
    assert_eq!(wrong_target.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(stages_of(&app, 1).len(), 5, "nothing was deleted");
    assert_eq!(deal(&app, open_deal).stage_id, demo);

    app.clock.advance(Duration::hours(5));
    let deleted = app
        .post_form(
            &format!("/admin/pipelines/1/stages/{demo}/delete"),
            &[("target", &proposal.to_string())],
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert!(stages_of(&app, 1).iter().all(|(id, _)| *id != demo));
    let moved = deal(&app, open_deal);
    assert_eq!(moved.stage_id, proposal);
    assert_eq!(
        moved.stage_entered_at,
        app.clock.now(),
        "it entered its new stage now"
    );
    let closed = deal(&app, won_deal);
    assert_eq!((closed.stage_id, closed.status.as_str()), (proposal, "won"));
    let journey = moves(&app, open_deal);
    assert_eq!(journey.len(), 2);
    assert_eq!(
        (journey[1].0, journey[1].1, journey[1].3.as_str()),
        (None, Some(proposal), "open"),
        "the move is recorded; the deleted stage reads as gone"
    );
    let page = app.get_html(&format!("/deals/{open_deal}")).await;
    assert!(page.contains("a deleted stage"), "the journey says so");
    assert!(audit_actions(&app, &format!("stage {demo}")).contains(&"stage_deleted".to_owned()));

    // An empty stage needs no target; the last stage of a pipeline stays.
    let mut remaining = stages_of(&app, other_id);
    let empty = remaining.remove(0).0;
    let response = app
        .post_form(
            &format!("/admin/pipelines/{other_id}/stages/{empty}/delete"),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    for (id, _) in remaining.iter().take(remaining.len() - 1) {
        app.post_form(
            &format!("/admin/pipelines/{other_id}/stages/{id}/delete"),
            &[],
        )
        .await;
    }
    let last = stages_of(&app, other_id);
    assert_eq!(last.len(), 1);
    let refused = app
        .post_form(
            &format!("/admin/pipelines/{other_id}/stages/{}/delete", last[0].0),
            &[],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .expect("body")
            .contains("at least one stage")
    );
    assert_eq!(stages_of(&app, other_id).len(), 1);
    assert_board_figures_match_the_deals(&app);
}

#[tokio::test]
async fn a_pipeline_with_deals_or_the_only_pipeline_cannot_be_deleted() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;

    let only = app.post_form("/admin/pipelines/1/delete", &[]).await;
    assert_eq!(only.status(), StatusCode::SEE_OTHER);
    let page = app.get_html("/admin/pipelines/1").await;
    assert!(page.contains("This is the only pipeline"), "{page}");

    let created = app
        .post_form("/admin/pipelines", &[("name", "Renewals")])
        .await;
    let id = id_after(&created, "/admin/pipelines/");
    let first = stages_of(&app, id)[0].0;
    let deal_id = seed_deal(&app, &admin, Spec::new("Renewal", 500, first));
    let version = deal(&app, deal_id).version.to_string();
    app.post_form(
        &format!("/deals/{deal_id}/move"),
        &[
            ("status", "lost"),
            ("lost_reason", "Budget"),
            ("version", &version),
        ],
    )
    .await;
    app.post_form(&format!("/admin/pipelines/{id}/delete"), &[])
        .await;
    let page = app.get_html(&format!("/admin/pipelines/{id}")).await;
    assert!(
        page.contains("still holds 1 deal (open or closed)"),
        "{page}"
    );
    assert_eq!(stages_of(&app, id).len(), 5);

    let admin_user = user_record(&app, &admin);
    service::delete(
        &mut app.conn(),
        app.clock.now(),
        &Actor::user(&admin_user, "127.0.0.1"),
        &admin_user,
        deal_id,
    )
    .expect("deleted");
    let gone = app
        .post_form(&format!("/admin/pipelines/{id}/delete"), &[])
        .await;
    assert_eq!(location(&gone), "/admin/pipelines");
    let left: i64 = pipelines::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(left, 1);
}

// ---------------------------------------------------------------------------------------
// Deals: validation, creation, editing

#[tokio::test]
async fn bad_deal_forms_are_refused_field_by_field_and_save_nothing() {
    let app = spawn_app().await;
    let (rep, rep_user) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let qualified = stage(&app, "Qualified");
    let good = deal_form("Renewal", "12,500", qualified, &rep_user);

    let cases: Vec<(&str, &str, &str, &str)> = vec![
        ("value", "-5", "value", "The amount cannot be negative."),
        ("value", "5000000000000", "value", "That value is too large"),
        (
            "value",
            "12.345",
            "value",
            "EUR has 2 digits after the decimal point at most.",
        ),
        (
            "value",
            "twelve",
            "value",
            "Enter an amount such as 1,250.00.",
        ),
        ("value", "1e9", "value", "Enter an amount such as 1,250.00."),
        ("currency", "XYZ", "currency", "XYZ is not a currency code."),
        (
            "currency",
            "EURO",
            "currency",
            "Enter a three-letter ISO 4217",
        ),
        (
            "expected_close_on",
            "2027-02-30",
            "expected_close_on",
            "Enter a real date",
        ),
        (
            "expected_close_on",
            "31/12/2027",
            "expected_close_on",
            "Enter a real date",
        ),
        (
            "expected_close_on",
            "1850-01-01",
            "expected_close_on",
            "Enter a date between 1900 and 2100.",
        ),
        (
            "expected_close_on",
            "3027-01-01",
            "expected_close_on",
            "Enter a date between 1900 and 2100.",
        ),
        ("title", "   ", "title", "Give the deal a title."),
        ("owner", "999", "owner", "Choose an owner from the list."),
        ("company", "999", "company", "That company does not exist"),
        ("stage", "999", "stage", "Choose a stage from the list."),
    ];
    for (field, value, error_field, message) in cases {
        let response = post_deal_form(&rep, "/deals", &with(good.clone(), field, value)).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field} = {value}"
        );
        let body = unescape(&response.text().await.expect("body"));
        let error = format!("id=\"{error_field}-error\">");
        let at = body
            .find(&error)
            .unwrap_or_else(|| panic!("{field} = {value}: no error next to {error_field}"));
        let shown: String = body[at + error.len()..].chars().take(120).collect();
        assert!(shown.starts_with(message), "{field} = {value}: {shown}");
        assert!(
            body.contains(&format!("value=\"{}\"", value.trim()))
                || field == "title"
                || field == "owner"
                || field == "company"
                || field == "stage",
            "what was typed is kept"
        );
    }

    // A stage of another pipeline.
    let admin = app.admin();
    app.login_as(&admin).await;
    let created = app
        .post_form("/admin/pipelines", &[("name", "Partners")])
        .await;
    let other = id_after(&created, "/admin/pipelines/");
    let foreign_stage = stages_of(&app, other)[0].0;
    let response = post_deal_form(
        &rep,
        "/deals",
        &with(good.clone(), "stage", &foreign_stage.to_string()),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("Choose a stage of the Sales pipeline.")
    );

    // A deactivated owner.
    let gone = app.create_user("gone@example.com", Role::Sales);
    diesel::update(users::table.find(gone.id))
        .set(users::active.eq(false))
        .execute(&mut app.conn())
        .expect("deactivated");
    let response = post_deal_form(
        &rep,
        "/deals",
        &with(good.clone(), "owner", &gone.id.to_string()),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Everything wrong at once: every message at once.
    let all_wrong = with(
        with(with(good.clone(), "value", "-1"), "currency", "ABC"),
        "expected_close_on",
        "tomorrow",
    );
    let body = post_deal_form(&rep, "/deals", &all_wrong)
        .await
        .text()
        .await
        .expect("body");
    for field in ["value", "currency", "expected_close_on"] {
        assert!(body.contains(&format!("id=\"{field}-error\"")), "{field}");
    }
    assert_eq!(deal_count(&app), 0, "nothing was saved");

    let created = post_deal_form(&rep, "/deals", &good).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let id = id_after(&created, "/deals/");
    let stored = deal(&app, id);
    assert_eq!(stored.value_minor, 1_250_000);
    assert_eq!(stored.currency, "EUR");
    assert_eq!(
        stored.expected_close_on,
        NaiveDate::from_ymd_opt(2027, 3, 31)
    );
    assert_eq!(stored.source.as_deref(), Some("Referral"));
    assert_eq!(stored.owner_id, Some(rep_user.id));
    let jpy = post_deal_form(
        &rep,
        "/deals",
        &with(with(good, "currency", "jpy"), "value", "1,200,000"),
    )
    .await;
    let jpy = deal(&app, id_after(&jpy, "/deals/"));
    assert_eq!((jpy.value_minor, jpy.currency.as_str()), (1_200_000, "JPY"));
}

#[tokio::test]
async fn a_rep_adds_a_deal_from_a_contact_and_it_lands_once_on_each_timeline_without_values() {
    let app = spawn_app().await;
    let (rep, rep_user) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let acme = seed_company(&app, "Acme");
    let ada = seed_contact(&app, "Ada", "Lovelace", Some(acme));
    let grace = seed_contact(&app, "Grace", "Hopper", Some(acme));

    let contact_page = rep.get_html(&format!("/contacts/{ada}")).await;
    assert!(
        contact_page.contains(&format!("href=\"/deals/new?contact={ada}\"")),
        "the contact page offers to add a deal"
    );
    let form = rep.get_html(&format!("/deals/new?contact={ada}")).await;
    assert!(
        form.contains(&format!(
            "<input type=\"checkbox\" name=\"contacts\" value=\"{ada}\" checked>"
        )),
        "the contact is prefilled"
    );
    assert!(
        form.contains(&format!("<option value=\"{acme}\" selected>Acme</option>")),
        "so is the contact's company"
    );

    let qualified = stage(&app, "Qualified");
    let mut fields = deal_form("Acme rollout", "48,000", qualified, &rep_user);
    fields = with(fields, "company", &acme.to_string());
    fields.push(("contacts".to_owned(), ada.to_string()));
    fields.push(("contacts".to_owned(), grace.to_string()));
    let created = post_deal_form(&rep, "/deals", &fields).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let id = id_after(&created, "/deals/");
    let linked: Vec<i64> = deal_contacts::table
        .filter(deal_contacts::deal_id.eq(id))
        .order(deal_contacts::contact_id.asc())
        .select(deal_contacts::contact_id)
        .load(&mut app.conn())
        .expect("links");
    assert_eq!(linked, vec![ada, grace]);

    let entries = deal_entries(&app, id);
    assert_eq!(
        entries,
        vec![
            (
                Some(ada),
                Some(acme),
                "Deal created: Acme rollout (stage Qualified).".to_owned()
            ),
            (
                Some(grace),
                None,
                "Deal created: Acme rollout (stage Qualified).".to_owned()
            ),
        ],
        "one entry for the company, one per contact"
    );

    let version = deal(&app, id).version.to_string();
    let lost = rep
        .post_form(
            &format!("/deals/{id}/move"),
            &[
                ("status", "lost"),
                ("lost_reason", "Went with a competitor"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(lost.status(), StatusCode::SEE_OTHER);
    let version = deal(&app, id).version.to_string();
    rep.post_form(
        &format!("/deals/{id}/move"),
        &[("status", "open"), ("version", &version)],
    )
    .await;
    let version = deal(&app, id).version.to_string();
    rep.post_form(
        &format!("/deals/{id}/move"),
        &[("status", "won"), ("version", &version)],
    )
    .await;
    let bodies: Vec<String> = deal_entries(&app, id)
        .into_iter()
        .filter(|(_, company, _)| *company == Some(acme))
        .map(|(_, _, body)| body)
        .collect();
    assert_eq!(
        bodies,
        [
            "Deal created: Acme rollout (stage Qualified).",
            "Deal lost: Acme rollout. Reason: Went with a competitor",
            "Deal reopened: Acme rollout.",
            "Deal won: Acme rollout."
        ]
    );
    for (_, _, body) in deal_entries(&app, id) {
        assert!(
            !body.contains("48") && !body.contains('€'),
            "no value: {body}"
        );
    }

    let company_page = rep.get_html(&format!("/companies/{acme}")).await;
    assert_eq!(
        company_page.matches("Deal won: Acme rollout.").count(),
        1,
        "the company sees the win once"
    );
    assert!(company_page.contains(&format!("href=\"/deals/{id}\"")));
    let panel = text_of(&section(&company_page, "deals"));
    assert!(panel.contains("Acme rollout Won"), "{panel}");
    assert!(
        panel.contains("€48,000.00"),
        "a rep sees the value: {panel}"
    );
    let grace_page = rep.get_html(&format!("/contacts/{grace}")).await;
    assert!(grace_page.contains("Deal won: Acme rollout."));
}

#[tokio::test]
async fn a_stale_edit_gets_the_conflict_page_and_a_stage_change_is_a_recorded_move() {
    let app = spawn_app().await;
    let (rep, rep_user) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let qualified = stage(&app, "Qualified");
    let demo = stage(&app, "Demo scheduled");
    let id = seed_deal(&app, &rep_user, Spec::new("Umbrella", 100_000, qualified));

    let reps_form = rep.get_html(&format!("/deals/{id}/edit")).await;
    let admins_form = app.get_html(&format!("/deals/{id}/edit")).await;
    let version = version_in(&reps_form);
    let original: Vec<(String, String)> = [
        "title",
        "value",
        "currency",
        "expected_close_on",
        "owner",
        "company",
        "contacts",
        "pipeline",
        "stage",
        "source",
    ]
    .iter()
    .map(|name| {
        let marker = format!("name=\"original_{name}\" value=\"");
        let start = reps_form.find(&marker).expect("original value") + marker.len();
        let end = reps_form[start..].find('"').expect("ends") + start;
        (format!("original_{name}"), reps_form[start..end].to_owned())
    })
    .collect();
    assert_eq!(version_in(&admins_form), version);

    let mut edit = deal_form("Umbrella", "1,500", demo, &rep_user);
    edit = with(edit, "expected_close_on", "");
    edit.push(("version".to_owned(), version.clone()));
    edit.extend(original.clone());
    let saved = post_deal_form(&app, &format!("/deals/{id}"), &edit).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let stored = deal(&app, id);
    assert_eq!((stored.value_minor, stored.stage_id), (150_000, demo));
    let journey = moves(&app, id);
    assert_eq!(journey.len(), 2, "changing the stage in the form is a move");
    assert_eq!((journey[1].0, journey[1].1), (Some(qualified), Some(demo)));

    let mut stale = deal_form("Umbrella Corp", "1,000", qualified, &rep_user);
    stale = with(stale, "expected_close_on", "");
    stale.push(("version".to_owned(), version));
    stale.extend(original);
    let conflict = post_deal_form(&rep, &format!("/deals/{id}"), &stale).await;
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    let body = conflict.text().await.expect("body");
    assert!(body.contains("Someone else changed this deal while you were editing."));
    assert!(
        body.contains(
            "<td>Value</td><td class=\"theirs\">1500.00</td><td class=\"yours\">1000.00</td>"
        ),
        "{body}"
    );
    assert!(body.contains("<td>Stage</td><td class=\"theirs\">Demo scheduled</td>"));
    assert!(
        !body.contains("<td>Title</td>"),
        "only their changes are listed"
    );
    assert_eq!(deal(&app, id).title, "Umbrella", "nothing was saved");
    assert_board_figures_match_the_deals(&app);
}

// ---------------------------------------------------------------------------------------
// Permissions

#[tokio::test]
async fn support_agents_see_deals_but_never_their_values() {
    let app = spawn_app().await;
    let rep = app.create_user("rep@example.com", Role::Sales);
    let (support, _) = signed_in(&app, "support@example.com", Role::Support).await;
    let acme = seed_company(&app, "Acme");
    let ada = seed_contact(&app, "Ada", "Lovelace", Some(acme));
    let qualified = stage(&app, "Qualified");
    let mut spec = Spec::new("Secret sauce", 98_765_432, qualified);
    spec.company_id = Some(acme);
    spec.contact_ids = vec![ada];
    let id = seed_deal(&app, &rep, spec);
    let mut yen = Spec::new("Tokyo", 4_321_000, qualified);
    yen.currency = "JPY";
    seed_deal(&app, &rep, yen);

    let pages = [
        "/pipeline".to_owned(),
        "/pipeline?pipeline=1&owner=me".to_owned(),
        "/deals".to_owned(),
        "/deals?sort=value".to_owned(),
        "/deals?status=all&sort=value".to_owned(),
        format!("/deals/{id}"),
        format!("/companies/{acme}"),
        format!("/contacts/{ada}"),
    ];
    for path in pages {
        let page = support.get_html(&path).await;
        for figure in [
            "987,654", "987654", "9,876", "€", "4,321", "¥", "weighted", "Weighted", "Value",
        ] {
            assert!(
                !page.contains(figure),
                "{path} shows {figure:?} to a support agent"
            );
        }
    }
    let board = support.get_html("/pipeline").await;
    assert!(board.contains("Secret sauce"), "the deal itself is visible");
    assert!(
        !board.contains("class=\"deal-card-move\"") && !board.contains("draggable=\"true\""),
        "and cannot be moved"
    );
    let list = support.get_html("/deals?sort=value").await;
    assert!(
        !list.contains("<option value=\"value\""),
        "sorting by value would reveal the order of values"
    );
    let deal_page = support.get_html(&format!("/deals/{id}")).await;
    assert!(deal_page.contains("Secret sauce"));
    assert!(!deal_page.contains("Mark as lost") && !deal_page.contains("/edit\""));

    let sales = app.open_browser();
    sales.login_as(&rep).await;
    let board = sales.get_html("/pipeline").await;
    assert!(board.contains("€987,654.32"), "a rep sees values");
    assert!(board.contains("¥4,321,000"));
    assert_eq!(
        support.get(&format!("/deals/{id}/edit")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        support.get("/deals/new").await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_rep_cannot_move_edit_or_delete_another_reps_deal() {
    let app = spawn_app().await;
    let (ann, ann_user) = signed_in(&app, "ann@example.com", Role::Sales).await;
    let bob = app.create_user("bob@example.com", Role::Sales);
    let qualified = stage(&app, "Qualified");
    let demo = stage(&app, "Demo scheduled");
    let id = seed_deal(&app, &bob, Spec::new("Bob's deal", 1_000, qualified));
    let version = deal(&app, id).version.to_string();
    let demo_text = demo.to_string();

    let moved = ann
        .post_form(
            &format!("/deals/{id}/move"),
            &[("stage_id", &demo_text), ("version", &version)],
        )
        .await;
    assert_eq!(moved.status(), StatusCode::FORBIDDEN);
    let scripted = script_post(
        &ann,
        &format!("/deals/{id}/move"),
        &[("stage_id", &demo_text), ("version", &version)],
    )
    .await;
    assert_eq!(scripted.status(), StatusCode::FORBIDDEN);
    assert!(
        scripted
            .text()
            .await
            .expect("body")
            .contains("You may only move your own deals.")
    );
    let won = ann
        .post_form(
            &format!("/deals/{id}/move"),
            &[("status", "won"), ("version", &version)],
        )
        .await;
    assert_eq!(won.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        ann.get(&format!("/deals/{id}/edit")).await.status(),
        StatusCode::FORBIDDEN
    );
    let edit = with(
        deal_form("Mine now", "1", qualified, &ann_user),
        "version",
        &version,
    );
    assert_eq!(
        post_deal_form(&ann, &format!("/deals/{id}"), &edit)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ann.post_form(&format!("/deals/{id}/delete"), &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let stored = deal(&app, id);
    assert_eq!(
        (
            stored.title.as_str(),
            stored.stage_id,
            stored.status.as_str()
        ),
        ("Bob's deal", qualified, "open")
    );
    assert_eq!(moves(&app, id).len(), 1);
    let refusals: i64 = audit_log::table
        .filter(audit_log::action.eq("authorization_denied"))
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert!(refusals >= 6, "every refusal is audited ({refusals})");
    let board = ann.get_html("/pipeline").await;
    let card = section(&board, &format!("deal-card-{id}"));
    assert!(
        !card.contains("draggable=\"true\"") && !card.contains("/move"),
        "{card}"
    );

    assert_eq!(
        ann.get("/deals/999999").await.status(),
        StatusCode::NOT_FOUND
    );

    // Bob moves his own deal; an admin may delete it.
    let bob_browser = app.open_browser();
    bob_browser.login_as(&bob).await;
    let ok = bob_browser
        .post_form(
            &format!("/deals/{id}/move"),
            &[("stage_id", &demo_text), ("version", &version)],
        )
        .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&ok), format!("/deals/{id}"));
    let admin = app.admin();
    app.login_as(&admin).await;
    let deleted = app.post_form(&format!("/deals/{id}/delete"), &[]).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(deal_count(&app), 0);
    assert!(audit_actions(&app, &format!("deal {id}")).contains(&"record_deleted".to_owned()));
    assert_board_figures_match_the_deals(&app);
}

// ---------------------------------------------------------------------------------------
// Moves, the journey and rotting

#[tokio::test]
async fn two_people_moving_the_same_card_the_second_gets_a_conflict_and_nothing_changes() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let (rep, rep_user) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let qualified = stage(&app, "Qualified");
    let demo = stage(&app, "Demo scheduled");
    let proposal = stage(&app, "Proposal made");
    let id = seed_deal(&app, &rep_user, Spec::new("Contested", 1_000, qualified));
    let seen = deal(&app, id).version.to_string();

    let first = script_post(
        &rep,
        &format!("/deals/{id}/move"),
        &[("stage_id", &demo.to_string()), ("version", &seen)],
    )
    .await;
    assert_eq!(first.status(), StatusCode::OK);
    let fragment = first.text().await.expect("the fragment");
    assert!(fragment.contains(&format!("id=\"deal-card-{id}\"")));
    assert!(fragment.contains(&format!("id=\"column-head-{demo}\"")));
    assert!(fragment.contains(&format!("id=\"column-head-{qualified}\"")));

    let second = script_post(
        &app,
        &format!("/deals/{id}/move"),
        &[("stage_id", &proposal.to_string()), ("version", &seen)],
    )
    .await;
    assert_eq!(second.status(), StatusCode::CONFLICT);
    assert!(
        second
            .text()
            .await
            .expect("body")
            .contains("Someone else changed this deal in the meantime")
    );
    let without_js = app
        .post_form(
            &format!("/deals/{id}/move"),
            &[("stage_id", &proposal.to_string()), ("version", &seen)],
        )
        .await;
    assert_eq!(without_js.status(), StatusCode::CONFLICT);
    assert_eq!(deal(&app, id).stage_id, demo, "the first move stands");
    assert_eq!(moves(&app, id).len(), 2);

    let stale_lost = app
        .post_form(
            &format!("/deals/{id}/move"),
            &[("status", "lost"), ("lost_reason", "x"), ("version", &seen)],
        )
        .await;
    assert_eq!(stale_lost.status(), StatusCode::CONFLICT);
    assert_eq!(deal(&app, id).status, "open");
    assert_board_figures_match_the_deals(&app);
}

#[tokio::test]
async fn moves_are_validated_and_losing_needs_a_reason() {
    let app = spawn_app().await;
    let (rep, rep_user) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let qualified = stage(&app, "Qualified");
    let id = seed_deal(&app, &rep_user, Spec::new("Maybe", 1_000, qualified));
    let version = deal(&app, id).version.to_string();

    let no_reason = script_post(
        &rep,
        &format!("/deals/{id}/move"),
        &[
            ("status", "lost"),
            ("lost_reason", "  "),
            ("version", &version),
        ],
    )
    .await;
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        no_reason
            .text()
            .await
            .expect("body")
            .contains("Say why the deal was lost.")
    );
    let without_js = rep
        .post_form(
            &format!("/deals/{id}/move"),
            &[
                ("status", "lost"),
                ("version", &version),
                ("next", "/pipeline?pipeline=1"),
            ],
        )
        .await;
    assert_eq!(location(&without_js), "/pipeline?pipeline=1");
    assert!(
        rep.get_html("/pipeline?pipeline=1")
            .await
            .contains("Say why the deal was lost.")
    );

    let admin = app.admin();
    app.login_as(&admin).await;
    let created = app
        .post_form("/admin/pipelines", &[("name", "Other")])
        .await;
    let other = id_after(&created, "/admin/pipelines/");
    let foreign = stages_of(&app, other)[0].0.to_string();
    let elsewhere = script_post(
        &rep,
        &format!("/deals/{id}/move"),
        &[("stage_id", &foreign), ("version", &version)],
    )
    .await;
    assert_eq!(elsewhere.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let nonsense = script_post(
        &rep,
        &format!("/deals/{id}/move"),
        &[("status", "closed"), ("version", &version)],
    )
    .await;
    assert_eq!(nonsense.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let stored = deal(&app, id);
    assert_eq!(
        (stored.stage_id, stored.status.as_str()),
        (qualified, "open")
    );
    assert_eq!(moves(&app, id).len(), 1);

    let same = script_post(
        &rep,
        &format!("/deals/{id}/move"),
        &[("stage_id", &qualified.to_string()), ("version", &version)],
    )
    .await;
    assert_eq!(
        same.status(),
        StatusCode::OK,
        "a drop on its own column is harmless"
    );
    assert_eq!(moves(&app, id).len(), 1);

    let lost = script_post(
        &rep,
        &format!("/deals/{id}/move"),
        &[
            ("status", "lost"),
            ("lost_reason", "No budget this year"),
            ("version", &version),
        ],
    )
    .await;
    assert_eq!(lost.status(), StatusCode::OK);
    let fragment = lost.text().await.expect("body");
    assert!(
        !fragment.contains("deal-card-"),
        "a lost deal leaves the board"
    );
    let stored = deal(&app, id);
    assert_eq!(stored.status, "lost");
    assert_eq!(stored.lost_reason.as_deref(), Some("No budget this year"));
    assert_eq!(stored.closed_at, Some(app.clock.now()));
    let version = stored.version.to_string();
    let again = rep
        .post_form(
            &format!("/deals/{id}/move"),
            &[
                ("stage_id", &stage(&app, "Negotiation").to_string()),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        deal(&app, id).status,
        "lost",
        "a closed deal is reopened before it moves"
    );
    assert_board_figures_match_the_deals(&app);
}

#[tokio::test]
async fn the_deal_page_shows_the_journey_with_who_when_and_time_in_each_stage() {
    let app = spawn_long_lived_app().await;
    let (rep, rep_user) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let qualified = stage(&app, "Qualified");
    let demo = stage(&app, "Demo scheduled");
    let proposal = stage(&app, "Proposal made");
    let id = seed_deal(&app, &rep_user, Spec::new("Journey", 1_000, qualified));
    let created_at = app.clock.now();

    let move_to = |target: i64| {
        let rep = rep.clone();
        let version = deal(&app, id).version.to_string();
        async move {
            let response = rep
                .post_form(
                    &format!("/deals/{id}/move"),
                    &[("stage_id", &target.to_string()), ("version", &version)],
                )
                .await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
        }
    };
    app.clock.advance(Duration::days(2));
    move_to(demo).await;
    app.clock.advance(Duration::hours(3));
    move_to(qualified).await;
    app.clock.advance(Duration::days(1));
    move_to(proposal).await;
    let entered = app.clock.now();
    app.clock.advance(Duration::minutes(90));

    let journey = moves(&app, id);
    type Step<'a> = (
        Option<i64>,
        Option<i64>,
        Option<&'a str>,
        &'a str,
        Option<i64>,
    );
    let rows: Vec<Step<'_>> = journey
        .iter()
        .map(|(from, to, from_status, to_status, by, _)| {
            (*from, *to, from_status.as_deref(), to_status.as_str(), *by)
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (None, Some(qualified), None, "open", Some(rep_user.id)),
            (
                Some(qualified),
                Some(demo),
                Some("open"),
                "open",
                Some(rep_user.id)
            ),
            (
                Some(demo),
                Some(qualified),
                Some("open"),
                "open",
                Some(rep_user.id)
            ),
            (
                Some(qualified),
                Some(proposal),
                Some("open"),
                "open",
                Some(rep_user.id)
            ),
        ]
    );
    assert_eq!(journey[0].5, created_at);
    assert_eq!(journey[3].5, entered);
    let stored = deal(&app, id);
    assert_eq!(
        stored.stage_entered_at, entered,
        "the stage counts from entering it"
    );

    let page = rep.get_html(&format!("/deals/{id}")).await;
    let journey_text = text_of(&section(&page, "journey"));
    assert!(
        journey_text.contains("Moved Qualified → Proposal made Sales Tester"),
        "{journey_text}"
    );
    assert!(journey_text.contains("1 h 30 min so far"), "{journey_text}");
    assert!(journey_text.contains("stayed 3 h"), "{journey_text}");
    assert!(journey_text.contains("stayed 1 d"), "{journey_text}");
    assert!(
        journey_text.contains("Created in Qualified"),
        "{journey_text}"
    );
    assert!(journey_text.contains("stayed 2 d"), "{journey_text}");
    let bar = text_of(&section(&page, "stage-bar"));
    // Qualified: 2 days, then 1 more day; Demo: 3 hours; Proposal: 90 minutes so far.
    assert!(bar.contains("Qualified 3 d"), "{bar}");
    assert!(bar.contains("Demo scheduled 3 h"), "{bar}");
    assert!(bar.contains("Proposal made 1 h 30 min"), "{bar}");
}

#[tokio::test]
async fn a_deal_rots_after_its_stages_threshold_counted_from_entering_the_stage() {
    let app = spawn_long_lived_app().await;
    let (rep, rep_user) = signed_in(&app, "rep@example.com", Role::Sales).await;
    // The default stages rot after 14 days (Qualified) and 21 days (Proposal made).
    let qualified = stage(&app, "Qualified");
    let proposal = stage(&app, "Proposal made");
    let id = seed_deal(&app, &rep_user, Spec::new("Slow burner", 1_000, qualified));
    let card = |page: &str| section(page, &format!("deal-card-{id}"));

    app.clock.advance(Duration::days(14));
    let board = rep.get_html("/pipeline").await;
    assert!(
        !card(&board).contains("rotting"),
        "day 14 is not yet rotting"
    );
    assert!(card(&board).contains("14 days"));

    app.clock.advance(Duration::days(1));
    let board = rep.get_html("/pipeline").await;
    assert!(
        card(&board).contains("deal-card rotting"),
        "{}",
        card(&board)
    );
    assert!(card(&board).contains("Rotting"));
    assert!(rep.get_html("/deals").await.contains("Rotting"));
    assert!(
        rep.get_html(&format!("/deals/{id}"))
            .await
            .contains("rotting-badge")
    );

    let version = deal(&app, id).version.to_string();
    rep.post_form(
        &format!("/deals/{id}/move"),
        &[("stage_id", &proposal.to_string()), ("version", &version)],
    )
    .await;
    let board = rep.get_html("/pipeline").await;
    assert!(
        !card(&board).contains("rotting"),
        "a new stage starts a new count"
    );
    assert!(card(&board).contains("today"));
    app.clock.advance(Duration::days(22));
    let board = rep.get_html("/pipeline").await;
    assert!(card(&board).contains("deal-card rotting"));
}

// ---------------------------------------------------------------------------------------
// The board and the list

#[tokio::test]
async fn column_totals_and_weighted_totals_are_exact_and_kept_apart_per_currency() {
    let app = spawn_app().await;
    let (rep, rep_user) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let other = app.create_user("other@example.com", Role::Sales);
    let qualified = stage(&app, "Qualified"); // 10 %
    let demo = stage(&app, "Demo scheduled"); // 40 %
    let negotiation = stage(&app, "Negotiation"); // 80 %
    seed_deal(&app, &rep_user, Spec::new("A", 100_000, qualified));
    seed_deal(&app, &rep_user, Spec::new("B", 250_005, qualified));
    seed_deal(&app, &other, Spec::new("C", 333, qualified));
    let mut usd = Spec::new("D", 5_000_000, demo);
    usd.currency = "USD";
    seed_deal(&app, &rep_user, usd);
    seed_deal(&app, &other, Spec::new("E", 1_200_000, demo));
    seed_deal(&app, &rep_user, Spec::new("F", 7, negotiation));
    let closed = seed_deal(&app, &rep_user, Spec::new("G", 9_999_900, negotiation));
    let version = deal(&app, closed).version.to_string();
    rep.post_form(
        &format!("/deals/{closed}/move"),
        &[("status", "won"), ("version", &version)],
    )
    .await;

    let board = rep.get_html("/pipeline").await;
    let head = |stage_id: i64| section(&board, &format!("column-head-{stage_id}"));
    // Qualified: 1,000.00 + 2,500.05 + 3.33 = 3,503.38, weighted at 10 %: 350.338, which
    // rounds to 350.34.
    let qualified_head = head(qualified);
    assert!(
        qualified_head.contains("title=\"Open deals in this stage\">3<"),
        "{qualified_head}"
    );
    assert!(
        qualified_head.contains("Total: €3,503.38"),
        "{qualified_head}"
    );
    assert!(qualified_head.contains("€350.34"), "{qualified_head}");
    assert!(qualified_head.contains(">€3,503<"), "{qualified_head}");
    assert!(
        qualified_head.contains(">€350 weighted<"),
        "{qualified_head}"
    );
    // Demo: $50,000 and €12,000 stay apart, the larger first; 40 %.
    let demo_head = head(demo);
    assert!(
        demo_head.contains("Total: $50,000.00 · €12,000.00"),
        "{demo_head}"
    );
    assert!(demo_head.contains("$20,000.00 · €4,800.00"), "{demo_head}");
    assert!(demo_head.contains(">$50k · €12k<"), "{demo_head}");
    // Negotiation: the won deal is not on the board; 0.07 at 80 % is 0.06.
    let negotiation_head = head(negotiation);
    assert!(negotiation_head.contains(">1<"), "{negotiation_head}");
    assert!(
        negotiation_head.contains("Total: €0.07"),
        "{negotiation_head}"
    );
    assert!(negotiation_head.contains("€0.06"), "{negotiation_head}");
    assert!(
        board.contains("No deals in this stage"),
        "empty columns say so"
    );
    let summary = text_of(&board[board.find("board-summary").expect("summary")..]);
    assert!(
        summary.contains("6 open deals Total $50k · €15.5k Weighted $20k · €5,150"),
        "{summary}"
    );

    let mine = rep.get_html("/pipeline?pipeline=1&owner=me").await;
    let mine_head = section(&mine, &format!("column-head-{qualified}"));
    assert!(
        mine_head.contains("Total: €3,500.05"),
        "only my deals: {mine_head}"
    );
    assert!(!mine.contains(">C<"), "another rep's card is filtered out");
    assert_board_figures_match_the_deals(&app);
}

#[tokio::test]
async fn the_board_shows_cards_with_company_owner_and_a_no_script_move_control() {
    let app = spawn_app().await;
    let (rep, rep_user) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let acme = seed_company(&app, "Acme Widgets");
    let qualified = stage(&app, "Qualified");
    let demo = stage(&app, "Demo scheduled");
    let mut spec = Spec::new("Widgets for all", 1_250_000, qualified);
    spec.company_id = Some(acme);
    let id = seed_deal(&app, &rep_user, spec);

    let board = rep.get_html("/pipeline").await;
    assert!(board.contains("<script src=\"/static/js/board.js\" defer></script>"));
    let card = section(&board, &format!("deal-card-{id}"));
    for expected in [
        "Widgets for all",
        "Acme Widgets",
        "€12,500.00",
        "title=\"Owner: Sales Tester\">ST<",
        "today",
        "draggable=\"true\"",
        &format!("action=\"/deals/{id}/move\""),
        "name=\"next\" value=\"/pipeline?pipeline=1\"",
    ] {
        assert!(card.contains(expected), "{expected}: {card}");
    }
    assert!(
        board.contains(&format!("href=\"/deals/new?stage={demo}\"")),
        "+ Add deal per column"
    );
    assert!(
        board.contains("data-drop-status=\"won\"") && board.contains("data-drop-status=\"lost\"")
    );

    let version = deal(&app, id).version.to_string();
    let moved = rep
        .post_form(
            &format!("/deals/{id}/move"),
            &[
                ("stage_id", &demo.to_string()),
                ("version", &version),
                ("next", "/pipeline?pipeline=1"),
            ],
        )
        .await;
    assert_eq!(location(&moved), "/pipeline?pipeline=1");
    let board = rep.get_html("/pipeline?pipeline=1").await;
    let column = section(&board, &format!("column-head-{demo}"));
    assert!(column.contains(">1<"));
    let cards_of_demo = &board[board
        .find(&format!("data-drop-stage=\"{demo}\""))
        .expect("the column")..];
    assert!(
        cards_of_demo[..cards_of_demo.find("</section>").expect("end")]
            .contains(&format!("deal-card-{id}")),
        "the card is in its new column after a reload"
    );

    let form = rep.get_html(&format!("/deals/new?stage={demo}")).await;
    assert!(form.contains(&format!(
        "<option value=\"{demo}\" selected>Demo scheduled</option>"
    )));
    let form = rep.get_html(&format!("/deals/new?company={acme}")).await;
    assert!(form.contains(&format!(
        "<option value=\"{acme}\" selected>Acme Widgets</option>"
    )));
}

#[tokio::test]
async fn the_list_filters_sorts_and_pages_by_cursor() {
    let app = spawn_app().await;
    let (rep, rep_user) = signed_in(&app, "rep@example.com", Role::Sales).await;
    let other = app.create_user("other@example.com", Role::Sales);
    let qualified = stage(&app, "Qualified");
    let demo = stage(&app, "Demo scheduled");
    for n in 0..60 {
        let title = format!("Deal {n:02}");
        let stage_id = if n % 2 == 0 { qualified } else { demo };
        let owner = if n % 3 == 0 { &other } else { &rep_user };
        seed_deal(
            &app,
            owner,
            Spec::new(&title, (n * 1000 + 7) as i64, stage_id),
        );
        app.clock.advance(Duration::minutes(1));
    }
    let listed = |page: &str| -> Vec<String> {
        page.match_indices("<td><a href=\"/deals/")
            .map(|(at, _)| {
                let rest = &page[at..];
                let start = rest.find("\">").expect("link text") + 2;
                let end = rest.find("</a>").expect("link end");
                rest[start..end].to_owned()
            })
            .collect()
    };
    let next_link = |page: &str| -> Option<String> {
        let end = page.find("\" rel=\"next\"")?;
        let start = page[..end].rfind("href=\"")? + 6;
        Some(unescape(&page[start..end]))
    };

    let first = rep.get_html("/deals?sort=value").await;
    let titles = listed(&first);
    assert_eq!(titles.len(), 50);
    assert_eq!(titles[0], "Deal 59", "largest value first");
    let next = next_link(&first).expect("a next page");
    let second = rep.get_html(&next).await;
    let rest = listed(&second);
    assert_eq!(rest.len(), 10);
    assert_eq!(rest.last().map(String::as_str), Some("Deal 00"));
    assert!(next_link(&second).is_none());

    let by_title = listed(&rep.get_html("/deals?sort=title").await);
    assert_eq!(by_title[0], "Deal 00");
    let newest = listed(&rep.get_html("/deals").await);
    assert_eq!(newest[0], "Deal 59", "newest first by default");

    let demo_only = listed(
        &rep.get_html(&format!("/deals?stage={demo}&sort=title"))
            .await,
    );
    assert_eq!(demo_only.len(), 30);
    assert!(
        demo_only
            .iter()
            .all(|title| { title[5..].parse::<u32>().is_ok_and(|n| n % 2 == 1) })
    );
    let mine = listed(&rep.get_html("/deals?owner=me&sort=title").await);
    assert_eq!(mine.len(), 40);
    assert!(!mine.contains(&"Deal 03".to_owned()));

    let first_deal: i64 = deals::table
        .filter(deals::title.eq("Deal 01"))
        .select(deals::id)
        .first(&mut app.conn())
        .expect("deal");
    let version = deal(&app, first_deal).version.to_string();
    rep.post_form(
        &format!("/deals/{first_deal}/move"),
        &[("status", "won"), ("version", &version)],
    )
    .await;
    let won = listed(&rep.get_html("/deals?status=won").await);
    assert_eq!(won, ["Deal 01"]);
    let all = listed(&rep.get_html("/deals?status=all&sort=title").await);
    assert_eq!(all.len(), 50);
    assert!(!listed(&rep.get_html("/deals").await).contains(&"Deal 01".to_owned()));

    // Expected close: dated deals first, soonest first, then undated ones.
    for (title, date) in [("Deal 10", "2027-05-01"), ("Deal 20", "2027-01-15")] {
        diesel::update(deals::table.filter(deals::title.eq(title)))
            .set(deals::expected_close_on.eq(NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()))
            .execute(&mut app.conn())
            .expect("dated");
    }
    let by_close = rep.get_html("/deals?sort=close").await;
    let titles = listed(&by_close);
    assert_eq!(&titles[..2], ["Deal 20", "Deal 10"]);
    let after = listed(&rep.get_html(&next_link(&by_close).expect("next")).await);
    assert_eq!(titles.len() + after.len(), 59);
    assert!(
        titles
            .iter()
            .chain(after.iter())
            .collect::<std::collections::HashSet<_>>()
            .len()
            == 59
    );
}

#[tokio::test]
async fn the_board_reads_its_figures_from_the_totals_table_and_its_cards_by_column() {
    use rapport::pipeline::board::{Filter, plans};
    let app = spawn_app().await;
    let stage_ids: Vec<i64> = stages_of(&app, 1).into_iter().map(|(id, _)| id).collect();
    for owner_id in [None, Some(1)] {
        let filter = Filter {
            pipeline_id: 1,
            owner_id,
        };
        let (totals, cards) = plans(&mut app.conn(), filter, stage_ids[0]).expect("plans");
        let totals = totals.join(" / ");
        assert!(
            totals.contains("SEARCH deal_board_totals USING INDEX sqlite_autoindex_deal_board_totals_1 (pipeline_id=?"),
            "{totals}"
        );
        let cards = cards.join(" / ");
        assert!(
            cards
                .contains("USING INDEX deals_on_board (pipeline_id=? AND status=? AND stage_id=?)"),
            "one index range per column: {cards}"
        );
        assert!(
            !cards.contains("TEMP B-TREE") && !cards.contains("SCAN deals"),
            "{cards}"
        );
    }
}

/// The board's figures, kept by triggers, agree with the deals counted one by one, for
/// everyone and for each owner.
fn assert_board_figures_match_the_deals(app: &TestApp) {
    use rapport::pipeline::board::{Filter, column_totals, column_totals_counted};
    let mut conn = app.conn();
    let pipelines: Vec<i64> = rapport::db::schema::pipelines::table
        .select(rapport::db::schema::pipelines::id)
        .load(&mut conn)
        .expect("pipelines");
    let owners: Vec<Option<i64>> = rapport::db::schema::deals::table
        .select(rapport::db::schema::deals::owner_id)
        .distinct()
        .load(&mut conn)
        .expect("owners");
    for pipeline_id in pipelines {
        for owner_id in std::iter::once(None).chain(owners.iter().copied().flatten().map(Some)) {
            let filter = Filter {
                pipeline_id,
                owner_id,
            };
            assert_eq!(
                column_totals(&mut conn, filter).expect("kept"),
                column_totals_counted(&mut conn, filter).expect("counted"),
                "pipeline {pipeline_id}, owner {owner_id:?}"
            );
        }
    }
}
