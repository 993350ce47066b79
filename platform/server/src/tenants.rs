//! The tenants the server serves, with what each request needs at hand:
//! manifest, business calendar and loaded router plugin.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use civic311_domain::manifest::{self, ManifestError, TenantManifest};
use civic311_domain::sla::BusinessCalendar;
use civic311_plugin_host::{LoadedPlugin, PluginHost};
use civic311_store::{ApplyOutcome, Store, StoreError, TenantId, TenantRecord, TenantStore};

/// One applied tenant, ready to serve requests.
pub struct TenantContext {
    pub id: TenantId,
    pub manifest: TenantManifest,
    pub calendar: BusinessCalendar,
    /// The router plugin; `None` when the manifest names none or it failed
    /// to load, so the service's default department always applies.
    pub router: Option<LoadedPlugin>,
    /// Tenant-scoped storage handle.
    pub store: TenantStore,
    /// Error that kept the manifest's router plugin from loading. Routing
    /// writes it into the `routing_failed` history of every request it falls back on.
    pub router_error: Option<String>,
    /// The folder the manifest was applied from; `None` for a tenant known
    /// only from the database.
    pub manifest_dir: Option<PathBuf>,
}

impl TenantContext {
    /// Builds the context of an applied tenant and loads its router plugin.
    ///
    /// A plugin that cannot be found or loaded does not fail the build: the
    /// error is logged with the tenant and plugin ids and kept in
    /// `router_error`, and the tenant routes to default departments. This is
    /// the path of a stored tenant whose plugin stopped loading after it was
    /// applied; [`apply_dir`] rejects such a plugin before storing the tenant.
    pub fn build(
        store: &Store,
        plugins: &PluginHost,
        id: TenantId,
        manifest: TenantManifest,
        manifest_dir: Option<&Path>,
    ) -> TenantContext {
        let (router, router_error) = match &manifest.routing {
            None => (None, None),
            Some(routing) => match load_router(plugins, &routing.plugin, manifest_dir) {
                Ok(plugin) => (Some(plugin), None),
                Err(error) => {
                    tracing::error!(tenant.slug = %manifest.slug, plugin.id = %routing.plugin, %error, "router plugin failed to load; the tenant routes to default departments");
                    (None, Some(error))
                }
            },
        };

        let mut context = TenantContext::with_router(store, id, manifest, manifest_dir, router);
        context.router_error = router_error;
        context
    }

    /// Builds the context of an applied tenant around a router plugin that
    /// is already loaded, or none.
    pub fn with_router(
        store: &Store,
        id: TenantId,
        manifest: TenantManifest,
        manifest_dir: Option<&Path>,
        router: Option<LoadedPlugin>,
    ) -> TenantContext {
        if let Some(plugin) = &router {
            tracing::info!(tenant.slug = %manifest.slug, plugin.name = plugin.name(), plugin.digest = plugin.digest(), "router plugin loaded");
        }

        TenantContext {
            id,
            calendar: manifest.calendar(),
            router,
            store: store.scoped(id),
            router_error: None,
            manifest_dir: manifest_dir.map(Path::to_path_buf),
            manifest,
        }
    }

    /// Returns the manifest's router plugin reference: a bundled name or a `.wasm` path.
    pub fn router_plugin_ref(&self) -> Option<&str> {
        self.manifest.routing.as_ref().map(|routing| routing.plugin.as_str())
    }
}

/// Resolves a manifest's plugin reference and loads it into the host.
///
/// A reference ending in `.wasm` or containing a path separator is a file
/// relative to the manifest folder, and the plugin takes its file stem as
/// name. Anything else is the name of a bundled plugin. The error names the
/// reference and the fix, and [`load_manifest_router`] reports it on the
/// manifest field `routing.plugin`.
fn load_router(plugins: &PluginHost, reference: &str, manifest_dir: Option<&Path>) -> Result<LoadedPlugin, String> {
    let is_path = reference.ends_with(".wasm") || reference.contains('/') || reference.contains('\\');
    if !is_path {
        let wasm = civic311_bundled_plugins::bundled(reference).ok_or_else(|| {
            format!(
                "'{reference}' is not a plugin bundled with this server; use one of {} or the path of a .wasm file relative to the tenant folder",
                civic311_bundled_plugins::BUNDLED_NAMES.join(", ")
            )
        })?;
        return plugins.load(reference, wasm).map_err(|error| error.to_string());
    }

    let path = match manifest_dir {
        Some(dir) => dir.join(reference),
        None => PathBuf::from(reference),
    };
    let wasm = std::fs::read(&path).map_err(|error| {
        format!(
            "cannot read plugin file {}: {error}; give the path of a .wasm file relative to the tenant folder, or one of the bundled plugins {}",
            path.display(),
            civic311_bundled_plugins::BUNDLED_NAMES.join(", ")
        )
    })?;
    let name = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| reference.to_string());
    plugins
        .load(&name, &wasm)
        .map_err(|error| format!("plugin file {} failed to load as a router component: {error}", path.display()))
}

/// Loads the router plugin that the manifest in `dir` names, on a blocking
/// thread because loading compiles WebAssembly. Returns `None` for a
/// manifest without `[routing]`.
///
/// A plugin that is not bundled, whose file is missing, or that does not
/// load as a router component is an invalid `routing.plugin` field, so
/// `tenant apply` and `serve` reject it before the tenant is stored.
pub async fn load_manifest_router(
    plugins: &Arc<PluginHost>,
    manifest: &TenantManifest,
    dir: &Path,
) -> Result<Option<LoadedPlugin>, ManifestError> {
    let Some(routing) = &manifest.routing else {
        return Ok(None);
    };

    let plugins = Arc::clone(plugins);
    let reference = routing.plugin.clone();
    let manifest_dir = dir.to_path_buf();
    let loaded = tokio::task::spawn_blocking(move || load_router(&plugins, &reference, Some(&manifest_dir))).await;
    let loaded = match loaded {
        Ok(loaded) => loaded,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    };

    loaded.map(Some).map_err(|problem| ManifestError::Invalid {
        file: dir.join(manifest::TENANT_FILE),
        field: "routing.plugin".to_string(),
        problem,
    })
}

/// In-memory view of every applied tenant, looked up by slug or jurisdiction id.
///
/// Lookups return an `Arc` snapshot, so a request keeps the context it
/// started with while [`TenantRegistry::insert`] replaces a re-applied tenant.
#[derive(Default)]
pub struct TenantRegistry {
    by_slug: RwLock<BTreeMap<String, Arc<TenantContext>>>,
}

impl TenantRegistry {
    pub fn new() -> TenantRegistry {
        TenantRegistry::default()
    }

    /// Adds a tenant or replaces the one with the same slug.
    pub fn insert(&self, context: TenantContext) -> Arc<TenantContext> {
        let context = Arc::new(context);
        let mut tenants = self.by_slug.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        tenants.insert(context.manifest.slug.clone(), Arc::clone(&context));
        context
    }

    pub fn by_slug(&self, slug: &str) -> Option<Arc<TenantContext>> {
        self.read().get(slug).cloned()
    }

    /// Finds the tenant of `jurisdiction_id`, ignoring ASCII case because
    /// jurisdiction ids are domain names, so `HAVERHILLMA.GOV` finds `haverhillma.gov`.
    /// NOTE: applying two tenants whose ids differ only in case is not
    /// rejected, and then the one with the first slug wins.
    pub fn by_jurisdiction(&self, jurisdiction_id: &str) -> Option<Arc<TenantContext>> {
        self.read()
            .values()
            .find(|tenant| tenant.manifest.jurisdiction_id.eq_ignore_ascii_case(jurisdiction_id))
            .cloned()
    }

    /// Lists every tenant, ordered by slug.
    pub fn all(&self) -> Vec<Arc<TenantContext>> {
        self.read().values().cloned().collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<TenantContext>>> {
        self.by_slug.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Reads and validates the manifest in the tenant folder `dir`, including
/// its `[telephony]` table, whose schema the telephony module owns.
pub fn load_manifest(dir: &Path) -> Result<TenantManifest, ManifestError> {
    let manifest = manifest::load(dir)?;

    crate::telephony::config::from_manifest(&manifest).map_err(|error| {
        let (field, problem) = match error {
            crate::telephony::config::ConfigError::Invalid { field, problem } => (format!("telephony.{field}"), problem),
            crate::telephony::config::ConfigError::Syntax(problem) => ("telephony".to_string(), problem),
        };
        ManifestError::Invalid {
            file: dir.join(manifest::TENANT_FILE),
            field,
            problem,
        }
    })?;
    Ok(manifest)
}

/// Error of applying a tenant folder.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("cannot store tenant from {dir}: {source}")]
    Store {
        dir: PathBuf,
        #[source]
        source: StoreError,
    },
}

/// A tenant folder after [`apply_dir`]: what the store did and the new context.
pub struct AppliedTenant {
    pub outcome: ApplyOutcome,
    pub record: TenantRecord,
    pub context: Arc<TenantContext>,
}

/// Validates the manifest in `dir`, loads its router plugin, applies it to
/// the store, and puts the rebuilt context into `registry`, replacing the
/// tenant's previous one. A router plugin that does not load is a manifest
/// error, and the store is left unchanged.
///
/// The plugin is compiled on a blocking thread, so the async runtime keeps
/// serving other tenants meanwhile.
pub async fn apply_dir(
    store: &Store,
    plugins: &Arc<PluginHost>,
    registry: &TenantRegistry,
    dir: &Path,
) -> Result<AppliedTenant, ApplyError> {
    let manifest = load_manifest(dir)?;
    let router = load_manifest_router(plugins, &manifest, dir).await?;

    let (record, outcome) = store.apply_tenant(&manifest).await.map_err(|source| ApplyError::Store {
        dir: dir.to_path_buf(),
        source,
    })?;

    let context = TenantContext::with_router(store, record.id, manifest, Some(dir), router);
    let context = registry.insert(context);
    tracing::info!(tenant.id = record.id.0, tenant.slug = %record.slug, outcome = ?outcome, dir = %dir.display(), "tenant applied");

    Ok(AppliedTenant { outcome, record, context })
}

/// Runs [`TenantContext::build`] on a blocking thread because loading a
/// plugin compiles WebAssembly.
pub async fn build_context(
    store: &Store,
    plugins: &Arc<PluginHost>,
    id: TenantId,
    manifest: TenantManifest,
    manifest_dir: Option<PathBuf>,
) -> TenantContext {
    let store = store.clone();
    let plugins = Arc::clone(plugins);
    let built = tokio::task::spawn_blocking(move || {
        TenantContext::build(&store, &plugins, id, manifest, manifest_dir.as_deref())
    })
    .await;

    match built {
        Ok(context) => context,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}
