//! Pipeline and stage administration: create, rename and delete pipelines; add, change,
//! reorder and delete stages (moving their deals to a stage the admin chose). Each change
//! is one transaction with its audit entry.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Timestamp};

use crate::audit::{self, Action, Actor};
use crate::db::schema::{deals, pipeline_stages, pipelines};
use crate::db::{self, Conn};
use crate::error::{AppError, FieldErrors, OrNotFound};
use crate::pipeline::model::{self, Stage, Status};

pub const MAX_NAME: usize = 100;
pub const MAX_ROTTING_DAYS: i32 = 3650;

/// The stages a new pipeline starts with (name, win probability, rotting days), as on a
/// fresh install; admins rename or remove them.
pub const DEFAULT_STAGES: [(&str, i32, Option<i32>); 5] = [
    ("Qualified", 10, Some(14)),
    ("Contact made", 20, Some(14)),
    ("Demo scheduled", 40, Some(14)),
    ("Proposal made", 60, Some(21)),
    ("Negotiation", 80, Some(30)),
];

pub const RENAME_CONFLICT: &str = "Someone else changed this pipeline while you were \
    editing. Nothing was saved: check its name below and try again.";

fn pipeline_target(id: i64) -> String {
    format!("pipeline {id}")
}

fn stage_target(id: i64) -> String {
    format!("stage {id}")
}

pub fn parse_name(raw: &str, what: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(format!("Give the {what} a name."));
    }
    if name.chars().count() > MAX_NAME {
        return Err(format!(
            "The name is too long (at most {MAX_NAME} characters)."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("The name cannot contain control characters.".to_owned());
    }
    Ok(name.to_owned())
}

/// A stage form as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageForm {
    pub name: String,
    pub win_probability: String,
    pub rotting_days: String,
}

impl StageForm {
    pub fn of(stage: &Stage) -> Self {
        Self {
            name: stage.name.clone(),
            win_probability: stage.win_probability.to_string(),
            rotting_days: stage
                .rotting_days
                .map(|days| days.to_string())
                .unwrap_or_default(),
        }
    }

    pub fn validate(&self) -> Result<StageInput, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.take("name", parse_name(&self.name, "stage"));
        let win_probability =
            errors.take("win_probability", parse_probability(&self.win_probability));
        let rotting_days = errors.take("rotting_days", parse_rotting_days(&self.rotting_days));
        match (name, win_probability, rotting_days) {
            (Some(name), Some(win_probability), Some(rotting_days)) if errors.is_empty() => {
                Ok(StageInput {
                    name,
                    win_probability,
                    rotting_days,
                })
            }
            _ => Err(errors),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageInput {
    pub name: String,
    pub win_probability: i32,
    pub rotting_days: Option<i32>,
}

fn parse_probability(raw: &str) -> Result<i32, String> {
    let text = raw.trim().trim_end_matches('%').trim();
    match text.parse::<i32>() {
        Ok(value) if (0..=100).contains(&value) => Ok(value),
        _ => Err("Enter a whole percentage from 0 to 100.".to_owned()),
    }
}

fn parse_rotting_days(raw: &str) -> Result<Option<i32>, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<i32>() {
        Ok(days) if (1..=MAX_ROTTING_DAYS).contains(&days) => Ok(Some(days)),
        _ => Err(format!(
            "Enter a number of days from 1 to {MAX_ROTTING_DAYS}, or leave empty for never."
        )),
    }
}

fn name_taken(conn: &mut Conn, name: &str, except: Option<i64>) -> QueryResult<bool> {
    let lowered = name.to_lowercase();
    Ok(model::pipelines(conn)?
        .iter()
        .any(|pipeline| pipeline.name.to_lowercase() == lowered && Some(pipeline.id) != except))
}

fn stage_name_taken(
    conn: &mut Conn,
    pipeline_id: i64,
    name: &str,
    except: Option<i64>,
) -> QueryResult<bool> {
    let lowered = name.to_lowercase();
    Ok(model::stages(conn, pipeline_id)?
        .iter()
        .any(|stage| stage.name.to_lowercase() == lowered && Some(stage.id) != except))
}

fn insert_stage(
    conn: &mut Conn,
    now: NaiveDateTime,
    pipeline_id: i64,
    position: i32,
    input: &StageInput,
) -> QueryResult<i64> {
    diesel::insert_into(pipeline_stages::table)
        .values((
            pipeline_stages::pipeline_id.eq(pipeline_id),
            pipeline_stages::name.eq(&input.name),
            pipeline_stages::position.eq(position),
            pipeline_stages::win_probability.eq(input.win_probability),
            pipeline_stages::rotting_days.eq(input.rotting_days),
            pipeline_stages::created_at.eq(now),
            pipeline_stages::updated_at.eq(now),
        ))
        .returning(pipeline_stages::id)
        .get_result(conn)
}

/// A new pipeline, last in order, with the default stages.
pub fn create_pipeline(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    raw_name: &str,
) -> Result<i64, AppError> {
    let name = parse_name(raw_name, "pipeline").map_err(|m| AppError::invalid("name", m))?;
    db::write(conn, |conn| {
        if name_taken(conn, &name, None)? {
            return Err(AppError::invalid(
                "name",
                "There is already a pipeline with this name.",
            ));
        }
        let position: Option<i32> = pipelines::table
            .select(diesel::dsl::max(pipelines::position))
            .first(conn)?;
        let id: i64 = diesel::insert_into(pipelines::table)
            .values((
                pipelines::name.eq(&name),
                pipelines::position.eq(position.map_or(0, |p| p + 1)),
                pipelines::created_at.eq(now),
                pipelines::updated_at.eq(now),
                pipelines::version.eq(1),
            ))
            .returning(pipelines::id)
            .get_result(conn)?;
        for (position, (stage, probability, rotting)) in DEFAULT_STAGES.iter().enumerate() {
            let input = StageInput {
                name: (*stage).to_owned(),
                win_probability: *probability,
                rotting_days: *rotting,
            };
            insert_stage(conn, now, id, position as i32, &input)?;
        }
        audit::record(
            conn,
            now,
            actor,
            Action::PipelineCreated,
            Some(&pipeline_target(id)),
            Some(&format!("name: {name}")),
        )?;
        Ok(id)
    })
}

pub fn rename_pipeline(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    id: i64,
    version: i32,
    raw_name: &str,
) -> Result<(), AppError> {
    let name = parse_name(raw_name, "pipeline").map_err(|m| AppError::invalid("name", m))?;
    db::write(conn, |conn| {
        let pipeline = model::find_pipeline(conn, id)?.or_not_found()?;
        if pipeline.version != version {
            return Err(AppError::Conflict(RENAME_CONFLICT.to_owned()));
        }
        if pipeline.name == name {
            return Ok(());
        }
        if name_taken(conn, &name, Some(id))? {
            return Err(AppError::invalid(
                "name",
                "There is already a pipeline with this name.",
            ));
        }
        let updated = diesel::update(
            pipelines::table.filter(pipelines::id.eq(id).and(pipelines::version.eq(version))),
        )
        .set((
            pipelines::name.eq(&name),
            pipelines::updated_at.eq(now),
            pipelines::version.eq(version + 1),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(AppError::Conflict(RENAME_CONFLICT.to_owned()));
        }
        audit::record(
            conn,
            now,
            actor,
            Action::PipelineRenamed,
            Some(&pipeline_target(id)),
            Some(&format!("name: {} → {name}", pipeline.name)),
        )?;
        Ok(())
    })
}

fn deal_count(conn: &mut Conn, pipeline_id: i64) -> QueryResult<i64> {
    deals::table
        .filter(deals::pipeline_id.eq(pipeline_id))
        .count()
        .get_result(conn)
}

/// Deletes a pipeline that holds no deals (open or closed) and is not the last one.
pub fn delete_pipeline(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    id: i64,
) -> Result<String, AppError> {
    db::write(conn, |conn| {
        let pipeline = model::find_pipeline(conn, id)?.or_not_found()?;
        let deals = deal_count(conn, id)?;
        if deals > 0 {
            return Err(AppError::invalid(
                FieldErrors::FORM,
                format!(
                    "{} still holds {deals} {} (open or closed). Move or delete {} first.",
                    pipeline.name,
                    if deals == 1 { "deal" } else { "deals" },
                    if deals == 1 { "it" } else { "them" }
                ),
            ));
        }
        if model::pipelines(conn)?.len() <= 1 {
            return Err(AppError::invalid(
                FieldErrors::FORM,
                "This is the only pipeline: deals need one. Create another before deleting it.",
            ));
        }
        diesel::delete(pipelines::table.find(id)).execute(conn)?;
        audit::record(
            conn,
            now,
            actor,
            Action::PipelineDeleted,
            Some(&pipeline_target(id)),
            Some(&format!("name: {}", pipeline.name)),
        )?;
        Ok(pipeline.name)
    })
}

/// Adds a stage at the end of the pipeline (before the won and lost outcomes).
pub fn add_stage(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    pipeline_id: i64,
    input: &StageInput,
) -> Result<i64, AppError> {
    db::write(conn, |conn| {
        model::find_pipeline(conn, pipeline_id)?.or_not_found()?;
        if stage_name_taken(conn, pipeline_id, &input.name, None)? {
            return Err(AppError::invalid(
                "name",
                "This pipeline already has a stage with this name.",
            ));
        }
        let position = model::stages(conn, pipeline_id)?
            .last()
            .map_or(0, |stage| stage.position + 1);
        let id = insert_stage(conn, now, pipeline_id, position, input)?;
        audit::record(
            conn,
            now,
            actor,
            Action::StageAdded,
            Some(&stage_target(id)),
            Some(&describe(input)),
        )?;
        Ok(id)
    })
}

fn describe(input: &StageInput) -> String {
    format!(
        "name: {}; win probability: {}%; rotting days: {}",
        input.name,
        input.win_probability,
        input
            .rotting_days
            .map_or_else(|| "never".to_owned(), |days| days.to_string())
    )
}

/// The stage with `stage_id` in pipeline `pipeline_id`, or 404.
pub fn stage_of(conn: &mut Conn, pipeline_id: i64, stage_id: i64) -> Result<Stage, AppError> {
    model::find_stage(conn, stage_id)?
        .filter(|stage| stage.pipeline_id == pipeline_id)
        .or_not_found()
}

pub fn update_stage(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    pipeline_id: i64,
    stage_id: i64,
    input: &StageInput,
) -> Result<(), AppError> {
    db::write(conn, |conn| {
        let stage = stage_of(conn, pipeline_id, stage_id)?;
        if stage_name_taken(conn, pipeline_id, &input.name, Some(stage_id))? {
            return Err(AppError::invalid(
                "name",
                "This pipeline already has a stage with this name.",
            ));
        }
        let before = StageInput {
            name: stage.name.clone(),
            win_probability: stage.win_probability,
            rotting_days: stage.rotting_days,
        };
        if before == *input {
            return Ok(());
        }
        diesel::update(pipeline_stages::table.find(stage_id))
            .set((
                pipeline_stages::name.eq(&input.name),
                pipeline_stages::win_probability.eq(input.win_probability),
                pipeline_stages::rotting_days.eq(input.rotting_days),
                pipeline_stages::updated_at.eq(now),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            now,
            actor,
            Action::StageChanged,
            Some(&stage_target(stage_id)),
            Some(&format!("{} → {}", describe(&before), describe(input))),
        )?;
        Ok(())
    })
}

/// Writes positions 0, 1, 2… in the given order.
fn renumber(conn: &mut Conn, now: NaiveDateTime, order: &[Stage]) -> QueryResult<()> {
    for (position, stage) in order.iter().enumerate() {
        if stage.position != position as i32 {
            diesel::update(pipeline_stages::table.find(stage.id))
                .set((
                    pipeline_stages::position.eq(position as i32),
                    pipeline_stages::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Moves a stage one place left (`earlier`) or right on the board.
pub fn reorder_stage(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    pipeline_id: i64,
    stage_id: i64,
    earlier: bool,
) -> Result<(), AppError> {
    db::write(conn, |conn| {
        stage_of(conn, pipeline_id, stage_id)?;
        let mut order = model::stages(conn, pipeline_id)?;
        let Some(index) = order.iter().position(|stage| stage.id == stage_id) else {
            return Err(AppError::NotFound);
        };
        let other = if earlier {
            index.checked_sub(1)
        } else {
            Some(index + 1).filter(|other| *other < order.len())
        };
        let Some(other) = other else {
            return Ok(());
        };
        order.swap(index, other);
        renumber(conn, now, &order)?;
        let names: Vec<&str> = order.iter().map(|stage| stage.name.as_str()).collect();
        audit::record(
            conn,
            now,
            actor,
            Action::StageReordered,
            Some(&pipeline_target(pipeline_id)),
            Some(&format!("order: {}", names.join(", "))),
        )?;
        Ok(())
    })
}

/// How many deals a stage holds: (open, won or lost).
pub fn stage_deal_counts(conn: &mut Conn, stage_id: i64) -> QueryResult<(i64, i64)> {
    let rows: Vec<(String, i64)> = deals::table
        .filter(deals::stage_id.eq(stage_id))
        .group_by(deals::status)
        .select((deals::status, diesel::dsl::count_star()))
        .load(conn)?;
    let open = rows
        .iter()
        .filter(|(status, _)| status == Status::Open.as_str())
        .map(|(_, count)| *count)
        .sum();
    let closed = rows
        .iter()
        .filter(|(status, _)| status != Status::Open.as_str())
        .map(|(_, count)| *count)
        .sum();
    Ok((open, closed))
}

/// What deleting a stage did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageDeleted {
    pub name: String,
    pub moved_open: i64,
    pub moved_closed: i64,
    pub target: Option<String>,
}

/// Deletes a stage after moving its deals to `target` (another stage of the same pipeline;
/// required when the stage holds deals). Open deals enter the target stage now, with a
/// journey row each; won and lost deals keep their status and are counted in the target
/// stage from then on. The last stage of a pipeline cannot be deleted.
pub fn delete_stage(
    conn: &mut Conn,
    now: NaiveDateTime,
    actor: &Actor,
    pipeline_id: i64,
    stage_id: i64,
    target: Option<i64>,
) -> Result<StageDeleted, AppError> {
    db::write(conn, |conn| {
        let stage = stage_of(conn, pipeline_id, stage_id)?;
        let stages = model::stages(conn, pipeline_id)?;
        if stages.len() <= 1 {
            return Err(AppError::invalid(
                FieldErrors::FORM,
                "A pipeline needs at least one stage: add another before deleting this one.",
            ));
        }
        let (open, closed) = stage_deal_counts(conn, stage_id)?;
        let target = match target {
            Some(target_id) => Some(
                stages
                    .iter()
                    .find(|other| other.id == target_id && other.id != stage_id)
                    .cloned()
                    .ok_or_else(|| {
                        AppError::invalid("target", "Choose another stage of this pipeline.")
                    })?,
            ),
            None if open + closed > 0 => {
                return Err(AppError::invalid(
                    "target",
                    "Choose the stage this stage's deals move to.",
                ));
            }
            None => None,
        };
        if let Some(target) = &target {
            diesel::sql_query(
                "INSERT INTO deal_stage_moves (deal_id, from_stage_id, to_stage_id, from_status,
                                               to_status, moved_by, moved_at)
                 SELECT id, ?, ?, 'open', 'open', ?, ? FROM deals
                 WHERE stage_id = ? AND status = 'open'",
            )
            .bind::<BigInt, _>(stage_id)
            .bind::<BigInt, _>(target.id)
            .bind::<Nullable<BigInt>, _>(actor.user_id)
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(stage_id)
            .execute(conn)?;
            diesel::update(
                deals::table.filter(
                    deals::stage_id
                        .eq(stage_id)
                        .and(deals::status.eq(Status::Open.as_str())),
                ),
            )
            .set((
                deals::stage_id.eq(target.id),
                deals::stage_entered_at.eq(now),
                deals::updated_at.eq(now),
                deals::version.eq(deals::version + 1),
            ))
            .execute(conn)?;
            diesel::update(deals::table.filter(deals::stage_id.eq(stage_id)))
                .set((
                    deals::stage_id.eq(target.id),
                    deals::updated_at.eq(now),
                    deals::version.eq(deals::version + 1),
                ))
                .execute(conn)?;
        }
        diesel::delete(pipeline_stages::table.find(stage_id)).execute(conn)?;
        let remaining: Vec<Stage> = stages
            .into_iter()
            .filter(|other| other.id != stage_id)
            .collect();
        renumber(conn, now, &remaining)?;
        let target_name = target.map(|target| target.name);
        audit::record(
            conn,
            now,
            actor,
            Action::StageDeleted,
            Some(&stage_target(stage_id)),
            Some(&format!(
                "name: {}; {open} open and {closed} closed deals moved to {}",
                stage.name,
                target_name.as_deref().unwrap_or("(none)")
            )),
        )?;
        Ok(StageDeleted {
            name: stage.name,
            moved_open: open,
            moved_closed: closed,
            target: target_name,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_forms_are_checked_field_by_field() {
        let form = StageForm {
            name: " ".to_owned(),
            win_probability: "101".to_owned(),
            rotting_days: "0".to_owned(),
        };
        let errors = form.validate().expect_err("invalid");
        assert!(errors.get("name").is_some());
        assert!(errors.get("win_probability").is_some());
        assert!(errors.get("rotting_days").is_some());

        let form = StageForm {
            name: " Demo ".to_owned(),
            win_probability: "40 %".to_owned(),
            rotting_days: String::new(),
        };
        assert_eq!(
            form.validate(),
            Ok(StageInput {
                name: "Demo".to_owned(),
                win_probability: 40,
                rotting_days: None
            })
        );
    }
}
