//! bugyo's durable store: incidents with every version they went through,
//! member organisations with their ASNs, prefixes and contacts, users, API
//! tokens, the notification log and the audit log.
//!
//! One schema and one set of migrations serve both backends: an SQLite file
//! under the data directory (the default, nothing to install) and
//! PostgreSQL for a hub shared by several servers (`postgres://...`). The
//! SQL sticks to what both accept; ids come from the `sequences` table.
//!
//! - [`incidents`]: recording incident versions, listing, history;
//! - [`audience`]: each party's view of an incident, with its TLP label;
//! - [`orgs`]: member organisations and their contacts;
//! - [`notifications`]: the notices owed to contacts and their fate;
//! - [`reports`]: outage reports to the regulator, every version kept;
//! - [`advisories`]: what the regulator or the hub shares back to members;
//! - [`quarterly`]: which quarterly reports were filed, which are owed;
//! - [`tokens`]: roles and API tokens (only a hash is kept);
//! - [`audit`]: the audit log.

pub mod advisories;
pub mod audience;
pub mod audit;
pub mod incidents;
pub mod notifications;
pub mod orgs;
pub mod passwords;
pub mod picture;
pub mod quarterly;
pub mod reminders;
pub mod report_mail;
pub mod reports;
mod sql;
pub mod statistics;
pub mod tokens;
pub mod users;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, Row, SqlSafeStr};
use std::path::Path;

pub use audit::AuditEntry;
pub use incidents::{Concern, IncidentFilter, IncidentVersion, Recorded, StoredIncident};
pub use orgs::{Contact, ContactKind, NewOrg, Org, OrgKind};
pub use tokens::{Role, Token};
pub use users::{NewUser, User};

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed (connection lost, disk full,
    /// constraint violated); nothing of the operation was kept.
    #[error("database / データベース: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("schema migration / スキーマ移行: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A value given to the store is not acceptable; names the field (the
    /// message is in English and Japanese).
    #[error("{field}: {message}")]
    Invalid {
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A stored value could not be read back (a corrupted or foreign row).
    #[error("stored {what} is unreadable: {message} / 保存された {what} を読めません: {message}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// Why it failed.
        message: String,
    },
}

impl StoreError {
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> StoreError {
        StoreError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// True if the error is a uniqueness violation (e.g. an organisation
    /// handle already taken).
    pub fn is_conflict(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }
}

/// Result of a store operation.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Which database holds the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (the embedded default).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The schema's migrations, in order. Never edit one that has shipped: add
/// the next.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (
        2,
        "detector state",
        include_str!("../migrations/0002_detector_state.sql"),
    ),
    (
        3,
        "org kind",
        include_str!("../migrations/0003_org_kind.sql"),
    ),
    (4, "users", include_str!("../migrations/0004_users.sql")),
    (5, "reports", include_str!("../migrations/0005_reports.sql")),
    (
        6,
        "report reminders",
        include_str!("../migrations/0006_report_reminders.sql"),
    ),
    (
        7,
        "audit lookup",
        include_str!("../migrations/0007_audit_lookup.sql"),
    ),
    (
        8,
        "advisories",
        include_str!("../migrations/0008_advisories.sql"),
    ),
    (
        9,
        "quarterly reports",
        include_str!("../migrations/0009_quarterly_reports.sql"),
    ),
    (
        10,
        "report mail",
        include_str!("../migrations/0010_report_mail.sql"),
    ),
    (
        11,
        "portal sessions",
        include_str!("../migrations/0011_portal_sessions.sql"),
    ),
    (
        12,
        "quarterly withdrawals",
        include_str!("../migrations/0012_quarterly_withdrawals.sql"),
    ),
    (
        13,
        "user passwords",
        include_str!("../migrations/0013_user_passwords.sql"),
    ),
];

fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// The store: a connection pool to one database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// The SQLite file the store keeps under a data directory.
pub const SQLITE_FILE: &str = "bugyo.db";

/// The URL of the SQLite store under a data directory.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join(SQLITE_FILE).display())
}

impl Store {
    /// Opens the store at `url` (`sqlite://PATH` or `postgres://...`) and
    /// brings its schema up to date. An SQLite file is created if missing.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::invalid(
                "database",
                format!(
                    "{url:?} is neither sqlite://PATH nor postgres://... / sqlite://PATH でも postgres://... でもありません"
                ),
            ));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let options = AnyPoolOptions::new()
            .acquire_timeout(std::time::Duration::from_secs(5))
            .max_connections(match backend {
                // SQLite takes one writer at a time; readers share the file
                // through WAL.
                Backend::Sqlite => 4,
                Backend::Postgres => 8,
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
                            .await?;
                    }
                    Ok(())
                })
            });
        let pool = options.connect(&url).await?;
        if backend == Backend::Sqlite {
            pool.execute("PRAGMA journal_mode = WAL;").await?;
        }
        migrator().run(&pool).await?;
        Ok(Store { pool, backend })
    }

    /// Opens (creating if needed) the SQLite store under `dir`.
    pub async fn open_data_dir(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::invalid("data-dir", format!("{}: {e}", dir.display())))?;
        Store::open(&sqlite_url(dir)).await
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (waits for those in use).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction. SQLite's takes the write lock at once, so
    /// two writers queue instead of failing when the reader turns writer.
    pub(crate) async fn write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// The next id of `table`'s sequence, within the caller's transaction.
pub(crate) async fn next_id(tx: &mut sqlx::AnyConnection, table: &'static str) -> Result<i64> {
    let row =
        sqlx::query("UPDATE sequences SET next_id = next_id + 1 WHERE name = $1 RETURNING next_id")
            .bind(table)
            .fetch_one(&mut *tx)
            .await?;
    Ok(row.try_get::<i64, _>(0)?)
}

/// The current wall time in Unix microseconds.
pub(crate) fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Reads a column, naming it in the error.
pub(crate) fn col<'r, T>(row: &'r AnyRow, name: &'static str) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(name).map_err(|e| StoreError::Corrupt {
        what: name,
        message: e.to_string(),
    })
}
