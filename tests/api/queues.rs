//! Chat queues: stable paging while tickets change, and per-agent read state.

use serde_json::json;

use crate::support::*;

/// A chat inbox with its agents Bianca and Hanna and light agent Lena.
fn queue() -> Setup {
    Scenario::setup()
        .inbox("Chat")
        .agent("bianca", &["Chat"])
        .agent("hanna", &["Chat"])
        .light("lena", &["Chat"])
}

#[actix_web::test]
async fn paging_neither_skips_nor_repeats_while_tickets_change() {
    let q = queue().start().await;
    let mut ids = Vec::new();
    for i in 1..=10 {
        ids.push(q.new_ticket(&format!("Chat {i}")).await);
    }
    let base = format!(
        "/api/inboxes/{}/tickets?view=pending&limit=4",
        q.inbox("Chat")
    );
    let first = q.agent("bianca").get(&base).await.body;
    assert_eq!(numbers(&first), [10, 9, 8, 7]);
    // While paging: #3 gets new activity (it would jump to the top), #8 is accepted (leaves Pending).
    q.admin
        .post(
            format!("/api/tickets/{}/messages", ids[2]),
            json!({"kind": "customer", "body": "hello again"}),
        )
        .await;
    q.agent("hanna")
        .post(format!("/api/tickets/{}/accept", ids[7]), json!({}))
        .await;
    let mut seen: Vec<u64> = numbers(&first);
    let mut cursor = first["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page = q
            .agent("bianca")
            .get(format!("{base}&cursor={c}"))
            .await
            .body;
        seen.extend(numbers(&page));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(
        seen,
        [10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
        "the pages read one consistent state"
    );
    // A new listing shows the changes.
    assert_eq!(
        numbers(&q.agent("bianca").get(&base).await.body),
        [3, 10, 9, 7]
    );
}

#[actix_web::test]
async fn read_state_is_per_agent() {
    let q = queue().start().await;
    let t = q.new_ticket("Unread?").await;
    let unread = |api: &Api| {
        let (api, path) = (api.clone(), format!("/api/tickets/{t}"));
        async move { api.get(path).await.body["unread"].as_bool().unwrap() }
    };
    assert!(
        unread(q.agent("bianca")).await && unread(q.agent("hanna")).await,
        "a new customer message is unread for everyone"
    );
    let (mut bianca, _) = Ws::hello(&q.server, q.agent("bianca")).await;
    bianca.open(&t, false).await;
    assert!(
        !unread(q.agent("bianca")).await,
        "opening marks it read for the opener"
    );
    assert!(unread(q.agent("hanna")).await);
    let marked = q
        .agent("bianca")
        .post(format!("/api/tickets/{t}/unread"), json!({}))
        .await;
    assert_eq!(
        (marked.status, marked.body["unread"].as_bool()),
        (200, Some(true))
    );
    assert_eq!(
        q.agent("lena")
            .post(format!("/api/tickets/{t}/read"), json!({}))
            .await
            .body["unread"],
        false,
        "light agents keep read marks too"
    );
    q.agent("hanna")
        .post(format!("/api/tickets/{t}/read"), json!({}))
        .await;
    let list = q
        .agent("hanna")
        .get(format!("/api/inboxes/{}/tickets", q.inbox("Chat")))
        .await
        .body;
    assert_eq!(list["tickets"][0]["unread"], false);
    q.admin
        .post(
            format!("/api/tickets/{t}/messages"),
            json!({"kind": "customer", "body": "anyone?"}),
        )
        .await;
    assert!(
        unread(q.agent("hanna")).await && unread(q.agent("lena")).await,
        "a new customer message makes it unread again"
    );
    let outsider = q.server.agent(&q.admin, "sam", "agent", &[]).await;
    assert_eq!(
        outsider
            .post(format!("/api/tickets/{t}/read"), json!({}))
            .await
            .status,
        404
    );
}

#[actix_web::test]
async fn ticket_frames_carry_each_subscribers_own_unread_flag() {
    let q = queue().start().await;
    let t = q.new_ticket("Flags").await;
    q.agent("bianca")
        .post(format!("/api/tickets/{t}/read"), json!({}))
        .await;
    let (mut bianca, _) = Ws::hello(&q.server, q.agent("bianca")).await;
    bianca.subscribe(q.inbox("Chat")).await;
    let (mut lena, _) = Ws::hello(&q.server, q.agent("lena")).await;
    lena.subscribe(q.inbox("Chat")).await;
    q.agent("hanna")
        .post(
            format!("/api/tickets/{t}/messages"),
            json!({"kind": "note", "body": "internal"}),
        )
        .await;
    assert_eq!(bianca.recv_type("ticket").await["ticket"]["unread"], false);
    assert_eq!(lena.recv_type("ticket").await["ticket"]["unread"], true);
    // Marking unread tells only one's own sessions.
    q.agent("bianca")
        .post(format!("/api/tickets/{t}/unread"), json!({}))
        .await;
    let own = bianca.recv_type("ticket").await;
    assert_eq!(
        (
            own["change"]["action"].as_str(),
            own["ticket"]["unread"].as_bool()
        ),
        (Some("unread"), Some(true))
    );
    assert!(lena.sync().await.iter().all(|f| f["type"] != "ticket"));
}

/// The opening tab gets its read mark's `ticket` frame after `opened`
/// (docs/protocol.md §6.7.5), although that frame comes from the ticket
/// through the inbox, not from the tab's session: the session holds what
/// others send it while it waits for the ticket's answer.
#[actix_web::test]
async fn the_opening_tab_hears_of_its_read_mark_after_opened() {
    let q = queue().start().await;
    let (mut tab, _) = Ws::hello(&q.server, q.agent("bianca")).await;
    for round in 0..20 {
        let t = q.new_ticket(&format!("Unread {round}")).await;
        tab.send(json!({"type": "open", "ticket": t, "ref": round}))
            .await;
        loop {
            let frame = tab.recv().await;
            let read = frame["type"] == "ticket" && frame["change"]["action"] == "read";
            assert!(
                !read,
                "round {round}: the read mark's frame came before opened"
            );
            if frame["type"] == "opened" {
                break;
            }
        }
        let read = tab.recv_type("ticket").await;
        assert_eq!(
            (
                read["change"]["action"].as_str(),
                read["ticket"]["id"].as_str()
            ),
            (Some("read"), Some(t.as_str())),
            "round {round}"
        );
    }
}

#[actix_web::test]
async fn opening_an_unread_ticket_tells_the_openers_other_tabs_once() {
    let q = queue().start().await;
    let t = q.new_ticket("Seen elsewhere").await;
    let (mut list_tab, _) = Ws::hello(&q.server, q.agent("bianca")).await;
    let (mut ticket_tab, _) = Ws::hello(&q.server, q.agent("bianca")).await;
    let (mut colleague, _) = Ws::hello(&q.server, q.agent("hanna")).await;
    ticket_tab.open(&t, false).await;
    let read = list_tab.recv_type("ticket").await;
    assert_eq!(
        (
            read["change"]["action"].as_str(),
            read["ticket"]["unread"].as_bool()
        ),
        (Some("read"), Some(false))
    );
    // Opening it again changes nothing, so nothing is sent; colleagues never hear of it.
    ticket_tab.send(json!({"type": "close", "ticket": t})).await;
    ticket_tab.open(&t, false).await;
    assert!(list_tab.sync().await.iter().all(|f| f["type"] != "ticket"));
    assert!(colleague.sync().await.iter().all(|f| f["type"] != "ticket"));
}
