//! The home page, a rep's day: my overdue and today's tasks (completed from here), my deals
//! closing this month, my rotting deals, recent activity on my records and, for admins, the
//! team's pipeline totals. Every section is one indexed query (see `queries`), all run in
//! one trip to the database.

pub mod queries;

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};

use crate::auth::policy::Permission;
use crate::db;
use crate::error::AppError;
use crate::pipeline::money::{self, Currency};
use crate::pipeline::rules;
use crate::tasks::queries::{self as task_queries, Scope};
use crate::tasks::view::{self as task_view, TaskItem};
use crate::web::AppState;
use crate::web::extract::CurrentUser;
use crate::web::format;
use crate::web::page::{Page, render};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home));
}

/// Tasks shown on the home page; the task list has the rest.
const TASKS_SHOWN: i64 = 30;
const DEALS_SHOWN: i64 = 10;
const ROTTING_SHOWN: usize = 10;
const ACTIVITY_SHOWN: i64 = 10;
/// "Recent" activity: this far back.
const ACTIVITY_DAYS: i64 = 30;
const EXCERPT_CHARS: usize = 160;

struct Shortcut {
    title: &'static str,
    href: &'static str,
}

/// One of my open deals, as the viewer may see it.
struct DealLine {
    id: i64,
    title: String,
    /// Empty for those who may not see values.
    value: String,
    stage: String,
    company: Option<String>,
    close_on: String,
    days_in_stage: i64,
    rotting_days: i32,
}

struct ActivityLine {
    kind: String,
    record_href: String,
    record_name: String,
    author: String,
    when: String,
    when_iso: String,
    excerpt: String,
    deal_id: Option<i64>,
}

struct CurrencyTotal {
    total: String,
    weighted: String,
}

struct PipelineTotal {
    id: i64,
    name: String,
    open_deals: i64,
    totals: Vec<CurrencyTotal>,
}

#[derive(Template)]
#[template(path = "home/index.html")]
struct HomePage {
    page: Page,
    first_name: String,
    greeting: &'static str,
    today: String,
    overdue_tasks: Vec<TaskItem>,
    today_tasks: Vec<TaskItem>,
    more_tasks: bool,
    show_deals: bool,
    can_create_deals: bool,
    month: String,
    closing: Vec<DealLine>,
    rotting: Vec<DealLine>,
    activity: Vec<ActivityLine>,
    team: Option<Vec<PipelineTotal>>,
    shortcuts: &'static [Shortcut],
    admin_shortcuts: &'static [Shortcut],
}

fn greeting(hour: u32) -> &'static str {
    match hour {
        5..=11 => "Good morning",
        12..=17 => "Good afternoon",
        _ => "Good evening",
    }
}

/// The first and last day of the month `date` is in.
fn month_of(date: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = date.with_day(1).unwrap_or(date);
    let next_month = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    let last = next_month.and_then(|next| next.pred_opt()).unwrap_or(date);
    (first, last)
}

fn excerpt(body: &str) -> String {
    let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= EXCERPT_CHARS {
        flat
    } else {
        let cut: String = flat.chars().take(EXCERPT_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

fn deal_line(deal: queries::MyDeal, show_values: bool, now: NaiveDateTime) -> DealLine {
    let value = match (show_values, Currency::parse(&deal.currency)) {
        (true, Some(currency)) => money::format(deal.value_minor, currency),
        (true, None) => format!("{} {}", deal.value_minor, deal.currency),
        (false, _) => String::new(),
    };
    DealLine {
        id: deal.id,
        title: deal.title,
        value,
        stage: deal.stage_name,
        company: deal.company_name,
        close_on: deal
            .expected_close_on
            .map(|date| date.format("%a %-d %b").to_string())
            .unwrap_or_default(),
        days_in_stage: rules::days_in_stage(deal.stage_entered_at, now),
        rotting_days: deal.rotting_days.unwrap_or_default(),
    }
}

fn activity_line(entry: queries::Activity, tz: chrono_tz::Tz) -> ActivityLine {
    let (record_href, record_name) = match (entry.contact_id, entry.company_id) {
        (Some(id), _) => (
            format!("/contacts/{id}"),
            format!(
                "{} {}",
                entry.contact_first_name.unwrap_or_default(),
                entry.contact_last_name.unwrap_or_default()
            )
            .trim()
            .to_owned(),
        ),
        (None, Some(id)) => (
            format!("/companies/{id}"),
            entry.company_name.unwrap_or_default(),
        ),
        (None, None) => (String::new(), String::new()),
    };
    ActivityLine {
        kind: entry.kind,
        record_href,
        record_name,
        author: entry.author_name.unwrap_or_else(|| "Rapport".to_owned()),
        when: format::datetime(entry.occurred_at, tz),
        when_iso: format::iso(entry.occurred_at),
        excerpt: excerpt(&entry.body),
        deal_id: entry.deal_id,
    }
}

fn team_totals(rows: Vec<queries::PipelineTotalsRow>) -> Vec<PipelineTotal> {
    let mut pipelines: Vec<PipelineTotal> = Vec::new();
    for row in rows {
        if pipelines
            .last()
            .is_none_or(|last| last.id != row.pipeline_id)
        {
            pipelines.push(PipelineTotal {
                id: row.pipeline_id,
                name: row.pipeline_name.clone(),
                open_deals: 0,
                totals: Vec::new(),
            });
        }
        let Some(pipeline) = pipelines.last_mut() else {
            continue;
        };
        let Some(code) = row.currency else {
            continue;
        };
        pipeline.open_deals += row.deals;
        let (total, weighted) = match Currency::parse(&code) {
            Some(currency) => (
                money::format(row.total, currency),
                money::format(row.weighted, currency),
            ),
            None => (
                format!("{} {code}", row.total),
                format!("{} {code}", row.weighted),
            ),
        };
        pipeline.totals.push(CurrencyTotal { total, weighted });
    }
    pipelines
}

const ACCOUNT_SHORTCUTS: [Shortcut; 2] = [
    Shortcut {
        title: "Your profile",
        href: "/profile",
    },
    Shortcut {
        title: "Two-step verification",
        href: "/profile/two-factor",
    },
];

const ADMIN_SHORTCUTS: [Shortcut; 5] = [
    Shortcut {
        title: "Users",
        href: "/admin/users",
    },
    Shortcut {
        title: "Pipelines",
        href: "/admin/pipelines",
    },
    Shortcut {
        title: "Security settings",
        href: "/admin/settings",
    },
    Shortcut {
        title: "Outbox",
        href: "/admin/outbox",
    },
    Shortcut {
        title: "Audit log",
        href: "/admin/audit",
    },
];

async fn home(me: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let now = state.now();
    let tz = me.user.tz();
    let local_now = now.and_utc().with_timezone(&tz);
    let today = local_now.date_naive();
    let (month_first, month_last) = month_of(today);
    let tomorrow = task_view::start_of_tomorrow(now, tz);
    let role = me.user.role;
    let show_values = role.can(Permission::ViewDealValues);
    let administer = role.can(Permission::Administer);
    let user_id = me.user.id;
    let (tasks, closing, rotting, activity, team) = db::run(&state.pool, move |conn| {
        let tasks = task_queries::open(
            conn,
            Scope::AssignedTo(user_id),
            None,
            Some(tomorrow),
            None,
            TASKS_SHOWN + 1,
        )?;
        let closing =
            queries::closing_between(conn, user_id, month_first, month_last, DEALS_SHOWN)?;
        let rotting = queries::rotting(conn, user_id, now, ROTTING_SHOWN)?;
        let since = now - Duration::days(ACTIVITY_DAYS);
        let activity = queries::recent_activity(conn, user_id, since, ACTIVITY_SHOWN)?;
        let team = if administer {
            Some(queries::pipeline_totals(conn)?)
        } else {
            None
        };
        Ok((tasks, closing, rotting, activity, team))
    })
    .await?;

    let mut tasks = tasks;
    let more_tasks = tasks.len() > TASKS_SHOWN as usize;
    tasks.truncate(TASKS_SHOWN as usize);
    let (overdue_tasks, today_tasks): (Vec<TaskItem>, Vec<TaskItem>) = tasks
        .into_iter()
        .map(|row| TaskItem::of(row, &me.user, now, tz))
        .partition(|task| task.overdue);
    let closing: Vec<DealLine> = closing
        .into_iter()
        .map(|deal| deal_line(deal, show_values, now))
        .collect();
    let rotting: Vec<DealLine> = rotting
        .into_iter()
        .map(|deal| deal_line(deal, show_values, now))
        .collect();
    let can_create_deals = role.can(Permission::CreateCustomers);
    render(&HomePage {
        page: me.page("Home"),
        first_name: me
            .user
            .display_name
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned(),
        greeting: greeting(local_now.hour()),
        today: today.format("%A %-d %B").to_string(),
        overdue_tasks,
        today_tasks,
        more_tasks,
        // Support agents rarely own deals: their day shows deals only when they do.
        show_deals: can_create_deals || !closing.is_empty() || !rotting.is_empty(),
        can_create_deals,
        month: today.format("%B").to_string(),
        closing,
        rotting,
        activity: activity
            .into_iter()
            .map(|entry| activity_line(entry, tz))
            .collect(),
        team: team.map(team_totals),
        shortcuts: &ACCOUNT_SHORTCUTS,
        admin_shortcuts: if administer { &ADMIN_SHORTCUTS } else { &[] },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, month, day).expect("a valid date")
    }

    #[test]
    fn a_month_runs_from_its_first_to_its_last_day() {
        assert_eq!(
            month_of(date(2026, 12, 3)),
            (date(2026, 12, 1), date(2026, 12, 31))
        );
        assert_eq!(
            month_of(date(2028, 2, 29)),
            (date(2028, 2, 1), date(2028, 2, 29))
        );
    }

    #[test]
    fn long_entries_are_cut_to_an_excerpt_on_one_line() {
        assert_eq!(
            excerpt("Called.\n\nThey  want a demo."),
            "Called. They want a demo."
        );
        let long = "word ".repeat(100);
        let cut = excerpt(&long);
        assert!(cut.ends_with('…'));
        assert!(cut.chars().count() <= EXCERPT_CHARS);
    }
}
