//! Open311 client for the end-to-end tests, on top of the shared
//! [`TestServer`]: real HTTP requests to `/open311/v2`, form and multipart
//! bodies, and a small reader for the XML replies.

use std::collections::HashMap;
use std::path::Path;

use civic311_server::app::AppState;
use civic311_store::{ApiKeyScope, HistoryEvent};
use civic311_tests::TestServer;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::Value;
use tokio::sync::Mutex;

pub use civic311_tests::{boston_csv, tenants_dir};

/// Jurisdiction ids of the two real tenants under `tenants/`.
pub const BOSTON: &str = "boston.gov";
pub const HAVERHILL: &str = "haverhillma.gov";

/// The eight-byte PNG signature followed by a few bytes: enough for the
/// server's type check, which reads the leading bytes.
pub const PNG: &[u8] = b"\x89PNG\r\n\x1A\n\x00\x00\x00\x0DIHDR-test-photo";

/// A running server and a client for its Open311 API.
pub struct Api {
    /// Absolute URL of the Open311 API, such as `http://127.0.0.1:4100/open311/v2`.
    pub base: String,
    pub state: AppState,
    server: TestServer,
    client: reqwest::Client,
    keys: Mutex<HashMap<String, String>>,
}

/// One HTTP reply, read whole.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("reply is not JSON ({error}): {}", self.body))
    }
}

impl Api {
    /// Starts the server with the real `tenants/` folder.
    pub async fn start() -> Api {
        Api::from_server(TestServer::start().await)
    }

    pub async fn start_with_tenants(tenants_dir: &Path) -> Api {
        Api::from_server(TestServer::start_with_tenants(tenants_dir).await)
    }

    fn from_server(server: TestServer) -> Api {
        Api {
            base: server.url("/open311/v2"),
            state: server.state.clone(),
            client: server.client.clone(),
            server,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Returns an `open311` API key of the tenant, the scope a public app
    /// gets, created on first use.
    pub async fn key(&self, jurisdiction_id: &str) -> String {
        let mut keys = self.keys.lock().await;
        if let Some(key) = keys.get(jurisdiction_id) {
            return key.clone();
        }
        let tenant = self
            .state
            .tenants
            .by_jurisdiction(jurisdiction_id)
            .expect("tenant is loaded");
        let secret = self.server.api_key_with_scope(&tenant.manifest.slug, ApiKeyScope::Open311).await;
        keys.insert(jurisdiction_id.to_string(), secret.clone());
        secret
    }

    /// Reads a request's full history straight from the store.
    pub async fn history(&self, jurisdiction_id: &str, request_id: &str) -> Vec<HistoryEvent> {
        let tenant = self
            .state
            .tenants
            .by_jurisdiction(jurisdiction_id)
            .expect("tenant is loaded");
        tenant
            .store
            .history(request_id)
            .await
            .expect("read history")
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.get_with_headers(path, &[]).await
    }

    pub async fn get_with_headers(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.client.get(format!("{}/{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.send().await.expect("GET reaches the server")).await
    }

    pub async fn get_absolute(&self, url: &str) -> Reply {
        read(
            self.client
                .get(url)
                .send()
                .await
                .expect("GET reaches the server"),
        )
        .await
    }

    /// POSTs an `application/x-www-form-urlencoded; charset=utf-8` body.
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let body = form
            .iter()
            .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let mut request = self
            .client
            .post(format!("{}/{path}", self.base))
            .header(
                CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.send().await.expect("POST reaches the server")).await
    }

    /// POSTs a `multipart/form-data` body with text fields and files given
    /// as (part name, file name, content type, bytes).
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &str, &[u8])],
    ) -> Reply {
        const BOUNDARY: &str = "civic311-test-boundary-7f3a";
        let mut body: Vec<u8> = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
            );
        }
        for (name, file_name, content_type, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                     Content-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());

        let response = self
            .client
            .post(format!("{}/{path}", self.base))
            .header(
                CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(body)
            .send()
            .await
            .expect("POST reaches the server");
        read(response).await
    }
}

/// Encodes a form name or value: unreserved bytes stay, a space becomes
/// `+`, and every other byte of the UTF-8 text becomes `%XX`.
fn form_encode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                encoded.push(byte as char)
            }
            b' ' => encoded.push('+'),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

async fn read(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = response.text().await.expect("reply body is text");
    Reply {
        status,
        content_type,
        headers,
        body,
    }
}

/// Returns the unescaped text of every `<tag>…</tag>` element, in order.
/// Enough for Open311 replies, whose text elements hold no child elements.
pub fn xml_texts(body: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut texts = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else {
            break;
        };
        texts.push(unescape(&after[..end]));
        rest = &after[end + close.len()..];
    }
    texts
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Copies the real tenant folders into a temporary folder, where a test
/// may edit them before starting a server on the copy.
pub fn copy_tenants() -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("create a temporary tenants folder");
    for tenant in std::fs::read_dir(tenants_dir()).expect("read tenants/") {
        let tenant = tenant.expect("tenant folder entry").path();
        if tenant.is_dir() {
            civic311_tests::copy_tenant(&tenant, copy.path());
        }
    }
    copy
}
