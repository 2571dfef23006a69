//! Shared by the benches: an in-process server on port 0, a tiny REST client,
//! WebSocket sessions, command-line numbers and percentiles.

#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tandem::app::App;
use tandem::bootstrap::Bootstrap;
use tandem::config::{Config, Overrides};
use tokio_tungstenite::tungstenite::Message;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// `--name value` from the command line, or `default`.
pub fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Starts a server (admin `admin`/`pw`) in its own thread; its base URL.
pub fn start_server(extra_config: &str) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let base = start(dir.path(), extra_config);
    (base, dir)
}

/// Starts a server on an existing data directory; its base URL (and a dummy dir to keep).
pub fn start_server_in(data_dir: &std::path::Path) -> (String, ()) {
    (start(data_dir, ""), ())
}

fn start(data_dir: &std::path::Path, extra_config: &str) -> String {
    let overrides = Overrides {
        bind: Some("127.0.0.1:0".into()),
        data_dir: Some(data_dir.to_owned()),
    };
    let text = format!(
        "[ws]\nmax_sockets_per_agent = 100000\nmax_sockets_per_address = 100000\nframes_per_s = 100000\nframes_burst = 100000\n[log]\nlevel = \"warn\"\n{extra_config}"
    );
    let config = Config::load(None, Some(&text), &overrides).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let server = App::build(
                config,
                Bootstrap {
                    demo: false,
                    admin: Some("admin:pw".into()),
                },
            )
            .await
            .unwrap();
            tx.send(server.addr()).unwrap();
            server.run().await.unwrap();
        })
    });
    format!("http://{}", rx.recv().unwrap())
}

pub async fn call(base: &str, token: Option<&str>, method: &str, path: &str, body: Value) -> Value {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .finish();
    let mut req = client.request(method.parse().unwrap(), format!("{base}{path}"));
    if let Some(t) = token {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    let mut resp = req.send_json(&body).await.expect("request");
    serde_json::from_slice(&resp.body().limit(1 << 26).await.expect("body")).unwrap_or(Value::Null)
}

pub async fn login(base: &str, login: &str) -> String {
    call(
        base,
        None,
        "POST",
        "/api/login",
        json!({"login": login, "password": "pw"}),
    )
    .await["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

/// Creates agent `handle` (password `pw`) in `inboxes`; returns its token.
pub async fn agent(base: &str, admin: &str, handle: &str, inboxes: &[&str]) -> String {
    let body = json!({"handle": handle, "name": handle, "email": format!("{handle}@example.com"), "role": "agent", "password": "pw", "inboxes": inboxes});
    call(base, Some(admin), "POST", "/api/agents", body).await;
    login(base, handle).await
}

pub async fn ticket(base: &str, admin: &str, inbox: &str, subject: &str) -> String {
    let body = json!({"inbox": inbox, "subject": subject, "customer": {"name": "C", "contact": "c@example.com"}, "body": "hello"});
    call(base, Some(admin), "POST", "/api/tickets", body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A session that said hello (and subscribed to `inbox`, if given).
pub async fn socket(base: &str, token: &str, inbox: Option<&str>) -> Socket {
    let url = format!("{}/ws", base.replacen("http", "ws", 1));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("ws");
    send(&mut ws, json!({"type": "hello", "token": token})).await;
    wait_for(&mut ws, "welcome").await;
    if let Some(inbox) = inbox {
        send(&mut ws, json!({"type": "subscribe", "inbox": inbox})).await;
        wait_for(&mut ws, "snapshot").await;
    }
    ws
}

/// A subscribed session that never reads (a tiny receive buffer makes it push
/// back on the server at once): a stuck browser tab.
pub async fn stuck_socket(base: &str, token: &str, inbox: &str) -> Socket {
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let stream = tcp.connect(addr).await.unwrap();
    let url = format!("ws://{addr}/ws");
    let (mut ws, _) =
        tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
    send(&mut ws, json!({"type": "hello", "token": token})).await;
    send(&mut ws, json!({"type": "subscribe", "inbox": inbox})).await;
    ws
}

pub async fn send(ws: &mut Socket, frame: Value) {
    ws.send(Message::text(frame.to_string()))
        .await
        .expect("send");
}

/// Reads until a frame of `kind`; returns it.
pub async fn wait_for(ws: &mut Socket, kind: &str) -> Value {
    while let Some(Ok(msg)) = ws.next().await {
        if let Message::Text(t) = msg {
            let frame: Value = serde_json::from_str(&t).unwrap();
            if frame["type"] == kind {
                return frame;
            }
        }
    }
    panic!("socket ended before a {kind} frame");
}

/// The `p` quantile (0..=1) of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Reads a counter from `/metrics`.
pub async fn metric(base: &str, name: &str) -> f64 {
    let client = awc::Client::default();
    let mut resp = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics");
    let text = String::from_utf8(resp.body().limit(1 << 24).await.unwrap().to_vec()).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}
