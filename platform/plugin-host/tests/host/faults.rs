//! Each misbehaviour of the fault-injector plugin, followed by a good call on
//! the same host to show that the failure stayed inside its sandbox.

use std::time::Duration;

use civic311_domain::routing::RouteInput;
use civic311_plugin_host::{HostConfig, PluginError, PluginHost};

use crate::{config_with, departments, host, load_bundled, load_fault_injector, request, settings};

fn fault_request(fault: &str) -> RouteInput {
    let mut input = request("pothole", "dpw-highway");
    input.departments = departments(&["dpw-highway", "mayor-311"]);
    input.settings = settings(&[("fault", fault)]);
    input
}

/// Routes a Haverhill pothole on `host` and checks that it succeeds.
fn assert_good_call_succeeds(host: &PluginHost) {
    let haverhill = load_bundled(host, "haverhill-router");
    let mut input = request("pothole", "dpw-highway");
    input.departments = departments(&["dpw-highway", "mayor-311"]);

    let decision = host.route(&haverhill, &input).expect("good call after a fault");

    assert_eq!(decision.department, "dpw-highway");
    assert_eq!(decision.queue.as_deref(), Some("pothole-unassigned"));
}

/// With a fuel budget that would take minutes to burn, the epoch deadline
/// stops the loop.
#[test]
fn loop_times_out() {
    let host = host();
    let plugin = load_fault_injector(&host);

    let error = host.route(&plugin, &fault_request("loop")).unwrap_err();

    let PluginError::Timeout { plugin: name, limit } = &error else {
        panic!("expected Timeout, got {error}")
    };
    assert_eq!(name, "fault-injector");
    assert_eq!(*limit, Duration::from_millis(200));
    assert_eq!(error.blame(), "plugin");
    assert_good_call_succeeds(&host);
}

/// With a small fuel budget and a wall-time limit far beyond what that
/// budget lasts, fuel stops the loop first.
#[test]
fn loop_exhausts_small_fuel_budget() {
    let config = config_with(2_000_000, Duration::from_secs(60));
    let host = PluginHost::new(config).unwrap();
    let plugin = load_fault_injector(&host);

    let error = host.route(&plugin, &fault_request("loop")).unwrap_err();

    let PluginError::FuelExhausted { plugin: name, fuel } = &error else {
        panic!("expected FuelExhausted, got {error}")
    };
    assert_eq!(name, "fault-injector");
    assert_eq!(*fuel, 2_000_000);
    assert_good_call_succeeds(&host);
}

/// The wall-time limit is generous here so that only the memory limit can stop the plugin.
#[test]
fn grow_memory_hits_memory_limit() {
    let config = config_with(1_000_000_000_000, Duration::from_secs(60));
    let host = PluginHost::new(config).unwrap();
    let plugin = load_fault_injector(&host);

    let error = host.route(&plugin, &fault_request("grow-memory")).unwrap_err();

    let PluginError::MemoryLimit {
        plugin: name,
        limit_bytes,
    } = &error
    else {
        panic!("expected MemoryLimit, got {error}")
    };
    assert_eq!(name, "fault-injector");
    assert_eq!(*limit_bytes, 16 << 20);
    assert_good_call_succeeds(&host);
}

/// Under the default limits too, the memory limit and not the fuel budget
/// stops the plugin. The wall-time limit is raised so that a slow machine
/// cannot turn this into a timeout.
#[test]
fn grow_memory_default_limits() {
    let config = config_with(HostConfig::default().defaults.fuel, Duration::from_secs(60));
    let host = PluginHost::new(config).unwrap();
    let plugin = load_fault_injector(&host);

    let error = host.route(&plugin, &fault_request("grow-memory")).unwrap_err();

    assert!(matches!(error, PluginError::MemoryLimit { .. }), "{error}");
}

#[test]
fn trap_is_reported_as_trap() {
    let host = host();
    let plugin = load_fault_injector(&host);

    let error = host.route(&plugin, &fault_request("trap")).unwrap_err();

    let PluginError::Trap { plugin: name, message } = &error else {
        panic!("expected Trap, got {error}")
    };
    assert_eq!(name, "fault-injector");
    assert!(message.contains("unreachable"), "{message}");
    assert_good_call_succeeds(&host);
}

/// The host returns the bogus department as is; rejecting a department
/// that the tenant does not have is the server's check.
#[test]
fn wrong_department_is_returned() {
    let host = host();
    let plugin = load_fault_injector(&host);

    let decision = host.route(&plugin, &fault_request("wrong-department")).unwrap();

    assert_eq!(decision.department, fault_injector::WRONG_DEPARTMENT);
    assert_good_call_succeeds(&host);
}

/// Rust's std imports WASI for the environment, so the plugin loads, but the
/// host links every import outside the router world as a trap.
#[test]
fn wasi_import_call_traps() {
    let host = host();
    let plugin = load_fault_injector(&host);

    let error = host.route(&plugin, &fault_request("read-environment")).unwrap_err();

    let PluginError::Trap { plugin: name, message } = &error else {
        panic!("expected Trap, got {error}")
    };
    assert_eq!(name, "fault-injector");
    assert!(message.contains("wasi:cli/environment"), "{message}");
    assert_good_call_succeeds(&host);
}

#[test]
fn fault_none_routes_to_default() {
    let host = host();
    let plugin = load_fault_injector(&host);

    let decision = host.route(&plugin, &fault_request("none")).unwrap();

    assert_eq!(decision.department, "dpw-highway");
}

#[test]
fn unknown_fault_is_rejected() {
    let host = host();
    let plugin = load_fault_injector(&host);

    let error = host.route(&plugin, &fault_request("explode")).unwrap_err();

    assert!(matches!(error, PluginError::Rejected { .. }), "{error}");
    assert!(error.to_string().contains("invalid fault 'explode'"), "{error}");
}

#[test]
fn faults_in_turn_leave_host_usable() {
    let host = host();
    let plugin = load_fault_injector(&host);

    for fault in ["trap", "grow-memory", "trap", "loop", "wrong-department"] {
        let _ = host.route(&plugin, &fault_request(fault));
        assert_good_call_succeeds(&host);
    }
}
