//! An e-mail ticket's mail: a customer's mail opens the ticket or continues
//! it, and the outbox (or a bounce) reports how far a reply got, shown live
//! to the tabs viewing the ticket (`delivery` frames).

use std::sync::Arc;

use actix::prelude::*;

use super::TicketActor;
use crate::domain::channel::Channel;
use crate::domain::decisions::email::{self, MailIn};
use crate::domain::email::Delivery;
use crate::domain::message::Message;
use crate::domain::{MessageId, Timestamp};
use crate::error::Error;
use crate::protocol::changes::ChangeAction;
use crate::protocol::dto::DeliveryDto;
use crate::protocol::frames::ServerFrame;
use crate::store::reads;

/// A customer's mail: a new ticket (this actor's, if it has none yet) or
/// the next message of this one.
#[derive(Message, Clone)]
#[rtype(result = "Result<Message, Error>")]
pub struct ImportMail {
    pub channel: Arc<Channel>,
    pub mail: MailIn,
}

/// How far reply `message` got.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), Error>")]
pub struct SetDelivery {
    pub message: MessageId,
    pub delivery: Delivery,
}

impl Handler<ImportMail> for TicketActor {
    type Result = AtomicResponse<Self, Result<Message, Error>>;

    fn handle(&mut self, msg: ImportMail, _: &mut Context<Self>) -> Self::Result {
        let ImportMail { channel, mail } = msg;
        if self.ticket.is_none() {
            let decided = email::open(None, self.id, &channel, mail, Timestamp::now());
            return self.commit(decided, |act, t, message, _| {
                act.publish_ticket_by(t, ChangeAction::Created, None);
                Ok(message)
            });
        }
        // A customer message sorts after every draft decided before it.
        let now = Timestamp::now_after(self.drafts.values().map(|d| d.updated_at).max());
        let decided = self.decide_at(now, |t, facts| email::receive(t, mail, facts));
        self.commit(decided, |act, t, message, _| {
            act.message_posted(t, &message, None, None);
            Ok(message)
        })
    }
}

impl Handler<SetDelivery> for TicketActor {
    type Result = AtomicResponse<Self, Result<(), Error>>;

    fn handle(&mut self, msg: SetDelivery, _: &mut Context<Self>) -> Self::Result {
        let stored = self
            .core
            .store
            .read()
            .and_then(|tx| reads::message(&tx, self.id, msg.message));
        let decided = stored.map_err(Error::from).and_then(|message| {
            Ok(email::set_delivery(
                self.ticket.as_ref(),
                message,
                msg.delivery,
            )?)
        });
        self.commit(decided, |act, t, changed, _| {
            if let Some(message) = changed
                && let Some(delivery) = &message.delivery
            {
                let frame = ServerFrame::Delivery {
                    ticket: t.id,
                    message: message.id,
                    delivery: DeliveryDto::from(delivery),
                };
                act.send_to_viewers(&frame.encode(), None);
            }
            Ok(())
        })
    }
}
