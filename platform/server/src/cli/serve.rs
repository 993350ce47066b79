//! `civic311 serve`: applies the tenant folders and serves the HTTP API.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::{CliError, PlatformConfigArgs};
use crate::app;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and TCP port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Folder whose subfolders are tenant manifests, each applied at start.
    #[arg(long, default_value = "tenants")]
    pub tenants: PathBuf,

    /// Folder of the platform key file `platform.key`, used when
    /// `CIVIC311_PLATFORM_KEY` is not set. Default: the SQLite database's
    /// folder, or `./data` for PostgreSQL.
    #[arg(long, env = app::DATA_DIR_ENV)]
    pub data_dir: Option<PathBuf>,

    /// Redis URL that carries plugin activations and breaker changes to the
    /// other nodes on the same database. Without it this node runs alone.
    #[arg(long, env = app::REDIS_URL_ENV)]
    pub redis_url: Option<String>,

    #[command(flatten)]
    pub platform: PlatformConfigArgs,
}

pub async fn run(database_url: &str, args: ServeArgs) -> Result<(), CliError> {
    let mut options = args.platform.options(database_url);
    if let Some(data_dir) = args.data_dir {
        options.data_dir = data_dir;
    }
    if let Some(redis_url) = args.redis_url.filter(|url| !url.trim().is_empty()) {
        options.redis_url = Some(redis_url);
    }

    let state = app::build_state_with(database_url, &args.tenants, &options).await.map_err(|error| match error {
        app::StartupError::Manifest(manifest) => CliError::Manifest(manifest),
        other => CliError::failed(other),
    })?;

    let listener = tokio::net::TcpListener::bind(args.bind).await.map_err(|error| {
        CliError::Failed(format!("cannot listen on {}: {error}; pass another address with --bind", args.bind))
    })?;

    app::serve(listener, state, shutdown_signal())
        .await
        .map_err(|error| CliError::Failed(format!("the HTTP server failed: {error}")))
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C; stop the server with SIGTERM");
            std::future::pending::<()>().await;
        }
    };

    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM; stop the server with Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received; draining in-flight requests"),
        () = terminate => tracing::info!("SIGTERM received; draining in-flight requests"),
    }
}
