//! Import: `--mails` mails ([`corpus`](crate::corpus)) delivered into the
//! support mailbox and indexed by Dovecot (untimed: a real mailbox is
//! indexed already), then an e-mail channel on it. Timed from the channel's
//! creation until `tandem_mail_imported_total{channel}` reaches the count:
//! every mail is then a committed ticket (the counter moves after the
//! commit). The server's RSS is sampled meanwhile.
//!
//! Baseline, after the outbox part: as many tickets created with `POST
//! /api/tickets` (the same texts) by `mail.batch` concurrent clients.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::json;

use crate::mail::dovecot::Dovecot;
use crate::mail::smtp_sink::SmtpSink;
use crate::report::{Cmp, Run};
use crate::server::{Desk, Server};
use crate::{SUPPORT, cli::Options, corpus};

/// How often the import's progress and the server's RSS are read.
const SAMPLE: Duration = Duration::from_millis(50);
/// The server's default `mail.batch` (config/default.toml).
const DEFAULT_BATCH: usize = 100;

/// Runs the import; the channel's id.
pub async fn run(
    options: &Options,
    server: &Server,
    desk: &Desk,
    dovecot: &Dovecot,
    sink: &SmtpSink,
    run: &mut Run,
) -> String {
    let count = options.mails;
    fill_mailbox(dovecot, count, run).await;

    let series = |channel: &str| format!("tandem_mail_imported_total{{channel=\"{channel}\"}}");
    let rss_before = server.rss_mib();
    let cpu_before = server.cpu_seconds();
    let store_before = server.store().await;
    let started = Instant::now();
    let channel = desk
        .admin
        .ok(
            "POST",
            "/api/channels",
            channel_body(dovecot, sink, &desk.inbox),
        )
        .await["id"]
        .as_str()
        .expect("channel id")
        .to_owned();
    let (mut rss_half, mut rss_peak) = (f64::NAN, rss_before);
    let deadline = started + Duration::from_secs(60) + Duration::from_millis(count as u64 * 20);
    loop {
        tokio::time::sleep(SAMPLE).await;
        let imported = server.metric(&series(&channel)).await as usize;
        let rss = server.rss_mib();
        rss_peak = rss_peak.max(rss);
        if imported * 2 >= count && rss_half.is_nan() {
            rss_half = rss;
        }
        if imported >= count {
            break;
        }
        if Instant::now() > deadline {
            panic!(
                "{imported} of {count} mails imported after {:?} (see tandem_mail_ignored_total)",
                started.elapsed()
            );
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds() - cpu_before;
    run.add("import", count as f64 / seconds, "mails/s");
    run.target("import", Cmp::AtLeast, 500.0);
    run.add("import time", seconds, "s");
    run.add(
        "import server CPU per mail",
        cpu * 1000.0 / count as f64,
        "ms",
    );
    run.add("import server CPU use", cpu / seconds, "cores");
    run.add("RSS before import", rss_before, "MiB");
    run.add("RSS at half the import", rss_half, "MiB");
    run.add("RSS peak during import", rss_peak, "MiB");
    run.add("RSS at the end of the import", server.rss_mib(), "MiB");
    let actors = server.metric("tandem_ticket_actors").await;
    run.add("ticket actors alive at the end", actors, "");
    let store = server.store().await;
    store.report(store_before, "import", seconds, count as f64, run);
    channel
}

/// Delivers `count` mails into the support INBOX and lets Dovecot index
/// them; checks that all are there, unseen.
async fn fill_mailbox(dovecot: &Dovecot, count: usize, run: &mut Run) {
    // The first login creates the Maildir.
    let mut session = dovecot.login(SUPPORT).await;
    session.select("INBOX").await.expect("SELECT");
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let started = Instant::now();
    let bytes = corpus::deliver(&dovecot.maildir(SUPPORT), count, nonce);
    run.add(
        "mail size (mean)",
        bytes as f64 / count as f64 / 1024.0,
        "KiB",
    );
    run.add(
        "Maildir delivery (untimed)",
        started.elapsed().as_secs_f64(),
        "s",
    );
    let started = Instant::now();
    session.select("INBOX").await.expect("SELECT");
    let unseen = session.uid_search("UNSEEN").await.expect("SEARCH").len();
    assert_eq!(unseen, count, "Dovecot sees {unseen} of {count} mails");
    run.add(
        "Dovecot indexing (untimed)",
        started.elapsed().as_secs_f64(),
        "s",
    );
    session.logout().await.ok();
}

/// The channel: IDLE on the support INBOX (each mail `\Seen` once imported),
/// replies through the sink.
fn channel_body(dovecot: &Dovecot, sink: &SmtpSink, inbox: &str) -> serde_json::Value {
    json!({
        "kind": "email", "inbox": inbox, "name": "Support mail",
        "imap": {"host": dovecot.host(), "port": dovecot.imap_port(), "tls": "none",
                 "user": SUPPORT, "password": dovecot.password(SUPPORT)},
        "smtp": {"host": sink.host(), "port": sink.port(), "tls": "none",
                 "from_address": format!("{SUPPORT}@example.test"), "from_name": "Shop support"},
    })
}

/// The baseline: `--mails` tickets over REST, the same texts, by as many
/// concurrent clients as the server imports mails together.
pub async fn baseline(options: &Options, desk: &Desk, run: &mut Run) {
    let count = options.mails;
    let clients = options.batch.unwrap_or(DEFAULT_BATCH).clamp(1, count);
    let started = Instant::now();
    join_all((0..clients).map(|c| async move {
        let client = desk.admin.client();
        for i in (c..count).step_by(clients) {
            let who = corpus::customer(i % crate::CUSTOMERS);
            let body = json!({"inbox": desk.inbox, "subject": format!("REST ticket {i}"),
                              "customer": {"name": who, "contact": format!("{who}@example.test")},
                              "body": corpus::text(i)});
            let (status, answer) = desk.admin.call(&client, "POST", "/api/tickets", body).await;
            assert!(
                (200..300).contains(&status),
                "POST /api/tickets: {status} {answer}"
            );
        }
    }))
    .await;
    let per_s = count as f64 / started.elapsed().as_secs_f64();
    run.add("baseline: tickets over REST", per_s, "tickets/s");
    let import = run.get("import").unwrap_or(f64::NAN);
    run.add("import ÷ REST tickets", import / per_s, "×");
}
