//! Settings that admins change at run time, and values the app keeps for itself (the
//! generated secret key), in one small name → value table.

use diesel::prelude::*;

use crate::db::Conn;
use crate::db::schema::app_settings;

pub const REQUIRE_SECOND_FACTOR: &str = "require_second_factor";
pub const SECRET_KEY: &str = "secret_key";
/// Written once, in the same transaction as the first admin; its primary key makes the
/// first-admin page safe against two people racing for it on any backend.
pub const FIRST_ADMIN_CREATED: &str = "first_admin_created";

pub fn get(conn: &mut Conn, name: &str) -> QueryResult<Option<String>> {
    app_settings::table
        .find(name)
        .select(app_settings::value)
        .first(conn)
        .optional()
}

pub fn set(conn: &mut Conn, name: &str, value: &str) -> QueryResult<()> {
    diesel::insert_into(app_settings::table)
        .values((app_settings::name.eq(name), app_settings::value.eq(value)))
        .on_conflict(app_settings::name)
        .do_update()
        .set(app_settings::value.eq(value))
        .execute(conn)
        .map(|_| ())
}

/// Inserts unless the name exists; `false` if it did.
pub fn insert_if_absent(conn: &mut Conn, name: &str, value: &str) -> QueryResult<bool> {
    diesel::insert_into(app_settings::table)
        .values((app_settings::name.eq(name), app_settings::value.eq(value)))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|inserted| inserted == 1)
}

pub fn require_second_factor(conn: &mut Conn) -> QueryResult<bool> {
    Ok(get(conn, REQUIRE_SECOND_FACTOR)?.as_deref() == Some("true"))
}

/// The key that signs cookies: the configured one, else one generated on first run and kept
/// in the database so that restarts keep everybody's flash cookies valid.
pub fn secret_key(conn: &mut Conn, configured: Option<&str>) -> QueryResult<String> {
    if let Some(key) = configured {
        return Ok(key.to_owned());
    }
    insert_if_absent(conn, SECRET_KEY, &crate::auth::tokens::random_token())?;
    Ok(get(conn, SECRET_KEY)?.unwrap_or_default())
}
