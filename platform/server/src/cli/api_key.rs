//! `civic311 api-key create`: makes a key for the Open311 and staff APIs.

use clap::Args;
use civic311_store::Store;

use super::CliError;

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Slug of the tenant the key gives access to, such as `haverhill`.
    #[arg(long)]
    pub tenant: String,

    /// Label that names who uses the key, such as `call-center` or `seeclickfix`.
    #[arg(long)]
    pub name: String,
}

/// Prints the key on the last line of stdout, so scripts can take it with `tail -n 1`.
pub async fn create(database_url: &str, args: CreateArgs) -> Result<(), CliError> {
    let name = args.name.trim();
    if name.is_empty() {
        return Err(CliError::Failed("--name is empty; give a label such as call-center".into()));
    }

    let store = Store::connect(database_url).await.map_err(CliError::failed)?;
    let tenant = store
        .tenant_by_slug(&args.tenant)
        .await
        .map_err(CliError::failed)?
        .ok_or_else(|| {
            CliError::Failed(format!(
                "tenant '{}' not found; apply its folder first with `civic311 tenant apply tenants/{}`",
                args.tenant, args.tenant
            ))
        })?;

    let (record, secret) = store.scoped(tenant.id).create_api_key(name).await.map_err(CliError::failed)?;
    tracing::info!(tenant.id = tenant.id.0, api_key.id = record.id, "API key created");

    println!("Created API key '{}' (id {}) for tenant {}.", record.name, record.id, tenant.slug);
    println!("Only a hash is stored, so this is the only time the key is shown:");
    println!("{secret}");
    Ok(())
}
