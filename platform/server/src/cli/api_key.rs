//! `civic311 api-key create`: makes a key for Open311 POSTs, with
//! `--scope staff` for the staff APIs too, and with `--scope admin` for the
//! plugin admin API as well.

use clap::{Args, ValueEnum};
use civic311_store::{ApiKeyScope, Store};

use super::CliError;

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Slug of the tenant the key gives access to, such as `haverhill`.
    #[arg(long)]
    pub tenant: String,

    /// Label that names who uses the key, such as `call-center` or `seeclickfix`.
    #[arg(long)]
    pub name: String,

    /// APIs the key opens. Give a public web portal or app an `open311` key,
    /// only staff tools a `staff` key, and only the city's plugin admins an `admin` key.
    #[arg(long, value_enum, default_value_t = ScopeArg::Open311)]
    pub scope: ScopeArg,
}

/// Values of `--scope`; clap prints each variant's doc in `--help`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    /// Submits Open311 service requests (POST requests.json) only.
    Open311,
    /// Also opens the staff API under /api/v1 and the telephony call routes
    /// and metrics, which show constituents' contact details and change requests.
    Staff,
    /// Also opens the plugin admin API: uploading, activating and rolling
    /// back the tenant's plugins, and setting their grants and secrets.
    Admin,
}

impl From<ScopeArg> for ApiKeyScope {
    fn from(scope: ScopeArg) -> ApiKeyScope {
        match scope {
            ScopeArg::Open311 => ApiKeyScope::Open311,
            ScopeArg::Staff => ApiKeyScope::Staff,
            ScopeArg::Admin => ApiKeyScope::Admin,
        }
    }
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

    let (record, secret) = store
        .scoped(tenant.id)
        .create_api_key_with_scope(name, args.scope.into())
        .await
        .map_err(CliError::failed)?;
    tracing::info!(tenant.id = tenant.id.0, api_key.id = record.id, api_key.scope = %record.scope, "API key created");

    println!(
        "Created API key '{}' (id {}, scope {}) for tenant {}.",
        record.name, record.id, record.scope, tenant.slug
    );
    println!("Only a hash is stored, so this is the only time the key is shown:");
    println!("{secret}");
    Ok(())
}
