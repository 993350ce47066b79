//! `plugin secret` and `plugin audit`.

use std::io::Read;

use clap::{Args, Subcommand};
use civic311_domain::plugin::Hook;
use civic311_plugin_manager::{AuditFilter, SecretState};

use super::{actor, parse_hook, print_json, tenant, InstallArgs, OutputFormat};
use crate::admin::views::{AuditEntryView, UNREADABLE_SECRET_HINT};
use crate::app::AppState;
use crate::cli::CliError;

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a secret, encrypted with the platform key. The value is read
    /// from standard input, never from the command line, so it stays out of
    /// shell history and process lists.
    Set(SecretArgs),
    /// Delete a secret.
    Delete(SecretArgs),
    /// List the names of an install's secrets, each `set` or `unreadable`
    /// (sealed under another platform key); values are never shown.
    List(InstallArgs),
}

#[derive(Debug, Args)]
pub struct SecretArgs {
    #[command(flatten)]
    pub install: InstallArgs,

    /// Name the plugin reads the secret by.
    #[arg(long)]
    pub secret: String,
}

pub async fn secret(state: &AppState, command: SecretCommand) -> Result<(), CliError> {
    match command {
        SecretCommand::Set(args) => {
            let install = &args.install;
            let tenant = tenant(state, &install.tenant)?;
            let value = read_secret_value()?;
            state
                .manager
                .set_secret(tenant.id, install.hook, &install.name, &args.secret, &value, &actor())
                .await
                .map_err(CliError::failed)?;
            println!("set: secret {} of {}/{} for tenant {}", args.secret, install.hook, install.name, install.tenant);
            Ok(())
        }
        SecretCommand::Delete(args) => {
            let install = &args.install;
            let tenant = tenant(state, &install.tenant)?;
            state
                .manager
                .delete_secret(tenant.id, install.hook, &install.name, &args.secret, &actor())
                .await
                .map_err(CliError::failed)?;
            println!("deleted: secret {} of {}/{} for tenant {}", args.secret, install.hook, install.name, install.tenant);
            Ok(())
        }
        SecretCommand::List(install) => {
            let tenant = tenant(state, &install.tenant)?;
            let names = state
                .manager
                .secret_names(tenant.id, install.hook, &install.name)
                .await
                .map_err(CliError::failed)?;
            for secret in names {
                let updated_at = secret.updated_at.format("%Y-%m-%d %H:%M UTC");
                match secret.state {
                    SecretState::Set => println!("{}  set {updated_at}", secret.name),
                    SecretState::Unreadable => println!("{}  unreadable (stored {updated_at}): {UNREADABLE_SECRET_HINT}", secret.name),
                }
            }
            Ok(())
        }
    }
}

/// Reads the secret from stdin and drops one trailing line break, which
/// `echo` and here-strings add.
fn read_secret_value() -> Result<String, CliError> {
    let mut value = String::new();
    std::io::stdin()
        .read_to_string(&mut value)
        .map_err(|error| CliError::Failed(format!("cannot read the secret value from standard input: {error}")))?;

    let trimmed = value.strip_suffix('\n').map(|rest| rest.strip_suffix('\r').unwrap_or(rest)).unwrap_or(&value);
    if trimmed.is_empty() {
        return Err(CliError::Failed("the secret value on standard input is empty; pipe the value in, such as `printf %s \"$TOKEN\" | civic311 plugin secret set …`".into()));
    }
    Ok(trimmed.to_string())
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Slug of the tenant, such as `haverhill`.
    #[arg(long)]
    pub tenant: String,

    /// Only entries of this hook: router or integration.
    #[arg(long, value_parser = parse_hook)]
    pub hook: Option<Hook>,

    /// Only entries of this plugin.
    #[arg(long)]
    pub name: Option<String>,

    /// Maximum number of entries to show.
    #[arg(long, default_value_t = 100)]
    pub limit: u64,

    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

pub async fn audit(state: &AppState, args: &AuditArgs) -> Result<(), CliError> {
    let tenant = tenant(state, &args.tenant)?;
    let filter = AuditFilter {
        hook: args.hook,
        plugin_name: args.name.clone(),
        limit: args.limit,
    };
    let entries = state.manager.audit(tenant.id, filter).await.map_err(CliError::failed)?;
    let views: Vec<AuditEntryView> = entries.iter().map(AuditEntryView::from).collect();

    if args.format == OutputFormat::Json {
        return print_json(&views);
    }
    for entry in &views {
        let versions = match (entry.from_version, entry.to_version) {
            (None, None) => String::new(),
            (from, to) => format!(" {} -> {}", version_text(from), version_text(to)),
        };
        let detail = entry.detail.as_deref().map(|detail| format!(" ({detail})")).unwrap_or_default();
        println!(
            "{}  {}  {}/{}  {}{versions}{detail}",
            entry.at.format("%Y-%m-%d %H:%M:%S"),
            entry.actor,
            entry.hook,
            entry.plugin,
            entry.action
        );
    }
    Ok(())
}

fn version_text(version: Option<i32>) -> String {
    version.map(|version| format!("v{version}")).unwrap_or_else(|| "none".into())
}

