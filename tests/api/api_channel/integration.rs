//! What the key opens, and that conversations and messages are stored
//! exactly once however the integration retries.

use futures_util::future::join_all;
use serde_json::json;

use super::{ApiChannel, open, send, setup};
use crate::support::{TestServer, Ws};

#[actix_web::test]
async fn the_key_is_shown_once_and_opens_its_own_channel_only() {
    let (server, admin, inbox) = setup().await;
    let channel = ApiChannel::create(&admin, &inbox, None).await;
    let other = ApiChannel::create(&admin, &inbox, None).await;
    assert!(channel.key.starts_with("tak_"), "{}", channel.json);
    assert_eq!(channel.json["kind"], "api");
    let shown = admin.get(channel.path("")).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.get("api_key").is_none(), "{}", shown.body);
    let listed = admin.get("/api/channels").await.body.to_string();
    assert!(!listed.contains(&channel.key), "{listed}");

    let integration = channel.client(&server);
    assert_eq!(open(&integration, &channel, "c1").await.status, 201);
    // Nothing else: not the agents' API, not another channel, not the socket.
    assert_eq!(integration.get("/api/inboxes").await.status, 401);
    let tickets = format!("/api/inboxes/{inbox}/tickets?view=all");
    assert_eq!(integration.get(tickets).await.status, 401);
    assert_eq!(integration.get(channel.path("")).await.status, 401);
    assert_eq!(open(&integration, &other, "c1").await.status, 401);
    let mut ws = Ws::connect(&server).await;
    ws.send(json!({"type": "hello", "token": channel.key}))
        .await;
    assert_eq!(ws.closed().await, 4401);
    // No key, or a wrong one.
    assert_eq!(open(&server.anonymous(), &channel, "c1").await.status, 401);
    let guessed = server
        .anonymous()
        .with_token(&other.key.replace("tak_", "tak_0"));
    assert_eq!(open(&guessed, &channel, "c1").await.status, 401);

    // A disabled channel takes nothing, with a reason.
    let off = admin
        .patch(channel.path(""), json!({"enabled": false}))
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    let refused = send(&integration, &channel, "c1", "m1", "hello").await;
    assert_eq!((refused.status, refused.code()), (403, "forbidden"));
    admin
        .patch(channel.path(""), json!({"enabled": true}))
        .await;

    // A rotated key replaces the old one at once.
    let rotated = admin.post(channel.path("/rotate_key"), json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_key = rotated.body["api_key"].as_str().unwrap();
    assert_ne!(new_key, channel.key);
    assert_eq!(
        send(&integration, &channel, "c1", "m1", "hi").await.status,
        401
    );
    let renewed = server.anonymous().with_token(new_key);
    assert_eq!(send(&renewed, &channel, "c1", "m1", "hi").await.status, 201);
    // Only admins rotate it.
    let agent = server.agent(&admin, "bob", "agent", &[&inbox]).await;
    let denied = agent.post(channel.path("/rotate_key"), json!({})).await;
    assert_eq!(denied.status, 403);
}

#[actix_web::test]
async fn racing_retries_store_one_conversation_and_one_message() {
    let (server, admin, inbox) = setup().await;
    let channel = ApiChannel::create(&admin, &inbox, None).await;
    let integration = channel.client(&server);

    let opened = join_all((0..8).map(|_| open(&integration, &channel, "thread-7"))).await;
    let mut statuses: Vec<u16> = opened.iter().map(|r| r.status).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 201]);
    let ticket = opened[0].body["conversation"]["ticket"].clone();
    assert!(
        opened
            .iter()
            .all(|r| r.body["conversation"]["ticket"] == ticket)
    );
    assert_eq!(opened[0].body["conversation"]["external_id"], "thread-7");
    assert_eq!(opened[0].body["conversation"]["status"], "open");

    let sent =
        join_all((0..8).map(|_| send(&integration, &channel, "thread-7", "sms-1", "My order?")))
            .await;
    let mut statuses: Vec<u16> = sent.iter().map(|r| r.status).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 201]);
    let message = &sent[0].body["message"];
    assert!(
        sent.iter()
            .all(|r| r.body["message"]["id"] == message["id"])
    );
    assert_eq!(message["kind"], "customer");
    assert_eq!(message["external_message_id"], "sms-1");
    // A resend with another body is still the stored message.
    let resent = send(&integration, &channel, "thread-7", "sms-1", "changed").await;
    assert_eq!(
        (resent.status, &resent.body["message"]["body"]),
        (200, &json!("My order?"))
    );

    let detail = admin
        .get(format!("/api/tickets/{}", ticket.as_str().unwrap()))
        .await;
    let messages = detail.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{}", detail.body);
    assert_eq!(detail.body["customer"]["contact"], "+4915112345678");
    let source = &detail.body["channel"];
    assert_eq!(
        (&source["kind"], &source["name"]),
        (&json!("api"), &json!("SMS bridge"))
    );
    assert_eq!(source["external_id"], "thread-7");
    assert_eq!(
        admin
            .get(format!("/api/inboxes/{inbox}/tickets?view=all"))
            .await
            .body["tickets"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[actix_web::test]
async fn a_retry_after_a_restart_finds_what_was_stored() {
    let dir = tempfile::tempdir().unwrap();
    let config = crate::webhooks::CONFIG;
    let server = TestServer::start_in(dir.path(), config).await.unwrap();
    let admin = server.admin().await;
    let inbox = admin.create_inbox("Support").await;
    let channel = ApiChannel::create(&admin, &inbox, None).await;
    let first = open(&channel.client(&server), &channel, "c9").await;
    let sent = send(&channel.client(&server), &channel, "c9", "m9", "lost?").await;
    assert_eq!((first.status, sent.status), (201, 201));
    server.stop();

    let server = TestServer::start_in(dir.path(), config).await.unwrap();
    let integration = channel.client(&server);
    let again = open(&integration, &channel, "c9").await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["conversation"], first.body["conversation"]);
    let resent = send(&integration, &channel, "c9", "m9", "lost?").await;
    assert_eq!(resent.status, 200, "{}", resent.body);
    assert_eq!(resent.body["message"]["id"], sent.body["message"]["id"]);
}

#[actix_web::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let (server, admin, inbox) = setup().await;
    let channel = ApiChannel::create(&admin, &inbox, None).await;
    let integration = channel.client(&server);
    let long = "x".repeat(201);
    for body in [
        json!({"contact": {"name": "Ada", "identifier": "a"}}),
        json!({"external_id": "", "contact": {"name": "Ada", "identifier": "a"}}),
        json!({"external_id": long, "contact": {"name": "Ada", "identifier": "a"}}),
        json!({"external_id": "a\u{0}b", "contact": {"name": "Ada", "identifier": "a"}}),
        json!({"external_id": "c", "contact": {"name": "", "identifier": "a"}}),
        json!({"external_id": "c", "contact": {"name": "Ada"}}),
        json!({"external_id": "c", "contact": {"name": "Ada", "identifier": "a"}, "inbox": inbox}),
        json!({"external_id": 7, "contact": {"name": "Ada", "identifier": "a"}}),
    ] {
        let resp = integration
            .post(channel.path("/conversations"), body.clone())
            .await;
        assert_eq!(
            (resp.status, resp.code()),
            (400, "bad_request"),
            "{body}: {}",
            resp.body
        );
    }
    assert_eq!(open(&integration, &channel, "c").await.status, 201);
    for (external_message_id, body) in [
        ("", "hi"),
        ("m1", ""),
        (long.as_str(), "hi"),
        ("m\n1", "hi"),
    ] {
        let resp = send(&integration, &channel, "c", external_message_id, body).await;
        assert_eq!(
            resp.status, 400,
            "{external_message_id:?} {body:?}: {}",
            resp.body
        );
    }
    let unknown = send(&integration, &channel, "never-opened", "m1", "hi").await;
    assert_eq!((unknown.status, unknown.code()), (404, "not_found"));

    let tickets = admin
        .get(format!("/api/inboxes/{inbox}/tickets?view=all"))
        .await
        .body;
    let tickets = tickets["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 1);
    let detail = admin
        .get(format!(
            "/api/tickets/{}",
            tickets[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(detail.body["messages"], json!([]), "{}", detail.body);
}

#[actix_web::test]
async fn an_archived_conversation_continues_in_a_new_ticket() {
    let (server, admin, inbox) = setup().await;
    let channel = ApiChannel::create(&admin, &inbox, None).await;
    let integration = channel.client(&server);
    let body = json!({
        "external_id": "wa-1",
        "contact": {"name": "Ada", "identifier": "+49"},
        "subject": "Delivery",
    });
    let first = integration.post(channel.path("/conversations"), body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let old = first.body["conversation"]["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    let archived = admin
        .post(format!("/api/tickets/{old}/archive"), json!({}))
        .await;
    assert_eq!(archived.status, 200, "{}", archived.body);

    let sent = send(&integration, &channel, "wa-1", "m2", "Back again").await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    let new = sent.body["conversation"]["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new, old);
    let detail = admin.get(format!("/api/tickets/{new}")).await.body;
    assert_eq!(detail["subject"], "Delivery");
    assert_eq!(detail["customer"]["name"], "Ada");
    assert_eq!(detail["messages"][0]["body"], "Back again");
    // The conversation is the new ticket from now on.
    let again = open(&integration, &channel, "wa-1").await;
    assert_eq!(
        (again.status, again.body["conversation"]["ticket"].as_str()),
        (200, Some(new.as_str()))
    );
}

#[actix_web::test]
async fn api_channel_settings_that_do_not_fit_are_refused() {
    // The default config: no private destinations.
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let inbox = admin.create_inbox("Support").await;
    let api = |extra: serde_json::Value| {
        let mut body = json!({"kind": "api", "inbox": inbox, "name": "Bridge"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    for body in [
        api(json!({"callback_url": "http://127.0.0.1:9/in"})),
        api(json!({"callback_url": "http://10.0.0.7/in"})),
        api(json!({"callback_url": "ftp://bridge.example.test/in"})),
        api(json!({"allowed_origins": ["https://shop.example"]})),
        api(json!({"greeting": "Hi"})),
        api(json!({"require_identity": true})),
        api(json!({"imap": {"host": "h", "port": 1, "tls": "none", "user": "u", "password": "p"}})),
        json!({"kind": "chat", "inbox": inbox, "name": "Chat", "callback_url": "https://x.example.test/"}),
    ] {
        let resp = admin.post("/api/channels", body.clone()).await;
        assert_eq!(
            (resp.status, resp.code()),
            (400, "bad_request"),
            "{body}: {}",
            resp.body
        );
    }
    assert_eq!(
        admin.get("/api/channels").await.body,
        json!({"channels": []})
    );
    let channel = ApiChannel::create(&admin, &inbox, Some("https://bridge.example.test/in")).await;
    for patch in [
        json!({"greeting": "Hi"}),
        json!({"callback_url": "http://[::1]/in"}),
    ] {
        let resp = admin.patch(channel.path(""), patch.clone()).await;
        assert_eq!(resp.status, 400, "{patch}: {}", resp.body);
    }
    let kept = admin.get(channel.path("")).await.body;
    assert_eq!(
        kept["callback_url"], "https://bridge.example.test/in",
        "{kept}"
    );
}

#[actix_web::test]
async fn any_external_id_works_url_encoded_in_the_path() {
    let (server, admin, inbox) = setup().await;
    let channel = ApiChannel::create(&admin, &inbox, None).await;
    let integration = channel.client(&server);
    let external_id = "wa:+49 170/1%ü?#";
    let opened = open(&integration, &channel, external_id).await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    assert_eq!(opened.body["conversation"]["external_id"], external_id);
    let encoded: String = external_id
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let sent = send(&integration, &channel, &encoded, "m1", "hi").await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    assert_eq!(sent.body["conversation"], opened.body["conversation"]);
}
