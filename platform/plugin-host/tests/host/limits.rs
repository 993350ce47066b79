//! Per-call limits from `CallContext`: fuel, memory, wall time and output
//! size overrides, and what `CallReport` measures.

use std::time::Duration;

use civic311_domain::plugin::LimitOverrides;
use civic311_domain::routing::RouteInput;
use civic311_plugin_host::{CallContext, CallLimits, HostConfig, PluginError, PluginHost};

use crate::{departments, host, load_bundled, load_fault_injector, request, settings};

fn fault_request(fault: &str) -> RouteInput {
    let mut input = request("pothole", "dpw-highway");
    input.settings = settings(&[("fault", fault)]);
    input
}

fn limits(overrides: LimitOverrides) -> CallLimits {
    HostConfig::default().limits_for(&overrides).unwrap()
}

#[test]
fn fuel_override_is_honoured() {
    let host = host();
    let plugin = load_fault_injector(&host);
    let call = CallContext::without_capabilities(limits(LimitOverrides {
        fuel: Some(3_000_000),
        wall_time_ms: Some(30_000),
        ..LimitOverrides::default()
    }));

    let report = host.route_with(&plugin, &fault_request("loop"), &call);

    let error = report.result.unwrap_err();
    assert!(matches!(error, PluginError::FuelExhausted { fuel: 3_000_000, .. }), "{error}");
    assert_eq!(report.fuel_used, 3_000_000);
}

#[test]
fn memory_override_is_honoured() {
    let host = host();
    let plugin = load_fault_injector(&host);
    let call = CallContext::without_capabilities(limits(LimitOverrides {
        memory_bytes: Some(8 << 20),
        wall_time_ms: Some(30_000),
        ..LimitOverrides::default()
    }));

    let error = host.route_with(&plugin, &fault_request("grow-memory"), &call).result.unwrap_err();

    assert!(matches!(error, PluginError::MemoryLimit { limit_bytes, .. } if limit_bytes == 8 << 20), "{error}");
}

/// A memory override above the default but within the maximum lets a
/// plugin grow past the default limit.
#[test]
fn memory_override_above_default_allowed() {
    let host = host();
    let plugin = load_fault_injector(&host);
    let call = CallContext::without_capabilities(limits(LimitOverrides {
        memory_bytes: Some(48 << 20),
        fuel: Some(100_000_000),
        wall_time_ms: Some(30_000),
        ..LimitOverrides::default()
    }));

    let error = host.route_with(&plugin, &fault_request("grow-memory"), &call).result.unwrap_err();

    assert!(matches!(error, PluginError::MemoryLimit { limit_bytes, .. } if limit_bytes == 48 << 20), "{error}");
}

#[test]
fn wall_time_override_is_honoured() {
    let host = host();
    let plugin = load_fault_injector(&host);
    let call = CallContext::without_capabilities(CallLimits {
        fuel: 1_000_000_000_000,
        wall_time: Duration::from_millis(50),
        ..HostConfig::default().defaults
    });

    let error = host.route_with(&plugin, &fault_request("loop"), &call).result.unwrap_err();

    assert!(matches!(error, PluginError::Timeout { limit, .. } if limit == Duration::from_millis(50)), "{error}");
}

#[test]
fn output_size_limit_rejects_decision() {
    let host = host();
    let plugin = load_fault_injector(&host);
    let call = CallContext::without_capabilities(limits(LimitOverrides {
        max_output_bytes: Some(40),
        ..LimitOverrides::default()
    }));

    let error = host.route_with(&plugin, &fault_request("none"), &call).result.unwrap_err();

    let PluginError::InvalidOutput { message, .. } = &error else {
        panic!("expected InvalidOutput, got {error}")
    };
    assert!(message.contains("more than the limit of 40 bytes"), "{message}");
}

#[test]
fn report_measures_good_call() {
    let host = host();
    let plugin = load_bundled(&host, "haverhill-router");
    let mut input = request("pothole", "dpw-highway");
    input.departments = departments(&["dpw-highway", "mayor-311"]);
    let call = CallContext::without_capabilities(HostConfig::default().defaults);

    let report = host.route_with(&plugin, &input, &call);

    assert_eq!(report.result.unwrap().department, "dpw-highway");
    assert!(report.fuel_used > 0);
    assert!(report.fuel_used < 100_000, "{}", report.fuel_used);
    assert!(report.duration > Duration::ZERO);
    assert_eq!(report.dropped_log_lines, 0);
}

#[test]
fn limit_override_above_maximum_rejected() {
    let overrides = LimitOverrides {
        memory_bytes: Some(65 << 20),
        ..LimitOverrides::default()
    };

    let error = HostConfig::default().limits_for(&overrides).unwrap_err();

    assert!(
        matches!(error, PluginError::LimitAboveMaximum { field: "memory_bytes", value, maximum } if value == 65 << 20 && maximum == 64 << 20),
        "{error}"
    );
}

#[test]
fn routes_differ_per_host_config() {
    let strict = PluginHost::new(HostConfig {
        defaults: CallLimits {
            fuel: 1_000,
            ..HostConfig::default().defaults
        },
        ..HostConfig::default()
    })
    .unwrap();
    let plugin = load_bundled(&strict, "haverhill-router");

    let error = strict.route(&plugin, &request("pothole", "dpw-highway")).unwrap_err();

    assert!(matches!(error, PluginError::FuelExhausted { fuel: 1_000, .. }), "{error}");
}
