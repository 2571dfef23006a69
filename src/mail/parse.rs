//! A fetched mail's bytes → what a ticket keeps of it ([`Incoming`]): its
//! Message-IDs, people, subject, readable text with its quoted and signature
//! parts marked ([`folds`]), its files ([`attachments`]), and whether it is
//! noise or a bounce ([`noise`]). MIME itself is mail-parser's.
//!
//! Invariants:
//! - [`parse`] is total: any bytes give a result or [`ParseError`], never a
//!   panic, in time linear in the input (mail-parser's, and every pass here
//!   is a bounded number of linear scans).
//! - `message_id` is never empty and is as `normalize_message_id` keeps it;
//!   a mail without a usable one gets one derived from its bytes, so the same
//!   bytes fetched twice dedup.
//! - `text` is at most [`TEXT_BYTES`] plus the cut marker; folds lie within
//!   its lines, ordered and disjoint.
//! - Kept attachment bytes respect [`Limits`]; a file that does not fit is
//!   still listed, `dropped`, without bytes.
//! - A forwarded mail (`message/rfc822`) is an `.eml` attachment; none of its
//!   text is in `text`.

mod attachments;
mod folds;
mod html;
mod noise;
mod text;

use mail_parser::{HeaderValue, Message, MessageParser};
use sha2::{Digest, Sha256};

use crate::domain::email::{Attachment, Fold, Mailbox, normalize_message_id};

pub use folds::folds;
pub use text::TEXT_BYTES;

/// How much of a mail's files is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one file.
    pub attachment_bytes: u64,
    /// Bytes of all kept files of one mail.
    pub attachments_bytes: u64,
}

/// A parsed incoming mail.
#[derive(Clone, Debug, PartialEq)]
pub struct Incoming {
    /// Normalized; `sha256-<hex>@tandem.invalid` (of the raw bytes) when the
    /// mail has no usable one.
    pub message_id: String,
    /// Normalized ids, in header order.
    pub in_reply_to: Vec<String>,
    /// Normalized ids, in header order (the newest [`REFERENCES`] of them).
    pub references: Vec<String>,
    pub from: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    /// Decoded, whitespace collapsed, `""` if none.
    pub subject: String,
    /// The body as text (see [`text`]); `""` when the mail has none.
    pub text: String,
    /// Quoted earlier conversation and signatures in `text`.
    pub folds: Vec<Fold>,
    pub attachments: Vec<IncomingAttachment>,
    /// Why this mail must not open a ticket, if it must not. Every
    /// delivery report is noise, so `bounce.is_some()` implies this is set.
    pub noise: Option<Noise>,
    /// A failed delivery of an earlier mail.
    pub bounce: Option<Bounce>,
}

/// A file of a mail, with its bytes unless they were dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct IncomingAttachment {
    pub meta: Attachment,
    /// `None` exactly when `meta.dropped` is set.
    pub bytes: Option<Vec<u8>>,
}

/// Why a mail is automatic (RFC 3834 `Auto-Submitted`, `Precedence`, or a
/// delivery report).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Noise {
    /// `Auto-Submitted` other than `no` (its value, lower case), or
    /// `delivery-status` for a delivery report or a mailer daemon's mail.
    AutoSubmitted(String),
    /// `Precedence: bulk | junk | list`.
    Precedence(String),
}

/// A delivery status notification (RFC 3464) saying an earlier mail failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bounce {
    /// The failed mail's Message-IDs (normalized); empty if the report does
    /// not say.
    pub message_ids: Vec<String>,
    /// One line: status and diagnostic, e.g. `5.1.1 ... User unknown`.
    pub reason: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("not a mail: no header")]
    NotAMail,
}

/// Message-IDs kept from `References` (the newest ones): enough to thread,
/// bounded for lookups.
pub const REFERENCES: usize = 100;

/// The longest Message-ID kept (RFC 5322's line length).
const MESSAGE_ID_BYTES: usize = 998;

/// Parses one mail as fetched.
pub fn parse(raw: &[u8], limits: &Limits) -> Result<Incoming, ParseError> {
    let message = MessageParser::default()
        .parse(raw)
        .filter(|m| !m.root_part().headers.is_empty())
        .ok_or(ParseError::NotAMail)?;

    let message_id = message
        .message_id()
        .and_then(message_id)
        .unwrap_or_else(|| derived_message_id(raw));
    let in_reply_to = message_ids(message.in_reply_to());
    let mut references = message_ids(message.references());
    references.drain(..references.len().saturating_sub(REFERENCES));
    let from = mailboxes(message.from()).into_iter().next();
    let (text, folds) = text::body(&message);
    let (noise, bounce) = noise::classify(&message, from.as_ref());

    Ok(Incoming {
        message_id,
        in_reply_to,
        references,
        from,
        to: mailboxes(message.to()),
        cc: mailboxes(message.cc()),
        subject: message.subject().map(one_line).unwrap_or_default(),
        text,
        folds,
        attachments: attachments::collect(&message, limits),
        noise,
        bounce,
    })
}

/// A Message-ID as kept, if it is one: normalized, of one line's length at
/// most, without control characters.
fn message_id(raw: &str) -> Option<String> {
    normalize_message_id(raw)
        .filter(|id| id.len() <= MESSAGE_ID_BYTES && !id.chars().any(char::is_control))
}

/// The Message-IDs of an id header (`In-Reply-To`, `References`), in order.
fn message_ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => message_id(id).into_iter().collect(),
        HeaderValue::TextList(ids) => ids.iter().filter_map(|id| message_id(id)).collect(),
        _ => Vec::new(),
    }
}

/// The id of a mail without one: the same bytes always get the same id.
fn derived_message_id(raw: &[u8]) -> String {
    format!("sha256-{}@tandem.invalid", hex::encode(Sha256::digest(raw)))
}

/// The mailboxes of an address header (groups flattened); entries without
/// an address are left out.
fn mailboxes(address: Option<&mail_parser::Address<'_>>) -> Vec<Mailbox> {
    let Some(address) = address else {
        return Vec::new();
    };
    address
        .iter()
        .filter_map(|addr| {
            let email = addr.address()?.trim();
            (!email.is_empty() && !email.chars().any(char::is_control))
                .then(|| Mailbox::new(addr.name().map(one_line), email))
        })
        .collect()
}

/// Whitespace (line breaks included) collapsed to single spaces, trimmed.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The nested mail of a part, if it is one.
fn nested<'a>(part: &'a mail_parser::MessagePart<'a>) -> Option<&'a Message<'a>> {
    match &part.body {
        mail_parser::PartType::Message(message) => Some(message),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
