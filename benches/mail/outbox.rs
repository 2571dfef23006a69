//! Outbox: `--replies` public replies on each of `--tickets` e-mail tickets
//! (imported ones), one client per ticket, all tickets at once. Timed from
//! the first post until the SMTP sink accepted every reply; each reply's
//! latency runs from the start of its post to the sink's 250. Then the bench
//! checks that every reply is `sent` on its ticket.
//!
//! Baseline, in the same run just before: as many notes (which never leave),
//! posted the same way on the same tickets.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use hdrhistogram::Histogram;
use serde_json::json;

use crate::cli::Options;
use crate::mail::smtp_sink::SmtpSink;
use crate::report::Run;
use crate::server::{Desk, Server};

/// How long the sink may take to accept every reply.
const SEND_WAIT: Duration = Duration::from_secs(600);

pub async fn run(
    options: &Options,
    server: &Server,
    desk: &Desk,
    channel: &str,
    sink: &SmtpSink,
    run: &mut Run,
) {
    let tickets = email_tickets(desk, channel, options.tickets).await;
    let total = tickets.len() * options.replies;

    let (notes, _) = post_all(desk, &tickets, options.replies, "note").await;
    let notes_per_s = total as f64 / notes.seconds;
    run.add("baseline: notes posted", notes_per_s, "posts/s");
    run.add("baseline: note post p50", notes.latency.p50(), "ms");
    run.add("baseline: note post p99", notes.latency.p99(), "ms");

    let cpu_before = server.cpu_seconds();
    let store_before = server.store().await;
    let (replies, posted) = post_all(desk, &tickets, options.replies, "reply").await;
    run.add("replies posted", total as f64 / replies.seconds, "posts/s");
    run.add("reply post p50", replies.latency.p50(), "ms");
    run.add("reply post p99", replies.latency.p99(), "ms");

    let accepted = sink.wait_accepted(total, SEND_WAIT).await;
    let mut to_smtp = Latency::default();
    let mut last = replies.started;
    for mail in &accepted {
        let id = message_id(&mail.raw).expect("a Message-ID in every reply");
        let posted_at = posted
            .get(&id)
            .unwrap_or_else(|| panic!("{id} was not posted"));
        to_smtp.record(mail.at - *posted_at);
        last = last.max(mail.at);
    }
    let sends_per_s = total as f64 / (last - replies.started).as_secs_f64();
    run.add("sends (first post → last SMTP 250)", sends_per_s, "sends/s");
    run.add("post → SMTP accepted p50", to_smtp.p50(), "ms");
    run.add("post → SMTP accepted p99", to_smtp.p99(), "ms");
    run.add("sends ÷ notes posted", sends_per_s / notes_per_s, "×");
    wait_all_sent(server, desk, &tickets, total).await;
    run.add(
        "first post → all sent confirmed",
        replies.started.elapsed().as_secs_f64(),
        "s",
    );
    let store = server.store().await;
    let seconds = replies.started.elapsed().as_secs_f64();
    store.report(store_before, "replies", seconds, total as f64, run);
    let cpu = server.cpu_seconds() - cpu_before;
    run.add(
        "server CPU per reply (post + send)",
        cpu * 1000.0 / total as f64,
        "ms",
    );
}

/// `count` of the channel's tickets.
async fn email_tickets(desk: &Desk, channel: &str, count: usize) -> Vec<String> {
    let path = format!("/api/inboxes/{}/tickets?view=all&limit={count}", desk.inbox);
    let list = desk.admin.ok("GET", &path, serde_json::Value::Null).await;
    let tickets: Vec<String> = list["tickets"]
        .as_array()
        .expect("tickets")
        .iter()
        .filter(|t| t["channel"]["id"] == channel)
        .map(|t| t["id"].as_str().expect("ticket id").to_owned())
        .collect();
    assert_eq!(tickets.len(), count, "e-mail tickets for the replies");
    tickets
}

/// Latencies in microseconds.
struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Latency {
        Latency(Histogram::new(3).expect("histogram"))
    }
}

impl Latency {
    fn record(&mut self, took: Duration) {
        self.0.record(took.as_micros() as u64).expect("record");
    }

    fn p50(&self) -> f64 {
        self.0.value_at_quantile(0.5) as f64 / 1000.0
    }

    fn p99(&self) -> f64 {
        self.0.value_at_quantile(0.99) as f64 / 1000.0
    }
}

struct Posted {
    started: Instant,
    seconds: f64,
    latency: Latency,
}

/// `per_ticket` messages of `kind` on each ticket: one client per ticket
/// posting one after the other, all tickets at once. Also when each reply's
/// post started, by its Message-ID.
async fn post_all(
    desk: &Desk,
    tickets: &[String],
    per_ticket: usize,
    kind: &str,
) -> (Posted, HashMap<String, Instant>) {
    let started = Instant::now();
    let clients = join_all(tickets.iter().map(|ticket| async move {
        let client = desk.agent.client();
        let path = format!("/api/tickets/{ticket}/messages");
        let mut latency = Latency::default();
        let mut posted = HashMap::new();
        for n in 0..per_ticket {
            let body = json!({"kind": kind, "body": format!("{kind} {n}: thank you for your patience, the replacement ships today and should arrive by Thursday.")});
            let at = Instant::now();
            let (status, message) = desk.agent.call(&client, "POST", &path, body).await;
            latency.record(at.elapsed());
            assert_eq!(status, 200, "POST {path}: {message}");
            if let Some(id) = message["email"]["message_id"].as_str() {
                posted.insert(id.to_owned(), at);
            }
        }
        (latency, posted)
    }))
    .await;
    let seconds = started.elapsed().as_secs_f64();
    let mut latency = Latency::default();
    let mut posted = HashMap::new();
    for (client, ids) in clients {
        latency.0.add(&client.0).expect("merge histograms");
        posted.extend(ids);
    }
    let result = Posted {
        started,
        seconds,
        latency,
    };
    (result, posted)
}

/// The `Message-ID` of a raw mail, without angle brackets.
fn message_id(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next()?;
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("message-id").then(|| {
            value
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

/// Waits until the outbox counted `total` sends and every reply on the
/// tickets says `sent`.
async fn wait_all_sent(server: &Server, desk: &Desk, tickets: &[String], total: usize) {
    let deadline = Instant::now() + SEND_WAIT;
    while (server.metric("tandem_outbox_sent_total").await as usize) < total {
        assert!(
            Instant::now() < deadline,
            "the outbox did not count every send"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    loop {
        let details = join_all(tickets.iter().map(|ticket| async move {
            let path = format!("/api/tickets/{ticket}");
            desk.agent.ok("GET", &path, serde_json::Value::Null).await
        }))
        .await;
        let sent = details
            .iter()
            .flat_map(|t| t["messages"].as_array().expect("messages"))
            .filter(|m| m["kind"] == "reply" && m["delivery"]["state"] == "sent")
            .count();
        if sent == total {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{sent} of {total} replies are sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
