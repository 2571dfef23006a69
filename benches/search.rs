//! Search and list latency on a big helpdesk: loads `--tickets` tickets with
//! 5 messages each straight into a data directory, starts the server on it,
//! then times `#number`, a rare word, a common word, and an inbox view page
//! over REST (each query repeated, sequentially).
//!
//! `cargo bench --bench search -- [--tickets N] [--queries Q]`

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use support::*;
use tandem::domain::message::{Message, MessageKind};
use tandem::domain::ticket::{Customer, Ticket};
use tandem::domain::{Inbox, InboxId, TicketId, Timestamp};
use tandem::metrics::Metrics;
use tandem::store::{Store, writes};

const WORDS: [&str; 24] = [
    "printer",
    "invoice",
    "login",
    "password",
    "refund",
    "shipping",
    "account",
    "export",
    "calendar",
    "sync",
    "browser",
    "mobile",
    "upload",
    "photo",
    "dark",
    "mode",
    "billing",
    "seats",
    "trial",
    "quote",
    "discount",
    "contract",
    "renewal",
    "notification",
];

/// A small deterministic generator, so every run loads the same data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn word(&mut self) -> String {
        // Mostly from a long tail of 20,000 synthetic words, sometimes a real one.
        if self.next().is_multiple_of(4) {
            WORDS[(self.next() % WORDS.len() as u64) as usize].to_owned()
        } else {
            format!("w{}", self.next() % 20_000)
        }
    }

    fn sentence(&mut self, n: usize) -> String {
        (0..n).map(|_| self.word()).collect::<Vec<_>>().join(" ")
    }
}

fn load(dir: &std::path::Path, tickets: usize) -> InboxId {
    let store = Store::open(dir, 256, Arc::new(Metrics::default())).unwrap();
    let inbox = Inbox {
        id: InboxId::new(),
        name: "Big".into(),
        created_at: Timestamp::now(),
    };
    let record = inbox.clone();
    actix_rt::System::new().block_on(async {
        store
            .write(move |tx| writes::put_inbox(tx, &record))
            .await
            .unwrap();
        let mut rng = Lcg(42);
        let started = Instant::now();
        let batch = 500;
        for start in (0..tickets).step_by(batch) {
            let mut rows = Vec::with_capacity(batch);
            for i in start..(start + batch).min(tickets) {
                let now = Timestamp(1_700_000_000_000 + i as i64 * 1000);
                let id = TicketId::new();
                // Every ticket says "help" (a common word); ticket 777 alone says "zyzzyva" (a rare one).
                let rare = if i == 777 { " zyzzyva" } else { "" };
                let ticket = Ticket::new(
                    id,
                    i as u64 + 1,
                    inbox.id,
                    format!("{} help{rare}", rng.sentence(4)),
                    Customer {
                        name: format!("Customer {i}"),
                        contact: format!("c{i}@example.com"),
                    },
                    now,
                );
                let messages: Vec<Message> = (0..5)
                    .map(|m| Message {
                        kind: if m % 2 == 0 {
                            MessageKind::Customer
                        } else {
                            MessageKind::Reply
                        },
                        ..Message::customer(id, rng.sentence(12), now, None)
                    })
                    .collect();
                rows.push((ticket, messages));
            }
            store
                .write(move |tx| {
                    for (ticket, messages) in &rows {
                        writes::put_ticket(tx, None, ticket)?;
                        for m in messages {
                            writes::put_message(tx, m)?;
                        }
                    }
                    writes::allocate_ticket_number(tx).map(|_| ())
                })
                .await
                .unwrap();
        }
        eprintln!(
            "loaded {tickets} tickets x 5 messages in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    });
    store.shutdown();
    inbox.id
}

fn main() {
    let tickets = arg("--tickets", 100_000.0) as usize;
    let queries = arg("--queries", 200.0) as usize;
    let dir = tempfile::tempdir().unwrap();
    let inbox = load(dir.path(), tickets);
    let (base, _server_dir) = start_server_in(dir.path());
    actix_rt::System::new().block_on(async move {
        let admin = login(&base, "admin").await;
        let client = awc::Client::default();
        let time = |path: String| {
            let (client, base, admin) = (client.clone(), base.clone(), admin.clone());
            async move {
                let started = Instant::now();
                let mut resp = client
                    .get(format!("{base}{path}"))
                    .insert_header(("Authorization", format!("Bearer {admin}")))
                    .send()
                    .await
                    .unwrap();
                let body: Value =
                    serde_json::from_slice(&resp.body().limit(1 << 26).await.unwrap()).unwrap();
                (
                    started.elapsed().as_secs_f64() * 1000.0,
                    body["tickets"].as_array().map_or(0, Vec::len),
                )
            }
        };
        let mut rng = Lcg(7);
        println!("| query | results | p50 ms | p99 ms |");
        println!("|---|---|---|---|");
        type PathFor = Box<dyn Fn(&mut Lcg) -> String>;
        let cases: Vec<(&str, PathFor)> = vec![
            (
                "`#number`",
                Box::new(move |r: &mut Lcg| {
                    format!("/api/search?q=%23{}", r.next() % tickets as u64 + 1)
                }),
            ),
            (
                "rare word",
                Box::new(|_: &mut Lcg| "/api/search?q=zyzzyva".to_owned()),
            ),
            (
                "common word (every ticket)",
                Box::new(|_: &mut Lcg| "/api/search?q=help".to_owned()),
            ),
            (
                "two words",
                Box::new(|_: &mut Lcg| "/api/search?q=printer%20invoice".to_owned()),
            ),
            (
                "inbox view, first page",
                Box::new(move |_: &mut Lcg| {
                    format!("/api/inboxes/{inbox}/tickets?view=pending&limit=50")
                }),
            ),
        ];
        for (name, path) in cases {
            let mut samples = Vec::with_capacity(queries);
            let mut results = 0;
            for _ in 0..queries {
                let (ms, n) = time(path(&mut rng)).await;
                samples.push(ms);
                results = n;
            }
            samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
            println!(
                "| {name} | {results} | {:.2} | {:.2} |",
                percentile(&samples, 0.5),
                percentile(&samples, 0.99)
            );
        }
    });
}
