//! Installing a tenant's or the catalogue's plugin on a hook, and the
//! checks on an install's grants, limits and configuration.

use std::collections::BTreeMap;

use chrono::Utc;
use civic311_domain::plugin::{Grants, Hook, LimitOverrides};
use civic311_store::{AuditAction, NewAuditEntry, NewInstall, PluginInstall, TenantId};

use super::upload::validate_plugin_name;
use crate::error::ManagerError;
use crate::manager::PluginManager;

/// Maximum entries of an install's configuration.
pub const MAX_CONFIG_ENTRIES: usize = 64;

/// Maximum bytes of one configuration key.
pub const MAX_CONFIG_KEY_BYTES: usize = 128;

/// Maximum bytes of one configuration value.
pub const MAX_CONFIG_VALUE_BYTES: usize = 4096;

/// Maximum hosts in an install's HTTP allow-list.
pub const MAX_HTTP_HOSTS: usize = 32;

/// Owner of the plugin an install uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginSource {
    /// The tenant's own private plugin.
    Tenant,
    /// A plugin of the platform catalogue.
    Catalogue,
}

/// An install to create; it starts with no active version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallRequest {
    pub hook: Hook,
    pub plugin_name: String,
    pub source: PluginSource,
    pub grants: Grants,
    pub limits: LimitOverrides,
    /// Settings passed to the plugin; not secret, so they appear in API replies.
    pub config: BTreeMap<String, String>,
}

impl PluginManager {
    /// Installs a plugin on a hook for the tenant, with no active version.
    /// Fails when the plugin has no version visible to the tenant, when its
    /// versions use another hook, or when the tenant already installed it there.
    pub async fn install(
        &self,
        tenant: TenantId,
        request: InstallRequest,
        actor: &str,
    ) -> Result<PluginInstall, ManagerError> {
        validate_plugin_name(&request.plugin_name)?;
        validate_grants(&request.grants)?;
        validate_config(&request.config)?;
        self.host.config().limits_for(&request.limits)?;

        let plugin_owner = match request.source {
            PluginSource::Tenant => Some(tenant),
            PluginSource::Catalogue => None,
        };
        let tenant_store = self.store.scoped(tenant);
        let new = NewInstall {
            hook: request.hook,
            plugin_name: request.plugin_name,
            plugin_owner,
            config: request.config,
            grants: request.grants,
            limits: request.limits,
        };
        let install = tenant_store.create_install(new, Utc::now()).await?;

        let source = if plugin_owner.is_some() {
            "tenant"
        } else {
            "catalogue"
        };
        let granted: Vec<&str> = install
            .grants
            .granted()
            .iter()
            .map(|capability| capability.as_str())
            .collect();
        tenant_store
            .append_audit(NewAuditEntry {
                install: Some(install.id),
                hook: install.hook,
                plugin_name: install.plugin_name.clone(),
                action: AuditAction::Install,
                actor: actor.to_string(),
                from_version: None,
                to_version: None,
                detail: Some(format!(
                    "source {source}; grants: {}",
                    list_or_none(&granted)
                )),
                at: install.updated_at,
            })
            .await?;
        Ok(install)
    }
}

/// Checks the HTTP allow-list: host names or `*.suffix` wildcards, without
/// scheme, port, path or spaces.
pub(crate) fn validate_grants(grants: &Grants) -> Result<(), ManagerError> {
    if grants.http_hosts.len() > MAX_HTTP_HOSTS {
        return Err(ManagerError::invalid(
            "grants.http_hosts",
            format!(
                "{} hosts are more than the limit of {MAX_HTTP_HOSTS}",
                grants.http_hosts.len()
            ),
        ));
    }

    for host in &grants.http_hosts {
        let name = host.strip_prefix("*.").unwrap_or(host);
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| !label.is_empty())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !valid {
            return Err(ManagerError::invalid(
                "grants.http_hosts",
                format!(
                    "'{host}' is not a host name; give a name such as api.example.com or *.example.com, without scheme, port or path"
                ),
            ));
        }
    }
    Ok(())
}

/// Checks the size of the configuration and of each entry.
pub(crate) fn validate_config(config: &BTreeMap<String, String>) -> Result<(), ManagerError> {
    if config.len() > MAX_CONFIG_ENTRIES {
        return Err(ManagerError::invalid(
            "config",
            format!(
                "{} entries are more than the limit of {MAX_CONFIG_ENTRIES}",
                config.len()
            ),
        ));
    }

    for (key, value) in config {
        if key.trim().is_empty() || key.len() > MAX_CONFIG_KEY_BYTES {
            return Err(ManagerError::invalid(
                "config",
                format!("key '{key}' must be 1 to {MAX_CONFIG_KEY_BYTES} bytes and not blank"),
            ));
        }
        if value.len() > MAX_CONFIG_VALUE_BYTES {
            return Err(ManagerError::invalid(
                "config",
                format!(
                    "the value of '{key}' is {} bytes, more than the limit of {MAX_CONFIG_VALUE_BYTES}",
                    value.len()
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        return "none".to_string();
    }
    items.join(", ")
}
