//! Live drafts, hard locks with automatic unlock, assignment notifications.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

/// Support with one ticket, its agents Bianca and Hanna and light agent Lena,
/// and Sam of Sales.
fn room() -> Setup {
    Scenario::setup()
        .inbox("Support")
        .inbox("Sales")
        .agent("bianca", &["Support"])
        .agent("hanna", &["Support"])
        .light("lena", &["Support"])
        .agent("sam", &["Sales"])
        .ticket("Support", "Printer on fire")
}

fn draft(ticket: &str, kind: &str, body: &str) -> Value {
    json!({"type": "draft", "ticket": ticket, "kind": kind, "body": body})
}

#[actix_web::test]
async fn drafts_reach_other_viewers_but_not_the_authors_own_tab() {
    let r = room().start().await;
    let mut author = r.viewer(r.agent("bianca")).await;
    let mut authors_other_tab = r.viewer(r.agent("bianca")).await;
    let mut colleague = r.viewer(r.agent("hanna")).await;
    let sent = Instant::now();
    author
        .send(draft(r.ticket(), "reply", "Dear Carla, we"))
        .await;
    let seen = colleague.recv_type("draft").await;
    assert!(
        sent.elapsed() < Duration::from_millis(500),
        "took {:?}",
        sent.elapsed()
    );
    assert_eq!(seen["ticket"], r.ticket());
    assert_eq!(
        seen["agent"],
        json!({"id": r.agent("bianca").id, "name": "Bianca"})
    );
    assert_eq!(
        (seen["kind"].as_str(), seen["body"].as_str()),
        (Some("reply"), Some("Dear Carla, we"))
    );
    assert_eq!(seen["outdated"], false);
    assert_eq!(
        authors_other_tab.recv_type("draft").await["body"],
        "Dear Carla, we"
    );
    assert!(
        author.sync().await.iter().all(|f| f["type"] != "draft"),
        "never echoed to the author's tab"
    );

    // People who open the ticket later see it, and so does the REST detail.
    let (mut later, _) = Ws::hello(&r.server, r.agent("lena")).await;
    let opened = later.open(r.ticket(), false).await;
    assert_eq!(opened["drafts"][0]["body"], "Dear Carla, we");
    let detail = r.agent("hanna").get(r.path("")).await;
    assert_eq!(detail.body["drafts"][0]["agent"]["name"], "Bianca");

    // Sending the reply clears the draft for everyone.
    r.agent("bianca")
        .post(
            r.path("/messages"),
            json!({"kind": "reply", "body": "Dear Carla, we fixed it."}),
        )
        .await;
    let cleared = colleague.recv_type("draft").await;
    assert_eq!(
        (cleared["kind"].as_str(), cleared["body"].as_str()),
        (Some("reply"), Some(""))
    );
    assert_eq!(
        r.agent("hanna").get(r.path("")).await.body["drafts"],
        json!([])
    );
}

#[actix_web::test]
async fn a_burst_of_keystrokes_is_throttled_and_the_last_text_wins() {
    let r = room().start().await;
    let mut author = r.viewer(r.agent("bianca")).await;
    let mut colleague = r.viewer(r.agent("hanna")).await;
    let text = "The quick brown fox jumps over the lazy dog";
    for end in 1..=text.len() {
        author.send(draft(r.ticket(), "note", &text[..end])).await;
    }
    let mut frames = 0;
    loop {
        let frame = colleague.recv_type("draft").await;
        frames += 1;
        if frame["body"] == text {
            break;
        }
    }
    assert!(
        frames < text.len() / 2,
        "{frames} frames for {} keystrokes",
        text.len()
    );
}

#[actix_web::test]
async fn drafts_survive_a_clean_restart_within_the_debounce_second() {
    let dir = tempfile::tempdir().unwrap();
    let r = room()
        .start_on(TestServer::start_in(dir.path(), "").await.unwrap())
        .await;
    let mut author = r.viewer(r.agent("bianca")).await;
    for i in 0..40 {
        author
            .send(draft(r.ticket(), "reply", &format!("typing {i}")))
            .await;
    }
    author.sync().await;
    let (ticket, bianca) = (r.ticket().to_owned(), r.agent("bianca").clone());
    r.server.stop(); // a clean shutdown, well within the debounce second
    let server = TestServer::start_in(dir.path(), "").await.unwrap();
    let detail = bianca
        .on(&server)
        .get(format!("/api/tickets/{ticket}"))
        .await;
    assert_eq!(detail.body["drafts"][0]["body"], "typing 39");
}

#[actix_web::test]
async fn keystrokes_cost_about_one_commit_per_second() {
    let r = room().start().await;
    let mut author = r.viewer(r.agent("bianca")).await;
    author.sync().await;
    let commits = || r.server.metric("tandem_store_commits_total");
    let before = commits().await;
    let started = Instant::now();
    let mut i = 0;
    while started.elapsed() < Duration::from_millis(1500) {
        author
            .send(draft(r.ticket(), "note", &format!("keystroke {i}")))
            .await;
        i += 1;
        tokio::time::sleep(Duration::from_millis(25)).await; // a fast typist: 40 keys/s
    }
    author.sync().await;
    let persisted = commits().await - before;
    assert!(
        persisted <= 3,
        "{persisted} commits for {i} keystrokes in 1.5 s"
    );
    // And it is persisted within a second or so.
    let deadline = Instant::now() + FRAME_WAIT;
    loop {
        let restart_safe = r.agent("hanna").get(r.path("")).await.body["drafts"][0]["body"]
            .as_str()
            == Some(&format!("keystroke {}", i - 1));
        if restart_safe && commits().await > before {
            break;
        }
        assert!(Instant::now() < deadline, "draft never persisted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Timestamps have millisecond precision: a customer message that follows a
/// draft within the same millisecond still outdates it. (A fresh ticket each
/// round: the draft fan-out throttle would otherwise delay every later draft.)
#[actix_web::test]
async fn a_customer_message_in_the_same_millisecond_still_outdates_drafts() {
    let r = room().start().await;
    let (mut author, _) = Ws::hello(&r.server, r.agent("bianca")).await;
    let (mut colleague, _) = Ws::hello(&r.server, r.agent("hanna")).await;
    for round in 0..50 {
        let ticket = r.new_ticket("Printer").await;
        author.open(&ticket, false).await;
        colleague.open(&ticket, false).await;
        author.send(draft(&ticket, "reply", "As I said")).await;
        let fresh = colleague.recv_type("draft").await;
        assert_eq!(fresh["outdated"], false, "round {round}: {fresh}");
        r.admin
            .post(
                format!("/api/tickets/{ticket}/messages"),
                json!({"kind": "customer", "body": "It works now"}),
            )
            .await;
        let outdated = colleague.recv_type("draft").await;
        assert_eq!(outdated["outdated"], true, "round {round}: {outdated}");
    }
}

/// A ticket's frames reach a colleague in the order they were decided, even
/// when they go to single tabs: a draft typed the moment `opened` arrives
/// never overtakes the presence frame saying its author joined (which waits
/// for the first open's read mark to be written, then fans out to the
/// inbox). Eight pairs at once, subscribed, so the inbox has work to do.
#[actix_web::test]
async fn a_colleague_hears_an_author_join_before_its_first_draft() {
    let r = room().start().await;
    let lane = |lane: usize| {
        let r = &r;
        async move {
            let (mut author, _) = Ws::hello(&r.server, r.agent("bianca")).await;
            let (mut colleague, _) = Ws::hello(&r.server, r.agent("hanna")).await;
            colleague.subscribe(r.inbox("Support")).await;
            for round in 0..10 {
                let ticket = r.new_ticket("Printer").await;
                colleague.open(&ticket, false).await;
                author.open(&ticket, false).await;
                author.send(draft(&ticket, "note", "on it")).await;
                let mut heard = Vec::new();
                loop {
                    let frame = colleague.recv().await;
                    if frame["ticket"] == ticket.as_str()
                        || frame["ticket"]["id"] == ticket.as_str()
                    {
                        heard.push(frame);
                    }
                    if heard.last().is_some_and(|f| f["type"] == "draft") {
                        break;
                    }
                }
                let joined = heard.iter().any(|f| {
                    f["type"] == "presence"
                        && f["change"]["kind"] == "viewer_joined"
                        && f["change"]["agent"]["name"] == "Bianca"
                });
                assert!(
                    joined,
                    "lane {lane} round {round}: the draft came first: {heard:#?}"
                );
            }
        }
    };
    futures_util::future::join_all((0..8).map(lane)).await;
}

#[actix_web::test]
async fn a_newer_customer_message_marks_drafts_outdated() {
    let r = room().start().await;
    let mut author = r.viewer(r.agent("bianca")).await;
    let mut colleague = r.viewer(r.agent("hanna")).await;
    author.send(draft(r.ticket(), "reply", "As I said")).await;
    colleague.recv_type("draft").await;
    r.admin
        .post(
            r.path("/messages"),
            json!({"kind": "customer", "body": "Never mind, it works now"}),
        )
        .await;
    let outdated = colleague.recv_type("draft").await;
    assert_eq!(
        (outdated["body"].as_str(), outdated["outdated"].as_bool()),
        (Some("As I said"), Some(true))
    );
    let (mut later, _) = Ws::hello(&r.server, &r.admin).await;
    assert_eq!(
        later.open(r.ticket(), false).await["drafts"][0]["outdated"],
        true
    );
    // Typing again makes it current.
    author
        .send(draft(r.ticket(), "reply", "Glad to hear"))
        .await;
    assert_eq!(colleague.recv_type("draft").await["outdated"], false);
}

#[actix_web::test]
async fn drafts_respect_access() {
    let r = room().start().await;
    let (mut outsider, _) = Ws::hello(&r.server, r.agent("sam")).await;
    outsider
        .send(json!({"type": "draft", "ticket": r.ticket(), "kind": "note", "body": "x", "ref": 1}))
        .await;
    assert_eq!(outsider.recv_type("error").await["code"], "not_found");
    let mut light = r.viewer(r.agent("lena")).await;
    light
        .send(
            json!({"type": "draft", "ticket": r.ticket(), "kind": "reply", "body": "x", "ref": 2}),
        )
        .await;
    assert_eq!(light.recv_type("error").await["code"], "forbidden");
    let mut colleague = r.viewer(r.agent("hanna")).await;
    light.send(draft(r.ticket(), "note", "a light note")).await;
    assert_eq!(colleague.recv_type("draft").await["body"], "a light note");
    // The outsider never saw a draft.
    assert!(outsider.sync().await.iter().all(|f| f["type"] != "draft"));
}

#[actix_web::test]
async fn hard_locks_block_everyone_but_admins_and_show_in_presence() {
    let r = room().start().await;
    let (mut observer, _) = Ws::hello(&r.server, &r.admin).await;
    observer.subscribe(r.inbox("Support")).await;
    assert_eq!(r.agent("lena").put(r.path("/lock")).await.status, 403);
    assert_eq!(
        r.agent("lena").delete(r.path("/lock")).await.status,
        403,
        "the role first, then `not locked`"
    );
    let mut holder_tab = r.viewer(r.agent("hanna")).await;
    let claimed = r.agent("bianca").put(r.path("/lock")).await;
    assert_eq!((claimed.status, claimed.code()), (409, "ticket_claimed"));
    holder_tab
        .send(json!({"type": "close", "ticket": r.ticket()}))
        .await;
    holder_tab.sync().await;

    let lock = r.agent("bianca").put(r.path("/lock")).await;
    assert_eq!(lock.status, 200, "{}", lock.body);
    assert_eq!(lock.body["agent"]["name"], "Bianca");
    assert!(
        lock.body["expires_at"].as_str().is_some(),
        "default auto-unlock is 1800 s"
    );
    let locked = observer.presence("locked").await;
    assert_eq!(locked["lock"]["agent"]["name"], "Bianca");
    let snapshot = Ws::hello(&r.server, r.agent("hanna"))
        .await
        .0
        .subscribe(r.inbox("Support"))
        .await;
    assert_eq!(snapshot["presence"][0]["lock"]["agent"]["name"], "Bianca");

    let note = r
        .agent("hanna")
        .post(
            r.path("/messages"),
            json!({"kind": "note", "body": "can I?"}),
        )
        .await;
    assert_eq!((note.status, note.code()), (409, "ticket_locked"));
    assert_eq!(note.body["error"]["holder"]["name"], "Bianca");
    assert_eq!(
        r.agent("hanna")
            .patch(r.path(""), json!({"subject": "x"}))
            .await
            .code(),
        "ticket_locked"
    );
    assert_eq!(
        r.agent("hanna")
            .post(r.path("/resolve"), json!({}))
            .await
            .code(),
        "ticket_locked"
    );
    assert_eq!(
        r.agent("hanna").put(r.path("/lock")).await.code(),
        "ticket_locked"
    );
    assert_eq!(
        r.admin
            .post(
                r.path("/messages"),
                json!({"kind": "note", "body": "admin note"})
            )
            .await
            .status,
        200
    );
    assert_eq!(
        r.admin
            .post(
                r.path("/messages"),
                json!({"kind": "customer", "body": "still there?"})
            )
            .await
            .status,
        200
    );
    assert_eq!(
        r.agent("bianca")
            .post(r.path("/messages"), json!({"kind": "reply", "body": "yes"}))
            .await
            .status,
        200
    );
    assert_eq!(
        r.admin.get(r.path("")).await.body["lock"]["agent"]["name"],
        "Bianca"
    );

    assert_eq!(
        r.agent("hanna").delete(r.path("/lock")).await.code(),
        "forbidden"
    );
    assert_eq!(r.admin.delete(r.path("/lock")).await.status, 204);
    let unlocked = observer.presence("unlocked").await;
    assert_eq!(
        (
            unlocked["change"]["agent"]["name"].as_str(),
            unlocked["change"]["by"]["name"].as_str()
        ),
        (Some("Bianca"), Some("Admin"))
    );
    assert_eq!(unlocked["lock"], Value::Null);
    assert_eq!(r.admin.delete(r.path("/lock")).await.code(), "conflict");
    assert_eq!(
        r.agent("hanna")
            .post(r.path("/messages"), json!({"kind": "note", "body": "now"}))
            .await
            .status,
        200
    );
}

#[actix_web::test]
async fn a_lock_holder_who_lost_access_is_not_told_of_its_expiry() {
    let r = room().start().await;
    r.admin
        .patch("/api/settings", json!({"hard_lock_auto_unlock_s": 0.5}))
        .await;
    let (mut observer, _) = Ws::hello(&r.server, &r.admin).await;
    observer.subscribe(r.inbox("Support")).await;
    assert_eq!(r.agent("bianca").put(r.path("/lock")).await.status, 200);
    observer.presence("locked").await;
    r.admin
        .patch(
            format!("/api/agents/{}", r.agent("bianca").id),
            json!({"inboxes": []}),
        )
        .await;
    assert_eq!(
        observer.presence("unlocked").await["change"]["reason"],
        "expired"
    );
    let stored = r.agent("bianca").get("/api/me/notifications").await.body;
    assert_eq!(stored, json!([]), "nothing about a ticket it cannot see");
}

#[actix_web::test]
async fn locks_unlock_themselves_with_history_and_a_notification() {
    let r = room().start().await;
    r.admin
        .patch("/api/settings", json!({"hard_lock_auto_unlock_s": 1}))
        .await;
    let (mut observer, _) = Ws::hello(&r.server, &r.admin).await;
    observer.subscribe(r.inbox("Support")).await;
    let (mut holder, _) = Ws::hello(&r.server, r.agent("bianca")).await;
    holder.open(r.ticket(), false).await;
    let locked_at = Instant::now();
    r.agent("bianca").put(r.path("/lock")).await;
    observer.presence("locked").await;
    let unlocked = observer.presence("unlocked").await;
    let after = locked_at.elapsed();
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_millis(2500),
        "unlocked after {after:?}"
    );
    assert_eq!(unlocked["change"]["reason"], "expired");
    // The holder also lost the claim it worked under, and was told.
    assert_eq!(
        observer.presence("released").await["change"]["reason"],
        "expired"
    );
    let notification = holder.recv_type("notification").await;
    assert_eq!(notification["notification"]["kind"], "lock_expired");
    assert_eq!(holder.recv_type("claim_lost").await["reason"], "expired");
    let stored = r.agent("bianca").get("/api/me/notifications").await;
    assert_eq!(stored.body[0]["kind"], "lock_expired");
    assert_eq!(stored.body[0]["ticket"]["number"], 1);
    let history = r.admin.get(r.path("/history")).await.body;
    let actions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "locked", "lock_expired"]);
    assert_eq!(history[2]["actor"], Value::Null);
}

#[actix_web::test]
async fn locks_and_their_timers_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let r = room()
        .start_on(TestServer::start_in(dir.path(), "").await.unwrap())
        .await;
    let second = r.new_ticket("Forever locked").await;
    r.admin
        .patch("/api/settings", json!({"hard_lock_auto_unlock_s": null}))
        .await;
    r.agent("bianca")
        .put(format!("/api/tickets/{second}/lock"))
        .await;
    r.admin
        .patch("/api/settings", json!({"hard_lock_auto_unlock_s": 1.5}))
        .await;
    let locked_at = Instant::now();
    r.agent("bianca").put(r.path("/lock")).await;
    let (admin, ticket, inbox) = (
        r.admin.clone(),
        r.ticket().to_owned(),
        r.inbox("Support").to_owned(),
    );
    r.server.stop();

    let server = TestServer::start_in(dir.path(), "").await.unwrap();
    let admin = admin.on(&server);
    let (mut observer, _) = Ws::hello(&server, &admin).await;
    let snapshot = observer.subscribe(&inbox).await;
    assert_eq!(
        snapshot["presence"].as_array().unwrap().len(),
        2,
        "both locks are back: {snapshot}"
    );
    let unlocked = observer.presence("unlocked").await;
    assert_eq!(
        (
            unlocked["ticket"].as_str(),
            unlocked["change"]["reason"].as_str()
        ),
        (Some(ticket.as_str()), Some("expired"))
    );
    let after = locked_at.elapsed();
    assert!(
        after >= Duration::from_millis(1400) && after < Duration::from_millis(3500),
        "unlocked after {after:?}"
    );
    assert_eq!(
        admin.get(format!("/api/tickets/{second}")).await.body["lock"]["agent"]["name"],
        "Bianca"
    );
}

#[actix_web::test]
async fn a_lock_that_expired_while_down_is_released_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let r = room()
        .start_on(TestServer::start_in(dir.path(), "").await.unwrap())
        .await;
    r.admin
        .patch("/api/settings", json!({"hard_lock_auto_unlock_s": 0.2}))
        .await;
    r.agent("bianca").put(r.path("/lock")).await;
    let (admin, ticket) = (r.admin.clone(), r.ticket().to_owned());
    r.server.stop();
    // Down for longer than the lock had left (the lock's own timer died with the server).
    tokio::time::sleep(Duration::from_millis(400)).await;
    let server = TestServer::start_in(dir.path(), "").await.unwrap();
    let admin = admin.on(&server);
    let deadline = Instant::now() + FRAME_WAIT;
    loop {
        let history = admin
            .get(format!("/api/tickets/{ticket}/history"))
            .await
            .body;
        if history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "lock_expired")
        {
            break;
        }
        assert!(Instant::now() < deadline, "never expired: {history}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        admin.get(format!("/api/tickets/{ticket}")).await.body["lock"],
        Value::Null
    );
}

#[actix_web::test]
async fn the_assignee_is_notified_live_and_finds_it_later() {
    let r = room().start().await;
    let (mut hanna, _) = Ws::hello(&r.server, r.agent("hanna")).await; // not subscribed to anything
    r.agent("bianca")
        .post(r.path("/assign"), json!({"agent": r.agent("hanna").id}))
        .await;
    let frame = hanna.recv_type("notification").await;
    let n = &frame["notification"];
    assert_eq!(
        (
            n["kind"].as_str(),
            n["by"]["name"].as_str(),
            n["read"].as_bool()
        ),
        (Some("assigned"), Some("Bianca"), Some(false))
    );
    assert_eq!(
        n["ticket"],
        json!({"id": r.ticket(), "number": 1, "subject": "Printer on fire"})
    );
    assert!(
        n["text"]
            .as_str()
            .unwrap()
            .contains("Bianca assigned you #1")
    );
    // Assigning yourself notifies nobody.
    r.agent("bianca")
        .post(r.path("/assign"), json!({"agent": r.agent("bianca").id}))
        .await;
    assert!(
        r.agent("bianca")
            .get("/api/me/notifications")
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );

    let unread = r
        .agent("hanna")
        .get("/api/me/notifications?unread=true")
        .await;
    assert_eq!(unread.body.as_array().unwrap().len(), 1);
    let id = unread.body[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.agent("hanna")
            .post("/api/me/notifications/read", json!({"ids": [id]}))
            .await
            .status,
        204
    );
    assert_eq!(
        r.agent("hanna")
            .get("/api/me/notifications?unread=true")
            .await
            .body,
        json!([])
    );
    assert_eq!(
        r.agent("hanna").get("/api/me/notifications").await.body[0]["read"],
        true
    );
    assert_eq!(
        r.agent("hanna")
            .post(
                "/api/me/notifications/read",
                json!({"ids": ["01a1fcb1-fa68-7345-849d-4f02be394110"]})
            )
            .await
            .status,
        400
    );
}

#[actix_web::test]
async fn history_lists_every_decision_oldest_first() {
    let r = room().start().await;
    let (mut bianca, _) = Ws::hello(&r.server, r.agent("bianca")).await;
    bianca.open(r.ticket(), false).await;
    let (mut hanna, _) = Ws::hello(&r.server, r.agent("hanna")).await;
    hanna.open(r.ticket(), true).await; // take-over
    r.agent("hanna")
        .post(r.path("/assign"), json!({"agent": r.agent("hanna").id}))
        .await;
    r.agent("hanna").put(r.path("/lock")).await;
    r.agent("hanna").delete(r.path("/lock")).await;
    r.agent("hanna").post(r.path("/resolve"), json!({})).await;
    r.agent("hanna").post(r.path("/reopen"), json!({})).await;
    let sales = r.admin.create_inbox("Elsewhere").await;
    r.agent("hanna")
        .post(r.path("/transfer"), json!({"inbox": sales}))
        .await;
    let history = r.admin.get(r.path("/history")).await.body;
    let entries = history.as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "created",
            "claim_forced",
            "assigned",
            "locked",
            "unlocked",
            "status_changed",
            "status_changed",
            "transferred"
        ]
    );
    assert!(
        entries
            .windows(2)
            .all(|w| w[0]["at"].as_str() <= w[1]["at"].as_str()),
        "oldest first"
    );
    assert!(entries[1..].iter().all(|e| e["actor"]["name"] == "Hanna"));
    assert!(
        entries
            .iter()
            .all(|e| e["at"].as_str().unwrap().ends_with('Z'))
    );
}

#[actix_web::test]
async fn a_lock_moves_with_its_ticket_into_the_new_inbox_snapshot() {
    // Found by the lifecycle property test: a locked ticket that nobody had
    // open left the old inbox's snapshot but never reached the new one's.
    let r = room().start().await;
    let sales = r.admin.create_inbox("Elsewhere").await;
    assert_eq!(r.admin.put(r.path("/lock")).await.status, 200);
    let moved = r
        .admin
        .post(r.path("/transfer"), json!({"inbox": sales}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let (mut observer, _) = Ws::hello(&r.server, &r.admin).await;
    assert_eq!(
        observer.subscribe(r.inbox("Support")).await["presence"],
        json!([])
    );
    let snapshot = observer.subscribe(&sales).await;
    assert_eq!(snapshot["presence"][0]["ticket"], r.ticket());
    assert_eq!(
        snapshot["presence"][0]["lock"]["agent"]["id"],
        r.admin.id.as_str()
    );
}

#[actix_web::test]
async fn deleting_a_locked_ticket_ends_its_lock_for_good() {
    let r = room().start().await;
    r.admin
        .patch("/api/settings", json!({"hard_lock_auto_unlock_s": 0.3}))
        .await;
    r.agent("bianca").put(r.path("/lock")).await;
    let (mut observer, _) = Ws::hello(&r.server, &r.admin).await;
    assert_eq!(
        observer.subscribe(r.inbox("Support")).await["presence"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(r.agent("bianca").delete(r.path("")).await.status, 204);
    let snapshot = Ws::hello(&r.server, &r.admin)
        .await
        .0
        .subscribe(r.inbox("Support"))
        .await;
    assert_eq!(
        snapshot["presence"],
        json!([]),
        "snapshots forget a deleted ticket and its lock"
    );
    // Past the lock's expiry: nothing expires on a deleted ticket.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        r.agent("bianca").get("/api/me/notifications").await.body,
        json!([])
    );
}

/// Found by the crash test: a lock that reached its expiry while one of the
/// holder's changes was being committed, with the next change already
/// waiting, was expired against the state before that commit; the commit
/// then brought the expired lock back, and it expired a second time.
#[actix_web::test]
async fn a_lock_expiring_among_queued_changes_expires_once() {
    let r = room().start().await;
    r.admin
        .patch("/api/settings", json!({"hard_lock_auto_unlock_s": 0.1}))
        .await;
    for round in 0..8 {
        assert_eq!(r.agent("bianca").put(r.path("/lock")).await.status, 200);
        // The holder keeps several notes in flight across the expiry.
        let until = Instant::now() + Duration::from_millis(300);
        let writer = |n: usize| {
            let (bianca, path) = (r.agent("bianca").clone(), r.path("/messages"));
            async move {
                let mut i = 0;
                while Instant::now() < until {
                    i += 1;
                    let body = json!({"kind": "note", "body": format!("round {round} writer {n} note {i}")});
                    assert_eq!(bianca.post(&path, body).await.status, 200);
                }
            }
        };
        futures_util::future::join_all((0..3).map(writer)).await;
        let history = r.admin.get(r.path("/history")).await.body;
        let count = |action: &str| {
            history
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["action"] == action)
                .count()
        };
        assert_eq!(
            (count("locked"), count("lock_expired")),
            (round + 1, round + 1),
            "round {round}: every lock expired once"
        );
        assert_eq!(r.admin.get(r.path("")).await.body["lock"], Value::Null);
    }
    let notifications = r
        .agent("bianca")
        .get("/api/me/notifications?limit=200")
        .await
        .body;
    assert_eq!(
        notifications.as_array().unwrap().len(),
        8,
        "one lock_expired notification per lock"
    );
}
