//! Where a fetched mail goes: nowhere (noise, our own mail, a duplicate), to
//! the reply it bounces, onto the ticket it threads onto, or into a new
//! ticket.
//!
//! Threading, in this order (docs/protocol.md §9.7):
//! 1. `In-Reply-To`, then `References` (newest first), naming a Message-ID
//!    that Tandem sent or received on a ticket: that ticket, whoever writes
//!    (people in Cc reply too);
//! 2. a `[#N]` token in the subject, but only from ticket N's customer or one
//!    of its participants (a stranger quoting a number gets a new ticket);
//! 3. else a new ticket, whose customer is the sender.
//!
//! An archived or deleted ticket takes no more mail: the mail opens a new one.
//!
//! Invariants:
//! - A Message-ID is imported at most once: it is looked up in the store
//!   (committed imports) and in the imports in flight, under one lock, and it
//!   stays in flight until its commit answered, when the store has it.
//! - Nothing is imported before it is checked: noise and bounces never open
//!   tickets, and a bounce only ever marks a reply Tandem sent.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::actors::ticket::{ImportMail, SetDelivery};
use crate::core::Core;
use crate::domain::channel::Channel;
use crate::domain::decisions::email::MailIn;
use crate::domain::email::{
    Blob, Delivery, DeliveryState, Mailbox, error_text, same_address, subject_token,
};
use crate::domain::ticket::{Status, Ticket};
use crate::domain::{TicketId, Timestamp};
use crate::error::Error;
use crate::store::reads;

use super::parse::{Incoming, Noise};
use super::status::labels;

/// What became of a mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Imported,
    Ignored(&'static str),
}

/// The Message-IDs being imported right now.
#[derive(Default)]
pub struct InFlight(Mutex<HashSet<String>>);

/// A Message-ID held in flight until dropped.
struct Held<'a> {
    in_flight: &'a InFlight,
    id: String,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.in_flight
            .0
            .lock()
            .expect("in-flight lock")
            .remove(&self.id);
    }
}

impl InFlight {
    /// Holds `id` unless it is already imported or being imported.
    fn hold(&self, core: &Core, id: &str) -> Result<Option<Held<'_>>, Error> {
        let mut held = self.0.lock().expect("in-flight lock");
        if held.contains(id) || reads::email_message(&core.store.read()?, id)?.is_some() {
            return Ok(None);
        }
        held.insert(id.to_owned());
        Ok(Some(Held {
            in_flight: self,
            id: id.to_owned(),
        }))
    }
}

/// Imports `mail` fetched from `channel`'s mailbox. An error means nothing
/// was stored and the mail must be fetched again.
pub async fn import(
    core: &Arc<Core>,
    channel: &Arc<Channel>,
    mail: Incoming,
) -> Result<Outcome, Error> {
    let outcome = route(core, channel, mail).await?;
    count(core, channel, outcome);
    Ok(outcome)
}

/// Counts `outcome` in the channel's metrics.
pub fn count(core: &Core, channel: &Channel, outcome: Outcome) {
    match outcome {
        Outcome::Imported => core
            .metrics
            .mail_imported
            .get_or_create(&labels(channel.id))
            .inc(),
        Outcome::Ignored(reason) => {
            let mut labels = labels(channel.id);
            labels.push(("reason", reason.to_owned()));
            core.metrics.mail_ignored.get_or_create(&labels).inc()
        }
    };
}

async fn route(core: &Arc<Core>, channel: &Arc<Channel>, mail: Incoming) -> Result<Outcome, Error> {
    let Some(account) = &channel.account else {
        return Ok(Outcome::Ignored("unreadable"));
    };
    if let Some(bounce) = &mail.bounce {
        bounced(core, &bounce.message_ids, &bounce.reason).await?;
        return Ok(Outcome::Ignored("bounce"));
    }
    match mail.noise {
        Some(Noise::AutoSubmitted(_)) => return Ok(Outcome::Ignored("auto_submitted")),
        Some(Noise::Precedence(_)) => return Ok(Outcome::Ignored("precedence")),
        None => {}
    }
    let Some(from) = mail.from.clone() else {
        return Ok(Outcome::Ignored("unreadable"));
    };
    if same_address(&from.address, &account.smtp.from_address)
        || same_address(&from.address, &account.imap.user)
    {
        return Ok(Outcome::Ignored("own_address"));
    }
    let in_flight = &core.mail.in_flight;
    let Some(_held) = in_flight.hold(core, &mail.message_id)? else {
        return Ok(Outcome::Ignored("duplicate"));
    };
    let thread = thread_of(core, &mail, &from)?;
    let mail_in = mail_in(mail, from);
    if let Some(ticket) = thread {
        let import = ImportMail {
            channel: channel.clone(),
            mail: mail_in.clone(),
        };
        match core.ask_ticket(ticket, import).await {
            Ok(_) => return Ok(Outcome::Imported),
            // Archived or deleted meanwhile: a new ticket, below.
            Err(Error::Conflict(_) | Error::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    let import = ImportMail {
        channel: channel.clone(),
        mail: mail_in,
    };
    core.ask_ticket(TicketId::new(), import).await?;
    Ok(Outcome::Imported)
}

/// The ticket `mail` threads onto, if any (see the module doc).
fn thread_of(core: &Core, mail: &Incoming, from: &Mailbox) -> Result<Option<TicketId>, Error> {
    let tx = core.store.read()?;
    let open = |t: &Ticket| !t.deleted && t.status != Status::Archived;
    let named = mail.in_reply_to.iter().chain(mail.references.iter().rev());
    for id in named {
        if let Some((ticket, _)) = reads::email_message(&tx, id)?
            && reads::ticket(&tx, ticket)?.is_some_and(|t| open(&t))
        {
            return Ok(Some(ticket));
        }
    }
    let Some(number) = subject_token(&mail.subject) else {
        return Ok(None);
    };
    let Some(ticket) = reads::ticket_id_by_number(&tx, number)? else {
        return Ok(None);
    };
    let known = reads::ticket(&tx, ticket)?.filter(|t| {
        open(t)
            && match &t.email {
                Some(thread) => thread.knows(&t.customer.contact, &from.address),
                None => same_address(&t.customer.contact, &from.address),
            }
    });
    Ok(known.map(|t| t.id))
}

fn mail_in(mail: Incoming, from: Mailbox) -> MailIn {
    let mut attachments = Vec::with_capacity(mail.attachments.len());
    let mut blobs = Vec::new();
    for attachment in mail.attachments {
        if let Some(bytes) = attachment.bytes {
            blobs.push(Blob {
                // The ticket is set by the decision.
                ticket: TicketId::from_u128(0),
                attachment: attachment.meta.id,
                bytes: bytes.into(),
            });
        }
        attachments.push(attachment.meta);
    }
    MailIn {
        message_id: mail.message_id,
        from,
        to: mail.to,
        cc: mail.cc,
        subject: mail.subject,
        text: mail.text,
        folds: mail.folds,
        attachments,
        blobs,
    }
}

/// A bounce: the reply it names (one Tandem sent) is marked `failed`.
async fn bounced(core: &Arc<Core>, message_ids: &[String], reason: &str) -> Result<(), Error> {
    for id in message_ids {
        let found = reads::email_message(&core.store.read()?, id)?;
        let Some((ticket, message)) = found else {
            continue;
        };
        let delivery = Delivery {
            state: DeliveryState::Failed,
            attempts: 0,
            error: Some(error_text(&format!("bounced: {reason}"))),
            updated_at: Timestamp::now(),
            next_attempt_at: None,
        };
        let set = SetDelivery { message, delivery };
        match core.ask_ticket(ticket, set).await {
            Ok(()) | Err(Error::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
