//! Exactly once and catching up (§9.6): a resent `client_id` is answered
//! with the stored message and stores nothing new, on any socket and across
//! restarts; a reconnecting widget gets what it missed.

use serde_json::{Value, json};

use super::*;

#[actix_web::test]
async fn the_same_client_id_twice_is_answered_with_the_one_stored_message() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    let first = visitor.say("Hello, I need help", "msg-1").await;
    let again = visitor.say("Hello, I need help", "msg-1").await;
    assert_eq!(again["message"], first["message"], "the stored message");
    assert_eq!(conversation(&again), conversation(&first));
    let ticket = chat.ticket_id(visitor.id()).await;
    let stored = chat.messages(&ticket, "customer").await;
    assert_eq!(stored.len(), 1, "{stored:#?}");
    assert_eq!(stored[0]["id"], first["message"]["id"]);

    // A new client_id is a new message.
    let other = visitor.say("Hello, I need help", "msg-2").await;
    assert_ne!(other["message"]["id"], first["message"]["id"]);
    assert_eq!(chat.messages(&ticket, "customer").await.len(), 2);
}

#[actix_web::test]
async fn a_resend_on_a_new_socket_after_a_lost_answer_stores_nothing_new() {
    let chat = Chat::start(desk()).await;
    let mut lost = chat.visitor().await;
    let token = lost.token().to_owned();
    let visitor = lost.id().to_owned();
    lost.send(json!({"type": "message", "body": "Is this thing on?", "client_id": "m1", "ref": 1}))
        .await;
    drop(lost); // gone before the answer could be read

    let mut again = chat.returning(&token).await;
    let answer = again.say("Is this thing on?", "m1").await;
    let ticket = chat.ticket_id(&visitor).await;
    let stored = chat.messages(&ticket, "customer").await;
    assert_eq!(stored.len(), 1, "{stored:#?}");
    assert_eq!(stored[0]["id"], answer["message"]["id"]);
    // And once more from yet another tab.
    let mut third = chat.returning(&token).await;
    assert_eq!(
        third.say("Is this thing on?", "m1").await["message"]["id"],
        answer["message"]["id"]
    );
    assert_eq!(chat.messages(&ticket, "customer").await.len(), 1);
}

#[actix_web::test]
async fn a_verified_visitor_resending_from_another_device_stores_nothing_new() {
    let chat = Chat::start(desk()).await;
    let identity = chat.channel.identity("customer-7", Some("Ola"), None);
    let hello = chat.channel.hello().identity(identity);
    let mut phone = chat.join(&hello).await;
    let sent = phone.say("Order 55 is late", "abc").await;
    let mut laptop = chat.join(&hello).await;
    let resent = laptop.say("Order 55 is late", "abc").await;
    assert_eq!(resent["message"]["id"], sent["message"]["id"]);
    let ticket = chat.ticket_id(phone.id()).await;
    assert_eq!(chat.messages(&ticket, "customer").await.len(), 1);
}

#[actix_web::test]
async fn exactly_once_holds_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = desk()
        .start_on(TestServer::start_in(dir.path(), "").await.unwrap())
        .await;
    let chat = Chat::on(d).await;
    let mut visitor = chat.visitor().await;
    let sent = visitor.say("Before the restart", "r1").await;
    let (token, visitor_id) = (visitor.token().to_owned(), visitor.id().to_owned());
    drop(visitor);
    let Chat { d, channel } = chat;
    let (admin, inbox) = (d.admin.clone(), d.inbox("Support").to_owned());
    d.server.stop();

    let server = TestServer::start_in(dir.path(), "").await.unwrap();
    let mut back = Visitor::join(&server, &channel.hello().token(&token)).await;
    assert_eq!(back.id(), visitor_id, "the token survives the restart");
    let resent = back.say("Before the restart", "r1").await;
    assert_eq!(resent["message"]["id"], sent["message"]["id"]);
    let admin = admin.on(&server);
    let tickets = admin.visitor_tickets(&inbox, &visitor_id).await;
    assert_eq!(tickets.len(), 1);
    let detail = admin
        .get(format!("/api/tickets/{}", id(&tickets[0])))
        .await
        .body;
    assert_eq!(detail["messages"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn reconnecting_with_last_message_gets_what_was_missed() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    let held = visitor.say("Can I change my address?", "c1").await;
    let token = visitor.token().to_owned();
    visitor.ws.socket.close(None).await.unwrap();
    let ticket = chat.ticket_id(visitor.id()).await;
    let bianca = chat.agent("bianca");
    let r1 = chat.post(bianca, &ticket, "reply", "Sure.").await;
    chat.post(bianca, &ticket, "note", "internal: check the courier")
        .await;
    let r2 = chat.post(bianca, &ticket, "reply", "Which address?").await;

    let back = chat
        .join(
            &chat
                .channel
                .hello()
                .token(&token)
                .last_message(message_id(&held)),
        )
        .await;
    let conv = &back.conversations()[0];
    assert_eq!(conv["id"], conversation(&held));
    assert_eq!(conv["status"], "open");
    let ids: Vec<&Value> = conv["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert!(
        ids.contains(&&r1["id"]) && ids.contains(&&r2["id"]),
        "{ids:?}"
    );
    assert!(
        !back.welcome.to_string().contains("courier"),
        "notes never: {}",
        back.welcome
    );
    let replies: Vec<&Value> = conv["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "reply")
        .collect();
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0]["signature"], "Bianca");

    // An unknown last_message counts as none: everything comes.
    let unknown = chat
        .join(
            &chat
                .channel
                .hello()
                .token(&token)
                .last_message("01a1fcb1-fa68-7345-849d-4f02be394110"),
        )
        .await;
    assert_eq!(
        unknown.conversations()[0]["messages"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}
