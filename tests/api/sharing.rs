//! Sharing one ticket with an agent outside its inbox, and losing access.

use serde_json::json;

use crate::support::*;

/// Support with two tickets (the first is the one shared), its agent Bianca
/// and light agent Lena, and Sam of Sales.
fn office() -> Setup {
    Scenario::setup()
        .inbox("Support")
        .inbox("Sales")
        .agent("bianca", &["Support"])
        .agent("sam", &["Sales"])
        .light("lena", &["Support"])
        .ticket("Support", "Shared printer")
        .ticket("Support", "Private printer")
}

/// Switches sharing on and Bianca shares the first ticket with Sam.
async fn share_with_sam(o: &Scenario) {
    o.admin
        .patch("/api/settings", json!({"ticket_sharing_enabled": true}))
        .await;
    let resp = o
        .agent("bianca")
        .post(o.path("/shares"), json!({"agent": o.agent("sam").id}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
}

#[actix_web::test]
async fn sharing_is_off_until_enabled_and_only_for_active_agents() {
    let o = office().start().await;
    let refused = o
        .agent("bianca")
        .post(o.path("/shares"), json!({"agent": o.agent("sam").id}))
        .await;
    assert_eq!((refused.status, refused.code()), (409, "sharing_disabled"));
    assert_eq!(
        o.agent("sam")
            .post(o.path("/shares"), json!({"agent": o.agent("sam").id}))
            .await
            .status,
        404,
        "no leak"
    );
    o.admin
        .patch("/api/settings", json!({"ticket_sharing_enabled": true}))
        .await;
    assert_eq!(
        o.agent("lena")
            .post(o.path("/shares"), json!({"agent": o.agent("sam").id}))
            .await
            .status,
        403,
        "light agents cannot share"
    );
    assert_eq!(
        o.agent("bianca")
            .post(o.path("/shares"), json!({"agent": o.agent("lena").id}))
            .await
            .code(),
        "conflict"
    );
    let shared = o
        .agent("bianca")
        .post(o.path("/shares"), json!({"agent": o.agent("sam").id}))
        .await;
    assert_eq!(
        shared.body["shared_with"],
        json!([{"id": o.agent("sam").id, "name": "Sam"}])
    );
    assert_eq!(
        o.agent("bianca").get(o.path("")).await.body["shared_with"][0]["name"],
        "Sam"
    );
    let history = o.admin.get(o.path("/history")).await.body;
    assert_eq!(history[1]["action"], "shared");
}

#[actix_web::test]
async fn a_shared_agent_works_on_that_ticket_only() {
    let o = office().start().await;
    share_with_sam(&o).await;
    assert_eq!(o.agent("sam").get(o.path("")).await.status, 200);
    assert_eq!(
        o.agent("sam")
            .post(
                o.path("/messages"),
                json!({"kind": "reply", "body": "Sales here"})
            )
            .await
            .status,
        200
    );
    assert_eq!(
        o.agent("sam")
            .post(o.path("/messages"), json!({"kind": "note", "body": "fyi"}))
            .await
            .status,
        200
    );
    assert_eq!(
        o.agent("sam")
            .patch(o.path(""), json!({"tags": ["shared"]}))
            .await
            .status,
        200
    );
    assert_eq!(
        o.agent("sam")
            .get(format!("/api/tickets/{}", o.tickets[1]))
            .await
            .status,
        404
    );
    assert_eq!(
        o.agent("sam")
            .get(format!("/api/inboxes/{}/tickets", o.inbox("Support")))
            .await
            .status,
        404
    );
    let search = o.agent("sam").get("/api/search?q=printer").await.body;
    let found: Vec<&str> = search["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(found, [o.ticket()]);
    let mine = o.agent("sam").get("/api/me/shared").await.body;
    assert_eq!(mine["tickets"][0]["id"], o.ticket());

    // Over WebSocket without subscribing: claims and presence reach the inbox's subscribers.
    let (mut bianca, _) = Ws::hello(&o.server, o.agent("bianca")).await;
    bianca.subscribe(o.inbox("Support")).await;
    let (mut sam, _) = Ws::hello(&o.server, o.agent("sam")).await;
    assert_eq!(sam.open(o.ticket(), false).await["claimed"], true);
    assert_eq!(
        bianca.presence("claimed").await["claim"]["agent"]["name"],
        "Sam"
    );
    let sales = o
        .admin
        .get("/api/inboxes")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "Sales")
        .unwrap()["id"]
        .clone();
    let moved = o
        .agent("sam")
        .post(o.path("/transfer"), json!({"inbox": sales}))
        .await;
    assert_eq!(
        moved.status, 200,
        "a shared agent may move the ticket: {}",
        moved.body
    );
}

#[actix_web::test]
async fn sharing_and_unsharing_notify_and_revoking_takes_effect_at_once() {
    let o = office().start().await;
    let (mut sam, _) = Ws::hello(&o.server, o.agent("sam")).await;
    share_with_sam(&o).await;
    assert_eq!(
        sam.recv_type("notification").await["notification"]["kind"],
        "shared"
    );
    let (mut observer, _) = Ws::hello(&o.server, &o.admin).await;
    observer.subscribe(o.inbox("Support")).await;
    sam.open(o.ticket(), false).await;
    observer.presence("claimed").await;

    assert_eq!(
        o.agent("bianca")
            .delete(o.path(&format!("/shares/{}", o.agent("sam").id)))
            .await
            .status,
        204
    );
    let (mut revoked, mut unshared) = (None, None);
    while revoked.is_none() || unshared.is_none() {
        let frame = sam.recv().await;
        match frame["type"].as_str() {
            Some("access_revoked") => revoked = Some(frame),
            Some("notification") => unshared = Some(frame),
            _ => {}
        }
    }
    assert_eq!(
        revoked.unwrap(),
        json!({"type": "access_revoked", "ticket": o.ticket()})
    );
    assert_eq!(unshared.unwrap()["notification"]["kind"], "unshared");
    let released = observer.presence("released").await;
    assert_eq!(released["change"]["reason"], "revoked");
    assert_eq!(o.agent("sam").get(o.path("")).await.status, 404);
    assert_eq!(
        o.agent("sam").get("/api/me/shared").await.body["tickets"],
        json!([])
    );
    assert_eq!(
        o.agent("bianca")
            .delete(o.path(&format!("/shares/{}", o.agent("sam").id)))
            .await
            .status,
        404
    );
}

#[actix_web::test]
async fn losing_membership_revokes_open_tickets_and_subscriptions_at_once() {
    let o = office().start().await;
    let (mut observer, _) = Ws::hello(&o.server, &o.admin).await;
    observer.subscribe(o.inbox("Support")).await;
    let (mut bianca, _) = Ws::hello(&o.server, o.agent("bianca")).await;
    bianca.subscribe(o.inbox("Support")).await;
    bianca.open(o.ticket(), false).await;
    observer.presence("claimed").await;
    o.admin
        .patch(
            format!("/api/agents/{}", o.agent("bianca").id),
            json!({"inboxes": []}),
        )
        .await;
    let mut types = Vec::new();
    while !types.contains(&"access_revoked".to_owned()) {
        let frame = bianca.recv().await;
        types.push(frame["type"].as_str().unwrap().to_owned());
    }
    assert!(
        types.contains(&"error".to_owned()),
        "the subscription ended with an error frame: {types:?}"
    );
    assert_eq!(
        observer.presence("released").await["change"]["reason"],
        "revoked"
    );
    assert_eq!(o.agent("bianca").get(o.path("")).await.status, 404);
    // No more frames from Support reach her.
    o.admin.create_ticket(o.inbox("Support"), "After").await;
    assert!(bianca.sync().await.iter().all(|f| f["type"] != "ticket"));
}

#[actix_web::test]
async fn disabling_an_agent_revokes_its_claims() {
    let o = office().start().await;
    let (mut observer, _) = Ws::hello(&o.server, &o.admin).await;
    observer.subscribe(o.inbox("Support")).await;
    let (mut bianca, _) = Ws::hello(&o.server, o.agent("bianca")).await;
    bianca.open(o.ticket(), false).await;
    observer.presence("claimed").await;
    o.admin
        .patch(
            format!("/api/agents/{}", o.agent("bianca").id),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(
        bianca.recv_type("access_revoked").await["ticket"],
        o.ticket()
    );
    assert_eq!(bianca.closed().await, 4403);
    assert_eq!(
        observer.presence("released").await["change"]["reason"],
        "revoked"
    );
}

#[actix_web::test]
async fn a_share_can_be_ended_after_sharing_was_switched_off() {
    let o = office().start().await;
    share_with_sam(&o).await;
    o.admin
        .patch("/api/settings", json!({"ticket_sharing_enabled": false}))
        .await;
    assert_eq!(
        o.agent("bianca")
            .post(o.path("/shares"), json!({"agent": o.agent("sam").id}))
            .await
            .code(),
        "sharing_disabled"
    );
    assert_eq!(
        o.agent("bianca")
            .delete(o.path(&format!("/shares/{}", o.agent("sam").id)))
            .await
            .status,
        204
    );
    assert_eq!(o.agent("sam").get(o.path("")).await.status, 404);
}

#[actix_web::test]
async fn an_agent_demoted_to_light_keeps_looking_but_loses_its_claim() {
    let o = office().start().await;
    let (mut observer, _) = Ws::hello(&o.server, &o.admin).await;
    observer.subscribe(o.inbox("Support")).await;
    let (mut bianca, _) = Ws::hello(&o.server, o.agent("bianca")).await;
    bianca.open(o.ticket(), false).await;
    observer.presence("claimed").await;
    o.admin
        .patch(
            format!("/api/agents/{}", o.agent("bianca").id),
            json!({"role": "light"}),
        )
        .await;
    let released = observer.presence("released").await;
    assert_eq!(released["change"]["reason"], "revoked");
    assert_eq!(released["viewers"][0]["name"], "Bianca", "still viewing");
}
