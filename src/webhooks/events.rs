//! Which webhook events a committed ticket change is (docs/protocol.md
//! §9.8.4): a pure function of the ticket before and after and the
//! change's messages.
//!
//! - A new ticket is `ticket.created`; a ticket becoming deleted is
//!   `ticket.deleted`; any other change of what the API shows of a ticket
//!   (status, assignee, inbox, subject, customer, tags, fields) is
//!   `ticket.updated` with the names of what changed.
//! - Each sent message is `message.created`, a note `note.created`; a
//!   message with a delivery (an e-mail reply) is also `message.delivery`.
//!   Which of those are news depends on the message as stored before the
//!   change (`News`: a delivery report is no new message; a new reply's
//!   first delivery state is no delivery news); `store::webhooks::enqueue`
//!   decides that.
//! - A public reply on an API channel's ticket is also a `message.created`
//!   addressed to that channel's reply callback alone (docs/protocol.md
//!   §9.9), with what its customer may see and nothing else.
//! - Nothing else (read marks, followers, shares, locks, drafts) is an event
//!   of a change.
//! - Presence is no ticket change: `claim.changed` ([`claim_changed`]) is
//!   decided by the ticket actor when the ticket's [`claims`] change.

use serde::Serialize;
use serde_json::json;

use crate::domain::agent::Roster;
use crate::domain::message::{Message, MessageKind, MessageState};
use crate::domain::presence::Presence;
use crate::domain::ticket::Ticket;
use crate::domain::webhook::{Event, EventType, News};
use crate::domain::{AgentId, Timestamp};
use crate::protocol::api_channel::{ApiConversationDto, ApiMessageDto};
use crate::protocol::dto::{MessageDto, TicketDto};

/// The events of a change that turned `before` into `after` (with its
/// number) and stored `messages`, in the order they happened.
pub fn of_change(
    before: Option<&Ticket>,
    after: &Ticket,
    new_ticket: bool,
    messages: &[Message],
    roster: &(impl Roster + ?Sized),
    now: Timestamp,
) -> Vec<Event> {
    let ticket_data = || json!({ "ticket": TicketDto::with_unread(after, false) });
    let event = |event, news, data| Event {
        event,
        ticket: after.id,
        news,
        created_at: now,
        data,
        channel: None,
    };
    let mut events = Vec::new();
    let was_deleted = before.is_some_and(|b| b.deleted);
    if new_ticket {
        events.push(event(EventType::TicketCreated, News::Always, ticket_data()));
    } else if after.deleted && !was_deleted {
        events.push(event(EventType::TicketDeleted, News::Always, ticket_data()));
        return events;
    } else if let Some(before) = before {
        let changed = changed_fields(before, after);
        if !changed.is_empty() && !after.deleted {
            let mut data = ticket_data();
            data["changed"] = json!(changed);
            events.push(event(EventType::TicketUpdated, News::Always, data));
        }
    }
    for message in messages.iter().filter(|m| m.state == MessageState::Sent) {
        let kind = match message.kind {
            MessageKind::Note => EventType::NoteCreated,
            MessageKind::Customer | MessageKind::Reply => EventType::MessageCreated,
        };
        let data = || {
            json!({
                "ticket": TicketDto::with_unread(after, false),
                "message": MessageDto::new(message, roster),
            })
        };
        events.push(event(kind, News::NewMessage(message.id), data()));
        if let Some(delivery) = &message.delivery {
            let news = News::DeliveryState(message.id, delivery.state);
            events.push(event(EventType::MessageDelivery, news, data()));
        }
        if let Some(api) = &after.api
            && message.kind == MessageKind::Reply
        {
            events.push(Event {
                channel: Some(api.channel),
                data: json!({
                    "conversation": ApiConversationDto::new(after, api),
                    "message": ApiMessageDto::new(message),
                }),
                ..event(
                    EventType::MessageCreated,
                    News::NewMessage(message.id),
                    json!(null),
                )
            });
        }
    }
    events
}

/// What an agent on a ticket does: the claim's holder works on it, every
/// other agent that has it open views it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Doing {
    Working,
    Viewing,
}

/// Who is on a ticket and what they do: the claim's holder first, then the
/// other viewers in the order they came. Hidden tabs count as viewing:
/// hiding and showing a tab is no change.
pub fn claims(presence: &Presence) -> Vec<(AgentId, Doing)> {
    let holder = presence.claim().map(|c| c.agent);
    let viewers = presence
        .viewers()
        .into_iter()
        .map(|v| v.agent)
        .filter(|agent| Some(*agent) != holder);
    holder
        .map(|agent| (agent, Doing::Working))
        .into_iter()
        .chain(viewers.map(|agent| (agent, Doing::Viewing)))
        .collect()
}

/// The `claim.changed` event of `ticket`, whose [`claims`] are now `claims`:
/// the ticket's id, number and inbox, and each agent with what it does.
pub fn claim_changed(
    ticket: &Ticket,
    claims: &[(AgentId, Doing)],
    roster: &(impl Roster + ?Sized),
    now: Timestamp,
) -> Event {
    let claims: Vec<_> = claims
        .iter()
        .map(|(agent, doing)| json!({ "agent": roster.agent_ref(*agent), "doing": doing }))
        .collect();
    Event {
        event: EventType::ClaimChanged,
        ticket: ticket.id,
        news: News::Always,
        created_at: now,
        data: json!({
            "ticket": { "id": ticket.id, "number": ticket.number, "inbox": ticket.inbox },
            "claims": claims,
        }),
        channel: None,
    }
}

/// The names of what the API shows of a ticket that differ.
fn changed_fields(before: &Ticket, after: &Ticket) -> Vec<&'static str> {
    [
        ("status", before.status != after.status),
        ("assignee", before.assignee != after.assignee),
        ("inbox", before.inbox != after.inbox),
        ("subject", before.subject != after.subject),
        ("customer", before.customer != after.customer),
        ("tags", before.tags != after.tags),
        ("fields", before.fields != after.fields),
    ]
    .into_iter()
    .filter_map(|(name, differs)| differs.then_some(name))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agent::AgentRef;
    use crate::domain::ticket::{Customer, Status};
    use crate::domain::{AgentId, InboxId, TicketId};

    const NOBODY: &[AgentRef] = &[];

    fn ticket() -> Ticket {
        let customer = Customer {
            name: "Ada".into(),
            contact: "ada@example.com".into(),
        };
        Ticket::new(
            TicketId::new(),
            7,
            InboxId::new(),
            "Hi".into(),
            customer,
            Timestamp(1),
        )
    }

    fn message(t: &Ticket, kind: MessageKind) -> Message {
        let mut m = Message::customer(t.id, "hello".into(), Timestamp(2), None);
        m.kind = kind;
        m
    }

    fn types(events: &[Event]) -> Vec<EventType> {
        events.iter().map(|e| e.event).collect()
    }

    #[test]
    fn a_new_ticket_with_its_first_message() {
        let t = ticket();
        let first = message(&t, MessageKind::Customer);
        let events = of_change(
            None,
            &t,
            true,
            std::slice::from_ref(&first),
            NOBODY,
            Timestamp(3),
        );
        assert_eq!(
            types(&events),
            vec![EventType::TicketCreated, EventType::MessageCreated]
        );
        assert_eq!(events[0].data["ticket"]["number"], 7);
        assert_eq!(events[1].news, News::NewMessage(first.id));
        assert_eq!(events[1].data["message"]["kind"], "customer");
    }

    #[test]
    fn notes_and_replies_have_their_own_types_and_scheduled_ones_wait() {
        let t = ticket();
        let mut scheduled = message(&t, MessageKind::Reply);
        scheduled.state = MessageState::Scheduled;
        let messages = [
            message(&t, MessageKind::Note),
            message(&t, MessageKind::Reply),
            scheduled,
        ];
        let events = of_change(Some(&t), &t, false, &messages, NOBODY, Timestamp(3));
        assert_eq!(
            types(&events),
            vec![EventType::NoteCreated, EventType::MessageCreated]
        );
    }

    #[test]
    fn updates_name_what_changed_and_ignore_the_rest() {
        let before = ticket();
        let mut after = before.clone();
        after.status = Status::Resolved;
        after.set_assignee(Some(AgentId::new()));
        let events = of_change(Some(&before), &after, false, &[], NOBODY, Timestamp(3));
        assert_eq!(types(&events), vec![EventType::TicketUpdated]);
        assert_eq!(events[0].data["changed"], json!(["status", "assignee"]));
        let mut read = before.clone();
        read.read_by.insert(AgentId::new());
        read.updated_at = Timestamp(9);
        assert!(of_change(Some(&before), &read, false, &[], NOBODY, Timestamp(3)).is_empty());
    }

    #[test]
    fn deleting_is_one_event() {
        let before = ticket();
        let mut after = before.clone();
        after.deleted = true;
        after.status = Status::Resolved;
        let events = of_change(Some(&before), &after, false, &[], NOBODY, Timestamp(3));
        assert_eq!(types(&events), vec![EventType::TicketDeleted]);
        let again = of_change(Some(&after), &after, false, &[], NOBODY, Timestamp(4));
        assert!(again.is_empty());
    }

    #[test]
    fn an_e_mail_reply_is_also_a_delivery_event() {
        use crate::domain::email::{Delivery, DeliveryState};
        let t = ticket();
        let mut reply = message(&t, MessageKind::Reply);
        reply.delivery = Some(Delivery::queued(Timestamp(2)));
        let events = of_change(
            Some(&t),
            &t,
            false,
            std::slice::from_ref(&reply),
            NOBODY,
            Timestamp(3),
        );
        assert_eq!(
            types(&events),
            vec![EventType::MessageCreated, EventType::MessageDelivery]
        );
        assert_eq!(
            events[1].news,
            News::DeliveryState(reply.id, DeliveryState::Queued)
        );
        assert_eq!(events[1].data["message"]["delivery"]["state"], "queued");
    }

    #[test]
    fn claims_are_the_holder_then_the_viewers_and_hiding_is_no_change() {
        use crate::domain::SessionId;
        use crate::domain::presence::Opening;
        let (bianca, lena) = (AgentId::new(), AgentId::new());
        let mut presence = Presence::default();
        let mut light = Opening::new(SessionId::new(), lena);
        light.can_claim = false;
        presence.open(light, Timestamp(1));
        let tab = SessionId::new();
        presence.open(Opening::new(tab, bianca), Timestamp(2));
        let both = vec![(bianca, Doing::Working), (lena, Doing::Viewing)];
        assert_eq!(claims(&presence), both);
        presence.set_hidden(tab, true);
        assert_eq!(claims(&presence), both);

        let t = ticket();
        let roster = [AgentRef {
            id: bianca,
            name: "Bianca".into(),
        }];
        let event = claim_changed(&t, &both, &roster[..], Timestamp(3));
        assert_eq!(event.event, EventType::ClaimChanged);
        assert_eq!(event.data["ticket"]["number"], 7);
        assert_eq!(event.data["claims"][0]["agent"]["name"], "Bianca");
        assert_eq!(event.data["claims"][0]["doing"], "working");
        assert_eq!(event.data["claims"][1]["doing"], "viewing");
    }
}
