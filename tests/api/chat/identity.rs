//! Visitor identity (§9.4): anonymous visitors return with their token; a
//! verified identifier is one visitor on every device; a bad hash or a
//! missing required identity closes `4401` and creates nothing.

use serde_json::json;

use super::*;

#[actix_web::test]
async fn a_returning_visitor_continues_its_conversation_with_its_token() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    let sent = visitor.say("I will be back", "c1").await;
    visitor.ws.socket.close(None).await.unwrap();
    let back = chat.returning(visitor.token()).await;
    assert_eq!(back.id(), visitor.id());
    assert_eq!(back.name(), visitor.name(), "the name is chosen once");
    let conv = &back.conversations()[0];
    assert_eq!(conv["id"], conversation(&sent));
    assert_eq!(conv["status"], "open");
    assert_eq!(conv["messages"][0]["id"], sent["message"]["id"]);
    assert_eq!(conv["messages"][0]["client_id"], "c1");
    assert_eq!(conv["messages"][0]["author"], "visitor");
    assert_eq!(back.conversations().len(), 1);
    assert_eq!(
        keys(conv),
        ["created_at", "id", "messages", "read", "status"],
        "a Conversation"
    );
}

#[actix_web::test]
async fn an_unknown_or_foreign_token_gets_a_new_visitor() {
    let chat = Chat::start(desk()).await;
    let mut known = chat.visitor().await;
    known.say("Mine", "c1").await;

    let unknown = chat.returning("no-such-token").await;
    assert_ne!(unknown.id(), known.id());
    assert_ne!(unknown.token(), "no-such-token", "a new token");
    assert!(unknown.conversations().is_empty());

    let other = chat
        .admin
        .create_channel(json!({
            "kind": "chat", "inbox": chat.support(), "name": "Other shop",
            "allowed_origins": [SHOP],
        }))
        .await;
    let other = Channel::from_json(other.body);
    let foreign = chat.join(&other.hello().token(known.token())).await;
    assert_ne!(foreign.id(), known.id(), "a token of another channel");
    assert!(foreign.conversations().is_empty());
}

#[actix_web::test]
async fn a_verified_identity_is_the_same_visitor_on_every_device() {
    let chat = Chat::start(desk()).await;
    let maya = chat.channel.identity("customer-42", Some("Maya"), None);
    let mut phone = chat
        .join(&chat.channel.hello().identity(maya.clone()))
        .await;
    let mut laptop = chat
        .join(&chat.channel.hello().identity(maya.clone()))
        .await;
    assert_eq!(laptop.id(), phone.id());
    let sent = phone.say("Sent from my phone", "p1").await;
    let echoed = laptop.message(message_id(&sent)).await;
    assert_eq!(echoed["conversation"], conversation(&sent));
    assert_eq!(echoed.get("ref"), None);

    // A stranger's token is ignored next to a verified identity.
    let stranger = chat.visitor().await;
    let tablet = chat
        .join(&chat.channel.hello().identity(maya).token(stranger.token()))
        .await;
    assert_eq!(tablet.id(), phone.id());
    assert_eq!(tablet.conversations()[0]["id"], conversation(&sent));

    // Another identifier is another visitor.
    let other = chat
        .join(
            &chat
                .channel
                .hello()
                .identity(chat.channel.identity("customer-43", None, None)),
        )
        .await;
    assert_ne!(other.id(), phone.id());
}

#[actix_web::test]
async fn a_verified_hello_updates_the_visitors_name_and_email() {
    let chat = Chat::start(desk()).await;
    let maya = chat.channel.identity("customer-42", Some("Maya"), None);
    let phone = chat.join(&chat.channel.hello().identity(maya)).await;
    assert_eq!(phone.name(), "Maya");
    // The phone stays connected while the desktop says who she is now.
    let renamed = chat.channel.identity(
        "customer-42",
        Some("Maya Lindqvist"),
        Some("maya@example.net"),
    );
    let mut desktop = chat.join(&chat.channel.hello().identity(renamed)).await;
    assert_eq!(
        desktop.welcome["visitor"],
        json!({"id": phone.id(), "name": "Maya Lindqvist", "email": "maya@example.net"})
    );
    desktop.say("New address, same me", "d1").await;
    assert_eq!(
        chat.ticket_of(phone.id()).await["customer"],
        json!({"name": "Maya Lindqvist", "contact": "maya@example.net"})
    );
}

#[actix_web::test]
async fn a_bad_identity_hash_closes_4401_and_creates_nothing() {
    let chat = Chat::start(desk()).await;
    let secret = chat.channel.secret.clone();
    let forged = [
        identifier_hash(&secret, "customer-43"),
        identifier_hash(&"0".repeat(64), "customer-42"),
        "zz".to_owned(),
        String::new(),
    ];
    for hash in forged {
        let identity =
            json!({"identifier": "customer-42", "name": "Mallory", "identifier_hash": hash});
        let hello = chat.channel.hello().identity(identity);
        assert_eq!(Visitor::refused(&chat.server, &hello).await, 4401, "{hash}");
    }
    // Never an anonymous visitor instead: the real one starts fresh.
    let real = chat
        .join(
            &chat
                .channel
                .hello()
                .identity(chat.channel.identity("customer-42", None, None)),
        )
        .await;
    assert!(real.conversations().is_empty());
    assert_ne!(real.name(), "Mallory", "the forged name was not stored");
    let list = chat
        .admin
        .get(format!("/api/inboxes/{}/tickets", chat.support()))
        .await;
    assert_eq!(list.body["tickets"], json!([]));
}

#[actix_web::test]
async fn require_identity_refuses_anonymous_hellos() {
    let chat = Chat::start(desk()).await;
    let anonymous = chat.visitor().await;
    let patched = chat
        .admin
        .patch(chat.channel.path(""), json!({"require_identity": true}))
        .await;
    assert_eq!(patched.body["require_identity"], true);
    assert_eq!(
        Visitor::refused(&chat.server, &chat.channel.hello()).await,
        4401
    );
    let with_token = chat.channel.hello().token(anonymous.token());
    assert_eq!(Visitor::refused(&chat.server, &with_token).await, 4401);
    let verified = chat
        .join(
            &chat
                .channel
                .hello()
                .identity(chat.channel.identity("customer-1", None, None)),
        )
        .await;
    assert_eq!(verified.welcome["channel"]["require_identity"], true);
}

#[actix_web::test]
async fn identities_that_break_a_limit_close_4401() {
    let chat = Chat::start(desk()).await;
    let channel = &chat.channel;
    let long = "i".repeat(201);
    let refused = [
        json!({"identifier": "", "identifier_hash": identifier_hash(&channel.secret, "")}),
        json!({"identifier": long, "identifier_hash": identifier_hash(&channel.secret, &long)}),
        channel.identity("customer-1", Some(&"n".repeat(101)), None),
        channel.identity(
            "customer-1",
            None,
            Some(&format!("{}@example.net", "e".repeat(190))),
        ),
    ];
    for identity in refused {
        let hello = channel.hello().identity(identity.clone());
        assert_eq!(
            Visitor::refused(&chat.server, &hello).await,
            4401,
            "{identity}"
        );
    }
    let at_limit = "i".repeat(200);
    chat.join(
        &channel
            .hello()
            .identity(channel.identity(&at_limit, Some(&"n".repeat(100)), None)),
    )
    .await;
}
