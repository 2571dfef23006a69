//! The load generator's pieces: lean WebSocket clients (tokio-tungstenite
//! with 4 KiB buffers, optionally bound to 127.0.0.x source addresses), cheap
//! frame inspection without a JSON parse, a REST helper, and microsecond
//! hdrhistograms (one per task, merged at the end).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A latency histogram in microseconds (1 µs to 10 min, 3 significant digits).
pub fn hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds")
}

pub fn record(h: &mut Histogram<u64>, since: std::time::Instant, now: std::time::Instant) {
    let us = now.saturating_duration_since(since).as_micros() as u64;
    h.saturating_record(us.max(1));
}

/// Opens socket number `i` to `addr`. With `spread > 1` it binds source
/// address 127.0.0.(1 + i % spread) first, so more sockets than one address's
/// ephemeral ports can be open at once.
pub async fn connect(addr: SocketAddr, i: usize, spread: usize) -> Ws {
    connect_to(addr, i, spread, "/ws", None).await
}

/// [`connect`] to `path` (`/ws/visitor`), with an `Origin` header if given.
pub async fn connect_to(
    addr: SocketAddr,
    i: usize,
    spread: usize,
    path: &str,
    origin: Option<&str>,
) -> Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::http::HeaderValue;
    let mut last = None;
    for attempt in 0..5 {
        match tokio::time::timeout(Duration::from_secs(10), tcp_connect(addr, spread, i)).await {
            Ok(Ok(stream)) => {
                let config = WebSocketConfig::default()
                    .read_buffer_size(4096)
                    .write_buffer_size(0);
                let mut request = format!("ws://{addr}{path}")
                    .into_client_request()
                    .expect("request");
                if let Some(origin) = origin {
                    request
                        .headers_mut()
                        .insert("Origin", HeaderValue::from_str(origin).expect("origin"));
                }
                match tokio_tungstenite::client_async_with_config(request, stream, Some(config))
                    .await
                {
                    Ok((ws, _)) => return ws,
                    Err(e) => last = Some(e.to_string()),
                }
            }
            Ok(Err(e)) => last = Some(e.to_string()),
            Err(_) => last = Some("connect timeout".into()),
        }
        tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await;
    }
    panic!("socket {i}: {}", last.unwrap_or_default());
}

async fn tcp_connect(
    addr: SocketAddr,
    spread: usize,
    i: usize,
) -> std::io::Result<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpSocket::new_v4()?;
    if spread > 1 {
        tcp.bind(SocketAddr::new(
            Ipv4Addr::new(127, 0, 0, 1 + (i % spread) as u8).into(),
            0,
        ))?;
    }
    let stream = tcp.connect(addr).await?;
    // As browsers do: without it, Nagle's algorithm holds a small frame
    // behind an unacknowledged one until the peer's delayed ACK (~40 ms).
    stream.set_nodelay(true)?;
    Ok(stream)
}

pub async fn send(ws: &mut Ws, text: String) {
    ws.send(Message::text(text)).await.expect("send");
}

/// The next text frame (pings are answered by tungstenite itself), or `None`
/// when the socket ended or nothing came within `timeout`.
pub async fn next_text(ws: &mut Ws, timeout: Duration) -> Option<String> {
    loop {
        match tokio::time::timeout(timeout, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return Some(t.as_str().to_owned()),
            Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) | Err(_) => return None,
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// Reads until a frame of `kind`; panics if the socket ends first.
pub async fn wait_for(ws: &mut Ws, kind: &str) -> String {
    while let Some(text) = next_text(ws, Duration::from_secs(30)).await {
        if frame_type(&text) == kind {
            return text;
        }
    }
    panic!("socket ended before a {kind} frame");
}

/// `hello` with `token`, then `subscribe` to `inbox` if given.
pub async fn session(
    addr: SocketAddr,
    i: usize,
    spread: usize,
    token: &str,
    inbox: Option<&str>,
) -> Ws {
    let mut ws = connect(addr, i, spread).await;
    send(
        &mut ws,
        json!({"type": "hello", "token": token}).to_string(),
    )
    .await;
    wait_for(&mut ws, "welcome").await;
    if let Some(inbox) = inbox {
        send(
            &mut ws,
            json!({"type": "subscribe", "inbox": inbox}).to_string(),
        )
        .await;
        wait_for(&mut ws, "snapshot").await;
    }
    ws
}

/// The value of the first string field `key` (`"key":"value"`), without a JSON parse.
pub fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(i) = text[from..].find(key) {
        let at = from + i;
        let rest = &text[at + key.len()..];
        if at > 0 && text.as_bytes()[at - 1] == b'"' && rest.starts_with("\":\"") {
            let value = &rest[3..];
            return value.find('"').map(|end| &value[..end]);
        }
        from = at + key.len();
    }
    None
}

/// The frame's `type` (Tandem writes it first; the fallback searches).
pub fn frame_type(text: &str) -> &str {
    if let Some(rest) = text.strip_prefix("{\"type\":\"") {
        return rest.split('"').next().unwrap_or("");
    }
    field(text, "type").unwrap_or("")
}

/// CPU seconds (user + system) of this bench process (the generator) so far.
pub fn own_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let Some(close) = stat.rfind(')') else {
        return f64::NAN;
    };
    let f: Vec<&str> = stat[close + 2..].split(' ').collect();
    let ticks = f
        .get(11)
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
        + f.get(12)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN);
    ticks / 100.0
}

/// The id of the agent in the frame's `change` (presence frames).
pub fn change_agent(text: &str) -> Option<&str> {
    let change = &text[text.find("\"change\":")?..];
    field(change, "id")
}

/// The id of the claim holder in a presence frame, `None` when free.
pub fn claim_holder(text: &str) -> Option<&str> {
    let claim = &text[text.find("\"claim\":")? + 8..];
    if claim.starts_with("null") {
        None
    } else {
        field(claim, "id")
    }
}

/// `(status, JSON body)` of one REST call, with a fresh client.
pub async fn rest(
    base: &str,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .finish();
    rest_with(&client, base, token, method, path, body).await
}

/// `(status, JSON body)` of one REST call on `client` (keeps its connection).
pub async fn rest_with(
    client: &awc::Client,
    base: &str,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let mut req = client.request(method.parse().unwrap(), format!("{base}{path}"));
    if let Some(t) = token {
        req = req.insert_header(("Authorization", format!("Bearer {t}")));
    }
    let mut resp = req.send_json(&body).await.expect("request");
    let status = resp.status().as_u16();
    let bytes = resp.body().limit(1 << 26).await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Source addresses to spread `sockets` over: `requested`, or one per 20,000.
pub fn spread(requested: usize, sockets: usize) -> usize {
    if requested > 0 {
        requested
    } else {
        1 + sockets / 20_000
    }
}
