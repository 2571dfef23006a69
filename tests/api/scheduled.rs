//! Scheduled replies: stored as scheduled, sent on time exactly once, dropped
//! when their author lost access or was overtaken, cancellable, and kept
//! across restarts.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

/// Support with one ticket, its agents Bianca and Hanna, and light agent
/// Lena, who views without claiming, so others may still reply.
fn desk() -> Setup {
    Scenario::setup()
        .inbox("Support")
        .agent("bianca", &["Support"])
        .agent("hanna", &["Support"])
        .light("lena", &["Support"])
        .ticket("Support", "Later")
}

/// `api` schedules a reply on the ticket, due in `ms`, with `extra` fields.
async fn schedule(d: &Scenario, api: &Api, ms: i64, extra: Value) -> Resp {
    let mut body =
        json!({"kind": "reply", "body": "Following up as promised", "send_at": in_ms(ms)});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    api.post(d.path("/messages"), body).await
}

/// The ticket's replies, sent or scheduled.
async fn replies(d: &Scenario) -> Vec<Value> {
    let detail = d.admin.get(d.path("")).await.body;
    detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "reply")
        .cloned()
        .collect()
}

#[actix_web::test]
async fn a_scheduled_reply_is_sent_on_time() {
    let d = desk().start().await;
    let (mut viewer, _) = Ws::hello(&d.server, d.agent("lena")).await;
    viewer.open(d.ticket(), false).await;
    let (mut subscriber, _) = Ws::hello(&d.server, &d.admin).await;
    subscriber.subscribe(d.inbox("Support")).await;
    let scheduled = schedule(&d, d.agent("bianca"), 600, json!({})).await;
    assert_eq!(scheduled.status, 200, "{}", scheduled.body);
    assert_eq!(
        (
            scheduled.body["state"].as_str(),
            scheduled.body["signature"].as_str()
        ),
        (Some("scheduled"), None)
    );
    assert!(scheduled.body["send_at"].as_str().is_some());
    assert_eq!(
        replies(&d).await[0]["state"],
        "scheduled",
        "visible to agents before it is sent"
    );
    assert_eq!(
        viewer.recv_type("message").await["message"]["state"],
        "scheduled"
    );
    let started = Instant::now();
    let sent = viewer.recv_type("message").await;
    assert_eq!(
        (
            sent["message"]["state"].as_str(),
            sent["message"]["signature"].as_str()
        ),
        (Some("sent"), Some("Bianca"))
    );
    assert_eq!(sent["message"]["id"], scheduled.body["id"]);
    assert!(
        started.elapsed() > Duration::from_millis(300),
        "not before its time"
    );
    let frame = subscriber.recv_type("ticket").await;
    assert_eq!(frame["change"]["action"], "message");
    assert_eq!(replies(&d).await.len(), 1);
}

#[actix_web::test]
async fn scheduling_needs_a_reply_and_a_valid_time() {
    let d = desk().start().await;
    let note = d
        .agent("bianca")
        .post(
            d.path("/messages"),
            json!({"kind": "note", "body": "x", "send_at": in_ms(1000)}),
        )
        .await;
    assert_eq!(note.code(), "bad_request");
    let bad_time = d
        .agent("bianca")
        .post(
            d.path("/messages"),
            json!({"kind": "reply", "body": "x", "send_at": "tomorrow"}),
        )
        .await;
    assert_eq!(bad_time.code(), "bad_request");
    let orphan = d
        .agent("bianca")
        .post(
            d.path("/messages"),
            json!({"kind": "reply", "body": "x", "cancel_if_replied": true}),
        )
        .await;
    assert_eq!(orphan.code(), "bad_request");
    assert!(replies(&d).await.is_empty());
}

#[actix_web::test]
async fn cancelling_removes_it_before_it_goes_out() {
    let d = desk().start().await;
    let (mut viewer, _) = Ws::hello(&d.server, d.agent("lena")).await;
    viewer.open(d.ticket(), false).await;
    let scheduled = schedule(&d, d.agent("bianca"), 400, json!({})).await;
    let id = scheduled.body["id"].as_str().unwrap();
    assert_eq!(
        d.agent("hanna")
            .delete(d.path(&format!("/messages/{id}")))
            .await
            .status,
        403,
        "not hers"
    );
    assert_eq!(
        d.agent("bianca")
            .delete(d.path(&format!("/messages/{id}")))
            .await
            .status,
        204
    );
    assert_eq!(viewer.recv_type("message_removed").await["message"], id);
    assert_eq!(
        d.agent("bianca")
            .delete(d.path(&format!("/messages/{id}")))
            .await
            .status,
        404
    );
    tokio::time::sleep(Duration::from_millis(700)).await; // past its time: nothing is sent
    assert!(replies(&d).await.is_empty());
    let sent = d
        .agent("bianca")
        .post(d.path("/messages"), json!({"kind": "reply", "body": "now"}))
        .await;
    let sent_id = sent.body["id"].as_str().unwrap();
    assert_eq!(
        d.agent("bianca")
            .delete(d.path(&format!("/messages/{sent_id}")))
            .await
            .code(),
        "conflict"
    );
}

#[actix_web::test]
async fn cancel_if_replied_drops_it_when_a_colleague_answered_first() {
    let d = desk().start().await;
    let (mut bianca, _) = Ws::hello(&d.server, d.agent("bianca")).await;
    schedule(
        &d,
        d.agent("bianca"),
        500,
        json!({"cancel_if_replied": true}),
    )
    .await;
    d.admin
        .post(
            d.path("/messages"),
            json!({"kind": "customer", "body": "customers do not count"}),
        )
        .await;
    d.agent("hanna")
        .post(
            d.path("/messages"),
            json!({"kind": "reply", "body": "I answered already"}),
        )
        .await;
    let dropped = bianca.recv_type("notification").await;
    assert_eq!(dropped["notification"]["kind"], "scheduled_cancelled");
    let replies = replies(&d).await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0]["author"]["name"], "Hanna");
}

#[actix_web::test]
async fn no_access_no_send() {
    let d = desk().start().await;
    d.admin
        .patch("/api/settings", json!({"ticket_sharing_enabled": true}))
        .await;
    let sales = d.admin.create_inbox("Sales").await;
    let sam = d.server.agent(&d.admin, "sam", "agent", &[&sales]).await;
    // Lena watches (a light agent views without claiming, so the others may reply).
    let (mut watcher, _) = Ws::hello(&d.server, d.agent("lena")).await;
    watcher.open(d.ticket(), false).await;
    d.agent("bianca")
        .post(d.path("/shares"), json!({"agent": sam.id}))
        .await;
    schedule(&d, &sam, 400, json!({})).await;
    // The share is revoked just before the send time: the reply goes with it.
    assert_eq!(
        d.agent("bianca")
            .delete(d.path(&format!("/shares/{}", sam.id)))
            .await
            .status,
        204
    );
    // Hanna loses her membership after scheduling: checked again at send time.
    let (mut hanna, _) = Ws::hello(&d.server, d.agent("hanna")).await;
    schedule(&d, d.agent("hanna"), 400, json!({})).await;
    d.admin
        .patch(
            format!("/api/agents/{}", d.agent("hanna").id),
            json!({"inboxes": []}),
        )
        .await;
    for _ in 0..2 {
        watcher.recv_type("message_removed").await;
    }
    assert!(replies(&d).await.is_empty(), "nothing was sent");
    // Neither author may see the ticket any more, so neither hears about it.
    assert!(
        hanna
            .sync()
            .await
            .iter()
            .all(|f| f["type"] != "notification")
    );
    for author in [&sam, d.agent("hanna")] {
        let stored = author.get("/api/me/notifications").await.body;
        assert!(
            stored
                .as_array()
                .unwrap()
                .iter()
                .all(|n| n["kind"] != "scheduled_cancelled"),
            "{stored}"
        );
    }
}

#[actix_web::test]
async fn a_reply_due_while_the_server_was_down_is_sent_once_after_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let d = desk()
        .start_on(TestServer::start_in(dir.path(), "").await.unwrap())
        .await;
    let scheduled = schedule(&d, d.agent("bianca"), 300, json!({})).await;
    assert_eq!(scheduled.status, 200);
    let (admin, path) = (d.admin.clone(), d.path(""));
    d.server.stop();
    tokio::time::sleep(Duration::from_millis(500)).await; // due during the downtime
    let server = TestServer::start_in(dir.path(), "").await.unwrap();
    let admin = admin.on(&server);
    let deadline = Instant::now() + FRAME_WAIT;
    loop {
        let messages = admin.get(&path).await.body["messages"].clone();
        let replies: Vec<&Value> = messages
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["kind"] == "reply")
            .collect();
        if replies.iter().any(|m| m["state"] == "sent") {
            assert_eq!(replies.len(), 1, "sent exactly once: {replies:?}");
            break;
        }
        assert!(Instant::now() < deadline, "never sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And it stays sent once across another restart.
    server.stop();
    let server = TestServer::start_in(dir.path(), "").await.unwrap();
    let messages = admin.on(&server).get(&path).await.body["messages"].clone();
    assert_eq!(
        messages
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["kind"] == "reply")
            .count(),
        1
    );
}

#[actix_web::test]
async fn scheduled_replies_list_by_due_time_and_cancelled_ones_leave_search() {
    let d = desk().start().await;
    let late = d
        .agent("bianca")
        .post(
            d.path("/messages"),
            json!({"kind": "reply", "body": "second xylophone", "send_at": in_ms(60_000)}),
        )
        .await;
    let soon = d
        .agent("bianca")
        .post(
            d.path("/messages"),
            json!({"kind": "reply", "body": "first", "send_at": in_ms(30_000)}),
        )
        .await;
    let ids: Vec<Value> = replies(&d).await.iter().map(|m| m["id"].clone()).collect();
    assert_eq!(
        ids,
        [soon.body["id"].clone(), late.body["id"].clone()],
        "scheduled replies by due time"
    );
    assert_eq!(
        d.agent("bianca").get("/api/search?q=xylophone").await.body["tickets"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    d.agent("bianca")
        .delete(d.path(&format!("/messages/{}", late.body["id"].as_str().unwrap())))
        .await;
    assert_eq!(
        d.agent("bianca").get("/api/search?q=xylophone").await.body["tickets"],
        json!([]),
        "its words left the index"
    );
}
