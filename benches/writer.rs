//! Group-commit writer throughput: acknowledged writes per second with 1 and
//! 64 concurrent writers, each waiting for its acknowledgement before the
//! next write (as a ticket actor does). Median of 3 runs per level.
//!
//! `cargo bench --bench writer -- [--seconds S] [--runs R]`

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::arg;
use tandem::domain::message::{Message, MessageKind};
use tandem::domain::{TicketId, Timestamp};
use tandem::metrics::Metrics;
use tandem::store::{Store, writes};

async fn run(store: Arc<Store>, writers: usize, seconds: f64) -> (f64, f64) {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|_| {
            let store = store.clone();
            actix_rt::spawn(async move {
                let ticket = TicketId::new();
                let mut done = 0u64;
                while Instant::now() < deadline {
                    let message = Message {
                        kind: MessageKind::Note,
                        ..Message::customer(
                            ticket,
                            "a typical internal note of modest length".into(),
                            Timestamp::now(),
                            None,
                        )
                    };
                    store
                        .write(move |tx| writes::put_message(tx, &message))
                        .await
                        .expect("write");
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("writer task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    (total as f64 / elapsed, total as f64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let seconds = arg("--seconds", 3.0);
    let runs = arg("--runs", 3.0) as usize;
    actix_rt::System::new().block_on(async move {
        let mut medians = Vec::new();
        for writers in [1usize, 64] {
            let mut rates = Vec::new();
            for _ in 0..runs {
                let dir = tempfile::tempdir().expect("temp dir");
                let metrics = Arc::new(Metrics::default());
                let store = Arc::new(Store::open(dir.path(), 256, metrics).expect("store"));
                let (rate, _) = run(store.clone(), writers, seconds).await;
                rates.push(rate);
                store.shutdown();
            }
            let m = median(rates.clone());
            println!(
                "writers={writers:>3}  acknowledged writes/s: median {m:>9.0}  runs {rates:.0?}"
            );
            medians.push(m);
        }
        println!("ratio 64 vs 1 writer: {:.1}x", medians[1] / medians[0]);
    });
}
