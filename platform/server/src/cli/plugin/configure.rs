//! `plugin configure`: changes the grants, limits or config of an existing install.

use clap::Args;
use civic311_domain::plugin::{Grants, LimitOverrides};

use super::lifecycle::{find_install, GrantArg, LimitArgs};
use super::{actor, config_map, parse_config_pair, tenant, InstallArgs};
use crate::app::AppState;
use crate::cli::CliError;

#[derive(Debug, Args)]
pub struct ConfigureArgs {
    #[command(flatten)]
    pub install: InstallArgs,

    /// Replace the grants with these capabilities; repeat for several.
    /// Grants change only when --grant, --allow-host or --revoke-all is given.
    #[arg(long = "grant", value_enum)]
    pub grants: Vec<GrantArg>,

    /// Replace the HTTP allow-list with these hosts; repeat for several.
    #[arg(long = "allow-host")]
    pub allow_hosts: Vec<String>,

    /// Revoke every capability, including http.
    #[arg(long, conflicts_with_all = ["grants", "allow_hosts"])]
    pub revoke_all: bool,

    #[command(flatten)]
    pub limits: LimitArgs,

    /// Return every limit to the platform defaults. Without it, limits change
    /// only when a limit option is given, and then the limits not given
    /// return to the defaults.
    #[arg(long, conflicts_with_all = ["fuel", "memory_mib", "wall_time_ms", "max_output_bytes", "fuel_per_second"])]
    pub default_limits: bool,

    /// Replace the config with these KEY=VALUE settings; repeat for several.
    #[arg(long = "config", value_parser = parse_config_pair)]
    pub config: Vec<(String, String)>,

    /// Remove every config setting.
    #[arg(long, conflicts_with = "config")]
    pub clear_config: bool,
}

/// Applies each part of the install that the options name, and prints what changed.
pub async fn configure(state: &AppState, args: ConfigureArgs) -> Result<(), CliError> {
    let tenant = tenant(state, &args.install.tenant)?;
    find_install(&tenant.store, &args.install).await?;
    let (hook, name, actor) = (args.install.hook, args.install.name.clone(), actor());
    let mut changed = Vec::new();

    if let Some(grants) = grants_of(&args) {
        state.manager.set_grants(tenant.id, hook, &name, grants, &actor).await.map_err(CliError::failed)?;
        changed.push("grants");
    }

    if let Some(limits) = limits_of(&args) {
        state.manager.set_limits(tenant.id, hook, &name, limits, &actor).await.map_err(CliError::failed)?;
        changed.push("limits");
    }

    if args.clear_config || !args.config.is_empty() {
        let config = config_map(args.config)?;
        state.manager.set_config(tenant.id, hook, &name, config, &actor).await.map_err(CliError::failed)?;
        changed.push("config");
    }

    if changed.is_empty() {
        return Err(CliError::Failed(
            "nothing to change; give --grant, --allow-host, --revoke-all, a limit option, --default-limits, --config or --clear-config".to_string(),
        ));
    }
    println!("updated {} of {hook}/{name} for tenant {}", changed.join(", "), args.install.tenant);
    Ok(())
}

fn grants_of(args: &ConfigureArgs) -> Option<Grants> {
    if !args.revoke_all && args.grants.is_empty() && args.allow_hosts.is_empty() {
        return None;
    }
    Some(Grants {
        logs: args.grants.contains(&GrantArg::Logs),
        kv: args.grants.contains(&GrantArg::Kv),
        secrets: args.grants.contains(&GrantArg::Secrets),
        http_hosts: args.allow_hosts.clone(),
    })
}

fn limits_of(args: &ConfigureArgs) -> Option<LimitOverrides> {
    let limits = args.limits.overrides();
    let any_limit = limits != LimitOverrides::default();
    (any_limit || args.default_limits).then_some(limits)
}
