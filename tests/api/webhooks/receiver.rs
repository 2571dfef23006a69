//! A webhook receiver for the tests: an actix-web server on a free loopback
//! port that records every delivery and answers as the test scripts it.
//! Signatures are checked with `openssl dgst` (independent of the server's
//! HMAC code).

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::Value;
use tokio::sync::Notify;

/// How long a test waits for deliveries it expects.
pub const DELIVERY_WAIT: Duration = Duration::from_secs(10);

/// A rule's "status" that answers nothing: the request is held (until the
/// test ends), as a receiver that hangs.
pub const HOLD: u16 = 0;

/// One request the receiver got, and what it answered.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub json: Value,
    pub answered: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    pub fn event(&self) -> &str {
        self.json["type"].as_str().unwrap_or("")
    }

    pub fn subject(&self) -> &str {
        self.json["data"]["ticket"]["subject"]
            .as_str()
            .unwrap_or("")
    }
}

#[derive(Default)]
struct State {
    got: Mutex<Vec<Received>>,
    /// (text in the path or body, status, how many more times) answered
    /// instead of 200; the newest rule first.
    rules: Mutex<Vec<(String, u16, usize)>>,
    arrived: Notify,
}

pub struct Receiver {
    pub port: u16,
    state: Arc<State>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let state = Arc::new(State::default());
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .expect("receiver binds");
        let port = server.addrs()[0].port();
        // Runs until the test's runtime ends.
        actix_web::rt::spawn(server.run());
        Receiver { port, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Answers `status` to the next `times` requests whose path or body
    /// contains `text` (over earlier rules).
    pub fn answer(&self, text: &str, status: u16, times: usize) {
        let mut rules = self.state.rules.lock().unwrap();
        rules.insert(0, (text.to_owned(), status, times));
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.got.lock().unwrap().clone()
    }

    /// Waits until `done` holds for what was received (at most [`DELIVERY_WAIT`]).
    pub async fn until(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + DELIVERY_WAIT;
        loop {
            let arrived = self.state.arrived.notified();
            let got = self.received();
            if done(&got) {
                return got;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if tokio::time::timeout(left, arrived).await.is_err() {
                panic!(
                    "timed out waiting for {what}; received: {:#?}",
                    self.received()
                );
            }
        }
    }

    /// Waits for at least `n` 2xx-answered deliveries; all received.
    pub async fn until_accepted(&self, n: usize) -> Vec<Received> {
        self.until(&format!("{n} accepted deliveries"), |got| {
            accepted(got).len() >= n
        })
        .await
    }
}

/// The deliveries answered 2xx, in arrival order.
pub fn accepted(got: &[Received]) -> Vec<Received> {
    got.iter()
        .filter(|r| (200..300).contains(&r.answered))
        .cloned()
        .collect()
}

async fn receive(state: web::Data<State>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let body = String::from_utf8(body.to_vec()).expect("a UTF-8 body");
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let path = req.path().to_owned();
    let answered = {
        let mut rules = state.rules.lock().unwrap();
        let matches = |text: &str| path.contains(text) || body.contains(text);
        match rules
            .iter_mut()
            .find(|(text, _, left)| *left > 0 && matches(text))
        {
            Some((_, status, left)) => {
                *left -= 1;
                *status
            }
            None => 200,
        }
    };
    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
    state.got.lock().unwrap().push(Received {
        path,
        headers,
        body,
        json,
        answered,
    });
    state.arrived.notify_waiters();
    if answered == HOLD {
        std::future::pending::<()>().await;
    }
    HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).unwrap()).finish()
}

/// Checks `Tandem-Signature` of `r` with `openssl dgst -hmac`.
pub fn verify_signature(r: &Received, secret: &str) {
    let signature = r.header("tandem-signature");
    let (t, v1) = signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .unwrap_or_else(|| panic!("malformed Tandem-Signature: {signature}"));
    let mut openssl = Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", secret])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl runs");
    let mut stdin = openssl.stdin.take().unwrap();
    stdin
        .write_all(format!("{t}.{}", r.body).as_bytes())
        .unwrap();
    drop(stdin);
    let out = openssl.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let expected = text.trim().rsplit(' ').next().unwrap();
    assert_eq!(v1, expected, "signature of {}", r.body);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let t: i64 = t.parse().unwrap();
    assert!((now - t).abs() < 60, "a current timestamp: {t}");
}
