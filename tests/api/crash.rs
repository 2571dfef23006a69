//! Crash safety (issue #10, point 1): the real binary under a concurrent
//! write load, killed with SIGKILL at random moments and restarted on the
//! same data directory, again and again.
//!
//! Each cycle: verify everything the model knows, run a write load from
//! several tasks for a random 50–400 ms, SIGKILL the server while requests
//! are in flight, check the crashed redb file, restart.
//!
//! The model holds every write the server acknowledged (answered 2xx), and
//! the writes that were in flight at the kill ("unknown": no answer). After a
//! restart:
//! - every acknowledged write is there, whole;
//! - an unknown write is either absent or there as a whole: a ticket with its
//!   number, subject, customer and first message; a note or scheduled reply
//!   with its full body; an assignment, lock, unlock, share or unshare with
//!   its history entry, its effect on the ticket and its notification; and
//!   nothing else appears;
//! - ticket numbers are 1..=N, unique and without gaps, and new tickets
//!   continue at N+1;
//! - hard locks keep their `expires_at`, and a lock whose time came (while
//!   the server ran, or while it was down) is released by its timer, with its
//!   `lock_expired` entry and notification;
//! - scheduled replies keep their `send_at`, and the ones whose time came are
//!   sent, once;
//! - drafts have no durable acknowledgement (docs §7.5.6: saved about once a
//!   second, "at most about a second of typing is lost"), so a draft seen
//!   after a restart must be a text that was typed for that ticket and kind,
//!   never an older one than a draft seen after an earlier restart; and one
//!   whose last change came [`DRAFT_PERSIST_BOUND`] before the kill must be
//!   there. Since drafts are saved only once a second, the drafter types from
//!   right after the restart (once the persisted drafts were read) until the
//!   kill, and every fifth cycle waits [`QUIET`] before the other writes
//!   start, so that some drafts are old enough to count.
//!
//! To keep the model exact, every ticket belongs to one worker task, which
//! writes to it one request at a time: so at most one write per ticket is
//! unknown at a kill, and each verification resolves it (the model then
//! equals what the server shows).
//!
//! The seed is printed; `TANDEM_CRASH_SEED=<seed>` replays the same choices
//! (the timing of a loaded machine still varies).

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::rt::time::sleep;
use awc::http::Method;
use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::process::Process;
use crate::support::Api;

/// Kills (and restarts) per run; each is preceded and followed by a full verification.
const CYCLES: usize = 25;
/// Tasks writing to their own tickets; one more creates tickets, one more types drafts.
const WORKERS: usize = 6;
/// How long a cycle's load runs before the kill, in ms.
const LOAD_MS: std::ops::RangeInclusive<u64> = 50..=400;
/// How long the server stays down, in ms (so some timers come due meanwhile).
const DOWN_MS: std::ops::RangeInclusive<u64> = 0..=300;
/// `hard_lock_auto_unlock_s` during the run: locks expire a cycle or two later.
const LOCK_TTL_MS: i64 = 2000;
/// How far ahead replies are scheduled, in ms: some go out before the kill,
/// most while the server is down or in a later cycle.
const SEND_AHEAD_MS: std::ops::Range<i64> = 300..2500;
/// How long a timer that came due may take to fire after a restart.
const TIMER_GRACE: Duration = Duration::from_secs(5);
/// A draft unchanged for this long before the kill must have been saved
/// (saved once a second, plus a second for a slow machine).
const DRAFT_PERSIST_BOUND: i64 = 2000;
/// Every fifth cycle, the drafter types alone this long before the load.
const QUIET: Duration = Duration::from_millis(2500);
const ADMIN_PASSWORD: &str = "secret";
/// The server's config: two worker threads (the machine is small) and a
/// short shutdown for the final SIGTERM.
const CONFIG: &str = "[server]\nworkers = 2\nshutdown_timeout_s = 1\n";

#[actix_web::test]
async fn acknowledged_writes_survive_sigkill_at_random_moments() {
    let seed = std::env::var("TANDEM_CRASH_SEED")
        .ok()
        .map(|s| s.parse().expect("TANDEM_CRASH_SEED is a u64"))
        .unwrap_or_else(rand::random::<u64>);
    println!("crash test seed {seed} (replay with TANDEM_CRASH_SEED={seed})");
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("tandem.toml");
    std::fs::write(&config, CONFIG).unwrap();

    let mut process = start_server(&data, &config, true);
    let mut model = Model::setup(&process.base(), &mut rng).await;
    let mut times = Times {
        killed_at: None,
        restarted_at: now_ms(),
    };
    for cycle in 1..=CYCLES {
        // Drafts first: nothing has been typed since the restart yet.
        model.check_drafts(&process.base()).await;
        let killed = Rc::new(Cell::new(false));
        let drafter = model.start_drafter(&process.base(), cycle, &mut rng, &killed);
        model.verify(&process.base(), &times).await;
        if cycle % 5 == 0 {
            sleep(QUIET).await;
        }
        let killed_at = model
            .load_then_kill(&mut process, cycle, &mut rng, &killed)
            .await;
        model.typed(
            drafter
                .await
                .expect("the drafter failed (its panic is above)"),
            killed_at,
        );
        check_redb_file(&data, dir.path());
        sleep(Duration::from_millis(rng.random_range(DOWN_MS))).await;
        process = start_server(&data, &config, false);
        times = Times {
            killed_at: Some(killed_at),
            restarted_at: now_ms(),
        };
        model.stats.cycles = cycle;
    }
    model.check_drafts(&process.base()).await;
    model.verify(&process.base(), &times).await;
    let status = process.terminate_keep();
    process
        .all_output()
        .iter()
        .for_each(|line| assert_clean(line));
    assert!(
        status.success(),
        "a clean shutdown after all that: {status:?}"
    );
    check_redb_file(&data, dir.path());
    model.stats.print(started.elapsed());
}

// ---------------------------------------------------------------------------
// The model

/// An agent and its bearer token (tokens are stored hashed and survive restarts).
#[derive(Clone)]
struct Agent {
    id: String,
    token: String,
}

impl Agent {
    fn api(&self, base: &str) -> Api {
        let mut api = Api::at(base).with_token(&self.token);
        api.id = self.id.clone();
        api
    }
}

/// A history entry as the model expects it.
#[derive(Clone, Debug)]
struct Entry {
    action: String,
    actor: Option<String>,
    /// `detail.agent`, where the action names one.
    agent: Option<String>,
    /// `detail.expires_at` of a `locked` entry (ms); in an expectation, `None` matches any.
    expires_ms: Option<i64>,
}

impl Entry {
    fn new(action: &str, actor: &str, agent: Option<&str>) -> Entry {
        Entry {
            action: action.into(),
            actor: Some(actor.into()),
            agent: agent.map(Into::into),
            expires_ms: None,
        }
    }

    fn parse(v: &Value) -> Entry {
        Entry {
            action: v["action"].as_str().unwrap().into(),
            actor: v["actor"]["id"].as_str().map(Into::into),
            agent: v["detail"]["agent"].as_str().map(Into::into),
            expires_ms: v["detail"]["expires_at"].as_str().map(parse_ms),
        }
    }

    fn matches(&self, observed: &Entry) -> bool {
        self.action == observed.action
            && self.actor == observed.actor
            && self.agent == observed.agent
            && (self.expires_ms.is_none() || self.expires_ms == observed.expires_ms)
    }
}

#[derive(Clone, Debug)]
struct LockModel {
    agent: String,
    /// Unknown for a lock taken by a write that was in flight and has expired since.
    since: Option<String>,
    expires_ms: i64,
}

#[derive(Clone, Debug)]
struct Reply {
    id: String,
    body: String,
    /// `None`: the server handled it after its `send_at` and sent it at once.
    send_at: Option<i64>,
    sent: bool,
}

#[derive(Clone, Debug)]
struct TicketModel {
    id: String,
    number: u64,
    subject: String,
    customer: (String, String),
    /// The first (customer) message.
    body: String,
    /// The worker that writes to it; `None` for the admin's long-locked ticket.
    owner: Option<usize>,
    assignee: Option<String>,
    shared: bool,
    lock: Option<LockModel>,
    /// Every history entry but `lock_expired` (timers decide when those come).
    history: Vec<Entry>,
    lock_expired: usize,
    /// Notes: (id, body).
    notes: Vec<(String, String)>,
    replies: Vec<Reply>,
}

/// A ticket creation: what was sent.
#[derive(Clone, Debug)]
struct NewTicket {
    subject: String,
    customer: (String, String),
    body: String,
}

impl NewTicket {
    fn new(tag: &str, rng: &mut StdRng) -> NewTicket {
        NewTicket {
            subject: format!("Crash ticket {tag}"),
            customer: (format!("Customer {tag}"), format!("{tag}@example.com")),
            body: text(rng, &format!("first message of {tag}")),
        }
    }

    fn request(&self, inbox: &str) -> Value {
        json!({
            "inbox": inbox, "subject": self.subject, "body": self.body,
            "customer": {"name": self.customer.0, "contact": self.customer.1},
        })
    }

    fn ticket(self, id: &str, number: u64, admin: &str) -> TicketModel {
        TicketModel {
            id: id.into(),
            number,
            subject: self.subject,
            customer: self.customer,
            body: self.body,
            owner: Some(number as usize % WORKERS),
            assignee: None,
            shared: false,
            lock: None,
            history: vec![Entry::new("created", admin, None)],
            lock_expired: 0,
            notes: Vec::new(),
            replies: Vec::new(),
        }
    }
}

/// One write a worker makes to one of its tickets.
#[derive(Clone, Debug)]
enum Write {
    Note(String),
    Assign(Option<String>),
    Lock,
    Unlock,
    Share,
    Unshare,
    Schedule { body: String, send_at: i64 },
}

/// What the answer to a write (or, for an unknown write, the restarted server) says about it.
enum Outcome {
    Message {
        id: String,
        send_at: Option<i64>,
        sent: bool,
    },
    Lock {
        since: Option<String>,
        expires_ms: i64,
    },
    Done,
}

impl Write {
    fn kind(&self) -> &'static str {
        match self {
            Write::Note(_) => "note",
            Write::Assign(_) => "assign",
            Write::Lock => "lock",
            Write::Unlock => "unlock",
            Write::Share => "share",
            Write::Unshare => "unshare",
            Write::Schedule { .. } => "scheduled reply",
        }
    }

    fn request(&self, ticket: &str, outsider: &str) -> (Method, String, Option<Value>) {
        let at = |rest: &str| format!("/api/tickets/{ticket}{rest}");
        match self {
            Write::Note(body) => (
                Method::POST,
                at("/messages"),
                Some(json!({"kind": "note", "body": body})),
            ),
            Write::Assign(agent) => (Method::POST, at("/assign"), Some(json!({"agent": agent}))),
            Write::Lock => (Method::PUT, at("/lock"), None),
            Write::Unlock => (Method::DELETE, at("/lock"), None),
            Write::Share => (
                Method::POST,
                at("/shares"),
                Some(json!({"agent": outsider})),
            ),
            Write::Unshare => (Method::DELETE, at(&format!("/shares/{outsider}")), None),
            Write::Schedule { body, send_at } => (
                Method::POST,
                at("/messages"),
                Some(json!({"kind": "reply", "body": body, "send_at": rfc3339(*send_at)})),
            ),
        }
    }

    /// The history entry the write records, in the same transaction (messages are not history).
    fn entry(&self, actor: &str, outsider: &str) -> Option<Entry> {
        Some(match self {
            Write::Note(_) | Write::Schedule { .. } => return None,
            Write::Assign(Some(agent)) => Entry::new("assigned", actor, Some(agent)),
            Write::Assign(None) => Entry::new("unassigned", actor, None),
            Write::Lock => Entry::new("locked", actor, None),
            Write::Unlock => Entry::new("unlocked", actor, Some(actor)),
            Write::Share => Entry::new("shared", actor, Some(outsider)),
            Write::Unshare => Entry::new("unshared", actor, Some(outsider)),
        })
    }

    /// What an acknowledged answer says.
    fn outcome(&self, answer: &Value) -> Outcome {
        match self {
            Write::Note(_) | Write::Schedule { .. } => Outcome::Message {
                id: answer["id"].as_str().unwrap().into(),
                send_at: answer["send_at"].as_str().map(parse_ms),
                sent: answer["state"] == "sent",
            },
            Write::Lock => Outcome::Lock {
                since: Some(answer["since"].as_str().unwrap().into()),
                expires_ms: parse_ms(answer["expires_at"].as_str().unwrap()),
            },
            _ => Outcome::Done,
        }
    }
}

impl TicketModel {
    /// The model after `write` by agent `me`, given its outcome.
    fn apply(&mut self, write: &Write, me: &str, outsider: &str, outcome: Outcome) {
        let mut entry = write.entry(me, outsider);
        match (write, outcome) {
            (Write::Note(body), Outcome::Message { id, .. }) => self.notes.push((id, body.clone())),
            (Write::Schedule { body, .. }, Outcome::Message { id, send_at, sent }) => {
                self.replies.push(Reply {
                    id,
                    body: body.clone(),
                    send_at,
                    sent,
                })
            }
            (Write::Assign(agent), Outcome::Done) => self.assignee = agent.clone(),
            (Write::Lock, Outcome::Lock { since, expires_ms }) => {
                self.lock = Some(LockModel {
                    agent: me.into(),
                    since,
                    expires_ms,
                });
                entry = entry.map(|e| Entry {
                    expires_ms: Some(expires_ms),
                    ..e
                });
            }
            (Write::Unlock, Outcome::Done) => self.lock = None,
            (Write::Share, Outcome::Done) => self.shared = true,
            (Write::Unshare, Outcome::Done) => self.shared = false,
            (write, _) => panic!("no such outcome for {write:?}"),
        }
        self.history.extend(entry);
    }
}

/// The moments around a restart (test clock, ms).
struct Times {
    killed_at: Option<i64>,
    restarted_at: i64,
}

/// A persisted draft is the drafter's; what it typed, per (ticket, kind), in order.
#[derive(Default)]
struct DraftTrack {
    /// (body, whether it was sent [`DRAFT_PERSIST_BOUND`] before the kill that followed).
    typed: Vec<(String, bool)>,
    /// Index in `typed` of the draft seen after the latest restart.
    seen: Option<usize>,
}

#[derive(Default)]
struct Stats {
    cycles: usize,
    /// Acknowledged writes, by kind.
    acked: BTreeMap<&'static str, usize>,
    /// Acknowledged writes verified, summed over every verification.
    checks: usize,
    unknown_present: BTreeMap<&'static str, usize>,
    unknown_absent: BTreeMap<&'static str, usize>,
    drafts_typed: usize,
    drafts_seen: usize,
    /// Draft checks where the last text had to be saved (old enough at the kill).
    drafts_required: usize,
    locks_kept_across_restart: usize,
    locks_expired_while_running: usize,
    locks_expired_while_down: usize,
    locks_expired_after_restart: usize,
    replies_sent_before_kill: usize,
    replies_due_while_down: usize,
    replies_sent_after_restart: usize,
    replies_waiting_across_restart: usize,
}

impl Stats {
    fn count(&mut self, fate: Fate) {
        match fate {
            Fate::SentBeforeKill => self.replies_sent_before_kill += 1,
            Fate::SentAfterDowntime => self.replies_due_while_down += 1,
            Fate::SentAfterRestart => self.replies_sent_after_restart += 1,
            Fate::WaitingAcrossRestart => self.replies_waiting_across_restart += 1,
            Fate::Unchanged => {}
        }
    }

    fn acked_total(&self) -> usize {
        self.acked.values().sum()
    }

    fn print(&self, elapsed: Duration) {
        let sum = |m: &BTreeMap<&str, usize>| m.values().sum::<usize>();
        println!(
            "crash test: {} SIGKILL cycles in {:.1} s",
            self.cycles,
            elapsed.as_secs_f64()
        );
        println!(
            "  acknowledged writes: {} ({:?}); acknowledged-write checks over all restarts: {}",
            self.acked_total(),
            self.acked,
            self.checks
        );
        println!(
            "  writes in flight at a kill: {} found present {:?}, {} absent {:?}",
            sum(&self.unknown_present),
            self.unknown_present,
            sum(&self.unknown_absent),
            self.unknown_absent
        );
        println!(
            "  hard locks: {} kept across a restart; expired: {} while running, {} while the server was down \
             (released at start-up), {} after a restart",
            self.locks_kept_across_restart,
            self.locks_expired_while_running,
            self.locks_expired_while_down,
            self.locks_expired_after_restart
        );
        println!(
            "  scheduled replies: {} sent before a kill, {} due while the server was down (sent at start-up), \
             {} sent later after a restart, {} still waiting across a restart",
            self.replies_sent_before_kill,
            self.replies_due_while_down,
            self.replies_sent_after_restart,
            self.replies_waiting_across_restart
        );
        println!(
            "  drafts: {} typed, {} seen saved after a restart (all of them typed texts, none going back), \
             {} checks of a draft old enough at the kill that it had to be saved",
            self.drafts_typed, self.drafts_seen, self.drafts_required
        );
    }
}

struct Model {
    admin: Agent,
    workers: Vec<Agent>,
    drafter: Agent,
    outsider: Agent,
    inbox: String,
    /// Every acknowledged ticket, by number.
    tickets: BTreeMap<u64, TicketModel>,
    /// The highest number handed out so far (known to the model).
    max_number: u64,
    /// Tickets to find by number after the next restart (created since the last one).
    new_numbers: Vec<u64>,
    drafts: HashMap<(String, String), DraftTrack>,
    /// Writes in flight at the last kill, by ticket id.
    lost_writes: HashMap<String, Write>,
    lost_create: Option<NewTicket>,
    stats: Stats,
}

impl Model {
    /// First start: inboxes, agents (logged in once, for the whole run), sharing
    /// on, one ticket hard-locked by the admin for 30 minutes (its lock must
    /// survive every restart unchanged), short locks from then on, and two
    /// tickets per worker.
    async fn setup(base: &str, rng: &mut StdRng) -> Model {
        let anon = Api::at(base);
        let admin = login(&anon, "admin", ADMIN_PASSWORD).await;
        let admin_api = admin.api(base);
        let inbox = admin_api.create_inbox("Crash").await;
        let elsewhere = admin_api.create_inbox("Elsewhere").await;
        let settings = admin_api
            .patch("/api/settings", json!({"ticket_sharing_enabled": true}))
            .await;
        assert_eq!(settings.status, 200, "{}", settings.body);
        let agent = async |handle: &str, inbox: &str| {
            let body = json!({
                "handle": handle, "name": handle, "email": format!("{handle}@example.com"),
                "role": "agent", "password": "pw", "inboxes": [inbox],
            });
            let created = admin_api.post("/api/agents", body).await;
            assert_eq!(created.status, 200, "{}", created.body);
            login(&anon, handle, "pw").await
        };
        let mut workers = Vec::new();
        for w in 0..WORKERS {
            workers.push(agent(&format!("worker{w}"), &inbox).await);
        }
        let drafter = agent("drafter", &inbox).await;
        let outsider = agent("outsider", &elsewhere).await;

        let mut model = Model {
            admin: admin.clone(),
            workers,
            drafter,
            outsider,
            inbox,
            tickets: BTreeMap::new(),
            max_number: 0,
            new_numbers: Vec::new(),
            drafts: HashMap::new(),
            lost_writes: HashMap::new(),
            lost_create: None,
            stats: Stats::default(),
        };
        for n in 0..=2 * WORKERS {
            let new = NewTicket::new(&format!("s{n}"), rng);
            let created = admin_api
                .try_send(
                    Method::POST,
                    "/api/tickets",
                    Some(new.request(&model.inbox)),
                )
                .await;
            let created = created.unwrap();
            assert_eq!(created.status, 200, "{}", created.body);
            let number = created.body["number"].as_u64().unwrap();
            let ticket = new.ticket(created.body["id"].as_str().unwrap(), number, &admin.id);
            model.add_ticket(ticket, "ticket");
        }
        // The first ticket is the admin's, locked with the default 30 minutes.
        let long = model.tickets.get_mut(&1).unwrap();
        long.owner = None;
        let locked = admin_api
            .put(format!("/api/tickets/{}/lock", long.id))
            .await;
        assert_eq!(locked.status, 200, "{}", locked.body);
        long.apply(
            &Write::Lock,
            &admin.id,
            "",
            Write::Lock.outcome(&locked.body),
        );
        *model.stats.acked.entry("lock").or_default() += 1;
        let ttl = LOCK_TTL_MS as f64 / 1000.0;
        let settings = admin_api
            .patch("/api/settings", json!({"hard_lock_auto_unlock_s": ttl}))
            .await;
        assert_eq!(settings.status, 200, "{}", settings.body);
        model
    }

    fn add_ticket(&mut self, ticket: TicketModel, kind: &'static str) {
        assert_eq!(
            ticket.number,
            self.max_number + 1,
            "ticket numbers continue without gaps or reuse"
        );
        self.max_number = ticket.number;
        self.new_numbers.push(ticket.number);
        *self.stats.acked.entry(kind).or_default() += 1;
        self.tickets.insert(ticket.number, ticket);
    }

    /// Runs the load for a random while, then SIGKILLs the server with
    /// requests in flight; folds what was acknowledged into the model and
    /// keeps what was in flight as unknown. Returns when it killed (ms).
    async fn load_then_kill(
        &mut self,
        process: &mut Process,
        cycle: usize,
        rng: &mut StdRng,
        killed: &Rc<Cell<bool>>,
    ) -> i64 {
        let base = process.base().clone();
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let worker = Worker {
                    me: self.workers[w].id.clone(),
                    api: self.workers[w].api(&base),
                    peers: self
                        .workers
                        .iter()
                        .filter(|a| a.id != self.workers[w].id)
                        .map(|a| a.id.clone())
                        .collect(),
                    outsider: self.outsider.id.clone(),
                    tickets: self
                        .tickets
                        .values()
                        .filter(|t| t.owner == Some(w))
                        .cloned()
                        .collect(),
                    rng: StdRng::seed_from_u64(rng.random()),
                    tag: format!("c{cycle}w{w}"),
                    seq: 0,
                    acked: Vec::new(),
                    lost: None,
                    killed: killed.clone(),
                };
                actix_web::rt::spawn(worker.run())
            })
            .collect();
        let creator = Creator {
            api: self.admin.api(&base),
            inbox: self.inbox.clone(),
            rng: StdRng::seed_from_u64(rng.random()),
            tag: format!("c{cycle}n"),
            created: Vec::new(),
            lost: None,
            killed: killed.clone(),
        };
        let creator = actix_web::rt::spawn(creator.run());

        sleep(Duration::from_millis(rng.random_range(LOAD_MS))).await;
        assert!(
            process.child.try_wait().unwrap().is_none(),
            "the server died on its own"
        );
        // Nothing else runs between these lines (one thread): what is awaiting
        // an answer now is in flight at the kill.
        killed.set(true);
        let killed_at = now_ms();
        kill_and_check(process);

        for worker in workers {
            let worker = worker.await.expect("a worker failed (its panic is above)");
            for kind in worker.acked {
                *self.stats.acked.entry(kind).or_default() += 1;
            }
            if let Some((ticket, write)) = worker.lost {
                self.lost_writes.insert(ticket, write);
            }
            for ticket in worker.tickets {
                self.tickets.insert(ticket.number, ticket);
            }
        }
        let creator = creator
            .await
            .expect("the creator failed (its panic is above)");
        for (new, id, number) in creator.created {
            let ticket = new.ticket(&id, number, &self.admin.id);
            self.add_ticket(ticket, "ticket");
        }
        self.lost_create = creator.lost;
        killed_at
    }

    /// Starts typing drafts on every ticket, until the kill.
    fn start_drafter(
        &self,
        base: &str,
        cycle: usize,
        rng: &mut StdRng,
        killed: &Rc<Cell<bool>>,
    ) -> actix_web::rt::task::JoinHandle<Vec<Typed>> {
        actix_web::rt::spawn(type_drafts(
            base.to_owned(),
            self.drafter.token.clone(),
            self.tickets.values().map(|t| t.id.clone()).collect(),
            StdRng::seed_from_u64(rng.random()),
            format!("c{cycle}"),
            killed.clone(),
        ))
    }

    /// Records what the drafter typed before the kill at `killed_at`.
    fn typed(&mut self, typed: Vec<Typed>, killed_at: i64) {
        for typed in typed {
            let track = self
                .drafts
                .entry((typed.ticket, typed.kind.into()))
                .or_default();
            let old_enough = typed.at <= killed_at - DRAFT_PERSIST_BOUND;
            track.typed.push((typed.body, old_enough));
            self.stats.drafts_typed += 1;
        }
    }

    /// Everything the model knows, against the restarted server.
    async fn verify(&mut self, base: &str, times: &Times) {
        let admin = self.admin.api(base);
        // Tokens are stored (hashed) in redb: every login survives the restart.
        for agent in [&self.admin, &self.drafter, &self.outsider]
            .into_iter()
            .chain(&self.workers)
        {
            let me = agent.api(base).get("/api/me").await;
            assert_eq!(
                me.status, 200,
                "a token did not survive the restart: {}",
                me.body
            );
            assert_eq!(me.body["id"].as_str(), Some(agent.id.as_str()));
        }
        self.check_numbers(&admin).await;
        let tickets: Vec<(u64, String)> = self
            .tickets
            .values()
            .map(|t| (t.number, t.id.clone()))
            .collect();
        let observed: Vec<(u64, Observed)> = futures_util::stream::iter(tickets)
            .map(|(number, id)| {
                let admin = admin.clone();
                async move { (number, settled(&admin, &id).await) }
            })
            .buffer_unordered(6)
            .collect()
            .await;
        for (number, observed) in &observed {
            self.check_ticket(*number, observed, times);
        }
        assert!(
            self.lost_writes.is_empty(),
            "writes to tickets the model does not know: {:?}",
            self.lost_writes
        );
        self.check_notifications(base, &observed).await;
        self.check_shared_with_me(base).await;
        self.check_search(&admin).await;
        self.stats.checks += self.stats.acked_total();
    }

    /// Ticket numbers: 1..=N exactly (unique, no gaps), every acknowledged
    /// ticket under its number, and at most the one creation that was in
    /// flight besides, under the next number.
    async fn check_numbers(&mut self, admin: &Api) {
        let listed = list_tickets(admin, &self.inbox).await;
        let mut numbers: Vec<u64> = listed
            .iter()
            .map(|t| t["number"].as_u64().unwrap())
            .collect();
        numbers.sort_unstable();
        let expected: Vec<u64> = (1..=numbers.len() as u64).collect();
        assert_eq!(
            numbers, expected,
            "ticket numbers are unique and without gaps"
        );
        for t in &listed {
            let (number, id, subject) = (
                t["number"].as_u64().unwrap(),
                t["id"].as_str().unwrap(),
                t["subject"].as_str().unwrap(),
            );
            if let Some(known) = self.tickets.get(&number) {
                assert_eq!(
                    (known.id.as_str(), known.subject.as_str()),
                    (id, subject),
                    "ticket #{number}"
                );
                continue;
            }
            let lost = self.lost_create.take().filter(|l| l.subject == subject).unwrap_or_else(|| {
                panic!("ticket #{number} {subject:?} appeared, but no creation of it was acknowledged or in flight")
            });
            assert_eq!(
                number,
                self.max_number + 1,
                "the creation in flight took the next number"
            );
            *self.stats.unknown_present.entry("ticket").or_default() += 1;
            self.max_number = number;
            self.new_numbers.push(number);
            self.tickets
                .insert(number, lost.ticket(id, number, &self.admin.id));
        }
        if self.lost_create.take().is_some() {
            *self.stats.unknown_absent.entry("ticket").or_default() += 1;
        }
        assert_eq!(
            listed.len(),
            self.tickets.len(),
            "every acknowledged ticket is listed"
        );
    }

    /// One ticket against the model: its acknowledged state, plus the write
    /// that was in flight at the kill (if any), applied whole or not at all.
    fn check_ticket(&mut self, number: u64, observed: &Observed, times: &Times) {
        let mut t = self.tickets.remove(&number).unwrap();
        let (detail, at) = (&observed.detail, observed.at);
        let lost = self.lost_writes.remove(&t.id);
        let me = match t.owner {
            Some(w) => self.workers[w].id.clone(),
            None => self.admin.id.clone(),
        };
        let outsider = self.outsider.id.clone();
        let ctx = format!("ticket #{number} ({lost:?} was in flight)");
        let acked_lock = t.lock.as_ref().map(|l| l.since.clone());

        // The ticket and its first message.
        assert_eq!(detail["number"], number, "{ctx}");
        assert_eq!(detail["subject"], t.subject.as_str(), "{ctx}");
        assert_eq!(detail["customer"]["name"], t.customer.0.as_str(), "{ctx}");
        assert_eq!(
            detail["customer"]["contact"],
            t.customer.1.as_str(),
            "{ctx}"
        );
        let messages = detail["messages"].as_array().unwrap();
        let first = &messages[0];
        assert_eq!(
            (first["kind"].as_str(), first["body"].as_str()),
            (Some("customer"), Some(t.body.as_str())),
            "{ctx}"
        );

        // History: what was acknowledged, in order, then maybe the lost write's
        // entry; `lock_expired` entries are counted apart (timers decide when).
        let history: Vec<Entry> = observed.history.iter().map(Entry::parse).collect();
        let (expired, history): (Vec<Entry>, Vec<Entry>) = history
            .into_iter()
            .partition(|e| e.action == "lock_expired");
        let lost_entry = lost.as_ref().and_then(|w| w.entry(&me, &outsider));
        let extra = history.len().checked_sub(t.history.len());
        assert!(
            extra == Some(0) || (extra == Some(1) && lost_entry.is_some()),
            "{ctx}: history {history:#?}\nexpected {:#?} (+ {lost_entry:?})",
            t.history
        );
        for (expected, seen) in t.history.iter().zip(&history) {
            assert!(
                expected.matches(seen),
                "{ctx}: history entry {seen:?}, expected {expected:?}"
            );
        }
        let mut applied = extra == Some(1);
        if applied {
            let seen = history.last().unwrap();
            assert!(
                lost_entry.unwrap().matches(seen),
                "{ctx}: history ends with {seen:?}"
            );
        }

        // Messages: the customer's, every acknowledged note and reply, and at
        // most the lost one, whole; nothing else.
        let mut rest: Vec<&Value> = messages[1..].iter().collect();
        let mut take = |id: &str| {
            let i = rest.iter().position(|m| m["id"] == id).unwrap_or_else(|| {
                panic!("{ctx}: acknowledged message {id} is missing; messages: {messages:#?}")
            });
            rest.remove(i)
        };
        for (id, body) in &t.notes {
            let m = take(id);
            assert_eq!(
                (m["kind"].as_str(), m["body"].as_str()),
                (Some("note"), Some(body.as_str())),
                "{ctx}"
            );
            assert_eq!(m["author"]["id"].as_str(), Some(me.as_str()), "{ctx}");
        }
        for reply in &mut t.replies {
            let m = take(&reply.id);
            self.stats
                .count(check_reply(m, reply, &me, at, times, &ctx));
        }
        if !rest.is_empty() {
            let m = rest.remove(0);
            let (kind, body) = match &lost {
                Some(Write::Note(body)) => ("note", body),
                Some(Write::Schedule { body, .. }) => ("reply", body),
                _ => panic!("{ctx}: a message nobody sent (or not whole): {m:#}"),
            };
            let whole =
                m["kind"] == kind && m["body"] == body.as_str() && m["author"]["id"] == me.as_str();
            assert!(whole, "{ctx}: the message in flight is not whole: {m:#}");
            assert!(rest.is_empty(), "{ctx}: messages nobody sent: {rest:#?}");
            let outcome = Outcome::Message {
                id: m["id"].as_str().unwrap().into(),
                send_at: m["send_at"].as_str().map(parse_ms),
                sent: false,
            };
            t.apply(lost.as_ref().unwrap(), &me, &outsider, outcome);
            let reply = t.replies.last_mut().filter(|_| kind == "reply");
            if let Some(reply) = reply {
                self.stats
                    .count(check_reply(m, reply, &me, at, times, &ctx));
            }
            applied = true;
        } else if applied {
            let lost = lost.as_ref().unwrap();
            let outcome = match lost {
                Write::Lock => Outcome::Lock {
                    since: detail["lock"]["since"].as_str().map(Into::into),
                    expires_ms: history.last().unwrap().expires_ms.unwrap(),
                },
                _ => Outcome::Done,
            };
            t.apply(lost, &me, &outsider, outcome);
        }
        if let Some(lost) = &lost {
            let counts = if applied {
                &mut self.stats.unknown_present
            } else {
                &mut self.stats.unknown_absent
            };
            *counts.entry(lost.kind()).or_default() += 1;
        }

        // Assignment and shares, as the history says.
        assert_eq!(detail["assignee"].as_str(), t.assignee.as_deref(), "{ctx}");
        let status = if t.assignee.is_some() {
            "working_on"
        } else {
            "pending"
        };
        assert_eq!(detail["status"], status, "{ctx}");
        let shared: Vec<&str> = detail["shared_with"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            shared,
            if t.shared {
                vec![outsider.as_str()]
            } else {
                vec![]
            },
            "{ctx}"
        );

        // The hard lock: kept with its expiry, or gone by its timer (never early).
        assert!(
            expired.len() >= t.lock_expired,
            "{ctx}: lock_expired entries disappeared"
        );
        let new_expired = &expired[t.lock_expired..];
        match (&t.lock, detail["lock"].as_object()) {
            (Some(lock), Some(seen)) => {
                assert_eq!(
                    seen["agent"]["id"].as_str(),
                    Some(lock.agent.as_str()),
                    "{ctx}"
                );
                assert_eq!(
                    parse_ms(seen["expires_at"].as_str().unwrap()),
                    lock.expires_ms,
                    "{ctx}: lock expiry"
                );
                if let Some(since) = &lock.since {
                    assert_eq!(seen["since"].as_str(), Some(since.as_str()), "{ctx}");
                }
                assert!(
                    new_expired.is_empty(),
                    "{ctx}: lock_expired while the lock is held"
                );
                if times.killed_at.is_some() && acked_lock == Some(lock.since.clone()) {
                    self.stats.locks_kept_across_restart += 1;
                }
            }
            (Some(lock), None) => {
                assert!(
                    lock.expires_ms <= at,
                    "{ctx}: the lock is gone before its expiry"
                );
                let actions: Vec<(&str, &str)> = observed
                    .history
                    .iter()
                    .map(|e| (e["action"].as_str().unwrap(), e["at"].as_str().unwrap()))
                    .collect();
                assert_eq!(
                    new_expired.len(),
                    1,
                    "{ctx}: an expired lock has one lock_expired entry: {actions:?}"
                );
                let entry = observed
                    .history
                    .iter()
                    .rev()
                    .find(|e| e["action"] == "lock_expired")
                    .unwrap();
                let expired_at = parse_ms(entry["at"].as_str().unwrap());
                assert!(
                    expired_at >= lock.expires_ms,
                    "{ctx}: the lock expired early: {entry}"
                );
                assert_eq!(new_expired[0].actor, None, "{ctx}");
                assert_eq!(
                    new_expired[0].agent.as_deref(),
                    Some(lock.agent.as_str()),
                    "{ctx}"
                );
                match times.killed_at {
                    Some(killed_at) if expired_at < killed_at => {
                        self.stats.locks_expired_while_running += 1
                    }
                    Some(killed_at)
                        if lock.expires_ms >= killed_at && lock.expires_ms < times.restarted_at =>
                    {
                        self.stats.locks_expired_while_down += 1
                    }
                    _ => self.stats.locks_expired_after_restart += 1,
                }
                t.lock = None;
            }
            (None, Some(seen)) => panic!("{ctx}: a lock nobody took: {seen:?}"),
            (None, None) => assert!(new_expired.is_empty(), "{ctx}: lock_expired without a lock"),
        }
        t.lock_expired = expired.len();
        t.history = history;

        // Nobody opened the ticket or followed it.
        assert_eq!(detail["claim"], Value::Null, "{ctx}");
        assert_eq!(detail["followers"], json!([]), "{ctx}");
        self.tickets.insert(number, t);
    }

    /// Drafts right after a restart, before anything is typed: what the
    /// server saved. A draft is a text the drafter typed for that ticket and
    /// kind, never older than one seen after an earlier restart, and the last
    /// text of a draft left alone for [`DRAFT_PERSIST_BOUND`] before the kill.
    async fn check_drafts(&mut self, base: &str) {
        let admin = self.admin.api(base);
        let tickets: Vec<(u64, String)> = self
            .tickets
            .values()
            .map(|t| (t.number, t.id.clone()))
            .collect();
        let details: Vec<(u64, String, Value)> = futures_util::stream::iter(tickets)
            .map(|(number, id)| {
                let admin = admin.clone();
                async move {
                    (
                        number,
                        id.clone(),
                        get_ok(&admin, &format!("/api/tickets/{id}")).await,
                    )
                }
            })
            .buffer_unordered(6)
            .collect()
            .await;
        for (number, id, detail) in details {
            let drafts = detail["drafts"].as_array().unwrap();
            for kind in ["reply", "note"] {
                let ctx = format!("ticket #{number}, {kind} draft");
                let track = self.drafts.entry((id.clone(), kind.into())).or_default();
                let last = track.typed.len().checked_sub(1);
                let must_be_saved = track
                    .typed
                    .last()
                    .is_some_and(|(_, old_enough)| *old_enough);
                match drafts.iter().find(|d| d["kind"] == kind) {
                    Some(draft) => {
                        assert_eq!(
                            draft["agent"]["id"].as_str(),
                            Some(self.drafter.id.as_str()),
                            "{ctx}"
                        );
                        let body = draft["body"].as_str().unwrap();
                        let index = track.typed.iter().position(|(typed, _)| typed == body);
                        let index = index
                            .unwrap_or_else(|| panic!("{ctx}: a draft nobody typed: {body:?}"));
                        assert!(
                            track.seen.is_none_or(|s| index >= s),
                            "{ctx}: the draft went back in time"
                        );
                        assert!(
                            !must_be_saved || Some(index) == last,
                            "{ctx}: its last text, typed {DRAFT_PERSIST_BOUND} ms before its kill, was not saved"
                        );
                        if track.seen != Some(index) {
                            self.stats.drafts_seen += 1;
                        }
                        track.seen = Some(index);
                    }
                    None => {
                        assert!(track.seen.is_none(), "{ctx}: a saved draft disappeared");
                        assert!(
                            !must_be_saved,
                            "{ctx}: typed {DRAFT_PERSIST_BOUND} ms before its kill, never saved"
                        );
                    }
                }
                self.stats.drafts_required += must_be_saved as usize;
            }
            assert!(
                drafts.len() <= 2,
                "ticket #{number}: drafts nobody typed: {drafts:#?}"
            );
        }
    }

    /// Notifications are written with what causes them: each agent has one
    /// per `assigned` (to it), `lock_expired` (its lock), `shared` and
    /// `unshared` (it) entry in the histories, and nothing else.
    async fn check_notifications(&self, base: &str, observed: &[(u64, Observed)]) {
        let mut expected: HashMap<String, BTreeMap<(String, String), usize>> = HashMap::new();
        for (number, seen) in observed {
            let ticket = &self.tickets[number].id;
            for entry in seen.history.iter().map(Entry::parse) {
                let to = match entry.action.as_str() {
                    "assigned" | "lock_expired" | "shared" | "unshared" => {
                        entry.agent.clone().unwrap()
                    }
                    _ => continue,
                };
                *expected
                    .entry(to)
                    .or_default()
                    .entry((entry.action, ticket.clone()))
                    .or_default() += 1;
            }
        }
        for agent in [&self.admin, &self.drafter, &self.outsider]
            .into_iter()
            .chain(&self.workers)
        {
            let mut found: BTreeMap<(String, String), usize> = BTreeMap::new();
            let mut before: Option<String> = None;
            loop {
                let page_path = match &before {
                    None => "/api/me/notifications?limit=200".to_owned(),
                    Some(id) => format!("/api/me/notifications?limit=200&before={id}"),
                };
                let page = get_ok(&agent.api(base), &page_path).await;
                let page = page.as_array().unwrap();
                for n in page {
                    let key = (
                        n["kind"].as_str().unwrap().to_owned(),
                        n["ticket"]["id"].as_str().unwrap().to_owned(),
                    );
                    *found.entry(key).or_default() += 1;
                }
                if page.len() < 200 {
                    break;
                }
                before = page.last().unwrap()["id"].as_str().map(Into::into);
            }
            // A lock that was still held when its ticket was read may have
            // expired since (its timer runs on): that one notification may be
            // newer than the history read; the next restart checks it.
            let expected = expected.remove(&agent.id).unwrap_or_default();
            let now = now_ms();
            for (number, seen) in observed {
                let lock = &seen.detail["lock"];
                if lock["agent"]["id"] == agent.id.as_str()
                    && lock["expires_at"]
                        .as_str()
                        .is_some_and(|e| parse_ms(e) <= now)
                {
                    let key = ("lock_expired".to_owned(), self.tickets[number].id.clone());
                    let expected = expected.get(&key).copied().unwrap_or(0);
                    if found.get(&key) == Some(&(expected + 1)) {
                        found.insert(key.clone(), expected);
                        found.retain(|_, count| *count > 0);
                    }
                }
            }
            assert_eq!(
                found, expected,
                "notifications of {} match the histories",
                agent.id
            );
        }
    }

    /// The share index ("Shared with me") agrees with the tickets.
    async fn check_shared_with_me(&self, base: &str) {
        let shared = get_ok(&self.outsider.api(base), "/api/me/shared").await;
        let mut found: Vec<&str> = shared["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        let mut expected: Vec<&str> = self
            .tickets
            .values()
            .filter(|t| t.shared)
            .map(|t| t.id.as_str())
            .collect();
        found.sort_unstable();
        expected.sort_unstable();
        assert_eq!(found, expected, "shared with the outsider");
    }

    /// The number index: tickets created since the last restart are found by `#N`.
    async fn check_search(&mut self, admin: &Api) {
        for number in std::mem::take(&mut self.new_numbers) {
            let found = get_ok(admin, &format!("/api/search?q=%23{number}")).await;
            let id = &self.tickets[&number].id;
            assert!(
                found["tickets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t["id"] == id.as_str()),
                "#{number} is found by its number: {found}"
            );
        }
    }
}

/// What became of a scheduled reply since the last verification.
enum Fate {
    SentBeforeKill,
    /// Due while the server was down, sent at start-up.
    SentAfterDowntime,
    SentAfterRestart,
    WaitingAcrossRestart,
    Unchanged,
}

/// A scheduled (or at once sent) reply against its model.
fn check_reply(m: &Value, reply: &mut Reply, me: &str, at: i64, times: &Times, ctx: &str) -> Fate {
    assert_eq!(
        (m["kind"].as_str(), m["body"].as_str()),
        (Some("reply"), Some(reply.body.as_str())),
        "{ctx}"
    );
    assert_eq!(m["author"]["id"].as_str(), Some(me), "{ctx}");
    assert_eq!(
        m["send_at"].as_str().map(parse_ms),
        reply.send_at,
        "{ctx}: send_at is kept"
    );
    let was_sent = reply.sent;
    match m["state"].as_str().unwrap() {
        "scheduled" => {
            assert!(!reply.sent, "{ctx}: a sent reply is scheduled again");
            assert!(
                reply.send_at.is_some_and(|s| s > at),
                "{ctx}: still scheduled after its time"
            );
            if times.killed_at.is_some() {
                Fate::WaitingAcrossRestart
            } else {
                Fate::Unchanged
            }
        }
        "sent" => {
            let sent_at = parse_ms(m["created_at"].as_str().unwrap());
            if let Some(send_at) = reply.send_at {
                assert!(sent_at >= send_at, "{ctx}: sent before its time: {m}");
            }
            reply.sent = true;
            match times.killed_at {
                _ if was_sent || reply.send_at.is_none() => Fate::Unchanged,
                Some(killed_at) if sent_at < killed_at => Fate::SentBeforeKill,
                Some(_) if reply.send_at.is_some_and(|s| s < times.restarted_at) => {
                    Fate::SentAfterDowntime
                }
                _ => Fate::SentAfterRestart,
            }
        }
        state => panic!("{ctx}: state {state}"),
    }
}

/// A ticket's detail and history once the timers that came due have fired.
struct Observed {
    detail: Value,
    history: Vec<Value>,
    /// When it was read (ms): nothing was due then.
    at: i64,
}

/// Reads a ticket until no timer of it is overdue (no lock past its
/// `expires_at`, no scheduled reply past its `send_at`), for at most
/// [`TIMER_GRACE`]: so a timer lost in the crash fails the test. The detail
/// is read twice around the history, so all three show one state.
async fn settled(api: &Api, id: &str) -> Observed {
    let deadline = Instant::now() + TIMER_GRACE;
    loop {
        // Drafts are being typed meanwhile; they were checked before.
        let without_drafts = |mut detail: Value| {
            detail.as_object_mut().unwrap().remove("drafts");
            detail
        };
        let detail = without_drafts(get_ok(api, &format!("/api/tickets/{id}")).await);
        let history = get_ok(api, &format!("/api/tickets/{id}/history")).await;
        let again = without_drafts(get_ok(api, &format!("/api/tickets/{id}")).await);
        let at = now_ms();
        let overdue = overdue(&again, at);
        if detail == again && overdue.is_none() {
            let history = history.as_array().unwrap().clone();
            return Observed {
                detail,
                history,
                at,
            };
        }
        assert!(
            Instant::now() < deadline,
            "ticket {id}: {} did not happen within {TIMER_GRACE:?}: {again:#}",
            overdue.unwrap_or("a settled state")
        );
        sleep(Duration::from_millis(50)).await;
    }
}

fn overdue(detail: &Value, at: i64) -> Option<&'static str> {
    let lock_due = detail["lock"]["expires_at"]
        .as_str()
        .is_some_and(|e| parse_ms(e) <= at);
    let reply_due = detail["messages"].as_array().unwrap().iter().any(|m| {
        m["state"] == "scheduled" && m["send_at"].as_str().is_some_and(|s| parse_ms(s) <= at)
    });
    if lock_due {
        Some("the lock's expiry")
    } else if reply_due {
        Some("sending a due scheduled reply")
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// The load

/// Writes to its own tickets, one request at a time, until the kill.
struct Worker {
    me: String,
    api: Api,
    peers: Vec<String>,
    outsider: String,
    tickets: Vec<TicketModel>,
    rng: StdRng,
    tag: String,
    seq: usize,
    /// Kinds of the writes acknowledged.
    acked: Vec<&'static str>,
    /// The write in flight at the kill: (ticket id, write).
    lost: Option<(String, Write)>,
    killed: Rc<Cell<bool>>,
}

impl Worker {
    async fn run(mut self) -> Worker {
        while !self.killed.get() && !self.tickets.is_empty() {
            let i = self.rng.random_range(0..self.tickets.len());
            let write = self.choose(i);
            let id = self.tickets[i].id.clone();
            let (method, path, body) = write.request(&id, &self.outsider);
            let answer = match self.api.try_send(method, &path, body).await {
                Ok(answer) => answer,
                Err(_) => {
                    self.lost = Some((id, write));
                    break;
                }
            };
            let ticket = &mut self.tickets[i];
            if (200..300).contains(&answer.status) {
                ticket.apply(
                    &write,
                    &self.me,
                    &self.outsider,
                    write.outcome(&answer.body),
                );
                self.acked.push(write.kind());
                continue;
            }
            // The one refusal the model allows: the lock expired before the unlock came.
            let expired = ticket
                .lock
                .as_ref()
                .is_some_and(|l| l.expires_ms <= now_ms());
            assert!(
                matches!(write, Write::Unlock) && answer.status == 409 && expired,
                "worker {}: {write:?} on #{} refused: {} {}",
                self.tag,
                ticket.number,
                answer.status,
                answer.body
            );
        }
        self
    }

    fn choose(&mut self, i: usize) -> Write {
        let (assignee, lock, shared) = {
            let t = &self.tickets[i];
            (t.assignee.clone(), t.lock.clone(), t.shared)
        };
        self.seq += 1;
        let tag = format!("{}.{}", self.tag, self.seq);
        let mut roll = self.rng.random_range(0..100);
        if (50..65).contains(&roll)
            && lock
                .as_ref()
                .is_some_and(|l| l.expires_ms < now_ms() + 1000)
        {
            roll = 0; // a lock about to expire is left to its timer
        }
        match roll {
            0..30 => Write::Note(text(&mut self.rng, &format!("note {tag}"))),
            30..50 => {
                // Always a change (a no-op assign records nothing), never to oneself.
                let mut choices: Vec<Option<String>> = self
                    .peers
                    .iter()
                    .filter(|p| assignee.as_ref() != Some(p))
                    .cloned()
                    .map(Some)
                    .collect();
                if assignee.is_some() {
                    choices.push(None);
                }
                Write::Assign(choices[self.rng.random_range(0..choices.len())].clone())
            }
            50..65 if lock.is_none() => Write::Lock,
            50..65 => Write::Unlock,
            65..80 if shared => Write::Unshare,
            65..80 => Write::Share,
            _ => Write::Schedule {
                body: text(&mut self.rng, &format!("reply {tag}")),
                send_at: now_ms() + self.rng.random_range(SEND_AHEAD_MS),
            },
        }
    }
}

/// Creates tickets (as the admin) one at a time, with short pauses.
struct Creator {
    api: Api,
    inbox: String,
    rng: StdRng,
    tag: String,
    /// Acknowledged: what was sent, the id and the number.
    created: Vec<(NewTicket, String, u64)>,
    lost: Option<NewTicket>,
    killed: Rc<Cell<bool>>,
}

impl Creator {
    async fn run(mut self) -> Creator {
        let mut seq = 0;
        while !self.killed.get() {
            seq += 1;
            let new = NewTicket::new(&format!("{}{seq}", self.tag), &mut self.rng);
            let answer = match self
                .api
                .try_send(Method::POST, "/api/tickets", Some(new.request(&self.inbox)))
                .await
            {
                Ok(answer) => answer,
                Err(_) => {
                    self.lost = Some(new);
                    break;
                }
            };
            assert_eq!(answer.status, 200, "create: {}", answer.body);
            let (id, number) = (
                answer.body["id"].as_str().unwrap().into(),
                answer.body["number"].as_u64().unwrap(),
            );
            self.created.push((new, id, number));
            sleep(Duration::from_millis(self.rng.random_range(30..120))).await;
        }
        self
    }
}

/// One draft frame sent.
struct Typed {
    ticket: String,
    kind: &'static str,
    body: String,
    /// When it was sent (ms).
    at: i64,
}

/// Types drafts over one WebSocket until the kill; returns what it typed, in
/// order. Drafts are never acknowledged, so every text sent counts as typed.
async fn type_drafts(
    base: String,
    token: String,
    tickets: Vec<String>,
    mut rng: StdRng,
    tag: String,
    killed: Rc<Cell<bool>>,
) -> Vec<Typed> {
    let mut typed = Vec::new();
    let url = format!("ws{}/ws", base.trim_start_matches("http"));
    let Ok((mut socket, _)) = tokio_tungstenite::connect_async(url).await else {
        return typed;
    };
    let hello = json!({"type": "hello", "token": token});
    if socket
        .send(WsMessage::text(hello.to_string()))
        .await
        .is_err()
    {
        return typed;
    }
    loop {
        match socket.next().await {
            Some(Ok(WsMessage::Text(frame))) if frame.contains("\"welcome\"") => break,
            Some(Ok(_)) => continue,
            _ => return typed, // killed before the welcome
        }
    }
    let mut seq = 0;
    while !killed.get() {
        seq += 1;
        let ticket = tickets[rng.random_range(0..tickets.len())].clone();
        let kind = if rng.random_bool(0.5) {
            "reply"
        } else {
            "note"
        };
        let body = text(&mut rng, &format!("draft {tag}.{seq}"));
        let frame = json!({"type": "draft", "ticket": ticket, "kind": kind, "body": body});
        let sent = socket.send(WsMessage::text(frame.to_string())).await;
        typed.push(Typed {
            ticket,
            kind,
            body,
            at: now_ms(),
        });
        if sent.is_err() {
            break;
        }
        sleep(Duration::from_millis(rng.random_range(5..25))).await;
    }
    typed
}

// ---------------------------------------------------------------------------
// The process and its file

/// The real binary on port 0 over `data`, with the bootstrap admin on first start.
fn start_server(data: &Path, config: &Path, bootstrap: bool) -> Process {
    let admin = format!("admin:{ADMIN_PASSWORD}");
    let mut envs = vec![("RUST_LOG", "warn")];
    if bootstrap {
        envs.push(("TANDEM_BOOTSTRAP_ADMIN", admin.as_str()));
    }
    let (data, config) = (data.to_str().unwrap(), config.to_str().unwrap());
    let process = Process::start(
        &[
            "--config",
            config,
            "--data-dir",
            data,
            "--bind",
            "127.0.0.1:0",
        ],
        &envs,
    );
    process.seen.iter().for_each(|line| assert_clean(line));
    process
}

/// SIGKILL; then the server must have logged no error and no panic.
fn kill_and_check(process: &mut Process) {
    process.kill();
    process
        .all_output()
        .iter()
        .for_each(|line| assert_clean(line));
}

fn assert_clean(line: &str) {
    assert!(
        !line.contains("ERROR") && !line.contains("panicked"),
        "the server logged: {line}"
    );
}

/// Checks the file a SIGKILL (or, at the end, a clean shutdown) left
/// behind, as redb sees it: it opens, its integrity check passes without
/// repairs (`Ok(true)`; `Ok(false)` would mean it had to repair), and the
/// ticket numbers are consistent (every ticket has its number, 1..=N, and the
/// next number is N+1, so no number can be handed out twice). This runs on a
/// copy, so that the server itself still recovers the original at its restart.
fn check_redb_file(data: &Path, scratch: &Path) {
    use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};
    use tandem::store::tables::{META, NEXT_TICKET_NUMBER_KEY, TICKET_NUMBERS, TICKETS};

    let copy = scratch.join("copy.redb");
    std::fs::copy(tandem::store::Store::file_in(data), &copy).expect("copy of the database file");
    {
        let mut db = redb::Database::open(&copy).expect("redb opens the file");
        assert!(
            db.check_integrity().expect("redb's integrity check runs"),
            "redb had to repair the file"
        );
        let tx = db.begin_read().unwrap();
        let numbers = tx.open_table(TICKET_NUMBERS).unwrap();
        let count = numbers.len().unwrap();
        let first = numbers.first().unwrap().map_or(1, |(k, _)| k.value());
        let last = numbers.last().unwrap().map_or(0, |(k, _)| k.value());
        assert_eq!((first, last), (1, count), "stored ticket numbers are 1..=N");
        assert_eq!(
            tx.open_table(TICKETS).unwrap().len().unwrap(),
            count,
            "every stored ticket has a number"
        );
        let next = tx
            .open_table(META)
            .unwrap()
            .get(NEXT_TICKET_NUMBER_KEY)
            .unwrap();
        let next: u64 = next.map_or(1, |v| tandem::store::codec::decode(v.value()).unwrap());
        assert_eq!(
            next,
            last + 1,
            "the next ticket number follows the last stored one"
        );
    }
    std::fs::remove_file(&copy).unwrap();
}

// ---------------------------------------------------------------------------
// Small helpers

async fn login(anon: &Api, login: &str, password: &str) -> Agent {
    let answer = anon
        .post("/api/login", json!({"login": login, "password": password}))
        .await;
    assert_eq!(answer.status, 200, "login {login}: {}", answer.body);
    Agent {
        id: answer.body["agent"]["id"].as_str().unwrap().into(),
        token: answer.body["token"].as_str().unwrap().into(),
    }
}

async fn get_ok(api: &Api, path: &str) -> Value {
    let answer = api.get(path).await;
    assert_eq!(answer.status, 200, "GET {path}: {}", answer.body);
    answer.body
}

/// Every ticket of `inbox`, through all pages.
async fn list_tickets(api: &Api, inbox: &str) -> Vec<Value> {
    let mut tickets = Vec::new();
    let mut path = format!("/api/inboxes/{inbox}/tickets?view=all&limit=200");
    loop {
        let page = get_ok(api, &path).await;
        tickets.extend(page["tickets"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/api/inboxes/{inbox}/tickets?view=all&limit=200&cursor={cursor}")
            }
            None => return tickets,
        }
    }
}

/// A body that starts with a unique tag and has a random length, so a cut or
/// mixed-up body cannot pass for the one that was sent.
fn text(rng: &mut StdRng, tag: &str) -> String {
    let words = rng.random_range(3..400);
    let mut text = tag.to_owned();
    for i in 0..words {
        text.push_str(&format!(" w{i}"));
    }
    text
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn parse_ms(time: &str) -> i64 {
    let parsed = OffsetDateTime::parse(time, &Rfc3339).unwrap_or_else(|e| panic!("{time:?}: {e}"));
    (parsed.unix_timestamp_nanos() / 1_000_000) as i64
}

fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap()
        .format(&Rfc3339)
        .unwrap()
}
