//! Typing, both ways (§9.6): a visitor's typing is a flag on the `visitor`
//! frame of the agents viewing its ticket; an agent writing a public reply
//! shows the visitor a `typing` frame (named when `sign_replies` is on),
//! never for a note. Both stop after `visitor.typing_timeout_s`, and on send.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;

const QUICK: &str = "[visitor]\ntyping_timeout_s = 0.5\n";
/// A timeout no test waits for: `typing: false` must come from something else.
const SLOW: &str = "[visitor]\ntyping_timeout_s = 30\n";

/// A visitor who wrote once, and its ticket.
async fn conversation_of(chat: &Chat) -> (Visitor, String, String) {
    let mut visitor = chat.visitor().await;
    let answer = visitor.say("Hello, anyone?", "c1").await;
    let ticket = chat.ticket_id(visitor.id()).await;
    (visitor, conversation(&answer).to_owned(), ticket)
}

/// A tab of `agent` viewing `ticket`, past the `visitor` frame of the open.
async fn watching(chat: &Chat, agent: &Api, ticket: &str) -> Ws {
    let mut ws = chat.viewer(agent, ticket).await;
    let first = visitor_frame(&mut ws, |_| true).await;
    assert_eq!(first["visitor"]["typing"], false, "{first}");
    ws
}

/// An agent tab that writes a draft of `kind` on `ticket`.
async fn draft(ws: &mut Ws, ticket: &str, kind: &str, body: &str) {
    ws.send(json!({"type": "draft", "ticket": ticket, "kind": kind, "body": body}))
        .await;
}

#[actix_web::test]
async fn a_typing_visitor_is_shown_to_viewers_until_the_timeout() {
    let chat = Chat::start(desk().config(QUICK)).await;
    let (mut visitor, _, ticket) = conversation_of(&chat).await;
    let mut hanna = chat.subscriber(chat.agent("hanna")).await;
    let mut bianca = watching(&chat, chat.agent("bianca"), &ticket).await;
    visitor
        .send(json!({"type": "typing", "typing": true}))
        .await;
    let typing = visitor_frame(&mut bianca, |f| f["visitor"]["typing"] == true).await;
    let started = Instant::now();
    assert_eq!(typing["inbox"], chat.support());
    assert_eq!(typing["ticket"], ticket.as_str());
    assert_eq!(typing["visitor"]["id"], visitor.id());
    assert_eq!(typing["visitor"]["name"], visitor.name());
    assert_eq!(typing["visitor"]["state"], "online");
    assert!(
        !typing.to_string().contains("Hello, anyone"),
        "no preview of the text"
    );
    let stopped = visitor_frame(&mut bianca, |f| f["visitor"]["typing"] == false).await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "not before typing_timeout_s: {:?}",
        started.elapsed()
    );
    assert_eq!(stopped["visitor"]["state"], "online");
    assert!(
        hanna.sync().await.iter().all(|f| f["type"] != "visitor"),
        "only viewers of the ticket get visitor frames"
    );
}

#[actix_web::test]
async fn visitor_typing_stops_on_typing_false_on_send_and_on_leaving() {
    let chat = Chat::start(desk().config(SLOW)).await;
    let (mut visitor, _, ticket) = conversation_of(&chat).await;
    let mut bianca = watching(&chat, chat.agent("bianca"), &ticket).await;
    let is_typing = |f: &Value| f["visitor"]["typing"] == true;
    let not_typing = |f: &Value| f["visitor"]["typing"] == false;

    visitor
        .send(json!({"type": "typing", "typing": true}))
        .await;
    visitor_frame(&mut bianca, is_typing).await;
    visitor
        .send(json!({"type": "typing", "typing": false}))
        .await;
    visitor_frame(&mut bianca, not_typing).await;

    visitor
        .send(json!({"type": "typing", "typing": true}))
        .await;
    visitor_frame(&mut bianca, is_typing).await;
    visitor.say("Second message", "c2").await;
    visitor_frame(&mut bianca, not_typing).await;

    visitor
        .send(json!({"type": "typing", "typing": true}))
        .await;
    visitor_frame(&mut bianca, is_typing).await;
    visitor.ws.socket.close(None).await.unwrap();
    let left = visitor_frame(&mut bianca, |f| f["visitor"]["state"] == "gone").await;
    assert_eq!(left["visitor"]["typing"], false, "{left}");
}

#[actix_web::test]
async fn an_agent_writing_a_reply_shows_the_visitor_its_name_until_the_timeout() {
    let chat = Chat::start(desk().config(QUICK)).await;
    let (mut visitor, conv, ticket) = conversation_of(&chat).await;
    let (mut bianca, _) = Ws::hello(&chat.server, chat.agent("bianca")).await;
    draft(&mut bianca, &ticket, "reply", "Let me check th").await;
    let typing = visitor.recv_type("typing").await;
    let started = Instant::now();
    assert_eq!(
        typing,
        json!({"type": "typing", "conversation": conv, "agent": {"name": "Bianca"}, "typing": true})
    );
    let stopped = visitor.recv_type("typing").await;
    assert_eq!(stopped["typing"], false, "{stopped}");
    assert_eq!(stopped["conversation"], conv.as_str());
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "not before typing_timeout_s: {:?}",
        started.elapsed()
    );
}

#[actix_web::test]
async fn agent_typing_stops_when_the_reply_is_sent_or_its_draft_emptied() {
    let chat = Chat::start(desk().config(SLOW)).await;
    let (mut visitor, _, ticket) = conversation_of(&chat).await;
    let (mut bianca, _) = Ws::hello(&chat.server, chat.agent("bianca")).await;

    draft(&mut bianca, &ticket, "reply", "Let me check").await;
    assert_eq!(visitor.recv_type("typing").await["typing"], true);
    let reply = chat
        .post(
            chat.agent("bianca"),
            &ticket,
            "reply",
            "Let me check, one moment",
        )
        .await;
    assert_eq!(visitor.recv_type("typing").await["typing"], false);
    visitor.message(id(&reply)).await;

    draft(&mut bianca, &ticket, "reply", "Found it").await;
    assert_eq!(visitor.recv_type("typing").await["typing"], true);
    draft(&mut bianca, &ticket, "reply", "").await;
    assert_eq!(visitor.recv_type("typing").await["typing"], false);
}

#[actix_web::test]
async fn agent_typing_is_anonymous_when_sign_replies_is_off() {
    let chat = Chat::start(
        desk()
            .config(QUICK)
            .settings(json!({"sign_replies": false})),
    )
    .await;
    let (mut visitor, conv, ticket) = conversation_of(&chat).await;
    let (mut bianca, _) = Ws::hello(&chat.server, chat.agent("bianca")).await;
    draft(&mut bianca, &ticket, "reply", "Hm").await;
    assert_eq!(
        visitor.recv_type("typing").await,
        json!({"type": "typing", "conversation": conv, "agent": null, "typing": true})
    );
}

#[actix_web::test]
async fn note_drafts_never_show_typing() {
    let chat = Chat::start(desk().config(QUICK)).await;
    let (mut visitor, _, ticket) = conversation_of(&chat).await;
    let (mut bianca, _) = Ws::hello(&chat.server, chat.agent("bianca")).await;
    draft(&mut bianca, &ticket, "note", "Customer seems upset").await;
    draft(
        &mut bianca,
        &ticket,
        "note",
        "Customer seems upset, escalate?",
    )
    .await;
    // Past a whole typing_timeout_s: neither a start nor its end came.
    visitor.silent_for(Duration::from_millis(1200)).await;
    draft(&mut bianca, &ticket, "reply", "Sorry to hear").await;
    assert_eq!(
        visitor.recv_type("typing").await["typing"],
        true,
        "reply drafts do"
    );
}

#[actix_web::test]
async fn every_keystroke_restarts_the_typing_timeout() {
    let chat = Chat::start(desk().config(QUICK)).await;
    let (mut visitor, _, ticket) = conversation_of(&chat).await;
    let mut bianca = watching(&chat, chat.agent("bianca"), &ticket).await;
    let (mut writer, _) = Ws::hello(&chat.server, chat.agent("hanna")).await;

    // Both keep typing for twice the timeout, a keystroke every 150 ms.
    let mut text = String::new();
    for _ in 0..7 {
        text.push('x');
        draft(&mut writer, &ticket, "reply", &text).await;
        visitor
            .send(json!({"type": "typing", "typing": true}))
            .await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let last = Instant::now();
    let seen = visitor.sync().await;
    let typing: Vec<&Value> = seen.iter().filter(|f| f["type"] == "typing").collect();
    assert!(
        !typing.is_empty() && typing.iter().all(|f| f["typing"] == true),
        "no stop while she types: {typing:?}"
    );
    let shown = bianca.sync().await;
    let states: Vec<&Value> = shown
        .iter()
        .filter(|f| f["type"] == "visitor")
        .map(|f| &f["visitor"]["typing"])
        .collect();
    assert!(
        !states.is_empty() && states.iter().all(|t| **t == true),
        "no stop while the visitor types: {states:?}"
    );

    // Then both stop, a timeout after the last keystroke.
    assert_eq!(visitor.recv_type("typing").await["typing"], false);
    visitor_frame(&mut bianca, |f| f["visitor"]["typing"] == false).await;
    assert!(
        last.elapsed() >= Duration::from_millis(250),
        "{:?}",
        last.elapsed()
    );
}
