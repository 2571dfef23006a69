//! The scheduler under a burst: `--replies` scheduled replies (default
//! 100,000, spread over `--tickets` tickets) all due in the same second,
//! written straight into a data directory; then the server starts and we
//! time how long it takes until every one is sent.
//!
//! `cargo bench --bench scheduler -- [--replies N] [--tickets T]`

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::*;
use tandem::domain::message::{Message, MessageKind, MessageState};
use tandem::domain::ticket::{Customer, Ticket};
use tandem::domain::{Agent, AgentId, Inbox, InboxId, Role, TicketId, Timestamp};
use tandem::metrics::Metrics;
use tandem::store::{Store, writes};

fn load(dir: &std::path::Path, replies: usize, tickets: usize) {
    let store = Store::open(dir, 256, Arc::new(Metrics::default())).unwrap();
    let inbox = Inbox {
        id: InboxId::new(),
        name: "Burst".into(),
        created_at: Timestamp::now(),
    };
    let author = Agent {
        id: AgentId::new(),
        handle: "author".into(),
        name: "Author".into(),
        email: "author@example.com".into(),
        role: Role::Agent,
        inboxes: vec![inbox.id],
        disabled: false,
        password_hash: "not-a-login".into(),
        created_at: Timestamp::now(),
    };
    let due = Timestamp::now(); // all due in the same second (now)
    actix_rt::System::new().block_on(async {
        let (i, a) = (inbox.clone(), author.clone());
        store
            .write(move |tx| writes::put_inbox(tx, &i).and_then(|()| writes::put_agent(tx, &a)))
            .await
            .unwrap();
        let per_ticket = replies.div_ceil(tickets);
        let mut left = replies;
        for n in 0..tickets {
            let ticket = Ticket::new(
                TicketId::new(),
                n as u64 + 1,
                inbox.id,
                format!("Burst {n}"),
                Customer {
                    name: "C".into(),
                    contact: "c@example.com".into(),
                },
                due,
            );
            let count = per_ticket.min(left);
            left -= count;
            let messages: Vec<Message> = (0..count)
                .map(|_| Message {
                    kind: MessageKind::Reply,
                    author: Some(author.id),
                    state: MessageState::Scheduled,
                    send_at: Some(due),
                    ..Message::customer(ticket.id, "Scheduled hello".into(), due, None)
                })
                .collect();
            store
                .write(move |tx| {
                    writes::put_ticket(tx, None, &ticket)?;
                    messages
                        .iter()
                        .try_for_each(|m| writes::put_message(tx, m))?;
                    writes::allocate_ticket_number(tx).map(|_| ())
                })
                .await
                .unwrap();
        }
    });
    store.shutdown();
}

fn main() {
    let replies = arg("--replies", 100_000.0) as usize;
    let tickets = arg("--tickets", 1_000.0) as usize;
    let dir = tempfile::tempdir().unwrap();
    load(dir.path(), replies, tickets);
    let started = Instant::now();
    let (base, ()) = start_server_in(dir.path());
    actix_rt::System::new().block_on(async move {
        loop {
            let sent = metric(&base, "tandem_scheduled_sent_total").await as usize;
            if sent >= replies {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(600), "only {sent} of {replies} sent");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let seconds = started.elapsed().as_secs_f64();
        let commits = metric(&base, "tandem_store_commits_total").await;
        println!(
            "{replies} scheduled replies over {tickets} tickets, all due at once: all sent {seconds:.1} s after start-up = {:.0} sends/s ({commits} commits, {:.0} sends per commit)",
            replies as f64 / seconds,
            replies as f64 / commits
        );
    });
}
