//! Hard locks: lock, unlock, and automatic unlock after `hard_lock_auto_unlock_s`.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::{Change, LiveEvent, TicketActor, refuse};
use crate::domain::access::TicketAction;
use crate::domain::history::{HistoryAction, HistoryEntry};
use crate::domain::notification::NotificationKind;
use crate::domain::presence::ReleaseReason;
use crate::domain::ticket::Lock;
use crate::domain::{Agent, Role, Timestamp};
use crate::error::Error;
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
        let ticket = match self.authorize(&msg.by, TicketAction::Lock).and_then(|t| {
            self.check_lock(&msg.by)?;
            self.check_claim(&msg.by)?;
            Ok(t.clone())
        }) {
            Ok(t) => t,
            Err(e) => return refuse(e),
        };
        let now = Timestamp::now();
        let ttl = self.core.directory.settings().hard_lock_auto_unlock_ms;
        let lock = Lock {
            agent: msg.by.id,
            since: now,
            expires_at: ttl.map(|ms| Timestamp(now.millis() + ms as i64)),
        };
        let mut change = Change::of(ticket);
        change.after.lock = Some(lock);
        change.history.push(
            HistoryEntry::new(Some(msg.by.id), HistoryAction::Locked, now)
                .with("expires_at", lock.expires_at.map(|t| t.to_rfc3339())),
        );
        self.commit(change, move |act, ticket, ctx| {
            act.schedule_lock_expiry(ctx);
            act.publish_events(&[LiveEvent::new("locked", lock.agent)]);
            Ok(LockDto::new(
                ticket.lock.as_ref().expect("just locked"),
                &act.core.directory,
            ))
        })
    }
}

impl Handler<Unlock> for TicketActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;

    fn handle(&mut self, msg: Unlock, _: &mut Context<Self>) -> Self::Result {
        // The role comes first (light agents: 403), before the lock's state (409).
        let ticket = match self.authorize(&msg.by, TicketAction::Lock) {
            Ok(t) => t.clone(),
            Err(e) => return refuse(e),
        };
        let Some(lock) = ticket.lock else {
            return refuse(Error::Conflict("the ticket is not locked".into()));
        };
        if lock.agent != msg.by.id && msg.by.role != Role::Admin {
            return refuse(Error::forbidden(
                "only the lock's holder or an admin may unlock",
            ));
        }
        let mut change = Change::of(ticket);
        change.after.lock = None;
        change.history.push(
            HistoryEntry::new(Some(msg.by.id), HistoryAction::Unlocked, Timestamp::now())
                .with("agent", lock.agent.to_string()),
        );
        let by = msg.by.id;
        self.commit(change, move |act, _, ctx| {
            act.schedule_lock_expiry(ctx);
            let event = LiveEvent {
                by: (by != lock.agent).then_some(by),
                ..LiveEvent::new("unlocked", lock.agent)
            };
            act.publish_events(&[event]);
            Ok(())
        })
    }
}

impl Handler<Expire> for TicketActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;

    fn handle(&mut self, msg: Expire, _: &mut Context<Self>) -> Self::Result {
        let Some(ticket) = self
            .ticket
            .clone()
            .filter(|t| t.lock.is_some_and(|l| l.since == msg.since))
        else {
            return AtomicResponse::new(Box::pin(fut::ready(Ok(()))));
        };
        let lock = ticket.lock.expect("checked above");
        let now = Timestamp::now();
        // The former holder is told, unless it may no longer see the ticket.
        let notification = self
            .sees(&ticket, lock.agent)
            .then(|| self.notification(&ticket, lock.agent, NotificationKind::LockExpired, None));
        let mut change = Change::of(ticket);
        change.after.lock = None;
        change.history.push(
            HistoryEntry::new(None, HistoryAction::LockExpired, now)
                .with("agent", lock.agent.to_string()),
        );
        change.notifications.extend(notification);
        self.commit(change, move |act, _, _| {
            act.lock_timer = None;
            let event = LiveEvent {
                reason: Some(ReleaseReason::Expired),
                ..LiveEvent::new("unlocked", lock.agent)
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
