//! Mention notifications: time from posting a note that mentions 3 agents to
//! each of their sockets receiving the `notification` frame. Open loop: notes
//! are posted on a fixed schedule, latency counts from the intended time.
//!
//! `cargo bench --bench mentions -- [--notes N] [--interval-ms M]`

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use support::*;
use tokio_tungstenite::tungstenite::Message;

fn main() {
    let notes = arg("--notes", 1000.0) as usize;
    let interval = Duration::from_millis(arg("--interval-ms", 5.0) as u64);
    let (base, _dir) = start_server("");
    actix_rt::System::new().block_on(async move {
        let admin = login(&base, "admin").await;
        let inbox = call(&base, Some(&admin), "POST", "/api/inboxes", json!({"name": "Mentions"})).await["id"].as_str().unwrap().to_owned();
        let author = agent(&base, &admin, "author", &[&inbox]).await;
        // One ticket per note, so each notification names its note exactly.
        let mut tickets = Vec::new();
        for i in 0..notes {
            tickets.push(ticket(&base, &admin, &inbox, &format!("T{i}")).await);
        }
        // When the note on each ticket was meant to be posted.
        let intended: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
        let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
        let mut readers = Vec::new();
        for handle in ["m1", "m2", "m3"] {
            let token = agent(&base, &admin, handle, &[&inbox]).await;
            let mut ws = socket(&base, &token, None).await;
            let (intended, latencies) = (intended.clone(), latencies.clone());
            readers.push(actix_rt::spawn(async move {
                let mut seen = 0;
                while seen < notes {
                    let text = match tokio::time::timeout(Duration::from_secs(20), ws.next()).await {
                        Ok(Some(Ok(Message::Text(text)))) => text,
                        Ok(Some(Ok(_))) => continue,
                        _ => break,
                    };
                    let now = Instant::now();
                    let frame: Value = serde_json::from_str(&text).unwrap();
                    if frame["type"] != "notification" || frame["notification"]["kind"] != "mention" {
                        continue;
                    }
                    seen += 1;
                    let ticket = frame["notification"]["ticket"]["id"].as_str().unwrap();
                    if let Some(at) = intended.lock().unwrap().get(ticket) {
                        latencies.lock().unwrap().push(now.duration_since(*at).as_secs_f64() * 1000.0);
                    }
                }
                seen
            }));
        }
        let start = Instant::now() + Duration::from_millis(100);
        let mut posts = Vec::new();
        for (n, ticket) in tickets.iter().enumerate() {
            let at = start + interval * n as u32;
            intended.lock().unwrap().insert(ticket.clone(), at);
            tokio::time::sleep_until(at.into()).await;
            let (base, author, ticket) = (base.clone(), author.clone(), ticket.clone());
            // Spawned, so a slow answer does not delay the next note (open loop); at most 64 in flight.
            posts.push(actix_rt::spawn(async move {
                call(&base, Some(&author), "POST", &format!("/api/tickets/{ticket}/messages"), json!({"kind": "note", "body": format!("@m1 @m2 @m3 note {n}")})).await
            }));
            if posts.len() >= 64 {
                for p in posts.drain(..) {
                    p.await.unwrap();
                }
            }
        }
        for p in posts {
            p.await.unwrap();
        }
        let mut received = 0;
        for r in readers {
            received += r.await.unwrap();
        }
        let mut all = latencies.lock().unwrap().clone();
        all.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "mention notification latency, {notes} notes x 3 mentions every {interval:?}: {received} notifications, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            percentile(&all, 0.5),
            percentile(&all, 0.99),
            all.last().copied().unwrap_or(f64::NAN)
        );
    });
}
