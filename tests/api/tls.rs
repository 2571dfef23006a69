//! TLS (`[server] tls_cert`, `tls_key`, protocol.md §8.2): with a
//! certificate made here, the server speaks HTTPS and WSS to a client that
//! trusts it (the same REST and socket, its own origin `https://…`); files
//! that cannot be used stop the start with a message naming them.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::*;

/// A self-signed certificate for `localhost`, its files in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    der: CertificateDer<'static>,
}

impl Pki {
    fn new() -> Pki {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        Pki {
            dir,
            cert,
            key,
            der: made.cert.der().clone(),
        }
    }

    /// The config that serves these files.
    fn config(&self) -> String {
        tls_config(&self.cert, &self.key)
    }
}

fn tls_config(cert: &std::path::Path, key: &std::path::Path) -> String {
    format!("[server]\ntls_cert = {cert:?}\ntls_key = {key:?}\n")
}

/// A TLS connection to `server` as `localhost`, trusting only `pki`'s certificate.
async fn connect(server: &TestServer, pki: &Pki) -> TlsStream<tokio::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.der.clone()).unwrap();
    let provider = Arc::new(tandem::tls::provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake")
}

/// One HTTP/1.1 request over TLS: the status and the body.
async fn https(
    server: &TestServer,
    pki: &Pki,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, String) {
    let mut tls = connect(server, pki).await;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        server.addr.port(),
        body.len()
    );
    tls.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    // A peer that closes without close_notify ends the read with an error: the answer is in.
    let _ = tls.read_to_end(&mut answer).await;
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a whole answer");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

#[actix_rt::test]
async fn https_and_wss_are_served_with_the_configured_certificate() {
    let pki = Pki::new();
    let server = TestServer::start_with(&pki.config()).await;
    assert_eq!(
        https(&server, &pki, "GET", "/healthz", None).await,
        (200, "ok".to_owned())
    );
    let (status, login) = https(
        &server,
        &pki,
        "POST",
        "/api/login",
        Some(json!({"login": "admin", "password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    let token = serde_json::from_str::<Value>(&login).unwrap()["token"].clone();

    // A page of the server itself: its origin is https://.
    let port = server.addr.port();
    let mut request = format!("wss://localhost:{port}/ws")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "origin",
        format!("https://localhost:{port}").parse().unwrap(),
    );
    let tls = connect(&server, &pki).await;
    let (mut socket, _) = tokio_tungstenite::client_async(request, tls)
        .await
        .expect("wss upgrade");
    let hello = json!({"type": "hello", "token": token});
    socket.send(Message::text(hello.to_string())).await.unwrap();
    let welcome = loop {
        let frame = tokio::time::timeout(FRAME_WAIT, socket.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            break serde_json::from_str::<Value>(&text).unwrap();
        }
    };
    assert_eq!(welcome["type"], "welcome", "{welcome}");
}

#[actix_rt::test]
async fn a_client_that_does_not_trust_the_certificate_is_refused() {
    let pki = Pki::new();
    let server = TestServer::start_with(&pki.config()).await;
    let stranger = Pki::new();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(stranger.der.clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(tandem::tls::provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let refused = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await;
    assert!(refused.is_err(), "the handshake fails on the client's side");
    // And plain HTTP on the TLS port gets no HTTP answer.
    let plain = awc::Client::default()
        .get(server.url("/healthz"))
        .send()
        .await;
    assert!(plain.is_err(), "{:?}", plain.map(|r| r.status()));
}

#[actix_rt::test]
async fn tls_files_that_cannot_be_used_stop_the_start() {
    let pki = Pki::new();
    let other = Pki::new();
    let garbage = pki.dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not PEM at all\n").unwrap();
    let broken = pki.dir.path().join("broken.pem");
    std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap();
    let missing = pki.dir.path().join("missing.pem");
    for (cert, key, expected) in [
        (&missing, &pki.key, "cannot read the TLS certificate"),
        (&pki.cert, &missing, "cannot read the TLS key"),
        (
            &garbage,
            &pki.key,
            "no certificate in the TLS certificate file",
        ),
        (&broken, &pki.key, "invalid PEM in the TLS certificate"),
        (&pki.cert, &garbage, "no private key in the TLS key file"),
        // A certificate where the key should be: no key in it either.
        (&pki.cert, &pki.cert, "no private key in the TLS key file"),
        (&pki.cert, &other.key, "cannot be used with the certificate"),
    ] {
        let data = tempfile::tempdir().unwrap();
        let error = TestServer::start_in(data.path(), &tls_config(cert, key))
            .await
            .err()
            .unwrap_or_else(|| panic!("started with {cert:?} {key:?}"));
        assert!(error.contains(expected), "{error}");
        let named = if expected.contains("key") && !expected.contains("used") {
            key
        } else {
            cert
        };
        assert!(error.contains(named.to_str().unwrap()), "{error}");
    }
    // Both or neither.
    let data = tempfile::tempdir().unwrap();
    let config = format!("[server]\ntls_cert = {:?}\n", pki.cert);
    let error = TestServer::start_in(data.path(), &config)
        .await
        .err()
        .unwrap();
    assert!(error.contains("server.tls_key"), "{error}");
}

/// The binary: a bad certificate exits with status 1 and a `tandem: ` line
/// with its cause; a good one prints `listening on https://`.
#[test]
fn the_binary_says_why_tls_failed_and_where_it_listens() {
    let pki = Pki::new();
    let config = pki.dir.path().join("tandem.toml");
    let data = pki.dir.path().join("data");
    let serve = |config_text: &str| {
        std::fs::write(&config, config_text).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_tandem"));
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .env("TANDEM_BOOTSTRAP_ADMIN", "admin:pw")
            .env("RUST_LOG", "warn");
        command
    };
    let missing = pki.dir.path().join("missing.pem");
    let out = serve(&tls_config(&missing, &pki.key)).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "tandem: cannot read the TLS certificate {}: No such file",
        missing.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");

    let mut child = serve(&pki.config())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let line = stdout
        .lines()
        .map_while(Result::ok)
        .find(|line| line.contains("listening on"))
        .expect("a listening line");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(line.contains("listening on https://127.0.0.1:"), "{line}");
}
