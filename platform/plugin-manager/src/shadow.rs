//! Shadow mode: a candidate version runs beside an install's active version
//! on live traffic, its decisions are recorded beside the active ones, and
//! nothing it returns takes effect. The runtime calls [`record`] for each
//! request it shadowed.

use chrono::Utc;
use civic311_domain::plugin::Hook;
use civic311_store::{
    AuditAction, AuditNote, NewShadowResult, PluginInstall, ShadowResult, ShadowSummary, Store,
    TenantId,
};

use crate::dry_run::{DecisionOrError, compare};
use crate::error::ManagerError;
use crate::lifecycle::{check_grants, check_hook};
use crate::manager::PluginManager;
use crate::registry::VersionRef;

impl PluginManager {
    /// Starts running `version` beside the install's active version. The
    /// install must be a router with an active version, and the candidate
    /// must pass the checks of an activation and load before shadowing starts.
    pub async fn start_shadow(
        &self,
        tenant: TenantId,
        hook: Hook,
        name: &str,
        version: i32,
        actor: &str,
    ) -> Result<PluginInstall, ManagerError> {
        // Only routing calls run a shadow candidate. An integration's
        // candidate would never run, and running it would repeat its syncs.
        if hook != Hook::Router {
            return Err(ManagerError::invalid(
                "hook",
                format!(
                    "shadow mode compares routing decisions, so it runs on the router hook only, not on {hook}/{name}; \
                     activate the integration version and roll it back if it fails"
                ),
            ));
        }
        let tenant_store = self.store.scoped(tenant);
        let install = self.require_install(&tenant_store, hook, name).await?;
        let Some(active) = &install.active_version else {
            return Err(ManagerError::invalid(
                "shadow version",
                format!(
                    "install {hook}/{name} has no active version to compare with; activate a version first"
                ),
            ));
        };
        if active.version == version {
            return Err(ManagerError::invalid(
                "shadow version",
                format!("version {version} is the active version; shadow another version"),
            ));
        }

        let target = self
            .require_version(&tenant_store, &install, version)
            .await?;
        check_hook(&install, &target)?;
        check_grants(&target, &install.grants)?;
        self.artifacts.load(&tenant_store, &target).await?;

        let note = AuditNote {
            actor: actor.to_string(),
            action: AuditAction::ShadowStart,
            detail: None,
            at: Utc::now(),
        };
        let (updated, _) = tenant_store
            .set_shadow_version(install.id, Some(target.id), &note)
            .await?;
        self.changed(tenant, install.id, "shadow_start").await;
        Ok(updated)
    }

    /// Stops shadowing; recorded results stay. An install without a shadow
    /// version is returned unchanged.
    pub async fn stop_shadow(
        &self,
        tenant: TenantId,
        hook: Hook,
        name: &str,
        actor: &str,
    ) -> Result<PluginInstall, ManagerError> {
        let tenant_store = self.store.scoped(tenant);
        let install = self.require_install(&tenant_store, hook, name).await?;
        if install.shadow_version.is_none() {
            return Ok(install);
        }

        let note = AuditNote {
            actor: actor.to_string(),
            action: AuditAction::ShadowStop,
            detail: None,
            at: Utc::now(),
        };
        let (updated, _) = tenant_store
            .set_shadow_version(install.id, None, &note)
            .await?;
        self.changed(tenant, install.id, "shadow_stop").await;
        Ok(updated)
    }

    /// Lists the install's shadow comparisons, newest first; `limit` 0 reads as the store's default.
    pub async fn shadow_results(
        &self,
        tenant: TenantId,
        hook: Hook,
        name: &str,
        limit: u64,
    ) -> Result<Vec<ShadowResult>, ManagerError> {
        let tenant_store = self.store.scoped(tenant);
        let install = self.require_install(&tenant_store, hook, name).await?;
        Ok(tenant_store
            .shadow_results(install.id, None, false, limit)
            .await?)
    }

    /// Counts the install's shadow comparisons of its current candidate, or
    /// of all candidates when it has none.
    pub async fn shadow_summary(
        &self,
        tenant: TenantId,
        hook: Hook,
        name: &str,
    ) -> Result<ShadowSummary, ManagerError> {
        let tenant_store = self.store.scoped(tenant);
        let install = self.require_install(&tenant_store, hook, name).await?;
        let candidate = install
            .shadow_version
            .as_ref()
            .map(|version| version.version);
        Ok(tenant_store.shadow_summary(install.id, candidate).await?)
    }
}

/// Records the candidate's outcome beside the active version's for one
/// live request of `tenant`. They agree when [`compare`] finds no
/// difference in routing.
pub async fn record(
    store: &Store,
    tenant: TenantId,
    request_id: &str,
    active: (&VersionRef, &DecisionOrError),
    candidate: (&VersionRef, &DecisionOrError),
) -> Result<ShadowResult, ManagerError> {
    let (active_version, active_outcome) = active;
    let (candidate_version, candidate_outcome) = candidate;
    let agrees = compare(active_outcome, candidate_outcome).is_empty();

    let result = NewShadowResult {
        install: active_version.install_id,
        request_id: request_id.to_string(),
        active_version: active_version.version,
        candidate_version: candidate_version.version,
        active_decision: to_json(active_outcome),
        candidate_decision: to_json(candidate_outcome),
        agrees,
        at: Utc::now(),
    };
    Ok(store.scoped(tenant).insert_shadow_result(result).await?)
}

fn to_json(outcome: &DecisionOrError) -> serde_json::Value {
    serde_json::to_value(outcome).unwrap_or_else(|error| {
        serde_json::Value::String(format!("unserializable outcome: {error}"))
    })
}
