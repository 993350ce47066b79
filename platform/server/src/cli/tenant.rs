//! `civic311 tenant apply`: validates one manifest and stores it.

use std::path::Path;
use std::sync::Arc;

use civic311_plugin_host::{HostConfig, PluginHost};
use civic311_store::{ApplyOutcome, Store};

use super::CliError;

pub async fn apply(database_url: &str, dir: &Path) -> Result<(), CliError> {
    let manifest = crate::tenants::load_manifest(dir)?;
    let plugins = Arc::new(PluginHost::new(HostConfig::default()).map_err(CliError::failed)?);
    crate::tenants::load_manifest_router(&plugins, &manifest, dir).await?;

    let store = Store::connect(database_url).await.map_err(CliError::failed)?;

    let (record, outcome) = store.apply_tenant(&manifest).await.map_err(|error| {
        CliError::Failed(format!("cannot store tenant '{}' from {}: {error}", manifest.slug, dir.display()))
    })?;

    let word = match outcome {
        ApplyOutcome::Created => "created",
        ApplyOutcome::Updated => "updated",
        ApplyOutcome::Unchanged => "unchanged",
    };
    println!(
        "{word}: tenant {} (id {}, jurisdiction {}, {} services)",
        record.slug,
        record.id.0,
        record.jurisdiction_id,
        manifest.services.len()
    );
    Ok(())
}
