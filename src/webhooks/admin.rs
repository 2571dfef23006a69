//! Creating, changing and deleting webhooks, rotating their secrets, and
//! redelivering a logged delivery (docs/protocol.md §9.8.1). Callers check
//! that the caller is an admin.
//!
//! Each change is read, decided and written in one store transaction, so
//! two admins changing one webhook at once cannot lose either change; a
//! change of what a webhook subscribes to is refreshed in memory
//! (`Webhooks::refresh`) before it is answered.
//! API channels' reply callbacks are webhooks too, but not these admins':
//! they change only with their channel (`Webhook::callback_of`), so here
//! they do not exist.

use crate::core::Core;
use crate::domain::channel::{Channel, new_secret};
use crate::domain::webhook::{
    Attempt, Webhook, validate_description, validate_events, validate_url,
};
use crate::domain::{DeliveryId, Timestamp, WebhookId};
use crate::error::Error;
use crate::store::webhooks as store;

/// What `POST /api/webhooks` asks for.
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
}

/// What `PATCH /api/webhooks/{id}` changes (`None`: unchanged).
#[derive(Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// An empty description removes it.
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// A URL events may be POSTed to (see `destination`).
pub fn checked_url(core: &Core, url: &str) -> Result<String, Error> {
    let url = validate_url(url).map_err(Error::bad_request)?;
    super::destination::check_literal(&url, core.config.webhooks.allow_private)
        .map_err(Error::bad_request)?;
    Ok(url)
}

pub async fn create(core: &Core, new: NewWebhook) -> Result<Webhook, Error> {
    let webhook = Webhook {
        id: WebhookId::new(),
        url: checked_url(core, &new.url)?,
        events: validate_events(&new.events).map_err(Error::bad_request)?,
        description: validate_description(new.description).map_err(Error::bad_request)?,
        secret: new_secret(),
        enabled: true,
        disabled_reason: None,
        created_at: Timestamp::now(),
        channel: None,
    };
    let stored = webhook.clone();
    core.store
        .write(move |tx| store::put_webhook(tx, &stored))
        .await?;
    core.webhooks.refresh(&core.store)?;
    Ok(webhook)
}

pub fn list(core: &Core) -> Result<Vec<Webhook>, Error> {
    let mut hooks = store::webhooks(&core.store.read()?)?;
    hooks.retain(|w| w.channel.is_none());
    Ok(hooks)
}

pub fn get(core: &Core, id: WebhookId) -> Result<Webhook, Error> {
    let found = store::webhook(&core.store.read()?, id)?;
    found.filter(|w| w.channel.is_none()).ok_or(Error::NotFound)
}

/// Applies `change` to the stored webhook, in one transaction.
async fn modify(
    core: &Core,
    id: WebhookId,
    change: impl FnOnce(&mut Webhook) + Send + 'static,
) -> Result<Webhook, Error> {
    let changed = core
        .store
        .write(move |tx| {
            let found = store::webhook_in(tx, id)?.filter(|w| w.channel.is_none());
            let Some(mut webhook) = found else {
                return Ok(None);
            };
            change(&mut webhook);
            store::put_webhook(tx, &webhook)?;
            Ok(Some(webhook))
        })
        .await?;
    changed.ok_or(Error::NotFound)
}

pub async fn update(core: &Core, id: WebhookId, patch: WebhookPatch) -> Result<Webhook, Error> {
    let url = patch.url.map(|u| checked_url(core, &u)).transpose()?;
    let events = patch
        .events
        .map(|e| validate_events(&e))
        .transpose()
        .map_err(Error::bad_request)?;
    let description = patch
        .description
        .map(|d| validate_description(Some(d)))
        .transpose()
        .map_err(Error::bad_request)?;
    let webhook = modify(core, id, move |w| {
        if let Some(url) = url {
            w.url = url;
        }
        if let Some(events) = events {
            w.events = events;
        }
        if let Some(description) = description {
            w.description = description;
        }
        if let Some(enabled) = patch.enabled {
            w.enabled = enabled;
            w.disabled_reason = None;
        }
    })
    .await?;
    core.webhooks.refresh(&core.store)?;
    core.webhooks.wake();
    Ok(webhook)
}

pub async fn rotate_secret(core: &Core, id: WebhookId) -> Result<Webhook, Error> {
    let secret = new_secret();
    modify(core, id, move |w| w.secret = secret).await
}

pub async fn delete(core: &Core, id: WebhookId) -> Result<(), Error> {
    let deleted = core
        .store
        .write(move |tx| match store::webhook_in(tx, id)? {
            Some(w) if w.channel.is_none() => store::delete_webhook(tx, id),
            _ => Ok(false),
        })
        .await?;
    core.webhooks.refresh(&core.store)?;
    deleted.then_some(()).ok_or(Error::NotFound)
}

/// The webhook's logged attempts, newest first.
pub fn attempts(core: &Core, id: WebhookId) -> Result<Vec<Attempt>, Error> {
    get(core, id)?;
    Ok(store::attempts(&core.store.read()?, id)?)
}

/// The logged attempts of an API channel's reply callback, newest first
/// (none for other channels).
pub fn callback_attempts(core: &Core, channel: &Channel) -> Result<Vec<Attempt>, Error> {
    let id = WebhookId::from_u128(channel.id.as_u128());
    Ok(store::attempts(&core.store.read()?, id)?)
}

/// Queues a logged delivery again (same `Tandem-Delivery`, same body),
/// after the pending events of its ticket.
pub async fn redeliver(core: &Core, id: WebhookId, delivery: DeliveryId) -> Result<(), Error> {
    let webhook = get(core, id)?;
    if !webhook.enabled {
        return Err(Error::bad_request(
            "the webhook is disabled; enable it first",
        ));
    }
    let logged = attempts(core, id)?
        .into_iter()
        .find(|a| a.delivery == delivery)
        .ok_or(Error::NotFound)?;
    core.store
        .write(move |tx| store::requeue(tx, id, &logged, Timestamp::now()))
        .await?;
    core.webhooks.wake();
    Ok(())
}
