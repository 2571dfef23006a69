//! Accounts: agents, inboxes and memberships, bearer tokens, settings.
//!
//! The [`Directory`] keeps all of it in memory (a helpdesk has hundreds of
//! agents, not millions) in front of the store, so every request's token and
//! access check is a hash lookup.
//!
//! Invariants:
//! - Memory changes only after the store acknowledged the write, and every
//!   change is made under one async write lock, so two concurrent requests
//!   cannot both take the same handle or e-mail.
//! - A disabled agent has no tokens: `authenticate` never returns it.
//! - An expired token authenticates nobody; expired tokens are deleted from
//!   the store by the next login.
//! - Passwords are hashed with argon2 off the async threads.

pub mod limiter;
pub mod password;
pub mod token;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::domain::agent::{Names, TokenRecord, normalize_email, normalize_handle};
use crate::domain::settings::Settings;
use crate::domain::{Agent, AgentId, Inbox, InboxId, Role, Timestamp};
use crate::store::{Store, StoreError, reads, writes};
use limiter::LoginLimiter;
use token::{Credential, Revocation};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Taken(String),
    #[error("no such agent")]
    NoSuchAgent,
    #[error("wrong login or password")]
    BadCredentials,
    #[error("too many failed logins; try again in a minute")]
    RateLimited,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct NewAgent {
    pub handle: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub password: String,
    pub inboxes: Vec<InboxId>,
}

#[derive(Default)]
pub struct AgentPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub password: Option<String>,
    pub inboxes: Option<Vec<InboxId>>,
    pub disabled: Option<bool>,
}

#[derive(Default)]
struct State {
    agents: HashMap<AgentId, Arc<Agent>>,
    /// Lower-case handles and e-mails → agent.
    logins: HashMap<String, AgentId>,
    inboxes: HashMap<InboxId, Inbox>,
    /// Token digest → its agent and expiry.
    tokens: HashMap<[u8; 32], (AgentId, Timestamp)>,
    settings: Arc<Settings>,
}

pub struct Directory {
    store: Arc<Store>,
    state: RwLock<State>,
    writes: tokio::sync::Mutex<()>,
    limiter: LoginLimiter,
    token_ttl: Duration,
    /// Verified against when a login names nobody, so timing does not tell.
    dummy_hash: String,
}

impl Names for Directory {
    fn agent_name(&self, id: AgentId) -> Option<String> {
        self.read().agents.get(&id).map(|agent| agent.name.clone())
    }
}

impl Directory {
    pub fn load(store: Arc<Store>, token_ttl: Duration) -> Result<Directory, StoreError> {
        let tx = store.read()?;
        let mut state = State {
            settings: Arc::new(reads::settings(&tx)?),
            ..State::default()
        };
        for agent in reads::agents(&tx)? {
            state.logins.insert(agent.handle.clone(), agent.id);
            state.logins.insert(agent.email.clone(), agent.id);
            state.agents.insert(agent.id, Arc::new(agent));
        }
        for inbox in reads::inboxes(&tx)? {
            state.inboxes.insert(inbox.id, inbox);
        }
        for (hash, record) in reads::tokens(&tx)? {
            let expires_at = record
                .expires_at
                .unwrap_or(record.created_at.plus(token_ttl));
            state.tokens.insert(hash, (record.agent, expires_at));
        }
        drop(tx);
        Ok(Directory {
            store,
            state: RwLock::new(state),
            writes: tokio::sync::Mutex::new(()),
            limiter: LoginLimiter::default(),
            token_ttl,
            dummy_hash: password::hash("tandem-dummy-password"),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().expect("directory lock poisoned")
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().expect("directory lock poisoned")
    }

    // ---- lookups -------------------------------------------------------

    /// The active agent a bearer token belongs to.
    pub fn authenticate(&self, token: &str) -> Option<Arc<Agent>> {
        self.authenticate_credential(token).map(|(agent, _)| agent)
    }

    /// Like [`authenticate`](Self::authenticate), with the token's credential
    /// (a socket closes when its token expires).
    pub fn authenticate_credential(&self, token: &str) -> Option<(Arc<Agent>, Credential)> {
        let digest = token::digest(token);
        let state = self.read();
        let (id, expires_at) = *state.tokens.get(&digest)?;
        if expires_at <= Timestamp::now() {
            return None;
        }
        let agent = state.agents.get(&id).filter(|a| !a.disabled).cloned()?;
        Some((agent, Credential { digest, expires_at }))
    }

    pub fn agent(&self, id: AgentId) -> Option<Arc<Agent>> {
        self.read().agents.get(&id).cloned()
    }

    pub fn agent_by_handle(&self, handle: &str) -> Option<Arc<Agent>> {
        let state = self.read();
        let id = state.logins.get(&handle.to_ascii_lowercase())?;
        state
            .agents
            .get(id)
            .filter(|a| a.handle.eq_ignore_ascii_case(handle))
            .cloned()
    }

    /// Every agent, ordered by handle.
    pub fn agents(&self) -> Vec<Arc<Agent>> {
        let mut all: Vec<_> = self.read().agents.values().cloned().collect();
        all.sort_by(|a, b| a.handle.cmp(&b.handle));
        all
    }

    pub fn agent_count(&self) -> usize {
        self.read().agents.len()
    }

    pub fn inbox(&self, id: InboxId) -> Option<Inbox> {
        self.read().inboxes.get(&id).cloned()
    }

    /// Every inbox, ordered by name.
    pub fn inboxes(&self) -> Vec<Inbox> {
        let mut all: Vec<_> = self.read().inboxes.values().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        all
    }

    pub fn settings(&self) -> Arc<Settings> {
        self.read().settings.clone()
    }

    // ---- sessions ------------------------------------------------------

    /// Checks a login (handle or e-mail) and password and issues a token.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        address: &str,
    ) -> Result<(String, Credential, Arc<Agent>), AccountError> {
        let login_key = format!("login:{}", login.trim().to_lowercase());
        let keys = [login_key.clone(), format!("addr:{address}")];
        if self.limiter.is_blocked(&keys, Instant::now()) {
            return Err(AccountError::RateLimited);
        }
        let agent = {
            let state = self.read();
            state
                .logins
                .get(&login.trim().to_lowercase())
                .and_then(|id| state.agents.get(id))
                .cloned()
        };
        let phc = agent
            .as_ref()
            .map_or(self.dummy_hash.clone(), |a| a.password_hash.clone());
        let password = password.to_owned();
        let matches = blocking(move || password::verify(&password, &phc)).await;
        let agent = match agent {
            Some(agent) if matches && !agent.disabled => agent,
            _ => {
                self.limiter.record_failure(&keys, Instant::now());
                return Err(AccountError::BadCredentials);
            }
        };
        self.limiter.record_success(&login_key);
        let token = token::generate();
        let now = Timestamp::now();
        let credential = Credential {
            digest: token::digest(&token),
            expires_at: now.plus(self.token_ttl),
        };
        let record = TokenRecord {
            agent: agent.id,
            created_at: now,
            expires_at: Some(credential.expires_at),
        };
        let expired: Vec<[u8; 32]> = self
            .read()
            .tokens
            .iter()
            .filter(|(_, (_, until))| *until <= now)
            .map(|(hash, _)| *hash)
            .collect();
        let purge = expired.clone();
        self.store
            .write(move |tx| {
                for hash in &purge {
                    writes::delete_token(tx, hash)?;
                }
                writes::put_token(tx, &credential.digest, &record)
            })
            .await?;
        let mut state = self.write_state();
        for hash in &expired {
            state.tokens.remove(hash);
        }
        state
            .tokens
            .insert(credential.digest, (agent.id, credential.expires_at));
        Ok((token, credential, agent))
    }

    /// Revokes one token; answers the revocation so live sockets can be told.
    pub async fn logout(&self, hash: [u8; 32]) -> Result<Revocation, AccountError> {
        self.store
            .write(move |tx| writes::delete_token(tx, &hash))
            .await?;
        self.write_state().tokens.remove(&hash);
        Ok(Revocation::Token(hash))
    }

    // ---- administration ------------------------------------------------

    pub async fn create_agent(&self, new: NewAgent) -> Result<Arc<Agent>, AccountError> {
        let handle = normalize_handle(&new.handle)
            .ok_or_else(|| invalid("handle must be 1-32 characters of a-z, 0-9, _ and -"))?;
        let email =
            normalize_email(&new.email).ok_or_else(|| invalid("email is not an e-mail address"))?;
        let name = check_name(&new.name)?;
        check_password(&new.password)?;
        let _guard = self.writes.lock().await;
        {
            let state = self.read();
            if state.logins.contains_key(&handle) {
                return Err(AccountError::Taken(format!("the handle {handle} is taken")));
            }
            if state.logins.contains_key(&email) {
                return Err(AccountError::Taken(format!("the e-mail {email} is taken")));
            }
            check_inboxes(&state, &new.inboxes)?;
        }
        let password = new.password;
        let agent = Agent {
            id: AgentId::new(),
            handle,
            name,
            email,
            role: new.role,
            inboxes: dedup(new.inboxes),
            disabled: false,
            password_hash: blocking(move || password::hash(&password)).await,
            created_at: Timestamp::now(),
        };
        let record = agent.clone();
        self.store
            .write(move |tx| writes::put_agent(tx, &record))
            .await?;
        let agent = Arc::new(agent);
        let mut state = self.write_state();
        state.logins.insert(agent.handle.clone(), agent.id);
        state.logins.insert(agent.email.clone(), agent.id);
        state.agents.insert(agent.id, agent.clone());
        Ok(agent)
    }

    /// Applies `patch`; returns the agent before and after, and the tokens it
    /// revoked: all of them when the agent is disabled, all but `keep` (the
    /// token making the change) when its password changes.
    pub async fn update_agent(
        &self,
        id: AgentId,
        patch: AgentPatch,
        keep: Option<[u8; 32]>,
    ) -> Result<(Arc<Agent>, Arc<Agent>, Option<Revocation>), AccountError> {
        if let Some(name) = &patch.name {
            check_name(name)?;
        }
        if let Some(password) = &patch.password {
            check_password(password)?;
        }
        let _guard = self.writes.lock().await;
        let before = self.agent(id).ok_or(AccountError::NoSuchAgent)?;
        if let Some(inboxes) = &patch.inboxes {
            check_inboxes(&self.read(), inboxes)?;
        }
        let mut agent = (*before).clone();
        if let Some(name) = patch.name {
            agent.name = name.trim().to_owned();
        }
        if let Some(role) = patch.role {
            agent.role = role;
        }
        if let Some(inboxes) = patch.inboxes {
            agent.inboxes = dedup(inboxes);
        }
        if let Some(disabled) = patch.disabled {
            agent.disabled = disabled;
        }
        let revocation = match &patch.password {
            _ if agent.disabled => Some(Revocation::AllBut(None)),
            Some(_) => Some(Revocation::AllBut(keep)),
            None => None,
        };
        if let Some(password) = patch.password {
            agent.password_hash = blocking(move || password::hash(&password)).await;
        }
        let record = agent.clone();
        self.store
            .write(move |tx| {
                writes::put_agent(tx, &record)?;
                if let Some(revocation) = revocation {
                    writes::delete_tokens_of(tx, record.id, |hash| revocation.covers(hash))?;
                }
                Ok(())
            })
            .await?;
        let after = Arc::new(agent);
        let mut state = self.write_state();
        if let Some(revocation) = revocation {
            state
                .tokens
                .retain(|hash, (owner, _)| *owner != id || !revocation.covers(hash));
        }
        state.agents.insert(id, after.clone());
        Ok((before, after, revocation))
    }

    pub async fn create_inbox(&self, name: &str) -> Result<Inbox, AccountError> {
        let name = check_name(name)?;
        let _guard = self.writes.lock().await;
        let inbox = Inbox {
            id: InboxId::new(),
            name,
            created_at: Timestamp::now(),
        };
        let record = inbox.clone();
        self.store
            .write(move |tx| writes::put_inbox(tx, &record))
            .await?;
        self.write_state().inboxes.insert(inbox.id, inbox.clone());
        Ok(inbox)
    }

    /// Applies `change` to the settings and persists them; returns the new settings.
    pub async fn update_settings(
        &self,
        change: impl FnOnce(&mut Settings),
    ) -> Result<Arc<Settings>, AccountError> {
        let _guard = self.writes.lock().await;
        let mut settings = (*self.settings()).clone();
        change(&mut settings);
        let record = settings.clone();
        self.store
            .write(move |tx| writes::put_settings(tx, &record))
            .await?;
        let settings = Arc::new(settings);
        self.write_state().settings = settings.clone();
        Ok(settings)
    }
}

fn invalid(message: &str) -> AccountError {
    AccountError::Invalid(message.to_owned())
}

fn check_name(name: &str) -> Result<String, AccountError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(invalid("name must be 1-100 characters"));
    }
    Ok(name.to_owned())
}

fn check_password(password: &str) -> Result<(), AccountError> {
    if password.is_empty() || password.len() > 1024 {
        return Err(invalid("password must be 1-1024 bytes"));
    }
    Ok(())
}

fn check_inboxes(state: &State, inboxes: &[InboxId]) -> Result<(), AccountError> {
    match inboxes.iter().find(|id| !state.inboxes.contains_key(id)) {
        Some(id) => Err(AccountError::Invalid(format!("no inbox {id}"))),
        None => Ok(()),
    }
}

fn dedup(mut ids: Vec<InboxId>) -> Vec<InboxId> {
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(*id));
    ids
}

/// Runs CPU-heavy work (argon2) on the blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    actix_web::web::block(f)
        .await
        .expect("blocking task panicked")
}
