//! Two `civic311 serve` processes on one database and one Redis: a router
//! activation and a tripped circuit breaker on node A take effect on node B.
//! A restarted node keeps an admin's activation over the manifest's router.
//!
//! The database is the test database (an SQLite file, or PostgreSQL when
//! `TEST_DATABASE_URL` is set). Redis comes from `TEST_REDIS_URL`, by
//! default `redis://127.0.0.1:6379`. The propagation delay is printed, not
//! asserted; the benchmarks measure speed.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use civic311_plugin_manager::BreakerConfig;
use civic311_store::ApiKeyScope;
use civic311_store::test_support::TestDatabase;
use civic311_tests::{civic311_bin, copy_tenant, history_entry, plugin_wasm, tenants_dir, write_fault_tenant};
use serde_json::{json, Value};

/// Environment variable naming the Redis server of these tests.
const TEST_REDIS_URL: &str = "TEST_REDIS_URL";

/// Upper bound on a node's start, which compiles the tenants' router plugins.
const START_WAIT: Duration = Duration::from_secs(180);

/// Upper bound on the wait for a change on node A to show on node B.
const PROPAGATION_WAIT: Duration = Duration::from_secs(10);

/// Returns the Redis URL of the tests, and panics with the fix when no
/// server accepts connections on it.
fn redis_url() -> String {
    let url = std::env::var(TEST_REDIS_URL)
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| "redis://127.0.0.1:6379".to_string());
    let parsed = url::Url::parse(&url).unwrap_or_else(|error| panic!("{TEST_REDIS_URL} {url} is not a URL: {error}"));
    let host = parsed.host_str().unwrap_or("127.0.0.1").to_string();
    let port = parsed.port().unwrap_or(6379);

    let address = (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .unwrap_or_else(|| panic!("cannot resolve the Redis host {host}"));
    if let Err(error) = TcpStream::connect_timeout(&address, Duration::from_secs(2)) {
        panic!("Redis at {url} is unreachable ({error}); start it with `redis-server --daemonize yes` or set {TEST_REDIS_URL}");
    }
    url
}

/// Returns the platform key that both nodes share, so each verifies the other's artifacts.
fn platform_key() -> String {
    base64::engine::general_purpose::STANDARD.encode([7_u8; 32])
}

fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a probe port");
    probe.local_addr().expect("probe address").port()
}

/// One `civic311 serve` process. Dropping it stops the process.
struct Node {
    name: &'static str,
    base_url: String,
    child: Child,
    log: PathBuf,
}

impl Node {
    fn spawn(name: &'static str, database_url: &str, redis_url: &str, tenants: &Path, work: &Path) -> Node {
        let bind = format!("127.0.0.1:{}", free_port());
        let log = work.join(format!("{name}.log"));
        let log_file = std::fs::File::create(&log).expect("create the node's log file");
        let data_dir = work.join(format!("{name}-data"));

        let child = Command::new(civic311_bin!())
            .args(["serve", "--bind", &bind, "--tenants", tenants.to_str().expect("UTF-8 path")])
            .env("DATABASE_URL", database_url)
            .env("REDIS_URL", redis_url)
            .env("CIVIC311_PLATFORM_KEY", platform_key())
            .env("CIVIC311_DATA_DIR", &data_dir)
            .env("CIVIC311_NODE_ID", name)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("civic311 serve starts");

        Node {
            name,
            base_url: format!("http://{bind}"),
            child,
            log,
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `/healthz` until the node replies. Panics with its log when it
    /// exits or does not reply within [`START_WAIT`].
    async fn wait_healthy(&mut self, client: &reqwest::Client) {
        let started = Instant::now();
        while started.elapsed() < START_WAIT {
            if let Ok(response) = client.get(format!("{}/healthz", self.base_url)).send().await
                && response.status().is_success()
            {
                return;
            }
            if let Some(status) = self.child.try_wait().expect("poll the node") {
                panic!("node {} exited with {status} before answering:\n{}", self.name, self.log_text());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("node {} did not answer /healthz within {START_WAIT:?}:\n{}", self.name, self.log_text());
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts node A, then node B, so that B's start finds A's adopted router installs.
async fn start_nodes(database_url: &str, tenants: &Path, work: &Path, client: &reqwest::Client) -> (Node, Node) {
    let redis = redis_url();
    let mut node_a = Node::spawn("node-a", database_url, &redis, tenants, work);
    node_a.wait_healthy(client).await;
    let mut node_b = Node::spawn("node-b", database_url, &redis, tenants, work);
    node_b.wait_healthy(client).await;
    (node_a, node_b)
}

async fn admin_key(database: &TestDatabase, slug: &str) -> String {
    let store = database.store().await;
    let tenant = store
        .tenant_by_slug(slug)
        .await
        .expect("tenants are readable")
        .unwrap_or_else(|| panic!("tenant {slug} is stored"));
    let (_, secret) = store
        .scoped(tenant.id)
        .create_api_key_with_scope("multi-node-tests", ApiKeyScope::Admin)
        .await
        .expect("create an admin API key");
    secret
}

fn pothole() -> Value {
    json!({
        "service_code": "pothole",
        "description": "Deep pothole in the right lane",
        "lat": 42.7762,
        "long": -71.0773,
        "attributes": { "size": "medium" },
        "channel": "web",
    })
}

/// Submits a pothole request on `node` and returns the stored request with its history.
async fn submit(client: &reqwest::Client, node: &Node, slug: &str, key: &str) -> Value {
    let url = format!("{}/api/v1/tenants/{slug}/requests", node.base_url);
    let response = client.post(&url).bearer_auth(key).json(&pothole()).send().await.expect("POST reaches the node");
    let status = response.status().as_u16();
    let created: Value = response.json().await.expect("the reply is JSON");
    assert_eq!(status, 201, "POST on {} failed: {created}", node.name);

    let id = created["request"]["id"].as_str().expect("the reply carries the request id");
    let url = format!("{}/api/v1/tenants/{slug}/requests/{id}", node.base_url);
    let response = client.get(&url).bearer_auth(key).send().await.expect("GET reaches the node");
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.expect("the reply is JSON")
}

/// Returns the router version that routed `stored`, from its `routed` or `routing_failed` entry.
fn routed_version(stored: &Value) -> Option<i64> {
    history_entry(stored, "routed")
        .or_else(|| history_entry(stored, "routing_failed"))
        .and_then(|entry| entry["detail"]["version"].as_i64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_on_one_node_reaches_the_other() {
    let database = TestDatabase::create().await;
    let work = tempfile::tempdir().expect("create a temporary folder");
    let tenants = work.path().join("tenants");
    copy_tenant(&tenants_dir().join("haverhill"), &tenants);
    let client = reqwest::Client::new();
    let (node_a, node_b) = start_nodes(&database.url, &tenants, work.path(), &client).await;
    let key = admin_key(&database, "haverhill").await;

    let before = submit(&client, &node_b, "haverhill", &key).await;
    assert_eq!(routed_version(&before), Some(1), "node B routes with the manifest's version 1: {before}");

    let version = upload_and_activate(&client, &node_a, "haverhill", &key, "haverhill-router", plugin_wasm("fault-injector")).await;
    assert_eq!(version, 2);
    let activated_at = Instant::now();

    let mut observed = None;
    let mut attempts = 0;
    while activated_at.elapsed() < PROPAGATION_WAIT {
        attempts += 1;
        let stored = submit(&client, &node_b, "haverhill", &key).await;
        if routed_version(&stored) == Some(2) {
            observed = Some(activated_at.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let delay = observed.unwrap_or_else(|| {
        panic!(
            "node B still routes with version 1 after {PROPAGATION_WAIT:?} ({attempts} requests).\nnode A log:\n{}\nnode B log:\n{}",
            node_a.log_text(),
            node_b.log_text()
        )
    });
    println!("activation on node A reached node B after {delay:?} ({attempts} requests)");
    assert_reloaded_from_node_a(&node_b);
}

/// Checks that node B reloaded on an event that node A published through
/// Redis, not only on its periodic reconcile pass over the database.
fn assert_reloaded_from_node_a(node_b: &Node) {
    let log = node_b.log_text();
    let reload = log
        .lines()
        .find(|line| line.contains("reloading a plugin install changed on another node") && line.contains("node-a"));
    assert!(reload.is_some(), "node B logged no reload on node A's event:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tripped_breaker_reaches_the_other_node() {
    let database = TestDatabase::create().await;
    let work = tempfile::tempdir().expect("create a temporary folder");
    let tenants = work.path().join("tenants");
    std::fs::create_dir_all(&tenants).expect("create the tenants folder");
    write_fault_tenant(&tenants, "trap");
    let client = reqwest::Client::new();
    let (node_a, node_b) = start_nodes(&database.url, &tenants, work.path(), &client).await;
    let key = admin_key(&database, "fault-trap").await;
    let threshold = BreakerConfig::default().failure_threshold;

    let mut tripped = false;
    for _ in 0..=threshold {
        let stored = submit(&client, &node_a, "fault-trap", &key).await;
        if history_entry(&stored, "routing_skipped").is_some() {
            tripped = true;
            break;
        }
        assert!(history_entry(&stored, "routing_failed").is_some(), "the trap fails the call: {stored}");
    }
    assert!(tripped, "node A's breaker did not open after {threshold} traps:\n{}", node_a.log_text());
    let tripped_at = Instant::now();

    let mut failures_on_b = 0;
    let mut observed = None;
    while tripped_at.elapsed() < PROPAGATION_WAIT && failures_on_b < threshold - 1 {
        let stored = submit(&client, &node_b, "fault-trap", &key).await;
        if let Some(skipped) = history_entry(&stored, "routing_skipped") {
            assert_eq!(skipped["detail"]["department"], "dpw-highway", "{skipped}");
            observed = Some(tripped_at.elapsed());
            break;
        }
        failures_on_b += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let delay = observed.unwrap_or_else(|| {
        panic!(
            "node B still calls the tripped plugin after {failures_on_b} failures.\nnode A log:\n{}\nnode B log:\n{}",
            node_a.log_text(),
            node_b.log_text()
        )
    });
    println!("breaker opened on node A reached node B after {delay:?} ({failures_on_b} calls failed on node B first)");
    assert_reloaded_from_node_a(&node_b);
}

/// Uploads `wasm` as a version of tenant `slug`'s router plugin `name` on
/// `node` and activates it, returning the version number.
async fn upload_and_activate(client: &reqwest::Client, node: &Node, slug: &str, key: &str, name: &str, wasm: Vec<u8>) -> i64 {
    let upload_url = format!("{}/api/v1/tenants/{slug}/plugins/{name}/versions", node.base_url);
    let response = client
        .post(&upload_url)
        .bearer_auth(key)
        .header("content-type", "application/wasm")
        .body(wasm)
        .send()
        .await
        .expect("the upload reaches the node");
    let status = response.status().as_u16();
    let uploaded: Value = response.json().await.expect("the upload reply is JSON");
    assert!(status == 200 || status == 201, "upload on {} failed with {status}: {uploaded}", node.name);
    let version = uploaded["version"]["version"]
        .as_i64()
        .unwrap_or_else(|| panic!("the upload reply names the version: {uploaded}"));

    let activate_url = format!("{}/api/v1/tenants/{slug}/installs/router/{name}/activate", node.base_url);
    let response = client
        .post(&activate_url)
        .bearer_auth(key)
        .json(&json!({ "version": version }))
        .send()
        .await
        .expect("the activation reaches the node");
    let status = response.status().as_u16();
    let activated: Value = response.json().await.expect("the activation reply is JSON");
    assert_eq!(status, 200, "activation on {} failed: {activated}", node.name);
    version
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_admin_activation() {
    let database = TestDatabase::create().await;
    let work = tempfile::tempdir().expect("create a temporary folder");
    let tenants = work.path().join("tenants");
    copy_tenant(&tenants_dir().join("haverhill"), &tenants);
    let client = reqwest::Client::new();
    let redis = redis_url();

    let mut first = Node::spawn("node-a", &database.url, &redis, &tenants, work.path());
    first.wait_healthy(&client).await;
    let key = admin_key(&database, "haverhill").await;
    let version = upload_and_activate(&client, &first, "haverhill", &key, "haverhill-router", plugin_wasm("fault-injector")).await;
    assert_eq!(version, 2);
    drop(first);

    let mut restarted = Node::spawn("node-b", &database.url, &redis, &tenants, work.path());
    restarted.wait_healthy(&client).await;
    let stored = submit(&client, &restarted, "haverhill", &key).await;

    assert_eq!(routed_version(&stored), Some(2), "the restart re-applied the manifest over the admin's version 2: {stored}");
    let log = restarted.log_text();
    assert!(log.contains("the active router stays in force over the manifest's router"), "{log}");
}
