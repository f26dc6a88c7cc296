//! `/admin/pipelines…`: the pipelines, and per pipeline its ordered stages with their win
//! probability and rotting threshold. Registered inside the `/admin` scope, which already
//! requires the Administer permission.

use std::collections::HashMap;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web_flash_messages::FlashMessage;
use askama::Template;
use diesel::prelude::*;

use super::service::{self, StageForm};
use crate::db::schema::deals;
use crate::db::{self, Conn};
use crate::error::{AppError, FieldErrors, OrNotFound};
use crate::pipeline::deal::routes::{field, form_pairs};
use crate::pipeline::model::{self, Pipeline, Stage, Status};
use crate::web::AppState;
use crate::web::extract::Admin;
use crate::web::page::{Page, redirect, render_with_status};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/pipelines", web::get().to(index))
        .route("/pipelines", web::post().to(create))
        .route("/pipelines/{id}", web::get().to(show))
        .route("/pipelines/{id}", web::post().to(rename))
        .route("/pipelines/{id}/delete", web::post().to(delete))
        .route("/pipelines/{id}/stages", web::post().to(add_stage))
        .route(
            "/pipelines/{id}/stages/{stage}",
            web::post().to(update_stage),
        )
        .route(
            "/pipelines/{id}/stages/{stage}/move",
            web::post().to(reorder_stage),
        )
        .route(
            "/pipelines/{id}/stages/{stage}/delete",
            web::get().to(confirm_delete_stage),
        )
        .route(
            "/pipelines/{id}/stages/{stage}/delete",
            web::post().to(delete_stage),
        );
}

fn pipeline_path(id: i64) -> String {
    format!("/admin/pipelines/{id}")
}

// ---------------------------------------------------------------------------------------
// The pipelines

struct PipelineRow {
    pipeline: Pipeline,
    stages: usize,
    open_deals: i64,
    all_deals: i64,
}

#[derive(Template)]
#[template(path = "pipeline/admin/index.html")]
struct IndexPage {
    page: Page,
    rows: Vec<PipelineRow>,
    typed_name: String,
    errors: FieldErrors,
}

/// Deals per pipeline and status, in one query.
fn deal_counts(conn: &mut Conn) -> QueryResult<HashMap<i64, (i64, i64)>> {
    let rows: Vec<(i64, String, i64)> = deals::table
        .group_by((deals::pipeline_id, deals::status))
        .select((deals::pipeline_id, deals::status, diesel::dsl::count_star()))
        .load(conn)?;
    let mut counts: HashMap<i64, (i64, i64)> = HashMap::new();
    for (pipeline_id, status, count) in rows {
        let entry = counts.entry(pipeline_id).or_default();
        if status == Status::Open.as_str() {
            entry.0 += count;
        }
        entry.1 += count;
    }
    Ok(counts)
}

async fn index_page(
    state: &AppState,
    admin: &Admin,
    name: String,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let rows = db::run(&state.pool, |conn| {
        let counts = deal_counts(conn)?;
        let mut stage_counts: HashMap<i64, usize> = HashMap::new();
        for stage in model::all_stages(conn)? {
            *stage_counts.entry(stage.pipeline_id).or_default() += 1;
        }
        Ok(model::pipelines(conn)?
            .into_iter()
            .map(|pipeline| {
                let (open_deals, all_deals) = counts.get(&pipeline.id).copied().unwrap_or_default();
                PipelineRow {
                    stages: stage_counts.get(&pipeline.id).copied().unwrap_or_default(),
                    open_deals,
                    all_deals,
                    pipeline,
                }
            })
            .collect())
    })
    .await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_with_status(
        status,
        &IndexPage {
            page: admin.page("Pipelines"),
            rows,
            typed_name: name,
            errors,
        },
    )
}

async fn index(state: web::Data<AppState>, admin: Admin) -> Result<HttpResponse, AppError> {
    index_page(&state, &admin, String::new(), FieldErrors::new()).await
}

async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let pairs = form_pairs(&body);
    let name = field(&pairs, "name").to_owned();
    let (now, actor) = (state.now(), admin.actor());
    let typed = name.clone();
    let result = db::run(&state.pool, move |conn| {
        service::create_pipeline(conn, now, &actor, &typed)
    })
    .await;
    match result {
        Ok(id) => {
            FlashMessage::success(format!(
                "The pipeline {} has been created with the usual stages: rename, reorder or \
                 remove them below.",
                name.trim()
            ))
            .send();
            Ok(redirect(&pipeline_path(id)))
        }
        Err(AppError::Invalid(errors)) => index_page(&state, &admin, name, errors).await,
        Err(other) => Err(other),
    }
}

// ---------------------------------------------------------------------------------------
// One pipeline and its stages

struct StageRow {
    stage: Stage,
    form: StageForm,
    errors: FieldErrors,
    open_deals: i64,
    closed_deals: i64,
    first: bool,
    last: bool,
}

#[derive(Template)]
#[template(path = "pipeline/admin/pipeline.html")]
struct PipelinePage {
    page: Page,
    pipeline: Pipeline,
    typed_name: String,
    name_errors: FieldErrors,
    rows: Vec<StageRow>,
    new_stage: StageForm,
    new_errors: FieldErrors,
    open_deals: i64,
    all_deals: i64,
    single_stage: bool,
}

/// What the page shows besides the stored values: a form the admin typed, and its errors.
#[derive(Default)]
struct Typed {
    name: Option<(String, FieldErrors)>,
    stage: Option<(i64, StageForm, FieldErrors)>,
    new_stage: Option<(StageForm, FieldErrors)>,
}

/// Open and closed deals per stage of the pipeline, in one query.
fn stage_counts(conn: &mut Conn, pipeline_id: i64) -> QueryResult<HashMap<i64, (i64, i64)>> {
    let rows: Vec<(i64, String, i64)> = deals::table
        .filter(deals::pipeline_id.eq(pipeline_id))
        .group_by((deals::stage_id, deals::status))
        .select((deals::stage_id, deals::status, diesel::dsl::count_star()))
        .load(conn)?;
    let mut counts: HashMap<i64, (i64, i64)> = HashMap::new();
    for (stage_id, status, count) in rows {
        let entry = counts.entry(stage_id).or_default();
        if status == Status::Open.as_str() {
            entry.0 += count;
        } else {
            entry.1 += count;
        }
    }
    Ok(counts)
}

async fn pipeline_page(
    state: &AppState,
    admin: &Admin,
    id: i64,
    typed: Typed,
) -> Result<HttpResponse, AppError> {
    let (pipeline, stages, counts) = db::run(&state.pool, move |conn| {
        let pipeline = model::find_pipeline(conn, id)?.or_not_found()?;
        let stages = model::stages(conn, id)?;
        let counts = stage_counts(conn, id)?;
        Ok((pipeline, stages, counts))
    })
    .await?;
    let has_errors = typed.name.is_some() || typed.stage.is_some() || typed.new_stage.is_some();
    let last_index = stages.len().saturating_sub(1);
    let (typed_stage_id, mut typed_stage) = match typed.stage {
        Some((stage_id, form, errors)) => (Some(stage_id), Some((form, errors))),
        None => (None, None),
    };
    let mut open_deals = 0;
    let mut all_deals = 0;
    let single_stage = stages.len() <= 1;
    let rows = stages
        .into_iter()
        .enumerate()
        .map(|(index, stage)| {
            let (open, closed) = counts.get(&stage.id).copied().unwrap_or_default();
            open_deals += open;
            all_deals += open + closed;
            let (form, errors) = match typed_stage_id == Some(stage.id) {
                true => typed_stage.take().unwrap_or_default(),
                false => (StageForm::of(&stage), FieldErrors::new()),
            };
            StageRow {
                form,
                errors,
                open_deals: open,
                closed_deals: closed,
                first: index == 0,
                last: index == last_index,
                stage,
            }
        })
        .collect();
    let (name, name_errors) = typed
        .name
        .unwrap_or_else(|| (pipeline.name.clone(), FieldErrors::new()));
    let (new_stage, new_errors) = typed.new_stage.unwrap_or_default();
    let status = if has_errors {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_with_status(
        status,
        &PipelinePage {
            page: admin.page(&format!("{} pipeline", pipeline.name)),
            pipeline,
            typed_name: name,
            name_errors,
            rows,
            new_stage,
            new_errors,
            open_deals,
            all_deals,
            single_stage,
        },
    )
}

async fn show(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    pipeline_page(&state, &admin, id.into_inner(), Typed::default()).await
}

async fn rename(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let pairs = form_pairs(&body);
    let name = field(&pairs, "name").to_owned();
    let version: i32 = field(&pairs, "version").trim().parse().unwrap_or(0);
    let (now, actor) = (state.now(), admin.actor());
    let typed = name.clone();
    let result = db::run(&state.pool, move |conn| {
        service::rename_pipeline(conn, now, &actor, id, version, &typed)
    })
    .await;
    match result {
        Ok(()) => {
            FlashMessage::success("The pipeline has been renamed.").send();
            Ok(redirect(&pipeline_path(id)))
        }
        Err(AppError::Invalid(errors)) => {
            let typed = Typed {
                name: Some((name, errors)),
                ..Typed::default()
            };
            pipeline_page(&state, &admin, id, typed).await
        }
        Err(other) => Err(other),
    }
}

async fn delete(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let (now, actor) = (state.now(), admin.actor());
    let result = db::run(&state.pool, move |conn| {
        service::delete_pipeline(conn, now, &actor, id)
    })
    .await;
    match result {
        Ok(name) => {
            FlashMessage::success(format!("The pipeline {name} has been deleted.")).send();
            Ok(redirect("/admin/pipelines"))
        }
        Err(AppError::Invalid(errors)) => {
            if let Some(message) = errors.get(FieldErrors::FORM) {
                FlashMessage::error(message.clone()).send();
            }
            Ok(redirect(&pipeline_path(id)))
        }
        Err(other) => Err(other),
    }
}

fn stage_form(pairs: &[(String, String)]) -> StageForm {
    StageForm {
        name: field(pairs, "name").to_owned(),
        win_probability: field(pairs, "win_probability").to_owned(),
        rotting_days: field(pairs, "rotting_days").to_owned(),
    }
}

async fn add_stage(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let form = stage_form(&form_pairs(&body));
    let result = match form.validate() {
        Ok(input) => {
            let (now, actor) = (state.now(), admin.actor());
            db::run(&state.pool, move |conn| {
                service::add_stage(conn, now, &actor, id, &input)
            })
            .await
        }
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(_) => {
            FlashMessage::success(format!("The stage {} has been added.", form.name.trim())).send();
            Ok(redirect(&pipeline_path(id)))
        }
        Err(AppError::Invalid(errors)) => {
            let typed = Typed {
                new_stage: Some((form, errors)),
                ..Typed::default()
            };
            pipeline_page(&state, &admin, id, typed).await
        }
        Err(other) => Err(other),
    }
}

async fn update_stage(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(i64, i64)>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let (id, stage_id) = path.into_inner();
    let form = stage_form(&form_pairs(&body));
    let result = match form.validate() {
        Ok(input) => {
            let (now, actor) = (state.now(), admin.actor());
            db::run(&state.pool, move |conn| {
                service::update_stage(conn, now, &actor, id, stage_id, &input)
            })
            .await
        }
        Err(errors) => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(()) => {
            FlashMessage::success(format!("The stage {} has been saved.", form.name.trim())).send();
            Ok(redirect(&pipeline_path(id)))
        }
        Err(AppError::Invalid(errors)) => {
            let typed = Typed {
                stage: Some((stage_id, form, errors)),
                ..Typed::default()
            };
            pipeline_page(&state, &admin, id, typed).await
        }
        Err(other) => Err(other),
    }
}

async fn reorder_stage(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(i64, i64)>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let (id, stage_id) = path.into_inner();
    let pairs = form_pairs(&body);
    let earlier = match field(&pairs, "direction") {
        "up" => true,
        "down" => false,
        _ => {
            return Err(AppError::BadRequest(
                "Choose to move the stage up or down.".to_owned(),
            ));
        }
    };
    let (now, actor) = (state.now(), admin.actor());
    db::run(&state.pool, move |conn| {
        service::reorder_stage(conn, now, &actor, id, stage_id, earlier)
    })
    .await?;
    Ok(redirect(&format!("{}#stages", pipeline_path(id))))
}

#[derive(Template)]
#[template(path = "pipeline/admin/delete_stage.html")]
struct DeleteStagePage {
    page: Page,
    pipeline: Pipeline,
    stage: Stage,
    targets: Vec<Stage>,
    open_deals: i64,
    closed_deals: i64,
    target: String,
    errors: FieldErrors,
}

async fn delete_stage_page(
    state: &AppState,
    admin: &Admin,
    id: i64,
    stage_id: i64,
    target: String,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (pipeline, stage, targets, (open_deals, closed_deals)) =
        db::run(&state.pool, move |conn| {
            let pipeline = model::find_pipeline(conn, id)?.or_not_found()?;
            let stage = service::stage_of(conn, id, stage_id)?;
            let targets: Vec<Stage> = model::stages(conn, id)?
                .into_iter()
                .filter(|other| other.id != stage_id)
                .collect();
            let counts = service::stage_deal_counts(conn, stage_id)?;
            Ok((pipeline, stage, targets, counts))
        })
        .await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_with_status(
        status,
        &DeleteStagePage {
            page: admin.page(&format!("Delete the stage {}", stage.name)),
            pipeline,
            stage,
            targets,
            open_deals,
            closed_deals,
            target,
            errors,
        },
    )
}

async fn confirm_delete_stage(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (id, stage_id) = path.into_inner();
    delete_stage_page(
        &state,
        &admin,
        id,
        stage_id,
        String::new(),
        FieldErrors::new(),
    )
    .await
}

async fn delete_stage(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(i64, i64)>,
    body: Bytes,
) -> Result<HttpResponse, AppError> {
    let (id, stage_id) = path.into_inner();
    let pairs = form_pairs(&body);
    let raw_target = field(&pairs, "target").trim().to_owned();
    let target = if raw_target.is_empty() {
        None
    } else {
        match raw_target.parse::<i64>() {
            Ok(target) => Some(target),
            Err(_) => {
                let errors =
                    FieldErrors::single("target", "Choose another stage of this pipeline.");
                return delete_stage_page(&state, &admin, id, stage_id, raw_target, errors).await;
            }
        }
    };
    let (now, actor) = (state.now(), admin.actor());
    let result = db::run(&state.pool, move |conn| {
        service::delete_stage(conn, now, &actor, id, stage_id, target)
    })
    .await;
    match result {
        Ok(deleted) => {
            let moved = deleted.moved_open + deleted.moved_closed;
            let message = match (&deleted.target, moved) {
                (Some(target), moved) if moved > 0 => format!(
                    "The stage {} has been deleted; its {moved} {} moved to {target}.",
                    deleted.name,
                    if moved == 1 { "deal" } else { "deals" }
                ),
                _ => format!("The stage {} has been deleted.", deleted.name),
            };
            FlashMessage::success(message).send();
            Ok(redirect(&pipeline_path(id)))
        }
        Err(AppError::Invalid(errors)) => {
            delete_stage_page(&state, &admin, id, stage_id, raw_target, errors).await
        }
        Err(other) => Err(other),
    }
}
