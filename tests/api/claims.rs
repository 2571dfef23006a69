//! Co-working claims: live presence that is released on every way out.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

/// Support inbox with three tickets, agents bianca and hanna, light agent lena.
fn floor() -> Setup {
    Scenario::setup()
        .inbox("Support")
        .agent("bianca", &["Support"])
        .agent("hanna", &["Support"])
        .light("lena", &["Support"])
        .ticket("Support", "One")
        .ticket("Support", "Two")
        .ticket("Support", "Three")
}

/// The first presence frame of each change kind in `kinds`, whatever order they come in.
async fn presences<const N: usize>(ws: &mut Ws, kinds: [&str; N]) -> [Value; N] {
    let mut found: [Option<Value>; N] = std::array::from_fn(|_| None);
    while found.iter().any(Option::is_none) {
        let frame = ws.recv_type("presence").await;
        if let Some(i) = kinds.iter().position(|k| frame["change"]["kind"] == *k)
            && found[i].is_none()
        {
            found[i] = Some(frame);
        }
    }
    found.map(Option::unwrap)
}

fn claim_agent(frame: &Value) -> Option<&str> {
    frame["claim"]["agent"]["name"].as_str()
}

fn viewer_names(presence: &Value) -> Vec<String> {
    presence["viewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn opening_claims_and_every_subscriber_sees_it() {
    let f = floor().start().await;
    let mut observers = vec![
        f.tab(f.agent("hanna")).await,
        f.tab(f.agent("lena")).await,
        f.tab(&f.admin).await,
    ];
    let mut bianca = f.tab(f.agent("bianca")).await;
    bianca
        .send(json!({"type": "open", "ticket": f.tickets[0], "ref": "o1"}))
        .await;
    let opened = bianca.recv_type("opened").await;
    assert_eq!(
        (opened["ref"].as_str(), opened["claimed"].as_bool()),
        (Some("o1"), Some(true))
    );
    assert_eq!(claim_agent(&opened["presence"]), Some("Bianca"));
    for ws in &mut observers {
        let frame = ws.presence("claimed").await;
        assert_eq!(frame["ticket"], f.tickets[0].as_str());
        assert_eq!(frame["inbox"], f.inbox("Support"));
        assert_eq!(frame["number"], 1);
        assert_eq!(claim_agent(&frame), Some("Bianca"));
        assert_eq!(frame["change"]["agent"]["name"], "Bianca");
        assert_eq!(viewer_names(&frame), ["Bianca"]);
        assert_eq!(frame["lock"], Value::Null);
    }
    // The REST detail shows the live claim too.
    let detail = f
        .agent("hanna")
        .get(&format!("/api/tickets/{}", f.tickets[0]))
        .await;
    assert_eq!(detail.body["claim"]["agent"]["name"], "Bianca");
    assert_eq!(detail.body["viewers"][0]["name"], "Bianca");
}

#[actix_web::test]
async fn switching_releases_the_previous_ticket_and_close_releases() {
    let f = floor().start().await;
    let mut observer = f.tab(f.agent("hanna")).await;
    let mut bianca = f.tab(f.agent("bianca")).await;
    bianca.open(&f.tickets[0], false).await;
    observer.presence("claimed").await;
    bianca.open(&f.tickets[1], false).await;
    // Two tickets' frames may interleave.
    let [released, claimed] = presences(&mut observer, ["released", "claimed"]).await;
    assert_eq!(
        (
            released["ticket"].as_str(),
            released["change"]["reason"].as_str()
        ),
        (Some(f.tickets[0].as_str()), Some("switched"))
    );
    assert_eq!(released["claim"], Value::Null);
    assert_eq!(claimed["ticket"], f.tickets[1].as_str());
    bianca
        .send(json!({"type": "close", "ticket": f.tickets[1]}))
        .await;
    let closed = observer.presence("released").await;
    assert_eq!(
        (
            closed["ticket"].as_str(),
            closed["change"]["reason"].as_str()
        ),
        (Some(f.tickets[1].as_str()), Some("closed"))
    );
}

#[actix_web::test]
async fn a_late_subscriber_gets_every_current_claim_and_viewer() {
    let f = floor().start().await;
    let mut bianca = f.tab(f.agent("bianca")).await;
    bianca.open(&f.tickets[0], false).await;
    let mut lena = f.tab(f.agent("lena")).await;
    lena.open(&f.tickets[0], false).await;
    lena.send(json!({"type": "visibility", "hidden": true}))
        .await;
    let mut hanna_tab = f.tab(f.agent("hanna")).await;
    hanna_tab.open(&f.tickets[2], false).await;
    lena.sync().await;
    hanna_tab.sync().await;

    let (mut late, _) = Ws::hello(&f.server, &f.admin).await;
    let snapshot = late.subscribe(f.inbox("Support")).await;
    let mut presence: Vec<Value> = snapshot["presence"].as_array().unwrap().clone();
    presence.sort_by_key(|p| p["number"].as_u64());
    assert_eq!(presence.len(), 2, "{snapshot}");
    assert_eq!(claim_agent(&presence[0]), Some("Bianca"));
    assert_eq!(
        presence[0]["viewers"],
        json!([
            {"id": f.agent("bianca").id, "name": "Bianca", "hidden": false},
            {"id": f.agent("lena").id, "name": "Lena", "hidden": true},
        ])
    );
    assert_eq!(claim_agent(&presence[1]), Some("Hanna"));
}

#[actix_web::test]
async fn a_client_close_releases_at_once() {
    let f = floor().start().await;
    let mut observer = f.tab(f.agent("hanna")).await;
    let mut bianca = f.tab(f.agent("bianca")).await;
    bianca.open(&f.tickets[0], false).await;
    observer.presence("claimed").await;
    bianca.socket.close(None).await.unwrap();
    let released = observer.presence("released").await;
    assert_eq!(released["change"]["reason"], "disconnected");
    assert_eq!(observer.presence("viewer_left").await["viewers"], json!([]));
}

#[actix_web::test]
async fn a_vanished_socket_keeps_its_claim_for_the_grace_period_then_releases() {
    let f = floor().start().await;
    f.admin
        .patch("/api/settings", json!({"reconnect_grace_s": 0.6}))
        .await;
    let mut observer = f.tab(f.agent("hanna")).await;
    let bianca = f.tab(f.agent("bianca")).await;
    let mut bianca = bianca;
    bianca.open(&f.tickets[0], false).await;
    observer.presence("claimed").await;
    let vanished = Instant::now();
    drop(bianca); // no close frame
    let released = observer.presence("released").await;
    assert_eq!(released["change"]["reason"], "disconnected");
    assert!(
        vanished.elapsed() >= Duration::from_millis(500),
        "released after {:?}",
        vanished.elapsed()
    );
}

#[actix_web::test]
async fn a_resume_within_the_grace_period_keeps_the_claim() {
    let f = floor().start().await;
    let mut observer = f.tab(f.agent("hanna")).await;
    let (mut bianca, welcome) = Ws::hello(&f.server, f.agent("bianca")).await;
    bianca.subscribe(f.inbox("Support")).await;
    bianca.open(&f.tickets[0], false).await;
    observer.presence("claimed").await;
    drop(bianca);

    let mut again = Ws::connect(&f.server).await;
    again
        .send(json!({"type": "hello", "token": f.agent("bianca").token, "resume": welcome["session"]}))
        .await;
    assert_eq!(again.recv().await["resumed"], true);
    let snapshot = again.recv_type("snapshot").await;
    assert_eq!(
        claim_agent(&snapshot["presence"][0]),
        Some("Bianca"),
        "{snapshot}"
    );
    // Nothing was released meanwhile: the observer's next presence frame is the close below.
    again
        .send(json!({"type": "close", "ticket": f.tickets[0]}))
        .await;
    let next = observer.recv_type("presence").await;
    assert_eq!(
        (
            next["change"]["kind"].as_str(),
            next["change"]["reason"].as_str()
        ),
        (Some("released"), Some("closed"))
    );
}

#[actix_web::test]
async fn leaving_or_changing_inbox_releases() {
    let f = floor().start().await;
    let sales = f.admin.create_inbox("Sales").await;
    f.admin
        .patch(
            &format!("/api/agents/{}", f.agent("bianca").id),
            json!({"inboxes": [f.inbox("Support"), sales]}),
        )
        .await;
    let mut observer = f.tab(f.agent("hanna")).await;
    let mut bianca = f.tab(f.agent("bianca")).await;
    bianca.open(&f.tickets[0], false).await;
    observer.presence("claimed").await;
    bianca.send(json!({"type": "leave"})).await;
    assert_eq!(
        observer.presence("released").await["change"]["reason"],
        "left"
    );

    bianca.subscribe(f.inbox("Support")).await;
    bianca.open(&f.tickets[1], false).await;
    observer.presence("claimed").await;
    bianca.subscribe(&sales).await;
    let released = observer.presence("released").await;
    assert_eq!(
        (
            released["ticket"].as_str(),
            released["change"]["reason"].as_str()
        ),
        (Some(f.tickets[1].as_str()), Some("inbox_changed"))
    );
    // Leaving also ended the subscription: Support frames no longer reach the tab.
    f.admin
        .create_ticket(f.inbox("Support"), "not for bianca's tab")
        .await;
    assert!(
        bianca
            .sync()
            .await
            .iter()
            .all(|frame| frame["type"] != "ticket")
    );
}

#[actix_web::test]
async fn a_tab_hidden_too_long_releases_and_presence_dims_it() {
    let f = floor().start().await;
    f.admin
        .patch("/api/settings", json!({"hidden_release_s": 0.3}))
        .await;
    let mut observer = f.tab(f.agent("hanna")).await;
    let mut bianca = f.tab(f.agent("bianca")).await;
    bianca.open(&f.tickets[0], false).await;
    observer.presence("claimed").await;
    bianca
        .send(json!({"type": "visibility", "hidden": true}))
        .await;
    let hidden = observer.presence("viewer_hidden").await;
    assert_eq!(hidden["viewers"][0]["hidden"], true);
    let released = observer.presence("released").await;
    assert_eq!(released["change"]["reason"], "hidden");
    assert_eq!(
        viewer_names(&released),
        ["Bianca"],
        "the hidden tab still views"
    );
    bianca
        .send(json!({"type": "visibility", "hidden": false}))
        .await;
    assert_eq!(
        observer.presence("viewer_shown").await["viewers"][0]["hidden"],
        false
    );
}

#[actix_web::test]
async fn a_ticket_opened_in_a_hidden_tab_is_released_in_time_too() {
    let f = floor().start().await;
    f.admin
        .patch("/api/settings", json!({"hidden_release_s": 0.3}))
        .await;
    let mut observer = f.tab(f.agent("hanna")).await;
    let mut bianca = f.tab(f.agent("bianca")).await;
    bianca
        .send(json!({"type": "visibility", "hidden": true}))
        .await;
    bianca.sync().await;
    tokio::time::sleep(Duration::from_millis(500)).await; // the hide's own timer has run out
    bianca.open(&f.tickets[0], false).await;
    observer.presence("claimed").await;
    assert_eq!(
        observer.presence("released").await["change"]["reason"],
        "hidden"
    );
}

#[actix_web::test]
async fn a_tab_shown_again_in_time_keeps_its_claim() {
    let f = floor().start().await;
    f.admin
        .patch("/api/settings", json!({"hidden_release_s": 0.4}))
        .await;
    let mut observer = f.tab(f.agent("hanna")).await;
    let mut bianca = f.tab(f.agent("bianca")).await;
    bianca.open(&f.tickets[0], false).await;
    observer.presence("claimed").await;
    bianca
        .send(json!({"type": "visibility", "hidden": true}))
        .await;
    observer.presence("viewer_hidden").await;
    bianca
        .send(json!({"type": "visibility", "hidden": false}))
        .await;
    observer.presence("viewer_shown").await;
    observer.silent_for(Duration::from_millis(800)).await;
    let detail = f
        .agent("hanna")
        .get(&format!("/api/tickets/{}", f.tickets[0]))
        .await;
    assert_eq!(detail.body["claim"]["agent"]["name"], "Bianca");
}

/// Take-overs and force-releases fired without waiting for answers: the
/// ticket decides each at once while its `claim_forced` entries commit
/// (pipelined), yet every subscriber sees the frames in decision order (never
/// two holders, every frame's claim is its change's) and every forced release
/// it saw is history.
#[actix_web::test]
async fn take_overs_fired_back_to_back_stay_ordered_and_are_all_history() {
    let f = floor().start().await;
    let mut observer = f.tab(f.agent("lena")).await;
    let mut tabs = Vec::new();
    for agent in [&f.admin, f.agent("bianca"), f.agent("hanna")] {
        tabs.push(f.tab(agent).await);
    }
    for round in 0..30 {
        for tab in &mut tabs {
            let frame = if round % 2 == 0 {
                json!({"type": "open", "ticket": f.tickets[0], "take_over": true, "ref": round})
            } else {
                json!({"type": "force_release", "ticket": f.tickets[0], "ref": round})
            };
            tab.send(frame).await;
        }
    }
    for tab in &mut tabs {
        let answers = tab.sync().await;
        assert!(
            answers.iter().all(|a| a["type"] != "error"),
            "refused: {answers:?}"
        );
    }
    // A marker from another ticket: the observer has every frame of ticket 0 before it.
    tabs[1].open(&f.tickets[1], false).await;

    let (mut holder, mut forced) = (None::<String>, 0);
    loop {
        let frame = observer.recv_type("presence").await;
        if frame["ticket"] == f.tickets[1].as_str() {
            break;
        }
        let agent = frame["change"]["agent"]["name"]
            .as_str()
            .unwrap()
            .to_owned();
        match frame["change"]["kind"].as_str().unwrap() {
            "claimed" => {
                assert_eq!(holder, None, "claimed by {agent} while held: {frame}");
                assert_eq!(claim_agent(&frame), Some(agent.as_str()), "{frame}");
                holder = Some(agent);
            }
            "released" => {
                assert_eq!(holder.as_deref(), Some(agent.as_str()), "{frame}");
                forced += usize::from(frame["change"]["reason"] == "forced");
                holder = None;
            }
            _ => {}
        }
    }
    let history = f
        .admin
        .get(&format!("/api/tickets/{}/history", f.tickets[0]))
        .await;
    let entries = history.body.as_array().unwrap();
    let recorded = entries
        .iter()
        .filter(|e| e["action"] == "claim_forced")
        .count();
    assert!(forced > 0, "no forced release to check");
    assert_eq!(recorded, forced);
}

/// An answer never runs ahead of the frames decided before it: the `opened`
/// of a tab that only joins (nothing to write) waits until a take-over
/// decided just before it (its history entry still committing) has been
/// handed to the inbox, so a snapshot taken after `opened` never shows an
/// older holder than `opened` did.
#[actix_web::test]
async fn an_opened_answer_never_runs_ahead_of_the_inbox() {
    let f = floor().start().await;
    let ticket = f.tickets[0].as_str();
    let (mut bianca, _) = Ws::hello(&f.server, f.agent("bianca")).await;
    let (mut admin, _) = Ws::hello(&f.server, &f.admin).await;
    let (mut joiner, _) = Ws::hello(&f.server, f.agent("hanna")).await;
    joiner.open(ticket, false).await; // read once: re-opening writes nothing
    let (mut snapshots, _) = Ws::hello(&f.server, f.agent("lena")).await;
    for round in 0..40 {
        let (taker, id) = if round % 2 == 0 {
            (&mut bianca, f.agent("bianca").id.as_str())
        } else {
            (&mut admin, f.admin.id.as_str())
        };
        taker
            .send(json!({"type": "open", "ticket": ticket, "take_over": true}))
            .await;
        let opened = joiner.open(ticket, false).await;
        snapshots
            .send(json!({"type": "subscribe", "inbox": f.inbox("Support"), "ref": round}))
            .await;
        let snapshot = snapshots.recv_type("snapshot").await;
        let live = snapshot["presence"].as_array().unwrap();
        let live = live.iter().find(|p| p["ticket"] == ticket).expect("live");
        if opened["presence"]["claim"]["agent"]["id"] == id {
            assert_eq!(live["claim"]["agent"]["id"], id, "round {round}");
        }
    }
}

#[actix_web::test]
async fn force_release_and_take_over_tell_the_holder_and_are_history() {
    let f = floor().start().await;
    let mut observer = f.tab(&f.admin).await;
    let mut bianca = f.tab(f.agent("bianca")).await;
    let mut hanna = f.tab(f.agent("hanna")).await;
    bianca.open(&f.tickets[0], false).await;
    observer.presence("claimed").await;

    hanna
        .send(json!({"type": "force_release", "ticket": f.tickets[0]}))
        .await;
    let lost = bianca.recv_type("claim_lost").await;
    assert_eq!(
        lost,
        json!({"type": "claim_lost", "ticket": f.tickets[0], "by": {"id": f.agent("hanna").id, "name": "Hanna"}, "reason": "forced"})
    );
    let released = observer.presence("released").await;
    assert_eq!(
        (
            released["change"]["reason"].as_str(),
            released["change"]["by"]["name"].as_str()
        ),
        (Some("forced"), Some("Hanna"))
    );
    assert_eq!(released["change"]["agent"]["name"], "Bianca");
    assert_eq!(released["claim"], Value::Null);

    // Bianca re-claims the free ticket by opening it again; Hanna takes it over in one decision.
    assert_eq!(bianca.open(&f.tickets[0], false).await["claimed"], true);
    let taken = hanna.open(&f.tickets[0], true).await;
    assert_eq!(taken["claimed"], true);
    assert_eq!(bianca.recv_type("claim_lost").await["by"]["name"], "Hanna");
    observer.presence("claimed").await; // Bianca's re-claim
    let forced = observer.presence("released").await;
    assert_eq!(forced["change"]["reason"], "forced");
    let claimed = observer.presence("claimed").await;
    assert_eq!(claim_agent(&claimed), Some("Hanna"));

    let history = f
        .admin
        .get(&format!("/api/tickets/{}/history", f.tickets[0]))
        .await;
    let forced: Vec<&Value> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "claim_forced")
        .collect();
    assert_eq!(forced.len(), 2);
    for entry in forced {
        assert_eq!(entry["actor"]["name"], "Hanna");
        assert_eq!(entry["detail"]["agent"], f.agent("bianca").id.as_str());
    }
}

#[actix_web::test]
async fn opening_a_held_ticket_views_it_read_only_and_light_agents_only_view() {
    let f = floor().start().await;
    let mut bianca = f.tab(f.agent("bianca")).await;
    bianca.open(&f.tickets[0], false).await;
    let mut hanna = f.tab(f.agent("hanna")).await;
    let opened = hanna.open(&f.tickets[0], false).await;
    assert_eq!(opened["claimed"], false);
    assert_eq!(claim_agent(&opened["presence"]), Some("Bianca"));
    assert_eq!(viewer_names(&opened["presence"]), ["Bianca", "Hanna"]);
    loop {
        let joined = bianca.presence("viewer_joined").await;
        if joined["change"]["agent"]["name"] == "Hanna" {
            assert_eq!(viewer_names(&joined), ["Bianca", "Hanna"]);
            break;
        }
    }

    let mut lena = f.tab(f.agent("lena")).await;
    let light = lena.open(&f.tickets[1], true).await;
    assert_eq!(light["claimed"], false);
    assert_eq!(light["presence"]["claim"], Value::Null);
    lena.send(json!({"type": "force_release", "ticket": f.tickets[0], "ref": "x"}))
        .await;
    let refused = lena.recv_type("error").await;
    assert_eq!(
        (refused["code"].as_str(), refused["ref"].as_str()),
        (Some("forbidden"), Some("x"))
    );
}

/// `opened` carries the presence as the open left it on every path: a first
/// open (its read mark written first), a reopen of a read ticket (nothing
/// to write, its presence frames published), and a repeated open that
/// changes nothing (nothing published either).
#[actix_web::test]
async fn every_kind_of_open_answers_the_presence_it_left() {
    let f = floor().start().await;
    let mut bianca = f.tab(f.agent("bianca")).await;
    let mut hanna = f.tab(f.agent("hanna")).await;
    let first = bianca.open(&f.tickets[0], false).await;
    assert_eq!(
        (
            claim_agent(&first["presence"]),
            viewer_names(&first["presence"])
        ),
        (Some("Bianca"), vec!["Bianca".to_owned()])
    );
    hanna.open(&f.tickets[0], false).await;
    hanna.open(&f.tickets[1], false).await;
    let reopened = hanna.open(&f.tickets[0], false).await;
    assert_eq!(reopened["claimed"], false);
    assert_eq!(claim_agent(&reopened["presence"]), Some("Bianca"));
    assert_eq!(viewer_names(&reopened["presence"]), ["Bianca", "Hanna"]);
    let again = bianca.open(&f.tickets[0], false).await;
    assert_eq!(again["claimed"], true);
    assert_eq!(claim_agent(&again["presence"]), Some("Bianca"));
    assert_eq!(viewer_names(&again["presence"]), ["Bianca", "Hanna"]);
}

#[actix_web::test]
async fn tabs_of_one_agent_share_a_claim_without_flapping() {
    let f = floor().start().await;
    let mut observer = f.tab(f.agent("hanna")).await;
    let mut first = f.tab(f.agent("bianca")).await;
    let mut second = f.tab(f.agent("bianca")).await;
    first.open(&f.tickets[0], false).await;
    observer.presence("claimed").await;
    assert_eq!(
        second.open(&f.tickets[0], false).await["claimed"],
        true,
        "the second tab shares the claim"
    );
    first
        .send(json!({"type": "close", "ticket": f.tickets[0]}))
        .await;
    first.sync().await; // the close reached the ticket before the second tab moves on
    // The claim stays until the second tab opens another ticket; two tabs then hold two tickets.
    second.open(&f.tickets[1], false).await;
    first.open(&f.tickets[2], false).await;
    // Frames of different tickets may interleave: collect the claim changes until all three came.
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 3 {
        let frame = observer.recv_type("presence").await;
        let (ticket, kind) = (
            frame["ticket"].as_str().unwrap(),
            frame["change"]["kind"].as_str().unwrap(),
        );
        match kind {
            "released" => {
                assert_eq!(
                    (ticket, frame["change"]["reason"].as_str()),
                    (f.tickets[0].as_str(), Some("switched"))
                );
                seen.insert(format!("released {ticket}"));
            }
            "claimed" => {
                assert_ne!(ticket, f.tickets[0].as_str(), "ticket 0 never flaps");
                seen.insert(format!("claimed {ticket}"));
            }
            _ => {}
        }
    }
    let snapshot = Ws::hello(&f.server, &f.admin)
        .await
        .0
        .subscribe(f.inbox("Support"))
        .await;
    assert_eq!(
        snapshot["presence"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| claim_agent(p) == Some("Bianca"))
            .count(),
        2
    );
}

#[actix_web::test]
async fn mutations_by_others_are_refused_while_claimed_but_notes_go_through() {
    let f = floor().start().await;
    let mut bianca = f.tab(f.agent("bianca")).await;
    bianca.open(&f.tickets[0], false).await;
    let t = &f.tickets[0];
    let blocked: Vec<(&str, Value)> = vec![
        ("messages", json!({"kind": "reply", "body": "me too"})),
        ("assign", json!({"agent": f.agent("hanna").id})),
        ("accept", json!({})),
        ("resolve", json!({})),
        ("archive", json!({})),
        ("transfer", json!({"agent": f.agent("hanna").id})),
    ];
    for caller in [f.agent("hanna"), &f.admin] {
        for (action, body) in &blocked {
            let resp = caller
                .post(&format!("/api/tickets/{t}/{action}"), body.clone())
                .await;
            assert_eq!(
                (resp.status, resp.code()),
                (409, "ticket_claimed"),
                "{action}"
            );
            assert_eq!(
                resp.body["error"]["holder"],
                json!({"id": f.agent("bianca").id, "name": "Bianca"})
            );
        }
        let edit = caller
            .patch(&format!("/api/tickets/{t}"), json!({"subject": "mine"}))
            .await;
        assert_eq!(edit.code(), "ticket_claimed");
        assert_eq!(
            caller.delete(&format!("/api/tickets/{t}")).await.code(),
            "ticket_claimed"
        );
    }
    let note = f
        .agent("hanna")
        .post(
            &format!("/api/tickets/{t}/messages"),
            json!({"kind": "note", "body": "fyi"}),
        )
        .await;
    assert_eq!(note.status, 200);
    let customer = f
        .admin
        .post(
            &format!("/api/tickets/{t}/messages"),
            json!({"kind": "customer", "body": "hello?"}),
        )
        .await;
    assert_eq!(customer.status, 200);
    let own = f
        .agent("bianca")
        .post(
            &format!("/api/tickets/{t}/messages"),
            json!({"kind": "reply", "body": "on it"}),
        )
        .await;
    assert_eq!(own.status, 200, "the holder works freely");
    // The viewer got each message live, in order. A frame may reach a socket
    // a moment after the HTTP answer (docs/protocol.md §7.2), so each is
    // awaited (bounded) rather than expected before a ping's pong.
    let mut kinds = Vec::new();
    for _ in 0..3 {
        let frame = bianca.recv_type("message").await;
        kinds.push(frame["message"]["kind"].as_str().unwrap().to_owned());
    }
    assert_eq!(kinds, ["note", "customer", "reply"]);
    let detail = f.admin.get(&format!("/api/tickets/{t}")).await;
    assert_eq!(
        detail.body["status"], "pending",
        "refused mutations changed nothing"
    );
}

#[actix_web::test]
async fn moving_a_ticket_away_releases_with_moved_and_tells_everyone() {
    let f = floor().start().await;
    let mut observer = f.tab(&f.admin).await;
    let mut bianca = f.tab(f.agent("bianca")).await;
    let mut hanna = f.tab(f.agent("hanna")).await;
    bianca.open(&f.tickets[0], false).await;
    hanna.open(&f.tickets[0], false).await; // a viewer
    observer.presence("viewer_joined").await;
    observer.presence("viewer_joined").await;

    let resolved = f
        .agent("bianca")
        .post(&format!("/api/tickets/{}/resolve", f.tickets[0]), json!({}))
        .await;
    assert_eq!(resolved.body["status"], "resolved");
    let moved = observer.recv_type("ticket_moved").await;
    assert_eq!(moved["action"], "resolved");
    assert_eq!(moved["note"], "Resolved by Bianca");
    assert_eq!(moved["number"], 1);
    assert_eq!(moved["by"]["name"], "Bianca");
    let released = observer.presence("released").await;
    assert_eq!(released["change"]["reason"], "moved");
    assert_eq!(
        released["change"].get("by"),
        None,
        "the holder moved it herself"
    );
    assert_eq!(
        hanna.recv_type("ticket_moved").await["note"],
        "Resolved by Bianca"
    );
    // Bianca resolved it herself: no claim_lost for her.
    assert!(
        bianca
            .sync()
            .await
            .iter()
            .all(|fr| fr["type"] != "claim_lost")
    );

    bianca.open(&f.tickets[1], false).await;
    f.agent("bianca")
        .post(
            &format!("/api/tickets/{}/assign", f.tickets[1]),
            json!({"agent": f.agent("hanna").id}),
        )
        .await;
    let assigned = observer.recv_type("ticket_moved").await;
    assert_eq!(
        (assigned["action"].as_str(), assigned["note"].as_str()),
        (Some("assigned"), Some("Assigned to Hanna by Bianca"))
    );
    assert_eq!(assigned["to"]["agent"]["name"], "Hanna");
    assert_eq!(
        observer.presence("released").await["change"]["reason"],
        "moved"
    );

    bianca.open(&f.tickets[2], false).await;
    let deleted = f
        .agent("bianca")
        .delete(&format!("/api/tickets/{}", f.tickets[2]))
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(
        observer.recv_type("ticket_moved").await["note"],
        "Deleted by Bianca"
    );
    let released = observer.presence("released").await;
    assert_eq!(released["change"]["reason"], "moved");
    let left = observer.presence("viewer_left").await;
    assert_eq!(left["viewers"], json!([]));
    let snapshot = Ws::hello(&f.server, &f.admin)
        .await
        .0
        .subscribe(f.inbox("Support"))
        .await;
    assert!(
        snapshot["presence"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["ticket"] != f.tickets[2].as_str())
    );
}

#[actix_web::test]
async fn a_stale_release_never_releases_the_new_holder() {
    let f = floor().start().await;
    let mut observer = f.tab(&f.admin).await;
    let mut bianca = f.tab(f.agent("bianca")).await;
    let mut hanna = f.tab(f.agent("hanna")).await;
    bianca.open(&f.tickets[0], false).await;
    hanna.open(&f.tickets[0], true).await;
    bianca.recv_type("claim_lost").await;
    // Bianca's tab closes (and then vanishes): only her view ends.
    bianca
        .send(json!({"type": "close", "ticket": f.tickets[0]}))
        .await;
    bianca
        .send(json!({"type": "close", "ticket": f.tickets[0]}))
        .await;
    bianca.socket.close(None).await.unwrap();
    let mut kinds = Vec::new();
    while kinds.last() != Some(&"viewer_left".to_owned()) {
        kinds.push(
            observer.recv_type("presence").await["change"]["kind"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(
        kinds,
        [
            "viewer_joined",
            "claimed",
            "viewer_joined",
            "released",
            "claimed",
            "viewer_left"
        ]
    );
    observer.silent_for(Duration::from_millis(200)).await;
    let detail = f.admin.get(&format!("/api/tickets/{}", f.tickets[0])).await;
    assert_eq!(detail.body["claim"]["agent"]["name"], "Hanna");
}

async fn wait_for_gauge(server: &TestServer, name: &str, at_most: u64) {
    let deadline = Instant::now() + FRAME_WAIT;
    while server.metric(name).await > at_most {
        assert!(Instant::now() < deadline, "{name} stayed above {at_most}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn idle_ticket_and_inbox_actors_stop_so_memory_follows_live_work() {
    let f = floor()
        .config("[actors]\nidle_stop_s = 0.2\n")
        .start()
        .await;
    let mut tickets = f.tickets.clone();
    for i in 0..57 {
        tickets.push(f.new_ticket(&format!("Extra {i}")).await);
    }
    let mut bianca = f.tab(f.agent("bianca")).await;
    for ticket in &tickets {
        bianca.open(ticket, false).await;
    }
    bianca
        .send(json!({"type": "close", "ticket": tickets.last().unwrap()}))
        .await;
    bianca.sync().await;
    wait_for_gauge(&f.server, "tandem_ticket_actors", 0).await;
    assert_eq!(f.server.metric("tandem_claims").await, 0);
    // The inbox actor lives while subscribed, and stops once nobody is.
    assert_eq!(f.server.metric("tandem_inbox_actors").await, 1);
    bianca.send(json!({"type": "leave"})).await;
    bianca.sync().await;
    wait_for_gauge(&f.server, "tandem_inbox_actors", 0).await;
    // Everything comes back on demand.
    let snapshot = bianca.subscribe(f.inbox("Support")).await;
    assert_eq!(snapshot["presence"], json!([]));
    assert_eq!(bianca.open(&tickets[0], false).await["claimed"], true);
}
