//! The router plugins that ship inside the Civic311 binary, built from
//! `plugins/` for wasm32-wasip2 by this crate's build script.

use std::path::PathBuf;

/// Directory of the plugin build's output, set by the build script.
const PLUGIN_DIR: &str = env!("CIVIC311_PLUGIN_DIR");

const HAVERHILL_ROUTER: &[u8] = include_bytes!(concat!(env!("CIVIC311_PLUGIN_DIR"), "/haverhill_router.wasm"));
const BOSTON_ROUTER: &[u8] = include_bytes!(concat!(env!("CIVIC311_PLUGIN_DIR"), "/boston_router.wasm"));

/// Names of the production plugins that [`bundled`] returns, as a tenant
/// manifest's `routing.plugin` names them.
pub const BUNDLED_NAMES: &[&str] = &["haverhill-router", "boston-router"];

/// Returns the component bytes of the bundled plugin `name`, or `None` when
/// no production plugin has that name.
pub fn bundled(name: &str) -> Option<&'static [u8]> {
    match name {
        "haverhill-router" => Some(HAVERHILL_ROUTER),
        "boston-router" => Some(BOSTON_ROUTER),
        _ => None,
    }
}

/// Returns the path of the built `.wasm` of a plugin crate that is not
/// bundled, such as `fault-injector`, for tests that load it from a file.
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
    fn bundled_excludes_fault_injector() {
        assert!(bundled("fault-injector").is_none());
    }

    #[test]
    fn test_plugin_path_points_at_fault_injector() {
        let bytes = std::fs::read(test_plugin_path("fault-injector")).unwrap();
        assert_eq!(bytes[..8], COMPONENT_HEADER);
    }
}
