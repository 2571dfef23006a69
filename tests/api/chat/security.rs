//! The visitor socket's defences (§9.6): origins, the hello, heartbeats,
//! frame size and rate, socket caps per visitor and per address, no access
//! to other conversations, bad frames that change nothing, and bodies kept
//! as text.

use std::time::Duration;

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::*;

#[actix_web::test]
async fn the_upgrade_needs_an_origin_that_an_enabled_channel_allows() {
    let chat = Chat::start(desk()).await;
    assert_eq!(
        upgrade(&chat.server, None).await.err(),
        Some(403),
        "no Origin"
    );
    for origin in [
        "https://evil.example",
        "http://shop.example",
        "https://shop.example:8443",
    ] {
        assert_eq!(
            upgrade(&chat.server, Some(origin)).await.err(),
            Some(403),
            "{origin}"
        );
    }
    chat.visitor().await;
    let own = own_origin(&chat.server);
    chat.join(&chat.channel.hello().origin(Some(&own))).await;

    // An origin another channel allows opens a socket, but not for this channel.
    chat.admin
        .create_channel(json!({
            "kind": "chat", "inbox": chat.support(), "name": "Other shop",
            "allowed_origins": ["https://other.example"],
        }))
        .await;
    let hello = chat.channel.hello().origin(Some("https://other.example"));
    assert_eq!(Visitor::refused(&chat.server, &hello).await, 4403);
}

#[actix_web::test]
async fn the_first_frame_must_be_a_valid_hello_in_time() {
    let chat = Chat::start(desk()).await;
    let mut silent = upgrade(&chat.server, Some(SHOP)).await.unwrap();
    assert_eq!(silent.closed().await, 4408, "hello_timeout_s");

    let admin_token = chat.admin.token.clone().unwrap();
    let invalid = [
        "{not json".to_owned(),
        json!({"type": "ping", "ref": 1}).to_string(),
        json!({"type": "message", "body": "hi", "client_id": "c1"}).to_string(),
        json!({"type": "hello", "visitor_token": null}).to_string(),
        json!({"type": "hello", "token": admin_token}).to_string(),
    ];
    for first in invalid {
        let mut ws = upgrade(&chat.server, Some(SHOP)).await.unwrap();
        ws.send_raw(Message::text(first.clone())).await;
        assert_eq!(ws.closed().await, 4401, "{first}");
    }
    let unknown = Hello::new("ck_00000000000000000000");
    assert_eq!(Visitor::refused(&chat.server, &unknown).await, 4403);
    assert!(
        chat.admin
            .get(format!("/api/inboxes/{}/tickets", chat.support()))
            .await
            .body["tickets"]
            == json!([])
    );
}

#[actix_web::test]
async fn a_silent_visitor_is_closed_after_three_heartbeats() {
    let chat = Chat::start(desk()).await;
    let mut frozen = raw_visitor(&chat.server, SHOP).await;
    frozen
        .send_text(&chat.channel.hello().frame.to_string())
        .await;
    let started = std::time::Instant::now();
    assert_eq!(frozen.close_code().await, 1001);
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "closed after {:?}",
        started.elapsed()
    );
}

#[actix_web::test]
async fn oversized_frames_close_1009() {
    let chat = Chat::start(desk().config("[visitor]\nmax_frame_bytes = 2048\n")).await;
    let mut visitor = chat.visitor().await;
    visitor.say(&"a".repeat(1500), "fits").await;
    visitor
        .send(json!({"type": "message", "body": "b".repeat(3000), "client_id": "big"}))
        .await;
    assert_eq!(visitor.closed().await, 1009);

    let mut first = upgrade(&chat.server, Some(SHOP)).await.unwrap();
    let mut hello = chat.channel.hello().frame;
    hello["pad"] = json!("x".repeat(3000));
    first.send(hello).await;
    assert_eq!(first.closed().await, 1009, "even the hello");
    let ticket = chat.ticket_id(visitor.id()).await;
    assert_eq!(chat.messages(&ticket, "customer").await.len(), 1);
}

#[actix_web::test]
async fn too_many_frames_too_fast_close_4429() {
    let chat = Chat::start(desk().config("[visitor]\nframes_per_s = 5\nframes_burst = 5\n")).await;
    let mut visitor = chat.visitor().await;
    for i in 0..30 {
        visitor.send(json!({"type": "ping", "ref": i})).await;
    }
    assert_eq!(visitor.closed().await, 4429);
}

#[actix_web::test]
async fn one_visitor_holds_at_most_max_sockets_per_visitor() {
    let chat = Chat::start(desk().config("[visitor]\nmax_sockets_per_visitor = 2\n")).await;
    let mut first = chat.visitor().await;
    let token = first.token().to_owned();
    let _second = chat.returning(&token).await;
    let third = chat.channel.hello().token(&token);
    assert_eq!(Visitor::refused(&chat.server, &third).await, 4409);
    chat.visitor().await; // another visitor is not affected

    first.ws.socket.close(None).await.unwrap();
    let deadline = std::time::Instant::now() + FRAME_WAIT;
    loop {
        let mut ws = upgrade(&chat.server, Some(SHOP)).await.unwrap();
        ws.send(third.frame.clone()).await;
        if ws.recv_or_close().await.is_ok() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the closed tab never freed its place"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn one_address_holds_at_most_max_sockets_per_address() {
    let chat = Chat::start(desk().config("[visitor]\nmax_sockets_per_address = 2\n")).await;
    let first = chat.visitor().await;
    let _second = upgrade(&chat.server, Some(SHOP)).await.unwrap();
    assert_eq!(upgrade(&chat.server, Some(SHOP)).await.err(), Some(429));
    // Agents' sockets are counted apart.
    Ws::hello(&chat.server, chat.agent("bianca")).await;

    let mut first = first.ws;
    first.socket.close(None).await.unwrap();
    let deadline = std::time::Instant::now() + FRAME_WAIT;
    while upgrade(&chat.server, Some(SHOP)).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the closed socket never freed its place"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn a_visitor_cannot_read_or_write_another_conversation() {
    let chat = Chat::start(desk()).await;
    let mut maya = chat.visitor().await;
    let asked = maya.say("Private: my card was charged twice", "c1").await;
    let conv = conversation(&asked).to_owned();
    let ticket = chat.ticket_id(maya.id()).await;
    let mut bianca = chat.viewer(chat.agent("bianca"), &ticket).await;
    visitor_frame(&mut bianca, |_| true).await;
    // Opening it was the first read mark since her message.
    assert_eq!(
        maya.recv_type("read").await["message"],
        asked["message"]["id"]
    );
    let reply = chat
        .post(chat.agent("bianca"), &ticket, "reply", "Refunded.")
        .await;
    maya.message(id(&reply)).await;

    let mut jonas = chat.visitor().await;
    jonas
        .send(json!({"type": "read", "conversation": conv, "message": reply["id"]}))
        .await;
    let refused = jonas.recv_type("error").await;
    assert!(
        !refused.to_string().contains("Refunded"),
        "nothing of it leaks: {refused}"
    );
    // Naming a conversation to write to is not a thing; it never reaches Maya's.
    jonas
        .send(json!({
            "type": "message", "body": "Let me in", "client_id": "x1", "conversation": conv, "ref": "w",
        }))
        .await;
    let written = jonas.answer("w").await;
    if written["type"] == "message" {
        assert_ne!(conversation(&written), conv);
    }
    assert_eq!(chat.messages(&ticket, "customer").await.len(), 1);
    assert!(
        bianca
            .sync()
            .await
            .iter()
            .all(|f| f["type"] != "visitor" || f["visitor"]["seen"].is_null()),
        "Maya's seen mark did not change"
    );
    let mut hanna = chat.viewer(chat.agent("hanna"), &ticket).await;
    assert_eq!(
        visitor_frame(&mut hanna, |_| true).await["visitor"]["seen"],
        Value::Null
    );
    assert!(
        maya.sync()
            .await
            .iter()
            .all(|f| f["type"] != "message" && f["type"] != "read")
    );
}

#[actix_web::test]
async fn bad_frames_get_errors_and_change_nothing() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    visitor
        .send_raw(Message::text("{definitely not json"))
        .await;
    let error = visitor.recv_type("error").await;
    assert_eq!(
        (error["code"].as_str(), &error["ref"]),
        (Some("bad_request"), &Value::Null),
        "{error}"
    );
    let long_id = "x".repeat(65);
    let refused = [
        json!({"type": "teleport", "ref": "r1"}),
        json!({"type": "subscribe", "inbox": chat.support(), "ref": "r2"}),
        json!({"type": "open", "ticket": chat.support(), "ref": "r3"}),
        json!({"type": "message", "body": "   \n ", "client_id": "c1", "ref": "r4"}),
        json!({"type": "message", "body": "hi", "ref": "r5"}),
        json!({"type": "message", "body": "hi", "client_id": "", "ref": "r6"}),
        json!({"type": "message", "body": "hi", "client_id": long_id, "ref": "r7"}),
        json!({"type": "message", "body": "hi", "client_id": "tab\tone", "ref": "r8"}),
        json!({"type": "message", "body": "hi", "client_id": "ünï", "ref": "r9"}),
        json!({"type": "message", "body": 42, "client_id": "c2", "ref": "r10"}),
        json!({"type": "contact", "email": "not an e-mail", "ref": "r11"}),
        json!({"type": "contact", "ref": "r12"}),
    ];
    for frame in refused {
        visitor.send(frame.clone()).await;
        let reference = frame["ref"].as_str().unwrap();
        let answer = visitor.answer(reference).await;
        assert_eq!(
            (answer["type"].as_str(), answer["code"].as_str()),
            (Some("error"), Some("bad_request")),
            "{frame} → {answer}"
        );
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    visitor.send(json!({"type": "ping", "ref": "alive"})).await;
    assert_eq!(
        visitor.answer("alive").await,
        json!({"type": "pong", "ref": "alive"}),
        "the socket stays open"
    );
    assert_eq!(
        chat.admin
            .get(format!("/api/inboxes/{}/tickets", chat.support()))
            .await
            .body["tickets"],
        json!([]),
        "nothing was created"
    );
    let back = chat.returning(visitor.token()).await;
    assert_eq!(back.welcome["visitor"]["email"], Value::Null);
    // A frame at the limits is fine: 64 printable ASCII characters.
    let mut visitor = back;
    let edge = "~!".repeat(32);
    visitor.say("hi", &edge).await;
}

#[actix_web::test]
async fn markup_is_stored_and_sent_verbatim_as_text() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    let body = "<script>alert(\"hi\")</script> & <b>bold</b> &amp;";
    let answer = visitor.say(body, "c1").await;
    assert_eq!(answer["message"]["body"], body);
    let ticket = chat.ticket_of(visitor.id()).await;
    assert_eq!(ticket["subject"], body, "one line: the whole subject");
    let stored = chat.messages(id(&ticket), "customer").await;
    assert_eq!(stored[0]["body"], body);
    let back = chat.returning(visitor.token()).await;
    assert_eq!(back.conversations()[0]["messages"][0]["body"], body);
}
