//! The `civic311` command line: parsing, logging set-up and the subcommands.

mod api_key;
mod import;
mod plugin;
mod report;
mod serve;
mod tenant;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::app::PlatformOptions;
use crate::platform_config::PLATFORM_CONFIG_ENV;

/// Default database: a SQLite file under `./data`, created on first use.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/civic311.db?mode=rwc";

/// Civic311: a hosted 311 platform for cities.
#[derive(Debug, Parser)]
#[command(name = "civic311", version, about)]
pub struct Cli {
    /// Database to use: `sqlite://PATH?mode=rwc` or `postgres://USER@HOST:PORT/DB`.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// Format of the log lines written to stderr. Levels come from `RUST_LOG`
    /// (for example `info` or `civic311_server=debug`); the default is `info`.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// Format of log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply every tenant folder and serve the HTTP API until SIGTERM or Ctrl-C.
    Serve(serve::ServeArgs),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage API keys.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Import data.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Upload, install, activate, roll back, dry-run and inspect plugins.
    Plugin(plugin::PluginArgs),
    /// Print reports.
    #[command(subcommand)]
    Report(report::ReportCommand),
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Validate the manifest in a tenant folder and create or update the tenant.
    Apply {
        /// Tenant folder holding tenant.toml and services.toml.
        dir: PathBuf,

        #[command(flatten)]
        platform: PlatformConfigArgs,
    },
}

/// The `--platform-config` option of `serve`, `plugin`, `tenant apply`,
/// `import requests` and `report cost-share`.
#[derive(Debug, Args)]
pub struct PlatformConfigArgs {
    /// TOML file of the plugin platform settings, the same file that the
    /// servers use. It sets the default call limits, the maxima above which
    /// an install's limits are rejected, the upload size limit and the
    /// circuit breaker (see platform.example.toml). Without it the built-in
    /// settings apply.
    #[arg(long, global = true, env = PLATFORM_CONFIG_ENV)]
    pub platform_config: Option<PathBuf>,
}

impl PlatformConfigArgs {
    /// Returns the plugin platform options from the environment, with the
    /// settings file of this option.
    pub fn options(&self, database_url: &str) -> PlatformOptions {
        let mut options = PlatformOptions::from_env(database_url);
        if let Some(config_file) = &self.platform_config {
            options.config_file = Some(config_file.clone());
        }
        options
    }
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key; the key is printed once, on the last line of stdout.
    Create(api_key::CreateArgs),
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import historical service requests from a CSV export.
    Requests(import::ImportArgs),
}

/// Failure of a command, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Exit code 2: the tenant manifest is invalid.
    #[error(transparent)]
    Manifest(#[from] civic311_domain::manifest::ManifestError),
    /// Exit code 1: any other failure.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn failed(error: impl std::fmt::Display) -> CliError {
        CliError::Failed(error.to_string())
    }

    fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Manifest(_) => ExitCode::from(2),
            CliError::Failed(_) => ExitCode::from(1),
        }
    }
}

/// Parses the command line, runs the command and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    if !matches!(cli.command, Command::Serve(_)) {
        stop_quietly_on_closed_pipe();
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };

    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            error.exit_code()
        }
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => serve::run(&cli.database_url, args).await,
        Command::Tenant(TenantCommand::Apply { dir, platform }) => tenant::apply(&cli.database_url, &dir, &platform).await,
        Command::ApiKey(ApiKeyCommand::Create(args)) => api_key::create(&cli.database_url, args).await,
        Command::Import(ImportCommand::Requests(args)) => import::run(&cli.database_url, args).await,
        Command::Plugin(args) => plugin::run(&cli.database_url, args).await,
        Command::Report(command) => report::run(&cli.database_url, command).await,
    }
}

/// Sends logs to stderr, so stdout carries only command output such as an API key.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);

    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Restores the default action of SIGPIPE, so that a command whose output
/// goes to a pipe closed early, as in `civic311 plugin logs ... | head`,
/// ends quietly as other Unix tools do instead of panicking in `println!`.
/// The server keeps Rust's default of ignoring SIGPIPE, so a client that
/// hangs up makes a socket write fail instead of ending the process.
fn stop_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: this runs on the main thread before the async runtime starts
    // other threads, and SIG_DFL is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
