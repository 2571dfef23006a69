//! `rush`: every agent switches ticket every `--interval-ms` (2 s), open loop,
//! each agent between its own two tickets so every open claims (one claim
//! and one release per switch, plus the viewer changes: 4 presence frames to
//! each subscriber of the inbox). Presence latency is measured at every other
//! subscriber from the intended time of the `open` to the `claimed` frame;
//! lost frames are claims a subscriber never saw. The baseline gets the same
//! sessions, rooms and schedule: each switch sends 4 frames of the same size
//! as Tandem's presence frames, which it broadcasts to the room.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::cli::Options;
use crate::generator::{self, Ws, field, frame_type, hist, record};
use crate::report::{Cmp, Run};
use crate::seed::{Plan, World};
use crate::server::Target;

/// How long subscribers keep reading after the last action.
const DRAIN: Duration = Duration::from_millis(1500);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tandem,
    Baseline,
}

struct TicketInfo {
    owner: usize,
    second: bool,
    local: usize,
}

struct Ctx {
    kind: Kind,
    interval: Duration,
    seconds: Duration,
    agents: usize,
    agent_inbox: Vec<usize>,
    agent_ids: Vec<String>,
    inboxes: Vec<String>,
    /// Each agent's two tickets (ids).
    agent_tickets: Vec<[String; 2]>,
    by_id: HashMap<String, TicketInfo>,
    /// Opens sent per (agent, which ticket).
    sent: Vec<[AtomicU32; 2]>,
    warmed: AtomicUsize,
    start: OnceLock<Instant>,
    /// Baseline frames are padded to this size (Tandem's mean presence frame).
    frame_len: usize,
}

struct Stats {
    latency: Histogram<u64>,
    lag: Histogram<u64>,
    frames: u64,
    bytes: u64,
    seen: Vec<u32>,
    early: u64,
}

pub struct Outcome {
    latency: Histogram<u64>,
    lag: Histogram<u64>,
    frames_per_s: f64,
    mean_frame: f64,
    lost: u64,
    extra: u64,
    early: u64,
    /// Server CPU seconds over the window (actions and drain).
    cpu_total: f64,
    frames_total: u64,
    window: f64,
    rss: f64,
    generator_cpu: f64,
}

pub fn run(options: &Options) -> Run {
    if options.sweep {
        return sweep(options);
    }
    let per_inbox = options.agents.div_ceil(options.inboxes);
    let plan = Plan {
        agents: options.agents,
        inboxes: options.inboxes,
        tickets_per_inbox: 2 * per_inbox,
    };
    let (target, world) = crate::seed::target(options, plan, "");
    let tandem = drive(Kind::Tandem, &target, &world, options, 0);
    drop(target);
    let mut run = Run::new();
    figures(&mut run, "tandem", &tandem);
    if options.baseline {
        let baseline_target = Target::baseline();
        let baseline = drive(
            Kind::Baseline,
            &baseline_target,
            &world,
            options,
            tandem.mean_frame.round() as usize,
        );
        figures(&mut run, "baseline", &baseline);
        run.add(
            "ratio delivered frames/s (tandem/baseline)",
            tandem.frames_per_s / baseline.frames_per_s,
            "",
        );
        run.add(
            "ratio p99 (tandem/baseline)",
            tandem.latency.value_at_quantile(0.99) as f64
                / baseline.latency.value_at_quantile(0.99).max(1) as f64,
            "",
        );
        run.target(
            "ratio delivered frames/s (tandem/baseline)",
            Cmp::AtLeast,
            0.7,
        );
    }
    run.target("tandem presence p99", Cmp::AtMost, 20.0);
    run.target("tandem presence p99.9", Cmp::AtMost, 50.0);
    run.target("tandem lost claimed frames", Cmp::AtMost, 0.0);
    run
}

/// The figure of merit of issue #9: the highest delivered frames/s at which
/// p99 stays within 20 ms, for Tandem and for the baseline, over a sweep of
/// switch intervals around and past the target load (each level on a fresh
/// server).
fn sweep(options: &Options) -> Run {
    let mut run = Run::new();
    let (mut best_tandem, mut best_baseline) = (0.0f64, 0.0f64);
    // 100k, 200k (the target load), 250k, 300k and 400k frames/s with the defaults.
    for factor in [2.0, 1.0, 0.8, 2.0 / 3.0, 0.5] {
        let level = Options {
            interval_ms: options.interval_ms * factor,
            sweep: false,
            ..options.clone()
        };
        let per_inbox = level.agents.div_ceil(level.inboxes);
        let plan = Plan {
            agents: level.agents,
            inboxes: level.inboxes,
            tickets_per_inbox: 2 * per_inbox,
        };
        let (target, world) = crate::seed::target(&level, plan, "");
        let tandem = drive(Kind::Tandem, &target, &world, &level, 0);
        drop(target);
        let baseline = drive(
            Kind::Baseline,
            &Target::baseline(),
            &world,
            &level,
            tandem.mean_frame.round() as usize,
        );
        let p99 = |o: &Outcome| o.latency.value_at_quantile(0.99) as f64 / 1000.0;
        let label = format!("interval {} ms", level.interval_ms);
        run.add(
            &format!("{label}: tandem frames/s"),
            tandem.frames_per_s,
            "",
        );
        run.add(&format!("{label}: tandem p99"), p99(&tandem), "ms");
        run.add(&format!("{label}: baseline p99"), p99(&baseline), "ms");
        eprintln!(
            "{label}: {:.0} frames/s, tandem p99 {:.1} ms, baseline p99 {:.1} ms",
            tandem.frames_per_s,
            p99(&tandem),
            p99(&baseline)
        );
        if p99(&tandem) <= 20.0 && tandem.lost == 0 {
            best_tandem = best_tandem.max(tandem.frames_per_s);
        }
        if p99(&baseline) <= 20.0 && baseline.lost == 0 {
            best_baseline = best_baseline.max(baseline.frames_per_s);
        }
    }
    run.add("tandem best frames/s with p99 <= 20 ms", best_tandem, "");
    run.add(
        "baseline best frames/s with p99 <= 20 ms",
        best_baseline,
        "",
    );
    run.add(
        "ratio at the same latency bound (tandem/baseline)",
        best_tandem / best_baseline,
        "",
    );
    run.target(
        "ratio at the same latency bound (tandem/baseline)",
        Cmp::AtLeast,
        0.7,
    );
    run
}

fn figures(run: &mut Run, who: &str, o: &Outcome) {
    let ms = |q: f64| o.latency.value_at_quantile(q) as f64 / 1000.0;
    run.add(&format!("{who} presence p50"), ms(0.5), "ms");
    run.add(&format!("{who} presence p99"), ms(0.99), "ms");
    run.add(&format!("{who} presence p99.9"), ms(0.999), "ms");
    run.add(
        &format!("{who} presence max"),
        o.latency.max() as f64 / 1000.0,
        "ms",
    );
    run.add(
        &format!("{who} latency samples"),
        o.latency.len() as f64,
        "",
    );
    run.add(&format!("{who} delivered frames/s"), o.frames_per_s, "");
    run.add(&format!("{who} lost claimed frames"), o.lost as f64, "");
    if o.extra + o.early > 0 {
        run.notes.push(format!(
            "{who}: {} unexpected extra and {} early claimed frames",
            o.extra, o.early
        ));
    }
    run.add(
        &format!("{who} server CPU-s per million frames"),
        o.cpu_total / (o.frames_total.max(1) as f64) * 1e6,
        "s",
    );
    run.add(
        &format!("{who} server CPU"),
        o.cpu_total / o.window * 100.0,
        "% of a core",
    );
    run.add(&format!("{who} server RSS"), o.rss / 1048576.0, "MiB");
    run.add(
        &format!("{who} generator send lag p99"),
        o.lag.value_at_quantile(0.99) as f64 / 1000.0,
        "ms",
    );
    run.add(
        &format!("{who} generator CPU"),
        o.generator_cpu / o.window * 100.0,
        "% of a core",
    );
}

fn drive(
    kind: Kind,
    target: &Target,
    world: &World,
    options: &Options,
    frame_len: usize,
) -> Outcome {
    let n = options.agents;
    let mut by_id = HashMap::new();
    let mut agent_tickets = Vec::new();
    for (a, agent) in world.agents.iter().enumerate() {
        let slot = a / options.inboxes;
        let pair = [
            world.tickets[agent.inbox][2 * slot].clone(),
            world.tickets[agent.inbox][2 * slot + 1].clone(),
        ];
        for (w, id) in pair.iter().enumerate() {
            by_id.insert(
                id.clone(),
                TicketInfo {
                    owner: a,
                    second: w == 1,
                    local: 2 * slot + w,
                },
            );
        }
        agent_tickets.push(pair);
    }
    let ctx = Arc::new(Ctx {
        kind,
        interval: Duration::from_secs_f64(options.interval_ms / 1000.0),
        seconds: Duration::from_secs_f64(options.seconds),
        agents: n,
        agent_inbox: world.agents.iter().map(|a| a.inbox).collect(),
        agent_ids: world.agents.iter().map(|a| a.id.clone()).collect(),
        inboxes: world.inboxes.clone(),
        agent_tickets,
        by_id,
        sent: (0..n)
            .map(|_| [AtomicU32::new(0), AtomicU32::new(0)])
            .collect(),
        warmed: AtomicUsize::new(0),
        start: OnceLock::new(),
        frame_len,
    });
    let addr = target.addr();
    let spread = generator::spread(options.source_addresses, n);
    let tokens: Arc<Vec<String>> = Arc::new(world.agents.iter().map(|a| a.token.clone()).collect());
    // Each generator thread runs its own single-threaded runtime with every
    // `threads`-th agent.
    let threads: Vec<_> = (0..options.threads)
        .map(|j| {
            let (ctx, tokens, threads) = (ctx.clone(), tokens.clone(), options.threads);
            std::thread::spawn(move || {
                actix_rt::System::new().block_on(async move {
                    let mine: Vec<usize> = (j..n).step_by(threads).collect();
                    let mut sockets = Vec::with_capacity(mine.len());
                    for chunk in mine.chunks(100) {
                        let futures = chunk
                            .iter()
                            .map(|&a| connect(&ctx, addr, a, spread, &tokens[a]));
                        sockets.extend(futures_util::future::join_all(futures).await);
                    }
                    let tasks: Vec<_> = mine
                        .iter()
                        .zip(sockets)
                        .map(|(&a, ws)| actix_rt::spawn(agent(ctx.clone(), a, ws)))
                        .collect();
                    let mut stats = Vec::with_capacity(tasks.len());
                    for t in tasks {
                        stats.push(t.await.expect("agent task"));
                    }
                    mine.into_iter().zip(stats).collect::<Vec<(usize, Stats)>>()
                })
            })
        })
        .collect();
    while ctx.warmed.load(Ordering::Acquire) < n {
        std::thread::sleep(Duration::from_millis(10));
    }
    let start = Instant::now() + Duration::from_millis(500);
    ctx.start.set(start).unwrap();
    std::thread::sleep(start.saturating_duration_since(Instant::now()));
    let cpu0 = target.cpu_seconds();
    let gen0 = generator::own_cpu_seconds();
    let stats: Vec<(usize, Stats)> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("generator thread"))
        .collect();
    let cpu1 = target.cpu_seconds();
    let gen1 = generator::own_cpu_seconds();
    let rss = target.rss_bytes().unwrap_or(f64::NAN);
    let mut latency = hist();
    let mut lag = hist();
    let (mut frames, mut bytes, mut lost, mut extra, mut early) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for (a, s) in &stats {
        let a = *a;
        latency.add(&s.latency).unwrap();
        lag.add(&s.lag).unwrap();
        frames += s.frames;
        bytes += s.bytes;
        early += s.early;
        // Claims this subscriber should have seen: every open of its inbox's other agents.
        for (b, pair) in ctx.sent.iter().enumerate() {
            if b != a && ctx.agent_inbox[b] == ctx.agent_inbox[a] {
                let slot = b / options.inboxes;
                for (w, count) in pair.iter().enumerate() {
                    let seen = s.seen[2 * slot + w];
                    let expected = count.load(Ordering::Relaxed);
                    lost += expected.saturating_sub(seen) as u64;
                    extra += seen.saturating_sub(expected) as u64;
                }
            }
        }
    }
    Outcome {
        latency,
        lag,
        frames_per_s: frames as f64 / ctx.seconds.as_secs_f64(),
        mean_frame: if frames > 0 {
            bytes as f64 / frames as f64
        } else {
            0.0
        },
        lost,
        extra,
        early,
        cpu_total: match (cpu0, cpu1) {
            (Some(a), Some(b)) => b - a,
            _ => f64::NAN,
        },
        frames_total: frames,
        window: (ctx.seconds + DRAIN).as_secs_f64(),
        rss,
        generator_cpu: gen1 - gen0,
    }
}

async fn connect(
    ctx: &Ctx,
    addr: std::net::SocketAddr,
    a: usize,
    spread: usize,
    token: &str,
) -> Ws {
    let inbox = &ctx.inboxes[ctx.agent_inbox[a]];
    match ctx.kind {
        Kind::Tandem => generator::session(addr, a, spread, token, Some(inbox)).await,
        Kind::Baseline => {
            let mut ws = generator::connect(addr, a, spread).await;
            generator::send(&mut ws, json!({"type": "join", "room": inbox}).to_string()).await;
            generator::wait_for(&mut ws, "joined").await;
            ws
        }
    }
}

async fn agent(ctx: Arc<Ctx>, a: usize, mut ws: Ws) -> Stats {
    let per_inbox = ctx.agents.div_ceil(ctx.inboxes.len());
    let mut stats = Stats {
        latency: hist(),
        lag: hist(),
        frames: 0,
        bytes: 0,
        seen: vec![0; 2 * per_inbox],
        early: 0,
    };
    // Warm-up: open both tickets once (the first open of a ticket writes a
    // read mark), and wait for the warm-up claims of the inbox's other agents
    // (two each), so none of them is taken for a measured one.
    if ctx.kind == Kind::Tandem {
        let members = ctx
            .agent_inbox
            .iter()
            .filter(|&&i| i == ctx.agent_inbox[a])
            .count();
        let need = 2 * (members - 1);
        let mut got = 0;
        let claim_of_other = |text: &str| {
            frame_type(text) == "presence"
                && text
                    .find("\"change\":")
                    .and_then(|c| field(&text[c..], "kind"))
                    == Some("claimed")
                && field(text, "ticket")
                    .and_then(|t| ctx.by_id.get(t))
                    .is_some_and(|t| t.owner != a)
        };
        for ticket in &ctx.agent_tickets[a] {
            generator::send(
                &mut ws,
                json!({"type": "open", "ticket": ticket}).to_string(),
            )
            .await;
            loop {
                let text = generator::next_text(&mut ws, Duration::from_secs(60))
                    .await
                    .expect("warm-up");
                if frame_type(&text) == "opened" {
                    break;
                }
                got += usize::from(claim_of_other(&text));
            }
        }
        while got < need {
            let text = generator::next_text(&mut ws, Duration::from_secs(60))
                .await
                .expect("warm-up claims");
            got += usize::from(claim_of_other(&text));
        }
    }
    ctx.warmed.fetch_add(1, Ordering::AcqRel);
    // Until the start is set, keep reading (and discarding) what comes.
    let start = loop {
        if let Some(start) = ctx.start.get() {
            break *start;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
            msg = ws.next() => if msg.is_none() { panic!("socket {a} ended during warm-up") },
        }
    };
    let phase = ctx.interval.mul_f64(a as f64 / ctx.agents as f64);
    let end_send = start + ctx.seconds;
    let end_read = end_send + DRAIN;
    let mut k: u32 = 0;
    let mut next_at = start + phase;
    loop {
        let deadline = if next_at < end_send {
            next_at
        } else {
            end_read
        };
        tokio::select! {
            biased;
            _ = tokio::time::sleep_until(deadline.into()) => {
                if next_at >= end_send { break; }
                act(&ctx, a, k, &mut ws).await;
                record(&mut stats.lag, next_at, Instant::now());
                k += 1;
                next_at = start + phase + ctx.interval * k;
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => observe(&ctx, a, start, text.as_str(), &mut stats),
                Some(Ok(_)) => {}
                _ => { eprintln!("socket {a} ended"); break; }
            }
        }
    }
    stats
}

/// Action `k` of agent `a`: open ticket k % 2 (switching away from the other).
async fn act(ctx: &Ctx, a: usize, k: u32, ws: &mut Ws) {
    let w = (k % 2) as usize;
    let [old, new] = if w == 0 {
        [&ctx.agent_tickets[a][1], &ctx.agent_tickets[a][0]]
    } else {
        [&ctx.agent_tickets[a][0], &ctx.agent_tickets[a][1]]
    };
    match ctx.kind {
        Kind::Tandem => {
            generator::send(ws, json!({"type": "open", "ticket": new}).to_string()).await
        }
        Kind::Baseline => {
            for (ticket, change) in [
                (old, "released"),
                (old, "viewer_left"),
                (new, "viewer_joined"),
                (new, "claimed"),
            ] {
                let head = format!(
                    "{{\"type\":\"presence\",\"inbox\":\"{}\",\"ticket\":\"{ticket}\",\"change\":{{\"kind\":\"{change}\",\"agent\":{{\"id\":\"{}\"}}}},\"pad\":\"",
                    ctx.inboxes[ctx.agent_inbox[a]], ctx.agent_ids[a]
                );
                let pad = ctx.frame_len.saturating_sub(head.len() + 2);
                generator::send(ws, format!("{head}{}\"}}", "x".repeat(pad))).await;
            }
        }
    }
    ctx.sent[a][w].fetch_add(1, Ordering::Relaxed);
}

fn observe(ctx: &Ctx, a: usize, start: Instant, text: &str, stats: &mut Stats) {
    if frame_type(text) != "presence" {
        return;
    }
    let now = Instant::now();
    stats.frames += 1;
    stats.bytes += text.len() as u64;
    let Some(change) = text.find("\"change\":") else {
        return;
    };
    if field(&text[change..], "kind") != Some("claimed") {
        return;
    }
    let Some(info) = field(text, "ticket").and_then(|t| ctx.by_id.get(t)) else {
        return;
    };
    if info.owner == a {
        return;
    }
    let n = stats.seen[info.local];
    stats.seen[info.local] += 1;
    let k = 2 * n + info.second as u32;
    let phase = ctx.interval.mul_f64(info.owner as f64 / ctx.agents as f64);
    let intended = start + phase + ctx.interval * k;
    if intended > now {
        stats.early += 1;
    }
    record(&mut stats.latency, intended, now);
}
