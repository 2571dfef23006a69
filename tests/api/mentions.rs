//! Internal notes, @mentions, followers and notifications.

use serde_json::{Value, json};

use crate::support::*;

/// Support with one ticket, its agents Bianca and Hanna and light agent Lena,
/// and Sam of Sales.
fn team() -> Setup {
    Scenario::setup()
        .inbox("Support")
        .inbox("Sales")
        .agent("bianca", &["Support"])
        .agent("hanna", &["Support"])
        .agent("sam", &["Sales"])
        .light("lena", &["Support"])
        .ticket("Support", "Login loop")
}

/// `author` posts an internal note on the ticket.
async fn post_note(t: &Scenario, author: &Api, body: &str) -> Resp {
    author
        .post(t.path("/messages"), json!({"kind": "note", "body": body}))
        .await
}

/// The names of the ticket's followers.
async fn followers(t: &Scenario) -> Vec<String> {
    let detail = t.admin.get(t.path("")).await;
    detail.body["followers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect()
}

#[actix_web::test]
async fn a_mention_adds_a_follower_and_notifies_them_wherever_they_are() {
    let t = team().start().await;
    let (mut hanna, _) = Ws::hello(&t.server, t.agent("hanna")).await; // in no inbox, viewing nothing
    let (mut hanna_other_tab, _) = Ws::hello(&t.server, t.agent("hanna")).await;
    let note = post_note(
        &t,
        t.agent("bianca"),
        "@hanna, can you check? cc @Hanna. also @sam and mail x@y.com, @ghost",
    )
    .await;
    assert_eq!(note.status, 200, "{}", note.body);
    assert_eq!(names(&note.body["mentions"]), ["Hanna"]);
    assert_eq!(
        note.body["skipped_mentions"],
        json!([{"handle": "sam", "reason": "no_access"}])
    );
    assert_eq!(followers(&t).await, ["Hanna"]);
    for ws in [&mut hanna, &mut hanna_other_tab] {
        let frame = ws.recv_type("notification").await;
        let n = &frame["notification"];
        assert_eq!(
            (n["kind"].as_str(), n["by"]["name"].as_str()),
            (Some("mention"), Some("Bianca"))
        );
        assert_eq!(n["ticket"]["subject"], "Login loop");
    }
    assert_eq!(
        t.agent("sam").get("/api/me/notifications").await.body,
        json!([]),
        "no access, no notification"
    );
    let history = t.admin.get(t.path("/history")).await.body;
    assert_eq!(history[1]["action"], "follower_added");
    assert_eq!(history[1]["detail"]["via"], "mention");
    // Mentioning a follower again adds nothing new but notifies again.
    post_note(&t, t.agent("bianca"), "@hanna ping").await;
    assert_eq!(followers(&t).await, ["Hanna"]);
    assert_eq!(
        hanna.recv_type("notification").await["notification"]["kind"],
        "mention"
    );
}

#[actix_web::test]
async fn replies_and_light_agents_add_nobody() {
    let t = team().start().await;
    let reply = t
        .agent("bianca")
        .post(
            t.path("/messages"),
            json!({"kind": "reply", "body": "Thanks! @hanna will call you"}),
        )
        .await;
    assert_eq!(reply.body["mentions"], json!([]));
    assert_eq!(reply.body["skipped_mentions"], json!([]));
    let light = post_note(&t, t.agent("lena"), "@hanna please look").await;
    assert_eq!(light.status, 200);
    assert_eq!(light.body["mentions"], json!([]));
    assert_eq!(
        light.body["skipped_mentions"],
        json!([{"handle": "hanna", "reason": "author_cannot_add_followers"}])
    );
    assert!(followers(&t).await.is_empty());
    assert_eq!(
        t.agent("hanna").get("/api/me/notifications").await.body,
        json!([])
    );
}

#[actix_web::test]
async fn followers_hear_of_every_later_message_but_their_own() {
    let t = team().start().await;
    post_note(&t, t.agent("bianca"), "@hanna fyi").await;
    let (mut hanna, _) = Ws::hello(&t.server, t.agent("hanna")).await;
    t.agent("bianca")
        .post(
            t.path("/messages"),
            json!({"kind": "reply", "body": "On it"}),
        )
        .await;
    let update = hanna.recv_type("notification").await;
    assert_eq!(
        (
            update["notification"]["kind"].as_str(),
            update["notification"]["text"].as_str()
        ),
        (Some("update"), Some("Bianca replied on #1 \"Login loop\""))
    );
    t.admin
        .post(
            t.path("/messages"),
            json!({"kind": "customer", "body": "Still broken"}),
        )
        .await;
    let customer = hanna.recv_type("notification").await;
    assert_eq!(customer["notification"]["by"], Value::Null);
    assert!(
        customer["notification"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Carla Customer wrote")
    );
    post_note(&t, t.agent("hanna"), "my own note").await;
    assert!(
        hanna
            .sync()
            .await
            .iter()
            .all(|f| f["type"] != "notification"),
        "no notification for one's own message"
    );
    // Offline agents find everything later, newest first.
    let all = t.agent("hanna").get("/api/me/notifications").await.body;
    let kinds: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["update", "update", "mention"]);
}

#[actix_web::test]
async fn followers_are_managed_by_those_who_may_edit_and_removal_stops_notifications() {
    let t = team().start().await;
    let add = |api: &Api, agent: &str| {
        let (api, body) = (api.clone(), json!({"agent": agent}));
        let path = t.path("/followers");
        async move { api.post(path, body).await }
    };
    let added = add(t.agent("bianca"), &t.agent("hanna").id).await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(names(&added.body["followers"]), ["Hanna"]);
    assert_eq!(
        add(t.agent("bianca"), &t.agent("hanna").id).await.status,
        200,
        "idempotent"
    );
    assert_eq!(
        add(t.agent("lena"), &t.agent("bianca").id).await.status,
        403
    );
    assert_eq!(
        add(t.agent("bianca"), &t.agent("sam").id).await.code(),
        "conflict"
    );
    assert_eq!(add(t.agent("sam"), &t.agent("sam").id).await.status, 404);
    add(t.agent("bianca"), &t.agent("lena").id).await;
    assert_eq!(followers(&t).await, ["Hanna", "Lena"]);

    assert_eq!(
        t.agent("bianca")
            .delete(t.path(&format!("/followers/{}", t.agent("hanna").id)))
            .await
            .status,
        204
    );
    assert_eq!(
        t.agent("bianca")
            .delete(t.path(&format!("/followers/{}", t.agent("hanna").id)))
            .await
            .status,
        404
    );
    t.agent("bianca").put(t.path("/lock")).await;
    let unfollow = t
        .agent("lena")
        .delete(t.path(&format!("/followers/{}", t.agent("lena").id)))
        .await;
    assert_eq!(
        unfollow.status, 204,
        "anyone may unfollow, even under someone else's lock"
    );
    t.agent("bianca").delete(t.path("/lock")).await;
    t.agent("bianca")
        .post(
            t.path("/messages"),
            json!({"kind": "reply", "body": "done"}),
        )
        .await;
    assert_eq!(
        t.agent("hanna").get("/api/me/notifications").await.body,
        json!([])
    );
    let history = t.admin.get(t.path("/history")).await.body;
    let actions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "created",
            "follower_added",
            "follower_added",
            "follower_removed",
            "locked",
            "follower_removed",
            "unlocked"
        ]
    );
}

#[actix_web::test]
async fn notifications_page_filter_and_mark_read() {
    let t = team().start().await;
    for i in 0..5 {
        post_note(&t, t.agent("bianca"), &format!("@hanna number {i}")).await;
    }
    let first = t
        .agent("hanna")
        .get("/api/me/notifications?limit=2")
        .await
        .body;
    assert_eq!(first.as_array().unwrap().len(), 2);
    let before = first[1]["id"].as_str().unwrap();
    let rest = t
        .agent("hanna")
        .get(format!("/api/me/notifications?limit=10&before={before}"))
        .await
        .body;
    assert_eq!(rest.as_array().unwrap().len(), 3);
    assert!(first[0]["created_at"].as_str() >= rest[0]["created_at"].as_str());
    for bad in [json!({"idz": []}), json!({"ids": "all"}), json!([1])] {
        let refused = t
            .agent("hanna")
            .post("/api/me/notifications/read", bad.clone())
            .await;
        assert_eq!(refused.status, 400, "{bad}");
    }
    assert_eq!(
        t.agent("hanna")
            .get("/api/me/notifications?unread=true")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        5,
        "refused requests marked nothing"
    );
    t.agent("hanna")
        .post(
            "/api/me/notifications/read",
            json!({"ids": [first[0]["id"]]}),
        )
        .await;
    assert_eq!(
        t.agent("hanna")
            .get("/api/me/notifications?unread=true")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        t.agent("hanna")
            .post("/api/me/notifications/read", json!({}))
            .await
            .status,
        204
    );
    assert_eq!(
        t.agent("hanna")
            .get("/api/me/notifications?unread=true")
            .await
            .body,
        json!([])
    );
    assert_eq!(
        t.agent("hanna")
            .get("/api/me/notifications?limit=0")
            .await
            .status,
        400
    );
}
