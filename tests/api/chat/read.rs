//! Read marks, both ways (§9.5, §9.6): the first read mark after a
//! customer message tells the visitor which message was read; the visitor's
//! `read` frame is shown to the viewers as `seen` and stored on the ticket.

use serde_json::{Value, json};

use super::*;

#[actix_web::test]
async fn an_agent_reading_tells_the_visitor_the_newest_message_read() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    visitor.say("One", "c1").await;
    let two = visitor.say("Two", "c2").await;
    let conv = conversation(&two).to_owned();
    let ticket = chat.ticket_id(visitor.id()).await;

    let read = chat
        .agent("bianca")
        .post(format!("/api/tickets/{ticket}/read"), json!({}))
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(
        visitor.recv_type("read").await,
        json!({"type": "read", "conversation": conv, "message": message_id(&two)})
    );

    // Hanna's mark is not the first since that message: nothing more.
    chat.agent("hanna")
        .post(format!("/api/tickets/{ticket}/read"), json!({}))
        .await;
    let three = visitor.say("Three", "c3").await;
    let before: Vec<Value> = visitor.sync().await;
    assert!(
        before.iter().all(|f| f["type"] != "read"),
        "only the first mark after a customer message tells: {before:?}"
    );

    // Opening the ticket is a read mark too.
    let _hanna = chat.viewer(chat.agent("hanna"), &ticket).await;
    assert_eq!(
        visitor.recv_type("read").await["message"],
        message_id(&three)
    );
    let back = chat.returning(visitor.token()).await;
    assert_eq!(back.conversations()[0]["read"], message_id(&three));
}

#[actix_web::test]
async fn an_unread_conversation_shows_no_read_mark() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    visitor.say("Anyone?", "c1").await;
    let back = chat.returning(visitor.token()).await;
    assert_eq!(back.conversations()[0]["read"], Value::Null);
}

#[actix_web::test]
async fn the_visitors_read_mark_is_shown_to_viewers_and_stored() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    let asked = visitor.say("Is it waterproof?", "c1").await;
    let conv = conversation(&asked).to_owned();
    let ticket = chat.ticket_id(visitor.id()).await;
    let mut bianca = chat.viewer(chat.agent("bianca"), &ticket).await;
    let opened = visitor_frame(&mut bianca, |_| true).await;
    assert_eq!(opened["visitor"]["seen"], Value::Null);
    let reply = chat
        .post(chat.agent("bianca"), &ticket, "reply", "Yes, up to 10 m.")
        .await;
    visitor.message(id(&reply)).await;

    visitor
        .send(json!({"type": "read", "conversation": conv, "message": reply["id"]}))
        .await;
    let seen = visitor_frame(&mut bianca, |f| !f["visitor"]["seen"].is_null()).await;
    assert_eq!(seen["visitor"]["seen"], reply["id"]);
    assert_eq!(seen["ticket"], ticket.as_str());

    let mut hanna = chat.viewer(chat.agent("hanna"), &ticket).await;
    assert_eq!(
        visitor_frame(&mut hanna, |_| true).await["visitor"]["seen"],
        reply["id"],
        "stored on the ticket"
    );
}
