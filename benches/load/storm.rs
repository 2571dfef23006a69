//! `storm`: `--agents` (5000) sessions, each subscribed and holding a claim on
//! its own ticket, drop at once without close frames. `--drop silent` (the
//! default): the peers stop reading and answering, as after a network cut, so
//! the server finds them by the heartbeat timeout; `--drop reset`: their TCP
//! connections are reset. Measured: time from the drop until an observer
//! subscribed to each inbox has seen every claim released. The bench config
//! uses `ws.heartbeat_s = 1` and `reconnect_grace_s = 1` (PATCH /api/settings);
//! the target is grace + heartbeat timeout (3 × heartbeat_s) + 1 s.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::cli::Options;
use crate::generator::{self, Ws, field, frame_type};
use crate::report::{Cmp, Run};
use crate::seed::Plan;

const HEARTBEAT_S: f64 = 1.0;
const GRACE_S: f64 = 1.0;

#[derive(Default)]
struct Held {
    tickets: RefCell<HashSet<String>>,
    claims: Cell<u64>,
    last_release: Cell<Option<Instant>>,
}

pub fn run(options: &Options) -> Run {
    let n = options.agents;
    let m = options.inboxes;
    let plan = Plan {
        agents: n,
        inboxes: m,
        tickets_per_inbox: n.div_ceil(m),
    };
    let config = crate::server::bench_config(&format!("heartbeat_s = {HEARTBEAT_S}"), "");
    let (target, world) = crate::seed::target(options, plan, &config);
    let addr = target.addr();
    let spread = generator::spread(options.source_addresses, n + m);
    let base = target.base.clone();
    let held = Rc::new(Held::default());
    let reset = options.drop_reset;
    actix_rt::System::new().block_on(async {
        let (status, _) = generator::rest(
            &base,
            Some(&world.admin_token),
            "PATCH",
            "/api/settings",
            json!({"reconnect_grace_s": GRACE_S}),
        )
        .await;
        assert_eq!(status, 200, "PATCH /api/settings");
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut observers = Vec::new();
        for (i, inbox) in world.inboxes.iter().enumerate() {
            let ws = generator::session(addr, n + i, spread, &world.admin_token, Some(inbox)).await;
            observers.push(actix_rt::spawn(observe(ws, held.clone(), stop_rx.clone())));
        }
        let (drop_tx, drop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
            let futures = chunk.iter().map(|&a| {
                let agent = &world.agents[a];
                let ticket = world.tickets[agent.inbox][a / m].clone();
                let inbox = world.inboxes[agent.inbox].clone();
                async move {
                    let mut ws = generator::session(addr, a, spread, &agent.token, Some(&inbox)).await;
                    generator::send(&mut ws, json!({"type": "open", "ticket": ticket}).to_string()).await;
                    ws
                }
            });
            for ws in futures_util::future::join_all(futures).await {
                tasks.push(actix_rt::spawn(hold(ws, drop_rx.clone(), reset)));
            }
        }
        let setup = Instant::now();
        while held.claims.get() < n as u64 {
            assert!(
                setup.elapsed() < Duration::from_secs(60),
                "only {} of {n} claims seen",
                held.claims.get()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let cpu0 = target.cpu_seconds();
        let dropped_at = Instant::now();
        drop_tx.send(true).unwrap();
        let mut silent = Vec::new();
        for t in tasks {
            silent.extend(t.await.unwrap());
        }
        let limit = Duration::from_secs_f64(GRACE_S + 4.0 * HEARTBEAT_S + 30.0);
        while !held.tickets.borrow().is_empty() && dropped_at.elapsed() < limit {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let left = held.tickets.borrow().len();
        let all_released = held.last_release.get().map_or(f64::NAN, |t| (t - dropped_at).as_secs_f64());
        let cpu = target.cpu_seconds().zip(cpu0).map_or(f64::NAN, |(b, a)| b - a);
        stop_tx.send(true).unwrap();
        for o in observers {
            o.await.unwrap();
        }
        drop(silent);
        let bound = if reset { GRACE_S + 1.0 } else { GRACE_S + 3.0 * HEARTBEAT_S + 1.0 };
        let mut run = Run::new();
        run.add("sessions dropped", n as f64, "");
        run.add("claims never released", left as f64, "");
        run.add("all released and known after", all_released, "s");
        run.add("target bound", bound, "s");
        run.add("server CPU-s for the storm", cpu, "s");
        run.target("claims never released", Cmp::AtMost, 0.0);
        run.target("all released and known after", Cmp::AtMost, bound);
        run.notes.push(format!(
            "drop {}: heartbeat_s {HEARTBEAT_S}, reconnect_grace_s {GRACE_S}; bound = grace{} + 1 s",
            if reset { "reset (TCP RST)" } else { "silent (peers stop reading)" },
            if reset { "" } else { " + 3 x heartbeat_s" }
        ));
        run
    })
}

/// Reads until the drop; then either resets the connection or returns the
/// socket unread (silent) for the caller to keep open.
async fn hold(mut ws: Ws, mut drop_rx: watch::Receiver<bool>, reset: bool) -> Option<Ws> {
    loop {
        tokio::select! {
            _ = drop_rx.changed() => break,
            msg = ws.next() => if msg.is_none() { panic!("session ended before the drop") },
        }
    }
    if reset {
        let _ = ws.get_ref().set_zero_linger();
        drop(ws);
        None
    } else {
        Some(ws)
    }
}

/// Tracks the claimed tickets of one inbox from its presence frames.
async fn observe(mut ws: Ws, held: Rc<Held>, mut stop: watch::Receiver<bool>) {
    loop {
        let text = tokio::select! {
            _ = stop.changed() => return,
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(_)) => continue,
                _ => panic!("observer socket ended"),
            }
        };
        let text = text.as_str();
        if frame_type(text) != "presence" {
            continue;
        }
        let Some(ticket) = field(text, "ticket") else {
            continue;
        };
        match text
            .find("\"change\":")
            .and_then(|c| field(&text[c..], "kind"))
        {
            Some("claimed") => {
                held.tickets.borrow_mut().insert(ticket.to_owned());
                held.claims.set(held.claims.get() + 1);
            }
            Some("released") => {
                held.tickets.borrow_mut().remove(ticket);
                held.last_release.set(Some(Instant::now()));
            }
            _ => {}
        }
    }
}
