//! The dispatcher: one task POSTs the due deliveries of `WEBHOOK_OUTBOX`
//! (docs/protocol.md §9.8), records each attempt, and retries failures with
//! exponential backoff and jitter until `[webhooks] horizon_s` after the event.
//!
//! Invariants:
//! - In order per ticket per webhook: only the oldest pending delivery of a
//!   lane (webhook, ticket) is attempted, one attempt at a time; a failing
//!   one holds back that ticket's later events for that webhook, and nothing
//!   else: lanes are attempted concurrently (at most `PARALLEL`), and a lane
//!   is looked at again as soon as its attempt is recorded.
//! - Every lane gets its turn: each look at the outbox starts at the lane
//!   after the last one taken (`store::due_heads`), so busy lanes early in
//!   key order cannot starve later ones, and a look reads only as many
//!   lanes as it needs to fill the free slots.
//! - At least once: a delivery leaves the outbox only in the commit that
//!   records its 2xx (or its giving up); a crash in between sends it again,
//!   with the same `Tandem-Delivery`.
//! - A 410 disables the webhook; so does a delivery failing past the horizon.
//!   Disabling drops the webhook's pending deliveries (`store::webhooks`)
//!   and notifies the admins in the same commit (`disabled`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::watch;

use super::disabled::{self, Audience};
use super::{destination, sign};
use crate::config::WebhooksConfig;
use crate::core::Core;
use crate::domain::webhook::{Attempt, Pending, Webhook, limits};
use crate::domain::{TicketId, Timestamp, WebhookId};
use crate::error::Error;
use crate::mail::outbox::backoff;
use crate::store::webhooks::{self as store, OutboxKey};

/// Deliveries attempted at the same time (each in its own lane).
const PARALLEL: usize = 64;

/// A ticket's deliveries to one webhook: one attempt at a time, in order.
type Lane = (WebhookId, TicketId);

/// A lane's head to attempt now: its webhook, where it is, what it is.
type Due = (Webhook, OutboxKey, Pending);

pub(super) async fn run(core: Arc<Core>, mut stop: watch::Receiver<bool>) {
    let client = client(&core.config.webhooks);
    let mut in_flight = FuturesUnordered::new();
    let mut busy: HashSet<Lane> = HashSet::new();
    let mut cursor = (0, 0);
    loop {
        if *stop.borrow() {
            return;
        }
        // Every wake-up with room for an attempt looks at the outbox again;
        // without room, the next recorded attempt makes some.
        let room = PARALLEL.saturating_sub(in_flight.len());
        let scan = if room == 0 {
            Ok((Vec::new(), None))
        } else {
            due(&core, &busy, &mut cursor, room)
        };
        let next = match scan {
            Ok((due, next)) => {
                for (hook, key, pending) in due {
                    busy.insert((key.webhook, key.ticket));
                    let lane = (key.webhook, key.ticket);
                    let attempt = deliver(&core, &client, hook, key, pending);
                    in_flight.push(attempt.map(move |result| (lane, result)));
                }
                next
            }
            Err(error) => {
                tracing::error!(%error, "webhooks: reading the outbox failed");
                Some(Timestamp::now().plus(core.config.webhooks.retry_min))
            }
        };
        let wait = next.map_or(Duration::from_secs(3600), |at| at.until());
        tokio::select! {
            Some(done) = in_flight.next(), if !in_flight.is_empty() => {
                // Every attempt recorded by now (one group commit records
                // many) is taken before the outbox is looked at again.
                let mut done = Some(done);
                while let Some((lane, result)) = done {
                    busy.remove(&lane);
                    if let Err(error) = result {
                        tracing::error!(%error, "webhooks: recording an attempt failed");
                    }
                    done = in_flight.next().now_or_never().flatten();
                }
                // The lanes' next events may be due now.
            }
            _ = tokio::time::sleep(wait) => {}
            _ = core.webhooks.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

fn client(config: &WebhooksConfig) -> awc::Client {
    let connector = awc::Connector::new()
        .timeout(config.timeout)
        .rustls_0_23(crate::mail::tls::client_config());
    awc::Client::builder()
        .connector(connector)
        .timeout(config.timeout)
        // A redirect could lead anywhere, a private address included.
        .disable_redirects()
        .finish()
}

/// Up to `room` due heads of lanes of enabled webhooks that are not `busy`,
/// looked for from lane `cursor` on (which moves past the last one taken);
/// when the next one that is not due yet will be, if all were looked at.
/// Only the lanes' heads are read (`store::due_heads`), not their backlog.
fn due(
    core: &Core,
    busy: &HashSet<Lane>,
    cursor: &mut (u128, u128),
    room: usize,
) -> Result<(Vec<Due>, Option<Timestamp>), Error> {
    let tx = core.store.read()?;
    let hooks: HashMap<WebhookId, Webhook> = store::webhooks(&tx)?
        .into_iter()
        .filter(|h| h.enabled)
        .map(|h| (h.id, h))
        .collect();
    let heads = store::due_heads(&tx, *cursor, room, Timestamp::now(), |webhook, ticket| {
        hooks.contains_key(&webhook) && !busy.contains(&(webhook, ticket))
    })?;
    drop(tx);
    core.metrics.webhooks_queued.set(heads.queued as i64);
    *cursor = heads.resume;
    let due = heads
        .due
        .into_iter()
        .map(|(key, pending)| (hooks[&key.webhook].clone(), key, pending))
        .collect();
    Ok((due, heads.next))
}

/// What became of one attempt.
struct Outcome {
    status: Option<u16>,
    error: Option<String>,
    latency: Duration,
}

/// One attempt at one delivery, recorded (with its retry, if it stays queued).
async fn deliver(
    core: &Arc<Core>,
    client: &awc::Client,
    hook: Webhook,
    key: OutboxKey,
    pending: Pending,
) -> Result<(), Error> {
    let config = &core.config.webhooks;
    let outcome = attempt(client, config, &hook, &pending).await;
    let now = Timestamp::now();
    let attempt = Attempt {
        delivery: pending.delivery,
        event: pending.event,
        ticket: key.ticket,
        at: now,
        status: outcome.status,
        latency_ms: outcome.latency.as_millis() as u64,
        error: outcome.error.clone(),
        body: pending.body.clone(),
    };
    let success = outcome.status.is_some_and(|s| (200..300).contains(&s));
    let gone = outcome.status == Some(410);
    let attempts = pending.attempts + 1;
    let expired = now >= pending.queued_at.plus(config.horizon);
    let (retry, disable) = if success {
        (None, None)
    } else if gone {
        (None, Some("the receiver answered 410 Gone".to_owned()))
    } else if expired {
        let reason = format!(
            "deliveries kept failing for {}s; the last: {}",
            config.horizon.as_secs_f64(),
            outcome.error.as_deref().unwrap_or("?")
        );
        (None, Some(reason))
    } else {
        let at = now.plus(backoff(config.retry_min, config.retry_max, attempts));
        let retry = Pending {
            attempts,
            next_attempt_at: at,
            ..pending
        };
        (Some(retry), None)
    };
    let metrics = &core.metrics;
    match (&retry, &disable) {
        (Some(_), _) => {
            metrics.webhooks_retries.inc();
        }
        (None, Some(reason)) => {
            metrics.webhooks_given_up.inc();
            tracing::warn!(webhook = %hook.id, %reason, "webhooks: disabling a webhook");
        }
        (None, None) => {
            metrics.webhooks_delivered.inc();
        }
    }
    // Disabling tells the admins in the same commit (see `disabled`).
    let disabling = disable
        .map(|reason| Ok::<_, Error>((reason, Audience::of(core, key.ticket)?)))
        .transpose()?;
    let refresh = disabling.is_some();
    let told = core
        .store
        .write(move |tx| {
            store::record_attempt(tx, key, &attempt, retry.as_ref())?;
            match disabling {
                Some((reason, audience)) => disabled::disable(tx, key.webhook, reason, &audience),
                None => Ok(Vec::new()),
            }
        })
        .await?;
    if refresh {
        disabled::tell(core, &told);
        core.webhooks.refresh(&core.store)?;
    }
    Ok(())
}

async fn attempt(
    client: &awc::Client,
    config: &WebhooksConfig,
    hook: &Webhook,
    pending: &Pending,
) -> Outcome {
    let started = Instant::now();
    let result = tokio::time::timeout(config.timeout, post(client, config, hook, pending)).await;
    let (status, error) = match result {
        Ok(Ok(status)) if (200..300).contains(&status) => (Some(status), None),
        Ok(Ok(status)) => (
            Some(status),
            Some(format!("the receiver answered {status}")),
        ),
        Ok(Err(error)) => (None, Some(error)),
        Err(_) => (None, Some(format!("no answer within {:?}", config.timeout))),
    };
    let error = error.map(|e| e.chars().take(limits::ERROR_CHARS).collect());
    Outcome {
        status,
        error,
        latency: started.elapsed(),
    }
}

/// POSTs the delivery; the receiver's status.
async fn post(
    client: &awc::Client,
    config: &WebhooksConfig,
    hook: &Webhook,
    pending: &Pending,
) -> Result<u16, String> {
    destination::check(&hook.url, config.allow_private).await?;
    let t = Timestamp::now().millis() / 1000;
    let mut response = client
        .post(&hook.url)
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("User-Agent", "Tandem-Webhooks"))
        .insert_header(("Tandem-Event", pending.event.as_str()))
        .insert_header(("Tandem-Delivery", pending.delivery.to_string()))
        .insert_header((
            "Tandem-Signature",
            sign::signature(&hook.secret, t, &pending.body),
        ))
        .send_body(pending.body.clone())
        .await
        .map_err(|e| format!("cannot reach the receiver: {e}"))?;
    // The answer is read up to the cap (so the connection can be reused);
    // what it says does not matter, and a longer one is not read.
    let _ = response.body().limit(config.max_response_bytes).await;
    Ok(response.status().as_u16())
}
