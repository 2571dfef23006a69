//! The webhook tables: webhooks, their outbox of pending deliveries, and
//! their log of attempts (see `domain::webhook`).
//!
//! Invariants:
//! - An event enters `WEBHOOK_OUTBOX` in the transaction of its cause
//!   ([`enqueue`]), once per enabled webhook subscribed to its type, if it
//!   is news (`domain::webhook::News`).
//! - Within one (webhook, ticket) the outbox keys grow in commit order, so
//!   the first entry of that range is the oldest undelivered event.
//! - A webhook's pending deliveries are dropped in the transaction that
//!   disables or deletes it; its log keeps at most `limits::ATTEMPTS_KEPT`.

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, WriteTransaction};

use super::tables::{MESSAGES, WEBHOOK_ATTEMPTS, WEBHOOK_OUTBOX, WEBHOOKS};
use super::{StoreError, codec};
use crate::domain::message::{Message, MessageState};
use crate::domain::webhook::{Attempt, Event, News, Pending, Webhook, limits};
use crate::domain::{DeliveryId, MessageId, TicketId, Timestamp, WebhookId};

/// Where a pending delivery is in the outbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutboxKey {
    pub webhook: WebhookId,
    pub ticket: TicketId,
    pub seq: u128,
}

impl OutboxKey {
    fn raw(self) -> (u128, u128, u128) {
        (self.webhook.as_u128(), self.ticket.as_u128(), self.seq)
    }
}

pub fn put_webhook(tx: &WriteTransaction, webhook: &Webhook) -> Result<(), StoreError> {
    tx.open_table(WEBHOOKS)?
        .insert(webhook.id.as_u128(), codec::encode(webhook).as_slice())?;
    if !webhook.enabled {
        drop_pending(tx, webhook.id)?;
    }
    Ok(())
}

/// Deletes a webhook, its pending deliveries and its log.
pub fn delete_webhook(tx: &WriteTransaction, id: WebhookId) -> Result<bool, StoreError> {
    let existed = tx.open_table(WEBHOOKS)?.remove(id.as_u128())?.is_some();
    drop_pending(tx, id)?;
    let raw = id.as_u128();
    tx.open_table(WEBHOOK_ATTEMPTS)?
        .retain_in((raw, 0)..=(raw, u128::MAX), |_, _| false)?;
    Ok(existed)
}

fn drop_pending(tx: &WriteTransaction, id: WebhookId) -> Result<(), StoreError> {
    let raw = id.as_u128();
    tx.open_table(WEBHOOK_OUTBOX)?
        .retain_in((raw, 0, 0)..=(raw, u128::MAX, u128::MAX), |_, _| false)?;
    Ok(())
}

/// A webhook as the write transaction `tx` sees it (read-modify-write).
pub fn webhook_in(tx: &WriteTransaction, id: WebhookId) -> Result<Option<Webhook>, StoreError> {
    tx.open_table(WEBHOOKS)?
        .get(id.as_u128())?
        .map(|v| codec::decode(v.value()))
        .transpose()
}

pub fn webhooks(tx: &ReadTransaction) -> Result<Vec<Webhook>, StoreError> {
    tx.open_table(WEBHOOKS)?
        .iter()?
        .map(|row| codec::decode(row?.1.value()))
        .collect()
}

pub fn webhook(tx: &ReadTransaction, id: WebhookId) -> Result<Option<Webhook>, StoreError> {
    tx.open_table(WEBHOOKS)?
        .get(id.as_u128())?
        .map(|v| codec::decode(v.value()))
        .transpose()
}

/// Puts the `events` that are news in the outbox of every enabled webhook
/// that subscribed to their type; how many deliveries that queued. Call it
/// before the change's messages are stored (see `News`). `events` is only
/// called if some webhook is enabled: the writer thread builds no event
/// nobody gets.
pub fn enqueue(
    tx: &WriteTransaction,
    events: impl FnOnce() -> Vec<Event>,
) -> Result<usize, StoreError> {
    let hooks: Vec<Webhook> = {
        let table = tx.open_table(WEBHOOKS)?;
        table
            .iter()?
            .map(|row| codec::decode::<Webhook>(row?.1.value()))
            .filter(|hook| hook.as_ref().map_or(true, |h| h.enabled))
            .collect::<Result<_, _>>()?
    };
    if hooks.is_empty() {
        return Ok(0);
    }
    let events = events();
    let mut outbox = tx.open_table(WEBHOOK_OUTBOX)?;
    let messages = tx.open_table(MESSAGES)?;
    let mut queued = 0;
    for event in &events {
        if !is_news(&messages, event)? {
            continue;
        }
        for hook in hooks.iter().filter(|h| h.receives(event)) {
            let (w, t) = (hook.id.as_u128(), event.ticket.as_u128());
            let seq = next_seq(&outbox, w, t)?;
            let delivery = DeliveryId::new();
            let pending = Pending {
                delivery,
                event: event.event,
                body: event.body(delivery),
                queued_at: event.created_at,
                attempts: 0,
                next_attempt_at: event.created_at,
            };
            outbox.insert((w, t, seq), codec::encode(&pending).as_slice())?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// Whether `event` is news, given the messages stored before its change.
fn is_news(
    messages: &impl ReadableTable<(u128, u128), &'static [u8]>,
    event: &Event,
) -> Result<bool, StoreError> {
    let stored = |id: MessageId| -> Result<Option<Message>, StoreError> {
        messages
            .get((event.ticket.as_u128(), id.as_u128()))?
            .map(|v| codec::decode(v.value()))
            .transpose()
    };
    Ok(match event.news {
        News::Always => true,
        News::NewMessage(id) => stored(id)?.is_none_or(|m| m.state != MessageState::Sent),
        News::DeliveryState(id, state) => stored(id)?
            .and_then(|m| m.delivery)
            .is_some_and(|d| d.state != state),
    })
}

/// Queues `attempt`'s body again for its webhook, under a new key (after
/// the ticket's pending events) and with the same delivery id.
pub fn requeue(
    tx: &WriteTransaction,
    webhook: WebhookId,
    attempt: &Attempt,
    now: Timestamp,
) -> Result<(), StoreError> {
    let pending = Pending {
        delivery: attempt.delivery,
        event: attempt.event,
        body: attempt.body.clone(),
        queued_at: now,
        attempts: 0,
        next_attempt_at: now,
    };
    let (w, t) = (webhook.as_u128(), attempt.ticket.as_u128());
    let mut outbox = tx.open_table(WEBHOOK_OUTBOX)?;
    let seq = next_seq(&outbox, w, t)?;
    outbox.insert((w, t, seq), codec::encode(&pending).as_slice())?;
    Ok(())
}

/// The key after every pending one of lane (`w`, `t`): time-ordered (v7),
/// and past the lane's last key in any case.
fn next_seq(
    outbox: &impl ReadableTable<(u128, u128, u128), &'static [u8]>,
    w: u128,
    t: u128,
) -> Result<u128, StoreError> {
    let last = outbox
        .range((w, t, 0)..=(w, t, u128::MAX))?
        .next_back()
        .transpose()?
        .map(|(k, _)| k.value().2);
    Ok(uuid::Uuid::now_v7()
        .as_u128()
        .max(last.map_or(0, |l| l + 1)))
}

/// What [`due_heads`] found.
pub struct Heads {
    /// Due heads, at most the limit asked for.
    pub due: Vec<(OutboxKey, Pending)>,
    /// Where the next look should start: the lane after the last one taken.
    pub resume: (u128, u128),
    /// When the earliest head not due yet will be, if every lane was looked
    /// at (when the limit stopped the look, a finished attempt wakes the
    /// dispatcher anyway).
    pub next: Option<Timestamp>,
    /// Deliveries pending in all.
    pub queued: u64,
}

/// Up to `limit` heads (the oldest pending delivery of a lane (webhook,
/// ticket)) that `wanted` accepts and that are due at `now`. Lanes are
/// visited in key order from lane `start`, wrapping around once, so a start
/// that moves on ([`Heads::resume`]) gives every lane its turn. It seeks
/// from one lane to the next and decodes only heads, so a look costs the
/// lanes it visits, not their backlog, and stops once `limit` are found.
pub fn due_heads(
    tx: &ReadTransaction,
    start: (u128, u128),
    limit: usize,
    now: Timestamp,
    mut wanted: impl FnMut(WebhookId, TicketId) -> bool,
) -> Result<Heads, StoreError> {
    let table = tx.open_table(WEBHOOK_OUTBOX)?;
    let mut heads = Heads {
        due: Vec::new(),
        resume: start,
        next: None,
        queued: table.len()?,
    };
    if limit == 0 {
        return Ok(heads);
    }
    let mut from = (start.0, start.1, 0u128);
    let mut wrapped = start == (0, 0);
    loop {
        let row = table.range(from..)?.next().transpose()?;
        let Some((k, v)) = row else {
            if wrapped {
                break;
            }
            wrapped = true;
            from = (0, 0, 0);
            continue;
        };
        let (w, t, seq) = k.value();
        if wrapped && start != (0, 0) && (w, t) >= start {
            break;
        }
        // The first key of the next lane (past the last one: the end).
        let after = match (t.checked_add(1), w.checked_add(1)) {
            (Some(t), _) => (w, t),
            (None, Some(w)) => (w, 0),
            (None, None) => (u128::MAX, u128::MAX),
        };
        let key = OutboxKey {
            webhook: WebhookId::from_u128(w),
            ticket: TicketId::from_u128(t),
            seq,
        };
        if wanted(key.webhook, key.ticket) {
            let pending: Pending = codec::decode(v.value())?;
            if pending.next_attempt_at <= now {
                heads.due.push((key, pending));
                heads.resume = after;
                if heads.due.len() == limit {
                    heads.next = None;
                    return Ok(heads);
                }
            } else {
                let at = pending.next_attempt_at;
                heads.next = Some(heads.next.map_or(at, |n| n.min(at)));
            }
        }
        from = (after.0, after.1, 0);
    }
    Ok(heads)
}

/// Every pending delivery, by webhook, then ticket, then commit order.
pub fn outbox(tx: &ReadTransaction) -> Result<Vec<(OutboxKey, Pending)>, StoreError> {
    tx.open_table(WEBHOOK_OUTBOX)?
        .iter()?
        .map(|row| {
            let (k, v) = row?;
            let (webhook, ticket, seq) = k.value();
            let key = OutboxKey {
                webhook: WebhookId::from_u128(webhook),
                ticket: TicketId::from_u128(ticket),
                seq,
            };
            Ok((key, codec::decode(v.value())?))
        })
        .collect()
}

/// Records an attempt; with `retry`, the delivery stays queued as that,
/// otherwise it leaves the outbox. An attempt made while its webhook was
/// deleted is forgotten; while it was disabled, logged but not requeued.
pub fn record_attempt(
    tx: &WriteTransaction,
    key: OutboxKey,
    attempt: &Attempt,
    retry: Option<&Pending>,
) -> Result<(), StoreError> {
    let webhook = webhook_in(tx, key.webhook)?;
    let mut outbox = tx.open_table(WEBHOOK_OUTBOX)?;
    match retry.filter(|_| webhook.as_ref().is_some_and(|w| w.enabled)) {
        Some(pending) => outbox.insert(key.raw(), codec::encode(pending).as_slice())?,
        None => outbox.remove(key.raw())?,
    };
    if webhook.is_none() {
        return Ok(());
    }
    let w = key.webhook.as_u128();
    let mut log = tx.open_table(WEBHOOK_ATTEMPTS)?;
    log.insert(
        (w, uuid::Uuid::now_v7().as_u128()),
        codec::encode(attempt).as_slice(),
    )?;
    let kept = log.range((w, 0)..=(w, u128::MAX))?.count();
    let oldest: Vec<(u128, u128)> = log
        .range((w, 0)..=(w, u128::MAX))?
        .take(kept.saturating_sub(limits::ATTEMPTS_KEPT))
        .map(|row| Ok(row?.0.value()))
        .collect::<Result<_, StoreError>>()?;
    for key in oldest {
        log.remove(key)?;
    }
    Ok(())
}

/// A webhook's logged attempts, newest first.
pub fn attempts(tx: &ReadTransaction, webhook: WebhookId) -> Result<Vec<Attempt>, StoreError> {
    let w = webhook.as_u128();
    tx.open_table(WEBHOOK_ATTEMPTS)?
        .range((w, 0)..=(w, u128::MAX))?
        .rev()
        .map(|row| codec::decode(row?.1.value()))
        .collect()
}

/// Disables an enabled webhook (dropping its pending deliveries) and says
/// why; the webhook, if this disabled it (not if it was gone or disabled).
pub fn disable(
    tx: &WriteTransaction,
    id: WebhookId,
    reason: String,
) -> Result<Option<Webhook>, StoreError> {
    let Some(mut webhook) = webhook_in(tx, id)?.filter(|w| w.enabled) else {
        return Ok(None);
    };
    webhook.enabled = false;
    webhook.disabled_reason = Some(reason);
    put_webhook(tx, &webhook)?;
    Ok(Some(webhook))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::webhook::EventType;
    use crate::metrics::Metrics;
    use crate::store::Store;

    fn new_webhook(events: &[EventType]) -> Webhook {
        Webhook {
            id: WebhookId::new(),
            url: "http://127.0.0.1/hook".into(),
            events: events.to_vec(),
            description: None,
            secret: "s".into(),
            enabled: true,
            disabled_reason: None,
            created_at: Timestamp(1),
            channel: None,
        }
    }

    fn event(event: EventType, ticket: TicketId, news: News) -> Event {
        Event {
            event,
            ticket,
            news,
            created_at: Timestamp(2),
            data: serde_json::json!({}),
            channel: None,
        }
    }

    fn attempt(ticket: TicketId) -> Attempt {
        Attempt {
            delivery: DeliveryId::new(),
            event: EventType::TicketCreated,
            ticket,
            at: Timestamp(3),
            status: Some(500),
            latency_ms: 1,
            error: None,
            body: "{}".into(),
        }
    }

    #[actix_web::test]
    async fn due_heads_take_turns_from_the_lane_after_the_last_one_taken() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 16, Arc::new(Metrics::default())).unwrap();
        let hook = new_webhook(&[EventType::TicketCreated]);
        let tickets: Vec<TicketId> = (0..4).map(|_| TicketId::new()).collect();
        let mut events: Vec<Event> = tickets
            .iter()
            .map(|t| event(EventType::TicketCreated, *t, News::Always))
            .collect();
        // The last lane is not due until 100; each lane has a backlog.
        events[3].created_at = Timestamp(100);
        let backlog = events.clone();
        let stored = hook.clone();
        store
            .write(move |tx| {
                put_webhook(tx, &stored)?;
                enqueue(tx, || events.into_iter().chain(backlog).collect())
            })
            .await
            .unwrap();
        let tx = store.read().unwrap();
        let look = |start, limit, busy: &[TicketId]| {
            due_heads(&tx, start, limit, Timestamp(50), |_, t| !busy.contains(&t)).unwrap()
        };
        let lanes =
            |heads: &Heads| -> Vec<TicketId> { heads.due.iter().map(|(k, _)| k.ticket).collect() };

        let first = look((0, 0), 2, &[]);
        assert_eq!(lanes(&first), [tickets[0], tickets[1]]);
        let oldest = |t: TicketId| {
            outbox(&tx)
                .unwrap()
                .into_iter()
                .find(|(k, _)| k.ticket == t)
        };
        for (key, _) in &first.due {
            assert_eq!(
                Some(key.seq),
                oldest(key.ticket).map(|(k, _)| k.seq),
                "heads only"
            );
        }
        assert_eq!((first.next, first.queued), (None, 8));
        // The next look starts after lane 1, skips the lane not due, and
        // wraps around to lane 0; a busy lane is not taken.
        let second = look(first.resume, 2, &[tickets[1]]);
        assert_eq!(lanes(&second), [tickets[2], tickets[0]]);
        // Room for all: every lane is looked at once, and the next due time
        // is known.
        let all = look(second.resume, 10, &[]);
        assert_eq!(lanes(&all), [tickets[1], tickets[2], tickets[0]]);
        assert_eq!(all.next, Some(Timestamp(100)));
    }

    #[actix_web::test]
    async fn events_go_to_subscribed_enabled_webhooks_in_order_until_disabled() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 16, Arc::new(Metrics::default())).unwrap();
        let all = new_webhook(&[EventType::TicketCreated, EventType::MessageCreated]);
        let notes = new_webhook(&[EventType::NoteCreated]);
        let mut off = new_webhook(&[EventType::TicketCreated]);
        off.enabled = false;
        let hooks = [all.clone(), notes.clone(), off];
        let ticket = TicketId::new();
        let events = vec![
            event(EventType::TicketCreated, ticket, News::Always),
            event(
                EventType::MessageCreated,
                ticket,
                News::NewMessage(MessageId::new()),
            ),
            event(
                EventType::NoteCreated,
                ticket,
                News::NewMessage(MessageId::new()),
            ),
        ];
        let queued = store
            .write(move |tx| {
                for hook in &hooks {
                    put_webhook(tx, hook)?;
                }
                enqueue(tx, || events)
            })
            .await
            .unwrap();
        assert_eq!(queued, 3);
        let pending = outbox(&store.read().unwrap()).unwrap();
        let of = |w: WebhookId| -> Vec<EventType> {
            pending
                .iter()
                .filter(|(k, _)| k.webhook == w)
                .map(|(_, p)| p.event)
                .collect()
        };
        assert_eq!(
            of(all.id),
            [EventType::TicketCreated, EventType::MessageCreated]
        );
        assert_eq!(of(notes.id), [EventType::NoteCreated]);
        let body: serde_json::Value = serde_json::from_str(&pending[0].1.body).unwrap();
        assert_eq!(body["id"], serde_json::json!(pending[0].1.delivery));

        let id = all.id;
        store
            .write(move |tx| disable(tx, id, "gone".into()))
            .await
            .unwrap();
        let tx = store.read().unwrap();
        assert!(outbox(&tx).unwrap().iter().all(|(k, _)| k.webhook != id));
        assert_eq!(
            webhook(&tx, id)
                .unwrap()
                .unwrap()
                .disabled_reason
                .as_deref(),
            Some("gone")
        );
    }

    #[actix_web::test]
    async fn the_log_keeps_the_newest_attempts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 16, Arc::new(Metrics::default())).unwrap();
        let hook = new_webhook(&[EventType::TicketCreated]);
        let ticket = TicketId::new();
        let key = OutboxKey {
            webhook: hook.id,
            ticket,
            seq: 1,
        };
        let logged: Vec<Attempt> = (0..limits::ATTEMPTS_KEPT + 3)
            .map(|_| attempt(ticket))
            .collect();
        let newest = logged.last().unwrap().delivery;
        store
            .write(move |tx| {
                put_webhook(tx, &hook)?;
                logged
                    .iter()
                    .try_for_each(|a| record_attempt(tx, key, a, None))
            })
            .await
            .unwrap();
        let kept = attempts(&store.read().unwrap(), key.webhook).unwrap();
        assert_eq!(kept.len(), limits::ATTEMPTS_KEPT);
        assert_eq!(kept[0].delivery, newest, "newest first");
    }

    #[actix_web::test]
    async fn an_update_of_a_sent_message_is_no_event() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 16, Arc::new(Metrics::default())).unwrap();
        let hook = new_webhook(&[EventType::MessageCreated]);
        let ticket = TicketId::new();
        let sent = Message::customer(ticket, "hi".into(), Timestamp(1), None);
        let mut scheduled = Message::customer(ticket, "later".into(), Timestamp(1), None);
        scheduled.state = MessageState::Scheduled;
        let events = vec![
            event(EventType::MessageCreated, ticket, News::NewMessage(sent.id)),
            event(
                EventType::MessageCreated,
                ticket,
                News::NewMessage(scheduled.id),
            ),
        ];
        let queued = store
            .write(move |tx| {
                put_webhook(tx, &hook)?;
                crate::store::writes::put_message(tx, &sent)?;
                crate::store::writes::put_message(tx, &scheduled)?;
                enqueue(tx, || events)
            })
            .await
            .unwrap();
        assert_eq!(queued, 1, "only the scheduled reply, now sent, is news");
    }

    #[actix_web::test]
    async fn a_delivery_is_news_when_its_state_changes() {
        use crate::domain::email::{Delivery, DeliveryState};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 16, Arc::new(Metrics::default())).unwrap();
        let hook = new_webhook(&[EventType::MessageDelivery]);
        let ticket = TicketId::new();
        let mut reply = Message::customer(ticket, "hi".into(), Timestamp(1), None);
        reply.delivery = Some(Delivery::queued(Timestamp(1)));
        let unstored = MessageId::new();
        let events = vec![
            // A retry: still queued.
            event(
                EventType::MessageDelivery,
                ticket,
                News::DeliveryState(reply.id, DeliveryState::Queued),
            ),
            event(
                EventType::MessageDelivery,
                ticket,
                News::DeliveryState(reply.id, DeliveryState::Sent),
            ),
            // A new reply's first state is no news (its message.created is).
            event(
                EventType::MessageDelivery,
                ticket,
                News::DeliveryState(unstored, DeliveryState::Queued),
            ),
        ];
        let queued = store
            .write(move |tx| {
                put_webhook(tx, &hook)?;
                crate::store::writes::put_message(tx, &reply)?;
                enqueue(tx, || events)
            })
            .await
            .unwrap();
        assert_eq!(queued, 1);
    }

    #[actix_web::test]
    async fn an_attempt_that_ends_after_its_webhook_changed_is_not_requeued() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 16, Arc::new(Metrics::default())).unwrap();
        let mut off = new_webhook(&[EventType::TicketCreated]);
        off.enabled = false;
        let gone = new_webhook(&[EventType::TicketCreated]);
        let ticket = TicketId::new();
        let key = |w: &Webhook| OutboxKey {
            webhook: w.id,
            ticket,
            seq: 1,
        };
        let (off_key, gone_key) = (key(&off), key(&gone));
        let retry = Pending {
            delivery: DeliveryId::new(),
            event: EventType::TicketCreated,
            body: "{}".into(),
            queued_at: Timestamp(1),
            attempts: 1,
            next_attempt_at: Timestamp(2),
        };
        store
            .write(move |tx| {
                put_webhook(tx, &off)?;
                record_attempt(tx, off_key, &attempt(ticket), Some(&retry))?;
                record_attempt(tx, gone_key, &attempt(ticket), Some(&retry))
            })
            .await
            .unwrap();
        let tx = store.read().unwrap();
        assert!(outbox(&tx).unwrap().is_empty());
        assert_eq!(attempts(&tx, off_key.webhook).unwrap().len(), 1);
        assert!(attempts(&tx, gone_key.webhook).unwrap().is_empty());
    }
}
