//! Visitors: the customers of a chat channel, and what a chat ticket knows
//! about the visitor and channel it came from.
//!
//! Invariants:
//! - A visitor belongs to one channel. An anonymous visitor is found by the
//!   SHA-256 of its token; a verified one also by (channel, identifier).
//! - Nothing here is ever shown to agents in full or to other visitors: the
//!   wire shapes live in `protocol::visitor`.

use serde::{Deserialize, Serialize};

use super::{ChannelId, MessageId, Timestamp, VisitorId};

/// Input limits of visitor identities and contact details.
pub mod limits {
    pub const IDENTIFIER_CHARS: usize = 200;
    pub const NAME_CHARS: usize = 100;
    pub const EMAIL_CHARS: usize = 200;
    pub const CLIENT_ID_CHARS: usize = 64;
    /// Characters of a new chat ticket's subject, taken from its first message.
    pub const SUBJECT_CHARS: usize = 80;
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Visitor {
    pub id: VisitorId,
    pub channel: ChannelId,
    /// "Visitor 4821", or the verified identity's name.
    pub name: String,
    pub email: Option<String>,
    /// The site's own id of this person, once verified.
    pub identifier: Option<String>,
    pub created_at: Timestamp,
}

impl Visitor {
    /// A new anonymous visitor with a random four-digit name.
    pub fn anonymous(channel: ChannelId, now: Timestamp) -> Visitor {
        let digits = 1000 + rand::random::<u16>() % 9000;
        Visitor {
            id: VisitorId::new(),
            channel,
            name: format!("Visitor {digits}"),
            email: None,
            identifier: None,
            created_at: now,
        }
    }

    /// The contact a new ticket of this visitor starts with.
    pub fn contact(&self) -> String {
        self.email.clone().unwrap_or_else(|| NO_CONTACT.to_owned())
    }
}

/// A chat ticket's `customer.contact` until the visitor gives an e-mail.
pub const NO_CONTACT: &str = "chat";

/// What a chat ticket knows of where it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chat {
    pub channel: ChannelId,
    /// The channel's name when the ticket was created.
    pub channel_name: String,
    pub visitor: VisitorId,
    /// The newest customer message (an agent's read mark covers it).
    pub last_customer_message: Option<MessageId>,
    /// The newest message the visitor has marked seen.
    pub seen: Option<MessageId>,
}

/// Whether a visitor can be reached now (docs/protocol.md §9.6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitorState {
    /// One of its sockets is visible.
    Online,
    /// All of its sockets are hidden.
    Away,
    /// No socket.
    #[default]
    Gone,
}

/// A visitor's live state, kept in memory only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Live {
    pub state: VisitorState,
    pub typing: bool,
}

/// A `client_id`: 1–64 printable ASCII characters.
pub fn validate_client_id(client_id: &str) -> Result<(), String> {
    if client_id.is_empty()
        || client_id.len() > limits::CLIENT_ID_CHARS
        || !client_id.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(format!(
            "client_id must be 1-{} printable ASCII characters",
            limits::CLIENT_ID_CHARS
        ));
    }
    Ok(())
}

/// An e-mail address as a visitor types it: trimmed, one `@` with text
/// around it, no spaces, at most 200 characters.
pub fn validate_email(email: &str) -> Result<String, String> {
    let email = email.trim();
    let valid = email.chars().count() <= limits::EMAIL_CHARS
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if !valid {
        return Err("email must be an e-mail address".to_owned());
    }
    Ok(email.to_owned())
}

/// A name a visitor gives: trimmed, 1–100 characters.
pub fn validate_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > limits::NAME_CHARS {
        return Err(format!("name must be 1-{} characters", limits::NAME_CHARS));
    }
    Ok(name.to_owned())
}

/// A new chat ticket's subject: the first line of its first message, cut.
pub fn subject_of(body: &str) -> String {
    let line = body
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("Chat");
    if line.chars().count() <= limits::SUBJECT_CHARS {
        return line.to_owned();
    }
    let cut: String = line.chars().take(limits::SUBJECT_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_come_from_the_first_line() {
        assert_eq!(subject_of("\n  Hello there \nsecond"), "Hello there");
        let long = "x".repeat(100);
        let s = subject_of(&long);
        assert_eq!(s.chars().count(), 80);
        assert!(s.ends_with('…'));
        assert_eq!(subject_of("   "), "Chat");
    }

    #[test]
    fn inputs_are_checked() {
        assert!(validate_client_id("abc-123").is_ok());
        assert!(validate_client_id("").is_err());
        assert!(validate_client_id("a b").is_err());
        assert!(validate_client_id(&"a".repeat(65)).is_err());
        assert_eq!(validate_email(" a@b.co ").unwrap(), "a@b.co");
        for bad in ["a", "a@b", "@b.c", "a b@c.d", "a@b@c.d"] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
        let v = Visitor::anonymous(ChannelId::new(), Timestamp(0));
        assert!(v.name.starts_with("Visitor ") && v.name.len() == 12);
        assert_eq!(v.contact(), NO_CONTACT);
    }
}
