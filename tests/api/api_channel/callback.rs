//! Agents' public replies reach the integration's `callback_url`, signed
//! with the channel's secret; notes, drafts and other tickets never do.

use serde_json::json;

use super::{ApiChannel, open, send, setup};
use crate::support::Ws;
use crate::webhooks::poll;
use crate::webhooks::receiver::{Receiver, accepted, verify_signature};

#[actix_web::test]
async fn replies_reach_the_callback_signed_and_nothing_internal_does() {
    let (server, admin, inbox) = setup().await;
    let receiver = Receiver::start().await;
    let channel = ApiChannel::create(&admin, &inbox, Some(&receiver.url("/sms"))).await;
    assert_eq!(channel.json["callback_url"], receiver.url("/sms"));
    let integration = channel.client(&server);
    let opened = open(&integration, &channel, "+4917").await;
    let ticket = opened.body["conversation"]["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        send(&integration, &channel, "+4917", "in-1", "Where is it?")
            .await
            .status,
        201
    );
    // An ordinary ticket in the same inbox: its replies are not the channel's.
    let other = admin.create_ticket(&inbox, "Phone call").await;
    let other = other["id"].as_str().unwrap();

    let (mut ws, _) = Ws::hello(&server, &admin).await;
    ws.open(&ticket, false).await;
    let draft = json!({"type": "draft", "ticket": ticket, "kind": "reply", "body": "DRAFT-TEXT"});
    ws.send(draft).await;
    let path = |t: &str| format!("/api/tickets/{t}/messages");
    let note = admin
        .post(path(&ticket), json!({"kind": "note", "body": "NOTE-TEXT"}))
        .await;
    assert_eq!(note.status, 200, "{}", note.body);
    let elsewhere = admin
        .post(path(other), json!({"kind": "reply", "body": "OTHER-TEXT"}))
        .await;
    assert_eq!(elsewhere.status, 200, "{}", elsewhere.body);
    let reply = admin
        .post(
            path(&ticket),
            json!({"kind": "reply", "body": "On its way"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let second = admin
        .post(
            path(&ticket),
            json!({"kind": "reply", "body": "Tracking: 42"}),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.body);

    let got = receiver.until_accepted(2).await;
    let got = accepted(&got);
    let bodies: Vec<&str> = got
        .iter()
        .map(|r| r.json["data"]["message"]["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["On its way", "Tracking: 42"]);
    let first = &got[0];
    verify_signature(first, &channel.secret);
    assert_eq!(first.path, "/sms");
    assert_eq!(first.event(), "message.created");
    assert_eq!(first.header("tandem-event"), "message.created");
    assert_eq!(first.json["data"]["conversation"]["external_id"], "+4917");
    assert_eq!(
        first.json["data"]["conversation"]["ticket"],
        ticket.as_str()
    );
    assert_eq!(first.json["data"]["message"]["kind"], "reply");
    assert_eq!(first.json["data"]["message"]["id"], reply.body["id"]);
    // The payload is what the customer may see: no agents, no notes, no
    // drafts, no other tickets, no internal ticket fields.
    for r in receiver.received() {
        for secret in [
            "NOTE-TEXT",
            "DRAFT-TEXT",
            "OTHER-TEXT",
            "Where is it?",
            "admin",
            "assignee",
            "followers",
        ] {
            assert!(!r.body.contains(secret), "{secret} in {}", r.body);
        }
    }

    // The admins see the callback's attempts on the channel, not as a webhook.
    let deliveries = poll(&admin, &channel.path("/deliveries"), |b| {
        b["deliveries"].as_array().is_some_and(|d| d.len() == 2)
    })
    .await;
    assert_eq!(
        deliveries["deliveries"][0]["status_code"], 200,
        "{deliveries}"
    );
    let hooks = admin.get("/api/webhooks").await;
    assert_eq!(hooks.body["webhooks"], json!([]), "{}", hooks.body);
}

#[actix_web::test]
async fn the_callback_follows_the_channel_settings() {
    let (server, admin, inbox) = setup().await;
    let receiver = Receiver::start().await;
    let channel = ApiChannel::create(&admin, &inbox, None).await;
    let integration = channel.client(&server);
    let opened = open(&integration, &channel, "c").await;
    let ticket = opened.body["conversation"]["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = |body: &'static str| {
        let admin = admin.clone();
        let path = format!("/api/tickets/{ticket}/messages");
        async move {
            let resp = admin
                .post(path, json!({"kind": "reply", "body": body}))
                .await;
            assert_eq!(resp.status, 200, "{}", resp.body);
        }
    };
    reply("before any callback").await;
    let set = admin
        .patch(
            channel.path(""),
            json!({"callback_url": receiver.url("/new")}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    // A private destination is refused unless the config allows it (it does
    // here); a malformed one always is.
    let bad = admin
        .patch(channel.path(""), json!({"callback_url": "ftp://x"}))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    reply("after").await;
    let got = receiver.until_accepted(1).await;
    assert_eq!(got[0].json["data"]["message"]["body"], "after");

    // A rotated secret signs from then on.
    let rotated = admin.post(channel.path("/rotate_secret"), json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    reply("rotated").await;
    let got = receiver.until_accepted(2).await;
    verify_signature(&got[1], rotated.body["secret"].as_str().unwrap());

    // No callback_url: nothing more is sent.
    let unset = admin
        .patch(channel.path(""), json!({"callback_url": null}))
        .await;
    assert_eq!(unset.status, 200, "{}", unset.body);
    reply("unheard").await;
    // Set again: replies are delivered in order per ticket, so had
    // "unheard" been queued it would arrive before "heard".
    let again = admin
        .patch(
            channel.path(""),
            json!({"callback_url": receiver.url("/again")}),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    reply("heard").await;
    let got = receiver.until_accepted(3).await;
    let bodies: Vec<&str> = got
        .iter()
        .map(|r| r.json["data"]["message"]["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["after", "rotated", "heard"]);
}

#[actix_web::test]
async fn a_disabled_or_gone_callback_hears_nothing_until_the_channel_is_changed() {
    let (server, admin, inbox) = setup().await;
    let receiver = Receiver::start().await;
    let channel = ApiChannel::create(&admin, &inbox, Some(&receiver.url("/in"))).await;
    let opened = open(&channel.client(&server), &channel, "c").await;
    let path = format!(
        "/api/tickets/{}/messages",
        opened.body["conversation"]["ticket"].as_str().unwrap()
    );
    let reply = |body: &'static str| {
        let (admin, path) = (admin.clone(), path.clone());
        async move {
            let resp = admin
                .post(path, json!({"kind": "reply", "body": body}))
                .await;
            assert_eq!(resp.status, 200, "{}", resp.body);
        }
    };
    let bodies = |got: &[crate::webhooks::receiver::Received]| -> Vec<String> {
        got.iter()
            .map(|r| {
                r.json["data"]["message"]["body"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };

    // While the channel is disabled its replies are not queued: had one
    // been, it would arrive (in order) before the next one.
    let off = admin
        .patch(channel.path(""), json!({"enabled": false}))
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    reply("while disabled").await;
    admin
        .patch(channel.path(""), json!({"enabled": true}))
        .await;
    reply("enabled again").await;
    assert_eq!(bodies(&receiver.until_accepted(1).await), ["enabled again"]);

    // 410 disables the callback (the admins are told, as for a webhook)...
    receiver.answer("gone now", 410, 1);
    reply("gone now").await;
    let log = poll(&admin, &channel.path("/deliveries"), |b| {
        b["deliveries"][0]["status_code"] == 410
    })
    .await;
    assert_eq!(log["deliveries"].as_array().unwrap().len(), 2, "{log}");
    let notifications = admin.get("/api/me/notifications").await.body;
    assert_eq!(
        notifications[0]["kind"], "webhook_disabled",
        "{notifications}"
    );
    reply("unheard").await;
    // ...until an admin changes the channel.
    let renamed = admin
        .patch(channel.path(""), json!({"name": "SMS bridge 2"}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    reply("heard").await;
    let got = receiver.until_accepted(2).await;
    assert_eq!(bodies(&got), ["enabled again", "gone now", "heard"]);
}
