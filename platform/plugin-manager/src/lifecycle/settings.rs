//! An install's grants, limits, configuration and secrets.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use civic311_domain::plugin::{Grants, Hook, LimitOverrides};
use serde::Serialize;
use civic311_store::{
    AuditAction, NewAuditEntry, PluginInstall, SecretName, TenantId, TenantStore,
};

use super::check_grants;
use super::install::{list_or_none, validate_config, validate_grants};
use crate::error::ManagerError;
use crate::manager::PluginManager;

/// Maximum characters of a secret name.
pub const MAX_SECRET_NAME_CHARS: usize = 128;

/// Maximum bytes of a secret value.
pub const MAX_SECRET_VALUE_BYTES: usize = 8192;

/// A secret's name, when it was last set and whether it can be decrypted;
/// the value is never listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SecretStatus {
    pub name: String,
    pub updated_at: DateTime<Utc>,
    pub state: SecretState,
}

/// Whether the platform key of this process opens a stored secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretState {
    /// The secret decrypts, so plugins receive its value.
    Set,
    /// The secret does not decrypt: it was sealed under another platform
    /// key or its row was changed. Plugins cannot read it until it is set again.
    Unreadable,
}

impl SecretState {
    /// Returns the state's name in listings: `set` or `unreadable`.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretState::Set => "set",
            SecretState::Unreadable => "unreadable",
        }
    }
}

impl PluginManager {
    /// Replaces the install's capability grants. Fails when the active or
    /// shadow version imports a capability that `grants` leaves out.
    pub async fn set_grants(
        &self,
        tenant: TenantId,
        hook: Hook,
        name: &str,
        grants: Grants,
        actor: &str,
    ) -> Result<PluginInstall, ManagerError> {
        validate_grants(&grants)?;
        let tenant_store = self.store.scoped(tenant);
        let install = self.require_install(&tenant_store, hook, name).await?;
        for version in install
            .active_version
            .iter()
            .chain(install.shadow_version.iter())
        {
            check_grants(version, &grants)?;
        }

        let updated = tenant_store
            .set_grants(install.id, &grants, Utc::now())
            .await?;
        let granted: Vec<&str> = grants
            .granted()
            .iter()
            .map(|capability| capability.as_str())
            .collect();
        let hosts: Vec<&str> = grants.http_hosts.iter().map(String::as_str).collect();
        let detail = format!(
            "grants: {}; http hosts: {}",
            list_or_none(&granted),
            list_or_none(&hosts)
        );
        self.audit_setting(
            &tenant_store,
            &updated,
            AuditAction::GrantsChange,
            actor,
            detail,
        )
        .await?;
        Ok(updated)
    }

    /// Replaces the install's limit overrides, each within the platform maximum.
    pub async fn set_limits(
        &self,
        tenant: TenantId,
        hook: Hook,
        name: &str,
        limits: LimitOverrides,
        actor: &str,
    ) -> Result<PluginInstall, ManagerError> {
        self.host.config().limits_for(&limits)?;
        let tenant_store = self.store.scoped(tenant);
        let install = self.require_install(&tenant_store, hook, name).await?;

        let updated = tenant_store
            .set_limits(install.id, &limits, Utc::now())
            .await?;
        let detail = format!("limits: {}", describe_limits(&limits));
        self.audit_setting(
            &tenant_store,
            &updated,
            AuditAction::LimitsChange,
            actor,
            detail,
        )
        .await?;
        Ok(updated)
    }

    /// Replaces the install's configuration. The audit entry names the keys
    /// only, because a value may identify a back-end account.
    pub async fn set_config(
        &self,
        tenant: TenantId,
        hook: Hook,
        name: &str,
        config: BTreeMap<String, String>,
        actor: &str,
    ) -> Result<PluginInstall, ManagerError> {
        validate_config(&config)?;
        let tenant_store = self.store.scoped(tenant);
        let install = self.require_install(&tenant_store, hook, name).await?;

        let updated = tenant_store
            .set_config(install.id, &config, Utc::now())
            .await?;
        let keys: Vec<&str> = config.keys().map(String::as_str).collect();
        let detail = format!("config keys: {}", list_or_none(&keys));
        self.audit_setting(
            &tenant_store,
            &updated,
            AuditAction::ConfigChange,
            actor,
            detail,
        )
        .await?;
        Ok(updated)
    }

    /// Stores secret `secret` of the install, encrypted with the platform
    /// key. The value is never logged, audited or returned.
    pub async fn set_secret(
        &self,
        tenant: TenantId,
        hook: Hook,
        name: &str,
        secret: &str,
        value: &str,
        actor: &str,
    ) -> Result<(), ManagerError> {
        validate_secret_name(secret)?;
        if value.len() > MAX_SECRET_VALUE_BYTES {
            return Err(ManagerError::invalid(
                "secret value",
                format!(
                    "the value of '{secret}' is {} bytes, more than the limit of {MAX_SECRET_VALUE_BYTES}",
                    value.len()
                ),
            ));
        }
        let tenant_store = self.store.scoped(tenant);
        let install = self.require_install(&tenant_store, hook, name).await?;

        let sealed = self.vault.seal(tenant, install.id, secret, value)?;
        tenant_store
            .set_secret(install.id, secret, sealed, Utc::now())
            .await?;
        let detail = format!("secret '{secret}' set");
        self.audit_setting(
            &tenant_store,
            &install,
            AuditAction::SecretSet,
            actor,
            detail,
        )
        .await
        .map(|_| ())
    }

    /// Deletes secret `secret` of the install.
    pub async fn delete_secret(
        &self,
        tenant: TenantId,
        hook: Hook,
        name: &str,
        secret: &str,
        actor: &str,
    ) -> Result<(), ManagerError> {
        let tenant_store = self.store.scoped(tenant);
        let install = self.require_install(&tenant_store, hook, name).await?;

        if !tenant_store.delete_secret(install.id, secret).await? {
            return Err(ManagerError::NotFound {
                what: "secret",
                name: secret.to_string(),
                hint: format!("list the secrets of install {hook}/{name} to see their names"),
            });
        }
        let detail = format!("secret '{secret}' deleted");
        self.audit_setting(
            &tenant_store,
            &install,
            AuditAction::SecretDelete,
            actor,
            detail,
        )
        .await
        .map(|_| ())
    }

    /// Lists the names of the install's secrets, when each was set and
    /// whether this process's platform key opens it.
    ///
    /// Each secret is decrypted to check it, and the value is dropped at
    /// once. A secret sealed under another key, as after the lost-key
    /// procedure, is listed as [`SecretState::Unreadable`].
    pub async fn secret_names(
        &self,
        tenant: TenantId,
        hook: Hook,
        name: &str,
    ) -> Result<Vec<SecretStatus>, ManagerError> {
        let tenant_store = self.store.scoped(tenant);
        let install = self.require_install(&tenant_store, hook, name).await?;

        let mut statuses = Vec::new();
        for (SecretName { name: secret, updated_at }, sealed) in tenant_store.sealed_secrets(install.id).await? {
            let readable = self.vault.open(tenant, install.id, &secret, &sealed).is_ok();
            let state = if readable {
                SecretState::Set
            } else {
                tracing::warn!(
                    tenant.id = tenant.0,
                    install.id = install.id.0,
                    secret.name = %secret,
                    "stored secret does not decrypt under this platform key; set it again"
                );
                SecretState::Unreadable
            };
            statuses.push(SecretStatus { name: secret, updated_at, state });
        }
        Ok(statuses)
    }

    /// Writes the audit entry of a settings change, then applies the change
    /// on this node and the others.
    async fn audit_setting(
        &self,
        tenant_store: &TenantStore,
        install: &PluginInstall,
        action: AuditAction,
        actor: &str,
        detail: String,
    ) -> Result<PluginInstall, ManagerError> {
        let active = install
            .active_version
            .as_ref()
            .map(|version| version.version);
        tenant_store
            .append_audit(NewAuditEntry {
                install: Some(install.id),
                hook: install.hook,
                plugin_name: install.plugin_name.clone(),
                action,
                actor: actor.to_string(),
                from_version: active,
                to_version: active,
                detail: Some(detail),
                at: Utc::now(),
            })
            .await?;

        self.changed(tenant_store.tenant_id(), install.id, action.as_str())
            .await;
        Ok(install.clone())
    }
}

/// Checks that a secret name is 1 to [`MAX_SECRET_NAME_CHARS`] ASCII
/// letters, digits, `_`, `-` or `.`.
fn validate_secret_name(name: &str) -> Result<(), ManagerError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_SECRET_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if valid {
        return Ok(());
    }
    Err(ManagerError::invalid(
        "secret name",
        format!(
            "'{name}' must be 1 to {MAX_SECRET_NAME_CHARS} ASCII letters, digits, '_', '-' or '.'"
        ),
    ))
}

fn describe_limits(limits: &LimitOverrides) -> String {
    let fields = [
        ("fuel", limits.fuel),
        ("memory_bytes", limits.memory_bytes),
        ("wall_time_ms", limits.wall_time_ms),
        ("max_output_bytes", limits.max_output_bytes),
        ("fuel_per_second", limits.fuel_per_second),
    ];
    let set: Vec<String> = fields
        .iter()
        .filter_map(|(field, value)| value.map(|value| format!("{field}={value}")))
        .collect();
    if set.is_empty() {
        return "platform defaults".to_string();
    }
    set.join(", ")
}
