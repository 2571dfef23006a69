//! Deliveries to a real receiver: signed, in order per ticket, retried,
//! disabled on 410, redelivered, durable across a restart and `kill -9`.

use serde_json::json;

use super::receiver::{HOLD, Receiver, accepted, verify_signature};
use super::{CONFIG, create_webhook, poll, setup};
use crate::process::Process;
use crate::support::Api;
use crate::support::TestServer;

#[actix_web::test]
async fn events_are_signed_typed_and_in_commit_order() {
    let (_server, admin, inbox) = setup().await;
    let receiver = Receiver::start().await;
    let events = [
        "ticket.created",
        "ticket.updated",
        "ticket.deleted",
        "message.created",
    ];
    let hook = create_webhook(&admin, &receiver.url("/all"), &events).await;
    let notes = create_webhook(&admin, &receiver.url("/notes"), &["note.created"]).await;

    let ticket = admin.create_ticket(&inbox, "Printer").await;
    let path = |rest: &str| format!("/api/tickets/{}{rest}", ticket["id"].as_str().unwrap());
    let note = admin
        .post(
            path("/messages"),
            json!({"kind": "note", "body": "internal"}),
        )
        .await;
    assert_eq!(note.status, 200, "{}", note.body);
    let customer = admin
        .post(
            path("/messages"),
            json!({"kind": "customer", "body": "still broken"}),
        )
        .await;
    assert_eq!(customer.status, 200, "{}", customer.body);
    let patched = admin
        .patch(path(""), json!({"subject": "Printer on fire"}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(admin.delete(path("")).await.status, 204);

    let got = receiver.until_accepted(6).await;
    let secret = hook["secret"].as_str().unwrap();
    let all: Vec<_> = got.iter().filter(|r| r.path == "/all").cloned().collect();
    let types: Vec<&str> = all.iter().map(|r| r.event()).collect();
    assert_eq!(
        types,
        [
            "ticket.created",
            "message.created",
            "message.created",
            "ticket.updated",
            "ticket.deleted"
        ]
    );
    for r in &all {
        verify_signature(r, secret);
        assert_eq!(r.header("tandem-event"), r.event());
        assert_eq!(r.header("tandem-delivery"), r.json["id"].as_str().unwrap());
        assert_eq!(r.header("content-type"), "application/json");
        assert!(r.json["created_at"].is_string());
        assert_eq!(r.json["data"]["ticket"]["id"], ticket["id"]);
    }
    assert_eq!(all[0].json["data"]["ticket"]["number"], ticket["number"]);
    assert_eq!(all[1].json["data"]["message"]["kind"], "customer");
    assert_eq!(all[2].json["data"]["message"]["body"], "still broken");
    assert_eq!(all[3].json["data"]["changed"], json!(["subject"]));
    let noted: Vec<_> = got.iter().filter(|r| r.path == "/notes").collect();
    assert_eq!(noted.len(), 1, "notes only to the webhook that asked");
    assert_eq!(noted[0].event(), "note.created");
    assert_eq!(noted[0].json["data"]["message"]["body"], "internal");
    verify_signature(noted[0], notes["secret"].as_str().unwrap());
}

#[actix_web::test]
async fn a_failing_delivery_is_retried_and_holds_back_only_its_ticket() {
    let (_server, admin, inbox) = setup().await;
    let receiver = Receiver::start().await;
    receiver.answer("Broken printer", 500, 3);
    let hook = create_webhook(
        &admin,
        &receiver.url("/"),
        &["ticket.created", "ticket.updated"],
    )
    .await;

    let stuck = admin.create_ticket(&inbox, "Broken printer").await;
    let path = format!("/api/tickets/{}", stuck["id"].as_str().unwrap());
    let patched = admin
        .patch(&path, json!({"subject": "Broken printer, really"}))
        .await;
    assert_eq!(patched.status, 200);
    admin.create_ticket(&inbox, "Other").await;

    let got = receiver.until_accepted(3).await;
    let ok = accepted(&got);
    // The other ticket was not held back by the failing one.
    assert_eq!(ok[0].subject(), "Other", "{ok:#?}");
    // The stuck ticket's events arrive in order once its first one is taken.
    let stuck_events: Vec<&str> = ok[1..].iter().map(|r| r.event()).collect();
    assert_eq!(stuck_events, ["ticket.created", "ticket.updated"]);
    let first_tries: Vec<_> = got
        .iter()
        .filter(|r| r.header("tandem-delivery") == ok[1].header("tandem-delivery"))
        .collect();
    assert_eq!(
        first_tries.len(),
        4,
        "3 failures and a success, one delivery id"
    );
    assert!(
        first_tries.iter().all(|r| r.body == ok[1].body),
        "the same body every time"
    );

    let log_path = format!("/api/webhooks/{}/deliveries", hook["id"].as_str().unwrap());
    let log = poll(&admin, &log_path, |log| {
        log["deliveries"].as_array().map_or(0, Vec::len) == 6
    })
    .await;
    let deliveries = log["deliveries"].as_array().unwrap();
    let failed = deliveries
        .iter()
        .filter(|d| d["status_code"] == 500)
        .count();
    assert_eq!(failed, 3);
    let last_failure = deliveries.iter().find(|d| d["status_code"] == 500).unwrap();
    assert_eq!(last_failure["event"], "ticket.created");
    assert!(last_failure["error"].as_str().unwrap().contains("500"));
    assert!(last_failure["latency_ms"].is_u64());
    assert_eq!(deliveries[0]["status_code"], 200, "newest first");
    assert_eq!(admin.metric("tandem_webhooks_retries_total").await, 3);
    assert_eq!(admin.metric("tandem_webhooks_delivered_total").await, 3);
}

#[actix_web::test]
async fn gone_disables_the_webhook_and_redeliver_resends_the_same_delivery() {
    let (_server, admin, inbox) = setup().await;
    let receiver = Receiver::start().await;
    let gone = create_webhook(&admin, &receiver.url("/gone"), &["ticket.created"]).await;
    let kept = create_webhook(&admin, &receiver.url("/kept"), &["ticket.created"]).await;
    receiver.answer("/gone", 410, 1);
    admin.create_ticket(&inbox, "First").await;
    let got = receiver
        .until("a 410 and a 200", |got| got.len() >= 2)
        .await;
    let refused = got.iter().find(|r| r.answered == 410).unwrap();
    assert_eq!(refused.path, "/gone");
    verify_signature(refused, gone["secret"].as_str().unwrap());
    let disabled_path = format!("/api/webhooks/{}", gone["id"].as_str().unwrap());
    let state = poll(&admin, &disabled_path, |w| w["enabled"] == false).await;
    assert!(
        state["disabled_reason"].as_str().unwrap().contains("410"),
        "{state}"
    );
    let enabled = &kept;

    admin.create_ticket(&inbox, "Second").await;
    let got = receiver
        .until("the second ticket", |got| {
            got.iter().any(|r| r.subject() == "Second")
        })
        .await;
    let seconds: Vec<_> = got.iter().filter(|r| r.subject() == "Second").collect();
    assert_eq!(seconds.len(), 1, "only the enabled webhook gets it");
    assert_eq!(seconds[0].path, "/kept");
    verify_signature(seconds[0], enabled["secret"].as_str().unwrap());

    // Redeliver the first ticket's delivery to the enabled webhook.
    let enabled_path = format!("/api/webhooks/{}", enabled["id"].as_str().unwrap());
    let first = got
        .iter()
        .find(|r| r.path == "/kept" && r.subject() == "First")
        .unwrap();
    let did = first.header("tandem-delivery").to_owned();
    let did = did.as_str();
    let log_path = format!("{enabled_path}/deliveries");
    poll(&admin, &log_path, |log| {
        log["deliveries"]
            .as_array()
            .is_some_and(|l| l.iter().any(|d| d["delivery"] == did))
    })
    .await;
    let again = admin
        .post(
            format!("{enabled_path}/deliveries/{did}/redeliver"),
            json!({}),
        )
        .await;
    assert_eq!(again.status, 202, "{}", again.body);
    let got = receiver
        .until("the redelivery", |got| {
            got.iter()
                .filter(|r| r.header("tandem-delivery") == did)
                .count()
                == 2
        })
        .await;
    let copies: Vec<_> = got
        .iter()
        .filter(|r| r.header("tandem-delivery") == did)
        .collect();
    assert_eq!(copies[0].body, copies[1].body);
    let unknown = admin
        .post(
            format!(
                "{enabled_path}/deliveries/{}/redeliver",
                uuid::Uuid::now_v7()
            ),
            json!({}),
        )
        .await;
    assert_eq!(unknown.status, 404);
    let refused = admin
        .post(
            format!("{disabled_path}/deliveries/{did}/redeliver"),
            json!({}),
        )
        .await;
    assert_eq!(refused.status, 400, "a disabled webhook: {}", refused.body);
}

#[actix_web::test]
async fn queued_deliveries_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), CONFIG).await.unwrap();
    let admin = server.admin().await;
    let inbox = admin.create_inbox("Support").await;
    let receiver = Receiver::start().await;
    receiver.answer("Before restart", 503, usize::MAX);
    create_webhook(&admin, &receiver.url("/"), &["ticket.created"]).await;
    admin.create_ticket(&inbox, "Before restart").await;
    receiver
        .until("a first failed attempt", |got| !got.is_empty())
        .await;
    server.stop();

    receiver.answer("Before restart", 200, usize::MAX);
    let restarted = TestServer::start_in(dir.path(), CONFIG).await.unwrap();
    let got = receiver.until_accepted(1).await;
    assert_eq!(accepted(&got)[0].subject(), "Before restart");
    let tries: Vec<_> = got
        .iter()
        .map(|r| r.header("tandem-delivery").to_owned())
        .collect();
    assert!(
        tries.windows(2).all(|w| w[0] == w[1]),
        "one delivery id across the restart"
    );
    drop(restarted);
}

/// `kill -9` while a delivery is in flight: after the restart it is sent
/// again, with the same id, and accepted.
#[actix_web::test]
async fn a_delivery_in_flight_at_kill_9_is_sent_again_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tandem.toml");
    // A long timeout: the held attempt is still in flight when the server dies.
    std::fs::write(&config, CONFIG.replace("timeout_s = 2", "timeout_s = 60")).unwrap();
    let data = dir.path().join("data");
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let envs = [("TANDEM_BOOTSTRAP_ADMIN", "admin:pw")];
    let mut process = Process::start(&args, &envs);
    let admin = login(&process.api()).await;
    let inbox = admin.create_inbox("Support").await;
    let receiver = Receiver::start().await;
    receiver.answer("Killed mid-delivery", HOLD, 1);
    create_webhook(&admin, &receiver.url("/"), &["ticket.created"]).await;
    admin.create_ticket(&inbox, "Killed mid-delivery").await;
    let held = receiver
        .until("the held delivery", |got| !got.is_empty())
        .await;
    process.kill();

    let restarted = Process::start(&args, &envs);
    let got = receiver.until_accepted(1).await;
    let ok = accepted(&got);
    assert_eq!(ok[0].subject(), "Killed mid-delivery");
    assert_eq!(
        ok[0].header("tandem-delivery"),
        held[0].header("tandem-delivery")
    );
    assert_eq!(ok[0].body, held[0].body);
    assert!(restarted.terminate().success());
}

async fn login(api: &Api) -> Api {
    let resp = api
        .post("/api/login", json!({"login": "admin", "password": "pw"}))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    api.with_token(resp.body["token"].as_str().unwrap())
}
