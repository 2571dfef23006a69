//! A session's mailslot: where everyone else (its inbox, the tickets it has
//! open, the webhook dispatcher) puts frames for one tab. They go straight into
//! the outlet of the tab's current socket, with no message to the session
//! actor: one lock and at most one wake-up of the socket per batch of frames.
//!
//! Invariants:
//! - Frames reach the client only through the session's current outlet (a
//!   resume swaps it); with no socket attached they are dropped (the resume's
//!   `welcome` and `snapshot` replace what was missed).
//! - While the session waits for an answer it is about to send ([`Mailslot::hold`]),
//!   frames put meanwhile wait behind it and leave after it, in order
//!   ([`Mailslot::release`]): the order the session's own mailbox gave when
//!   frames were messages to it (`opened` before the read mark's `ticket`
//!   frame, `snapshot` before the presence frames that follow it).
//! - A client that cannot keep up (outlet backlog full) is disconnected: the
//!   outlet closes with 4008 and the session is told to stop, never buffered
//!   without bound.

use std::sync::{Arc, Mutex, MutexGuard};

use actix::WeakRecipient;
use actix::prelude::*;
use bytestring::ByteString;
use prometheus_client::metrics::counter::Counter;

use crate::protocol::close::ServerClose;
use crate::socket::outlet::{Outlet, OutletError};

/// Tells a session that its client could not keep up: its outlet is closing
/// (4008) and the session ends.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Overflowed;

/// The frames of one session; cheap to clone (one per subscription and open ticket).
#[derive(Clone)]
pub struct Mailslot(Arc<Slot>);

struct Slot {
    state: Mutex<State>,
    session: WeakRecipient<Overflowed>,
    /// Counts clients dropped for not reading.
    dropped: Counter,
}

#[derive(Default)]
struct State {
    outlet: Option<Outlet>,
    /// Frames put while the session holds the slot, in order.
    held: Option<Vec<ByteString>>,
}

impl Mailslot {
    /// The slot of a session that `session` reaches (weakly: the slot does not
    /// keep the session alive); `dropped` counts overflows.
    pub fn new(session: WeakRecipient<Overflowed>, dropped: Counter) -> Mailslot {
        Mailslot(Arc::new(Slot {
            state: Mutex::default(),
            session,
            dropped,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().expect("mailslot lock")
    }

    /// Puts one frame for the client.
    pub fn put(&self, frame: ByteString) {
        self.put_all([frame]);
    }

    /// Puts frames for the client, in order, as one batch.
    pub fn put_all(&self, frames: impl IntoIterator<Item = ByteString>) {
        let mut state = self.lock();
        if let Some(held) = &mut state.held {
            held.extend(frames);
            return;
        }
        self.send(&state, frames);
    }

    /// The session's own frame: it goes out at once, ahead of held frames.
    pub fn put_own(&self, frame: ByteString) {
        let state = self.lock();
        self.send(&state, [frame]);
    }

    fn send(&self, state: &State, frames: impl IntoIterator<Item = ByteString>) {
        let Some(outlet) = &state.outlet else { return };
        if outlet.send_all(frames) == Err(OutletError::Backlog) {
            self.0.dropped.inc();
            outlet.close(ServerClose::SlowConsumer);
            if let Some(session) = self.0.session.upgrade() {
                session.do_send(Overflowed);
            }
        }
    }

    /// Frames put from now on wait until [`Mailslot::release`].
    pub fn hold(&self) {
        self.lock().held.get_or_insert_with(Vec::new);
    }

    /// Sends the held frames, in order, and stops holding.
    pub fn release(&self) {
        let mut state = self.lock();
        if let Some(held) = state.held.take() {
            self.send(&state, held);
        }
    }

    /// Makes `outlet` the socket of this session, `first` its first frame
    /// (nothing put meanwhile can go ahead of it). Answers the outlet it replaces.
    pub fn attach(&self, outlet: Outlet, first: ByteString) -> Option<Outlet> {
        let mut state = self.lock();
        let old = state.outlet.replace(outlet);
        self.send(&state, [first]);
        old
    }

    /// Detaches the socket (if it is `connection`, or any if `None`); answers it.
    pub fn detach(&self, connection: Option<u64>) -> Option<Outlet> {
        let mut state = self.lock();
        if connection.is_some_and(|c| state.outlet.as_ref().map(|o| o.connection) != Some(c)) {
            return None;
        }
        state.held = None;
        state.outlet.take()
    }
}
