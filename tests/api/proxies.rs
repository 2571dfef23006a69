//! Trusted proxies (`[server] trusted_proxies`, protocol.md §7.1 and §8.2):
//! behind one, login blocking, the sockets per address and the request logs
//! use the address it forwards in `X-Forwarded-For`, and the server's own
//! origin its `X-Forwarded-Proto`; a peer that is not trusted cannot spoof
//! either. The tests' client is 127.0.0.1, trusted or not by config.

use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, http};

use crate::process::Process;
use crate::support::*;

const TRUSTED: &str = "[server]\ntrusted_proxies = [\"127.0.0.1\"]\n";
/// Trusts proxies elsewhere, not the tests' client.
const UNTRUSTED: &str = "[server]\ntrusted_proxies = [\"10.0.0.0/8\"]\n";

/// `POST /api/login` with `X-Forwarded-For: forwarded` (if any); the status.
async fn login_status(
    server: &TestServer,
    forwarded: Option<&str>,
    login: &str,
    password: &str,
) -> u16 {
    let mut request = awc::Client::default().post(server.url("/api/login"));
    if let Some(forwarded) = forwarded {
        request = request.insert_header(("x-forwarded-for", forwarded));
    }
    let response = request
        .send_json(&json!({"login": login, "password": password}))
        .await
        .expect("answered");
    response.status().as_u16()
}

/// Ten failed logins (each under another name, so only the address counts).
async fn ten_failures(server: &TestServer, forwarded: &str) {
    for i in 0..10 {
        let status = login_status(server, Some(forwarded), &format!("nobody{i}"), "x").await;
        assert_eq!(status, 401, "failure {i}");
    }
}

#[actix_rt::test]
async fn behind_a_trusted_proxy_login_blocking_applies_to_the_forwarded_address() {
    let server = TestServer::start_with(TRUSTED).await;
    ten_failures(&server, "203.0.113.7").await;
    let admin = |forwarded| login_status(&server, forwarded, "admin", ADMIN_PASSWORD);
    assert_eq!(admin(Some("203.0.113.7")).await, 429, "the blocked client");
    // What the client wrote itself, left of what the proxy added, is not believed.
    assert_eq!(admin(Some("198.51.100.1, 203.0.113.7")).await, 429);
    // Other clients of the same proxy, and the proxy itself, are not blocked.
    assert_eq!(admin(Some("203.0.113.8")).await, 200);
    assert_eq!(admin(None).await, 200);
}

#[actix_rt::test]
async fn an_untrusted_peer_cannot_spoof_its_address() {
    for config in ["", UNTRUSTED] {
        let server = TestServer::start_with(config).await;
        ten_failures(&server, "203.0.113.7").await;
        // All ten failures were the peer's: any forwarded address is blocked.
        let status = login_status(&server, Some("203.0.113.9"), "admin", ADMIN_PASSWORD).await;
        assert_eq!(status, 429, "config {config:?}");
        let status = login_status(&server, None, "admin", ADMIN_PASSWORD).await;
        assert_eq!(status, 429, "config {config:?}");
    }
}

/// Upgrades `path` with these extra headers: the socket, or the refusal's status.
async fn upgrade(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> Result<Ws, u16> {
    let mut request = format!("ws://{}{path}", server.addr)
        .into_client_request()
        .unwrap();
    for (name, value) in headers {
        request.headers_mut().append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(Ws { socket }),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("upgrade failed: {other}"),
    }
}

/// Two sockets per address on `/ws` and `/ws/visitor` (bare keys are `[ws]`'s).
const TWO_PER_ADDRESS: &str =
    "max_sockets_per_address = 2\n[visitor]\nmax_sockets_per_address = 2\n";

#[actix_rt::test]
async fn socket_limits_count_the_forwarded_address_behind_a_trusted_proxy() {
    let server = TestServer::start_with(&format!("{TWO_PER_ADDRESS}{TRUSTED}")).await;
    let origin = format!("http://{}", server.addr);
    for path in ["/ws", "/ws/visitor"] {
        let from = |client| [("origin", origin.as_str()), ("x-forwarded-for", client)];
        let mut held = Vec::new();
        for _ in 0..2 {
            let socket = upgrade(&server, path, &from("203.0.113.7")).await;
            held.push(socket.expect("under the limit"));
        }
        let third = upgrade(&server, path, &from("203.0.113.7")).await;
        assert_eq!(third.err(), Some(429), "{path}");
        let other = upgrade(&server, path, &from("203.0.113.8")).await;
        assert!(other.is_ok(), "{path}: another client of the proxy");
    }
}

#[actix_rt::test]
async fn socket_limits_count_an_untrusted_peer_whatever_it_forwards() {
    let server = TestServer::start_with(&format!("{TWO_PER_ADDRESS}{UNTRUSTED}")).await;
    let origin = format!("http://{}", server.addr);
    for path in ["/ws", "/ws/visitor"] {
        let mut held = Vec::new();
        for forwarded in ["203.0.113.1", "203.0.113.2"] {
            let headers = [("origin", origin.as_str()), ("x-forwarded-for", forwarded)];
            held.push(
                upgrade(&server, path, &headers)
                    .await
                    .expect("under the limit"),
            );
        }
        let headers = [
            ("origin", origin.as_str()),
            ("x-forwarded-for", "203.0.113.3"),
        ];
        assert_eq!(
            upgrade(&server, path, &headers).await.err(),
            Some(429),
            "{path}"
        );
    }
}

#[actix_rt::test]
async fn the_own_origin_takes_the_scheme_a_trusted_proxy_forwards() {
    for (config, allowed) in [(TRUSTED, true), (UNTRUSTED, false)] {
        let server = TestServer::start_with(config).await;
        // The browser's page is https://HOST, the proxy speaks http to the server.
        let origin = format!("https://{}", server.addr);
        for path in ["/ws", "/ws/visitor"] {
            let headers = [("origin", origin.as_str()), ("x-forwarded-proto", "https")];
            let result = upgrade(&server, path, &headers).await;
            assert_eq!(result.is_ok(), allowed, "{config:?} {path}");
            if !allowed {
                assert_eq!(result.err(), Some(403));
            }
            // Without the header, the connection's scheme: http.
            let result = upgrade(&server, path, &[("origin", origin.as_str())]).await;
            assert_eq!(result.err(), Some(403), "{config:?} {path}");
        }
    }
}

#[actix_rt::test]
async fn request_logs_name_the_forwarded_client() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tandem.toml");
    std::fs::write(&config, TRUSTED).unwrap();
    let data = dir.path().join("data");
    let mut process = Process::start(
        &[
            "--config",
            config.to_str().unwrap(),
            "--bind",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[
            ("TANDEM_BOOTSTRAP_ADMIN", "admin:pw"),
            ("RUST_LOG", "tandem=debug"),
        ],
    );
    for (id, forwarded, client) in [
        (
            "proxied-1",
            Some("198.51.100.1, 203.0.113.7"),
            "client=203.0.113.7",
        ),
        ("direct-1", None, "client=127.0.0.1"),
    ] {
        let mut request = awc::Client::default()
            .get(format!("{}/api/me", process.base()))
            .insert_header(("x-request-id", id));
        if let Some(forwarded) = forwarded {
            request = request.insert_header(("x-forwarded-for", forwarded));
        }
        assert_eq!(request.send().await.unwrap().status().as_u16(), 401);
        let line = without_colours(&process.wait_for(id));
        assert!(line.contains(client), "{line}");
    }
}

/// `line` without its ANSI colour sequences (`ESC [ … m`).
fn without_colours(line: &str) -> String {
    let mut plain = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('\x1b') {
        plain.push_str(&rest[..start]);
        rest = rest[start..].split_once('m').map_or("", |(_, after)| after);
    }
    plain.push_str(rest);
    plain
}
