//! Precompiled artifacts: `precompile`, `compatibility_hash` and `load_precompiled`.

use civic311_plugin_host::{HostConfig, PluginError, PluginHost};

use crate::{departments, request};

fn haverhill() -> &'static [u8] {
    civic311_bundled_plugins::bundled("haverhill-router").unwrap()
}

#[test]
fn compatibility_hash_is_stable_across_hosts() {
    let first = PluginHost::new(HostConfig::default()).unwrap();
    let second = PluginHost::new(HostConfig::default()).unwrap();

    assert_eq!(first.compatibility_hash(), second.compatibility_hash());
    assert_eq!(first.compatibility_hash().len(), 64);
    assert!(first.compatibility_hash().chars().all(|c| c.is_ascii_hexdigit()));
}

/// An artifact made by one host loads in another without compiling and
/// routes like the component it came from.
#[test]
fn precompiled_artifact_loads_in_second_host() {
    let builder = PluginHost::new(HostConfig::default()).unwrap();
    let artifact = builder.precompile(haverhill()).unwrap();
    let digest = builder.inspect("haverhill-router", haverhill()).unwrap().digest;
    let node = PluginHost::new(HostConfig::default()).unwrap();
    let mut input = request("pothole", "dpw-highway");
    input.departments = departments(&["dpw-highway", "mayor-311"]);

    let plugin = node.load_precompiled("haverhill-router", &digest, &artifact).unwrap();
    let decision = node.route(&plugin, &input).unwrap();

    assert_eq!(plugin.digest(), digest);
    assert_eq!(decision.department, "dpw-highway");
    assert_eq!(decision.queue.as_deref(), Some("pothole-unassigned"));
}

#[test]
fn load_precompiled_rejects_component_bytes() {
    let host = PluginHost::new(HostConfig::default()).unwrap();

    let error = host.load_precompiled("haverhill-router", "not-a-cached-digest", haverhill()).unwrap_err();

    assert!(matches!(error, PluginError::Platform { .. }), "{error}");
    assert!(error.to_string().contains("precompile the component again"), "{error}");
}

#[test]
fn precompile_rejects_core_module() {
    let host = PluginHost::new(HostConfig::default()).unwrap();
    let core_module = wat::parse_str("(module)").unwrap();

    let error = host.precompile(&core_module).unwrap_err();

    assert!(matches!(error, PluginError::InvalidComponent { .. }), "{error}");
}
