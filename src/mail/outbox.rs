//! The durable outbox: replies of e-mail tickets wait in the store
//! (`OUTBOX`, written in the commit of the reply) until SMTP takes them.
//!
//! One task sends every due reply, retries failures with exponential
//! backoff and jitter, and reports each outcome to the reply's ticket actor
//! (`SetDelivery`), which stores it and shows it live.
//!
//! Invariants:
//! - A queued reply is never lost: it leaves the outbox only in the commit
//!   that marks it `sent` or `failed`.
//! - A reply goes out at most once more than it should: if the server dies
//!   after the SMTP server accepted a reply and before `sent` is committed,
//!   the reply is sent again after the restart, with the same Message-ID
//!   (receiving servers and clients drop the copy). That is the only window.
//! - A ticket's replies are sent one at a time, in the order they became
//!   due; up to [`CONCURRENT_TICKETS`] tickets' replies go out at once.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{Notify, watch};

use super::error::{MailError, Stage};
use super::smtp::{self, Threading, Transport};
use crate::actors::ticket::SetDelivery;
use crate::core::Core;
use crate::domain::email::{Delivery, DeliveryState, error_text, limits};
use crate::domain::mail_account::Smtp;
use crate::domain::message::{Message, MessageKind};
use crate::domain::ticket::Ticket;
use crate::domain::{ChannelId, MessageId, TicketId, Timestamp};
use crate::error::Error;
use crate::store::reads;

/// Wakes the outbox task (a reply was queued) and stops it.
#[derive(Default)]
pub struct Wake {
    notify: Notify,
    running: Mutex<Option<(watch::Sender<bool>, tokio::task::JoinHandle<()>)>>,
}

impl Wake {
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    pub(super) fn start(&self, core: &Arc<Core>) {
        let (stop, stopped) = watch::channel(false);
        let task = actix_web::rt::spawn(run(core.clone(), stopped));
        *self.running.lock().expect("outbox lock") = Some((stop, task));
    }

    pub(super) async fn stop(&self) {
        let running = self.running.lock().expect("outbox lock").take();
        if let Some((stop, task)) = running {
            let _ = stop.send(true);
            super::stop_within(task).await;
        }
    }
}

/// Tickets whose replies are sent at the same time (each on its own pooled
/// SMTP connection); one ticket's replies go one after the other.
const CONCURRENT_TICKETS: usize = 8;

/// The SMTP transports in use, rebuilt when an account's settings change.
/// Shared by the sends in flight of the outbox's one task (never held
/// across an await).
#[derive(Default)]
struct Transports(RefCell<HashMap<ChannelId, (Smtp, Transport)>>);

impl Transports {
    fn of(
        &self,
        channel: ChannelId,
        account: &Smtp,
        timeout: Duration,
    ) -> Result<Transport, MailError> {
        let mut transports = self.0.borrow_mut();
        if let Some((settings, transport)) = transports.get(&channel)
            && settings == account
        {
            return Ok(transport.clone());
        }
        let transport = smtp::transport(account, timeout)?;
        transports.insert(channel, (account.clone(), transport.clone()));
        Ok(transport)
    }
}

async fn run(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let transports = Transports::default();
    loop {
        let next = match send_due(&core, &transports, &stop).await {
            Ok(next) => next,
            Err(error) => {
                tracing::error!(%error, "outbox: reading the store failed");
                Some(Timestamp::now().plus(core.config.mail.retry_min))
            }
        };
        if *stop.borrow() {
            return;
        }
        let wait = next.map_or(Duration::from_secs(3600), |at| at.until());
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = core.mail.outbox.notify.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

/// Sends every reply that is due; the time the next one is due.
async fn send_due(
    core: &Arc<Core>,
    transports: &Transports,
    stop: &watch::Receiver<bool>,
) -> Result<Option<Timestamp>, Error> {
    let queued = reads::outbox(&core.store.read()?)?;
    core.metrics.outbox_queued.set(queued.len() as i64);
    let mut due = Vec::new();
    let mut next: Option<Timestamp> = None;
    let now = Timestamp::now();
    for (message, ticket) in queued {
        let Some(at) = due_at(core, ticket, message)? else {
            continue;
        };
        if at <= now {
            due.push((at, ticket, message));
        } else {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    due.sort_by_key(|(at, ..)| *at);
    // Each ticket's replies in the order they became due; tickets in parallel.
    let mut by_ticket: Vec<(TicketId, Vec<MessageId>)> = Vec::new();
    for (_, ticket, message) in due {
        match by_ticket.iter_mut().find(|(t, _)| *t == ticket) {
            Some((_, messages)) => messages.push(message),
            None => by_ticket.push((ticket, vec![message])),
        }
    }
    let sends = futures_util::stream::iter(by_ticket).map(|(ticket, messages)| async move {
        let mut retry: Option<Timestamp> = None;
        for message in messages {
            if *stop.borrow() {
                break;
            }
            if let Some(at) = send_one(core, transports, ticket, message).await? {
                retry = Some(retry.map_or(at, |r| r.min(at)));
            }
        }
        Ok::<_, Error>(retry)
    });
    let retries: Vec<Result<Option<Timestamp>, Error>> =
        sends.buffer_unordered(CONCURRENT_TICKETS).collect().await;
    for retry in retries {
        if let Some(at) = retry? {
            next = Some(next.map_or(at, |n| n.min(at)));
        }
    }
    Ok(next)
}

fn due_at(core: &Core, ticket: TicketId, message: MessageId) -> Result<Option<Timestamp>, Error> {
    let stored = reads::message(&core.store.read()?, ticket, message)?;
    Ok(stored
        .and_then(|m| m.delivery)
        .filter(Delivery::is_queued)
        .map(|d| d.next_attempt_at.unwrap_or(d.updated_at)))
}

/// One attempt at one reply; when to try again, if it stays queued.
async fn send_one(
    core: &Arc<Core>,
    transports: &Transports,
    ticket: TicketId,
    message: MessageId,
) -> Result<Option<Timestamp>, Error> {
    let (t, reply, thread) = {
        let tx = core.store.read()?;
        let (Some(t), Some(reply)) = (
            reads::ticket(&tx, ticket)?,
            reads::message(&tx, ticket, message)?,
        ) else {
            return Ok(None);
        };
        let thread = reads::messages(&tx, ticket)?;
        (t, reply, thread)
    };
    let Some(delivery) = reply.delivery.clone().filter(Delivery::is_queued) else {
        return Ok(None);
    };
    let attempts = delivery.attempts + 1;
    let outcome = attempt(core, transports, &t, &reply, &thread).await;
    let now = Timestamp::now();
    let config = &core.config.mail;
    let (report, retry) = match outcome {
        Ok(()) => {
            core.metrics.outbox_sent.inc();
            let sent = Delivery {
                state: DeliveryState::Sent,
                attempts,
                error: None,
                updated_at: now,
                next_attempt_at: None,
            };
            (sent, None)
        }
        Err(e) if e.permanent || attempts >= config.max_attempts => {
            core.metrics.outbox_failed.inc();
            tracing::warn!(%ticket, %message, error = %e, attempts, "outbox: reply failed");
            let failed = Delivery {
                state: DeliveryState::Failed,
                attempts,
                error: Some(error_text(&e.to_string())),
                updated_at: now,
                next_attempt_at: None,
            };
            (failed, None)
        }
        Err(e) => {
            core.metrics.outbox_retries.inc();
            let at = now.plus(backoff(config.retry_min, config.retry_max, attempts));
            tracing::info!(%ticket, %message, error = %e, attempts, "outbox: reply will be retried");
            let queued = Delivery {
                state: DeliveryState::Queued,
                attempts,
                error: Some(error_text(&e.to_string())),
                updated_at: now,
                next_attempt_at: Some(at),
            };
            (queued, Some(at))
        }
    };
    let set = SetDelivery {
        message,
        delivery: report,
    };
    core.ask_ticket(ticket, set).await?;
    Ok(retry)
}

async fn attempt(
    core: &Core,
    transports: &Transports,
    t: &Ticket,
    reply: &Message,
    thread: &[Message],
) -> Result<(), MailError> {
    if t.deleted {
        return Err(MailError::new(Stage::Send, "the ticket was deleted").permanent());
    }
    let channel = t
        .email
        .as_ref()
        .and_then(|e| core.channels.get(e.channel))
        .filter(|c| c.enabled);
    let Some(account) = channel.as_ref().and_then(|c| c.account.as_ref()) else {
        return Err(MailError::new(
            Stage::Send,
            "the ticket's e-mail channel is gone or disabled",
        ));
    };
    let mail = smtp::compose(&account.smtp, t, reply, &threading(reply, thread))?;
    let transport = transports.of(
        channel.as_ref().map(|c| c.id).expect("checked"),
        &account.smtp,
        core.config.mail.timeout,
    )?;
    smtp::send(&transport, mail).await
}

/// What `reply` answers: the newest customer mail before it, and the
/// thread's Message-IDs before it (the newest ones).
fn threading(reply: &Message, thread: &[Message]) -> Threading {
    let earlier: Vec<&Message> = thread
        .iter()
        .filter(|m| m.id != reply.id && m.created_at <= reply.created_at)
        .collect();
    let ids: Vec<String> = earlier
        .iter()
        .filter_map(|m| m.email.as_ref().map(|e| e.message_id.clone()))
        .collect();
    let in_reply_to = earlier
        .iter()
        .rev()
        .find(|m| m.kind == MessageKind::Customer && m.email.is_some())
        .and_then(|m| m.email.as_ref().map(|e| e.message_id.clone()));
    let skip = ids.len().saturating_sub(limits::REFERENCES);
    Threading {
        in_reply_to,
        references: ids.into_iter().skip(skip).collect(),
    }
}

/// The wait before attempt `attempts + 1`: `min` doubled per attempt, at
/// most `max`, less up to a quarter at random (so a burst does not retry
/// in lockstep).
pub(crate) fn backoff(min: Duration, max: Duration, attempts: u32) -> Duration {
    let doubled = min
        .saturating_mul(1 << attempts.saturating_sub(1).min(20))
        .min(max);
    let jitter = doubled.mul_f64(rand::random::<f64>() * 0.25);
    doubled - jitter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let (min, max) = (Duration::from_secs(30), Duration::from_secs(3600));
        let first = backoff(min, max, 1);
        assert!(first <= min && first >= min.mul_f64(0.75));
        let third = backoff(min, max, 3);
        assert!(third <= min * 4 && third >= (min * 4).mul_f64(0.75));
        assert!(backoff(min, max, 30) <= max);
    }
}
