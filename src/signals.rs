//! Process signals. The first SIGTERM or Ctrl-C asks the server to shut down
//! cleanly (sockets get 1001, in-flight requests finish, drafts and pending
//! writes are committed). A second signal, or the shutdown still running after
//! `server.shutdown_deadline_s`, exits at once with status 1: every write
//! already acknowledged is durable, so only unanswered requests are lost.
//!
//! Signals are watched on a thread of their own, so a stuck shutdown on the
//! server's threads cannot keep them from being seen.

use std::time::Duration;

use crate::app::ShutdownHandle;

/// Starts watching; returns at once.
pub fn watch(shutdown: ShutdownHandle, deadline: Duration) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => return tracing::error!(%error, "cannot watch signals"),
    };
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            runtime.block_on(async move {
                terminate_signal().await;
                tracing::info!("signal received; shutting down (a second signal exits at once)");
                shutdown.shutdown();
                tokio::select! {
                    _ = terminate_signal() => tracing::warn!("second signal; exiting before the shutdown finished"),
                    _ = tokio::time::sleep(deadline) => {
                        tracing::warn!(?deadline, "shutdown deadline passed; exiting before it finished");
                    }
                }
                std::process::exit(1);
            })
        })
        .expect("signal thread starts");
}

async fn terminate_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => {},
                _ = tokio::signal::ctrl_c() => {},
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
