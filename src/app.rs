//! Building and running one server: used by `main`, the tests and the benches.
//!
//! [`App::build`] reads the TLS files (if any), opens the store, loads the
//! directory, starts the actor arbiters, applies the bootstrap, starts the
//! scheduled backups, and binds the listener, plain or TLS (port 0 works);
//! [`Server::run`] serves until [`ShutdownHandle::shutdown`] (see `signals`
//! for SIGTERM), then closes every socket with 1001, drains HTTP, stops the
//! scheduled backups (after the one in progress), and commits pending writes.

use std::net::SocketAddr;
use std::sync::Arc;

use actix::{Actor, Arbiter};
use actix_web::{HttpServer, web};
use tokio::sync::Notify;
use tracing_actix_web::TracingLogger;

use crate::accounts::Directory;
use crate::actors::registry::Registry;
use crate::actors::scheduler::Scheduler;
use crate::actors::session::Disconnect;
use crate::actors::ticket::FlushDrafts;
use crate::backup::schedule::Schedule;
use crate::backup::snapshot;
use crate::bootstrap::{self, Bootstrap};
use crate::channels::Channels;
use crate::config::Config;
use crate::core::Core;
use crate::http::trace;
use crate::metrics::Metrics;
use crate::protocol::close::ServerClose;
use crate::store::{OpenError, Store, StoreError, reads};
use crate::tls::{self, TlsError};

/// Why the server did not start. The causes are kept as sources: print the
/// whole chain for the operator.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("cannot load the data")]
    Load(#[from] StoreError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("bootstrap failed")]
    Bootstrap(#[source] crate::error::Error),
    #[error(transparent)]
    Tls(#[from] TlsError),
}

pub struct App;

/// Asks a running server to shut down (as SIGTERM would). Cheap to clone.
#[derive(Clone, Default)]
pub struct ShutdownHandle(Arc<Notify>);

impl ShutdownHandle {
    pub fn shutdown(&self) {
        self.0.notify_one();
    }
}

pub struct Server {
    addr: SocketAddr,
    core: Arc<Core>,
    server: actix_web::dev::Server,
    arbiters: Vec<Arbiter>,
    shutdown: ShutdownHandle,
    /// Scheduled backups (`[backup]`), if configured.
    backups: Option<Schedule>,
}

impl App {
    /// Must run inside an actix `System`.
    pub async fn build(config: Config, bootstrap: Bootstrap) -> Result<Server, AppError> {
        // Before anything is opened: a bad certificate is the operator's first error.
        let tls = config.tls.as_ref().map(tls::server_config).transpose()?;
        let metrics = Arc::new(Metrics::default());
        let store = Arc::new(Store::open(
            &config.data_dir,
            config.store_max_batch,
            metrics.clone(),
        )?);
        snapshot::remove_leftovers(&config.data_dir);
        let directory = Directory::load(store.clone(), config.token_ttl)?;
        let threads = match config.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let arbiters: Vec<Arbiter> = (0..threads).map(|_| Arbiter::new()).collect();
        let registry = Registry::new(arbiters.iter().map(Arbiter::handle).collect());
        let channels = Channels::load(store.clone())?;
        let core = Arc::new(Core {
            config,
            store,
            directory,
            channels,
            visitors: Default::default(),
            mail: Default::default(),
            webhooks: Default::default(),
            integrations: Default::default(),
            metrics,
            registry,
            scheduler: Default::default(),
            demo_channel: Default::default(),
        });
        bootstrap::run(&core, &bootstrap)
            .await
            .map_err(AppError::Bootstrap)?;
        // Locked tickets keep an actor (their expiry timer, their lock in snapshots).
        for ticket in reads::locked_tickets(&core.store.read()?)? {
            core.ticket(ticket);
        }
        // Overdue scheduled replies go out right away.
        let scheduler_core = core.clone();
        let scheduler = Scheduler::start_in_arbiter(&arbiters[0].handle(), move |_| {
            Scheduler::new(scheduler_core)
        });
        let _ = core.scheduler.set(scheduler);
        // Queued replies go out, and every e-mail channel's mailbox is read.
        crate::mail::Mail::start(&core);
        // Deliveries queued before the restart go out.
        crate::webhooks::Webhooks::start(&core);
        let backups = core.config.backup.clone().map(|config| {
            Schedule::start(
                config,
                core.store.clone(),
                core.config.data_dir.clone(),
                core.metrics.clone(),
            )
        });

        let data = web::Data::from(core.clone());
        let max_body = core.config.max_body_bytes;
        let bind = core.config.bind;
        let server = HttpServer::new(move || {
            actix_web::App::new()
                .app_data(data.clone())
                // The outer middleware opens the request span and picks the
                // id; the inner one returns it (see `http::trace`).
                .wrap(actix_web::middleware::from_fn(trace::echo_request_id))
                .wrap(TracingLogger::<trace::RequestSpan>::new())
                .configure(|cfg| crate::http::routes(cfg, max_body))
        })
        .workers(threads)
        // Frames are small and often several go out back to back (a switch
        // is 4 presence frames): with Nagle's algorithm on, the later ones
        // waited for the client's delayed ACK, up to ~40 ms (the load bench).
        .tcp_nodelay(true)
        .disable_signals()
        .shutdown_timeout(core.config.shutdown_timeout.as_secs().max(1));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let server = match tls {
            Some(tls) => server.bind_rustls_0_23(bind, tls),
            None => server.bind(bind),
        }
        .map_err(|source| AppError::Bind { addr: bind, source })?;
        let addr = server.addrs()[0];
        let server = server.run();
        // Scripts wait for this line, so it is printed even when info logs are off.
        if tracing::enabled!(tracing::Level::INFO) {
            tracing::info!("listening on {scheme}://{addr}");
        } else {
            println!("listening on {scheme}://{addr}");
        }
        Ok(Server {
            addr,
            core,
            server,
            arbiters,
            shutdown: ShutdownHandle::default(),
            backups,
        })
    }
}

impl Server {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Serves until asked to stop, then shuts down cleanly.
    pub async fn run(self) -> std::io::Result<()> {
        let Server {
            core,
            server,
            arbiters,
            shutdown,
            backups,
            ..
        } = self;
        let handle = server.handle();
        let serving = actix_web::rt::spawn(server);
        shutdown.0.notified().await;
        tracing::info!("shutting down");
        for session in core.registry.all_sessions() {
            let _ = session.send(Disconnect(ServerClose::ShuttingDown)).await;
        }
        handle.stop(true).await;
        let _ = serving.await;
        core.mail.stop().await;
        core.webhooks.stop().await;
        for ticket in core.registry.all_tickets() {
            let _ = ticket.send(FlushDrafts).await;
        }
        if let Some(backups) = backups {
            backups.stop().await;
        }
        for arbiter in &arbiters {
            arbiter.stop();
        }
        for arbiter in arbiters {
            let _ = arbiter.join();
        }
        core.store.shutdown();
        tracing::info!("stopped");
        Ok(())
    }
}
