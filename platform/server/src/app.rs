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
use civic311_plugin_host::{HostConfig, PluginError, PluginHost};
use civic311_store::{Store, StoreError};
use tracing::Instrument;

use crate::tenants::{self, ApplyError, TenantRegistry};

/// State every handler receives.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub tenants: Arc<TenantRegistry>,
    pub plugins: Arc<PluginHost>,
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
}

impl From<ApplyError> for StartupError {
    fn from(error: ApplyError) -> StartupError {
        match error {
            ApplyError::Manifest(manifest) => StartupError::Manifest(manifest),
            other => StartupError::Apply(other),
        }
    }
}

/// Connects to the database, applies every tenant folder under
/// `tenants_dir` (sorted by name) and builds the registry.
///
/// A bad manifest stops the start with its file and field. Tenants stored
/// earlier whose folder is gone keep serving from the stored manifest.
pub async fn build_state(database_url: &str, tenants_dir: &Path) -> Result<AppState, StartupError> {
    let store = Store::connect(database_url).await?;
    let plugins = Arc::new(PluginHost::new(HostConfig::default())?);
    let registry = TenantRegistry::new();

    for dir in tenant_dirs(tenants_dir)? {
        tenants::apply_dir(&store, &plugins, &registry, &dir).await?;
    }
    add_stored_tenants(&store, &plugins, &registry, true).await?;

    Ok(AppState {
        store,
        tenants: Arc::new(registry),
        plugins,
    })
}

/// Connects to the database and builds the registry from the stored
/// manifests alone, for commands that run without a tenants folder. A
/// router plugin given as a relative `.wasm` path does not resolve there,
/// so such a tenant routes to default departments.
pub async fn build_state_from_store(database_url: &str) -> Result<AppState, StartupError> {
    let store = Store::connect(database_url).await?;
    let plugins = Arc::new(PluginHost::new(HostConfig::default())?);
    let registry = TenantRegistry::new();
    add_stored_tenants(&store, &plugins, &registry, false).await?;

    Ok(AppState {
        store,
        tenants: Arc::new(registry),
        plugins,
    })
}

/// Adds every stored tenant that `registry` does not have yet.
async fn add_stored_tenants(
    store: &Store,
    plugins: &Arc<PluginHost>,
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
        let context = tenants::build_context(store, plugins, record.id, record.manifest, None).await;
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
        .nest("/api/v1", crate::staff::router())
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

/// Serves the router on `listener` until `shutdown` completes, then stops
/// accepting connections and waits for in-flight requests to finish.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    let backend = state.store.backend();
    let slugs: Vec<String> = state.tenants.all().iter().map(|tenant| tenant.manifest.slug.clone()).collect();
    tracing::info!(bind = %address, backend = ?backend, tenants = ?slugs, "civic311 server started");

    let result = axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await;

    match &result {
        Ok(()) => tracing::info!(bind = %address, "civic311 server stopped"),
        Err(error) => tracing::error!(bind = %address, %error, "civic311 server stopped with an error"),
    }
    result
}
