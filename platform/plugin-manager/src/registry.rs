//! The in-memory registry of each tenant's active installs, with their
//! loaded plugins, limits and circuit breakers.
//!
//! The database is the source of truth. The registry loads every active
//! install at start and rebuilds one install from its row on each change,
//! whether the change was made on this node or announced by another.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use chrono::Utc;
use civic311_domain::plugin::Hook;
use civic311_plugin_host::{CallLimits, LoadedPlugin, PluginHost};
use civic311_store::{InstallId, PluginInstall, PluginVersion, Store, TenantId};
use serde::Serialize;

use crate::artifacts::ArtifactLoader;
use crate::error::ManagerError;
use crate::runtime::fuel_budget::{FuelBudget, FuelBudgets};
use crate::runtime::{Breaker, BreakerConfig};

/// One version of an install, as call records, reports and outcomes name it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionRef {
    pub install_id: InstallId,
    pub hook: Hook,
    pub name: String,
    pub version: i32,
    pub digest: String,
}

impl VersionRef {
    /// Names `version` as installed by `install`.
    pub fn of(install: &PluginInstall, version: &PluginVersion) -> VersionRef {
        VersionRef {
            install_id: install.id,
            hook: install.hook,
            name: version.name.clone(),
            version: version.version,
            digest: version.digest.clone(),
        }
    }
}

/// An install with an active version, ready to call.
pub struct ActiveInstall {
    /// The install's row as loaded.
    pub install: PluginInstall,
    pub version: VersionRef,
    pub plugin: LoadedPlugin,
    /// The platform defaults with the install's overrides applied.
    pub limits: CallLimits,
    /// Candidate version that runs beside the active one without effect.
    pub shadow: Option<(VersionRef, LoadedPlugin)>,
    pub breaker: Breaker,
    /// Fuel per second of the install's router calls on this node, the same
    /// budget before and after a reload.
    pub fuel_budget: Arc<FuelBudget>,
}

impl ActiveInstall {
    pub fn tenant(&self) -> TenantId {
        self.install.tenant
    }
}

/// Loaded active installs, by tenant.
pub struct InstallRegistry {
    store: Store,
    host: Arc<PluginHost>,
    artifacts: Arc<ArtifactLoader>,
    breaker: BreakerConfig,
    /// Fuel budgets by install, kept across reloads of an install.
    fuel_budgets: FuelBudgets,
    /// Never held across an await.
    state: RwLock<RegistryState>,
    /// Serializes reloads, so that a slow reload cannot overwrite the result
    /// of a later one for the same install.
    reloads: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct RegistryState {
    by_tenant: HashMap<TenantId, BTreeMap<InstallId, Arc<ActiveInstall>>>,
    tenant_of: HashMap<InstallId, TenantId>,
}

impl InstallRegistry {
    pub fn new(store: Store, host: Arc<PluginHost>, artifacts: Arc<ArtifactLoader>, breaker: BreakerConfig) -> InstallRegistry {
        InstallRegistry {
            store,
            host,
            artifacts,
            breaker,
            fuel_budgets: FuelBudgets::default(),
            state: RwLock::new(RegistryState::default()),
            reloads: tokio::sync::Mutex::new(()),
        }
    }

    /// Loads every install with an active version and returns how many
    /// loaded. An install that fails to load is logged and left out. Fails
    /// only when the installs cannot be listed.
    pub async fn load_all(&self) -> Result<usize, ManagerError> {
        let _serialized = self.reloads.lock().await;
        let installs = self.store.loaded_installs().await?;

        let mut loaded = 0;
        for install in installs {
            let (id, tenant) = (install.id, install.tenant);
            match self.build(install).await {
                Ok(Some(active)) => {
                    self.insert(active);
                    loaded += 1;
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(tenant.id = tenant.0, install.id = id.0, %error, "failed to load plugin install; its tenant falls back");
                }
            }
        }

        tracing::info!(installs = loaded, "plugin installs loaded");
        Ok(loaded)
    }

    /// Rebuilds install `id` from its row: loads its active and shadow
    /// versions, or removes it when it has no active version or no longer
    /// exists. On a failed load the install is removed, so its tenant falls
    /// back, and the error is logged and returned.
    pub async fn reload(&self, id: InstallId) -> Result<(), ManagerError> {
        let _serialized = self.reloads.lock().await;
        let Some(install) = self.store.install_by_id(id).await? else {
            self.remove(id);
            return Ok(());
        };

        let tenant = install.tenant;
        match self.build(install).await {
            Ok(Some(active)) => {
                tracing::info!(tenant.id = tenant.0, install.id = id.0, plugin.name = %active.version.name, plugin.version = active.version.version, "plugin install reloaded");
                self.insert(active);
                Ok(())
            }
            Ok(None) => {
                self.remove(id);
                Ok(())
            }
            Err(error) => {
                self.remove(id);
                tracing::error!(tenant.id = tenant.0, install.id = id.0, %error, "failed to reload plugin install; its tenant falls back");
                Err(error)
            }
        }
    }

    /// Returns the tenant's active router install. While an activation
    /// replaces one router install with another, both are loaded for a
    /// moment, and the one changed last is the active one.
    pub fn router(&self, tenant: TenantId) -> Option<Arc<ActiveInstall>> {
        let state = self.read();
        let installs = state.by_tenant.get(&tenant)?;
        installs
            .values()
            .filter(|active| active.install.hook == Hook::Router)
            .max_by_key(|active| (active.install.updated_at, active.install.id.0))
            .cloned()
    }

    /// Returns the tenant's active integration installs, by install id.
    pub fn integrations(&self, tenant: TenantId) -> Vec<Arc<ActiveInstall>> {
        let state = self.read();
        let Some(installs) = state.by_tenant.get(&tenant) else {
            return Vec::new();
        };
        installs.values().filter(|active| active.install.hook == Hook::Integration).cloned().collect()
    }

    /// Returns the active install `id` of any tenant.
    pub fn by_id(&self, id: InstallId) -> Option<Arc<ActiveInstall>> {
        let state = self.read();
        let tenant = state.tenant_of.get(&id)?;
        state.by_tenant.get(tenant)?.get(&id).cloned()
    }

    /// Returns the id and stored `updated_at` of every loaded install, for
    /// the cluster's reconcile pass.
    pub fn loaded(&self) -> Vec<(InstallId, chrono::DateTime<Utc>)> {
        let state = self.read();
        state.by_tenant.values().flat_map(|installs| installs.values()).map(|active| (active.install.id, active.install.updated_at)).collect()
    }

    /// Returns the number of loaded installs across all tenants.
    pub fn len(&self) -> usize {
        self.read().tenant_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Loads the install's versions; `None` when it has no active version.
    async fn build(&self, install: PluginInstall) -> Result<Option<ActiveInstall>, ManagerError> {
        let Some(active_version) = install.active_version.clone() else {
            return Ok(None);
        };
        let (limits, lowered) = self.host.config().limits_within_maxima(&install.limits);
        if !lowered.is_empty() {
            tracing::warn!(
                tenant.id = install.tenant.0,
                install.id = install.id.0,
                limits = ?lowered,
                "install limit overrides are above the platform maxima or zero; the maxima or defaults apply until an admin changes them"
            );
        }
        let tenant_store = self.store.scoped(install.tenant);

        let (plugin, _) = self.artifacts.load(&tenant_store, &active_version).await?;
        let shadow = match &install.shadow_version {
            Some(candidate) => self.load_shadow(&install, candidate).await,
            None => None,
        };

        let breaker = Breaker::restore(
            self.breaker.clone(),
            install.breaker.open,
            install.breaker.reason.clone(),
            install.breaker.opened_at,
            Utc::now(),
        );
        Ok(Some(ActiveInstall {
            version: VersionRef::of(&install, &active_version),
            plugin,
            fuel_budget: self.fuel_budgets.of(install.id, limits.fuel_per_second),
            limits,
            shadow,
            breaker,
            install,
        }))
    }

    /// Loads the shadow candidate. A candidate that fails to load is logged
    /// and left out, because shadowing must never stop the active version.
    async fn load_shadow(&self, install: &PluginInstall, candidate: &PluginVersion) -> Option<(VersionRef, LoadedPlugin)> {
        let tenant_store = self.store.scoped(install.tenant);
        match self.artifacts.load(&tenant_store, candidate).await {
            Ok((plugin, _)) => Some((VersionRef::of(install, candidate), plugin)),
            Err(error) => {
                tracing::error!(tenant.id = install.tenant.0, install.id = install.id.0, plugin.version = candidate.version, %error, "failed to load shadow candidate; shadowing is off for this install");
                None
            }
        }
    }

    fn insert(&self, active: ActiveInstall) {
        let id = active.install.id;
        let tenant = active.tenant();
        let mut state = self.write();
        state.tenant_of.insert(id, tenant);
        state.by_tenant.entry(tenant).or_default().insert(id, Arc::new(active));
    }

    fn remove(&self, id: InstallId) {
        let mut state = self.write();
        let Some(tenant) = state.tenant_of.remove(&id) else {
            return;
        };
        if let Some(installs) = state.by_tenant.get_mut(&tenant) {
            installs.remove(&id);
            if installs.is_empty() {
                state.by_tenant.remove(&tenant);
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, RegistryState> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, RegistryState> {
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
