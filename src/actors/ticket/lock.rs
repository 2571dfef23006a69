//! Hard locks: lock, unlock, and automatic unlock after `hard_lock_auto_unlock_s`.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::{LiveEvent, TicketActor};
use crate::domain::decisions;
use crate::domain::presence::ReleaseReason;
use crate::domain::{Agent, Timestamp};
use crate::error::Error;
use crate::protocol::changes::PresenceKind;
use crate::protocol::dto::LockDto;

/// `PUT /api/tickets/{id}/lock`.
#[derive(Message, Clone)]
#[rtype(result = "Result<LockDto, Error>")]
pub struct LockTicket {
    pub by: Arc<Agent>,
}

/// `DELETE /api/tickets/{id}/lock`: by its holder or an admin.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), Error>")]
pub struct Unlock {
    pub by: Arc<Agent>,
}

/// The lock taken at `since` reached its expiry.
#[derive(Message)]
#[rtype(result = "Result<(), Error>")]
struct Expire {
    since: Timestamp,
}

impl Handler<LockTicket> for TicketActor {
    type Result = AtomicResponse<Self, Result<LockDto, Error>>;

    fn handle(&mut self, msg: LockTicket, _: &mut Context<Self>) -> Self::Result {
        let decided = self.decide(|t, facts| decisions::lock(t, &msg.by, facts));
        self.commit(decided, move |act, ticket, (), ctx| {
            let lock = ticket.lock.as_ref().expect("just locked");
            act.schedule_lock_expiry(ctx);
            act.publish_events(&[LiveEvent::new(PresenceKind::Locked, lock.agent)]);
            Ok(LockDto::new(lock, &act.core.directory))
        })
    }
}

impl Handler<Unlock> for TicketActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;

    fn handle(&mut self, msg: Unlock, _: &mut Context<Self>) -> Self::Result {
        let decided = decisions::unlock(self.ticket.as_ref(), &msg.by, Timestamp::now());
        let by = msg.by.id;
        self.commit(decided, move |act, _, lock, ctx| {
            act.schedule_lock_expiry(ctx);
            let event = LiveEvent {
                by: (by != lock.agent).then_some(by),
                ..LiveEvent::new(PresenceKind::Unlocked, lock.agent)
            };
            act.publish_events(&[event]);
            Ok(())
        })
    }
}

impl Handler<Expire> for TicketActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;

    fn handle(&mut self, msg: Expire, _: &mut Context<Self>) -> Self::Result {
        let decided = self.decide(|t, facts| Ok(decisions::expire_lock(t, msg.since, facts)));
        let Ok(Some(expired)) = decided else {
            return AtomicResponse::new(Box::pin(fut::ready(Ok(())))); // no longer the lock
        };
        self.commit(Ok::<_, Error>(expired), move |act, _, lock, _| {
            act.lock_timer = None;
            let event = LiveEvent {
                reason: Some(ReleaseReason::Expired),
                ..LiveEvent::new(PresenceKind::Unlocked, lock.agent)
            };
            act.publish_events(&[event]);
            // The lock's holder also loses the claim it worked under.
            if act.presence.claim().is_some_and(|c| c.agent == lock.agent) {
                let released = act.presence.release_claim(ReleaseReason::Expired, None);
                act.publish_presence(&released);
            }
            Ok(())
        })
    }
}

impl TicketActor {
    /// Arms the expiry timer of the current lock (at once if already past).
    ///
    /// The timer posts `Expire` to the actor's mailbox instead of handling it
    /// itself (`notify_later`): actix may run a timer's handler right after a
    /// message's handler has decided a change and before that change's
    /// `AtomicResponse` starts, so an expiry decided there would act on the
    /// state before the change, and committing the change (decided with the
    /// lock) would then bring the expired lock back. Messages from the
    /// mailbox wait until the pending change is committed.
    pub(super) fn schedule_lock_expiry(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.lock_timer.take() {
            ctx.cancel_future(handle);
        }
        let Some(lock) = self
            .ticket
            .as_ref()
            .filter(|t| !t.deleted)
            .and_then(|t| t.lock)
        else {
            return;
        };
        let Some(expires_at) = lock.expires_at else {
            return;
        };
        let wait =
            Duration::from_millis((expires_at.millis() - Timestamp::now().millis()).max(0) as u64);
        let since = lock.since;
        self.lock_timer =
            Some(ctx.run_later(wait, move |_, ctx| ctx.address().do_send(Expire { since })));
    }
}
