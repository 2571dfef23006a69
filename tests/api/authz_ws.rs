//! Authorization over WebSocket (issue #10, point 5): every client frame ×
//! the callers of the REST table in `roles` (admin, member, non-member,
//! shared agent, light member, a disabled agent's old token, no token): the
//! direct answer, and what the frame changed.

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::support::*;

const CALLERS: [&str; 7] = ["admin", "member", "non-member", "shared", "light", "disabled", "anonymous"];

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

/// Without a valid hello, whatever the frame: 4401 (PROTOCOL.md "Close codes";
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
        ("subscribe", subscribe, AfterHello, [Snapshot, Snapshot, NOT_FOUND, NOT_FOUND, Snapshot, NO, NO]),
        // Opening: whoever sees the ticket; light agents only view.
        ("open", open.clone(), AfterHello, [Claimed, Claimed, NOT_FOUND, Claimed, Viewing, NO, NO]),
        ("open (held)", open, HeldByOther, [Viewing, Viewing, NOT_FOUND, Viewing, Viewing, NO, NO]),
        // Taking over, force-releasing: whoever may claim; a light agent's take_over is ignored.
        ("open take_over", take_over, HeldByOther, [Claimed, Claimed, NOT_FOUND, Claimed, Viewing, NO, NO]),
        ("force_release", force, HeldByOther, [Silent, Silent, NOT_FOUND, Silent, FORBIDDEN, NO, NO]),
        // Closing: never an answer (a ticket the tab does not have open: nothing happens).
        ("close", close, CallerOpened, every_agent(Silent)),
        // Drafts: the right to send that kind (light agents: notes only).
        ("draft reply", reply, AfterHello, [Silent, Silent, NOT_FOUND, Silent, FORBIDDEN, NO, NO]),
        ("draft note", note, AfterHello, [Silent, Silent, NOT_FOUND, Silent, Silent, NO, NO]),
    ]
}

/// The same answer for every caller that can say hello; 4401 for the others.
fn every_agent(want: Want) -> [Want; 7] {
    [want, want, want, want, want, NO, NO]
}

/// The direct answer among `frames` (the one carrying `reference`).
fn answer(frames: &[Value], reference: &str) -> Want {
    let Some(frame) = frames.iter().find(|f| f["ref"] == reference) else { return Silent };
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
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let inbox = admin.create_inbox("Support").await;
    let other = admin.create_inbox("Sales").await;
    let holder = server.agent(&admin, "holder", "agent", &[&inbox]).await;
    let member = server.agent(&admin, "member", "agent", &[&inbox]).await;
    let outsider = server.agent(&admin, "outsider", "agent", &[&other]).await;
    let sharee = server.agent(&admin, "sharee", "agent", &[&other]).await;
    let light = server.agent(&admin, "light", "light", &[&inbox]).await;
    let disabled = server.agent(&admin, "disabled", "agent", &[&inbox]).await;
    assert_eq!(
        admin.patch(format!("/api/agents/{}", disabled.id), json!({"disabled": true})).await.status,
        200
    );
    admin.patch("/api/settings", json!({"ticket_sharing_enabled": true})).await;
    let callers =
        [Some(&admin), Some(&member), Some(&outsider), Some(&sharee), Some(&light), Some(&disabled), None];

    let mut failures = Vec::new();
    let mut n = 0;
    for (label, frame, prep, expected) in table() {
        for (column, (caller, want)) in callers.iter().zip(expected).enumerate() {
            let name = CALLERS[column];
            n += 1;
            let ticket = admin.create_ticket(&inbox, "Frames").await["id"].as_str().unwrap().to_owned();
            let tpath = format!("/api/tickets/{ticket}");
            let shared = admin.post(format!("{tpath}/shares"), json!({"agent": sharee.id})).await;
            assert_eq!(shared.status, 200, "{}", shared.body);
            let held = if prep == Prep::HeldByOther {
                let (mut ws, _) = Ws::hello(&server, &holder).await;
                assert_eq!(ws.open(&ticket, false).await["claimed"], true);
                Some(ws)
            } else {
                None
            };
            let filled = frame.to_string().replace("{T}", &ticket).replace("{I}", &inbox);
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
                let mut ws = Ws::connect(&server).await;
                ws.send(frame).await;
                if can_hello {
                    let frames = ws.sync().await;
                    (answer(&frames, "probe"), frames, Some(ws))
                } else {
                    (Closed(ws.closed().await), Vec::new(), None)
                }
            } else {
                let (mut ws, _) = Ws::hello(&server, caller.unwrap()).await;
                if prep == Prep::CallerOpened {
                    ws.send(json!({"type": "open", "ticket": ticket, "ref": "prep"})).await;
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
            let viewing = detail["viewers"].as_array().unwrap().iter().any(|v| v["id"] == caller_id);
            let drafted = detail["drafts"].as_array().unwrap().iter().any(|d| d["agent"]["id"] == caller_id);
            let claim = detail["claim"]["agent"]["id"].as_str().unwrap_or("nobody").to_owned();
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
            if matches!(got, Claimed | Viewing) != viewing && label != "close" || label == "close" && viewing
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
    assert!(failures.is_empty(), "{} of {n} frames wrong:\n{}", failures.len(), failures.join("\n"));
}
