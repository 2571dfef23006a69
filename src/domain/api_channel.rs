//! API channels (docs/protocol.md §9.9): an integration (an SMS or WhatsApp
//! bridge, a web form, a CRM) brings its customers' conversations in with
//! a per-channel API key, and gets the agents' replies POSTed to its
//! `callback_url`.
//!
//! Invariants:
//! - The API key is shown once (when created or rotated) and stored only as
//!   its SHA-256: it is 32 random bytes, so a fast hash is as strong as a
//!   slow one, and checking it costs nothing per request. It is compared in
//!   constant time.
//! - A conversation is known by its `external_id` within its channel, a
//!   message by its `external_message_id` within its channel: the same one
//!   twice is one conversation, one message.
//! - Every text from the integration is checked here before it is used.

use serde::{Deserialize, Serialize};
use sha2::Digest;
use subtle::ConstantTimeEq;

use super::ChannelId;

pub mod limits {
    /// Characters of an `external_id`, an `external_message_id`, a contact's
    /// name or identifier.
    pub const ID_CHARS: usize = 200;
}

/// An API channel's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiSettings {
    /// Hex SHA-256 of the API key.
    pub key_hash: String,
    /// Where agents' public replies are POSTed, signed with the channel's
    /// secret; none: the integration does not take replies.
    pub callback_url: Option<String>,
}

impl ApiSettings {
    /// Settings with a fresh key, and that key (to show once).
    pub fn new(callback_url: Option<String>) -> (ApiSettings, String) {
        let key = new_key();
        let settings = ApiSettings {
            key_hash: key_hash(&key),
            callback_url,
        };
        (settings, key)
    }

    /// A fresh key replaces the old one, which stops working; the new key.
    pub fn rotate_key(&mut self) -> String {
        let key = new_key();
        self.key_hash = key_hash(&key);
        key
    }

    /// Whether `key` is this channel's API key. Constant time.
    pub fn accepts(&self, key: &str) -> bool {
        key_hash(key)
            .as_bytes()
            .ct_eq(self.key_hash.as_bytes())
            .into()
    }
}

/// A ticket an API channel's integration opened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiConversation {
    pub channel: ChannelId,
    /// The channel's name when the ticket was created.
    pub channel_name: String,
    pub external_id: String,
}

/// `tak_` and 64 hex digits.
fn new_key() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("tak_{}", hex::encode(bytes))
}

fn key_hash(key: &str) -> String {
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

/// An identifier or name from the integration: trimmed, 1–200 characters,
/// no control characters.
pub fn validate_id(field: &str, text: &str) -> Result<String, String> {
    let text = text.trim();
    let count = text.chars().count();
    if count == 0 || count > limits::ID_CHARS || text.chars().any(char::is_control) {
        return Err(format!(
            "{field} must be 1-{} characters without control characters",
            limits::ID_CHARS
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_accepted_until_rotated() {
        let (mut settings, key) = ApiSettings::new(None);
        assert!(key.starts_with("tak_") && key.len() == 68);
        assert!(settings.accepts(&key));
        assert!(!settings.accepts(&key[..67]));
        assert!(!settings.accepts(""));
        assert!(!settings.key_hash.contains(&key[4..]));
        let new = settings.rotate_key();
        assert!(settings.accepts(&new));
        assert!(!settings.accepts(&key));
    }

    #[test]
    fn ids_are_trimmed_bounded_and_printable() {
        assert_eq!(
            validate_id("external_id", " wa:+4412 ").unwrap(),
            "wa:+4412"
        );
        assert!(validate_id("external_id", "  ").is_err());
        assert!(validate_id("external_id", "a\u{0}b").is_err());
        assert!(validate_id("external_id", "a\nb").is_err());
        assert!(validate_id("external_id", &"é".repeat(200)).is_ok());
        assert!(validate_id("external_id", &"é".repeat(201)).is_err());
    }
}
