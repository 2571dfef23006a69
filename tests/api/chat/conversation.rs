//! Conversations and tickets (§9.5): the first message creates a pending
//! ticket in the channel's inbox; later messages are customer messages on it
//! with all the usual rules; an archived or deleted conversation gives way
//! to a new one.

use serde_json::{Value, json};

use super::*;

fn is_visitor_name(name: &str) -> bool {
    name.strip_prefix("Visitor ")
        .is_some_and(|digits| digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()))
}

#[actix_web::test]
async fn the_first_message_creates_a_pending_ticket_in_the_channels_inbox() {
    let chat = Chat::start(desk()).await;
    let mut tab = chat.subscriber(chat.agent("bianca")).await;
    let mut visitor = chat.visitor().await;
    let welcome = visitor.welcome.clone();
    assert!(is_visitor_name(visitor.name()), "{welcome}");
    assert_eq!(welcome["visitor"]["email"], Value::Null);
    assert!(!visitor.token().is_empty());
    assert_eq!(welcome["conversations"], json!([]));
    assert_eq!(
        welcome["channel"],
        json!({"name": "Website chat", "greeting": null, "offline_message": null, "require_identity": false})
    );

    let answer = visitor
        .say("Where is my parcel?\nI ordered it on Monday.", "c1")
        .await;
    assert_eq!(answer["ref"], "m-c1");
    let message = &answer["message"];
    assert_eq!(
        (
            message["kind"].as_str(),
            message["author"].as_str(),
            message["body"].as_str(),
            message["signature"].as_str(),
            message["client_id"].as_str(),
        ),
        (
            Some("customer"),
            Some("visitor"),
            Some("Where is my parcel?\nI ordered it on Monday."),
            None,
            Some("c1"),
        )
    );
    assert!(message["created_at"].as_str().is_some());
    assert_eq!(keys(message), VISITOR_MESSAGE_KEYS);

    let frame = tab.recv_type("ticket").await;
    assert_eq!(frame["change"]["action"], "created");
    assert_eq!(frame["change"]["by"], Value::Null);
    assert_eq!(frame["inbox"], chat.support());
    let ticket = &frame["ticket"];
    assert_eq!(ticket["status"], "pending");
    assert_eq!(ticket["inbox"], chat.support());
    assert_eq!(ticket["subject"], "Where is my parcel?", "the first line");
    assert_eq!(
        ticket["customer"],
        json!({"name": visitor.name(), "contact": "chat"})
    );
    assert_eq!(ticket["unread"], true);
    assert_eq!(
        ticket["channel"],
        json!({"id": chat.channel.id, "kind": "chat", "name": "Website chat", "visitor": visitor.id()})
    );
    let id = id(ticket);
    let messages = chat.messages(id, "customer").await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["id"], message["id"], "one message, one id");
    assert_eq!(messages[0]["author"], Value::Null);
    let history = chat.history(id).await;
    assert_eq!(history[0]["action"], "created");
    assert_eq!(history[0]["actor"], Value::Null);
    assert!(!history[0]["detail"]["channel"].is_null(), "{}", history[0]);
}

#[actix_web::test]
async fn a_long_first_line_is_cut_to_80_characters() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    let line = "é".repeat(100);
    visitor.say(&format!("{line}\nsecond line"), "c1").await;
    let subject = chat.ticket_of(visitor.id()).await["subject"]
        .as_str()
        .unwrap()
        .to_owned();
    let kept = subject.strip_suffix('…').expect("marked where it was cut");
    assert!(
        line.starts_with(kept) && (79..=80).contains(&kept.chars().count()),
        "{subject}"
    );
    assert!(subject.chars().count() <= 81);
}

#[actix_web::test]
async fn a_verified_identity_names_the_customer() {
    let chat = Chat::start(desk()).await;
    let identity = chat.channel.identity(
        "customer-42",
        Some("Maya Lindqvist"),
        Some("maya@example.net"),
    );
    let mut visitor = chat.join(&chat.channel.hello().identity(identity)).await;
    assert_eq!(visitor.name(), "Maya Lindqvist");
    assert_eq!(visitor.welcome["visitor"]["email"], "maya@example.net");
    visitor.say("Invoice question", "c1").await;
    let ticket = chat.ticket_of(visitor.id()).await;
    assert_eq!(
        ticket["customer"],
        json!({"name": "Maya Lindqvist", "contact": "maya@example.net"})
    );
}

#[actix_web::test]
async fn the_offline_e_mail_becomes_the_contact_of_a_new_conversation() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    visitor
        .send(json!({"type": "contact", "email": "jonas@example.net", "ref": "form"}))
        .await;
    let answer = visitor.answer("form").await;
    assert_eq!(answer["type"], "contact");
    assert_eq!(answer["visitor"]["id"], visitor.id());
    assert_eq!(answer["visitor"]["email"], "jonas@example.net");
    visitor.say("Please call me back", "c1").await;
    let ticket = chat.ticket_of(visitor.id()).await;
    assert_eq!(
        ticket["customer"],
        json!({"name": answer["visitor"]["name"], "contact": "jonas@example.net"})
    );
}

#[actix_web::test]
async fn later_messages_are_customer_messages_on_the_same_ticket() {
    let chat = Chat::start(desk()).await;
    let bianca = chat.agent("bianca");
    let mut visitor = chat.visitor().await;
    let first = visitor.say("Hello?", "c1").await;
    let ticket = chat.ticket_id(visitor.id()).await;
    let follow = bianca
        .post(
            format!("/api/tickets/{ticket}/followers"),
            json!({"agent": bianca.id}),
        )
        .await;
    assert!(follow.status < 300, "{}", follow.body);
    let read = bianca
        .post(format!("/api/tickets/{ticket}/read"), json!({}))
        .await;
    assert_eq!(read.body["unread"], false);
    let mut tab = chat.subscriber(bianca).await;
    tab.send(json!({"type": "draft", "ticket": ticket, "kind": "reply", "body": "Hi, "}))
        .await;
    let drafts =
        || async { bianca.get(format!("/api/tickets/{ticket}")).await.body["drafts"].clone() };
    let deadline = std::time::Instant::now() + FRAME_WAIT;
    while drafts().await.as_array().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the draft never came");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(drafts().await[0]["outdated"], false);

    let second = visitor.say("My order is #1234", "c2").await;
    assert_eq!(
        conversation(&second),
        conversation(&first),
        "the open conversation"
    );
    let [frame, notification] = &frames_of(&mut tab, &["ticket", "notification"]).await[..] else {
        unreachable!()
    };
    assert_eq!(frame["change"]["action"], "message");
    assert_eq!(frame["ticket"]["id"], ticket);
    assert_eq!(frame["ticket"]["unread"], true, "unread again");
    assert_eq!(notification["notification"]["kind"], "update");
    assert_eq!(notification["notification"]["by"], Value::Null);

    let messages = chat.messages(&ticket, "customer").await;
    let bodies: Vec<&Value> = messages.iter().map(|m| &m["body"]).collect();
    assert_eq!(bodies, [&json!("Hello?"), &json!("My order is #1234")]);
    assert_eq!(messages[1]["id"], second["message"]["id"]);
    assert_eq!(chat.ticket_of(visitor.id()).await["id"], ticket.as_str());
    let mine = bianca.get(format!("/api/tickets/{ticket}")).await.body;
    assert_eq!(mine["unread"], true);
    assert_eq!(
        mine["drafts"][0]["outdated"], true,
        "drafts become outdated"
    );
}

#[actix_web::test]
async fn a_message_reopens_a_resolved_conversation() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    let first = visitor.say("Broken zipper", "c1").await;
    let conv = conversation(&first).to_owned();
    let ticket = chat.ticket_id(visitor.id()).await;
    let resolved = chat
        .agent("bianca")
        .post(format!("/api/tickets/{ticket}/resolve"), json!({}))
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.body);
    let frame = visitor.recv_type("conversation").await;
    assert_eq!(frame["conversation"]["id"], conv.as_str());
    assert_eq!(frame["conversation"]["status"], "resolved");
    assert_eq!(frame["conversation"]["messages"], json!([]));

    let again = visitor.say("Still broken, sorry", "c2").await;
    assert_eq!(
        conversation(&again),
        conv,
        "a resolved conversation is still open"
    );
    let reopened = visitor.recv_type("conversation").await;
    assert_eq!(reopened["conversation"]["status"], "open");
    let detail = chat.detail(&ticket).await;
    assert_eq!(detail["status"], "pending", "no assignee: pending");
    let history = chat.history(&ticket).await;
    let last = history.last().unwrap();
    assert_eq!(
        (&last["action"], &last["actor"], &last["detail"]),
        (
            &json!("status_changed"),
            &Value::Null,
            &json!({"from": "resolved", "to": "pending"})
        )
    );
}

#[actix_web::test]
async fn an_archived_conversation_is_closed_and_the_next_message_starts_a_new_one() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    let first = visitor.say("First question", "c1").await;
    let old_conv = conversation(&first).to_owned();
    let old_ticket = chat.ticket_id(visitor.id()).await;
    let archived = chat
        .agent("bianca")
        .post(format!("/api/tickets/{old_ticket}/archive"), json!({}))
        .await;
    assert_eq!(archived.status, 200, "{}", archived.body);
    let frame = visitor.recv_type("conversation").await;
    assert_eq!(
        (
            frame["conversation"]["id"].as_str(),
            frame["conversation"]["status"].as_str()
        ),
        (Some(old_conv.as_str()), Some("closed"))
    );

    let next = visitor.say("Another question", "c2").await;
    let new_conv = conversation(&next).to_owned();
    assert_ne!(new_conv, old_conv, "a new conversation");
    let new_ticket = chat.ticket_id(visitor.id()).await;
    assert_ne!(new_ticket, old_ticket);
    let new = chat.detail(&new_ticket).await;
    assert_eq!(new["status"], "pending");
    assert_eq!(new["subject"], "Another question");
    let old = chat.detail(&old_ticket).await;
    assert_eq!(old["status"], "archived", "the old ticket stays archived");
    assert_eq!(old["messages"].as_array().unwrap().len(), 1);

    let back = chat.returning(visitor.token()).await;
    let statuses: Vec<(&Value, &Value)> = back
        .conversations()
        .iter()
        .map(|c| (&c["id"], &c["status"]))
        .collect();
    assert_eq!(
        statuses,
        [
            (&json!(new_conv), &json!("open")),
            (&json!(old_conv), &json!("closed"))
        ],
        "newest first"
    );
}

#[actix_web::test]
async fn a_deleted_conversation_disappears_and_the_next_message_starts_a_new_one() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    let first = visitor.say("Spam, please delete", "c1").await;
    let ticket = chat.ticket_id(visitor.id()).await;
    let deleted = chat.admin.delete(format!("/api/tickets/{ticket}")).await;
    assert!(deleted.status < 300, "{}", deleted.body);
    let next = visitor.say("A real question", "c2").await;
    assert_ne!(conversation(&next), conversation(&first));
    assert_ne!(chat.ticket_id(visitor.id()).await, ticket);
    let back = chat.returning(visitor.token()).await;
    let ids: Vec<&Value> = back.conversations().iter().map(|c| &c["id"]).collect();
    assert_eq!(ids, [&json!(conversation(&next))]);
}

#[actix_web::test]
async fn the_welcome_lists_at_most_20_conversations_and_200_messages_each() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    let mut conversations = Vec::new();
    for n in 0..21 {
        let answer = visitor
            .say(&format!("Question {n}"), &format!("q{n}"))
            .await;
        conversations.push(conversation(&answer).to_owned());
        if n < 20 {
            let ticket = chat.ticket_id(visitor.id()).await;
            let archived = chat
                .admin
                .post(format!("/api/tickets/{ticket}/archive"), json!({}))
                .await;
            assert_eq!(archived.status, 200, "{}", archived.body);
            visitor.recv_type("conversation").await;
        }
    }
    let ticket = chat.ticket_id(visitor.id()).await;
    visitor.ws.socket.close(None).await.unwrap();
    let mut last = Value::Null;
    for n in 0..200 {
        last = chat
            .post(&chat.admin, &ticket, "reply", &format!("Answer {n}"))
            .await;
    }

    let back = chat.returning(visitor.token()).await;
    let listed: Vec<&str> = back
        .conversations()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let newest_first: Vec<&str> = conversations
        .iter()
        .rev()
        .take(20)
        .map(String::as_str)
        .collect();
    assert_eq!(listed, newest_first, "the newest 20, newest first");
    assert_eq!(back.conversations()[0]["status"], "open");
    let messages = back.conversations()[0]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 200, "the newest 200");
    assert!(messages.iter().any(|m| m["id"] == last["id"]));
    assert!(
        messages.iter().all(|m| m["body"] != "Question 20"),
        "the oldest one is left out"
    );
}
