//! Telling the admins that the dispatcher disabled a webhook (a `410`, or
//! deliveries failing past `[webhooks] horizon_s`; docs/protocol.md §3.3
//! and §9.8.3).
//!
//! Invariants:
//! - Every admin (not disabled) gets a `webhook_disabled` notification,
//!   stored in the commit that disables the webhook: nobody is told of a
//!   webhook that is still enabled, and a disabled one is never untold.
//! - A notification is about a ticket: here the ticket of the delivery that
//!   failed (tickets are never removed, so it exists).
//! - Only the commit that disables an enabled webhook notifies: one that
//!   finds it gone or already disabled tells nobody.

use redb::WriteTransaction;

use crate::core::Core;
use crate::domain::notification::{Notification, NotificationKind};
use crate::domain::ticket::Ticket;
use crate::domain::{AgentId, Role, TicketId, Timestamp, WebhookId};
use crate::error::Error;
use crate::protocol::frames::ServerFrame;
use crate::store::{StoreError, reads, webhooks as store, writes};

/// Whom to tell, and about which ticket: read before the disabling write.
pub(super) struct Audience {
    admins: Vec<AgentId>,
    ticket: Option<Ticket>,
}

impl Audience {
    pub fn of(core: &Core, ticket: TicketId) -> Result<Audience, Error> {
        let admins = core
            .directory
            .agents()
            .iter()
            .filter(|a| a.role == Role::Admin && !a.disabled)
            .map(|a| a.id)
            .collect();
        let ticket = reads::ticket(&core.store.read()?, ticket)?;
        Ok(Audience { admins, ticket })
    }
}

/// Disables the webhook (see `store::webhooks::disable`) and stores the
/// admins' notifications; the notifications to send once committed.
pub(super) fn disable(
    tx: &WriteTransaction,
    webhook: WebhookId,
    reason: String,
    audience: &Audience,
) -> Result<Vec<Notification>, StoreError> {
    let Some(disabled) = store::disable(tx, webhook, reason.clone())? else {
        return Ok(Vec::new());
    };
    let Some(ticket) = &audience.ticket else {
        tracing::warn!(%webhook, "webhooks: the failed delivery's ticket is gone; no admin is told");
        return Ok(Vec::new());
    };
    let now = Timestamp::now();
    let kind = NotificationKind::WebhookDisabled {
        webhook,
        url: disabled.url,
        description: disabled.description,
        reason,
    };
    let notifications: Vec<Notification> = audience
        .admins
        .iter()
        .map(|admin| Notification::about(ticket, *admin, kind.clone(), None, now))
        .collect();
    for notification in &notifications {
        writes::put_notification(tx, notification)?;
    }
    Ok(notifications)
}

/// Sends committed notifications to every live session of their admins.
pub(super) fn tell(core: &Core, notifications: &[Notification]) {
    for n in notifications {
        let frame = ServerFrame::notification(n, &core.directory);
        for mailslot in core.registry.mailslots_of(n.agent) {
            mailslot.put(frame.clone());
        }
    }
}
