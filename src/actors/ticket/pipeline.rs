//! Pipelined durable writes: a ticket keeps deciding while its writes commit.
//!
//! Presence decisions that need a durable record — the read mark of a first
//! `open`, the `claim_forced` history entry of a take-over or force-release —
//! are decided and applied to memory at once, so the next message is decided
//! against them; only what they publish and answer waits for the commit. A
//! decision's frames are encoded when it is taken (they describe the state it
//! produced) and leave in decision order:
//! - a pipelined write's effects run when its commit is reported, in
//!   submission order (the writer reports completions in that order): first
//!   the frames of its decision go to the inbox, then `then` answers, so
//!   whoever gets the answer can count on those frames being on their way;
//! - frames decided while writes are in flight queue behind them ([`emit`]),
//!   and so do answers that need no write of their own (an `open` that only
//!   joins: [`answer_in_order`]);
//! - every frame the ticket sends takes one path, [`emit`] and then the
//!   ticket's inbox actor: the ones for single tabs (drafts, messages,
//!   `claim_lost`, `access_revoked`, read marks, notifications) too, so a
//!   draft sent straight to a tab can never overtake a presence frame still
//!   on its way through the inbox;
//! - a write through [`TicketActor::commit`] (which holds the mailbox) runs
//!   every earlier effect first: its own commit proves theirs.
//!
//! So nothing is acknowledged before it is on disk, every subscriber sees one
//! ticket's frames in the order they were decided, and one slow commit costs a
//! ticket latency, not throughput.
//!
//! [`emit`]: TicketActor::emit
//! [`answer_in_order`]: TicketActor::answer_in_order

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use actix::prelude::*;

use super::TicketActor;
use crate::actors::inbox::{Direct, Publish};
use crate::domain::InboxId;
use crate::error::Error;
use crate::store::StoreError;

type AfterCommit = Box<dyn FnOnce(&mut TicketActor, &mut Context<TicketActor>, Result<(), Error>)>;

/// A decision's publication: the inbox and what to hand it.
pub(super) type Publication = Option<(InboxId, Publish)>;

enum Step {
    /// Runs once the next pipelined write is reported: sends the decision's
    /// publication, then runs the continuation.
    Write(Publication, AfterCommit),
    /// Frames decided behind a write still in flight.
    Send(InboxId, Publish),
    /// An answer decided behind a write still in flight.
    Answer(Box<dyn FnOnce()>),
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
    /// Submits `apply` as a durable write. Once it is committed and every
    /// effect decided before it has run, `publication` (the frames of the
    /// decision, encoded now) goes out, then `then` runs with the outcome.
    /// (The frames go out even if the write failed: `then` undoes the
    /// decision and publishes that, so clients see a consistent story.)
    pub(super) fn write_pipelined(
        &mut self,
        ctx: &mut Context<Self>,
        apply: impl FnOnce(&redb::WriteTransaction) -> Result<(), StoreError> + Send + 'static,
        publication: Publication,
        then: impl FnOnce(&mut Self, &mut Context<Self>, Result<(), Error>) + 'static,
    ) {
        let reported = self.pipeline.reported.clone();
        let addr = ctx.address();
        self.pipeline
            .steps
            .push_back(Step::Write(publication, Box::new(then)));
        self.core.store.submit(apply, move |result| {
            reported.lock().expect("pipeline lock").push_back(result);
            addr.do_send(Reported);
        });
    }

    /// Hands `publish` to the actor of `inbox` now, or after the writes in
    /// flight if there are any.
    pub(super) fn emit(&mut self, inbox: InboxId, publish: Publish) {
        if self.pipeline.is_empty() {
            self.send_outgoing(inbox, publish);
        } else {
            self.pipeline.steps.push_back(Step::Send(inbox, publish));
        }
    }

    /// Sends frames to single recipients, in order with everything else
    /// ([`emit`](Self::emit)): through the ticket's inbox actor, like the rest.
    pub(super) fn emit_direct(&mut self, direct: Direct) {
        if direct.is_empty() {
            return;
        }
        let Some(inbox) = self.ticket.as_ref().map(|t| t.inbox) else {
            // No ticket, so nothing else of it is sent: no order to keep.
            return Publish::deliver_direct(direct);
        };
        let publish = Publish {
            payloads: Vec::new(),
            viewers: Vec::new(),
            presence: None,
            direct,
        };
        self.emit(inbox, publish);
    }

    /// Answers `value` once everything decided before it has gone out: at
    /// once, unless frames wait for a write in flight.
    pub(super) fn answer_in_order<T: 'static>(
        &mut self,
        value: Result<T, Error>,
    ) -> ResponseFuture<Result<T, Error>> {
        if self.pipeline.is_empty() {
            return Box::pin(std::future::ready(value));
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.pipeline
            .steps
            .push_back(Step::Answer(Box::new(move || {
                let _ = reply.send(value);
            })));
        Box::pin(async move { answer.await.unwrap_or(Err(Error::Unavailable)) })
    }

    /// Runs, in order, every effect whose writes are reported.
    pub(super) fn drain(&mut self, ctx: &mut Context<Self>) {
        loop {
            match self.pipeline.steps.front() {
                None => return,
                Some(Step::Send(..)) => {
                    if let Some(Step::Send(inbox, publish)) = self.pipeline.steps.pop_front() {
                        self.send_outgoing(inbox, publish);
                    }
                }
                Some(Step::Answer(_)) => {
                    if let Some(Step::Answer(answer)) = self.pipeline.steps.pop_front() {
                        answer();
                    }
                }
                Some(Step::Write(..)) => {
                    let reported = self
                        .pipeline
                        .reported
                        .lock()
                        .expect("pipeline lock")
                        .pop_front();
                    let Some(result) = reported else { return };
                    if let Some(Step::Write(publication, then)) = self.pipeline.steps.pop_front() {
                        if let Some((inbox, publish)) = publication {
                            self.send_outgoing(inbox, publish);
                        }
                        then(self, ctx, result.map_err(Error::from));
                    }
                }
            }
        }
    }

    fn send_outgoing(&self, inbox: InboxId, publish: Publish) {
        let addr = if publish.must_reach() {
            Some(self.core.inbox(inbox))
        } else {
            self.core.registry.live_inbox(inbox)
        };
        if let Some(addr) = addr {
            addr.do_send(publish);
        }
    }
}
