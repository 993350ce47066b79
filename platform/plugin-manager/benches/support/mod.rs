//! Shared setup of the plugin platform benches: a fresh SQLite database
//! with tenants, a plugin manager on it, the plugins under `plugins/`, the
//! Boston request that every router call routes, latency summaries and the
//! machine description printed with each result.

#![allow(dead_code, reason = "each bench binary uses a different part of this module")]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use civic311_domain::Channel;
use civic311_domain::plugin::{Grants, Hook, LimitOverrides};
use civic311_domain::routing::{AttributeValue, DepartmentRef, LocalTime, RouteInput};
use civic311_plugin_host::{HostConfig, PluginHost};
use civic311_plugin_manager::{BreakerConfig, InstallRequest, ManagerConfig, PluginManager, PluginSource, Upload};
use civic311_store::test_support::sample_manifest;
use civic311_store::{Store, TenantId};

/// Actor of every lifecycle change that a bench makes.
pub const ACTOR: &str = "bench@civic311";

/// Departments of the Boston tenant that the boston-router names.
pub const BOSTON_DEPARTMENTS: &[&str] = &["PWDx", "BTDT", "ISD", "PARK", "PROP", "INFO", "GEN_"];

/// Catalogue integration that the benches install beside each router.
pub const INTEGRATION: &str = "maintstar-integration";

/// Connects a store to a new SQLite file `civic311.db` in `folder`.
pub async fn sqlite_store(folder: &Path) -> Store {
    let url = format!("sqlite://{}?mode=rwc", folder.join("civic311.db").display());
    Store::connect(&url)
        .await
        .unwrap_or_else(|error| panic!("connect the bench database {url}: {error}"))
}

/// Creates tenant `slug` from the sample manifest and returns its id.
pub async fn create_tenant(store: &Store, slug: &str) -> TenantId {
    let manifest = sample_manifest(slug, &format!("{slug}.example.gov"));
    let (tenant, _) = store
        .apply_tenant(&manifest)
        .await
        .unwrap_or_else(|error| panic!("apply tenant {slug}: {error}"));
    tenant.id
}

/// Starts a plugin manager on `store` with a plugin host of the default
/// limits, one node alone, its platform key file in `data_dir`.
pub async fn start_manager(store: Store, data_dir: &Path, breaker: BreakerConfig) -> PluginManager {
    let host = Arc::new(PluginHost::new(HostConfig::default()).expect("create plugin host"));
    let config = ManagerConfig { data_dir: data_dir.to_path_buf(), breaker, ..ManagerConfig::default() };
    PluginManager::start(store, host, config).await.expect("start plugin manager")
}

/// Returns the bytes of a production plugin bundled in the binary.
pub fn bundled(name: &str) -> Vec<u8> {
    civic311_bundled_plugins::bundled(name)
        .unwrap_or_else(|| panic!("{name} is not bundled"))
        .to_vec()
}

/// Returns the bytes of a test plugin built from `plugins/`, such as `fault-injector`.
pub fn test_plugin(name: &str) -> Vec<u8> {
    let path = civic311_bundled_plugins::test_plugin_path(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

/// Returns `wasm` with a custom section `name` holding `payload` appended.
/// The component stays valid and behaves the same, but its SHA-256 digest
/// changes, so the host and the manager compile it as a new component.
pub fn with_custom_section(wasm: &[u8], name: &str, payload: &[u8]) -> Vec<u8> {
    let mut content = Vec::new();
    write_leb128(&mut content, name.len());
    content.extend_from_slice(name.as_bytes());
    content.extend_from_slice(payload);

    let mut out = wasm.to_vec();
    out.push(0x00);
    write_leb128(&mut out, content.len());
    out.extend_from_slice(&content);
    out
}

/// Appends `value` as an unsigned LEB128 number, the integer encoding of section sizes.
fn write_leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Uploads `wasm` as the tenant's private plugin `name` and returns its version number.
pub async fn upload(manager: &PluginManager, tenant: TenantId, name: &str, wasm: Vec<u8>) -> i32 {
    let upload = Upload { name: name.to_string(), wasm, description: None, actor: ACTOR.to_string() };
    let uploaded = manager
        .upload(tenant, upload)
        .await
        .unwrap_or_else(|error| panic!("upload {name}: {error}"));
    uploaded.version.version
}

/// Installs plugin `name` on `hook` for the tenant with `grants` and the default limits.
pub async fn install(manager: &PluginManager, tenant: TenantId, hook: Hook, name: &str, source: PluginSource, grants: Grants) {
    let request = InstallRequest {
        hook,
        plugin_name: name.to_string(),
        source,
        grants,
        limits: LimitOverrides::default(),
        config: BTreeMap::new(),
    };
    manager
        .install(tenant, request, ACTOR)
        .await
        .unwrap_or_else(|error| panic!("install {name}: {error}"));
}

/// Activates version `version` of the tenant's install of `name` on `hook`.
pub async fn activate(manager: &PluginManager, tenant: TenantId, hook: Hook, name: &str, version: i32) {
    manager
        .activate(tenant, hook, name, version, ACTOR)
        .await
        .unwrap_or_else(|error| panic!("activate {name} version {version}: {error}"));
}

/// Uploads, installs and activates `wasm` as the tenant's router `name`.
pub async fn active_router(manager: &PluginManager, tenant: TenantId, name: &str, wasm: Vec<u8>) {
    let version = upload(manager, tenant, name, wasm).await;
    install(manager, tenant, Hook::Router, name, PluginSource::Tenant, Grants::default()).await;
    activate(manager, tenant, Hook::Router, name, version).await;
}

/// Publishes bundled plugin `name` to the catalogue as version 1; call once per database.
pub async fn publish_integration(manager: &PluginManager, name: &str) {
    let upload = Upload { name: name.to_string(), wasm: bundled(name), description: None, actor: ACTOR.to_string() };
    manager
        .publish(upload)
        .await
        .unwrap_or_else(|error| panic!("publish {name}: {error}"));
}

/// Installs and activates version 1 of catalogue integration `name` for the
/// tenant, with the grants the bundled integrations import.
pub async fn active_integration(manager: &PluginManager, tenant: TenantId, name: &str) {
    let grants = Grants { logs: true, kv: true, secrets: true, http_hosts: vec!["127.0.0.1".to_string()] };
    install(manager, tenant, Hook::Integration, name, PluginSource::Catalogue, grants).await;
    activate(manager, tenant, Hook::Integration, name, 1).await;
}

/// Builds a graffiti report on a bike lane, the input of the plugin-host
/// routing bench: the boston-router's longest rule path.
pub fn boston_input() -> RouteInput {
    RouteInput {
        service_code: "pwd-graffiti".to_string(),
        service_name: "PWD Graffiti".to_string(),
        service_group: Some("highway-maintenance".to_string()),
        default_department: "PWDx".to_string(),
        description: "Tags sprayed across the bike lane on Massachusetts Avenue".to_string(),
        lat: Some(42.3467),
        long: Some(-71.0872),
        address: Some("400 Massachusetts Ave, Boston, MA 02115".to_string()),
        attributes: vec![AttributeValue { code: "surface".to_string(), values: vec!["bike-lane".to_string()] }],
        channel: Channel::MobileApp,
        received_local: LocalTime { year: 2026, month: 1, day: 21, hour: 13, minute: 47, weekday: 2 },
        after_hours: false,
        departments: BOSTON_DEPARTMENTS
            .iter()
            .map(|code| DepartmentRef { code: code.to_string(), name: format!("Department {code}") })
            .collect(),
        settings: BTreeMap::new(),
    }
}

/// Department that the boston-router returns for [`boston_input`]:
/// graffiti on a bike lane goes to transportation.
pub const BOSTON_DEPARTMENT: &str = "BTDT";

/// Returns the Boston input with the fault-injector's `fault` setting.
pub fn fault_input(fault: &str) -> RouteInput {
    let mut input = boston_input();
    input.settings.insert("fault".to_string(), fault.to_string());
    input
}

/// Order statistics of a set of durations.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub count: usize,
    pub min: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub mean: Duration,
}

impl Summary {
    /// Summarizes `samples` with nearest-rank percentiles; panics when empty.
    pub fn of(samples: &[Duration]) -> Summary {
        assert!(!samples.is_empty(), "no samples to summarize");
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();

        let total: Duration = sorted.iter().sum();
        let count = sorted.len();
        Summary {
            count,
            min: sorted[0],
            p50: nearest_rank(&sorted, 50.0),
            p99: nearest_rank(&sorted, 99.0),
            max: sorted[count - 1],
            mean: total / u32::try_from(count).expect("sample count fits in u32"),
        }
    }
}

/// Returns the nearest-rank `percent` percentile of sorted, non-empty `sorted`.
fn nearest_rank(sorted: &[Duration], percent: f64) -> Duration {
    let rank = (percent / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Formats a duration in microseconds with one decimal.
pub fn micros(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}

/// Formats a duration in milliseconds with one decimal.
pub fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

/// Prints the machine, the toolchain and the load average, so that a
/// recorded figure carries the conditions it was measured in.
pub fn print_machine() {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = read_field("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".to_string());
    let memory = read_field("/proc/meminfo", "MemTotal").unwrap_or_else(|| "unknown".to_string());
    println!("machine: {cpus} CPUs ({model}), memory {memory}");
    println!("rustc: {}", rustc_version());
    print_load("at start");
}

/// Prints the 1, 5 and 15 minute load averages.
pub fn print_load(when: &str) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let averages: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("load average {when}: {}", averages.join(" "));
}

/// Returns the value after the first `key:` line of a `/proc` file.
fn read_field(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|line| line.starts_with(key))
        .and_then(|line| line.split_once(':'))
        .map(|(_, value)| value.trim().to_string())
}

fn rustc_version() -> String {
    std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Returns the resident set size of this process in KiB (`VmRSS` of `/proc/self/status`).
pub fn resident_kib() -> u64 {
    status_kib("VmRSS")
}

/// Returns the peak resident set size of this process in KiB (`VmHWM`).
pub fn peak_resident_kib() -> u64 {
    status_kib("VmHWM")
}

fn status_kib(key: &str) -> u64 {
    let value = read_field("/proc/self/status", key).unwrap_or_else(|| panic!("no {key} in /proc/self/status"));
    let number = value.trim_end_matches("kB").trim();
    number.parse().unwrap_or_else(|error| panic!("{key} '{value}' is not a number of kB: {error}"))
}

/// Formats KiB as MiB with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}
