//! `civic311 import requests`: imports a CSV export of historical requests.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use super::{CliError, PlatformConfigArgs};
use crate::app;
use crate::import::{import_requests, ImportOptions};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Slug of the tenant that receives the requests.
    #[arg(long)]
    pub tenant: String,

    /// TOML file that maps the CSV columns to request fields.
    #[arg(long)]
    pub mapping: PathBuf,

    /// Run the tenant's router plugin on each row instead of keeping the
    /// historical department and queue.
    #[arg(long)]
    pub reroute: bool,

    /// CSV file to import; its first line is the header.
    pub csv: PathBuf,

    #[command(flatten)]
    pub platform: PlatformConfigArgs,
}

pub async fn run(database_url: &str, args: ImportArgs) -> Result<(), CliError> {
    let options = args.platform.options(database_url);
    let state = app::build_state_from_store_with(database_url, &options).await.map_err(CliError::failed)?;
    let tenant = state.tenants.by_slug(&args.tenant).ok_or_else(|| {
        CliError::Failed(format!(
            "tenant '{}' not found; apply its folder first with `civic311 tenant apply tenants/{}`",
            args.tenant, args.tenant
        ))
    })?;

    let options = ImportOptions {
        reroute: args.reroute,
        show_progress: std::io::stderr().is_terminal(),
    };
    let report = import_requests(&state, &tenant, &args.mapping, &args.csv, options)
        .await
        .map_err(CliError::failed)?;

    println!("rows: {}", report.rows);
    println!("inserted: {}", report.inserted);
    println!("already present: {}", report.already_present);
    println!("skipped: {}", report.skipped.len());
    for skipped in &report.skipped {
        println!("  line {}: {}", skipped.row, skipped.reason);
    }
    Ok(())
}
