//! The chat channel of issue #16 (docs/protocol.md part 9 "Customers"):
//! channels, the visitor socket, and how a visitor's conversation meets the
//! agents' tickets. One file per behaviour of the contract.

mod availability;
mod channels;
mod conversation;
mod exactly_once;
mod identity;
mod read;
mod replies;
mod security;
mod typing;

use std::ops::Deref;

use serde_json::{Value, json};

use crate::support::*;

/// Support with its agents Bianca and Hanna; [`Chat::start`] adds the channel.
pub fn desk() -> Setup {
    Scenario::setup()
        .inbox("Support")
        .agent("bianca", &["Support"])
        .agent("hanna", &["Support"])
}

/// A scenario with the chat channel "Website chat" feeding its inbox
/// Support, for pages of [`SHOP`]. It derefs to its [`Scenario`].
pub struct Chat {
    pub d: Scenario,
    pub channel: Channel,
}

impl Deref for Chat {
    type Target = Scenario;
    fn deref(&self) -> &Scenario {
        &self.d
    }
}

impl Chat {
    /// Starts the setup (which must have an inbox Support) and adds the channel.
    pub async fn start(setup: Setup) -> Chat {
        Chat::on(setup.start().await).await
    }

    /// Adds the channel to a running scenario.
    pub async fn on(d: Scenario) -> Chat {
        let channel = d
            .admin
            .chat_channel(d.inbox("Support"), "Website chat")
            .await;
        Chat { d, channel }
    }

    pub fn support(&self) -> &str {
        self.d.inbox("Support")
    }

    /// A new anonymous visitor on the shop's page.
    pub async fn visitor(&self) -> Visitor {
        self.join(&self.channel.hello()).await
    }

    /// Another tab (or a later visit) of the visitor holding `token`.
    pub async fn returning(&self, token: &str) -> Visitor {
        self.join(&self.channel.hello().token(token)).await
    }

    pub async fn join(&self, hello: &Hello) -> Visitor {
        Visitor::join(&self.d.server, hello).await
    }

    /// The ticket of the visitor's open conversation, as the admin lists it:
    /// it must be the only listed ticket of the visitor.
    pub async fn ticket_of(&self, visitor: &str) -> Value {
        let tickets = self.admin.visitor_tickets(self.support(), visitor).await;
        assert_eq!(tickets.len(), 1, "{tickets:#?}");
        tickets[0].clone()
    }

    /// The id of [`Chat::ticket_of`].
    pub async fn ticket_id(&self, visitor: &str) -> String {
        id(&self.ticket_of(visitor).await).to_owned()
    }

    /// The ticket's detail, as the admin sees it.
    pub async fn detail(&self, ticket: &str) -> Value {
        let resp = self.admin.get(format!("/api/tickets/{ticket}")).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        resp.body
    }

    /// The ticket's messages of `kind` (sent or scheduled), oldest first.
    pub async fn messages(&self, ticket: &str, kind: &str) -> Vec<Value> {
        self.detail(ticket).await["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["kind"] == kind)
            .cloned()
            .collect()
    }

    /// The ticket's history, oldest first.
    pub async fn history(&self, ticket: &str) -> Vec<Value> {
        let resp = self
            .admin
            .get(format!("/api/tickets/{ticket}/history"))
            .await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        resp.body.as_array().unwrap().clone()
    }

    /// `agent` posts a message of `kind` (`reply`, `note`, `customer`) on the ticket.
    pub async fn post(&self, agent: &Api, ticket: &str, kind: &str, body: &str) -> Value {
        let resp = agent
            .post(
                format!("/api/tickets/{ticket}/messages"),
                json!({"kind": kind, "body": body}),
            )
            .await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        resp.body
    }

    /// A tab of `agent` with `ticket` open (which marks it read for `agent`).
    pub async fn viewer(&self, agent: &Api, ticket: &str) -> Ws {
        let (mut ws, _) = Ws::hello(&self.d.server, agent).await;
        ws.open(ticket, false).await;
        ws
    }

    /// A tab of `agent` subscribed to Support, the snapshot read.
    pub async fn subscriber(&self, agent: &Api) -> Ws {
        let (mut ws, _) = Ws::hello(&self.d.server, agent).await;
        ws.subscribe(self.support()).await;
        ws
    }
}

/// The `id` of a JSON object.
pub fn id(object: &Value) -> &str {
    object["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {object}"))
}

/// Skips `visitor` frames on an agent tab until one for which `pred` holds
/// arrives (a bounded wait, as every [`Ws::recv_type`]).
pub async fn visitor_frame(ws: &mut Ws, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + FRAME_WAIT;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no such visitor frame in time"
        );
        let frame = ws.recv_type("visitor").await;
        if pred(&frame) {
            return frame;
        }
    }
}

/// Reads an agent tab until it got a frame of each type in `kinds`, in any
/// order (other frames are skipped); the first of each, in the order of `kinds`.
pub async fn frames_of(ws: &mut Ws, kinds: &[&str]) -> Vec<Value> {
    let mut found: Vec<Option<Value>> = vec![None; kinds.len()];
    let deadline = tokio::time::Instant::now() + FRAME_WAIT;
    while found.iter().any(Option::is_none) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all of {kinds:?} in time: {found:?}"
        );
        let frame = ws.recv().await;
        if let Some(i) = kinds.iter().position(|k| frame["type"] == *k)
            && found[i].is_none()
        {
            found[i] = Some(frame);
        }
    }
    found.into_iter().map(Option::unwrap).collect()
}
