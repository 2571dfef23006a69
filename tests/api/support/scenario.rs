//! The fixture every test starts from: a [`Setup`] lists what exists before
//! the test acts (config, inboxes, agents, settings, tickets), and
//! [`Setup::start`] makes it real on a fresh server, giving a [`Scenario`]
//! whose people, inboxes and tickets are looked up by the names the setup
//! gave them.
//!
//! The steps run in the order they are written, so a setup reads as what
//! happened on the server (ticket numbers and ids follow that order). The
//! first inbox is the scenario's own: [`Scenario::new_ticket`] and
//! [`Scenario::tab`] use it; the first ticket is [`Scenario::ticket`].

use serde_json::{Value, json};

use super::{Api, TestServer, Ws};

/// One thing that happens before the test acts.
enum Step {
    Inbox(&'static str),
    /// An agent with its role and inboxes (by name), logged in.
    Agent {
        handle: &'static str,
        role: &'static str,
        inboxes: Vec<&'static str>,
    },
    /// Disables an agent after its login: its token is a disabled agent's old one.
    Disable(&'static str),
    /// A settings patch by the admin.
    Settings(Value),
    Ticket {
        inbox: &'static str,
        subject: &'static str,
    },
}

/// What a scenario starts with; see the module docs.
#[derive(Default)]
pub struct Setup {
    config: &'static str,
    steps: Vec<Step>,
}

/// A running server and what its [`Setup`] created on it.
pub struct Scenario {
    pub server: TestServer,
    /// The bootstrap admin, logged in.
    pub admin: Api,
    inboxes: Vec<(&'static str, String)>,
    agents: Vec<(&'static str, Api)>,
    /// The ids of the setup's tickets, in the order they were created.
    pub tickets: Vec<String>,
}

impl Scenario {
    /// An empty setup, to list the scenario's steps on.
    pub fn setup() -> Setup {
        Setup::default()
    }

    /// The agent with this handle.
    pub fn agent(&self, handle: &str) -> &Api {
        find_agent(&self.agents, handle)
    }

    /// The id of the inbox with this name.
    pub fn inbox(&self, name: &str) -> &str {
        find_inbox(&self.inboxes, name)
    }

    /// The id of the setup's first ticket.
    pub fn ticket(&self) -> &str {
        &self.tickets[0]
    }

    /// The REST path of the first ticket followed by `tail` (e.g. `/messages`).
    pub fn path(&self, tail: &str) -> String {
        format!("/api/tickets/{}{tail}", self.ticket())
    }

    /// The id of a new ticket in the first inbox.
    pub async fn new_ticket(&self, subject: &str) -> String {
        let inbox = &self.inboxes[0].1;
        ticket_id(&self.admin, inbox, subject).await
    }

    /// A tab of `agent` subscribed to the first inbox, the snapshot read.
    pub async fn tab(&self, agent: &Api) -> Ws {
        let (mut ws, _) = Ws::hello(&self.server, agent).await;
        ws.subscribe(&self.inboxes[0].1).await;
        ws
    }

    /// A tab of `agent` with the first ticket open.
    pub async fn viewer(&self, agent: &Api) -> Ws {
        let (mut ws, _) = Ws::hello(&self.server, agent).await;
        ws.open(self.ticket(), false).await;
        ws
    }
}

impl Setup {
    /// Extra TOML over the test config (see [`TestServer::start_with`]).
    pub fn config(mut self, extra: &'static str) -> Setup {
        self.config = extra;
        self
    }

    /// An inbox the admin creates.
    pub fn inbox(mut self, name: &'static str) -> Setup {
        self.steps.push(Step::Inbox(name));
        self
    }

    /// An agent (role `agent`, password `pw`) in the named inboxes, logged in.
    pub fn agent(self, handle: &'static str, inboxes: &[&'static str]) -> Setup {
        self.agent_with_role(handle, "agent", inboxes)
    }

    /// A light agent in the named inboxes.
    pub fn light(self, handle: &'static str, inboxes: &[&'static str]) -> Setup {
        self.agent_with_role(handle, "light", inboxes)
    }

    fn agent_with_role(
        mut self,
        handle: &'static str,
        role: &'static str,
        inboxes: &[&'static str],
    ) -> Setup {
        self.steps.push(Step::Agent {
            handle,
            role,
            inboxes: inboxes.to_vec(),
        });
        self
    }

    /// Disables the agent `handle` (created before), keeping its logged-in client.
    pub fn disable(mut self, handle: &'static str) -> Setup {
        self.steps.push(Step::Disable(handle));
        self
    }

    /// The admin patches the settings with `patch`.
    pub fn settings(mut self, patch: Value) -> Setup {
        self.steps.push(Step::Settings(patch));
        self
    }

    /// A ticket the admin creates in the named inbox.
    pub fn ticket(mut self, inbox: &'static str, subject: &'static str) -> Setup {
        self.steps.push(Step::Ticket { inbox, subject });
        self
    }

    /// Starts a fresh server with the config and plays the steps on it.
    pub async fn start(self) -> Scenario {
        let server = TestServer::start_with(self.config).await;
        self.start_on(server).await
    }

    /// Plays the steps on `server` (started by the test, e.g. on a data
    /// directory it restarts later); the config is then the server's own.
    pub async fn start_on(self, server: TestServer) -> Scenario {
        let admin = server.admin().await;
        let mut inboxes: Vec<(&'static str, String)> = Vec::new();
        let mut agents: Vec<(&'static str, Api)> = Vec::new();
        let mut tickets = Vec::new();
        for step in self.steps {
            match step {
                Step::Inbox(name) => inboxes.push((name, admin.create_inbox(name).await)),
                Step::Agent {
                    handle,
                    role,
                    inboxes: names,
                } => {
                    let ids: Vec<&str> = names.iter().map(|n| find_inbox(&inboxes, n)).collect();
                    agents.push((handle, server.agent(&admin, handle, role, &ids).await));
                }
                Step::Disable(handle) => {
                    let id = &find_agent(&agents, handle).id;
                    let disable = json!({"disabled": true});
                    let resp = admin.patch(format!("/api/agents/{id}"), disable).await;
                    assert_eq!(resp.status, 200, "{}", resp.body);
                }
                Step::Settings(patch) => {
                    let resp = admin.patch("/api/settings", patch).await;
                    assert_eq!(resp.status, 200, "{}", resp.body);
                }
                Step::Ticket { inbox, subject } => {
                    let inbox = find_inbox(&inboxes, inbox);
                    tickets.push(ticket_id(&admin, inbox, subject).await);
                }
            }
        }
        Scenario {
            server,
            admin,
            inboxes,
            agents,
            tickets,
        }
    }
}

fn find_agent<'a>(agents: &'a [(&'static str, Api)], handle: &str) -> &'a Api {
    agents
        .iter()
        .find(|(h, _)| *h == handle)
        .map(|(_, api)| api)
        .unwrap_or_else(|| panic!("no agent {handle} in the scenario"))
}

fn find_inbox<'a>(inboxes: &'a [(&'static str, String)], name: &str) -> &'a str {
    inboxes
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, id)| id.as_str())
        .unwrap_or_else(|| panic!("no inbox {name} in the scenario"))
}

/// Creates a ticket as `admin`; its id.
async fn ticket_id(admin: &Api, inbox: &str, subject: &str) -> String {
    admin.create_ticket(inbox, subject).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}
