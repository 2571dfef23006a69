//! Channels and their visitors: the in-memory directory of channels in front
//! of the store (a team has a handful), how a visitor's `hello` becomes
//! a visitor ([`admission`]), and what an API channel's integration does
//! ([`api`]).
//!
//! Invariants:
//! - Memory changes only after the store acknowledged the write, under one
//!   async lock, so concurrent admin edits apply one after the other.
//! - Channels are found by id (admins) and by public key (visitors); both
//!   maps always hold the same channels.
//! - A disabled or deleted channel admits nobody; the caller closes its
//!   visitors' sockets (`actors::visitors`).

pub mod admission;
pub mod api;
mod keyed_lock;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::domain::api_channel::ApiSettings;
use crate::domain::channel::{self, Channel, ChannelKind};
use crate::domain::mail_account::MailAccountInput;
use crate::domain::{ChannelId, InboxId, Timestamp};
use crate::error::Error;
use crate::store::{Store, StoreError, reads, writes};

/// A new channel, as an admin asks for it (validated by [`Channels::create`]).
pub struct NewChannel {
    pub kind: ChannelKind,
    pub inbox: InboxId,
    pub name: String,
    pub allowed_origins: Vec<String>,
    pub greeting: Option<String>,
    pub offline_message: Option<String>,
    pub require_identity: bool,
    /// An `email` channel's account.
    pub account: MailAccountInput,
    /// An `api` channel's reply callback (checked by the caller: see
    /// `webhooks::admin::checked_url`).
    pub callback_url: Option<String>,
}

/// A change of a channel: `None` leaves a field as it is.
#[derive(Default)]
pub struct ChannelPatch {
    pub name: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    pub greeting: Option<Option<String>>,
    pub offline_message: Option<Option<String>>,
    pub require_identity: Option<bool>,
    pub enabled: Option<bool>,
    /// Changes of an `email` channel's account.
    pub account: MailAccountInput,
    /// An `api` channel's reply callback (checked by the caller); `null`
    /// removes it. Setting it re-enables a callback the server disabled.
    pub callback_url: Option<Option<String>>,
}

#[derive(Default)]
struct State {
    by_id: HashMap<ChannelId, Arc<Channel>>,
    by_key: HashMap<String, Arc<Channel>>,
}

pub struct Channels {
    store: Arc<Store>,
    state: RwLock<State>,
    /// Serializes changes (see the module invariants).
    writing: tokio::sync::Mutex<()>,
}

impl Channels {
    pub fn load(store: Arc<Store>) -> Result<Channels, StoreError> {
        let mut state = State::default();
        for c in reads::channels(&store.read()?)? {
            state.insert(Arc::new(c));
        }
        Ok(Channels {
            store,
            state: RwLock::new(state),
            writing: tokio::sync::Mutex::new(()),
        })
    }

    /// Every channel, oldest first.
    pub fn all(&self) -> Vec<Arc<Channel>> {
        let mut all: Vec<_> = self.state().by_id.values().cloned().collect();
        all.sort_by_key(|c| c.id);
        all
    }

    pub fn get(&self, id: ChannelId) -> Option<Arc<Channel>> {
        self.state().by_id.get(&id).cloned()
    }

    /// The chat channel with this public key.
    pub fn by_key(&self, key: &str) -> Option<Arc<Channel>> {
        let channel = self.state().by_key.get(key).cloned();
        channel.filter(|c| c.kind == ChannelKind::Chat)
    }

    /// Whether some enabled channel allows pages on `origin`.
    pub fn any_allows(&self, origin: &str) -> bool {
        self.state().by_id.values().any(|c| c.allows(origin))
    }

    /// The enabled channels feeding `inbox`.
    pub fn of_inbox(&self, inbox: InboxId) -> Vec<Arc<Channel>> {
        self.state()
            .by_id
            .values()
            .filter(|c| c.enabled && c.inbox == inbox)
            .cloned()
            .collect()
    }

    /// Creates a channel; `inbox_exists` says whether its inbox does. An
    /// `api` channel's key comes with it (it is shown once).
    pub async fn create(
        &self,
        new: NewChannel,
        inbox_exists: bool,
    ) -> Result<(Arc<Channel>, Option<String>), Error> {
        if !inbox_exists {
            return Err(Error::bad_request("no such inbox"));
        }
        let chat_settings = !new.allowed_origins.is_empty()
            || new.greeting.is_some()
            || new.offline_message.is_some()
            || new.require_identity;
        if new.kind == ChannelKind::Api && chat_settings {
            return Err(chat_settings_refused());
        }
        let mut c = Channel::new(
            new.kind,
            new.inbox,
            channel::validate_name(&new.name).map_err(Error::BadRequest)?,
            Timestamp::now(),
        );
        c.allowed_origins =
            channel::validate_origins(new.allowed_origins).map_err(Error::BadRequest)?;
        c.greeting = channel::validate_text("greeting", new.greeting).map_err(Error::BadRequest)?;
        c.offline_message = channel::validate_text("offline_message", new.offline_message)
            .map_err(Error::BadRequest)?;
        c.require_identity = new.require_identity;
        c.account = match new.kind {
            ChannelKind::Email => Some(new.account.apply(None).map_err(Error::BadRequest)?),
            _ if new.account.is_empty() => None,
            _ => return Err(Error::bad_request("imap and smtp are for email channels")),
        };
        let mut key = None;
        if new.kind == ChannelKind::Api {
            let (api, new_key) = ApiSettings::new(new.callback_url);
            c.api = Some(api);
            key = Some(new_key);
        } else if new.callback_url.is_some() {
            return Err(Error::bad_request("callback_url is for api channels"));
        }
        let _writing = self.writing.lock().await;
        Ok((self.put(c).await?, key))
    }

    /// Applies `patch`; validation happens before anything is written.
    pub async fn update(&self, id: ChannelId, patch: ChannelPatch) -> Result<Arc<Channel>, Error> {
        let _writing = self.writing.lock().await;
        let mut c = Channel::clone(&*self.get(id).ok_or(Error::NotFound)?);
        let chat_settings = patch.allowed_origins.is_some()
            || patch.greeting.is_some()
            || patch.offline_message.is_some()
            || patch.require_identity.is_some();
        if c.kind == ChannelKind::Api && chat_settings {
            return Err(chat_settings_refused());
        }
        if let Some(name) = patch.name {
            c.name = channel::validate_name(&name).map_err(Error::BadRequest)?;
        }
        if let Some(origins) = patch.allowed_origins {
            c.allowed_origins = channel::validate_origins(origins).map_err(Error::BadRequest)?;
        }
        if let Some(greeting) = patch.greeting {
            c.greeting = channel::validate_text("greeting", greeting).map_err(Error::BadRequest)?;
        }
        if let Some(text) = patch.offline_message {
            c.offline_message =
                channel::validate_text("offline_message", text).map_err(Error::BadRequest)?;
        }
        if let Some(required) = patch.require_identity {
            c.require_identity = required;
        }
        if let Some(enabled) = patch.enabled {
            c.enabled = enabled;
        }
        if !patch.account.is_empty() {
            if c.kind != ChannelKind::Email {
                return Err(Error::bad_request("imap and smtp are for email channels"));
            }
            let account = patch.account.apply(c.account.as_ref());
            c.account = Some(account.map_err(Error::BadRequest)?);
        }
        if let Some(url) = patch.callback_url {
            let api = c
                .api
                .as_mut()
                .ok_or_else(|| Error::bad_request("callback_url is for api channels"))?;
            api.callback_url = url;
        }
        self.put(c).await
    }

    /// A new API key for an `api` channel: the old one stops working at once.
    pub async fn rotate_key(&self, id: ChannelId) -> Result<(Arc<Channel>, String), Error> {
        let _writing = self.writing.lock().await;
        let mut c = Channel::clone(&*self.get(id).ok_or(Error::NotFound)?);
        let api = c
            .api
            .as_mut()
            .ok_or_else(|| Error::bad_request("only api channels have an API key"))?;
        let key = api.rotate_key();
        Ok((self.put(c).await?, key))
    }

    /// A new secret: identity hashes made with the old one stop verifying,
    /// and an API channel's callbacks are signed with the new one.
    pub async fn rotate_secret(&self, id: ChannelId) -> Result<Arc<Channel>, Error> {
        let _writing = self.writing.lock().await;
        let mut c = Channel::clone(&*self.get(id).ok_or(Error::NotFound)?);
        c.secret = channel::new_secret();
        self.put(c).await
    }

    pub async fn delete(&self, id: ChannelId) -> Result<(), Error> {
        let _writing = self.writing.lock().await;
        self.get(id).ok_or(Error::NotFound)?;
        self.store
            .write(move |tx| writes::delete_channel(tx, id))
            .await?;
        let mut state = self.state.write().expect("channels lock poisoned");
        if let Some(old) = state.by_id.remove(&id) {
            state.by_key.remove(&old.key);
        }
        Ok(())
    }

    /// Stores `c` and then shows it (the caller holds `writing`).
    async fn put(&self, c: Channel) -> Result<Arc<Channel>, Error> {
        let stored = c.clone();
        self.store
            .write(move |tx| writes::put_channel(tx, &stored))
            .await?;
        let c = Arc::new(c);
        self.state
            .write()
            .expect("channels lock poisoned")
            .insert(c.clone());
        Ok(c)
    }

    fn state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().expect("channels lock poisoned")
    }
}

impl State {
    fn insert(&mut self, c: Arc<Channel>) {
        if let Some(old) = self.by_id.insert(c.id, c.clone()) {
            self.by_key.remove(&old.key);
        }
        self.by_key.insert(c.key.clone(), c);
    }
}

/// An API channel has no page to embed in, so no chat settings.
fn chat_settings_refused() -> Error {
    Error::bad_request(
        "allowed_origins, greeting, offline_message and require_identity are for chat channels",
    )
}
