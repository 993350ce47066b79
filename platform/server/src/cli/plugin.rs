//! `civic311 plugin …`: the operators' tool for plugins. It acts on the
//! configured database directly, as `tenant apply` does, with the audit
//! actor `cli:<user>` from `$USER`. With `REDIS_URL` set, each change is
//! also published to the running servers; without it, a running server
//! picks the change up at its next reconcile.

mod configure;
mod lifecycle;
mod observe;
mod runtime;
mod testing;

use std::collections::BTreeMap;
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use civic311_domain::plugin::Hook;

use super::{CliError, PlatformConfigArgs};
use crate::app::{self, AppState, PlatformOptions};
use crate::tenants::TenantContext;

/// `civic311 plugin` with its options and subcommand.
#[derive(Debug, Args)]
pub struct PluginArgs {
    #[command(flatten)]
    pub platform: PlatformConfigArgs,

    #[command(subcommand)]
    pub command: PluginCommand,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Upload a component as the next version of a tenant's plugin, or with
    /// --catalogue of a platform catalogue plugin. Uploading the same bytes
    /// again returns the existing version.
    Upload(lifecycle::UploadArgs),
    /// List the plugin versions and installs of a tenant.
    List(TenantArgs),
    /// Show one install: versions, grants, limits, config, secret names and breaker.
    Show(InstallArgs),
    /// Install a plugin on a hook; it stays inactive until `plugin activate`.
    Install(lifecycle::InstallPluginArgs),
    /// Change an install's grants, limits or config; the parts not named stay.
    Configure(configure::ConfigureArgs),
    /// Make a version the install's active version.
    Activate(lifecycle::ActivateArgs),
    /// Activate an earlier version: --to-version, or the one active before the current one.
    Rollback(lifecycle::RollbackArgs),
    /// Stop calling an install; a router falls back to the services' default departments.
    Deactivate(InstallArgs),
    /// Run a candidate router version and the active one on stored requests
    /// and show where their decisions differ. Nothing is written.
    DryRun(testing::DryRunArgs),
    /// Start, stop or read shadow mode.
    #[command(subcommand)]
    Shadow(testing::ShadowCommand),
    /// Show the log lines an install's plugin wrote, newest first.
    Logs(runtime::LogsArgs),
    /// Set, delete or list an install's secrets.
    #[command(subcommand)]
    Secret(observe::SecretCommand),
    /// Close an install's tripped circuit breaker.
    #[command(subcommand)]
    Breaker(runtime::BreakerCommand),
    /// Show the plugin audit log of a tenant, newest first.
    Audit(observe::AuditArgs),
    /// Show call counts, p50 and p99 durations and failures per install and version.
    Metrics(runtime::MetricsArgs),
}

/// The tenant a command acts on.
#[derive(Debug, Args)]
pub struct TenantArgs {
    /// Slug of the tenant, such as `haverhill`.
    #[arg(long)]
    pub tenant: String,
}

/// One install of a tenant.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Slug of the tenant, such as `haverhill`.
    #[arg(long)]
    pub tenant: String,

    /// Hook of the install: router or integration.
    #[arg(long, value_parser = parse_hook)]
    pub hook: Hook,

    /// Plugin name of the install.
    #[arg(long)]
    pub name: String,
}

/// Output format of commands that print a report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Lines and tables for a terminal.
    #[default]
    Text,
    /// One JSON document.
    Json,
}

pub async fn run(database_url: &str, args: PluginArgs) -> Result<(), CliError> {
    let state = load_state(database_url, &args.platform.options(database_url)).await?;
    match args.command {
        PluginCommand::Upload(args) if args.catalogue => lifecycle::publish(&state, &args).await,
        PluginCommand::Upload(args) => lifecycle::upload(&state, &args).await,
        PluginCommand::List(args) => lifecycle::list(&state, &args).await,
        PluginCommand::Show(args) => lifecycle::show(&state, &args).await,
        PluginCommand::Install(args) => lifecycle::install(&state, args).await,
        PluginCommand::Configure(args) => configure::configure(&state, args).await,
        PluginCommand::Activate(args) => lifecycle::activate(&state, &args).await,
        PluginCommand::Rollback(args) => lifecycle::rollback(&state, &args).await,
        PluginCommand::Deactivate(args) => lifecycle::deactivate(&state, &args).await,
        PluginCommand::DryRun(args) => testing::dry_run(&state, args).await,
        PluginCommand::Shadow(command) => testing::shadow(&state, command).await,
        PluginCommand::Logs(args) => runtime::logs(&state, &args).await,
        PluginCommand::Secret(command) => observe::secret(&state, command).await,
        PluginCommand::Breaker(command) => runtime::breaker(&state, command).await,
        PluginCommand::Audit(args) => observe::audit(&state, &args).await,
        PluginCommand::Metrics(args) => runtime::metrics(&state, &args).await,
    }
}

/// Connects to the database and starts the plugin manager, which publishes
/// each change to the other nodes when `REDIS_URL` is set.
pub(super) async fn load_state(database_url: &str, options: &PlatformOptions) -> Result<AppState, CliError> {
    app::build_state_from_store_with(database_url, options).await.map_err(CliError::failed)
}

/// Finds the tenant `slug`, or fails naming the fix.
fn tenant(state: &AppState, slug: &str) -> Result<Arc<TenantContext>, CliError> {
    state.tenants.by_slug(slug).ok_or_else(|| {
        CliError::Failed(format!(
            "tenant '{slug}' not found; apply its folder first with `civic311 tenant apply tenants/{slug}`"
        ))
    })
}

/// Returns the audit actor of this command: `cli:` and the operator's `$USER`.
fn actor() -> String {
    let user = std::env::var("USER").ok().filter(|user| !user.trim().is_empty());
    format!("cli:{}", user.as_deref().map(str::trim).unwrap_or("unknown"))
}

fn parse_hook(text: &str) -> Result<Hook, String> {
    text.parse().map_err(|error: civic311_domain::plugin::InvalidHook| error.to_string())
}

/// Parses `KEY=VALUE` of `--config`.
fn parse_config_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_string(), value.to_string())),
        _ => Err(format!("'{text}' is not KEY=VALUE; give a setting such as --config ward=3")),
    }
}

/// Collects `--config` pairs, rejecting a key given twice.
fn config_map(pairs: Vec<(String, String)>) -> Result<BTreeMap<String, String>, CliError> {
    let mut config = BTreeMap::new();
    for (key, value) in pairs {
        if config.insert(key.clone(), value).is_some() {
            return Err(CliError::Failed(format!("--config {key} is given twice; give each key once")));
        }
    }
    Ok(config)
}

/// Prints `value` as pretty JSON on stdout.
fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(CliError::failed)?;
    println!("{text}");
    Ok(())
}
