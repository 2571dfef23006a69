//! Signed webhooks (docs/protocol.md §9.8): which events a ticket change is
//! ([`events`], enqueued in the change's commit by the ticket actor),
//! administration ([`admin`]), where deliveries may go ([`destination`]),
//! the signature ([`sign`]) and the dispatcher task that POSTs them.
//!
//! Invariants:
//! - Events are durable before anyone is told of their cause: they enter
//!   `WEBHOOK_OUTBOX` in the same redb commit (`store::webhooks::enqueue`).
//!   The exception is `claim.changed`, whose cause (presence) is never
//!   stored: the ticket submits it when it decides the change, in order
//!   with its other writes (`actors::ticket::claims`).
//! - Which event types some enabled webhook subscribes to is kept in memory
//!   (`subscribed`), refreshed after every change of the webhooks, so an
//!   event nobody wants costs nothing.
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
mod subscribed;

use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, watch};

use crate::core::Core;
use crate::domain::webhook::EventType;
use crate::store::{Store, StoreError};

/// The dispatcher of a running server: wake it when deliveries were queued.
#[derive(Default)]
pub struct Webhooks {
    notify: Notify,
    running: Mutex<Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>>,
    subscribed: subscribed::Subscribed,
}

impl Webhooks {
    /// Deliveries were queued (or a webhook changed): look at the outbox now.
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// Whether some enabled webhook subscribes to `event` (in memory: cheap).
    pub fn subscribes(&self, event: EventType) -> bool {
        self.subscribed.contains(event)
    }

    /// The webhooks changed: read who subscribes to what again.
    pub fn refresh(&self, store: &Store) -> Result<(), StoreError> {
        self.subscribed.refresh(store)
    }

    async fn notified(&self) {
        self.notify.notified().await;
    }

    /// Starts the dispatcher; what is queued from before goes out first.
    pub fn start(core: &Arc<Core>) {
        if let Err(error) = core.webhooks.refresh(&core.store) {
            tracing::error!(%error, "webhooks: reading the webhooks failed");
        }
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
