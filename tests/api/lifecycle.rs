//! Property test of one ticket's lifecycle against a reference model (issue
//! #10, point 4): random sequences of workflow steps, hard locks, shares and
//! WebSocket claims by a small cast, run against the real server, step by
//! step, and against a small pure model written from `docs/protocol.md`
//! (§3.4 ticket status, §4 roles and access, §6.7 work on tickets, §6.8
//! collision rules, §7.3 client frames, §7.5 claims).
//!
//! After every step the test compares with the model:
//! - the answer: HTTP status and error code (with `holder` for
//!   `ticket_claimed` / `ticket_locked`), or the WebSocket answer (`opened`
//!   with `claimed`, an `error` frame with its code, or no answer at all);
//! - the frames sent straight to tabs (`claim_lost`, `access_revoked`,
//!   `error`), exactly: a snapshot of both inboxes (every frame of a ticket
//!   passes its inbox actor, handed over before the step is answered) and
//!   then a ping sentinel on every tab prove that nothing else of the kind
//!   came;
//! - the presence in `opened` (claim, viewers, lock);
//! - the ticket as the admin sees it (`GET /api/tickets/{id}`: inbox, status,
//!   assignee, lock holder, `shared_with`, claim holder, viewers), its history
//!   actions, who may see it (`GET` as each agent: 200 or 404), and the
//!   presence snapshot of both inboxes.
//!
//! The cast: an admin, agents A (inbox One) and B (inboxes One and Two), a
//! light agent L (One), and agent O (Two only). Sharing is on. The ticket
//! starts in One. Every agent has one tab (no subscription) to open, close
//! and force-release the ticket; two more admin tabs only take snapshots,
//! one of each inbox.
//!
//! One server serves all cases, each on a fresh ticket with fresh tabs:
//! starting a server costs a data directory, the bootstrap admin and five
//! agents (a dozen argon2 hashes), far more than a whole case, and nothing of
//! a case outlives it but its ticket (settings, agents and inboxes are never
//! changed by the steps). Tabs are closed at the end of every case, and a
//! case ends a few steps after its ticket was deleted.
//!
//! Nothing sleeps: every wait for a frame is bounded ([`WAIT`]), and where a
//! frame must not come, a ping's `pong` closes the window. `PROPTEST_CASES`
//! overrides the number of cases (default 16); a failure is shrunk to the
//! few steps that matter and printed as a numbered list.
//!
//! The rules alone (answers, status, assignee, inbox, lock, shares, history)
//! are checked without a server, against the same kind of model, by
//! `domain::decisions::tests` (512 sequences a run, in about a second); this
//! test keeps what needs the server: frames, presence, claims over real
//! sockets, and what is stored.

use std::fmt;

use futures_util::{SinkExt, StreamExt, future::join_all};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestError, TestRunner, contextualize_config};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::*;

// ---------------------------------------------------------------------------
// The cast and the operations
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Admin,
    A,
    B,
    L,
    O,
}

const CAST: [Who; 5] = [Who::Admin, Who::A, Who::B, Who::L, Who::O];

impl Who {
    fn index(self) -> usize {
        self as usize
    }

    /// The inboxes the agent is a member of (an admin sees every inbox anyway).
    fn member_of(self, inbox: Inbox) -> bool {
        match self {
            Who::Admin => false,
            Who::A | Who::L => inbox == Inbox::One,
            Who::B => true,
            Who::O => inbox == Inbox::Two,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Inbox {
    One,
    Two,
}

#[derive(Clone, Debug)]
enum Op {
    Accept {
        by: Who,
    },
    Return {
        by: Who,
    },
    Assign {
        by: Who,
        to: Option<Who>,
    },
    Transfer {
        by: Who,
        inbox: Option<Inbox>,
        agent: Option<Who>,
    },
    Resolve {
        by: Who,
    },
    Reopen {
        by: Who,
    },
    Archive {
        by: Who,
    },
    Delete {
        by: Who,
    },
    Lock {
        by: Who,
    },
    Unlock {
        by: Who,
    },
    Share {
        by: Who,
        with: Who,
    },
    Unshare {
        by: Who,
        agent: Who,
    },
    /// WebSocket `open` from `tab`'s tab.
    Open {
        tab: Who,
        take_over: bool,
    },
    Close {
        tab: Who,
    },
    ForceRelease {
        tab: Who,
    },
}

fn who() -> impl Strategy<Value = Who> {
    prop::sample::select(CAST.to_vec())
}

/// REST callers: mostly agents that can work, sometimes the light agent.
fn actor() -> impl Strategy<Value = Who> {
    prop_oneof![2 => Just(Who::Admin), 3 => Just(Who::A), 3 => Just(Who::B), 1 => Just(Who::L), 2 => Just(Who::O)]
}

fn inbox() -> impl Strategy<Value = Inbox> {
    prop_oneof![Just(Inbox::One), Just(Inbox::Two)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => actor().prop_map(|by| Op::Accept { by }),
        2 => actor().prop_map(|by| Op::Return { by }),
        4 => (actor(), prop::option::weighted(0.8, who())).prop_map(|(by, to)| Op::Assign { by, to }),
        3 => (actor(), prop::option::weighted(0.7, inbox()), prop::option::weighted(0.5, who()))
            .prop_map(|(by, inbox, agent)| Op::Transfer { by, inbox, agent }),
        2 => actor().prop_map(|by| Op::Resolve { by }),
        2 => actor().prop_map(|by| Op::Reopen { by }),
        1 => actor().prop_map(|by| Op::Archive { by }),
        1 => actor().prop_map(|by| Op::Delete { by }),
        3 => actor().prop_map(|by| Op::Lock { by }),
        2 => actor().prop_map(|by| Op::Unlock { by }),
        2 => (actor(), prop_oneof![4 => Just(Who::O), 1 => Just(Who::A), 1 => Just(Who::L)])
            .prop_map(|(by, with)| Op::Share { by, with }),
        2 => (actor(), prop_oneof![4 => Just(Who::O), 1 => Just(Who::A)])
            .prop_map(|(by, agent)| Op::Unshare { by, agent }),
        7 => (who(), prop::bool::weighted(0.3)).prop_map(|(tab, take_over)| Op::Open { tab, take_over }),
        3 => who().prop_map(|tab| Op::Close { tab }),
        2 => who().prop_map(|tab| Op::ForceRelease { tab }),
    ]
}

// ---------------------------------------------------------------------------
// The reference model, from docs/protocol.md
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Pending,
    WorkingOn,
    Resolved,
    Archived,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::WorkingOn => "working_on",
            Status::Resolved => "resolved",
            Status::Archived => "archived",
        }
    }
}

/// What the server answers to one step.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Answer {
    /// A REST success with this status.
    Done(u16),
    /// A REST error: status, code, and `holder` for `ticket_claimed` / `ticket_locked`.
    Refused(u16, String, Option<Who>),
    /// The WebSocket `opened` answer.
    Opened { claimed: bool },
    /// A WebSocket frame with no answer on success (`close`, `force_release`).
    Quiet,
    /// A WebSocket `error` frame with this code.
    WsError(String),
}

fn refused(status: u16, code: &str) -> Answer {
    Answer::Refused(status, code.to_owned(), None)
}

/// A frame the server sends straight to a tab (not through the inbox).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Direct {
    ClaimLost { reason: String, by: Option<Who> },
    AccessRevoked,
}

#[derive(Clone, Debug)]
struct Model {
    deleted: bool,
    inbox: Inbox,
    status: Status,
    assignee: Option<Who>,
    lock: Option<Who>,
    shared_with: Vec<Who>,
    /// The claim's agent. Each agent has one tab, so it is also the holding tab.
    claim: Option<Who>,
    /// The agents whose tab has the ticket open, in the order they came.
    viewers: Vec<Who>,
    /// History actions, oldest first.
    history: Vec<&'static str>,
}

impl Model {
    fn new() -> Model {
        Model {
            deleted: false,
            inbox: Inbox::One,
            status: Status::Pending,
            assignee: None,
            lock: None,
            shared_with: Vec::new(),
            claim: None,
            viewers: Vec::new(),
            history: vec!["created"],
        }
    }

    /// §4: admins see everything; agents and light agents the tickets of their
    /// inboxes; agents (never light ones) also the tickets shared with them.
    fn sees_in(&self, who: Who, inbox: Inbox) -> bool {
        !self.deleted
            && (who == Who::Admin
                || who.member_of(inbox)
                || (who != Who::L && self.shared_with.contains(&who)))
    }

    fn sees(&self, who: Who) -> bool {
        self.sees_in(who, self.inbox)
    }

    /// §6.7.1 `assign`: a light agent, or one who cannot see the ticket (in
    /// `inbox`), cannot be given it.
    fn assignable_in(&self, who: Who, inbox: Inbox) -> bool {
        who != Who::L && self.sees_in(who, inbox)
    }

    /// §4: no access is 404; visible but not allowed (light agents) is 403.
    fn gate(&self, by: Who) -> Option<Answer> {
        if !self.sees(by) {
            Some(refused(404, "not_found"))
        } else if by == Who::L {
            Some(refused(403, "forbidden"))
        } else {
            None
        }
    }

    /// §6.8: another's hard lock (admins pass), then another's claim (admins too).
    fn collision(&self, by: Who) -> Option<Answer> {
        if let Some(holder) = self.lock.filter(|h| *h != by && by != Who::Admin) {
            return Some(Answer::Refused(409, "ticket_locked".into(), Some(holder)));
        }
        if let Some(holder) = self.claim.filter(|h| *h != by) {
            return Some(Answer::Refused(409, "ticket_claimed".into(), Some(holder)));
        }
        None
    }

    /// The tab of `who` stops viewing; its claim goes with it.
    fn leave(&mut self, who: Who) {
        self.viewers.retain(|v| *v != who);
        if self.claim == Some(who) {
            self.claim = None;
        }
    }

    /// Applies `op`; returns the answer and the frames sent straight to tabs.
    fn apply(&mut self, op: &Op) -> (Answer, Vec<(Who, Direct)>) {
        let mut direct = Vec::new();
        let answer = self.decide(op, &mut direct);
        (answer, direct)
    }

    fn decide(&mut self, op: &Op, direct: &mut Vec<(Who, Direct)>) -> Answer {
        use Status::*;
        let conflict = || refused(409, "conflict");
        match *op {
            Op::Accept { by } => {
                if let Some(no) = self.gate(by) {
                    return no;
                }
                // §6.7.1: accept's state check comes before the collision rules.
                if self.status != Pending || self.assignee.is_some() {
                    return conflict();
                }
                if let Some(no) = self.collision(by) {
                    return no;
                }
                self.assignee = Some(by);
                self.status = WorkingOn;
                // The caller viewing a free ticket in a visible tab now holds it.
                if self.claim.is_none() && self.viewers.contains(&by) {
                    self.claim = Some(by);
                }
                self.history.push("accepted");
                Answer::Done(200)
            }
            Op::Assign { by, to } => {
                if let Some(no) = self.gate(by).or_else(|| self.collision(by)) {
                    return no;
                }
                if to.is_some_and(|t| !self.assignable_in(t, self.inbox)) {
                    return conflict();
                }
                let status = if to.is_some() { WorkingOn } else { Pending };
                if to == self.assignee && status == self.status {
                    return Answer::Done(200); // changes nothing at all
                }
                // Assigning to anyone but the holder releases the claim; unassigning keeps it.
                if to.is_some() && to != self.claim {
                    self.claim = None;
                }
                self.assignee = to;
                self.status = status;
                self.history.push(if to.is_some() {
                    "assigned"
                } else {
                    "unassigned"
                });
                Answer::Done(200)
            }
            Op::Return { by } => {
                if let Some(no) = self.gate(by).or_else(|| self.collision(by)) {
                    return no;
                }
                if self.status == Pending && self.assignee.is_none() {
                    return conflict();
                }
                self.status = Pending;
                self.assignee = None;
                self.claim = None;
                self.history.push("returned");
                Answer::Done(200)
            }
            Op::Transfer { by, inbox, agent } => {
                if let Some(no) = self.gate(by).or_else(|| self.collision(by)) {
                    return no;
                }
                if inbox.is_none() && agent.is_none() {
                    return refused(400, "bad_request");
                }
                let target = inbox.unwrap_or(self.inbox);
                if agent.is_some_and(|a| !self.assignable_in(a, target)) {
                    return conflict();
                }
                let assignee = agent.or(self.assignee.filter(|a| self.assignable_in(*a, target)));
                if target == self.inbox && assignee == self.assignee {
                    return conflict(); // "the ticket is already there"
                }
                if agent.is_some() {
                    self.status = WorkingOn;
                } else if self.assignee.is_some() && assignee.is_none() {
                    self.status = Pending;
                }
                self.inbox = target;
                self.assignee = assignee;
                self.claim = None; // always released (`moved`)
                self.history.push("transferred");
                // Tabs of agents who cannot see it in its new inbox are taken off it.
                for agent in self.viewers.clone() {
                    if !self.sees(agent) {
                        self.leave(agent);
                        direct.push((agent, Direct::AccessRevoked));
                    }
                }
                Answer::Done(200)
            }
            Op::Resolve { by } | Op::Reopen { by } | Op::Archive { by } => {
                if let Some(no) = self.gate(by).or_else(|| self.collision(by)) {
                    return no;
                }
                let (allowed, to, release) = match op {
                    Op::Resolve { .. } => {
                        (matches!(self.status, Pending | WorkingOn), Resolved, true)
                    }
                    Op::Reopen { .. } => (
                        matches!(self.status, Resolved | Archived),
                        if self.assignee.is_some() {
                            WorkingOn
                        } else {
                            Pending
                        },
                        false,
                    ),
                    _ => (self.status != Archived, Archived, true),
                };
                if !allowed {
                    return conflict();
                }
                self.status = to;
                if release {
                    self.claim = None;
                }
                self.history.push("status_changed");
                Answer::Done(200)
            }
            Op::Delete { by } => {
                if let Some(no) = self.gate(by).or_else(|| self.collision(by)) {
                    return no;
                }
                self.deleted = true;
                self.claim = None;
                self.viewers.clear();
                self.lock = None;
                self.history.push("deleted");
                Answer::Done(204)
            }
            Op::Lock { by } => {
                if let Some(no) = self.gate(by).or_else(|| self.collision(by)) {
                    return no;
                }
                self.lock = Some(by); // renews its own, or an admin replaces another's
                self.history.push("locked");
                Answer::Done(200)
            }
            Op::Unlock { by } => {
                // §4 table: light agents 403; §6.7.2: holder or admin, else 403; not locked 409.
                if let Some(no) = self.gate(by) {
                    return no;
                }
                let Some(holder) = self.lock else {
                    return conflict();
                };
                if holder != by && by != Who::Admin {
                    return refused(403, "forbidden");
                }
                self.lock = None;
                self.history.push("unlocked");
                Answer::Done(204)
            }
            Op::Share { by, with } => {
                // §6.7.6: access, setting (on), another's lock, then the named agent.
                if let Some(no) = self.gate(by) {
                    return no;
                }
                if let Some(holder) = self.lock.filter(|h| *h != by && by != Who::Admin) {
                    return Answer::Refused(409, "ticket_locked".into(), Some(holder));
                }
                if with == Who::L {
                    return conflict();
                }
                if !self.shared_with.contains(&with) {
                    self.shared_with.push(with);
                    self.history.push("shared");
                }
                Answer::Done(200)
            }
            Op::Unshare { by, agent } => {
                if let Some(no) = self.gate(by) {
                    return no;
                }
                if let Some(holder) = self.lock.filter(|h| *h != by && by != Who::Admin) {
                    return Answer::Refused(409, "ticket_locked".into(), Some(holder));
                }
                if !self.shared_with.contains(&agent) {
                    return refused(404, "not_found");
                }
                self.shared_with.retain(|a| *a != agent);
                self.history.push("unshared");
                // Losing access takes the agent's tab off the ticket, claim and all.
                if !self.sees(agent) && self.viewers.contains(&agent) {
                    self.leave(agent);
                    direct.push((agent, Direct::AccessRevoked));
                }
                Answer::Done(204)
            }
            Op::Open { tab, take_over } => {
                if !self.sees(tab) {
                    // §7.3: a failed re-open of the tab's own ticket releases it as `close` does.
                    self.leave(tab);
                    return Answer::WsError("not_found".into());
                }
                if !self.viewers.contains(&tab) {
                    self.viewers.push(tab);
                }
                if tab == Who::L {
                    return Answer::Opened { claimed: false }; // light agents only view
                }
                match self.claim {
                    None => self.claim = Some(tab),
                    Some(holder) if holder == tab => {}
                    Some(holder) if take_over => {
                        direct.push((
                            holder,
                            Direct::ClaimLost {
                                reason: "forced".into(),
                                by: Some(tab),
                            },
                        ));
                        self.claim = Some(tab);
                        self.history.push("claim_forced");
                    }
                    Some(_) => return Answer::Opened { claimed: false },
                }
                Answer::Opened { claimed: true }
            }
            Op::Close { tab } => {
                self.leave(tab);
                Answer::Quiet
            }
            Op::ForceRelease { tab } => {
                if !self.sees(tab) {
                    return Answer::WsError("not_found".into());
                }
                if tab == Who::L {
                    return Answer::WsError("forbidden".into());
                }
                if let Some(holder) = self.claim.filter(|h| *h != tab) {
                    direct.push((
                        holder,
                        Direct::ClaimLost {
                            reason: "forced".into(),
                            by: Some(tab),
                        },
                    ));
                    self.claim = None;
                    self.history.push("claim_forced");
                }
                Answer::Quiet
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The real server
// ---------------------------------------------------------------------------

/// The server, its two inboxes and the cast, shared by every case.
struct World {
    server: TestServer,
    inboxes: [String; 2],
    apis: Vec<Api>,
}

impl World {
    async fn new() -> World {
        // Tabs here send a few frames per step, a lot faster than people do.
        let s = Scenario::setup()
            .config("frames_per_s = 100000\nframes_burst = 100000\nmax_sockets_per_agent = 100\n")
            .inbox("One")
            .inbox("Two")
            .agent("anna", &["One"])
            .agent("bruno", &["One", "Two"])
            .light("lena", &["One"])
            .agent("omar", &["Two"])
            .settings(json!({"ticket_sharing_enabled": true}))
            .start()
            .await;
        // In the order of `Who::index`.
        let mut apis = vec![s.admin.clone()];
        apis.extend(["anna", "bruno", "lena", "omar"].map(|handle| s.agent(handle).clone()));
        World {
            inboxes: [s.inbox("One").to_owned(), s.inbox("Two").to_owned()],
            apis,
            server: s.server,
        }
    }

    fn api(&self, who: Who) -> &Api {
        &self.apis[who.index()]
    }

    fn inbox_id(&self, inbox: Inbox) -> &str {
        &self.inboxes[inbox as usize]
    }

    fn who(&self, id: &str) -> Result<Who, String> {
        CAST.into_iter()
            .find(|w| self.api(*w).id == id)
            .ok_or_else(|| format!("unknown agent id {id}"))
    }

    fn who_of(&self, agent_ref: &Value) -> Result<Option<Who>, String> {
        match agent_ref["id"].as_str() {
            Some(id) => self.who(id).map(Some),
            None if agent_ref.is_null() => Ok(None),
            None => Err(format!("not an AgentRef: {agent_ref}")),
        }
    }

    /// Runs one case on a fresh ticket with fresh tabs; the tabs are closed
    /// whatever the outcome.
    async fn run(&self, ops: &[Op]) -> Result<(), String> {
        let admin = self.api(Who::Admin);
        let ticket = admin
            .create_ticket(self.inbox_id(Inbox::One), "Lifecycle")
            .await["id"]
            .as_str()
            .expect("ticket id")
            .to_owned();
        let mut tabs = Vec::new();
        for who in CAST {
            tabs.push(Tab::connect(&self.server, self.api(who)).await?);
        }
        // Two more admin tabs only take snapshots, one of each inbox.
        let observers = [
            Tab::connect(&self.server, admin).await?,
            Tab::connect(&self.server, admin).await?,
        ];
        let mut model = Model::new();
        let mut case = Case {
            world: self,
            ticket,
            tabs,
            observers,
            serial: 0,
            opened: None,
        };
        let mut outcome = Ok(());
        let mut after_delete = 0;
        for (step, op) in ops.iter().enumerate() {
            if let Err(e) = case.step(&mut model, op).await {
                outcome = Err(format!("step {step}, {op:?}: {e}"));
                break;
            }
            // A few steps on the deleted ticket (all 404 / not_found), then the case is over.
            after_delete += usize::from(model.deleted);
            if after_delete > 3 {
                break;
            }
        }
        for tab in case.tabs.iter_mut().chain(case.observers.iter_mut()) {
            tab.close().await;
        }
        outcome
    }
}

/// One tab: a WebSocket and the frames it got that nobody looked at yet.
struct Tab {
    ws: Ws,
    unread: Vec<Value>,
}

const WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Tab {
    async fn connect(server: &TestServer, api: &Api) -> Result<Tab, String> {
        // No Nagle: a frame sent right after another (`close`, then the ping) must not wait for an ACK.
        let (socket, _) = tokio_tungstenite::connect_async_with_config(server.ws_url(), None, true)
            .await
            .map_err(|e| format!("ws connect: {e}"))?;
        let mut tab = Tab {
            ws: Ws { socket },
            unread: Vec::new(),
        };
        tab.send(json!({"type": "hello", "token": api.token}))
            .await?;
        let welcome = tab.next().await?;
        if welcome["type"] != "welcome" {
            return Err(format!("no welcome: {welcome}"));
        }
        Ok(tab)
    }

    async fn send(&mut self, frame: Value) -> Result<(), String> {
        self.ws
            .socket
            .send(Message::text(frame.to_string()))
            .await
            .map_err(|e| format!("ws send: {e}"))
    }

    /// The next data frame, within [`WAIT`].
    async fn next(&mut self) -> Result<Value, String> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.socket.next())
                .await
                .map_err(|_| "no frame in time".to_owned())?;
            match next {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(&text)
                        .map_err(|e| format!("bad frame {text}: {e}"));
                }
                Some(Ok(Message::Close(close))) => return Err(format!("socket closed: {close:?}")),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(format!("socket error: {e}")),
                None => return Err("socket ended".into()),
            }
        }
    }

    /// The frame answering `reference`; frames before it are kept as unread.
    async fn answer(&mut self, reference: &str) -> Result<Value, String> {
        loop {
            let frame = self.next().await?;
            if frame["ref"] == reference {
                return Ok(frame);
            }
            self.unread.push(frame);
        }
    }

    /// Round-trips a ping; every frame sent straight to this tab before it is now unread.
    async fn sync(&mut self, reference: &str) -> Result<(), String> {
        self.send(json!({"type": "ping", "ref": reference})).await?;
        let pong = self.answer(reference).await?;
        if pong["type"] != "pong" {
            return Err(format!("not a pong: {pong}"));
        }
        Ok(())
    }

    async fn close(&mut self) {
        let _ = self.ws.socket.close(None).await;
    }
}

struct Case<'w> {
    world: &'w World,
    ticket: String,
    tabs: Vec<Tab>,
    observers: [Tab; 2],
    serial: u64,
    /// The presence in the last `opened` answer.
    opened: Option<Value>,
}

/// The state the test can observe, in the model's terms.
#[derive(Debug, PartialEq)]
struct Seen {
    inbox: Inbox,
    status: String,
    assignee: Option<Who>,
    lock: Option<Who>,
    shared_with: Vec<Who>,
    claim: Option<Who>,
    viewers: Vec<Who>,
}

impl Seen {
    fn of(model: &Model) -> Seen {
        Seen {
            inbox: model.inbox,
            status: model.status.as_str().to_owned(),
            assignee: model.assignee,
            lock: model.lock,
            shared_with: model.shared_with.clone(),
            claim: model.claim,
            viewers: model.viewers.clone(),
        }
    }
}

/// Presence as a snapshot shows it: (claim, viewers, lock).
type Live = (Option<Who>, Vec<Who>, Option<Who>);

impl Case<'_> {
    fn next_ref(&mut self) -> String {
        self.serial += 1;
        format!("r{}", self.serial)
    }

    fn path(&self, tail: &str) -> String {
        format!("/api/tickets/{}{tail}", self.ticket)
    }

    async fn step(&mut self, model: &mut Model, op: &Op) -> Result<(), String> {
        let before = model.clone();
        let (expected, direct) = model.apply(op);
        let reference = self.next_ref();
        let answer = self.perform(op, &reference).await?;
        if answer != expected {
            return Err(format!(
                "answered {answer:?}, the model expected {expected:?}"
            ));
        }
        if let Some(presence) = self.opened.take() {
            // `opened` carries the whole presence after the decision.
            let w = self.world;
            let live = (
                w.who_of(&presence["claim"]["agent"])?,
                agents(w, &presence["viewers"])?,
                w.who_of(&presence["lock"]["agent"])?,
            );
            let expected = (model.claim, model.viewers.clone(), model.lock);
            if live != expected {
                return Err(format!(
                    "opened shows {live:?}, the model expects {expected:?}"
                ));
            }
        }
        self.check_direct_frames(&reference, direct).await?;
        self.check_state(model)
            .await
            .map_err(|e| format!("{e}\n  model before: {before:?}"))
    }

    /// Sends `op` to the server; its answer in the model's terms.
    async fn perform(&mut self, op: &Op, reference: &str) -> Result<Answer, String> {
        let w = self.world;
        let id = |who: Option<Who>| who.map(|w2| w.api(w2).id.clone());
        let resp = match *op {
            Op::Accept { by } => w.api(by).post(self.path("/accept"), json!({})).await,
            Op::Return { by } => w.api(by).post(self.path("/return"), json!({})).await,
            Op::Assign { by, to } => {
                w.api(by)
                    .post(self.path("/assign"), json!({"agent": id(to)}))
                    .await
            }
            Op::Transfer { by, inbox, agent } => {
                let inbox = inbox.map(|i| w.inbox_id(i).to_owned());
                w.api(by)
                    .post(
                        self.path("/transfer"),
                        json!({"agent": id(agent), "inbox": inbox}),
                    )
                    .await
            }
            Op::Resolve { by } => w.api(by).post(self.path("/resolve"), json!({})).await,
            Op::Reopen { by } => w.api(by).post(self.path("/reopen"), json!({})).await,
            Op::Archive { by } => w.api(by).post(self.path("/archive"), json!({})).await,
            Op::Delete { by } => w.api(by).delete(self.path("")).await,
            Op::Lock { by } => w.api(by).put(self.path("/lock")).await,
            Op::Unlock { by } => w.api(by).delete(self.path("/lock")).await,
            Op::Share { by, with } => {
                w.api(by)
                    .post(self.path("/shares"), json!({"agent": id(Some(with))}))
                    .await
            }
            Op::Unshare { by, agent } => {
                w.api(by)
                    .delete(self.path(&format!("/shares/{}", w.api(agent).id)))
                    .await
            }
            Op::Open { tab, take_over } => {
                let frame = json!({"type": "open", "ticket": self.ticket, "take_over": take_over, "ref": reference});
                let tab = &mut self.tabs[tab.index()];
                tab.send(frame).await?;
                let answer = tab.answer(reference).await?;
                return match answer["type"].as_str() {
                    Some("opened") => {
                        let claimed = answer["claimed"]
                            .as_bool()
                            .ok_or("opened without claimed")?;
                        self.opened = Some(answer["presence"].clone());
                        Ok(Answer::Opened { claimed })
                    }
                    Some("error") => Ok(Answer::WsError(
                        answer["code"].as_str().unwrap_or("").to_owned(),
                    )),
                    _ => Err(format!("unexpected answer to open: {answer}")),
                };
            }
            Op::Close { tab } | Op::ForceRelease { tab } => {
                let kind = if matches!(op, Op::Close { .. }) {
                    "close"
                } else {
                    "force_release"
                };
                let frame = json!({"type": kind, "ticket": self.ticket, "ref": reference});
                let tab = &mut self.tabs[tab.index()];
                tab.send(frame).await?;
                // No answer on success: an error would come before the pong.
                tab.sync(&format!("{reference}-sync")).await?;
                return match tab.unread.iter().position(|f| f["ref"] == reference) {
                    Some(i) => {
                        let error = tab.unread.remove(i);
                        Ok(Answer::WsError(
                            error["code"].as_str().unwrap_or("").to_owned(),
                        ))
                    }
                    None => Ok(Answer::Quiet),
                };
            }
        };
        if resp.status < 300 {
            self.check_success_body(op, &resp)?;
            return Ok(Answer::Done(resp.status));
        }
        let holder = self.world.who_of(&resp.body["error"]["holder"])?;
        Ok(Answer::Refused(resp.status, resp.code().to_owned(), holder))
    }

    /// What a successful REST step answers must agree with what it did.
    fn check_success_body(&self, op: &Op, resp: &Resp) -> Result<(), String> {
        let w = self.world;
        match *op {
            Op::Lock { by } => {
                if w.who_of(&resp.body["agent"])? != Some(by) {
                    return Err(format!("lock answered {}", resp.body));
                }
            }
            Op::Share { .. } => {
                if !resp.body["shared_with"].is_array() {
                    return Err(format!("share answered {}", resp.body));
                }
            }
            Op::Delete { .. } | Op::Unlock { .. } | Op::Unshare { .. } => {
                if resp.status != 204 {
                    return Err(format!("expected 204, got {} {}", resp.status, resp.body));
                }
            }
            _ => {
                if resp.body["id"] != self.ticket.as_str() || !resp.body["status"].is_string() {
                    return Err(format!("a step answered {}", resp.body));
                }
            }
        }
        Ok(())
    }

    /// Syncs every tab and compares the frames sent straight to tabs
    /// (`claim_lost`, `access_revoked`, `error`) with the model's.
    async fn check_direct_frames(
        &mut self,
        reference: &str,
        expected: Vec<(Who, Direct)>,
    ) -> Result<(), String> {
        let (w, ticket) = (self.world, self.ticket.as_str());
        let [one, two] = &mut self.observers;
        futures_util::try_join!(
            snapshot(w, one, Inbox::One, ticket),
            snapshot(w, two, Inbox::Two, ticket)
        )?;
        let sync = format!("{reference}-after");
        let synced = join_all(self.tabs.iter_mut().map(|tab| tab.sync(&sync))).await;
        synced.into_iter().collect::<Result<Vec<()>, String>>()?;
        let mut got = Vec::new();
        for who in CAST {
            for frame in self.tabs[who.index()].unread.drain(..) {
                match frame["type"].as_str() {
                    Some("claim_lost") => {
                        let reason = frame["reason"].as_str().unwrap_or("").to_owned();
                        if frame["ticket"] != self.ticket.as_str() {
                            return Err(format!("claim_lost of another ticket: {frame}"));
                        }
                        got.push((
                            who,
                            Direct::ClaimLost {
                                reason,
                                by: self.world.who_of(&frame["by"])?,
                            },
                        ));
                    }
                    Some("access_revoked") => got.push((who, Direct::AccessRevoked)),
                    Some("error") => {
                        return Err(format!("{who:?}'s tab got an unexpected error: {frame}"));
                    }
                    _ => {}
                }
            }
        }
        let mut expected = expected;
        got.sort();
        expected.sort();
        if got != expected {
            return Err(format!("tabs got {got:?}, the model expected {expected:?}"));
        }
        Ok(())
    }

    /// Compares what the server shows of the ticket with the model.
    async fn check_state(&mut self, model: &Model) -> Result<(), String> {
        let w = self.world;
        // First the detail: it asks the ticket actor, so anything a tab sent
        // the ticket before (a `close`) has been handled, and published.
        let detail = w.api(Who::Admin).get(self.path("")).await;
        if model.deleted {
            if detail.status != 404 {
                return Err(format!(
                    "a deleted ticket answers {} {}",
                    detail.status, detail.body
                ));
            }
        } else {
            if detail.status != 200 {
                return Err(format!("GET answered {} {}", detail.status, detail.body));
            }
            let seen = self.seen(&detail.body)?;
            let expected = Seen::of(model);
            if seen != expected {
                return Err(format!(
                    "the server shows\n    {seen:?}\n  the model expects\n    {expected:?}"
                ));
            }
        }
        // Then, at once: the history, who may see it, and both inboxes' snapshots
        // (the ticket's inbox shows its live presence, the other nothing).
        let ticket = self.ticket.as_str();
        let history = async {
            if model.deleted {
                return Ok(());
            }
            let history = w
                .api(Who::Admin)
                .get(format!("/api/tickets/{ticket}/history"))
                .await;
            let actions: Vec<&str> = history
                .body
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["action"].as_str())
                .collect();
            if actions != model.history {
                return Err(format!(
                    "history {actions:?}, the model expects {:?}",
                    model.history
                ));
            }
            Ok(())
        };
        let access = async {
            let agents = [Who::A, Who::B, Who::L, Who::O];
            let gets =
                join_all(agents.map(|who| w.api(who).get(format!("/api/tickets/{ticket}")))).await;
            for (who, resp) in agents.into_iter().zip(gets) {
                let expected = if model.sees(who) { 200 } else { 404 };
                if resp.status != expected {
                    return Err(format!(
                        "GET as {who:?} answered {}, the model expects {expected}",
                        resp.status
                    ));
                }
            }
            Ok(())
        };
        let [one, two] = &mut self.observers;
        let snapshots = [(Inbox::One, one), (Inbox::Two, two)].map(|(inbox, tab)| async move {
            let live = snapshot(w, tab, inbox, ticket).await?;
            let expected: Option<Live> = (!model.deleted
                && inbox == model.inbox
                && (model.claim.is_some() || !model.viewers.is_empty() || model.lock.is_some()))
            .then(|| (model.claim, model.viewers.clone(), model.lock));
            if live != expected {
                return Err(format!(
                    "snapshot of {inbox:?} shows {live:?}, the model expects {expected:?}"
                ));
            }
            Ok(())
        });
        let [one, two] = snapshots;
        let (history, access, one, two) = futures_util::join!(history, access, one, two);
        history.and(access).and(one).and(two)
    }

    fn seen(&self, t: &Value) -> Result<Seen, String> {
        let w = self.world;
        let inbox = match t["inbox"].as_str() {
            Some(i) if i == w.inbox_id(Inbox::One) => Inbox::One,
            Some(i) if i == w.inbox_id(Inbox::Two) => Inbox::Two,
            _ => return Err(format!("unknown inbox in {t}")),
        };
        let assignee = match t["assignee"].as_str() {
            Some(id) => Some(w.who(id)?),
            None => None,
        };
        Ok(Seen {
            inbox,
            status: t["status"].as_str().unwrap_or("").to_owned(),
            assignee,
            lock: w.who_of(&t["lock"]["agent"])?,
            shared_with: agents(w, &t["shared_with"])?,
            claim: w.who_of(&t["claim"]["agent"])?,
            viewers: agents(w, &t["viewers"])?,
        })
    }
}

fn agents(w: &World, list: &Value) -> Result<Vec<Who>, String> {
    let list = list
        .as_array()
        .ok_or_else(|| format!("not a list: {list}"))?;
    list.iter()
        .map(|a| w.who(a["id"].as_str().unwrap_or("")))
        .collect()
}

/// `ticket`'s entry in a fresh snapshot of `inbox` (`None`: not there).
async fn snapshot(
    w: &World,
    tab: &mut Tab,
    inbox: Inbox,
    ticket: &str,
) -> Result<Option<Live>, String> {
    let reference = format!("snapshot-{inbox:?}");
    tab.send(json!({"type": "subscribe", "inbox": w.inbox_id(inbox), "ref": reference}))
        .await?;
    let snapshot = tab.answer(&reference).await?;
    tab.unread.clear(); // the inbox's own frames: not looked at
    if snapshot["type"] != "snapshot" {
        return Err(format!("not a snapshot: {snapshot}"));
    }
    let entries = snapshot["presence"].as_array().into_iter().flatten();
    let Some(entry) = entries.into_iter().find(|p| p["ticket"] == ticket) else {
        return Ok(None);
    };
    let live = (
        w.who_of(&entry["claim"]["agent"])?,
        agents(w, &entry["viewers"])?,
        w.who_of(&entry["lock"]["agent"])?,
    );
    Ok(Some(live))
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// 20–40 steps. Each is an `Option` (almost always `Some`) only so that
/// shrinking can drop steps below 20 (a `Some` shrinks to `None`, which is
/// skipped): a failure then reads as the few steps that matter.
fn steps() -> impl Strategy<Value = Vec<Option<Op>>> {
    prop::collection::vec(prop::option::weighted(0.999, op()), 20..=40)
}

#[test]
fn ticket_lifecycle_matches_the_reference_model() {
    let system = actix_rt::System::new();
    let world = system.block_on(World::new());
    let config = contextualize_config(ProptestConfig {
        cases: 16,
        max_shrink_iters: 4096,
        max_shrink_time: 120_000,
        source_file: Some(file!()),
        ..ProptestConfig::default()
    });
    let mut runner = TestRunner::new(config);
    let result = runner.run(&steps(), |steps| {
        let ops: Vec<Op> = steps.into_iter().flatten().collect();
        system
            .block_on(world.run(&ops))
            .map_err(TestCaseError::fail)
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, steps)) => {
            let steps: Vec<String> = steps
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, op)| format!("  {i:2}: {op}"))
                .collect();
            panic!(
                "the server and the model disagree\n{reason}\nminimal steps:\n{}",
                steps.join("\n")
            );
        }
        Err(TestError::Abort(reason)) => panic!("aborted: {reason}"),
    }
}
