//! `contention`: `--agents` (500) agents hammer `--tickets` (50) tickets with
//! `open`, `open` + `take_over`, `force_release` and `close` at random, each
//! agent one action every `--interval-ms` (10 ms: 50,000 actions/s in all),
//! open loop. An observer subscribed to each inbox checks every presence frame
//! online against a model (ticket → holder): a `claimed` while another agent
//! holds the ticket, or a `claimed` frame whose claim is not its agent, is a
//! violation. Decision latency: intended time of an `open` to its `opened`.
//! Decisions/s: all actions, up to the `pong` that follows each agent's last one.
//! The observers' outbound backlog limit is raised (they must see every frame);
//! an observer the server drops anyway counts as a violation (the check is void).
//!
//! Baseline: the same number of clients in one room per ticket, each
//! broadcasting a frame on the same schedule; a broadcast stands for a
//! decision (latency: to the sender's own copy). It shows what the stack
//! itself delivers on this machine at a similar fan-out. Its frames are
//! about 30 bytes; `--baseline-frame-bytes N` pads them to about N bytes to
//! compare with frames of Tandem's size ("mean presence frame bytes").

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::json;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::cli::Options;
use crate::generator::{self, Ws, change_agent, claim_holder, field, frame_type, hist, record};
use crate::report::{Cmp, Run};
use crate::seed::Plan;

pub fn run(options: &Options) -> Run {
    let inboxes = options.inboxes.min(options.tickets);
    let plan = Plan {
        agents: options.agents,
        inboxes,
        tickets_per_inbox: options.tickets / inboxes,
    };
    // The observers are the instrument: they must see every frame, so their
    // outbound backlog may grow far past the browser default (1024 frames)
    // while they catch up on the shared cores.
    let config = crate::server::bench_config(
        "max_backlog_frames = 10000000\nmax_backlog_bytes = 4294967296",
        "",
    );
    let (target, world) = crate::seed::target(options, plan, &config);
    let addr = target.addr();
    let n = options.agents;
    let spread = generator::spread(options.source_addresses, n + inboxes);
    let interval = Duration::from_secs_f64(options.interval_ms / 1000.0);
    let seconds = Duration::from_secs_f64(options.seconds);
    let tickets = Arc::new(world.tickets.clone());
    let violations = Arc::new(AtomicU64::new(0));
    let observed = Arc::new(AtomicU64::new(0));
    let observed_bytes = Arc::new(AtomicU64::new(0));
    let (start_tx, start_rx) = watch::channel(None::<Instant>);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    // The observers get a thread of their own, so the agents never starve them.
    let observer_thread = {
        let (inboxes, admin) = (world.inboxes.clone(), world.admin_token.clone());
        let (violations, observed, observed_bytes, ready_tx) = (
            violations.clone(),
            observed.clone(),
            observed_bytes.clone(),
            ready_tx.clone(),
        );
        std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let mut observers = Vec::new();
                for (i, inbox) in inboxes.iter().enumerate() {
                    let ws = generator::session(addr, n + i, spread, &admin, Some(inbox)).await;
                    observers.push(actix_rt::spawn(observe(
                        ws,
                        violations.clone(),
                        observed.clone(),
                        observed_bytes.clone(),
                        stop_rx.clone(),
                    )));
                }
                ready_tx.send(()).unwrap();
                for o in observers {
                    o.await.unwrap();
                }
            })
        })
    };
    ready_rx.recv().unwrap();
    let agent_threads: Vec<_> = (0..options.threads)
        .map(|j| {
            let threads = options.threads;
            let tokens: Vec<(usize, String, usize)> = world
                .agents
                .iter()
                .enumerate()
                .skip(j)
                .step_by(threads)
                .map(|(a, s)| (a, s.token.clone(), s.inbox))
                .collect();
            let (tickets, start_rx, ready_tx) =
                (tickets.clone(), start_rx.clone(), ready_tx.clone());
            std::thread::spawn(move || {
                actix_rt::System::new().block_on(async move {
                    let mut sockets = Vec::new();
                    for chunk in tokens.chunks(100) {
                        let futures = chunk
                            .iter()
                            .map(|(a, token, _)| generator::session(addr, *a, spread, token, None));
                        sockets.extend(futures_util::future::join_all(futures).await);
                    }
                    let clients = tokens.iter().zip(sockets).map(|((a, _, inbox), ws)| {
                        agent(
                            *a,
                            n,
                            ws,
                            tickets.clone(),
                            *inbox,
                            interval,
                            seconds,
                            start_rx.clone(),
                        )
                    });
                    run_clients(&ready_tx, clients).await
                })
            })
        })
        .collect();
    let Merged {
        latency,
        actions,
        frames,
        elapsed,
        cpu,
    } = start_and_merge(&target, agent_threads, &ready_rx, &start_tx);
    std::thread::sleep(Duration::from_millis(500));
    let _ = stop_tx.send(true); // (observers the server dropped are gone already)
    observer_thread.join().unwrap();
    let mut run = Run::new();
    run.add("decisions/s", actions as f64 / elapsed, "");
    run.add(
        "actions sent/s (offered)",
        n as f64 / interval.as_secs_f64(),
        "",
    );
    run.add(
        "decision p50",
        latency.value_at_quantile(0.5) as f64 / 1000.0,
        "ms",
    );
    run.add(
        "decision p99",
        latency.value_at_quantile(0.99) as f64 / 1000.0,
        "ms",
    );
    run.add("decision max", latency.max() as f64 / 1000.0, "ms");
    run.add(
        "presence frames checked",
        observed.load(Ordering::Relaxed) as f64,
        "",
    );
    run.add(
        "mean presence frame bytes",
        observed_bytes.load(Ordering::Relaxed) as f64
            / observed.load(Ordering::Relaxed).max(1) as f64,
        "",
    );
    run.add(
        "double-holder violations",
        violations.load(Ordering::Relaxed) as f64,
        "",
    );
    // Frames the agents received, plus the presence frames the observers checked.
    let delivered = frames as f64 + observed.load(Ordering::Relaxed) as f64;
    run.add("frames delivered/s", delivered / elapsed, "");
    run.add("server CPU", cpu / elapsed * 100.0, "% of a core");
    run.add(
        "server CPU-s per million frames",
        cpu / delivered * 1e6,
        "s",
    );
    run.add(
        "server RSS",
        target.rss_bytes().unwrap_or(f64::NAN) / 1048576.0,
        "MiB",
    );
    if options.baseline && options.url.is_none() {
        let b = baseline(options);
        run.add("baseline broadcasts/s", b.decisions_per_s, "");
        run.add("baseline frames delivered/s", b.frames_per_s, "");
        run.add("baseline broadcast p99", b.p99_ms, "ms");
        run.add("baseline frame bytes", b.frame_bytes as f64, "");
        run.add(
            "baseline server CPU-s per million frames",
            b.cpu_per_million,
            "s",
        );
        run.add(
            "ratio decisions/s (tandem/baseline broadcasts/s)",
            actions as f64 / elapsed / b.decisions_per_s,
            "",
        );
        run.add(
            "ratio frames delivered/s (tandem/baseline)",
            delivered / elapsed / b.frames_per_s,
            "",
        );
    }
    run.target("double-holder violations", Cmp::AtMost, 0.0);
    run.target("decisions/s", Cmp::AtLeast, 50_000.0);
    run
}

/// What one client task reports: its latencies, the actions it sent, when
/// it was done, and the frames it received.
type ClientResult = (Histogram<u64>, u64, Instant, u64);

struct Merged {
    latency: Histogram<u64>,
    actions: u64,
    frames: u64,
    elapsed: f64,
    /// Server CPU-seconds over `elapsed`.
    cpu: f64,
}

/// Tells the bench this generator thread's sockets are open, then runs one
/// client task per socket to its end.
async fn run_clients<F: std::future::Future<Output = ClientResult> + 'static>(
    ready_tx: &std::sync::mpsc::Sender<()>,
    clients: impl Iterator<Item = F>,
) -> Vec<ClientResult> {
    ready_tx.send(()).unwrap();
    let tasks: Vec<_> = clients.map(actix_rt::spawn).collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// Once every generator thread is ready, starts all clients 300 ms from now
/// and merges what they report.
fn start_and_merge(
    target: &crate::server::Target,
    threads: Vec<std::thread::JoinHandle<Vec<ClientResult>>>,
    ready_rx: &std::sync::mpsc::Receiver<()>,
    start_tx: &watch::Sender<Option<Instant>>,
) -> Merged {
    for _ in 0..threads.len() {
        ready_rx.recv().unwrap();
    }
    let start = Instant::now() + Duration::from_millis(300);
    let cpu0 = target.cpu_seconds();
    start_tx.send(Some(start)).unwrap();
    let (mut latency, mut actions, mut last, mut frames) = (hist(), 0u64, start, 0u64);
    for t in threads {
        for (h, count, done, received) in t.join().unwrap() {
            latency.add(&h).unwrap();
            actions += count;
            frames += received;
            last = last.max(done);
        }
    }
    let cpu = target
        .cpu_seconds()
        .zip(cpu0)
        .map_or(f64::NAN, |(b, a)| b - a);
    Merged {
        latency,
        actions,
        frames,
        elapsed: (last - start).as_secs_f64(),
        cpu,
    }
}

struct Baseline {
    /// The length of one broadcast frame.
    frame_bytes: usize,
    decisions_per_s: f64,
    frames_per_s: f64,
    p99_ms: f64,
    cpu_per_million: f64,
}

/// The baseline server under the contention schedule (see the module docs).
fn baseline(options: &Options) -> Baseline {
    let target = crate::server::Target::baseline();
    let addr = target.addr();
    let (n, rooms) = (options.agents, options.tickets.max(1));
    let spread = generator::spread(options.source_addresses, n);
    let interval = Duration::from_secs_f64(options.interval_ms / 1000.0);
    let seconds = Duration::from_secs_f64(options.seconds);
    let pad: Arc<str> = "x"
        .repeat(options.baseline_frame_bytes.saturating_sub(36))
        .into();
    let (start_tx, start_rx) = watch::channel(None::<Instant>);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let threads: Vec<_> = (0..options.threads)
        .map(|j| {
            let (start_rx, ready_tx, pad) = (start_rx.clone(), ready_tx.clone(), pad.clone());
            let mine: Vec<usize> = (j..n).step_by(options.threads).collect();
            std::thread::spawn(move || {
                actix_rt::System::new().block_on(async move {
                    let mut sockets = Vec::new();
                    for &a in &mine {
                        let mut ws = generator::connect(addr, a, spread).await;
                        let join = json!({"type": "join", "room": format!("t{}", a % rooms)});
                        generator::send(&mut ws, join.to_string()).await;
                        generator::wait_for(&mut ws, "joined").await;
                        sockets.push(ws);
                    }
                    let clients = mine.iter().zip(sockets).map(|(&a, ws)| {
                        broadcaster(a, n, ws, interval, seconds, start_rx.clone(), pad.clone())
                    });
                    run_clients(&ready_tx, clients).await
                })
            })
        })
        .collect();
    let m = start_and_merge(&target, threads, &ready_rx, &start_tx);
    Baseline {
        frame_bytes: broadcast_frame(
            &format!("{{\"from\":\"a{}\",", n / 2),
            &(n as u64 / 2).to_string(),
            &pad,
        )
        .len(),
        decisions_per_s: m.actions as f64 / m.elapsed,
        frames_per_s: m.frames as f64 / m.elapsed,
        p99_ms: m.latency.value_at_quantile(0.99) as f64 / 1000.0,
        cpu_per_million: m.cpu / m.frames as f64 * 1e6,
    }
}

/// A broadcast frame: `own` (`{"from":"a1",`), its `reference`, and `pad`.
fn broadcast_frame(own: &str, reference: &str, pad: &str) -> String {
    if pad.is_empty() {
        format!("{own}\"ref\":{reference}}}")
    } else {
        format!("{own}\"ref\":{reference},\"pad\":\"{pad}\"}}")
    }
}

/// One baseline client: a frame every `interval`, then a last one whose own
/// copy proves every earlier broadcast was delivered to it.
async fn broadcaster(
    a: usize,
    agents: usize,
    mut ws: Ws,
    interval: Duration,
    seconds: Duration,
    mut start_rx: watch::Receiver<Option<Instant>>,
    pad: Arc<str>,
) -> ClientResult {
    let start = loop {
        start_rx.changed().await.unwrap();
        if let Some(s) = *start_rx.borrow() {
            break s;
        }
    };
    let phase = interval.mul_f64(a as f64 / agents as f64);
    let (end, own) = (start + seconds, format!("{{\"from\":\"a{a}\","));
    let intended = |k: u64| start + phase + interval * k as u32;
    let (mut h, mut k, mut received, mut finished) = (hist(), 0u64, 0u64, false);
    loop {
        let at = intended(k);
        tokio::select! {
            biased;
            _ = tokio::time::sleep_until(at.into()), if at < end => {
                generator::send(&mut ws, broadcast_frame(&own, &k.to_string(), &pad)).await;
                k += 1;
            }
            _ = std::future::ready(()), if at >= end && !finished => {
                generator::send(&mut ws, broadcast_frame(&own, "\"last\"", &pad)).await;
                finished = true;
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    received += 1;
                    let Some(rest) = text.as_str().strip_prefix(own.as_str()) else { continue };
                    if rest.starts_with("\"ref\":\"last\"") {
                        return (h, k, Instant::now(), received);
                    }
                    if let Some(r) = ref_number(rest) {
                        record(&mut h, intended(r), Instant::now());
                    }
                }
                Some(Ok(_)) => {}
                _ => return (h, k, Instant::now(), received),
            }
        }
    }
}

/// One agent: an action every `interval` until `seconds` are over; then a
/// ping whose pong proves every action was decided. Returns the `open`
/// latencies, the number of actions and when the pong came.
#[allow(clippy::too_many_arguments)]
async fn agent(
    a: usize,
    agents: usize,
    mut ws: Ws,
    tickets: Arc<Vec<Vec<String>>>,
    inbox: usize,
    interval: Duration,
    seconds: Duration,
    mut start_rx: watch::Receiver<Option<Instant>>,
) -> ClientResult {
    let mine = &tickets[inbox];
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (a as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let start = loop {
        start_rx.changed().await.unwrap();
        if let Some(s) = *start_rx.borrow() {
            break s;
        }
    };
    let phase = interval.mul_f64(a as f64 / agents as f64);
    let end = start + seconds;
    let mut h = hist();
    let mut k: u64 = 0;
    let mut open: Option<usize> = None;
    let intended = |k: u64| start + phase + interval * k as u32;
    let mut pinged = false;
    let mut received = 0u64;
    loop {
        let at = intended(k);
        tokio::select! {
            biased;
            _ = tokio::time::sleep_until(at.into()), if at < end => {
                let t = (next() % mine.len() as u64) as usize;
                let frame = match next() % 5 {
                    0 | 1 => { open = Some(t); json!({"type": "open", "ticket": mine[t], "ref": k}) }
                    2 => { open = Some(t); json!({"type": "open", "ticket": mine[t], "take_over": true, "ref": k}) }
                    3 => json!({"type": "force_release", "ticket": mine[t], "ref": k}),
                    _ => match open.take() {
                        Some(o) => json!({"type": "close", "ticket": mine[o]}),
                        None => json!({"type": "force_release", "ticket": mine[t], "ref": k}),
                    },
                };
                generator::send(&mut ws, frame.to_string()).await;
                k += 1;
            }
            _ = std::future::ready(()), if at >= end && !pinged => {
                generator::send(&mut ws, json!({"type": "ping", "ref": "last"}).to_string()).await;
                pinged = true;
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let text = text.as_str();
                    received += 1;
                    match frame_type(text) {
                        "opened" => if let Some(r) = ref_number(text) { record(&mut h, intended(r), Instant::now()) },
                        "pong" => return (h, k, Instant::now(), received),
                        "error" => eprintln!("agent {a}: {text}"),
                        _ => {}
                    }
                }
                Some(Ok(_)) => {}
                _ => {
                    eprintln!("agent {a}: socket ended");
                    return (h, k, Instant::now(), received);
                }
            }
        }
    }
}

fn ref_number(text: &str) -> Option<u64> {
    let start = text.find("\"ref\":")? + 6;
    let digits: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// The online model check: every presence frame of the inbox, applied in order.
async fn observe(
    mut ws: Ws,
    violations: Arc<AtomicU64>,
    observed: Arc<AtomicU64>,
    observed_bytes: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) {
    let mut holder: HashMap<String, String> = HashMap::new();
    loop {
        let text = tokio::select! {
            _ = stop.changed() => return,
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Close(frame))) => {
                    // The model check is void from here on: count it as a violation.
                    eprintln!("observer closed by the server: {frame:?}");
                    violations.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Some(Ok(_)) => continue,
                _ => {
                    eprintln!("observer socket ended");
                    violations.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        };
        let text = text.as_str();
        if frame_type(text) != "presence" {
            continue;
        }
        observed.fetch_add(1, Ordering::Relaxed);
        observed_bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
        let (Some(ticket), Some(agent)) = (field(text, "ticket"), change_agent(text)) else {
            continue;
        };
        let kind = text
            .find("\"change\":")
            .and_then(|c| field(&text[c..], "kind"));
        match kind {
            Some("claimed") => {
                let bad_model = holder.get(ticket).is_some_and(|h| h != agent);
                let bad_frame = claim_holder(text) != Some(agent);
                if bad_model || bad_frame {
                    violations.fetch_add(1, Ordering::Relaxed);
                    eprintln!(
                        "violation on {ticket}: claimed by {agent}, model holder {:?}: {text}",
                        holder.get(ticket)
                    );
                }
                holder.insert(ticket.to_owned(), agent.to_owned());
            }
            Some("released") => {
                if holder.get(ticket).map(String::as_str) != Some(agent) {
                    violations.fetch_add(1, Ordering::Relaxed);
                    eprintln!(
                        "violation on {ticket}: released by {agent}, model holder {:?}",
                        holder.get(ticket)
                    );
                }
                holder.remove(ticket);
            }
            _ => {}
        }
    }
}
