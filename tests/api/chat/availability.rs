//! Availability and the visitor's state (§9.6): a visitor is told whether a
//! visible agent of the inbox is subscribed; nobody online means the offline
//! form, whose e-mail becomes the conversation's contact; agents viewing a
//! chat ticket see the visitor online, away or gone.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;

fn availability(online: bool) -> Value {
    json!({"type": "availability", "online": online})
}

#[actix_web::test]
async fn nobody_is_online_until_a_visible_member_subscribes_to_the_inbox() {
    let chat = Chat::start(desk().inbox("Sales").agent("sam", &["Sales"])).await;
    let mut visitor = chat.visitor().await;
    assert_eq!(visitor.welcome["online"], false, "no agents at all");

    // Someone subscribed to another inbox does not count.
    let (mut sam, _) = Ws::hello(&chat.server, chat.agent("sam")).await;
    sam.subscribe(chat.inbox("Sales")).await;
    // Neither does a session of a Support member that is not subscribed.
    let (_hanna, _) = Ws::hello(&chat.server, chat.agent("hanna")).await;
    assert_eq!(chat.visitor().await.welcome["online"], false);

    let mut bianca = chat.subscriber(chat.agent("bianca")).await;
    assert_eq!(visitor.recv_type("availability").await, availability(true));
    assert_eq!(chat.visitor().await.welcome["online"], true);

    bianca
        .send(json!({"type": "visibility", "hidden": true}))
        .await;
    assert_eq!(
        visitor.recv_type("availability").await,
        availability(false),
        "a hidden tab cannot answer"
    );
    assert_eq!(chat.visitor().await.welcome["online"], false);
    bianca
        .send(json!({"type": "visibility", "hidden": false}))
        .await;
    assert_eq!(visitor.recv_type("availability").await, availability(true));

    bianca.send(json!({"type": "leave"})).await;
    assert_eq!(visitor.recv_type("availability").await, availability(false));
    bianca.subscribe(chat.support()).await;
    assert_eq!(visitor.recv_type("availability").await, availability(true));
    bianca.socket.close(None).await.unwrap();
    assert_eq!(
        visitor.recv_type("availability").await,
        availability(false),
        "the last one left"
    );
}

#[actix_web::test]
async fn an_agent_whose_socket_is_lost_cannot_answer_until_it_resumes() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    let (mut bianca, welcome) = Ws::hello(&chat.server, chat.agent("bianca")).await;
    bianca.subscribe(chat.support()).await;
    assert_eq!(visitor.recv_type("availability").await, availability(true));

    // Lost without a close frame: the session waits for a resume, but nobody answers meanwhile.
    drop(bianca);
    assert_eq!(visitor.recv_type("availability").await, availability(false));

    let mut again = Ws::connect(&chat.server).await;
    again
        .send(json!({"type": "hello", "token": chat.agent("bianca").token, "resume": welcome["session"]}))
        .await;
    assert_eq!(again.recv().await["resumed"], true);
    assert_eq!(
        visitor.recv_type("availability").await,
        availability(true),
        "the resumed session attends its inbox again"
    );
}

#[actix_web::test]
async fn agents_viewing_the_ticket_see_the_visitor_online_away_or_gone() {
    let chat = Chat::start(desk()).await;
    let mut first_tab = chat.visitor().await;
    first_tab.say("Quick question", "c1").await;
    let ticket = chat.ticket_id(first_tab.id()).await;
    let mut bianca = chat.viewer(chat.agent("bianca"), &ticket).await;
    let opened = visitor_frame(&mut bianca, |_| true).await;
    assert_eq!(
        opened,
        json!({
            "type": "visitor", "inbox": chat.support(), "ticket": ticket,
            "visitor": {"id": first_tab.id(), "name": first_tab.name(), "state": "online",
                        "typing": false, "seen": null},
        }),
        "sent when the ticket is opened"
    );
    let state = |s: &'static str| move |f: &Value| f["visitor"]["state"] == s;

    first_tab
        .send(json!({"type": "visibility", "hidden": true}))
        .await;
    visitor_frame(&mut bianca, state("away")).await;
    let mut second_tab = chat
        .join(&chat.channel.hello().token(first_tab.token()).hidden(true))
        .await;
    first_tab
        .send(json!({"type": "visibility", "hidden": false}))
        .await;
    visitor_frame(&mut bianca, state("online")).await;
    first_tab.socket.close(None).await.unwrap();
    visitor_frame(&mut bianca, state("away")).await;
    second_tab
        .send(json!({"type": "visibility", "hidden": false}))
        .await;
    visitor_frame(&mut bianca, state("online")).await;
    second_tab.socket.close(None).await.unwrap();
    let gone = visitor_frame(&mut bianca, state("gone")).await;
    assert_eq!(gone["visitor"]["id"], first_tab.id());

    // Someone opening the ticket now sees it gone.
    let mut hanna = chat.viewer(chat.agent("hanna"), &ticket).await;
    assert_eq!(
        visitor_frame(&mut hanna, |_| true).await["visitor"]["state"],
        "gone"
    );
}

#[actix_web::test]
async fn the_offline_form_sets_the_contact_of_the_open_conversation() {
    let chat = Chat::start(desk()).await;
    chat.admin
        .patch(
            chat.channel.path(""),
            json!({"offline_message": "We are away. Leave your e-mail."}),
        )
        .await;
    let mut visitor = chat.visitor().await;
    assert_eq!(visitor.welcome["online"], false);
    assert_eq!(
        visitor.welcome["channel"]["offline_message"],
        "We are away. Leave your e-mail."
    );
    visitor.say("Do you repair bikes?", "c1").await;
    let ticket = chat.ticket_id(visitor.id()).await;
    assert_eq!(chat.detail(&ticket).await["customer"]["contact"], "chat");

    visitor
        .send(
            json!({"type": "contact", "email": "maya@example.net", "name": "Maya", "ref": "form"}),
        )
        .await;
    let answer = visitor.answer("form").await;
    assert_eq!(answer["type"], "contact", "{answer}");
    assert_eq!(answer["visitor"]["id"], visitor.id());
    assert_eq!(answer["visitor"]["email"], "maya@example.net");
    let deadline = std::time::Instant::now() + FRAME_WAIT;
    while chat.detail(&ticket).await["customer"]["contact"] != "maya@example.net" {
        assert!(
            std::time::Instant::now() < deadline,
            "the contact never changed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let history = chat.history(&ticket).await;
    let last = history.last().unwrap();
    assert_eq!(
        (&last["action"], &last["actor"]),
        (&json!("fields_changed"), &Value::Null),
        "{last}"
    );

    // A second address updates the visitor, not a contact that is no longer "chat".
    visitor
        .send(json!({"type": "contact", "email": "maya@work.example", "ref": "again"}))
        .await;
    assert_eq!(
        visitor.answer("again").await["visitor"]["email"],
        "maya@work.example"
    );
    let back = chat.returning(visitor.token()).await;
    assert_eq!(back.welcome["visitor"]["email"], "maya@work.example");
    assert_eq!(
        chat.detail(&ticket).await["customer"]["contact"],
        "maya@example.net"
    );
    assert_eq!(chat.history(&ticket).await.len(), history.len());
}
