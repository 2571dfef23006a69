//! The e-mail channel of issue #17 (docs/protocol.md §9.7) against real mail
//! servers: a Dovecot per test holds the support mailbox and the customers'
//! mailboxes, and an SMTP sink delivers the server's replies into them. One
//! file per behaviour of the contract.

mod attachments;
mod channels;
mod crash;
mod import;
mod noise;
mod outbox;
mod rules;
mod threading;

use std::collections::HashMap;
use std::ops::Deref;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::mail::{Dovecot, SmtpSink, StoredMail, free_port};
use crate::support::*;

/// How long a test waits for mail to travel (IMAP IDLE, SMTP) before failing.
pub const MAIL_WAIT: Duration = Duration::from_secs(10);

/// Fast retries and reconnects, so the tests never wait minutes.
pub const FAST_MAIL: &str = "[mail]\ntimeout_s = 5\nreconnect_min_s = 0.05\nreconnect_max_s = 0.2\nretry_min_s = 0.05\nretry_max_s = 0.2\nmax_attempts = 3\n";

/// The mailboxes of every test: the support address and four customers.
pub const USERS: &[&str] = &["support", "ada", "bob", "carol", "eve"];

/// `user`'s address.
pub fn address(user: &str) -> String {
    format!("{user}@example.test")
}

/// Support with its agents Bianca and Hanna.
pub fn desk() -> Setup {
    Scenario::setup()
        .config(FAST_MAIL)
        .inbox("Support")
        .agent("bianca", &["Support"])
        .agent("hanna", &["Support"])
}

/// A scenario whose inbox Support reads the mailbox `support` of a Dovecot,
/// and sends through an SMTP sink into that Dovecot. Derefs to its [`Scenario`].
pub struct Mail {
    pub d: Scenario,
    pub dovecot: Dovecot,
    pub sink: SmtpSink,
    pub channel: Value,
}

impl Deref for Mail {
    type Target = Scenario;
    fn deref(&self) -> &Scenario {
        &self.d
    }
}

impl Mail {
    /// `None` when Dovecot is missing (the test is skipped, see [`Dovecot::start`]).
    pub async fn start() -> Option<Mail> {
        Mail::start_with(desk(), json!({})).await
    }

    /// Starts `setup` and a channel whose `imap` settings are overridden by `imap`.
    pub async fn start_with(setup: Setup, imap: Value) -> Option<Mail> {
        let dovecot = Dovecot::start(USERS).await?;
        Some(Mail::on(setup.start().await, dovecot, imap).await)
    }

    /// Adds the mail servers' channel to a running scenario.
    pub async fn on(d: Scenario, dovecot: Dovecot, imap: Value) -> Mail {
        let sink = SmtpSink::start(&dovecot).await;
        let body = channel_body(&dovecot, &sink, d.inbox("Support"), imap);
        let resp = d.admin.post("/api/channels", body).await;
        assert_eq!(resp.status, 201, "{}", resp.body);
        let mail = Mail {
            d,
            dovecot,
            sink,
            channel: resp.body,
        };
        mail.wait_connected().await;
        mail
    }

    pub fn channel_id(&self) -> &str {
        self.channel["id"].as_str().unwrap()
    }

    /// Waits until the channel's IMAP connection is up.
    pub async fn wait_connected(&self) -> Value {
        let path = format!("/api/channels/{}", self.channel_id());
        self.eventually(|| async {
            let channel = self.admin.get(&path).await.body;
            channel["status"]["connected"]
                .as_bool()
                .unwrap_or(false)
                .then_some(channel)
        })
        .await
    }

    /// A customer's mail arrives in the support mailbox.
    pub async fn receive(&self, raw: &[u8]) {
        self.dovecot.append("support", "INBOX", raw).await;
    }

    pub async fn eventually<T, F: Future<Output = Option<T>>>(&self, probe: impl Fn() -> F) -> T {
        eventually(probe).await
    }

    /// Every ticket of Support (all views), newest first.
    pub async fn tickets(&self) -> Vec<Value> {
        tickets(&self.admin, self.inbox("Support")).await
    }

    /// Waits for the ticket with this subject.
    pub async fn wait_ticket(&self, subject: &str) -> Value {
        self.eventually(|| async {
            self.tickets()
                .await
                .into_iter()
                .find(|t| t["subject"] == subject)
        })
        .await
    }

    pub async fn detail(&self, ticket: &str) -> Value {
        let resp = self.admin.get(format!("/api/tickets/{ticket}")).await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        resp.body
    }

    /// Waits until `ticket` has `count` messages, and returns them.
    pub async fn wait_messages(&self, ticket: &str, count: usize) -> Vec<Value> {
        self.eventually(|| async {
            let messages = self.detail(ticket).await["messages"]
                .as_array()
                .unwrap()
                .clone();
            (messages.len() >= count).then_some(messages)
        })
        .await
    }

    /// `agent` replies publicly on `ticket`; the stored reply.
    pub async fn reply(&self, agent: &Api, ticket: &str, body: &str) -> Value {
        let resp = agent
            .post(
                format!("/api/tickets/{ticket}/messages"),
                json!({"kind": "reply", "body": body}),
            )
            .await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        resp.body
    }

    /// A tab of `agent` with `ticket` open.
    pub async fn viewer_of(&self, agent: &Api, ticket: &str) -> Ws {
        let (mut ws, _) = Ws::hello(&self.server, agent).await;
        ws.open(ticket, false).await;
        ws
    }

    /// Waits until reply `message` of `ticket` has delivery `state`.
    pub async fn wait_delivery(&self, ticket: &str, message: &str, state: &str) -> Value {
        self.eventually(|| async {
            let messages = self.detail(ticket).await["messages"].clone();
            let reply = messages
                .as_array()?
                .iter()
                .find(|m| m["id"] == message)?
                .clone();
            (reply["delivery"]["state"] == state).then_some(reply)
        })
        .await
    }

    /// Waits for the `count`th mail in `user`'s INBOX.
    pub async fn inbox_of(&self, user: &str, count: usize) -> Vec<StoredMail> {
        self.dovecot
            .wait_messages(user, "INBOX", count, MAIL_WAIT)
            .await
    }

    /// The value of a labelled metric line, e.g. `tandem_mail_imported_total{channel="…"}`.
    pub async fn labelled_metric(&self, name: &str, labels: &str) -> u64 {
        let resp = self.server.anonymous().get("/metrics").await;
        let text = resp.body.as_str().unwrap().to_owned();
        let line = format!("{name}{{{labels}}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&line))
            .map_or(0, |v| v.trim().parse::<f64>().unwrap() as u64)
    }

    /// `GET path` with `agent`'s token: status, headers (lower-case names)
    /// and raw bytes.
    pub async fn fetch(&self, agent: &Api, path: &str) -> (u16, HashMap<String, String>, Vec<u8>) {
        let mut req = awc::Client::new().get(self.server.url(path));
        if let Some(token) = &agent.token {
            req = req.insert_header(("Authorization", format!("Bearer {token}")));
        }
        let mut resp = req.send().await.expect("answered");
        let body = resp.body().limit(64 << 20).await.expect("body");
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        (resp.status().as_u16(), headers, body.to_vec())
    }
}

/// Polls (every 20 ms, for up to [`MAIL_WAIT`]) until `probe` gives a value.
pub async fn eventually<T, F: Future<Output = Option<T>>>(probe: impl Fn() -> F) -> T {
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "nothing came within {MAIL_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every ticket of `inbox` (all views, up to 200), newest first.
pub async fn tickets(admin: &Api, inbox: &str) -> Vec<Value> {
    let resp = admin
        .get(format!("/api/inboxes/{inbox}/tickets?view=all&limit=200"))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.body["tickets"].as_array().unwrap().clone()
}

/// An `email` channel body for the test's servers, `imap` overriding fields.
pub fn channel_body(dovecot: &Dovecot, sink: &SmtpSink, inbox: &str, imap: Value) -> Value {
    let mut imap_settings = json!({
        "host": dovecot.host(), "port": dovecot.imap_port(), "tls": "none",
        "user": "support", "password": dovecot.password("support"),
        "poll_s": 1,
    });
    for (key, value) in imap.as_object().unwrap() {
        imap_settings[key] = value.clone();
    }
    json!({
        "kind": "email", "inbox": inbox, "name": "Support mail",
        "imap": imap_settings,
        "smtp": {"host": sink.host(), "port": sink.port(), "tls": "none",
                 "from_address": address("support"), "from_name": "Shop support"},
    })
}

/// A mail as a customer's client writes it.
#[derive(Clone)]
pub struct Compose {
    pub from: String,
    pub to: String,
    pub cc: Vec<String>,
    pub subject: String,
    pub body: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub headers: Vec<(String, String)>,
}

impl Compose {
    /// A plain mail from `user` to support.
    pub fn from(user: &str, subject: &str, body: &str) -> Compose {
        Compose {
            from: format!("{} <{}>", capitalize(user), address(user)),
            to: address("support"),
            cc: Vec::new(),
            subject: subject.to_owned(),
            body: body.to_owned(),
            message_id: format!("{}@client.example", uuid::Uuid::new_v4()),
            in_reply_to: None,
            references: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn cc(mut self, user: &str) -> Compose {
        self.cc.push(address(user));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Compose {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// An answer to the mail with Message-ID `id` (without brackets).
    pub fn answering(mut self, id: &str) -> Compose {
        self.in_reply_to = Some(id.to_owned());
        self.references.push(id.to_owned());
        self
    }

    pub fn raw(&self) -> Vec<u8> {
        let mut head = format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: Mon, 07 Dec 2026 09:00:00 +0000\r\nMessage-ID: <{}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
            self.from, self.to, self.subject, self.message_id
        );
        if !self.cc.is_empty() {
            head.push_str(&format!("Cc: {}\r\n", self.cc.join(", ")));
        }
        if let Some(id) = &self.in_reply_to {
            head.push_str(&format!("In-Reply-To: <{id}>\r\n"));
        }
        if !self.references.is_empty() {
            let refs: Vec<String> = self.references.iter().map(|r| format!("<{r}>")).collect();
            head.push_str(&format!("References: {}\r\n", refs.join(" ")));
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        format!("{head}\r\n{}\r\n", self.body.replace('\n', "\r\n")).into_bytes()
    }
}

/// The value of header `name` in a raw mail (first occurrence, unfolded).
pub fn header(raw: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next()?;
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// A Message-ID header value without its angle brackets.
pub fn bare(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}
