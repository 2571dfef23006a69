//! Channels: how customers reach an inbox. `chat` is the embeddable widget:
//! it has a public `key` (in the embed snippet) and a `secret` that signs
//! visitor identities. `email` is a mailbox (`account`: IMAP in, SMTP out).
//! `api` is an integration's (`api`: its hashed key and reply callback; the
//! `secret` signs the callbacks).
//!
//! Invariants:
//! - A channel's fields are validated here before they are stored: origins
//!   are `scheme://host[:port]` exactly, texts are within their limits.
//! - An identity is verified by an HMAC-SHA256 of its identifier keyed with
//!   the channel's secret, compared in constant time.

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};

use super::api_channel::ApiSettings;
use super::mail_account::MailAccount;
use super::{ChannelId, InboxId, Timestamp};

/// Input limits of channels (docs/protocol.md, "Channel object").
pub mod limits {
    pub const NAME_CHARS: usize = 100;
    pub const ORIGINS: usize = 50;
    pub const ORIGIN_CHARS: usize = 200;
    pub const TEXT_CHARS: usize = 1000;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Chat,
    Email,
    Api,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub id: ChannelId,
    pub kind: ChannelKind,
    pub inbox: InboxId,
    pub name: String,
    /// Public: `ck_` and 20 hex digits.
    pub key: String,
    /// 64 hex digits; signs identities. Admins only.
    pub secret: String,
    pub allowed_origins: Vec<String>,
    pub greeting: Option<String>,
    pub offline_message: Option<String>,
    pub require_identity: bool,
    pub enabled: bool,
    pub created_at: Timestamp,
    /// An `email` channel's mail account (passwords included: never sent out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<MailAccount>,
    /// An `api` channel's key and callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiSettings>,
}

impl Channel {
    /// A new enabled channel with a fresh key and secret.
    pub fn new(kind: ChannelKind, inbox: InboxId, name: String, now: Timestamp) -> Channel {
        Channel {
            id: ChannelId::new(),
            kind,
            inbox,
            name,
            key: new_key(),
            secret: new_secret(),
            allowed_origins: Vec::new(),
            greeting: None,
            offline_message: None,
            require_identity: false,
            enabled: true,
            created_at: now,
            account: None,
            api: None,
        }
    }

    /// The history entry of a ticket this channel's customer opened at `now`
    /// (`created`, no actor, with the inbox and the channel).
    pub fn created(&self, now: Timestamp) -> super::history::HistoryEntry {
        use super::history::{HistoryAction, HistoryEntry};
        HistoryEntry::new(None, HistoryAction::Created, now)
            .with("inbox", self.inbox.to_string())
            .with("status", super::ticket::Status::Pending.as_str())
            .with("channel", self.id.to_string())
    }

    /// Whether a page on `origin` may open a visitor socket for this channel.
    pub fn allows(&self, origin: &str) -> bool {
        self.enabled
            && self.kind == ChannelKind::Chat
            && self.allowed_origins.iter().any(|o| o == origin)
    }

    /// Whether `hash` (hex) is the HMAC-SHA256 of `identifier` under this
    /// channel's secret. Constant time in the hash's value.
    pub fn verifies(&self, identifier: &str, hash: &str) -> bool {
        let Ok(hash) = hex::decode(hash.trim()) else {
            return false;
        };
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(self.secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(identifier.as_bytes());
        mac.verify_slice(&hash).is_ok()
    }
}

/// The hex HMAC-SHA256 of `identifier` under `secret` (what a site computes).
pub fn identity_hash(secret: &str, identifier: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(identifier.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(buf.as_mut_slice());
    hex::encode(buf)
}

pub fn new_key() -> String {
    format!("ck_{}", random_hex(10))
}

pub fn new_secret() -> String {
    random_hex(32)
}

/// A channel's name: 1–100 characters, trimmed.
pub fn validate_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > limits::NAME_CHARS {
        return Err(format!("name must be 1-{} characters", limits::NAME_CHARS));
    }
    Ok(name.to_owned())
}

/// Allowed origins: at most 50, each `http(s)://host[:port]` with no path.
pub fn validate_origins(origins: Vec<String>) -> Result<Vec<String>, String> {
    if origins.len() > limits::ORIGINS {
        return Err(format!(
            "allowed_origins holds at most {} origins",
            limits::ORIGINS
        ));
    }
    let mut valid = Vec::with_capacity(origins.len());
    for origin in origins {
        if !is_origin(&origin) {
            return Err(format!(
                "{origin:?} is not an origin (scheme://host[:port], no path or trailing slash)"
            ));
        }
        if !valid.contains(&origin) {
            valid.push(origin);
        }
    }
    Ok(valid)
}

fn is_origin(origin: &str) -> bool {
    if origin.len() > limits::ORIGIN_CHARS {
        return false;
    }
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => (host, Some(port)),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok());
    host_ok && port_ok
}

/// A greeting or offline message: at most 1,000 characters; blank is none.
pub fn validate_text(field: &str, text: Option<String>) -> Result<Option<String>, String> {
    let Some(text) = text else { return Ok(None) };
    let text = text.trim();
    if text.chars().count() > limits::TEXT_CHARS {
        return Err(format!(
            "{field} must be at most {} characters",
            limits::TEXT_CHARS
        ));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> Channel {
        Channel::new(
            ChannelKind::Chat,
            InboxId::new(),
            "Chat".into(),
            Timestamp(0),
        )
    }

    #[test]
    fn identities_verify_with_the_secret_only() {
        let mut channel = channel();
        let hash = identity_hash(&channel.secret, "user-42");
        assert!(channel.verifies("user-42", &hash));
        assert!(channel.verifies("user-42", &hash.to_uppercase()));
        assert!(!channel.verifies("user-43", &hash));
        assert!(!channel.verifies("user-42", "zz"));
        assert!(!channel.verifies("user-42", &hash[..62]));
        channel.secret = new_secret();
        assert!(!channel.verifies("user-42", &hash));
    }

    #[test]
    fn known_hmac_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            identity_hash("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn origins_are_exact() {
        for ok in [
            "https://shop.example",
            "http://127.0.0.1:8080",
            "http://localhost",
        ] {
            assert!(is_origin(ok), "{ok}");
        }
        for bad in [
            "https://shop.example/",
            "shop.example",
            "https://shop.example/path",
            "ftp://x",
            "https://",
            "https://a b",
            "http://x:99999",
            "*",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
        assert_eq!(
            validate_origins(vec!["http://a".into(), "http://a".into()]).unwrap(),
            vec!["http://a".to_owned()]
        );
    }

    #[test]
    fn keys_and_secrets_have_their_shapes() {
        let c = channel();
        assert!(c.key.starts_with("ck_") && c.key.len() == 23);
        assert_eq!(c.secret.len(), 64);
        assert_ne!(c.key, channel().key);
    }
}
