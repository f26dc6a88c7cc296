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

/// A write transaction. On SQLite it begins IMMEDIATE, so two writers queue on the busy
/// timeout instead of one failing when it upgrades a read lock.
pub fn write<T, E, F>(conn: &mut Conn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    conn.immediate_transaction(work)
}
