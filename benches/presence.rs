//! Presence latency: time from an intended `open` to the matching `presence`
//! frame at every other subscriber of the inbox (50 by default). Open-loop:
//! opens are scheduled at fixed intervals and latency is measured from the
//! intended time, so a stall is not hidden by a late send.
//!
//! `cargo bench --bench presence -- [--subscribers N] [--opens N] [--interval-ms N]`

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tandem::app::App;
use tandem::bootstrap::Bootstrap;
use tandem::config::{Config, Overrides};
use tokio_tungstenite::tungstenite::Message;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn call(base: &str, token: Option<&str>, method: &str, path: &str, body: Value) -> Value {
    let client = awc::Client::default();
    let mut req = client.request(method.parse().unwrap(), format!("{base}{path}"));
    if let Some(t) = token {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    let mut resp = req.send_json(&body).await.expect("request");
    serde_json::from_slice(&resp.body().limit(1 << 24).await.expect("body")).unwrap_or(Value::Null)
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn socket(url: &str, token: &str, inbox: &str) -> Socket {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("ws");
    ws.send(Message::text(json!({"type": "hello", "token": token}).to_string())).await.unwrap();
    ws.send(Message::text(json!({"type": "subscribe", "inbox": inbox}).to_string())).await.unwrap();
    while let Some(Ok(msg)) = ws.next().await {
        if let Message::Text(t) = msg
            && t.contains("\"snapshot\"")
        {
            break;
        }
    }
    ws
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let subscribers = arg("--subscribers", 50) as usize;
    let opens = arg("--opens", 400) as usize;
    let interval = Duration::from_millis(arg("--interval-ms", 10));
    let dir = tempfile::tempdir().unwrap();
    let overrides = Overrides { bind: Some("127.0.0.1:0".into()), data_dir: Some(dir.path().to_owned()) };
    let config = Config::load(None, Some("[ws]\nmax_sockets_per_agent = 10000\nframes_per_s = 100000\nframes_burst = 100000\n[log]\nlevel = \"warn\""), &overrides).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let server =
                App::build(config, Bootstrap { demo: false, admin: Some("admin:pw".into()) }).await.unwrap();
            tx.send(server.addr()).unwrap();
            server.run().await.unwrap();
        })
    });
    let addr = rx.recv().unwrap();
    let base = format!("http://{addr}");
    let url = format!("ws://{addr}/ws");
    actix_rt::System::new().block_on(async move {
        let admin = call(&base, None, "POST", "/api/login", json!({"login": "admin", "password": "pw"})).await["token"].as_str().unwrap().to_owned();
        let inbox = call(&base, Some(&admin), "POST", "/api/inboxes", json!({"name": "Bench"})).await["id"].as_str().unwrap().to_owned();
        call(&base, Some(&admin), "POST", "/api/agents", json!({"handle": "opener", "name": "Opener", "email": "o@example.com", "role": "agent", "password": "pw", "inboxes": [inbox]})).await;
        let opener_token = call(&base, None, "POST", "/api/login", json!({"login": "opener", "password": "pw"})).await["token"].as_str().unwrap().to_owned();
        let mut tickets = Vec::new();
        for i in 0..opens.min(200) {
            let t = call(&base, Some(&admin), "POST", "/api/tickets", json!({"inbox": inbox, "subject": format!("T{i}"), "customer": {"name": "C", "contact": "c@x"}, "body": "b"})).await;
            tickets.push(t["id"].as_str().unwrap().to_owned());
        }
        let intended: Arc<Mutex<HashMap<(String, usize), Instant>>> = Arc::default();
        let latencies: Arc<Mutex<Vec<f64>>> = Arc::default();
        let mut readers = Vec::new();
        for _ in 0..subscribers {
            let mut ws = socket(&url, &admin, &inbox).await;
            let (intended, latencies) = (intended.clone(), latencies.clone());
            let expected = opens;
            readers.push(actix_rt::spawn(async move {
                let mut seen = 0;
                let mut count: HashMap<String, usize> = HashMap::new();
                while seen < expected {
                    let text = match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                        Ok(Some(Ok(Message::Text(text)))) => text,
                        Ok(Some(Ok(_))) => continue, // pings and pongs
                        _ => break,
                    };
                    let now = Instant::now();
                    let frame: Value = serde_json::from_str(&text).unwrap();
                    if frame["type"] == "presence" && frame["change"]["kind"] == "claimed" {
                        let ticket = frame["ticket"].as_str().unwrap().to_owned();
                        let n = count.entry(ticket.clone()).or_default();
                        match intended.lock().unwrap().get(&(ticket.clone(), *n)) {
                            Some(at) => latencies.lock().unwrap().push(now.duration_since(*at).as_secs_f64() * 1000.0),
                            None => eprintln!("no intended time for {ticket} round {n}"),
                        }
                        *n += 1;
                        seen += 1;
                    }
                }
                if seen < expected {
                    eprintln!("reader saw {seen} of {expected}");
                }
            }));
        }
        let opener = socket(&url, &opener_token, &inbox).await;
        let (mut sink, mut stream) = opener.split();
        actix_rt::spawn(async move { while stream.next().await.is_some() {} });
        let start = Instant::now() + Duration::from_millis(100);
        let mut rounds: HashMap<String, usize> = HashMap::new();
        for i in 0..opens {
            let at = start + interval * i as u32;
            let ticket = tickets[i % tickets.len()].clone();
            let round = rounds.entry(ticket.clone()).or_default();
            intended.lock().unwrap().insert((ticket.clone(), *round), at);
            *round += 1;
            tokio::time::sleep_until(at.into()).await;
            sink.send(Message::text(json!({"type": "open", "ticket": ticket}).to_string())).await.unwrap();
        }
        for r in readers {
            let _ = r.await;
        }
        let mut all = latencies.lock().unwrap().clone();
        all.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "presence latency, open → frame at {subscribers} subscribers, {opens} opens every {interval:?}: {} samples, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            all.len(),
            percentile(&all, 0.5),
            percentile(&all, 0.99),
            all.last().copied().unwrap_or(0.0)
        );
    });
}
