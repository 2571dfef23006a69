//! Clients that stop reading: each socket's outbound backlog is bounded
//! (`ws.max_backlog_frames` / `ws.max_backlog_bytes`); past it the session is
//! closed with 4008 and its claim released as `disconnected`, while everyone
//! else keeps getting every frame and the server's memory stays bounded.
//! Runs the real binary so its resident memory can be read alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::process::Process;
use crate::support::*;

const SUBSCRIBERS: usize = 1000;
/// 1% of the subscribers stop reading.
const STUCK: usize = 10;
/// Subscribers that parse every frame (the rest only drain bytes, to keep the test cheap).
const COUNTED: usize = 5;
/// Most ticket changes in the burst (each `ticket` frame carries ~20 KB of fields).
const MAX_ROUNDS: usize = 1000;
/// A reader that gets nothing for this long has seen the whole burst.
const QUIET: Duration = Duration::from_secs(10);
/// Changes of the busy ticket while everyone still reads.
const WARM_UP: usize = 100;
/// The bound this test states for the server's memory growth once 1% stop
/// reading: each stuck socket holds at most its backlog (256 KiB here) plus
/// the HTTP dispatcher's bounded write buffer (32 KiB and a frame), ~300 KiB,
/// so ~3 MiB for the 10; readers that fall behind on a loaded machine hold
/// their own (bounded) backlogs for a while. Measured alone: 8–9 MiB.
const MAX_RSS_GROWTH_KIB: u64 = 48 * 1024;

async fn hello_and_subscribe(raw: &mut RawWs, token: &str, inbox: &str) {
    raw.send_text(&json!({"type": "hello", "token": token}).to_string())
        .await;
    let subscribe = json!({"type": "subscribe", "inbox": inbox}).to_string();
    raw.send_frame(true, 0x1, subscribe.as_bytes()).await;
}

async fn until_metric(api: &Api, name: &str, expected: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let value = api.metric(name).await;
        if value == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} is {value}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn one_percent_stuck_readers_are_dropped_without_hurting_anyone_else() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tandem.toml");
    let limits = "[ws]\nheartbeat_s = 60\nmax_sockets_per_agent = 2000\nmax_sockets_per_address = 5000\n\
                  max_backlog_frames = 64\nmax_backlog_bytes = 262144\n";
    std::fs::write(&config, limits).unwrap();
    let data = dir.path().join("data");
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--bind",
        "127.0.0.1:0",
    ];
    let process = Process::start(
        &args,
        &[("TANDEM_BOOTSTRAP_ADMIN", "admin:pw"), ("RUST_LOG", "warn")],
    );
    let anon = process.api();
    let login = anon
        .post("/api/login", json!({"login": "admin", "password": "pw"}))
        .await;
    let admin = anon.with_token(login.body["token"].as_str().unwrap());
    let token = admin.token.clone().unwrap();
    let (inbox, claimed, busy) = inbox_with_two_tickets(&admin).await;
    let addr: std::net::SocketAddr = process.addr.parse().unwrap();
    let ws_url = format!("ws://{addr}/ws");

    // The observer, and a few subscribers that parse and count every frame, each read by its own task.
    let mut observer = Ws::connect_url(&ws_url).await;
    observer
        .send(json!({"type": "hello", "token": token}))
        .await;
    observer.recv_type("welcome").await;
    observer
        .send(json!({"type": "subscribe", "inbox": inbox}))
        .await;
    observer.recv_type("snapshot").await;
    let ticket_frames = Arc::new(AtomicU64::new(0));
    let mut counted = Vec::new();
    for _ in 0..COUNTED {
        let mut ws = Ws::connect_url(&ws_url).await;
        ws.send(json!({"type": "hello", "token": token})).await;
        ws.send(json!({"type": "subscribe", "inbox": inbox})).await;
        let (frames, busy) = (ticket_frames.clone(), busy.clone());
        counted.push(tokio::spawn(async move {
            count_ticket_frames(ws, &busy, &frames).await
        }));
    }
    // The ones that will get stuck: a tiny receive buffer; they read until told to stop.
    // The first holds a claim.
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut stuck = Vec::new();
    for i in 0..STUCK {
        let mut raw = RawWs::connect_to(addr, Some(4096)).await;
        hello_and_subscribe(&mut raw, &token, &inbox).await;
        if i == 0 {
            raw.send_text(&json!({"type": "open", "ticket": claimed}).to_string())
                .await;
        }
        let stop = stop.clone();
        stuck.push(tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut buffer = vec![0u8; 16 * 1024];
            let stopped = stop.notified();
            tokio::pin!(stopped);
            loop {
                tokio::select! {
                    _ = &mut stopped => return raw,
                    read = raw.stream.read(&mut buffer) => assert!(read.unwrap() > 0, "server closed early"),
                }
            }
        }));
    }
    assert_eq!(
        observer.presence("claimed").await["ticket"],
        claimed.as_str()
    );
    let released = tokio::spawn(async move { next_release(observer).await });
    // The rest drain whatever arrives.
    let drained = Arc::new(AtomicU64::new(0));
    for _ in 0..SUBSCRIBERS - STUCK - COUNTED {
        let mut raw = RawWs::connect_to(addr, None).await;
        hello_and_subscribe(&mut raw, &token, &inbox).await;
        let drained = drained.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut buffer = vec![0u8; 16 * 1024];
            while let Ok(n @ 1..) = raw.stream.read(&mut buffer).await {
                drained.fetch_add(n as u64, Ordering::Relaxed);
            }
        });
    }
    until_metric(&admin, "tandem_subscriptions", SUBSCRIBERS as u64 + 1).await;

    // A warm-up burst while everyone reads: the server's buffers and allocator reach
    // their working size, so the growth measured below is what stuck readers cost.
    let mut rounds = 0;
    while rounds < WARM_UP {
        change_busy_ticket(&admin, &busy, rounds).await;
        rounds += 1;
    }
    assert_eq!(admin.metric("tandem_slow_sessions_dropped_total").await, 0);
    let rss_before = process.rss_kib();
    stop.notify_waiters();
    let mut stuck: Vec<RawWs> = futures_util::future::join_all(stuck)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    // The burst: ~20 KB `ticket` frames to every subscriber until every stuck
    // one is dropped (how much the kernel buffers first varies), then a few more.
    let mut rounds_after_drop = None;
    let mut stuck_readers = Vec::new();
    while rounds_after_drop != Some(0) {
        change_busy_ticket(&admin, &busy, rounds).await;
        rounds += 1;
        assert!(rounds < MAX_ROUNDS, "the stuck readers were never dropped");
        rounds_after_drop = match rounds_after_drop {
            // All of them: a stuck tab that starts reading before it is
            // dropped drains its backlog and is never dropped.
            None if rounds % 10 == 0
                && admin.metric("tandem_slow_sessions_dropped_total").await == STUCK as u64 =>
            {
                // Dropped tabs find their connection ended (they stopped mid-frame, so
                // only the byte stream's end is checked here; the 4008 is the next test's).
                stuck_readers = stuck
                    .drain(..)
                    .map(|raw| tokio::spawn(read_to_end(raw)))
                    .collect();
                Some(10)
            }
            other => other.map(|n: usize| n - 1),
        };
    }

    // Exactly the stuck tabs were dropped, with 4008, and the claim was released as `disconnected`.
    until_metric(&admin, "tandem_slow_sessions_dropped_total", STUCK as u64).await;
    let released = released.await.unwrap();
    assert_eq!(released["ticket"], claimed.as_str());
    assert_eq!(released["change"]["reason"], "disconnected");
    for reader in stuck_readers {
        reader.await.unwrap();
    }
    // Everyone else got every frame.
    for task in counted {
        assert_eq!(
            task.await.unwrap(),
            rounds,
            "a reading subscriber missed frames"
        );
    }
    let rss_growth = process.rss_kib().saturating_sub(rss_before);
    eprintln!(
        "slow clients: {SUBSCRIBERS} subscribers, {STUCK} stuck, {rounds} frames of ~20 KB each ({WARM_UP} before any got stuck); \
         {} MiB drained by the others; server RSS {rss_before} KiB before the burst, grew {rss_growth} KiB",
        drained.load(Ordering::Relaxed) >> 20
    );
    assert_eq!(
        admin.metric("tandem_slow_sessions_dropped_total").await,
        STUCK as u64
    );
    assert!(
        rss_growth < MAX_RSS_GROWTH_KIB,
        "server RSS grew {rss_growth} KiB"
    );
}

/// An inbox with a ticket a tab will hold and a ticket that keeps changing.
async fn inbox_with_two_tickets(admin: &Api) -> (String, String, String) {
    let inbox = admin.create_inbox("Support").await;
    let id = |ticket: Value| ticket["id"].as_str().unwrap().to_owned();
    let claimed = id(admin.create_ticket(&inbox, "Held by a stuck tab").await);
    let busy = id(admin.create_ticket(&inbox, "Busy ticket").await);
    (inbox, claimed, busy)
}

/// One change of the busy ticket: a `ticket` frame of ~20 KB to every subscriber.
async fn change_busy_ticket(admin: &Api, busy: &str, round: usize) {
    let fields: serde_json::Map<String, Value> = (0..10)
        .map(|k| {
            (
                format!("field{k}"),
                json!(format!("{round:04}").repeat(500)),
            )
        })
        .collect();
    let resp = admin
        .patch(format!("/api/tickets/{busy}"), json!({"fields": fields}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
}

/// Counts `ticket` frames about `busy` until none arrives for a while.
async fn count_ticket_frames(mut ws: Ws, busy: &str, total: &AtomicU64) -> usize {
    use futures_util::StreamExt;
    let mut seen = 0;
    while let Ok(Some(Ok(message))) = tokio::time::timeout(QUIET, ws.socket.next()).await {
        let Ok(text) = message.to_text() else {
            continue;
        };
        let frame: Value = serde_json::from_str(text).unwrap_or_default();
        if frame["type"] == "ticket" && frame["ticket"]["id"] == busy {
            seen += 1;
            total.fetch_add(1, Ordering::Relaxed);
        }
    }
    seen
}

/// Reads (and discards) until the server ends the connection.
async fn read_to_end(mut raw: RawWs) {
    use tokio::io::AsyncReadExt;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = tokio::time::timeout(QUIET, raw.stream.read(&mut buffer)).await;
        match read.expect("the server ends a dropped connection") {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// The first `released` presence frame the observer gets.
async fn next_release(mut observer: Ws) -> Value {
    use futures_util::StreamExt;
    loop {
        let next = tokio::time::timeout(QUIET, observer.socket.next()).await;
        let message = next
            .expect("a frame in time")
            .expect("socket open")
            .expect("frame");
        let Ok(text) = message.to_text() else {
            continue;
        };
        let frame: Value = serde_json::from_str(text).unwrap_or_default();
        if frame["type"] == "presence" && frame["change"]["kind"] == "released" {
            return frame;
        }
    }
}

#[actix_web::test]
async fn a_slow_reader_past_its_backlog_is_told_4008_and_its_claim_released() {
    let server = TestServer::start_with(
        "max_backlog_frames = 8\nmax_backlog_bytes = 65536\nheartbeat_s = 60\n",
    )
    .await;
    let admin = server.admin().await;
    let (inbox, claimed, busy) = inbox_with_two_tickets(&admin).await;
    let (mut observer, _) = Ws::hello(&server, &admin).await;
    observer.subscribe(&inbox).await;
    let mut slow = RawWs::connect_to(server.addr, Some(4096)).await;
    hello_and_subscribe(&mut slow, admin.token.as_deref().unwrap(), &inbox).await;
    slow.send_text(&json!({"type": "open", "ticket": claimed}).to_string())
        .await;
    assert_eq!(
        observer.presence("claimed").await["ticket"],
        claimed.as_str()
    );
    let released = tokio::spawn(async move { next_release(observer).await });

    let mut rounds = 0;
    while !released.is_finished() {
        change_busy_ticket(&admin, &busy, rounds).await;
        rounds += 1;
        assert!(rounds < MAX_ROUNDS, "the slow reader was never dropped");
    }
    assert_eq!(released.await.unwrap()["change"]["reason"], "disconnected");
    // It reads again, well within the close window: the frames queued before the close, then 4008.
    assert_eq!(slow.close_code().await, 4008);
}
