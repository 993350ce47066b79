//! The real `civic311 plugin` and `civic311 report cost-share` commands on
//! the database of an in-process server: upload, activate, rollback, audit,
//! dry run, logs and the cost-share report.
//!
//! The test server runs without Redis, so after a command changes an
//! install the test reloads the server's installs itself, as the server's
//! reconcile pass or a Redis event would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{Days, Utc};
use civic311_domain::plugin::Hook;
use civic311_plugin_manager::{PlatformKey, Vault};
use civic311_tests::{civic311_bin, tenants_dir, TestServer};
use serde_json::{json, Value};

/// `$USER` of every command, so the audit actor is `cli:e2e-operator`.
const OPERATOR: &str = "e2e-operator";

/// Runs `civic311 <args>` on the server's database and platform key.
fn civic311(server: &TestServer, args: &[&str]) -> Output {
    Command::new(civic311_bin!())
        .args(args)
        .env("DATABASE_URL", server.database_url())
        .env("CIVIC311_DATA_DIR", server.platform_data_dir())
        .env("USER", OPERATOR)
        .env("RUST_LOG", "warn")
        .env_remove("REDIS_URL")
        .output()
        .expect("the civic311 binary runs")
}

/// Runs a command that must succeed and returns its stdout.
fn run_ok(server: &TestServer, args: &[&str]) -> String {
    let output = civic311(server, args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "civic311 {} failed: {stderr}\nstdout: {stdout}", args.join(" "));
    stdout
}

fn plugin_file(name: &str) -> PathBuf {
    civic311_bundled_plugins::test_plugin_path(name)
}

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// Reloads every install of tenant `slug` in the server, as its reconcile
/// pass does after a command changed them.
async fn reload_installs(server: &TestServer, slug: &str) {
    let installs = server.tenant(slug).store.installs().await.expect("installs are readable");
    for install in installs {
        server.state.manager.registry().reload(install.id).await.expect("the install reloads");
    }
}

/// Submits a request through the staff API and returns its id.
async fn submit(server: &TestServer, slug: &str, key: &str, body: &Value) -> String {
    let (status, reply) = server.staff_post(slug, key, "/requests", body).await;
    assert_eq!(status, 201, "{reply}");
    reply["request"]["id"].as_str().expect("request id").to_string()
}

fn tree_blocking_road() -> Value {
    json!({
        "service_code": "tree-down",
        "description": "Oak limb across the road",
        "lat": 42.7762,
        "long": -71.0773,
        "attributes": { "blocking_road": "yes" },
    })
}

fn graffiti() -> Value {
    json!({
        "service_code": "graffiti",
        "description": "Tag on the bridge rail",
        "lat": 42.7762,
        "long": -71.0773,
        "attributes": { "offensive": "no" },
    })
}

fn boston_comment() -> Value {
    json!({
        "service_code": "general-comments-for-a-program-or-policy",
        "description": "Thanks for the new bike lanes",
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_activate_rollback_and_audit() {
    let server = TestServer::start().await;
    let fault = plugin_file("fault-injector");
    let install = ["--tenant", "haverhill", "--hook", "router", "--name", "haverhill-router"];

    let uploaded = run_ok(&server, &["plugin", "upload", "--tenant", "haverhill", "--name", "haverhill-router", path_arg(&fault)]);
    assert!(uploaded.starts_with("created: plugin haverhill-router version 2 for tenant haverhill"), "{uploaded}");
    let again = run_ok(&server, &["plugin", "upload", "--tenant", "haverhill", "--name", "haverhill-router", path_arg(&fault)]);
    assert!(again.starts_with("unchanged: plugin haverhill-router version 2"), "{again}");

    let activated = run_ok(&server, &[&["plugin", "activate"], &install[..], &["--version", "2"]].concat());
    assert_eq!(activated.trim(), "activated: router/haverhill-router of tenant haverhill from version 1 to version 2");
    let shown: Value = serde_json::from_str(&run_ok(&server, &[&["plugin", "show"], &install[..]].concat())).expect("show prints JSON");
    assert_eq!(shown["active_version"]["version"], 2, "{shown}");

    reload_installs(&server, "haverhill").await;
    let key = server.api_key("haverhill").await;
    let (_, routed) = server.staff_post("haverhill", &key, "/requests", &tree_blocking_road()).await;
    assert_eq!(routed["request"]["department"], "dpw-parks", "version 2 routes to the default department: {routed}");

    let rolled_back = run_ok(&server, &[&["plugin", "rollback"], &install[..]].concat());
    assert_eq!(rolled_back.trim(), "rolled back: router/haverhill-router of tenant haverhill from version 2 to version 1");

    let audit = run_ok(&server, &["plugin", "audit", "--tenant", "haverhill", "--name", "haverhill-router", "--format", "json"]);
    let entries: Value = serde_json::from_str(&audit).expect("audit prints JSON");
    let entries = entries.as_array().expect("a list");
    let activate = entries.iter().find(|entry| entry["action"] == "activate" && entry["to_version"] == 2).expect("activate entry");
    assert_eq!(activate["actor"], "cli:e2e-operator");
    assert_eq!(activate["from_version"], 1);
    let rollback = entries.iter().find(|entry| entry["action"] == "rollback").expect("rollback entry");
    assert_eq!(rollback["actor"], "cli:e2e-operator");
    assert_eq!(rollback["from_version"], 2);
    assert_eq!(rollback["to_version"], 1);

    let text = run_ok(&server, &["plugin", "audit", "--tenant", "haverhill"]);
    assert!(text.contains("cli:e2e-operator  router/haverhill-router  rollback v2 -> v1"), "{text}");

    let listed = run_ok(&server, &["plugin", "list", "--tenant", "haverhill"]);
    assert!(listed.contains("haverhill-router v2 (tenant, router,"), "{listed}");
    assert!(listed.contains("router/haverhill-router: active v1"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_without_history_fails() {
    let server = TestServer::start().await;

    let output = civic311(&server, &["plugin", "rollback", "--tenant", "haverhill", "--hook", "router", "--name", "haverhill-router"]);

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot roll back plugin 'haverhill-router'"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_table_and_json() {
    let server = TestServer::start().await;
    let key = server.api_key("haverhill").await;
    let tree = submit(&server, "haverhill", &key, &tree_blocking_road()).await;
    let wall = submit(&server, "haverhill", &key, &graffiti()).await;
    run_ok(&server, &["plugin", "upload", "--tenant", "haverhill", path_arg(&plugin_file("fault-injector"))]);
    let installed = run_ok(&server, &["plugin", "install", "--tenant", "haverhill", "--hook", "router", "--name", "fault-injector"]);
    assert!(installed.starts_with("installed: router/fault-injector for tenant haverhill"), "{installed}");
    let dry_run = ["plugin", "dry-run", "--tenant", "haverhill", "--name", "fault-injector", "--version", "1", "--request", &tree, "--request", &wall];

    let table = run_ok(&server, &dry_run);

    let tree_row = table.lines().find(|line| line.starts_with(&format!("{tree} "))).unwrap_or_else(|| panic!("no row of {tree}: {table}"));
    assert!(tree_row.contains("dpw-highway/urgent/on-call"), "{tree_row}");
    assert!(tree_row.contains("dpw-parks/normal"), "{tree_row}");
    assert!(tree_row.trim_end().ends_with("changed"), "{tree_row}");
    let wall_row = table.lines().find(|line| line.starts_with(&format!("{wall} "))).unwrap_or_else(|| panic!("no row of {wall}: {table}"));
    assert!(!wall_row.contains("changed"), "{wall_row}");
    assert!(
        table.contains(&format!("{tree}: department: dpw-highway -> dpw-parks; priority: urgent -> normal; queue: on-call -> none")),
        "{table}"
    );
    assert!(table.trim_end().ends_with("1 of 2 decisions would change"), "{table}");

    let json_text = run_ok(&server, &[&dry_run[..], &["--format", "json"]].concat());
    let report: Value = serde_json::from_str(&json_text).expect("dry-run prints JSON");
    assert_eq!(report["changed_count"], 1);
    assert_eq!(report["total"], 2);
    assert_eq!(report["rows"][0]["changes"][0], "department: dpw-highway -> dpw-parks");

    let last = run_ok(&server, &["plugin", "dry-run", "--tenant", "haverhill", "--name", "fault-injector", "--version", "1", "--last", "2"]);
    assert!(last.trim_end().ends_with("1 of 2 decisions would change"), "{last}");
}

/// Writes a copy of Haverhill's tenant folder with slug `probe-city` whose
/// routing settings select the capability probe's `log` probe.
fn write_log_probe_tenant(parent: &Path) {
    let dir = parent.join("probe-city");
    std::fs::create_dir_all(&dir).expect("create the tenant folder");
    let source = tenants_dir().join("haverhill");
    std::fs::copy(source.join("services.toml"), dir.join("services.toml")).expect("copy services.toml");

    let text = std::fs::read_to_string(source.join("tenant.toml")).expect("read Haverhill's tenant.toml");
    let mut manifest: toml::Table = text.parse().expect("Haverhill's tenant.toml is valid TOML");
    manifest.insert("slug".into(), "probe-city".into());
    manifest.insert("name".into(), "Probe City".into());
    manifest.insert("jurisdiction_id".into(), "probe-city.test".into());
    manifest.remove("telephony");
    let routing = manifest.get_mut("routing").and_then(|routing| routing.as_table_mut()).expect("a [routing] table");
    let settings = routing.get_mut("settings").and_then(|settings| settings.as_table_mut()).expect("a [routing.settings] table");
    settings.insert("probe".into(), "log".into());

    std::fs::write(dir.join("tenant.toml"), toml::to_string(&manifest).expect("serialize the manifest")).expect("write tenant.toml");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_show_plugin_lines() {
    let folder = tempfile::tempdir().expect("temporary folder");
    write_log_probe_tenant(folder.path());
    let server = TestServer::start_with_tenants(folder.path()).await;
    let install = ["--tenant", "probe-city", "--hook", "router", "--name", "probe"];

    run_ok(&server, &["plugin", "upload", "--tenant", "probe-city", "--name", "probe", path_arg(&plugin_file("capability-probe"))]);
    let grants = ["--grant", "logs", "--grant", "kv", "--grant", "secrets", "--allow-host", "127.0.0.1"];
    run_ok(&server, &[&["plugin", "install"], &install[..], &grants[..]].concat());
    run_ok(&server, &[&["plugin", "activate"], &install[..], &["--version", "1"]].concat());
    reload_installs(&server, "probe-city").await;

    let key = server.api_key("probe-city").await;
    let request = submit(&server, "probe-city", &key, &graffiti()).await;
    server.state.manager.flush().await;

    let logs = run_ok(&server, &[&["plugin", "logs"], &install[..]].concat());
    let line = logs.lines().next().unwrap_or_else(|| panic!("no log line: {logs}"));
    assert!(line.contains("v1"), "{line}");
    assert!(line.contains("info"), "{line}");
    assert!(line.contains(&request), "{line}");
    assert!(line.ends_with("probe log line"), "{line}");

    let json_text = run_ok(&server, &[&["plugin", "logs"], &install[..], &["--format", "json", "--limit", "1"]].concat());
    let lines: Value = serde_json::from_str(&json_text).expect("logs print JSON");
    assert_eq!(lines.as_array().expect("a list").len(), 1);
    assert_eq!(lines[0]["message"], "probe log line");
}

/// Publishes the fault plugin to the catalogue as `shared-router` and
/// makes it the active router of Haverhill and Boston.
async fn share_router(server: &TestServer) {
    let published = run_ok(server, &["plugin", "upload", "--catalogue", "--name", "shared-router", path_arg(&plugin_file("fault-injector"))]);
    assert!(published.starts_with("created: plugin shared-router version 1 for the catalogue"), "{published}");

    for slug in ["haverhill", "boston"] {
        let install = ["--tenant", slug, "--hook", "router", "--name", "shared-router"];
        run_ok(server, &[&["plugin", "install"], &install[..], &["--catalogue"]].concat());
        run_ok(server, &[&["plugin", "activate"], &install[..], &["--version", "1"]].concat());
        reload_installs(server, slug).await;
        let active = server.state.manager.registry().router(server.tenant(slug).id).expect("an active router");
        assert_eq!(active.version.name, "shared-router");
        assert_eq!(active.install.hook, Hook::Router);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_share_splits_by_usage_and_equally() {
    let server = TestServer::start().await;
    share_router(&server).await;
    let haverhill = server.api_key("haverhill").await;
    let boston = server.api_key("boston").await;
    submit(&server, "haverhill", &haverhill, &graffiti()).await;
    submit(&server, "haverhill", &haverhill, &graffiti()).await;
    submit(&server, "boston", &boston, &boston_comment()).await;
    server.state.manager.flush().await;

    let today = Utc::now().date_naive();
    let from = (today - Days::new(1)).to_string();
    let to = (today + Days::new(1)).to_string();
    let report = ["report", "cost-share", "--plugin", "shared-router", "--from", &from, "--to", &to];

    let csv = run_ok(&server, &[&report[..], &["--cost", "100.00", "--split", "usage", "--format", "csv"]].concat());
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "tenant,calls,work_orders,inspections,weight,share_cents,share,percent");
    assert_eq!(lines[1], "boston,1,0,0,1,3333,33.33,33.33");
    assert_eq!(lines[2], "haverhill,2,0,0,2,6667,66.67,66.67");
    assert_eq!(lines.len(), 3, "{csv}");

    let json_text = run_ok(&server, &[&report[..], &["--cost", "100.01", "--split", "equal", "--format", "json"]].concat());
    let equal: Value = serde_json::from_str(&json_text).expect("the report prints JSON");
    assert_eq!(equal["cost_cents"], 10001);
    assert_eq!(equal["split"], "equal");
    assert_eq!(equal["rows"][0]["tenant"], "boston");
    assert_eq!(equal["rows"][0]["share_cents"], 5001, "the tie goes to the first slug: {equal}");
    assert_eq!(equal["rows"][1]["tenant"], "haverhill");
    assert_eq!(equal["rows"][1]["share_cents"], 5000);

    let table = run_ok(&server, &[&report[..], &["--cost", "100"]].concat());
    assert!(table.contains("haverhill"), "{table}");
    assert!(table.lines().last().is_some_and(|line| line.starts_with("total") && line.ends_with("100.00")), "{table}");

    let output = civic311(&server, &[&report[..], &["--cost", "12.345"]].concat());
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("'12.345' is not an amount"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_metrics_and_breaker_commands() {
    let server = TestServer::start().await;
    let install = ["--tenant", "haverhill", "--hook", "router", "--name", "haverhill-router"];
    run_ok(&server, &["plugin", "upload", "--tenant", "haverhill", "--name", "haverhill-router", path_arg(&plugin_file("fault-injector"))]);

    let started = run_ok(&server, &[&["plugin", "shadow", "start"], &install[..], &["--version", "2"]].concat());
    assert!(started.starts_with("shadowing: router/haverhill-router of tenant haverhill runs version 2"), "{started}");
    reload_installs(&server, "haverhill").await;
    let key = server.api_key("haverhill").await;
    let request = submit(&server, "haverhill", &key, &tree_blocking_road()).await;
    wait_for_shadow_result(&server, &request).await;
    server.state.manager.flush().await;

    let results = run_ok(&server, &[&["plugin", "shadow", "results"], &install[..]].concat());
    let row = results.lines().find(|line| line.contains(&request)).unwrap_or_else(|| panic!("no result of {request}: {results}"));
    assert!(row.ends_with("DIFFERS"), "{row}");
    assert!(results.trim_end().ends_with("1 of 1 shown comparisons disagree"), "{results}");

    let metrics = run_ok(&server, &["plugin", "metrics", "--tenant", "haverhill", "--format", "json"]);
    let rows: Value = serde_json::from_str(&metrics).expect("metrics print JSON");
    let rows = rows.as_array().expect("a list");
    let active = rows.iter().find(|row| row["version"] == 1 && row["shadow"] == false).unwrap_or_else(|| panic!("no active row: {metrics}"));
    assert_eq!(active["count"], 1, "{metrics}");
    let shadow = rows.iter().find(|row| row["version"] == 2 && row["shadow"] == true).unwrap_or_else(|| panic!("no shadow row: {metrics}"));
    assert_eq!(shadow["count"], 1, "{metrics}");

    let stopped = run_ok(&server, &[&["plugin", "shadow", "stop"], &install[..]].concat());
    assert_eq!(stopped.trim(), "stopped shadowing: router/haverhill-router of tenant haverhill");
    let reset = run_ok(&server, &[&["plugin", "breaker", "reset"], &install[..]].concat());
    assert_eq!(reset.trim(), "reset: breaker of router/haverhill-router for tenant haverhill is closed");
}

/// Polls the shadow results of Haverhill's router until `request` has one,
/// because the shadow call runs in the background after routing.
async fn wait_for_shadow_result(server: &TestServer, request: &str) {
    let tenant = server.tenant("haverhill").id;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let results = server
            .state
            .manager
            .shadow_results(tenant, Hook::Router, "haverhill-router", 10)
            .await
            .expect("shadow results are readable");
        if results.iter().any(|result| result.request_id == request) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "no shadow result of {request} within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configure_changes_only_named_parts() {
    let server = TestServer::start_with_tenants(&tenants_dir()).await;
    let probe = plugin_file("capability-probe");
    run_ok(&server, &["plugin", "upload", "--tenant", "haverhill", "--name", "probe", path_arg(&probe)]);
    run_ok(
        &server,
        &["plugin", "install", "--tenant", "haverhill", "--hook", "router", "--name", "probe", "--grant", "logs", "--config", "probe=log"],
    );

    let stdout = run_ok(
        &server,
        &[
            "plugin", "configure", "--tenant", "haverhill", "--hook", "router", "--name", "probe", "--grant", "kv", "--grant",
            "secrets", "--wall-time-ms", "2000", "--fuel-per-second", "40000000",
        ],
    );

    assert!(stdout.contains("updated grants, limits of router/probe"), "{stdout}");
    let install = server.tenant("haverhill").store.install(Hook::Router, "probe").await.unwrap().unwrap();
    assert!(!install.grants.logs);
    assert!(install.grants.kv);
    assert!(install.grants.secrets);
    assert_eq!(install.limits.wall_time_ms, Some(2000));
    assert_eq!(install.limits.fuel_per_second, Some(40_000_000));
    assert_eq!(install.config.get("probe").map(String::as_str), Some("log"), "config was not named, so it stays");

    let nothing = civic311(&server, &["plugin", "configure", "--tenant", "haverhill", "--hook", "router", "--name", "probe"]);
    assert!(!nothing.status.success());
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("nothing to change"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configure_checks_platform_config_maxima() {
    let server = TestServer::start_with_tenants(&tenants_dir()).await;
    let probe = plugin_file("capability-probe");
    run_ok(&server, &["plugin", "upload", "--tenant", "haverhill", "--name", "probe", path_arg(&probe)]);
    run_ok(&server, &["plugin", "install", "--tenant", "haverhill", "--hook", "router", "--name", "probe"]);
    let folder = tempfile::tempdir().expect("temporary folder");
    let settings = folder.path().join("platform.toml");
    std::fs::write(&settings, "[defaults]\nfuel_per_second = 50000000\n[maxima]\nfuel_per_second = 50000000\n").expect("write platform.toml");
    let configure = ["plugin", "configure", "--tenant", "haverhill", "--hook", "router", "--name", "probe", "--fuel-per-second", "60000000"];

    let with_option = civic311(&server, &[&configure[..], &["--platform-config", path_arg(&settings)]].concat());
    let with_variable = Command::new(civic311_bin!())
        .args(configure)
        .env("DATABASE_URL", server.database_url())
        .env("CIVIC311_DATA_DIR", server.platform_data_dir())
        .env("CIVIC311_PLATFORM_CONFIG", &settings)
        .env("USER", OPERATOR)
        .env("RUST_LOG", "warn")
        .env_remove("REDIS_URL")
        .output()
        .expect("the civic311 binary runs");

    for output in [&with_option, &with_variable] {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
        assert!(stderr.contains("limit fuel_per_second = 60000000 is above the platform maximum of 50000000"), "{stderr}");
    }
    let install = server.tenant("haverhill").store.install(Hook::Router, "probe").await.unwrap().unwrap();
    assert_eq!(install.limits.fuel_per_second, None, "a rejected limit was stored");

    let without_file = run_ok(&server, &configure);
    assert!(without_file.contains("updated limits of router/probe"), "{without_file}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_key_file_not_replaced() {
    let server = TestServer::start_with_tenants(&tenants_dir()).await;
    let empty_folder = tempfile::tempdir().expect("temporary folder");
    let key_file = empty_folder.path().join("platform.key");

    let output = Command::new(civic311_bin!())
        .args(["plugin", "list", "--tenant", "haverhill"])
        .env("DATABASE_URL", server.database_url())
        .env("CIVIC311_DATA_DIR", empty_folder.path())
        .env_remove("CIVIC311_PLATFORM_KEY")
        .env("RUST_LOG", "warn")
        .env_remove("REDIS_URL")
        .output()
        .expect("the civic311 binary runs");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains(&format!("platform key file {} not found", key_file.display())), "{stderr}");
    assert!(stderr.contains("this database was set up with a platform key"), "{stderr}");
    assert!(!key_file.exists(), "a new key file was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_variable_key_names_unset() {
    let server = TestServer::start_with_tenants(&tenants_dir()).await;
    let other_key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    let output = Command::new(civic311_bin!())
        .args(["plugin", "list", "--tenant", "haverhill"])
        .env("DATABASE_URL", server.database_url())
        .env("CIVIC311_DATA_DIR", server.platform_data_dir())
        .env("CIVIC311_PLATFORM_KEY", other_key)
        .env("RUST_LOG", "warn")
        .env_remove("REDIS_URL")
        .output()
        .expect("the civic311 binary runs");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("the platform key from CIVIC311_PLATFORM_KEY differs"), "{stderr}");
    assert!(stderr.contains("or unset it so that this process reads the key from"), "{stderr}");
    assert!(stderr.contains("A lost key cannot be recovered"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_of_other_key_unreadable() {
    let server = TestServer::start_with_tenants(&tenants_dir()).await;
    let probe = plugin_file("capability-probe");
    run_ok(&server, &["plugin", "upload", "--tenant", "haverhill", "--name", "probe", path_arg(&probe)]);
    run_ok(&server, &["plugin", "install", "--tenant", "haverhill", "--hook", "router", "--name", "probe", "--grant", "secrets"]);
    let tenant = server.tenant("haverhill");
    let install = tenant.store.install(Hook::Router, "probe").await.unwrap().unwrap();
    let other_key = Vault::new(&PlatformKey::from_bytes([3; 32]));
    let sealed = other_key.seal(tenant.id, install.id, "api_key", "value-under-other-key").unwrap();
    tenant.store.set_secret(install.id, "api_key", sealed, Utc::now()).await.unwrap();
    let install_args = ["--tenant", "haverhill", "--hook", "router", "--name", "probe"];

    let listed = run_ok(&server, &[&["plugin", "secret", "list"], &install_args[..]].concat());
    let shown: Value = serde_json::from_str(&run_ok(&server, &[&["plugin", "show"], &install_args[..]].concat())).expect("show prints JSON");

    assert!(listed.starts_with("api_key  unreadable (stored "), "{listed}");
    assert!(listed.contains("set the secret again"), "{listed}");
    assert!(!listed.contains("value-under-other-key"), "{listed}");
    assert_eq!(shown["secrets"][0]["name"], "api_key");
    assert_eq!(shown["secrets"][0]["state"], "unreadable");
    assert!(shown["secrets"][0]["hint"].as_str().unwrap_or_default().contains("set the secret again"), "{shown}");
    assert!(!shown.to_string().contains("value-under-other-key"), "{shown}");
}
