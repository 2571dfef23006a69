//! A webhook the server disables notifies every admin (docs/protocol.md
//! §3.3 `webhook_disabled`), over REST and live; other agents hear nothing.

use serde_json::{Value, json};

use super::receiver::Receiver;
use super::{create_webhook, poll, setup};
use crate::support::{TestServer, Ws};

fn webhook_disabled(notifications: &Value) -> Vec<Value> {
    notifications
        .as_array()
        .unwrap_or_else(|| panic!("a list: {notifications}"))
        .iter()
        .filter(|n| n["kind"] == "webhook_disabled")
        .cloned()
        .collect()
}

#[actix_web::test]
async fn a_webhook_disabled_by_a_410_notifies_every_admin_live_and_over_rest() {
    let (server, admin, inbox) = setup().await;
    let second = server.agent(&admin, "sam", "admin", &[]).await;
    let agent = server.agent(&admin, "bianca", "agent", &[&inbox]).await;
    let (mut second_ws, _) = Ws::hello(&server, &second).await;
    let (mut agent_ws, _) = Ws::hello(&server, &agent).await;
    let receiver = Receiver::start().await;
    let url = receiver.url("/gone");
    let hook = admin
        .post(
            "/api/webhooks",
            json!({"url": url, "events": ["ticket.created"], "description": "CRM"}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let kept = create_webhook(&admin, &receiver.url("/kept"), &["ticket.created"]).await;
    receiver.answer("/gone", 410, 1);

    let ticket = admin.create_ticket(&inbox, "Printer").await;
    let frame = second_ws.recv_type("notification").await;
    let live = &frame["notification"];
    assert_eq!(live["kind"], "webhook_disabled", "{frame}");
    assert_eq!(live["ticket"]["id"], ticket["id"]);
    assert_eq!(live["by"], Value::Null);
    assert_eq!(live["webhook"]["id"], hook.body["id"]);
    assert_eq!(live["webhook"]["url"], url.as_str());
    assert_eq!(live["webhook"]["description"], "CRM");
    assert_eq!(live["webhook"]["reason"], "the receiver answered 410 Gone");
    assert_eq!(
        live["text"],
        format!(
            "The webhook \"CRM\" ({url}) was disabled after a delivery for #1 \"Printer\": the receiver answered 410 Gone"
        )
    );
    // Stored in the commit that disabled the webhook.
    let state = admin
        .get(format!(
            "/api/webhooks/{}",
            hook.body["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(state.body["enabled"], false, "{}", state.body);

    for api in [&admin, &second] {
        let listed = webhook_disabled(&api.get("/api/me/notifications").await.body);
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0]["text"], live["text"]);
        assert_eq!(listed[0]["read"], false);
    }
    let listed = webhook_disabled(&second.get("/api/me/notifications").await.body);
    assert_eq!(listed[0]["id"], live["id"], "the one sent live");
    assert!(webhook_disabled(&agent.get("/api/me/notifications").await.body).is_empty());
    let before_sync = agent_ws.sync().await;
    assert!(
        before_sync.iter().all(|f| f["type"] != "notification"),
        "{before_sync:?}"
    );

    // The webhook that kept working tells nobody anything.
    let kept_path = format!("/api/webhooks/{}", kept["id"].as_str().unwrap());
    poll(&admin, &format!("{kept_path}/deliveries"), |d| {
        d["deliveries"].as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    assert_eq!(admin.get(&kept_path).await.body["enabled"], true);
}

/// [`super::CONFIG`] with a half-second horizon: a receiver that keeps
/// failing is given up quickly.
const SHORT_HORIZON: &str = "[webhooks]
allow_private = true
timeout_s = 2
retry_min_s = 0.1
retry_max_s = 0.2
horizon_s = 0.5
";

#[actix_web::test]
async fn a_webhook_failing_past_the_horizon_notifies_the_admins() {
    let server = TestServer::start_with(SHORT_HORIZON).await;
    let admin = server.admin().await;
    let inbox = admin.create_inbox("Support").await;
    let (mut admin_ws, _) = Ws::hello(&server, &admin).await;
    let receiver = Receiver::start().await;
    let url = receiver.url("/failing");
    let hook = create_webhook(&admin, &url, &["ticket.created"]).await;
    receiver.answer("/failing", 500, usize::MAX);

    admin.create_ticket(&inbox, "Printer").await;
    let frame = admin_ws.recv_type("notification").await;
    let live = &frame["notification"];
    assert_eq!(live["kind"], "webhook_disabled", "{frame}");
    assert_eq!(live["webhook"]["id"], hook["id"]);
    assert_eq!(live["webhook"]["description"], Value::Null);
    let reason = "deliveries kept failing for 0.5s; the last: the receiver answered 500";
    assert_eq!(live["webhook"]["reason"], reason);
    assert_eq!(
        live["text"],
        format!("The webhook {url} was disabled after a delivery for #1 \"Printer\": {reason}")
    );
    let failed = receiver.received();
    assert!(failed.len() >= 2, "retried before giving up: {failed:?}");
    assert!(failed.iter().all(|r| r.answered == 500));

    let state = admin
        .get(format!("/api/webhooks/{}", hook["id"].as_str().unwrap()))
        .await;
    assert_eq!(state.body["enabled"], false, "{}", state.body);
    assert_eq!(state.body["disabled_reason"], reason);
    let listed = webhook_disabled(&admin.get("/api/me/notifications").await.body);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], live["id"]);
}
