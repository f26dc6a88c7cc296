//! `GET /reports/pipeline` (the page) and `GET /reports/pipeline.csv` (the same figures as
//! CSV), both with `?pipeline=<id>&from=YYYY-MM-DD&to=YYYY-MM-DD`, for admins and sales reps
//! (what deals are worth is not for support agents). An unknown pipeline is a 404; dates
//! that cannot be read get a message next to their field (a 400 for the CSV).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::filters::DateRange;
use super::queries::{self, PipelineRow};
use super::view::{self, ReportView};
use super::{Report, export, today};
use crate::audit::{self, Action};
use crate::auth::policy::ViewDealValues;
use crate::db;
use crate::error::{AppError, FieldErrors};
use crate::web::AppState;
use crate::web::extract::Authorized;
use crate::web::page::{Page, redirect, render_with_status};

type Viewer = Authorized<ViewDealValues>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/reports", web::get().to(index))
        .route("/reports/pipeline", web::get().to(report_page))
        .route("/reports/pipeline.csv", web::get().to(report_csv));
}

/// The query string, read leniently: every field is checked by hand so that a bad value
/// gets a clear answer rather than a generic 400.
#[derive(Debug, Default, Deserialize)]
pub struct ReportQuery {
    pipeline: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl ReportQuery {
    /// The pipeline asked for (`None`: the first one); anything but a number is unknown.
    fn pipeline_id(&self) -> Result<Option<i64>, AppError> {
        match self.pipeline.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| AppError::NotFound),
        }
    }

    fn range(&self, today: chrono::NaiveDate) -> Result<DateRange, FieldErrors> {
        DateRange::parse(self.from.as_deref(), self.to.as_deref(), today)
    }
}

#[derive(Debug, Clone)]
pub struct PipelineChoice {
    pub id: i64,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "reports/pipeline/report.html")]
struct ReportPage {
    page: Page,
    pipelines: Vec<PipelineChoice>,
    from: String,
    to: String,
    errors: FieldErrors,
    pipeline_name: String,
    range_text: String,
    range_days: i64,
    csv_link: String,
    report: Option<ReportView>,
}

async fn index(_viewer: Viewer) -> HttpResponse {
    redirect("/reports/pipeline")
}

/// The pipeline to report on: the one asked for (404 if unknown), else the first.
fn choose(pipelines: &[PipelineRow], wanted: Option<i64>) -> Result<Option<PipelineRow>, AppError> {
    match wanted {
        Some(id) => pipelines
            .iter()
            .find(|pipeline| pipeline.id == id)
            .cloned()
            .map(Some)
            .ok_or(AppError::NotFound),
        None => Ok(pipelines.first().cloned()),
    }
}

fn range_text(range: &DateRange) -> String {
    format!(
        "{} – {}",
        range.from.format("%-d %b %Y"),
        range.to.format("%-d %b %Y")
    )
}

async fn report_page(
    viewer: Viewer,
    state: web::Data<AppState>,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let tz = viewer.user.tz();
    let now = state.now();
    let wanted = query.pipeline_id()?;
    let range = query.range(today(now, tz));
    let (pipelines, chosen) = db::run(&state.pool, move |conn| {
        let pipelines = queries::pipelines(conn)?;
        let chosen = choose(&pipelines, wanted)?;
        Ok((pipelines, chosen))
    })
    .await?;
    let report = match (&chosen, &range) {
        (Some(pipeline), Ok(range)) => {
            Some(Report::compute(&state.pool, pipeline.clone(), *range, tz, now).await?)
        }
        _ => None,
    };

    let (from, to, errors, status) = match &range {
        Ok(range) => (
            range.from.to_string(),
            range.to.to_string(),
            FieldErrors::new(),
            StatusCode::OK,
        ),
        Err(errors) => (
            query.from.clone().unwrap_or_default(),
            query.to.clone().unwrap_or_default(),
            errors.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let chosen_id = chosen.as_ref().map(|pipeline| pipeline.id);
    let page = ReportPage {
        page: viewer.page("Pipeline report"),
        pipelines: pipelines
            .iter()
            .map(|pipeline| PipelineChoice {
                id: pipeline.id,
                name: pipeline.name.clone(),
                selected: Some(pipeline.id) == chosen_id,
            })
            .collect(),
        csv_link: match (chosen_id, &range) {
            (Some(id), Ok(range)) => format!(
                "/reports/pipeline.csv?pipeline={id}&from={}&to={}",
                range.from, range.to
            ),
            _ => String::new(),
        },
        pipeline_name: chosen.map(|pipeline| pipeline.name).unwrap_or_default(),
        range_text: range.as_ref().map(range_text).unwrap_or_default(),
        range_days: range.as_ref().map(DateRange::days).unwrap_or_default(),
        from,
        to,
        errors,
        report: report.as_ref().map(view::build),
    };
    render_with_status(status, &page)
}

async fn report_csv(
    viewer: Viewer,
    state: web::Data<AppState>,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let tz = viewer.user.tz();
    let now = state.now();
    let wanted = query.pipeline_id()?;
    let range = query.range(today(now, tz)).map_err(|errors| {
        let message = ["from", "to"]
            .iter()
            .filter_map(|field| errors.get(field).cloned())
            .collect::<Vec<_>>()
            .join(" ");
        AppError::BadRequest(message)
    })?;
    let pipeline = db::run(&state.pool, move |conn| {
        choose(&queries::pipelines(conn)?, wanted)?.ok_or(AppError::NotFound)
    })
    .await?;
    let report = Report::compute(&state.pool, pipeline, range, tz, now).await?;
    let body =
        export::write(&report).map_err(|err| AppError::internal(format!("writing CSV: {err}")))?;
    let name = export::file_name(&report);
    let actor = viewer.actor();
    let details = format!(
        "exported the report of pipeline {} ({}) for {} to {} as CSV",
        report.pipeline.id, report.pipeline.name, range.from, range.to
    );
    db::run(&state.pool, move |conn| {
        audit::record(
            conn,
            now,
            &actor,
            Action::RecordsExported,
            Some("pipeline report"),
            Some(&details),
        )?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body))
}
