//! The `claim.changed` webhook event (docs/protocol.md §9.8.4): who works
//! on the ticket and who views it, for wallboards.
//!
//! Invariants:
//! - Presence changes are frequent and live in memory only: unless some
//!   enabled webhook subscribes to `claim.changed` (an in-memory check,
//!   `Webhooks::subscribes`), nothing is built and nothing is written.
//! - Only a change of the ticket's claims (`webhooks::events::claims`) is an
//!   event: hiding or showing a tab, or a second tab of an agent already on
//!   the ticket, is none.
//! - The event is submitted to the store writer when the change is decided,
//!   so it enters the outbox in order with the ticket's other events (the
//!   writer applies writes in submission order, and the ticket submits its
//!   writes in decision order).

use super::TicketActor;
use crate::domain::Timestamp;
use crate::domain::webhook::EventType;
use crate::store;
use crate::webhooks::events;

impl TicketActor {
    /// Queues `claim.changed` if the ticket's claims are not the ones last
    /// queued and anyone subscribes to it.
    pub(super) fn queue_claim_changed(&mut self) {
        if !self.core.webhooks.subscribes(EventType::ClaimChanged) {
            // Nobody was told; whoever subscribes next hears the next change.
            self.claims_queued = None;
            return;
        }
        let Some(ticket) = self.ticket.as_ref() else {
            return;
        };
        let claims = events::claims(&self.presence);
        if self.claims_queued.as_ref() == Some(&claims) {
            return;
        }
        let event = events::claim_changed(ticket, &claims, &self.core.directory, Timestamp::now());
        self.claims_queued = Some(claims);
        let core = self.core.clone();
        self.core.store.submit(
            move |tx| store::webhooks::enqueue(tx, || vec![event]),
            move |queued| match queued {
                Ok(0) => {}
                Ok(_) => core.webhooks.wake(),
                Err(error) => tracing::error!(%error, "webhooks: queueing claim.changed failed"),
            },
        );
    }
}
