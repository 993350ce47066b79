//! `plugin dry-run` and `plugin shadow start|stop|results`.

use clap::{Args, Subcommand};

use super::{actor, print_json, tenant, InstallArgs, OutputFormat};
use crate::admin::views::{DryRunView, ShadowResultView};
use crate::admin::{dry_run_inputs, DryRunSelection};
use crate::app::AppState;
use crate::cli::CliError;

#[derive(Debug, Args)]
pub struct DryRunArgs {
    /// Slug of the tenant, such as `haverhill`.
    #[arg(long)]
    pub tenant: String,

    /// Name of the router plugin whose candidate version runs.
    #[arg(long)]
    pub name: String,

    /// Candidate version number.
    #[arg(long)]
    pub version: i32,

    /// Replay the tenant's newest N requests (50 by default, at most 1000).
    #[arg(long, conflicts_with = "requests")]
    pub last: Option<u64>,

    /// Replay this request; repeat for several.
    #[arg(long = "request")]
    pub requests: Vec<String>,

    /// `text` prints a table of both decisions per request; `json` the full report.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

pub async fn dry_run(state: &AppState, args: DryRunArgs) -> Result<(), CliError> {
    let tenant = tenant(state, &args.tenant)?;
    let selection = DryRunSelection::from_parts(args.last, args.requests).map_err(CliError::failed)?;

    let inputs = dry_run_inputs(&tenant, &selection).await.map_err(CliError::failed)?;
    let report = state
        .manager
        .dry_run(tenant.id, &args.name, args.version, inputs)
        .await
        .map_err(CliError::failed)?;
    let view = DryRunView(report);

    match args.format {
        OutputFormat::Json => print_json(&view),
        OutputFormat::Text => {
            print!("{}", view.text_table());
            Ok(())
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ShadowCommand {
    /// Run a candidate version beside the active one on live traffic and record disagreements.
    Start(ShadowStartArgs),
    /// Stop shadow mode; recorded results stay.
    Stop(InstallArgs),
    /// Show recorded comparisons, newest first.
    Results(ShadowResultsArgs),
}

#[derive(Debug, Args)]
pub struct ShadowStartArgs {
    #[command(flatten)]
    pub install: InstallArgs,

    /// Candidate version number.
    #[arg(long)]
    pub version: i32,
}

#[derive(Debug, Args)]
pub struct ShadowResultsArgs {
    #[command(flatten)]
    pub install: InstallArgs,

    /// Maximum number of results to show.
    #[arg(long, default_value_t = 100)]
    pub limit: u64,

    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

pub async fn shadow(state: &AppState, command: ShadowCommand) -> Result<(), CliError> {
    match command {
        ShadowCommand::Start(args) => {
            let install = &args.install;
            let tenant = tenant(state, &install.tenant)?;
            state
                .manager
                .start_shadow(tenant.id, install.hook, &install.name, args.version, &actor())
                .await
                .map_err(CliError::failed)?;
            println!("shadowing: {}/{} of tenant {} runs version {} beside the active version", install.hook, install.name, install.tenant, args.version);
            Ok(())
        }
        ShadowCommand::Stop(install) => {
            let tenant = tenant(state, &install.tenant)?;
            state
                .manager
                .stop_shadow(tenant.id, install.hook, &install.name, &actor())
                .await
                .map_err(CliError::failed)?;
            println!("stopped shadowing: {}/{} of tenant {}", install.hook, install.name, install.tenant);
            Ok(())
        }
        ShadowCommand::Results(args) => shadow_results(state, &args).await,
    }
}

async fn shadow_results(state: &AppState, args: &ShadowResultsArgs) -> Result<(), CliError> {
    let install = &args.install;
    let tenant = tenant(state, &install.tenant)?;
    let results = state
        .manager
        .shadow_results(tenant.id, install.hook, &install.name, args.limit)
        .await
        .map_err(CliError::failed)?;
    let views: Vec<ShadowResultView> = results.iter().map(ShadowResultView::from).collect();

    if args.format == OutputFormat::Json {
        return print_json(&views);
    }
    let disagreeing = views.iter().filter(|view| !view.agrees).count();
    for view in &views {
        let mark = if view.agrees { "agrees" } else { "DIFFERS" };
        println!(
            "{}  {}  v{} -> {}  v{} -> {}  {mark}",
            view.at.format("%Y-%m-%d %H:%M:%S"),
            view.request_id,
            view.active_version,
            view.active_decision,
            view.candidate_version,
            view.candidate_decision
        );
    }
    println!("{disagreeing} of {} shown comparisons disagree", views.len());
    Ok(())
}

