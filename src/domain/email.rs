//! E-mail as tickets see it: the thread a ticket of an e-mail channel keeps
//! (its mailbox, its participants), what a message knows of the mail it came
//! from or went out as (Message-ID, addresses, folded parts, attachments),
//! and the delivery state of a reply.
//!
//! Invariants:
//! - Message-IDs are kept without angle brackets, trimmed; they are compared
//!   exactly (RFC 5322 makes them opaque).
//! - Addresses are compared case-insensitively ([`same_address`]).
//! - A reply's `delivery` is `queued` exactly while it is in the outbox
//!   (`store::writes::put_message` keeps the two together).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{AttachmentId, ChannelId, TicketId, Timestamp};

/// Limits of what an e-mail ticket keeps.
pub mod limits {
    /// People besides the customer copied on replies.
    pub const PARTICIPANTS: usize = 20;
    /// Characters of a ticket's subject taken from a mail.
    pub const SUBJECT_CHARS: usize = 200;
    /// Message-IDs named in `References` of a reply (the newest ones).
    pub const REFERENCES: usize = 20;
    /// Characters of a delivery error kept on a reply.
    pub const ERROR_CHARS: usize = 500;
}

/// A name and an address, as in `From: "Ada" <ada@example.com>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

impl Mailbox {
    pub fn new(name: Option<String>, address: &str) -> Mailbox {
        Mailbox {
            name: name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
            address: address.trim().to_owned(),
        }
    }

    pub fn is(&self, address: &str) -> bool {
        same_address(&self.address, address)
    }
}

/// Whether two addresses name the same mailbox (case-insensitive, trimmed).
pub fn same_address(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// What an e-mail ticket knows of where it came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmailThread {
    pub channel: ChannelId,
    /// The channel's name when the ticket was created.
    pub channel_name: String,
    /// The channel's address when the ticket was created (Message-IDs of
    /// replies use its domain).
    pub own_address: String,
    /// Everyone but the customer who is copied on replies (Cc of the mails).
    pub participants: Vec<Mailbox>,
}

impl EmailThread {
    /// Adds the people of a customer's mail (its sender and Cc) who are not
    /// the customer, not us and not there yet, up to the limit.
    pub fn add_participants<'a>(
        &mut self,
        customer: &str,
        people: impl IntoIterator<Item = &'a Mailbox>,
    ) {
        for person in people {
            if self.participants.len() >= limits::PARTICIPANTS {
                return;
            }
            if person.is(customer)
                || person.is(&self.own_address)
                || self.participants.iter().any(|p| p.is(&person.address))
            {
                continue;
            }
            self.participants.push(person.clone());
        }
    }

    /// Whether `address` is the ticket's customer or one of its participants.
    pub fn knows(&self, customer: &str, address: &str) -> bool {
        same_address(customer, address) || self.participants.iter().any(|p| p.is(address))
    }

    /// The Message-ID of a reply with id `id` (without brackets).
    pub fn reply_message_id(&self, id: impl std::fmt::Display) -> String {
        let domain = self
            .own_address
            .rsplit_once('@')
            .map(|(_, d)| d)
            .filter(|d| !d.is_empty())
            .unwrap_or("tandem.invalid");
        format!("{id}@{domain}")
    }
}

/// Where the import of an e-mail channel's folder stands: every mail up to
/// `last_uid` under `uid_validity` is imported (or deliberately ignored).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailCursor {
    pub uid_validity: u32,
    pub last_uid: u32,
}

/// Part of a message body the console shows folded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FoldKind {
    /// The earlier conversation, quoted.
    Quote,
    /// The sender's signature.
    Signature,
}

/// Lines `start..end` (0-based, end exclusive) of a body are of `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Fold {
    pub kind: FoldKind,
    pub start: usize,
    pub end: usize,
}

/// What a message knows of its mail.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MessageEmail {
    /// Without angle brackets.
    pub message_id: String,
    #[serde(default)]
    pub from: Option<Mailbox>,
    #[serde(default)]
    pub to: Vec<Mailbox>,
    #[serde(default)]
    pub cc: Vec<Mailbox>,
    #[serde(default)]
    pub folds: Vec<Fold>,
}

/// A file that came with a mail. Its bytes are stored apart (`ATTACHMENTS`),
/// unless it was dropped for its size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    pub id: AttachmentId,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// Shown inside the mail's body (an inline image), not as a file.
    #[serde(default)]
    pub inline: bool,
    /// Why the bytes were not kept (`"too large"`), if they were not.
    #[serde(default)]
    pub dropped: Option<String>,
}

/// The bytes of a kept attachment, written in the commit of its message.
#[derive(Clone, Debug, PartialEq)]
pub struct Blob {
    pub ticket: TicketId,
    pub attachment: AttachmentId,
    pub bytes: Arc<[u8]>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Queued,
    Sent,
    Failed,
}

/// How far a reply got on its way to the customer's mailbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub state: DeliveryState,
    /// SMTP attempts made so far.
    pub attempts: u32,
    pub error: Option<String>,
    pub updated_at: Timestamp,
    /// When the next attempt is due, while `queued`.
    #[serde(default)]
    pub next_attempt_at: Option<Timestamp>,
}

impl Delivery {
    pub fn queued(now: Timestamp) -> Delivery {
        Delivery {
            state: DeliveryState::Queued,
            attempts: 0,
            error: None,
            updated_at: now,
            next_attempt_at: Some(now),
        }
    }

    pub fn is_queued(&self) -> bool {
        self.state == DeliveryState::Queued
    }
}

/// A delivery error as kept: one line, at most [`limits::ERROR_CHARS`].
pub fn error_text(error: &str) -> String {
    let one_line: String = error
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(limits::ERROR_CHARS)
        .collect();
    if one_line.is_empty() {
        "unknown error".to_owned()
    } else {
        one_line
    }
}

/// A Message-ID as kept: without brackets and surrounding space; `None` if
/// nothing is left.
pub fn normalize_message_id(raw: &str) -> Option<String> {
    let id = raw
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (!id.is_empty() && !id.contains(char::is_whitespace)).then(|| id.to_owned())
}

/// The ticket number of a `[#22]` token in a subject (the last one, if several).
pub fn subject_token(subject: &str) -> Option<u64> {
    let mut found = None;
    let mut rest = subject;
    while let Some(at) = rest.find("[#") {
        let after = &rest[at + 2..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty()
            && after[digits.len()..].starts_with(']')
            && let Ok(number) = digits.parse::<u64>()
        {
            found = Some(number);
        }
        rest = after;
    }
    found
}

/// The subject of a reply: `Re: <subject> [#N]`, without piling up `Re:`
/// prefixes or tokens.
pub fn reply_subject(subject: &str, number: u64) -> String {
    let token = format!("[#{number}]");
    let without_token = subject.replace(&token, "");
    let base = strip_reply_prefixes(without_token.trim()).trim();
    if base.is_empty() {
        format!("Re: {token}")
    } else {
        format!("Re: {base} {token}")
    }
}

/// A subject without its leading `Re:`, `Fwd:`, `AW:`, `WG:`, `SV:` prefixes.
pub fn strip_reply_prefixes(subject: &str) -> &str {
    let mut s = subject.trim_start();
    loop {
        let lower = s.to_ascii_lowercase();
        let Some(prefix) = ["re:", "fw:", "fwd:", "aw:", "wg:", "sv:", "vs:"]
            .iter()
            .find(|p| lower.starts_with(**p))
        else {
            return s;
        };
        s = s[prefix.len()..].trim_start();
    }
}

/// A new ticket's subject from a mail's: prefixes and tokens kept out, cut
/// to the limit, `(no subject)` if nothing is left.
pub fn ticket_subject(subject: &str) -> String {
    let base = strip_reply_prefixes(subject).trim();
    let cut: String = base.chars().take(limits::SUBJECT_CHARS).collect();
    if cut.is_empty() {
        "(no subject)".to_owned()
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_tokens() {
        assert_eq!(subject_token("Re: Broken [#22]"), Some(22));
        assert_eq!(subject_token("[#3] and [#41]"), Some(41));
        assert_eq!(subject_token("[#] [#x1] #22"), None);
        assert_eq!(subject_token("[#99999999999999999999999]"), None);
    }

    #[test]
    fn reply_subjects_do_not_pile_up() {
        assert_eq!(reply_subject("Broken", 22), "Re: Broken [#22]");
        assert_eq!(
            reply_subject("Re: RE: Broken [#22]", 22),
            "Re: Broken [#22]"
        );
        assert_eq!(reply_subject("", 5), "Re: [#5]");
        assert_eq!(ticket_subject("Fwd: AW: Hi"), "Hi");
        assert_eq!(ticket_subject("  "), "(no subject)");
    }

    #[test]
    fn message_ids_lose_their_brackets() {
        assert_eq!(normalize_message_id(" <a@b> ").as_deref(), Some("a@b"));
        assert_eq!(normalize_message_id("<>"), None);
        assert_eq!(normalize_message_id("a b@c"), None);
    }

    #[test]
    fn participants_exclude_the_customer_us_and_repeats() {
        let mut thread = EmailThread {
            channel: ChannelId::new(),
            channel_name: "Mail".into(),
            own_address: "support@shop.example".into(),
            participants: Vec::new(),
        };
        let people = [
            Mailbox::new(None, "Ada@Example.com"),
            Mailbox::new(None, "SUPPORT@shop.example"),
            Mailbox::new(Some("Bob".into()), "bob@example.com"),
            Mailbox::new(None, "BOB@example.com"),
        ];
        thread.add_participants("ada@example.com", &people);
        assert_eq!(thread.participants, vec![people[2].clone()]);
        assert!(thread.knows("ada@example.com", "bob@EXAMPLE.com"));
        assert!(!thread.knows("ada@example.com", "eve@example.com"));
        assert_eq!(thread.reply_message_id("x"), "x@shop.example");
    }
}
