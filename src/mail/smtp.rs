//! Sending replies over SMTP with lettre: the transport of an account
//! (implicit TLS, STARTTLS required, or plain), and the mail a reply goes out
//! as, threaded with `Message-ID`, `In-Reply-To` and `References`.
//!
//! Invariants:
//! - A reply always goes out with the Message-ID fixed when it was sent
//!   (`domain::decisions::email::send_by_mail`), so a retry is the same mail
//!   to the receiving servers.
//! - An SMTP answer in the 5xx range is permanent (no retry); anything else
//!   (4xx, a lost connection, a timeout) is worth another attempt.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox as Address, MessageBuilder};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::error::{MailError, Stage};
use crate::domain::email::{Mailbox, reply_subject};
use crate::domain::mail_account::{Smtp, TlsMode};
use crate::domain::message::Message;
use crate::domain::ticket::Ticket;

pub type Transport = AsyncSmtpTransport<Tokio1Executor>;

/// The transport of `account` (connections are pooled by lettre).
pub fn transport(account: &Smtp, timeout: Duration) -> Result<Transport, MailError> {
    let tls = match account.tls {
        TlsMode::None => Tls::None,
        TlsMode::Starttls | TlsMode::Implicit => {
            let parameters = TlsParameters::new(account.host.clone())
                .map_err(|e| MailError::new(Stage::Tls, e))?;
            if account.tls == TlsMode::Implicit {
                Tls::Wrapper(parameters)
            } else {
                Tls::Required(parameters)
            }
        }
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&account.host)
        .port(account.port)
        .tls(tls)
        .timeout(Some(timeout));
    if !account.user.is_empty() {
        builder = builder.credentials(Credentials::new(
            account.user.clone(),
            account.password.clone(),
        ));
    }
    Ok(builder.build())
}

/// Connects and logs in (what `/check` tries).
pub async fn check(transport: &Transport) -> Result<(), MailError> {
    match transport.test_connection().await {
        Ok(true) => Ok(()),
        Ok(false) => Err(MailError::new(
            Stage::Connect,
            "the server did not answer NOOP",
        )),
        Err(e) => Err(classify(&e)),
    }
}

/// Sends `mail`.
pub async fn send(transport: &Transport, mail: lettre::Message) -> Result<(), MailError> {
    transport
        .send(mail)
        .await
        .map(drop)
        .map_err(|e| classify(&e))
}

fn classify(error: &lettre::transport::smtp::Error) -> MailError {
    let detail = match error.status() {
        Some(code) => format!("{code} {error}"),
        None => error.to_string(),
    };
    let stage = if error.is_tls() {
        Stage::Tls
    } else if error
        .status()
        .is_some_and(|c| c.to_string().starts_with("53"))
    {
        Stage::Login
    } else if error.is_response() || error.is_permanent() || error.is_transient() {
        Stage::Send
    } else {
        Stage::Connect
    };
    let failed = MailError::new(stage, detail);
    if error.is_permanent() {
        failed.permanent()
    } else {
        failed
    }
}

/// What a reply needs besides the ticket and the message: the Message-IDs it answers.
pub struct Threading {
    /// The newest mail of the customer's side (the one being answered).
    pub in_reply_to: Option<String>,
    /// The thread's Message-IDs, oldest first (the newest ones if many).
    pub references: Vec<String>,
}

/// `text` on one line: a header never carries a customer's line breaks.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn address(mailbox: &Mailbox) -> Result<Address, MailError> {
    let email = mailbox.address.parse().map_err(|e| {
        MailError::new(Stage::Send, format!("{}: {e}", mailbox.address)).permanent()
    })?;
    Ok(Address::new(mailbox.name.as_deref().map(one_line), email))
}

/// The mail reply `reply` of `ticket` goes out as.
pub fn compose(
    account: &Smtp,
    ticket: &Ticket,
    reply: &Message,
    threading: &Threading,
) -> Result<lettre::Message, MailError> {
    let email = reply
        .email
        .as_ref()
        .ok_or_else(|| MailError::new(Stage::Send, "the reply has no mail").permanent())?;
    let from = address(&Mailbox::new(
        account.from_name.clone(),
        &account.from_address,
    ))?;
    let mut builder: MessageBuilder = lettre::Message::builder()
        .from(from)
        .subject(one_line(&reply_subject(&ticket.subject, ticket.number)))
        .message_id(Some(format!("<{}>", email.message_id)))
        .date(
            std::time::UNIX_EPOCH + Duration::from_millis(reply.created_at.millis().max(0) as u64),
        );
    for to in &email.to {
        builder = builder.to(address(to)?);
    }
    for cc in &email.cc {
        builder = builder.cc(address(cc)?);
    }
    if let Some(id) = &threading.in_reply_to {
        builder = builder.in_reply_to(format!("<{id}>"));
    }
    if !threading.references.is_empty() {
        let references: Vec<String> = threading
            .references
            .iter()
            .map(|r| format!("<{r}>"))
            .collect();
        builder = builder.references(references.join(" "));
    }
    let mut body = reply.body.clone();
    if let Some(signature) = &reply.signature {
        body.push_str("\n\n-- \n");
        body.push_str(signature);
    }
    builder
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| MailError::new(Stage::Send, e).permanent())
}
