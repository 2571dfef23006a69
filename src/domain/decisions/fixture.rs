//! A small world to decide in: a roster of agents and inboxes, settings, a
//! clock, and a ticket. The decisions' unit and property tests use it.

use std::sync::Arc;

use super::super::agent::{Inbox, Roster};
use super::super::settings::Settings;
use super::super::ticket::{Customer, Ticket};
use super::super::{Agent, AgentId, InboxId, Role, TicketId, Timestamp};
use super::Facts;

pub struct World {
    pub agents: Vec<Arc<Agent>>,
    pub inboxes: Vec<Inbox>,
    pub settings: Settings,
    pub claim: Option<AgentId>,
    pub now: Timestamp,
}

impl Roster for World {
    fn agent(&self, id: AgentId) -> Option<Arc<Agent>> {
        self.agents.iter().find(|a| a.id == id).cloned()
    }

    fn agent_by_handle(&self, handle: &str) -> Option<Arc<Agent>> {
        self.agents
            .iter()
            .find(|a| a.handle.eq_ignore_ascii_case(handle))
            .cloned()
    }

    fn inbox(&self, id: InboxId) -> Option<Inbox> {
        self.inboxes.iter().find(|i| i.id == id).cloned()
    }
}

impl World {
    /// Two inboxes, Support and Billing; an admin; agents `ana` (Support),
    /// `ben` (both) and `bill` (Billing); a light agent `lia` (Support).
    pub fn new() -> World {
        let inboxes: Vec<Inbox> = ["Support", "Billing"]
            .into_iter()
            .map(|name| Inbox {
                id: InboxId::new(),
                name: name.into(),
                created_at: Timestamp(0),
            })
            .collect();
        let (support, billing) = (inboxes[0].id, inboxes[1].id);
        let agent = |handle: &str, role, inboxes: Vec<InboxId>| {
            Arc::new(Agent {
                id: AgentId::new(),
                handle: handle.into(),
                name: handle.to_uppercase(),
                email: format!("{handle}@example.com"),
                role,
                inboxes,
                disabled: false,
                password_hash: String::new(),
                created_at: Timestamp(0),
            })
        };
        World {
            agents: vec![
                agent("admin", Role::Admin, vec![]),
                agent("ana", Role::Agent, vec![support]),
                agent("ben", Role::Agent, vec![support, billing]),
                agent("lia", Role::Light, vec![support]),
                agent("bill", Role::Agent, vec![billing]),
            ],
            inboxes,
            settings: Settings::default(),
            claim: None,
            now: Timestamp(1_000),
        }
    }

    pub fn by(&self, handle: &str) -> Arc<Agent> {
        self.agent_by_handle(handle).expect("a known handle")
    }

    pub fn support(&self) -> InboxId {
        self.inboxes[0].id
    }

    pub fn billing(&self) -> InboxId {
        self.inboxes[1].id
    }

    /// A pending, unassigned ticket of Support.
    pub fn ticket(&self) -> Ticket {
        let customer = Customer {
            name: "Carla".into(),
            contact: "carla@example.com".into(),
        };
        Ticket::new(
            TicketId::new(),
            7,
            self.support(),
            "Refund".into(),
            customer,
            Timestamp(0),
        )
    }

    pub fn facts(&self) -> Facts<'_> {
        Facts {
            roster: self,
            settings: &self.settings,
            claim: self.claim,
            now: self.now,
        }
    }
}
