//! Agents, roles and inboxes.
//!
//! Invariants: a handle is 1–32 characters of `a-z 0-9 _ -`, stored lower-case
//! (so `@Hanna` and `@hanna` name the same agent); e-mails are stored
//! lower-case; both are unique across agents (enforced by the directory).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{AgentId, InboxId, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Agent,
    Light,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "agent" => Some(Role::Agent),
            "light" => Some(Role::Light),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: AgentId,
    pub handle: String,
    pub name: String,
    pub email: String,
    pub role: Role,
    #[serde(default)]
    pub inboxes: Vec<InboxId>,
    #[serde(default)]
    pub disabled: bool,
    /// PHC string (argon2id); never leaves the server.
    pub password_hash: String,
    pub created_at: Timestamp,
}

impl Agent {
    pub fn is_member(&self, inbox: InboxId) -> bool {
        self.inboxes.contains(&inbox)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inbox {
    pub id: InboxId,
    pub name: String,
    pub created_at: Timestamp,
}

/// An agent as others see it: its id and current name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AgentRef {
    pub id: AgentId,
    pub name: String,
}

impl AgentRef {
    pub fn of(agent: &Agent) -> AgentRef {
        AgentRef {
            id: agent.id,
            name: agent.name.clone(),
        }
    }

    /// The agent's current name (see [`Roster::agent_ref`]).
    pub fn lookup(roster: &(impl Roster + ?Sized), id: AgentId) -> AgentRef {
        roster.agent_ref(id)
    }
}

/// Who the agents and inboxes are right now: what decisions and wire shapes
/// look up (the server's is `accounts::Directory`; tests have their own).
pub trait Roster {
    fn agent(&self, id: AgentId) -> Option<Arc<Agent>>;
    /// The agent with this handle, any case.
    fn agent_by_handle(&self, handle: &str) -> Option<Arc<Agent>>;
    fn inbox(&self, id: InboxId) -> Option<Inbox>;

    /// The agent's current name; an agent unknown to the roster shows its id.
    fn agent_ref(&self, id: AgentId) -> AgentRef {
        let name = self
            .agent(id)
            .map_or_else(|| id.to_string(), |a| a.name.clone());
        AgentRef { id, name }
    }
}

/// The names of a few agents, resolved once (a refusal that outlives the roster).
impl Roster for [AgentRef] {
    fn agent(&self, _: AgentId) -> Option<Arc<Agent>> {
        None
    }

    fn agent_by_handle(&self, _: &str) -> Option<Arc<Agent>> {
        None
    }

    fn inbox(&self, _: InboxId) -> Option<Inbox> {
        None
    }

    fn agent_ref(&self, id: AgentId) -> AgentRef {
        self.iter()
            .find(|a| a.id == id)
            .cloned()
            .unwrap_or_else(|| AgentRef {
                id,
                name: id.to_string(),
            })
    }
}

/// Normalizes and checks a handle: `Some(lower-case handle)` if valid.
pub fn normalize_handle(handle: &str) -> Option<String> {
    let handle = handle.trim().to_ascii_lowercase();
    let valid = (1..=32).contains(&handle.len())
        && handle
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    valid.then_some(handle)
}

/// Normalizes and loosely checks an e-mail address: something@something.
pub fn normalize_email(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let valid = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && email.len() <= 254
        && !email.chars().any(char::is_whitespace);
    valid.then_some(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_lower_case_and_restricted() {
        assert_eq!(normalize_handle(" Hanna "), Some("hanna".into()));
        assert_eq!(normalize_handle("a_b-1"), Some("a_b-1".into()));
        assert_eq!(normalize_handle("has space"), None);
        assert_eq!(normalize_handle("dot.ted"), None);
        assert_eq!(normalize_handle(""), None);
        assert_eq!(normalize_handle(&"x".repeat(33)), None);
    }

    #[test]
    fn emails_need_one_at_sign() {
        assert_eq!(
            normalize_email("Ada@Example.com"),
            Some("ada@example.com".into())
        );
        assert_eq!(normalize_email("nope"), None);
        assert_eq!(normalize_email("a@b@c"), None);
        assert_eq!(normalize_email("@b"), None);
    }
}

/// What the store keeps about a bearer token (keyed by the token's SHA-256).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub agent: AgentId,
    pub created_at: Timestamp,
    /// Absent in records written before tokens expired; those expire
    /// `auth.token_ttl_s` after `created_at`.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
}
