//! `capacity`: `--agents` (10,000) authenticated sessions subscribed over
//! `--inboxes` (100) inboxes stay idle with heartbeats (10 s) for `--seconds`
//! (60). Measured: server RSS per session ((RSS with the sessions − RSS
//! before them) / sessions), idle server CPU, and sessions dropped. The
//! baseline holds the same number of sockets in the same number of rooms.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;

use crate::cli::Options;
use crate::generator::{self, Ws};
use crate::report::{Cmp, Run};
use crate::seed::Plan;
use crate::server::Target;

struct Outcome {
    rss_per_session: f64,
    cpu_percent: f64,
    dropped: usize,
    rss_before: f64,
    rss_after: f64,
}

pub fn run(options: &Options) -> Run {
    let plan = Plan {
        agents: options.agents,
        inboxes: options.inboxes,
        tickets_per_inbox: 0,
    };
    let (target, world) = crate::seed::target(options, plan, "");
    let tokens: Vec<(String, String)> = world
        .agents
        .iter()
        .map(|a| (a.token.clone(), world.inboxes[a.inbox].clone()))
        .collect();
    let tandem = measure(&target, options, Some(&tokens), &world.inboxes);
    drop(target);
    let mut run = Run::new();
    add(&mut run, "tandem", &tandem);
    if options.baseline {
        let b = measure(&Target::baseline(), options, None, &world.inboxes);
        add(&mut run, "baseline", &b);
        run.add(
            "ratio RSS per session (tandem/baseline)",
            tandem.rss_per_session / b.rss_per_session,
            "",
        );
    }
    run.target("tandem RSS per session", Cmp::AtMost, 16.0);
    run.target("tandem idle CPU", Cmp::AtMost, 5.0);
    run.target("tandem sessions dropped", Cmp::AtMost, 0.0);
    run
}

fn add(run: &mut Run, who: &str, o: &Outcome) {
    run.add(
        &format!("{who} RSS per session"),
        o.rss_per_session / 1024.0,
        "KiB",
    );
    run.add(&format!("{who} idle CPU"), o.cpu_percent, "% of a core");
    run.add(&format!("{who} sessions dropped"), o.dropped as f64, "");
    run.add(
        &format!("{who} RSS before"),
        o.rss_before / 1048576.0,
        "MiB",
    );
    run.add(
        &format!("{who} RSS with sessions"),
        o.rss_after / 1048576.0,
        "MiB",
    );
}

/// `tokens`: (token, inbox) per Tandem session; `None`: baseline sockets
/// joining room `inboxes[i % len]`.
fn measure(
    target: &Target,
    options: &Options,
    tokens: Option<&[(String, String)]>,
    inboxes: &[String],
) -> Outcome {
    let n = options.agents;
    let addr = target.addr();
    let spread = generator::spread(options.source_addresses, n);
    let idle = Duration::from_secs_f64(options.seconds);
    actix_rt::System::new().block_on(async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let rss_before = target.rss_bytes().unwrap_or(f64::NAN);
        let mut sockets: Vec<Ws> = Vec::with_capacity(n);
        for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
            let futures = chunk.iter().map(|&i| async move {
                match tokens {
                    Some(t) => generator::session(addr, i, spread, &t[i].0, Some(&t[i].1)).await,
                    None => {
                        let mut ws = generator::connect(addr, i, spread).await;
                        let room = &inboxes[i % inboxes.len()];
                        generator::send(&mut ws, json!({"type": "join", "room": room}).to_string()).await;
                        generator::wait_for(&mut ws, "joined").await;
                        ws
                    }
                }
            });
            sockets.extend(futures_util::future::join_all(futures).await);
        }
        let start = Instant::now();
        let cpu0 = target.cpu_seconds();
        let tasks: Vec<_> = sockets
            .into_iter()
            .map(|mut ws| {
                actix_rt::spawn(async move {
                    // Read (and so answer pings) until the idle time is over; false if the socket ended.
                    let end = start + idle;
                    loop {
                        tokio::select! {
                            _ = tokio::time::sleep_until(end.into()) => return (true, ws),
                            msg = ws.next() => if !matches!(msg, Some(Ok(_))) { return (false, ws) },
                        }
                    }
                })
            })
            .collect();
        let mut alive = Vec::with_capacity(n);
        let mut dropped = 0;
        for t in tasks {
            let (ok, ws) = t.await.unwrap();
            dropped += usize::from(!ok);
            alive.push(ws);
        }
        let cpu = target.cpu_seconds().zip(cpu0).map_or(f64::NAN, |(b, a)| b - a);
        let elapsed = start.elapsed().as_secs_f64();
        let rss_after = target.rss_bytes().unwrap_or(f64::NAN);
        drop(alive);
        Outcome {
            rss_per_session: (rss_after - rss_before) / n as f64,
            cpu_percent: cpu / elapsed * 100.0,
            dropped,
            rss_before,
            rss_after,
        }
    })
}
