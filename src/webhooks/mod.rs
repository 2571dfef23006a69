//! Signed webhooks (docs/protocol.md §9.8): which events a ticket change is
//! ([`events`], enqueued in the change's commit by the ticket actor),
//! administration ([`admin`]), where deliveries may go ([`destination`]),
//! the signature ([`sign`]) and the dispatcher task that POSTs them.
//!
//! Invariants:
//! - Events are durable before anyone is told of their cause: they enter
//!   `WEBHOOK_OUTBOX` in the same redb commit (`store::webhooks::enqueue`).
//! - When the dispatcher disables a webhook, every admin is notified in the
//!   same commit (`disabled`).
//! - One dispatcher runs per server; it starts after the store opens and
//!   stops at shutdown before the store closes.

pub mod admin;
pub mod destination;
mod disabled;
mod dispatch;
pub mod events;
pub mod sign;

use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, watch};

use crate::core::Core;

/// The dispatcher of a running server: wake it when deliveries were queued.
#[derive(Default)]
pub struct Webhooks {
    notify: Notify,
    running: Mutex<Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>>,
}

impl Webhooks {
    /// Deliveries were queued (or a webhook changed): look at the outbox now.
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    async fn notified(&self) {
        self.notify.notified().await;
    }

    /// Starts the dispatcher; what is queued from before goes out first.
    pub fn start(core: &Arc<Core>) {
        let (stop, stopped) = watch::channel(false);
        let task = actix_web::rt::spawn(dispatch::run(core.clone(), stopped));
        *core.webhooks.running.lock().expect("webhooks lock") = Some((stop, task));
    }

    /// Stops the dispatcher: an attempt in flight is abandoned after a
    /// short wait and sent again after the restart.
    pub async fn stop(&self) {
        let running = self.running.lock().expect("webhooks lock").take();
        if let Some((stop, task)) = running {
            let _ = stop.send(true);
            crate::mail::stop_within(task).await;
        }
    }
}
