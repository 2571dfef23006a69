//! Presence latency: time from an intended `open` to the matching `presence`
//! frame at every other subscriber of the inbox (50 by default). Open-loop:
//! opens are scheduled at fixed intervals and latency is measured from the
//! intended time, so a stall is not hidden by a late send.
//!
//! With `--stuck N`, N more subscribers never read (a stuck browser tab): the
//! readers' latency should not move (their backlog is bounded, they get 4008).
//!
//! `cargo bench --bench presence -- [--subscribers N] [--opens N] [--interval-ms N] [--stuck N]`

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::*;
use tokio_tungstenite::tungstenite::Message;

fn main() {
    let subscribers = arg("--subscribers", 50.0) as usize;
    let opens = arg("--opens", 400.0) as usize;
    let interval = Duration::from_millis(arg("--interval-ms", 10.0) as u64);
    let stuck = arg("--stuck", 0.0) as usize;
    let (base, _dir) = start_server("");
    actix_rt::System::new().block_on(async move {
        let admin = login(&base, "admin").await;
        let inbox = call(&base, Some(&admin), "POST", "/api/inboxes", json!({"name": "Bench"})).await["id"].as_str().unwrap().to_owned();
        let opener_token = agent(&base, &admin, "opener", &[&inbox]).await;
        let mut tickets = Vec::new();
        for i in 0..opens.min(200) {
            tickets.push(ticket(&base, &admin, &inbox, &format!("T{i}")).await);
        }
        let intended: Arc<Mutex<HashMap<(String, usize), Instant>>> = Arc::default();
        let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
        let mut readers = Vec::new();
        for _ in 0..subscribers {
            let mut ws = socket(&base, &admin, Some(&inbox)).await;
            let (intended, latencies) = (intended.clone(), latencies.clone());
            let expected = opens;
            readers.push(actix_rt::spawn(async move {
                let mut seen = 0;
                let mut count: HashMap<String, usize> = HashMap::new();
                while seen < expected {
                    let text = match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                        Ok(Some(Ok(Message::Text(text)))) => text,
                        Ok(Some(Ok(_))) => continue, // pings and pongs
                        _ => break,
                    };
                    let now = Instant::now();
                    let frame: Value = serde_json::from_str(&text).unwrap();
                    if frame["type"] == "presence" && frame["change"]["kind"] == "claimed" {
                        let ticket = frame["ticket"].as_str().unwrap().to_owned();
                        let n = count.entry(ticket.clone()).or_default();
                        match intended.lock().unwrap().get(&(ticket.clone(), *n)) {
                            Some(at) => latencies.lock().unwrap().push(now.duration_since(*at).as_secs_f64() * 1000.0),
                            None => eprintln!("no intended time for {ticket} round {n}"),
                        }
                        *n += 1;
                        seen += 1;
                    }
                }
                if seen < expected {
                    eprintln!("reader saw {seen} of {expected}");
                }
            }));
        }
        let mut stuck_sockets = Vec::new();
        for _ in 0..stuck {
            stuck_sockets.push(stuck_socket(&base, &admin, &inbox).await);
        }
        let opener = socket(&base, &opener_token, Some(&inbox)).await;
        let (mut sink, mut stream) = opener.split();
        actix_rt::spawn(async move { while stream.next().await.is_some() {} });
        let start = Instant::now() + Duration::from_millis(100);
        let mut rounds: HashMap<String, usize> = HashMap::new();
        for i in 0..opens {
            let at = start + interval * i as u32;
            let ticket = tickets[i % tickets.len()].clone();
            let round = rounds.entry(ticket.clone()).or_default();
            intended.lock().unwrap().insert((ticket.clone(), *round), at);
            *round += 1;
            tokio::time::sleep_until(at.into()).await;
            sink.send(Message::text(json!({"type": "open", "ticket": ticket}).to_string())).await.unwrap();
        }
        for r in readers {
            let _ = r.await;
        }
        let mut all = latencies.lock().unwrap().clone();
        all.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let dropped = metric(&base, "tandem_slow_sessions_dropped_total").await;
        println!(
            "presence latency, open → frame at {subscribers} subscribers (+{stuck} stuck, {dropped} dropped), {opens} opens every {interval:?}: {} samples, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            all.len(),
            percentile(&all, 0.5),
            percentile(&all, 0.99),
            all.last().copied().unwrap_or(0.0)
        );
    });
}
