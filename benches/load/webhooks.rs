//! `webhooks` (issue #18): `--agents` (250) REST clients post internal
//! notes, each to its own ticket, together `--rate` (5,000) per second on a
//! fixed schedule for `--seconds` (10). Each note is one `note.created`
//! event, fanned out to `--webhooks` (3) webhooks whose receivers are small
//! HTTP servers in this process, on loopback (the child server runs with
//! `[webhooks] allow_private = true` and short retries). The same generator
//! runs first against a fresh server without webhooks: the baseline.
//!
//! Measured:
//! - **delivery**: from the event's `created_at` (taken by the writer in the
//!   note's commit, millisecond resolution) to its receipt, over every
//!   receiver; and from the note's REST request (a wall-clock stamp in its
//!   body) to its receipt.
//! - **delivered/s per webhook** while notes are posted, and how long the
//!   backlog takes to drain after the last note (at most [`MAX_DRAIN`]; what
//!   is missing then is counted undelivered).
//! - **outbox**: `tandem_webhooks_queued` from `/metrics` and the server's
//!   RSS, sampled every [`SAMPLE`]: the largest of each, and RSS above the
//!   baseline's.
//! - **order and duplicates**: a receiver must get each ticket's notes in
//!   increasing number; a `Tandem-Delivery` received twice is a duplicate.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hdrhistogram::Histogram;
use serde_json::json;

use crate::cli::Options;
use crate::generator::{field, hist, record, rest, rest_with};
use crate::report::{Cmp, Run};
use crate::seed::{Plan, World};
use crate::server::Target;

/// After the last note, how long the receivers may still wait for the backlog.
const MAX_DRAIN: Duration = Duration::from_secs(60);
/// How often the outbox gauge and the RSS are read.
const SAMPLE: Duration = Duration::from_millis(500);
/// Short retries: a delivery failing on loopback is retried within the run.
const WEBHOOKS_CONFIG: &str =
    "[webhooks]\nallow_private = true\ntimeout_s = 5\nretry_min_s = 0.2\nretry_max_s = 2\n";

pub fn run(options: &Options) -> Run {
    let mut run = Run::new();
    let baseline = options.baseline.then(|| phase(options, 0));
    let hooked = phase(options, options.webhooks);
    figures(&mut run, options, &hooked, baseline.as_ref());
    run.target("delivery p99", Cmp::AtMost, 1000.0);
    run.target(
        "delivered/s per webhook (slowest), while posting",
        Cmp::AtLeast,
        options.rate * 0.95,
    );
    run.target("undelivered", Cmp::AtMost, 0.0);
    run.target("out of order", Cmp::AtMost, 0.0);
    run
}

/// What one receiver got.
struct Received {
    /// `created_at` → receipt.
    commit: Histogram<u64>,
    /// REST request → receipt.
    post: Histogram<u64>,
    deliveries: HashSet<String>,
    duplicates: u64,
    /// The last note number per ticket (agent) index.
    last: HashMap<usize, u64>,
    out_of_order: u64,
    unparsed: u64,
}

impl Received {
    fn new() -> Received {
        Received {
            commit: hist(),
            post: hist(),
            deliveries: HashSet::new(),
            duplicates: 0,
            last: HashMap::new(),
            out_of_order: 0,
            unparsed: 0,
        }
    }

    fn take(&mut self, delivery: &str, body: &str) {
        let now = micros_since_epoch();
        if !self.deliveries.insert(delivery.to_owned()) {
            self.duplicates += 1;
            return;
        }
        let created = field(body, "created_at").and_then(|at| {
            let at =
                time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
                    .ok()?;
            Some((at.unix_timestamp_nanos() / 1000) as u64)
        });
        let note = body
            .find("\"body\":\"w")
            .and_then(|i| note_of(&body[i + 8..]));
        let (Some(created), Some((ticket, k, posted))) = (created, note) else {
            self.unparsed += 1;
            return;
        };
        self.commit
            .saturating_record(now.saturating_sub(created).max(1));
        self.post
            .saturating_record(now.saturating_sub(posted).max(1));
        let last = self.last.entry(ticket).or_insert(0);
        if k < *last {
            self.out_of_order += 1;
        }
        *last = (*last).max(k + 1);
    }
}

/// `w<ticket>.<k>.<micros since epoch> …`: a note's body.
fn note_of(body: &str) -> Option<(usize, u64, u64)> {
    let head = body.strip_prefix('w')?.split(' ').next()?;
    let mut parts = head.split('.');
    Some((
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    ))
}

fn micros_since_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The receivers: one HTTP server each (one worker), answering `200` at once.
struct Receivers {
    urls: Vec<String>,
    received: Vec<Arc<Mutex<Received>>>,
    handles: Vec<actix_web::dev::ServerHandle>,
}

impl Receivers {
    fn start(n: usize) -> Receivers {
        let received: Vec<_> = (0..n)
            .map(|_| Arc::new(Mutex::new(Received::new())))
            .collect();
        let (tx, rx) = std::sync::mpsc::channel();
        let each = received.clone();
        std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let mut servers = Vec::new();
                for r in each {
                    let server = HttpServer::new(move || {
                        App::new()
                            .app_data(web::Data::new(r.clone()))
                            .app_data(web::PayloadConfig::new(1 << 20))
                            .route("/hook", web::post().to(receive))
                    })
                    .workers(1)
                    .bind("127.0.0.1:0")
                    .expect("bind a receiver");
                    let addr = server.addrs()[0];
                    let server = server.run();
                    tx.send((format!("http://{addr}/hook"), server.handle()))
                        .unwrap();
                    servers.push(server);
                }
                futures_util::future::join_all(servers).await;
            })
        });
        let (urls, handles) = (0..n).map(|_| rx.recv().expect("receiver")).unzip();
        Receivers {
            urls,
            received,
            handles,
        }
    }

    /// Distinct deliveries of each receiver so far.
    fn counts(&self) -> Vec<u64> {
        self.received
            .iter()
            .map(|r| r.lock().unwrap().deliveries.len() as u64)
            .collect()
    }

    fn stop(self) -> Vec<Received> {
        actix_rt::System::new().block_on(async {
            for handle in &self.handles {
                handle.stop(false).await;
            }
        });
        self.received
            .into_iter()
            .map(|r| {
                let r = r.lock().unwrap();
                Received {
                    commit: r.commit.clone(),
                    post: r.post.clone(),
                    deliveries: HashSet::new(),
                    duplicates: r.duplicates,
                    last: HashMap::new(),
                    out_of_order: r.out_of_order,
                    unparsed: r.unparsed,
                }
            })
            .collect()
    }
}

async fn receive(
    r: web::Data<Arc<Mutex<Received>>>,
    req: HttpRequest,
    body: String,
) -> HttpResponse {
    let delivery = req
        .headers()
        .get("Tandem-Delivery")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    r.lock().unwrap().take(delivery, &body);
    HttpResponse::Ok().finish()
}

/// One phase: a fresh server with `webhooks` webhooks (0: the baseline).
struct Phase {
    notes_per_s: f64,
    notes: u64,
    failed: u64,
    rest: Histogram<u64>,
    lag: Histogram<u64>,
    cpu: f64,
    rss_end: f64,
    rss_max: f64,
    queued_max: f64,
    queued_at_stop: f64,
    /// Distinct deliveries per receiver when the last note was answered.
    at_stop: Vec<u64>,
    /// Distinct deliveries per receiver at the end of the drain.
    at_end: Vec<u64>,
    window: f64,
    drain: f64,
    received: Vec<Received>,
}

fn phase(options: &Options, webhooks: usize) -> Phase {
    let plan = Plan {
        agents: options.agents,
        inboxes: 1,
        tickets_per_inbox: options.agents,
    };
    let config = crate::server::bench_config("", WEBHOOKS_CONFIG);
    let (target, world) = crate::seed::target(options, plan, &config);
    let receivers = (webhooks > 0).then(|| Receivers::start(webhooks));
    let phase = drive(options, &target, &world, receivers.as_ref());
    let received = receivers.map_or_else(Vec::new, Receivers::stop);
    Phase { received, ..phase }
}

fn drive(
    options: &Options,
    target: &Target,
    world: &World,
    receivers: Option<&Receivers>,
) -> Phase {
    let seconds = Duration::from_secs_f64(options.seconds);
    let base = target.base.clone();
    let agents = world.agents.len();
    let rate = options.rate;
    actix_rt::System::new().block_on(async {
        for url in receivers.iter().flat_map(|r| r.urls.iter()) {
            let (status, answer) = rest(
                &base,
                Some(&world.admin_token),
                "POST",
                "/api/webhooks",
                json!({"url": url, "events": ["note.created"], "description": "load"}),
            )
            .await;
            assert_eq!(status, 201, "POST /api/webhooks: {answer}");
        }
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = actix_rt::spawn(sample(base.clone(), target.pid, done.clone()));
        let cpu0 = target.cpu_seconds();
        let start = Instant::now();
        let tasks: Vec<_> = world
            .agents
            .iter()
            .enumerate()
            .map(|(i, agent)| {
                let (base, token) = (base.clone(), agent.token.clone());
                let path = format!("/api/tickets/{}/messages", world.tickets[0][i]);
                actix_rt::spawn(async move {
                    let client = awc::Client::builder()
                        .timeout(Duration::from_secs(60))
                        .finish();
                    let (mut latency, mut lag) = (hist(), hist());
                    let (mut ok, mut failed) = (0u64, 0u64);
                    for k in 0u64.. {
                        // Agent i's k-th note: notes are evenly spaced over all agents.
                        let at = start
                            + Duration::from_secs_f64((k as f64 * agents as f64 + i as f64) / rate);
                        if at >= start + seconds {
                            break;
                        }
                        tokio::time::sleep_until(at.into()).await;
                        let sent = Instant::now();
                        record(&mut lag, at, sent);
                        let body = json!({"kind": "note",
                            "body": format!("w{i}.{k}.{} load note", micros_since_epoch())});
                        let (status, _) =
                            rest_with(&client, &base, Some(&token), "POST", &path, body).await;
                        record(&mut latency, sent, Instant::now());
                        if status == 200 || status == 201 {
                            ok += 1;
                        } else {
                            failed += 1;
                        }
                    }
                    (latency, lag, ok, failed)
                })
            })
            .collect();
        let (mut latency, mut lag, mut notes, mut failed) = (hist(), hist(), 0, 0);
        for t in tasks {
            let (h, l, o, f) = t.await.expect("agent task");
            latency.add(h).unwrap();
            lag.add(l).unwrap();
            notes += o;
            failed += f;
        }
        let window = start.elapsed().as_secs_f64();
        let cpu = target
            .cpu_seconds()
            .zip(cpu0)
            .map_or(f64::NAN, |(b, a)| (b - a) / window);
        let counts = || receivers.map_or_else(Vec::new, Receivers::counts);
        let at_stop = counts();
        let queued_at_stop = queued(&base).await;
        let stopped = Instant::now();
        while counts().iter().any(|&c| c < notes) && stopped.elapsed() < MAX_DRAIN {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let drain = stopped.elapsed().as_secs_f64();
        let at_end = counts();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let (queued_max, rss_max) = sampler.await.expect("sampler");
        Phase {
            notes_per_s: notes as f64 / window,
            notes,
            failed,
            rest: latency,
            lag,
            cpu,
            rss_end: target.rss_bytes().unwrap_or(f64::NAN),
            rss_max,
            queued_max,
            queued_at_stop,
            at_stop,
            at_end,
            window,
            drain,
            received: Vec::new(),
        }
    })
}

/// The largest outbox gauge and RSS seen until `done`.
async fn sample(
    base: String,
    pid: Option<u32>,
    done: Arc<std::sync::atomic::AtomicBool>,
) -> (f64, f64) {
    let (mut queued_max, mut rss_max) = (0.0f64, 0.0f64);
    while !done.load(std::sync::atomic::Ordering::Relaxed) {
        queued_max = queued_max.max(queued(&base).await);
        if let Some(rss) = pid.and_then(crate::proc_stats::rss_bytes) {
            rss_max = rss_max.max(rss);
        }
        tokio::time::sleep(SAMPLE).await;
    }
    (queued_max, rss_max)
}

/// `tandem_webhooks_queued` from `/metrics`.
async fn queued(base: &str) -> f64 {
    let client = awc::Client::default();
    let Ok(mut response) = client.get(format!("{base}/metrics")).send().await else {
        return f64::NAN;
    };
    let text = response.body().limit(1 << 24).await.unwrap_or_default();
    String::from_utf8_lossy(&text)
        .lines()
        .find_map(|l| l.strip_prefix("tandem_webhooks_queued "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

fn figures(run: &mut Run, options: &Options, o: &Phase, baseline: Option<&Phase>) {
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let mut commit = hist();
    let mut post = hist();
    for r in &o.received {
        commit.add(&r.commit).unwrap();
        post.add(&r.post).unwrap();
    }
    run.add("notes/s posted", o.notes_per_s, "");
    run.add("delivery p50", ms(&commit, 0.5), "ms");
    run.add("delivery p99", ms(&commit, 0.99), "ms");
    run.add("delivery max", commit.max() as f64 / 1000.0, "ms");
    run.add("note request → receipt p99", ms(&post, 0.99), "ms");
    let per_s: Vec<f64> = o.at_stop.iter().map(|&c| c as f64 / o.window).collect();
    run.add(
        "delivered/s per webhook (slowest), while posting",
        per_s.iter().copied().fold(f64::INFINITY, f64::min),
        "",
    );
    run.add(
        "delivered/s, all webhooks, while posting",
        per_s.iter().sum(),
        "",
    );
    run.add("drain after the last note", o.drain, "s");
    let undelivered: u64 = o.at_end.iter().map(|&c| o.notes.saturating_sub(c)).sum();
    run.add("undelivered", undelivered as f64, "");
    run.add(
        "duplicates",
        o.received.iter().map(|r| r.duplicates).sum::<u64>() as f64,
        "",
    );
    run.add(
        "out of order",
        o.received.iter().map(|r| r.out_of_order).sum::<u64>() as f64,
        "",
    );
    run.add("outbox max", o.queued_max, "deliveries");
    run.add("outbox after the last note", o.queued_at_stop, "deliveries");
    run.add("RSS max", o.rss_max / 1048576.0, "MiB");
    run.add("RSS at the end", o.rss_end / 1048576.0, "MiB");
    run.add("note REST p50", ms(&o.rest, 0.5), "ms");
    run.add("note REST p99", ms(&o.rest, 0.99), "ms");
    run.add("notes refused", o.failed as f64, "");
    run.add("generator lag p99", ms(&o.lag, 0.99), "ms");
    run.add("server CPU", o.cpu * 100.0, "% of a core");
    if let Some(b) = baseline {
        run.add("baseline notes/s posted", b.notes_per_s, "");
        run.add("baseline note REST p50", ms(&b.rest, 0.5), "ms");
        run.add("baseline note REST p99", ms(&b.rest, 0.99), "ms");
        run.add("baseline RSS max", b.rss_max / 1048576.0, "MiB");
        run.add("baseline server CPU", b.cpu * 100.0, "% of a core");
        run.add(
            "RSS max above the baseline",
            (o.rss_max - b.rss_max) / 1048576.0,
            "MiB",
        );
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
        run.add(
            "notes/s posted ÷ baseline",
            ratio(o.notes_per_s, b.notes_per_s),
            "×",
        );
        run.add(
            "note REST p99 ÷ baseline",
            ratio(ms(&o.rest, 0.99), ms(&b.rest, 0.99)),
            "×",
        );
        run.add("server CPU ÷ baseline", ratio(o.cpu, b.cpu), "×");
        // A durable note's round trip on the same machine in the same run:
        // what a delivery (a commit, then a POST) is measured against.
        run.add(
            "delivery p50 ÷ baseline note REST p50",
            ratio(ms(&commit, 0.5), ms(&b.rest, 0.5)),
            "×",
        );
    }
    let unparsed: u64 = o.received.iter().map(|r| r.unparsed).sum();
    if unparsed > 0 {
        run.notes
            .push(format!("{unparsed} deliveries without a note number"));
    }
    if options.url.is_some() {
        run.notes.push(
            "--url: the server needs `[webhooks] allow_private = true` for the receivers".into(),
        );
    }
}
