//! One Boston routing decision in a fresh sandbox against the same rules
//! called natively, plus the sandbox setup on its own.
//!
//! Run: `cargo bench -p civic311-plugin-host --bench routing`.

use std::collections::BTreeMap;
use std::hint::black_box;

use civic311_domain::Channel;
use civic311_domain::routing::{AttributeValue, DepartmentRef, LocalTime, RouteInput};
use civic311_plugin_host::{HostConfig, PluginHost};
use criterion::{Criterion, criterion_group, criterion_main};

/// Builds a graffiti report on a bike lane. It takes Boston's longest rule
/// path: the attribute lookup, then the table.
fn boston_input() -> RouteInput {
    let departments = ["PWDx", "BTDT", "ISD", "PARK", "PROP", "INFO", "GEN_"]
        .map(|code| DepartmentRef {
            code: code.to_string(),
            name: format!("Department {code}"),
        })
        .to_vec();

    RouteInput {
        service_code: "pwd-graffiti".to_string(),
        service_name: "PWD Graffiti".to_string(),
        service_group: Some("highway-maintenance".to_string()),
        default_department: "PWDx".to_string(),
        description: "Tags sprayed across the bike lane on Massachusetts Avenue".to_string(),
        lat: Some(42.3467),
        long: Some(-71.0872),
        address: Some("400 Massachusetts Ave, Boston, MA 02115".to_string()),
        attributes: vec![AttributeValue {
            code: "surface".to_string(),
            values: vec!["bike-lane".to_string()],
        }],
        channel: Channel::MobileApp,
        received_local: LocalTime {
            year: 2026,
            month: 1,
            day: 21,
            hour: 13,
            minute: 47,
            weekday: 2,
        },
        after_hours: false,
        departments,
        settings: BTreeMap::new(),
    }
}

/// Calls the rules as the component does, starting from the domain input,
/// so both sides include the conversion of the request.
fn route_natively(input: &RouteInput) -> boston_router::rules::Decision {
    let attributes = input
        .attributes
        .iter()
        .filter_map(|answer| Some((answer.code.as_str(), answer.values.first()?.as_str())))
        .collect();
    let request = boston_router::rules::Request {
        service_code: &input.service_code,
        default_department: &input.default_department,
        description: &input.description,
        attributes,
    };
    boston_router::rules::route_request(&request)
}

fn routing(criterion: &mut Criterion) {
    let host = PluginHost::new(HostConfig::default()).expect("create plugin host");
    let wasm = civic311_bundled_plugins::bundled("boston-router").expect("boston-router is bundled");
    let plugin = host.load("boston-router", wasm).expect("load boston-router");
    let input = boston_input();

    let sandboxed = host.route(&plugin, &input).expect("sandboxed decision");
    let native = route_natively(&input);
    assert_eq!(sandboxed.department, native.department);
    assert_eq!(sandboxed.queue, native.queue);

    let mut group = criterion.benchmark_group("boston_route");
    group.bench_function("sandboxed", |bencher| {
        bencher.iter(|| host.route(&plugin, black_box(&input)).expect("sandboxed decision"))
    });
    group.bench_function("native", |bencher| bencher.iter(|| route_natively(black_box(&input))));
    group.bench_function("sandbox_setup_only", |bencher| {
        bencher.iter(|| host.instantiate_only(&plugin).expect("instantiate"))
    });
    group.finish();
}

criterion_group!(benches, routing);
criterion_main!(benches);
