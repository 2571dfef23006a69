//! Request ids (protocol.md §6.1 "Request ids"): every response carries
//! `x-request-id`, a valid one from a proxy is kept, and the id is the one the
//! server logs under. Logs are read from the real binary's stderr, or from a
//! subscriber of this test's own thread: nothing global is installed, so the
//! other tests of this process neither write into these logs nor pay for them.

use std::io::Write;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, test, web};
use serde_json::json;
use tandem::error::Error;
use tandem::http::trace::{RequestSpan, echo_request_id};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tracing_actix_web::TracingLogger;

use crate::process::Process;
use crate::support::*;

/// `GET path` with `x-request-id: given` (if any): the status and the response's `x-request-id`.
async fn request_id(base: &str, path: &str, given: Option<&str>) -> (u16, String) {
    let mut request = awc::Client::default().get(format!("{base}{path}"));
    if let Some(given) = given {
        request = request.insert_header(("x-request-id", given));
    }
    let response = request.send().await.expect("answered");
    let id = response
        .headers()
        .get("x-request-id")
        .expect("every response has an x-request-id")
        .to_str()
        .unwrap()
        .to_owned();
    (response.status().as_u16(), id)
}

fn is_fresh(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|id| id.get_version_num() == 7)
}

#[actix_web::test]
async fn every_response_has_a_fresh_id_unless_a_valid_one_was_given() {
    let server = TestServer::start().await;
    let base = server.url("");
    let (status, first) = request_id(&base, "/healthz", None).await;
    assert_eq!(status, 200);
    let (_, second) = request_id(&base, "/healthz", None).await;
    assert!(is_fresh(&first) && is_fresh(&second), "{first} {second}");
    assert_ne!(first, second);
    // Refusals and unknown routes have one too.
    let (status, refused) = request_id(&base, "/api/me", None).await;
    assert_eq!(status, 401);
    assert!(is_fresh(&refused), "{refused}");
    let (status, _) = request_id(&base, "/nowhere", Some("edge-7")).await;
    assert_eq!(status, 404);

    for given in ["edge-7", "Root=1", "0192f3a4-7b1c-7d2e-8f00-1234567890ab"] {
        let (_, id) = request_id(&base, "/healthz", Some(given)).await;
        let valid = !given.contains('=');
        assert_eq!(id == given, valid, "{given} -> {id}");
    }
    let longest = "a".repeat(64);
    assert_eq!(
        request_id(&base, "/healthz", Some(&longest)).await.1,
        longest
    );
    for invalid in ["a".repeat(65), "two words".into(), "x\"y".into(), "".into()] {
        let (_, id) = request_id(&base, "/healthz", Some(&invalid)).await;
        assert!(is_fresh(&id), "{invalid:?} was not replaced: {id}");
    }
}

#[actix_web::test]
async fn the_websocket_upgrade_has_an_id_too() {
    let server = TestServer::start().await;
    let mut upgrade = server.ws_url().into_client_request().unwrap();
    upgrade
        .headers_mut()
        .insert("x-request-id", "tab-1".parse().unwrap());
    let (_, response) = tokio_tungstenite::connect_async(upgrade).await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "tab-1");
}

/// The real binary, logging at `debug`.
fn debug_server(dir: &tempfile::TempDir) -> Process {
    let data = dir.path().to_str().unwrap();
    Process::start(
        &["--bind", "127.0.0.1:0", "--data-dir", data],
        &[
            ("TANDEM_BOOTSTRAP_ADMIN", "admin:pw"),
            ("RUST_LOG", "tandem=debug"),
        ],
    )
}

#[actix_web::test]
async fn a_refusal_is_logged_under_the_id_its_response_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mut process = debug_server(&dir);
    let (status, id) = request_id(&process.base(), "/api/me", None).await;
    assert_eq!(status, 401);
    let line = process.wait_for(&id);
    assert!(line.contains("DEBUG"), "{line}");
    assert!(line.contains("request refused"), "{line}");
    assert!(line.contains("/api/me"), "{line}");

    let (_, given) = request_id(&process.base(), "/api/nothing", Some("proxy-1.2")).await;
    assert_eq!(given, "proxy-1.2");
    assert!(process.wait_for("proxy-1.2").contains("request refused"));
}

#[actix_web::test]
async fn a_websocket_session_logs_under_its_upgrade_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut process = debug_server(&dir);
    let login = process
        .api()
        .post("/api/login", json!({"login": "admin", "password": "pw"}))
        .await;
    let (token, agent) = (&login.body["token"], &login.body["agent"]["id"]);
    let url = format!("ws://{}/ws", process.addr);
    let (socket, response) = tokio_tungstenite::connect_async(url).await.unwrap();
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut ws = Ws { socket };
    ws.send(json!({"type": "hello", "token": token})).await;
    let welcome = ws.recv().await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    let line = process.wait_for(&id);
    assert!(line.contains("session started"), "{line}");
    assert!(
        line.contains(welcome["session"].as_str().unwrap()),
        "{line}"
    );
    assert!(line.contains(agent.as_str().unwrap()), "{line}");
}

/// Log lines written on this thread while it is alive.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_owned).collect()
    }
}

/// A 5xx cannot be caused on purpose in a real server, so the middleware
/// that `App::build` installs serves a handler that fails.
#[actix_web::test]
async fn a_server_error_is_logged_at_error_with_its_id() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = test::init_service(
        App::new()
            .wrap(actix_web::middleware::from_fn(echo_request_id))
            .wrap(TracingLogger::<RequestSpan>::new())
            .route(
                "/fails",
                web::get().to(|| async { Err::<HttpResponse, _>(Error::Unavailable) }),
            ),
    )
    .await;
    let response =
        test::call_service(&app, test::TestRequest::get().uri("/fails").to_request()).await;
    assert_eq!(response.status(), 503);
    let id = response.headers().get("x-request-id").unwrap();
    let id = id.to_str().unwrap().to_owned();
    let lines = captured.lines();
    let line = lines
        .iter()
        .find(|line| line.contains(&id))
        .unwrap_or_else(|| panic!("{id} not in {lines:#?}"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("request failed"), "{line}");
    assert!(line.contains("status=503"), "{line}");
    assert!(line.contains("Unavailable"), "{line}");
}
