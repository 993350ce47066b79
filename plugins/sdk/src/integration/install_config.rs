//! Readers of the install's configuration that every integration needs: the
//! selection of the service requests to sync, required entries and URLs,
//! and the summary text of a request. Each failure is a
//! [`SyncFailure::Rejected`] that names the entry to set.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::model::{RoutedRequest, SyncFailure};

impl RoutedRequest {
    /// Returns the `<prefix>.<service code>` entry, such as `work_type.pothole`.
    pub fn service_mapping(&self, prefix: &str) -> Option<&String> {
        self.config.get(&format!("{prefix}.{}", self.service_code))
    }

    /// Tells whether the install syncs this request: its service code has a
    /// `<prefix>.<service code>` entry, or the comma-separated `departments`
    /// entry lists its department.
    pub fn is_selected(&self, prefix: &str) -> bool {
        self.service_mapping(prefix).is_some() || list(self.config.get("departments")).any(|code| code == self.department)
    }

    /// Returns the `<prefix>.<service code>` entry, else the `default_key`
    /// entry. Rejects the request when neither is set, and the message
    /// calls the value `value_name`, such as `Maintstar work type`.
    pub fn mapped_or_default(&self, prefix: &str, default_key: &str, value_name: &str) -> Result<String, SyncFailure> {
        let code = &self.service_code;
        match self.service_mapping(prefix).or_else(|| self.config.get(default_key)) {
            Some(value) => Ok(value.clone()),
            None => Err(SyncFailure::Rejected(format!(
                "no {value_name} for service code {code}; set install config {prefix}.{code} or {default_key}"
            ))),
        }
    }

    /// Returns the entry `key`, or `default` when it is unset.
    pub fn config_or(&self, key: &str, default: &str) -> String {
        self.config.get(key).cloned().unwrap_or_else(|| default.to_string())
    }

    /// Returns the entry `key`, trimmed. A missing or blank entry is
    /// rejected with a message that names `expected` as the value to set.
    pub fn required_config(&self, key: &str, expected: &str) -> Result<String, SyncFailure> {
        match self.config.get(key).map(|text| text.trim()) {
            Some(text) if !text.is_empty() => Ok(text.to_string()),
            _ => Err(SyncFailure::Rejected(format!("install config {key} is missing; set it to {expected}"))),
        }
    }

    /// Returns the http or https URL in entry `key`, without trailing
    /// slashes. A missing entry or another scheme is rejected with a
    /// message that names `expected` as the value to set.
    pub fn url_config(&self, key: &str, expected: &str) -> Result<String, SyncFailure> {
        let url = self.required_config(key, expected)?;
        let url = url.trim_end_matches('/');
        if url.starts_with("https://") || url.starts_with("http://") {
            Ok(url.to_string())
        } else {
            Err(SyncFailure::Rejected(format!(
                "install config {key} {url:?} is not an http or https URL; set it to {expected}"
            )))
        }
    }

    /// Writes the service name and description, then one line per attribute
    /// with a value, cut to `max_bytes` on a character boundary.
    pub fn summary(&self, max_bytes: usize) -> String {
        let mut text = format!("{}: {}", self.service_name, self.description.trim());
        for (code, values) in &self.answers {
            if values.is_empty() {
                continue;
            }
            let joined: Vec<&str> = values.iter().map(|value| value.trim()).collect();
            text.push_str(&format!("\n{code}: {}", joined.join(", ")));
        }
        truncate(&mut text, max_bytes);
        text
    }
}

/// Splits a comma-separated config value into trimmed, non-empty items.
pub fn list(value: Option<&String>) -> impl Iterator<Item = &str> {
    value
        .map(|text| text.split(','))
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// Cuts `text` to at most `max_bytes`, on a character boundary.
pub fn truncate(text: &mut String, max_bytes: usize) {
    if text.len() <= max_bytes {
        return;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;

    fn request(config: &[(&str, &str)]) -> RoutedRequest {
        RoutedRequest {
            id: "HAV-1".into(),
            service_code: "pothole".into(),
            service_name: "Pothole".into(),
            description: " Deep ".into(),
            answers: vec![("size".into(), vec![" large ".into(), "wide".into()]), ("empty".into(), vec![])],
            department: "dpw-highway".into(),
            config: config.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect(),
            ..RoutedRequest::default()
        }
    }

    #[test]
    fn selection_by_mapping_or_department() {
        assert!(request(&[("work_type.pothole", "ROAD")]).is_selected("work_type"));
        assert!(request(&[("departments", " health , dpw-highway")]).is_selected("work_type"));
        assert!(!request(&[("departments", "health"), ("work_type.noise", "X")]).is_selected("work_type"));
    }

    #[test]
    fn mapped_or_default_names_both_keys() {
        assert_eq!(request(&[("default_work_type", "GENERAL")]).mapped_or_default("work_type", "default_work_type", "work type"), Ok("GENERAL".into()));

        let Err(SyncFailure::Rejected(message)) = request(&[]).mapped_or_default("work_type", "default_work_type", "work type") else {
            panic!("a missing work type is rejected");
        };
        assert_eq!(message, "no work type for service code pothole; set install config work_type.pothole or default_work_type");
    }

    #[test]
    fn url_config_checks_scheme() {
        assert_eq!(request(&[("base_url", " https://x.example.gov// ")]).url_config("base_url", "the URL"), Ok("https://x.example.gov".into()));
        assert_eq!(
            request(&[("base_url", " ")]).url_config("base_url", "the URL"),
            Err(SyncFailure::Rejected("install config base_url is missing; set it to the URL".into()))
        );
        assert_eq!(
            request(&[("base_url", "ftp://x")]).url_config("base_url", "the URL"),
            Err(SyncFailure::Rejected("install config base_url \"ftp://x\" is not an http or https URL; set it to the URL".into()))
        );
    }

    #[test]
    fn summary_lists_answers_and_cuts() {
        assert_eq!(request(&[]).summary(100), "Pothole: Deep\nsize: large, wide");
        assert_eq!(request(&[]).summary(7), "Pothole");

        let mut text = "é".repeat(3);
        truncate(&mut text, 5);
        assert_eq!(text, "éé");
    }
}
