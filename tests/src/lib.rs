//! Shared support of the end-to-end tests: an in-process server on
//! 127.0.0.1 with a fresh database, API keys, tenant folders that route
//! through the fault plugin, and the path of the real `civic311` binary.
//!
//! The database comes from `civic311_store::test_support::TestDatabase`:
//! a new SQLite file by default, or a new PostgreSQL database when
//! `TEST_DATABASE_URL` is set.
//!
//! # The `civic311` binary
//!
//! Cargo sets `CARGO_BIN_EXE_<name>` only for binaries of the package under
//! test, so this crate declares its own binary target `civic311-e2e` built
//! from the server's `src/main.rs`. It runs exactly the code of `civic311`,
//! cargo builds it before the integration tests, and the [`civic311_bin!`]
//! macro expands to its path inside a test, where the variable is set.

pub mod simulators;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use civic311_server::app::{self, AppState, PlatformOptions};
use civic311_server::integrations::WorkerConfig;
use civic311_server::tenants::TenantContext;
use civic311_store::ApiKeyScope;
use civic311_store::test_support::TestDatabase;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Expands to the path of the `civic311` binary built for these tests.
#[macro_export]
macro_rules! civic311_bin {
    () => {
        ::std::path::PathBuf::from(env!("CARGO_BIN_EXE_civic311-e2e"))
    };
}

/// Returns the repository root, found from this crate's folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits one level below the workspace root")
        .to_path_buf()
}

/// Returns the real `tenants/` folder of the repository.
pub fn tenants_dir() -> PathBuf {
    workspace_root().join("tenants")
}

/// Returns the path of the Boston sample export, kept beside the repository
/// in `../shared/data` and never copied into it.
pub fn boston_csv() -> PathBuf {
    workspace_root().join("../shared/data/boston311-100.csv")
}

/// A server running in this process on a loopback port, with its own database.
pub struct TestServer {
    /// Base URL such as `http://127.0.0.1:41234`, without a trailing slash.
    pub base_url: String,
    pub state: AppState,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    database: TestDatabase,
    /// Folder of the platform key when the database is not an SQLite file.
    /// Otherwise the key file sits in the SQLite file's folder.
    _data_dir: Option<tempfile::TempDir>,
    /// Folder of the platform settings file, which lets plugins reach the
    /// test back ends on 127.0.0.1.
    _settings_dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server with the real `tenants/` folder.
    pub async fn start() -> TestServer {
        TestServer::start_with_tenants(&tenants_dir()).await
    }

    /// Starts a server that applies every tenant folder under `tenants_dir`.
    pub async fn start_with_tenants(tenants_dir: &Path) -> TestServer {
        TestServer::start_with_tenants_and_database(tenants_dir, TestDatabase::create().await).await
    }

    /// Starts a server on an existing database, such as one the real binary
    /// has already written to.
    ///
    /// The server runs one node without Redis. The platform key lives in the
    /// SQLite database's folder, where the `civic311` binary run on the same
    /// database finds it too, or in a temporary folder for PostgreSQL. The
    /// integration worker polls every 50 ms and retries after 100 ms, doubling up to 1 s.
    pub async fn start_with_tenants_and_database(tenants_dir: &Path, database: TestDatabase) -> TestServer {
        TestServer::start_with_key_folder(tenants_dir, database, None).await
    }

    /// Starts a server like [`TestServer::start_with_tenants_and_database`],
    /// with its platform key in `key_folder` when given: the data folder that
    /// the `civic311` commands run on the same database used, so that the
    /// server has the key the database was set up with.
    pub async fn start_with_key_folder(tenants_dir: &Path, database: TestDatabase, key_folder: Option<&Path>) -> TestServer {
        let (mut options, data_dir, settings_dir) = test_platform_options(&database.url);
        if let Some(folder) = key_folder {
            options.data_dir = folder.to_path_buf();
        }
        let state = app::build_state_with(&database.url, tenants_dir, &options)
            .await
            .unwrap_or_else(|error| panic!("server state for {} failed to build: {error}", tenants_dir.display()));

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let address = listener.local_addr().expect("listener address");
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(app::serve_with(listener, state.clone(), test_worker_config(), async {
            let _ = stopped.await;
        }));

        TestServer {
            base_url: format!("http://{address}"),
            state,
            client: reqwest::Client::new(),
            shutdown: Some(shutdown),
            task: Some(task),
            database,
            _data_dir: data_dir,
            _settings_dir: settings_dir,
        }
    }

    /// Returns the URL of the database this server uses.
    pub fn database_url(&self) -> &str {
        &self.database.url
    }

    /// Returns the absolute URL of `path`, which starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Returns the URL of a staff API path under `/api/v1/tenants/{slug}`.
    pub fn staff_url(&self, slug: &str, path: &str) -> String {
        format!("{}/api/v1/tenants/{slug}{path}", self.base_url)
    }

    /// Returns the registry's context of tenant `slug`; panics when it is unknown.
    pub fn tenant(&self, slug: &str) -> Arc<TenantContext> {
        self.state
            .tenants
            .by_slug(slug)
            .unwrap_or_else(|| panic!("tenant {slug} is not loaded"))
    }

    /// Creates a `staff` API key of tenant `slug`, which opens the staff
    /// APIs and Open311 POSTs, and returns its secret.
    pub async fn api_key(&self, slug: &str) -> String {
        self.api_key_with_scope(slug, ApiKeyScope::Staff).await
    }

    /// Creates an API key of tenant `slug` with `scope` and returns its secret.
    pub async fn api_key_with_scope(&self, slug: &str, scope: ApiKeyScope) -> String {
        let (_, secret) = self
            .tenant(slug)
            .store
            .create_api_key_with_scope(&format!("e2e-tests-{scope}"), scope)
            .await
            .unwrap_or_else(|error| panic!("cannot create a {scope} API key for {slug}: {error}"));
        secret
    }

    /// Sends a staff API POST with a JSON body and returns the status and JSON reply.
    pub async fn staff_post(&self, slug: &str, key: &str, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.staff_url(slug, path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .expect("staff API POST reaches the server");
        read_json(response).await
    }

    /// Sends a staff API GET and returns the status and JSON reply.
    pub async fn staff_get(&self, slug: &str, key: &str, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(self.staff_url(slug, path))
            .bearer_auth(key)
            .send()
            .await
            .expect("staff API GET reaches the server");
        read_json(response).await
    }

    /// Stops accepting connections, waits for in-flight requests and returns
    /// the server's result.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.task.take() {
            Some(task) => task.await.expect("the server task does not panic"),
            None => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Returns the plugin platform options of a test server on `database_url`,
/// the temporary data folder to keep while it runs, if one was made, and
/// the folder of its settings file.
fn test_platform_options(database_url: &str) -> (PlatformOptions, Option<tempfile::TempDir>, tempfile::TempDir) {
    let is_sqlite = database_url.starts_with("sqlite:");
    let temporary = (!is_sqlite).then(|| tempfile::tempdir().expect("create a temporary data folder"));
    let data_dir = match &temporary {
        Some(folder) => folder.path().to_path_buf(),
        None => app::default_data_dir(database_url),
    };

    let (settings_dir, settings_file) = write_test_settings();
    let options = PlatformOptions {
        data_dir,
        redis_url: None,
        node_id: "test-node".to_string(),
        config_file: Some(settings_file),
    };
    (options, temporary, settings_dir)
}

/// Writes a platform settings file that keeps the built-in limits but lets
/// plugins reach private networks, because the tests' back-end simulators
/// listen on 127.0.0.1. Returns its folder and path.
fn write_test_settings() -> (tempfile::TempDir, PathBuf) {
    let folder = tempfile::tempdir().expect("create a temporary settings folder");
    let file = folder.path().join("platform.toml");
    std::fs::write(&file, "[http]\nallow_private_networks = true\n").expect("write the test platform settings file");
    (folder, file)
}

/// Returns the integration worker settings of test servers: short polls and
/// retries, so a retried job finishes within a few seconds of a test's request.
pub fn test_worker_config() -> WorkerConfig {
    WorkerConfig {
        poll_interval: Duration::from_millis(50),
        first_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        max_attempts: 6,
        ..WorkerConfig::default()
    }
}

/// Reads a reply as JSON, panicking with the body when it is not JSON.
pub async fn read_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("reply body is readable");
    let json = serde_json::from_str(&text).unwrap_or_else(|error| panic!("reply {status} is not JSON ({error}): {text}"));
    (status, json)
}

/// Copies the tenant folder `source` to `target_parent/<folder name>`.
pub fn copy_tenant(source: &Path, target_parent: &Path) -> PathBuf {
    let name = source.file_name().expect("a tenant folder has a name");
    let target = target_parent.join(name);
    std::fs::create_dir_all(&target).expect("create the tenant folder copy");

    for entry in std::fs::read_dir(source).expect("read the tenant folder") {
        let entry = entry.expect("read a tenant folder entry");
        if entry.file_type().expect("file type").is_file() {
            std::fs::copy(entry.path(), target.join(entry.file_name())).expect("copy a tenant file");
        }
    }
    target
}

/// Writes the tenant folder `target_parent/fault-<fault>`: a copy of
/// Haverhill's manifest with its own slug and jurisdiction id whose router
/// is the fault-injector plugin, copied into the folder and named by a
/// relative path, with `[routing.settings] fault = "<fault>"`.
///
/// The slug is `fault-<fault>` and the jurisdiction id `fault-<fault>.test`.
pub fn write_fault_tenant(target_parent: &Path, fault: &str) -> PathBuf {
    let slug = format!("fault-{fault}");
    let dir = target_parent.join(&slug);
    std::fs::create_dir_all(&dir).expect("create the fault tenant folder");

    let source = tenants_dir().join("haverhill");
    std::fs::copy(source.join("services.toml"), dir.join("services.toml")).expect("copy services.toml");

    let plugin = civic311_bundled_plugins::test_plugin_path("fault-injector");
    let plugin_file = plugin.file_name().expect("the plugin path names a file").to_owned();
    std::fs::copy(&plugin, dir.join(&plugin_file))
        .unwrap_or_else(|error| panic!("cannot copy the fault plugin from {}: {error}", plugin.display()));

    let text = std::fs::read_to_string(source.join("tenant.toml")).expect("read Haverhill's tenant.toml");
    let mut manifest: toml::Table = text.parse().expect("Haverhill's tenant.toml is valid TOML");
    manifest.insert("slug".into(), slug.clone().into());
    manifest.insert("name".into(), format!("Fault test tenant ({fault})").into());
    manifest.insert("jurisdiction_id".into(), format!("{slug}.test").into());
    manifest.remove("telephony");

    let mut settings = toml::Table::new();
    settings.insert("fault".into(), fault.into());
    let mut routing = toml::Table::new();
    routing.insert("plugin".into(), plugin_file.to_string_lossy().into_owned().into());
    routing.insert("settings".into(), settings.into());
    manifest.insert("routing".into(), routing.into());

    std::fs::write(dir.join("tenant.toml"), toml::to_string(&manifest).expect("serialize the manifest"))
        .expect("write the fault tenant's tenant.toml");
    dir
}

/// Returns the first history entry of `kind` in a staff API request reply.
pub fn history_entry<'a>(reply: &'a Value, kind: &str) -> Option<&'a Value> {
    reply["history"]
        .as_array()?
        .iter()
        .find(|entry| entry["kind"] == kind)
}

impl TestServer {
    /// Creates an `admin` API key of tenant `slug`, which opens the plugin
    /// admin API, and returns its secret.
    pub async fn admin_key(&self, slug: &str) -> String {
        self.api_key_with_scope(slug, ApiKeyScope::Admin).await
    }

    /// Sends a plugin admin API request with an optional JSON body and
    /// returns the status and the raw reply text, so tests can search it.
    pub async fn admin_send(&self, method: reqwest::Method, path: &str, key: &str, body: Option<&Value>) -> (u16, String) {
        let mut request = self.client.request(method, self.url(path)).bearer_auth(key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("admin API request reaches the server");
        let status = response.status().as_u16();
        (status, response.text().await.expect("reply body is readable"))
    }

    /// Uploads `wasm` as a version of plugin `name` of tenant `slug` and
    /// returns the status and raw reply text.
    pub async fn upload_plugin(&self, slug: &str, key: &str, name: &str, wasm: Vec<u8>) -> (u16, String) {
        let response = self
            .client
            .post(self.staff_url(slug, &format!("/plugins/{name}/versions")))
            .bearer_auth(key)
            .header("content-type", "application/wasm")
            .body(wasm)
            .send()
            .await
            .expect("plugin upload reaches the server");
        let status = response.status().as_u16();
        (status, response.text().await.expect("reply body is readable"))
    }
}

/// Parses a reply text as JSON, panicking with the text when it is not JSON.
pub fn parse_reply(status: u16, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("reply {status} is not JSON ({error}): {text}"))
}

/// Returns the bytes of a plugin built from `plugins/`: a bundled router
/// such as `haverhill-router`, or a test plugin such as `fault-injector`.
pub fn plugin_wasm(name: &str) -> Vec<u8> {
    if let Some(bytes) = civic311_bundled_plugins::bundled(name) {
        return bytes.to_vec();
    }
    let path = civic311_bundled_plugins::test_plugin_path(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read plugin {name} from {}: {error}", path.display()))
}

/// Every log line this test process writes, captured by a process-wide
/// subscriber at debug level and above.
pub struct CapturedLogs {
    buffer: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl CapturedLogs {
    /// Returns the captured text so far.
    pub fn text(&self) -> String {
        let bytes = self.buffer.lock().expect("log buffer lock").clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[derive(Clone)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs, on the first call, a global subscriber that writes every
/// event and span field at debug level and above (the engine's compiler
/// crates at info) into memory, and returns a handle to read it.
///
/// The subscriber is global because a thread-local one misses events of
/// the server's tasks and blocking threads.
pub fn capture_logs() -> CapturedLogs {
    static BUFFER: std::sync::OnceLock<Arc<std::sync::Mutex<Vec<u8>>>> = std::sync::OnceLock::new();

    let buffer = BUFFER.get_or_init(|| {
        let buffer = Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = LogBuffer(Arc::clone(&buffer));
        let filter = tracing_subscriber::EnvFilter::new("debug,cranelift_codegen=info,wasmtime=info,wasmtime_cranelift=info,regalloc2=info");
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("no other global subscriber in this test binary");
        buffer
    });
    CapturedLogs {
        buffer: Arc::clone(buffer),
    }
}

impl TestServer {
    /// Returns the folder of this server's platform key, so that a
    /// `civic311` command run on the same database with
    /// `CIVIC311_DATA_DIR` set to it seals and opens secrets with the same key.
    pub fn platform_data_dir(&self) -> PathBuf {
        match &self._data_dir {
            Some(folder) => folder.path().to_path_buf(),
            None => app::default_data_dir(self.database_url()),
        }
    }
}
