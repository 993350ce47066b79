//! The plugins that ship inside the Civic311 binary, the two cities' routers
//! and the Maintstar and ViewPermit integrations, built from `plugins/` for
//! wasm32-wasip2 by this crate's build script.

use std::path::PathBuf;

/// Directory of the plugin build's output, set by the build script.
const PLUGIN_DIR: &str = env!("CIVIC311_PLUGIN_DIR");

const HAVERHILL_ROUTER: &[u8] = include_bytes!(concat!(env!("CIVIC311_PLUGIN_DIR"), "/haverhill_router.wasm"));
const BOSTON_ROUTER: &[u8] = include_bytes!(concat!(env!("CIVIC311_PLUGIN_DIR"), "/boston_router.wasm"));
const MAINTSTAR_INTEGRATION: &[u8] = include_bytes!(concat!(env!("CIVIC311_PLUGIN_DIR"), "/maintstar_integration.wasm"));
const VIEWPERMIT_INTEGRATION: &[u8] = include_bytes!(concat!(env!("CIVIC311_PLUGIN_DIR"), "/viewpermit_integration.wasm"));

/// Names of the production plugins that [`bundled`] returns, routers and integrations.
pub const BUNDLED_NAMES: &[&str] = &[
    "haverhill-router",
    "boston-router",
    "maintstar-integration",
    "viewpermit-integration",
];

/// Names of the bundled routers, which a tenant manifest's `routing.plugin` may name.
pub const BUNDLED_ROUTERS: &[&str] = &["haverhill-router", "boston-router"];

/// Names of the bundled integrations, which export `sync-request` instead of `route`.
pub const BUNDLED_INTEGRATIONS: &[&str] = &["maintstar-integration", "viewpermit-integration"];

/// Returns the component bytes of the bundled plugin `name`, or `None` when
/// no production plugin has that name.
pub fn bundled(name: &str) -> Option<&'static [u8]> {
    match name {
        "haverhill-router" => Some(HAVERHILL_ROUTER),
        "boston-router" => Some(BOSTON_ROUTER),
        "maintstar-integration" => Some(MAINTSTAR_INTEGRATION),
        "viewpermit-integration" => Some(VIEWPERMIT_INTEGRATION),
        _ => None,
    }
}

/// Returns the path of the built `.wasm` of a plugin crate that is not
/// bundled, such as `fault-injector` or `capability-probe`, for tests that
/// load it from a file.
/// The path is the build machine's, so it is only valid where this crate was built.
pub fn test_plugin_path(name: &str) -> PathBuf {
    PathBuf::from(PLUGIN_DIR).join(format!("{}.wasm", name.replace('-', "_")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first eight bytes of a component binary: magic, then version 0x0d
    /// with layer 1.
    const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

    #[test]
    fn bundled_names_are_components() {
        for name in BUNDLED_NAMES {
            let bytes = bundled(name).unwrap();
            assert_eq!(bytes[..8], COMPONENT_HEADER, "{name}");
        }
    }

    #[test]
    fn bundled_excludes_test_plugins() {
        assert!(bundled("fault-injector").is_none());
        assert!(bundled("capability-probe").is_none());
    }

    #[test]
    fn bundled_names_split_by_hook() {
        let mut split: Vec<&str> = BUNDLED_ROUTERS.iter().chain(BUNDLED_INTEGRATIONS).copied().collect();
        let mut all = BUNDLED_NAMES.to_vec();
        split.sort_unstable();
        all.sort_unstable();
        assert_eq!(split, all);
    }

    #[test]
    fn test_plugin_path_points_at_capability_probe() {
        let bytes = std::fs::read(test_plugin_path("capability-probe")).unwrap();
        assert_eq!(bytes[..8], COMPONENT_HEADER);
    }

    #[test]
    fn test_plugin_path_points_at_fault_injector() {
        let bytes = std::fs::read(test_plugin_path("fault-injector")).unwrap();
        assert_eq!(bytes[..8], COMPONENT_HEADER);
    }
}
