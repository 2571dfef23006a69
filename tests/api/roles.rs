//! Every REST endpoint × every role: admin, member agent, non-member agent,
//! light member. A new endpoint belongs in this table, so none can forget
//! its access check.

use serde_json::{Value, json};

use crate::support::*;

#[derive(Clone, Copy, Debug)]
enum Prep {
    Nothing,
    Assigned,
    Resolved,
    LockedByMember,
    MemberFollows,
    SharedWithOutsider,
}

const ROLES: [&str; 4] = ["admin", "member", "non-member", "light"];

/// (method, path, body, preparation, expected status for each of `ROLES`).
/// Placeholders: {T} a fresh ticket, {I} its inbox, {I2} another inbox,
/// {M} the member agent, {O} the non-member agent, {N} a unique number.
/// Sharing is enabled for this table (its being off is tested in `sharing`).
fn table() -> Vec<(&'static str, &'static str, Value, Prep, [u16; 4])> {
    use Prep::*;
    vec![
        ("GET", "/api/me", Value::Null, Nothing, [200, 200, 200, 200]),
        ("GET", "/api/agents", Value::Null, Nothing, [200, 403, 403, 403]),
        (
            "POST",
            "/api/agents",
            json!({"handle": "new{N}", "name": "N", "email": "n{N}@example.com", "role": "agent", "password": "pw"}),
            Nothing,
            [200, 403, 403, 403],
        ),
        ("PATCH", "/api/agents/{M}", json!({"name": "Member"}), Nothing, [200, 403, 403, 403]),
        ("POST", "/api/inboxes", json!({"name": "Inbox {N}"}), Nothing, [200, 403, 403, 403]),
        ("GET", "/api/inboxes", Value::Null, Nothing, [200, 200, 200, 200]),
        ("GET", "/api/inboxes/{I}/tickets", Value::Null, Nothing, [200, 200, 404, 200]),
        ("GET", "/api/settings", Value::Null, Nothing, [200, 200, 200, 200]),
        ("PATCH", "/api/settings", json!({"sign_replies": true}), Nothing, [200, 403, 403, 403]),
        (
            "POST",
            "/api/tickets",
            json!({"inbox": "{I}", "subject": "s", "customer": {"name": "c", "contact": "c@x"}, "body": "b"}),
            Nothing,
            [200, 403, 403, 403],
        ),
        ("GET", "/api/tickets/{T}", Value::Null, Nothing, [200, 200, 404, 200]),
        ("GET", "/api/tickets/{T}/history", Value::Null, Nothing, [200, 200, 404, 200]),
        ("PATCH", "/api/tickets/{T}", json!({"subject": "edited"}), Nothing, [200, 200, 404, 403]),
        (
            "POST",
            "/api/tickets/{T}/messages",
            json!({"kind": "reply", "body": "r"}),
            Nothing,
            [200, 200, 404, 403],
        ),
        (
            "POST",
            "/api/tickets/{T}/messages",
            json!({"kind": "note", "body": "n"}),
            Nothing,
            [200, 200, 404, 200],
        ),
        (
            "POST",
            "/api/tickets/{T}/messages",
            json!({"kind": "customer", "body": "c"}),
            Nothing,
            [200, 403, 404, 403],
        ),
        ("POST", "/api/tickets/{T}/assign", json!({"agent": "{M}"}), Nothing, [200, 200, 404, 403]),
        ("POST", "/api/tickets/{T}/accept", Value::Null, Nothing, [200, 200, 404, 403]),
        ("POST", "/api/tickets/{T}/return", Value::Null, Assigned, [200, 200, 404, 403]),
        ("POST", "/api/tickets/{T}/transfer", json!({"inbox": "{I2}"}), Nothing, [200, 200, 404, 403]),
        ("POST", "/api/tickets/{T}/resolve", Value::Null, Nothing, [200, 200, 404, 403]),
        ("POST", "/api/tickets/{T}/reopen", Value::Null, Resolved, [200, 200, 404, 403]),
        ("POST", "/api/tickets/{T}/archive", Value::Null, Nothing, [200, 200, 404, 403]),
        ("DELETE", "/api/tickets/{T}", Value::Null, Nothing, [204, 204, 404, 403]),
        ("PUT", "/api/tickets/{T}/lock", Value::Null, Nothing, [200, 200, 404, 403]),
        ("DELETE", "/api/tickets/{T}/lock", Value::Null, LockedByMember, [204, 204, 404, 403]),
        ("POST", "/api/tickets/{T}/followers", json!({"agent": "{M}"}), Nothing, [200, 200, 404, 403]),
        ("DELETE", "/api/tickets/{T}/followers/{M}", Value::Null, MemberFollows, [204, 204, 404, 403]),
        ("POST", "/api/tickets/{T}/read", Value::Null, Nothing, [200, 200, 404, 200]),
        ("POST", "/api/tickets/{T}/unread", Value::Null, Nothing, [200, 200, 404, 200]),
        ("GET", "/api/search?q=roles", Value::Null, Nothing, [200, 200, 200, 200]),
        ("GET", "/api/search?q=roles&inbox={I}", Value::Null, Nothing, [200, 200, 404, 200]),
        ("POST", "/api/tickets/{T}/shares", json!({"agent": "{O}"}), Nothing, [200, 200, 404, 403]),
        ("DELETE", "/api/tickets/{T}/shares/{O}", Value::Null, SharedWithOutsider, [204, 204, 204, 403]),
        ("GET", "/api/me/shared", Value::Null, Nothing, [200, 200, 200, 200]),
        ("GET", "/api/me/notifications", Value::Null, Nothing, [200, 200, 200, 200]),
        ("POST", "/api/me/notifications/read", json!({}), Nothing, [204, 204, 204, 204]),
        ("POST", "/api/logout", Value::Null, Nothing, [204, 204, 204, 204]),
    ]
}

#[actix_web::test]
async fn every_endpoint_checks_every_role() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let inbox = admin.create_inbox("Support").await;
    let other = admin.create_inbox("Sales").await;
    let member = server.agent(&admin, "member", "agent", &[&inbox]).await;
    let outsider = server.agent(&admin, "outsider", "agent", &[&other]).await;
    admin.patch("/api/settings", json!({"ticket_sharing_enabled": true})).await;
    server.agent(&admin, "light", "light", &[&inbox]).await;
    let logins = [("admin", ADMIN_PASSWORD), ("member", "pw"), ("outsider", "pw"), ("light", "pw")];
    let mut failures = Vec::new();
    let mut n = 0;
    for (method, path, body, prep, expected) in table() {
        for (role, ((login, password), want)) in ROLES.iter().zip(logins.iter().zip(expected)) {
            n += 1;
            // A fresh ticket and a fresh token per call: no call depends on another.
            let ticket = admin.create_ticket(&inbox, "Roles").await["id"].as_str().unwrap().to_owned();
            let tpath = format!("/api/tickets/{ticket}");
            match prep {
                Prep::Nothing => {}
                Prep::Assigned => assert_eq!(
                    admin.post(format!("{tpath}/assign"), json!({"agent": member.id})).await.status,
                    200
                ),
                Prep::Resolved => {
                    assert_eq!(admin.post(format!("{tpath}/resolve"), json!({})).await.status, 200)
                }
                Prep::LockedByMember => assert_eq!(member.put(format!("{tpath}/lock")).await.status, 200),
                Prep::SharedWithOutsider => {
                    assert_eq!(
                        admin.post(format!("{tpath}/shares"), json!({"agent": outsider.id})).await.status,
                        200
                    )
                }
                Prep::MemberFollows => {
                    assert_eq!(
                        admin.post(format!("{tpath}/followers"), json!({"agent": member.id})).await.status,
                        200
                    )
                }
            }
            let fill = |text: &str| {
                text.replace("{T}", &ticket)
                    .replace("{I2}", &other)
                    .replace("{I}", &inbox)
                    .replace("{M}", &member.id)
                    .replace("{O}", &outsider.id)
                    .replace("{N}", &n.to_string())
            };
            let caller = server.login(login, password).await;
            let url = fill(path);
            let body =
                (!body.is_null()).then(|| serde_json::from_str::<Value>(&fill(&body.to_string())).unwrap());
            let resp = match (method, body) {
                ("GET", _) => caller.get(&url).await,
                ("PUT", _) => caller.put(&url).await,
                ("DELETE", _) => caller.delete(&url).await,
                ("POST", body) => caller.post(&url, body.unwrap_or(json!({}))).await,
                ("PATCH", body) => caller.patch(&url, body.unwrap_or(json!({}))).await,
                _ => unreachable!(),
            };
            if resp.status != want {
                failures.push(format!(
                    "{method} {path} as {role}: {} (wanted {want}) {}",
                    resp.status, resp.body
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {n} calls wrong:\n{}", failures.len(), failures.join("\n"));
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
