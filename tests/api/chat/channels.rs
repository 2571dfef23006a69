//! Channel administration (§9.1, §9.2): admins only, the secret for admins
//! only, limits, rotating the secret, and what disabling or deleting a
//! channel does to its visitors and tickets.

use serde_json::{Value, json};

use super::*;

const UNKNOWN: &str = "01a1fcb1-fa68-7345-849d-4f02be394110";

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A valid origin of exactly `len` characters (`len` ≥ 20), with short labels.
fn origin_of_len(len: usize) -> String {
    let mut host = String::new();
    while host.len() < len - "https://".len() - ".example".len() {
        host.push(if host.len() % 40 == 39 { '.' } else { 'a' });
    }
    let origin = format!("https://{host}.example");
    assert_eq!(origin.len(), len);
    origin
}

#[actix_web::test]
async fn admins_create_list_read_edit_and_delete_chat_channels() {
    let d = desk().start().await;
    let support = d.inbox("Support");
    let created = d
        .admin
        .create_channel(json!({
            "kind": "chat", "inbox": support, "name": "Website chat",
            "allowed_origins": [SHOP, "http://localhost:3000"],
            "greeting": "Hi! How can we help?",
        }))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let first = created.body.clone();
    assert_eq!(first["kind"], "chat");
    assert_eq!(first["inbox"], support);
    assert_eq!(first["name"], "Website chat");
    assert_eq!(
        first["allowed_origins"],
        json!([SHOP, "http://localhost:3000"])
    );
    assert_eq!(first["greeting"], "Hi! How can we help?");
    assert_eq!(first["offline_message"], Value::Null);
    assert_eq!(first["require_identity"], false, "the default");
    assert_eq!(first["enabled"], true);
    assert!(first["created_at"].as_str().unwrap().ends_with('Z'));
    let key = first["key"].as_str().unwrap();
    assert!(
        key.strip_prefix("ck_").is_some_and(|k| is_hex(k, 20)),
        "{key}"
    );
    let secret = first["secret"].as_str().unwrap();
    assert!(is_hex(secret, 64), "{secret}");

    let second = d.admin.chat_channel(support, "Shop chat").await;
    assert_ne!(second.key, key, "every channel has its own key");
    assert_ne!(second.secret, secret);
    let list = d.admin.get("/api/channels").await;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.body,
        json!({"channels": [first, second.json]}),
        "oldest first"
    );
    let one = d.admin.get(format!("/api/channels/{}", id(&first))).await;
    assert_eq!((one.status, &one.body), (200, &first));

    let patched = d
        .admin
        .patch(
            format!("/api/channels/{}", id(&first)),
            json!({
                "name": "Help chat", "allowed_origins": ["https://help.example"],
                "greeting": null, "offline_message": "We are away.", "require_identity": true,
            }),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let mut expected = first.clone();
    expected["name"] = json!("Help chat");
    expected["allowed_origins"] = json!(["https://help.example"]);
    expected["greeting"] = Value::Null;
    expected["offline_message"] = json!("We are away.");
    expected["require_identity"] = json!(true);
    assert_eq!(patched.body, expected, "key, secret and the rest stay");
    assert_eq!(
        d.admin
            .get(format!("/api/channels/{}", id(&first)))
            .await
            .body,
        expected
    );

    let deleted = d
        .admin
        .delete(format!("/api/channels/{}", id(&first)))
        .await;
    assert_eq!(deleted.status, 204);
    let gone = d.admin.get(format!("/api/channels/{}", id(&first))).await;
    assert_eq!((gone.status, gone.code()), (404, "not_found"));
    assert_eq!(
        d.admin.get("/api/channels").await.body,
        json!({"channels": [second.json]})
    );
}

#[actix_web::test]
async fn an_unknown_channel_is_not_found() {
    let d = desk().start().await;
    let path = format!("/api/channels/{UNKNOWN}");
    let answers = [
        d.admin.get(&path).await,
        d.admin.patch(&path, json!({"name": "x"})).await,
        d.admin.delete(&path).await,
        d.admin
            .post(format!("{path}/rotate_secret"), json!({}))
            .await,
    ];
    for resp in answers {
        assert_eq!(
            (resp.status, resp.code()),
            (404, "not_found"),
            "{}",
            resp.body
        );
    }
}

#[actix_web::test]
async fn agents_are_forbidden_and_never_see_the_secret() {
    let chat = Chat::start(desk()).await;
    let bianca = chat.agent("bianca");
    let path = chat.channel.path("");
    let answers = [
        bianca.get("/api/channels").await,
        bianca.get(&path).await,
        bianca
            .create_channel(json!({
                "kind": "chat", "inbox": chat.support(), "name": "Mine", "allowed_origins": [],
            }))
            .await,
        bianca.patch(&path, json!({"name": "Mine"})).await,
        bianca
            .post(chat.channel.path("/rotate_secret"), json!({}))
            .await,
        bianca.delete(&path).await,
    ];
    for resp in answers {
        assert_eq!(
            (resp.status, resp.code()),
            (403, "forbidden"),
            "{}",
            resp.body
        );
    }
    let unchanged = chat.admin.get(&path).await;
    assert_eq!(unchanged.body, chat.channel.json, "nothing changed");
    assert_eq!(
        chat.admin.get("/api/channels").await.body["channels"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A chat ticket shows agents its channel, without the secret.
    let mut tab = chat.subscriber(bianca).await;
    let mut visitor = chat.visitor().await;
    visitor.say("Hello there", "c1").await;
    let frame = tab.recv_type("ticket").await;
    let ticket = chat.ticket_id(visitor.id()).await;
    let detail = bianca.get(format!("/api/tickets/{ticket}")).await.body;
    let list = bianca
        .get(format!("/api/inboxes/{}/tickets", chat.support()))
        .await
        .body;
    let expected = json!({
        "id": chat.channel.id, "kind": "chat", "name": "Website chat", "visitor": visitor.id(),
    });
    assert_eq!(detail["channel"], expected);
    assert_eq!(frame["ticket"]["channel"], expected);
    for seen in [&frame, &detail, &list] {
        assert!(
            !seen.to_string().contains(&chat.channel.secret),
            "the secret leaked: {seen}"
        );
    }
}

#[actix_web::test]
async fn channels_that_break_a_rule_are_refused_with_400() {
    let d = desk().start().await;
    let support = d.inbox("Support");
    let valid =
        || json!({"kind": "chat", "inbox": support, "name": "Chat", "allowed_origins": [SHOP]});
    let with = |key: &str, value: Value| {
        let mut body = valid();
        body[key] = value;
        body
    };
    let fifty_one: Vec<String> = (0..51)
        .map(|i| format!("https://shop{i}.example"))
        .collect();
    let refused = [
        with("kind", json!("email")),
        with("kind", json!("sms")),
        with("inbox", json!(UNKNOWN)),
        with("name", json!("")),
        with("name", json!("n".repeat(101))),
        with("allowed_origins", json!(fifty_one)),
        with("allowed_origins", json!([origin_of_len(201)])),
        with("greeting", json!("g".repeat(1001))),
        with("offline_message", json!("o".repeat(1001))),
    ];
    for body in refused {
        let resp = d.admin.create_channel(body.clone()).await;
        assert_eq!((resp.status, resp.code()), (400, "bad_request"), "{body}");
    }
    assert_eq!(
        d.admin.get("/api/channels").await.body,
        json!({"channels": []}),
        "nothing was created"
    );

    // Right at the limits is fine.
    let fifty: Vec<String> = (0..49)
        .map(|i| format!("https://shop{i}.example"))
        .chain([origin_of_len(200)])
        .collect();
    let mut at_limits = with("name", json!("n".repeat(100)));
    at_limits["allowed_origins"] = json!(fifty);
    at_limits["greeting"] = json!("g".repeat(1000));
    at_limits["offline_message"] = json!("o".repeat(1000));
    let created = d.admin.create_channel(at_limits).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let channel = Channel::from_json(created.body);

    for patch in [
        json!({"name": ""}),
        json!({"greeting": "g".repeat(1001)}),
        json!({"allowed_origins": [origin_of_len(201)]}),
    ] {
        let resp = d.admin.patch(channel.path(""), patch.clone()).await;
        assert_eq!((resp.status, resp.code()), (400, "bad_request"), "{patch}");
    }
    assert_eq!(
        d.admin.get(channel.path("")).await.body,
        channel.json,
        "a refused patch changes nothing"
    );
}

#[actix_web::test]
async fn rotating_the_secret_fails_old_hashes_and_keeps_open_sockets() {
    let chat = Chat::start(desk()).await;
    let old = chat.channel.clone();
    let identity = old.identity("customer-42", Some("Maya"), None);
    let mut open = chat.join(&old.hello().identity(identity.clone())).await;
    let rotated = chat.admin.post(old.path("/rotate_secret"), json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new = Channel::from_json(rotated.body);
    assert_ne!(new.secret, old.secret);
    assert!(is_hex(&new.secret, 64));
    assert_eq!(new.key, old.key, "only the secret changes");
    assert_eq!(
        chat.admin.get(old.path("")).await.body["secret"],
        new.secret
    );

    let stale = Visitor::refused(&chat.server, &old.hello().identity(identity)).await;
    assert_eq!(stale, 4401, "a hash made with the old secret fails");
    let again = chat
        .join(
            &new.hello()
                .identity(new.identity("customer-42", Some("Maya"), None)),
        )
        .await;
    assert_eq!(again.id(), open.id(), "the same verified visitor");
    open.send(json!({"type": "ping", "ref": "still"})).await;
    assert_eq!(
        open.recv().await,
        json!({"type": "pong", "ref": "still"}),
        "open sockets stay open"
    );
}

#[actix_web::test]
async fn disabling_a_channel_closes_its_visitors_4403_and_refuses_hellos() {
    let chat = Chat::start(desk()).await;
    let other = chat
        .admin
        .create_channel(json!({
            "kind": "chat", "inbox": chat.support(), "name": "Other shop",
            "allowed_origins": ["https://other.example"],
        }))
        .await;
    let other = Channel::from_json(other.body);
    let mut visitor = chat.visitor().await;
    visitor.say("Is anyone there?", "c1").await;
    let ticket = chat.ticket_id(visitor.id()).await;
    let mut bystander = chat
        .join(&other.hello().origin(Some("https://other.example")))
        .await;

    let disabled = chat
        .admin
        .patch(chat.channel.path(""), json!({"enabled": false}))
        .await;
    assert_eq!(
        (disabled.status, &disabled.body["enabled"]),
        (200, &json!(false))
    );
    assert_eq!(visitor.closed().await, 4403);
    assert_eq!(
        upgrade(&chat.server, Some(SHOP)).await.err(),
        Some(403),
        "no enabled channel allows the shop any more"
    );
    let own = own_origin(&chat.server);
    let hello = chat.channel.hello().origin(Some(&own));
    assert_eq!(Visitor::refused(&chat.server, &hello).await, 4403);
    bystander.send(json!({"type": "ping", "ref": 1})).await;
    assert_eq!(
        bystander.recv().await,
        json!({"type": "pong", "ref": 1}),
        "other channels' visitors stay"
    );
    let detail = chat.detail(&ticket).await;
    assert_eq!(detail["status"], "pending", "its tickets stay as they are");
    assert_eq!(detail["messages"].as_array().unwrap().len(), 1);

    chat.admin
        .patch(chat.channel.path(""), json!({"enabled": true}))
        .await;
    let back = chat.returning(visitor.token()).await;
    assert_eq!(back.id(), visitor.id());
}

#[actix_web::test]
async fn deleting_a_channel_closes_its_visitors_and_keeps_its_tickets() {
    let chat = Chat::start(desk()).await;
    let mut visitor = chat.visitor().await;
    let mut second_tab = chat.returning(visitor.token()).await;
    visitor.say("My order never came", "c1").await;
    let ticket = chat.ticket_id(visitor.id()).await;

    let deleted = chat.admin.delete(chat.channel.path("")).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(visitor.closed().await, 4403);
    assert_eq!(second_tab.closed().await, 4403);
    let own = own_origin(&chat.server);
    let hello = chat
        .channel
        .hello()
        .token(visitor.token())
        .origin(Some(&own));
    assert_eq!(Visitor::refused(&chat.server, &hello).await, 4403);

    // The ticket keeps its messages, and a reply is still stored.
    let reply = chat
        .post(
            chat.agent("bianca"),
            &ticket,
            "reply",
            "Sorry, it is on its way",
        )
        .await;
    let detail = chat.detail(&ticket).await;
    let bodies: Vec<&Value> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["body"])
        .collect();
    assert_eq!(
        bodies,
        [
            &json!("My order never came"),
            &json!("Sorry, it is on its way")
        ]
    );
    assert_eq!(detail["messages"][1]["id"], reply["id"]);
    assert_eq!(detail["channel"]["id"], chat.channel.id);
}

#[actix_web::test]
async fn a_chat_ticket_keeps_the_channel_name_it_was_created_with() {
    let chat = Chat::start(desk().ticket("Support", "By e-mail")).await;
    let mut visitor = chat.visitor().await;
    visitor.say("Hi", "c1").await;
    chat.admin
        .patch(chat.channel.path(""), json!({"name": "Renamed chat"}))
        .await;
    let ticket = chat.ticket_of(visitor.id()).await;
    assert_eq!(ticket["channel"]["name"], "Website chat");
    assert_eq!(
        chat.detail(chat.ticket()).await["channel"],
        Value::Null,
        "other tickets have no channel"
    );
}

#[actix_web::test]
async fn the_widget_script_is_served_as_javascript() {
    let server = TestServer::start().await;
    let mut resp = awc::Client::default()
        .get(server.url("/widget.js"))
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 200);
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/javascript"),
        "{content_type}"
    );
    let body = resp.body().limit(4 << 20).await.expect("body");
    let script = String::from_utf8(body.to_vec()).expect("UTF-8");
    assert!(
        script.contains("/ws/visitor"),
        "it connects to the visitor socket"
    );
}
