//! What `PluginHost::load` accepts and rejects.

use civic311_plugin_host::PluginError;

use crate::host;

#[test]
fn load_rejects_core_module() {
    let host = host();
    let core_module = wat::parse_str("(module (func (export \"route\")))").unwrap();

    let error = host.load("core-module", &core_module).unwrap_err();

    let PluginError::InvalidComponent { plugin, message } = &error else {
        panic!("expected InvalidComponent, got {error}")
    };
    assert_eq!(plugin, "core-module");
    assert!(message.contains("core WebAssembly module"), "{message}");
}

#[test]
fn load_rejects_text_file() {
    let host = host();

    let error = host.load("readme", b"# Not a plugin\n").unwrap_err();

    assert!(matches!(error, PluginError::InvalidComponent { .. }), "{error}");
    assert!(error.to_string().contains("magic bytes"), "{error}");
}

#[test]
fn load_rejects_truncated_component() {
    let host = host();
    let wasm = civic311_bundled_plugins::bundled("boston-router").unwrap();

    let error = host.load("truncated", &wasm[..wasm.len() / 2]).unwrap_err();

    assert!(matches!(error, PluginError::InvalidComponent { .. }), "{error}");
}

#[test]
fn load_rejects_component_of_other_world() {
    let host = host();
    let component = wat::parse_str(
        r#"(component
            (core module $m (func (export "hello")))
            (core instance $i (instantiate $m))
            (func $hello (canon lift (core func $i "hello")))
            (export "hello" (func $hello)))"#,
    )
    .unwrap();

    let error = host.load("greeter", &component).unwrap_err();

    let PluginError::WrongWorld { plugin, message } = &error else {
        panic!("expected WrongWorld, got {error}")
    };
    assert_eq!(plugin, "greeter");
    assert!(message.contains("route"), "{message}");
}

#[test]
fn load_rejects_route_of_wrong_type() {
    let host = host();
    let component = wat::parse_str(
        r#"(component
            (core module $m (func (export "route") (param i32)))
            (core instance $i (instantiate $m))
            (func $route (param "n" u32) (canon lift (core func $i "route")))
            (export "route" (func $route)))"#,
    )
    .unwrap();

    let error = host.load("wrong-signature", &component).unwrap_err();

    assert!(matches!(error, PluginError::WrongWorld { .. }), "{error}");
}

#[test]
fn load_caches_by_digest() {
    let host = host();
    let wasm = civic311_bundled_plugins::bundled("boston-router").unwrap();

    let first = host.load("boston-router", wasm).unwrap();
    let second = host.load("boston-copy", wasm).unwrap();

    assert_eq!(first.digest(), second.digest());
    assert_eq!(first.digest().len(), 64);
    assert_eq!(second.name(), "boston-copy");
}
