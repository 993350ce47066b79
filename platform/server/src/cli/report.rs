//! `civic311 report cost-share`: divides a shared plugin's cost among the
//! tenants that used it, exact to the cent.

use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};

use super::{CliError, PlatformConfigArgs};
use civic311_plugin_manager::cost_share::{format_cents, parse_amount, Split};
use civic311_plugin_manager::CostShareReport;

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Divide a catalogue plugin's cost among the tenants that used it, by
    /// usage (the work orders and inspections it synced, or its calls when it
    /// synced none) or equally.
    CostShare(CostShareArgs),
}

#[derive(Debug, Args)]
pub struct CostShareArgs {
    /// Name of the catalogue plugin, such as `viewpermit-integration`.
    #[arg(long)]
    pub plugin: String,

    /// First day counted, YYYY-MM-DD (UTC), inclusive.
    #[arg(long, value_parser = parse_date)]
    pub from: NaiveDate,

    /// Last day counted, YYYY-MM-DD (UTC), inclusive.
    #[arg(long, value_parser = parse_date)]
    pub to: NaiveDate,

    /// Cost to divide, in currency units with at most two decimals, such as 1200.50.
    #[arg(long)]
    pub cost: String,

    /// `usage` divides by each tenant's metered usage, `equal` into equal shares.
    #[arg(long, default_value = "usage")]
    pub split: String,

    /// Without --format, a table for a terminal.
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,

    #[command(flatten)]
    pub platform: PlatformConfigArgs,
}

/// Formats of the cost-share breakdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One row per tenant with a header line.
    Csv,
    /// The whole report as one JSON document.
    Json,
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| format!("'{text}' is not a date; give YYYY-MM-DD, such as 2026-11-01"))
}

pub async fn run(database_url: &str, command: ReportCommand) -> Result<(), CliError> {
    let ReportCommand::CostShare(args) = command;
    let cost_cents = parse_amount(&args.cost).map_err(CliError::failed)?;
    let split: Split = args.split.parse().map_err(CliError::failed)?;
    if args.to < args.from {
        return Err(CliError::Failed(format!("--to {} is before --from {}; give the first day, then the last", args.to, args.from)));
    }

    let state = super::plugin::load_state(database_url, &args.platform.options(database_url)).await?;
    let report = state
        .manager
        .cost_share(&args.plugin, args.from, args.to, cost_cents, split)
        .await
        .map_err(CliError::failed)?;

    match args.format {
        Some(ReportFormat::Csv) => print!("{}", report.to_csv()),
        Some(ReportFormat::Json) => println!("{}", report.to_json()),
        None => print!("{}", text_table(&report)),
    }
    Ok(())
}

/// Renders the report as a table for a terminal, with the total last.
fn text_table(report: &CostShareReport) -> String {
    let mut text = format!(
        "{} from {} to {}, split by {} ({:?} basis)\n",
        report.plugin, report.from, report.to, report.split, report.basis
    );
    text.push_str(&format!("{:<24} {:>10} {:>12} {:>12} {:>12} {:>8}\n", "tenant", "calls", "work orders", "inspections", "share", "percent"));
    for row in &report.rows {
        text.push_str(&format!(
            "{:<24} {:>10} {:>12} {:>12} {:>12} {:>7.2}%\n",
            row.tenant,
            row.calls,
            row.work_orders,
            row.inspections,
            format_cents(row.share_cents),
            row.percent
        ));
    }
    text.push_str(&format!("{:<24} {:>10} {:>12} {:>12} {:>12}\n", "total", "", "", "", format_cents(report.cost_cents)));
    text
}
