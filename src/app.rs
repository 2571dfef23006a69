//! Building and running one server: used by `main`, the tests and the benches.
//!
//! [`App::build`] reads the TLS files (if any), opens the store, loads the
//! directory, starts the actor arbiters, applies the bootstrap, starts the
//! scheduled backups, and binds the listener, plain or TLS (port 0 works);
//! [`Server::run`] serves until [`ShutdownHandle::shutdown`] (see `signals`
//! for SIGTERM), then closes every socket with 1001 (and waits for the
//! sockets to end), drains HTTP, stops the scheduled backups (after the one in
//! progress), and commits pending writes.
//!
//! The HTTP server is assembled from actix-server and actix-http the way
//! actix-web's `HttpServer` does it (same settings), with one addition:
//! actix-http's upgrade hook, so that WebSockets leave the HTTP dispatcher and
//! its per-connection buffers (see `http::upgrade`). Each worker builds the
//! application twice: for its HTTP service and for its upgrade service.

use std::net::SocketAddr;
use std::sync::Arc;

use std::rc::Rc;
use std::time::Duration;

use actix::{Actor, Arbiter};
use actix_http::HttpService;
use actix_service::{IntoServiceFactory, ServiceFactory, ServiceFactoryExt, map_config};
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, ServiceRequest, ServiceResponse};
use actix_web::web;
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
use crate::http::upgrade::Upgrade;
use crate::metrics::Metrics;
use crate::protocol::close::ServerClose;
use crate::socket::wire::Sockets;
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
    /// The WebSockets being served (off the HTTP dispatcher).
    sockets: Sockets,
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
        let bind_error = |source| AppError::Bind { addr: bind, source };
        let listener = listen(bind).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let secure = tls.is_some();
        let sockets = Sockets::default();
        let builder = actix_server::Server::build()
            .workers(threads)
            // As actix-web's `HttpServer`.
            .backlog(BACKLOG)
            .disable_signals()
            .shutdown_timeout(core.config.shutdown_timeout.as_secs().max(1));
        let draining = builder.graceful_shutdown_signal();
        let worker_sockets = sockets.clone();
        // One HTTP service per worker (plain or TLS), as actix-web's
        // `HttpServer` builds it, plus the upgrade service that takes
        // WebSockets off the dispatcher (see `http::upgrade`).
        macro_rules! http_service {
            () => {{
                let draining = draining.clone();
                let (data, upgrade_data) = (data.clone(), data.clone());
                let sockets = worker_sockets.clone();
                HttpService::build()
                    // Keep-alive connections close when the shutdown begins.
                    .graceful_shutdown_signal(move || {
                        let draining = draining.clone();
                        async move { draining.notified().await }
                    })
                    // actix-web's `HttpServer` default (actix-http's is none).
                    .client_disconnect_timeout(Duration::from_secs(1))
                    // Frames are small and often several go out back to back (a
                    // switch is 4 presence frames): with Nagle's algorithm on, the
                    // later ones waited for the client's delayed ACK, up to ~40 ms
                    // (the load bench). Set on every accepted connection, plain or TLS.
                    .tcp_nodelay(true)
                    .local_addr(addr)
                    .upgrade(actix_service::fn_factory(move || {
                        let app = application(upgrade_data.clone(), max_body).into_factory();
                        let sockets = sockets.clone();
                        async move {
                            let app = app.new_service(app_config(secure, addr)).await?;
                            Ok::<_, ()>(Upgrade {
                                app: Rc::new(app),
                                sockets,
                            })
                        }
                    }))
                    .finish(map_config(
                        application(data, max_body)
                            .into_factory()
                            .map_err(|error| error.error_response()),
                        move |()| app_config(secure, addr),
                    ))
            }};
        }
        let server = match tls {
            Some(tls) => builder.listen("tandem", listener, move || {
                http_service!().rustls_0_23(tls.clone())
            }),
            None => builder.listen("tandem", listener, move || http_service!().tcp()),
        }
        .map_err(bind_error)?;
        let scheme = if secure { "https" } else { "http" };
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
            sockets,
        })
    }
}

/// The listen queue of actix-web's `HttpServer`.
const BACKLOG: u32 = 1024;

/// The listener on `addr` (port 0: any free port), as actix-web's `HttpServer` binds.
fn listen(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)?.into_std()
}

/// The application: every route and middleware. Built once per worker for
/// the HTTP service and once for the upgrade service (`http::upgrade`).
fn application(
    data: web::Data<Core>,
    max_body: usize,
) -> actix_web::App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    actix_web::App::new()
        .app_data(data)
        // The outer middleware opens the request span and picks the
        // id; the inner one returns it (see `http::trace`).
        .wrap(actix_web::middleware::from_fn(trace::echo_request_id))
        .wrap(TracingLogger::<trace::RequestSpan>::new())
        .configure(|cfg| crate::http::routes(cfg, max_body))
}

/// The application's view of the connection: `secure` for TLS (the scheme of
/// `http::client`'s own origin), and the listener's address.
fn app_config(secure: bool, addr: SocketAddr) -> AppConfig {
    // `AppConfig::new` is crate-private in actix-web; `__priv_test_new` (public,
    // hidden) is the same constructor. Host as `HttpServer` sets it.
    AppConfig::__priv_test_new(secure, addr.to_string(), addr)
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
            sockets,
            ..
        } = self;
        let handle = server.handle();
        let serving = actix_web::rt::spawn(server);
        shutdown.0.notified().await;
        tracing::info!("shutting down");
        for session in core.registry.all_sessions() {
            let _ = session.send(Disconnect(ServerClose::ShuttingDown)).await;
        }
        // Sockets are not the HTTP server's connections (see `http::upgrade`):
        // their close frames go out before the workers stop, within the same
        // bound the workers get.
        let _ = tokio::time::timeout(core.config.shutdown_timeout, sockets.idle()).await;
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
