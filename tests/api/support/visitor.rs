//! The customer side of the chat channel (docs/protocol.md part 9): chat
//! channels made by the admin, identity hashes, and a visitor's browser tab
//! on `GET /ws/visitor`, which speaks the visitor frame set.

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::{Api, Resp, TestServer, Ws};

/// The shop whose pages embed the widget: the origin the test channels allow.
pub const SHOP: &str = "https://shop.example";

/// The lower-case hex HMAC-SHA256 of `identifier`, keyed with the channel's
/// `secret` (its 64 hex digits as text, as `openssl dgst -hmac` takes it).
pub fn identifier_hash(secret: &str, identifier: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(identifier.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A chat channel as the admin created it.
#[derive(Clone, Debug)]
pub struct Channel {
    pub id: String,
    pub key: String,
    pub secret: String,
    /// The Channel object of the answer.
    pub json: Value,
}

impl Channel {
    pub fn from_json(json: Value) -> Channel {
        let text = |field: &str| {
            json[field]
                .as_str()
                .unwrap_or_else(|| panic!("channel without {field}: {json}"))
                .to_owned()
        };
        Channel {
            id: text("id"),
            key: text("key"),
            secret: text("secret"),
            json: json.clone(),
        }
    }

    /// The REST path of the channel followed by `tail`.
    pub fn path(&self, tail: &str) -> String {
        format!("/api/channels/{}{tail}", self.id)
    }

    /// A first hello for this channel from the shop, as a new anonymous visitor.
    pub fn hello(&self) -> Hello {
        Hello::new(&self.key)
    }

    /// A verified identity for `identifier`, signed with the channel's secret.
    pub fn identity(&self, identifier: &str, name: Option<&str>, email: Option<&str>) -> Value {
        json!({
            "identifier": identifier, "name": name, "email": email,
            "identifier_hash": identifier_hash(&self.secret, identifier),
        })
    }
}

impl Api {
    /// `POST /api/channels` with `body`, as is.
    pub async fn create_channel(&self, body: Value) -> Resp {
        self.post("/api/channels", body).await
    }

    /// A chat channel `name` feeding `inbox`, for pages of [`SHOP`].
    pub async fn chat_channel(&self, inbox: &str, name: &str) -> Channel {
        let body = json!({
            "kind": "chat", "inbox": inbox, "name": name, "allowed_origins": [SHOP],
        });
        let resp = self.create_channel(body).await;
        assert_eq!(resp.status, 201, "create channel {name}: {}", resp.body);
        Channel::from_json(resp.body)
    }

    /// The tickets of the chat visitor `visitor` in `inbox`, as this agent
    /// lists them (view `all`: archived and deleted ones are not there),
    /// newest activity first.
    pub async fn visitor_tickets(&self, inbox: &str, visitor: &str) -> Vec<Value> {
        let list = self
            .get(format!("/api/inboxes/{inbox}/tickets?view=all&limit=200"))
            .await;
        assert_eq!(list.status, 200, "{}", list.body);
        list.body["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["channel"]["visitor"] == visitor)
            .cloned()
            .collect()
    }
}

/// The visitor socket's URL.
pub fn visitor_url(server: &TestServer) -> String {
    format!("ws://{}/ws/visitor", server.addr)
}

/// The server's own origin (pages it serves itself, such as the demo shop).
pub fn own_origin(server: &TestServer) -> String {
    format!("http://{}", server.addr)
}

/// Opens a visitor socket sending `origin` (`None`: no `Origin` header);
/// a refused upgrade is `Err` with its HTTP status.
pub async fn upgrade(server: &TestServer, origin: Option<&str>) -> Result<Ws, u16> {
    let mut request = visitor_url(server).into_client_request().unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("Origin", origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(Ws { socket }),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("visitor upgrade failed: {e}"),
    }
}

/// A `hello` frame and the origin of the page that sends it.
#[derive(Clone, Debug)]
pub struct Hello {
    pub origin: Option<String>,
    pub frame: Value,
}

impl Hello {
    /// An anonymous first hello for the channel `key`, from [`SHOP`].
    pub fn new(key: &str) -> Hello {
        Hello {
            origin: Some(SHOP.to_owned()),
            frame: json!({
                "type": "hello", "channel": key, "visitor_token": null, "identity": null,
                "last_message": null, "ref": "hello",
            }),
        }
    }

    pub fn token(mut self, token: &str) -> Hello {
        self.frame["visitor_token"] = json!(token);
        self
    }

    pub fn identity(mut self, identity: Value) -> Hello {
        self.frame["identity"] = identity;
        self
    }

    pub fn last_message(mut self, message: &str) -> Hello {
        self.frame["last_message"] = json!(message);
        self
    }

    pub fn hidden(mut self, hidden: bool) -> Hello {
        self.frame["hidden"] = json!(hidden);
        self
    }

    /// The page's origin (`None`: the upgrade carries no `Origin`).
    pub fn origin(mut self, origin: Option<&str>) -> Hello {
        self.origin = origin.map(str::to_owned);
        self
    }
}

/// The frames a visitor socket may carry (§9.6 "Server frames"): never an
/// agent frame.
pub const VISITOR_FRAMES: [&str; 9] = [
    "welcome",
    "message",
    "typing",
    "availability",
    "read",
    "conversation",
    "contact",
    "pong",
    "error",
];

/// Reads the next frame of a visitor socket, checking it is a visitor frame.
async fn visitor_recv(ws: &mut Ws) -> Value {
    let frame = ws.recv().await;
    assert!(
        frame["type"]
            .as_str()
            .is_some_and(|t| VISITOR_FRAMES.contains(&t)),
        "not a visitor frame: {frame}"
    );
    frame
}

/// One browser tab of a visitor: a welcomed visitor socket. It derefs to
/// its [`Ws`] for sending and for waiting for the close.
///
/// Its own `recv_type`, `answer` and `message` take the first frame that
/// matches and keep the frames they skip for later reads, so a test can
/// wait for frames in any order; `sync` and `silent_for` see those kept
/// frames too.
pub struct Visitor {
    pub ws: Ws,
    pub welcome: Value,
    held: VecDeque<Value>,
}

impl Deref for Visitor {
    type Target = Ws;
    fn deref(&self) -> &Ws {
        &self.ws
    }
}

impl DerefMut for Visitor {
    fn deref_mut(&mut self) -> &mut Ws {
        &mut self.ws
    }
}

impl Visitor {
    /// Opens a socket from the hello's origin and says hello; panics unless
    /// the answer is a `welcome` echoing the hello's `ref`.
    pub async fn join(server: &TestServer, hello: &Hello) -> Visitor {
        let mut ws = upgrade(server, hello.origin.as_deref())
            .await
            .unwrap_or_else(|status| panic!("visitor upgrade refused with {status}"));
        ws.send(hello.frame.clone()).await;
        let welcome = ws.recv().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        assert_eq!(welcome["ref"], hello.frame["ref"], "{welcome}");
        Visitor {
            ws,
            welcome,
            held: VecDeque::new(),
        }
    }

    /// Opens a socket from the hello's origin and says hello, expecting the
    /// server to close it; the close code.
    pub async fn refused(server: &TestServer, hello: &Hello) -> u16 {
        let mut ws = upgrade(server, hello.origin.as_deref())
            .await
            .unwrap_or_else(|status| panic!("visitor upgrade refused with {status}"));
        ws.send(hello.frame.clone()).await;
        ws.closed().await
    }

    /// The visitor's id.
    pub fn id(&self) -> &str {
        self.welcome["visitor"]["id"].as_str().expect("visitor id")
    }

    /// The visitor's name (e.g. "Visitor 4821").
    pub fn name(&self) -> &str {
        self.welcome["visitor"]["name"]
            .as_str()
            .expect("visitor name")
    }

    /// The token the widget keeps for the next hello.
    pub fn token(&self) -> &str {
        self.welcome["visitor_token"]
            .as_str()
            .expect("visitor token")
    }

    /// The welcome's conversations, newest first.
    pub fn conversations(&self) -> &[Value] {
        self.welcome["conversations"]
            .as_array()
            .expect("conversations")
    }

    /// Sends `body` as a message with `client_id` (its `ref` is
    /// `m-CLIENT_ID`) and waits for the answer, the `message` frame with
    /// that `ref`.
    pub async fn say(&mut self, body: &str, client_id: &str) -> Value {
        let reference = format!("m-{client_id}");
        self.send(
            json!({"type": "message", "body": body, "client_id": client_id, "ref": reference}),
        )
        .await;
        let answer = self.answer(&reference).await;
        assert_eq!(answer["type"], "message", "{answer}");
        assert_eq!(answer["message"]["client_id"], client_id, "{answer}");
        answer
    }

    /// The next frame (a kept one first).
    pub async fn recv(&mut self) -> Value {
        match self.held.pop_front() {
            Some(frame) => frame,
            None => visitor_recv(&mut self.ws).await,
        }
    }

    /// The first frame for which `pred` holds, kept or new; the frames
    /// skipped on the way are kept. Fails after [`super::FRAME_WAIT`].
    pub async fn take(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.held.iter().position(&pred) {
            return self.held.remove(i).unwrap();
        }
        let deadline = tokio::time::Instant::now() + super::FRAME_WAIT;
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {what} in time; got {:?}",
                self.held
            );
            let frame = visitor_recv(&mut self.ws).await;
            if pred(&frame) {
                return frame;
            }
            self.held.push_back(frame);
        }
    }

    /// The first frame of type `kind`.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        self.take(&format!("{kind} frame"), |f| f["type"] == kind)
            .await
    }

    /// The frame with `ref` `reference`.
    pub async fn answer(&mut self, reference: &str) -> Value {
        self.take(&format!("answer to {reference}"), |f| f["ref"] == reference)
            .await
    }

    /// The `message` frame carrying the message `id`.
    pub async fn message(&mut self, id: &str) -> Value {
        self.take(&format!("message {id}"), |f| {
            f["type"] == "message" && f["message"]["id"] == id
        })
        .await
    }

    /// Round-trips a ping; every frame that arrived before its `pong`,
    /// kept ones first (and nothing is kept after it).
    pub async fn sync(&mut self) -> Vec<Value> {
        let mut before: Vec<Value> = self.held.drain(..).collect();
        let new = self.ws.sync().await;
        for frame in &new {
            assert!(
                frame["type"]
                    .as_str()
                    .is_some_and(|t| VISITOR_FRAMES.contains(&t)),
                "not a visitor frame: {frame}"
            );
        }
        before.extend(new);
        before
    }

    /// Asserts that no frame is kept and none arrives within `wait`.
    pub async fn silent_for(&mut self, wait: std::time::Duration) {
        assert!(self.held.is_empty(), "unexpected frames: {:?}", self.held);
        self.ws.silent_for(wait).await;
    }
}

impl Ws {
    /// The next data frame as JSON, or the close code if the server closes
    /// the socket first; fails after [`super::FRAME_WAIT`].
    pub async fn recv_or_close(&mut self) -> Result<Value, u16> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + super::FRAME_WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .expect("a frame or a close in time");
            match next {
                Some(Ok(Message::Text(text))) => {
                    return Ok(serde_json::from_str(&text).expect("JSON frame"));
                }
                Some(Ok(Message::Close(Some(frame)))) => return Err(u16::from(frame.code)),
                Some(Ok(Message::Close(None))) => return Err(1005),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("socket error before a frame or close: {e}"),
                None => panic!("socket ended without a close frame"),
            }
        }
    }
}

/// The `message.id` of a visitor `message` frame.
pub fn message_id(frame: &Value) -> &str {
    frame["message"]["id"].as_str().expect("message id")
}

/// The `conversation` of a visitor frame.
pub fn conversation(frame: &Value) -> &str {
    frame["conversation"].as_str().expect("conversation id")
}

/// A raw visitor socket from `origin` that never answers pings (a frozen
/// browser tab); see [`super::RawWs`].
pub async fn raw_visitor(server: &TestServer, origin: &str) -> super::RawWs {
    super::RawWs::upgrade(server.addr, "/ws/visitor", Some(origin), None).await
}

/// The keys of a JSON object, sorted.
pub fn keys(object: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = object
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {object}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// The fields of a VisitorMessage (§9.6), sorted.
pub const VISITOR_MESSAGE_KEYS: [&str; 7] = [
    "author",
    "body",
    "client_id",
    "created_at",
    "id",
    "kind",
    "signature",
];
