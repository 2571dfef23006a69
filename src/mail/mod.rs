//! E-mail channels (docs/protocol.md §9.7): each enabled channel's mailbox is
//! fetched by its own task ([`fetcher`]: IMAP with IDLE, or polling), every
//! mail is parsed ([`parse`]) and routed ([`intake`]: noise, bounces,
//! threading, exactly once), and replies leave through one durable
//! [`outbox`] over SMTP ([`smtp`]).
//!
//! Invariants:
//! - At most one fetcher runs per channel: [`Mail::sync`] stops the old one
//!   (and waits for it) before it starts a new one with the new settings.
//! - The fetchers and the outbox run on the server's runtime and stop at
//!   shutdown before the store closes.

pub mod check;
pub mod error;
pub mod fetcher;
pub mod imap;
pub mod intake;
pub mod outbox;
pub mod parse;
pub mod smtp;
pub mod status;
pub(crate) mod tls;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::core::Core;
use crate::domain::ChannelId;
use crate::domain::channel::{Channel, ChannelKind};

/// The e-mail side of a running server.
#[derive(Default)]
pub struct Mail {
    pub statuses: status::Statuses,
    pub in_flight: intake::InFlight,
    pub outbox: outbox::Wake,
    fetchers: Mutex<HashMap<ChannelId, Running>>,
}

/// A running task and how to stop it.
struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    fn spawn<F: Future<Output = ()> + 'static>(
        start: impl FnOnce(watch::Receiver<bool>) -> F,
    ) -> Running {
        let (stop, stopped) = watch::channel(false);
        Running {
            stop,
            task: actix_web::rt::spawn(start(stopped)),
        }
    }

    /// Asks the task to stop and waits for it, at most [`STOP_WAIT`]: a task
    /// stuck on a slow server is aborted (what it had not committed is
    /// fetched or sent again after the restart).
    async fn stop(self) {
        let _ = self.stop.send(true);
        stop_within(self.task).await;
    }
}

/// How long a stopping fetcher or outbox may take to finish its step.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Waits for a stopping task at most [`STOP_WAIT`], then aborts it (the
/// webhook dispatcher stops the same way).
pub(crate) async fn stop_within(mut task: tokio::task::JoinHandle<()>) {
    if tokio::time::timeout(STOP_WAIT, &mut task).await.is_err() {
        task.abort();
        let _ = task.await;
    }
}

impl Mail {
    /// Starts the outbox and a fetcher for every enabled e-mail channel.
    pub fn start(core: &Arc<Core>) {
        core.mail.outbox.start(core);
        for channel in core.channels.all() {
            let core = core.clone();
            actix_web::rt::spawn(async move { core.mail.sync(&core, channel.id).await });
        }
    }

    /// Makes the fetcher of `channel` match the channel as it is now: stopped
    /// if it is gone, disabled or not e-mail, (re)started otherwise.
    pub async fn sync(&self, core: &Arc<Core>, channel: ChannelId) {
        let old = self
            .fetchers
            .lock()
            .expect("fetchers lock")
            .remove(&channel);
        if let Some(old) = old {
            old.stop().await;
        }
        let current = core.channels.get(channel);
        match current.filter(|c| c.enabled && c.kind == ChannelKind::Email) {
            Some(channel) => self.run(core, channel),
            None => {
                if core.channels.get(channel).is_none() {
                    self.statuses.forget(&core.metrics, channel);
                } else {
                    self.statuses.stopped(&core.metrics, channel);
                }
            }
        }
    }

    fn run(&self, core: &Arc<Core>, channel: Arc<Channel>) {
        let id = channel.id;
        let core2 = core.clone();
        let running = Running::spawn(move |stop| fetcher::run(core2, channel, stop));
        let previous = self
            .fetchers
            .lock()
            .expect("fetchers lock")
            .insert(id, running);
        if let Some(previous) = previous {
            // Two syncs raced: the later settings win, the other task stops.
            let _ = previous.stop.send(true);
        }
    }

    /// Stops every fetcher and the outbox, waiting for them.
    pub async fn stop(&self) {
        let running: Vec<Running> = self
            .fetchers
            .lock()
            .expect("fetchers lock")
            .drain()
            .map(|(_, r)| r)
            .collect();
        for r in running {
            r.stop().await;
        }
        self.outbox.stop().await;
    }
}
