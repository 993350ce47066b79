//! The `[telephony]` table of a tenant manifest, parsed into typed settings.
//!
//! A tenant without the table has no telephony and its routes answer 404.
//! Secrets (the Twilio auth token, the RingCentral verification token) are
//! never written in the manifest: it names the environment variable that
//! holds each one. A development value may sit beside the variable name, but
//! it must start with `dev-` and is used only while the variable is unset.

use std::collections::BTreeMap;
use std::fmt;

use civic311_domain::Locale;
use civic311_domain::manifest::TenantManifest;
use serde::Deserialize;

/// Prefix every development secret must carry, so a production token pasted
/// into a manifest is rejected instead of silently used.
pub const DEV_SECRET_PREFIX: &str = "dev-";

/// Twilio's maximum queue name length, in characters.
const MAX_QUEUE_NAME_CHARS: usize = 64;

/// A tenant's telephony settings.
#[derive(Clone, Debug)]
pub struct TelephonyConfig {
    /// Public URL of the platform as Twilio sees it, such as
    /// `https://311.example.gov`. Signature checks rebuild the signed URL from
    /// it, which keeps them valid behind a TLS-terminating proxy.
    pub public_base_url: Option<String>,
    pub twilio: Option<SecretSource>,
    pub ringcentral: Option<RingCentralConfig>,
    pub lines: Vec<LineConfig>,
    /// IVR texts per language; English is required.
    pub menu: BTreeMap<Locale, MenuText>,
    /// Queue name per language.
    pub queues: BTreeMap<Locale, String>,
    pub locations: Vec<LocationConfig>,
    pub agents: Vec<AgentConfig>,
    /// Whether after-hours callers may leave a voicemail instead of hanging up.
    pub after_hours_voicemail: bool,
    pub metrics: MetricsConfig,
}

/// The source of a secret: an environment variable, with an optional
/// development fallback.
#[derive(Clone)]
pub struct SecretSource {
    pub env: String,
    dev_value: Option<String>,
}

/// RingCentral webhook settings.
#[derive(Clone, Debug)]
pub struct RingCentralConfig {
    /// The subscription's `verificationToken`.
    pub verification_token: SecretSource,
    /// Call queue extension id per language, so a session that rings the
    /// Spanish queue records Spanish.
    pub queue_extensions: BTreeMap<Locale, String>,
}

/// One public number that reaches the 311 center.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineConfig {
    /// E.164 number, such as `+19783745000`.
    pub number: String,
    pub label: String,
    /// The department whose public line this is, forwarded to 311; `None` for
    /// the main 311 line.
    pub department: Option<String>,
}

/// IVR texts in one language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenuText {
    /// Greeting with the 911 notice.
    pub intro: String,
    /// The prompt that offers this language, such as "Para español, oprima 2".
    pub language_option: Option<String>,
    /// Played while the caller waits in the queue.
    pub hold: Option<String>,
    /// Hours of operation with pointers to the knowledge base and web portal;
    /// when absent the product's translated fallback text is used.
    pub after_hours: Option<String>,
}

/// A place where calls are answered, such as the 311 center.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationConfig {
    pub code: String,
    pub name: String,
}

/// A call taker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentConfig {
    pub code: String,
    pub name: String,
    /// Code of the location where the agent usually answers.
    pub location: String,
    /// The agent's RingCentral extension id, which identifies the agent's
    /// party in telephony session events.
    pub ringcentral_extension: Option<String>,
}

/// Settings of the tenant's call-centre metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Calls abandoned after waiting less than this are short abandons.
    pub short_abandon_seconds: u32,
    /// Target share of calls answered within `service_level_seconds`, in percent.
    pub service_level_percent: u32,
    pub service_level_seconds: u32,
    pub abandon_treatment: AbandonTreatment,
}

/// Treatment of abandoned calls in the service level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AbandonTreatment {
    /// Every abandon counts as a miss: answered within Y ÷ offered.
    Offered,
    /// Abandons are left out: answered within Y ÷ answered.
    Removed,
    /// Short abandons count as met: (answered within Y + short abandons) ÷ offered.
    Positive,
}

impl AbandonTreatment {
    pub fn as_str(self) -> &'static str {
        match self {
            AbandonTreatment::Offered => "offered",
            AbandonTreatment::Removed => "removed",
            AbandonTreatment::Positive => "positive",
        }
    }
}

/// A `[telephony]` table that cannot be used, naming the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("telephony: {0}; see the [telephony] example in tenants/haverhill/tenant.toml")]
    Syntax(String),

    #[error("telephony.{field}: {problem}")]
    Invalid { field: String, problem: String },
}

/// Failure to resolve a telephony secret.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {env} is not set and no dev value is configured; set {env} to the secret")]
pub struct SecretMissing {
    pub env: String,
}

/// A resolved secret whose `Debug` output is redacted.
#[derive(Clone)]
pub struct Secret {
    value: String,
    /// Whether the development fallback supplied it.
    pub is_dev: bool,
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(redacted, dev: {})", self.is_dev)
    }
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretSource")
            .field("env", &self.env)
            .field("has_dev_value", &self.dev_value.is_some())
            .finish()
    }
}

impl SecretSource {
    /// Reads the environment variable, falling back to the development value
    /// only while the variable is unset or empty.
    pub fn resolve(&self) -> Result<Secret, SecretMissing> {
        if let Ok(value) = std::env::var(&self.env)
            && !value.is_empty()
        {
            return Ok(Secret { value, is_dev: false });
        }

        match &self.dev_value {
            Some(value) => Ok(Secret { value: value.clone(), is_dev: true }),
            None => Err(SecretMissing { env: self.env.clone() }),
        }
    }
}

impl TelephonyConfig {
    /// Finds the configured line for a dialled number, ignoring formatting.
    pub fn line(&self, number: &str) -> Option<&LineConfig> {
        let wanted = normalize_number(number);
        self.lines.iter().find(|line| normalize_number(&line.number) == wanted)
    }

    pub fn agent(&self, code: &str) -> Option<&AgentConfig> {
        self.agents.iter().find(|agent| agent.code == code)
    }

    pub fn agent_by_extension(&self, extension_id: &str) -> Option<&AgentConfig> {
        self.agents
            .iter()
            .find(|agent| agent.ringcentral_extension.as_deref() == Some(extension_id))
    }

    pub fn location(&self, code: &str) -> Option<&LocationConfig> {
        self.locations.iter().find(|location| location.code == code)
    }

    /// Returns the menu texts of `locale`, or English when that language has none.
    pub fn menu_for(&self, locale: Locale) -> &MenuText {
        self.menu
            .get(&locale)
            .or_else(|| self.menu.get(&Locale::En))
            .expect("parse requires menu.en")
    }

    /// Returns the queue of `locale`, or the English queue when that language has none.
    pub fn queue_for(&self, locale: Locale) -> (Locale, &str) {
        match self.queues.get(&locale) {
            Some(queue) => (locale, queue.as_str()),
            None => (Locale::En, self.queues[&Locale::En].as_str()),
        }
    }

    /// Tells whether callers are offered Spanish, which needs a Spanish queue and prompt.
    pub fn offers_spanish(&self) -> bool {
        self.queues.contains_key(&Locale::Es)
            && self
                .menu
                .get(&Locale::Es)
                .is_some_and(|menu| menu.language_option.is_some())
    }
}

/// Strips everything but digits and a leading `+`, so `+1 (978) 374-5000`
/// matches `+19783745000`.
pub fn normalize_number(number: &str) -> String {
    let trimmed = number.trim();
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if trimmed.starts_with('+') { format!("+{digits}") } else { digits }
}

/// Parses a manifest's `[telephony]` table and checks it against the
/// manifest's departments. Returns `None` for a tenant without telephony.
///
/// The tenant registry calls this when it applies a manifest, so a broken
/// table stops the tenant from loading instead of failing on the first call.
pub fn from_manifest(manifest: &TenantManifest) -> Result<Option<TelephonyConfig>, ConfigError> {
    let Some(table) = &manifest.telephony else {
        return Ok(None);
    };

    let config = parse(table)?;
    for (index, line) in config.lines.iter().enumerate() {
        if let Some(department) = &line.department
            && manifest.department(department).is_none()
        {
            return Err(invalid(
                format!("lines[{index}].department"),
                format!("'{department}' is not a department of this tenant; use a code from [[departments]]"),
            ));
        }
    }

    Ok(Some(config))
}

/// Parses a `[telephony]` table on its own, without the manifest's other sections.
pub fn parse(table: &toml::Table) -> Result<TelephonyConfig, ConfigError> {
    let raw: RawConfig = serde_path_to_error::deserialize(toml::Value::Table(table.clone())).map_err(shape_error)?;

    let public_base_url = raw.public_base_url.map(check_base_url).transpose()?;
    let twilio = raw
        .twilio
        .map(|twilio| secret_source("twilio", "auth_token", twilio.auth_token_env, twilio.dev_auth_token))
        .transpose()?;
    let ringcentral = raw.ringcentral.map(ringcentral_config).transpose()?;

    let menu = menus(raw.menu)?;
    let queues = queues(raw.queues)?;
    let lines = lines(raw.lines)?;
    let locations = locations(raw.locations)?;
    let agents = agents(raw.agents, &locations)?;
    let metrics = metrics(raw.metrics.unwrap_or_default())?;

    Ok(TelephonyConfig {
        public_base_url,
        twilio,
        ringcentral,
        lines,
        menu,
        queues,
        locations,
        agents,
        after_hours_voicemail: raw.after_hours_voicemail.unwrap_or(false),
        metrics,
    })
}

/// Reports a value of the wrong type or an unknown key on its full field
/// path, such as `metrics.abandon_treatment` or `metrics.short_abandon`.
fn shape_error(error: serde_path_to_error::Error<toml::de::Error>) -> ConfigError {
    let field = error.path().to_string();
    let problem = error.inner().message().to_string();
    if field == "." {
        ConfigError::Syntax(problem)
    } else {
        invalid(field, problem)
    }
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { field: field.into(), problem: problem.into() }
}

fn check_base_url(url: String) -> Result<String, ConfigError> {
    let parsed = url::Url::parse(&url).map_err(|error| {
        invalid("public_base_url", format!("'{url}' is not a URL ({error}); use a form such as 'https://311.example.gov'"))
    })?;

    if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid(
            "public_base_url",
            format!("'{url}' must be an http or https URL without query or fragment"),
        ));
    }

    Ok(url.trim_end_matches('/').to_string())
}

fn secret_source(section: &str, name: &str, env: String, dev_value: Option<String>) -> Result<SecretSource, ConfigError> {
    let env_ok = !env.is_empty() && env.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !env_ok {
        return Err(invalid(
            format!("{section}.{name}_env"),
            format!("'{env}' is not an environment variable name; use uppercase letters, digits and '_'"),
        ));
    }

    if let Some(value) = &dev_value
        && (!value.starts_with(DEV_SECRET_PREFIX) || value.len() <= DEV_SECRET_PREFIX.len())
    {
        return Err(invalid(
            format!("{section}.dev_{name}"),
            format!("a development value must start with '{DEV_SECRET_PREFIX}'; put real secrets in the environment variable {env}"),
        ));
    }

    Ok(SecretSource { env, dev_value })
}

fn ringcentral_config(raw: RawRingCentral) -> Result<RingCentralConfig, ConfigError> {
    let verification_token = secret_source(
        "ringcentral",
        "verification_token",
        raw.verification_token_env,
        raw.dev_verification_token,
    )?;

    Ok(RingCentralConfig { verification_token, queue_extensions: raw.queue_extensions })
}

fn menus(raw: BTreeMap<Locale, RawMenu>) -> Result<BTreeMap<Locale, MenuText>, ConfigError> {
    if !raw.contains_key(&Locale::En) {
        return Err(invalid("menu.en", "missing; the English intro is required"));
    }

    let mut menus = BTreeMap::new();
    for (locale, menu) in raw {
        let field = |name: &str| format!("menu.{locale}.{name}");
        if menu.intro.trim().is_empty() {
            return Err(invalid(field("intro"), "must not be empty"));
        }
        if !menu.intro.contains("911") {
            return Err(invalid(field("intro"), "must tell callers to dial 911 for emergencies"));
        }

        menus.insert(
            locale,
            MenuText {
                intro: menu.intro,
                language_option: menu.language_option,
                hold: menu.hold,
                after_hours: menu.after_hours,
            },
        );
    }

    Ok(menus)
}

fn queues(raw: BTreeMap<Locale, String>) -> Result<BTreeMap<Locale, String>, ConfigError> {
    if !raw.contains_key(&Locale::En) {
        return Err(invalid("queues.en", "missing; name the English queue"));
    }

    for (locale, name) in &raw {
        if name.trim().is_empty() || name.chars().count() > MAX_QUEUE_NAME_CHARS {
            return Err(invalid(
                format!("queues.{locale}"),
                format!("'{name}' must have 1 to {MAX_QUEUE_NAME_CHARS} characters"),
            ));
        }
    }

    Ok(raw)
}

fn lines(raw: Vec<RawLine>) -> Result<Vec<LineConfig>, ConfigError> {
    let mut lines: Vec<LineConfig> = Vec::new();
    for (index, line) in raw.into_iter().enumerate() {
        let digits = line.number.strip_prefix('+').unwrap_or("");
        let e164 = (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit());
        if !e164 {
            return Err(invalid(
                format!("lines[{index}].number"),
                format!("'{}' is not an E.164 number; write it as '+19783745000'", line.number),
            ));
        }
        if lines.iter().any(|other| other.number == line.number) {
            return Err(invalid(format!("lines[{index}].number"), format!("'{}' is listed twice", line.number)));
        }

        lines.push(LineConfig { number: line.number, label: line.label, department: line.department });
    }

    if lines.is_empty() {
        return Err(invalid("lines", "no line is configured; add at least the main 311 line"));
    }

    Ok(lines)
}

fn locations(raw: Vec<RawLocation>) -> Result<Vec<LocationConfig>, ConfigError> {
    let mut locations: Vec<LocationConfig> = Vec::new();
    for (index, location) in raw.into_iter().enumerate() {
        check_code(&format!("locations[{index}].code"), &location.code)?;
        if locations.iter().any(|other| other.code == location.code) {
            return Err(invalid(format!("locations[{index}].code"), format!("'{}' is listed twice", location.code)));
        }

        locations.push(LocationConfig { code: location.code, name: location.name });
    }

    Ok(locations)
}

fn agents(raw: Vec<RawAgent>, locations: &[LocationConfig]) -> Result<Vec<AgentConfig>, ConfigError> {
    let mut agents: Vec<AgentConfig> = Vec::new();
    for (index, agent) in raw.into_iter().enumerate() {
        check_code(&format!("agents[{index}].code"), &agent.code)?;
        if agents.iter().any(|other| other.code == agent.code) {
            return Err(invalid(format!("agents[{index}].code"), format!("'{}' is listed twice", agent.code)));
        }
        if !locations.iter().any(|location| location.code == agent.location) {
            return Err(invalid(
                format!("agents[{index}].location"),
                format!("'{}' is not a configured location; add it under [[telephony.locations]]", agent.location),
            ));
        }

        agents.push(AgentConfig {
            code: agent.code,
            name: agent.name,
            location: agent.location,
            ringcentral_extension: agent.ringcentral_extension,
        });
    }

    Ok(agents)
}

fn check_code(field: &str, code: &str) -> Result<(), ConfigError> {
    let ok = !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(invalid(field, format!("'{code}' is invalid; use lowercase letters, digits and '-'")))
    }
}

fn metrics(raw: RawMetrics) -> Result<MetricsConfig, ConfigError> {
    let config = MetricsConfig {
        short_abandon_seconds: raw.short_abandon_seconds.unwrap_or(10),
        service_level_percent: raw.service_level_percent.unwrap_or(80),
        service_level_seconds: raw.service_level_seconds.unwrap_or(20),
        abandon_treatment: raw.abandon_treatment.unwrap_or(AbandonTreatment::Offered),
    };

    if !(1..=100).contains(&config.service_level_percent) {
        return Err(invalid(
            "metrics.service_level_percent",
            format!("{} must be between 1 and 100", config.service_level_percent),
        ));
    }
    if config.service_level_seconds == 0 {
        return Err(invalid("metrics.service_level_seconds", "must be at least 1 second"));
    }

    Ok(config)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    public_base_url: Option<String>,
    twilio: Option<RawTwilio>,
    ringcentral: Option<RawRingCentral>,
    #[serde(default)]
    lines: Vec<RawLine>,
    #[serde(default)]
    menu: BTreeMap<Locale, RawMenu>,
    #[serde(default)]
    queues: BTreeMap<Locale, String>,
    #[serde(default)]
    locations: Vec<RawLocation>,
    #[serde(default)]
    agents: Vec<RawAgent>,
    after_hours_voicemail: Option<bool>,
    metrics: Option<RawMetrics>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTwilio {
    auth_token_env: String,
    dev_auth_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRingCentral {
    verification_token_env: String,
    dev_verification_token: Option<String>,
    #[serde(default)]
    queue_extensions: BTreeMap<Locale, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    number: String,
    label: String,
    department: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMenu {
    intro: String,
    language_option: Option<String>,
    hold: Option<String>,
    after_hours: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocation {
    code: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    code: String,
    name: String,
    location: String,
    ringcentral_extension: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    short_abandon_seconds: Option<u32>,
    service_level_percent: Option<u32>,
    service_level_seconds: Option<u32>,
    abandon_treatment: Option<AbandonTreatment>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        [twilio]
        auth_token_env = "CIVIC311_TEST_TWILIO_TOKEN_UNSET"
        dev_auth_token = "dev-token"

        [[lines]]
        number = "+19785550100"
        label = "Main 311 line"

        [queues]
        en = "main-en"

        [menu.en]
        intro = "City 311. For emergencies dial 911."
    "#;

    fn table(text: &str) -> toml::Table {
        text.parse().expect("test TOML parses")
    }

    #[test]
    fn minimal_table_parses_with_defaults() {
        let config = parse(&table(MINIMAL)).expect("minimal config is valid");

        assert_eq!(config.metrics.short_abandon_seconds, 10);
        assert_eq!(config.metrics.abandon_treatment, AbandonTreatment::Offered);
        assert_eq!(config.queue_for(Locale::Es), (Locale::En, "main-en"));
        assert!(!config.offers_spanish());
    }

    #[test]
    fn dev_token_used_only_while_env_unset() {
        let config = parse(&table(MINIMAL)).expect("minimal config is valid");
        let secret = config.twilio.expect("twilio configured").resolve().expect("dev value resolves");

        assert_eq!(secret.expose(), "dev-token");
        assert!(secret.is_dev);
        assert!(!format!("{secret:?}").contains("dev-token"));
    }

    #[test]
    fn dev_token_without_prefix_rejected() {
        let text = MINIMAL.replace("dev-token", "a1b2c3");
        let error = parse(&table(&text)).expect_err("real-looking dev token");

        assert!(error.to_string().contains("telephony.twilio.dev_auth_token"), "{error}");
    }

    #[test]
    fn intro_without_911_rejected() {
        let text = MINIMAL.replace("For emergencies dial 911.", "Welcome.");
        let error = parse(&table(&text)).expect_err("intro lacks 911");

        assert!(error.to_string().contains("telephony.menu.en.intro"), "{error}");
    }

    #[test]
    fn unknown_key_rejected() {
        let text = format!("{MINIMAL}\n[metrics]\nshort_abandon = 5\n");
        let error = parse(&table(&text)).expect_err("unknown key");

        assert!(error.to_string().contains("short_abandon"), "{error}");
    }

    #[test]
    fn invalid_abandon_treatment_names_full_field() {
        let text = format!("{MINIMAL}\n[metrics]\nabandon_treatment = \"ignored\"\n");
        let error = parse(&table(&text)).expect_err("unknown abandon treatment");

        let ConfigError::Invalid { field, problem } = &error else {
            panic!("expected a field error, got {error}");
        };
        assert_eq!(field, "metrics.abandon_treatment");
        assert!(problem.contains("`ignored`"), "{problem}");
        assert!(problem.contains("`offered`, `removed`, `positive`"), "{problem}");
    }

    #[test]
    fn wrong_type_in_list_names_index() {
        let text = MINIMAL.replace("label = \"Main 311 line\"", "label = 7");
        let error = parse(&table(&text)).expect_err("label is a number");

        assert!(error.to_string().starts_with("telephony.lines[0].label: "), "{error}");
    }

    #[test]
    fn unknown_key_named_by_path() {
        let top_level = parse(&table(&format!("after_hours = true\n{MINIMAL}"))).expect_err("unknown top-level key");
        let nested = parse(&table(&format!("{MINIMAL}\n[metrics]\nshort_abandon = 5\n"))).expect_err("unknown metrics key");

        assert!(top_level.to_string().starts_with("telephony.after_hours: unknown field `after_hours`"), "{top_level}");
        assert!(nested.to_string().starts_with("telephony.metrics.short_abandon: unknown field"), "{nested}");
    }

    #[test]
    fn agent_with_unknown_location_rejected() {
        let text = format!("{MINIMAL}\n[[agents]]\ncode = \"ana\"\nname = \"Ana\"\nlocation = \"moon\"\n");
        let error = parse(&table(&text)).expect_err("unknown location");

        assert!(error.to_string().contains("telephony.agents[0].location"), "{error}");
    }

    fn haverhill() -> TenantManifest {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tenants/haverhill");
        civic311_domain::manifest::load(&dir).expect("Haverhill's manifest loads")
    }

    #[test]
    fn haverhill_manifest_parses() {
        let config = from_manifest(&haverhill()).expect("valid").expect("Haverhill has telephony");

        assert!(config.offers_spanish());
        assert_eq!(config.line("+19785550110").and_then(|line| line.department.as_deref()), Some("dpw-highway"));
        assert_eq!(config.locations.len(), 2);
        assert_eq!(config.metrics.service_level_seconds, 30);
    }

    #[test]
    fn unknown_department_rejected() {
        let mut manifest = haverhill();
        let telephony = manifest.telephony.as_mut().expect("Haverhill has telephony");
        let lines = telephony["lines"].as_array_mut().expect("lines is an array");
        lines[1].as_table_mut().expect("a line is a table").insert("department".into(), "roads".into());

        let error = from_manifest(&manifest).expect_err("unknown department");

        assert!(error.to_string().contains("telephony.lines[1].department"), "{error}");
    }

    #[test]
    fn line_lookup_ignores_formatting() {
        let config = parse(&table(MINIMAL)).expect("minimal config is valid");

        assert_eq!(config.line("+1 (978) 555-0100").map(|line| line.label.as_str()), Some("Main 311 line"));
        assert!(config.line("+19785550199").is_none());
    }
}
