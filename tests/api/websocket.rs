//! WebSocket sessions: hello, errors that keep the socket, limits and close
//! codes, subscriptions, `ticket` frames, heartbeats and resume.

use std::time::Duration;

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

use crate::support::*;

#[actix_web::test]
async fn hello_is_welcomed_with_the_agent_and_the_ref() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let mut ws = Ws::connect(&server).await;
    ws.send(json!({"type": "hello", "token": admin.token, "ref": "h1"}))
        .await;
    let welcome = ws.recv().await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["ref"], "h1");
    assert_eq!(welcome["resumed"], false);
    assert_eq!(welcome["agent"]["handle"], "admin");
    assert_eq!(welcome["heartbeat_s"], json!(0.5));
    assert!(welcome["session"].as_str().unwrap().len() == 36);
    ws.send(json!({"type": "ping", "ref": 42})).await;
    assert_eq!(ws.recv().await, json!({"type": "pong", "ref": 42}));
}

/// Writes `request` (and `then`, in the same write) on a new connection;
/// answers the connection and the response head.
async fn raw_request(
    server: &TestServer,
    request: &str,
    then: &[u8],
) -> (tokio::net::TcpStream, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(&[request.as_bytes(), then].concat())
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.expect("response head");
        head.push(byte[0]);
    }
    (
        stream,
        String::from_utf8(head).unwrap().to_ascii_lowercase(),
    )
}

fn upgrade_request(server: &TestServer, path: &str, upgrade: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUpgrade: {upgrade}\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.addr
    )
}

/// A client may send its `hello` right behind the upgrade request, in the
/// same packet: those bytes reach the socket first.
#[actix_web::test]
async fn a_hello_sent_with_the_upgrade_request_is_welcomed() {
    use tokio::io::AsyncReadExt;
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let hello = json!({"type": "hello", "token": admin.token, "ref": "early"}).to_string();
    let (mut stream, head) = raw_request(
        &server,
        &upgrade_request(&server, "/ws", "websocket"),
        &RawWs::masked(true, 0x1, hello.as_bytes()),
    )
    .await;
    assert!(head.starts_with("http/1.1 101"), "{head}");
    let mut header = [0u8; 2];
    stream.read_exact(&mut header).await.unwrap();
    assert_eq!(header[0], 0x81, "a text frame");
    let len = match header[1] {
        126 => u64::from(stream.read_u16().await.unwrap()),
        127 => stream.read_u64().await.unwrap(),
        len => u64::from(len),
    };
    let mut payload = vec![0; len as usize];
    stream.read_exact(&mut payload).await.unwrap();
    let welcome: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        (welcome["type"].as_str(), welcome["ref"].as_str()),
        (Some("welcome"), Some("early"))
    );
}

/// A request that asks for a WebSocket upgrade anywhere else gets that
/// route's ordinary answer, and the connection ends with it.
#[actix_web::test]
async fn an_upgrade_request_elsewhere_gets_its_ordinary_answer_and_the_connection_closes() {
    use tokio::io::AsyncReadExt;
    let server = TestServer::start().await;
    let (mut stream, head) = raw_request(
        &server,
        &upgrade_request(&server, "/healthz", "websocket"),
        b"",
    )
    .await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .await
        .expect("the connection ends");
    assert!(!rest.is_empty(), "the body");
}

/// A handshake that HTTP/1.1 does not carry as an upgrade has no connection
/// to take over: 400, as for any request that is not a handshake.
#[actix_web::test]
async fn a_handshake_that_is_not_an_upgrade_gets_400() {
    let server = TestServer::start().await;
    let (_, head) = raw_request(
        &server,
        &upgrade_request(&server, "/ws", "h2c, websocket"),
        b"",
    )
    .await;
    assert!(head.starts_with("http/1.1 400"), "{head}");
}

#[actix_web::test]
async fn client_pings_are_answered_with_pongs() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let (mut ws, _) = Ws::hello(&server, &admin).await;
    ws.send_raw(Message::Ping(b"are you there".to_vec().into()))
        .await;
    loop {
        use futures_util::StreamExt;
        let next = tokio::time::timeout(FRAME_WAIT, ws.socket.next())
            .await
            .expect("pong in time");
        match next.expect("open").expect("frame") {
            Message::Pong(payload) => break assert_eq!(&payload[..], b"are you there"),
            Message::Ping(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[actix_web::test]
async fn no_hello_in_time_closes_4408() {
    let server = TestServer::start().await;
    let mut ws = Ws::connect(&server).await;
    assert_eq!(ws.closed().await, 4408);
}

#[actix_web::test]
async fn a_bad_first_frame_closes_4401() {
    let server = TestServer::start().await;
    for first in [
        json!({"type": "hello", "token": "not-a-token"}).to_string(),
        json!({"type": "ping"}).to_string(),
        json!({"type": "hello"}).to_string(),
        "{not json".to_owned(),
    ] {
        let mut ws = Ws::connect(&server).await;
        ws.send_raw(Message::text(first.clone())).await;
        assert_eq!(ws.closed().await, 4401, "{first}");
    }
}

#[actix_web::test]
async fn bad_frames_get_errors_and_the_socket_stays_usable() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let (mut ws, _) = Ws::hello(&server, &admin).await;
    ws.send_raw(Message::text("{definitely not json")).await;
    let error = ws.recv().await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["code"], "bad_request");
    ws.send(json!({"type": "teleport", "ref": "t"})).await;
    let unknown = ws.recv().await;
    assert_eq!(
        (unknown["code"].as_str(), unknown["ref"].as_str()),
        (Some("bad_request"), Some("t"))
    );
    ws.send(json!({"type": "subscribe", "ref": 3})).await;
    let missing = ws.recv().await;
    assert_eq!(
        (missing["code"].as_str(), missing["ref"].as_i64()),
        (Some("bad_request"), Some(3))
    );
    assert!(
        missing["message"].as_str().unwrap().contains("inbox"),
        "{missing}"
    );
    ws.send(json!({"type": "ping", "ref": "still here"})).await;
    assert_eq!(
        ws.recv().await,
        json!({"type": "pong", "ref": "still here"})
    );
}

#[actix_web::test]
async fn oversized_frames_close_1009_even_first() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let big = json!({"type": "ping", "pad": "x".repeat(70 * 1024)}).to_string();
    let mut first = Ws::connect(&server).await;
    first.send_raw(Message::text(big.clone())).await;
    assert_eq!(first.closed().await, 1009);
    let (mut later, _) = Ws::hello(&server, &admin).await;
    later.send_raw(Message::text(big)).await;
    assert_eq!(later.closed().await, 1009);
}

#[actix_web::test]
async fn invalid_utf8_closes_1007() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let (mut ws, _) = Ws::hello(&server, &admin).await;
    let frame = Frame::message(vec![b'"', 0xff, 0xfe, b'"'], OpCode::Data(Data::Text), true);
    ws.send_raw(Message::Frame(frame)).await;
    assert_eq!(ws.closed().await, 1007);
}

#[actix_web::test]
async fn subscribe_checks_membership_and_answers_a_snapshot() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let support = admin.create_inbox("Support").await;
    let sales = admin.create_inbox("Sales").await;
    let bianca = server.agent(&admin, "bianca", "agent", &[&support]).await;
    let (mut ws, _) = Ws::hello(&server, &bianca).await;
    ws.send(json!({"type": "subscribe", "inbox": support, "ref": 1}))
        .await;
    assert_eq!(
        ws.recv().await,
        json!({"type": "snapshot", "ref": 1, "inbox": support, "presence": []})
    );
    ws.send(json!({"type": "subscribe", "inbox": sales, "ref": 2}))
        .await;
    let refused = ws.recv().await;
    assert_eq!(
        (refused["code"].as_str(), refused["ref"].as_i64()),
        (Some("not_found"), Some(2))
    );
    ws.send(json!({"type": "subscribe", "inbox": "01a1fcb1-fa68-7345-849d-4f02be394110"}))
        .await;
    assert_eq!(ws.recv().await["code"], "not_found");
}

#[actix_web::test]
async fn ticket_frames_reach_every_subscriber_of_the_inbox_only() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let support = admin.create_inbox("Support").await;
    let sales = admin.create_inbox("Sales").await;
    let bianca = server
        .agent(&admin, "bianca", "agent", &[&support, &sales])
        .await;
    let hanna = server.agent(&admin, "hanna", "agent", &[&support]).await;
    let sam = server.agent(&admin, "sam", "agent", &[&sales]).await;
    let mut subscribers = Vec::new();
    for (agent, inbox) in [(&bianca, &support), (&hanna, &support), (&sam, &sales)] {
        let (mut ws, _) = Ws::hello(&server, agent).await;
        ws.send(json!({"type": "subscribe", "inbox": inbox})).await;
        ws.recv_type("snapshot").await;
        subscribers.push(ws);
    }
    let ticket = admin.create_ticket(&support, "Live").await;
    for ws in &mut subscribers[..2] {
        let frame = ws.recv().await;
        assert_eq!(frame["type"], "ticket");
        assert_eq!(frame["inbox"], support.as_str());
        assert_eq!(frame["ticket"]["id"], ticket["id"]);
        assert_eq!(frame["change"]["action"], "created");
        assert_eq!(frame["change"]["by"]["name"], "Admin");
    }
    let id = ticket["id"].as_str().unwrap();
    hanna
        .patch(
            &format!("/api/tickets/{id}"),
            json!({"subject": "Live, edited"}),
        )
        .await;
    for ws in &mut subscribers[..2] {
        let frame = ws.recv().await;
        assert_eq!(frame["ticket"]["subject"], "Live, edited");
        assert_eq!(
            (
                frame["change"]["action"].as_str(),
                frame["change"]["by"]["name"].as_str()
            ),
            (Some("updated"), Some("Hanna"))
        );
    }
    bianca
        .post(
            &format!("/api/tickets/{id}/messages"),
            json!({"kind": "note", "body": "hi"}),
        )
        .await;
    assert_eq!(subscribers[0].recv().await["change"]["action"], "message");
    // The Sales subscriber saw none of it: its next frame is the answer to its own ping.
    subscribers[2].send(json!({"type": "ping"})).await;
    assert_eq!(subscribers[2].recv().await["type"], "pong");
}

#[actix_web::test]
async fn too_many_sockets_for_one_agent_closes_4409() {
    let server = TestServer::start_with("max_sockets_per_agent = 2\n").await;
    let admin = server.admin().await;
    let (_a, _) = Ws::hello(&server, &admin).await;
    let (_b, _) = Ws::hello(&server, &admin).await;
    let mut third = Ws::connect(&server).await;
    third
        .send(json!({"type": "hello", "token": admin.token}))
        .await;
    assert_eq!(third.closed().await, 4409);
}

#[actix_web::test]
async fn too_many_frames_too_fast_closes_4429() {
    let server = TestServer::start_with("frames_per_s = 5\nframes_burst = 5\n").await;
    let admin = server.admin().await;
    let (mut ws, _) = Ws::hello(&server, &admin).await;
    for _ in 0..20 {
        ws.send(json!({"type": "ping"})).await;
    }
    assert_eq!(ws.closed().await, 4429);
}

#[actix_web::test]
async fn disabling_an_agent_closes_its_sockets_4403() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let bianca = server.agent(&admin, "bianca", "agent", &[]).await;
    let (mut ws, _) = Ws::hello(&server, &bianca).await;
    admin
        .patch(
            &format!("/api/agents/{}", bianca.id),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(ws.closed().await, 4403);
}

#[actix_web::test]
async fn foreign_browser_origins_are_refused_at_the_upgrade() {
    let server = TestServer::start_with("allowed_origins = [\"https://help.example.com\"]\n").await;
    let admin = server.admin().await;
    let connect = |origin: &str| {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = server.ws_url().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("Origin", origin.parse().unwrap());
        tokio_tungstenite::connect_async(request)
    };
    match connect("https://evil.example.com").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 403),
        other => panic!("expected 403, got {:?}", other.map(|(_, r)| r.status())),
    }
    let (socket, _) = connect("https://help.example.com")
        .await
        .expect("allowed origin");
    let mut ws = Ws { socket };
    ws.send(json!({"type": "hello", "token": admin.token}))
        .await;
    assert_eq!(ws.recv().await["type"], "welcome");
    let own = format!("http://{}", server.addr);
    assert!(
        connect(&own).await.is_ok(),
        "the server's own origin is allowed"
    );
}

#[actix_web::test]
async fn a_silent_client_is_closed_after_three_heartbeats() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let mut frozen = RawWs::connect(&server).await;
    frozen
        .send_text(&json!({"type": "hello", "token": admin.token}).to_string())
        .await;
    // It reads what the server sends but never answers a ping.
    let started = std::time::Instant::now();
    assert_eq!(frozen.close_code().await, 1001);
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "closed after {:?}",
        started.elapsed()
    );
}

#[actix_web::test]
async fn a_lost_socket_can_resume_its_session_within_the_grace_period() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let support = admin.create_inbox("Support").await;
    let (mut ws, welcome) = Ws::hello(&server, &admin).await;
    let session = welcome["session"].as_str().unwrap().to_owned();
    ws.send(json!({"type": "subscribe", "inbox": support}))
        .await;
    ws.recv_type("snapshot").await;
    drop(ws); // TCP gone, no close frame

    let mut again = Ws::connect(&server).await;
    again
        .send(json!({"type": "hello", "token": admin.token, "resume": session, "ref": "r"}))
        .await;
    let welcome = again.recv().await;
    assert_eq!(
        (welcome["resumed"].as_bool(), welcome["session"].as_str()),
        (Some(true), Some(session.as_str()))
    );
    assert_eq!(welcome["ref"], "r");
    let snapshot = again.recv().await;
    assert_eq!(
        (snapshot["type"].as_str(), snapshot["inbox"].as_str()),
        (Some("snapshot"), Some(support.as_str()))
    );
    // The subscription came back with the session.
    admin.create_ticket(&support, "after resume").await;
    assert_eq!(again.recv().await["type"], "ticket");
}

#[actix_web::test]
async fn a_late_or_unknown_resume_gets_a_new_session() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    admin
        .patch("/api/settings", json!({"reconnect_grace_s": 0.2}))
        .await;
    let (ws, welcome) = Ws::hello(&server, &admin).await;
    let session = welcome["session"].as_str().unwrap().to_owned();
    drop(ws);
    // Wait (bounded) until the grace period ended and the session stopped.
    let deadline = std::time::Instant::now() + FRAME_WAIT;
    while server.metric("tandem_sessions").await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "session never expired"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut late = Ws::connect(&server).await;
    late.send(json!({"type": "hello", "token": admin.token, "resume": session}))
        .await;
    let welcome = late.recv().await;
    assert_eq!(welcome["resumed"], false);
    assert_ne!(welcome["session"].as_str(), Some(session.as_str()));

    let other = server.agent(&admin, "bianca", "agent", &[]).await;
    let mut stranger = Ws::connect(&server).await;
    let current = welcome["session"].as_str().unwrap();
    stranger
        .send(json!({"type": "hello", "token": other.token, "resume": current}))
        .await;
    let theirs = stranger.recv().await;
    assert_eq!(
        theirs["resumed"], false,
        "a session is resumed only by its own agent"
    );
    assert_ne!(theirs["session"].as_str(), Some(current));
}

#[actix_web::test]
async fn a_client_close_ends_the_session_at_once() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let (mut ws, welcome) = Ws::hello(&server, &admin).await;
    let session = welcome["session"].as_str().unwrap().to_owned();
    ws.socket.close(None).await.unwrap();
    let deadline = std::time::Instant::now() + FRAME_WAIT;
    while server.metric("tandem_sessions").await > 0 {
        assert!(std::time::Instant::now() < deadline, "session did not end");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut again = Ws::connect(&server).await;
    again
        .send(json!({"type": "hello", "token": admin.token, "resume": session}))
        .await;
    assert_eq!(again.recv().await["resumed"], Value::Bool(false));
}
