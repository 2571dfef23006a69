//! Hard locks: taking one, releasing it, and its expiry after the
//! `hard_lock_auto_unlock_s` setting in force when it was taken.

use super::super::access::TicketAction;
use super::super::history::{HistoryAction, HistoryEntry};
use super::super::notification::{Notification, NotificationKind};
use super::super::ticket::{Lock, Ticket};
use super::super::{Agent, Role, Timestamp};
use super::{Change, ConflictReason, Facts, Forbidden, Refusal, authorize, check_collisions, sees};

/// Locks the ticket for `by` (re-locking one's own lock renews it).
pub fn lock(ticket: Option<&Ticket>, by: &Agent, facts: &Facts) -> Result<Change, Refusal> {
    let before = authorize(ticket, by, TicketAction::Lock)?;
    check_collisions(before, by, facts)?;
    let now = facts.now;
    let lock = Lock {
        agent: by.id,
        since: now,
        expires_at: facts
            .settings
            .hard_lock_auto_unlock_ms
            .map(|ms| Timestamp(now.millis() + ms as i64)),
    };
    let mut change = Change::of(before.clone());
    change.after.lock = Some(lock);
    change.history.push(
        HistoryEntry::new(Some(by.id), HistoryAction::Locked, now)
            .with("expires_at", lock.expires_at.map(|t| t.to_rfc3339())),
    );
    Ok(change)
}

/// Unlocks the ticket: by the lock's holder or an admin. Answers the lock that went.
pub fn unlock(
    ticket: Option<&Ticket>,
    by: &Agent,
    now: Timestamp,
) -> Result<(Change, Lock), Refusal> {
    // The role comes first (light agents: 403), before the lock's state (409).
    let before = authorize(ticket, by, TicketAction::Lock)?;
    let lock = before.lock.ok_or(ConflictReason::NotLocked)?;
    if lock.agent != by.id && by.role != Role::Admin {
        return Err(Refusal::Forbidden(Forbidden::NotLockHolder));
    }
    let mut change = Change::of(before.clone());
    change.after.lock = None;
    change.history.push(
        HistoryEntry::new(Some(by.id), HistoryAction::Unlocked, now)
            .with("agent", lock.agent.to_string()),
    );
    Ok((change, lock))
}

/// The lock taken at `since` expires, if it is still the ticket's lock.
/// Its former holder is told, unless it may no longer see the ticket.
pub fn expire_lock(
    ticket: Option<&Ticket>,
    since: Timestamp,
    facts: &Facts,
) -> Option<(Change, Lock)> {
    let ticket = ticket?;
    let lock = ticket.lock.filter(|l| l.since == since)?;
    let mut change = Change::of(ticket.clone());
    change.after.lock = None;
    change.history.push(
        HistoryEntry::new(None, HistoryAction::LockExpired, facts.now)
            .with("agent", lock.agent.to_string()),
    );
    if sees(facts.roster, ticket, lock.agent) {
        change.notifications.push(Notification::about(
            ticket,
            lock.agent,
            NotificationKind::LockExpired,
            None,
            facts.now,
        ));
    }
    Some((change, lock))
}
