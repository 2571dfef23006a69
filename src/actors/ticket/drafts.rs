//! Live drafts: fan-out to the ticket's viewers, throttled, and debounced persistence.
//!
//! Fan-out rule: per author and kind, the first change goes out at once; later
//! changes within [`FANOUT_EVERY`] are coalesced and the latest text goes out
//! when the interval ends. So viewers see typing within 100 ms and a fast
//! typist costs at most 10 frames per second per viewer.
//!
//! Persistence rule: changed drafts are written at most every [`PERSIST_EVERY`]
//! (one write for all of this ticket's changed drafts), and before the actor
//! stops or the server shuts down, so at most one second of typing is at risk
//! in a crash and none in a clean shutdown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::TicketActor;
use crate::domain::access::TicketAction;
use crate::domain::draft::{Draft, DraftKind};
use crate::domain::ticket::limits::BODY_BYTES;
use crate::domain::{Agent, AgentId, SessionId, Timestamp};
use crate::error::Error;
use crate::protocol::dto::{AgentRef, DraftDto};
use crate::protocol::frames::ServerFrame;
use crate::store::writes;

pub const FANOUT_EVERY: Duration = Duration::from_millis(100);
pub const PERSIST_EVERY: Duration = Duration::from_secs(1);

/// Fan-out throttle state of one author's draft of one kind.
pub struct Fanout {
    last_sent: Instant,
    /// A send is scheduled for the end of the current interval.
    scheduled: bool,
    /// The tab that typed last: it never gets its own text back.
    author_session: SessionId,
}

/// A `draft` frame from a tab: the author's current text (empty clears it).
#[derive(Message, Clone)]
#[rtype(result = "Result<(), Error>")]
pub struct UpdateDraft {
    pub session: SessionId,
    pub agent: Arc<Agent>,
    pub kind: DraftKind,
    pub body: String,
}

/// Persists changed drafts now; answers after the commit (used at shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct FlushDrafts;

impl Handler<UpdateDraft> for TicketActor {
    type Result = Result<(), Error>;

    fn handle(&mut self, msg: UpdateDraft, ctx: &mut Context<Self>) -> Result<(), Error> {
        let action = match msg.kind {
            DraftKind::Reply => TicketAction::Reply,
            DraftKind::Note => TicketAction::AddNote,
        };
        self.authorize(&msg.agent, action)?;
        if msg.body.len() > BODY_BYTES {
            return Err(Error::bad_request(format!(
                "a draft is at most {BODY_BYTES} bytes"
            )));
        }
        let key = (msg.agent.id, msg.kind);
        if msg.body.is_empty() {
            if self.drafts.remove(&key).is_none() {
                return Ok(());
            }
        } else {
            let draft = Draft {
                agent: msg.agent.id,
                kind: msg.kind,
                body: msg.body,
                // After the newest customer message it answers: not outdated.
                updated_at: Timestamp::now_after(
                    self.ticket
                        .as_ref()
                        .and_then(|t| t.last_customer_message_at),
                ),
            };
            self.drafts.insert(key, draft);
        }
        self.dirty_drafts.insert(key);
        self.last_activity = Instant::now();
        if msg.kind == DraftKind::Reply {
            self.tell_visitor_typing(msg.agent.id, self.drafts.contains_key(&key));
        }
        let now = Instant::now();
        let fanout = self.fanout.entry(key).or_insert(Fanout {
            last_sent: now - FANOUT_EVERY,
            scheduled: false,
            author_session: msg.session,
        });
        fanout.author_session = msg.session;
        if fanout.scheduled {
            return Ok(());
        }
        let wait = FANOUT_EVERY.saturating_sub(now.duration_since(fanout.last_sent));
        if wait.is_zero() {
            fanout.last_sent = now;
            self.send_draft(key, Some(msg.session));
        } else {
            fanout.scheduled = true;
            ctx.run_later(wait, move |act, _| {
                let author = act.fanout.get_mut(&key).map(|f| {
                    f.scheduled = false;
                    f.last_sent = Instant::now();
                    f.author_session
                });
                act.send_draft(key, author);
            });
        }
        Ok(())
    }
}

impl Handler<FlushDrafts> for TicketActor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: FlushDrafts, _: &mut Context<Self>) -> Self::Result {
        let write = self.draft_write();
        Box::pin(write.into_actor(self))
    }
}

impl TicketActor {
    /// Sends the current state of draft `key` to every tab viewing the ticket but `except`.
    pub(super) fn send_draft(&mut self, key: (AgentId, DraftKind), except: Option<SessionId>) {
        let Some(ticket) = &self.ticket else { return };
        let draft = match self.drafts.get(&key) {
            Some(draft) => DraftDto::new(draft, ticket, &self.core.directory),
            None => DraftDto {
                agent: AgentRef::lookup(&self.core.directory, key.0),
                kind: key.1,
                body: String::new(),
                updated_at: Timestamp::now().to_rfc3339(),
                outdated: false,
            },
        };
        let frame = ServerFrame::Draft {
            ticket: ticket.id,
            draft,
        }
        .encode();
        self.send_to_viewers(&frame, except);
    }

    /// A future writing every changed draft (put or delete) in one write.
    fn draft_write(&mut self) -> impl Future<Output = ()> + 'static {
        let ticket = self.id;
        let changed: Vec<((AgentId, DraftKind), Option<Draft>)> =
            std::mem::take(&mut self.dirty_drafts)
                .into_iter()
                .map(|key| (key, self.drafts.get(&key).cloned()))
                .collect();
        let store = self.core.store.clone();
        async move {
            if changed.is_empty() {
                return;
            }
            let written = store
                .write(move |tx| {
                    for ((agent, kind), draft) in &changed {
                        match draft {
                            Some(draft) => writes::put_draft(tx, ticket, draft)?,
                            None => writes::delete_draft(tx, ticket, *agent, *kind)?,
                        }
                    }
                    Ok(())
                })
                .await;
            if let Err(error) = written {
                tracing::error!(%ticket, error = &error as &dyn std::error::Error, "drafts not persisted");
            }
        }
    }

    /// Debounced persistence: called every [`PERSIST_EVERY`].
    pub(super) fn persist_drafts(&mut self, ctx: &mut Context<Self>) {
        if !self.dirty_drafts.is_empty() {
            ctx.spawn(self.draft_write().into_actor(self));
        }
    }
}
