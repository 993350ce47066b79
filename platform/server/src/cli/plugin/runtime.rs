//! `plugin logs`, `plugin breaker reset` and `plugin metrics`: what the
//! running installs did.

use clap::{Args, Subcommand};

use super::{actor, print_json, tenant, InstallArgs, OutputFormat};
use crate::admin::views::LogLineView;
use crate::app::AppState;
use crate::cli::CliError;

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub install: InstallArgs,

    /// Maximum number of lines to show.
    #[arg(long, default_value_t = 100)]
    pub limit: u64,

    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

pub async fn logs(state: &AppState, args: &LogsArgs) -> Result<(), CliError> {
    let install = &args.install;
    let tenant = tenant(state, &install.tenant)?;
    let lines = state
        .manager
        .logs(tenant.id, install.hook, &install.name, args.limit)
        .await
        .map_err(CliError::failed)?;
    let views: Vec<LogLineView> = lines.iter().map(LogLineView::from).collect();

    if args.format == OutputFormat::Json {
        return print_json(&views);
    }
    for line in &views {
        let request = line.request_id.as_deref().unwrap_or("-");
        println!("{}  v{}  {:<5}  {request}  {}", line.at.format("%Y-%m-%d %H:%M:%S"), line.version, line.level, line.message);
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum BreakerCommand {
    /// Close a tripped breaker so the install's calls run again.
    Reset(InstallArgs),
}

pub async fn breaker(state: &AppState, command: BreakerCommand) -> Result<(), CliError> {
    let BreakerCommand::Reset(install) = command;
    let tenant = tenant(state, &install.tenant)?;

    state
        .manager
        .reset_breaker(tenant.id, install.hook, &install.name, &actor())
        .await
        .map_err(CliError::failed)?;
    println!("reset: breaker of {}/{} for tenant {} is closed", install.hook, install.name, install.tenant);
    Ok(())
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Slug of the tenant, such as `haverhill`.
    #[arg(long)]
    pub tenant: String,

    /// Count calls from this RFC 3339 instant on; the last 24 hours by default.
    #[arg(long)]
    pub since: Option<String>,

    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

pub async fn metrics(state: &AppState, args: &MetricsArgs) -> Result<(), CliError> {
    let tenant = tenant(state, &args.tenant)?;
    let since = crate::admin::parse_since(args.since.as_deref()).map_err(CliError::failed)?;
    let metrics = state.manager.metrics(tenant.id, since).await.map_err(CliError::failed)?;

    if args.format == OutputFormat::Json {
        return print_json(&metrics);
    }
    println!(
        "{:<12} {:<28} {:>7} {:>8} {:>10} {:>10} {:>12} {:>8} {:>8}",
        "hook", "plugin", "version", "calls", "p50 us", "p99 us", "mean fuel", "failed", "skipped"
    );
    for row in &metrics {
        let version = if row.shadow { format!("{} shadow", row.version) } else { row.version.to_string() };
        println!(
            "{:<12} {:<28} {:>7} {:>8} {:>10} {:>10} {:>12} {:>8} {:>8}",
            row.hook.as_str(),
            row.plugin_name,
            version,
            row.count,
            optional(row.p50_us),
            optional(row.p99_us),
            optional(row.mean_fuel),
            row.failures,
            row.skipped
        );
        for (kind, count) in &row.skip_kinds {
            println!("{:<12} {:<28} skipped {count} ({kind})", "", "");
        }
    }
    Ok(())
}

fn optional(value: Option<u64>) -> String {
    value.map(|value| value.to_string()).unwrap_or_else(|| "-".into())
}
