//! Every REST endpoint × every caller: admin, member agent, non-member agent,
//! an agent the ticket is shared with, light member, a disabled agent's old
//! token, and no token at all. A new endpoint belongs in this table, so none
//! can forget its access check (the WebSocket frames have their own table in
//! `authz_ws`).

use serde_json::{Value, json};

use crate::cast::{CALLERS, cast, shared_ticket};
use crate::support::*;

#[derive(Clone, Copy, Debug)]
enum Prep {
    Nothing,
    Assigned,
    Resolved,
    LockedByMember,
    MemberFollows,
    /// The caller follows the ticket (where it can: not the non-member, nor the disabled agent).
    CallerFollows,
    SharedWithOutsider,
    /// The member scheduled a reply ({R}).
    ScheduledByMember,
}

// The columns of the table are `cast::CALLERS`: "shared" is an agent of
// another inbox with whom every ticket {T} is shared; "disabled" is a member
// of {T}'s inbox that was disabled after it logged in (it calls with that old token).

// Expected rows that recur, named after the rule they check.
/// Needs no token: everyone alike.
const ALL_200: [u16; 7] = [200; 7];
/// Any active agent, whatever it can see; the disabled agent's token and no token: 401.
const ANY_AGENT: [u16; 7] = [200, 200, 200, 200, 200, 401, 401];
const ANY_AGENT_204: [u16; 7] = [204, 204, 204, 204, 204, 401, 401];
/// Administration: admins only.
const ADMIN_ONLY: [u16; 7] = [200, 403, 403, 403, 403, 401, 401];
/// Whoever sees the ticket (light agents and the shared agent too); non-members 404.
const SEES: [u16; 7] = [200, 200, 404, 200, 200, 401, 401];
const SEES_204: [u16; 7] = [204, 204, 404, 204, 204, 401, 401];
/// Whoever may work on the ticket (admin, member, shared); light 403, non-member 404.
const WORKS: [u16; 7] = [200, 200, 404, 200, 403, 401, 401];
const WORKS_204: [u16; 7] = [204, 204, 404, 204, 403, 401, 401];
/// The inbox itself (lists, search by inbox): members and admins only; a share gives nothing of it.
const INBOX: [u16; 7] = [200, 200, 404, 404, 200, 401, 401];
/// Someone else's lock or scheduled reply (the member's): the member itself or an admin.
const MEMBERS_OWN_204: [u16; 7] = [204, 204, 404, 403, 403, 401, 401];
/// A share with the non-member: it may end it itself, although that share is all it sees.
const OUTSIDERS_SHARE_204: [u16; 7] = [204, 204, 204, 204, 403, 401, 401];
/// Customer messages: admins only (non-members still hear 404 first).
const CUSTOMER: [u16; 7] = [200, 403, 404, 403, 403, 401, 401];
/// An unknown step on a ticket: authenticated first, then 404 for everyone.
const UNKNOWN_STEP: [u16; 7] = [404, 404, 404, 404, 404, 401, 401];

type Row = (&'static str, &'static str, Value, Prep, [u16; 7]);

/// (method, path, body, preparation, expected status for each of `CALLERS`).
/// Placeholders: {T} a fresh ticket (shared with the "shared" agent), {I} its
/// inbox, {I2} another inbox, {M} the member agent, {O} the non-member agent,
/// {S} the shared agent, {ME} the caller, {R} the member's scheduled reply,
/// {N} a unique number. Sharing is enabled for this table (its being off is
/// tested in `sharing`). Rules from docs/protocol.md §4 and §6.
fn table() -> Vec<Row> {
    use Prep::*;
    let none = Value::Null;
    let login = json!({"login": "member", "password": "pw"});
    let new_agent = json!({"handle": "new{N}", "name": "N", "email": "n{N}@x.io", "role": "agent", "password": "pw"});
    let new_ticket = json!({"inbox": "{I}", "subject": "s", "customer": {"name": "c", "contact": "c@x"}, "body": "b"});
    let scheduled = json!({"kind": "reply", "body": "later", "send_at": "2099-01-01T00:00:00Z"});
    vec![
        // No token needed: the console, health, metrics and login answer everyone alike.
        ("GET", "/", none.clone(), Nothing, ALL_200),
        ("GET", "/console/app.js", none.clone(), Nothing, ALL_200),
        ("GET", "/healthz", none.clone(), Nothing, ALL_200),
        ("GET", "/metrics", none.clone(), Nothing, ALL_200),
        ("POST", "/api/login", login, Nothing, ALL_200),
        // An unknown path is 404 before any authentication.
        ("GET", "/api/nope", none.clone(), Nothing, [404; 7]),
        // Session and the caller's own things: any active agent.
        ("GET", "/api/me", none.clone(), Nothing, ANY_AGENT),
        ("GET", "/api/me/shared", none.clone(), Nothing, ANY_AGENT),
        (
            "GET",
            "/api/me/notifications",
            none.clone(),
            Nothing,
            ANY_AGENT,
        ),
        (
            "POST",
            "/api/me/notifications/read",
            json!({}),
            Nothing,
            ANY_AGENT_204,
        ),
        ("POST", "/api/logout", none.clone(), Nothing, ANY_AGENT_204),
        // Administration: admins only; anyone may list its inboxes and read the settings.
        ("GET", "/api/agents", none.clone(), Nothing, ADMIN_ONLY),
        ("POST", "/api/agents", new_agent, Nothing, ADMIN_ONLY),
        (
            "PATCH",
            "/api/agents/{M}",
            json!({"name": "Member"}),
            Nothing,
            ADMIN_ONLY,
        ),
        (
            "POST",
            "/api/inboxes",
            json!({"name": "Inbox {N}"}),
            Nothing,
            ADMIN_ONLY,
        ),
        ("GET", "/api/inboxes", none.clone(), Nothing, ANY_AGENT),
        ("GET", "/api/settings", none.clone(), Nothing, ANY_AGENT),
        (
            "PATCH",
            "/api/settings",
            json!({"sign_replies": true}),
            Nothing,
            ADMIN_ONLY,
        ),
        // The inbox: members and admins; a share opens one ticket, never its inbox.
        (
            "GET",
            "/api/inboxes/{I}/tickets",
            none.clone(),
            Nothing,
            INBOX,
        ),
        (
            "GET",
            "/api/search?q=roles&inbox={I}",
            none.clone(),
            Nothing,
            INBOX,
        ),
        (
            "GET",
            "/api/search?q=roles",
            none.clone(),
            Nothing,
            ANY_AGENT,
        ),
        // Creating tickets is for admins (and integrations with an admin's token).
        ("POST", "/api/tickets", new_ticket, Nothing, ADMIN_ONLY),
        // Viewing: whoever sees the ticket, light agents and the shared agent included.
        ("GET", "/api/tickets/{T}", none.clone(), Nothing, SEES),
        (
            "GET",
            "/api/tickets/{T}/history",
            none.clone(),
            Nothing,
            SEES,
        ),
        ("POST", "/api/tickets/{T}/read", none.clone(), Nothing, SEES),
        (
            "POST",
            "/api/tickets/{T}/unread",
            none.clone(),
            Nothing,
            SEES,
        ),
        (
            "POST",
            "/api/tickets/{T}/messages",
            json!({"kind": "note", "body": "n"}),
            Nothing,
            SEES,
        ),
        // Removing oneself as a follower: whoever sees the ticket.
        (
            "DELETE",
            "/api/tickets/{T}/followers/{ME}",
            none.clone(),
            CallerFollows,
            SEES_204,
        ),
        // Work on the ticket: admin, member, shared agent; light agents 403.
        (
            "POST",
            "/api/tickets/{T}/messages",
            json!({"kind": "reply", "body": "r"}),
            Nothing,
            WORKS,
        ),
        (
            "POST",
            "/api/tickets/{T}/messages",
            scheduled,
            Nothing,
            WORKS,
        ),
        (
            "PATCH",
            "/api/tickets/{T}",
            json!({"subject": "edited"}),
            Nothing,
            WORKS,
        ),
        (
            "POST",
            "/api/tickets/{T}/assign",
            json!({"agent": "{M}"}),
            Nothing,
            WORKS,
        ),
        (
            "POST",
            "/api/tickets/{T}/accept",
            none.clone(),
            Nothing,
            WORKS,
        ),
        (
            "POST",
            "/api/tickets/{T}/return",
            none.clone(),
            Assigned,
            WORKS,
        ),
        (
            "POST",
            "/api/tickets/{T}/transfer",
            json!({"inbox": "{I2}"}),
            Nothing,
            WORKS,
        ),
        (
            "POST",
            "/api/tickets/{T}/resolve",
            none.clone(),
            Nothing,
            WORKS,
        ),
        (
            "POST",
            "/api/tickets/{T}/reopen",
            none.clone(),
            Resolved,
            WORKS,
        ),
        (
            "POST",
            "/api/tickets/{T}/archive",
            none.clone(),
            Nothing,
            WORKS,
        ),
        (
            "DELETE",
            "/api/tickets/{T}",
            none.clone(),
            Nothing,
            WORKS_204,
        ),
        ("PUT", "/api/tickets/{T}/lock", none.clone(), Nothing, WORKS),
        (
            "POST",
            "/api/tickets/{T}/followers",
            json!({"agent": "{M}"}),
            Nothing,
            WORKS,
        ),
        (
            "DELETE",
            "/api/tickets/{T}/followers/{M}",
            none.clone(),
            MemberFollows,
            WORKS_204,
        ),
        (
            "POST",
            "/api/tickets/{T}/shares",
            json!({"agent": "{O}"}),
            Nothing,
            WORKS,
        ),
        // Ending a share: whoever may share ends any share (the shared agent its own too).
        (
            "DELETE",
            "/api/tickets/{T}/shares/{S}",
            none.clone(),
            Nothing,
            WORKS_204,
        ),
        // ... and an agent its own, even if that share is all it sees (the non-member here).
        (
            "DELETE",
            "/api/tickets/{T}/shares/{O}",
            none.clone(),
            SharedWithOutsider,
            OUTSIDERS_SHARE_204,
        ),
        // A hard lock: its holder (the member here) or an admin removes it.
        (
            "DELETE",
            "/api/tickets/{T}/lock",
            none.clone(),
            LockedByMember,
            MEMBERS_OWN_204,
        ),
        // Cancelling a scheduled reply: its author (the member here) or an admin.
        (
            "DELETE",
            "/api/tickets/{T}/messages/{R}",
            none.clone(),
            ScheduledByMember,
            MEMBERS_OWN_204,
        ),
        // Customer messages: admins only.
        (
            "POST",
            "/api/tickets/{T}/messages",
            json!({"kind": "customer", "body": "c"}),
            Nothing,
            CUSTOMER,
        ),
        (
            "POST",
            "/api/tickets/{T}/frobnicate",
            none,
            Nothing,
            UNKNOWN_STEP,
        ),
    ]
}

/// The error code each failing status must carry.
fn code_of(status: u16) -> Option<&'static str> {
    match status {
        401 => Some("unauthorized"),
        403 => Some("forbidden"),
        404 => Some("not_found"),
        _ => None,
    }
}

#[actix_web::test]
async fn every_endpoint_checks_every_caller() {
    let cast = cast().await;
    let (server, admin) = (&cast.server, &cast.admin);
    let (inbox, other) = (cast.inbox("Support"), cast.inbox("Sales"));
    let member = cast.agent("member");
    let (outsider, sharee) = (cast.agent("outsider"), cast.agent("sharee"));
    let disabled = cast.agent("disabled");
    let logins = [
        Some(("admin", ADMIN_PASSWORD)),
        Some(("member", "pw")),
        Some(("outsider", "pw")),
        Some(("sharee", "pw")),
        Some(("light", "pw")),
        None, // the disabled agent's old token
        None, // no token
    ];
    let mut failures = Vec::new();
    let mut n = 0;
    for (method, path, body, prep, expected) in table() {
        for (column, (login, want)) in logins.iter().zip(expected).enumerate() {
            let caller_name = CALLERS[column];
            n += 1;
            // A fresh ticket and a fresh token per call: no call depends on another.
            let ticket = shared_ticket(&cast, "Roles").await;
            let tpath = format!("/api/tickets/{ticket}");
            let caller = match (login, caller_name) {
                (Some((login, password)), _) => server.login(login, password).await,
                (None, "disabled") => disabled.clone(),
                (None, _) => server.anonymous(),
            };
            // Anonymous has no id: {ME} then names the member (401 comes first anyway).
            let me = if caller.id.is_empty() {
                member.id.clone()
            } else {
                caller.id.clone()
            };
            let mut scheduled = String::new();
            match prep {
                Prep::Nothing => {}
                Prep::Assigned => assert_eq!(
                    admin
                        .post(format!("{tpath}/assign"), json!({"agent": member.id}))
                        .await
                        .status,
                    200
                ),
                Prep::Resolved => {
                    assert_eq!(
                        admin
                            .post(format!("{tpath}/resolve"), json!({}))
                            .await
                            .status,
                        200
                    )
                }
                Prep::LockedByMember => {
                    assert_eq!(member.put(format!("{tpath}/lock")).await.status, 200)
                }
                Prep::SharedWithOutsider => {
                    assert_eq!(
                        admin
                            .post(format!("{tpath}/shares"), json!({"agent": outsider.id}))
                            .await
                            .status,
                        200
                    )
                }
                Prep::MemberFollows => {
                    assert_eq!(
                        admin
                            .post(format!("{tpath}/followers"), json!({"agent": member.id}))
                            .await
                            .status,
                        200
                    )
                }
                Prep::CallerFollows => {
                    // 409 for callers who cannot follow it (non-member, disabled).
                    let resp = admin
                        .post(format!("{tpath}/followers"), json!({"agent": me}))
                        .await;
                    assert!(matches!(resp.status, 200 | 409), "{}", resp.body);
                }
                Prep::ScheduledByMember => {
                    let body = json!({"kind": "reply", "body": "later", "send_at": "2099-01-01T00:00:00Z"});
                    let resp = member.post(format!("{tpath}/messages"), body).await;
                    assert_eq!(resp.body["state"], "scheduled", "{}", resp.body);
                    scheduled = resp.body["id"].as_str().unwrap().to_owned();
                }
            }
            let fill = |text: &str| {
                text.replace("{T}", &ticket)
                    .replace("{I2}", other)
                    .replace("{I}", inbox)
                    .replace("{ME}", &me)
                    .replace("{M}", &member.id)
                    .replace("{O}", &outsider.id)
                    .replace("{S}", &sharee.id)
                    .replace("{R}", &scheduled)
                    .replace("{N}", &n.to_string())
            };
            let url = fill(path);
            let body = (!body.is_null())
                .then(|| serde_json::from_str::<Value>(&fill(&body.to_string())).unwrap());
            let resp = match (method, body) {
                ("GET", _) => caller.get(&url).await,
                ("PUT", _) => caller.put(&url).await,
                ("DELETE", _) => caller.delete(&url).await,
                ("POST", body) => caller.post(&url, body.unwrap_or(json!({}))).await,
                ("PATCH", body) => caller.patch(&url, body.unwrap_or(json!({}))).await,
                _ => unreachable!(),
            };
            let code_ok = code_of(want).is_none_or(|code| resp.code() == code);
            if resp.status != want || !code_ok {
                failures.push(format!(
                    "{method} {path} as {caller_name}: {} (wanted {want}) {}",
                    resp.status, resp.body
                ));
            }
        }
    }
    assert_eq!(n, table().len() * CALLERS.len());
    assert!(
        failures.is_empty(),
        "{} of {n} calls wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[actix_web::test]
async fn health_and_metrics_need_no_token() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    assert_eq!(anon.get("/healthz").await.body, "ok");
    let metrics = anon.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    let text = metrics.body.as_str().unwrap();
    for name in [
        "tandem_sessions",
        "tandem_subscriptions",
        "tandem_claims",
        "tandem_store_batch_size_count",
        "tandem_store_commit_seconds_count",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
}
