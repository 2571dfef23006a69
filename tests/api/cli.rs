//! The command-line contract, run as a new user would: the real binary.

use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::process::Process;
use crate::support::*;

/// Starts a request whose body never finishes, so a graceful shutdown waits for it.
fn hang_a_request(addr: &str) -> std::net::TcpStream {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"login\""
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream
}

/// A server whose shutdown would wait a minute for a request that never
/// finishes, already told to shut down (SIGTERM).
async fn shutting_down_with_a_request_held(
    deadline_s: f64,
) -> (Process, std::net::TcpStream, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = slow_shutdown_config(dir.path(), deadline_s);
    let data = dir.path().join("data");
    let args = [
        "--config",
        &config,
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let process = Process::start(&args, &[("TANDEM_BOOTSTRAP_ADMIN", "admin:pw")]);
    let held = hang_a_request(&process.addr);
    process.api().get("/healthz").await;
    process.signal_term();
    (process, held, dir)
}

/// A config file for a shutdown that would wait a minute for in-flight requests.
fn slow_shutdown_config(dir: &std::path::Path, deadline_s: f64) -> String {
    let config = dir.join("tandem.toml");
    let text = format!("[server]\nshutdown_timeout_s = 60\nshutdown_deadline_s = {deadline_s}\n");
    std::fs::write(&config, text).unwrap();
    config.to_str().unwrap().to_owned()
}

async fn login(api: &Api, login: &str, password: &str) -> Api {
    let resp = api
        .post("/api/login", json!({"login": login, "password": password}))
        .await;
    assert_eq!(resp.status, 200, "login {login}: {}", resp.body);
    api.with_token(resp.body["token"].as_str().unwrap())
}

#[actix_web::test]
async fn demo_data_is_as_specified_and_sigterm_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let process = Process::start(
        &["--demo", "--bind", "127.0.0.1:0", "--data-dir", data],
        &[],
    );
    let anon = process.api();
    let ada = login(&anon, "ada", "demo").await;
    let agents = ada.get("/api/agents").await.body;
    let mut roles: Vec<(String, String, usize)> = agents
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["handle"].as_str().unwrap().into(),
                a["role"].as_str().unwrap().into(),
                a["inboxes"].as_array().unwrap().len(),
            )
        })
        .collect();
    roles.sort();
    let expected = [
        ("ada", "admin"),
        ("bianca", "agent"),
        ("hanna", "agent"),
        ("lena", "light"),
        ("sam", "agent"),
    ];
    assert_eq!(
        roles
            .iter()
            .map(|(h, r, _)| (h.as_str(), r.as_str()))
            .collect::<Vec<_>>(),
        expected,
        "no generated admin"
    );
    assert_eq!(
        roles.iter().map(|r| r.2).collect::<Vec<_>>(),
        [2, 2, 2, 1, 1]
    );

    let bianca = login(&anon, "bianca", "demo").await;
    let inboxes = bianca.get("/api/inboxes").await.body;
    let names: Vec<&str> = inboxes
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Sales", "Support"]);
    for inbox in inboxes.as_array().unwrap() {
        let list = bianca
            .get(&format!(
                "/api/inboxes/{}/tickets",
                inbox["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(list.body["tickets"].as_array().unwrap().len(), 12);
    }
    let sam = login(&anon, "sam", "demo").await;
    assert_eq!(
        sam.get("/api/inboxes").await.body.as_array().unwrap().len(),
        1
    );
    let lena = login(&anon, "lena", "demo").await;
    assert_eq!(lena.get("/api/me").await.body["role"], "light");

    let status = process.terminate();
    assert!(status.success(), "exit status {status:?}");
}

#[actix_web::test]
async fn without_a_bootstrap_admin_a_generated_password_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let mut process = Process::start(&["--bind", "127.0.0.1:0", "--data-dir", data], &[]);
    let line = process.wait_for("with password: ");
    let password = line
        .rsplit("with password: ")
        .next()
        .unwrap()
        .trim()
        .to_owned();
    login(&process.api(), "admin", &password).await;
    assert!(process.terminate().success());

    // A restart does not create or print another admin.
    let mut again = Process::start(&["--bind", "127.0.0.1:0", "--data-dir", data], &[]);
    let agents = login(&again.api(), "admin", &password)
        .await
        .get("/api/agents")
        .await;
    assert_eq!(agents.body.as_array().unwrap().len(), 1);
    again.seen.extend(again.lines.try_iter());
    assert!(
        !again.seen.iter().any(|l| l.contains("with password")),
        "{:?}",
        again.seen
    );
    assert!(again.terminate().success());
}

#[actix_web::test]
async fn environment_and_config_file_layer_under_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let env_dir = dir.path().join("from-env");
    let config = dir.path().join("tandem.toml");
    std::fs::write(
        &config,
        "[server]\nbind = \"127.0.0.1:1\"\n[log]\nlevel = \"debug\"\n",
    )
    .unwrap();
    let process = Process::start(
        &["--config", config.to_str().unwrap()],
        &[
            ("TANDEM_BIND", "127.0.0.1:0"),
            ("TANDEM_DATA_DIR", env_dir.to_str().unwrap()),
            ("TANDEM_BOOTSTRAP_ADMIN", "boss:s3cret"),
        ],
    );
    let boss = login(&process.api(), "boss", "s3cret").await;
    assert_eq!(boss.get("/api/me").await.body["role"], "admin");
    assert!(
        env_dir.join("tandem.redb").exists(),
        "TANDEM_DATA_DIR was used"
    );
    assert!(process.terminate().success());

    let flag_dir = dir.path().join("from-flag");
    let process = Process::start(
        &[
            "--config",
            config.to_str().unwrap(),
            "--bind",
            "127.0.0.1:0",
            "--data-dir",
            flag_dir.to_str().unwrap(),
        ],
        &[
            ("TANDEM_BIND", "127.0.0.1:1"),
            ("TANDEM_DATA_DIR", env_dir.to_str().unwrap()),
            ("TANDEM_BOOTSTRAP_ADMIN", "chief:pw"),
        ],
    );
    login(&process.api(), "chief", "pw").await;
    assert!(
        flag_dir.join("tandem.redb").exists(),
        "--data-dir wins over the environment"
    );
    assert!(process.terminate().success());
}

#[actix_web::test]
async fn the_listening_line_is_printed_even_with_info_logs_off() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let process = Process::start(
        &["--bind", "127.0.0.1:0", "--data-dir", data],
        &[("RUST_LOG", "error")],
    );
    assert_eq!(process.api().get("/healthz").await.body, "ok");
    assert!(process.terminate().success());
}

#[test]
fn a_bad_config_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[ws]\nheartbeat = 3\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("heartbeat"), "{stderr}");
}

#[actix_web::test]
async fn a_second_sigterm_ends_a_shutdown_that_is_still_waiting() {
    let (mut process, _held, _dir) = shutting_down_with_a_request_held(60.0).await;
    process.wait_for("signal received");
    assert!(
        process.exit_within(Duration::from_millis(500)).is_none(),
        "the shutdown waits for the request"
    );
    process.signal_term();
    let status = process
        .exit_within(Duration::from_secs(10))
        .expect("the second SIGTERM exits");
    assert_eq!(status.code(), Some(1));
    process.wait_for("second signal");
}

#[actix_web::test]
async fn a_shutdown_past_its_deadline_exits_anyway() {
    let (mut process, _held, _dir) = shutting_down_with_a_request_held(0.5).await;
    let status = process
        .exit_within(Duration::from_secs(10))
        .expect("the deadline ends the shutdown");
    assert_eq!(status.code(), Some(1));
    process.wait_for("shutdown deadline passed");
}

#[actix_web::test]
async fn tokens_and_passwords_never_reach_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let envs = [
        ("TANDEM_BOOTSTRAP_ADMIN", "admin:hunter2-secret"),
        ("RUST_LOG", "trace"),
    ];
    let mut process = Process::start(&["--bind", "127.0.0.1:0", "--data-dir", data], &envs);
    let admin = login(&process.api(), "admin", "hunter2-secret").await;
    let token = admin.token.clone().unwrap();
    admin.get("/api/me").await;
    let bad = process
        .api()
        .post(
            "/api/login",
            json!({"login": "admin", "password": "wrong-guess-42"}),
        )
        .await;
    assert_eq!(bad.status, 401);
    let ws_url = format!("ws://{}/ws", process.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
    use futures_util::{SinkExt, StreamExt};
    let hello = json!({"type": "hello", "token": token}).to_string();
    socket
        .send(tokio_tungstenite::tungstenite::Message::text(hello))
        .await
        .unwrap();
    socket.next().await.expect("welcome").unwrap();
    assert_eq!(admin.post("/api/logout", json!(null)).await.status, 204);
    assert!(process.terminate_keep().success());

    let output = process.all_output();
    assert!(
        output.len() > 20,
        "trace logging was on: {} lines",
        output.len()
    );
    for secret in [token.as_str(), "hunter2-secret", "wrong-guess-42"] {
        let leaks: Vec<_> = output.iter().filter(|line| line.contains(secret)).collect();
        assert!(leaks.is_empty(), "{secret:?} was logged: {leaks:?}");
    }
}
