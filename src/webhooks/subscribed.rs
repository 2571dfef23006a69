//! Which event types some enabled webhook subscribes to, kept in memory so
//! that hot paths (presence changes: `claim.changed`) neither build nor
//! write events nobody gets.
//!
//! Invariants:
//! - Refreshed from the store after every change of the webhooks (created,
//!   changed, deleted, disabled by the dispatcher) and at start. A refresh
//!   reads after its change's commit and refreshes run one at a time, so
//!   the set is never older than the last change refreshed.
//! - It is only a filter: `store::webhooks::enqueue` still decides, in the
//!   event's commit, which webhooks get it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::domain::webhook::EventType;
use crate::store::{Store, StoreError, webhooks as store};

#[derive(Default)]
pub struct Subscribed {
    /// One bit per [`EventType::ALL`] entry.
    bits: AtomicU32,
    refreshing: Mutex<()>,
}

fn bit(event: EventType) -> u32 {
    let index = EventType::ALL.iter().position(|e| *e == event);
    1 << index.expect("every event type is in the catalogue")
}

impl Subscribed {
    /// Whether some enabled webhook subscribed to `event`, as last refreshed.
    pub fn contains(&self, event: EventType) -> bool {
        self.bits.load(Ordering::Acquire) & bit(event) != 0
    }

    /// Reads the webhooks as committed now.
    pub fn refresh(&self, store: &Store) -> Result<(), StoreError> {
        let _one_at_a_time = self.refreshing.lock().expect("subscribed lock");
        let bits = store::webhooks(&store.read()?)?
            .iter()
            .flat_map(|hook| EventType::ALL.into_iter().filter(|e| hook.wants(*e)))
            .fold(0, |bits, event| bits | bit(event));
        self.bits.store(bits, Ordering::Release);
        Ok(())
    }
}
