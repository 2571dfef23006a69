//! E-mail benchmarks (issue #17, docs/protocol.md §9.7): the real `tandem`
//! binary against a real Dovecot.
//!
//! `cargo bench --bench mail -- [--mails N] [--tickets T] [--replies R] [--batch B] [--deliver] [--runs R]`
//!
//! Each run starts a fresh Dovecot, a fresh SMTP sink and a fresh server
//! (`tandem serve` in a child process, so its CPU time and RSS are its own),
//! then:
//! 1. [`import`]: N realistic mails ([`corpus`]) are put into the support
//!    mailbox, and an e-mail channel on it imports them into N tickets;
//!    baseline: N tickets created over REST on the same server.
//! 2. [`outbox`]: R replies on each of T e-mail tickets, posted
//!    concurrently, until the sink accepted all and all are `sent`;
//!    baseline: as many notes (no mail), posted the same way before them.
//!
//! The report is the median of each figure over the runs.

mod cli;
mod corpus;
mod import;
mod outbox;
mod report;
mod server;

#[path = "../support/proc.rs"]
mod proc_stats;

/// The e-mail tests' mail servers, shared with the bench rather than copied.
// The tests use all of it; the bench only a part.
#[allow(dead_code)]
#[path = "../../tests/api/support/mail"]
mod mail {
    pub mod dovecot;
    pub mod smtp_sink;
}

use std::time::{Duration, Instant};

use mail::dovecot::Dovecot;
use mail::smtp_sink::SmtpSink;

/// The mailbox the channel reads, and the customers who write to it (each a
/// Dovecot user, so a delivering sink can put the replies in their INBOX).
const SUPPORT: &str = "support";
pub const CUSTOMERS: usize = 100;

fn main() {
    let options = cli::parse();
    let runs: Vec<report::Run> = (0..options.runs)
        .map(|i| {
            eprintln!("run {}/{}", i + 1, options.runs);
            let run = actix_rt::System::new().block_on(one_run(&options));
            eprintln!("{}", run.one_line());
            run
        })
        .collect();
    report::print(&runs);
}

async fn one_run(options: &cli::Options) -> report::Run {
    let mut users = vec![SUPPORT.to_owned()];
    users.extend((0..CUSTOMERS).map(corpus::customer));
    let users: Vec<&str> = users.iter().map(String::as_str).collect();
    let dovecot = Dovecot::start(&users)
        .await
        .expect("the mail bench needs Dovecot: sudo apt-get install dovecot-imapd");
    let sink = if options.deliver {
        SmtpSink::start(&dovecot).await
    } else {
        SmtpSink::start_recording(&dovecot).await
    };
    let server = server::Server::start(options.batch).await;
    let desk = server::Desk::new(&server).await;
    let mut run = report::Run::default();
    let channel = import::run(options, &server, &desk, &dovecot, &sink, &mut run).await;
    outbox::run(options, &server, &desk, &channel, &sink, &mut run).await;
    run.add("RSS after the replies", server.rss_mib(), "MiB");
    settled_rss(&server, &mut run).await;
    import::baseline(options, &desk, &mut run).await;
    run.add("RSS after the REST tickets", server.rss_mib(), "MiB");
    run
}

/// The server's RSS once its ticket actors have stopped (`actors.idle_stop_s`
/// after their last work): what the imported tickets and the replies cost
/// at rest.
async fn settled_rss(server: &server::Server, run: &mut report::Run) {
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut actors = server.metric("tandem_ticket_actors").await;
    while actors > 0.0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        actors = server.metric("tandem_ticket_actors").await;
    }
    run.add("ticket actors alive at rest", actors, "");
    run.add(
        "RSS at rest after import and replies",
        server.rss_mib(),
        "MiB",
    );
}
