//! The pipeline report (`/reports/pipeline` and its CSV) on a known data set: conversion,
//! time in stage, bottleneck, win rate, deal size, sales cycle and the weighted forecast,
//! exactly as the page and the CSV show them; date ranges in the viewer's time zone; who
//! may see it; bad filters. And the demo data the report is benchmarked on.

#[path = "../common/mod.rs"]
mod common;
use common::*;

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rapport::auth::model::Role;
use rapport::clock::Clock;
use rapport::db::schema::{deal_stage_moves, deals, pipeline_stages, pipelines, users};
use rapport::pipeline::seed::{DealCounts, seed_deals};
use rapport::reports::pipeline::filters::DateRange;
use rapport::reports::pipeline::queries::PipelineRow;
use rapport::reports::pipeline::{Report, export};
use reqwest::StatusCode;

// ---------------------------------------------------------------------------------------
// Helpers

/// Creates a pipeline with `stages` (name, win probability) in order; returns its id and
/// the stage ids.
fn pipeline(app: &TestApp, name: &str, stages: &[(&str, i32)]) -> (i64, Vec<i64>) {
    let now = app.clock.now();
    let conn = &mut app.conn();
    let id: i64 = diesel::insert_into(pipelines::table)
        .values((
            pipelines::name.eq(name),
            pipelines::position.eq(10),
            pipelines::created_at.eq(now),
            pipelines::updated_at.eq(now),
        ))
        .returning(pipelines::id)
        .get_result(conn)
        .expect("pipeline inserted");
    let stage_ids = stages
        .iter()
        .enumerate()
        .map(|(position, (stage, probability))| {
            diesel::insert_into(pipeline_stages::table)
                .values((
                    pipeline_stages::pipeline_id.eq(id),
                    pipeline_stages::name.eq(*stage),
                    pipeline_stages::position.eq(position as i32),
                    pipeline_stages::win_probability.eq(*probability),
                    pipeline_stages::created_at.eq(now),
                    pipeline_stages::updated_at.eq(now),
                ))
                .returning(pipeline_stages::id)
                .get_result::<i64>(conn)
                .expect("stage inserted")
        })
        .collect();
    (id, stage_ids)
}

/// A deal to insert, with its journey: each step puts it in a stage with a status at a time.
struct Deal {
    owner: Option<i64>,
    value_minor: i64,
    currency: &'static str,
    expected_close_on: Option<NaiveDate>,
    steps: Vec<(i64, &'static str, NaiveDateTime)>,
}

fn deal(
    owner: Option<i64>,
    value_minor: i64,
    steps: Vec<(i64, &'static str, NaiveDateTime)>,
) -> Deal {
    Deal {
        owner,
        value_minor,
        currency: "EUR",
        expected_close_on: None,
        steps,
    }
}

/// Inserts `deal` into `pipeline_id` with its moves, as the deals code records them: the
/// creation (from nothing), then stage moves and wins or losses (from the previous step).
fn insert(app: &TestApp, pipeline_id: i64, deal: &Deal) -> i64 {
    let conn = &mut app.conn();
    let (first_stage, _, created_at) = deal.steps[0];
    let (last_stage, status, last_at) = *deal.steps.last().expect("steps");
    let entered_at = deal
        .steps
        .iter()
        .rev()
        .find(|(_, status, _)| *status == "open")
        .map_or(created_at, |(_, _, at)| *at);
    let _ = first_stage;
    let id: i64 = diesel::insert_into(deals::table)
        .values((
            deals::title.eq("A deal"),
            deals::value_minor.eq(deal.value_minor),
            deals::currency.eq(deal.currency),
            deals::expected_close_on.eq(deal.expected_close_on),
            deals::owner_id.eq(deal.owner),
            deals::pipeline_id.eq(pipeline_id),
            deals::stage_id.eq(last_stage),
            deals::status.eq(status),
            deals::lost_reason.eq((status == "lost").then_some("Price")),
            deals::stage_entered_at.eq(entered_at),
            deals::closed_at.eq((status != "open").then_some(last_at)),
            deals::created_at.eq(created_at),
            deals::updated_at.eq(last_at),
        ))
        .returning(deals::id)
        .get_result(conn)
        .expect("deal inserted");
    let mut previous: Option<(i64, &str)> = None;
    for (stage, status, at) in &deal.steps {
        diesel::insert_into(deal_stage_moves::table)
            .values((
                deal_stage_moves::deal_id.eq(id),
                deal_stage_moves::from_stage_id.eq(previous.map(|(stage, _)| stage)),
                deal_stage_moves::to_stage_id.eq(Some(*stage)),
                deal_stage_moves::from_status.eq(previous.map(|(_, status)| status)),
                deal_stage_moves::to_status.eq(*status),
                deal_stage_moves::moved_by.eq(deal.owner),
                deal_stage_moves::moved_at.eq(*at),
            ))
            .execute(conn)
            .expect("move inserted");
        previous = Some((*stage, status));
    }
    id
}

/// The text of every row of every table on the page: one `Vec` of cell texts per `<tr>`.
fn table_rows(html: &str) -> Vec<Vec<String>> {
    html.split("<tr")
        .skip(1)
        .map(|row| {
            let row = row.split("</tr>").next().unwrap_or_default();
            let mut cells = Vec::new();
            let mut rest = row;
            while let Some(start) = rest.find(['<']) {
                let tag = &rest[start..];
                if tag.starts_with("<td") || tag.starts_with("<th") {
                    let close = if tag.starts_with("<td") {
                        "</td>"
                    } else {
                        "</th>"
                    };
                    let open_end = tag.find('>').expect("tag ends") + 1;
                    let end = tag.find(close).expect("cell ends");
                    cells.push(text_of(&tag[open_end..end]));
                    rest = &tag[end + close.len()..];
                } else {
                    rest = &tag[1..];
                }
            }
            cells
        })
        .collect()
}

/// Markup stripped, entities decoded, whitespace collapsed.
fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&#8364;", "€")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn row<'a>(rows: &'a [Vec<String>], first: &str) -> &'a [String] {
    rows.iter()
        .find(|row| row.first().is_some_and(|cell| cell == first))
        .unwrap_or_else(|| panic!("a row starting with {first:?} in {rows:#?}"))
}

/// The CSV as (figure, stage, month, owner, currency, value) records.
async fn csv_records(app: &TestApp, path: &str) -> Vec<[String; 6]> {
    let response = app.get(path).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    let body = response.text().await.expect("a body");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        ["figure", "stage", "month", "owner", "currency", "value"]
    );
    reader
        .records()
        .map(|record| {
            let record = record.expect("a record");
            std::array::from_fn(|index| record.get(index).unwrap_or_default().to_owned())
        })
        .collect()
}

/// The value of the one CSV line with this figure, stage, month, owner and currency.
fn csv_value(records: &[[String; 6]], key: [&str; 5]) -> String {
    let found: Vec<&[String; 6]> = records
        .iter()
        .filter(|record| (0..5).all(|index| record[index] == key[index]))
        .collect();
    assert_eq!(found.len(), 1, "one line for {key:?} in {records:#?}");
    found[0][5].clone()
}

fn kpi(html: &str, label: &str) -> (String, String) {
    let marker = format!("<p class=\"report-kpi-label\">{label}</p>");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("a {label} card"))
        + marker.len();
    let rest = &html[start..];
    let value = rest.split("</p>").next().unwrap_or_default();
    let detail = rest.split("</p>").nth(1).unwrap_or_default();
    (text_of(value), text_of(detail))
}

fn this_month(now: NaiveDateTime) -> NaiveDate {
    now.date().with_day(1).expect("a first day")
}

/// A known data set in a three-stage pipeline: returns (app, pipeline id, admin, rep).
///
/// Ten deals, times in whole days before "now":
/// - created in the default range (the last 90 days): d1 won via all three stages, d2 lost
///   in Proposal, d3 lost in Qualified, d4 created straight into Proposal and won, d5 open
///   in Proposal, d6 open in Qualified, d7 lost in Proposal, d8 created in Proposal, open;
/// - created before the range: d9 created 200 days ago and won 10 days ago (USD), d10 lost
///   200 days ago, d11 open in Negotiation with a slipped close date.
async fn known_data_set() -> (TestApp, i64, TestUser, TestUser) {
    let app = spawn_app().await;
    let admin = app.admin();
    let rep = app.create_user("rep@example.com", Role::Sales);
    let (pipeline_id, stages) = pipeline(
        &app,
        "Report test",
        &[("Qualified", 10), ("Proposal", 50), ("Negotiation", 80)],
    );
    let (qualified, proposal, negotiation) = (stages[0], stages[1], stages[2]);
    let now = app.clock.now();
    let base = now - Duration::days(50);
    let day = |days: i64| base + Duration::days(days);
    let month = this_month(now);
    let (a, r) = (Some(admin.id), Some(rep.id));

    let d1 = deal(
        r,
        100_000,
        vec![
            (qualified, "open", day(0)),
            (proposal, "open", day(2)),
            (negotiation, "open", day(5)),
            (negotiation, "won", day(6)),
        ],
    );
    let d2 = deal(
        r,
        50_000,
        vec![
            (qualified, "open", day(0)),
            (proposal, "open", day(4)),
            (proposal, "lost", day(10)),
        ],
    );
    let d3 = deal(
        a,
        70_000,
        vec![(qualified, "open", day(0)), (qualified, "lost", day(1))],
    );
    let d4 = deal(
        a,
        300_000,
        vec![
            (proposal, "open", day(0)),
            (negotiation, "open", day(3)),
            (negotiation, "won", day(4)),
        ],
    );
    let d5 = Deal {
        expected_close_on: month
            .checked_add_months(Months::new(1))
            .map(|m| m + Duration::days(14)),
        ..deal(
            r,
            100_000,
            vec![(qualified, "open", day(0)), (proposal, "open", day(1))],
        )
    };
    let d6 = Deal {
        expected_close_on: Some(month),
        ..deal(a, 200_000, vec![(qualified, "open", day(0))])
    };
    let d7 = deal(
        r,
        10_000,
        vec![
            (qualified, "open", day(0)),
            (proposal, "open", day(3)),
            (proposal, "lost", day(5)),
        ],
    );
    let d8 = deal(r, 40_000, vec![(proposal, "open", day(10))]);
    let d9 = Deal {
        currency: "USD",
        ..deal(
            a,
            50_000,
            vec![
                (qualified, "open", now - Duration::days(200)),
                (qualified, "won", now - Duration::days(10)),
            ],
        )
    };
    let d10 = deal(
        a,
        10_000,
        vec![
            (qualified, "open", now - Duration::days(300)),
            (qualified, "lost", now - Duration::days(200)),
        ],
    );
    let d11 = Deal {
        expected_close_on: month.checked_sub_months(Months::new(2)),
        ..deal(
            a,
            10_000,
            vec![(negotiation, "open", now - Duration::days(120))],
        )
    };
    for deal in [d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11] {
        insert(&app, pipeline_id, &deal);
    }
    // Noise the report must ignore: another pipeline's deal.
    let (other, other_stages) = pipeline(&app, "Other", &[("Only", 50)]);
    insert(
        &app,
        other,
        &deal(
            a,
            999_900,
            vec![
                (other_stages[0], "open", day(1)),
                (other_stages[0], "won", day(2)),
            ],
        ),
    );
    (app, pipeline_id, admin, rep)
}

// ---------------------------------------------------------------------------------------
// The page

#[tokio::test]
async fn the_report_shows_conversion_time_in_stage_and_the_bottleneck_of_deals_created_in_the_range()
 {
    let (app, pipeline_id, admin, _) = known_data_set().await;
    app.login_as(&admin).await;
    let html = app
        .get_html(&format!("/reports/pipeline?pipeline={pipeline_id}"))
        .await;
    let rows = table_rows(&html);
    // Reached, moved on (conversion and count), lost, open now, average and median time.
    assert_eq!(
        row(&rows, "Qualified"),
        [
            "Qualified",
            "8",
            "75.0% 6",
            "1",
            "1",
            "10.2 days",
            "2.5 days"
        ]
    );
    assert_eq!(
        row(&rows, "Proposal Bottleneck"),
        [
            "Proposal Bottleneck",
            "6",
            "33.3% 2",
            "2",
            "2",
            "17.2 days",
            "4.5 days"
        ]
    );
    assert_eq!(
        row(&rows, "Negotiation"),
        [
            "Negotiation",
            "2",
            "100.0% 2",
            "0",
            "0",
            "1.0 day",
            "1.0 day"
        ]
    );
    assert_eq!(row(&rows, "Won")[1], "2");
    assert!(
        html.contains("<strong>Proposal</strong>"),
        "the bottleneck is named"
    );
    assert_eq!(
        kpi(&html, "Deals created"),
        ("8".to_owned(), "3 open · 2 won · 3 lost".to_owned())
    );
    assert_eq!(kpi(&html, "Bottleneck").0, "Proposal");
    // The funnel chart is drawn on the server, the bottleneck bar marked.
    assert!(html.contains("<svg class=\"chart funnel-chart\""));
    assert!(html.contains("funnel-row funnel-bottleneck"));
}

#[tokio::test]
async fn win_rate_deal_size_and_cycle_follow_the_deals_closed_in_the_range() {
    let (app, pipeline_id, admin, _) = known_data_set().await;
    app.login_as(&admin).await;
    let html = app
        .get_html(&format!("/reports/pipeline?pipeline={pipeline_id}"))
        .await;
    // Won d1, d4 (EUR) and d9 (USD, created long before); lost d2, d3, d7.
    assert_eq!(
        kpi(&html, "Win rate"),
        (
            "50.0%".to_owned(),
            "3 deals won of 6 closed in the range".to_owned()
        )
    );
    assert_eq!(
        kpi(&html, "Average deal size"),
        (
            "€2,000".to_owned(),
            "of 2 won deals in EUR; $500 in USD".to_owned()
        )
    );
    // (6 + 4 + 190) / 3 days.
    assert_eq!(kpi(&html, "Sales cycle").0, "66.7 days");
}

#[tokio::test]
async fn the_forecast_weights_open_deals_by_close_month_and_owner() {
    let (app, pipeline_id, admin, _) = known_data_set().await;
    app.login_as(&admin).await;
    let html = app
        .get_html(&format!("/reports/pipeline?pipeline={pipeline_id}"))
        .await;
    let rows = table_rows(&html);
    let month = this_month(app.clock.now());
    let next = month.checked_add_months(Months::new(1)).expect("a month");
    let label = |day: NaiveDate| day.format("%b %Y").to_string();
    assert_eq!(
        row(&rows, "Month"),
        ["Month", "Admin Tester", "Sales Tester", "Total"]
    );
    // d11: 80% of €100 (slipped); d6: 10% of €2,000; d5: 50% of €1,000; d8: 50% of €400.
    let with_one = |month: NaiveDate| format!("{} 1 deal", label(month));
    assert_eq!(
        row(&rows, "Overdue 1 deal"),
        ["Overdue 1 deal", "€80", "—", "€80"]
    );
    assert_eq!(
        row(&rows, &with_one(month)),
        [with_one(month).as_str(), "€200", "—", "€200"]
    );
    assert_eq!(
        row(&rows, &with_one(next)),
        [with_one(next).as_str(), "—", "€500", "€500"]
    );
    assert_eq!(
        row(&rows, "No date 1 deal"),
        ["No date 1 deal", "—", "€200", "€200"]
    );
    assert_eq!(
        row(&rows, "Total 4 deals"),
        ["Total 4 deals", "€280", "€700", "€980"]
    );
    assert!(html.contains("Unweighted, these open deals are worth €3,500."));
    assert_eq!(kpi(&html, "Weighted forecast").0, "€980");
    assert!(html.contains("<svg class=\"chart bar-chart\""));
}

#[tokio::test]
async fn the_csv_has_the_same_figures_one_per_line() {
    let (app, pipeline_id, admin, _) = known_data_set().await;
    app.login_as(&admin).await;
    let today = app.clock.now().date();
    let from = today - Duration::days(89);
    let response = app
        .get(&format!("/reports/pipeline.csv?pipeline={pipeline_id}"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/csv"))
    );
    assert_eq!(
        response
            .headers()
            .get("content-disposition")
            .and_then(|value| value.to_str().ok()),
        Some(
            format!("attachment; filename=\"pipeline-report-report-test-{from}-{today}.csv\"")
                .as_str()
        )
    );
    let records = csv_records(
        &app,
        &format!("/reports/pipeline.csv?pipeline={pipeline_id}"),
    )
    .await;
    let value = |figure, stage| csv_value(&records, [figure, stage, "", "", ""]);
    assert_eq!(value("pipeline", ""), "Report test");
    assert_eq!(value("from", ""), from.to_string());
    assert_eq!(value("to", ""), today.to_string());
    assert_eq!(value("deals created", ""), "8");
    assert_eq!(value("reached stage", "Qualified"), "8");
    assert_eq!(value("moved on from stage", "Qualified"), "6");
    assert_eq!(value("conversion to next stage (%)", "Qualified"), "75.0");
    assert_eq!(value("conversion to next stage (%)", "Proposal"), "33.3");
    assert_eq!(
        value("conversion to next stage (%)", "Negotiation"),
        "100.0"
    );
    assert_eq!(value("lost in stage", "Proposal"), "2");
    assert_eq!(value("open in stage", "Proposal"), "2");
    assert_eq!(value("average days in stage", "Qualified"), "10.2");
    assert_eq!(value("median days in stage", "Qualified"), "2.5");
    assert_eq!(value("average days in stage", "Proposal"), "17.2");
    assert_eq!(value("median days in stage", "Proposal"), "4.5");
    assert_eq!(value("bottleneck stage", "Proposal"), "yes");
    assert_eq!(value("deals won in range", ""), "3");
    assert_eq!(value("deals lost in range", ""), "3");
    assert_eq!(value("win rate (%)", ""), "50.0");
    assert_eq!(value("average sales cycle (days)", ""), "66.7");
    assert_eq!(
        csv_value(&records, ["average won deal size", "", "", "", "EUR"]),
        "2000.00"
    );
    assert_eq!(
        csv_value(&records, ["average won deal size", "", "", "", "USD"]),
        "500.00"
    );
    let next = this_month(app.clock.now())
        .checked_add_months(Months::new(1))
        .expect("a month")
        .format("%Y-%m")
        .to_string();
    assert_eq!(
        csv_value(
            &records,
            ["forecast weighted value", "", &next, "Sales Tester", "EUR"]
        ),
        "500.00"
    );
    assert_eq!(
        csv_value(
            &records,
            ["forecast value", "", &next, "Sales Tester", "EUR"]
        ),
        "1000.00"
    );
    assert_eq!(
        csv_value(
            &records,
            [
                "forecast weighted value",
                "",
                "overdue",
                "Admin Tester",
                "EUR"
            ]
        ),
        "80.00"
    );
    assert_eq!(
        csv_value(
            &records,
            ["forecast open deals", "", "no date", "Sales Tester", "EUR"]
        ),
        "1"
    );
    // The same stage lines in the page's order.
    let stages: Vec<&str> = records
        .iter()
        .filter(|record| record[0] == "reached stage")
        .map(|record| record[1].as_str())
        .collect();
    assert_eq!(stages, ["Qualified", "Proposal", "Negotiation"]);
}

#[tokio::test]
async fn a_date_range_picks_the_deals_created_and_closed_in_it() {
    let (app, pipeline_id, admin, _) = known_data_set().await;
    app.login_as(&admin).await;
    let now = app.clock.now();
    let (from, to) = (
        (now - Duration::days(205)).date(),
        (now - Duration::days(195)).date(),
    );
    let path = format!("/reports/pipeline?pipeline={pipeline_id}&from={from}&to={to}");
    let html = app.get_html(&path).await;
    // Only d9 was created then (and won later); only d10 was closed then (lost).
    assert_eq!(
        kpi(&html, "Deals created"),
        ("1".to_owned(), "0 open · 1 won · 0 lost".to_owned())
    );
    let rows = table_rows(&html);
    assert_eq!(
        row(&rows, "Qualified"),
        [
            "Qualified",
            "1",
            "100.0% 1",
            "0",
            "0",
            "190.0 days",
            "190.0 days"
        ]
    );
    assert_eq!(row(&rows, "Proposal")[5], "—", "nobody spent time there");
    assert_eq!(kpi(&html, "Win rate").0, "0.0%");
    assert_eq!(kpi(&html, "Sales cycle").0, "—");
    assert_eq!(kpi(&html, "Average deal size").0, "—");
    assert_eq!(kpi(&html, "Bottleneck").0, "—", "one deal is too few");
    // The forecast is about deals open now, whatever the range.
    assert_eq!(kpi(&html, "Weighted forecast").0, "€980");
    let records = csv_records(
        &app,
        &format!("/reports/pipeline.csv?pipeline={pipeline_id}&from={from}&to={to}"),
    )
    .await;
    assert_eq!(csv_value(&records, ["deals created", "", "", "", ""]), "1");
    assert_eq!(csv_value(&records, ["win rate (%)", "", "", "", ""]), "0.0");
    assert_eq!(
        csv_value(&records, ["average days in stage", "Proposal", "", "", ""]),
        "",
        "an average of nothing is empty"
    );
    assert_eq!(
        csv_value(&records, ["average sales cycle (days)", "", "", "", ""]),
        ""
    );
}

#[tokio::test]
async fn the_range_is_made_of_the_viewers_local_days() {
    let app = spawn_app().await;
    let admin = app.admin();
    diesel::update(users::table.find(admin.id))
        .set(users::time_zone.eq("Asia/Tokyo"))
        .execute(&mut app.conn())
        .expect("time zone set");
    app.login_as(&admin).await;
    let (pipeline_id, stages) = pipeline(&app, "Tokyo", &[("First", 20)]);
    // 20:00 UTC is 05:00 the next day in Tokyo.
    let utc_day = (app.clock.now() - Duration::days(30)).date();
    let created = utc_day.and_hms_opt(20, 0, 0).expect("a time");
    insert(
        &app,
        pipeline_id,
        &deal(Some(admin.id), 1_000, vec![(stages[0], "open", created)]),
    );
    let tokyo_day = utc_day + Duration::days(1);
    for (day, created) in [(utc_day, "0"), (tokyo_day, "1")] {
        let html = app
            .get_html(&format!(
                "/reports/pipeline?pipeline={pipeline_id}&from={day}&to={day}"
            ))
            .await;
        assert_eq!(kpi(&html, "Deals created").0, created, "on {day} in Tokyo");
    }
}

#[tokio::test]
async fn without_a_pipeline_the_report_shows_the_first_one() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let html = app.get_html("/reports/pipeline").await;
    // The default pipeline of a fresh install, with no deals yet.
    assert!(html.contains("Sales · deals created"));
    assert!(html.contains("No deals created in this range"));
    assert!(html.contains("No open deals"));
    assert_eq!(kpi(&html, "Win rate").0, "—");
    let response = app.get("/reports").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/reports/pipeline");
}

// ---------------------------------------------------------------------------------------
// Who may see it, and bad filters

#[tokio::test]
async fn support_agents_may_not_see_the_report_or_its_csv() {
    let (app, pipeline_id, _, _) = known_data_set().await;
    let support = app.create_user("support@example.com", Role::Support);
    app.login_as(&support).await;
    for path in [
        format!("/reports/pipeline?pipeline={pipeline_id}"),
        format!("/reports/pipeline.csv?pipeline={pipeline_id}"),
        "/reports".to_owned(),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        let body = response.text().await.expect("a body");
        assert!(!body.contains("€"), "no value leaks on {path}");
    }
    let profile = app.get_html("/profile").await;
    assert!(
        !profile.contains("href=\"/reports/pipeline\""),
        "no link to the report"
    );
}

#[tokio::test]
async fn sales_reps_see_the_report() {
    let (app, pipeline_id, _, rep) = known_data_set().await;
    app.login_as(&rep).await;
    let html = app
        .get_html(&format!("/reports/pipeline?pipeline={pipeline_id}"))
        .await;
    assert_eq!(kpi(&html, "Win rate").0, "50.0%");
}

#[tokio::test]
async fn an_unknown_pipeline_is_not_found() {
    let (app, _, admin, _) = known_data_set().await;
    app.login_as(&admin).await;
    for path in [
        "/reports/pipeline?pipeline=999999",
        "/reports/pipeline?pipeline=abc",
        "/reports/pipeline.csv?pipeline=999999",
    ] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn bad_dates_get_a_clear_message_and_no_figures() {
    let (app, pipeline_id, admin, _) = known_data_set().await;
    app.login_as(&admin).await;
    let response = app
        .get(&format!(
            "/reports/pipeline?pipeline={pipeline_id}&from=31/12/2026&to=2026-02-30"
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("a body");
    assert!(html.contains("Enter the start date as YYYY-MM-DD, for example 2026-09-01."));
    assert!(html.contains("Enter the end date as YYYY-MM-DD, for example 2026-09-01."));
    assert!(
        html.contains("value=\"31/12/2026\""),
        "what was typed is kept"
    );
    assert!(!html.contains("report-kpi-value"), "no figures");

    let response = app
        .get(&format!(
            "/reports/pipeline?pipeline={pipeline_id}&from=2026-12-02&to=2026-12-01"
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.expect("a body");
    assert!(html.contains("The start date must be on or before the end date."));

    let response = app
        .get(&format!(
            "/reports/pipeline.csv?pipeline={pipeline_id}&from=soon"
        ))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.expect("a body");
    assert!(html.contains("Enter the start date as YYYY-MM-DD"));
}

#[tokio::test]
async fn csv_cells_that_a_spreadsheet_would_run_are_made_text() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.login_as(&admin).await;
    let (pipeline_id, stages) = pipeline(&app, "=HYPERLINK(\"x\")", &[("@stage", 20)]);
    let now = app.clock.now();
    insert(
        &app,
        pipeline_id,
        &deal(
            Some(admin.id),
            1_000,
            vec![(stages[0], "open", now - Duration::days(1))],
        ),
    );
    let records = csv_records(
        &app,
        &format!("/reports/pipeline.csv?pipeline={pipeline_id}"),
    )
    .await;
    assert_eq!(
        csv_value(&records, ["pipeline", "", "", "", ""]),
        "'=HYPERLINK(\"x\")"
    );
    assert!(records.iter().any(|record| record[1] == "'@stage"));
}

// ---------------------------------------------------------------------------------------
// Demo data

#[tokio::test]
async fn seeded_deals_have_a_history_that_ends_in_their_status() {
    let app = spawn_app().await;
    let admin = app.admin();
    let rep = app.create_user("rep@example.com", Role::Sales);
    let now = app.clock.now();
    let seeded = seed_deals(
        &mut app.conn(),
        now,
        &[admin.id, rep.id],
        DealCounts {
            open: 60,
            closed: 240,
        },
        |_| {},
    )
    .expect("seeded");
    assert_eq!(seeded.open, 60);
    assert_eq!(seeded.won + seeded.lost, 240);
    assert!(seeded.won > 20 && seeded.lost > 100, "{seeded:?}");
    let conn = &mut app.conn();

    let stage_ids: Vec<i64> = pipeline_stages::table
        .filter(pipeline_stages::pipeline_id.eq(seeded.pipeline_id))
        .order(pipeline_stages::position)
        .select(pipeline_stages::id)
        .load(conn)
        .expect("stages");
    assert_eq!(stage_ids.len(), 8, "eight stages");

    type Row = (
        i64,
        i64,
        String,
        Option<String>,
        Option<NaiveDateTime>,
        NaiveDateTime,
        Option<i64>,
    );
    let rows: Vec<Row> = deals::table
        .filter(deals::pipeline_id.eq(seeded.pipeline_id))
        .select((
            deals::id,
            deals::stage_id,
            deals::status,
            deals::lost_reason,
            deals::closed_at,
            deals::stage_entered_at,
            deals::owner_id,
        ))
        .load(conn)
        .expect("deals");
    assert_eq!(rows.len(), 300);
    type Move = (
        i64,
        Option<i64>,
        Option<i64>,
        Option<String>,
        String,
        NaiveDateTime,
    );
    let moves: Vec<Move> = deal_stage_moves::table
        .inner_join(deals::table)
        .filter(deals::pipeline_id.eq(seeded.pipeline_id))
        .order((
            deal_stage_moves::deal_id,
            deal_stage_moves::moved_at,
            deal_stage_moves::id,
        ))
        .select((
            deal_stage_moves::deal_id,
            deal_stage_moves::from_stage_id,
            deal_stage_moves::to_stage_id,
            deal_stage_moves::from_status,
            deal_stage_moves::to_status,
            deal_stage_moves::moved_at,
        ))
        .load(conn)
        .expect("moves");
    assert_eq!(moves.len() as u64, seeded.moves);
    for (id, stage_id, status, lost_reason, closed_at, entered_at, owner) in &rows {
        assert!(
            stage_ids.contains(stage_id),
            "deal {id} in one of the stages"
        );
        assert!([Some(admin.id), Some(rep.id)].contains(owner));
        let history: Vec<_> = moves.iter().filter(|m| m.0 == *id).collect();
        let first = history.first().expect("a history");
        assert_eq!(
            (first.1, first.3.as_deref(), first.4.as_str()),
            (None, None, "open"),
            "created"
        );
        let last = history.last().expect("a history");
        assert_eq!(&last.4, status, "deal {id} ends in its status");
        assert_eq!(last.2, Some(*stage_id), "deal {id} ends in its stage");
        assert!(
            history
                .iter()
                .all(|m| m.2.is_some_and(|s| stage_ids.contains(&s)))
        );
        assert!(history.iter().all(|m| m.5 <= now), "nothing in the future");
        assert!(history.windows(2).all(|pair| pair[0].5 <= pair[1].5));
        match status.as_str() {
            "open" => {
                assert_eq!(*closed_at, None);
                assert_eq!(last.5, *entered_at, "entered its stage at its last move");
            }
            closed => {
                assert_eq!(*closed_at, Some(last.5), "closed at its last move");
                assert_eq!(last.1, last.2, "won or lost in the stage it was in");
                assert_eq!(lost_reason.is_some(), closed == "lost");
            }
        }
    }

    // The report reads the seeded pipeline over two years.
    app.login_as(&admin).await;
    let from = (now - Duration::days(800)).date();
    let html = app
        .get_html(&format!(
            "/reports/pipeline?pipeline={}&from={from}&to={}",
            seeded.pipeline_id,
            now.date()
        ))
        .await;
    assert_eq!(kpi(&html, "Deals created").0, "300");
    assert_eq!(kpi(&html, "Bottleneck").0, "Proposal sent");

    // Large ranges read the moves in two halves at once: the figures are the same.
    let range = DateRange {
        from,
        to: now.date(),
    };
    let pipeline = PipelineRow {
        id: seeded.pipeline_id,
        name: seeded.pipeline_name.clone(),
    };
    let mut lines = Vec::new();
    for parts in [1, 2] {
        let report = Report::compute_in(
            &app.pool,
            pipeline.clone(),
            range,
            chrono_tz::UTC,
            now,
            Some(parts),
        )
        .await
        .expect("computed");
        lines.push(export::lines(&report));
    }
    assert_eq!(lines[0], lines[1]);
    assert!(lines[0].len() > 60);
}

#[tokio::test]
async fn seeding_no_deals_writes_only_the_pipeline() {
    let app = spawn_app().await;
    let admin = app.admin();
    let seeded = seed_deals(
        &mut app.conn(),
        app.clock.now(),
        &[admin.id],
        DealCounts::default(),
        |_| {},
    )
    .expect("seeded");
    assert_eq!(
        (seeded.open, seeded.won, seeded.lost, seeded.moves),
        (0, 0, 0, 0)
    );
    let count: i64 = deals::table
        .count()
        .get_result(&mut app.conn())
        .expect("count");
    assert_eq!(count, 0);
}
