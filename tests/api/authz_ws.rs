//! Authorization over WebSocket (issue #10, point 5).
//!
//! 1. Every client frame × the callers of the REST table in `roles` (admin,
//!    member, non-member, shared agent, light member, a disabled agent's old
//!    token, no token): the direct answer, and what the frame changed.
//! 2. Leaks: an agent that may not see a ticket (a non-member, a light agent
//!    of another inbox, an agent after its share was revoked, an agent after
//!    its membership was removed) never gets a frame about that ticket while
//!    others work on it: no `ticket`, `presence`, `draft`, `message`,
//!    `notification`, `opened`, `claim_lost`, nothing that names it. Each
//!    check ends with a sentinel: a ping, and every frame up to its pong.

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::cast::{CALLERS, cast, shared_ticket};
use crate::support::*;

/// The answer a frame gets: the frame carrying its `ref`, none, or a close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    Welcome,
    Snapshot,
    /// `opened` with `claimed: true`.
    Claimed,
    /// `opened` with `claimed: false`: the tab only views.
    Viewing,
    Pong,
    Error(&'static str),
    /// No direct answer: the sentinel's pong comes first.
    Silent,
    /// The server closes the socket with this code.
    Closed(u16),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prep {
    /// The frame follows the caller's `hello`.
    AfterHello,
    /// The frame is the socket's first (it is a `hello`).
    FirstFrame,
    /// After the hello; another member (the holder) has {T} open and claimed.
    HeldByOther,
    /// After the hello; the caller's tab opened {T} first (where it may).
    CallerOpened,
}

use Want::*;

/// Without a valid hello, whatever the frame: 4401 (docs/protocol.md "Close codes";
/// 4403 is only for live sessions of an agent being disabled).
const NO: Want = Closed(4401);
const NOT_FOUND: Want = Error("not_found");
const FORBIDDEN: Want = Error("forbidden");
const BAD_REQUEST: Want = Error("bad_request");

type Row = (&'static str, Value, Prep, [Want; 7]);

/// (label, frame, preparation, expected answer for each of `CALLERS`).
/// Placeholders: {T} a fresh ticket of {I} (shared with the "shared" agent),
/// {I} its inbox, {TOKEN} the caller's token (no token: no `token` key).
/// Rules from docs/protocol.md §4, §7.3 and §7.9.
fn table() -> Vec<Row> {
    use Prep::*;
    let hello = json!({"type": "hello", "token": "{TOKEN}"});
    let dance = json!({"type": "dance"});
    let ping = json!({"type": "ping"});
    let hide = json!({"type": "visibility", "hidden": true});
    let leave = json!({"type": "leave"});
    let subscribe = json!({"type": "subscribe", "inbox": "{I}"});
    let open = json!({"type": "open", "ticket": "{T}"});
    let take_over = json!({"type": "open", "ticket": "{T}", "take_over": true});
    let force = json!({"type": "force_release", "ticket": "{T}"});
    let close = json!({"type": "close", "ticket": "{T}"});
    let reply = json!({"type": "draft", "ticket": "{T}", "kind": "reply", "body": "Dear Carla"});
    let note = json!({"type": "draft", "ticket": "{T}", "kind": "note", "body": "internal"});
    vec![
        // The hello: any active agent; a disabled agent's old token, or none, is 4401.
        ("hello", hello.clone(), FirstFrame, every_agent(Welcome)),
        // Every other row comes after a hello (disabled and anonymous cannot say
        // one, so for them it is a first frame that is not a valid hello: 4401).
        ("hello again", hello, AfterHello, every_agent(BAD_REQUEST)),
        ("unknown type", dance, AfterHello, every_agent(BAD_REQUEST)),
        // Frames about no ticket and no inbox: anyone.
        ("ping", ping, AfterHello, every_agent(Pong)),
        ("visibility", hide, AfterHello, every_agent(Silent)),
        ("leave", leave, AfterHello, every_agent(Silent)),
        // Subscribing: members and admins; a share opens one ticket, never its inbox.
        (
            "subscribe",
            subscribe,
            AfterHello,
            [Snapshot, Snapshot, NOT_FOUND, NOT_FOUND, Snapshot, NO, NO],
        ),
        // Opening: whoever sees the ticket; light agents only view.
        (
            "open",
            open.clone(),
            AfterHello,
            [Claimed, Claimed, NOT_FOUND, Claimed, Viewing, NO, NO],
        ),
        (
            "open (held)",
            open,
            HeldByOther,
            [Viewing, Viewing, NOT_FOUND, Viewing, Viewing, NO, NO],
        ),
        // Taking over, force-releasing: whoever may claim; a light agent's take_over is ignored.
        (
            "open take_over",
            take_over,
            HeldByOther,
            [Claimed, Claimed, NOT_FOUND, Claimed, Viewing, NO, NO],
        ),
        (
            "force_release",
            force,
            HeldByOther,
            [Silent, Silent, NOT_FOUND, Silent, FORBIDDEN, NO, NO],
        ),
        // Closing: never an answer (a ticket the tab does not have open: nothing happens).
        ("close", close, CallerOpened, every_agent(Silent)),
        // Drafts: the right to send that kind (light agents: notes only).
        (
            "draft reply",
            reply,
            AfterHello,
            [Silent, Silent, NOT_FOUND, Silent, FORBIDDEN, NO, NO],
        ),
        (
            "draft note",
            note,
            AfterHello,
            [Silent, Silent, NOT_FOUND, Silent, Silent, NO, NO],
        ),
    ]
}

/// The same answer for every caller that can say hello; 4401 for the others.
fn every_agent(want: Want) -> [Want; 7] {
    [want, want, want, want, want, NO, NO]
}

/// The direct answer among `frames` (the one carrying `reference`).
fn answer(frames: &[Value], reference: &str) -> Want {
    let Some(frame) = frames.iter().find(|f| f["ref"] == reference) else {
        return Silent;
    };
    match frame["type"].as_str() {
        Some("welcome") => Welcome,
        Some("snapshot") => Snapshot,
        Some("opened") if frame["claimed"] == true => Claimed,
        Some("opened") => Viewing,
        Some("pong") => Pong,
        Some("error") => match frame["code"].as_str() {
            Some("not_found") => NOT_FOUND,
            Some("forbidden") => FORBIDDEN,
            Some("bad_request") => BAD_REQUEST,
            _ => panic!("unexpected error frame {frame}"),
        },
        _ => panic!("unexpected answer {frame}"),
    }
}

/// Closes a socket from the client side, as a closing tab does: once the
/// server answered the close frame, the session has ended (claims released).
async fn hang_up(mut ws: Ws) {
    let _ = ws.socket.close(None).await;
    let deadline = tokio::time::Instant::now() + FRAME_WAIT;
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, ws.socket.next()).await {
        if message.is_close() {
            break;
        }
    }
}

#[actix_web::test]
async fn every_frame_checks_every_caller() {
    let cast = cast().await;
    let (server, admin, inbox) = (&cast.server, &cast.admin, cast.inbox("Support"));
    let (member, outsider, sharee) = (
        cast.agent("member"),
        cast.agent("outsider"),
        cast.agent("sharee"),
    );
    let (light, disabled) = (cast.agent("light"), cast.agent("disabled"));
    let holder = server.agent(admin, "holder", "agent", &[inbox]).await;
    let callers = [
        Some(&admin),
        Some(&member),
        Some(&outsider),
        Some(&sharee),
        Some(&light),
        Some(&disabled),
        None,
    ];

    let mut failures = Vec::new();
    let mut n = 0;
    for (label, frame, prep, expected) in table() {
        for (column, (caller, want)) in callers.iter().zip(expected).enumerate() {
            let name = CALLERS[column];
            n += 1;
            let ticket = shared_ticket(&cast, "Frames").await;
            let tpath = format!("/api/tickets/{ticket}");
            let held = if prep == Prep::HeldByOther {
                let (mut ws, _) = Ws::hello(server, &holder).await;
                assert_eq!(ws.open(&ticket, false).await["claimed"], true);
                Some(ws)
            } else {
                None
            };
            let filled = frame
                .to_string()
                .replace("{T}", &ticket)
                .replace("{I}", inbox);
            let mut frame: Value = serde_json::from_str(&filled).unwrap();
            if frame["type"] == "hello" {
                match caller.and_then(|c| c.token.clone()) {
                    Some(token) => frame["token"] = json!(token),
                    None => {
                        frame.as_object_mut().unwrap().remove("token");
                    }
                }
            }
            frame["ref"] = json!("probe");
            let can_hello = column < 5;

            // The caller's tab stays open until the effects are read (closing releases).
            let (got, frames, tab) = if !can_hello || prep == Prep::FirstFrame {
                let mut ws = Ws::connect(server).await;
                ws.send(frame).await;
                if can_hello {
                    let frames = ws.sync().await;
                    (answer(&frames, "probe"), frames, Some(ws))
                } else {
                    (Closed(ws.closed().await), Vec::new(), None)
                }
            } else {
                let (mut ws, _) = Ws::hello(server, caller.unwrap()).await;
                if prep == Prep::CallerOpened {
                    ws.send(json!({"type": "open", "ticket": ticket, "ref": "prep"}))
                        .await;
                    ws.sync().await;
                }
                ws.send(frame).await;
                let frames = ws.sync().await;
                (answer(&frames, "probe"), frames, Some(ws))
            };

            // What the frame changed, read back over REST (derived from the answer):
            // - an error never tells the caller anything about the ticket;
            // - a claim held by another stays unless a take-over (`opened`,
            //   claimed) or a force-release (no answer) succeeded;
            // - after `opened` the caller views the ticket; after `close` it does not;
            // - a draft is stored exactly when it got no error.
            let detail = admin.get(&tpath).await.body;
            let caller_id = caller.map(|c| c.id.clone()).unwrap_or_default();
            let viewing = detail["viewers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|v| v["id"] == caller_id);
            let drafted = detail["drafts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["agent"]["id"] == caller_id);
            let claim = detail["claim"]["agent"]["id"]
                .as_str()
                .unwrap_or("nobody")
                .to_owned();
            let mut wrong = Vec::new();
            if got != want {
                wrong.push(format!("{got:?} (wanted {want:?}) {frames:?}"));
            }
            if matches!(got, Error(_)) && frames.iter().any(|f| f.to_string().contains(&ticket)) {
                wrong.push(format!("an error named the ticket: {frames:?}"));
            }
            if held.is_some() {
                let wanted = match got {
                    Claimed => caller_id.clone(),
                    Silent => "nobody".to_owned(),
                    _ => holder.id.clone(),
                };
                if claim != wanted {
                    wrong.push(format!("claim held by {claim}, wanted {wanted}"));
                }
            }
            if matches!(got, Claimed | Viewing) != viewing && label != "close"
                || label == "close" && viewing
            {
                wrong.push(format!("viewing: {viewing}"));
            }
            if label.starts_with("draft") && drafted != (got == Silent) {
                wrong.push(format!("draft stored: {drafted}"));
            }
            failures.extend(wrong.into_iter().map(|w| format!("{label} as {name}: {w}")));
            for ws in [tab, held].into_iter().flatten() {
                hang_up(ws).await;
            }
        }
    }
    assert_eq!(n, table().len() * CALLERS.len());
    assert!(
        failures.is_empty(),
        "{} of {n} frames wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Leaks: nobody who may not see a ticket hears of it.

/// Support with one ticket, worked on by Bianca and Hanna (agents of
/// Support), and Lena (a light member) as the witness: subscribed to Support
/// and viewing the ticket, she gets every frame about it that a leak could
/// copy, so waiting for her frames says that the server has sent them.
struct Floor {
    /// Support and Sales, sharing on, Bianca, Hanna and Lena of Support, the ticket.
    scenario: Scenario,
    witness: Ws,
    /// Every frame the witness got while the others worked.
    heard: Vec<Value>,
}

/// The floor is its scenario with a witness listening.
impl std::ops::Deref for Floor {
    type Target = Scenario;

    fn deref(&self) -> &Scenario {
        &self.scenario
    }
}

/// An agent that cannot see the ticket (any more), with its tabs.
struct Blind {
    handle: &'static str,
    api: Api,
    light: bool,
    tabs: Vec<Ws>,
}

async fn floor() -> Floor {
    let scenario = Scenario::setup()
        .inbox("Support")
        .inbox("Sales")
        .settings(json!({"ticket_sharing_enabled": true}))
        .agent("bianca", &["Support"])
        .agent("hanna", &["Support"])
        .light("lena", &["Support"])
        .ticket("Support", "Printer on fire")
        .start()
        .await;
    let (mut witness, _) = Ws::hello(&scenario.server, scenario.agent("lena")).await;
    witness.subscribe(scenario.inbox("Support")).await;
    assert_eq!(
        witness.open(scenario.ticket(), false).await["claimed"],
        false
    );
    witness.sync().await;
    Floor {
        scenario,
        witness,
        heard: Vec::new(),
    }
}

impl Floor {
    /// Waits until the witness gets a frame of `kind` matching `pred`.
    async fn hear(&mut self, kind: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + FRAME_WAIT;
        loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the witness heard no {kind} in time"
            );
            let frame = self.witness.recv().await;
            self.heard.push(frame.clone());
            if frame["type"] == kind && pred(&frame) {
                return frame;
            }
        }
    }

    /// Waits for the witness's `presence` frame of change `kind` by `agent` (a name).
    async fn hear_presence(&mut self, kind: &str, agent: &str) -> Value {
        self.hear("presence", |f| {
            f["change"]["kind"] == kind && f["change"]["agent"]["name"] == agent
        })
        .await
    }

    /// Bianca and Hanna work on the ticket: open and claim it, type drafts,
    /// post notes that @mention every one of `blind`, lock and unlock, try to
    /// assign it to them and make them followers, assign it, take it over,
    /// force-release it, reply, schedule and cancel, edit, resolve, reopen,
    /// close. Each step waits until the witness heard of it.
    async fn work(&mut self, blind: &[&Blind]) {
        let t = self.ticket().to_owned();
        let (mut bianca, _) = Ws::hello(&self.server, self.agent("bianca")).await;
        let (mut hanna, _) = Ws::hello(&self.server, self.agent("hanna")).await;

        // Open and claim; view.
        assert_eq!(bianca.open(&t, false).await["claimed"], true);
        self.hear_presence("claimed", "Bianca").await;
        assert_eq!(hanna.open(&t, false).await["claimed"], false);
        self.hear_presence("viewer_joined", "Hanna").await;

        // Live drafts of both kinds.
        bianca
            .send(json!({"type": "draft", "ticket": t, "kind": "reply", "body": "Dear Carla,"}))
            .await;
        self.hear("draft", |f| {
            f["agent"]["name"] == "Bianca" && f["kind"] == "reply"
        })
        .await;
        hanna
            .send(json!({"type": "draft", "ticket": t, "kind": "note", "body": "check the toner"}))
            .await;
        self.hear("draft", |f| {
            f["agent"]["name"] == "Hanna" && f["kind"] == "note"
        })
        .await;

        // A note @mentioning the blind (skipped: no access) and the witness (mentioned).
        let handles: Vec<String> = blind.iter().map(|b| format!("@{}", b.handle)).collect();
        let body = format!("{} and @lena: have a look", handles.join(" "));
        let note = self
            .agent("bianca")
            .post(
                self.path("/messages"),
                json!({"kind": "note", "body": body}),
            )
            .await;
        assert_eq!(note.status, 200, "{}", note.body);
        assert_eq!(
            note.body["mentions"],
            json!([{"id": self.agent("lena").id, "name": "Lena"}])
        );
        let skipped: Vec<Value> = blind
            .iter()
            .map(|b| json!({"handle": b.handle, "reason": "no_access"}))
            .collect();
        assert_eq!(note.body["skipped_mentions"], json!(skipped));
        self.hear("notification", |f| f["notification"]["kind"] == "mention")
            .await;
        self.hear("message", |f| f["message"]["kind"] == "note")
            .await;

        // A hard lock, and its end.
        assert_eq!(
            self.agent("bianca").put(self.path("/lock")).await.status,
            200
        );
        self.hear_presence("locked", "Bianca").await;
        assert_eq!(
            self.agent("bianca").delete(self.path("/lock")).await.status,
            204
        );
        self.hear_presence("unlocked", "Bianca").await;

        // The blind can be given nothing: no assignment, no following, no share for a light agent.
        for b in blind {
            let refused = [("/assign", "assign"), ("/followers", "follow")]
                .into_iter()
                .chain(b.light.then_some(("/shares", "share with")));
            for (tail, what) in refused {
                let resp = self
                    .agent("bianca")
                    .post(self.path(tail), json!({"agent": b.api.id}))
                    .await;
                assert_eq!(
                    resp.code(),
                    "conflict",
                    "{what} {}: {}",
                    b.handle,
                    resp.body
                );
            }
        }

        // Assigned to Hanna (the claim goes, `moved`); Bianca claims again; Hanna takes over.
        let assign = self
            .agent("bianca")
            .post(
                self.path("/assign"),
                json!({"agent": self.agent("hanna").id}),
            )
            .await;
        assert_eq!(assign.status, 200, "{}", assign.body);
        self.hear("ticket_moved", |f| f["action"] == "assigned")
            .await;
        assert_eq!(bianca.open(&t, false).await["claimed"], true);
        self.hear_presence("claimed", "Bianca").await;
        assert_eq!(hanna.open(&t, true).await["claimed"], true);
        self.hear_presence("claimed", "Hanna").await;
        assert_eq!(bianca.recv_type("claim_lost").await["reason"], "forced");

        // Force-released by Bianca.
        bianca
            .send(json!({"type": "force_release", "ticket": t}))
            .await;
        self.hear("presence", |f| {
            f["change"]["kind"] == "released" && f["change"]["reason"] == "forced"
        })
        .await;
        assert_eq!(hanna.recv_type("claim_lost").await["reason"], "forced");

        // The customer writes (drafts become outdated), Hanna replies, schedules and cancels.
        let customer = json!({"kind": "customer", "body": "Still burning"});
        assert_eq!(
            self.admin
                .post(self.path("/messages"), customer)
                .await
                .status,
            200
        );
        self.hear("message", |f| f["message"]["kind"] == "customer")
            .await;
        self.hear("draft", |f| f["outdated"] == true).await;
        let reply = json!({"kind": "reply", "body": "On our way"});
        assert_eq!(
            self.agent("hanna")
                .post(self.path("/messages"), reply)
                .await
                .status,
            200
        );
        self.hear("message", |f| f["message"]["kind"] == "reply")
            .await;
        let later = json!({"kind": "reply", "body": "Fixed?", "send_at": "2099-01-01T00:00:00Z"});
        let scheduled = self
            .agent("hanna")
            .post(self.path("/messages"), later)
            .await;
        assert_eq!(scheduled.body["state"], "scheduled", "{}", scheduled.body);
        self.hear("message", |f| f["message"]["state"] == "scheduled")
            .await;
        let cancel = format!("/messages/{}", scheduled.body["id"].as_str().unwrap());
        assert_eq!(
            self.agent("hanna").delete(self.path(&cancel)).await.status,
            204
        );
        self.hear("message_removed", |_| true).await;

        // Edit, resolve, reopen.
        assert_eq!(
            self.agent("bianca")
                .patch(self.path(""), json!({"tags": ["fire"]}))
                .await
                .status,
            200
        );
        self.hear("ticket", |f| f["change"]["action"] == "updated")
            .await;
        assert_eq!(
            self.agent("bianca")
                .post(self.path("/resolve"), json!({}))
                .await
                .status,
            200
        );
        self.hear("ticket_moved", |f| f["action"] == "resolved")
            .await;
        assert_eq!(
            self.agent("bianca")
                .post(self.path("/reopen"), json!({}))
                .await
                .status,
            200
        );
        self.hear("ticket", |f| f["change"]["action"] == "status_changed")
            .await;

        // Both close it; a last note mentions the blind again.
        hanna.send(json!({"type": "close", "ticket": t})).await;
        self.hear_presence("viewer_left", "Hanna").await;
        bianca.send(json!({"type": "close", "ticket": t})).await;
        self.hear_presence("viewer_left", "Bianca").await;
        let body = format!("done, {}", handles.join(" "));
        let last = self
            .agent("bianca")
            .post(
                self.path("/messages"),
                json!({"kind": "note", "body": body}),
            )
            .await;
        assert_eq!(last.status, 200, "{}", last.body);
        self.hear("message", |f| {
            f["message"]["body"]
                .as_str()
                .is_some_and(|b| b.starts_with("done"))
        })
        .await;
        hang_up(bianca).await;
        hang_up(hanna).await;
    }
}

impl Blind {
    async fn new(f: &Floor, handle: &'static str, role: &str, inboxes: &[&str]) -> Blind {
        let api = f.server.agent(&f.admin, handle, role, inboxes).await;
        Blind {
            handle,
            api,
            light: role == "light",
            tabs: Vec::new(),
        }
    }

    /// A new tab of this agent (subscribed to `inbox`, if given).
    async fn tab(&mut self, server: &TestServer, inbox: Option<&str>) -> &mut Ws {
        let (mut ws, _) = Ws::hello(server, &self.api).await;
        if let Some(inbox) = inbox {
            ws.subscribe(inbox).await;
        }
        self.tabs.push(ws);
        self.tabs.last_mut().unwrap()
    }

    /// How many of its notifications are about `ticket`.
    async fn notifications_about(&self, ticket: &str) -> usize {
        let list = self.api.get("/api/me/notifications").await.body;
        list.as_array()
            .unwrap()
            .iter()
            .filter(|n| n["ticket"]["id"] == ticket)
            .count()
    }

    /// What the agent may still try on the ticket from each tab: `subscribe`
    /// to its inbox, `open`, `draft`, `force_release` answer `not_found`;
    /// `close` and `visibility` answer nothing; none of it names the ticket.
    async fn knock(&mut self, ticket: &str, inbox: &str) {
        for tab in &mut self.tabs {
            for (reference, frame) in [
                ("subscribe", json!({"type": "subscribe", "inbox": inbox})),
                ("open", json!({"type": "open", "ticket": ticket})),
                (
                    "take_over",
                    json!({"type": "open", "ticket": ticket, "take_over": true}),
                ),
                (
                    "draft",
                    json!({"type": "draft", "ticket": ticket, "kind": "note", "body": "psst"}),
                ),
                (
                    "force_release",
                    json!({"type": "force_release", "ticket": ticket}),
                ),
                ("close", json!({"type": "close", "ticket": ticket})),
                ("hide", json!({"type": "visibility", "hidden": true})),
                ("show", json!({"type": "visibility", "hidden": false})),
            ] {
                let mut frame = frame;
                frame["ref"] = json!(reference);
                tab.send(frame).await;
            }
            let frames = tab.sync().await;
            for reference in ["subscribe", "open", "take_over", "draft", "force_release"] {
                let answer = frames.iter().find(|f| f["ref"] == reference);
                assert_eq!(
                    answer.map(|f| &f["code"]),
                    Some(&json!("not_found")),
                    "{reference}: {frames:?}"
                );
            }
            assert_eq!(frames.len(), 5, "only the five errors: {frames:?}");
            assert!(
                !frames.iter().any(|f| f.to_string().contains(ticket)),
                "{frames:?}"
            );
        }
        assert_eq!(
            self.api.get(format!("/api/tickets/{ticket}")).await.status,
            404
        );
    }

    /// The sentinel: a ping on each tab, and every frame up to its pong; none
    /// may name the ticket. The witness heard the last step before this, and
    /// the server hands each event to all its recipients at once, so a frame
    /// misrouted to this agent would be queued ahead of the pong.
    async fn assert_heard_nothing_of(&mut self, ticket: &str) {
        for (i, tab) in self.tabs.iter_mut().enumerate() {
            let frames = tab.sync().await;
            let leaks: Vec<&Value> = frames
                .iter()
                .filter(|f| f.to_string().contains(ticket))
                .collect();
            assert!(
                leaks.is_empty(),
                "{} (tab {i}) heard of the ticket: {leaks:#?}",
                self.handle
            );
        }
    }
}

/// Reads `tab` until `access_revoked` and then up to a sentinel pong; answers
/// the types of the frames that named `ticket`, in order.
async fn revocation_frames(tab: &mut Ws, ticket: &str) -> Vec<String> {
    let mut frames = Vec::new();
    while frames
        .last()
        .is_none_or(|f: &Value| f["type"] != "access_revoked")
    {
        frames.push(tab.recv().await);
    }
    frames.extend(tab.sync().await);
    let naming = frames.iter().filter(|f| f.to_string().contains(ticket));
    naming
        .map(|f| f["type"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts that no presence change the witness heard was caused by or about `agent`.
fn assert_no_presence_of(heard: &[Value], agent: &Api) {
    let about = heard.iter().filter(|f| {
        f["type"] == "presence"
            && (f["change"]["agent"]["id"] == agent.id || f["change"]["by"]["id"] == agent.id)
    });
    assert_eq!(about.count(), 0, "{heard:#?}");
}

/// A non-member agent and a light agent of another inbox, both live (a tab
/// subscribed to their own inbox, and an idle one), hear nothing of the
/// ticket, whatever the others do and whatever they try themselves.
#[actix_web::test]
async fn outsiders_never_hear_of_a_ticket() {
    let mut f = floor().await;
    let sales = f.inbox("Sales").to_owned();
    let mut sam = Blind::new(&f, "sam", "agent", &[&sales]).await;
    let mut lars = Blind::new(&f, "lars", "light", &[&sales]).await;
    for blind in [&mut sam, &mut lars] {
        blind.tab(&f.server, Some(&sales)).await;
        blind.tab(&f.server, None).await;
        blind.knock(f.ticket(), f.inbox("Support")).await;
    }
    f.work(&[&sam, &lars]).await;
    for blind in [&mut sam, &mut lars] {
        blind.assert_heard_nothing_of(f.ticket()).await;
        assert_eq!(blind.notifications_about(f.ticket()).await, 0);
        assert_no_presence_of(&f.heard, &blind.api);
    }
}

/// An agent the ticket was shared with has it open (and claimed, with a
/// draft, as a follower) when the share is revoked: it gets `unshared` and
/// `access_revoked`, and from then on nothing about the ticket, on any tab.
#[actix_web::test]
async fn after_an_unshare_the_agent_hears_nothing_more_of_the_ticket() {
    let mut f = floor().await;
    let (sales, ticket) = (f.inbox("Sales").to_owned(), f.ticket().to_owned());
    let mut sam = Blind::new(&f, "sam", "agent", &[&sales]).await;
    assert_eq!(
        f.agent("bianca")
            .post(f.path("/shares"), json!({"agent": sam.api.id}))
            .await
            .status,
        200
    );
    assert_eq!(
        f.agent("bianca")
            .post(f.path("/followers"), json!({"agent": sam.api.id}))
            .await
            .status,
        200
    );
    let viewing = sam.tab(&f.server, None).await;
    assert_eq!(viewing.open(&ticket, false).await["claimed"], true);
    viewing
        .send(json!({"type": "draft", "ticket": ticket, "kind": "reply", "body": "Sales here"}))
        .await;
    sam.tab(&f.server, Some(&sales)).await;
    f.hear_presence("claimed", "Sam").await;
    f.hear("draft", |d| d["agent"]["name"] == "Sam").await;
    // The witness heard it all, so Sam's tabs have everything before the unshare queued: read it.
    for tab in &mut sam.tabs {
        tab.sync().await;
    }

    assert_eq!(
        f.agent("bianca")
            .delete(f.path(&format!("/shares/{}", sam.api.id)))
            .await
            .status,
        204
    );
    // The tab that had it open hears exactly this; the other tab only the notification.
    assert_eq!(
        revocation_frames(&mut sam.tabs[0], &ticket).await,
        ["notification", "access_revoked"]
    );
    let other: Vec<Value> = sam.tabs[1].sync().await;
    assert_eq!(other.len(), 1, "{other:?}");
    assert_eq!(other[0]["notification"]["kind"], "unshared");
    let released = f.hear_presence("released", "Sam").await;
    assert_eq!(
        (
            &released["change"]["reason"],
            &released["change"]["by"]["name"]
        ),
        (&json!("revoked"), &json!("Bianca"))
    );
    f.hear_presence("viewer_left", "Sam").await;
    f.heard.clear();

    sam.knock(&ticket, f.inbox("Support")).await;
    let notified = sam.notifications_about(&ticket).await;
    f.work(&[&sam]).await;
    sam.assert_heard_nothing_of(&ticket).await;
    assert_eq!(
        sam.notifications_about(&ticket).await,
        notified,
        "a blind follower gets no updates"
    );
    assert_no_presence_of(&f.heard, &sam.api);
}

/// A member has the ticket open (claimed, with a draft, as a follower, and
/// subscribed to its inbox) when it loses its membership: its subscription
/// ends, it gets `access_revoked`, and from then on nothing about the ticket,
/// although its socket keeps working for its other inbox.
#[actix_web::test]
async fn after_losing_its_membership_an_agent_hears_nothing_more_of_the_ticket() {
    let mut f = floor().await;
    let (support, sales, ticket) = (
        f.inbox("Support").to_owned(),
        f.inbox("Sales").to_owned(),
        f.ticket().to_owned(),
    );
    let mut mona = Blind::new(&f, "mona", "agent", &[&support]).await;
    assert_eq!(
        f.agent("bianca")
            .post(f.path("/followers"), json!({"agent": mona.api.id}))
            .await
            .status,
        200
    );
    let tab = mona.tab(&f.server, Some(&support)).await;
    assert_eq!(tab.open(&ticket, false).await["claimed"], true);
    tab.send(json!({"type": "draft", "ticket": ticket, "kind": "note", "body": "call her"}))
        .await;
    f.hear_presence("claimed", "Mona").await;
    f.hear("draft", |d| d["agent"]["name"] == "Mona").await;
    mona.tabs[0].sync().await; // everything before the revocation

    let patch = f
        .admin
        .patch(
            format!("/api/agents/{}", mona.api.id),
            json!({"inboxes": [sales]}),
        )
        .await;
    assert_eq!(patch.status, 200, "{}", patch.body);
    let tab = &mut mona.tabs[0];
    let mut frames = Vec::new();
    while frames
        .last()
        .is_none_or(|f: &Value| f["type"] != "access_revoked")
    {
        frames.push(tab.recv().await);
    }
    frames.extend(tab.sync().await);
    let types: Vec<&str> = frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["error", "access_revoked"], "{frames:?}");
    assert_eq!(
        frames[0]["code"], "forbidden",
        "the subscription of Support ended"
    );
    let released = f.hear_presence("released", "Mona").await;
    assert_eq!(released["change"]["reason"], "revoked");
    assert!(released["change"].get("by").is_none(), "{released}");
    f.hear_presence("viewer_left", "Mona").await;
    f.heard.clear();

    mona.tabs[0].subscribe(&sales).await;
    mona.knock(&ticket, &support).await;
    let notified = mona.notifications_about(&ticket).await;
    f.work(&[&mona]).await;
    mona.assert_heard_nothing_of(&ticket).await;
    assert_eq!(
        mona.notifications_about(&ticket).await,
        notified,
        "a blind follower gets no updates"
    );
    assert_no_presence_of(&f.heard, &mona.api);
}
