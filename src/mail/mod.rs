//! The e-mail channel: mail in (IMAP) and out (SMTP) for inboxes bound to a
//! mailbox. [`parse`] turns a fetched mail's bytes into what a ticket keeps.

pub mod parse;
