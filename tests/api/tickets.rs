//! Tickets over REST: creation, detail, edits, messages, history, lists and access.

use std::collections::BTreeSet;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::*;

/// Support with its agent Bianca and light agent Lena, and Sam of Sales.
fn desk() -> Setup {
    Scenario::setup()
        .inbox("Support")
        .inbox("Sales")
        .agent("bianca", &["Support"])
        .agent("sam", &["Sales"])
        .light("lena", &["Support"])
}

#[actix_web::test]
async fn admin_creates_a_pending_unread_ticket_with_its_customer_message() {
    let d = desk().start().await;
    let ticket = d
        .admin
        .create_ticket(d.inbox("Support"), "Printer on fire")
        .await;
    assert_eq!(ticket["number"], 1);
    assert_eq!(ticket["status"], "pending");
    assert_eq!(ticket["assignee"], Value::Null);
    assert_eq!(ticket["unread"], true);
    assert_eq!(
        ticket["customer"],
        json!({"name": "Carla Customer", "contact": "carla@example.com"})
    );
    let detail = d
        .agent("bianca")
        .get(&format!("/api/tickets/{}", ticket["id"].as_str().unwrap()))
        .await;
    assert_eq!(detail.status, 200);
    let messages = detail.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["kind"], "customer");
    assert_eq!(messages[0]["author"], Value::Null);
    assert_eq!(messages[0]["state"], "sent");
    for key in ["followers", "shared_with", "drafts", "viewers"] {
        assert_eq!(detail.body[key], json!([]), "{key}");
    }
    assert_eq!(detail.body["claim"], Value::Null);
    assert_eq!(detail.body["lock"], Value::Null);
    let history = d
        .agent("bianca")
        .get(&format!(
            "/api/tickets/{}/history",
            ticket["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(history.body[0]["action"], "created");
    assert_eq!(history.body[0]["actor"]["name"], "Admin");
}

#[actix_web::test]
async fn only_admins_create_tickets_and_bad_input_creates_nothing() {
    let d = desk().start().await;
    let body = json!({"inbox": d.inbox("Support"), "subject": "x", "customer": {"name": "C", "contact": "c@x"}, "body": "hi"});
    let resp = d.agent("bianca").post("/api/tickets", body).await;
    assert_eq!((resp.status, resp.code()), (403, "forbidden"));
    for bad in [
        json!({"inbox": d.inbox("Support"), "subject": " ", "customer": {"name": "C", "contact": "c@x"}, "body": "hi"}),
        json!({"inbox": d.inbox("Support"), "subject": "s", "customer": {"name": "", "contact": "c@x"}, "body": "hi"}),
        json!({"inbox": d.inbox("Support"), "subject": "s", "customer": {"name": "C", "contact": "c@x"}, "body": ""}),
        json!({"inbox": "01a1fcb1-fa68-7345-849d-4f02be394110", "subject": "s", "customer": {"name": "C", "contact": "c@x"}, "body": "hi"}),
        json!({"inbox": d.inbox("Support"), "subject": "s", "body": "hi"}),
        json!({"inbox": "nope", "subject": "s", "customer": {"name": "C", "contact": "c@x"}, "body": "hi"}),
    ] {
        let resp = d.admin.post("/api/tickets", bad.clone()).await;
        assert_eq!((resp.status, resp.code()), (400, "bad_request"), "{bad}");
    }
    let list = d
        .admin
        .get(&format!("/api/inboxes/{}/tickets", d.inbox("Support")))
        .await;
    assert_eq!(list.body["tickets"], json!([]));
    let first = d.admin.create_ticket(d.inbox("Support"), "first").await;
    assert_eq!(first["number"], 1, "refused requests used no ticket number");
}

#[actix_web::test]
async fn no_access_is_404_and_visible_but_not_allowed_is_403() {
    let d = desk().start().await;
    let ticket = d.admin.create_ticket(d.inbox("Support"), "Access").await;
    let id = ticket["id"].as_str().unwrap();
    let path = format!("/api/tickets/{id}");
    let messages = format!("{path}/messages");

    assert_eq!(d.agent("bianca").get(&path).await.status, 200);
    assert_eq!(d.agent("lena").get(&path).await.status, 200);
    assert_eq!(d.agent("sam").get(&path).await.code(), "not_found");
    assert_eq!(
        d.agent("sam").get(&format!("{path}/history")).await.status,
        404
    );
    assert_eq!(
        d.agent("sam")
            .post(&messages, json!({"kind": "note", "body": "hi"}))
            .await
            .status,
        404
    );
    assert_eq!(
        d.agent("sam")
            .patch(&path, json!({"subject": "mine"}))
            .await
            .status,
        404
    );
    assert_eq!(
        d.agent("bianca")
            .get("/api/tickets/not-a-uuid")
            .await
            .status,
        404
    );
    assert_eq!(
        d.agent("bianca")
            .get("/api/tickets/01a1fcb1-fa68-7345-849d-4f02be394110")
            .await
            .status,
        404
    );

    let light_reply = d
        .agent("lena")
        .post(&messages, json!({"kind": "reply", "body": "hi"}))
        .await;
    assert_eq!((light_reply.status, light_reply.code()), (403, "forbidden"));
    assert_eq!(
        d.agent("lena")
            .patch(&path, json!({"subject": "x"}))
            .await
            .status,
        403
    );
    assert_eq!(
        d.agent("lena")
            .post(&messages, json!({"kind": "note", "body": "light note"}))
            .await
            .status,
        200
    );
    assert_eq!(
        d.agent("bianca")
            .post(&messages, json!({"kind": "customer", "body": "fake"}))
            .await
            .status,
        403
    );
    assert_eq!(
        d.agent("bianca")
            .post(&messages, json!({"kind": "reply", "body": "ok"}))
            .await
            .status,
        200
    );
    assert_eq!(
        d.admin
            .post(&messages, json!({"kind": "customer", "body": "more"}))
            .await
            .status,
        200
    );

    let detail = d.agent("bianca").get(&path).await;
    let kinds: Vec<&str> = detail.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["customer", "note", "reply", "customer"],
        "refused messages were not stored"
    );
}

#[actix_web::test]
async fn patch_edits_subject_tags_and_fields_and_records_history() {
    let d = desk().start().await;
    let ticket = d
        .admin
        .create_ticket(d.inbox("Support"), "Old subject")
        .await;
    let path = format!("/api/tickets/{}", ticket["id"].as_str().unwrap());
    let resp = d.agent("bianca")
        .patch(&path, json!({"subject": " New subject ", "tags": ["vip", "VIP", "billing"], "fields": {"plan": "pro", "seats": "4"}}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.body["subject"], "New subject");
    assert_eq!(resp.body["tags"], json!(["vip", "billing"]));
    assert_eq!(resp.body["fields"], json!({"plan": "pro", "seats": "4"}));
    let merged = d
        .agent("bianca")
        .patch(&path, json!({"fields": {"seats": null, "region": "eu"}}))
        .await;
    assert_eq!(
        merged.body["fields"],
        json!({"plan": "pro", "region": "eu"})
    );

    for bad in [
        json!({"subject": ""}),
        json!({"tags": [""]}),
        json!({"fields": {"": "x"}}),
        json!({"status": "resolved"}),
    ] {
        let resp = d.agent("bianca").patch(&path, bad.clone()).await;
        assert_eq!((resp.status, resp.code()), (400, "bad_request"), "{bad}");
    }
    let detail = d.agent("bianca").get(&path).await;
    assert_eq!(
        detail.body["subject"], "New subject",
        "bad patches changed nothing"
    );
    let history = d.agent("bianca").get(&format!("{path}/history")).await;
    let actions: Vec<&str> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "fields_changed", "fields_changed"]);
    assert_eq!(
        history.body[1]["actor"]["id"],
        d.agent("bianca").id.as_str()
    );
}

#[actix_web::test]
async fn replies_are_signed_notes_are_not() {
    let d = desk().start().await;
    let ticket = d.admin.create_ticket(d.inbox("Support"), "Sign").await;
    let messages = format!("/api/tickets/{}/messages", ticket["id"].as_str().unwrap());
    let reply = d
        .agent("bianca")
        .post(&messages, json!({"kind": "reply", "body": "On it"}))
        .await;
    assert_eq!(reply.body["signature"], "Bianca");
    assert_eq!(reply.body["author"]["name"], "Bianca");
    let note = d
        .agent("bianca")
        .post(&messages, json!({"kind": "note", "body": "internal"}))
        .await;
    assert_eq!(note.body["signature"], Value::Null);
    d.admin
        .patch("/api/settings", json!({"sign_replies": false}))
        .await;
    let unsigned = d
        .agent("bianca")
        .post(&messages, json!({"kind": "reply", "body": "again"}))
        .await;
    assert_eq!(unsigned.body["signature"], Value::Null);
    let admin_reply = d
        .admin
        .post(
            &messages,
            json!({"kind": "reply", "body": "from the admin"}),
        )
        .await;
    assert_eq!(admin_reply.status, 200);
    let detail = d
        .agent("bianca")
        .get(&format!("/api/tickets/{}", ticket["id"].as_str().unwrap()))
        .await;
    let participants: Vec<&str> = detail.body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        participants,
        ["Bianca", "Admin"],
        "every agent who took part"
    );
    for bad in [
        json!({"kind": "shout", "body": "x"}),
        json!({"kind": "reply", "body": "  "}),
        json!({"kind": "reply"}),
    ] {
        assert_eq!(
            d.agent("bianca").post(&messages, bad.clone()).await.status,
            400,
            "{bad}"
        );
    }
}

#[actix_web::test]
async fn lists_page_newest_activity_first_without_gaps_or_repeats() {
    let d = desk().start().await;
    let mut ids = Vec::new();
    for i in 1..=7 {
        ids.push(
            d.admin
                .create_ticket(d.inbox("Support"), &format!("Ticket {i}"))
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let base = format!("/api/inboxes/{}/tickets", d.inbox("Support"));
    let bianca = d.agent("bianca");
    let first = bianca.get(&format!("{base}?view=pending&limit=3")).await;
    assert_eq!(numbers(&first.body), [7, 6, 5]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = bianca
        .get(&format!("{base}?view=pending&limit=3&cursor={cursor}"))
        .await;
    assert_eq!(numbers(&second.body), [4, 3, 2]);
    let cursor = second.body["next_cursor"].as_str().unwrap();
    let third = bianca
        .get(&format!("{base}?view=pending&limit=3&cursor={cursor}"))
        .await;
    assert_eq!(numbers(&third.body), [1]);
    assert_eq!(third.body["next_cursor"], Value::Null);

    // New activity moves a ticket to the top.
    bianca
        .post(
            &format!("/api/tickets/{}/messages", ids[2]),
            json!({"kind": "note", "body": "bump"}),
        )
        .await;
    let all = d.agent("lena").get(&format!("{base}?limit=50")).await;
    assert_eq!(
        numbers(&all.body),
        [3, 7, 6, 5, 4, 2, 1],
        "view defaults to all"
    );
    assert_eq!(all.body["tickets"][0]["unread"], true);

    for view in ["working_on", "resolved", "mine"] {
        assert_eq!(
            bianca.get(&format!("{base}?view={view}")).await.body["tickets"],
            json!([]),
            "{view}"
        );
    }
    assert_eq!(
        bianca.get(&format!("{base}?view=everything")).await.status,
        400
    );
    assert_eq!(bianca.get(&format!("{base}?limit=0")).await.status, 400);
    assert_eq!(bianca.get(&format!("{base}?cursor=zz")).await.status, 400);
    assert_eq!(d.agent("sam").get(&base).await.status, 404);
    assert_eq!(
        bianca
            .get("/api/inboxes/01a1fcb1-fa68-7345-849d-4f02be394110/tickets")
            .await
            .status,
        404
    );
}

#[actix_web::test]
async fn concurrent_creation_gives_distinct_consecutive_numbers() {
    let d = desk().start().await;
    let creations = (0..40).map(|i| {
        let admin = d.admin.clone();
        let inbox = d.inbox("Support").to_owned();
        async move {
            admin.create_ticket(&inbox, &format!("Rush {i}")).await["number"]
                .as_u64()
                .unwrap()
        }
    });
    let numbers: BTreeSet<u64> = join_all(creations).await.into_iter().collect();
    assert_eq!(numbers, (1..=40).collect::<BTreeSet<u64>>());
    let next = d.admin.create_ticket(d.inbox("Support"), "after").await;
    assert_eq!(next["number"], 41);
}

#[actix_web::test]
async fn oversized_bodies_are_refused_with_413() {
    let d = desk().start().await;
    let ticket = d.admin.create_ticket(d.inbox("Support"), "Big").await;
    let body = json!({"kind": "note", "body": "x".repeat(1_100_000)});
    let resp = d
        .agent("bianca")
        .post(
            &format!("/api/tickets/{}/messages", ticket["id"].as_str().unwrap()),
            body,
        )
        .await;
    assert_eq!((resp.status, resp.code()), (413, "payload_too_large"));
}

#[actix_web::test]
async fn unknown_routes_answer_json_not_found() {
    let d = desk().start().await;
    let resp = d.agent("bianca").get("/api/nothing-here").await;
    assert_eq!((resp.status, resp.code()), (404, "not_found"));
    let ticket = d.admin.create_ticket(d.inbox("Support"), "Steps").await;
    let fly = d
        .agent("bianca")
        .post(
            format!("/api/tickets/{}/fly", ticket["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!((fly.status, fly.code()), (404, "not_found"));
    let _ = &d.server;
}

#[actix_web::test]
async fn the_stale_send_guard_stops_replies_that_missed_newer_messages() {
    let d = desk().start().await;
    let ticket = d.admin.create_ticket(d.inbox("Support"), "Stale").await;
    let id = ticket["id"].as_str().unwrap();
    let path = format!("/api/tickets/{id}/messages");
    let first = d
        .agent("bianca")
        .get(format!("/api/tickets/{id}"))
        .await
        .body["messages"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = d
        .agent("bianca")
        .post(
            &path,
            json!({"kind": "reply", "body": "Looking", "after": first}),
        )
        .await;
    assert_eq!(reply.status, 200, "nothing newer: sent");
    let reply_id = reply.body["id"].as_str().unwrap().to_owned();
    d.agent("bianca")
        .post(
            &path,
            json!({"kind": "note", "body": "internal, does not count"}),
        )
        .await;
    let customer = d
        .admin
        .post(
            &path,
            json!({"kind": "customer", "body": "Actually, it works now"}),
        )
        .await;

    let stale = d
        .agent("bianca")
        .post(
            &path,
            json!({"kind": "reply", "body": "Please restart", "after": reply_id}),
        )
        .await;
    assert_eq!((stale.status, stale.code()), (409, "stale"));
    let newer: Vec<&str> = stale.body["error"]["newer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        newer,
        [customer.body["id"].as_str().unwrap()],
        "only sent customer messages and replies count"
    );
    assert_eq!(
        d.agent("bianca")
            .get(format!("/api/tickets/{id}"))
            .await
            .body["messages"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "nothing sent"
    );
    let forced = d.agent("bianca")
        .post(
            &path,
            json!({"kind": "reply", "body": "Please restart anyway", "after": reply_id, "force": true}),
        )
        .await;
    assert_eq!(forced.status, 200);

    let unknown = d
        .agent("bianca")
        .post(
            &path,
            json!({"kind": "reply", "body": "x", "after": "01a1fcb1-fa68-7345-849d-4f02be394110"}),
        )
        .await;
    assert_eq!(unknown.code(), "bad_request");
    assert_eq!(
        d.agent("bianca")
            .post(
                &path,
                json!({"kind": "reply", "body": "x", "after": "nope"})
            )
            .await
            .code(),
        "bad_request"
    );
    assert_eq!(
        d.agent("bianca")
            .post(&path, json!({"kind": "note", "body": "x", "after": first}))
            .await
            .code(),
        "bad_request"
    );
}
