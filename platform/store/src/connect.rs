//! Opening the database and applying migrations.

use std::path::Path;
use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DbBackend};
use sea_orm_migration::MigratorTrait;

use crate::migration::Migrator;
use crate::{Backend, Store, StoreError};

/// How long an SQLite writer waits for another writer's lock before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections per pool. SQLite in WAL mode reads in parallel but still
/// writes one transaction at a time.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
const POSTGRES_MAX_CONNECTIONS: u32 = 16;

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://...`) and runs migrations.
    ///
    /// For an SQLite file the parent folder is created, and every connection
    /// uses WAL journal mode, foreign keys and a busy timeout.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let backend = backend_of(url)?;
        let mut options = ConnectOptions::new(url);
        options.sqlx_logging(false);

        match backend {
            Backend::Sqlite => configure_sqlite(url, &mut options)?,
            Backend::Postgres => {
                options.max_connections(POSTGRES_MAX_CONNECTIONS);
            }
        }

        let db = Database::connect(options).await.map_err(|error| StoreError::Connect {
            url: redact_password(url),
            message: error.to_string(),
        })?;

        Migrator::up(&db, None)
            .await
            .map_err(|error| StoreError::Migrate(error.to_string()))?;

        tracing::info!(database = %redact_password(url), "database connected and migrated");
        Ok(Store { db })
    }

    /// Returns the engine behind this store.
    pub fn backend(&self) -> Backend {
        match self.db.get_database_backend() {
            DbBackend::Postgres => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

fn backend_of(url: &str) -> Result<Backend, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::Connect {
            url: redact_password(url),
            message: "unsupported database URL; use sqlite://PATH?mode=rwc or postgres://USER@HOST:PORT/DATABASE".into(),
        })
    }
}

fn configure_sqlite(url: &str, options: &mut ConnectOptions) -> Result<(), StoreError> {
    let Some(path) = sqlite_file_path(url) else {
        // An in-memory database exists once per connection, so the pool keeps one.
        options.max_connections(1);
        options.map_sqlx_sqlite_opts(|sqlite| sqlite.foreign_keys(true));
        return Ok(());
    };

    create_parent_folder(url, path)?;

    options.max_connections(SQLITE_MAX_CONNECTIONS);
    options.map_sqlx_sqlite_opts(|sqlite| {
        sqlite
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
    });
    Ok(())
}

/// Returns the file path of an SQLite URL, or `None` for an in-memory database.
fn sqlite_file_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();

    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        None
    } else {
        Some(path)
    }
}

fn create_parent_folder(url: &str, path: &str) -> Result<(), StoreError> {
    let Some(folder) = Path::new(path).parent() else {
        return Ok(());
    };
    if folder.as_os_str().is_empty() {
        return Ok(());
    }

    std::fs::create_dir_all(folder).map_err(|error| StoreError::Connect {
        url: url.to_string(),
        message: format!("cannot create folder {}: {error}", folder.display()),
    })
}

/// Replaces the password of a URL with `***`, for logs and error messages.
pub(crate) fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_file_path_of_urls() {
        assert_eq!(sqlite_file_path("sqlite://./data/civic311.db?mode=rwc"), Some("./data/civic311.db"));
        assert_eq!(sqlite_file_path("sqlite:///tmp/x/civic311.db"), Some("/tmp/x/civic311.db"));
        assert_eq!(sqlite_file_path("sqlite::memory:"), None);
        assert_eq!(sqlite_file_path("sqlite://:memory:"), None);
    }

    #[test]
    fn redact_password_hides_only_password() {
        assert_eq!(
            redact_password("postgres://civic:secret@127.0.0.1:5432/civic311"),
            "postgres://civic:***@127.0.0.1:5432/civic311"
        );
        assert_eq!(redact_password("postgres://postgres@127.0.0.1/test"), "postgres://postgres@127.0.0.1/test");
    }
}
