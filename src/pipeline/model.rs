//! Pipelines and their stages as stored, a deal's status, and the small reads every
//! pipeline page needs (pipelines in order, a pipeline's stages in order).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::Conn;
use crate::db::id_list::one_of;
use crate::db::schema::{pipeline_stages, pipelines};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pipelines, check_for_backend(diesel::sqlite::Sqlite))]
pub struct Pipeline {
    pub id: i64,
    pub name: String,
    pub position: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

/// An open stage of a pipeline. Won and lost are statuses, not stages.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pipeline_stages, check_for_backend(diesel::sqlite::Sqlite))]
pub struct Stage {
    pub id: i64,
    pub pipeline_id: i64,
    pub name: String,
    pub position: i32,
    pub win_probability: i32,
    pub rotting_days: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Where a deal stands: open in a stage, or closed as won or lost (keeping the stage it was
/// closed in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Open,
    Won,
    Lost,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Open, Status::Won, Status::Lost];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Won => "won",
            Status::Lost => "lost",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "Open",
            Status::Won => "Won",
            Status::Lost => "Lost",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value.trim())
    }

    /// A stored status (the database checks the values); unknown text reads as open.
    pub fn of(value: &str) -> Self {
        Self::parse(value).unwrap_or(Status::Open)
    }
}

/// Every pipeline, in the order admins gave them.
pub fn pipelines(conn: &mut Conn) -> QueryResult<Vec<Pipeline>> {
    pipelines::table
        .order((pipelines::position.asc(), pipelines::id.asc()))
        .select(Pipeline::as_select())
        .load(conn)
}

pub fn find_pipeline(conn: &mut Conn, id: i64) -> QueryResult<Option<Pipeline>> {
    pipelines::table
        .find(id)
        .select(Pipeline::as_select())
        .first(conn)
        .optional()
}

/// The pipeline with `id`, or the first one when `id` is missing or unknown; `None` only
/// when no pipeline exists.
pub fn pipeline_or_first(conn: &mut Conn, id: Option<i64>) -> QueryResult<Option<Pipeline>> {
    if let Some(id) = id
        && let Some(pipeline) = find_pipeline(conn, id)?
    {
        return Ok(Some(pipeline));
    }
    pipelines::table
        .order((pipelines::position.asc(), pipelines::id.asc()))
        .select(Pipeline::as_select())
        .first(conn)
        .optional()
}

/// A pipeline's stages, in board order.
pub fn stages(conn: &mut Conn, pipeline_id: i64) -> QueryResult<Vec<Stage>> {
    pipeline_stages::table
        .filter(pipeline_stages::pipeline_id.eq(pipeline_id))
        .order((pipeline_stages::position.asc(), pipeline_stages::id.asc()))
        .select(Stage::as_select())
        .load(conn)
}

/// Every stage of every pipeline, by pipeline then board order (for stage pickers).
pub fn all_stages(conn: &mut Conn) -> QueryResult<Vec<Stage>> {
    pipeline_stages::table
        .order((
            pipeline_stages::pipeline_id.asc(),
            pipeline_stages::position.asc(),
            pipeline_stages::id.asc(),
        ))
        .select(Stage::as_select())
        .load(conn)
}

pub fn find_stage(conn: &mut Conn, id: i64) -> QueryResult<Option<Stage>> {
    pipeline_stages::table
        .find(id)
        .select(Stage::as_select())
        .first(conn)
        .optional()
}

/// Stage names by id, in one query (stages of deleted pipelines are simply absent).
pub fn stage_names(
    conn: &mut Conn,
    ids: &[i64],
) -> QueryResult<std::collections::HashMap<i64, String>> {
    Ok(pipeline_stages::table
        .filter(one_of(pipeline_stages::id, ids))
        .select((pipeline_stages::id, pipeline_stages::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_back_what_they_write() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("closed"), None);
        assert_eq!(Status::of("won"), Status::Won);
    }
}
