//! Agents' replies reach the visitor (§9.5): public replies when they are
//! sent, on every socket of that visitor, signed as `sign_replies` says;
//! scheduled replies at their send time; never notes or waiting replies,
//! and never another visitor.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;

/// The `message` frames among `frames`.
fn messages(frames: &[Value]) -> Vec<&Value> {
    frames.iter().filter(|f| f["type"] == "message").collect()
}

#[actix_web::test]
async fn a_public_reply_reaches_every_socket_of_its_visitor_signed() {
    let chat = Chat::start(desk()).await;
    let mut tab = chat.visitor().await;
    let first = tab.say("Do you ship to Norway?", "c1").await;
    let conv = conversation(&first).to_owned();
    let mut other_tab = chat.returning(tab.token()).await;
    assert_eq!(other_tab.id(), tab.id());
    assert_eq!(other_tab.conversations()[0]["id"], conv.as_str());

    // The visitor's own message from one tab reaches its other tab, without ref.
    let second = tab.say("To Tromsø, precisely", "c2").await;
    let echoed = other_tab.message(message_id(&second)).await;
    assert_eq!(echoed.get("ref"), None, "{echoed}");
    assert_eq!(echoed["message"]["client_id"], "c2");

    let ticket = chat.ticket_id(tab.id()).await;
    let reply = chat
        .post(chat.agent("bianca"), &ticket, "reply", "Yes, we do!")
        .await;
    let reply_id = id(&reply);
    for socket in [&mut tab, &mut other_tab] {
        let frame = socket.message(reply_id).await;
        assert_eq!(frame.get("ref"), None);
        assert_eq!(frame["conversation"], conv.as_str());
        let message = &frame["message"];
        assert_eq!(
            (
                message["kind"].as_str(),
                message["author"].as_str(),
                message["body"].as_str(),
                message["signature"].as_str(),
                &message["client_id"],
            ),
            (
                Some("reply"),
                Some("agent"),
                Some("Yes, we do!"),
                Some("Bianca"),
                &Value::Null,
            )
        );
        assert_eq!(
            keys(message),
            VISITOR_MESSAGE_KEYS,
            "a VisitorMessage, not an agent Message"
        );
        assert!(
            !frame.to_string().contains(&chat.agent("bianca").id),
            "no agent ids: {frame}"
        );
    }
}

#[actix_web::test]
async fn the_signature_is_null_when_sign_replies_is_off() {
    let chat = Chat::start(desk().settings(json!({"sign_replies": false}))).await;
    let mut visitor = chat.visitor().await;
    visitor.say("Hello", "c1").await;
    let ticket = chat.ticket_id(visitor.id()).await;
    let reply = chat
        .post(chat.agent("bianca"), &ticket, "reply", "Hi!")
        .await;
    let frame = visitor.message(id(&reply)).await;
    assert_eq!(frame["message"]["signature"], Value::Null);
    assert_eq!(frame["message"]["author"], "agent");

    chat.admin
        .patch("/api/settings", json!({"sign_replies": true}))
        .await;
    let signed = chat
        .post(chat.agent("hanna"), &ticket, "reply", "Anything else?")
        .await;
    let frame = visitor.message(id(&signed)).await;
    assert_eq!(frame["message"]["signature"], "Hanna");
}

#[actix_web::test]
async fn a_scheduled_reply_reaches_the_visitor_at_its_send_time() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    visitor.say("When do you open?", "c1").await;
    let ticket = chat.ticket_id(visitor.id()).await;
    let scheduled = chat
        .agent("bianca")
        .post(
            format!("/api/tickets/{ticket}/messages"),
            json!({"kind": "reply", "body": "At nine.", "send_at": in_ms(800)}),
        )
        .await;
    assert_eq!(scheduled.body["state"], "scheduled", "{}", scheduled.body);
    let started = Instant::now();
    assert!(
        messages(&visitor.sync().await).is_empty(),
        "not while it waits"
    );
    let frame = visitor.message(id(&scheduled.body)).await;
    assert!(
        started.elapsed() > Duration::from_millis(400),
        "not before its time"
    );
    assert_eq!(frame["message"]["body"], "At nine.");
    assert_eq!(frame["message"]["signature"], "Bianca");
    // Sent once.
    visitor.say("Thanks", "c2").await;
    assert!(
        messages(&visitor.sync().await)
            .iter()
            .all(|f| f["message"]["id"] != scheduled.body["id"])
    );
}

#[actix_web::test]
async fn notes_and_waiting_replies_never_reach_the_visitor() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    let asked = visitor.say("Is the blue one in stock?", "c1").await;
    let ticket = chat.ticket_id(visitor.id()).await;
    let bianca = chat.agent("bianca");
    chat.post(
        bianca,
        &ticket,
        "note",
        "@hanna can you check the warehouse?",
    )
    .await;
    let waiting = bianca
        .post(
            format!("/api/tickets/{ticket}/messages"),
            json!({"kind": "reply", "body": "Following up", "send_at": in_ms(3_600_000)}),
        )
        .await;
    assert_eq!(waiting.status, 200, "{}", waiting.body);
    let reply = chat.post(bianca, &ticket, "reply", "Yes, two left.").await;

    let first = visitor.recv_type("message").await;
    assert_eq!(first["message"]["id"], reply["id"], "the reply comes first");
    assert!(messages(&visitor.sync().await).is_empty(), "and alone");

    let back = chat.returning(visitor.token()).await;
    let mut seen: Vec<&Value> = back.conversations()[0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    seen.sort_by_key(|id| id.as_str());
    let mut expected = vec![&asked["message"]["id"], &reply["id"]];
    expected.sort_by_key(|id| id.as_str());
    assert_eq!(seen, expected, "only public, sent messages");
    let text = back.welcome.to_string();
    assert!(
        !text.contains("warehouse") && !text.contains("Following up"),
        "{text}"
    );
}

#[actix_web::test]
async fn another_visitor_hears_nothing_of_the_conversation() {
    let chat = Chat::start(desk()).await;
    let mut maya = chat.visitor().await;
    let mut jonas = chat.visitor().await;
    assert_ne!(maya.id(), jonas.id());
    maya.say("My password is hunter2", "c1").await;
    let ticket = chat.ticket_id(maya.id()).await;
    let reply = chat
        .post(
            chat.agent("bianca"),
            &ticket,
            "reply",
            "Please never share it",
        )
        .await;
    maya.message(id(&reply)).await;
    let frames = jonas.sync().await;
    assert!(
        frames
            .iter()
            .all(|f| f["type"] != "message" && f["type"] != "typing" && f["type"] != "read"),
        "{frames:?}"
    );
    let back = chat.returning(jonas.token()).await;
    assert!(back.conversations().is_empty(), "{}", back.welcome);
    assert!(!back.welcome.to_string().contains("hunter2"));
}

#[actix_web::test]
async fn an_admins_customer_message_over_rest_reaches_the_visitor() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    visitor.say("Hello", "c1").await;
    let ticket = chat.ticket_id(visitor.id()).await;
    let posted = chat
        .post(
            &chat.admin,
            &ticket,
            "customer",
            "Added by phone: order #77",
        )
        .await;
    let frame = visitor.message(id(&posted)).await;
    assert_eq!(frame["message"]["kind"], "customer");
    assert_eq!(frame["message"]["body"], "Added by phone: order #77");
}
