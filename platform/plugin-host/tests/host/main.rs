//! The plugin host against real wasmtime running the real plugins built by
//! civic311-bundled-plugins.

mod artifacts;
mod capabilities;
mod faults;
mod inspect;
mod integrations;
mod limits;
mod load;
mod provider;
mod routers;

use std::collections::BTreeMap;
use std::time::Duration;

use civic311_domain::Channel;
use civic311_domain::routing::{AttributeValue, DepartmentRef, LocalTime, RouteInput};
use civic311_plugin_host::{CallLimits, HostConfig, LoadedPlugin, PluginHost};

/// Limits under which the good routers have ample room and a runaway loop
/// hits the wall-time limit long before the fuel budget, which would take
/// minutes to burn at any realistic speed.
fn timeout_config() -> HostConfig {
    config_with(1_000_000_000_000, Duration::from_millis(200))
}

/// Returns the default host configuration with the default fuel budget and
/// wall time replaced.
fn config_with(fuel: u64, wall_time: Duration) -> HostConfig {
    let defaults = HostConfig::default();
    HostConfig {
        defaults: CallLimits {
            fuel,
            wall_time,
            ..defaults.defaults
        },
        ..defaults
    }
}

fn host() -> PluginHost {
    PluginHost::new(timeout_config()).expect("create plugin host")
}

fn load_bundled(host: &PluginHost, name: &str) -> LoadedPlugin {
    let wasm = civic311_bundled_plugins::bundled(name).unwrap_or_else(|| panic!("{name} is not bundled"));
    host.load(name, wasm)
        .unwrap_or_else(|error| panic!("load {name}: {error}"))
}

fn load_fault_injector(host: &PluginHost) -> LoadedPlugin {
    host.load("fault-injector", &read_test_plugin("fault-injector"))
        .expect("load fault-injector")
}

/// Reads a test plugin that is built but not bundled, such as `capability-probe`.
fn read_test_plugin(name: &str) -> Vec<u8> {
    let path = civic311_bundled_plugins::test_plugin_path(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

fn departments(codes: &[&str]) -> Vec<DepartmentRef> {
    codes
        .iter()
        .map(|code| DepartmentRef {
            code: code.to_string(),
            name: format!("Department {code}"),
        })
        .collect()
}

fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

fn attribute(code: &str, value: &str) -> AttributeValue {
    AttributeValue {
        code: code.to_string(),
        values: vec![value.to_string()],
    }
}

/// Builds a request received on Wednesday 2026-12-02 at 10:30, in business hours.
fn request(service_code: &str, default_department: &str) -> RouteInput {
    RouteInput {
        service_code: service_code.to_string(),
        service_name: service_code.to_string(),
        service_group: None,
        default_department: default_department.to_string(),
        description: String::new(),
        lat: None,
        long: None,
        address: None,
        attributes: Vec::new(),
        channel: Channel::Web,
        received_local: LocalTime {
            year: 2026,
            month: 12,
            day: 2,
            hour: 10,
            minute: 30,
            weekday: 2,
        },
        after_hours: false,
        departments: Vec::new(),
        settings: BTreeMap::new(),
    }
}
