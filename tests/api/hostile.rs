//! Hostile input: sizes are checked before anything is buffered, malformed or
//! abusive frames and bodies get their documented answer, and none of it
//! changes any state.

use serde_json::{Value, json};

use crate::support::*;

/// A server with one inbox and ticket.
fn office() -> Setup {
    Scenario::setup()
        .inbox("Support")
        .ticket("Support", "Printer on fire")
}

/// The ticket `id` as stored now: comparing it before and after proves nothing changed.
async fn stored(admin: &Api, id: &str) -> Value {
    json!([
        admin.get(format!("/api/tickets/{id}")).await.body,
        admin.get(format!("/api/tickets/{id}/history")).await.body
    ])
}

async fn hello_raw(server: &TestServer, admin: &Api) -> RawWs {
    let mut raw = RawWs::connect(server).await;
    raw.send_text(&json!({"type": "hello", "token": admin.token}).to_string())
        .await;
    raw
}

#[actix_web::test]
async fn a_frame_announcing_a_gigabyte_is_refused_from_its_header() {
    let o = office().start().await;
    let (server, admin) = (&o.server, &o.admin);
    for authenticated in [false, true] {
        let mut raw = if authenticated {
            hello_raw(server, admin).await
        } else {
            RawWs::connect(server).await
        };
        // Only the header is sent: a server that waited to buffer the payload would never answer.
        raw.announce(0x1, 1 << 30).await;
        assert_eq!(raw.close_code().await, 1009);
    }
}

#[actix_web::test]
async fn a_flood_of_continuation_frames_is_bounded_by_the_frame_limit() {
    let o = office().start().await;
    let (server, admin) = (&o.server, &o.admin);
    let mut raw = hello_raw(server, admin).await;
    raw.send_frame(false, 0x1, b"{\"type\":\"ping\",\"pad\":\"")
        .await;
    let chunk = vec![b'x'; 1024];
    // 70 KiB in 1 KiB pieces: past the 64 KiB message limit the socket is closed.
    for _ in 0..70 {
        raw.send_frame(false, 0x0, &chunk).await;
    }
    assert_eq!(raw.close_code().await, 1009);
}

#[actix_web::test]
async fn deeply_nested_json_is_an_error_not_a_crash() {
    let o = office().start().await;
    let (server, admin, id) = (&o.server, &o.admin, o.ticket());
    let before = stored(admin, id).await;
    let deep = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    let (mut ws, _) = Ws::hello(server, admin).await;
    ws.send_raw(tokio_tungstenite::tungstenite::Message::text(deep.clone()))
        .await;
    let error = ws.recv().await;
    assert_eq!(
        (error["type"].as_str(), error["code"].as_str()),
        (Some("error"), Some("bad_request")),
        "{error}"
    );
    ws.send(json!({"type": "ping", "ref": 1})).await;
    assert_eq!(ws.recv().await["type"], "pong", "the socket stays usable");

    let nested_patch = format!("{{\"subject\": {deep}}}");
    let resp = awc::Client::default()
        .patch(server.url(&format!("/api/tickets/{id}")))
        .insert_header((
            "Authorization",
            format!("Bearer {}", admin.token.as_deref().unwrap()),
        ))
        .content_type("application/json")
        .send_body(nested_patch)
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(stored(admin, id).await, before, "nothing changed");
}

#[actix_web::test]
async fn unknown_fields_huge_arrays_and_huge_bodies_change_nothing() {
    let o = office().start().await;
    let (server, admin, id) = (&o.server, &o.admin, o.ticket());
    let before = stored(admin, id).await;
    let agents_before = admin.get("/api/agents").await.body;
    let bianca = server.agent(admin, "bianca", "agent", &[]).await;
    let agents_before_patch = admin.get("/api/agents").await.body;

    let unknown = admin
        .patch(
            format!("/api/tickets/{id}"),
            json!({"subject": "x", "status": "resolved"}),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (400, "bad_request"),
        "{}",
        unknown.body
    );
    let many_ids: Vec<String> = (0..20_000).map(|i| format!("not-an-id-{i}")).collect();
    let huge_array = admin
        .patch(
            format!("/api/agents/{}", bianca.id),
            json!({"inboxes": many_ids}),
        )
        .await;
    assert_eq!(huge_array.status, 400, "{}", huge_array.body);
    let too_big = admin
        .patch(
            format!("/api/tickets/{id}"),
            json!({"subject": "x".repeat(2 << 20)}),
        )
        .await;
    assert_eq!((too_big.status, too_big.code()), (413, "payload_too_large"));
    // 100,000 distinct tags within the body limit: refused at the 51st, not compared pairwise.
    let tags: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
    let many_tags = admin
        .patch(format!("/api/tickets/{id}"), json!({"tags": tags}))
        .await;
    assert_eq!(
        (many_tags.status, many_tags.code()),
        (400, "bad_request"),
        "{}",
        many_tags.body
    );

    assert_eq!(
        stored(admin, id).await,
        before,
        "nothing changed on the ticket"
    );
    assert_eq!(
        admin.get("/api/agents").await.body,
        agents_before_patch,
        "nor on the agents"
    );
    assert_ne!(agents_before, agents_before_patch);
}

#[actix_web::test]
async fn ten_thousand_frames_a_second_close_4429_without_slowing_others() {
    let o = office().start().await;
    let (server, admin) = (&o.server, &o.admin);
    let (mut flooder, _) = Ws::hello(server, admin).await;
    let (mut neighbour, _) = Ws::hello(server, admin).await;
    use futures_util::SinkExt;
    let ping = tokio_tungstenite::tungstenite::Message::text(json!({"type": "ping"}).to_string());
    for _ in 0..10_000 {
        if flooder.socket.feed(ping.clone()).await.is_err() {
            break;
        }
    }
    let _ = flooder.socket.flush().await;
    assert_eq!(flooder.closed().await, 4429);
    neighbour.send(json!({"type": "ping", "ref": "ok"})).await;
    assert_eq!(neighbour.recv().await, json!({"type": "pong", "ref": "ok"}));
}

#[actix_web::test]
async fn failed_logins_from_one_address_block_that_address() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    // Ten different login names, one address: a password-spraying attempt.
    for i in 0..10 {
        let resp = anon
            .post(
                "/api/login",
                json!({"login": format!("user{i}"), "password": "guess"}),
            )
            .await;
        assert_eq!(resp.status, 401);
    }
    let blocked = anon
        .post(
            "/api/login",
            json!({"login": "admin", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!((blocked.status, blocked.code()), (429, "rate_limited"));
    assert_eq!(blocked.body["error"]["retry_after_s"], 60);
}
