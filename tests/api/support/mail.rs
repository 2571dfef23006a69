//! The real mail servers of the e-mail tests: a [`Dovecot`] per test (IMAP,
//! the customers' and the support mailboxes) and an [`SmtpSink`] that the
//! server under test sends to and that delivers into that Dovecot, so a test
//! reads what a customer received over IMAP like a mail client would.

mod dovecot;
mod smtp_sink;

pub use dovecot::{Dovecot, StoredMail, free_port};
pub use smtp_sink::{Accepted, SmtpSink};
