//! Inspection of an uploaded component: its hook and world from its
//! exports, and its imports checked against the platform's import policy.
//!
//! The policy: each import is either a capability interface
//! `civic311:plugins/{log,kv,secrets,http}@0.1.x`, or a `wasi:*@0.2.x`
//! interface, which Rust's std links and the host satisfies with functions
//! that trap. Anything else is rejected, naming the import.

use civic311_domain::plugin::{Capability, Grants, Hook};
use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use crate::error::PluginError;

/// The facts about a component that an upload stores beside its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    /// Hex SHA-256 of the component bytes.
    pub digest: String,
    pub hook: Hook,
    /// `router`, `router-with-capabilities` or `integration`.
    pub world: String,
    /// Capabilities the component imports, in [`Capability::ALL`] order.
    pub capabilities: Vec<Capability>,
    /// WASI interfaces the component imports, such as `wasi:cli/environment@0.2.6`.
    pub wasi_imports: Vec<String>,
    pub size_bytes: usize,
}

/// Namespace and package of the capability interfaces.
const CAPABILITY_PACKAGE: &str = "civic311:plugins/";

/// Version prefix of the capability interfaces that the host links.
const CAPABILITY_VERSION_PREFIX: &str = "0.1.";

/// Version prefix of the WASI interfaces that the host stubs.
const WASI_VERSION_PREFIX: &str = "0.2.";

/// Name of the router world's export.
const ROUTE_EXPORT: &str = "route";

/// Name of the integration world's export.
const SYNC_REQUEST_EXPORT: &str = "sync-request";

/// The imports of a component, sorted by the policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Imports {
    pub(crate) capabilities: Vec<Capability>,
    pub(crate) wasi: Vec<String>,
}

/// Classifies every import of `component`, rejecting the first one outside the policy.
pub(crate) fn read_imports(plugin: &str, engine: &Engine, component: &Component) -> Result<Imports, PluginError> {
    let mut imports = Imports::default();
    let component_type = component.component_type();

    for (name, item) in component_type.imports(engine) {
        let is_instance = matches!(item.ty, ComponentItem::ComponentInstance(_));
        match classify_import(name) {
            Some(ImportKind::Capability(capability)) if is_instance => imports.capabilities.push(capability),
            Some(ImportKind::Wasi) if is_instance => imports.wasi.push(name.to_string()),
            _ => {
                return Err(PluginError::UnsupportedImport {
                    plugin: plugin.to_string(),
                    import: name.to_string(),
                });
            }
        }
    }

    imports.capabilities.sort();
    imports.capabilities.dedup();
    Ok(imports)
}

enum ImportKind {
    Capability(Capability),
    Wasi,
}

fn classify_import(name: &str) -> Option<ImportKind> {
    let (path, version) = name.split_once('@')?;

    if let Some(interface) = path.strip_prefix(CAPABILITY_PACKAGE) {
        if !version.starts_with(CAPABILITY_VERSION_PREFIX) {
            return None;
        }
        return Capability::from_interface(interface).map(ImportKind::Capability);
    }

    if path.starts_with("wasi:") && version.starts_with(WASI_VERSION_PREFIX) {
        return Some(ImportKind::Wasi);
    }
    None
}

/// Decides the hook from the exports: `route` makes a router, `sync-request`
/// an integration. Both or neither is [`PluginError::WrongWorld`].
pub(crate) fn read_hook(plugin: &str, engine: &Engine, component: &Component) -> Result<Hook, PluginError> {
    let component_type = component.component_type();
    let exports: Vec<(&str, bool)> = component_type
        .exports(engine)
        .map(|(name, item)| (name, matches!(item.ty, ComponentItem::ComponentFunc(_))))
        .collect();

    let exports_function = |wanted: &str| exports.iter().any(|(name, is_function)| *name == wanted && *is_function);
    match (exports_function(ROUTE_EXPORT), exports_function(SYNC_REQUEST_EXPORT)) {
        (true, false) => Ok(Hook::Router),
        (false, true) => Ok(Hook::Integration),
        (true, true) => Err(PluginError::WrongWorld {
            plugin: plugin.to_string(),
            message: "it exports both `route` and `sync-request`; a plugin implements one hook".to_string(),
        }),
        (false, false) => {
            let names: Vec<&str> = exports.iter().map(|(name, _)| *name).collect();
            let found = if names.is_empty() {
                "nothing".to_string()
            } else {
                names.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
            };
            Err(PluginError::WrongWorld {
                plugin: plugin.to_string(),
                message: format!("it exports {found}; a router exports the function `route` and an integration the function `sync-request`"),
            })
        }
    }
}

/// Returns the WIT world a component of `hook` with these capability imports implements.
pub(crate) fn world_name(hook: Hook, capabilities: &[Capability]) -> &'static str {
    match hook {
        Hook::Router if capabilities.is_empty() => "router",
        Hook::Router => "router-with-capabilities",
        Hook::Integration => "integration",
    }
}

/// Fails with [`PluginError::NotGranted`] for the first capability the
/// inspection lists that `grants` does not allow.
pub(crate) fn check_grants(plugin: &str, inspection: &Inspection, grants: &Grants) -> Result<(), PluginError> {
    match inspection.capabilities.iter().find(|capability| !grants.allows(**capability)) {
        Some(capability) => Err(PluginError::NotGranted {
            plugin: plugin.to_string(),
            capability: *capability,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str) -> Option<Capability> {
        match classify_import(name) {
            Some(ImportKind::Capability(capability)) => Some(capability),
            _ => None,
        }
    }

    #[test]
    fn classify_import_accepts_capability_interfaces() {
        assert_eq!(kind("civic311:plugins/log@0.1.0"), Some(Capability::Logs));
        assert_eq!(kind("civic311:plugins/http@0.1.3"), Some(Capability::Http));
    }

    #[test]
    fn classify_import_accepts_wasi_0_2() {
        assert!(matches!(classify_import("wasi:cli/environment@0.2.6"), Some(ImportKind::Wasi)));
        assert!(matches!(classify_import("wasi:io/streams@0.2.0"), Some(ImportKind::Wasi)));
    }

    #[test]
    fn classify_import_rejects_the_rest() {
        for name in [
            "civic311:plugins/log@0.2.0",
            "civic311:plugins/router@0.1.0",
            "civic311:plugins/filesystem@0.1.0",
            "wasi:http/outgoing-handler@0.3.0",
            "wasi:cli/environment",
            "acme:evil/exfiltrate@1.0.0",
            "route",
        ] {
            assert!(classify_import(name).is_none(), "{name} accepted");
        }
    }

    #[test]
    fn world_name_follows_hook_and_capabilities() {
        assert_eq!(world_name(Hook::Router, &[]), "router");
        assert_eq!(world_name(Hook::Router, &[Capability::Kv]), "router-with-capabilities");
        assert_eq!(world_name(Hook::Integration, &[]), "integration");
    }

    #[test]
    fn check_grants_names_missing_capability() {
        let inspection = Inspection {
            digest: "00".into(),
            hook: Hook::Integration,
            world: "integration".into(),
            capabilities: vec![Capability::Http, Capability::Secrets],
            wasi_imports: Vec::new(),
            size_bytes: 1,
        };
        let grants = Grants {
            http_hosts: vec!["api.example".into()],
            ..Grants::default()
        };

        let error = check_grants("viewpermit-integration", &inspection, &grants).unwrap_err();

        assert!(matches!(error, PluginError::NotGranted { capability: Capability::Secrets, .. }), "{error}");
        assert!(error.to_string().contains("--grant secrets"), "{error}");
    }
}
