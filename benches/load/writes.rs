//! `writes`: `--agents` (64) REST clients post internal notes, each to its own
//! ticket, each waiting for its answer before the next (an answer means the
//! note is durable), for `--seconds`. Run twice in one invocation: the default
//! writer (group commit, `store.max_batch = 256`) and a per-request-commit
//! writer (`store.max_batch = 1`); the ratio is the figure of merit. Then the
//! baseline server answers the same requests without storing anything: the
//! ceiling of the HTTP stack on this machine with this generator.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::cli::Options;
use crate::generator::{hist, record, rest_with};
use crate::report::{Cmp, Run};
use crate::seed::Plan;
use crate::server::Target;

struct Outcome {
    per_s: f64,
    p99_ms: f64,
    failed: u64,
    cpu_s: f64,
}

pub fn run(options: &Options) -> Run {
    let mut run = Run::new();
    let grouped = measure(options, "");
    add(&mut run, "group commit", &grouped);
    run.target("group commit notes/s", Cmp::AtLeast, 10_000.0);
    if options.url.is_none() {
        let single = measure(
            options,
            &crate::server::bench_config("", "[store]\nmax_batch = 1\n"),
        );
        add(&mut run, "per-request commit", &single);
        run.add("ratio group/per-request", grouped.per_s / single.per_s, "");
        run.target("ratio group/per-request", Cmp::AtLeast, 10.0);
        if options.baseline {
            let (baseline, world) = (crate::server::Target::baseline(), world_of(options));
            let ceiling = drive(options, &baseline, &world);
            add(&mut run, "baseline (stores nothing)", &ceiling);
            run.add(
                "ratio baseline/per-request (the stack's ceiling for the ratio)",
                ceiling.per_s / single.per_s,
                "",
            );
        }
    } else {
        run.notes.push(
            "--url: the per-request-commit configuration needs a child server; not measured".into(),
        );
    }
    run
}

fn add(run: &mut Run, who: &str, o: &Outcome) {
    run.add(&format!("{who} notes/s"), o.per_s, "");
    run.add(&format!("{who} p99"), o.p99_ms, "ms");
    run.add(&format!("{who} failed"), o.failed as f64, "");
    run.add(
        &format!("{who} server CPU-s per 1000 notes"),
        o.cpu_s / o.per_s.max(1.0) * 1000.0,
        "s",
    );
}

fn plan(options: &Options) -> Plan {
    Plan {
        agents: options.agents,
        inboxes: 1,
        tickets_per_inbox: options.agents,
    }
}

/// Agents and tickets for the baseline, which checks neither.
fn world_of(options: &Options) -> crate::seed::World {
    let dir = tempfile::tempdir().expect("temp dir");
    crate::seed::into_dir(dir.path(), plan(options))
}

fn measure(options: &Options, extra_config: &str) -> Outcome {
    let (target, world) = crate::seed::target(options, plan(options), extra_config);
    drive(options, &target, &world)
}

fn drive(options: &Options, target: &Target, world: &crate::seed::World) -> Outcome {
    let seconds = Duration::from_secs_f64(options.seconds);
    let base = target.base.clone();
    actix_rt::System::new().block_on(async {
        let start = Instant::now();
        let cpu0 = target.cpu_seconds();
        let tasks: Vec<_> = world
            .agents
            .iter()
            .enumerate()
            .map(|(i, agent)| {
                let (base, token) = (base.clone(), agent.token.clone());
                let path = format!("/api/tickets/{}/messages", world.tickets[0][i]);
                actix_rt::spawn(async move {
                    let client = awc::Client::builder()
                        .timeout(Duration::from_secs(60))
                        .finish();
                    let (mut h, mut ok, mut failed) = (hist(), 0u64, 0u64);
                    let mut n = 0;
                    while start.elapsed() < seconds {
                        let sent = Instant::now();
                        let body = json!({"kind": "note", "body": format!("load note {n}")});
                        let (status, _) =
                            rest_with(&client, &base, Some(&token), "POST", &path, body).await;
                        record(&mut h, sent, Instant::now());
                        if status == 200 || status == 201 {
                            ok += 1
                        } else {
                            failed += 1
                        }
                        n += 1;
                    }
                    (h, ok, failed)
                })
            })
            .collect();
        let (mut latency, mut ok, mut failed) = (hist(), 0, 0);
        for t in tasks {
            let (h, o, f) = t.await.unwrap();
            latency.add(h).unwrap();
            ok += o;
            failed += f;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let cpu_s = target
            .cpu_seconds()
            .zip(cpu0)
            .map_or(f64::NAN, |(b, a)| (b - a) / elapsed);
        Outcome {
            per_s: ok as f64 / elapsed,
            p99_ms: latency.value_at_quantile(0.99) as f64 / 1000.0,
            failed,
            cpu_s,
        }
    })
}
