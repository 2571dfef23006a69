//! The `tandem` binary: parse the command line, load config, init tracing, run.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tandem::app::App;
use tandem::bootstrap::Bootstrap;
use tandem::config::{Config, Overrides};

#[derive(Parser)]
#[command(
    name = "tandem",
    version,
    about = "Real-time collision avoidance for helpdesk teams"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// A TOML file layered over the embedded defaults.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Listen address, e.g. 127.0.0.1:8080 (wins over config and TANDEM_BIND).
        #[arg(long)]
        bind: Option<String>,
        /// Data directory (wins over config and TANDEM_DATA_DIR).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// On an empty data directory, add demo inboxes, agents and tickets.
        #[arg(long)]
        demo: bool,
    },
}

/// jemalloc: frames are allocated on one thread and freed on another by the
/// million. glibc malloc spent a quarter of the server's CPU on them under
/// fan-out (`contention`: 6.5 → 3.8 CPU-s per million frames with jemalloc),
/// and kept argon2's 19 MiB blocks in its heaps after a login; jemalloc also
/// holds idle sessions in less memory (`capacity`: 14.5 KiB per session).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let Command::Serve {
        config,
        bind,
        data_dir,
        demo,
    } = Cli::parse().command;
    let overrides = Overrides::from_env_and_flags(Overrides { bind, data_dir });
    let config = match Config::load(config.as_deref(), None, &overrides) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("tandem: {error}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&config.log_level);
    let bootstrap = Bootstrap {
        demo,
        admin: std::env::var("TANDEM_BOOTSTRAP_ADMIN")
            .ok()
            .filter(|v| !v.is_empty()),
    };
    let result = actix_web::rt::System::new().block_on(async move {
        let deadline = config.shutdown_deadline;
        let server = App::build(config, bootstrap)
            .await
            .map_err(|e| with_sources(&e))?;
        tandem::signals::watch(server.shutdown_handle(), deadline);
        server.run().await.map_err(|e| with_sources(&e))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("tandem: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `error` followed by its sources: "cannot listen on 0.0.0.0:80: Permission denied (os error 13)".
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

/// `RUST_LOG` wins over the configured level.
fn init_tracing(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}
