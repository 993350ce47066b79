//! Upload validation with `PluginHost::inspect`: what it rejects, with which
//! error, and what it reports about valid components.

use civic311_domain::plugin::{Capability, Grants, Hook};
use civic311_plugin_host::{HostConfig, PluginError, PluginHost};

use crate::{host, read_test_plugin};

fn bundled(name: &str) -> &'static [u8] {
    civic311_bundled_plugins::bundled(name).unwrap_or_else(|| panic!("{name} is not bundled"))
}

#[test]
fn inspect_rejects_text_file() {
    let error = host().inspect("notes", b"not a component at all").unwrap_err();

    assert!(matches!(error, PluginError::InvalidComponent { .. }), "{error}");
    assert!(error.to_string().contains("magic bytes"), "{error}");
    assert_eq!(error.kind(), "invalid_component");
}

#[test]
fn inspect_rejects_core_module() {
    let core_module = wat::parse_str("(module (func (export \"route\")))").unwrap();

    let error = host().inspect("core-module", &core_module).unwrap_err();

    assert!(matches!(error, PluginError::InvalidComponent { .. }), "{error}");
    assert!(error.to_string().contains("core WebAssembly module"), "{error}");
}

#[test]
fn inspect_rejects_component_of_no_known_world() {
    let component = wat::parse_str(
        r#"(component
            (core module $m (func (export "hello")))
            (core instance $i (instantiate $m))
            (func $hello (canon lift (core func $i "hello")))
            (export "hello" (func $hello)))"#,
    )
    .unwrap();

    let error = host().inspect("greeter", &component).unwrap_err();

    let PluginError::WrongWorld { plugin, message } = &error else {
        panic!("expected WrongWorld, got {error}")
    };
    assert_eq!(plugin, "greeter");
    assert!(message.contains("`hello`"), "{message}");
    assert!(message.contains("`route`"), "{message}");
}

#[test]
fn inspect_rejects_component_exporting_nothing() {
    let component = wat::parse_str("(component)").unwrap();

    let error = host().inspect("empty", &component).unwrap_err();

    assert!(matches!(error, PluginError::WrongWorld { .. }), "{error}");
    assert!(error.to_string().contains("exports nothing"), "{error}");
}

/// A component that imports an interface outside the policy, here a
/// made-up `acme:evil/exfiltrate`, is rejected naming the import.
#[test]
fn inspect_rejects_unsupported_import() {
    let component = wat::parse_str(
        r#"(component
            (import "acme:evil/exfiltrate@1.0.0" (instance $evil
                (export "send" (func (param "n" u32)))))
            (core module $m (func (export "route")))
            (core instance $i (instantiate $m))
            (func $route (canon lift (core func $i "route")))
            (export "route" (func $route)))"#,
    )
    .unwrap();

    let error = host().inspect("exfiltrator", &component).unwrap_err();

    let PluginError::UnsupportedImport { plugin, import } = &error else {
        panic!("expected UnsupportedImport, got {error}")
    };
    assert_eq!(plugin, "exfiltrator");
    assert_eq!(import, "acme:evil/exfiltrate@1.0.0");
    assert_eq!(error.kind(), "unsupported_import");
}

#[test]
fn inspect_rejects_component_over_size_limit() {
    let config = HostConfig {
        max_component_bytes: 1_000,
        ..HostConfig::default()
    };
    let host = PluginHost::new(config).unwrap();
    let wasm = bundled("haverhill-router");

    let error = host.inspect("haverhill-router", wasm).unwrap_err();

    let PluginError::TooLarge { size, limit, .. } = &error else {
        panic!("expected TooLarge, got {error}")
    };
    assert_eq!(*size, wasm.len());
    assert_eq!(*limit, 1_000);
}

#[test]
fn inspect_accepts_plain_router() {
    let wasm = bundled("haverhill-router");

    let inspection = host().inspect("haverhill-router", wasm).unwrap();

    assert_eq!(inspection.hook, Hook::Router);
    assert_eq!(inspection.world, "router");
    assert!(inspection.capabilities.is_empty());
    assert!(inspection.wasi_imports.is_empty(), "{:?}", inspection.wasi_imports);
    assert_eq!(inspection.size_bytes, wasm.len());
    assert_eq!(inspection.digest.len(), 64);
}

#[test]
fn inspect_lists_wasi_imports_of_std_plugin() {
    let wasm = read_test_plugin("fault-injector");

    let inspection = host().inspect("fault-injector", &wasm).unwrap();

    assert_eq!(inspection.world, "router");
    assert!(
        inspection.wasi_imports.iter().any(|name| name.starts_with("wasi:cli/environment@0.2")),
        "{:?}",
        inspection.wasi_imports
    );
}

#[test]
fn inspect_reports_capability_router() {
    let wasm = read_test_plugin("capability-probe");

    let inspection = host().inspect("capability-probe", &wasm).unwrap();

    assert_eq!(inspection.hook, Hook::Router);
    assert_eq!(inspection.world, "router-with-capabilities");
    assert_eq!(inspection.capabilities, Capability::ALL.to_vec());
}

/// The Maintstar integration calls logs, secrets and HTTP but not the
/// key-value store, and its component imports only those three interfaces.
#[test]
fn inspect_reports_only_used_capabilities() {
    let inspection = host().inspect("maintstar-integration", bundled("maintstar-integration")).unwrap();

    assert_eq!(inspection.hook, Hook::Integration);
    assert_eq!(inspection.world, "integration");
    assert_eq!(inspection.capabilities, vec![Capability::Logs, Capability::Secrets, Capability::Http]);
}

#[test]
fn check_grants_rejects_missing_grant() {
    let host = host();
    let wasm = read_test_plugin("capability-probe");
    let inspection = host.inspect("capability-probe", &wasm).unwrap();
    let grants = Grants {
        logs: true,
        ..Grants::default()
    };

    let error = PluginHost::check_grants("capability-probe", &inspection, &grants).unwrap_err();

    let PluginError::NotGranted { plugin, capability } = &error else {
        panic!("expected NotGranted, got {error}")
    };
    assert_eq!(plugin, "capability-probe");
    assert_eq!(*capability, Capability::Kv);
    assert!(error.to_string().contains("--grant kv"), "{error}");
}

#[test]
fn check_grants_accepts_full_grant() {
    let host = host();
    let wasm = read_test_plugin("capability-probe");
    let inspection = host.inspect("capability-probe", &wasm).unwrap();
    let grants = Grants {
        logs: true,
        kv: true,
        secrets: true,
        http_hosts: vec!["127.0.0.1".to_string()],
    };

    assert!(PluginHost::check_grants("capability-probe", &inspection, &grants).is_ok());
}

#[test]
fn inspect_then_load_reuses_compilation() {
    let host = host();
    let wasm = bundled("viewpermit-integration");

    let inspection = host.inspect("viewpermit-integration", wasm).unwrap();
    let plugin = host.load("viewpermit-integration", wasm).unwrap();

    assert_eq!(plugin.digest(), inspection.digest);
    assert_eq!(plugin.hook(), Hook::Integration);
    assert_eq!(plugin.capabilities(), inspection.capabilities.as_slice());
}

/// A capability import whose functions do not match the WIT interface fails
/// to link, so the upload is rejected before any call.
#[test]
fn inspect_rejects_mistyped_capability_import() {
    let component = wat::parse_str(
        r#"(component
            (import "civic311:plugins/log@0.1.0" (instance $log
                (export "write" (func (param "n" u32)))))
            (core module $m (func (export "route")))
            (core instance $i (instantiate $m))
            (func $route (canon lift (core func $i "route")))
            (export "route" (func $route)))"#,
    )
    .unwrap();

    let error = host().inspect("mistyped", &component).unwrap_err();

    let PluginError::WrongWorld { message, .. } = &error else {
        panic!("expected WrongWorld, got {error}")
    };
    assert!(message.contains("civic311:plugins/log@0.1.0"), "{message}");
}
