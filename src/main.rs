//! The `tandem` binary: parse the command line, load config, init tracing, run
//! the server or one of the other subcommands (`tandem::cli`).
//!
//! Exit codes: 0 success; 1 a failure (printed on stderr as `tandem: …`, with
//! its causes), including `check` finding a problem; 2 configuration and
//! usage errors.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tandem::app::App;
use tandem::bootstrap::Bootstrap;
use tandem::cli;
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
        #[command(flatten)]
        data: DataDir,
        /// Listen address, e.g. 127.0.0.1:8080 (wins over config and TANDEM_BIND).
        #[arg(long)]
        bind: Option<String>,
        /// On an empty data directory, add demo inboxes, agents and tickets.
        #[arg(long)]
        demo: bool,
    },
    /// Download a backup of a running server's database (admin credentials
    /// from TANDEM_ADMIN=handle:password, or asked on the terminal).
    Backup {
        /// The server's base URL, e.g. http://127.0.0.1:8080 (http only).
        #[arg(long)]
        url: String,
        /// The backup file to write (replaced only once the new one is verified).
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup file into a data directory no server holds.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        /// The data directory to restore into (created if missing).
        #[arg(long)]
        data_dir: PathBuf,
        /// Replace the database of a directory that is not empty.
        #[arg(long)]
        force: bool,
    },
    /// Manage agents in a data directory no server holds.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Check a data directory no server holds: integrity, schema, counts.
    Check {
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Set a new password (TANDEM_PASSWORD, or one printed once) and revoke
    /// every token of the agent.
    ResetPassword {
        handle: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Create an admin (password from TANDEM_PASSWORD, or one printed once).
    CreateAdmin {
        handle: String,
        /// Its name (default: the handle, capitalized).
        #[arg(long)]
        name: Option<String>,
        /// Its e-mail (default: HANDLE@example.com).
        #[arg(long)]
        email: Option<String>,
        #[command(flatten)]
        data: DataDir,
    },
    /// List every agent.
    ListAgents {
        #[command(flatten)]
        data: DataDir,
    },
}

/// Where the data directory is: as for `serve`.
#[derive(Args)]
struct DataDir {
    /// A TOML file layered over the embedded defaults.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory (wins over config and TANDEM_DATA_DIR).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

impl DataDir {
    /// The configuration, with `bind` from `serve`.
    fn load(self, bind: Option<String>) -> Result<Config, Failure> {
        let overrides = Overrides::from_env_and_flags(Overrides {
            bind,
            data_dir: self.data_dir,
        });
        Config::load(self.config.as_deref(), None, &overrides)
            .map_err(|error| Failure::Config(error.to_string()))
    }
}

/// How a command failed: its message and so its exit code.
enum Failure {
    /// Exit code 2.
    Config(String),
    /// Exit code 1.
    Failed(String),
}

impl<E: std::error::Error> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure::Failed(with_sources(&error))
    }
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
    match dispatch(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(error)) => {
            eprintln!("tandem: {error}");
            ExitCode::from(2)
        }
        Err(Failure::Failed(error)) => {
            eprintln!("tandem: {error}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command) -> Result<(), Failure> {
    match command {
        Command::Serve { data, bind, demo } => serve(data.load(bind)?, demo),
        Command::Backup { url, to } => run(async move {
            let url = cli::backup::ServerUrl::parse(&url)?;
            let credentials = cli::backup::Credentials::from_env_or_prompt()?;
            let verified = cli::backup::download(&url, &to, &credentials).await?;
            println!(
                "wrote {} ({} bytes, sha256 {})",
                to.display(),
                verified.file_len(),
                verified.sha256
            );
            println!("{}", verified.header);
            Ok(())
        }),
        Command::Restore {
            from,
            data_dir,
            force,
        } => Ok(cli::restore(&from, &data_dir, force)?),
        Command::Admin { command } => match command {
            AdminCommand::ResetPassword { handle, data } => {
                let config = data.load(None)?;
                run(async move { Ok(cli::admin::reset_password(&config, &handle).await?) })
            }
            AdminCommand::CreateAdmin {
                handle,
                name,
                email,
                data,
            } => {
                let config = data.load(None)?;
                run(
                    async move { Ok(cli::admin::create_admin(&config, &handle, name, email).await?) },
                )
            }
            AdminCommand::ListAgents { data } => Ok(cli::admin::list_agents(&data.load(None)?)?),
        },
        Command::Check { data } => match cli::check(&data.load(None)?.data_dir)? {
            true => Ok(()),
            false => Err(Failure::Failed(
                "the check found problems (see above)".into(),
            )),
        },
    }
}

fn serve(config: Config, demo: bool) -> Result<(), Failure> {
    init_tracing(&config.log_level);
    let bootstrap = Bootstrap {
        demo,
        admin: std::env::var("TANDEM_BOOTSTRAP_ADMIN")
            .ok()
            .filter(|v| !v.is_empty()),
    };
    actix_web::rt::System::new()
        .block_on(async move {
            let deadline = config.shutdown_deadline;
            let server = App::build(config, bootstrap).await?;
            tandem::signals::watch(server.shutdown_handle(), deadline);
            server.run().await?;
            Ok(())
        })
        .inspect_err(|error| {
            if let Failure::Failed(error) = error {
                tracing::error!("{error}");
            }
        })
}

/// Runs `task` to completion on an actix runtime (the HTTP client and the
/// account directory need one).
fn run(task: impl std::future::Future<Output = Result<(), Failure>>) -> Result<(), Failure> {
    actix_web::rt::System::new().block_on(task)
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
