//! `accept_race`: `--agents` (100) agents accept the same pending ticket at
//! the same intended instant, `--rounds` (1000) times, one round every
//! `--seconds / --rounds` (open loop: a slow round does not delay the next).
//! Exactly one accept must win each round (200); the others get 409.
//! Latency is from the round's intended time to each answer.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cli::Options;
use crate::generator::{hist, record, rest_with};
use crate::report::{Cmp, Run};
use crate::seed::Plan;

pub fn run(options: &Options) -> Run {
    let rounds = options.rounds;
    let plan = Plan {
        agents: options.agents,
        inboxes: 1,
        tickets_per_inbox: rounds,
    };
    let (target, world) = crate::seed::target(options, plan, "");
    let every = Duration::from_secs_f64(options.seconds / rounds as f64);
    let base = target.base.clone();
    let tickets = Rc::new(world.tickets[0].clone());
    let winners: Rc<Vec<Cell<u32>>> = Rc::new((0..rounds).map(|_| Cell::new(0)).collect());
    let others = Rc::new(Cell::new(0u64));
    let (latency, elapsed, cpu) = actix_rt::System::new().block_on(async {
        let start = Instant::now() + Duration::from_millis(300);
        let cpu0 = target.cpu_seconds();
        let tasks: Vec<_> = world
            .agents
            .iter()
            .map(|agent| {
                let (base, token, tickets, winners, others) = (
                    base.clone(),
                    agent.token.clone(),
                    tickets.clone(),
                    winners.clone(),
                    others.clone(),
                );
                actix_rt::spawn(async move {
                    let client = awc::Client::builder()
                        .timeout(Duration::from_secs(60))
                        .finish();
                    let mut h = hist();
                    for (r, ticket) in tickets.iter().enumerate() {
                        let at = start + every * r as u32;
                        tokio::time::sleep_until(at.into()).await;
                        let path = format!("/api/tickets/{ticket}/accept");
                        let (status, _) =
                            rest_with(&client, &base, Some(&token), "POST", &path, json!({})).await;
                        record(&mut h, at, Instant::now());
                        match status {
                            200 => winners[r].set(winners[r].get() + 1),
                            409 => {}
                            _ => others.set(others.get() + 1),
                        }
                    }
                    h
                })
            })
            .collect();
        let mut latency = hist();
        for t in tasks {
            latency.add(t.await.unwrap()).unwrap();
        }
        let cpu = target
            .cpu_seconds()
            .zip(cpu0)
            .map_or(f64::NAN, |(b, a)| b - a);
        (latency, start.elapsed().as_secs_f64(), cpu)
    });
    let bad_rounds = winners.iter().filter(|w| w.get() != 1).count();
    let mut run = Run::new();
    run.add("rounds", rounds as f64, "");
    run.add("rounds without exactly one winner", bad_rounds as f64, "");
    run.add("answers other than 200/409", others.get() as f64, "");
    run.add("accepts/s", latency.len() as f64 / elapsed, "");
    run.add(
        "accept p50",
        latency.value_at_quantile(0.5) as f64 / 1000.0,
        "ms",
    );
    run.add(
        "accept p99",
        latency.value_at_quantile(0.99) as f64 / 1000.0,
        "ms",
    );
    run.add("accept max", latency.max() as f64 / 1000.0, "ms");
    run.add("server CPU", cpu / elapsed * 100.0, "% of a core");
    run.add(
        "server RSS",
        target.rss_bytes().unwrap_or(f64::NAN) / 1048576.0,
        "MiB",
    );
    run.target("rounds without exactly one winner", Cmp::AtMost, 0.0);
    run.target("answers other than 200/409", Cmp::AtMost, 0.0);
    run
}
