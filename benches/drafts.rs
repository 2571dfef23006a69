//! Live drafts on one ticket: how many `draft` frames per second 20 viewers
//! receive when all of them type, and how many commits a typist causes.
//!
//! `cargo bench --bench drafts -- [--viewers N] [--keys-per-s K] [--seconds S]`

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;
use support::*;
use tokio_tungstenite::tungstenite::Message;

fn main() {
    let viewers = arg("--viewers", 20.0) as usize;
    let keys_per_s = arg("--keys-per-s", 10.0);
    let seconds = arg("--seconds", 5.0);
    let (base, _dir) = start_server("");
    actix_rt::System::new().block_on(async move {
        let admin = login(&base, "admin").await;
        let inbox = call(&base, Some(&admin), "POST", "/api/inboxes", json!({"name": "Drafts"})).await["id"].as_str().unwrap().to_owned();
        let t = ticket(&base, &admin, &inbox, "Typing").await;

        // 1. One typist at `keys_per_s`: the commits its drafts cause.
        let typist = agent(&base, &admin, "typist", &[&inbox]).await;
        let mut ws = socket(&base, &typist, None).await;
        send(&mut ws, json!({"type": "open", "ticket": t})).await;
        wait_for(&mut ws, "opened").await;
        let before = metric(&base, "tandem_store_commits_total").await;
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed().as_secs_f64() < seconds {
            send(&mut ws, json!({"type": "draft", "ticket": t, "kind": "reply", "body": format!("key {n}")})).await;
            n += 1;
            tokio::time::sleep_until((started + Duration::from_secs_f64(n as f64 / keys_per_s)).into()).await;
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let commits = metric(&base, "tandem_store_commits_total").await - before;
        println!(
            "typist at {keys_per_s} keys/s for {seconds} s: {n} draft frames, {commits} commits = {:.2} commits/s",
            commits / started.elapsed().as_secs_f64()
        );

        // 2. `viewers` tabs on the ticket, every one typing as fast as it can.
        let received = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        let deadline = Instant::now() + Duration::from_secs_f64(seconds + 1.0);
        for i in 0..viewers {
            let token = agent(&base, &admin, &format!("viewer{i}"), &[&inbox]).await;
            let ws = socket(&base, &token, None).await;
            let (mut sink, mut stream) = ws.split();
            let (received, t) = (received.clone(), t.clone());
            tasks.push(actix_rt::spawn(async move {
                use futures_util::SinkExt;
                sink.send(Message::text(json!({"type": "open", "ticket": t}).to_string())).await.unwrap();
                let reader = actix_rt::spawn(async move {
                    while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(deadline.into(), stream.next()).await {
                        if let Message::Text(text) = msg
                            && text.contains("\"type\":\"draft\"")
                        {
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
                let mut k = 0;
                while Instant::now() + Duration::from_secs(1) < deadline {
                    let frame = json!({"type": "draft", "ticket": t, "kind": "note", "body": format!("viewer {i} key {k}")});
                    if sink.send(Message::text(frame.to_string())).await.is_err() {
                        break;
                    }
                    k += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let _ = reader.await;
                k
            }));
        }
        let typed_from = Instant::now();
        let mut typed = 0;
        for task in tasks {
            typed += task.await.unwrap();
        }
        let elapsed = typed_from.elapsed().as_secs_f64();
        let frames = received.load(Ordering::Relaxed) as f64;
        println!(
            "{viewers} viewers all typing: {typed} keystrokes sent ({:.0}/s), {frames} draft frames delivered = {:.0} frames/s",
            typed as f64 / elapsed,
            frames / elapsed
        );
    });
}
