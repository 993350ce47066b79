//! The real `civic311` binary: tenant apply, API keys, help text and serve.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use civic311_store::test_support::TestDatabase;
use civic311_tests::{civic311_bin, copy_tenant, tenants_dir, write_fault_tenant};
use serde_json::json;

fn civic311(database_url: &str, args: &[&str]) -> Output {
    Command::new(civic311_bin!())
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("CIVIC311_DATA_DIR", key_folder())
        .env("RUST_LOG", "warn")
        .output()
        .expect("the civic311 binary runs")
}

/// Returns the folder of the platform key for this test process. Without
/// it a command on PostgreSQL would create `./data/platform.key` in the
/// source tree, which is the working directory of the tests.
fn key_folder() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("civic311-cli-tests-{}", std::process::id()))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn apply(database_url: &str, dir: &Path) -> Output {
    civic311(database_url, &["tenant", "apply", dir.to_str().expect("UTF-8 path")])
}

#[tokio::test]
async fn tenant_apply_creates_then_is_unchanged() {
    let database = TestDatabase::create().await;
    let haverhill = tenants_dir().join("haverhill");

    let first = apply(&database.url, &haverhill);
    assert!(first.status.success(), "stderr: {}", stderr(&first));
    assert!(stdout(&first).starts_with("created: tenant haverhill"), "{}", stdout(&first));

    let second = apply(&database.url, &haverhill);
    assert!(second.status.success(), "stderr: {}", stderr(&second));
    assert!(stdout(&second).starts_with("unchanged: tenant haverhill"), "{}", stdout(&second));
}

#[tokio::test]
async fn tenant_apply_reports_changed_manifest_as_updated() {
    let database = TestDatabase::create().await;
    let folder = tempfile::tempdir().expect("temporary folder");
    let haverhill = copy_tenant(&tenants_dir().join("haverhill"), folder.path());
    assert!(apply(&database.url, &haverhill).status.success());

    let tenant_file = haverhill.join("tenant.toml");
    let text = std::fs::read_to_string(&tenant_file).expect("read tenant.toml");
    std::fs::write(&tenant_file, text.replace("name = \"City of Haverhill\"", "name = \"City of Haverhill, MA\""))
        .expect("write tenant.toml");
    let updated = apply(&database.url, &haverhill);

    assert!(updated.status.success(), "stderr: {}", stderr(&updated));
    assert!(stdout(&updated).starts_with("updated: tenant haverhill"), "{}", stdout(&updated));
}

#[tokio::test]
async fn broken_manifest_exits_2_naming_file_and_field() {
    let database = TestDatabase::create().await;
    let folder = tempfile::tempdir().expect("temporary folder");
    let haverhill = copy_tenant(&tenants_dir().join("haverhill"), folder.path());
    let tenant_file = haverhill.join("tenant.toml");
    let text = std::fs::read_to_string(&tenant_file).expect("read tenant.toml");
    std::fs::write(&tenant_file, text.replace("America/New_York", "Eastern Time")).expect("write tenant.toml");

    let output = apply(&database.url, &haverhill);

    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains(tenant_file.to_str().expect("UTF-8 path")), "{message}");
    assert!(message.contains("`time_zone`"), "{message}");
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
}

#[tokio::test]
async fn broken_telephony_table_exits_2() {
    let database = TestDatabase::create().await;
    let folder = tempfile::tempdir().expect("temporary folder");
    let haverhill = copy_tenant(&tenants_dir().join("haverhill"), folder.path());
    let tenant_file = haverhill.join("tenant.toml");
    let mut text = std::fs::read_to_string(&tenant_file).expect("read tenant.toml");
    text.push_str("\n[telephony.bogus_section]\nvalue = 1\n");
    std::fs::write(&tenant_file, text).expect("write tenant.toml");

    let output = apply(&database.url, &haverhill);

    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("`telephony"), "{message}");
    assert!(message.contains("bogus_section"), "{message}");
}

#[tokio::test]
async fn invalid_abandon_treatment_names_full_field() {
    let database = TestDatabase::create().await;
    let folder = tempfile::tempdir().expect("temporary folder");
    let haverhill = copy_tenant(&tenants_dir().join("haverhill"), folder.path());
    let tenant_file = haverhill.join("tenant.toml");
    let text = std::fs::read_to_string(&tenant_file).expect("read tenant.toml");
    assert!(text.contains("abandon_treatment = \"offered\""), "Haverhill sets its abandon treatment");
    std::fs::write(&tenant_file, text.replace("abandon_treatment = \"offered\"", "abandon_treatment = \"ignored\""))
        .expect("write tenant.toml");

    let output = apply(&database.url, &haverhill);

    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("field `telephony.metrics.abandon_treatment`"), "{message}");
    assert!(message.contains("`offered`, `removed`, `positive`"), "{message}");
}

#[tokio::test]
async fn serve_with_broken_manifest_exits_2() {
    let database = TestDatabase::create().await;
    let folder = tempfile::tempdir().expect("temporary folder");
    let boston = copy_tenant(&tenants_dir().join("boston"), folder.path());
    let services_file = boston.join("services.toml");
    let text = std::fs::read_to_string(&services_file).expect("read services.toml");
    std::fs::write(&services_file, text.replacen("department = \"PWDx\"", "department = \"PWD\"", 1))
        .expect("write services.toml");

    let output = civic311(
        &database.url,
        &["serve", "--bind", "127.0.0.1:0", "--tenants", folder.path().to_str().expect("UTF-8 path")],
    );

    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains(services_file.to_str().expect("UTF-8 path")), "{message}");
    assert!(message.contains(".department`"), "{message}");
}

/// Copies Haverhill's folder under `parent` with its `[routing] plugin` set to `plugin`.
fn haverhill_with_router(parent: &Path, plugin: &str) -> std::path::PathBuf {
    let haverhill = copy_tenant(&tenants_dir().join("haverhill"), parent);
    let tenant_file = haverhill.join("tenant.toml");
    let text = std::fs::read_to_string(&tenant_file).expect("read tenant.toml");
    assert!(text.contains("plugin = \"haverhill-router\""), "Haverhill names its bundled router");
    std::fs::write(&tenant_file, text.replace("plugin = \"haverhill-router\"", &format!("plugin = \"{plugin}\"")))
        .expect("write tenant.toml");
    haverhill
}

#[tokio::test]
async fn unknown_router_plugin_exits_2() {
    let database = TestDatabase::create().await;
    let folder = tempfile::tempdir().expect("temporary folder");
    let haverhill = haverhill_with_router(folder.path(), "no-such-router");

    let output = apply(&database.url, &haverhill);

    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains(haverhill.join("tenant.toml").to_str().expect("UTF-8 path")), "{message}");
    assert!(message.contains("field `routing.plugin`"), "{message}");
    assert!(message.contains("'no-such-router'"), "{message}");
    assert!(message.contains("haverhill-router, boston-router"), "{message}");
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));

    let valid = apply(&database.url, &tenants_dir().join("haverhill"));
    assert!(valid.status.success(), "stderr: {}", stderr(&valid));
    assert!(stdout(&valid).starts_with("created: tenant haverhill"), "the rejected apply stored the tenant: {}", stdout(&valid));
}

#[tokio::test]
async fn serve_with_unknown_router_plugin_exits_2() {
    let database = TestDatabase::create().await;
    let folder = tempfile::tempdir().expect("temporary folder");
    haverhill_with_router(folder.path(), "no-such-router");

    let output = civic311(
        &database.url,
        &["serve", "--bind", "127.0.0.1:0", "--tenants", folder.path().to_str().expect("UTF-8 path")],
    );

    assert_eq!(output.status.code(), Some(2), "stderr: {}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("field `routing.plugin`"), "{message}");
    assert!(message.contains("'no-such-router'"), "{message}");
}

#[tokio::test]
async fn router_plugin_file_must_load() {
    let database = TestDatabase::create().await;
    let folder = tempfile::tempdir().expect("temporary folder");
    let tenant = write_fault_tenant(folder.path(), "none");
    let plugin_file = civic311_bundled_plugins::test_plugin_path("fault-injector");
    let plugin_path = tenant.join(plugin_file.file_name().expect("plugin file name"));

    let loadable = apply(&database.url, &tenant);
    std::fs::write(&plugin_path, b"not a component").expect("overwrite the plugin");
    let not_component = apply(&database.url, &tenant);
    std::fs::remove_file(&plugin_path).expect("remove the plugin");
    let missing = apply(&database.url, &tenant);

    assert!(loadable.status.success(), "stderr: {}", stderr(&loadable));
    assert!(stdout(&loadable).starts_with("created: tenant fault-none"), "{}", stdout(&loadable));

    assert_eq!(not_component.status.code(), Some(2), "stderr: {}", stderr(&not_component));
    let message = stderr(&not_component);
    assert!(message.contains("field `routing.plugin`"), "{message}");
    assert!(message.contains("failed to load as a router component"), "{message}");

    assert_eq!(missing.status.code(), Some(2), "stderr: {}", stderr(&missing));
    let message = stderr(&missing);
    assert!(message.contains("field `routing.plugin`"), "{message}");
    assert!(message.contains("cannot read plugin file"), "{message}");
    assert!(message.contains(plugin_path.to_str().expect("UTF-8 path")), "{message}");
}

#[tokio::test]
async fn missing_manifest_folder_exits_2() {
    let database = TestDatabase::create().await;
    let folder = tempfile::tempdir().expect("temporary folder");

    let output = apply(&database.url, &folder.path().join("nowhere"));

    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("tenant.toml"), "{}", stderr(&output));
}

#[tokio::test]
async fn api_key_authenticates_staff_post() {
    let database = TestDatabase::create().await;
    assert!(apply(&database.url, &tenants_dir().join("haverhill")).status.success());

    let output = civic311(&database.url, &["api-key", "create", "--tenant", "haverhill", "--name", "call-center", "--scope", "staff"]);
    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let printed = stdout(&output);
    let key = printed.lines().last().expect("at least one line").trim().to_string();
    assert!(printed.ends_with(&format!("{key}\n")), "nothing follows the key: {printed:?}");
    assert!(printed.contains("scope staff"), "{printed}");
    assert!(key.len() >= 32, "key {key:?} is too short");

    let unknown = civic311(&database.url, &["api-key", "create", "--tenant", "springfield", "--name", "x"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("springfield"), "{}", stderr(&unknown));

    let server = civic311_tests::TestServer::start_with_key_folder(&tenants_dir(), database, Some(&key_folder())).await;
    let body = json!({
        "service_code": "pothole",
        "lat": 42.7762,
        "long": -71.0773,
        "attributes": { "size": "small" },
    });
    let (status, created) = server.staff_post("haverhill", &key, "/requests", &body).await;
    assert_eq!(status, 201, "{created}");
    let (status, _) = server.staff_post("haverhill", "c311_wrong", "/requests", &body).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn api_key_scope_defaults_to_open311() {
    let database = TestDatabase::create().await;
    assert!(apply(&database.url, &tenants_dir().join("haverhill")).status.success());

    let output = civic311(&database.url, &["api-key", "create", "--tenant", "haverhill", "--name", "web portal"]);
    let invalid = civic311(&database.url, &["api-key", "create", "--tenant", "haverhill", "--name", "x", "--scope", "owner"]);

    assert!(output.status.success(), "stderr: {}", stderr(&output));
    let printed = stdout(&output);
    assert!(printed.contains("scope open311"), "{printed}");
    let key = printed.lines().last().expect("at least one line").trim().to_string();
    assert_eq!(invalid.status.code(), Some(2), "stderr: {}", stderr(&invalid));
    assert!(stderr(&invalid).contains("'owner'"), "{}", stderr(&invalid));
    assert!(stderr(&invalid).contains("open311, staff, admin"), "{}", stderr(&invalid));

    let server = civic311_tests::TestServer::start_with_key_folder(&tenants_dir(), database, Some(&key_folder())).await;
    let stored = server.tenant("haverhill").store.verify_api_key(&key).await.expect("key lookup");
    assert_eq!(stored.map(|record| record.scope), Some(civic311_store::ApiKeyScope::Open311));
    let body = json!({
        "service_code": "pothole",
        "lat": 42.7762,
        "long": -71.0773,
        "attributes": { "size": "small" },
    });
    let (status, reply) = server.staff_post("haverhill", &key, "/requests", &body).await;
    assert_eq!(status, 403, "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap_or_default().contains("--scope staff"), "{reply}");
}

#[test]
fn api_key_help_explains_scopes() {
    let output = Command::new(civic311_bin!())
        .args(["api-key", "create", "--help"])
        .output()
        .expect("the civic311 binary runs");

    assert!(output.status.success(), "{}", stderr(&output));
    let help = stdout(&output);
    assert!(help.contains("--scope <SCOPE>"), "{help}");
    assert!(help.contains("[default: open311]"), "{help}");
    assert!(help.contains("open311: Submits Open311 service requests (POST requests.json) only"), "{help}");
    assert!(help.contains("staff:"), "{help}");
    assert!(help.contains("telephony call routes"), "{help}");
    assert!(help.contains("admin:"), "{help}");
    assert!(help.contains("plugin admin API"), "{help}");
}

#[tokio::test]
async fn import_requests_prints_report() {
    let database = TestDatabase::create().await;
    let boston = tenants_dir().join("boston");
    assert!(apply(&database.url, &boston).status.success());
    let mapping = boston.join("import-mapping.toml");
    let csv = civic311_tests::boston_csv();
    let args = [
        "import",
        "requests",
        "--tenant",
        "boston",
        "--mapping",
        mapping.to_str().expect("UTF-8 path"),
        csv.to_str().expect("UTF-8 path"),
    ];

    let first = civic311(&database.url, &args);
    assert!(first.status.success(), "stderr: {}", stderr(&first));
    let report = stdout(&first);
    assert!(report.contains("rows: 100\n"), "{report}");
    assert!(report.contains("inserted: 100\n"), "{report}");
    assert!(report.contains("skipped: 0\n"), "{report}");

    let second = civic311(&database.url, &args);
    assert!(second.status.success(), "stderr: {}", stderr(&second));
    let report = stdout(&second);
    assert!(report.contains("inserted: 0\n"), "{report}");
    assert!(report.contains("already present: 100\n"), "{report}");
}

#[tokio::test]
async fn import_for_unknown_tenant_fails() {
    let database = TestDatabase::create().await;
    let csv = civic311_tests::boston_csv();
    let mapping = tenants_dir().join("boston/import-mapping.toml");
    let args = [
        "import",
        "requests",
        "--tenant",
        "springfield",
        "--mapping",
        mapping.to_str().expect("UTF-8 path"),
        csv.to_str().expect("UTF-8 path"),
    ];

    let output = civic311(&database.url, &args);

    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("tenant 'springfield' not found"), "{}", stderr(&output));
}

#[test]
fn help_of_each_subcommand_lists_its_options() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["--help"], &["serve", "tenant", "api-key", "import", "--database-url", "--log-format"]),
        (&["serve", "--help"], &["--bind", "--tenants", "--database-url"]),
        (&["tenant", "apply", "--help"], &["<DIR>", "tenant.toml"]),
        (&["api-key", "create", "--help"], &["--tenant", "--name", "--scope"]),
        (&["import", "requests", "--help"], &["--tenant", "--mapping", "--reroute", "<CSV>"]),
    ];

    for (args, expected) in cases {
        let output = Command::new(civic311_bin!()).args(*args).output().expect("the civic311 binary runs");
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        let help = stdout(&output);
        for option in *expected {
            assert!(help.contains(option), "{args:?} help lacks {option}:\n{help}");
        }
    }
}

#[tokio::test]
async fn serve_answers_healthz_and_stops_on_sigterm() {
    let database = TestDatabase::create().await;
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a probe port");
        probe.local_addr().expect("probe address").port()
    };
    let bind = format!("127.0.0.1:{port}");

    let mut child = Command::new(civic311_bin!())
        .args(["--log-format", "json", "serve", "--bind", &bind])
        .args(["--tenants", tenants_dir().to_str().expect("UTF-8 path")])
        .env("DATABASE_URL", &database.url)
        .env("CIVIC311_DATA_DIR", key_folder())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("civic311 serve starts");

    let client = reqwest::Client::new();
    let mut healthy = false;
    // Start-up compiles two plugins; poll until the port responds or the
    // process exits, with a cap so a hung start fails the test.
    for _ in 0..600 {
        if let Ok(response) = client.get(format!("http://{bind}/healthz")).send().await {
            assert_eq!(response.status().as_u16(), 200);
            assert_eq!(response.text().await.expect("body"), "ok");
            healthy = true;
            break;
        }
        if child.try_wait().expect("poll the child").is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    let output = child.wait_with_output().expect("civic311 serve exits");
    let log = stderr(&output);

    assert!(healthy, "serve never answered /healthz:\n{log}");
    assert!(sent.success());
    assert!(output.status.success(), "serve exited with {:?}:\n{log}", output.status);
    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("log line is not JSON ({error}): {line}")))
        .collect();
    let message = |text: &str| events.iter().find(|event| event["fields"]["message"] == text).cloned();

    let started = message("civic311 server started").unwrap_or_else(|| panic!("no start line in:\n{log}"));
    assert_eq!(started["fields"]["bind"], bind.as_str());
    assert!(started["fields"]["backend"].is_string(), "{started}");
    let tenants = started["fields"]["tenants"].as_str().unwrap_or("");
    assert!(tenants.contains("boston"), "{started}");
    assert!(tenants.contains("haverhill"), "{started}");
    assert!(message("SIGTERM received; draining in-flight requests").is_some(), "{log}");
    assert!(message("civic311 server stopped").is_some(), "{log}");
}

#[tokio::test]
async fn serve_with_invalid_platform_config_names_field() {
    let database = TestDatabase::create().await;
    let folder = tempfile::tempdir().expect("temporary folder");
    let config = folder.path().join("platform.toml");
    std::fs::write(&config, "[defaults]\nwall_time_ms = 60000\n").expect("write platform.toml");

    let output = civic311(
        &database.url,
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--tenants",
            tenants_dir().to_str().expect("UTF-8 path"),
            "--platform-config",
            config.to_str().expect("UTF-8 path"),
        ],
    );

    assert_eq!(output.status.code(), Some(1), "stderr: {}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("defaults.wall_time_ms"), "{message}");
    assert!(message.contains("maxima.wall_time_ms = 30000"), "{message}");
}

#[tokio::test]
async fn import_and_report_read_platform_config() {
    let database = TestDatabase::create().await;
    let boston = tenants_dir().join("boston");
    assert!(apply(&database.url, &boston).status.success());
    let folder = tempfile::tempdir().expect("temporary folder");
    let config = folder.path().join("platform.toml");
    std::fs::write(&config, "[defaults]\nwall_time_ms = 60000\n").expect("write platform.toml");
    let config_arg = config.to_str().expect("UTF-8 path");
    let mapping = boston.join("import-mapping.toml");
    let csv = civic311_tests::boston_csv();
    let import = [
        "import",
        "requests",
        "--tenant",
        "boston",
        "--mapping",
        mapping.to_str().expect("UTF-8 path"),
        "--reroute",
        csv.to_str().expect("UTF-8 path"),
    ];
    let report = [
        "report",
        "cost-share",
        "--plugin",
        "viewpermit-integration",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--cost",
        "100",
    ];

    for command in [&import[..], &report[..]] {
        let output = civic311(&database.url, &[command, &["--platform-config", config_arg]].concat());

        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "civic311 {}: {message}", command.join(" "));
        assert!(message.contains(&format!("invalid platform settings file {config_arg}")), "{message}");
        assert!(message.contains("defaults.wall_time_ms"), "{message}");
    }
    let imported = civic311(&database.url, &import);
    assert!(imported.status.success(), "stderr: {}", stderr(&imported));
    assert!(stdout(&imported).contains("inserted: 100\n"), "{}", stdout(&imported));
}
