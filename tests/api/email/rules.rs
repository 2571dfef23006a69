//! Every rule of customer messages holds for mail (docs/protocol.md §9.7,
//! "A mail on an existing ticket"): unread for everyone, a resolved ticket
//! reopens, drafts become outdated, and the stale-send guard counts it.

use serde_json::json;

use super::*;

#[actix_rt::test]
async fn a_mail_on_a_ticket_follows_every_customer_message_rule() {
    let Some(m) = Mail::start().await else {
        return;
    };
    let (bianca, hanna) = (m.agent("bianca"), m.agent("hanna"));
    let first = Compose::from("ada", "Rules", "first");
    m.receive(&first.raw()).await;
    let ticket = m.wait_ticket("Rules").await;
    let id = ticket["id"].as_str().unwrap();
    let first_message = m.wait_messages(id, 1).await[0]["id"].clone();

    // Read, assigned to Bianca and resolved; Hanna has a reply draft open.
    assert_eq!(
        bianca
            .post(format!("/api/tickets/{id}/read"), json!({}))
            .await
            .status,
        200
    );
    assert_eq!(
        bianca
            .post(format!("/api/tickets/{id}/accept"), json!({}))
            .await
            .status,
        200
    );
    assert_eq!(
        bianca
            .post(format!("/api/tickets/{id}/resolve"), json!({}))
            .await
            .status,
        200
    );
    let mut hanna_tab = m.viewer_of(hanna, id).await;
    let mut bianca_tab = m.viewer_of(bianca, id).await;
    hanna_tab
        .send(json!({"type": "draft", "ticket": id, "kind": "reply", "body": "Dear Ada"}))
        .await;
    let fresh = bianca_tab.recv_type("draft").await;
    assert_eq!(fresh["outdated"], false, "{fresh}");

    m.receive(
        &Compose::from("ada", "Re: Rules", "second")
            .answering(&first.message_id)
            .raw(),
    )
    .await;
    let message = bianca_tab.recv_type("message").await;
    assert_eq!(message["message"]["body"], "second");
    let outdated = bianca_tab.recv_type("draft").await;
    assert_eq!(outdated["outdated"], true, "{outdated}");

    let after = m.detail(id).await;
    assert_eq!(
        after["status"], "working_on",
        "a resolved ticket reopens to its assignee"
    );
    let for_bianca = bianca.get(format!("/api/tickets/{id}")).await.body;
    assert_eq!(for_bianca["unread"], true);

    // The stale-send guard counts the mail (Hanna holds the claim: her tab).
    let stale = hanna
        .post(
            format!("/api/tickets/{id}/messages"),
            json!({"kind": "reply", "body": "Answering the first", "after": first_message}),
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert_eq!(stale.body["error"]["code"], "stale", "{}", stale.body);
}
