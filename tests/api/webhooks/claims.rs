//! `claim.changed` (docs/protocol.md §9.8.4): who is on a ticket, in order
//! with the ticket's other events, and nothing written while nobody
//! subscribes.

use serde_json::{Value, json};

use super::receiver::{Receiver, accepted};
use super::{CONFIG, create_webhook};
use crate::support::{Scenario, Setup};

fn floor() -> Setup {
    Scenario::setup()
        .config(CONFIG)
        .inbox("Support")
        .agent("bianca", &["Support"])
        .light("lena", &["Support"])
        .ticket("Support", "Printer")
}

/// A delivery's claims as (name, doing).
fn claims(delivery: &Value) -> Vec<(String, String)> {
    delivery["data"]["claims"]
        .as_array()
        .unwrap_or_else(|| panic!("no claims in {delivery}"))
        .iter()
        .map(|c| {
            let name = c["agent"]["name"].as_str().unwrap().to_owned();
            (name, c["doing"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn on(name: &str, doing: &str) -> (String, String) {
    (name.to_owned(), doing.to_owned())
}

#[actix_web::test]
async fn opening_and_leaving_a_ticket_are_claim_changed_in_order_with_its_events() {
    let f = floor().start().await;
    let receiver = Receiver::start().await;
    let events = ["claim.changed", "ticket.updated"];
    create_webhook(&f.admin, &receiver.url("/wallboard"), &events).await;
    let ticket = f.ticket().to_owned();

    let mut lena = f.viewer(f.agent("lena")).await;
    let mut bianca = f.viewer(f.agent("bianca")).await;
    lena.presence("claimed").await;
    // Hiding and showing a tab is no change of who is on the ticket.
    for hidden in [true, false] {
        bianca
            .send(json!({"type": "visibility", "hidden": hidden}))
            .await;
    }
    lena.presence("viewer_shown").await;
    rename(f.agent("bianca"), &ticket).await;
    bianca
        .send(json!({"type": "close", "ticket": ticket}))
        .await;
    lena.presence("viewer_left").await;
    lena.send(json!({"type": "close", "ticket": ticket})).await;

    let got = accepted(&receiver.until_accepted(5).await);
    let summary: Vec<(&str, Vec<(String, String)>)> = got
        .iter()
        .map(|r| {
            let claims = if r.event() == "claim.changed" {
                claims(&r.json)
            } else {
                Vec::new()
            };
            (r.event(), claims)
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("claim.changed", vec![on("Lena", "viewing")]),
            (
                "claim.changed",
                vec![on("Bianca", "working"), on("Lena", "viewing")]
            ),
            ("ticket.updated", vec![]),
            ("claim.changed", vec![on("Lena", "viewing")]),
            ("claim.changed", vec![]),
        ]
    );
    let data = &got[0].json["data"];
    assert_eq!(data["ticket"]["id"], ticket.as_str());
    assert_eq!(data["ticket"]["number"], 1);
    assert_eq!(data["ticket"]["inbox"], f.inbox("Support"));
    let keys: Vec<&String> = data["ticket"].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3, "only id, number and inbox: {data}");
    assert_eq!(got[0].header("tandem-event"), "claim.changed");
}

#[actix_web::test]
async fn nothing_is_written_for_claims_while_nobody_subscribes() {
    let f = floor().start().await;
    let receiver = Receiver::start().await;
    create_webhook(&f.admin, &receiver.url("/created"), &["ticket.created"]).await;
    let off = create_webhook(&f.admin, &receiver.url("/off"), &["claim.changed"]).await;
    let off_path = format!("/api/webhooks/{}", off["id"].as_str().unwrap());
    let disabled = f.admin.patch(&off_path, json!({"enabled": false})).await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    let ticket = f.ticket().to_owned();
    // A first open marks the ticket read (a write); opening again writes nothing.
    let mut lena = f.viewer(f.agent("lena")).await;
    let mut bianca = f.viewer(f.agent("bianca")).await;
    lena.presence("claimed").await;
    bianca
        .send(json!({"type": "close", "ticket": ticket}))
        .await;
    lena.presence("viewer_left").await;

    let writes = || f.server.metric("tandem_store_writes_total");
    let before = writes().await;
    bianca.open(&ticket, false).await;
    lena.presence("claimed").await;
    bianca
        .send(json!({"type": "close", "ticket": ticket}))
        .await;
    lena.presence("viewer_left").await;
    // The ticket's next write commits after whatever it submitted before.
    rename(f.agent("bianca"), &ticket).await;
    assert_eq!(writes().await, before + 1, "claims alone write nothing");

    // Enabling the webhook again is enough for claims to be queued.
    let enabled = f.admin.patch(&off_path, json!({"enabled": true})).await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    bianca.open(&ticket, false).await;
    let got = receiver
        .until("claim.changed", |got| {
            accepted(got).iter().any(|r| r.path == "/off")
        })
        .await;
    let first = got.iter().find(|r| r.path == "/off").unwrap();
    assert_eq!(
        claims(&first.json),
        vec![on("Bianca", "working"), on("Lena", "viewing")]
    );
    assert!(
        got.iter().all(|r| r.path != "/created"),
        "no ticket was created"
    );
}

/// A ticket change (a `ticket.updated`) amid the claims.
async fn rename(agent: &crate::support::Api, ticket: &str) {
    let patch = agent
        .patch(
            format!("/api/tickets/{ticket}"),
            json!({"subject": "Printer on fire"}),
        )
        .await;
    assert_eq!(patch.status, 200, "{}", patch.body);
}
