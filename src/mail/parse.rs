//! Placeholder until the MIME parser lands (branch `mime`).
use crate::domain::email::{Attachment, Fold, Mailbox};

pub struct Limits {
    pub attachment_bytes: u64,
    pub attachments_bytes: u64,
}
pub struct Incoming {
    pub message_id: String,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub subject: String,
    pub text: String,
    pub folds: Vec<Fold>,
    pub attachments: Vec<IncomingAttachment>,
    pub noise: Option<Noise>,
    pub bounce: Option<Bounce>,
}
pub struct IncomingAttachment {
    pub meta: Attachment,
    pub bytes: Option<Vec<u8>>,
}
pub enum Noise {
    AutoSubmitted(String),
    Precedence(String),
}
pub struct Bounce {
    pub message_ids: Vec<String>,
    pub reason: String,
}
#[derive(Debug)]
pub enum ParseError {
    NotAMail,
}
pub fn parse(_raw: &[u8], _limits: &Limits) -> Result<Incoming, ParseError> {
    Err(ParseError::NotAMail)
}
