//! The platform key and what it protects: install secrets at rest and the
//! integrity of precompiled artifacts.
//!
//! The key is 32 random bytes, from `CIVIC311_PLATFORM_KEY` (base64) or else
//! from `<data dir>/platform.key`, which the first start on a database
//! creates with mode 0600. Two subkeys are derived from it with HMAC-SHA256, one per purpose.
//! Secrets are sealed with XChaCha20-Poly1305 under a random 24-byte nonce.
//! The tenant, install and secret name are the associated data, so a
//! ciphertext copied to another install or name fails to open. Artifacts
//! are signed with HMAC-SHA256, so a tampered row is never deserialized.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use civic311_store::{InstallId, SealedSecret, TenantId};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Environment variable with the platform key, base64 of 32 bytes.
pub const PLATFORM_KEY_VAR: &str = "CIVIC311_PLATFORM_KEY";

/// File name of the platform key inside the data folder.
pub const PLATFORM_KEY_FILE: &str = "platform.key";

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;

/// Labels of the derived subkeys. Changing one makes every stored secret or
/// artifact MAC unreadable, so they are fixed.
const SECRETS_LABEL: &[u8] = b"civic311/plugin-secrets/v1";
const ARTIFACTS_LABEL: &[u8] = b"civic311/plugin-artifacts/v1";

/// Label of the key's fingerprint, which the database stores so that a
/// process with another key is rejected at start. The fingerprint is an
/// HMAC under the key, so it does not reveal the key.
const FINGERPRINT_LABEL: &[u8] = b"civic311/platform-key-fingerprint/v1";

type HmacSha256 = Hmac<Sha256>;

/// Failure to load the platform key or to seal or open a secret. No message
/// contains key material or a secret value.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The key text is not base64 of exactly 32 bytes, on a database that
    /// has no platform key yet.
    #[error(
        "invalid platform key in {origin}: {problem}; set it to base64 of 32 random bytes, \
         such as the output of `head -c 32 /dev/urandom | base64`"
    )]
    InvalidKey { origin: String, problem: String },

    /// The key text is not base64 of exactly 32 bytes, on a database that
    /// was set up with a platform key, so a new random key would not match.
    #[error("{}", invalid_original_key_message(.origin, .problem, .record))]
    InvalidOriginalKey { origin: KeySource, problem: String, record: KeyRecord },

    /// The key file does not exist, the variable is unset, and the database
    /// was set up with a platform key, so no new key file is created.
    #[error("{}", key_file_missing_message(.path, .record))]
    KeyFileMissing { path: PathBuf, record: KeyRecord },

    /// The key file could not be read or created.
    #[error("cannot {action} platform key file {path}: {message}; check the data folder's permissions or set {PLATFORM_KEY_VAR}")]
    KeyFile { action: &'static str, path: PathBuf, message: String },

    /// The operating system's random source failed.
    #[error("cannot get random bytes from the operating system: {0}")]
    Random(String),

    /// A secret could not be encrypted.
    #[error("cannot encrypt secret '{name}' of install {install}")]
    Seal { install: InstallId, name: String },

    /// The platform key differs from the key this database was set up with.
    /// `record` names the stored value that shows it.
    #[error("{}", key_mismatch_message(.origin, .record))]
    KeyMismatch { origin: KeySource, record: KeyRecord },

    /// A stored secret failed authentication: the row was changed, copied
    /// from another install or name, or sealed under another platform key.
    #[error(
        "cannot decrypt secret '{name}' of install {install}: the stored value was changed or sealed under \
         another platform key; set the secret again"
    )]
    Open { install: InstallId, name: String },
}

/// Origin of a process's platform key: the variable or the key file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// The `CIVIC311_PLATFORM_KEY` variable. `key_file` is the absolute path
    /// of the key file that the process reads when the variable is unset.
    Variable { key_file: PathBuf },
    /// The key file at this absolute path.
    File(PathBuf),
}

impl KeySource {
    /// Returns the source that [`PlatformKey::load`] uses: the variable when
    /// it is set, or else `<data_dir>/platform.key` as an absolute path.
    pub fn resolve(data_dir: &Path) -> KeySource {
        let relative = data_dir.join(PLATFORM_KEY_FILE);
        // `std::path::absolute` fails on an empty path, which the join never
        // gives, or when the current directory cannot be read. The relative
        // path is used then.
        let key_file = std::path::absolute(&relative).unwrap_or(relative);
        match key_from_env() {
            Some(_) => KeySource::Variable { key_file },
            None => KeySource::File(key_file),
        }
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Variable { .. } => formatter.write_str(PLATFORM_KEY_VAR),
            KeySource::File(path) => write!(formatter, "{}", path.display()),
        }
    }
}

/// The stored value that shows which platform key a database was set up with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRecord {
    /// The key's fingerprint in the platform metadata.
    Fingerprint,
    /// The signatures of the stored precompiled artifacts, on a database
    /// set up before fingerprints were stored.
    ArtifactSignatures,
}

/// Last sentence of the mismatch and missing-file messages: the key cannot
/// be recovered, but the database can move to a new key.
const LOST_KEY_ADVICE: &str = "A lost key cannot be recovered, but the steps under \"A lost platform key\" \
     in the README move the database to a new key.";

fn key_mismatch_message(origin: &KeySource, record: &KeyRecord) -> String {
    let reference = match record {
        KeyRecord::Fingerprint => "the key this database was set up with",
        KeyRecord::ArtifactSignatures => "the key that signed the plugin artifacts stored in this database",
    };
    let fix = match origin {
        KeySource::Variable { key_file } => format!(
            "Set {PLATFORM_KEY_VAR} to the original key on every server and command that uses this database, \
             or unset it so that this process reads the key from {}.",
            key_file.display()
        ),
        KeySource::File(path) => format!(
            "Put the original key in {} or in {PLATFORM_KEY_VAR} on every server and command that uses this database, \
             or point CIVIC311_DATA_DIR (or serve --data-dir) at the folder with the original {PLATFORM_KEY_FILE}.",
            path.display()
        ),
    };
    format!("the platform key from {origin} differs from {reference}. {fix} {LOST_KEY_ADVICE}")
}

fn key_file_missing_message(path: &Path, record: &KeyRecord) -> String {
    let reason = match record {
        KeyRecord::Fingerprint => "this database was set up with a platform key",
        KeyRecord::ArtifactSignatures => "the plugin artifacts stored in this database were signed with a platform key",
    };
    format!(
        "platform key file {} not found, but {reason}, so no new key was created. Restore that file from a backup, \
         set {PLATFORM_KEY_VAR} to the original key, or point CIVIC311_DATA_DIR (or serve --data-dir) at the folder \
         that has {PLATFORM_KEY_FILE}. {LOST_KEY_ADVICE}",
        path.display()
    )
}

fn invalid_original_key_message(origin: &KeySource, problem: &str, record: &KeyRecord) -> String {
    let reason = match record {
        KeyRecord::Fingerprint => "This database was set up with a platform key",
        KeyRecord::ArtifactSignatures => "The plugin artifacts stored in this database were signed with a platform key",
    };
    let fix = match origin {
        KeySource::Variable { key_file } => format!(
            "Set {PLATFORM_KEY_VAR} to the original key, or unset it so that this process reads the key from {}.",
            key_file.display()
        ),
        KeySource::File(path) => format!(
            "Restore the original {} from a backup, or set {PLATFORM_KEY_VAR} to the original key.",
            path.display()
        ),
    };
    format!("invalid platform key in {origin}: {problem}. {reason}, so a new random key would not match. {fix}")
}

/// The platform's 32-byte master key. Neither `Debug` nor any error prints it.
#[derive(Clone)]
pub struct PlatformKey([u8; KEY_BYTES]);

impl fmt::Debug for PlatformKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("PlatformKey(redacted)")
    }
}

impl PlatformKey {
    /// Wraps 32 key bytes.
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> PlatformKey {
        PlatformKey(bytes)
    }

    /// Parses base64 text of 32 bytes; `origin` names where the text came
    /// from in the error.
    pub fn from_base64(text: &str, origin: &str) -> Result<PlatformKey, VaultError> {
        let invalid = |problem: String| VaultError::InvalidKey { origin: origin.to_string(), problem };

        let bytes = BASE64
            .decode(text.trim())
            .map_err(|error| invalid(format!("not valid base64 ({error})")))?;
        let length = bytes.len();
        let bytes: [u8; KEY_BYTES] = bytes
            .try_into()
            .map_err(|_| invalid(format!("decodes to {length} bytes, expected {KEY_BYTES}")))?;

        Ok(PlatformKey(bytes))
    }

    /// Creates a key from the operating system's random source.
    pub fn generate() -> Result<PlatformKey, VaultError> {
        let mut bytes = [0u8; KEY_BYTES];
        getrandom::fill(&mut bytes).map_err(|error| VaultError::Random(error.to_string()))?;
        Ok(PlatformKey(bytes))
    }

    /// Loads the key from `CIVIC311_PLATFORM_KEY` when it is set, or else
    /// from `<data_dir>/platform.key`, creating that file when it does not
    /// exist. [`crate::PluginManager::start`] creates the file only on a
    /// database without a platform key.
    pub fn load(data_dir: &Path) -> Result<PlatformKey, VaultError> {
        match key_from_env() {
            Some(text) => PlatformKey::from_base64(&text, PLATFORM_KEY_VAR),
            None => PlatformKey::load_or_create_file(&data_dir.join(PLATFORM_KEY_FILE)),
        }
    }

    /// Reads the key from `source` without creating anything. Returns
    /// `None` when `source` is a file that does not exist.
    pub fn read(source: &KeySource) -> Result<Option<PlatformKey>, VaultError> {
        match source {
            KeySource::Variable { .. } => {
                let text = key_from_env().unwrap_or_default();
                PlatformKey::from_base64(&text, PLATFORM_KEY_VAR).map(Some)
            }
            KeySource::File(path) => PlatformKey::read_file(path),
        }
    }

    /// Reads the key file at `path`, or creates it with a new random key and
    /// mode 0600 when it does not exist.
    pub fn load_or_create_file(path: &Path) -> Result<PlatformKey, VaultError> {
        match PlatformKey::read_file(path)? {
            Some(key) => Ok(key),
            None => PlatformKey::create_file(path),
        }
    }

    /// Reads the key file at `path`; returns `None` when it does not exist.
    pub fn read_file(path: &Path) -> Result<Option<PlatformKey>, VaultError> {
        match std::fs::read_to_string(path) {
            Ok(text) => PlatformKey::from_base64(&text, &path.display().to_string()).map(Some),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(key_file_error("read", path, error)),
        }
    }

    /// Creates the key file at `path` with a new random key and mode 0600.
    /// When another process creates the file first, returns that file's key,
    /// so two processes starting at once get the same key: the file appears
    /// atomically with its content.
    pub fn create_file(path: &Path) -> Result<PlatformKey, VaultError> {
        PlatformKey::create_file_reporting(path).map(|(key, _)| key)
    }

    /// Does what [`PlatformKey::create_file`] does and also returns whether
    /// this call created the file (`false` when another process did).
    pub fn create_file_reporting(path: &Path) -> Result<(PlatformKey, bool), VaultError> {
        let key = PlatformKey::generate()?;
        match write_new_key_file(path, &key) {
            Ok(()) => {
                tracing::info!(path = %path.display(), "created a new platform key file");
                Ok((key, true))
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path).map_err(|error| key_file_error("read", path, error))?;
                let key = PlatformKey::from_base64(&text, &path.display().to_string())?;
                Ok((key, false))
            }
            Err(error) => Err(key_file_error("create", path, error)),
        }
    }

    fn derive(&self, label: &[u8]) -> [u8; KEY_BYTES] {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(label);
        mac.finalize().into_bytes().into()
    }
}

/// Returns the value of `CIVIC311_PLATFORM_KEY` unless it is unset or blank.
fn key_from_env() -> Option<String> {
    std::env::var(PLATFORM_KEY_VAR).ok().filter(|text| !text.trim().is_empty())
}

/// Writes the key to a private temporary file and links it into place, so
/// that `path` never exists half-written. Fails with `AlreadyExists` when
/// `path` exists.
fn write_new_key_file(path: &Path, key: &PlatformKey) -> std::io::Result<()> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }

    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|error| std::io::Error::other(error.to_string()))?;
    let temporary = path.with_extension(format!("tmp-{}", hex::encode(suffix)));

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);

    let mut file = options.open(&temporary)?;
    let written = file
        .write_all(format!("{}\n", BASE64.encode(key.0)).as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    written
}

fn key_file_error(action: &'static str, path: &Path, error: std::io::Error) -> VaultError {
    VaultError::KeyFile {
        action,
        path: path.to_path_buf(),
        message: error.to_string(),
    }
}

/// Seals and opens install secrets and signs artifacts with subkeys of the
/// platform key.
pub struct Vault {
    cipher: XChaCha20Poly1305,
    artifact_key: [u8; KEY_BYTES],
    /// HMAC-SHA256 of [`FINGERPRINT_LABEL`] under the key, as lowercase hex.
    fingerprint: String,
}

impl fmt::Debug for Vault {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Vault(redacted)")
    }
}

impl Vault {
    /// Derives the subkeys of `key`.
    pub fn new(key: &PlatformKey) -> Vault {
        let secrets_key = key.derive(SECRETS_LABEL);
        Vault {
            cipher: XChaCha20Poly1305::new_from_slice(&secrets_key).expect("XChaCha20-Poly1305 takes a 32-byte key"),
            artifact_key: key.derive(ARTIFACTS_LABEL),
            fingerprint: hex::encode(key.derive(FINGERPRINT_LABEL)),
        }
    }

    /// Returns the key's fingerprint, 64 lowercase hex digits, which
    /// identifies the key without revealing it.
    pub fn key_fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Loads the platform key as [`PlatformKey::load`] does and derives the subkeys.
    pub fn load(data_dir: &Path) -> Result<Vault, VaultError> {
        Ok(Vault::new(&PlatformKey::load(data_dir)?))
    }

    /// Encrypts `value` for secret `name` of `install` under a fresh nonce.
    pub fn seal(&self, tenant: TenantId, install: InstallId, name: &str, value: &str) -> Result<SealedSecret, VaultError> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|error| VaultError::Random(error.to_string()))?;
        let aad = associated_data(tenant, install, name);

        let payload = Payload { msg: value.as_bytes(), aad: &aad };
        let ciphertext = self
            .cipher
            .encrypt(&XNonce::from(nonce), payload)
            .map_err(|_| VaultError::Seal { install, name: name.to_string() })?;

        Ok(SealedSecret { ciphertext, nonce: nonce.to_vec() })
    }

    /// Decrypts secret `name` of `install`. Fails when the ciphertext, the
    /// nonce, the tenant, the install, the name or the platform key differ
    /// from those it was sealed with.
    pub fn open(&self, tenant: TenantId, install: InstallId, name: &str, sealed: &SealedSecret) -> Result<String, VaultError> {
        let failed = || VaultError::Open { install, name: name.to_string() };
        let nonce: [u8; NONCE_BYTES] = sealed.nonce.as_slice().try_into().map_err(|_| failed())?;
        let aad = associated_data(tenant, install, name);

        let payload = Payload { msg: &sealed.ciphertext, aad: &aad };
        let plaintext = self.cipher.decrypt(&XNonce::from(nonce), payload).map_err(|_| failed())?;

        String::from_utf8(plaintext).map_err(|_| failed())
    }

    /// Returns the HMAC-SHA256 of an artifact stored under `key`.
    pub fn sign_artifact(&self, key: &str, artifact: &[u8]) -> Vec<u8> {
        self.artifact_mac(key, artifact).finalize().into_bytes().to_vec()
    }

    /// Returns whether `mac` is the artifact's HMAC under `key`, compared in
    /// constant time.
    pub fn verify_artifact(&self, key: &str, artifact: &[u8], mac: &[u8]) -> bool {
        self.artifact_mac(key, artifact).verify_slice(mac).is_ok()
    }

    /// Starts the MAC over the key's length, the key and the artifact, so a
    /// valid artifact cannot be moved to another key.
    fn artifact_mac(&self, key: &str, artifact: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.artifact_key).expect("HMAC takes keys of any length");
        mac.update(&(key.len() as u64).to_be_bytes());
        mac.update(key.as_bytes());
        mac.update(artifact);
        mac
    }
}

/// Binds a ciphertext to its tenant, install and name.
fn associated_data(tenant: TenantId, install: InstallId, name: &str) -> Vec<u8> {
    format!("{}|{}|{}", tenant.0, install.0, name).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::new(&PlatformKey::from_bytes([7; KEY_BYTES]))
    }

    #[test]
    fn secret_round_trip() {
        let vault = vault();

        let sealed = vault.seal(TenantId(1), InstallId(2), "api_key", "s3cret-value").unwrap();

        assert_eq!(vault.open(TenantId(1), InstallId(2), "api_key", &sealed).unwrap(), "s3cret-value");
        assert_eq!(sealed.nonce.len(), NONCE_BYTES);
        assert!(!sealed.ciphertext.windows(6).any(|window| window == b"s3cret"));
    }

    #[test]
    fn nonce_differs_per_seal() {
        let vault = vault();

        let first = vault.seal(TenantId(1), InstallId(2), "api_key", "value").unwrap();
        let second = vault.seal(TenantId(1), InstallId(2), "api_key", "value").unwrap();

        assert_ne!(first.nonce, second.nonce);
        assert_ne!(first.ciphertext, second.ciphertext);
    }

    #[test]
    fn open_rejects_other_binding() {
        let vault = vault();
        let sealed = vault.seal(TenantId(1), InstallId(2), "api_key", "value").unwrap();

        assert!(matches!(vault.open(TenantId(9), InstallId(2), "api_key", &sealed), Err(VaultError::Open { .. })));
        assert!(matches!(vault.open(TenantId(1), InstallId(9), "api_key", &sealed), Err(VaultError::Open { .. })));
        assert!(matches!(vault.open(TenantId(1), InstallId(2), "other", &sealed), Err(VaultError::Open { .. })));
    }

    #[test]
    fn open_rejects_other_key() {
        let sealed = vault().seal(TenantId(1), InstallId(2), "api_key", "value").unwrap();
        let other = Vault::new(&PlatformKey::from_bytes([8; KEY_BYTES]));

        assert!(other.open(TenantId(1), InstallId(2), "api_key", &sealed).is_err());
    }

    #[test]
    fn open_rejects_tampered_ciphertext() {
        let vault = vault();
        let mut sealed = vault.seal(TenantId(1), InstallId(2), "api_key", "value").unwrap();
        sealed.ciphertext[0] ^= 1;

        assert!(vault.open(TenantId(1), InstallId(2), "api_key", &sealed).is_err());
    }

    #[test]
    fn artifact_mac_verifies() {
        let vault = vault();
        let mac = vault.sign_artifact("abc-def", b"artifact bytes");

        assert!(vault.verify_artifact("abc-def", b"artifact bytes", &mac));
        assert!(!vault.verify_artifact("abc-def", b"artifact bytez", &mac));
        assert!(!vault.verify_artifact("abc-xyz", b"artifact bytes", &mac));
        assert!(!vault.verify_artifact("abc-def", b"artifact bytes", &mac[..16]));
    }

    #[test]
    fn key_base64_wrong_length() {
        let error = PlatformKey::from_base64(&BASE64.encode([1u8; 16]), PLATFORM_KEY_VAR).unwrap_err();
        let message = error.to_string();

        assert!(message.contains(PLATFORM_KEY_VAR), "{message}");
        assert!(message.contains("16 bytes, expected 32"), "{message}");
        assert!(message.contains("head -c 32 /dev/urandom | base64"), "{message}");
    }

    #[test]
    fn key_base64_invalid_text() {
        let error = PlatformKey::from_base64("not base64!", "test").unwrap_err();

        assert!(error.to_string().contains("not valid base64"), "{error}");
    }

    #[test]
    fn fingerprint_identifies_key() {
        let key = PlatformKey::from_bytes([7; KEY_BYTES]);
        let fingerprint = vault().key_fingerprint().to_string();

        assert_eq!(fingerprint.len(), 64);
        assert!(fingerprint.chars().all(|digit| digit.is_ascii_hexdigit() && !digit.is_ascii_uppercase()), "{fingerprint}");
        assert_eq!(Vault::new(&key).key_fingerprint(), fingerprint);
        assert_ne!(Vault::new(&PlatformKey::from_bytes([8; KEY_BYTES])).key_fingerprint(), fingerprint);
        assert_ne!(fingerprint, hex::encode(key.0));
        assert_ne!(fingerprint, hex::encode(key.derive(SECRETS_LABEL)));
        assert_ne!(fingerprint, hex::encode(key.derive(ARTIFACTS_LABEL)));
    }

    #[test]
    fn key_debug_redacted() {
        let key = PlatformKey::from_bytes([0xAB; KEY_BYTES]);

        assert_eq!(format!("{key:?}"), "PlatformKey(redacted)");
        assert_eq!(format!("{:?}", Vault::new(&key)), "Vault(redacted)");
    }

    #[test]
    fn key_source_path_is_absolute() {
        let source = KeySource::resolve(Path::new("data"));

        let key_file = match &source {
            KeySource::Variable { key_file } => key_file,
            KeySource::File(path) => path,
        };
        assert!(key_file.is_absolute(), "{}", key_file.display());
        assert!(key_file.ends_with("data/platform.key"), "{}", key_file.display());
    }

    #[test]
    fn mismatch_from_file_names_fixes() {
        let origin = KeySource::File(PathBuf::from("/srv/civic311/platform.key"));
        let error = VaultError::KeyMismatch { origin, record: KeyRecord::Fingerprint };
        let message = error.to_string();

        assert!(message.contains("from /srv/civic311/platform.key differs from the key this database was set up with"), "{message}");
        assert!(message.contains("Put the original key in /srv/civic311/platform.key or in CIVIC311_PLATFORM_KEY"), "{message}");
        assert!(message.contains("CIVIC311_DATA_DIR"), "{message}");
        assert!(message.contains("A lost key cannot be recovered"), "{message}");
        assert!(message.contains("\"A lost platform key\" in the README"), "{message}");
    }

    #[test]
    fn mismatch_from_variable_names_unset() {
        let origin = KeySource::Variable { key_file: PathBuf::from("/srv/civic311/platform.key") };
        let error = VaultError::KeyMismatch { origin, record: KeyRecord::ArtifactSignatures };
        let message = error.to_string();

        assert!(message.starts_with("the platform key from CIVIC311_PLATFORM_KEY differs"), "{message}");
        assert!(message.contains("the key that signed the plugin artifacts"), "{message}");
        assert!(message.contains("or unset it so that this process reads the key from /srv/civic311/platform.key"), "{message}");
        assert!(message.contains("A lost key cannot be recovered"), "{message}");
    }

    #[test]
    fn invalid_original_file_advises_restore() {
        let origin = KeySource::File(PathBuf::from("/srv/civic311/platform.key"));
        let problem = "not valid base64".to_string();
        let error = VaultError::InvalidOriginalKey { origin, problem, record: KeyRecord::Fingerprint };
        let message = error.to_string();

        assert!(message.starts_with("invalid platform key in /srv/civic311/platform.key: not valid base64."), "{message}");
        assert!(message.contains("a new random key would not match"), "{message}");
        assert!(message.contains("Restore the original /srv/civic311/platform.key from a backup"), "{message}");
        assert!(!message.contains("/dev/urandom"), "{message}");
    }

    #[test]
    fn invalid_original_variable_advises_unset() {
        let origin = KeySource::Variable { key_file: PathBuf::from("/srv/civic311/platform.key") };
        let problem = "decodes to 16 bytes, expected 32".to_string();
        let error = VaultError::InvalidOriginalKey { origin, problem, record: KeyRecord::Fingerprint };
        let message = error.to_string();

        assert!(message.starts_with("invalid platform key in CIVIC311_PLATFORM_KEY"), "{message}");
        assert!(message.contains("Set CIVIC311_PLATFORM_KEY to the original key, or unset it"), "{message}");
        assert!(!message.contains("/dev/urandom"), "{message}");
    }

    #[test]
    fn missing_key_file_names_fixes() {
        let path = PathBuf::from("/srv/civic311/platform.key");
        let error = VaultError::KeyFileMissing { path, record: KeyRecord::Fingerprint };
        let message = error.to_string();

        assert!(message.starts_with("platform key file /srv/civic311/platform.key not found"), "{message}");
        assert!(message.contains("this database was set up with a platform key, so no new key was created"), "{message}");
        assert!(message.contains("Restore that file from a backup"), "{message}");
        assert!(message.contains("set CIVIC311_PLATFORM_KEY to the original key"), "{message}");
        assert!(message.contains("CIVIC311_DATA_DIR (or serve --data-dir)"), "{message}");
    }

    #[test]
    fn read_missing_file_creates_nothing() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join(PLATFORM_KEY_FILE);

        let key = PlatformKey::read_file(&path).unwrap();

        assert!(key.is_none());
        assert!(!path.exists());
    }

    #[test]
    fn key_file_created_once() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("nested").join(PLATFORM_KEY_FILE);

        let first = PlatformKey::load_or_create_file(&path).unwrap();
        let second = PlatformKey::load_or_create_file(&path).unwrap();

        assert_eq!(first.0, second.0);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary files left behind: {leftovers:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
