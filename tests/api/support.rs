//! Test helpers: a real server on port 0 with a fresh data directory (in its
//! own thread and actix System, like a separate process), a small REST client
//! and a WebSocket client, and the [`Scenario`] fixture built on them, so
//! each test reads like a scenario.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tandem::app::{App, ShutdownHandle};
use tandem::bootstrap::Bootstrap;
use tandem::config::{Config, Overrides};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

pub mod mail;
mod scenario;
mod visitor;
pub use scenario::{Scenario, Setup};
pub use visitor::*;

pub const ADMIN_PASSWORD: &str = "admin-secret";
/// How long a test waits for a frame it expects before failing.
pub const FRAME_WAIT: Duration = Duration::from_secs(5);

pub struct TestServer {
    pub addr: std::net::SocketAddr,
    pub dir: PathBuf,
    _tempdir: Option<tempfile::TempDir>,
    shutdown: ShutdownHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// A server with the bootstrap admin `admin` and fast test timings.
    pub async fn start() -> TestServer {
        TestServer::start_with("").await
    }

    /// Like [`start`], with extra TOML layered over the test config: its bare
    /// keys are `[ws]`'s; it may open any other table, `[server]` included.
    pub async fn start_with(extra: &str) -> TestServer {
        let tempdir = tempfile::tempdir().expect("temp dir");
        let dir = tempdir.path().to_owned();
        let mut server = TestServer::start_in(&dir, extra)
            .await
            .expect("server starts");
        server._tempdir = Some(tempdir);
        server
    }

    /// Starts a server on an existing data directory (for restart tests).
    pub async fn start_in(dir: &Path, extra: &str) -> Result<TestServer, String> {
        TestServer::start_at(dir, "127.0.0.1:0", extra).await
    }

    /// Starts a server on `dir` listening on `bind` (a restart on the same address).
    pub async fn start_at(dir: &Path, bind: &str, extra: &str) -> Result<TestServer, String> {
        // Fast heartbeats unless the test sets its own.
        let heartbeat = if extra.contains("heartbeat_s") {
            ""
        } else {
            "heartbeat_s = 0.5\n"
        };
        // `extra` comes last, so its bare keys are [ws]'s. TOML opens a
        // table once: when `extra` opens [server], the workers go under it.
        let workers = "workers = 2\n";
        let (server, extra) = match extra.split_once("[server]\n") {
            Some((before, after)) => (String::new(), format!("{before}[server]\n{workers}{after}")),
            None => (format!("[server]\n{workers}"), extra.to_owned()),
        };
        let config_text = format!("{server}[ws]\n{heartbeat}hello_timeout_s = 1\n{extra}");
        let overrides = Overrides {
            bind: Some(bind.into()),
            data_dir: Some(dir.to_owned()),
        };
        let config =
            Config::load(None, Some(&config_text), &overrides).map_err(|e| e.to_string())?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let bootstrap = Bootstrap {
                    demo: false,
                    admin: Some(format!("admin:{ADMIN_PASSWORD}")),
                };
                match App::build(config, bootstrap).await {
                    Ok(server) => {
                        let _ = tx.send(Ok((server.addr(), server.shutdown_handle())));
                        server.run().await.expect("server runs");
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            });
        });
        let (addr, shutdown) = rx.await.map_err(|_| "server thread died".to_string())??;
        Ok(TestServer {
            addr,
            dir: dir.to_owned(),
            _tempdir: None,
            shutdown,
            thread: Some(thread),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn anonymous(&self) -> Api {
        Api {
            base: self.url(""),
            token: None,
            id: String::new(),
        }
    }

    pub async fn login(&self, login: &str, password: &str) -> Api {
        let resp = self
            .anonymous()
            .post("/api/login", json!({"login": login, "password": password}))
            .await;
        assert_eq!(resp.status, 200, "login {login}: {}", resp.body);
        Api {
            base: self.url(""),
            token: Some(resp.body["token"].as_str().unwrap().to_owned()),
            id: resp.body["agent"]["id"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn admin(&self) -> Api {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// Creates an agent (password `pw`) through the admin API and logs it in.
    pub async fn agent(&self, admin: &Api, handle: &str, role: &str, inboxes: &[&str]) -> Api {
        let body = json!({
            "handle": handle, "name": capitalize(handle), "email": format!("{handle}@example.com"),
            "role": role, "password": "pw", "inboxes": inboxes,
        });
        let resp = admin.post("/api/agents", body).await;
        assert_eq!(resp.status, 200, "create {handle}: {}", resp.body);
        self.login(handle, "pw").await
    }

    /// The value of the metric `name` (see [`Api::metric`]).
    pub async fn metric(&self, name: &str) -> u64 {
        self.anonymous().metric(name).await
    }

    /// Stops the server (as SIGTERM would) and waits until its files are released.
    pub fn stop(mut self) {
        self.shutdown.shutdown();
        if let Some(thread) = self.thread.take() {
            thread.join().expect("server thread");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
}

impl Resp {
    /// The error code of an error response.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// The numbers of the tickets in a ticket list or page (its `tickets`), in order.
pub fn numbers(list: &Value) -> Vec<u64> {
    list["tickets"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .map(|t| t["number"].as_u64().unwrap())
        .collect()
}

/// A REST client acting as one agent (or nobody).
#[derive(Clone)]
pub struct Api {
    base: String,
    pub token: Option<String>,
    /// The agent's id.
    pub id: String,
}

impl Api {
    /// An anonymous client for a server at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn at(base: &str) -> Api {
        Api {
            base: base.to_owned(),
            token: None,
            id: String::new(),
        }
    }

    /// The same agent and token, talking to `server` (e.g. after a restart).
    pub fn on(&self, server: &TestServer) -> Api {
        Api {
            base: server.url(""),
            token: self.token.clone(),
            id: self.id.clone(),
        }
    }

    pub fn with_token(&self, token: &str) -> Api {
        Api {
            base: self.base.clone(),
            token: Some(token.to_owned()),
            id: self.id.clone(),
        }
    }

    async fn send(&self, method: awc::http::Method, path: &str, body: Option<Value>) -> Resp {
        self.try_send(method, path, body)
            .await
            .expect("request sent and answered")
    }

    /// Sends a request; a transport failure (no connection, or the server
    /// died before answering) is an `Err` instead of a panic, for tests that
    /// kill the server while requests are in flight.
    pub async fn try_send(
        &self,
        method: awc::http::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Resp, String> {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .finish();
        let mut req = client.request(method, format!("{}{}", self.base, path));
        if let Some(token) = &self.token {
            req = req.insert_header(("Authorization", format!("Bearer {token}")));
        }
        let mut resp = match body {
            Some(body) => req.send_json(&body).await,
            None => req.send().await,
        }
        .map_err(|e| format!("request not answered: {e}"))?;
        let bytes = resp
            .body()
            .limit(64 << 20)
            .await
            .map_err(|e| format!("body not read: {e}"))?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Ok(Resp {
            status: resp.status().as_u16(),
            body,
        })
    }

    pub async fn get(&self, path: impl AsRef<str>) -> Resp {
        self.send(awc::http::Method::GET, path.as_ref(), None).await
    }

    pub async fn post(&self, path: impl AsRef<str>, body: Value) -> Resp {
        self.send(awc::http::Method::POST, path.as_ref(), Some(body))
            .await
    }

    pub async fn patch(&self, path: impl AsRef<str>, body: Value) -> Resp {
        self.send(awc::http::Method::PATCH, path.as_ref(), Some(body))
            .await
    }

    pub async fn put(&self, path: impl AsRef<str>) -> Resp {
        self.send(awc::http::Method::PUT, path.as_ref(), None).await
    }

    pub async fn delete(&self, path: impl AsRef<str>) -> Resp {
        self.send(awc::http::Method::DELETE, path.as_ref(), None)
            .await
    }

    /// The value of the metric `name` (its full name, e.g. `tandem_sessions`)
    /// in `/metrics`, which needs no token.
    pub async fn metric(&self, name: &str) -> u64 {
        let text = self.get("/metrics").await.body.as_str().unwrap().to_owned();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no metric {name}"))
            .trim()
            .parse()
            .unwrap()
    }

    pub async fn create_inbox(&self, name: &str) -> String {
        let resp = self.post("/api/inboxes", json!({"name": name})).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        resp.body["id"].as_str().unwrap().to_owned()
    }

    /// Creates a ticket (caller must be an admin); returns the Ticket object.
    pub async fn create_ticket(&self, inbox: &str, subject: &str) -> Value {
        let body = json!({
            "inbox": inbox, "subject": subject,
            "customer": {"name": "Carla Customer", "contact": "carla@example.com"},
            "body": format!("Help with {subject}"),
        });
        let resp = self.post("/api/tickets", body).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        resp.body
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket client (one browser tab).
pub struct Ws {
    pub socket: Socket,
}

impl Ws {
    /// Connects without saying anything.
    pub async fn connect(server: &TestServer) -> Ws {
        Ws::connect_url(&server.ws_url()).await
    }

    pub async fn connect_url(url: &str) -> Ws {
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connect");
        Ws { socket }
    }

    /// Connects and says hello; returns the socket and the `welcome` frame.
    pub async fn hello(server: &TestServer, api: &Api) -> (Ws, Value) {
        let mut ws = Ws::connect(server).await;
        ws.send(json!({"type": "hello", "token": api.token})).await;
        let welcome = ws.recv().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        (ws, welcome)
    }

    pub async fn send(&mut self, frame: Value) {
        self.socket
            .send(Message::text(frame.to_string()))
            .await
            .expect("ws send");
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.socket.send(message).await.expect("ws send");
    }

    /// The next data frame as JSON (control frames skipped); fails after [`FRAME_WAIT`].
    pub async fn recv(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + FRAME_WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("a frame in time");
            match next.expect("socket open").expect("frame") {
                Message::Text(text) => return serde_json::from_str(&text).expect("JSON frame"),
                Message::Close(close) => panic!("socket closed: {close:?}"),
                _ => continue,
            }
        }
    }

    /// Skips frames until one of type `kind` arrives.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        let deadline = tokio::time::Instant::now() + FRAME_WAIT;
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {kind} frame in time"
            );
            let frame = self.recv().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Skips frames until a `presence` frame of change kind `kind` arrives.
    pub async fn presence(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.recv_type("presence").await;
            if frame["change"]["kind"] == kind {
                return frame;
            }
        }
    }

    /// Subscribes to `inbox`; returns the snapshot.
    pub async fn subscribe(&mut self, inbox: &str) -> Value {
        self.send(json!({"type": "subscribe", "inbox": inbox}))
            .await;
        self.recv_type("snapshot").await
    }

    /// Opens `ticket`; returns the `opened` frame.
    pub async fn open(&mut self, ticket: &str, take_over: bool) -> Value {
        self.send(json!({"type": "open", "ticket": ticket, "take_over": take_over}))
            .await;
        self.recv_type("opened").await
    }

    /// Round-trips a ping: every frame the server queued before it has arrived.
    pub async fn sync(&mut self) -> Vec<Value> {
        self.send(json!({"type": "ping", "ref": "sync"})).await;
        let mut before = Vec::new();
        loop {
            let frame = self.recv().await;
            if frame["type"] == "pong" && frame["ref"] == "sync" {
                return before;
            }
            before.push(frame);
        }
    }

    /// Asserts that no data frame arrives within `wait`.
    pub async fn silent_for(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(next) = tokio::time::timeout_at(deadline, self.socket.next()).await {
            if let Some(Ok(Message::Text(text))) = next {
                panic!("unexpected frame: {text}");
            }
        }
    }

    /// Waits for the server to close the socket; returns the close code.
    pub async fn closed(&mut self) -> u16 {
        let deadline = tokio::time::Instant::now() + FRAME_WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("close in time");
            match next {
                Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
                Some(Ok(Message::Close(None))) => return u16::from(CloseCode::Status),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("socket error before close: {e}"),
                None => panic!("socket ended without a close frame"),
            }
        }
    }
}

/// An RFC 3339 time `ms` milliseconds from now (a scheduled reply's `send_at`).
pub fn in_ms(ms: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::milliseconds(ms);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// A WebSocket client written by hand on a raw TCP stream, for behaviour a
/// library client will not show: it never answers pings (a frozen browser).
pub struct RawWs {
    pub stream: tokio::net::TcpStream,
}

impl RawWs {
    pub async fn connect(server: &TestServer) -> RawWs {
        RawWs::connect_to(server.addr, None).await
    }

    /// Connects to `addr`, optionally with a small receive buffer (a client
    /// that stops reading then pushes back on the server almost at once).
    pub async fn connect_to(addr: std::net::SocketAddr, receive_buffer: Option<u32>) -> RawWs {
        RawWs::upgrade(addr, "/ws", None, receive_buffer).await
    }

    /// Upgrades `path` on `addr` (with an `Origin` header if given); the
    /// server must answer 101.
    pub async fn upgrade(
        addr: std::net::SocketAddr,
        path: &str,
        origin: Option<&str>,
        receive_buffer: Option<u32>,
    ) -> RawWs {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        if let Some(size) = receive_buffer {
            socket.set_recv_buffer_size(size).unwrap();
        }
        let mut stream = socket.connect(addr).await.expect("tcp connect");
        let origin = origin
            .map(|o| format!("Origin: {o}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{origin}Upgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            stream
                .read_exact(&mut byte)
                .await
                .expect("handshake response");
            head.push(byte[0]);
        }
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&head)
        );
        RawWs { stream }
    }

    /// Sends one masked text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.send_frame(true, 0x1, text.as_bytes()).await;
    }

    /// Sends one masked frame: `opcode` 0x0 continuation, 0x1 text, 0x9 ping.
    pub async fn send_frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        use tokio::io::AsyncWriteExt;
        let frame = Self::masked(fin, opcode, payload);
        self.stream.write_all(&frame).await.unwrap();
    }

    /// The bytes of one masked frame.
    pub fn masked(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [1u8, 2, 3, 4];
        let mut frame = Self::header(fin, opcode, payload.len() as u64);
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        frame
    }

    /// Sends only the header of a masked frame announcing `len` payload bytes.
    pub async fn announce(&mut self, opcode: u8, len: u64) {
        use tokio::io::AsyncWriteExt;
        let mut head = Self::header(true, opcode, len);
        head.extend_from_slice(&[1, 2, 3, 4]);
        self.stream.write_all(&head).await.unwrap();
    }

    fn header(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
        let mut head = vec![if fin { 0x80 } else { 0 } | opcode];
        match len {
            0..126 => head.push(0x80 | len as u8),
            126..65536 => {
                head.push(0x80 | 126);
                head.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                head.push(0x80 | 127);
                head.extend_from_slice(&len.to_be_bytes());
            }
        }
        head
    }

    /// Reads (without answering anything) until the server's close frame; its code.
    pub async fn close_code(&mut self) -> u16 {
        self.close_code_or_end()
            .await
            .expect("a close frame before the connection ended")
    }

    /// Reads until the server's close frame (its code), or the connection's
    /// end without one (`None`: a client too far behind never gets to it).
    pub async fn close_code_or_end(&mut self) -> Option<u16> {
        use tokio::io::AsyncReadExt;
        let deadline = tokio::time::Instant::now() + FRAME_WAIT;
        loop {
            let mut head = [0u8; 2];
            let read = tokio::time::timeout_at(deadline, self.stream.read_exact(&mut head)).await;
            if read.expect("close in time").is_err() {
                return None;
            }
            let len = match head[1] & 0x7f {
                126 => {
                    let mut ext = [0u8; 2];
                    self.stream.read_exact(&mut ext).await.ok()?;
                    u16::from_be_bytes(ext) as usize
                }
                127 => panic!("unexpectedly large frame"),
                n => n as usize,
            };
            let mut payload = vec![0u8; len];
            self.stream.read_exact(&mut payload).await.ok()?;
            if head[0] & 0x0f == 0x8 {
                return Some(u16::from_be_bytes([payload[0], payload[1]]));
            }
        }
    }
}
