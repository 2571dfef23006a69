//! E-mail decisions: a customer's mail opens a ticket or continues one, a
//! reply sent on an e-mail ticket goes out by mail, and the outbox reports
//! how far a reply got.
//!
//! Invariants:
//! - A mail follows every rule of a customer message posted over REST (see
//!   `posting`): unread for everyone, drafts outdated, resolved reopens,
//!   followers told.
//! - Only sent public replies of e-mail tickets go out (never notes, never
//!   scheduled replies before their time), each with a Message-ID fixed when
//!   it is sent, so a retry after a crash sends the very same mail.
//! - Only a mail from the ticket's customer or a participant adds
//!   participants (its To and Cc): a stranger who threads by Message-ID is
//!   heard, but never copied on replies.
//! - A delivery report changes only the delivery of a reply of this ticket;
//!   once `sent` or `failed` it only moves to `failed` by a bounce.

use super::super::channel::Channel;
use super::super::email::{
    Blob, Delivery, DeliveryState, EmailThread, Fold, Mailbox, MessageEmail, ticket_subject,
};
use super::super::message::{Message, MessageKind, MessageState};
use super::super::ticket::{self, Customer, Ticket};
use super::super::{TicketId, Timestamp};
use super::posting::arrives_through_channel;
use super::{Change, ConflictReason, Facts, Refusal};
use crate::domain::email::Attachment;

/// A customer's mail, as a ticket keeps it (parsed and checked by `mail`).
#[derive(Clone, Debug)]
pub struct MailIn {
    pub message_id: String,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub subject: String,
    pub text: String,
    pub folds: Vec<Fold>,
    pub attachments: Vec<Attachment>,
    /// The bytes of the attachments that were kept.
    pub blobs: Vec<Blob>,
}

/// The body a ticket shows for a mail with no text at all.
const EMPTY_BODY: &str = "(no text)";

fn customer_message(ticket: TicketId, mail: MailIn, now: Timestamp) -> (Message, Vec<Blob>) {
    let mut body = mail.text;
    if ticket::validate_body(&body).is_err() {
        // Blank (or, defensively, over the limit: `mail::parse` cuts it).
        body = EMPTY_BODY.to_owned();
    }
    let mut message = Message::customer(ticket, body, now, None);
    message.email = Some(MessageEmail {
        message_id: mail.message_id,
        from: Some(mail.from),
        to: mail.to,
        cc: mail.cc,
        folds: mail.folds,
    });
    message.attachments = mail.attachments;
    let blobs = mail
        .blobs
        .into_iter()
        .map(|b| Blob { ticket, ..b })
        .collect();
    (message, blobs)
}

/// A new ticket `id` in the channel's inbox from a customer's mail.
pub fn open(
    existing: Option<&Ticket>,
    id: TicketId,
    channel: &Channel,
    mail: MailIn,
    now: Timestamp,
) -> Result<(Change, Message), Refusal> {
    if existing.is_some() {
        return Err(ConflictReason::TicketExists.into());
    }
    let Some(account) = &channel.account else {
        return Err(Refusal::invalid("not an email channel"));
    };
    let customer = Customer {
        name: mail
            .from
            .name
            .clone()
            .unwrap_or_else(|| mail.from.address.clone()),
        contact: mail.from.address.clone(),
    };
    let mut thread = EmailThread {
        channel: channel.id,
        channel_name: channel.name.clone(),
        own_address: account.smtp.from_address.clone(),
        participants: Vec::new(),
    };
    thread.add_participants(&customer.contact, mail.to.iter().chain(&mail.cc));
    let subject = ticket_subject(&mail.subject);
    let mut ticket = Ticket::new(id, 0, channel.inbox, subject, customer, now);
    ticket.email = Some(thread);
    let (message, blobs) = customer_message(id, mail, now);
    let change = Change {
        blobs,
        ..Change::created(ticket, vec![message.clone()], channel.created(now))
    };
    Ok((change, message))
}

/// A customer's mail threads onto `ticket`. `facts.now` must sort after
/// every draft decided before it (see `posting::post`). From the customer or
/// a participant, its To and Cc join the participants (replies are copied
/// to them).
pub fn receive(
    ticket: Option<&Ticket>,
    mail: MailIn,
    facts: &Facts,
) -> Result<(Change, Message), Refusal> {
    let before = super::live(ticket)?;
    let mut change = arrives_through_channel(before, facts)?;
    // Only the customer and people already copied bring others in: anyone
    // who learned a Message-ID can write to the ticket, but replies are
    // never copied to them for it.
    if let Some(thread) = change.after.email.as_mut()
        && thread.knows(&before.customer.contact, &mail.from.address)
    {
        thread.add_participants(&before.customer.contact, mail.to.iter().chain(&mail.cc));
    }
    let (message, blobs) = customer_message(before.id, mail, facts.now);
    change.messages.push(message.clone());
    change.blobs = blobs;
    Ok((change, message))
}

/// A reply sent now on an e-mail ticket goes out by mail: it gets its
/// Message-ID, its recipients and a queued delivery. Other messages and
/// tickets are left as they are.
pub fn send_by_mail(ticket: &Ticket, message: &mut Message, now: Timestamp) {
    let Some(thread) = &ticket.email else { return };
    if message.kind != MessageKind::Reply
        || message.state != MessageState::Sent
        || message.delivery.is_some()
    {
        return;
    }
    message.email = Some(MessageEmail {
        message_id: thread.reply_message_id(message.id.0),
        from: None,
        to: vec![Mailbox::new(
            Some(ticket.customer.name.clone()),
            &ticket.customer.contact,
        )],
        cc: thread.participants.clone(),
        folds: Vec::new(),
    });
    message.delivery = Some(Delivery::queued(now));
}

/// The outbox reports on reply `message` (as stored): its delivery becomes
/// `delivery` (its attempts never go down: a bounce reports none). A reply
/// that is `sent` or `failed` only changes to `failed` (a bounce); anything
/// else is stale and changes nothing.
pub fn set_delivery(
    ticket: Option<&Ticket>,
    message: Option<Message>,
    mut delivery: Delivery,
) -> Result<(Change, Option<Message>), Refusal> {
    let before = ticket.ok_or(Refusal::NotFound)?;
    let mut message = message
        .filter(|m| m.ticket == before.id && m.delivery.is_some())
        .ok_or(Refusal::NotFound)?;
    let current = message.delivery.as_ref().map(|d| d.state);
    let attempts = message.delivery.as_ref().map_or(0, |d| d.attempts);
    delivery.attempts = delivery.attempts.max(attempts);
    let applies = matches!(
        (current, delivery.state),
        (Some(DeliveryState::Queued), _) | (Some(DeliveryState::Sent), DeliveryState::Failed)
    );
    let mut change = Change::of(before.clone());
    if !applies {
        return Ok((change, None));
    }
    message.delivery = Some(delivery);
    change.messages.push(message.clone());
    Ok((change, Some(message)))
}

#[cfg(test)]
mod tests {
    use super::super::fixture::World;
    use super::*;
    use crate::domain::channel::ChannelKind;
    use crate::domain::mail_account::{ImapInput, MailAccountInput, SmtpInput};
    use crate::domain::ticket::Status;

    fn channel(world: &World) -> Channel {
        let mut channel = Channel::new(
            ChannelKind::Email,
            world.support(),
            "Mail".into(),
            Timestamp(0),
        );
        let account = MailAccountInput {
            imap: Some(ImapInput {
                host: Some("imap.example".into()),
                user: Some("support@shop.example".into()),
                password: Some("pw".into()),
                ..Default::default()
            }),
            smtp: Some(SmtpInput {
                host: Some("smtp.example".into()),
                from_address: Some("support@shop.example".into()),
                ..Default::default()
            }),
        };
        channel.account = Some(account.apply(None).unwrap());
        channel
    }

    fn mail(from: &str, cc: &[&str]) -> MailIn {
        MailIn {
            message_id: format!("{from}-{}", cc.len()),
            from: Mailbox::new(None, from),
            to: vec![Mailbox::new(None, "support@shop.example")],
            cc: cc.iter().map(|a| Mailbox::new(None, a)).collect(),
            subject: "Re: Broken".into(),
            text: "  ".into(),
            folds: Vec::new(),
            attachments: Vec::new(),
            blobs: Vec::new(),
        }
    }

    /// An e-mail ticket of Ada's.
    fn ticket(world: &World) -> Ticket {
        let opened = open(
            None,
            TicketId::new(),
            &channel(world),
            mail("ada@x.example", &[]),
            Timestamp(5),
        );
        opened.unwrap().0.after
    }

    #[test]
    fn a_mail_opens_a_ticket_of_its_sender_with_its_cc_as_participants() {
        let world = World::new();
        let (change, message) = open(
            None,
            TicketId::new(),
            &channel(&world),
            mail("ada@x.example", &["bob@x.example"]),
            Timestamp(5),
        )
        .unwrap();
        let t = &change.after;
        assert_eq!((t.subject.as_str(), t.status), ("Broken", Status::Pending));
        assert_eq!(t.customer.contact, "ada@x.example");
        let thread = t.email.as_ref().unwrap();
        assert_eq!(thread.own_address, "support@shop.example");
        assert_eq!(
            thread.participants,
            vec![Mailbox::new(None, "bob@x.example")]
        );
        assert_eq!(
            message.body, EMPTY_BODY,
            "a blank mail still says something"
        );
    }

    #[test]
    fn only_sent_replies_of_email_tickets_go_out_with_their_own_message_id() {
        let world = World::new();
        let t = ticket(&world);
        let base = Message::customer(t.id, "x".into(), Timestamp(6), None);
        let mut reply = Message {
            kind: MessageKind::Reply,
            ..base.clone()
        };
        send_by_mail(&t, &mut reply, Timestamp(7));
        let email = reply.email.as_ref().unwrap();
        assert_eq!(email.message_id, format!("{}@shop.example", reply.id.0));
        assert_eq!(email.to[0].address, "ada@x.example");
        assert!(reply.delivery.as_ref().unwrap().is_queued());
        for kind in [MessageKind::Note, MessageKind::Customer] {
            let mut other = Message {
                kind,
                ..base.clone()
            };
            send_by_mail(&t, &mut other, Timestamp(7));
            assert!(other.delivery.is_none() && other.email.is_none());
        }
        let mut scheduled = Message {
            kind: MessageKind::Reply,
            state: MessageState::Scheduled,
            ..base.clone()
        };
        send_by_mail(&t, &mut scheduled, Timestamp(7));
        assert!(scheduled.delivery.is_none());
        let mut elsewhere = Message {
            kind: MessageKind::Reply,
            ..base
        };
        send_by_mail(&world.ticket(), &mut elsewhere, Timestamp(7));
        assert!(elsewhere.delivery.is_none(), "not an e-mail ticket");
    }

    #[test]
    fn delivery_reports_only_move_forward() {
        let world = World::new();
        let t = ticket(&world);
        let mut reply = Message {
            kind: MessageKind::Reply,
            ..Message::customer(t.id, "x".into(), Timestamp(6), None)
        };
        send_by_mail(&t, &mut reply, Timestamp(7));
        let report = |state, attempts| Delivery {
            state,
            attempts,
            error: None,
            updated_at: Timestamp(8),
            next_attempt_at: None,
        };
        let (_, sent) = set_delivery(
            Some(&t),
            Some(reply.clone()),
            report(DeliveryState::Sent, 1),
        )
        .unwrap();
        let sent = sent.unwrap();
        let (_, stale) = set_delivery(
            Some(&t),
            Some(sent.clone()),
            report(DeliveryState::Queued, 2),
        )
        .unwrap();
        assert!(stale.is_none(), "a sent reply is not queued again");
        let (_, bounced) =
            set_delivery(Some(&t), Some(sent), report(DeliveryState::Failed, 0)).unwrap();
        assert_eq!(bounced.unwrap().delivery.unwrap().attempts, 1);
        let note = Message::customer(t.id, "x".into(), Timestamp(6), None);
        let refused = set_delivery(Some(&t), Some(note), report(DeliveryState::Sent, 1));
        assert_eq!(refused.unwrap_err(), Refusal::NotFound);
    }
}
