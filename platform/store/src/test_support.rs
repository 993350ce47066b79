//! Fresh, empty databases for tests of this crate, the server and the
//! end-to-end tests.
//!
//! By default each [`TestDatabase`] is a new SQLite file in its own
//! temporary folder. With `TEST_DATABASE_URL` set to a PostgreSQL server
//! (such as `postgres://postgres@127.0.0.1:5432/test`), each one is a new
//! database `civic311_test_<uuid>` on that server, dropped when the
//! `TestDatabase` is dropped.

use std::path::Path;

use civic311_domain::manifest::{load_from_strings, TenantManifest};
use sea_orm::{ConnectOptions, ConnectionTrait, Database};

use crate::connect::redact_password;
use crate::Store;

/// Environment variable naming the PostgreSQL server for test databases.
pub const TEST_DATABASE_URL: &str = "TEST_DATABASE_URL";

/// A database that exists for one test.
pub struct TestDatabase {
    /// URL to pass to [`Store::connect`].
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    /// Removing the folder removes the database file and its WAL files.
    Sqlite(#[expect(dead_code, reason = "held only so that its Drop removes the folder")] tempfile::TempDir),
    Postgres { server_url: String, name: String },
}

impl TestDatabase {
    /// Creates an empty database; panics with the reason when it cannot.
    pub async fn create() -> TestDatabase {
        match std::env::var(TEST_DATABASE_URL) {
            Ok(server_url) if !server_url.trim().is_empty() => create_postgres(server_url.trim()).await,
            _ => create_sqlite(),
        }
    }

    /// Connects a [`Store`] to the database, which runs the migrations.
    pub async fn store(&self) -> Store {
        Store::connect(&self.url)
            .await
            .unwrap_or_else(|error| panic!("cannot connect to test database {}: {error}", redact_password(&self.url)))
    }
}

fn create_sqlite() -> TestDatabase {
    let folder = tempfile::Builder::new()
        .prefix("civic311-test-")
        .tempdir()
        .unwrap_or_else(|error| panic!("cannot create a temporary folder for the test database: {error}"));
    let url = format!("sqlite://{}?mode=rwc", folder.path().join("civic311.db").display());

    TestDatabase { url, cleanup: Cleanup::Sqlite(folder) }
}

async fn create_postgres(server_url: &str) -> TestDatabase {
    let name = format!("civic311_test_{}", uuid::Uuid::new_v4().simple());
    create_database_with_retries(server_url, &name).await;

    let mut url = url::Url::parse(server_url)
        .unwrap_or_else(|error| panic!("{TEST_DATABASE_URL} is not a valid URL: {error}"));
    url.set_path(&format!("/{name}"));

    TestDatabase {
        url: url.to_string(),
        cleanup: Cleanup::Postgres { server_url: server_url.to_string(), name },
    }
}

/// Attempts to create a database at most this many times. Creates from parallel
/// tests can fail for a moment, for example when the server is at its
/// connection limit, and a later attempt then succeeds.
const CREATE_ATTEMPTS: u32 = 5;

async fn create_database_with_retries(server_url: &str, name: &str) {
    let sql = format!("CREATE DATABASE \"{name}\"");
    let mut attempt = 1;
    loop {
        match execute_on_server(server_url, &sql).await {
            Ok(()) => return,
            Err(error) if attempt < CREATE_ATTEMPTS => {
                eprintln!("warning: creating test database {name} failed (attempt {attempt}): {error}; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(error) => panic!("cannot create database {name} through {}: {error}", redact_password(server_url)),
        }
    }
}

/// Runs one statement on the server's own database with a single connection.
async fn execute_on_server(server_url: &str, sql: &str) -> Result<(), sea_orm::DbErr> {
    let mut options = ConnectOptions::new(server_url);
    options.max_connections(1).sqlx_logging(false);

    let connection = Database::connect(options).await?;
    connection.execute_unprepared(sql).await?;
    connection.close().await
}

impl Drop for TestDatabase {
    /// Drops a PostgreSQL test database, best effort: a failure is printed
    /// and the database stays behind for a later cleanup of `civic311_test_*`.
    fn drop(&mut self) {
        let Cleanup::Postgres { server_url, name } = &self.cleanup else {
            return;
        };
        let server_url = server_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");

        // Drop cannot await, and the test's runtime may be single-threaded,
        // so a thread with its own runtime runs the statement.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime
                .block_on(execute_on_server(&server_url, &sql))
                .map_err(std::io::Error::other)
        })
        .join();

        let failure = match dropped {
            Ok(Ok(())) => return,
            Ok(Err(error)) => error.to_string(),
            Err(_) => "the cleanup thread panicked".to_string(),
        };
        eprintln!("warning: test database {name} was not dropped ({failure}); drop it with DROP DATABASE \"{name}\"");
    }
}

/// Builds a small valid tenant manifest with two departments and three
/// services (`pothole`, `streetlight`, `graffiti`), for tests.
pub fn sample_manifest(slug: &str, jurisdiction_id: &str) -> TenantManifest {
    let tenant_toml = format!(
        r#"
slug = "{slug}"
name = "Test City {slug}"
jurisdiction_id = "{jurisdiction_id}"
time_zone = "America/New_York"
locales = ["en"]

[business_hours]
monday = "08:00-16:30"
tuesday = "08:00-16:30"
wednesday = "08:00-16:30"
thursday = "08:00-16:30"
friday = "08:00-16:30"

[[departments]]
code = "dpw"
name = {{ en = "Public Works" }}
joined_311 = "2020-01-01"

[[departments]]
code = "parks"
name = {{ en = "Parks" }}
joined_311 = "2020-01-01"
"#
    );
    let services_toml = r#"
[[services]]
code = "pothole"
name = { en = "Pothole" }
department = "dpw"
sla = { business_hours = 48 }

[[services]]
code = "streetlight"
name = { en = "Streetlight out" }
department = "dpw"
sla = { calendar_days = 5 }

[[services]]
code = "graffiti"
name = { en = "Graffiti" }
department = "parks"
sla = { calendar_days = 10 }
type = "batch"
"#;

    load_from_strings(Path::new("tenant.toml"), &tenant_toml, Path::new("services.toml"), services_toml)
        .unwrap_or_else(|error| panic!("sample manifest is invalid: {error}"))
}
