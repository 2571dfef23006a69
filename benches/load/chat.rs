//! `chat` (issue #16): `--visitors` (5,000) visitor sockets on `/ws/visitor`
//! of one chat channel each write a `message` every `--interval-s` (10 s,
//! jittered by ±10%, phases spread evenly over the interval) for `--seconds`
//! (`--duration-s`, 60). `--agents` (50) agent sessions are subscribed to the
//! channel's inbox; for every visitor message one of them (round-robin by
//! visitor and message number) answers over REST with a public reply
//! (`POST /api/tickets/{id}/messages`, `kind: reply`; nobody opens or claims
//! the tickets, so they stay `pending`).
//!
//! Measured:
//! - **visitor → agent**: from the message's intended send time (open loop)
//!   to the first agent socket that receives the `ticket` frame it caused
//!   (`change.action` `created` for a visitor's first message, `message`
//!   after it). A `ticket` frame carries the ticket, not the message, so it is
//!   tied to its message like this: the ticket's subject is the first line of
//!   the visitor's first message, `v<visitor> …`, fixed at creation, so every
//!   frame of the conversation names its visitor; and the n-th customer frame
//!   of a ticket at an agent socket is the visitor's n-th message (a visitor
//!   sends one message every ~10 s, and frames of one ticket reach a socket in
//!   the order the server decided them). Customer frames are told from the
//!   frames of the agents' own replies by `change.by`, which names one of the
//!   seeded agents for a reply.
//! - **agent → visitor**: from the REST request of the reply to the visitor
//!   socket's `message` frame carrying its body (`r<visitor>.<n> …`).
//! - **visitor ack**: from the intended send time to the `message` frame with
//!   the frame's `ref` (sent once the message is committed).
//! - **lost / duplicated**: every sent message must get exactly one ack,
//!   acks must carry distinct message ids and the message's `client_id`,
//!   every agent socket must see exactly one customer frame per message,
//!   and every reply the server accepted (`200`) must reach its visitor
//!   exactly once.
//! - **RSS per visitor socket**: server RSS once every visitor got its
//!   `welcome` minus RSS before the first visitor connected (the agents
//!   already connected), divided by the visitors. With the baseline, the
//!   same number of idle sockets on the baseline server, one room each.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::cli::Options;
use crate::generator::{self, Ws, field, frame_type, hist, record};
use crate::report::{Cmp, Run};
use crate::seed::Plan;
use crate::server::Target;

/// The origin visitor sockets send; the channel allows it.
const ORIGIN: &str = "https://load.example";
/// After the last visitor message, everyone keeps reading until every
/// message is acked and seen and every reply delivered, then `GRACE` more
/// (for duplicates), but at most `MAX_DRAIN`; what is still missing then is
/// counted lost.
const MAX_DRAIN: Duration = Duration::from_secs(30);
const GRACE: Duration = Duration::from_secs(1);
/// How often waiting tasks look at the clock for the stop.
const TICK: Duration = Duration::from_millis(50);
/// Problems printed in full (the rest are only counted).
const PRINTED: usize = 10;

/// One visitor message, from both sides.
#[derive(Default)]
struct Slot {
    /// Intended send time, set just before the frame is written.
    sent: Option<Instant>,
    /// Acks (`message` frames with this message's `ref`).
    acks: u32,
    /// An agent socket has seen its `ticket` frame.
    seen: bool,
    /// When the reply's REST request went out.
    reply_sent: Option<Instant>,
    /// The server accepted the reply (`200`) before the stop.
    reply_ok: bool,
    /// The reply's request has its answer (any).
    reply_done: bool,
    /// ... only after the stop.
    reply_late: bool,
    /// Times the reply reached the visitor.
    replies: u32,
}

struct Shared {
    visitors: usize,
    agents: usize,
    interval: Duration,
    seconds: Duration,
    /// Makes `client_id`s unique across runs.
    tag: u64,
    slots: Vec<Mutex<Vec<Slot>>>,
    start: OnceLock<Instant>,
    /// When every task stops reading.
    stop: OnceLock<Instant>,
    agents_ready: AtomicUsize,
    visitors_ready: AtomicUsize,
    replies_failed: AtomicU64,
    printed: AtomicUsize,
}

impl Shared {
    /// Prints the first [`PRINTED`] problems of the run.
    fn problem(&self, what: std::fmt::Arguments) {
        if self.printed.fetch_add(1, Ordering::Relaxed) < PRINTED {
            eprintln!("chat: {what}");
        }
    }

    /// Intended send time of visitor `v`'s message `k`: an even phase, then
    /// every interval, each ±10% by a fixed pseudo-random jitter.
    fn stopped(&self, now: Instant) -> bool {
        self.stop.get().is_some_and(|stop| now >= *stop)
    }

    /// Every sent message is acked and seen by an agent, and every reply is
    /// answered and, if accepted, delivered.
    fn all_done(&self) -> bool {
        self.slots.iter().all(|slots| {
            slots.lock().unwrap().iter().all(|s| {
                s.sent.is_none()
                    || (s.acks > 0 && s.seen && s.reply_done && (!s.reply_ok || s.replies > 0))
            })
        })
    }

    fn intended(&self, start: Instant, v: usize, k: usize) -> Instant {
        let interval = self.interval.as_secs_f64();
        let phase = interval * v as f64 / self.visitors as f64;
        let jitter = interval * (0.2 * unit(((v as u64) << 24) ^ k as u64 ^ self.tag) - 0.1);
        start + Duration::from_secs_f64((phase + interval * k as f64 + jitter).max(0.0))
    }
}

/// splitmix64 to [0, 1).
fn unit(x: u64) -> f64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

struct AgentStats {
    /// visitor → first agent.
    first: Histogram<u64>,
    /// visitor → each agent.
    every: Histogram<u64>,
    /// REST round trip of the replies this agent sent.
    rest: Histogram<u64>,
    /// Customer frames per visitor at this socket: (ticket, count).
    seen: HashMap<usize, (String, u32)>,
    /// Customer frames that match no sent message, or a second ticket of a visitor.
    unexpected: u64,
    closed: bool,
}

/// The visitor thread's histograms, shared by its tasks (one per task would
/// be ~300 KB each).
struct VisitorHists {
    ack: Histogram<u64>,
    reply: Histogram<u64>,
    lag: Histogram<u64>,
}

struct VisitorStats {
    ids: Vec<String>,
    bad_acks: u64,
    misrouted: u64,
    errors: u64,
    closed: bool,
}

struct Outcome {
    first: Histogram<u64>,
    every: Histogram<u64>,
    rest: Histogram<u64>,
    ack: Histogram<u64>,
    reply: Histogram<u64>,
    lag: Histogram<u64>,
    sent: u64,
    unacked: u64,
    duplicate_acks: u64,
    duplicate_ids: u64,
    bad_acks: u64,
    unseen: u64,
    agent_lost: u64,
    agent_extra: u64,
    replies_ok: u64,
    replies_failed: u64,
    replies_lost: u64,
    replies_late: u64,
    replies_duplicated: u64,
    misrouted: u64,
    errors: u64,
    closed: u64,
    rss_before: f64,
    rss_after: f64,
    rss_end: f64,
    cpu: f64,
    generator_cpu: f64,
    window: f64,
    /// Store counters over the window (from `/metrics`): (writes, commits, commit seconds).
    store: Option<(f64, f64, f64)>,
}

pub fn run(options: &Options) -> Run {
    let plan = Plan {
        agents: options.agents.max(1),
        inboxes: 1,
        tickets_per_inbox: 0,
    };
    let visitor_config = format!(
        "[visitor]\nmax_sockets_per_address = {}\nframes_per_s = 10\nframes_burst = 20\n",
        options.visitors.max(10_000)
    );
    let config = crate::server::bench_config("", &visitor_config);
    let (target, world) = crate::seed::target(options, plan, &config);
    let o = drive(&target, &world, options);
    drop(target);
    let mut run = Run::new();
    figures(&mut run, &o, options);
    if options.baseline && options.url.is_none() {
        let per_socket = baseline_rss(options);
        run.add("baseline RSS per socket", per_socket / 1024.0, "KiB");
        run.add(
            "ratio RSS per visitor socket (tandem/baseline)",
            (o.rss_after - o.rss_before) / options.visitors as f64 / per_socket,
            "",
        );
    }
    run.target("visitor→agent p99", Cmp::AtMost, 20.0);
    run.target("agent→visitor p99", Cmp::AtMost, 20.0);
    run.target("RSS per visitor socket", Cmp::AtMost, 16.0);
    run.target("messages lost", Cmp::AtMost, 0.0);
    run.target("messages duplicated", Cmp::AtMost, 0.0);
    run
}

fn figures(run: &mut Run, o: &Outcome, options: &Options) {
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    run.add("visitor→agent p50", ms(&o.first, 0.5), "ms");
    run.add("visitor→agent p99", ms(&o.first, 0.99), "ms");
    run.add("visitor→agent max", o.first.max() as f64 / 1000.0, "ms");
    run.add("visitor→agent, every agent p99", ms(&o.every, 0.99), "ms");
    run.add("agent→visitor p50", ms(&o.reply, 0.5), "ms");
    run.add("agent→visitor p99", ms(&o.reply, 0.99), "ms");
    run.add("agent→visitor max", o.reply.max() as f64 / 1000.0, "ms");
    run.add("visitor ack p50", ms(&o.ack, 0.5), "ms");
    run.add("visitor ack p99", ms(&o.ack, 0.99), "ms");
    run.add("reply REST p50", ms(&o.rest, 0.5), "ms");
    run.add("reply REST p99", ms(&o.rest, 0.99), "ms");
    run.add(
        "RSS per visitor socket",
        (o.rss_after - o.rss_before) / options.visitors as f64 / 1024.0,
        "KiB",
    );
    run.add("RSS before visitors", o.rss_before / 1048576.0, "MiB");
    run.add("RSS with visitors", o.rss_after / 1048576.0, "MiB");
    run.add("RSS at the end", o.rss_end / 1048576.0, "MiB");
    run.add("visitor messages", o.sent as f64, "");
    run.add("replies accepted", o.replies_ok as f64, "");
    let lost =
        o.unacked + o.unseen + o.agent_lost + o.replies_failed + o.replies_lost + o.replies_late;
    let duplicated = o.duplicate_acks + o.duplicate_ids + o.agent_extra + o.replies_duplicated;
    run.add("messages lost", lost as f64, "");
    run.add("messages duplicated", duplicated as f64, "");
    run.add("  of which: messages without ack", o.unacked as f64, "");
    run.add("  messages no agent saw", o.unseen as f64, "");
    run.add(
        "  customer frames missing at agents",
        o.agent_lost as f64,
        "",
    );
    run.add("  replies refused", o.replies_failed as f64, "");
    run.add("  replies not delivered", o.replies_lost as f64, "");
    run.add(
        "  replies answered only after the drain",
        o.replies_late as f64,
        "",
    );
    run.add("  duplicate acks", o.duplicate_acks as f64, "");
    run.add("  duplicate message ids", o.duplicate_ids as f64, "");
    run.add(
        "  extra customer frames at agents",
        o.agent_extra as f64,
        "",
    );
    run.add("  replies delivered twice", o.replies_duplicated as f64, "");
    run.add("acks with a wrong client_id", o.bad_acks as f64, "");
    run.add("replies at the wrong visitor", o.misrouted as f64, "");
    run.add("error frames to visitors", o.errors as f64, "");
    run.add("sockets closed early", o.closed as f64, "");
    run.add("server CPU", o.cpu / o.window * 100.0, "% of a core");
    run.add(
        "generator CPU",
        o.generator_cpu / o.window * 100.0,
        "% of a core",
    );
    run.add("generator send lag p99", ms(&o.lag, 0.99), "ms");
    if let Some((writes, commits, commit_s)) = o.store {
        run.add(
            "store writes per visitor message (its reply included)",
            writes / o.sent.max(1) as f64,
            "",
        );
        run.add("store commits/s", commits / o.window, "");
        run.add(
            "store mean commit (apply + fsync)",
            commit_s / commits.max(1.0) * 1000.0,
            "ms",
        );
    }
    if o.bad_acks + o.misrouted + o.errors + o.closed > 0 {
        run.notes.push(format!(
            "{} acks with a wrong client_id, {} misrouted replies, {} error frames, {} sockets closed",
            o.bad_acks, o.misrouted, o.errors, o.closed
        ));
    }
}

/// Creates the channel, connects agents then visitors, and runs the schedule.
fn drive(target: &Target, world: &crate::seed::World, options: &Options) -> Outcome {
    let n = options.visitors;
    let interval = Duration::from_secs_f64(options.interval_ms / 1000.0);
    let seconds = Duration::from_secs_f64(options.seconds);
    // Messages per visitor at most: the jitter can pull one more into the window.
    let per_visitor = (options.seconds / (options.interval_ms / 1000.0)).ceil() as usize + 2;
    let base = target.base.clone();
    let key: String = actix_rt::System::new().block_on(async {
        let (status, channel) = generator::rest(
            &base,
            Some(&world.admin_token),
            "POST",
            "/api/channels",
            json!({"kind": "chat", "inbox": world.inboxes[0], "name": "Load chat",
                   "allowed_origins": [ORIGIN]}),
        )
        .await;
        assert_eq!(status, 201, "POST /api/channels: {channel}");
        channel["key"].as_str().expect("channel key").to_owned()
    });
    let shared = Arc::new(Shared {
        visitors: n,
        agents: world.agents.len(),
        interval,
        seconds,
        tag: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
        slots: (0..n)
            .map(|_| Mutex::new((0..per_visitor).map(|_| Slot::default()).collect()))
            .collect(),
        start: OnceLock::new(),
        stop: OnceLock::new(),
        agents_ready: AtomicUsize::new(0),
        visitors_ready: AtomicUsize::new(0),
        replies_failed: AtomicU64::new(0),
        printed: AtomicUsize::new(0),
    });
    let addr = target.addr();
    let agents: Vec<(String, String)> = world
        .agents
        .iter()
        .map(|a| (a.id.clone(), a.token.clone()))
        .collect();
    let agent_thread = {
        let (shared, base, inbox) = (shared.clone(), base.clone(), world.inboxes[0].clone());
        let spread = generator::spread(options.source_addresses, agents.len() + n);
        std::thread::spawn(move || run_agents(shared, addr, spread, base, inbox, agents))
    };
    while shared.agents_ready.load(Ordering::Acquire) < shared.agents {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    let rss_before = target.rss_bytes().unwrap_or(f64::NAN);
    let visitor_thread = {
        let shared = shared.clone();
        let spread = generator::spread(options.source_addresses, n);
        std::thread::spawn(move || run_visitors(shared, addr, spread, key))
    };
    while shared.visitors_ready.load(Ordering::Acquire) < n {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(300));
    let rss_after = target.rss_bytes().unwrap_or(f64::NAN);
    let start = Instant::now() + Duration::from_millis(500);
    shared.start.set(start).unwrap();
    std::thread::sleep(start.saturating_duration_since(Instant::now()));
    let cpu0 = target.cpu_seconds();
    let gen0 = generator::own_cpu_seconds();
    let store0 = store_counters(&base);
    let end_send = start + seconds;
    std::thread::sleep(end_send.saturating_duration_since(Instant::now()));
    let stop = loop {
        let now = Instant::now();
        if shared.all_done() {
            break now + GRACE;
        }
        if now >= end_send + MAX_DRAIN {
            eprintln!("chat: not everything arrived within {MAX_DRAIN:?} after the last message");
            break now;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    shared.stop.set(stop).unwrap();
    let agent_stats = agent_thread.join().expect("agent thread");
    let visitor_stats = visitor_thread.join().expect("visitor thread");
    let window = start.elapsed().as_secs_f64();
    let cpu1 = target.cpu_seconds();
    let store1 = store_counters(&base);
    let gen1 = generator::own_cpu_seconds();
    let rss_end = target.rss_bytes().unwrap_or(f64::NAN);

    let mut o = Outcome {
        first: hist(),
        every: hist(),
        rest: hist(),
        ack: hist(),
        reply: hist(),
        lag: hist(),
        sent: 0,
        unacked: 0,
        duplicate_acks: 0,
        duplicate_ids: 0,
        bad_acks: 0,
        unseen: 0,
        agent_lost: 0,
        agent_extra: 0,
        replies_ok: 0,
        replies_failed: shared.replies_failed.load(Ordering::Relaxed),
        replies_lost: 0,
        replies_late: 0,
        replies_duplicated: 0,
        misrouted: 0,
        errors: 0,
        closed: 0,
        rss_before,
        rss_after,
        rss_end,
        cpu: cpu0.zip(cpu1).map_or(f64::NAN, |(a, b)| b - a),
        generator_cpu: gen1 - gen0,
        window,
        store: store0
            .zip(store1)
            .map(|(a, b)| (b.0 - a.0, b.1 - a.1, b.2 - a.2)),
    };
    // Messages sent per visitor, for the agents' counts.
    let mut sent_by = vec![0u32; n];
    for (v, slots) in shared.slots.iter().enumerate() {
        for s in slots.lock().unwrap().iter().filter(|s| s.sent.is_some()) {
            sent_by[v] += 1;
            o.sent += 1;
            o.unacked += u64::from(s.acks == 0);
            o.duplicate_acks += u64::from(s.acks.saturating_sub(1));
            o.unseen += u64::from(!s.seen);
            o.replies_ok += u64::from(s.reply_ok);
            o.replies_lost += u64::from(s.reply_ok && s.replies == 0);
            o.replies_late += u64::from(s.reply_late);
            o.replies_duplicated += u64::from(s.replies.saturating_sub(1));
        }
    }
    for a in &agent_stats {
        o.first.add(&a.first).unwrap();
        o.every.add(&a.every).unwrap();
        o.rest.add(&a.rest).unwrap();
        o.agent_extra += a.unexpected;
        o.closed += u64::from(a.closed);
        for (v, &sent) in sent_by.iter().enumerate() {
            let seen = a.seen.get(&v).map_or(0, |s| s.1);
            o.agent_lost += u64::from(sent.saturating_sub(seen));
            o.agent_extra += u64::from(seen.saturating_sub(sent));
        }
    }
    let (visitor_hists, visitor_stats) = visitor_stats;
    o.ack = visitor_hists.ack;
    o.reply = visitor_hists.reply;
    o.lag = visitor_hists.lag;
    let mut ids = HashSet::new();
    for s in &visitor_stats {
        o.bad_acks += s.bad_acks;
        o.misrouted += s.misrouted;
        o.errors += s.errors;
        o.closed += u64::from(s.closed);
        for id in &s.ids {
            if !ids.insert(id.as_str()) {
                o.duplicate_ids += 1;
            }
        }
    }
    o
}

/// (writes, commits, commit seconds) of the server's store so far, from `GET /metrics`.
fn store_counters(base: &str) -> Option<(f64, f64, f64)> {
    let text = actix_rt::System::new().block_on(async {
        let client = awc::Client::default();
        let mut resp = client.get(format!("{base}/metrics")).send().await.ok()?;
        let body = resp.body().limit(1 << 22).await.ok()?;
        String::from_utf8(body.to_vec()).ok()
    })?;
    let value = |name: &str| {
        text.lines()
            .find(|l| l.split([' ', '{']).next() == Some(name))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    Some((
        value("tandem_store_writes_total")?,
        value("tandem_store_commits_total")?,
        value("tandem_store_commit_seconds_sum")?,
    ))
}

/// Reads (and drops) what comes until the start is set; `None` if the socket ended.
async fn wait_start(shared: &Shared, ws: &mut Ws) -> Option<Instant> {
    loop {
        if let Some(start) = shared.start.get() {
            return Some(*start);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            msg = ws.next() => if !matches!(msg, Some(Ok(_))) { return None },
        }
    }
}

fn run_agents(
    shared: Arc<Shared>,
    addr: std::net::SocketAddr,
    spread: usize,
    base: String,
    inbox: String,
    agents: Vec<(String, String)>,
) -> Vec<AgentStats> {
    actix_rt::System::new().block_on(async move {
        let ids: Rc<HashSet<String>> = Rc::new(agents.iter().map(|a| a.0.clone()).collect());
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(60))
            .finish();
        let base: Rc<str> = base.into();
        let mut tasks = Vec::with_capacity(agents.len());
        for (a, (_, token)) in agents.iter().enumerate() {
            let ws = generator::session(addr, a, spread, token, Some(&inbox)).await;
            let ctx = AgentCtx {
                shared: shared.clone(),
                a,
                ids: ids.clone(),
                client: client.clone(),
                base: base.clone(),
                token: token.as_str().into(),
                rest: Rc::new(RefCell::new(hist())),
            };
            // Reading starts at once (pings) and waits for the start.
            tasks.push(actix_rt::spawn(agent(ctx, ws)));
            shared.agents_ready.fetch_add(1, Ordering::AcqRel);
        }
        let mut stats = Vec::with_capacity(tasks.len());
        for t in tasks {
            stats.push(t.await.expect("agent task"));
        }
        stats
    })
}

struct AgentCtx {
    shared: Arc<Shared>,
    a: usize,
    ids: Rc<HashSet<String>>,
    client: awc::Client,
    base: Rc<str>,
    token: Rc<str>,
    rest: Rc<RefCell<Histogram<u64>>>,
}

async fn agent(ctx: AgentCtx, mut ws: Ws) -> AgentStats {
    let mut stats = AgentStats {
        first: hist(),
        every: hist(),
        rest: hist(),
        seen: HashMap::new(),
        unexpected: 0,
        closed: false,
    };
    if wait_start(&ctx.shared, &mut ws).await.is_none() {
        ctx.shared.problem(format_args!(
            "agent socket {} ended before the start",
            ctx.a
        ));
        stats.closed = true;
        return stats;
    }
    let mut replies = Vec::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => if ctx.shared.stopped(Instant::now()) { break },
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    if let Some(job) = observe_agent(&ctx, text.as_str(), &mut stats) {
                        replies.push(actix_rt::spawn(reply(ctx.clone_for_reply(), job)));
                    }
                }
                Some(Ok(_)) => {}
                _ => {
                    ctx.shared.problem(format_args!("agent socket {} ended", ctx.a));
                    stats.closed = true;
                    break;
                }
            }
        }
    }
    for r in replies {
        let _ = r.await;
    }
    stats.rest = ctx.rest.borrow().clone();
    stats
}

impl AgentCtx {
    fn clone_for_reply(&self) -> AgentCtx {
        AgentCtx {
            shared: self.shared.clone(),
            a: self.a,
            ids: self.ids.clone(),
            client: self.client.clone(),
            base: self.base.clone(),
            token: self.token.clone(),
            rest: self.rest.clone(),
        }
    }
}

/// A reply to send: ticket, visitor, message number.
struct Job {
    ticket: String,
    v: usize,
    k: usize,
}

/// Counts a customer `ticket` frame; the reply to send if this agent answers it.
fn observe_agent(ctx: &AgentCtx, text: &str, stats: &mut AgentStats) -> Option<Job> {
    if frame_type(text) != "ticket" {
        return None;
    }
    let now = Instant::now();
    let change = &text[text.rfind("\"change\":")?..];
    let action = field(change, "action")?;
    if action != "created" && action != "message" {
        return None;
    }
    // A reply's frame names the replying agent in `by`.
    if let Some(by) = change.find("\"by\":{").map(|i| &change[i..])
        && field(by, "id").is_some_and(|id| ctx.ids.contains(id))
    {
        return None;
    }
    let ticket = &text[text.find("\"ticket\":{")?..];
    let id = field(ticket, "id")?;
    let Some(v) = field(ticket, "subject").and_then(visitor_of) else {
        stats.unexpected += 1;
        ctx.shared
            .problem(format_args!("customer frame of an unknown ticket: {text}"));
        return None;
    };
    if v >= ctx.shared.visitors {
        stats.unexpected += 1;
        return None;
    }
    let entry = stats.seen.entry(v).or_insert_with(|| (id.to_owned(), 0));
    if entry.0 != id {
        stats.unexpected += 1;
        ctx.shared.problem(format_args!(
            "visitor {v}: a second conversation {id} (first {})",
            entry.0
        ));
        return None;
    }
    let k = entry.1 as usize;
    entry.1 += 1;
    if (k == 0) != (action == "created") {
        ctx.shared.problem(format_args!(
            "visitor {v} message {k}: ticket frame with action {action}"
        ));
    }
    let mut slots = ctx.shared.slots[v].lock().unwrap();
    let Some(slot) = slots.get_mut(k).filter(|s| s.sent.is_some()) else {
        stats.unexpected += 1;
        ctx.shared.problem(format_args!(
            "visitor {v}: customer frame {k} at agent {} for a message not sent",
            ctx.a
        ));
        return None;
    };
    let sent = slot.sent.unwrap();
    record(&mut stats.every, sent, now);
    if !slot.seen {
        slot.seen = true;
        record(&mut stats.first, sent, now);
    }
    ((v + k) % ctx.shared.agents == ctx.a).then(|| Job {
        ticket: id.to_owned(),
        v,
        k,
    })
}

/// `v<visitor> m0`: the subject of a visitor's conversation.
fn visitor_of(subject: &str) -> Option<usize> {
    subject.strip_prefix('v')?.split(' ').next()?.parse().ok()
}

async fn reply(ctx: AgentCtx, job: Job) {
    let path = format!("/api/tickets/{}/messages", job.ticket);
    let body =
        json!({"kind": "reply", "body": format!("r{}.{} Thanks, we are on it.", job.v, job.k)});
    let sent = Instant::now();
    ctx.shared.slots[job.v].lock().unwrap()[job.k].reply_sent = Some(sent);
    let (status, answer) = generator::rest_with(
        &ctx.client,
        &ctx.base,
        Some(&ctx.token),
        "POST",
        &path,
        body,
    )
    .await;
    record(&mut ctx.rest.borrow_mut(), sent, Instant::now());
    let late = ctx.shared.stopped(Instant::now());
    let mut slots = ctx.shared.slots[job.v].lock().unwrap();
    slots[job.k].reply_done = true;
    if (status == 200 || status == 201) && !late {
        slots[job.k].reply_ok = true;
    } else if late {
        slots[job.k].reply_late = true;
    } else {
        ctx.shared.replies_failed.fetch_add(1, Ordering::Relaxed);
        ctx.shared.problem(format_args!(
            "reply to visitor {} message {} by agent {}: {status} {answer}",
            job.v, job.k, ctx.a
        ));
    }
}

fn run_visitors(
    shared: Arc<Shared>,
    addr: std::net::SocketAddr,
    spread: usize,
    key: String,
) -> (VisitorHists, Vec<VisitorStats>) {
    actix_rt::System::new().block_on(async move {
        let n = shared.visitors;
        let key: Rc<str> = key.into();
        let hists = Rc::new(RefCell::new(VisitorHists {
            ack: hist(),
            reply: hist(),
            lag: hist(),
        }));
        let mut tasks = Vec::with_capacity(n);
        for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
            let futures = chunk.iter().map(|&v| {
                let key = key.clone();
                async move {
                    let mut ws =
                        generator::connect_to(addr, v, spread, "/ws/visitor", Some(ORIGIN)).await;
                    generator::send(
                        &mut ws,
                        json!({"type": "hello", "channel": &*key, "visitor_token": null,
                               "identity": null, "last_message": null, "ref": 0})
                        .to_string(),
                    )
                    .await;
                    generator::wait_for(&mut ws, "welcome").await;
                    ws
                }
            });
            let sockets = futures_util::future::join_all(futures).await;
            for (&v, ws) in chunk.iter().zip(sockets) {
                // Reading starts at once (pings, availability) and waits for the start.
                tasks.push(actix_rt::spawn(visitor(
                    shared.clone(),
                    hists.clone(),
                    v,
                    ws,
                )));
                shared.visitors_ready.fetch_add(1, Ordering::AcqRel);
            }
        }
        let mut stats = Vec::with_capacity(n);
        for t in tasks {
            stats.push(t.await.expect("visitor task"));
        }
        let hists = Rc::try_unwrap(hists).ok().expect("visitor tasks ended");
        (hists.into_inner(), stats)
    })
}

async fn visitor(
    shared: Arc<Shared>,
    hists: Rc<RefCell<VisitorHists>>,
    v: usize,
    mut ws: Ws,
) -> VisitorStats {
    let mut stats = VisitorStats {
        ids: Vec::new(),
        bad_acks: 0,
        misrouted: 0,
        errors: 0,
        closed: false,
    };
    let Some(start) = wait_start(&shared, &mut ws).await else {
        shared.problem(format_args!("visitor socket {v} ended before the start"));
        stats.closed = true;
        return stats;
    };
    let end_send = start + shared.seconds;
    let capacity = shared.slots[v].lock().unwrap().len();
    let mut k = 0;
    let mut next_at = shared.intended(start, v, 0);
    loop {
        let sending = next_at < end_send && k < capacity;
        let deadline = if sending {
            next_at
        } else {
            Instant::now() + TICK
        };
        tokio::select! {
            biased;
            _ = tokio::time::sleep_until(deadline.into()) => {
                if !sending {
                    if shared.stopped(Instant::now()) { break; }
                    continue;
                }
                let frame = json!({"type": "message",
                    "body": format!("v{v} m{k}\nHello, this is message {k} of visitor {v}."),
                    "client_id": client_id(&shared, v, k), "ref": k + 1});
                shared.slots[v].lock().unwrap()[k].sent = Some(next_at);
                generator::send(&mut ws, frame.to_string()).await;
                record(&mut hists.borrow_mut().lag, next_at, Instant::now());
                k += 1;
                next_at = shared.intended(start, v, k);
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => observe_visitor(&shared, v, text.as_str(), &mut stats, &hists),
                Some(Ok(_)) => {}
                _ => {
                    shared.problem(format_args!("visitor socket {v} ended"));
                    stats.closed = true;
                    break;
                }
            }
        }
    }
    stats
}

fn client_id(shared: &Shared, v: usize, k: usize) -> String {
    format!("load-{:x}-{v}-{k}", shared.tag & 0xffff_ffff)
}

fn observe_visitor(
    shared: &Shared,
    v: usize,
    text: &str,
    stats: &mut VisitorStats,
    hists: &RefCell<VisitorHists>,
) {
    let now = Instant::now();
    match frame_type(text) {
        "message" => {}
        "error" => {
            stats.errors += 1;
            shared.problem(format_args!("visitor {v}: {text}"));
            return;
        }
        _ => return,
    }
    let Some(message) = text.find("\"message\":{").map(|i| &text[i..]) else {
        return;
    };
    if let Some(r) = ref_number(text) {
        // The ack of message r - 1.
        let k = (r as usize).wrapping_sub(1);
        let mut slots = shared.slots[v].lock().unwrap();
        let Some(slot) = slots.get_mut(k).filter(|s| s.sent.is_some()) else {
            stats.bad_acks += 1;
            shared.problem(format_args!("visitor {v}: ack of no message: {text}"));
            return;
        };
        slot.acks += 1;
        if slot.acks == 1 {
            record(&mut hists.borrow_mut().ack, slot.sent.unwrap(), now);
        }
        drop(slots);
        if field(message, "client_id") != Some(client_id(shared, v, k).as_str()) {
            stats.bad_acks += 1;
            shared.problem(format_args!(
                "visitor {v}: ack with another client_id: {text}"
            ));
        }
        if let Some(id) = field(message, "id") {
            stats.ids.push(id.to_owned());
        }
        return;
    }
    // Someone else's message: an agent's reply `r<visitor>.<k> …`.
    let Some((to, k)) = field(message, "body").and_then(reply_of) else {
        shared.problem(format_args!("visitor {v}: unexpected message: {text}"));
        return;
    };
    if to != v {
        stats.misrouted += 1;
        shared.problem(format_args!("visitor {v} got the reply to visitor {to}"));
        return;
    }
    let mut slots = shared.slots[v].lock().unwrap();
    let Some(slot) = slots.get_mut(k) else {
        stats.misrouted += 1;
        return;
    };
    slot.replies += 1;
    if slot.replies == 1 {
        match slot.reply_sent {
            Some(sent) => record(&mut hists.borrow_mut().reply, sent, now),
            None => shared.problem(format_args!("visitor {v}: reply {k} before its request")),
        }
    }
}

/// `"ref":N` of a frame.
fn ref_number(text: &str) -> Option<u64> {
    let rest = &text[text.find("\"ref\":")? + 6..];
    let digits = rest.trim_start_matches('"');
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// `r<visitor>.<k> …`: the body of the reply to visitor's message k.
fn reply_of(body: &str) -> Option<(usize, usize)> {
    let head = body.strip_prefix('r')?.split(' ').next()?;
    let (v, k) = head.split_once('.')?;
    Some((v.parse().ok()?, k.parse().ok()?))
}

/// Server RSS per idle socket of the baseline server: `visitors` sockets,
/// each alone in its room.
fn baseline_rss(options: &Options) -> f64 {
    let target = Target::baseline();
    let addr = target.addr();
    let n = options.visitors;
    let spread = generator::spread(options.source_addresses, n);
    actix_rt::System::new().block_on(async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = target.rss_bytes().unwrap_or(f64::NAN);
        let mut sockets = Vec::with_capacity(n);
        for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
            let futures = chunk.iter().map(|&i| async move {
                let mut ws = generator::connect(addr, i, spread).await;
                generator::send(
                    &mut ws,
                    json!({"type": "join", "room": format!("v{i}")}).to_string(),
                )
                .await;
                generator::wait_for(&mut ws, "joined").await;
                ws
            });
            sockets.extend(futures_util::future::join_all(futures).await);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = target.rss_bytes().unwrap_or(f64::NAN);
        drop(sockets);
        (after - before) / n as f64
    })
}
