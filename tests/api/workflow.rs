//! Workflow mutations: assign, accept, return, transfer, resolve, reopen,
//! archive, delete — status rules, history, live frames and races.

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::support::*;

/// Support and Sales: Bianca of Support, Hanna of both, Sam of Sales, and
/// light agent Lena of Support.
fn desk() -> Setup {
    Scenario::setup()
        .inbox("Support")
        .inbox("Sales")
        .agent("bianca", &["Support"])
        .agent("hanna", &["Support", "Sales"])
        .agent("sam", &["Sales"])
        .light("lena", &["Support"])
}

fn actions(history: &Value) -> Vec<&str> {
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

async fn view(api: &Api, inbox: &str, view: &str) -> Vec<u64> {
    let list = api
        .get(&format!("/api/inboxes/{inbox}/tickets?view={view}"))
        .await;
    numbers(&list.body)
}

#[actix_web::test]
async fn assignment_follows_the_status_rules_and_is_history() {
    let d = desk().start().await;
    let t = d.new_ticket("Assign me").await;
    let assign = |agent: Value| {
        d.agent("bianca")
            .post(format!("/api/tickets/{t}/assign"), json!({"agent": agent}))
    };
    let resp = assign(json!(d.agent("hanna").id)).await;
    assert_eq!(
        (resp.body["status"].as_str(), resp.body["assignee"].as_str()),
        (Some("working_on"), Some(d.agent("hanna").id.as_str()))
    );
    assert_eq!(
        view(d.agent("hanna"), d.inbox("Support"), "mine").await,
        [1]
    );
    assert_eq!(
        view(d.agent("bianca"), d.inbox("Support"), "mine").await,
        Vec::<u64>::new()
    );
    assert_eq!(
        view(d.agent("bianca"), d.inbox("Support"), "working_on").await,
        [1]
    );

    for (target, code) in [
        (json!(d.agent("lena").id), "conflict"),
        (json!(d.agent("sam").id), "conflict"),
        (json!("01a1fcb1-fa68-7345-849d-4f02be394110"), "bad_request"),
    ] {
        let refused = assign(target.clone()).await;
        assert_eq!(refused.code(), code, "{target}");
    }
    assert_eq!(
        d.agent("bianca")
            .post(&format!("/api/tickets/{t}/assign"), json!({}))
            .await
            .code(),
        "bad_request"
    );
    assert_eq!(
        d.agent("lena")
            .post(
                &format!("/api/tickets/{t}/assign"),
                json!({"agent": d.agent("lena").id})
            )
            .await
            .status,
        403
    );

    let again = assign(json!(d.agent("hanna").id)).await;
    assert_eq!(again.status, 200, "assigning the assignee again is a no-op");
    d.admin
        .patch(
            format!("/api/agents/{}", d.agent("hanna").id),
            json!({"inboxes": []}),
        )
        .await;
    assert_eq!(
        assign(json!(d.agent("hanna").id)).await.code(),
        "conflict",
        "a no-op still checks the agent"
    );
    d.admin
        .patch(
            format!("/api/agents/{}", d.agent("hanna").id),
            json!({"inboxes": [d.inbox("Support"), d.inbox("Sales")]}),
        )
        .await;
    let mine = assign(json!(d.agent("bianca").id)).await;
    assert_eq!(mine.body["assignee"], d.agent("bianca").id.as_str());
    let unassigned = assign(Value::Null).await;
    assert_eq!(
        (
            unassigned.body["status"].as_str(),
            unassigned.body["assignee"].as_str()
        ),
        (Some("pending"), None)
    );
    let history = d.admin.get(&format!("/api/tickets/{t}/history")).await.body;
    assert_eq!(
        actions(&history),
        ["created", "assigned", "assigned", "unassigned"]
    );
    assert_eq!(history[1]["detail"]["agent"], d.agent("hanna").id.as_str());
    assert_eq!(
        history[2]["detail"]["previous"],
        d.agent("hanna").id.as_str()
    );
    assert_eq!(history[3]["actor"]["name"], "Bianca");
}

#[actix_web::test]
async fn accept_moves_pending_to_working_on_once() {
    let d = desk().start().await;
    let t = d.new_ticket("Accept me").await;
    let (mut observer, _) = Ws::hello(&d.server, &d.admin).await;
    observer.subscribe(d.inbox("Support")).await;
    let accepted = d
        .agent("bianca")
        .post(&format!("/api/tickets/{t}/accept"), json!({}))
        .await;
    assert_eq!(
        (
            accepted.body["status"].as_str(),
            accepted.body["assignee"].as_str()
        ),
        (Some("working_on"), Some(d.agent("bianca").id.as_str()))
    );
    let frame = observer.recv_type("ticket").await;
    assert_eq!(
        (
            frame["change"]["action"].as_str(),
            frame["ticket"]["status"].as_str()
        ),
        (Some("accepted"), Some("working_on"))
    );
    let moved = observer.recv_type("ticket_moved").await;
    assert_eq!(
        (moved["action"].as_str(), moved["note"].as_str()),
        (Some("assigned"), Some("Accepted by Bianca"))
    );
    assert_eq!(
        view(&d.admin, d.inbox("Support"), "pending").await,
        Vec::<u64>::new()
    );

    // Bianca now also holds the claim (she has it open): a late accept still hears "conflict".
    let (mut bianca_tab, _) = Ws::hello(&d.server, d.agent("bianca")).await;
    bianca_tab.open(&t, false).await;
    let again = d
        .agent("hanna")
        .post(&format!("/api/tickets/{t}/accept"), json!({}))
        .await;
    assert_eq!((again.status, again.code()), (409, "conflict"));
    assert!(
        again.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Bianca")
    );
    assert_eq!(
        d.agent("lena")
            .post(&format!("/api/tickets/{t}/accept"), json!({}))
            .await
            .status,
        403
    );
    assert_eq!(
        actions(&d.admin.get(&format!("/api/tickets/{t}/history")).await.body),
        ["created", "accepted"]
    );
}

#[actix_web::test]
async fn accepting_a_ticket_you_view_claims_it() {
    let d = desk().start().await;
    let t = d.new_ticket("Claim on accept").await;
    d.admin
        .patch("/api/settings", json!({"hidden_release_s": 0.1}))
        .await;
    let (mut observer, _) = Ws::hello(&d.server, &d.admin).await;
    observer.subscribe(d.inbox("Support")).await;
    let (mut bianca, _) = Ws::hello(&d.server, d.agent("bianca")).await;
    bianca.open(&t, false).await;
    bianca
        .send(json!({"type": "visibility", "hidden": true}))
        .await;
    assert_eq!(
        observer.presence("released").await["change"]["reason"],
        "hidden"
    );
    // Back on the tab (it does not re-claim by itself), Bianca accepts: the ticket is hers to work on.
    bianca
        .send(json!({"type": "visibility", "hidden": false}))
        .await;
    observer.presence("viewer_shown").await;
    d.agent("bianca")
        .post(&format!("/api/tickets/{t}/accept"), json!({}))
        .await;
    let claimed = observer.presence("claimed").await;
    assert_eq!(claimed["claim"]["agent"]["name"], "Bianca");
}

#[actix_web::test]
async fn fifty_simultaneous_accepts_have_exactly_one_winner_twenty_times() {
    let d = desk().start().await;
    let mut agents = Vec::new();
    for i in 0..10 {
        agents.push(
            d.server
                .agent(
                    &d.admin,
                    &format!("racer{i}"),
                    "agent",
                    &[d.inbox("Support")],
                )
                .await,
        );
    }
    for round in 0..20 {
        let t = d.new_ticket(&format!("Race {round}")).await;
        let accepts = (0..50).map(|i| {
            let agent = agents[i % agents.len()].clone();
            let path = format!("/api/tickets/{t}/accept");
            async move { agent.post(&path, json!({})).await }
        });
        let results = join_all(accepts).await;
        let winners: Vec<&Resp> = results.iter().filter(|r| r.status == 200).collect();
        assert_eq!(winners.len(), 1, "round {round}");
        assert!(
            results
                .iter()
                .filter(|r| r.status != 200)
                .all(|r| (r.status, r.code()) == (409, "conflict")),
            "round {round}"
        );
        let detail = d.admin.get(&format!("/api/tickets/{t}")).await;
        assert_eq!(detail.body["assignee"], winners[0].body["assignee"]);
        assert_eq!(
            actions(&d.admin.get(&format!("/api/tickets/{t}/history")).await.body),
            ["created", "accepted"]
        );
    }
}

#[actix_web::test]
async fn return_resolve_reopen_archive_and_customer_replies_follow_the_rules() {
    let d = desk().start().await;
    let t = d.new_ticket("Lifecycle").await;
    let post = |path: &str| {
        d.agent("bianca")
            .post(format!("/api/tickets/{t}/{path}"), json!({}))
    };
    assert_eq!(post("return").await.code(), "conflict", "already pending");
    assert_eq!(post("reopen").await.code(), "conflict");
    post("accept").await;
    let returned = post("return").await;
    assert_eq!(
        (
            returned.body["status"].as_str(),
            returned.body["assignee"].as_str()
        ),
        (Some("pending"), None)
    );
    post("accept").await;
    let resolved = post("resolve").await;
    assert_eq!(
        (
            resolved.body["status"].as_str(),
            resolved.body["assignee"].as_str()
        ),
        (Some("resolved"), Some(d.agent("bianca").id.as_str())),
        "resolving keeps the assignee"
    );
    assert_eq!(
        view(d.agent("bianca"), d.inbox("Support"), "resolved").await,
        [1]
    );
    assert_eq!(post("resolve").await.code(), "conflict");
    let reopened = post("reopen").await;
    assert_eq!(
        reopened.body["status"], "working_on",
        "reopening an assigned ticket"
    );
    post("resolve").await;
    let reassigned = d
        .agent("bianca")
        .post(
            format!("/api/tickets/{t}/assign"),
            json!({"agent": d.agent("hanna").id}),
        )
        .await;
    assert_eq!(
        reassigned.body["status"], "working_on",
        "assigning makes a resolved ticket working_on"
    );
    d.agent("bianca")
        .post(
            format!("/api/tickets/{t}/assign"),
            json!({"agent": d.agent("bianca").id}),
        )
        .await;
    post("resolve").await;
    // A customer message reopens a resolved ticket.
    d.admin
        .post(
            &format!("/api/tickets/{t}/messages"),
            json!({"kind": "customer", "body": "one more thing"}),
        )
        .await;
    assert_eq!(
        d.agent("bianca")
            .get(&format!("/api/tickets/{t}"))
            .await
            .body["status"],
        "working_on"
    );
    let archived = post("archive").await;
    assert_eq!(archived.body["status"], "archived");
    assert_eq!(
        view(d.agent("bianca"), d.inbox("Support"), "all").await,
        Vec::<u64>::new(),
        "archived tickets are in no list"
    );
    assert_eq!(post("archive").await.code(), "conflict");
    assert_eq!(post("reopen").await.body["status"], "working_on");
    for action in ["resolve", "archive", "return", "reopen"] {
        assert_eq!(
            d.agent("lena")
                .post(&format!("/api/tickets/{t}/{action}"), json!({}))
                .await
                .status,
            403,
            "{action}"
        );
    }
    let history = d.admin.get(&format!("/api/tickets/{t}/history")).await.body;
    let expected = [
        "created",
        "accepted",
        "returned",
        "accepted",
        "status_changed",
        "status_changed",
        "status_changed",
        "assigned",
        "assigned",
        "status_changed",
        "status_changed",
        "status_changed",
        "status_changed",
    ];
    assert_eq!(actions(&history), expected);
    assert_eq!(
        history[10]["actor"],
        Value::Null,
        "the customer's reopening has no agent"
    );
    assert_eq!(
        (
            history[10]["detail"]["from"].as_str(),
            history[10]["detail"]["to"].as_str()
        ),
        (Some("resolved"), Some("working_on"))
    );

    let unassigned = d.new_ticket("Unassigned").await;
    d.agent("bianca")
        .post(&format!("/api/tickets/{unassigned}/resolve"), json!({}))
        .await;
    d.admin
        .post(
            &format!("/api/tickets/{unassigned}/messages"),
            json!({"kind": "customer", "body": "hello?"}),
        )
        .await;
    assert_eq!(
        d.agent("bianca")
            .get(&format!("/api/tickets/{unassigned}"))
            .await
            .body["status"],
        "pending"
    );
}

#[actix_web::test]
async fn transfer_moves_tickets_between_inboxes_and_agents() {
    let d = desk().start().await;
    let t = d.new_ticket("Wrong inbox").await;
    let (mut support_tab, _) = Ws::hello(&d.server, d.agent("hanna")).await;
    support_tab.subscribe(d.inbox("Support")).await;
    let (mut sales_tab, _) = Ws::hello(&d.server, d.agent("sam")).await;
    sales_tab.subscribe(d.inbox("Sales")).await;
    let (mut viewer, _) = Ws::hello(&d.server, d.agent("hanna")).await;
    viewer.open(&t, false).await;
    support_tab.presence("claimed").await;

    let transfer = |body: Value| {
        d.agent("hanna")
            .post(format!("/api/tickets/{t}/transfer"), body)
    };
    assert_eq!(transfer(json!({})).await.code(), "bad_request");
    assert_eq!(
        transfer(json!({"inbox": "01a1fcb1-fa68-7345-849d-4f02be394110"}))
            .await
            .code(),
        "bad_request"
    );
    assert_eq!(
        transfer(json!({"agent": d.agent("sam").id})).await.code(),
        "conflict",
        "sam cannot see Support"
    );
    let moved = transfer(json!({"inbox": d.inbox("Sales"), "agent": d.agent("sam").id})).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(
        (
            moved.body["inbox"].as_str(),
            moved.body["assignee"].as_str()
        ),
        (Some(d.inbox("Sales")), Some(d.agent("sam").id.as_str()))
    );

    let note = support_tab.recv_type("ticket_moved").await;
    assert_eq!(note["action"], "transferred");
    assert_eq!(note["note"], "Transferred to Sam in Sales by Hanna");
    assert_eq!(
        note["to"]["inbox"],
        json!({"id": d.inbox("Sales"), "name": "Sales"})
    );
    let arrived = sales_tab.recv_type("ticket").await;
    assert_eq!(
        (
            arrived["inbox"].as_str(),
            arrived["change"]["action"].as_str()
        ),
        (Some(d.inbox("Sales")), Some("transferred"))
    );
    // Presence moved with it: the claim was released (moved), the viewer is now seen in Sales.
    let released = sales_tab.presence("released").await;
    assert_eq!(released["change"]["reason"], "moved");
    let snapshot = Ws::hello(&d.server, &d.admin)
        .await
        .0
        .subscribe(d.inbox("Sales"))
        .await;
    assert_eq!(snapshot["presence"][0]["viewers"][0]["name"], "Hanna");
    let old = Ws::hello(&d.server, &d.admin)
        .await
        .0
        .subscribe(d.inbox("Support"))
        .await;
    assert_eq!(old["presence"], json!([]));

    assert_eq!(
        d.agent("bianca")
            .get(&format!("/api/tickets/{t}"))
            .await
            .status,
        404,
        "bianca is not in Sales"
    );
    let history = d.admin.get(&format!("/api/tickets/{t}/history")).await.body;
    assert_eq!(history[1]["action"], "transferred");
    assert_eq!(history[1]["detail"]["to_inbox"], d.inbox("Sales"));
}

#[actix_web::test]
async fn a_transfer_takes_the_ticket_away_from_tabs_that_cannot_follow_it() {
    let d = desk().start().await;
    let t = d.new_ticket("Moving to Sales").await;
    let (mut hanna, _) = Ws::hello(&d.server, d.agent("hanna")).await;
    hanna.open(&t, false).await;
    let (mut bianca, _) = Ws::hello(&d.server, d.agent("bianca")).await;
    bianca.open(&t, false).await;
    let moved = d
        .agent("hanna")
        .post(
            format!("/api/tickets/{t}/transfer"),
            json!({"inbox": d.inbox("Sales")}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    // Bianca (Support only) loses it; Hanna (both inboxes) keeps viewing it.
    assert_eq!(
        bianca.recv_type("access_revoked").await["ticket"],
        t.as_str()
    );
    let frames = hanna.sync().await;
    assert!(
        frames.iter().all(|f| f["type"] != "access_revoked"),
        "{frames:?}"
    );
    let detail = d.agent("hanna").get(format!("/api/tickets/{t}")).await.body;
    let viewers: Vec<&str> = detail["viewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(viewers, [d.agent("hanna").id.as_str()], "{detail}");
}

#[actix_web::test]
async fn deleted_tickets_vanish_but_keep_their_number() {
    let d = desk().start().await;
    let t = d.new_ticket("Delete me").await;
    let (bianca, lena) = (d.agent("bianca"), d.agent("lena"));
    let path = format!("/api/tickets/{t}");
    assert_eq!(lena.delete(&path).await.status, 403);
    assert_eq!(bianca.delete(&path).await.status, 204);
    assert_eq!(bianca.get(&path).await.status, 404);
    assert_eq!(bianca.delete(&path).await.status, 404);
    assert_eq!(
        view(bianca, d.inbox("Support"), "all").await,
        Vec::<u64>::new()
    );
    assert_eq!(
        d.admin.create_ticket(d.inbox("Support"), "Next").await["number"],
        2
    );
}
