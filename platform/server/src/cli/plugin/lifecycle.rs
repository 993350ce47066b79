//! `plugin upload|list|show|install|activate|rollback|deactivate`.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use civic311_domain::plugin::{Grants, LimitOverrides};
use civic311_plugin_manager::{InstallRequest, PluginSource, Upload, Uploaded};
use civic311_store::{PluginInstall, TenantStore};

use super::{actor, config_map, parse_config_pair, print_json, tenant, InstallArgs, TenantArgs};
use crate::admin::views::{InstallView, VersionView};
use crate::app::AppState;
use crate::cli::CliError;

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Slug of the tenant whose private plugin this is.
    #[arg(long, required_unless_present = "catalogue", conflicts_with = "catalogue")]
    pub tenant: Option<String>,

    /// Publish to the platform catalogue, which every tenant can install from.
    #[arg(long, requires = "name")]
    pub catalogue: bool,

    /// Plugin name; defaults to the file name without `.wasm`, lowercased,
    /// with `_`, `.` and spaces turned into `-`.
    #[arg(long)]
    pub name: Option<String>,

    /// Description of the version's changes, shown in listings.
    #[arg(long)]
    pub description: Option<String>,

    /// The component file, built for wasm32-wasip2.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct InstallPluginArgs {
    #[command(flatten)]
    pub install: InstallArgs,

    /// Install the platform catalogue's plugin of this name instead of the tenant's own.
    #[arg(long)]
    pub catalogue: bool,

    /// Capability to grant; repeat for several. Grant http with --allow-host.
    #[arg(long = "grant", value_enum)]
    pub grants: Vec<GrantArg>,

    /// Host the plugin may send HTTP requests to, such as `api.example.com`
    /// or `*.example.com`; repeat for several. Any host grants http.
    #[arg(long = "allow-host")]
    pub allow_hosts: Vec<String>,

    #[command(flatten)]
    pub limits: LimitArgs,

    /// A setting the plugin receives, as KEY=VALUE; repeat for several.
    #[arg(long = "config", value_parser = parse_config_pair)]
    pub config: Vec<(String, String)>,
}

/// Limit overrides of an install, each within its maximum in --platform-config.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Fuel units per call, within the platform maximum.
    #[arg(long)]
    pub fuel: Option<u64>,

    /// Linear memory per call in MiB, within the platform maximum.
    #[arg(long)]
    pub memory_mib: Option<u64>,

    /// Wall time per call in milliseconds, within the platform maximum.
    #[arg(long)]
    pub wall_time_ms: Option<u64>,

    /// Serialized size of a call's output in bytes, within the platform maximum.
    #[arg(long)]
    pub max_output_bytes: Option<u64>,

    /// Fuel units per second of all the install's router calls on one node,
    /// within the platform maximum.
    #[arg(long)]
    pub fuel_per_second: Option<u64>,
}

impl LimitArgs {
    /// Returns the overrides the options set; an option not given keeps the default.
    pub fn overrides(&self) -> LimitOverrides {
        LimitOverrides {
            fuel: self.fuel,
            memory_bytes: self.memory_mib.map(|mib| mib.saturating_mul(1024 * 1024)),
            wall_time_ms: self.wall_time_ms,
            max_output_bytes: self.max_output_bytes,
            fuel_per_second: self.fuel_per_second,
        }
    }
}

/// Capabilities that `--grant` takes; http comes from `--allow-host`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GrantArg {
    /// Structured log lines, read with `plugin logs`.
    Logs,
    /// A key-value store scoped to the install.
    Kv,
    /// The install's secrets, read by name.
    Secrets,
}

#[derive(Debug, Args)]
pub struct ActivateArgs {
    #[command(flatten)]
    pub install: InstallArgs,

    /// Version number to activate.
    #[arg(long)]
    pub version: i32,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub install: InstallArgs,

    /// Version number to go back to; defaults to the one active before the current one.
    #[arg(long)]
    pub to_version: Option<i32>,
}

pub async fn upload(state: &AppState, args: &UploadArgs) -> Result<(), CliError> {
    let slug = args.tenant.as_deref().unwrap_or_default();
    let tenant = tenant(state, slug)?;
    let upload = read_upload(args)?;

    let uploaded = state.manager.upload(tenant.id, upload).await.map_err(CliError::failed)?;
    print_uploaded(&uploaded, &format!("tenant {slug}"));
    Ok(())
}

pub async fn publish(state: &AppState, args: &UploadArgs) -> Result<(), CliError> {
    let upload = read_upload(args)?;

    let uploaded = state.manager.publish(upload).await.map_err(CliError::failed)?;
    print_uploaded(&uploaded, "the catalogue");
    Ok(())
}

fn read_upload(args: &UploadArgs) -> Result<Upload, CliError> {
    let wasm = std::fs::read(&args.file)
        .map_err(|error| CliError::Failed(format!("cannot read component file {}: {error}", args.file.display())))?;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => name_from_file(&args.file)?,
    };

    Ok(Upload {
        name,
        wasm,
        description: args.description.clone(),
        actor: actor(),
    })
}

/// Returns `haverhill-router` for `target/…/haverhill_router.wasm`.
fn name_from_file(file: &Path) -> Result<String, CliError> {
    file.file_stem()
        .and_then(|stem| stem.to_str())
        .map(|stem| {
            stem.chars()
                .map(|character| match character {
                    '_' | '.' | ' ' => '-',
                    other => other.to_ascii_lowercase(),
                })
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .ok_or_else(|| CliError::Failed(format!("cannot take a plugin name from {}; pass --name", file.display())))
}

/// Prints `created:` or `unchanged:` and the version, like `tenant apply`.
fn print_uploaded(uploaded: &Uploaded, owner: &str) {
    let word = if uploaded.created { "created" } else { "unchanged" };
    let version = &uploaded.version;
    println!(
        "{word}: plugin {} version {} for {owner} (hook {}, world {}, {} bytes, sha256 {})",
        version.name, version.version, version.hook, version.world, version.size_bytes, version.digest
    );
}

pub async fn list(state: &AppState, args: &TenantArgs) -> Result<(), CliError> {
    let tenant = tenant(state, &args.tenant)?;
    let versions = tenant.store.plugin_versions(None).await.map_err(CliError::failed)?;
    let installs = tenant.store.installs().await.map_err(CliError::failed)?;

    println!("versions:");
    for version in versions.iter().map(VersionView::from) {
        println!(
            "  {} v{} ({}, {}, {} bytes) uploaded {} by {}{}",
            version.name,
            version.version,
            version.source.as_str(),
            version.hook,
            version.size_bytes,
            version.uploaded_at.format("%Y-%m-%d %H:%M UTC"),
            version.uploaded_by,
            description_suffix(&version.description)
        );
    }

    println!("installs:");
    for install in &installs {
        let active = install.active_version.as_ref().map(|version| format!("v{}", version.version));
        let breaker = if install.breaker.open { ", breaker open" } else { "" };
        println!(
            "  {}/{}: active {}{breaker}",
            install.hook,
            install.plugin_name,
            active.as_deref().unwrap_or("none")
        );
    }
    Ok(())
}

fn description_suffix(description: &str) -> String {
    if description.is_empty() { String::new() } else { format!(": {description}") }
}

pub async fn show(state: &AppState, args: &InstallArgs) -> Result<(), CliError> {
    let tenant = tenant(state, &args.tenant)?;
    let install = find_install(&tenant.store, args).await?;
    let secrets = state
        .manager
        .secret_names(tenant.id, args.hook, &args.name)
        .await
        .map_err(CliError::failed)?;

    // The breaker's live state is each server's own, so the command shows
    // only the stored state.
    let mut view = InstallView::new(&install, state.plugins.config());
    view.secrets = Some(secrets.into_iter().map(Into::into).collect());
    print_json(&view)
}

pub async fn install(state: &AppState, args: InstallPluginArgs) -> Result<(), CliError> {
    let tenant = tenant(state, &args.install.tenant)?;
    let grants = Grants {
        logs: args.grants.contains(&GrantArg::Logs),
        kv: args.grants.contains(&GrantArg::Kv),
        secrets: args.grants.contains(&GrantArg::Secrets),
        http_hosts: args.allow_hosts,
    };
    let limits = args.limits.overrides();
    let request = InstallRequest {
        hook: args.install.hook,
        plugin_name: args.install.name.clone(),
        source: if args.catalogue { PluginSource::Catalogue } else { PluginSource::Tenant },
        grants,
        limits,
        config: config_map(args.config)?,
    };

    let install = state.manager.install(tenant.id, request, &actor()).await.map_err(CliError::failed)?;
    println!(
        "installed: {}/{} for tenant {} (install id {}); activate a version with `civic311 plugin activate`",
        install.hook, install.plugin_name, args.install.tenant, install.id
    );
    Ok(())
}

pub async fn activate(state: &AppState, args: &ActivateArgs) -> Result<(), CliError> {
    let install = &args.install;
    let tenant = tenant(state, &install.tenant)?;

    let activation = state
        .manager
        .activate(tenant.id, install.hook, &install.name, args.version, &actor())
        .await
        .map_err(CliError::failed)?;
    print_activation("activated", install, activation.from, activation.to);
    Ok(())
}

pub async fn rollback(state: &AppState, args: &RollbackArgs) -> Result<(), CliError> {
    let install = &args.install;
    let tenant = tenant(state, &install.tenant)?;

    let activation = state
        .manager
        .rollback(tenant.id, install.hook, &install.name, args.to_version, &actor())
        .await
        .map_err(CliError::failed)?;
    print_activation("rolled back", install, activation.from, activation.to);
    Ok(())
}

fn print_activation(word: &str, install: &InstallArgs, from: Option<i32>, to: i32) {
    let from = from.map(|version| format!("version {version}")).unwrap_or_else(|| "no active version".into());
    println!(
        "{word}: {}/{} of tenant {} from {from} to version {to}",
        install.hook, install.name, install.tenant
    );
}

pub async fn deactivate(state: &AppState, args: &InstallArgs) -> Result<(), CliError> {
    let tenant = tenant(state, &args.tenant)?;

    state
        .manager
        .deactivate(tenant.id, args.hook, &args.name, &actor())
        .await
        .map_err(CliError::failed)?;
    println!("deactivated: {}/{} of tenant {}", args.hook, args.name, args.tenant);
    Ok(())
}

/// Reads the install named by `args`, or fails naming the fix.
pub(super) async fn find_install(store: &TenantStore, args: &InstallArgs) -> Result<PluginInstall, CliError> {
    store.install(args.hook, &args.name).await.map_err(CliError::failed)?.ok_or_else(|| {
        CliError::Failed(format!(
            "tenant {} has no {} install of plugin '{}'; create one with `civic311 plugin install --tenant {} --hook {} --name {}`",
            args.tenant, args.hook, args.name, args.tenant, args.hook, args.name
        ))
    })
}

