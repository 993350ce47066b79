//! The plugin platform's settings file: default and maximum limits of a
//! plugin call, the upload size limit, the circuit breaker and the egress
//! rule of plugin HTTP.
//!
//! Every key is optional and falls back to the built-in value, so an
//! operator writes only what differs. `platform.example.toml` at the
//! repository root lists every key with its built-in value.

use std::path::{Path, PathBuf};
use std::time::Duration;

use civic311_plugin_host::{CallLimits, HostConfig};
use civic311_plugin_manager::BreakerConfig;
use serde::Deserialize;

/// Environment variable naming the settings file; `serve --platform-config` takes precedence.
pub const PLATFORM_CONFIG_ENV: &str = "CIVIC311_PLATFORM_CONFIG";

/// The settings after validation.
#[derive(Clone, Debug, Default)]
pub struct PlatformSettings {
    pub host: HostConfig,
    pub breaker: BreakerConfig,
    /// Whether plugins' outbound HTTP may reach loopback, private and link-local addresses.
    pub allow_private_networks: bool,
}

/// Failure to read or validate the settings file.
#[derive(Debug, thiserror::Error)]
pub enum PlatformConfigError {
    #[error("cannot read the platform settings file {file}: {source}; fix the path in --platform-config or {PLATFORM_CONFIG_ENV}")]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid platform settings file {file}: {message}")]
    Syntax { file: PathBuf, message: String },
    #[error("invalid platform settings file {file}, field `{field}`: {problem}")]
    Invalid { file: PathBuf, field: String, problem: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    max_component_bytes: Option<usize>,
    #[serde(default)]
    defaults: LimitsFile,
    #[serde(default)]
    maxima: LimitsFile,
    #[serde(default)]
    breaker: BreakerFile,
    #[serde(default)]
    http: HttpFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    fuel: Option<u64>,
    memory_bytes: Option<usize>,
    wall_time_ms: Option<u64>,
    max_output_bytes: Option<usize>,
    fuel_per_second: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BreakerFile {
    failure_threshold: Option<u32>,
    cool_down_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    allow_private_networks: Option<bool>,
}

/// Reads the settings file at `path`, or returns the built-in settings
/// when `path` is `None`.
pub fn load(path: Option<&Path>) -> Result<PlatformSettings, PlatformConfigError> {
    let Some(path) = path else {
        return Ok(PlatformSettings::default());
    };

    let text = std::fs::read_to_string(path).map_err(|source| PlatformConfigError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Parses and validates the text of the settings file `file`.
pub fn parse(file: &Path, text: &str) -> Result<PlatformSettings, PlatformConfigError> {
    let parsed: SettingsFile = toml::from_str(text).map_err(|error| PlatformConfigError::Syntax {
        file: file.to_path_buf(),
        message: error.to_string(),
    })?;

    let built_in = PlatformSettings::default();
    let host = HostConfig {
        defaults: merge(&built_in.host.defaults, &parsed.defaults),
        maxima: merge(&built_in.host.maxima, &parsed.maxima),
        max_component_bytes: parsed.max_component_bytes.unwrap_or(built_in.host.max_component_bytes),
    };
    let breaker = BreakerConfig {
        failure_threshold: parsed.breaker.failure_threshold.unwrap_or(built_in.breaker.failure_threshold),
        cool_down: parsed
            .breaker
            .cool_down_seconds
            .map(Duration::from_secs)
            .unwrap_or(built_in.breaker.cool_down),
    };

    let allow_private_networks = parsed.http.allow_private_networks.unwrap_or(built_in.allow_private_networks);

    validate(file, &host, &breaker)?;
    Ok(PlatformSettings { host, breaker, allow_private_networks })
}

fn merge(base: &CallLimits, file: &LimitsFile) -> CallLimits {
    CallLimits {
        fuel: file.fuel.unwrap_or(base.fuel),
        max_memory_bytes: file.memory_bytes.unwrap_or(base.max_memory_bytes),
        wall_time: file.wall_time_ms.map(Duration::from_millis).unwrap_or(base.wall_time),
        max_output_bytes: file.max_output_bytes.unwrap_or(base.max_output_bytes),
        fuel_per_second: file.fuel_per_second.unwrap_or(base.fuel_per_second),
    }
}

/// Checks that every maximum and default is positive and that no default exceeds its maximum.
fn validate(file: &Path, host: &HostConfig, breaker: &BreakerConfig) -> Result<(), PlatformConfigError> {
    let invalid = |field: &str, problem: String| PlatformConfigError::Invalid {
        file: file.to_path_buf(),
        field: field.to_string(),
        problem,
    };

    let pairs = [
        ("fuel", host.defaults.fuel as u128, host.maxima.fuel as u128),
        ("memory_bytes", host.defaults.max_memory_bytes as u128, host.maxima.max_memory_bytes as u128),
        ("wall_time_ms", host.defaults.wall_time.as_millis(), host.maxima.wall_time.as_millis()),
        ("max_output_bytes", host.defaults.max_output_bytes as u128, host.maxima.max_output_bytes as u128),
        ("fuel_per_second", host.defaults.fuel_per_second as u128, host.maxima.fuel_per_second as u128),
    ];
    for (field, default, maximum) in pairs {
        // A zero maximum is checked first, because every default is above it
        // and that message would point at the wrong key.
        if maximum == 0 {
            let problem = "must be greater than 0; set a positive maximum or remove the key to use the built-in one";
            return Err(invalid(&format!("maxima.{field}"), problem.to_string()));
        }
        if default == 0 {
            return Err(invalid(&format!("defaults.{field}"), "must be greater than 0".to_string()));
        }
        if default > maximum {
            return Err(invalid(
                &format!("defaults.{field}"),
                format!("{default} is above maxima.{field} = {maximum}; lower the default or raise the maximum"),
            ));
        }
    }

    if host.max_component_bytes == 0 {
        return Err(invalid("max_component_bytes", "must be greater than 0".to_string()));
    }
    if breaker.failure_threshold == 0 {
        return Err(invalid("breaker.failure_threshold", "must be at least 1".to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<PlatformSettings, PlatformConfigError> {
        parse(Path::new("platform.toml"), text)
    }

    #[test]
    fn empty_file_keeps_built_in_settings() {
        let settings = parse_text("").unwrap();

        assert_eq!(settings.host.defaults.fuel, HostConfig::default().defaults.fuel);
        assert_eq!(settings.host.maxima.wall_time, HostConfig::default().maxima.wall_time);
        assert_eq!(settings.breaker.failure_threshold, 5);
        assert!(!settings.allow_private_networks);
    }

    #[test]
    fn file_overrides_limits_and_breaker() {
        let text = "max_component_bytes = 1048576\n\
                    [defaults]\nfuel = 2000000\nwall_time_ms = 250\n\
                    [maxima]\nmemory_bytes = 33554432\n\
                    [breaker]\nfailure_threshold = 3\ncool_down_seconds = 10\n";

        let settings = parse_text(text).unwrap();

        assert_eq!(settings.host.max_component_bytes, 1 << 20);
        assert_eq!(settings.host.defaults.fuel, 2_000_000);
        assert_eq!(settings.host.defaults.wall_time, Duration::from_millis(250));
        assert_eq!(settings.host.maxima.max_memory_bytes, 32 << 20);
        assert_eq!(settings.breaker.failure_threshold, 3);
        assert_eq!(settings.breaker.cool_down, Duration::from_secs(10));
    }

    #[test]
    fn http_section_allows_private_networks() {
        let settings = parse_text("[http]\nallow_private_networks = true\n").unwrap();

        assert!(settings.allow_private_networks);
    }

    #[test]
    fn http_section_rejects_non_boolean() {
        let error = parse_text("[http]\nallow_private_networks = \"yes\"\n").unwrap_err();

        assert!(error.to_string().contains("allow_private_networks"), "{error}");
    }

    #[test]
    fn default_above_maximum_is_rejected() {
        let error = parse_text("[defaults]\nwall_time_ms = 60000\n").unwrap_err();

        let message = error.to_string();
        assert!(message.contains("defaults.wall_time_ms"), "{message}");
        assert!(message.contains("maxima.wall_time_ms"), "{message}");
    }

    #[test]
    fn zero_maximum_is_rejected() {
        let fields = ["fuel", "memory_bytes", "wall_time_ms", "max_output_bytes", "fuel_per_second"];

        for field in fields {
            let error = parse_text(&format!("[maxima]\n{field} = 0\n")).unwrap_err();
            let message = error.to_string();

            assert!(message.contains(&format!("field `maxima.{field}`: must be greater than 0")), "{message}");
            assert!(!message.contains("defaults."), "{message}");
        }
    }

    #[test]
    fn zero_default_is_rejected() {
        let error = parse_text("[defaults]\nfuel_per_second = 0\n").unwrap_err();

        assert!(error.to_string().contains("field `defaults.fuel_per_second`: must be greater than 0"), "{error}");
    }

    #[test]
    fn zero_threshold_is_rejected() {
        let error = parse_text("[breaker]\nfailure_threshold = 0\n").unwrap_err();

        assert!(error.to_string().contains("breaker.failure_threshold"), "{error}");
    }

    #[test]
    fn unknown_key_is_rejected() {
        let error = parse_text("[defaults]\nfuel_units = 5\n").unwrap_err();

        assert!(error.to_string().contains("fuel_units"), "{error}");
    }

    #[test]
    fn example_file_matches_built_in_settings() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../platform.example.toml");
        let settings = load(Some(&path)).unwrap();
        let built_in = PlatformSettings::default();

        assert_eq!(settings.host.defaults.fuel, built_in.host.defaults.fuel);
        assert_eq!(settings.host.defaults.max_memory_bytes, built_in.host.defaults.max_memory_bytes);
        assert_eq!(settings.host.defaults.wall_time, built_in.host.defaults.wall_time);
        assert_eq!(settings.host.defaults.max_output_bytes, built_in.host.defaults.max_output_bytes);
        assert_eq!(settings.host.maxima.fuel, built_in.host.maxima.fuel);
        assert_eq!(settings.host.maxima.max_memory_bytes, built_in.host.maxima.max_memory_bytes);
        assert_eq!(settings.host.maxima.wall_time, built_in.host.maxima.wall_time);
        assert_eq!(settings.host.maxima.max_output_bytes, built_in.host.maxima.max_output_bytes);
        assert_eq!(settings.host.max_component_bytes, built_in.host.max_component_bytes);
        assert_eq!(settings.breaker.failure_threshold, built_in.breaker.failure_threshold);
        assert_eq!(settings.breaker.cool_down, built_in.breaker.cool_down);
        assert_eq!(settings.allow_private_networks, built_in.allow_private_networks);
    }
}
