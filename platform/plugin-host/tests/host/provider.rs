//! A real in-memory [`CapabilityProvider`] that records every call the host
//! passes through, so tests can check what a plugin reached and what the
//! host stopped before the provider.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use civic311_plugin_host::{CapabilityProvider, HttpFailure, HttpRequest, HttpResponse, LogLevel};

/// Secrets, a key-value map and one canned HTTP response, with a record of calls.
#[derive(Default)]
pub struct RecordingProvider {
    pub secrets: HashMap<String, String>,
    pub http_answer: Option<Result<HttpResponse, HttpFailure>>,
    pub kv: Mutex<HashMap<String, Vec<u8>>>,
    pub log_lines: Mutex<Vec<(LogLevel, String)>>,
    pub kv_calls: Mutex<Vec<String>>,
    pub secret_requests: Mutex<Vec<String>>,
    pub http_requests: Mutex<Vec<(HttpRequest, Duration)>>,
}

impl RecordingProvider {
    pub fn log_lines(&self) -> Vec<(LogLevel, String)> {
        self.log_lines.lock().unwrap().clone()
    }

    pub fn kv_calls(&self) -> Vec<String> {
        self.kv_calls.lock().unwrap().clone()
    }

    pub fn secret_requests(&self) -> Vec<String> {
        self.secret_requests.lock().unwrap().clone()
    }

    pub fn http_requests(&self) -> Vec<(HttpRequest, Duration)> {
        self.http_requests.lock().unwrap().clone()
    }
}

impl CapabilityProvider for RecordingProvider {
    fn log(&self, level: LogLevel, message: &str) {
        self.log_lines.lock().unwrap().push((level, message.to_string()));
    }

    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.kv_calls.lock().unwrap().push(format!("get {key}"));
        Ok(self.kv.lock().unwrap().get(key).cloned())
    }

    fn kv_set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.kv_calls.lock().unwrap().push(format!("set {key}"));
        self.kv.lock().unwrap().insert(key.to_string(), value.to_vec());
        Ok(())
    }

    fn kv_delete(&self, key: &str) -> Result<(), String> {
        self.kv_calls.lock().unwrap().push(format!("delete {key}"));
        self.kv.lock().unwrap().remove(key);
        Ok(())
    }

    fn secret(&self, name: &str) -> Option<String> {
        self.secret_requests.lock().unwrap().push(name.to_string());
        self.secrets.get(name).cloned()
    }

    fn http_send(&self, request: HttpRequest, timeout: Duration) -> Result<HttpResponse, HttpFailure> {
        self.http_requests.lock().unwrap().push((request, timeout));
        self.http_answer
            .clone()
            .unwrap_or_else(|| Err(HttpFailure::Failed("no answer configured".to_string())))
    }
}
