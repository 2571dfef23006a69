//! Agents, roles and inboxes.
//!
//! Invariants: a handle is 1–32 characters of `a-z 0-9 _ -`, stored lower-case
//! (so `@Hanna` and `@hanna` name the same agent); e-mails are stored
//! lower-case; both are unique across agents (enforced by the directory).

use serde::{Deserialize, Serialize};

use super::{AgentId, InboxId, Timestamp};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Agent,
    Light,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
            Role::Light => "light",
        }
    }

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

/// Where agents' current names are looked up by id (the directory of
/// accounts), so that what shows an agent by name need not know accounts.
pub trait Names {
    /// The current name of agent `id`; `None` if it is unknown.
    fn agent_name(&self, id: AgentId) -> Option<String>;
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
