//! The model of what was written: every acknowledged write, what each
//! restart must show, and the checks after each restart.

use super::*;

/// An agent and its bearer token (tokens are stored hashed and survive restarts).
#[derive(Clone)]
pub(super) struct Agent {
    pub(super) id: String,
    pub(super) token: String,
}

impl Agent {
    pub(super) fn api(&self, base: &str) -> Api {
        let mut api = Api::at(base).with_token(&self.token);
        api.id = self.id.clone();
        api
    }
}

/// A history entry as the model expects it.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) action: String,
    pub(super) actor: Option<String>,
    /// `detail.agent`, where the action names one.
    pub(super) agent: Option<String>,
    /// `detail.expires_at` of a `locked` entry (ms); in an expectation, `None` matches any.
    pub(super) expires_ms: Option<i64>,
}

impl Entry {
    pub(super) fn new(action: &str, actor: &str, agent: Option<&str>) -> Entry {
        Entry {
            action: action.into(),
            actor: Some(actor.into()),
            agent: agent.map(Into::into),
            expires_ms: None,
        }
    }

    pub(super) fn parse(v: &Value) -> Entry {
        Entry {
            action: v["action"].as_str().unwrap().into(),
            actor: v["actor"]["id"].as_str().map(Into::into),
            agent: v["detail"]["agent"].as_str().map(Into::into),
            expires_ms: v["detail"]["expires_at"].as_str().map(parse_ms),
        }
    }

    pub(super) fn matches(&self, observed: &Entry) -> bool {
        self.action == observed.action
            && self.actor == observed.actor
            && self.agent == observed.agent
            && (self.expires_ms.is_none() || self.expires_ms == observed.expires_ms)
    }
}

#[derive(Clone, Debug)]
pub(super) struct LockModel {
    pub(super) agent: String,
    /// Unknown for a lock taken by a write that was in flight and has expired since.
    pub(super) since: Option<String>,
    pub(super) expires_ms: i64,
}

#[derive(Clone, Debug)]
pub(super) struct Reply {
    pub(super) id: String,
    pub(super) body: String,
    /// `None`: the server handled it after its `send_at` and sent it at once.
    pub(super) send_at: Option<i64>,
    pub(super) sent: bool,
}

#[derive(Clone, Debug)]
pub(super) struct TicketModel {
    pub(super) id: String,
    pub(super) number: u64,
    pub(super) subject: String,
    pub(super) customer: (String, String),
    /// The first (customer) message.
    pub(super) body: String,
    /// The worker that writes to it; `None` for the admin's long-locked ticket.
    pub(super) owner: Option<usize>,
    pub(super) assignee: Option<String>,
    pub(super) shared: bool,
    pub(super) lock: Option<LockModel>,
    /// Every history entry but `lock_expired` (timers decide when those come).
    pub(super) history: Vec<Entry>,
    pub(super) lock_expired: usize,
    /// Notes: (id, body).
    pub(super) notes: Vec<(String, String)>,
    pub(super) replies: Vec<Reply>,
}

/// A ticket creation: what was sent.
#[derive(Clone, Debug)]
pub(super) struct NewTicket {
    pub(super) subject: String,
    pub(super) customer: (String, String),
    pub(super) body: String,
}

impl NewTicket {
    pub(super) fn new(tag: &str, rng: &mut StdRng) -> NewTicket {
        NewTicket {
            subject: format!("Crash ticket {tag}"),
            customer: (format!("Customer {tag}"), format!("{tag}@example.com")),
            body: text(rng, &format!("first message of {tag}")),
        }
    }

    pub(super) fn request(&self, inbox: &str) -> Value {
        json!({
            "inbox": inbox, "subject": self.subject, "body": self.body,
            "customer": {"name": self.customer.0, "contact": self.customer.1},
        })
    }

    pub(super) fn ticket(self, id: &str, number: u64, admin: &str) -> TicketModel {
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
pub(super) enum Write {
    Note(String),
    Assign(Option<String>),
    Lock,
    Unlock,
    Share,
    Unshare,
    Schedule { body: String, send_at: i64 },
}

/// What the answer to a write (or, for an unknown write, the restarted server) says about it.
pub(super) enum Outcome {
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
    pub(super) fn kind(&self) -> &'static str {
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

    pub(super) fn request(&self, ticket: &str, outsider: &str) -> (Method, String, Option<Value>) {
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
    pub(super) fn entry(&self, actor: &str, outsider: &str) -> Option<Entry> {
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
    pub(super) fn outcome(&self, answer: &Value) -> Outcome {
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
    pub(super) fn apply(&mut self, write: &Write, me: &str, outsider: &str, outcome: Outcome) {
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
pub(super) struct Times {
    pub(super) killed_at: Option<i64>,
    pub(super) restarted_at: i64,
}

/// A persisted draft is the drafter's; what it typed, per (ticket, kind), in order.
#[derive(Default)]
pub(super) struct DraftTrack {
    /// (body, whether it was sent [`DRAFT_PERSIST_BOUND`] before the kill that followed).
    pub(super) typed: Vec<(String, bool)>,
    /// Index in `typed` of the draft seen after the latest restart.
    pub(super) seen: Option<usize>,
}

#[derive(Default)]
pub(super) struct Stats {
    pub(super) cycles: usize,
    /// Acknowledged writes, by kind.
    pub(super) acked: BTreeMap<&'static str, usize>,
    /// Acknowledged writes verified, summed over every verification.
    pub(super) checks: usize,
    pub(super) unknown_present: BTreeMap<&'static str, usize>,
    pub(super) unknown_absent: BTreeMap<&'static str, usize>,
    pub(super) drafts_typed: usize,
    pub(super) drafts_seen: usize,
    /// Draft checks where the last text had to be saved (old enough at the kill).
    pub(super) drafts_required: usize,
    pub(super) locks_kept_across_restart: usize,
    pub(super) locks_expired_while_running: usize,
    pub(super) locks_expired_while_down: usize,
    pub(super) locks_expired_after_restart: usize,
    pub(super) replies_sent_before_kill: usize,
    pub(super) replies_due_while_down: usize,
    pub(super) replies_sent_after_restart: usize,
    pub(super) replies_waiting_across_restart: usize,
}

impl Stats {
    pub(super) fn count(&mut self, fate: Fate) {
        match fate {
            Fate::SentBeforeKill => self.replies_sent_before_kill += 1,
            Fate::SentAfterDowntime => self.replies_due_while_down += 1,
            Fate::SentAfterRestart => self.replies_sent_after_restart += 1,
            Fate::WaitingAcrossRestart => self.replies_waiting_across_restart += 1,
            Fate::Unchanged => {}
        }
    }

    pub(super) fn acked_total(&self) -> usize {
        self.acked.values().sum()
    }

    pub(super) fn print(&self, elapsed: Duration) {
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

pub(super) struct Model {
    pub(super) admin: Agent,
    pub(super) workers: Vec<Agent>,
    pub(super) drafter: Agent,
    pub(super) outsider: Agent,
    pub(super) inbox: String,
    /// Every acknowledged ticket, by number.
    pub(super) tickets: BTreeMap<u64, TicketModel>,
    /// The highest number handed out so far (known to the model).
    pub(super) max_number: u64,
    /// Tickets to find by number after the next restart (created since the last one).
    pub(super) new_numbers: Vec<u64>,
    pub(super) drafts: HashMap<(String, String), DraftTrack>,
    /// Writes in flight at the last kill, by ticket id.
    pub(super) lost_writes: HashMap<String, Write>,
    pub(super) lost_create: Option<NewTicket>,
    pub(super) stats: Stats,
}

impl Model {
    /// First start: inboxes, agents (logged in once, for the whole run), sharing
    /// on, one ticket hard-locked by the admin for 30 minutes (its lock must
    /// survive every restart unchanged), short locks from then on, and two
    /// tickets per worker.
    pub(super) async fn setup(base: &str, rng: &mut StdRng) -> Model {
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

    pub(super) fn add_ticket(&mut self, ticket: TicketModel, kind: &'static str) {
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
    pub(super) async fn load_then_kill(
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
    pub(super) fn start_drafter(
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
    pub(super) fn typed(&mut self, typed: Vec<Typed>, killed_at: i64) {
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
    pub(super) async fn verify(&mut self, base: &str, times: &Times) {
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
    pub(super) async fn check_numbers(&mut self, admin: &Api) {
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
    pub(super) fn check_ticket(&mut self, number: u64, observed: &Observed, times: &Times) {
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
    pub(super) async fn check_drafts(&mut self, base: &str) {
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
    pub(super) async fn check_notifications(&self, base: &str, observed: &[(u64, Observed)]) {
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
    pub(super) async fn check_shared_with_me(&self, base: &str) {
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
    pub(super) async fn check_search(&mut self, admin: &Api) {
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
pub(super) enum Fate {
    SentBeforeKill,
    /// Due while the server was down, sent at start-up.
    SentAfterDowntime,
    SentAfterRestart,
    WaitingAcrossRestart,
    Unchanged,
}

/// A scheduled (or at once sent) reply against its model.
pub(super) fn check_reply(
    m: &Value,
    reply: &mut Reply,
    me: &str,
    at: i64,
    times: &Times,
    ctx: &str,
) -> Fate {
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
pub(super) struct Observed {
    pub(super) detail: Value,
    pub(super) history: Vec<Value>,
    /// When it was read (ms): nothing was due then.
    pub(super) at: i64,
}

/// Reads a ticket until no timer of it is overdue (no lock past its
/// `expires_at`, no scheduled reply past its `send_at`), for at most
/// [`TIMER_GRACE`]: so a timer lost in the crash fails the test. The detail
/// is read twice around the history, so all three show one state.
pub(super) async fn settled(api: &Api, id: &str) -> Observed {
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

pub(super) fn overdue(detail: &Value, at: i64) -> Option<&'static str> {
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
