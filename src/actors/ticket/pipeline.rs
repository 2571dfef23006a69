//! Pipelined durable writes: a ticket keeps deciding while its writes commit.
//!
//! Presence decisions that need a durable record — the read mark of a first
//! `open`, the `claim_forced` history entry of a take-over or force-release —
//! are decided and applied to memory at once, so the next message is decided
//! against them; only what they publish and answer waits for the commit. A
//! decision's frames are encoded when it is taken (they describe the state it
//! produced) and leave in decision order:
//! - a pipelined write's effects run when its commit is reported, in
//!   submission order (the writer reports completions in that order);
//! - frames decided while writes are in flight queue behind them ([`emit`]);
//! - a write through [`TicketActor::commit`] (which holds the mailbox) runs
//!   every earlier effect first: its own commit proves theirs.
//!
//! So nothing is acknowledged before it is on disk, every subscriber sees one
//! ticket's frames in the order they were decided, and one slow commit costs a
//! ticket latency, not throughput.
//!
//! [`emit`]: TicketActor::emit

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use bytestring::ByteString;

use super::TicketActor;
use crate::actors::inbox::Publish;
use crate::actors::session::Deliver;
use crate::domain::InboxId;
use crate::error::Error;
use crate::store::StoreError;

/// Frames decided together: a publication through the inbox and frames for
/// single recipients (`claim_lost`).
#[derive(Default)]
pub(super) struct Outgoing {
    pub inbox: Option<(InboxId, Publish, bool)>,
    pub direct: Vec<(Recipient<Deliver>, ByteString)>,
}

type AfterCommit = Box<dyn FnOnce(&mut TicketActor, &mut Context<TicketActor>, Result<(), Error>)>;

enum Step {
    /// Runs once the next pipelined write is reported.
    Write(AfterCommit),
    /// Frames decided behind a write still in flight.
    Send(Outgoing),
}

/// The ticket's writes in flight and the effects waiting for them.
#[derive(Default)]
pub(super) struct Pipeline {
    steps: VecDeque<Step>,
    /// Commit outcomes of pipelined writes, in submission order, pushed by the writer thread.
    reported: Arc<Mutex<VecDeque<Result<(), StoreError>>>>,
}

impl Pipeline {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// The writer reported a pipelined write of this ticket.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct Reported;

impl Handler<Reported> for TicketActor {
    type Result = ();

    fn handle(&mut self, _: Reported, ctx: &mut Context<Self>) {
        self.drain(ctx);
    }
}

impl TicketActor {
    /// Submits `apply` as a durable write; `then` runs with its outcome once
    /// it is committed and every effect decided before it has run.
    pub(super) fn write_pipelined(
        &mut self,
        ctx: &mut Context<Self>,
        apply: impl FnOnce(&redb::WriteTransaction) -> Result<(), StoreError> + Send + 'static,
        then: impl FnOnce(&mut Self, &mut Context<Self>, Result<(), Error>) + 'static,
    ) {
        let reported = self.pipeline.reported.clone();
        let addr = ctx.address();
        self.pipeline.steps.push_back(Step::Write(Box::new(then)));
        self.core.store.submit(apply, move |result| {
            reported.lock().expect("pipeline lock").push_back(result);
            addr.do_send(Reported);
        });
    }

    /// Sends `out` now, or after the writes in flight if there are any.
    pub(super) fn emit(&mut self, out: Outgoing) {
        if self.pipeline.is_empty() {
            self.send_outgoing(out);
        } else {
            self.pipeline.steps.push_back(Step::Send(out));
        }
    }

    /// Runs, in order, every effect whose writes are reported.
    pub(super) fn drain(&mut self, ctx: &mut Context<Self>) {
        loop {
            match self.pipeline.steps.front() {
                None => return,
                Some(Step::Send(_)) => {
                    if let Some(Step::Send(out)) = self.pipeline.steps.pop_front() {
                        self.send_outgoing(out);
                    }
                }
                Some(Step::Write(_)) => {
                    let reported = self
                        .pipeline
                        .reported
                        .lock()
                        .expect("pipeline lock")
                        .pop_front();
                    let Some(result) = reported else { return };
                    if let Some(Step::Write(then)) = self.pipeline.steps.pop_front() {
                        then(self, ctx, result.map_err(Error::from));
                    }
                }
            }
        }
    }

    fn send_outgoing(&self, out: Outgoing) {
        if let Some((inbox, publish, must_reach)) = out.inbox {
            let addr = if must_reach {
                Some(self.core.registry.inbox(&self.core, inbox))
            } else {
                self.core.registry.live_inbox(inbox)
            };
            if let Some(addr) = addr {
                addr.do_send(publish);
            }
        }
        for (recipient, frame) in out.direct {
            recipient.do_send(Deliver(frame));
        }
    }
}
