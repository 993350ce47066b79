//! The tenants the server serves, with what each request needs at hand:
//! manifest, business calendar and tenant-scoped storage. The manifest's
//! router plugin is adopted as the tenant's router install; the plugin
//! manager owns the active version from then on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use civic311_domain::manifest::{self, ManifestError, TenantManifest};
use civic311_domain::sla::BusinessCalendar;
use civic311_plugin_host::PluginHost;
use civic311_plugin_manager::{ManagerError, PluginManager};
use civic311_store::{ApplyOutcome, Store, StoreError, TenantId, TenantRecord, TenantStore};
use sha2::{Digest, Sha256};

/// One applied tenant, ready to serve requests.
pub struct TenantContext {
    pub id: TenantId,
    pub manifest: TenantManifest,
    pub calendar: BusinessCalendar,
    /// Tenant-scoped storage handle.
    pub store: TenantStore,
    /// Error that kept the manifest's router plugin from being adopted.
    /// When the tenant has no active router install either, routing writes
    /// it into the `routing_failed` history of every request it falls back on.
    pub router_error: Option<String>,
    /// The folder the manifest was applied from; `None` for a tenant known
    /// only from the database.
    pub manifest_dir: Option<PathBuf>,
}

impl TenantContext {
    /// Builds the context of an applied tenant.
    pub fn new(store: &Store, id: TenantId, manifest: TenantManifest, manifest_dir: Option<&Path>) -> TenantContext {
        TenantContext {
            id,
            calendar: manifest.calendar(),
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

/// The router plugin a manifest names, read but not yet uploaded.
#[derive(Clone)]
pub struct ManifestRouter {
    /// Plugin name: the bundled name, or the file stem of a `.wasm` path.
    pub name: String,
    /// The component's bytes.
    pub wasm: Vec<u8>,
}

impl std::fmt::Debug for ManifestRouter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ManifestRouter")
            .field("name", &self.name)
            .field("wasm_bytes", &self.wasm.len())
            .finish()
    }
}

/// Resolves a manifest's plugin reference and reads the component.
///
/// A reference ending in `.wasm` or containing a path separator is a file
/// relative to the manifest folder, and the plugin takes its file stem as
/// name. Anything else is the name of a bundled plugin. The error names the
/// reference and the fix, and [`load_manifest_router`] reports it on the
/// manifest field `routing.plugin`.
fn read_router(reference: &str, manifest_dir: Option<&Path>) -> Result<ManifestRouter, String> {
    let is_path = reference.ends_with(".wasm") || reference.contains('/') || reference.contains('\\');
    if !is_path {
        let wasm = civic311_bundled_plugins::bundled(reference).ok_or_else(|| {
            format!(
                "'{reference}' is not a plugin bundled with this server; use one of {} or the path of a .wasm file relative to the tenant folder",
                civic311_bundled_plugins::BUNDLED_NAMES.join(", ")
            )
        })?;
        return Ok(ManifestRouter {
            name: reference.to_string(),
            wasm: wasm.to_vec(),
        });
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
    let stem = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| reference.to_string());
    Ok(ManifestRouter {
        name: plugin_name_of_file(&stem),
        wasm,
    })
}

/// Turns a file stem such as `fault_injector` into a plugin name such as
/// `fault-injector`: lowercase, with underscores, dots and spaces as hyphens.
/// Cargo names a component file after its crate with underscores, and plugin
/// names allow only lowercase letters, digits and hyphens.
fn plugin_name_of_file(stem: &str) -> String {
    stem.chars()
        .map(|character| match character {
            '_' | '.' | ' ' => '-',
            other => other.to_ascii_lowercase(),
        })
        .collect()
}

/// Reads the router plugin that the manifest in `dir` names and checks that
/// it loads as a router component, on a blocking thread because loading
/// compiles WebAssembly. Returns `None` for a manifest without `[routing]`.
///
/// A plugin that is not bundled, whose file is missing, or that does not
/// load as a router component is an invalid `routing.plugin` field, so
/// `tenant apply` and `serve` reject it before the tenant is stored.
pub async fn load_manifest_router(
    plugins: &Arc<PluginHost>,
    manifest: &TenantManifest,
    dir: &Path,
) -> Result<Option<ManifestRouter>, ManifestError> {
    let Some(routing) = &manifest.routing else {
        return Ok(None);
    };

    let plugins = Arc::clone(plugins);
    let reference = routing.plugin.clone();
    let manifest_dir = dir.to_path_buf();
    let checked = tokio::task::spawn_blocking(move || {
        let router = read_router(&reference, Some(&manifest_dir))?;
        check_router(&plugins, &router, &manifest_dir, &reference)?;
        Ok::<_, String>(router)
    })
    .await;
    let checked = match checked {
        Ok(checked) => checked,
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    };

    checked.map(Some).map_err(|problem| ManifestError::Invalid {
        file: dir.join(manifest::TENANT_FILE),
        field: "routing.plugin".to_string(),
        problem,
    })
}

/// Checks that `router` loads as a router component.
fn check_router(plugins: &PluginHost, router: &ManifestRouter, dir: &Path, reference: &str) -> Result<(), String> {
    plugins.load(&router.name, &router.wasm).map(drop).map_err(|error| {
        let is_bundled = civic311_bundled_plugins::bundled(reference).is_some();
        if is_bundled {
            format!("bundled plugin {reference} failed to load as a router component: {error}")
        } else {
            format!("plugin file {} failed to load as a router component: {error}", dir.join(reference).display())
        }
    })
}

/// Uploads the manifest's router as the tenant's version and activates it
/// when the tenant has no active router install. An admin's activation of
/// another version or plugin stays in force, and is logged.
pub async fn adopt_router(manager: &PluginManager, tenant: TenantId, slug: &str, router: &ManifestRouter) -> Result<(), ManagerError> {
    manager.adopt_manifest_router(tenant, &router.name, &router.wasm).await?;

    let Some(active) = manager.registry().router(tenant) else {
        tracing::warn!(tenant.id = tenant.0, tenant.slug = %slug, plugin.name = %router.name, "manifest router adopted but no router install is loaded; the tenant routes to default departments");
        return Ok(());
    };
    let digest = hex::encode(Sha256::digest(&router.wasm));
    if active.version.name == router.name && active.version.digest == digest {
        tracing::info!(tenant.id = tenant.0, tenant.slug = %slug, install.id = active.version.install_id.0, plugin.name = %router.name, plugin.version = active.version.version, "manifest router is the active router");
    } else {
        tracing::info!(
            tenant.id = tenant.0,
            tenant.slug = %slug,
            install.id = active.version.install_id.0,
            plugin.name = %active.version.name,
            plugin.version = active.version.version,
            manifest.plugin = %router.name,
            "the active router stays in force over the manifest's router; activate the manifest's version with `civic311 plugin activate` to switch"
        );
    }
    Ok(())
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

    /// Finds the tenant whose database id is `id`.
    pub fn by_id(&self, id: TenantId) -> Option<Arc<TenantContext>> {
        self.read().values().find(|tenant| tenant.id == id).cloned()
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
    #[error("cannot install the router plugin of the tenant in {dir}: {source}")]
    Router {
        dir: PathBuf,
        #[source]
        source: ManagerError,
    },
}

/// A tenant folder after [`apply_dir`]: what the store did and the new context.
pub struct AppliedTenant {
    pub outcome: ApplyOutcome,
    pub record: TenantRecord,
    pub context: Arc<TenantContext>,
}

/// Validates the manifest in `dir` and its router plugin, applies it to the
/// store, adopts the router plugin as the tenant's router install, and puts
/// the rebuilt context into `registry`, replacing the tenant's previous one.
/// A router plugin that does not load is a manifest error, and the store is
/// left unchanged.
///
/// The plugin is compiled on a blocking thread, so the async runtime keeps
/// serving other tenants meanwhile.
pub async fn apply_dir(
    store: &Store,
    manager: &PluginManager,
    registry: &TenantRegistry,
    dir: &Path,
) -> Result<AppliedTenant, ApplyError> {
    let manifest = load_manifest(dir)?;
    let router = load_manifest_router(manager.host(), &manifest, dir).await?;

    let (record, outcome) = store.apply_tenant(&manifest).await.map_err(|source| ApplyError::Store {
        dir: dir.to_path_buf(),
        source,
    })?;

    if let Some(router) = &router {
        adopt_router(manager, record.id, &record.slug, router)
            .await
            .map_err(|source| ApplyError::Router {
                dir: dir.to_path_buf(),
                source,
            })?;
    }

    let context = registry.insert(TenantContext::new(store, record.id, manifest, Some(dir)));
    tracing::info!(tenant.id = record.id.0, tenant.slug = %record.slug, outcome = ?outcome, dir = %dir.display(), "tenant applied");

    Ok(AppliedTenant { outcome, record, context })
}

/// Builds the context of a tenant known from the database and adopts the
/// router plugin its stored manifest names.
///
/// A plugin that cannot be read or adopted does not fail the build: the
/// error is logged with the tenant and plugin ids and kept in
/// `router_error`. This is the path of a stored tenant whose plugin file is
/// gone; [`apply_dir`] rejects such a plugin before storing the tenant.
pub async fn build_context(
    store: &Store,
    manager: &PluginManager,
    id: TenantId,
    manifest: TenantManifest,
    manifest_dir: Option<PathBuf>,
) -> TenantContext {
    let router_error = match &manifest.routing {
        None => None,
        Some(routing) => adopt_stored_router(manager, id, &manifest.slug, &routing.plugin, manifest_dir.as_deref())
            .await
            .err(),
    };

    let mut context = TenantContext::new(store, id, manifest, manifest_dir.as_deref());
    context.router_error = router_error;
    context
}

async fn adopt_stored_router(
    manager: &PluginManager,
    id: TenantId,
    slug: &str,
    reference: &str,
    manifest_dir: Option<&Path>,
) -> Result<(), String> {
    let router = read_router(reference, manifest_dir);
    let adopted = match router {
        Ok(router) => adopt_router(manager, id, slug, &router).await.map_err(|error| error.to_string()),
        Err(error) => Err(error),
    };

    if let Err(error) = &adopted {
        tracing::error!(tenant.id = id.0, tenant.slug = %slug, plugin.id = %reference, %error, "manifest router plugin not adopted; the tenant routes with its active router install, or to default departments without one");
    }
    adopted
}
