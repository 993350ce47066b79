//! `civic311 tenant apply`: validates one manifest and stores it.

use std::path::Path;

use civic311_store::ApplyOutcome;

use super::{CliError, PlatformConfigArgs};
use crate::app;
use crate::tenants::{self, TenantRegistry};

/// Applies the tenant folder `dir` and adopts its router plugin. With
/// `REDIS_URL` set, running servers reload the tenant's router install.
pub async fn apply(database_url: &str, dir: &Path, platform: &PlatformConfigArgs) -> Result<(), CliError> {
    let manifest = tenants::load_manifest(dir)?;
    let options = platform.options(database_url);
    let (store, manager) = app::connect_platform(database_url, &options).await.map_err(CliError::failed)?;

    let registry = TenantRegistry::new();
    let applied = tenants::apply_dir(&store, &manager, &registry, dir).await.map_err(|error| match error {
        tenants::ApplyError::Manifest(manifest) => CliError::Manifest(manifest),
        other => CliError::Failed(format!("cannot apply tenant '{}' from {}: {other}", manifest.slug, dir.display())),
    })?;

    let word = match applied.outcome {
        ApplyOutcome::Created => "created",
        ApplyOutcome::Updated => "updated",
        ApplyOutcome::Unchanged => "unchanged",
    };
    println!(
        "{word}: tenant {} (id {}, jurisdiction {}, {} services)",
        applied.record.slug,
        applied.record.id.0,
        applied.record.jurisdiction_id,
        manifest.services.len()
    );
    Ok(())
}
