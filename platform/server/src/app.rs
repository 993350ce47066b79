//! Shared state of the HTTP server, the router that mounts every API, and
//! the entry points that build the state and serve it on a listener.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use civic311_domain::manifest::ManifestError;
use civic311_plugin_host::{PluginError, PluginHost};
use civic311_plugin_manager::{ManagerConfig, ManagerError, PluginManager};
use civic311_store::{Store, StoreError};
use tracing::Instrument;

use crate::integrations::{IntegrationWorker, WorkerConfig};
use crate::platform_config::{self, PlatformConfigError, PlatformSettings, PLATFORM_CONFIG_ENV};
use crate::tenants::{self, ApplyError, TenantRegistry};

/// State every handler receives.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub tenants: Arc<TenantRegistry>,
    /// The plugin host that compiles and runs every plugin. It is the same host as `manager.host()`.
    pub plugins: Arc<PluginHost>,
    /// Uploads, activates and runs the tenants' plugins.
    pub manager: Arc<PluginManager>,
}

/// Header that carries the request id; generated when the client sends none.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Error that stopped the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot create the plugin host: {0}")]
    PluginHost(#[from] PluginError),
    #[error("cannot start the plugin manager: {0}")]
    PluginManager(#[from] ManagerError),
    #[error("cannot read the tenants folder {dir}: {source}; create it or pass --tenants")]
    TenantsDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Apply(ApplyError),
    #[error(transparent)]
    PlatformConfig(#[from] PlatformConfigError),
}

impl From<ApplyError> for StartupError {
    fn from(error: ApplyError) -> StartupError {
        match error {
            ApplyError::Manifest(manifest) => StartupError::Manifest(manifest),
            other => StartupError::Apply(other),
        }
    }
}

/// Environment variable naming the folder of `platform.key`. `serve --data-dir` takes precedence.
pub const DATA_DIR_ENV: &str = "CIVIC311_DATA_DIR";

/// Environment variable naming the Redis server that carries plugin changes between nodes.
pub const REDIS_URL_ENV: &str = "REDIS_URL";

/// Environment variable naming this node in logs and cluster events.
pub const NODE_ID_ENV: &str = "CIVIC311_NODE_ID";

/// Settings of the plugin platform shared by every command that starts the plugin manager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformOptions {
    /// Folder of the platform key file `platform.key`, used when
    /// `CIVIC311_PLATFORM_KEY` is not set.
    pub data_dir: PathBuf,
    /// Redis URL for propagating plugin changes. `None` runs this node alone.
    pub redis_url: Option<String>,
    /// Name of this node in logs and cluster events.
    pub node_id: String,
    /// The settings file of plugin limits and the breaker; `None` uses the built-in settings.
    pub config_file: Option<PathBuf>,
}

impl PlatformOptions {
    /// Reads the options from the environment for the database at `database_url`.
    ///
    /// The data folder is `CIVIC311_DATA_DIR` when set, else the folder of
    /// the SQLite database file, else `./data`. So every command run on one
    /// SQLite database finds the same platform key, and secrets encrypted by
    /// one command decrypt in the others.
    pub fn from_env(database_url: &str) -> PlatformOptions {
        let data_dir = non_empty_env(DATA_DIR_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| default_data_dir(database_url));
        let node_id = non_empty_env(NODE_ID_ENV).unwrap_or_else(|| format!("node-{}", std::process::id()));

        PlatformOptions {
            data_dir,
            redis_url: non_empty_env(REDIS_URL_ENV),
            node_id,
            config_file: non_empty_env(PLATFORM_CONFIG_ENV).map(PathBuf::from),
        }
    }

    fn manager_config(&self, settings: &PlatformSettings) -> ManagerConfig {
        ManagerConfig {
            redis_url: self.redis_url.clone(),
            data_dir: self.data_dir.clone(),
            node_id: self.node_id.clone(),
            breaker: settings.breaker.clone(),
            max_upload_bytes: settings.host.max_component_bytes,
            allow_private_networks: settings.allow_private_networks,
            ..ManagerConfig::default()
        }
    }
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|value| value.trim().to_string()).filter(|value| !value.is_empty())
}

/// Returns the folder of the SQLite file in `database_url`, or `./data`
/// for PostgreSQL and for in-memory SQLite.
pub fn default_data_dir(database_url: &str) -> PathBuf {
    let fallback = PathBuf::from("./data");
    let Some(rest) = database_url.strip_prefix("sqlite://").or_else(|| database_url.strip_prefix("sqlite:")) else {
        return fallback;
    };

    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return fallback;
    }
    match Path::new(path).parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Connects to the database, starts the plugin manager and builds the
/// state, with the plugin platform options read from the environment.
/// See [`build_state_with`].
pub async fn build_state(database_url: &str, tenants_dir: &Path) -> Result<AppState, StartupError> {
    build_state_with(database_url, tenants_dir, &PlatformOptions::from_env(database_url)).await
}

/// Connects to the database, starts the plugin manager, applies every
/// tenant folder under `tenants_dir` (sorted by name) and builds the registry.
///
/// A bad manifest stops the start with its file and field. Tenants stored
/// earlier whose folder is gone keep serving from the stored manifest.
pub async fn build_state_with(database_url: &str, tenants_dir: &Path, options: &PlatformOptions) -> Result<AppState, StartupError> {
    let (store, plugins, manager) = connect(database_url, options).await?;
    let registry = TenantRegistry::new();

    for dir in tenant_dirs(tenants_dir)? {
        tenants::apply_dir(&store, &manager, &registry, &dir).await?;
    }
    add_stored_tenants(&store, &manager, &registry, true).await?;

    Ok(AppState {
        store,
        tenants: Arc::new(registry),
        plugins,
        manager,
    })
}

/// Connects to the database and builds the registry from the stored
/// manifests alone, for commands that run without a tenants folder. The
/// plugin platform options come from the environment.
pub async fn build_state_from_store(database_url: &str) -> Result<AppState, StartupError> {
    build_state_from_store_with(database_url, &PlatformOptions::from_env(database_url)).await
}

/// Like [`build_state_from_store`] with explicit plugin platform options.
/// Each tenant routes with its active router install. A tenant without one
/// whose manifest names a router plugin by a relative `.wasm` path, which
/// does not resolve without the tenant folder, routes to default departments.
pub async fn build_state_from_store_with(database_url: &str, options: &PlatformOptions) -> Result<AppState, StartupError> {
    let (store, plugins, manager) = connect(database_url, options).await?;
    let registry = TenantRegistry::new();
    add_stored_tenants(&store, &manager, &registry, false).await?;

    Ok(AppState {
        store,
        tenants: Arc::new(registry),
        plugins,
        manager,
    })
}

/// Connects to the database and starts the plugin host and the plugin
/// manager, for commands that change plugins without serving HTTP.
pub async fn connect_platform(database_url: &str, options: &PlatformOptions) -> Result<(Store, Arc<PluginManager>), StartupError> {
    let (store, _, manager) = connect(database_url, options).await?;
    Ok((store, manager))
}

/// Connects to the database and starts the plugin host and manager.
async fn connect(database_url: &str, options: &PlatformOptions) -> Result<(Store, Arc<PluginHost>, Arc<PluginManager>), StartupError> {
    let settings = platform_config::load(options.config_file.as_deref())?;
    let store = Store::connect(database_url).await?;
    let plugins = Arc::new(PluginHost::new(settings.host.clone())?);
    let manager = PluginManager::start(store.clone(), Arc::clone(&plugins), options.manager_config(&settings)).await?;
    tracing::info!(node.id = %options.node_id, data_dir = %options.data_dir.display(), redis = options.redis_url.is_some(), "plugin manager started");
    Ok((store, plugins, Arc::new(manager)))
}

/// Adds every stored tenant that `registry` does not have yet.
async fn add_stored_tenants(
    store: &Store,
    manager: &Arc<PluginManager>,
    registry: &TenantRegistry,
    warn_missing_folder: bool,
) -> Result<(), StartupError> {
    for record in store.tenants().await? {
        if registry.by_slug(&record.slug).is_some() {
            continue;
        }
        if warn_missing_folder {
            tracing::warn!(tenant.id = record.id.0, tenant.slug = %record.slug, "tenant has no folder under the tenants dir; serving its stored manifest");
        }
        let context = tenants::build_context(store, manager, record.id, record.manifest, None).await;
        registry.insert(context);
    }
    Ok(())
}

/// Lists the folders directly under `tenants_dir`, sorted by path.
fn tenant_dirs(tenants_dir: &Path) -> Result<Vec<PathBuf>, StartupError> {
    let read_error = |source| StartupError::TenantsDir {
        dir: tenants_dir.to_path_buf(),
        source,
    };

    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(tenants_dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        if entry.file_type().map_err(read_error)?.is_dir() {
            dirs.push(entry.path());
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Builds the HTTP router: Open311 at `/open311/v2`, telephony webhooks at
/// `/telephony`, the staff API at `/api/v1`, and `GET /healthz`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/open311/v2", crate::open311::router())
        .nest("/telephony", crate::telephony::router())
        .nest("/api/v1", crate::staff::router().merge(crate::admin::router()))
        .layer(middleware::from_fn(request_span))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

/// Wraps each request in a span with its request id and echoes the id on
/// the response. Health checks log at debug level so probes stay quiet.
async fn request_span(mut request: Request, next: Next) -> Response {
    let header = HeaderName::from_static(REQUEST_ID_HEADER);
    let request_id = request
        .headers()
        .get(&header)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty() && value.len() <= 128)
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        request.headers_mut().insert(header.clone(), value);
    }

    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let span = tracing::info_span!(
        "http.request",
        request.id = %request_id,
        http.method = %method,
        url.path = %path,
        tenant.id = tracing::field::Empty,
    );

    let mut response = next.run(request).instrument(span.clone()).await;

    let status = response.status().as_u16();
    span.in_scope(|| {
        if path == "/healthz" {
            tracing::debug!(http.status = status, "request finished");
        } else {
            tracing::info!(http.status = status, "request finished");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(header, value);
    }
    response
}

/// Serves the router on `listener` until `shutdown` completes, with the
/// integration worker's default settings. See [`serve_with`].
pub async fn serve(listener: tokio::net::TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    serve_with(listener, state, WorkerConfig::default(), shutdown).await
}

/// Serves the router on `listener` and runs the integration worker until
/// `shutdown` completes. Then it stops accepting connections, waits for
/// in-flight requests and the worker's claimed jobs to finish, and writes
/// the plugin call records still buffered.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    worker: WorkerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    let backend = state.store.backend();
    let slugs: Vec<String> = state.tenants.all().iter().map(|tenant| tenant.manifest.slug.clone()).collect();
    tracing::info!(bind = %address, backend = ?backend, tenants = ?slugs, "civic311 server started");

    let worker = IntegrationWorker::spawn(state.clone(), worker);
    let manager = Arc::clone(&state.manager);
    let result = axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await;
    worker.shutdown().await;
    manager.flush().await;

    match &result {
        Ok(()) => tracing::info!(bind = %address, "civic311 server stopped"),
        Err(error) => tracing::error!(bind = %address, %error, "civic311 server stopped with an error"),
    }
    result
}
