//! The database: connection pool, per-connection settings, embedded migrations and the one
//! helper through which async code runs blocking diesel calls.

pub mod id_list;
pub mod schema;
pub mod timestamps;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::AppError;

pub type Conn = SqliteConnection;
pub type DbPool = Pool<ConnectionManager<Conn>>;
pub type PooledConn = PooledConnection<ConnectionManager<Conn>>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Settings every SQLite connection gets before it is handed out: WAL so readers never
/// wait for the writer, a busy timeout so writers queue instead of failing, foreign keys,
/// and temporary data (the journal of a savepoint, a sort too large to fit) kept in memory
/// rather than in files written through the kernel.
///
/// Reads go through each connection's page cache, not a memory map: mapped pages count in
/// the server's resident memory (600 MB over a million contacts), and since no list probes
/// an index at random any more (the tag lists have their own index), the map made no page
/// measurably faster.
#[derive(Debug, Clone, Copy)]
struct SqlitePragmas;

impl CustomizeConnection<Conn, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut Conn) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA busy_timeout = 5000;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Opens a pool on the SQLite file at `path`, creating the file if it does not exist.
pub fn connect(path: &str, max_connections: u32) -> Result<DbPool, AppError> {
    let manager = ConnectionManager::<Conn>::new(path);
    Pool::builder()
        .max_size(max_connections)
        .connection_timeout(Duration::from_secs(10))
        .connection_customizer(Box::new(SqlitePragmas))
        .build(manager)
        .map_err(|err| AppError::internal(format!("cannot open database {path}: {err}")))
}

/// Copies what the write-ahead log holds back into the database file as far as readers
/// allow, without waiting for them or blocking writers (a passive checkpoint).
pub fn checkpoint(conn: &mut Conn) -> diesel::QueryResult<()> {
    conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);")
}

/// Applies every pending migration; returns how many ran.
pub fn migrate(conn: &mut Conn) -> Result<usize, AppError> {
    conn.run_pending_migrations(MIGRATIONS)
        .map(|applied| applied.len())
        .map_err(|err| AppError::internal(format!("migration failed: {err}")))
}

/// Runs `work` with a pooled connection on the blocking thread pool. The connection is taken
/// inside the closure, so it is never held across an `.await`, and the caller's tracing span
/// follows the work.
pub async fn run<T, F>(pool: &DbPool, work: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut Conn) -> Result<T, AppError> + Send + 'static,
{
    let pool = pool.clone();
    let span = tracing::Span::current();
    actix_web::web::block(move || {
        let _entered = span.enter();
        let mut conn = pool.get()?;
        work(&mut conn)
    })
    .await
    .map_err(|err| AppError::internal(format!("blocking task failed: {err}")))?
}

/// Runs `work` with the write-ahead log copied back into the database every 64 MB instead
/// of every 4 MB, then restores the default. A bulk write into a large database inserts at
/// random places in every index, so each of its transactions dirties thousands of pages, and
/// with the default every commit was followed by a checkpoint that wrote them all again
/// (a 100,000-row import into a million contacts: 19 s, against 16–17 s this way). A larger
/// page cache was measured too and made no difference.
pub fn with_bulk_settings<T, E, F>(conn: &mut Conn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    conn.batch_execute("PRAGMA wal_autocheckpoint = 16384;")?;
    let result = work(conn);
    let restored = conn.batch_execute(&format!(
        "PRAGMA wal_autocheckpoint = {DEFAULT_AUTOCHECKPOINT};"
    ));
    let value = result?;
    restored?;
    Ok(value)
}

/// SQLite's default: a checkpoint once the log holds 1,000 pages.
const DEFAULT_AUTOCHECKPOINT: i32 = 1000;

/// A write transaction. On SQLite it begins IMMEDIATE, so two writers queue on the busy
/// timeout instead of one failing when it upgrades a read lock.
pub fn write<T, E, F>(conn: &mut Conn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    conn.immediate_transaction(work)
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sql_types::Integer;

    use super::*;

    #[derive(QueryableByName)]
    struct Autocheckpoint {
        #[diesel(sql_type = Integer)]
        wal_autocheckpoint: i32,
    }

    fn autocheckpoint(conn: &mut Conn) -> i32 {
        diesel::sql_query("PRAGMA wal_autocheckpoint")
            .get_result::<Autocheckpoint>(conn)
            .expect("the checkpoint threshold")
            .wal_autocheckpoint
    }

    #[test]
    fn bulk_settings_are_given_back_even_when_the_work_fails() {
        let mut conn = Conn::establish(":memory:").expect("a database");
        assert_eq!(autocheckpoint(&mut conn), DEFAULT_AUTOCHECKPOINT);
        let inside = with_bulk_settings(&mut conn, |conn| {
            Ok::<_, diesel::result::Error>(autocheckpoint(conn))
        });
        assert_eq!(inside.ok(), Some(16_384));
        assert_eq!(autocheckpoint(&mut conn), DEFAULT_AUTOCHECKPOINT);

        let failed: Result<(), diesel::result::Error> = with_bulk_settings(&mut conn, |_| {
            Err(diesel::result::Error::RollbackTransaction)
        });
        assert!(failed.is_err());
        assert_eq!(autocheckpoint(&mut conn), DEFAULT_AUTOCHECKPOINT);
    }
}
