use std::path::{Path, PathBuf};

use super::validate::validate;
use super::{ManifestError, ServicesFile, TenantManifest};

/// File in a tenant folder that describes the city.
pub const TENANT_FILE: &str = "tenant.toml";
/// File in a tenant folder that lists the city's services.
pub const SERVICES_FILE: &str = "services.toml";

/// Reads and validates the manifest in the tenant folder `dir`.
pub fn load(dir: &Path) -> Result<TenantManifest, ManifestError> {
    let tenant_path = dir.join(TENANT_FILE);
    let services_path = dir.join(SERVICES_FILE);

    let tenant_text = read(&tenant_path)?;
    let services_text = read(&services_path)?;

    load_from_strings(&tenant_path, &tenant_text, &services_path, &services_text)
}

/// Parses and validates a manifest from text; the paths only label errors.
pub fn load_from_strings(
    tenant_path: &Path,
    tenant_text: &str,
    services_path: &Path,
    services_text: &str,
) -> Result<TenantManifest, ManifestError> {
    let mut manifest: TenantManifest = parse(tenant_path, tenant_text)?;
    let services: ServicesFile = parse(services_path, services_text)?;
    manifest.services = services.services;

    validate(&manifest, tenant_path, services_path)?;
    Ok(manifest)
}

fn read(path: &Path) -> Result<String, ManifestError> {
    std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
        file: path.to_path_buf(),
        source,
    })
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ManifestError> {
    toml::from_str(text).map_err(|error| ManifestError::Parse {
        file: PathBuf::from(path),
        message: error.to_string().trim_end().replace('\n', " "),
    })
}
