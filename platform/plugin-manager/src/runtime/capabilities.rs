//! The capabilities behind one call of an install: its key-value store and
//! secrets in the database, outbound HTTP through reqwest, and log lines
//! through the recorder.
//!
//! The host calls these methods on the plugin's blocking thread, so the
//! async store and HTTP client run on a captured Tokio runtime handle.
//!
//! A plugin could copy a secret it read into a log line, a decision or an
//! error message. [`InstallCapabilities`] remembers the secrets read in its
//! call and replaces them in that text with [`REDACTED`]. NOTE: a plugin
//! that encodes the value, such as in base64, still gets it through.
//! [`ReadOnlyCapabilities`] serves shadow calls and dry runs: it reads the
//! install's KV but discards writes, and gives no secrets, HTTP or logs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use civic311_domain::plugin::SyncFailure;
use civic311_plugin_host::{
    CapabilityProvider, HttpFailure, HttpRequest, HttpResponse, LogLevel, MAX_HTTP_RESPONSE_BYTES, PluginError,
    host_allowed,
};
use civic311_store::{InstallId, NewPluginLogLine, PluginLogLevel, TenantId, TenantStore};
use tokio::runtime::Handle;

use crate::error::ManagerError;
use crate::runtime::egress::{self, EgressError, PublicOnlyResolver};
use crate::runtime::recorder::Recorder;
use crate::vault::Vault;

/// Text that replaces a secret's value in a plugin's output.
pub const REDACTED: &str = "[redacted secret]";

/// Shortest secret value that is scrubbed from plugin output: replacing a
/// value of one to three bytes would mangle ordinary text.
const MIN_SCRUBBED_BYTES: usize = 4;

/// The HTTP client that every install's calls share, with its egress rule.
#[derive(Clone)]
pub struct PluginHttpClient {
    client: reqwest::Client,
    /// Whether plugins may reach loopback, private and link-local addresses.
    allow_private_networks: bool,
}

impl PluginHttpClient {
    /// Checks the host of `url` against the egress rule before sending,
    /// because the client's resolver does not see IP literals.
    fn check_destination(&self, url: &url::Url) -> Result<(), EgressError> {
        match url.host() {
            Some(host) if !self.allow_private_networks => egress::check_host(&host),
            _ => Ok(()),
        }
    }
}

/// Builds the HTTP client that every install's calls share: no redirects,
/// so a plugin cannot leave its allow-list through a `Location` header, and
/// no proxy from the environment. Unless `allow_private_networks` is set,
/// host names resolve through [`PublicOnlyResolver`], so plugins reach only
/// public addresses. `https` uses rustls and trusts the Mozilla roots plus
/// the system's certificate store, where a city's private certificate
/// authority for on-premises back ends belongs.
pub fn http_client(allow_private_networks: bool) -> Result<PluginHttpClient, ManagerError> {
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy();
    if !allow_private_networks {
        builder = builder.dns_resolver(Arc::new(PublicOnlyResolver));
    }

    let client = builder.build().map_err(|error| ManagerError::Invalid {
        field: "system certificate store".to_string(),
        problem: format!("the HTTP client of the http capability failed to build: {error}; check the CA certificates installed on this node"),
    })?;
    Ok(PluginHttpClient { client, allow_private_networks })
}

/// The install, version and request one call runs for.
#[derive(Clone, Debug)]
pub struct CallScope {
    pub tenant: TenantId,
    pub install: InstallId,
    pub version: i32,
    pub request_id: Option<String>,
}

/// The capabilities of one call of one install.
pub struct InstallCapabilities {
    scope: CallScope,
    store: TenantStore,
    vault: Arc<Vault>,
    recorder: Recorder,
    http: PluginHttpClient,
    /// The install's allow-list, checked again here in case a caller skips the host's check.
    http_hosts: Vec<String>,
    handle: Handle,
    /// Values of the secrets this call read, to scrub from its output.
    read_secrets: Mutex<Vec<String>>,
}

impl InstallCapabilities {
    /// Creates the provider for one call. Must be called inside a Tokio
    /// runtime, whose handle runs the store and HTTP futures.
    pub fn new(
        scope: CallScope,
        store: TenantStore,
        vault: Arc<Vault>,
        recorder: Recorder,
        http: PluginHttpClient,
        http_hosts: Vec<String>,
    ) -> InstallCapabilities {
        InstallCapabilities {
            scope,
            store,
            vault,
            recorder,
            http,
            http_hosts,
            handle: Handle::current(),
            read_secrets: Mutex::new(Vec::new()),
        }
    }

    /// Returns `text` with each secret value this call read replaced by [`REDACTED`].
    pub fn scrub(&self, text: &str) -> String {
        let secrets = self.read_secrets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        scrub_secrets(text, &secrets)
    }

    /// Returns `error` with secret values scrubbed from the messages that
    /// the plugin wrote or caused.
    pub fn scrub_error(&self, error: PluginError) -> PluginError {
        match error {
            PluginError::Trap { plugin, message } => PluginError::Trap { plugin, message: self.scrub(&message) },
            PluginError::Rejected { plugin, kind, message } => PluginError::Rejected { plugin, kind, message: self.scrub(&message) },
            PluginError::InvalidOutput { plugin, message } => PluginError::InvalidOutput { plugin, message: self.scrub(&message) },
            PluginError::SyncFailed { plugin, failure } => {
                let failure = match failure {
                    SyncFailure::Retry(message) => SyncFailure::Retry(self.scrub(&message)),
                    SyncFailure::Rejected(message) => SyncFailure::Rejected(self.scrub(&message)),
                };
                PluginError::SyncFailed { plugin, failure }
            }
            other => other,
        }
    }

    fn remember_secret(&self, value: &str) {
        let mut secrets = self.read_secrets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        secrets.push(value.to_string());
    }
}

/// Replaces each value of `secrets` of at least [`MIN_SCRUBBED_BYTES`] in
/// `text` with [`REDACTED`], the longest first, so that a secret containing
/// another is replaced whole.
fn scrub_secrets(text: &str, secrets: &[String]) -> String {
    let mut ordered: Vec<&String> = secrets.iter().filter(|secret| secret.len() >= MIN_SCRUBBED_BYTES).collect();
    ordered.sort_by_key(|secret| std::cmp::Reverse(secret.len()));

    let mut scrubbed = text.to_string();
    for secret in ordered {
        if scrubbed.contains(secret.as_str()) {
            scrubbed = scrubbed.replace(secret.as_str(), REDACTED);
        }
    }
    scrubbed
}

impl CapabilityProvider for InstallCapabilities {
    fn log(&self, level: LogLevel, message: &str) {
        let line = NewPluginLogLine {
            install: self.scope.install,
            version: self.scope.version,
            request_id: self.scope.request_id.clone(),
            level: store_level(level),
            message: self.scrub(message),
            at: Utc::now(),
        };
        self.recorder.log(self.scope.tenant, line);
    }

    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.handle
            .block_on(self.store.kv_get(self.scope.install, key))
            .map_err(|error| self.kv_unavailable("read", error))
    }

    fn kv_set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.handle
            .block_on(self.store.kv_set(self.scope.install, key, value))
            .map_err(|error| self.kv_unavailable("write", error))
    }

    fn kv_delete(&self, key: &str) -> Result<(), String> {
        self.handle
            .block_on(self.store.kv_delete(self.scope.install, key))
            .map(|_| ())
            .map_err(|error| self.kv_unavailable("delete", error))
    }

    fn secret(&self, name: &str) -> Option<String> {
        let sealed = match self.handle.block_on(self.store.secret_ciphertext(self.scope.install, name)) {
            Ok(sealed) => sealed?,
            Err(error) => {
                tracing::error!(tenant.id = self.scope.tenant.0, install.id = self.scope.install.0, secret.name = name, %error, "failed to read a plugin secret");
                return None;
            }
        };

        match self.vault.open(self.scope.tenant, self.scope.install, name, &sealed) {
            Ok(value) => {
                self.remember_secret(&value);
                Some(value)
            }
            Err(error) => {
                tracing::error!(tenant.id = self.scope.tenant.0, install.id = self.scope.install.0, secret.name = name, %error, "failed to decrypt a plugin secret");
                None
            }
        }
    }

    fn http_send(&self, request: HttpRequest, timeout: Duration) -> Result<HttpResponse, HttpFailure> {
        let url = check_url(&request.url, &self.http_hosts)?;
        let sent = match self.http.check_destination(&url) {
            Err(blocked) => Err(egress_failure(&blocked)),
            Ok(()) => self.handle.block_on(async {
                tokio::time::timeout(timeout, send(&self.http.client, request, timeout))
                    .await
                    .unwrap_or(Err(HttpFailure::Timeout))
            }),
        };

        if let Err(failure) = &sent {
            tracing::info!(tenant.id = self.scope.tenant.0, install.id = self.scope.install.0, ?failure, "plugin HTTP request failed");
        }
        sent
    }
}

impl InstallCapabilities {
    fn kv_unavailable(&self, action: &str, error: civic311_store::StoreError) -> String {
        tracing::error!(tenant.id = self.scope.tenant.0, install.id = self.scope.install.0, %error, "failed to {action} the plugin key-value store");
        format!("the key-value store failed to {action}: {error}")
    }
}

/// Parses `url`, rejecting a URL that is not absolute http or https or
/// whose host is not on the allow-list.
fn check_url(url: &str, allow_list: &[String]) -> Result<url::Url, HttpFailure> {
    let parsed = url::Url::parse(url).map_err(|error| HttpFailure::Failed(format!("invalid URL '{url}': {error}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(HttpFailure::Failed(format!("URL scheme '{}' is not http or https", parsed.scheme())));
    }

    let host = parsed.host_str().unwrap_or_default();
    // `Url` keeps the brackets of an IPv6 host, which the allow-list omits.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if !host_allowed(allow_list, host) {
        return Err(HttpFailure::Denied(format!("host '{host}' is not on the install's HTTP allow-list")));
    }
    Ok(parsed)
}

/// Sends the request and reads at most [`MAX_HTTP_RESPONSE_BYTES`] of body.
async fn send(client: &reqwest::Client, request: HttpRequest, timeout: Duration) -> Result<HttpResponse, HttpFailure> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| HttpFailure::Failed(format!("invalid HTTP method '{}'", request.method)))?;

    let mut builder = client.request(method, &request.url).timeout(timeout);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    if let Some(body) = request.body {
        builder = builder.body(body);
    }

    let mut response = builder.send().await.map_err(http_failure)?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();

    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(http_failure)? {
        if body.len() + chunk.len() > MAX_HTTP_RESPONSE_BYTES {
            return Err(HttpFailure::Failed(format!(
                "the response body is larger than the limit of {MAX_HTTP_RESPONSE_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }

    Ok(HttpResponse { status, headers, body })
}

fn http_failure(error: reqwest::Error) -> HttpFailure {
    if error.is_timeout() {
        return HttpFailure::Timeout;
    }
    if let Some(egress) = egress_error(&error) {
        return egress_failure(egress);
    }
    // Without the URL: a query string may carry a token the plugin added.
    HttpFailure::Failed(error.without_url().to_string())
}

/// Maps an egress failure to the failure the plugin receives. A blocked
/// address or `localhost` name is `Denied`, because a retry cannot reach
/// it, and a failed DNS lookup is `Failed`, because it may be transient.
fn egress_failure(error: &EgressError) -> HttpFailure {
    match error {
        EgressError::BlockedAddress { .. } | EgressError::LocalhostName { .. } | EgressError::NoPublicAddress { .. } => {
            HttpFailure::Denied(error.to_string())
        }
        EgressError::Resolve { .. } => HttpFailure::Failed(error.to_string()),
    }
}

/// Returns the [`EgressError`] of [`PublicOnlyResolver`] in the source
/// chain of `error`, which reqwest wraps in its connect error.
fn egress_error(error: &reqwest::Error) -> Option<&EgressError> {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(denied) = cause.downcast_ref::<EgressError>() {
            return Some(denied);
        }
        source = cause.source();
    }
    None
}

fn store_level(level: LogLevel) -> PluginLogLevel {
    match level {
        LogLevel::Debug => PluginLogLevel::Debug,
        LogLevel::Info => PluginLogLevel::Info,
        LogLevel::Warn => PluginLogLevel::Warn,
        LogLevel::Error => PluginLogLevel::Error,
    }
}

/// Capabilities of a shadow call or a dry run, which must change nothing.
/// KV reads see the install's stored values and this call's own writes,
/// which are then discarded. Secrets, HTTP and logs are denied.
pub struct ReadOnlyCapabilities {
    store: TenantStore,
    install: InstallId,
    handle: Handle,
    /// Writes of this call: a value, or `None` for a deleted key.
    written: Mutex<HashMap<String, Option<Vec<u8>>>>,
}

impl ReadOnlyCapabilities {
    /// Creates the provider inside a Tokio runtime, whose handle runs KV reads.
    pub fn new(store: TenantStore, install: InstallId) -> ReadOnlyCapabilities {
        ReadOnlyCapabilities { store, install, handle: Handle::current(), written: Mutex::new(HashMap::new()) }
    }

    fn written(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<Vec<u8>>>> {
        self.written.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl CapabilityProvider for ReadOnlyCapabilities {
    fn log(&self, _level: LogLevel, _message: &str) {}

    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        if let Some(value) = self.written().get(key) {
            return Ok(value.clone());
        }
        self.handle
            .block_on(self.store.kv_get(self.install, key))
            .map_err(|error| format!("the key-value store failed to read: {error}"))
    }

    fn kv_set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.written().insert(key.to_string(), Some(value.to_vec()));
        Ok(())
    }

    fn kv_delete(&self, key: &str) -> Result<(), String> {
        self.written().insert(key.to_string(), None);
        Ok(())
    }

    fn secret(&self, _name: &str) -> Option<String> {
        None
    }

    fn http_send(&self, _request: HttpRequest, _timeout: Duration) -> Result<HttpResponse, HttpFailure> {
        Err(HttpFailure::Failed("outbound HTTP is disabled in shadow calls and dry runs".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|entry| entry.to_string()).collect()
    }

    #[test]
    fn scrub_replaces_secret_values() {
        let secrets = vec!["abcd".to_string(), "xyzabcd1".to_string(), "ab".to_string()];

        assert_eq!(scrub_secrets("key xyzabcd1 and abcd", &secrets), "key [redacted secret] and [redacted secret]");
        assert_eq!(scrub_secrets("short ab stays", &secrets), "short ab stays");
        assert_eq!(scrub_secrets("nothing here", &[]), "nothing here");
    }

    #[test]
    fn check_url_allows_listed_host() {
        assert!(check_url("http://127.0.0.1:8080/orders", &allow(&["127.0.0.1"])).is_ok());
        assert!(check_url("https://api.viewpermit.example/x", &allow(&["*.viewpermit.example"])).is_ok());
    }

    #[test]
    fn check_url_denies_other_host() {
        let failure = check_url("http://localhost:8080/", &allow(&["127.0.0.1"])).unwrap_err();

        assert_eq!(failure, HttpFailure::Denied("host 'localhost' is not on the install's HTTP allow-list".to_string()));
    }

    #[test]
    fn check_url_denies_other_scheme() {
        let failure = check_url("file:///etc/passwd", &allow(&["127.0.0.1"])).unwrap_err();

        assert!(matches!(failure, HttpFailure::Failed(message) if message.contains("'file'")));
    }

    #[test]
    fn check_url_rejects_relative_url() {
        assert!(check_url("/orders", &allow(&["127.0.0.1"])).is_err());
    }

    /// Sends a GET to `url` with the client of the default egress rule.
    async fn send_public_only(url: String) -> Result<HttpResponse, HttpFailure> {
        let client = http_client(false).unwrap();
        let request = HttpRequest { method: "GET".to_string(), url, headers: Vec::new(), body: None };
        send(&client.client, request, Duration::from_secs(5)).await
    }

    #[tokio::test]
    async fn resolver_block_is_denied() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();

        let failure = send_public_only(format!("http://localhost:{port}/")).await.unwrap_err();

        let HttpFailure::Denied(message) = failure else { panic!("expected a denied request, got {failure:?}") };
        assert!(message.starts_with("host 'localhost' is a localhost name"), "{message}");
        // The listener's first connection must be this marker, not the client's.
        let marker = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let (_, first_peer) = listener.accept().await.unwrap();
        assert_eq!(first_peer, marker.local_addr().unwrap(), "the client connected to the loopback listener");
    }

    #[test]
    fn egress_failure_separates_blocks_from_lookups() {
        let blocked = EgressError::BlockedAddress { address: "10.0.0.5".parse().unwrap(), range: egress::blocked_range("10.0.0.5".parse().unwrap()).unwrap() };
        let no_public = EgressError::NoPublicAddress { host: "intranet.city.example".to_string(), addresses: "10.0.0.5".to_string() };
        let lookup = EgressError::Resolve { host: "missing.city.example".to_string(), source: std::io::Error::other("no such host") };

        assert!(matches!(egress_failure(&blocked), HttpFailure::Denied(message) if message.starts_with("address 10.0.0.5 is in the private range")));
        assert!(matches!(egress_failure(&no_public), HttpFailure::Denied(message) if message.starts_with("host 'intranet.city.example' resolves only")));
        assert!(matches!(egress_failure(&lookup), HttpFailure::Failed(message) if message.starts_with("failed to resolve host 'missing.city.example'")));
    }

    #[test]
    fn destination_check_follows_setting() {
        let url = url::Url::parse("http://10.0.0.5:8080/orders").unwrap();

        let denied = http_client(false).unwrap().check_destination(&url).unwrap_err();

        assert!(matches!(denied, EgressError::BlockedAddress { .. }), "{denied}");
        assert!(http_client(true).unwrap().check_destination(&url).is_ok());
    }

    #[test]
    fn check_url_matches_ipv6_without_brackets() {
        assert!(check_url("http://[::1]:9000/", &allow(&["::1"])).is_ok());
    }
}
